// Package browser drives a real headless Chromium, through chromedp, for the
// storefront and dashboard tests: a test opens pages as a shopper or a
// merchant would, clicks and types, reads what the page shows, saves
// screenshots, and checks that the page logged no errors.
//
// Each Browser is one Chromium process with a fresh profile, started by New
// and stopped when the test ends. Chromium is Debian's package
// (/usr/bin/chromium, or $CHROMIUM_PATH); `deploy/local/services.sh browser`
// installs it, and make test runs that. A test that finds no Chromium fails,
// it never skips.
//
// Every method fails the test with t.Fatalf, so it must be called from the
// goroutine that runs the test. A failure message names the step and the page
// it was on, and a test that failed leaves a screenshot of the last page.
//
// Chromium resolves every *.localhost name to the loopback address by itself,
// so a test reaches a store at http://shop.localhost:PORT/ with no set-up;
// the server sees that name in the Host header. Go's resolver does not, so
// Go clients in tests still dial 127.0.0.1.
package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// DefaultTimeout is how long one step (a navigation, a click, a wait) may take
// before the test fails.
const DefaultTimeout = 15 * time.Second

// Viewport sizes, in CSS pixels: New opens a desktop window, NewMobile a
// phone-sized screen.
const (
	DesktopWidth  = 1280
	DesktopHeight = 900
	MobileWidth   = 390
	MobileHeight  = 844
)

// startTimeout bounds the start of Chromium; a cold start takes about a second.
const startTimeout = 60 * time.Second

// Browser is one headless Chromium with one tab, for one test.
type Browser struct {
	// Timeout limits each step; it is DefaultTimeout unless the test changes it.
	Timeout time.Duration

	t       testing.TB
	ctx     context.Context // the tab; it lives until the test's cleanup
	dataDir string          // the profile, under t.TempDir()

	mu       sync.Mutex
	errors   []string
	requests map[network.RequestID]string // "GET url", to name a failed request
}

// New starts a headless Chromium with a 1280×900 viewport and returns it; it
// stops when the test ends. It fails the test when Chromium is missing or
// does not start.
func New(t testing.TB) *Browser {
	t.Helper()
	return start(t, DesktopWidth, DesktopHeight, false)
}

// NewMobile is New with a 390×844 phone screen: the page sees a mobile
// viewport (its <meta name="viewport"> applies) and touch events.
func NewMobile(t testing.TB) *Browser {
	t.Helper()
	return start(t, MobileWidth, MobileHeight, true)
}

// ChromiumPath is the Chromium that New starts: $CHROMIUM_PATH, or Debian's
// /usr/bin/chromium.
func ChromiumPath() string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

func start(t testing.TB, width, height int, mobile bool) *Browser {
	t.Helper()
	path := ChromiumPath()
	if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("browser: no Chromium at %s: install it with `deploy/local/services.sh browser` (make test does), or set CHROMIUM_PATH to one", path)
	}

	b := &Browser{
		Timeout:  DefaultTimeout,
		t:        t,
		dataDir:  t.TempDir(), // made before the cleanup below, so removed after it
		requests: make(map[network.RequestID]string),
	}
	out := &capped{max: 64 << 10}
	opts := slices.Clone(chromedp.DefaultExecAllocatorOptions[:])
	opts = append(opts,
		chromedp.ExecPath(path),
		// As shared/NOTES.md says: headless as root, and no background traffic,
		// which the closed network here refuses by the hundred.
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Tests talk to servers on this machine only; a proxy from the
		// environment must not stand in between.
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(b.dataDir),
		chromedp.WindowSize(width, height),
		chromedp.CombinedOutput(out),
	)

	root, stop := context.WithCancelCause(context.Background())
	allocCtx, allocCancel := chromedp.NewExecAllocator(root, opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b.ctx = ctx
	started := false
	t.Cleanup(func() {
		if started && t.Failed() {
			if p, err := b.screenshot("failed"); err == nil {
				t.Logf("browser: the page when the test failed: %s", p)
			}
		}
		// Close Chromium gracefully, then make sure it is gone.
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := chromedp.Cancel(cctx); err != nil && started {
			t.Logf("browser: close Chromium: %v", err)
		}
		cancel()
		cancelTab()
		allocCancel() // waits for the process
		stop(nil)
		if pids := processesUsing(b.dataDir); len(pids) > 0 {
			for _, pid := range pids {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Errorf("browser: Chromium processes %v outlived their browser; killed them", pids)
		}
	})

	// The first call starts Chromium and binds it to ctx, which must have no
	// deadline: a timer bounds the start instead.
	timer := time.AfterFunc(startTimeout, func() {
		stop(fmt.Errorf("Chromium did not answer within %v", startTimeout))
	})
	err := chromedp.Listen(ctx, b.record)
	timer.Stop()
	if err != nil {
		if cause := context.Cause(root); cause != nil {
			err = cause
		}
		msg := fmt.Sprintf("browser: start %s: %v", path, err)
		if o := strings.TrimSpace(out.String()); o != "" {
			msg += "\nChromium's output:\n" + o
		}
		t.Fatalf("%s", msg)
	}
	started = true
	// Headless Chromium keeps room for a toolbar it does not draw, so the
	// window alone would give a shorter viewport: set the page's size.
	var viewport []chromedp.EmulateViewportOption
	if mobile {
		viewport = append(viewport, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	b.Do(fmt.Sprintf("set the viewport to %dx%d", width, height),
		chromedp.EmulateViewport(int64(width), int64(height), viewport...))
	return b
}

// Open loads url and waits until the element that matches the CSS selector
// waitFor is visible.
func (b *Browser) Open(url, waitFor string) {
	b.t.Helper()
	b.Do(fmt.Sprintf("open %s and wait for %q", url, waitFor),
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(waitFor)),
	)
}

// WaitVisible waits until the element that matches the CSS selector is
// visible.
func (b *Browser) WaitVisible(sel string) {
	b.t.Helper()
	b.Do(fmt.Sprintf("wait for %q", sel), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// Click waits until the element that matches the CSS selector is visible and
// clicks its centre with the mouse, as a person would.
func (b *Browser) Click(sel string) {
	b.t.Helper()
	b.Do(fmt.Sprintf("click %q", sel), chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// clearJS empties an input or textarea as a person deleting its text would,
// and returns why it could not.
const clearJS = `((sel) => {
	const el = document.querySelector(sel);
	if (!el) return "no element";
	if (!("value" in el) || el.tagName === "SELECT") return "it is a <" + el.tagName.toLowerCase() + ">, not an input";
	if (el.value !== "") {
		el.value = "";
		el.dispatchEvent(new Event("input", {bubbles: true}));
	}
	return "";
})(%s)`

// Fill empties the input or textarea that matches the CSS selector and types
// value into it, key by key, so the page's input handlers run.
func (b *Browser) Fill(sel, value string) {
	b.t.Helper()
	step := fmt.Sprintf("fill %q with %q", sel, value)
	b.Do(step, chromedp.WaitVisible(chromedp.CSS(sel)))
	if why := run(b, step, chromedp.Evaluate[string](fmt.Sprintf(clearJS, jsString(sel)))); why != "" {
		b.fail(step, errors.New(why))
	}
	if value != "" {
		b.Do(step, chromedp.SendKeys(chromedp.CSS(sel), value))
	}
}

// selectJS picks an option of a <select> by value, or else by its label, and
// fires the events a person's choice fires. It returns why it could not.
const selectJS = `((sel, want) => {
	const el = document.querySelector(sel);
	if (!el) return "no element";
	if (el.tagName !== "SELECT") return "it is a <" + el.tagName.toLowerCase() + ">, not a <select>";
	const opts = [...el.options];
	const opt = opts.find(o => o.value === want) || opts.find(o => o.text.trim() === want);
	if (!opt) return "no option with that value or label; values: " + opts.map(o => JSON.stringify(o.value)).join(", ");
	el.value = opt.value;
	el.dispatchEvent(new Event("input", {bubbles: true}));
	el.dispatchEvent(new Event("change", {bubbles: true}));
	return "";
})(%s, %s)`

// Select chooses the option of the <select> that matches the CSS selector
// whose value, or else whose label, is option.
func (b *Browser) Select(sel, option string) {
	b.t.Helper()
	step := fmt.Sprintf("select %q in %q", option, sel)
	b.Do(step, chromedp.WaitVisible(chromedp.CSS(sel)))
	if why := run(b, step, chromedp.Evaluate[string](fmt.Sprintf(selectJS, jsString(sel), jsString(option)))); why != "" {
		b.fail(step, errors.New(why))
	}
}

// Text returns the text that the element matching the CSS selector shows
// (its innerText; "" when it is hidden).
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	return run(b, fmt.Sprintf("read the text of %q", sel), chromedp.Text(chromedp.CSS(sel)))
}

// WaitText waits until the text of the element that matches the CSS selector
// contains want, for results that a script writes after a request.
func (b *Browser) WaitText(sel, want string) {
	b.t.Helper()
	step := fmt.Sprintf("wait for %q to show %q", sel, want)
	expr := fmt.Sprintf(`(() => { const el = document.querySelector(%s); return !!el && el.innerText.includes(%s); })()`,
		jsString(sel), jsString(want))
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	var err error
	for {
		_, err = chromedp.Run(ctx, chromedp.Poll[bool](expr,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0)))
		// A page that navigates (a form posted a moment ago) ends the poll
		// in the old document ("navigated or closed", "Cannot find context
		// with specified id"): poll again in the new one, until the deadline.
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		got, _ := b.quick(chromedp.Evaluate[string](fmt.Sprintf(
			`(() => { const el = document.querySelector(%s); return el ? el.innerText : "(no such element)"; })()`, jsString(sel))))
		b.fail(step, fmt.Errorf("%w; it shows %q", b.explain(err), got))
	}
}

// URL returns the address of the page the tab shows now.
func (b *Browser) URL() string {
	b.t.Helper()
	return run(b, "read the page's URL", chromedp.Location())
}

// Eval runs the JavaScript expression in the page and decodes its value, as
// JSON, into out (a pointer), or drops it when out is nil. A promise is
// awaited, so a script can fetch.
func (b *Browser) Eval(expr string, out any) {
	b.t.Helper()
	step := fmt.Sprintf("evaluate %s", expr)
	raw := run(b, step, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if out == nil {
		return
	}
	if err := json.Unmarshal(raw, out); err != nil {
		b.fail(step, fmt.Errorf("decode %s: %w", raw, err))
	}
}

// Screenshot saves a PNG of the whole page, beyond the window, as
// <dir>/<TestName>/<name>.png, and returns its path. The dir is
// $SCREENSHOT_DIR, or .data/screenshots at the root of the repository.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	p, err := b.screenshot(name)
	if err != nil {
		b.fail(fmt.Sprintf("screenshot %q", name), err)
	}
	b.t.Logf("browser: screenshot %s", p)
	return p
}

func (b *Browser) screenshot(name string) (string, error) {
	dir, err := screenshotDir(b.t.Name())
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.Action[[]byte](fullPage))
	if err != nil {
		return "", b.explain(err)
	}
	p := filepath.Join(dir, safeName(strings.TrimSuffix(name, ".png"))+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		return "", fmt.Errorf("save screenshot: %w", err)
	}
	return p, nil
}

// fullPage captures the whole page as a PNG, beyond the viewport. It clips to
// the page's content size, as Puppeteer's fullPage does: without a clip,
// Chromium sometimes stops at the emulated viewport.
func fullPage(ctx context.Context, t *chromedp.Target) ([]byte, error) {
	m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return nil, fmt.Errorf("read the page's size: %w", err)
	}
	size := m.CSSContentSize
	if size == nil {
		return nil, errors.New("read the page's size: Chromium sent none")
	}
	yes := true
	r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:                page.CaptureScreenshotFormatPng,
		Clip:                  &page.Viewport{Width: math.Ceil(size.Width), Height: math.Ceil(size.Height), Scale: 1},
		FromSurface:           &yes,
		CaptureBeyondViewport: &yes,
	})
	if err != nil {
		return nil, err
	}
	return r.Data, nil
}

// screenshotDir makes and returns the folder of one test's screenshots; a
// subtest gets a folder inside its parent's.
func screenshotDir(test string) (string, error) {
	base := os.Getenv("SCREENSHOT_DIR")
	if base == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		base = filepath.Join(root, ".data", "screenshots")
	}
	parts := strings.Split(test, "/")
	for i, p := range parts {
		parts[i] = safeName(p)
	}
	dir := filepath.Join(append([]string{base}, parts...)...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("make screenshot folder: %w", err)
	}
	return dir, nil
}

// repoRoot is the nearest folder above the working directory (the package,
// under go test) that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the repository: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("find the repository: no go.mod above the working directory; set SCREENSHOT_DIR")
		}
		dir = up
	}
}

func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
	if strings.Trim(s, ".") == "" {
		return "_"
	}
	return s
}

// Errors returns what went wrong in the page since the browser started, in
// order: uncaught exceptions and unhandled rejections, console.error and
// console.assert calls, the browser's own error log, requests that failed
// (refused, blocked, aborted by an error) and responses with a 4xx or 5xx
// status.
func (b *Browser) Errors() []string {
	b.t.Helper()
	// Every event that came before the answer to this round trip has been
	// recorded by then: Listen sees events in the order they arrive.
	run(b, "sync with the page's events", chromedp.Evaluate[chromedp.Void]("0"))
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.errors)
}

// ExpectNoErrors fails the test, without stopping it, for each error that
// Errors reports.
func (b *Browser) ExpectNoErrors() {
	b.t.Helper()
	for _, e := range b.Errors() {
		b.t.Errorf("browser: the page reported: %s", e)
	}
}

// record runs on chromedp's reading goroutine for each event of the tab; it
// must be quick and must not call the browser.
func (b *Browser) record(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = "exception: " + d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			desc, _, _ := strings.Cut(d.Exception.Description, "\n")
			msg += " " + desc
		}
		if d.URL != "" {
			msg += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		args := make([]string, len(ev.Args))
		for i, a := range ev.Args {
			args[i] = remoteText(a)
		}
		msg = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
	case *log.EventEntryAdded:
		// The network's own entries ("Failed to load resource") repeat what
		// the network events below say with less detail.
		if ev.Entry.Level != log.EntryLevelError || ev.Entry.Source == log.EntrySourceNetwork {
			return
		}
		msg = "log (" + string(ev.Entry.Source) + "): " + ev.Entry.Text
	case *network.EventRequestWillBeSent:
		b.mu.Lock()
		b.requests[ev.RequestID] = ev.Request.Method + " " + ev.Request.URL
		b.mu.Unlock()
		return
	case *network.EventResponseReceived:
		r := ev.Response
		if r.Status < 400 {
			return
		}
		b.mu.Lock()
		req := b.requests[ev.RequestID]
		b.mu.Unlock()
		if req == "" {
			req = r.URL
		}
		msg = fmt.Sprintf("request %s: %d %s", req, r.Status, r.StatusText)
	case *network.EventLoadingFailed:
		if ev.Canceled {
			return // a navigation away, or the page's own abort
		}
		b.mu.Lock()
		req := b.requests[ev.RequestID]
		b.mu.Unlock()
		msg = fmt.Sprintf("request %s: %s", req, ev.ErrorText)
		if ev.BlockedReason != "" {
			msg += " (blocked: " + string(ev.BlockedReason) + ")"
		}
	default:
		return
	}
	b.mu.Lock()
	b.errors = append(b.errors, msg)
	b.mu.Unlock()
}

// remoteText renders one console argument: a string as it is, anything else
// as the console would describe it.
func remoteText(o *runtime.RemoteObject) string {
	if o.Type == runtime.RemoteObjectTypeString {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
	}
	switch {
	case o.UnserializableValue != "":
		return string(o.UnserializableValue)
	case o.Description != "":
		return o.Description
	case len(o.Value) > 0:
		return string(o.Value)
	}
	return string(o.Type)
}

// Context is the tab's chromedp context, for what the helpers do not cover:
// chromedp.Run(b.Context(), …). It has no deadline of its own.
func (b *Browser) Context() context.Context { return b.ctx }

// Do runs chromedp actions in the tab as one step, within Timeout, and fails
// the test with the step's name if one of them fails.
func (b *Browser) Do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	run(b, step, chromedp.Steps(actions...))
}

// run runs one action within the Browser's timeout, and fails the test, naming
// the step, if it fails.
func run[T any](b *Browser, step string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(step, b.explain(err))
	}
	return v
}

// explain turns a timeout into words.
func (b *Browser) explain(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("gave up after %v (Browser.Timeout)", b.Timeout)
	}
	return err
}

// fail stops the test with the step, the page it was on, and the error.
func (b *Browser) fail(step string, err error) {
	b.t.Helper()
	where, qerr := b.quick(chromedp.Location())
	if qerr != nil {
		where = "unknown"
	}
	b.t.Fatalf("browser: %s (page %s): %v", step, where, err)
}

// quick runs a read for an error message, briefly.
func (b *Browser) quick(a chromedp.Action[string]) (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s) // a string always encodes
	return string(q)
}

// processesUsing returns the ids of the processes that run with the profile
// dir: Chromium and its helpers.
func processesUsing(dir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := []byte("--user-data-dir=" + dir + "\x00")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmd, want) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// capped keeps the first max bytes written to it, for Chromium's output.
type capped struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}
