package themes

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// themeWith loads a theme whose index template is src, with snippets and
// sections that call themselves.
func themeWith(t testing.TB, src string) *Theme {
	t.Helper()
	th, err := FromMap(map[string][]byte{
		"layout/theme.liquid":    []byte("<main>{{ content_for_layout }}</main>"),
		"templates/index.liquid": []byte(src),
		"snippets/self.liquid":   []byte(`x{% render 'self' %}`),
		"snippets/ping.liquid":   []byte(`{% render 'pong' %}`),
		"snippets/pong.liquid":   []byte(`{% render 'ping' %}`),
		"snippets/inc.liquid":    []byte(`x{% include 'inc' %}`),
		"snippets/item.liquid":   []byte(`{{ x }}`),
		"snippets/wide.liquid":   []byte(`{% for i in (1..1000) %}{% render 'wider' %}{% endfor %}`),
		"snippets/wider.liquid":  []byte(`{% for i in (1..1000) %}{% render 'item' %}{% endfor %}`),
		"sections/loop.liquid":   []byte(`{% section 'loop' %}`),
	})
	if err != nil {
		t.Fatalf("FromMap(%q) = %v", src, err)
	}
	return th
}

// settle waits for goroutines started during a test to end.
func settle(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const big = `{% assign s = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" %}`

func TestRenderStopsRunawayTemplates(t *testing.T) {
	before := runtime.NumGoroutine()
	unlimited := Limits{Timeout: 250 * time.Millisecond, MaxIterations: 1 << 50, MaxWorkBytes: 1 << 50}
	tests := []struct {
		name   string
		src    string
		limits Limits
		want   error
	}{
		{"billion iterations", `{% for i in (1..1000000000) %}{% endfor %}`, Limits{MaxIterations: 100_000}, ErrTooManyLoops},
		{"billion iterations with output", `{% for i in (1..1000000000) %}{{ i }}{% endfor %}`, Limits{MaxIterations: 100_000}, ErrTooManyLoops},
		{"nested loops", `{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}`, Limits{MaxIterations: 100_000}, ErrTooManyLoops},
		{"loop over a billion-element range in a filter", `{{ (1..1000000000) | join: "," }}`, Limits{}, ErrTooManyLoops},
		{"render loop over a range", `{% render 'item' for (1..1000000000) as x %}`, Limits{MaxIterations: 100_000}, ErrTooManyLoops},
		{"snippet renders itself", `{% render 'self' %}`, Limits{}, ErrTooDeep},
		{"snippets render each other", `{% render 'ping' %}`, Limits{}, ErrTooDeep},
		{"snippet includes itself", `{% include 'inc' %}`, Limits{}, ErrTooDeep},
		{"section renders itself", `{% section 'loop' %}`, Limits{}, ErrTooDeep},
		{"a billion snippet renders", `{% for i in (1..1000) %}{% render 'wide' %}{% endfor %}`, Limits{MaxIterations: 100_000}, ErrTooManyLoops},
		{"gigabytes of output", big + `{% for i in (1..1000000) %}{% for j in (1..1000) %}{{ s }}{% endfor %}{% endfor %}`, Limits{}, ErrOutputTooLarge},
		{"gigabytes captured", big + `{% capture c %}{% for i in (1..1000000) %}{{ s }}{{ s }}{% endfor %}{% endcapture %}`, Limits{}, ErrOutputTooLarge},
		{"string doubled in a loop", `{% assign s = "x" %}{% for i in (1..64) %}{% assign s = s | append: s %}{% endfor %}`, Limits{}, ErrTooMuchWork},
		{"replace with an empty pattern", big + `{% for i in (1..20) %}{% assign s = s | replace: "", s %}{% endfor %}`, Limits{}, ErrTooMuchWork},
		{"join of a huge list", big + `{% for i in (1..14) %}{% assign s = s | append: s %}{% endfor %}{% assign l = s | split: "~" %}{% for i in (1..10) %}{% assign l = l | concat: l %}{% endfor %}{{ l | join: "," }}`, Limits{}, ErrTooMuchWork},
		{"list doubled in a loop", `{% assign l = "a,b" | split: "," %}{% for i in (1..64) %}{% assign l = l | concat: l %}{% endfor %}`, Limits{}, ErrTooManyLoops},
		{"sort of a long list in a loop", `{% assign l = (1..20000) | join: "," | split: "," %}{% for i in (1..1000) %}{% assign m = l | sort %}{% endfor %}`, Limits{MaxIterations: 200_000}, ErrTooManyLoops},
		{"split into a huge list", big + `{% for i in (1..20) %}{% assign s = s | append: s %}{% endfor %}{% assign l = s | split: "" %}`, Limits{MaxWorkBytes: 8 << 20}, ErrTooMuchWork},
		{"slow loop hits the time limit", `{% assign l = (1..3000) | join: "," | split: "," %}{% for i in (1..1000000000) %}{% assign m = l | sort | reverse %}{% endfor %}`, unlimited, ErrTimeout},
		{"empty loop hits the time limit", `{% for i in (1..1000000000000) %}{% endfor %}`, unlimited, ErrTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			th := themeWith(t, tc.src)
			if tc.want != ErrTimeout && tc.limits.Timeout == 0 {
				// The limit under test is a count, not a time: give a slow
				// (loaded, race-instrumented) machine all the time it needs
				// to reach the count first.
				tc.limits.Timeout = 30 * time.Second
			}
			limits := tc.limits.withDefaults()
			start := time.Now()
			out, err := th.Render(context.Background(), "index", nil, RenderOptions{Limits: tc.limits})
			elapsed := time.Since(start)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Render = %d bytes, %v; want %v", len(out), err, tc.want)
			}
			var located *Error
			if !errors.As(err, &located) || located.File == "" || located.Line == 0 {
				t.Errorf("Render error %v does not name a file and line", err)
			}
			if out != nil {
				t.Errorf("Render returned %d bytes with its error", len(out))
			}
			if margin := time.Second; elapsed > limits.Timeout+margin {
				t.Errorf("Render took %v, want at most %v", elapsed, limits.Timeout+margin)
			}
		})
	}
	settle(t, before)
}

func TestRenderHonoursTheCallersContext(t *testing.T) {
	before := runtime.NumGoroutine()
	th := themeWith(t, `{% for i in (1..1000000000000) %}{% endfor %}`)
	limits := Limits{Timeout: time.Minute, MaxIterations: 1 << 50}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := th.Render(ctx, "index", nil, RenderOptions{Limits: limits})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrTimeout) {
		t.Errorf("Render with a 100ms deadline = %v, want DeadlineExceeded and ErrTimeout", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Render with a 100ms deadline took %v", elapsed)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := th.Render(ctx, "index", nil, RenderOptions{Limits: limits}); !errors.Is(err, context.Canceled) {
		t.Errorf("Render canceled after 50ms = %v, want context.Canceled", err)
	}
	settle(t, before)
}

// A runaway render does not disturb others running at the same time.
func TestRunawayRenderLeavesOthersAlone(t *testing.T) {
	themes := loadBuiltins(t)
	bad := themeWith(t, `{% for i in (1..1000000000000) %}{% endfor %}`)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := bad.Render(context.Background(), "index", nil, RenderOptions{Limits: Limits{Timeout: 300 * time.Millisecond, MaxIterations: 1 << 50}})
		if !errors.Is(err, ErrTimeout) {
			errs <- err
		}
	}()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, th := range themes {
				if _, err := th.Render(context.Background(), "product", pageVars("product"), RenderOptions{}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestThemesReadNoFiles(t *testing.T) {
	for _, src := range []string{
		`{% render '../../etc/passwd' %}`,
		`{% include '/etc/passwd' %}`,
		`{% render '/etc/passwd' %}`,
		`{% include '../snippets/self' %}`,
		`{% layout '../../etc/passwd' %}`,
		`{% section '../templates/index' %}`,
		`{% render 'snippets\x2f..\x2f..\x2fetc/passwd' %}`,
	} {
		_, err := FromMap(map[string][]byte{
			"layout/theme.liquid":    []byte("{{ content_for_layout }}"),
			"templates/index.liquid": []byte("\n" + src),
		})
		var located *Error
		if !errors.As(err, &located) || located.File != "templates/index.liquid" || located.Line != 2 {
			t.Errorf("FromMap with %s = %v, want an error at templates/index.liquid:2", src, err)
		}
	}
	// Names computed at render time are looked up among the theme's
	// snippets only.
	for _, name := range []string{"../../../../etc/passwd", "/etc/passwd", "../layout/theme", "self/../self"} {
		th := themeWith(t, `{% include name %}`)
		out, err := th.Render(context.Background(), "index", map[string]any{"name": name}, RenderOptions{})
		if !errors.Is(err, ErrNotFound) || strings.Contains(string(out), "root:") {
			t.Errorf("include of %q = %q, %v; want ErrNotFound", name, out, err)
		}
	}
	// Theme files themselves cannot sit outside the theme.
	for _, p := range []string{"../evil.liquid", "/etc/passwd", "snippets/../../x.liquid", `snippets\x.liquid`, "bin/x.sh"} {
		if _, err := FromMap(map[string][]byte{"layout/theme.liquid": []byte("x"), p: []byte("x")}); err == nil {
			t.Errorf("FromMap with file %q = nil error", p)
		}
	}
}

func TestDeeplyNestedBlocksAreRefused(t *testing.T) {
	src := strings.Repeat("{% if true %}", MaxNesting+1) + "x" + strings.Repeat("{% endif %}", MaxNesting+1)
	_, err := FromMap(map[string][]byte{"layout/theme.liquid": []byte("x"), "templates/index.liquid": []byte(src)})
	if err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Errorf("FromMap with %d nested ifs = %v, want a nesting error", MaxNesting+1, err)
	}
	ok := strings.Repeat("{% if true %}", 50) + "x" + strings.Repeat("{% endif %}", 50)
	th := themeWith(t, ok)
	if out, err := th.Render(context.Background(), "index", nil, RenderOptions{}); err != nil || !strings.Contains(string(out), "x") {
		t.Errorf("Render of 50 nested ifs = %q, %v", out, err)
	}
}
