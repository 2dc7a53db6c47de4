package workers_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/fulfillment"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/workers"
)

// warehouse is a third-party fulfillment service on loopback: it is down
// for its first request (503), checks every request's signature with its
// own HMAC of the app's secret, and keeps the orders it accepted.
type warehouse struct {
	secret   string
	mu       sync.Mutex
	calls    int
	accepted []int64 // order ids
	bad      []string
}

func (w *warehouse) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m := hmac.New(sha256.New, []byte(w.secret))
	m.Write(body)
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if r.URL.Path != "/3pl/fulfillment_order_notification" {
		w.bad = append(w.bad, "path "+r.URL.Path)
	}
	if got := r.Header.Get("X-Shopify-Hmac-Sha256"); got != want {
		w.bad = append(w.bad, fmt.Sprintf("signature %q, want %q", got, want))
	}
	if r.Header.Get("X-Shopify-Shop-Domain") != "fulfilled-tea.localhost" {
		w.bad = append(w.bad, "shop domain "+r.Header.Get("X-Shopify-Shop-Domain"))
	}
	if w.calls == 1 {
		http.Error(rw, "warehouse system down", http.StatusServiceUnavailable)
		return
	}
	var req struct {
		Order struct {
			ID        int64 `json:"id"`
			LineItems []struct {
				SKU      string `json:"sku"`
				Quantity int64  `json:"quantity"`
			} `json:"line_items"`
		} `json:"order"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Order.LineItems) != 1 || req.Order.LineItems[0].SKU != "MUG-1" {
		w.bad = append(w.bad, "body "+string(body))
	}
	w.accepted = append(w.accepted, req.Order.ID)
}

func (w *warehouse) state() (int, []int64, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls, append([]int64(nil), w.accepted...), append([]string(nil), w.bad...)
}

// TestThirdPartyFulfillment: a store's default fulfillment service gets a
// signed request when an order is paid; while it is down the request is
// retried by the queue, and accepted once; the service then creates the
// fulfillment with tracking through the Admin API and the order is
// fulfilled.
func TestThirdPartyFulfillment(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := appstest.New(t, func(db *tenant.DB) []apps.Resource {
		return []apps.Resource{orders.NewService(db), fulfillment.NewService(db)}
	})
	st := h.Store("fulfilled-tea")
	merchant := h.Token(st, "write_orders")
	tok, appSecret, err := h.DB.CreateToken(ctx, st, "warehouse app", []string{"write_fulfillments", "read_orders"})
	if err != nil {
		t.Fatal(err)
	}
	signing, err := h.DB.SigningSecret(ctx, st, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	w := &warehouse{secret: signing}
	srv := httptest.NewServer(w)
	defer srv.Close()

	// The app registers its warehouse as the store's default service.
	r := h.Do(st, appSecret, "POST", "/fulfillment_services.json",
		`{"fulfillment_service":{"name":"Loopback 3PL","callback_url":"`+srv.URL+`/3pl","tracking_support":true,"default":true}}`)
	if r.Status != 201 {
		t.Fatalf("POST fulfillment_services.json = %d %s", r.Status, r.Body)
	}

	rdb := testenv.IsolatedRedis(t)
	fleet := workers.New(h.DB, rdb, workers.Config{RelayInterval: 50 * time.Millisecond, RetryCheckInterval: 100 * time.Millisecond,
		AllowPrivate: true, URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}}, log)
	stop := start(t, fleet)
	defer stop()

	// The merchant records a paid order.
	r = h.Do(st, merchant, "POST", "/orders.json", `{"order":{"email":"ann@example.com","financial_status":"paid",
		"line_items":[{"title":"Mug","sku":"MUG-1","price":"8.00","quantity":2}],
		"shipping_address":{"first_name":"Ann","last_name":"Lee","address1":"1 Main St","city":"Springfield","country_code":"US","zip":"62701"}}}`)
	if r.Status != 201 {
		t.Fatalf("POST orders.json = %d %s", r.Status, r.Body)
	}
	var placed struct {
		Order struct {
			ID int64 `json:"id"`
		} `json:"order"`
	}
	json.Unmarshal([]byte(r.Body), &placed)
	oid := placed.Order.ID

	// The warehouse is down: the task waits in asynq's retry set, with
	// asynq's backoff (15 seconds or more). Run the retry now, as an
	// operator would from the queue console.
	insp := asynq.NewInspectorFromRedisClient(rdb)
	var retry *asynq.TaskInfo
	for deadline := time.Now().Add(20 * time.Second); retry == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		tasks, _ := insp.ListRetryTasks("default")
		for _, ti := range tasks {
			if ti.Type == workers.TypeFulfillment {
				retry = ti
			}
		}
	}
	if retry == nil {
		calls, _, bad := w.state()
		t.Fatalf("no fulfillment task waiting to retry (warehouse calls %d, problems %v)", calls, bad)
	}
	if retry.Retried != 1 || retry.NextProcessAt.Before(time.Now().Add(5*time.Second)) {
		t.Errorf("retry = retried %d, next at %v; want the first retry, backed off", retry.Retried, retry.NextProcessAt)
	}
	svc := fulfillment.NewService(h.DB)
	if req, err := svc.Request(ctx, st, oid); err != nil || req.Status != fulfillment.RequestPending || req.Attempts != 1 || req.LastError != "the service answered 503" {
		t.Errorf("Request while down = %+v, %v; want pending after 1 attempt, 503", req, err)
	}
	if err := insp.RunTask("default", retry.ID); err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, acc, _ := w.state(); len(acc) > 0 {
			break
		}
	}
	time.Sleep(300 * time.Millisecond) // a second request would show by now
	calls, accepted, bad := w.state()
	if calls != 2 || len(accepted) != 1 || accepted[0] != oid {
		t.Fatalf("warehouse calls %d, accepted %v; want 2 calls and order %d accepted once", calls, accepted, oid)
	}
	if len(bad) > 0 {
		t.Errorf("the warehouse saw wrong requests: %v", bad)
	}
	req, err := svc.Request(ctx, st, oid)
	if err != nil || req.Status != fulfillment.RequestAccepted || req.Attempts != 2 || req.AcceptedAt == nil {
		t.Errorf("Request = %+v, %v; want accepted after 2 attempts", req, err)
	}

	// The warehouse ships and says so through the Admin API.
	r = h.Do(st, appSecret, "POST", fmt.Sprintf("/orders/%d/fulfillments.json", oid),
		`{"fulfillment":{"tracking_number":"1Z999","tracking_company":"UPS","notify_customer":true}}`)
	if r.Status != 201 {
		t.Fatalf("POST fulfillments.json as the warehouse = %d %s", r.Status, r.Body)
	}
	r = h.Do(st, appSecret, "GET", fmt.Sprintf("/orders/%d.json", oid), "")
	var got struct {
		Order struct {
			FulfillmentStatus *string `json:"fulfillment_status"`
			Fulfillments      []struct {
				TrackingNumber string `json:"tracking_number"`
			} `json:"fulfillments"`
		} `json:"order"`
	}
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil || r.Status != 200 {
		t.Fatalf("GET order = %d %s", r.Status, r.Body)
	}
	if got.Order.FulfillmentStatus == nil || *got.Order.FulfillmentStatus != "fulfilled" {
		t.Errorf("order fulfillment_status = %v, want fulfilled: %s", got.Order.FulfillmentStatus, r.Body)
	}
	events, err := orders.NewService(h.DB).Events(ctx, st, oid)
	if err != nil {
		t.Fatal(err)
	}
	var verbs []string
	requested, fulfilled := -1, -1
	for i, e := range events {
		verbs = append(verbs, e.Verb+": "+e.Message)
		switch {
		case e.Verb == "fulfillment_requested" && e.Message == "Fulfillment requested from Loopback 3PL":
			requested = i
		case e.Verb == "fulfilled":
			fulfilled = i
		}
	}
	if requested < 0 || fulfilled < requested {
		t.Errorf("order timeline = %q, want the request to Loopback 3PL, then the fulfillment", verbs)
	}
	// Nothing more reaches the warehouse.
	time.Sleep(300 * time.Millisecond)
	if calls, _, _ := w.state(); calls != 2 {
		t.Errorf("warehouse calls at the end = %d, want 2", calls)
	}
}
