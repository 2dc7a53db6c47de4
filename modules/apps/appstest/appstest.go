// Package appstest runs Admin API resources in tests the way the server runs
// them: behind the gate, on a real PostgreSQL and Redis, with stores and
// tokens made through the control plane, and each request routed to a store
// by its host.
package appstest

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/storefleet/storefleet/internal/auth"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/ratelimit"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/tenant"
)

// Harness serves resources for any number of test stores.
type Harness struct {
	t        testing.TB
	DB       *tenant.DB
	srv      *httptest.Server
	sessions *auth.Sessions
	staff    int // accounts Staff made
}

// New starts resources (built by build from the control plane) behind the
// gate, with a bucket large enough that tests never hit it.
func New(t testing.TB, build func(db *tenant.DB) []apps.Resource) *Harness {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rdb := testenv.Redis(t)
	db, err := tenant.Open(context.Background(), testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, rdb, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	engine := gin.New()
	engine.Use(func(c *gin.Context) { // host resolution, as the server does it
		slug, _, _ := strings.Cut(c.Request.Host, ".")
		st, err := db.TenantBySlug(c.Request.Context(), slug)
		if err != nil {
			c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"errors": "Not Found"})
			return
		}
		c.Request = c.Request.WithContext(tenant.NewContext(c.Request.Context(), st))
	})
	sessions, err := auth.NewSessions([]byte("appstest-session-key-0123456789abcdef"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	apps.NewGate(db, ratelimit.New(rdb), apps.Fixed(ratelimit.Bucket{Capacity: 100_000, Leak: 1000}), sessions, log).Mount(engine, build(db)...)
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return &Harness{t: t, DB: db, srv: srv, sessions: sessions}
}

// Store provisions a store with slug.
func (h *Harness) Store(slug string) *tenant.Tenant {
	h.t.Helper()
	st, err := h.DB.Provision(context.Background(), tenant.NewStore{Slug: slug, Name: "Store " + slug}, nil)
	if err != nil {
		h.t.Fatalf("provision %s: %v", slug, err)
	}
	return st
}

// Staff makes an account with role in st and returns "Bearer <session>",
// which Do sends as the Authorization header instead of a token.
func (h *Harness) Staff(st *tenant.Tenant, role tenant.Role) string {
	h.t.Helper()
	h.staff++
	acct, err := h.DB.CreateAccount(context.Background(), fmt.Sprintf("staff%d-%s@example.com", h.staff, st.Slug), "correct-Horse-battery-9", "Staff")
	if err != nil {
		h.t.Fatalf("create staff account: %v", err)
	}
	if err := h.DB.SetRole(context.Background(), acct.ID, st, role); err != nil {
		h.t.Fatalf("give staff role %s: %v", role, err)
	}
	tok, _, err := h.sessions.Issue(int64(acct.ID))
	if err != nil {
		h.t.Fatal(err)
	}
	return "Bearer " + tok
}

// Token mints a token of st with scopes.
func (h *Harness) Token(st *tenant.Tenant, scopes ...string) string {
	h.t.Helper()
	_, secret, err := h.DB.CreateToken(context.Background(), st, "test", scopes)
	if err != nil {
		h.t.Fatalf("token for %s: %v", st.Slug, err)
	}
	return secret
}

// Response is an Admin API answer.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body into a map.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("response %d %q is not a JSON object: %v", r.Status, r.Body, err)
	}
	return m
}

// Do sends a request to st's host with token; a non-empty body is sent as
// JSON. path is under /admin/api/2025-01 unless it starts with /admin.
// header holds further headers, name then value.
func (h *Harness) Do(st *tenant.Tenant, token, method, path, body string, header ...string) Response {
	h.t.Helper()
	if !strings.HasPrefix(path, "/admin") {
		path = "/admin/api/2025-01" + path
	}
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Host = st.Slug + ".localhost"
	if strings.HasPrefix(token, "Bearer ") {
		req.Header.Set("Authorization", token)
	} else {
		req.Header.Set(apps.ShopifyTokenHeader, token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// URL is the server's base URL, for following Link headers.
func (h *Harness) URL() string { return h.srv.URL }

var linkRel = regexp.MustCompile(`<([^>]+)>; rel="(next|previous)"`)

// Links returns the response's Link header pages by rel ("next",
// "previous"), each as a path with its query, ready for Do.
func (r Response) Links(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range linkRel.FindAllStringSubmatch(r.Header.Get("Link"), -1) {
		u, err := url.Parse(m[1])
		if err != nil {
			t.Fatalf("Link %q: %v", r.Header.Get("Link"), err)
		}
		out[m[2]] = u.RequestURI()
	}
	return out
}
