package themes

import (
	"context"
	"strings"
	"testing"
	"time"
)

// FuzzParseTemplate checks that no template source, however broken,
// panics the loader or the renderer, or keeps either busy: parsing is
// done under recover, and rendering under tight limits. testdata/fuzz
// keeps the inputs that once failed.
func FuzzParseTemplate(f *testing.F) {
	for _, seed := range []string{
		"", "{{", "{%", "{% if %}", "{{ x | }}", "{% for i in (1..100) %}{{ i }}{% endfor %}",
		"{% render 's' %}", "{% include x %}", "{% liquid\nassign a = 1\necho a %}", "{{ a\n| b: c: d }}",
		"{% paginate x by 2 %}{% endpaginate %}", "{% form 'product', p, a: b %}{% endform %}",
		"{% case %}{% when %}{% endcase %}", "{% tablerow i in (1..3) cols: 0 %}{% endtablerow %}",
		"{% cycle 'a' %}", "{{ (1..5) | join }}", "{% raw %}{{{% endraw %}", "{% comment %}", "{% # x %}",
		"{{ 'x' | t: count: 1 }}", "{{ x | image_url: width: 'a' }}", "{% layout none %}", "{% section 's' %}",
		"{% capture %}{% endcapture %}", "{{ -1 | money }}", "{{ x[0][1].y.z }}", "{% assign = %}",
		"{% for i in x offset: 'a' %}{% endfor %}", "{{ 1 | divided_by: 0 }}", "{{ nil | date: nil }}",
	} {
		f.Add(seed)
	}
	limits := Limits{Timeout: 200 * time.Millisecond, MaxIterations: 10_000, MaxWorkBytes: 1 << 20, MaxOutputBytes: 1 << 20}
	vars := map[string]any{"x": []any{1, "a", nil}, "p": map[string]any{"id": 1}, "q": Untrusted("<q>")}
	f.Fuzz(func(t *testing.T, src string) {
		start := time.Now()
		th, err := FromMap(map[string][]byte{
			"layout/theme.liquid":    []byte("{{ content_for_layout }}"),
			"templates/index.liquid": []byte(src),
			"snippets/s.liquid":      []byte(src),
			"sections/s.liquid":      []byte(src),
		})
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Fatalf("FromMap took %v", elapsed)
		}
		if err != nil {
			// Some sources make osteele/liquid's parser panic (a Unicode
			// letter where it expects an identifier); FromMap turns that
			// into an error, which is all this target asks.
			return
		}
		start = time.Now()
		_, err = th.Render(context.Background(), "index", vars, RenderOptions{Limits: limits})
		if err != nil && strings.Contains(err.Error(), "internal error in theme engine") {
			t.Fatalf("Render panicked: %v", err)
		}
		if elapsed := time.Since(start); elapsed > limits.Timeout+2*time.Second {
			t.Fatalf("Render took %v", elapsed)
		}
	})
}
