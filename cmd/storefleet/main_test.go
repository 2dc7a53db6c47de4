package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenant"
)

// TestMain lets the test binary stand in for the storefleet binary: with
// STOREFLEET_RUN_MAIN=1 it runs main, so tests can start it as a process and
// send it signals.
func TestMain(m *testing.M) {
	if os.Getenv("STOREFLEET_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	gin.SetMode(gin.ReleaseMode) // as run does
	dir, err := os.MkdirTemp("", "storefleet-blobs-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	blobDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// blobDir holds the files of every server the tests start; store ids never
// repeat, so neither do their folders.
var blobDir string

// envFor returns a getenv for dbURL, the test Redis and extra settings.
func envFor(dbURL string, extra ...string) func(string) string {
	m := map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": testenv.RedisURL(), "HTTP_ADDR": "127.0.0.1:0",
		"BLOB_URL": "file://" + blobDir, "ALLOW_PRIVATE_URLS": "true", "MAIL_URL": "file:" + blobDir + "/mail"}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return func(k string) string { return m[k] }
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is one storefleet server process, in the test's process.
type testServer struct {
	deps *deps
	http *httptest.Server
	logs *syncBuffer
}

// startServer starts a server on dbURL with its own pools, its own resolver
// cache (TTL one hour, so only invalidations refresh it), its own log, and
// any further settings in env (name, value, …).
func startServer(t testing.TB, dbURL string, env ...string) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	d, err := openDeps(context.Background(), envFor(dbURL, append([]string{"TENANT_CACHE_TTL", "1h"}, env...)...), logs)
	if err != nil {
		t.Fatalf("openDeps = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	resolver := tenant.NewResolver(d.db, d.cfg.urls.Domain, d.cfg.TenantCacheTTL)
	go resolver.Run(ctx, d.rdb)
	waitSubscribed(t, d)
	srv := newServer(d, resolver)
	go d.db.WatchChanges(ctx, tenant.StorefrontChanges, srv.front.Changed)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		cancel()
		d.Close()
	})
	return &testServer{deps: d, http: ts, logs: logs}
}

// waitSubscribed waits until some resolver listens for store changes.
func waitSubscribed(t testing.TB, d *deps) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, err := d.rdb.PubSubNumSub(context.Background(), "storefleet:tenant-changes").Result()
		if err == nil && n["storefleet:tenant-changes"] > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("resolver did not subscribe to store changes within 5s")
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request to the server as if to host.
func (s *testServer) do(t testing.TB, method, host, path, body string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, s.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, host, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func decode(t testing.TB, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("response %q is not JSON: %v", body, err)
	}
	return m
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	if _, err := loadConfig(func(string) string { return "" }); err != nil {
		t.Fatalf("loadConfig with every default = %v, want nil", err)
	}
	for key, val := range map[string]string{
		"HTTP_ADDR":              "nope",
		"DATABASE_MAX_CONNS":     "lots",
		"BASE_URL":               "ftp://example.com",
		"LOG_FORMAT":             "xml",
		"LOG_LEVEL":              "loud",
		"STOREFLEET_ENV":         "staging",
		"REDIS_URL":              "http://example.com",
		"DATABASE_URL":           "postgres://[::1",
		"SHUTDOWN_TIMEOUT":       "soon",
		"TENANT_CACHE_TTL":       "-1s",
		"MIGRATE_PARALLELISM":    "0",
		"ACCESS_RELOAD_INTERVAL": "0s",
		"BLOB_URL":               "gs://bucket",
		"SESSION_SECRET":         "short",
		"MAIL_URL":               "imap://mail.example",
		"MAIL_FROM":              "Shop <no-reply@example.com>",
		"SESSION_TTL":            "1s",
		"ALLOW_PRIVATE_URLS":     "maybe",
	} {
		_, err := loadConfig(func(k string) string {
			if k == key {
				return val
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("loadConfig(%s=%q) = %v, want an error naming %s", key, val, err, key)
		}
	}
	if _, err := loadConfig(func(k string) string { return map[string]string{"STOREFLEET_ENV": "production"}[k] }); err == nil || !strings.Contains(err.Error(), "SESSION_SECRET") {
		t.Errorf("loadConfig(production without SESSION_SECRET) = %v, want an error naming SESSION_SECRET", err)
	}
	// The command fails at start the same way, before touching any service.
	var out bytes.Buffer
	err := run(context.Background(), func(k string) string { return map[string]string{"HTTP_ADDR": "nope"}[k] }, []string{"serve"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "HTTP_ADDR") {
		t.Errorf("run(serve) with HTTP_ADDR=nope = %v, want an error naming HTTP_ADDR", err)
	}
}

func TestConfigLogMasksSecrets(t *testing.T) {
	for _, urls := range [][2]string{
		{"postgres://u:hunter2@db:5432/x", "redis://:s3cret@r:6379/0"},
		{"postgres://u@db:5432/x?password=hunter2", "redis://default:s3cret@r:6379/1"},
		{"host=db port=5432 user=u password=hunter2 dbname=x", "redis://u:s3cret@r:6379/0"},
	} {
		cfg, err := loadConfig(func(k string) string {
			return map[string]string{"DATABASE_URL": urls[0], "REDIS_URL": urls[1]}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		checkMasked(t, cfg)
	}
}

func checkMasked(t *testing.T, cfg config) {
	t.Helper()
	vals := cfg.logValues()
	var line strings.Builder
	for i := 0; i+1 < len(vals); i += 2 {
		fmt.Fprintf(&line, "%s=%s ", vals[i], vals[i+1])
	}
	if strings.Contains(line.String(), "hunter2") || strings.Contains(line.String(), "s3cret") {
		t.Errorf("logged configuration %q shows a password", line.String())
	}
	if !strings.Contains(line.String(), "DATABASE_URL=postgres://u@db:5432/x") {
		t.Errorf("logged configuration %q does not show the masked database URL", line.String())
	}
}
func TestHelpListsEveryVariable(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), os.Getenv, []string{"serve", "--help"}, &out, &out); err != nil {
		t.Fatalf("serve --help = %v", err)
	}
	for _, key := range []string{"STOREFLEET_ENV", "HTTP_ADDR", "BASE_URL", "DATABASE_URL", "DATABASE_MAX_CONNS", "REDIS_URL",
		"LOG_FORMAT", "LOG_LEVEL", "SHUTDOWN_TIMEOUT", "TENANT_CACHE_TTL", "MIGRATE_PARALLELISM",
		"ACCESS_RELOAD_INTERVAL", "BLOB_URL", "ALLOW_PRIVATE_URLS", "SESSION_SECRET", "SESSION_TTL", "MAIL_URL", "MAIL_FROM", "WORKER_CONCURRENCY"} {
		if !strings.Contains(out.String(), key) {
			t.Errorf("serve --help does not list %s", key)
		}
	}
}

func TestSignupAndHostRouting(t *testing.T) {
	s := startServer(t, testenv.Database(t))
	storeCount := func() int {
		rows, err := s.deps.db.Tenants(context.Background(), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}

	signup := `{"email":"tea@acme.example","password":"correct-Horse-battery-9","store_name":"Acme Tea","slug":"acme-tea"}`
	r := s.do(t, "POST", "app.localhost", "/api/signup", signup)
	if r.status != http.StatusCreated {
		t.Fatalf("POST /api/signup = %d %s, want 201", r.status, r.body)
	}
	store := decode(t, r.body)["store"].(map[string]any)
	if store["slug"] != "acme-tea" || store["url"] != "http://acme-tea.localhost:8080" {
		t.Errorf("signup store = %v, want slug acme-tea at http://acme-tea.localhost:8080", store)
	}
	// The verification email was queued with the account.
	var queued []tenant.AccountEmail
	if _, err := s.deps.db.RelayAccountEmails(context.Background(), 10, func(_ context.Context, e tenant.AccountEmail) error {
		queued = append(queued, e)
		return nil
	}); err != nil || len(queued) != 1 || queued[0].Kind != tenant.AccountEmailVerify || queued[0].ToEmail != "tea@acme.example" {
		t.Errorf("emails queued by the sign-up = %+v, %v; want the verification to tea@acme.example", queued, err)
	}
	if r := s.do(t, "GET", "acme-tea.localhost:8080", "/", ""); r.status != 200 || !strings.Contains(r.body, ">Acme Tea</h1>") {
		t.Errorf("GET acme-tea.localhost/ = %d %q, want 200 with the store's name", r.status, r.body)
	}
	if !strings.Contains(s.logs.String(), "tenant=") || !strings.Contains(s.logs.String(), "request_id=") {
		t.Errorf("request log lines lack tenant or request_id:\n%s", s.logs.String())
	}

	storesBefore := storeCount()
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"slug taken", `{"email":"other@acme.example","password":"correct-Horse-battery-9","store_name":"Acme","slug":"acme-tea"}`, 409, "slug"},
		{"email taken", `{"email":"TEA@acme.example","password":"correct-Horse-battery-9","store_name":"Acme 2","slug":"acme-two"}`, 409, "email"},
		{"weak password", `{"email":"new@acme.example","password":"password1","store_name":"Acme 3","slug":"acme-three"}`, 422, "password"},
		{"reserved slug", `{"email":"new@acme.example","password":"correct-Horse-battery-9","store_name":"Admin","slug":"admin"}`, 422, "slug"},
		{"bad slug", `{"email":"new@acme.example","password":"correct-Horse-battery-9","store_name":"X","slug":"-x-"}`, 422, "slug"},
		{"bad email", `{"email":"not-an-email","password":"correct-Horse-battery-9","store_name":"X","slug":"xyz"}`, 422, "email"},
		{"no store name", `{"email":"new@acme.example","password":"correct-Horse-battery-9","slug":"xyz"}`, 422, "store_name"},
		{"wrong type", `{"email":5}`, 422, ""},
		{"unknown field", `{"email":"a@b.co","admin":true}`, 422, ""},
		{"not JSON", `email=a@b.co`, 422, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, "POST", "app.localhost", "/api/signup", tc.body)
			if r.status != tc.status {
				t.Fatalf("POST /api/signup %s = %d %s, want %d", tc.body, r.status, r.body, tc.status)
			}
			errsField := decode(t, r.body)["errors"]
			if tc.field != "" {
				fields, ok := errsField.(map[string]any)
				if !ok || fields[tc.field] == nil {
					t.Errorf("POST /api/signup %s errors = %v, want a message for %q", tc.body, errsField, tc.field)
				}
			} else if msg, ok := errsField.(string); !ok || msg == "" || strings.Contains(msg, "internal") {
				t.Errorf("POST /api/signup %s errors = %v, want a message a person can act on", tc.body, errsField)
			}
		})
	}
	if storesAfter := storeCount(); storesAfter != storesBefore {
		t.Errorf("refused sign-ups changed the store count from %d to %d", storesBefore, storesAfter)
	}

	for _, tc := range []struct {
		slug      string
		available bool
	}{{"acme-tea", false}, {"fresh-slug", true}, {"www", false}, {"x", false}} {
		r := s.do(t, "GET", "app.localhost", "/api/slugs/"+tc.slug, "")
		if got := decode(t, r.body)["available"]; r.status != 200 || got != tc.available {
			t.Errorf("GET /api/slugs/%s = %d %s, want available %v", tc.slug, r.status, r.body, tc.available)
		}
	}

	for _, tc := range []struct {
		host, path string
		header     []string
		status     int
		contains   string
	}{
		{"nope.localhost:8080", "/", nil, 404, "Not found"},
		{"nope.localhost:8080", "/admin/api/2025-01/shop.json", nil, 404, `"errors"`},
		{"evil.example", "/", nil, 404, "Not found"},
		{"a.b.localhost", "/", nil, 404, "Not found"},
		{"app.localhost:8080", "/", nil, 200, "Storefleet"},
		{"app.localhost:8080", "/no-such-page", nil, 404, "Not found"},
		{"acme-tea.localhost", "/no-such-page", nil, 404, ""},
		{"anything.example", "/healthz", nil, 200, `"ok"`},
		{"acme-tea.localhost", "/readyz", nil, 200, `"postgres":"ok"`},
	} {
		r := s.do(t, "GET", tc.host, tc.path, "", tc.header...)
		if r.status != tc.status || !strings.Contains(r.body, tc.contains) {
			t.Errorf("GET %s%s = %d %q, want %d containing %q", tc.host, tc.path, r.status, r.body, tc.status, tc.contains)
		}
		if r.header.Get("X-Request-Id") == "" {
			t.Errorf("GET %s%s has no X-Request-Id", tc.host, tc.path)
		}
	}
}

// TestTwoServersSuspension: two servers on one database and Redis; a store
// suspended through one is refused by the other within a second, although
// the other's cache would trust its entry for an hour.
func TestTwoServersSuspension(t *testing.T) {
	url := testenv.Database(t)
	one, two := startServer(t, url), startServer(t, url)
	tn, err := one.deps.db.Provision(context.Background(), tenant.NewStore{Slug: "shared", Name: "Shared"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus := func(s *testServer, want int) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			r := s.do(t, "GET", "shared.localhost", "/", "")
			if r.status == want {
				return time.Since(start)
			}
			if time.Since(start) > time.Second {
				t.Fatalf("GET shared.localhost/ = %d after 1s, want %d", r.status, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitStatus(one, 200)
	waitStatus(two, 200) // now cached by both

	if _, err := one.deps.db.SetStatus(context.Background(), tn.ID, tenant.Suspended); err != nil {
		t.Fatal(err)
	}
	took := waitStatus(two, http.StatusForbidden)
	t.Logf("second server refused the suspended store after %s", took)
	if r := two.do(t, "GET", "shared.localhost", "/admin/api/2025-01/shop.json", ""); r.status != 403 || !strings.Contains(r.body, "suspended") {
		t.Errorf("suspended store's API = %d %q, want 403 JSON saying it is suspended", r.status, r.body)
	}
	if _, err := one.deps.db.SetStatus(context.Background(), tn.ID, tenant.Active); err != nil {
		t.Fatal(err)
	}
	waitStatus(two, 200)
}

func TestCommands(t *testing.T) {
	url := testenv.Database(t)
	getenv := envFor(url)
	cli := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), getenv, args, &out, &errOut)
		return out.String(), err
	}
	steps := []struct {
		args    []string
		wantErr bool
		want    string
	}{
		{[]string{"migrate"}, false, "stores: 0 total"},
		{[]string{"tenant", "create", "--name", "Tea House", "--owner", "tea@house.example"}, true, ""},
		{[]string{"tenant", "create", "--name", "Tea House", "--owner", "tea@house.example", "--password", "correct-Horse-battery-9"}, false, `"tea-house"`},
		{[]string{"tenant", "create", "--name", "Second", "--slug", "second-shop", "--owner", "tea@house.example"}, false, `"second-shop"`},
		{[]string{"tenant", "create", "--name", "Bad", "--slug", "www", "--owner", "tea@house.example"}, true, ""},
		{[]string{"tenant", "list"}, false, "second-shop"},
		{[]string{"tenant", "suspend", "tea-house"}, false, "suspended"},
		{[]string{"tenant", "resume", "tea-house"}, false, "active"},
		{[]string{"tenant", "suspend", "no-such-store"}, true, ""},
		{[]string{"tenant", "delete", "second-shop"}, true, ""},
		{[]string{"tenant", "delete", "second-shop", "--yes"}, false, "deleted"},
		{[]string{"migrate"}, false, "stores: 1 total, 0 migrated, 1 already current, 0 failed"},
		{[]string{"shard", "list"}, false, "(control database)"},
		{[]string{"shard", "add", "--name", "bad", "--url", "postgres://nobody@127.0.0.1:1/none"}, true, ""},
	}
	for _, st := range steps {
		out, err := cli(st.args...)
		if (err != nil) != st.wantErr || !strings.Contains(out, st.want) {
			t.Errorf("storefleet %s = %q, %v; want error %v and output containing %q", strings.Join(st.args, " "), out, err, st.wantErr, st.want)
		}
	}
}

// TestReadyz: ready only while PostgreSQL and Redis answer and the server is
// not draining; alive (/healthz) regardless.
func TestReadyz(t *testing.T) {
	s := startServer(t, testenv.Database(t))
	if r := s.do(t, "GET", "app.localhost", "/readyz", ""); r.status != 200 {
		t.Fatalf("GET /readyz = %d %s, want 200", r.status, r.body)
	}

	deadRedis := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer deadRedis.Close()
	withDeadRedis := *s.deps
	withDeadRedis.rdb = deadRedis
	srv := httptest.NewServer(newServer(&withDeadRedis, tenant.NewResolver(s.deps.db, "localhost", time.Minute)))
	defer srv.Close()
	down := &testServer{deps: s.deps, http: srv, logs: s.logs}
	if r := down.do(t, "GET", "app.localhost", "/readyz", ""); r.status != 503 || !strings.Contains(r.body, `"redis":"unreachable"`) {
		t.Errorf("GET /readyz with Redis down = %d %s, want 503 naming redis", r.status, r.body)
	}
	if r := down.do(t, "GET", "app.localhost", "/healthz", ""); r.status != 200 {
		t.Errorf("GET /healthz with Redis down = %d, want 200 (alive)", r.status)
	}

	srvHandler := s.http.Config.Handler.(*server)
	srvHandler.drain()
	if r := s.do(t, "GET", "app.localhost", "/readyz", ""); r.status != 503 || !strings.Contains(r.body, "draining") {
		t.Errorf("GET /readyz while draining = %d %s, want 503 saying draining", r.status, r.body)
	}
}
