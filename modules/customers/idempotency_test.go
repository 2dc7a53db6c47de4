package customers_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/tenant"
)

// doKey sends a write with an Idempotency-Key.
func doKey(t *testing.T, h *appstest.Harness, st *tenant.Tenant, tok, method, path, key, body string) appstest.Response {
	t.Helper()
	return h.Do(st, tok, method, path, body, apps.IdempotencyKeyHeader, key)
}

func TestIdempotentCreate(t *testing.T) {
	h := newHarness(t)
	st := h.Store("customers-idem")
	tok := h.Token(st, "write_customers")
	body := `{"customer":{"email":"once@example.com"}}`
	first := doKey(t, h, st, tok, "POST", "/customers.json", "create-1", body)
	again := doKey(t, h, st, tok, "POST", "/customers.json", "create-1", body)
	if first.Status != 201 || again.Status != 201 || again.Body != first.Body || again.Header.Get(apps.ReplayedHeader) != "true" {
		t.Errorf("POST twice with one key = %d / %d (replayed %q); want the same 201 twice, the second replayed",
			first.Status, again.Status, again.Header.Get(apps.ReplayedHeader))
	}
	// Without a key the retry is a new request, refused for its email.
	if r := h.Do(st, tok, "POST", "/customers.json", body); r.Status != 422 {
		t.Errorf("POST again without a key = %d %s, want 422 (email taken)", r.Status, r.Body)
	}
	if n := count(t, h, st, tok); n != 1 {
		t.Errorf("customers after retries = %d, want 1", n)
	}
}

// TestConcurrentAddresses adds addresses to a customer from many clients at
// once: however they interleave, the customer ends with exactly one default.
func TestConcurrentAddresses(t *testing.T) {
	h := newHarness(t)
	st := h.Store("customers-race")
	tok := h.Token(st, "write_customers")
	c := create(t, h, st, tok, `{"customer":{"email":"busy@example.com"}}`)
	path := fmt.Sprintf("/customers/%d/addresses.json", id(c))
	var wg sync.WaitGroup
	answers := make([]appstest.Response, 10)
	for i := range answers {
		wg.Go(func() {
			body := fmt.Sprintf(`{"address":{"city":"C%d","default":%t}}`, i, i%3 == 0)
			answers[i] = h.Do(st, tok, "POST", path, body)
		})
	}
	wg.Wait()
	for i, a := range answers {
		if a.Status != 201 {
			t.Errorf("concurrent address %d = %d %s, want 201", i, a.Status, a.Body)
		}
	}
	as := addressesOf(t, h, st, tok, id(c))
	n := 0
	for _, a := range as {
		if a["default"] == true {
			n++
		}
	}
	if len(as) != 10 || n != 1 {
		t.Errorf("after 10 concurrent adds: %d addresses, %d defaults; want 10 and 1", len(as), n)
	}
	// Concurrent emails: one wins, the rest are told it is taken.
	results := make([]int, 8)
	for i := range results {
		wg.Go(func() {
			results[i] = h.Do(st, tok, "POST", "/customers.json", `{"customer":{"email":"Race@Example.com"}}`).Status
		})
	}
	wg.Wait()
	created := 0
	for i, s := range results {
		switch s {
		case 201:
			created++
		case 422:
		default:
			t.Errorf("concurrent create %d = %d, want 201 or 422", i, s)
		}
	}
	if created != 1 {
		t.Errorf("concurrent creates with one email: %d created, want 1", created)
	}
}
