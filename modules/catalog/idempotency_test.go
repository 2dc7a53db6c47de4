package catalog_test

import (
	"fmt"
	"strings"
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

func TestIdempotentWrites(t *testing.T) {
	h := newHarness(t)
	st := h.Store("catalog-idem")
	tok, other := h.Token(st, "write_products"), h.Token(st, "write_products")
	body := `{"product":{"title":"Once Only"}}`

	first := doKey(t, h, st, tok, "POST", "/products.json", "create-1", body)
	again := doKey(t, h, st, tok, "POST", "/products.json", "create-1", body)
	if first.Status != 201 || again.Status != 201 || again.Body != first.Body || again.Header.Get(apps.ReplayedHeader) != "true" || first.Header.Get(apps.ReplayedHeader) != "" {
		t.Errorf("POST twice with one key = %d %q / %d %q (replayed %q); want the same 201 twice, the second marked replayed",
			first.Status, first.Body, again.Status, again.Body, again.Header.Get(apps.ReplayedHeader))
	}
	if n := count(t, h, st, tok); n != 1 {
		t.Errorf("products after a retried create = %d, want 1", n)
	}
	for name, r := range map[string]appstest.Response{
		"same key, other body":  doKey(t, h, st, tok, "POST", "/products.json", "create-1", `{"product":{"title":"Other"}}`),
		"same key, other token": doKey(t, h, st, other, "POST", "/products.json", "create-1", body),
		"same key, other path":  doKey(t, h, st, tok, "PUT", fmt.Sprintf("/products/%d.json", id(product(t, first))), "create-1", body),
	} {
		if r.Status != 422 || !strings.Contains(r.Body, "already used for a different request") {
			t.Errorf("%s = %d %s, want 422 saying the key was used for a different request", name, r.Status, r.Body)
		}
	}

	// Ten clients at once with one key: one product, ten identical answers.
	var wg sync.WaitGroup
	answers := make([]appstest.Response, 10)
	for i := range answers {
		wg.Go(func() {
			answers[i] = doKey(t, h, st, tok, "POST", "/products.json", "burst", `{"product":{"title":"Burst"}}`)
		})
	}
	wg.Wait()
	for i, a := range answers {
		if a.Status != 201 || a.Body != answers[0].Body {
			t.Errorf("concurrent duplicate %d = %d %s, want the same 201 as the first", i, a.Status, a.Body)
		}
	}
	if n := count(t, h, st, tok); n != 2 {
		t.Errorf("products after ten concurrent duplicates = %d, want 2 (Once Only and one Burst)", n)
	}

	// Refusals are kept too; deletes replay instead of saying 404.
	bad := doKey(t, h, st, tok, "POST", "/products.json", "bad-1", `{"product":{"title":""}}`)
	if again := doKey(t, h, st, tok, "POST", "/products.json", "bad-1", `{"product":{"title":""}}`); bad.Status != 422 || again.Status != 422 || again.Header.Get(apps.ReplayedHeader) != "true" {
		t.Errorf("retried invalid create = %d / %d replayed %q, want 422 replayed", bad.Status, again.Status, again.Header.Get(apps.ReplayedHeader))
	}
	path := fmt.Sprintf("/products/%d.json", id(product(t, first)))
	d1, d2 := doKey(t, h, st, tok, "DELETE", path, "del-1", ""), doKey(t, h, st, tok, "DELETE", path, "del-1", "")
	if d1.Status != 200 || d2.Status != 200 || d2.Header.Get(apps.ReplayedHeader) != "true" {
		t.Errorf("retried delete = %d / %d, want 200 twice (the second replayed, not 404)", d1.Status, d2.Status)
	}
	// Keys belong to their store: another store's same key is its own.
	b := h.Store("catalog-idem-b")
	btok := h.Token(b, "write_products")
	if r := doKey(t, h, b, btok, "POST", "/products.json", "create-1", body); r.Status != 201 || r.Header.Get(apps.ReplayedHeader) != "" || r.Body == first.Body {
		t.Errorf("another store's create-1 = %d %s (replayed %q), want its own new product", r.Status, r.Body, r.Header.Get(apps.ReplayedHeader))
	}
	if r := doKey(t, h, st, tok, "POST", "/products.json", "k\xff\xfe", body); r.Status != 400 {
		t.Errorf("a key that is not printable ASCII = %d %s, want 400", r.Status, r.Body)
	}
	if r := doKey(t, h, st, tok, "POST", "/products.json", strings.Repeat("k", 256), body); r.Status != 400 {
		t.Errorf("a 256-character key = %d, want 400", r.Status)
	}
}
