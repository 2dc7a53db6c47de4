package main

import (
	"bytes"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// TestProductArt checks the demo pictures: two JPEGs per product, 800×800,
// different for different products. With ART_DIR set it also writes them
// there, to be looked at.
func TestProductArt(t *testing.T) {
	seen := map[string]string{}
	for _, p := range []struct{ title, vendor, kind, handle string }{
		{"Sencha Yabukita", "Uji Garden", "Green", "sencha-yabukita"},
		{"Darjeeling First Flush", "Giddapahar Estate", "Black", "darjeeling-first-flush"},
		{"Kyusu Teapot", "Tokoname Kilns", "Teaware", "kyusu-teapot"},
		{"Odd", "Nobody", "Unknown kind", "odd"},
	} {
		pics, err := productArt(p.title, p.vendor, p.kind, p.handle)
		if err != nil {
			t.Fatalf("productArt(%s) = %v", p.handle, err)
		}
		for i, b := range pics {
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
			if err != nil || cfg.Width != artSize || cfg.Height != artSize {
				t.Errorf("productArt(%s) picture %d: %v %dx%d, want an %d² JPEG", p.handle, i, err, cfg.Width, cfg.Height, artSize)
			}
			if other, dup := seen[string(b)]; dup {
				t.Errorf("productArt(%s) picture %d is the same as %s's", p.handle, i, other)
			}
			seen[string(b)] = p.handle
			if dir := os.Getenv("ART_DIR"); dir != "" {
				os.WriteFile(filepath.Join(dir, p.handle+"-"+string(rune('1'+i))+".jpg"), b, 0o644)
			}
		}
	}
}
