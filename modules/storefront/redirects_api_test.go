package storefront_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/storefront"
	"github.com/storefleet/storefleet/tenant"
)

// newContentFixture serves the redirects and menus resources and the
// storefront on one database, the storefront's page cache emptied on
// change as the server does it.
func newContentFixture(t *testing.T) (*appstest.Harness, *fixture) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	urls := tenant.URLs{Scheme: "http", Domain: "localhost"}
	var front *storefront.Handler
	var cat *catalog.Service
	api := appstest.New(t, func(db *tenant.DB) []apps.Resource {
		cat = catalog.NewService(db, catalog.Files{Bucket: testenv.Bucket(t), URLs: urls,
			Fetch: safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 5 * time.Second})})
		front = storefront.New(db, cat, storefront.Config{URLs: urls, CartKey: []byte("test cart key")}, log)
		return []apps.Resource{storefront.NewRedirects(db), storefront.NewMenus(db)}
	})
	engine := gin.New()
	engine.Use(func(c *gin.Context) {
		slug, _, _ := strings.Cut(c.Request.Host, ".")
		st, err := api.DB.TenantBySlug(c.Request.Context(), slug)
		if err != nil {
			c.AbortWithStatus(http.StatusNotFound)
			return
		}
		c.Request = c.Request.WithContext(tenant.NewContext(c.Request.Context(), st))
	})
	front.Routes(engine)
	engine.NoRoute(front.NotFound)
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan struct{})
	var once sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		api.DB.WatchChanges(ctx, tenant.StorefrontChanges, func(id tenant.ID) {
			front.Changed(id)
			once.Do(func() { close(listening) })
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-listening:
	case <-time.After(5 * time.Second):
		t.Fatal("the storefront did not start listening for changes within 5s")
	}
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return api, &fixture{t: t, db: api.DB, cat: cat, srv: srv}
}

// eventually retries check for up to 3 seconds, for changes that reach the
// page cache through a notification.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if check() {
			return
		}
	}
	t.Errorf("%s: not within 3s", what)
}

// TestRedirectsAPI: redirects.json writes redirects the storefront answers
// 301 with, each store only its own, refusing paths that cannot work.
func TestRedirectsAPI(t *testing.T) {
	h, f := newContentFixture(t)
	a, b := h.Store("redirects-a"), h.Store("redirects-b")
	tok, reader := h.Token(a, "write_content"), h.Token(a, "read_content")
	shopper := f.shopper(a)
	if r := shopper.get("/old-teas"); r.status != 404 || r.header.Get("X-Cache") != "miss" {
		t.Fatalf("GET /old-teas before a redirect = %d (X-Cache %q), want a cached 404", r.status, r.header.Get("X-Cache"))
	}
	r := h.Do(a, tok, "POST", "/redirects.json", `{"redirect":{"path":" /old-teas ","target":"/collections/all"}}`)
	if r.Status != 201 || !strings.Contains(r.Body, `"path":"/old-teas"`) || !strings.Contains(r.Body, `"target":"/collections/all"`) {
		t.Fatalf("POST redirects.json = %d %s", r.Status, r.Body)
	}
	id := int64(r.JSON(t)["redirect"].(map[string]any)["id"].(float64))
	// The cached 404 is dropped on the change; the path now answers 301,
	// keeping the query.
	eventually(t, "GET /old-teas after the redirect", func() bool {
		r := f.shopper(a).get("/old-teas?page=2")
		return r.status == 301 && r.header.Get("Location") == "/collections/all?page=2"
	})
	if r := f.shopper(b).get("/old-teas"); r.status != 404 {
		t.Errorf("store B's /old-teas = %d, want 404 (the redirect is A's)", r.status)
	}

	other := h.Do(a, tok, "POST", "/redirects.json", `{"redirect":{"path":"/b","target":"/c"}}`)
	otherID := int64(other.JSON(t)["redirect"].(map[string]any)["id"].(float64))
	for _, tc := range []struct {
		method, path, body, token string
		st                        *tenant.Tenant
		want                      int
		says                      string
	}{
		{"GET", fmt.Sprintf("/redirects/%d.json", id), "", reader, a, 200, `"target":"/collections/all"`},
		{"GET", "/redirects.json?path=/old-teas", "", reader, a, 200, `"path":"/old-teas"`},
		{"GET", "/redirects.json?target=/nowhere", "", reader, a, 200, `{"redirects":[]}`},
		{"GET", "/redirects/count.json", "", reader, a, 200, `{"count":2}`},
		{"GET", "/redirects/count.json?target=/c", "", reader, a, 200, `{"count":1}`},
		{"POST", "/redirects.json", `{"redirect":{"path":"/x","target":"/y"}}`, reader, a, 403, ""},
		{"GET", "/redirects.json", "", h.Token(a, "read_products"), a, 403, ""},
		{"POST", "/redirects.json", `{"redirect":{"path":"/old-teas","target":"/y"}}`, tok, a, 422, "has already been taken"},
		{"POST", "/redirects.json", `{"redirect":{"path":"/same","target":"/same"}}`, tok, a, 422, "can't be the same as path"},
		{"POST", "/redirects.json", `{"redirect":{"path":"/c","target":"/b"}}`, tok, a, 422, "redirect loop"},
		{"POST", "/redirects.json", `{"redirect":{"path":"old","target":"/y"}}`, tok, a, 422, "starting with /"},
		{"POST", "/redirects.json", `{"redirect":{"path":"/x","target":"//evil.example/"}}`, tok, a, 422, "not another host"},
		{"POST", "/redirects.json", `{"redirect":{"path":"/x","target":"https://evil.example/"}}`, tok, a, 422, "starting with /"},
		{"POST", "/redirects.json", `{"redirect":{"path":"/x?a=1","target":"/y"}}`, tok, a, 422, "query string"},
		{"POST", "/redirects.json", `{"redirect":{"path":"/x"}}`, tok, a, 422, "can't be blank"},
		{"POST", "/redirects.json", `{"redirect":{"path":"/` + strings.Repeat("x", 1100) + `","target":"/y"}}`, tok, a, 422, "too long"},
		{"PUT", fmt.Sprintf("/redirects/%d.json", otherID), `{"redirect":{"target":"/old-teas"}}`, tok, a, 200, `"target":"/old-teas"`},
		{"PUT", fmt.Sprintf("/redirects/%d.json", id), `{"redirect":{"target":"/b"}}`, tok, a, 422, "redirect loop"},
		{"PUT", fmt.Sprintf("/redirects/%d.json", id), `{"redirect":{"path":"/b"}}`, tok, a, 422, "has already been taken"},
		{"GET", "/redirects.json?limit=0", "", reader, a, 400, "limit"},
		{"GET", fmt.Sprintf("/redirects/%d.json", id), "", h.Token(b, "read_content"), b, 404, ""},
		{"PUT", fmt.Sprintf("/redirects/%d.json", id), `{"redirect":{"target":"/stolen"}}`, h.Token(b, "write_content"), b, 404, ""},
		{"DELETE", fmt.Sprintf("/redirects/%d.json", id), "", h.Token(b, "write_content"), b, 404, ""},
		{"GET", "/redirects.json", "", h.Token(b, "read_content"), b, 200, `{"redirects":[]}`},
		{"DELETE", fmt.Sprintf("/redirects/%d.json", otherID), "", tok, a, 200, ""},
		{"DELETE", fmt.Sprintf("/redirects/%d.json", id), "", tok, a, 200, ""},
		{"GET", fmt.Sprintf("/redirects/%d.json", id), "", reader, a, 404, ""},
	} {
		r := h.Do(tc.st, tc.token, tc.method, tc.path, tc.body)
		if r.Status != tc.want || !strings.Contains(r.Body, tc.says) {
			t.Errorf("%s %s %.80s = %d %s, want %d saying %q", tc.method, tc.path, tc.body, r.Status, r.Body, tc.want, tc.says)
		}
		if tc.want >= 400 && strings.Contains(r.Body, "/collections/all") {
			t.Errorf("%s %s refused but showed the redirect: %s", tc.method, tc.path, r.Body)
		}
	}
	eventually(t, "GET /old-teas after the delete", func() bool { return f.shopper(a).get("/old-teas").status == 404 })

	// page_info walks the list both ways.
	for i := range 5 {
		h.Do(a, tok, "POST", "/redirects.json", fmt.Sprintf(`{"redirect":{"path":"/page-%d","target":"/pages/about"}}`, i))
	}
	var seen []string
	next := "/redirects.json?limit=2&target=/pages/about"
	for next != "" {
		r := h.Do(a, reader, "GET", next, "")
		if r.Status != 200 {
			t.Fatalf("GET %s = %d %s", next, r.Status, r.Body)
		}
		for _, x := range r.JSON(t)["redirects"].([]any) {
			seen = append(seen, x.(map[string]any)["path"].(string))
		}
		links := r.Links(t)
		if len(seen) == 4 {
			prev := h.Do(a, reader, "GET", links["previous"], "")
			if !strings.Contains(prev.Body, `"/page-0"`) || !strings.Contains(prev.Body, `"/page-1"`) {
				t.Errorf("previous page = %s, want /page-0 and /page-1", prev.Body)
			}
		}
		next = links["next"]
	}
	if strings.Join(seen, ",") != "/page-0,/page-1,/page-2,/page-3,/page-4" {
		t.Errorf("paging saw %v, want /page-0 … /page-4 once each", seen)
	}
	if r := h.Do(a, reader, "GET", "/redirects.json?page_info=garbage&path=/x", ""); r.Status != 400 {
		t.Errorf("page_info with a filter = %d, want 400", r.Status)
	}
}

// TestContentOpenAPI holds openapi.yaml's description of redirects.json
// and menus.json to real requests and responses, successes and errors.
func TestContentOpenAPI(t *testing.T) {
	h, _ := newContentFixture(t)
	st := h.Store("content-openapi")
	tok := h.Token(st, "write_content")
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		r := h.Checked(st, tok, method, path, body, want)
		if r.Body == "" {
			return nil
		}
		return r.JSON(t)
	}
	idOf := func(m map[string]any, key string) int64 { return int64(m[key].(map[string]any)["id"].(float64)) }

	rd := idOf(call("POST", "/redirects.json", `{"redirect":{"path":"/ipod","target":"/pages/itunes"}}`, 201), "redirect")
	call("POST", "/redirects.json", `{"redirect":{"path":"/ipod","target":"/x"}}`, 422)
	call("POST", "/redirects.json", `{"redirect":{"path":"/ipod2","target":"/y"}}`, 201)
	call("GET", "/redirects.json?limit=1", "", 200)
	call("GET", "/redirects.json?path=/ipod", "", 200)
	call("GET", "/redirects/count.json", "", 200)
	call("GET", fmt.Sprintf("/redirects/%d.json", rd), "", 200)
	call("PUT", fmt.Sprintf("/redirects/%d.json", rd), `{"redirect":{"target":"/pages/music"}}`, 200)
	call("GET", "/redirects/999999.json", "", 404)
	call("DELETE", fmt.Sprintf("/redirects/%d.json", rd), "", 200)

	mn := idOf(call("POST", "/menus.json", `{"menu":{"title":"Footer two","links":[{"title":"About","url":"/pages/about"}]}}`, 201), "menu")
	call("POST", "/menus.json", `{"menu":{"title":"x","links":[{"title":"x","url":"ftp://x"}]}}`, 422)
	call("GET", "/menus.json", "", 200)
	call("GET", "/menus/count.json", "", 200)
	call("GET", fmt.Sprintf("/menus/%d.json", mn), "", 200)
	call("PUT", fmt.Sprintf("/menus/%d.json", mn), `{"menu":{"title":"Footer 2","links":[{"title":"Contact","url":"/pages/contact","position":1}]}}`, 200)
	call("GET", "/menus/999999.json", "", 404)
	call("DELETE", fmt.Sprintf("/menus/%d.json", mn), "", 200)
}
