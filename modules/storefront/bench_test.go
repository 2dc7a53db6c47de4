package storefront_test

import (
	"fmt"
	"net/http"
	"testing"
)

// BenchmarkProductPage renders a product page of the default theme through
// the whole storefront stack (host resolution, the door, catalog reads,
// theme render): uncached, as for a shopper with a cart, and cached, as for
// an anonymous one.
//
//	go test -run='^$' -bench=ProductPage ./modules/storefront/
func BenchmarkProductPage(b *testing.B) {
	f := newFixture(b)
	st := f.store("bench-front")
	for i := range 20 {
		f.product(st, fmt.Sprintf("Tea %02d", i))
	}
	get := func(b *testing.B, cookie string) {
		req, _ := http.NewRequest("GET", f.srv.URL+"/products/tea-07", nil)
		req.Host = st.Slug + ".localhost"
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("GET /products/tea-07 = %v %v", resp, err)
		}
		resp.Body.Close()
	}
	b.Run("uncached", func(b *testing.B) {
		for b.Loop() {
			get(b, "cart=none")
		}
	})
	b.Run("cached", func(b *testing.B) {
		get(b, "")
		for b.Loop() {
			get(b, "")
		}
	})
}
