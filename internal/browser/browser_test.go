package browser

import (
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// shopPage is a small storefront page: a form whose script posts JSON and
// shows the answer. The server writes the Host it saw into #host.
const shopPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Demo shop</title>
<style>
	body { font-family: sans-serif; margin: 2rem; }
	form { display: grid; gap: .75rem; max-width: 20rem; }
	#result { padding: .5rem; background: #e6f4ea; }
</style></head>
<body>
<h1>Demo shop</h1>
<p>Served to <span id="host">%s</span></p>
<form id="signup">
	<label>Name <input id="name" name="name" required></label>
	<label>Plan <select id="plan" name="plan">
		<option value="basic">Basic</option>
		<option value="pro">Pro</option>
	</select></label>
	<button id="submit" type="submit">Subscribe</button>
</form>
<p id="result" hidden></p>
<script>
document.getElementById("signup").addEventListener("submit", async (e) => {
	e.preventDefault();
	const res = await fetch("/api/subscribe", {
		method: "POST",
		headers: {"Content-Type": "application/json"},
		body: JSON.stringify({name: document.getElementById("name").value, plan: document.getElementById("plan").value}),
	});
	const out = document.getElementById("result");
	out.textContent = (await res.json()).message;
	out.hidden = false;
});
</script>
</body></html>`

// brokenPage goes wrong in every way Errors reports.
const brokenPage = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Broken</title></head>
<body><h1 id="title">Broken</h1>
<img src="/missing.png" alt="">
<script>
console.log("not an error");
console.error("price missing for", 42);
fetch("http://127.0.0.1:%d/");
throw new Error("boom");
</script>
</body></html>`

// newShop serves the pages on 127.0.0.1 and returns the server's URL under the
// name shop.localhost, which Chromium resolves to the loopback address.
func newShop(t *testing.T) (url, host string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, shopPage, r.Host)
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, brokenPage, closedPort(t))
	})
	mux.HandleFunc("POST /api/subscribe", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Name, Plan string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"message": fmt.Sprintf("Welcome, %s: you are on the %s plan (via %s)", req.Name, req.Plan, r.Host),
		})
	})
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	host = "shop.localhost:" + port
	return "http://" + host + "/", host
}

// closedPort returns a loopback port that nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Error(err)
		return 1
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// checkPNG decodes the screenshot at path and checks its width, and that it
// is at least minHeight tall.
func checkPNG(t *testing.T, path string, width, minHeight int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open screenshot: %v", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() == 0 {
		t.Fatalf("screenshot %s is empty (stat: %v)", path, err)
	}
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("png.Decode(%s): %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() < minHeight {
		t.Errorf("screenshot %s is %dx%d, want %d wide and at least %d tall", path, b.Dx(), b.Dy(), width, minHeight)
	}
}

func TestForm(t *testing.T) {
	url, host := newShop(t)
	b := New(t)

	b.Open(url, "#signup")
	if got := b.Text("#host"); got != host {
		t.Errorf(`Text("#host") = %q, want %q (the Host header the server saw)`, got, host)
	}
	var size [2]int
	b.Eval("[innerWidth, innerHeight]", &size)
	if size != [2]int{DesktopWidth, DesktopHeight} {
		t.Errorf("viewport = %v, want [%d %d]", size, DesktopWidth, DesktopHeight)
	}

	b.Fill("#name", "Grace")
	b.Fill("#name", "Ada") // replaces, not appends
	b.Select("#plan", "Pro")
	b.Click("#submit")
	b.WaitText("#result", "Welcome")

	want := "Welcome, Ada: you are on the pro plan (via " + host + ")"
	if got := b.Text("#result"); got != want {
		t.Errorf(`Text("#result") = %q, want %q`, got, want)
	}
	if got := b.URL(); got != url {
		t.Errorf("URL() = %q, want %q", got, url)
	}
	b.ExpectNoErrors()

	path := b.Screenshot("subscribed")
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if dir := filepath.Join(root, ".data", "screenshots", "TestForm"); os.Getenv("SCREENSHOT_DIR") == "" && filepath.Dir(path) != dir {
		t.Errorf("Screenshot saved %s, want it in %s", path, dir)
	}
	checkPNG(t, path, DesktopWidth, DesktopHeight)
}

func TestErrors(t *testing.T) {
	url, host := newShop(t)
	b := New(t)
	b.Open(url+"broken", "#title")

	want := []string{
		"console.error: price missing for 42",
		"exception: Uncaught Error: boom",
		"request GET http://" + host + "/missing.png: 404 Not Found",
		"net::ERR_CONNECTION_REFUSED",
		"Failed to fetch",
	}
	// The refused fetch settles a moment after the page loads.
	var got []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got = b.Errors()
		if len(missing(got, want)) == 0 || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("Errors():\n%s", strings.Join(got, "\n"))
	for _, w := range missing(got, want) {
		t.Errorf("Errors() has nothing with %q; it has:\n%s", w, strings.Join(got, "\n"))
	}
	for _, e := range got {
		if strings.Contains(e, "not an error") {
			t.Errorf("Errors() has console.log output: %q", e)
		}
	}
}

// missing returns the wants that no entry of got contains.
func missing(got, want []string) []string {
	var out []string
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || strings.Contains(g, w)
		}
		if !found {
			out = append(out, w)
		}
	}
	return out
}

func TestMobile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SCREENSHOT_DIR", dir)
	url, _ := newShop(t)
	b := NewMobile(t)
	b.Open(url, "#signup")

	var got struct {
		Width  int  `json:"width"`
		Mobile bool `json:"mobile"`
	}
	b.Eval(`({width: innerWidth, mobile: matchMedia("(pointer: coarse)").matches})`, &got)
	if got.Width != MobileWidth || !got.Mobile {
		t.Errorf("page sees width %d, coarse pointer %v; want %d, true", got.Width, got.Mobile, MobileWidth)
	}
	b.Fill("#name", "Ada")
	b.Click("#submit")
	b.WaitText("#result", "basic plan")
	b.ExpectNoErrors()

	// The screenshot takes in the whole page, not only the screen.
	b.Eval(`document.body.style.minHeight = "1500px"`, nil)
	path := b.Screenshot("phone")
	if want := filepath.Join(dir, "TestMobile", "phone.png"); path != want {
		t.Errorf("Screenshot saved %s, want %s", path, want)
	}
	checkPNG(t, path, MobileWidth, 1500)
}

func TestStepError(t *testing.T) {
	url, _ := newShop(t)
	ft := &fatalTB{TB: t}
	b := New(ft)
	b.Open(url, "#signup")
	b.Timeout = 500 * time.Millisecond
	ft.run(func() { b.Click("#no-such-button") })
	for _, w := range []string{`click "#no-such-button"`, "page " + url, "gave up after 500ms"} {
		if !strings.Contains(ft.msg, w) {
			t.Errorf("Click of a missing element failed with %q, want it to say %q", ft.msg, w)
		}
	}
}

func TestNoChromium(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		want       []string
	}{
		{"missing", "/nonexistent/chromium", []string{"no Chromium at /nonexistent/chromium", "deploy/local/services.sh browser"}},
		{"does not start", "/bin/false", []string{"start /bin/false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CHROMIUM_PATH", tc.path)
			ft := &fatalTB{TB: t}
			ft.run(func() { New(ft) })
			t.Logf("New failed with: %s", ft.msg)
			for _, w := range tc.want {
				if !strings.Contains(ft.msg, w) {
					t.Errorf("New with CHROMIUM_PATH=%s failed with %q, want it to say %q", tc.path, ft.msg, w)
				}
			}
		})
	}
}

func TestCleanup(t *testing.T) {
	var pid int
	var dataDir string
	t.Run("browser", func(t *testing.T) {
		b := New(t)
		p := chromedp.FromContext(b.Context()).Browser.Process()
		if p == nil {
			t.Fatal("no browser process")
		}
		pid, dataDir = p.Pid, b.dataDir
		if pids := processesUsing(dataDir); !slices.Contains(pids, pid) {
			t.Errorf("processesUsing(profile) = %v, want it to hold Chromium's pid %d", pids, pid)
		}
	})
	if pid == 0 {
		return
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("Chromium (pid %d) still there after the test: kill(0) = %v", pid, err)
	}
	if pids := processesUsing(dataDir); len(pids) > 0 {
		t.Errorf("processes %v still use the profile after the test", pids)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("profile %s still there after the test: %v", dataDir, err)
	}
}

// fatalTB records the message of Fatalf and ends the goroutine that called it,
// as testing.T does, without failing the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	goruntime.Goexit()
}

// run calls fn in its own goroutine, which Fatalf may end, and waits for it.
func (f *fatalTB) run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
	if f.msg == "" {
		f.TB.Errorf("the call did not fail")
	}
}
