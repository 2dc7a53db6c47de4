package themes

import (
	"context"
	"testing"
)

// BenchmarkRenderProduct renders the default theme's product page, layout
// included, as the storefront does for every product view.
func BenchmarkRenderProduct(b *testing.B) {
	th, err := LoadBuiltin("harbor")
	if err != nil {
		b.Fatal(err)
	}
	vars := pageVars("product")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := th.Render(ctx, "product", vars, RenderOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderCollection renders a collection page of 12 products.
func BenchmarkRenderCollection(b *testing.B) {
	th, err := LoadBuiltin("harbor")
	if err != nil {
		b.Fatal(err)
	}
	vars := pageVars("collection")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := th.Render(ctx, "collection", vars, RenderOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadTheme parses the default theme, as the storefront does once
// per store and theme version.
func BenchmarkLoadTheme(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadBuiltin("harbor"); err != nil {
			b.Fatal(err)
		}
	}
}
