package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The bench's load runs: the servers it starts as child processes, the
// request mixes (vegeta targeters) and one attack's measurement.

// benchChild is a server the bench started: the storefleet server or the
// baseline, each in its own process, so that its peak RSS is its own and
// not the load generator's.
type benchChild struct {
	name string
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
	log  *os.File
	done chan error
}

// startBenchChild runs this binary with args as a server on a free loopback
// port, with env added to the configuration, its output in logPath, and
// waits until /healthz answers.
func startBenchChild(ctx context.Context, name string, args []string, env map[string]string, logPath string) (*benchChild, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// STOREFLEET_RUN_MAIN lets a test binary stand in for this one (see
	// TestMain); the storefleet binary ignores it.
	cmd.Env = append(cmd.Env, "HTTP_ADDR="+addr, "STOREFLEET_RUN_MAIN=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &benchChild{name: name, cmd: cmd, base: "http://" + addr, log: logf, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait() }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(c.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case err := <-c.done:
			c.done <- err
			c.stop()
			return nil, fmt.Errorf("%s exited at start (%v); its log: %s", name, err, benchLogTail(logPath))
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("%s did not answer within 30s; its log: %s", name, benchLogTail(logPath))
		}
	}
}

// stop sends SIGTERM and waits for the process to drain and exit (killing
// it after 15 s).
func (c *benchChild) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		c.done <- err
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		c.done <- <-c.done
	}
	c.log.Close()
}

// resetPeakRSS starts a new peak: writing 5 to clear_refs sets the
// process's VmHWM to its current RSS (Linux 4.0 and later).
func (c *benchChild) resetPeakRSS() {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", c.cmd.Process.Pid), []byte("5"), 0)
}

// peakRSS is the process's VmHWM, in bytes; 0 where /proc cannot say.
func (c *benchChild) peakRSS() int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// benchLogTail is the end of a log file, for an error message.
func benchLogTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return path
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return path + ":\n" + string(b)
}

// benchChildConfig is the server's configuration: every variable the bench was
// given (so SESSION_SECRET, DATABASE_MAX_CONNS and the like carry over),
// then overrides. Every variable is set, empty when unset, so that the
// bench's process environment cannot leak another database into it.
func benchChildConfig(getenv func(string) string, overrides map[string]string) map[string]string {
	env := map[string]string{}
	t := reflect.TypeFor[config]()
	for i := range t.NumField() {
		if k := t.Field(i).Tag.Get("env"); k != "" {
			env[k] = getenv(k)
		}
	}
	for k, v := range overrides {
		env[k] = v
	}
	return env
}

// --- load ------------------------------------------------------------------

// benchLoad is one attack: what to send, how fast, for how long.
type benchLoad struct {
	targeter    vegeta.Targeter
	rate        float64 // requests per second; 0: as fast as concurrency allows
	concurrency int     // requests in flight at maximum throughput
	duration    time.Duration
}

// benchAttack runs l against server and measures it into a row (the caller
// names the row). The server's peak RSS is reset first and read after.
func benchAttack(ctx context.Context, server *benchChild, l benchLoad) benchRow {
	if ctx.Err() != nil {
		return benchRow{Status: benchFailed, Note: "interrupted"}
	}
	// A transport of the run's own, whose connections end with the run.
	tr := &http.Transport{MaxIdleConnsPerHost: 1024, DialContext: (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	opts := []func(*vegeta.Attacker){vegeta.Client(&http.Client{Transport: tr, Timeout: 30 * time.Second}),
		vegeta.MaxBody(0), vegeta.Redirects(vegeta.NoFollow)}
	pacer := vegeta.ConstantPacer{Freq: int(l.rate), Per: time.Second}
	if l.rate == 0 {
		opts = append(opts, vegeta.Workers(uint64(l.concurrency)), vegeta.MaxWorkers(uint64(l.concurrency)))
	} else {
		opts = append(opts, vegeta.MaxWorkers(1024))
	}
	server.resetPeakRSS()
	atk := vegeta.NewAttacker(opts...)
	var m vegeta.Metrics
	var hits, cacheable, failed uint64
	results := atk.Attack(l.targeter, pacer, l.duration, "bench")
	stopped := false
	for res := range results {
		if !stopped && ctx.Err() != nil {
			atk.Stop()
			stopped = true
		}
		if res.Method == "" && res.Error == vegeta.ErrNoTargets.Error() {
			continue // a worker found the targeter done: no request was sent
		}
		m.Add(res)
		if res.Code < 200 || res.Code >= 400 {
			failed++
		}
		if xc := res.Headers.Get("X-Cache"); xc != "" {
			cacheable++
			if xc == "hit" {
				hits++
			}
		}
	}
	m.Close()
	row := benchRow{Status: benchOK, TargetRate: l.rate, DurationS: l.duration.Seconds(), Requests: m.Requests,
		Throughput: m.Throughput, P50ms: benchMs(m.Latencies.P50), P90ms: benchMs(m.Latencies.P90), P99ms: benchMs(m.Latencies.P99),
		Maxms: benchMs(m.Latencies.Max), StatusCodes: m.StatusCodes, PeakRSS: server.peakRSS()}
	if l.rate == 0 {
		row.Concurrency = l.concurrency
	}
	row.Errors = failed
	if len(m.Errors) > 0 {
		row.ErrorSample = m.Errors[:min(5, len(m.Errors))]
	}
	if cacheable > 0 {
		r := float64(hits) / float64(m.Requests)
		row.CacheHits = &r
	}
	if ctx.Err() != nil {
		row.Status, row.Note = benchFailed, "interrupted"
	}
	return row
}

// --- request mixes ---------------------------------------------------------

// benchPopularity picks which store a request goes to.
type benchPopularity string

const (
	popUniform benchPopularity = "uniform"
	popZipf    benchPopularity = "zipf" // store 1 most popular, s = 1.1
)

// picker returns a store chooser over n stores drawing from r; the caller
// serialises calls.
func (p benchPopularity) picker(r *rand.Rand, n int) func() int {
	if p == popZipf && n > 1 {
		z := rand.NewZipf(r, 1.1, 1, uint64(n-1))
		return func() int { return int(z.Uint64()) }
	}
	return func() int { return r.IntN(n) }
}

// benchPageMix weighs the storefront pages a shopper asks for.
type benchPageMix struct{ product, collection, home int }

var (
	benchShopperMix  = benchPageMix{product: 6, collection: 2, home: 2}
	benchProductOnly = benchPageMix{product: 1}
)

// storefrontTargeter asks base for pages of sites, stores chosen by pop
// and pages by mix. uncached sends a cookie, which keeps the page cache out
// of it (it serves only cookieless GETs), as for a shopper with a cart.
func storefrontTargeter(base string, sites []benchSite, pop benchPopularity, mix benchPageMix, uncached bool, seed uint64) vegeta.Targeter {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, 0xbe9c))
	store := pop.picker(r, len(sites))
	total := mix.product + mix.collection + mix.home
	return func(t *vegeta.Target) error {
		mu.Lock()
		s := sites[store()]
		w := r.IntN(total)
		var path string
		switch {
		case w < mix.product && len(s.Products) > 0:
			path = "/products/" + s.Products[r.IntN(len(s.Products))]
		case w < mix.product+mix.collection && len(s.Collections) > 0:
			path = "/collections/" + s.Collections[r.IntN(len(s.Collections))]
		default:
			path = "/"
		}
		mu.Unlock()
		t.Method, t.URL, t.Body = http.MethodGet, base+path, nil
		t.Header = http.Header{"Host": {s.Store.Slug + ".localhost"}, "Accept": {"text/html"}}
		if uncached {
			t.Header.Set("Cookie", "cart=bench")
		}
		return nil
	}
}

// everyPageTargeter asks base for each page of sites once, at most limit
// pages, anonymously, and then ends the attack: it fills the page cache
// before the cached runs.
func everyPageTargeter(base string, sites []benchSite, limit int) vegeta.Targeter {
	var mu sync.Mutex
	var pages []vegeta.Target
	for _, s := range sites {
		paths := []string{"/"}
		for _, c := range s.Collections {
			paths = append(paths, "/collections/"+c)
		}
		for _, p := range s.Products {
			paths = append(paths, "/products/"+p)
		}
		for _, p := range paths {
			if len(pages) == limit {
				break
			}
			pages = append(pages, vegeta.Target{Method: http.MethodGet, URL: base + p,
				Header: http.Header{"Host": {s.Store.Slug + ".localhost"}, "Accept": {"text/html"}}})
		}
	}
	return func(t *vegeta.Target) error {
		mu.Lock()
		defer mu.Unlock()
		if len(pages) == 0 {
			return vegeta.ErrNoTargets
		}
		*t, pages = pages[0], pages[1:]
		return nil
	}
}

// benchAdminCall is one Admin API request kind the bench sends.
type benchAdminCall string

const (
	adminListProducts  benchAdminCall = "GET products.json?limit=250"
	adminCreateProduct benchAdminCall = "POST products.json"
	adminAdjustStock   benchAdminCall = "POST inventory_levels/adjust.json"
	benchAdminPrefix                  = "/admin/api/2025-01"
)

// adminTargeter sends call to sites in turn, each with its own token, so
// each store's bucket sees 1/len(sites) of the rate.
// Products created are numbered by made, which the caller keeps across
// runs, so that no two share a title (and a handle).
func adminTargeter(base string, sites []benchSite, call benchAdminCall, seed uint64, made *atomic.Uint64) vegeta.Targeter {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, 0xad17))
	var next atomic.Uint64
	return func(t *vegeta.Target) error {
		s := sites[int(next.Add(1)-1)%len(sites)]
		t.Header = http.Header{"Host": {s.Store.Slug + ".localhost"}, "Accept": {"application/json"},
			"X-Shopify-Access-Token": {s.Token}}
		switch call {
		case adminListProducts:
			t.Method, t.URL, t.Body = http.MethodGet, base+benchAdminPrefix+"/products.json?limit=250", nil
		case adminCreateProduct:
			n := made.Add(1)
			t.Method, t.URL = http.MethodPost, base+benchAdminPrefix+"/products.json"
			t.Body = fmt.Appendf(nil, `{"product":{"title":"Bench load product %d","vendor":"Bench","product_type":"Load",`+
				`"variants":[{"price":"%d.99","sku":"LOAD-%d"}]}}`, n, 5+n%50, n)
			t.Header.Set("Content-Type", "application/json")
		case adminAdjustStock:
			if len(s.Items) == 0 {
				return errors.New("a store without inventory items cannot be adjusted")
			}
			mu.Lock()
			item := s.Items[r.IntN(len(s.Items))]
			mu.Unlock()
			t.Method, t.URL = http.MethodPost, base+benchAdminPrefix+"/inventory_levels/adjust.json"
			t.Body = fmt.Appendf(nil, `{"location_id":%d,"inventory_item_id":%d,"available_adjustment":1}`, s.Location, item)
			t.Header.Set("Content-Type", "application/json")
		}
		return nil
	}
}
