package apps_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/ratelimit"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/tenant"
)

// widgets is a test resource: reading needs read_products, writing
// write_products.
type widgets struct{}

func (widgets) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	r.GET("/widgets.json", g.Require("products", rbac.Read), func(c *gin.Context) {
		c.JSON(200, gin.H{"widgets": []string{}, "store": apps.PrincipalOf(c).Store.Slug})
	})
	r.POST("/widgets.json", g.Require("products", rbac.Write), func(c *gin.Context) {
		c.JSON(201, gin.H{"widget": gin.H{}})
	})
}

type fixture struct {
	srv    *httptest.Server
	store  *tenant.Tenant
	reader string // read_products
	writer string // write_products
}

func setup(t *testing.T, bucket ratelimit.Bucket) fixture {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rdb := testenv.Redis(t)
	db, err := tenant.Open(context.Background(), testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 4}}, rdb, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "gate-test", Name: "Gate"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, reader, err := db.CreateToken(ctx, st, "reader", []string{"read_products"})
	if err != nil {
		t.Fatal(err)
	}
	_, writer, err := db.CreateToken(ctx, st, "writer", []string{"write_products"})
	if err != nil {
		t.Fatal(err)
	}
	engine := gin.New()
	// Host resolution's part, as the server does it.
	engine.Use(func(c *gin.Context) { c.Request = c.Request.WithContext(tenant.NewContext(c.Request.Context(), st)) })
	apps.NewGate(db, ratelimit.New(rdb), apps.Fixed(bucket), nil, log).Mount(engine, widgets{})
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return fixture{srv: srv, store: st, reader: reader, writer: writer}
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, f fixture, method, path, body string, header ...string) resp {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s answered %d with non-JSON %q", method, path, r.StatusCode, b)
	}
	return resp{status: r.StatusCode, header: r.Header, body: m}
}

func TestGate(t *testing.T) {
	f := setup(t, ratelimit.Bucket{Capacity: 40, Leak: 2})
	json := []string{"Content-Type", "application/json"}
	for _, tc := range []struct {
		name, method, path, body string
		header                   []string
		status                   int
		errContains              string
	}{
		{"read with read scope", "GET", "/admin/api/2025-01/widgets.json", "", []string{apps.ShopifyTokenHeader, f.reader}, 200, ""},
		{"unversioned alias", "GET", "/admin/widgets.json", "", []string{apps.ShopifyTokenHeader, f.reader}, 200, ""},
		{"our own header", "GET", "/admin/api/2025-01/widgets.json", "", []string{apps.TokenHeader, f.reader}, 200, ""},
		{"write implies read", "GET", "/admin/api/2025-01/widgets.json", "", []string{apps.ShopifyTokenHeader, f.writer}, 200, ""},
		{"write with write scope", "POST", "/admin/api/2025-01/widgets.json", `{}`, append([]string{apps.ShopifyTokenHeader, f.writer}, json...), 201, ""},
		{"no token", "GET", "/admin/api/2025-01/widgets.json", "", nil, 401, "Invalid API key or access token"},
		{"unknown token", "GET", "/admin/api/2025-01/widgets.json", "", []string{apps.ShopifyTokenHeader, "sfat_nope"}, 401, "Invalid API key"},
		{"missing scope", "POST", "/admin/api/2025-01/widgets.json", `{}`, append([]string{apps.ShopifyTokenHeader, f.reader}, json...), 403, "requires merchant approval for write_products scope"},
		{"body not JSON", "POST", "/admin/api/2025-01/widgets.json", `a=b`, []string{apps.ShopifyTokenHeader, f.writer, "Content-Type", "application/x-www-form-urlencoded"}, 415, "Content-Type: application/json"},
		{"wants HTML", "GET", "/admin/api/2025-01/widgets.json", "", []string{apps.ShopifyTokenHeader, f.reader, "Accept", "text/html"}, 406, "application/json"},
		{"accepts anything", "GET", "/admin/api/2025-01/widgets.json", "", []string{apps.ShopifyTokenHeader, f.reader, "Accept", "text/html, */*;q=0.1"}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, f, tc.method, tc.path, tc.body, tc.header...)
			if r.status != tc.status {
				t.Fatalf("%s %s = %d %v, want %d", tc.method, tc.path, r.status, r.body, tc.status)
			}
			if tc.errContains != "" {
				if msg, _ := r.body["errors"].(string); !strings.Contains(msg, tc.errContains) {
					t.Errorf("%s %s errors = %v, want it to say %q", tc.method, tc.path, r.body["errors"], tc.errContains)
				}
			}
			if tc.status < 300 && !strings.HasSuffix(r.header.Get(apps.CallLimitHeader), "/40") {
				t.Errorf("%s %s %s = %q, want n/40", tc.method, tc.path, apps.CallLimitHeader, r.header.Get(apps.CallLimitHeader))
			}
		})
	}
}

func TestGateRateLimit(t *testing.T) {
	f := setup(t, ratelimit.Bucket{Capacity: 3, Leak: 0.5})
	var last resp
	for i := 1; i <= 4; i++ {
		last = call(t, f, "GET", "/admin/api/2025-01/widgets.json", "", apps.ShopifyTokenHeader, f.reader)
		if i <= 3 && (last.status != 200 || last.header.Get(apps.CallLimitHeader) != strconv.Itoa(i)+"/3") {
			t.Errorf("call %d = %d, %s %q; want 200 and %d/3", i, last.status, apps.CallLimitHeader, last.header.Get(apps.CallLimitHeader), i)
		}
	}
	if last.status != 429 || last.header.Get("Retry-After") == "" || !strings.Contains(last.body["errors"].(string), "Exceeded") {
		t.Errorf("call over the limit = %d %v Retry-After %q; want 429 with Retry-After", last.status, last.body, last.header.Get("Retry-After"))
	}
	// Another token of the same store has its own bucket.
	if r := call(t, f, "GET", "/admin/api/2025-01/widgets.json", "", apps.ShopifyTokenHeader, f.writer); r.status != 200 {
		t.Errorf("other token's call = %d, want 200: buckets are per token", r.status)
	}
}
