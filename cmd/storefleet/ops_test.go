package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storefleet/storefleet/internal/browser"
	"github.com/storefleet/storefleet/internal/testenv"
)

// TestOperatorConsole: the queue console at /ops/queues sends a visitor
// to log in, refuses a merchant who is not an operator, shows an operator
// the queues (asynqmon's page and its API), and refuses a cross-site
// request to change them.
func TestOperatorConsole(t *testing.T) {
	dbURL := testenv.Database(t)
	s := startServer(t, dbURL)
	ctx := context.Background()
	if err := s.deps.db.MigrateControl(ctx); err != nil {
		t.Fatal(err)
	}
	const email, password = "ops@fleet.example", "correct-Horse-battery-9"
	var out bytes.Buffer
	if err := run(ctx, envFor(dbURL), []string{"tenant", "create", "--name", "Ops", "--slug", "ops-store", "--owner", email, "--password", password}, &out, &out); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base, _ := url.Parse("http://app.localhost")
	do := func(method, path string, form url.Values, header ...string) (int, string, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, s.http.URL+path, body)
		req.Host = "app.localhost"
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		for _, c := range jar.Cookies(base) {
			req.AddCookie(c)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		jar.SetCookies(base, resp.Cookies())
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}

	if status, loc, _ := do("GET", "/ops/queues", nil); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Fatalf("GET /ops/queues logged out = %d → %q, want 303 to /login", status, loc)
	}
	_, _, page := do("GET", "/login", nil)
	token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)
	if token == nil {
		t.Fatalf("the login page has no CSRF token:\n%s", page)
	}
	if status, _, body := do("POST", "/login", url.Values{"email": {email}, "password": {password}, "csrf_token": {token[1]}}); status != http.StatusSeeOther {
		t.Fatalf("POST /login = %d\n%s", status, body)
	}
	if status, _, _ := do("GET", "/ops/queues", nil); status != http.StatusForbidden {
		t.Errorf("GET /ops/queues as a merchant = %d, want 403", status)
	}

	if err := run(ctx, envFor(dbURL), []string{"operator", "add", email}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if status, _, body := do("GET", "/ops/queues", nil); status != http.StatusOK || !strings.Contains(strings.ToLower(body), "asynq") {
		t.Errorf("GET /ops/queues as an operator = %d, want asynqmon's page\n%.300s", status, body)
	}
	if status, _, body := do("GET", "/ops/queues/api/queues", nil); status != http.StatusOK || !strings.Contains(body, "queues") {
		t.Errorf("GET /ops/queues/api/queues = %d %.300s, want the queues as JSON", status, body)
	}
	if status, _, _ := do("DELETE", "/ops/queues/api/queues/default", nil, "Sec-Fetch-Site", "cross-site"); status != http.StatusForbidden {
		t.Errorf("a cross-site DELETE of a queue = %d, want 403", status)
	}

	// What an operator sees: asynqmon's queue list, in Chromium, with a
	// queue of this test's holding one task.
	queue := fmt.Sprintf("ops-test-%d", time.Now().UnixNano())
	if _, err := asynq.NewClientFromRedisClient(s.deps.rdb).Enqueue(asynq.NewTask("ops:probe", nil), asynq.Queue(queue)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { asynq.NewInspectorFromRedisClient(s.deps.rdb).DeleteQueue(queue, true) })
	_, port, _ := net.SplitHostPort(s.http.Listener.Addr().String())
	b := browser.New(t)
	b.Open("http://app.localhost:"+port+"/login", "#email")
	b.Fill("#email", email)
	b.Fill("#password", password)
	b.Click(`form[action="/login"] button[type="submit"]`)
	b.WaitVisible(".logout button")
	b.Open("http://app.localhost:"+port+opsQueuesPath, "table")
	b.WaitText("table", queue)
	b.Screenshot("1-queues")
}
