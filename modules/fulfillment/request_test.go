package fulfillment_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/fulfillment"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// warehouse is a fake fulfillment service: it answers with the statuses
// it is given in turn (then 200), and checks each request's path and
// signature with its own HMAC.
type warehouse struct {
	secret  string
	mu      sync.Mutex
	answers []int
	bodies  [][]byte
	bad     []string
}

func (w *warehouse) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m := hmac.New(sha256.New, []byte(w.secret))
	m.Write(body)
	sig := base64.StdEncoding.EncodeToString(m.Sum(nil))
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.URL.Path != "/sf/fulfillment_order_notification" || r.Method != http.MethodPost {
		w.bad = append(w.bad, r.Method+" "+r.URL.Path)
	}
	if w.secret != "" && r.Header.Get("X-Shopify-Hmac-Sha256") != sig {
		w.bad = append(w.bad, "bad signature")
	}
	if r.Header.Get("X-Shopify-Shop-Domain") == "" || r.Header.Get("Content-Type") != "application/json" {
		w.bad = append(w.bad, "headers: "+fmt.Sprint(r.Header))
	}
	w.bodies = append(w.bodies, body)
	status := http.StatusOK
	if len(w.answers) > 0 {
		status, w.answers = w.answers[0], w.answers[1:]
	}
	rw.WriteHeader(status)
}

func (w *warehouse) calls() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.bodies)
}

// placePaid places a paid order through the Admin API: one line to ship,
// one that needs no shipping.
func placePaid(t *testing.T, h *appstest.Harness, st *tenant.Tenant, tok string) int64 {
	t.Helper()
	r := h.Do(st, tok, "POST", "/orders.json", `{"order":{"email":"ann@example.com","financial_status":"paid",
		"line_items":[{"title":"Sencha","sku":"TEA-1","price":"12.50","quantity":2,"grams":100},
		              {"title":"Gift card","price":"10.00","quantity":1,"requires_shipping":false}],
		"shipping_address":{"first_name":"Ann","last_name":"Lee","address1":"1 Main St","city":"Springfield","country_code":"US","zip":"62701"},
		"shipping_lines":[{"title":"Standard","code":"STD","price":"5.00"}]}}`)
	if r.Status != 201 {
		t.Fatalf("POST orders.json = %d %s", r.Status, r.Body)
	}
	return id(object(t, r, "order"))
}

func TestRequestFulfillment(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	st := h.Store("fs-request")
	merchant := h.Token(st, "write_orders")
	tok, secret, err := h.DB.CreateToken(ctx, st, "jupiter", []string{"write_fulfillments"})
	if err != nil {
		t.Fatal(err)
	}
	if secret, err = h.DB.SigningSecret(ctx, st, tok.ID); err != nil {
		t.Fatal(err)
	}
	w := &warehouse{secret: secret, answers: []int{http.StatusServiceUnavailable}}
	srv := httptest.NewServer(w)
	defer srv.Close()
	svc := fulfillment.NewService(h.DB)
	client := safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: fulfillment.RequestTimeout})

	// No service yet: the merchant fulfils by hand, and nothing is sent.
	manual := placePaid(t, h, st, merchant)
	if err := svc.RequestFulfillment(ctx, st, manual, "fs-request.localhost", client); err != nil {
		t.Fatalf("RequestFulfillment without a service = %v", err)
	}
	if _, err := svc.Request(ctx, st, manual); !errs.Is(err, errs.NotFound) {
		t.Errorf("Request of a manually fulfilled order = %v, want NotFound", err)
	}

	p, err := svc.CreateProvider(ctx, st, tok.ID, fulfillment.Input{Name: ptr("Jupiter"), CallbackURL: ptr(srv.URL + "/sf/"), Default: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	oid := placePaid(t, h, st, merchant)
	err = svc.RequestFulfillment(ctx, st, oid, "fs-request.localhost", client)
	if !errors.Is(err, fulfillment.ErrRetry) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("RequestFulfillment against a 503 = %v, want ErrRetry naming 503", err)
	}
	if r, err := svc.Request(ctx, st, oid); err != nil || r.Status != fulfillment.RequestPending || r.Attempts != 1 || *r.ServiceID != p.ID {
		t.Errorf("Request after a refusal = %+v, %v; want pending after 1 attempt to %d", r, err, p.ID)
	}
	// The store changes its default meanwhile: the retry still goes to the
	// service first asked.
	if _, err := svc.CreateProvider(ctx, st, 0, fulfillment.Input{Name: ptr("Saturn"), CallbackURL: ptr("https://saturn.example"), Default: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if err := svc.RequestFulfillment(ctx, st, oid, "fs-request.localhost", client); err != nil {
		t.Fatalf("RequestFulfillment retried = %v", err)
	}
	// Accepted: another run sends nothing.
	if err := svc.RequestFulfillment(ctx, st, oid, "fs-request.localhost", client); err != nil || w.calls() != 2 {
		t.Fatalf("RequestFulfillment after acceptance = %v with %d calls, want nil and 2 calls in all", err, w.calls())
	}
	r, err := svc.Request(ctx, st, oid)
	if err != nil || r.Status != fulfillment.RequestAccepted || r.Attempts != 2 || r.AcceptedAt == nil || r.LastError != "" || r.ServiceName != "Jupiter" {
		t.Errorf("Request = %+v, %v; want accepted by Jupiter after 2 attempts", r, err)
	}
	if len(w.bad) > 0 {
		t.Errorf("the warehouse saw wrong requests: %v", w.bad)
	}
	var body struct {
		Kind      string `json:"kind"`
		RequestID int64  `json:"request_id"`
		Order     struct {
			ID        int64  `json:"id"`
			Name      string `json:"name"`
			LineItems []struct {
				SKU       string `json:"sku"`
				Quantity  int64  `json:"quantity"`
				VariantID *int64 `json:"variant_id"`
				Price     string `json:"price"`
			} `json:"line_items"`
			ShippingAddress struct {
				Name string `json:"name"`
				Zip  string `json:"zip"`
			} `json:"shipping_address"`
			ShippingLines []struct {
				Code  string `json:"code"`
				Price string `json:"price"`
			} `json:"shipping_lines"`
		} `json:"order"`
	}
	if err := json.Unmarshal(w.bodies[1], &body); err != nil {
		t.Fatal(err)
	}
	o := body.Order
	if body.Kind != "FULFILLMENT_REQUEST" || body.RequestID != r.ID || o.ID != oid || o.Name == "" || len(o.LineItems) != 1 ||
		o.LineItems[0].SKU != "TEA-1" || o.LineItems[0].Quantity != 2 || o.LineItems[0].Price != "12.50" ||
		o.ShippingAddress.Name != "Ann Lee" || len(o.ShippingLines) != 1 || o.ShippingLines[0].Code != "STD" || o.ShippingLines[0].Price != "5.00" {
		t.Errorf("request body = %s; want the order's one line to ship, its address and shipping", w.bodies[1])
	}
	events, err := orders.NewService(h.DB).Events(ctx, st, oid)
	if err != nil {
		t.Fatal(err)
	}
	if !hasEvent(events, "fulfillment_requested", "Fulfillment requested from Jupiter") {
		t.Errorf("order timeline = %+v, want the request to Jupiter", events)
	}
}

func TestRequestFulfillmentRefused(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	st := h.Store("fs-refused")
	merchant := h.Token(st, "write_orders")
	svc := fulfillment.NewService(h.DB)
	w := &warehouse{}
	srv := httptest.NewServer(w)
	defer srv.Close()
	// Registered by staff: requests go unsigned.
	if _, err := svc.CreateProvider(ctx, st, 0, fulfillment.Input{Name: ptr("Local"), CallbackURL: ptr(srv.URL + "/sf"), Default: ptr(true)}); err != nil {
		t.Fatal(err)
	}

	// Without ALLOW_PRIVATE_URLS, a loopback callback gets nothing.
	oid := placePaid(t, h, st, merchant)
	strict := safehttp.NewClient(safehttp.Options{Timeout: fulfillment.RequestTimeout})
	err := svc.RequestFulfillment(ctx, st, oid, "fs-refused.localhost", strict)
	if !errors.Is(err, fulfillment.ErrRetry) || !strings.Contains(err.Error(), "private or local network") || w.calls() != 0 {
		t.Fatalf("RequestFulfillment to loopback, not allowed = %v (%d calls), want ErrRetry for a private address", err, w.calls())
	}
	// After the last retry, the merchant is told to fulfil by hand.
	if err := svc.GiveUp(ctx, st, oid, "the callback URL leads to a private or local network"); err != nil {
		t.Fatal(err)
	}
	if r, err := svc.Request(ctx, st, oid); err != nil || r.Status != fulfillment.RequestFailed {
		t.Errorf("Request after GiveUp = %+v, %v; want failed", r, err)
	}
	events, _ := orders.NewService(h.DB).Events(ctx, st, oid)
	if !hasEvent(events, "fulfillment_request_failed", "fulfil the order manually") {
		t.Errorf("order timeline = %+v, want the failure", events)
	}
	lenient := safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: fulfillment.RequestTimeout})
	if err := svc.RequestFulfillment(ctx, st, oid, "fs-refused.localhost", lenient); err != nil || w.calls() != 0 {
		t.Errorf("RequestFulfillment after giving up = %v (%d calls), want nothing sent", err, w.calls())
	}

	// A cancelled order is not sent on.
	cancelled := placePaid(t, h, st, merchant)
	if r := h.Do(st, merchant, "POST", fmt.Sprintf("/orders/%d/cancel.json", cancelled), `{}`); r.Status != 200 {
		t.Fatalf("cancel = %d %s", r.Status, r.Body)
	}
	if err := svc.RequestFulfillment(ctx, st, cancelled, "fs-refused.localhost", lenient); err != nil || w.calls() != 0 {
		t.Errorf("RequestFulfillment of a cancelled order = %v (%d calls), want nothing sent", err, w.calls())
	}

	// An unsigned request reaches the service.
	oid = placePaid(t, h, st, merchant)
	if err := svc.RequestFulfillment(ctx, st, oid, "fs-refused.localhost", lenient); err != nil || w.calls() != 1 {
		t.Errorf("RequestFulfillment = %v (%d calls), want 1 call", err, w.calls())
	}

	// Deleting the service stops a request still being retried.
	w.mu.Lock()
	w.answers = []int{http.StatusBadGateway}
	w.mu.Unlock()
	oid = placePaid(t, h, st, merchant)
	if err := svc.RequestFulfillment(ctx, st, oid, "fs-refused.localhost", lenient); !errors.Is(err, fulfillment.ErrRetry) {
		t.Fatalf("RequestFulfillment against a 502 = %v, want ErrRetry", err)
	}
	ps, err := svc.Providers(ctx, st, fulfillment.Filter{All: true})
	if err != nil || len(ps) != 1 {
		t.Fatalf("Providers = %v, %v", ps, err)
	}
	if err := svc.DeleteProvider(ctx, st, 0, ps[0].ID); err != nil {
		t.Fatal(err)
	}
	if r, err := svc.Request(ctx, st, oid); err != nil || r.Status != fulfillment.RequestCancelled || r.ServiceID != nil || r.ServiceName != "Local" {
		t.Errorf("Request after its service was deleted = %+v, %v; want cancelled, naming Local", r, err)
	}
	if err := svc.RequestFulfillment(ctx, st, oid, "fs-refused.localhost", lenient); err != nil || w.calls() != 2 {
		t.Errorf("RequestFulfillment after the service was deleted = %v (%d calls), want nothing more sent", err, w.calls())
	}
	if len(w.bad) > 0 {
		t.Errorf("the warehouse saw wrong requests: %v", w.bad)
	}
}

func hasEvent(es []orders.Event, verb, text string) bool {
	for _, e := range es {
		if e.Verb == verb && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
