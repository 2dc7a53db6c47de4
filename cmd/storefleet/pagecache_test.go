package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/tenant"
)

// TestPageCacheAcrossServers: two servers cache a store's pages for
// anonymous shoppers; a change made through one reaches the other's
// shoppers within a second.
func TestPageCacheAcrossServers(t *testing.T) {
	dbURL := testenv.Database(t)
	a, b := startServer(t, dbURL), startServer(t, dbURL)
	ctx := context.Background()
	st, err := a.deps.db.Provision(ctx, tenant.NewStore{Slug: "cached-tea", Name: "Cached Tea"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	title := "Old Title"
	p, err := a.deps.catalog().CreateProduct(ctx, st, catalog.ProductInput{Title: &title, Handle: ptrTo("cup")})
	if err != nil {
		t.Fatal(err)
	}
	host := "cached-tea.localhost"
	for _, s := range []*testServer{a, b} {
		first, second := s.do(t, "GET", host, "/products/cup", ""), s.do(t, "GET", host, "/products/cup", "")
		if first.header.Get("X-Cache") != "miss" || second.header.Get("X-Cache") != "hit" || !strings.Contains(second.body, "Old Title") {
			t.Fatalf("two anonymous views = %s then %s, want miss then hit showing the product", first.header.Get("X-Cache"), second.header.Get("X-Cache"))
		}
	}
	// A shopper with a cookie (a cart, a session) is never served the cache.
	if r := b.do(t, "GET", host, "/products/cup", "", "Cookie", "cart=x"); r.header.Get("X-Cache") != "" {
		t.Errorf("a view with a cookie was served by the cache (X-Cache %q)", r.header.Get("X-Cache"))
	}

	newTitle := "New Title"
	if _, err := a.deps.catalog().UpdateProduct(ctx, st, p.ID, catalog.ProductInput{Title: &newTitle}); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	var r response
	for time.Since(changed) < 5*time.Second {
		if r = b.do(t, "GET", host, "/products/cup", ""); strings.Contains(r.body, "New Title") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(changed)
	t.Logf("the change reached server b's shoppers after %v", took)
	if !strings.Contains(r.body, "New Title") || took > time.Second {
		t.Errorf("server b showed the new title after %v (X-Cache %s), want within 1s", took, r.header.Get("X-Cache"))
	}
	// Other stores' pages are not dropped by this store's change.
	if _, err := a.deps.db.Provision(ctx, tenant.NewStore{Slug: "other-tea", Name: "Other Tea"}, nil); err != nil {
		t.Fatal(err)
	}
	b.do(t, "GET", "other-tea.localhost", "/", "")
	if _, err := a.deps.catalog().UpdateProduct(ctx, st, p.ID, catalog.ProductInput{Title: &title}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if r := b.do(t, "GET", "other-tea.localhost", "/", ""); r.header.Get("X-Cache") != "hit" {
		t.Errorf("another store's cached home page after this store's change: X-Cache %q, want hit", r.header.Get("X-Cache"))
	}
}

func ptrTo[T any](v T) *T { return &v }
