package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/webhooks"
	"github.com/storefleet/storefleet/tenant"
)

// endpoint is a subscriber's server: it answers 500 while failing, and
// notes the event of every delivery it takes.
type endpoint struct {
	srv     *httptest.Server
	failing atomic.Bool
	mu      sync.Mutex
	took    []string
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		e.mu.Lock()
		e.took = append(e.took, r.Header.Get("X-Shopify-Event-Id"))
		e.mu.Unlock()
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) taken() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.took)
}

// TestReplayMissed: a subscription fails three deliveries in a row, is
// disabled for it, and is switched back on; its app asks replay.json for
// what it missed ("missed": true) and gets exactly those three again, the
// one that started the streak included. A replay since failing_since names
// the same three: the streak starts when its first delivery was made.
func TestReplayMissed(t *testing.T) {
	var hooks *webhooks.Service
	h := appstest.New(t, func(db *tenant.DB) []apps.Resource {
		hooks = webhooks.NewService(db, webhooks.AllowPrivate(true))
		return []apps.Resource{hooks}
	})
	ctx := context.Background()
	st := h.Store("hooks-missed")
	app := h.Token(st, "read_products")
	ep := newEndpoint(t)
	r := h.Do(st, app, "POST", "/webhooks.json", `{"webhook":{"topic":"products/create","address":"`+ep.srv.URL+`/hooks"}}`)
	if r.Status != 201 {
		t.Fatalf("POST webhooks.json = %d %s", r.Status, r.Body)
	}
	id := int64(r.JSON(t)["webhook"].(map[string]any)["id"].(float64))
	path := fmt.Sprintf("/webhooks/%d.json", id)
	client := safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 5 * time.Second})
	event := func(n int) tenant.Event {
		return tenant.Event{ID: uuid.Must(uuid.NewV7()), Store: st.ID, Topic: "products/create",
			Payload: json.RawMessage(fmt.Sprintf(`{"id":%d}`, n)), CreatedAt: time.Now()}
	}

	ok := event(0)
	if err := hooks.Deliver(ctx, st, id, ok, "hooks-missed.localhost", client); err != nil {
		t.Fatalf("Deliver(first) = %v, want delivered", err)
	}
	ep.failing.Store(true)
	var missed []string
	for i := 1; i <= 3; i++ {
		ev := event(i)
		if err := hooks.Deliver(ctx, st, id, ev, "hooks-missed.localhost", client); err == nil {
			t.Fatalf("Deliver(%d) to a failing endpoint = nil, want ErrRetry", i)
		}
		disableAfter := time.Hour // the third failure disables it
		if i == 3 {
			disableAfter = 0
		}
		if err := hooks.GiveUp(ctx, st, id, ev, "answered 500", disableAfter); err != nil {
			t.Fatalf("GiveUp(%d) = %v", i, err)
		}
		missed = append(missed, ev.ID.String())
	}
	w := h.Do(st, app, "GET", path, "").JSON(t)["webhook"].(map[string]any)
	if w["disabled_at"] == nil || w["failing_since"] == nil {
		t.Fatalf("after 3 failures = %v, want disabled and failing", w)
	}
	failingSince := w["failing_since"].(string)

	// Since failing_since: the three, the first included.
	if r := h.Do(st, app, "POST", path[:len(path)-5]+"/replay.json", `{"since":"`+failingSince+`"}`); r.Body != `{"replaying":3}` {
		t.Errorf("replay since failing_since %s = %d %s, want 3", failingSince, r.Status, r.Body)
	}
	replayed(t, h, hooks, st, nil) // dropped: the endpoint is still failing

	ep.failing.Store(false)
	if r := h.Do(st, app, "PUT", path, `{"webhook":{"enabled":true}}`); r.Status != 200 || !strings.Contains(r.Body, `"disabled_at":null`) {
		t.Fatalf("PUT enabled = %d %s, want enabled", r.Status, r.Body)
	}
	before := len(ep.taken())
	if r := h.Do(st, app, "POST", path[:len(path)-5]+"/replay.json", `{"missed":true}`); r.Status != 202 || r.Body != `{"replaying":3}` {
		t.Fatalf("replay missed = %d %s, want 202 replaying 3", r.Status, r.Body)
	}
	replayed(t, h, hooks, st, client)
	if got := ep.taken()[before:]; !slices.Equal(got, missed) {
		t.Errorf("replay missed sent %v, want exactly the missed %v", got, missed)
	}

	// All delivered now: nothing is missed.
	if r := h.Do(st, app, "POST", path[:len(path)-5]+"/replay.json", `{"missed":true}`); r.Body != `{"replaying":0}` {
		t.Errorf("replay missed again = %d %s, want 0", r.Status, r.Body)
	}
	// The dashboard's ReplayMissed is the same request.
	if n, err := hooks.ReplayMissed(ctx, st, 0, id); err == nil || n != 0 {
		t.Errorf("ReplayMissed by another token = %d, %v, want not found", n, err)
	}
}

// replayed carries out the replay requests in the outbox as the job fleet
// does: each named event is sent again from the stored delivery, through
// client (nil: the requests are dropped unsent).
func replayed(t *testing.T, h *appstest.Harness, hooks *webhooks.Service, st *tenant.Tenant, client *http.Client) {
	t.Helper()
	ctx := context.Background()
	_, err := h.DB.RelayEvents(ctx, 100, func(ctx context.Context, ev tenant.Event) error {
		if ev.Topic != webhooks.TopicReplay || ev.Store != st.ID || client == nil {
			return nil
		}
		var p webhooks.ReplayPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return err
		}
		evs, err := hooks.StoredEvents(ctx, st, p.Subscription, p.Events)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := hooks.Redeliver(ctx, st, p.Subscription, e, st.Slug+".localhost", client); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("relay replays: %v", err)
	}
}
