package storefront_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/storefront"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/themes"
)

// themeFixture serves the themes Admin API behind the gate and the
// storefront of the same handler, so previews and publishes can be
// watched from a shopper's side.
type themeFixture struct {
	t     *testing.T
	api   *appstest.Harness
	front *httptest.Server
	files *httptest.Server // serves zip archives for src
	zips  map[string][]byte
	mu    sync.Mutex
}

func newThemeFixture(t *testing.T) *themeFixture {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	urls := tenant.URLs{Scheme: "http", Domain: "localhost"}
	var front *storefront.Handler
	api := appstest.New(t, func(db *tenant.DB) []apps.Resource {
		cat := catalog.NewService(db, catalog.Files{Bucket: testenv.Bucket(t), URLs: urls,
			Fetch: safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 5 * time.Second})})
		front = storefront.New(db, cat, storefront.Config{URLs: urls, CartKey: []byte("test cart key")}, log)
		return []apps.Resource{front.Admin(safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 5 * time.Second}))}
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
	// Cached pages are dropped on change, as the server has it; wait until
	// the store's announcements are listened to.
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
	f := &themeFixture{t: t, api: api, front: httptest.NewServer(engine), zips: map[string][]byte{}}
	t.Cleanup(f.front.Close)
	f.files = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		b, ok := f.zips[r.URL.Path]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/zip")
		w.Write(b)
	}))
	t.Cleanup(f.files.Close)
	return f
}

// serveZip publishes a zip of files at name on the file server and returns
// its URL.
func (f *themeFixture) serveZip(name string, files map[string]string) string {
	f.t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for k, v := range files {
		w, err := zw.Create("my-theme/" + k) // wrapped in a folder, as Shopify exports are
		if err != nil {
			f.t.Fatal(err)
		}
		w.Write([]byte(v))
	}
	if err := zw.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.zips["/"+name] = buf.Bytes()
	f.mu.Unlock()
	return f.files.URL + "/" + name
}

// harborFiles is the built-in harbor theme's files as text, for uploads.
func harborFiles(t *testing.T) map[string]string {
	t.Helper()
	th, err := themes.LoadBuiltin("harbor")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range th.Files() {
		out[k] = string(v)
	}
	return out
}

func themeOf(t *testing.T, r appstest.Response) map[string]any {
	t.Helper()
	th, ok := r.JSON(t)["theme"].(map[string]any)
	if !ok {
		t.Fatalf("response %d %s has no theme", r.Status, r.Body)
	}
	return th
}

func num(v any) int64 { f, _ := v.(float64); return int64(f) }

// page is what a shopper's browser gets from the storefront.
type page struct {
	status int
	header http.Header
	body   string
}

// browser is a client of one store's storefront that keeps its cookies.
type browser struct {
	f    *themeFixture
	host string
	jar  map[string]*http.Cookie
}

func (f *themeFixture) browser(st *tenant.Tenant) *browser {
	return &browser{f: f, host: st.Slug + ".localhost", jar: map[string]*http.Cookie{}}
}

func (b *browser) get(path string) page {
	b.f.t.Helper()
	req, err := http.NewRequest("GET", b.f.front.URL+path, nil)
	if err != nil {
		b.f.t.Fatal(err)
	}
	req.Host = b.host
	for _, c := range b.jar {
		req.AddCookie(c)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c
		}
	}
	body, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header, string(body)}
}

// themeName says which built-in theme a page was rendered with, from the
// stylesheet its layout links.
func themeName(body string) string {
	harbor, monolith := strings.Contains(body, "/assets/theme.css"), strings.Contains(body, "/assets/monolith.css")
	switch {
	case harbor && !monolith && strings.Contains(body, "</html>"):
		return "harbor"
	case monolith && !harbor && strings.Contains(body, "</html>"):
		return "monolith"
	}
	return "?"
}

func TestThemesAPI(t *testing.T) {
	f := newThemeFixture(t)
	st := f.api.Store("themes-a")
	tok := f.api.Token(st, "write_themes")

	r := f.api.Do(st, tok, "GET", "/themes.json", "")
	list, _ := r.JSON(t)["themes"].([]any)
	if r.Status != 200 || len(list) != 1 {
		t.Fatalf("GET themes.json = %d %s, want the one built-in theme", r.Status, r.Body)
	}
	main := list[0].(map[string]any)
	if main["role"] != "main" || main["builtin"] != "harbor" || main["previewable"] != true || main["processing"] != false ||
		main["theme_store_id"] != nil || main["admin_graphql_api_id"] != fmt.Sprintf("gid://shopify/OnlineStoreTheme/%d", num(main["id"])) ||
		!strings.HasPrefix(main["preview_url"].(string), "http://themes-a.localhost/?preview_theme_id=") {
		t.Errorf("new store's theme = %v, want harbor, main, with Shopify's fields and a preview_url", main)
	}

	// A built-in theme.
	r = f.api.Do(st, tok, "POST", "/themes.json", `{"theme":{"builtin":"monolith"}}`)
	if r.Status != 201 {
		t.Fatalf("POST builtin monolith = %d %s", r.Status, r.Body)
	}
	mono := themeOf(t, r)
	if mono["name"] != "Monolith" || mono["role"] != "unpublished" || mono["builtin"] != "monolith" {
		t.Errorf("added monolith = %v, want Monolith, unpublished", mono)
	}
	if r := f.api.Do(st, tok, "GET", fmt.Sprintf("/themes/%d.json", num(mono["id"])), ""); r.Status != 200 || themeOf(t, r)["name"] != "Monolith" {
		t.Errorf("GET themes/%d.json = %d %s", num(mono["id"]), r.Status, r.Body)
	}

	// An archive, from src: the wrapping folder goes, the files stay.
	files := harborFiles(t)
	files["templates/page.liquid"] = "<h1>{{ page.title }}</h1><p>uploaded</p>\n"
	src := f.serveZip("good.zip", files)
	r = f.api.Do(st, tok, "POST", "/themes.json", fmt.Sprintf(`{"theme":{"name":"Uploaded","src":%q}}`, src))
	if r.Status != 201 {
		t.Fatalf("POST src %s = %d %s", src, r.Status, r.Body)
	}
	up := themeOf(t, r)
	if up["name"] != "Uploaded" || up["role"] != "unpublished" || up["builtin"] != nil {
		t.Errorf("uploaded theme = %v", up)
	}
	r = f.api.Do(st, tok, "GET", fmt.Sprintf("/themes/%d/assets.json?asset[key]=templates/page.liquid", num(up["id"])), "")
	if r.Status != 200 || !strings.Contains(r.Body, "uploaded") {
		t.Errorf("uploaded theme's page template = %d %s", r.Status, r.Body)
	}

	// Archives that do not make a theme: every problem named by file and line.
	broken := harborFiles(t)
	broken["snippets/price.liquid"] = "<span>\n{% if product.price > %}\n</span>\n"
	broken["config/settings_data.json"] = "{\"current\": {,}}"
	delete(broken, "layout/theme.liquid")
	noIndex := harborFiles(t)
	delete(noIndex, "templates/index.json")
	badName := harborFiles(t)
	badName["assets/my logo.svg"] = "<svg/>"
	for _, tc := range []struct {
		body string
		says []string
	}{
		{fmt.Sprintf(`{"theme":{"name":"Broken","src":%q}}`, f.serveZip("broken.zip", broken)),
			[]string{"snippets/price.liquid:2:", "config/settings_data.json:1:", "layout/theme.liquid: is missing"}},
		{fmt.Sprintf(`{"theme":{"name":"No home","src":%q}}`, f.serveZip("noindex.zip", noIndex)), []string{"templates/index.liquid: is missing"}},
		{fmt.Sprintf(`{"theme":{"name":"Bad name","src":%q}}`, f.serveZip("badname.zip", badName)), []string{"assets/my logo.svg: must be a file"}},
		{fmt.Sprintf(`{"theme":{"name":"Missing","src":%q}}`, f.files.URL+"/nothing.zip"), []string{"its server answered 404"}},
		{`{"theme":{"name":"Private","src":"http://127.0.0.2:1/x.zip"}}`, []string{"could not be downloaded"}},
		{`{"theme":{"name":"FTP","src":"ftp://example.com/x.zip"}}`, []string{"http or https"}},
		{`{"theme":{"name":"Nothing"}}`, []string{"src", "can't be blank"}},
		{`{"theme":{"builtin":"dawn"}}`, []string{"harbor, monolith"}},
		{`{"theme":{"builtin":"harbor","src":"https://example.com/t.zip"}}`, []string{"not both"}},
		{`{"theme":{"builtin":"harbor","role":"demo"}}`, []string{"main or unpublished"}},
	} {
		r := f.api.Do(st, tok, "POST", "/themes.json", tc.body)
		if r.Status != 422 {
			t.Errorf("POST %s = %d %s, want 422", tc.body, r.Status, r.Body)
			continue
		}
		for _, s := range tc.says {
			if !strings.Contains(r.Body, s) {
				t.Errorf("POST %s = %s, want it to say %q", tc.body, r.Body, s)
			}
		}
	}
	f.mu.Lock()
	f.zips["/junk.zip"] = []byte("this is not a zip archive")
	f.mu.Unlock()
	if r := f.api.Do(st, tok, "POST", "/themes.json", fmt.Sprintf(`{"theme":{"name":"Junk","src":%q}}`, f.files.URL+"/junk.zip")); r.Status != 422 || !strings.Contains(r.Body, "invalid theme archive") {
		t.Errorf("POST a src that is not a zip = %d %s, want 422 invalid theme archive", r.Status, r.Body)
	}
	if r := f.api.Do(st, tok, "GET", "/themes.json", ""); strings.Count(r.Body, `"role"`) != 3 {
		t.Errorf("after the refused uploads, themes = %s, want 3", r.Body)
	}

	// Rename; unpublishing the main theme directly is refused.
	if r := f.api.Do(st, tok, "PUT", fmt.Sprintf("/themes/%d.json", num(up["id"])), `{"theme":{"name":"Renamed"}}`); r.Status != 200 || themeOf(t, r)["name"] != "Renamed" {
		t.Errorf("PUT name = %d %s", r.Status, r.Body)
	}
	if r := f.api.Do(st, tok, "PUT", fmt.Sprintf("/themes/%d.json", num(main["id"])), `{"theme":{"role":"unpublished"}}`); r.Status != 422 {
		t.Errorf("PUT role unpublished on the main theme = %d %s, want 422", r.Status, r.Body)
	}
	if r := f.api.Do(st, tok, "PUT", fmt.Sprintf("/themes/%d.json", num(up["id"])), `{"theme":{"name":""}}`); r.Status != 422 {
		t.Errorf("PUT empty name = %d %s, want 422", r.Status, r.Body)
	}

	// Deleting: never the main theme.
	if r := f.api.Do(st, tok, "DELETE", fmt.Sprintf("/themes/%d.json", num(main["id"])), ""); r.Status != 422 || !strings.Contains(r.Body, "cannot be deleted") {
		t.Errorf("DELETE the main theme = %d %s, want 422", r.Status, r.Body)
	}
	r = f.api.Do(st, tok, "DELETE", fmt.Sprintf("/themes/%d.json", num(up["id"])), "")
	if r.Status != 200 || themeOf(t, r)["name"] != "Renamed" {
		t.Errorf("DELETE an unpublished theme = %d %s, want 200 with the theme", r.Status, r.Body)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if r := f.api.Do(st, tok, m, fmt.Sprintf("/themes/%d.json", num(up["id"])), ""); r.Status != 404 {
			t.Errorf("%s a deleted theme = %d, want 404", m, r.Status)
		}
	}
	if r := f.api.Do(st, tok, "GET", fmt.Sprintf("/themes/%d/assets.json", num(up["id"])), ""); r.Status != 404 {
		t.Errorf("GET a deleted theme's assets = %d, want 404", r.Status)
	}
}

func TestThemeLimit(t *testing.T) {
	f := newThemeFixture(t)
	st := f.api.Store("themes-limit")
	tok := f.api.Token(st, "write_themes")
	for i := 1; i < storefront.MaxThemes-1; i++ {
		if r := f.api.Do(st, tok, "POST", "/themes.json", `{"theme":{"builtin":"monolith"}}`); r.Status != 201 {
			t.Fatalf("theme %d = %d %s", i+1, r.Status, r.Body)
		}
	}
	// With 19 themes, five uploads at once: one becomes the 20th, four are refused.
	statuses := make([]int, 5)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = f.api.Do(st, tok, "POST", "/themes.json", `{"theme":{"builtin":"monolith"}}`).Status
		}()
	}
	wg.Wait()
	made := 0
	for _, s := range statuses {
		if s == 201 {
			made++
		} else if s != 422 {
			t.Errorf("concurrent theme upload = %d, want 201 or 422", s)
		}
	}
	if made != 1 {
		t.Errorf("concurrent uploads at 19 themes made %d, want 1 (statuses %v)", made, statuses)
	}
	if r := f.api.Do(st, tok, "POST", "/themes.json", `{"theme":{"builtin":"monolith"}}`); r.Status != 422 || !strings.Contains(r.Body, "at most 20 themes") {
		t.Errorf("theme 21 = %d %s, want 422", r.Status, r.Body)
	}
}

func TestThemeAssets(t *testing.T) {
	f := newThemeFixture(t)
	st := f.api.Store("assets-a")
	tok := f.api.Token(st, "write_themes")
	th := themeOf(t, f.api.Do(st, tok, "POST", "/themes.json", `{"theme":{"builtin":"harbor","name":"Work"}}`))
	base := fmt.Sprintf("/themes/%d/assets.json", num(th["id"]))
	version := func() int64 {
		t.Helper()
		var v int64
		err := f.api.DB.Tx(context.Background(), st, func(tx *gorm.DB) error {
			return tx.Raw(`SELECT version FROM themes WHERE id = ?`, num(th["id"])).Scan(&v).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	get := func(key string) appstest.Response {
		t.Helper()
		return f.api.Do(st, tok, "GET", base+"?asset[key]="+url.QueryEscape(key), "")
	}

	// The list: the built-in files, with Shopify's fields.
	r := f.api.Do(st, tok, "GET", base, "")
	assets, _ := r.JSON(t)["assets"].([]any)
	byKey := map[string]map[string]any{}
	for _, a := range assets {
		byKey[a.(map[string]any)["key"].(string)] = a.(map[string]any)
	}
	layout, css := byKey["layout/theme.liquid"], byKey["assets/theme.css"]
	if r.Status != 200 || layout == nil || css == nil {
		t.Fatalf("GET %s = %d %.300s, want the built-in files", base, r.Status, r.Body)
	}
	if layout["content_type"] != "text/x-liquid" || layout["public_url"] != nil || num(layout["size"]) == 0 || len(layout["checksum"].(string)) != 32 ||
		layout["theme_id"] != th["id"] || layout["value"] != nil {
		t.Errorf("layout in the list = %v", layout)
	}
	if css["content_type"] != "text/css" || !strings.HasPrefix(fmt.Sprint(css["public_url"]), fmt.Sprintf("http://assets-a.localhost/cdn/shop/t/%d/assets/theme.css?v=", num(th["id"]))) {
		t.Errorf("theme.css in the list = %v", css)
	}

	// One file, with its content.
	if r := get("layout/theme.liquid"); r.Status != 200 || !strings.Contains(r.Body, `"value":"\u003c!doctype html\u003e`) {
		t.Errorf("GET layout = %d %.200s", r.Status, r.Body)
	}
	for _, key := range []string{"templates/nothing.liquid", "../etc/passwd", "layout/.hidden.liquid"} {
		if r := get(key); r.Status != 404 {
			t.Errorf("GET asset %q = %d, want 404", key, r.Status)
		}
	}

	// Writes: a new template, a changed one, settings, a binary file, a copy.
	v := version()
	for _, tc := range []struct{ body, key, want string }{
		{`{"asset":{"key":"templates/page.about.liquid","value":"<h1>About {{ shop.name }}</h1>"}}`, "templates/page.about.liquid", `"value":"\u003ch1\u003eAbout`},
		{`{"asset":{"key":"snippets/price.liquid","value":"<b>{{ price | money }}</b>"}}`, "snippets/price.liquid", `money }}\u003c/b\u003e`},
		{`{"asset":{"key":"config/settings_data.json","value":"{\"current\":{\"color_accent\":\"#ff0000\"}}"}}`, "config/settings_data.json", `#ff0000`},
		{`{"asset":{"key":"assets/pixel.png","attachment":"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="}}`, "assets/pixel.png", `"attachment":"iVBORw0KGgo`},
		{`{"asset":{"key":"templates/page.copy.liquid","source_key":"templates/page.about.liquid"}}`, "templates/page.copy.liquid", `About`},
	} {
		r := f.api.Do(st, tok, "PUT", base, tc.body)
		if r.Status != 200 || !strings.Contains(r.Body, `"key":"`+tc.key+`"`) || strings.Contains(r.Body, `"value"`) {
			t.Errorf("PUT %s = %d %s, want 200 with the asset, without its value", tc.body, r.Status, r.Body)
			continue
		}
		if r := get(tc.key); r.Status != 200 || !strings.Contains(r.Body, tc.want) {
			t.Errorf("GET %s after PUT = %d %.300s, want %s", tc.key, r.Status, r.Body, tc.want)
		}
	}
	if got := version(); got != v+5 {
		t.Errorf("version after five writes = %d, want %d", got, v+5)
	}
	if r := get("config/settings_data.json"); r.Status != 200 || !strings.Contains(r.Body, `"content_type":"application/json"`) {
		t.Errorf("settings_data.json = %d %s", r.Status, r.Body)
	}

	// Writes that break the theme change nothing, and say where.
	before := get("snippets/price.liquid").Body
	v = version()
	for _, tc := range []struct{ body, says string }{
		{`{"asset":{"key":"snippets/price.liquid","value":"<b>\n{% if price > %}\n</b>"}}`, "snippets/price.liquid:2:"},
		{`{"asset":{"key":"snippets/price.liquid","value":"{% for x in y %}never closed"}}`, "snippets/price.liquid:1:"},
		{`{"asset":{"key":"config/settings_data.json","value":"{\"current\": \n {oops}"}}`, "config/settings_data.json:2:"},
		{`{"asset":{"key":"templates/index.json","value":"{\"sections\":{\"x\":{\"type\":\"nope\"}},\"order\":[\"x\"]}"}}`, "templates/index.json"},
		{`{"asset":{"key":"layout/theme.liquid","value":"{{ content_for_layout }}\n{% endif %}"}}`, "layout/theme.liquid:2"},
		{`{"asset":{"key":"other/x.liquid","value":"x"}}`, `"key":["must be a file in layout/`},
		{`{"asset":{"key":"assets/../x.css","value":"x"}}`, `"key":`},
		{`{"asset":{"key":"assets/.htaccess","value":"x"}}`, `"key":`},
		{`{"asset":{"key":"assets/x.exe","value":"x"}}`, "extension not allowed"},
		{`{"asset":{"key":"templates/big.liquid","value":"` + strings.Repeat("x", 1<<20+1) + `"}}`, "larger than"},
		{`{"asset":{"key":"assets/a.css","value":"x","attachment":"eA=="}}`, "not both"},
		{`{"asset":{"key":"assets/a.css"}}`, "exactly one of"},
		{`{"asset":{"key":"assets/a.css","attachment":"%%%"}}`, "not valid base64"},
		{`{"asset":{"key":"assets/a.css","source_key":"assets/none.css"}}`, "source_key"},
	} {
		r := f.api.Do(st, tok, "PUT", base, tc.body)
		if r.Status != 422 || !strings.Contains(r.Body, tc.says) {
			t.Errorf("PUT %.120s = %d %.400s, want 422 saying %q", tc.body, r.Status, r.Body, tc.says)
		}
	}
	if after := get("snippets/price.liquid").Body; after != before {
		t.Errorf("after refused writes, price.liquid = %s, want it unchanged (%s)", after, before)
	}
	if got := version(); got != v {
		t.Errorf("version after refused writes = %d, want %d", got, v)
	}

	// Deletes: a built-in file is kept as deleted; the required files stay.
	if r := f.api.Do(st, tok, "DELETE", base+"?asset[key]=snippets/stock.liquid", ""); r.Status != 200 || !strings.Contains(r.Body, "snippets/stock.liquid was successfully deleted") {
		t.Errorf("DELETE a built-in snippet = %d %s", r.Status, r.Body)
	}
	if r := get("snippets/stock.liquid"); r.Status != 404 {
		t.Errorf("GET a deleted built-in file = %d, want 404", r.Status)
	}
	if r := f.api.Do(st, tok, "GET", base, ""); strings.Contains(r.Body, "snippets/stock.liquid") {
		t.Errorf("list after deleting stock.liquid still has it")
	}
	if r := f.api.Do(st, tok, "DELETE", base+"?asset[key]=templates/page.copy.liquid", ""); r.Status != 200 {
		t.Errorf("DELETE an added file = %d %s", r.Status, r.Body)
	}
	if r := get("templates/page.copy.liquid"); r.Status != 404 {
		t.Errorf("GET a deleted added file = %d, want 404", r.Status)
	}
	// The built-in file can come back.
	if r := f.api.Do(st, tok, "PUT", base, `{"asset":{"key":"snippets/stock.liquid","value":"in stock"}}`); r.Status != 200 {
		t.Errorf("PUT a deleted built-in file back = %d %s", r.Status, r.Body)
	}
	for _, tc := range []struct {
		key    string
		status int
	}{
		{"layout/theme.liquid", 422},
		{"templates/index.json", 422},
		{"templates/none.liquid", 404},
		{"snippets/stock.liquid/..", 404},
	} {
		if r := f.api.Do(st, tok, "DELETE", base+"?asset[key]="+url.QueryEscape(tc.key), ""); r.Status != tc.status {
			t.Errorf("DELETE %s = %d %s, want %d", tc.key, r.Status, r.Body, tc.status)
		}
	}
	if r := f.api.Do(st, tok, "DELETE", base, ""); r.Status != 400 {
		t.Errorf("DELETE without asset[key] = %d %s, want 400", r.Status, r.Body)
	}
	// A template has one form: index.liquid replaces index.json.
	if r := f.api.Do(st, tok, "PUT", base, `{"asset":{"key":"templates/index.liquid","value":"<h1>Home, converted</h1>"}}`); r.Status != 200 {
		t.Errorf("PUT templates/index.liquid over index.json = %d %s", r.Status, r.Body)
	}
	if r := get("templates/index.json"); r.Status != 404 {
		t.Errorf("GET templates/index.json after index.liquid replaced it = %d, want 404", r.Status)
	}
	if r := f.api.Do(st, tok, "DELETE", base+"?asset[key]=templates/index.liquid", ""); r.Status != 422 || !strings.Contains(r.Body, "required") {
		t.Errorf("DELETE the only home template = %d %s, want 422", r.Status, r.Body)
	}

	// The storefront previews the edited theme.
	b := f.browser(st)
	if p := b.get(previewPath(t, th)); p.status != 200 || !strings.Contains(p.body, "#ff0000") || !strings.Contains(p.body, "Home, converted") {
		t.Errorf("preview of the edited theme = %d, want its settings (#ff0000) and home page\n%.500s", p.status, p.body)
	}
}

// eventually loads store st's home page as a new shopper until it shows
// theme want, for up to 2 s (a cached page is dropped when the change is
// announced, a few milliseconds after its commit), and returns the theme
// it last showed.
func (f *themeFixture) eventually(st *tenant.Tenant, want string) string {
	f.t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := themeName(f.browser(st).get("/").body)
		if got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// previewPath is the path and query of a theme's preview_url.
func previewPath(t *testing.T, th map[string]any) string {
	t.Helper()
	u, err := url.Parse(th["preview_url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

// TestPublishIsAtomic publishes two themes back and forth while shoppers
// load the home page: every page is one whole theme, and the store never
// has two main themes, or none.
func TestPublishIsAtomic(t *testing.T) {
	f := newThemeFixture(t)
	st := f.api.Store("publish-a")
	tok := f.api.Token(st, "write_themes")
	list := f.api.Do(st, tok, "GET", "/themes.json", "").JSON(t)["themes"].([]any)
	harbor := list[0].(map[string]any)
	mono := themeOf(t, f.api.Do(st, tok, "POST", "/themes.json", `{"theme":{"builtin":"monolith"}}`))

	if p := f.browser(st).get("/"); themeName(p.body) != "harbor" {
		t.Fatalf("home page before publishing = %s", themeName(p.body))
	}
	r := f.api.Do(st, tok, "PUT", fmt.Sprintf("/themes/%d.json", num(mono["id"])), `{"theme":{"role":"main"}}`)
	if r.Status != 200 || themeOf(t, r)["role"] != "main" {
		t.Fatalf("publish monolith = %d %s", r.Status, r.Body)
	}
	if r := f.api.Do(st, tok, "GET", fmt.Sprintf("/themes/%d.json", num(harbor["id"])), ""); themeOf(t, r)["role"] != "unpublished" {
		t.Errorf("harbor after publishing monolith = %s, want unpublished", r.Body)
	}
	if got := f.eventually(st, "monolith"); got != "monolith" {
		t.Errorf("home page after publishing monolith = %s", got)
	}

	// Shoppers during publishes.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				p := f.browser(st).get("/")
				name := themeName(p.body)
				if p.status != 200 {
					name = fmt.Sprintf("status %d", p.status)
				}
				mu.Lock()
				seen[name]++
				mu.Unlock()
			}
		})
	}
	// Publishers: concurrent publishes of both themes take turns.
	var pub sync.WaitGroup
	var bad []string
	for i := range 4 {
		pub.Go(func() {
			id := num(harbor["id"])
			if i%2 == 1 {
				id = num(mono["id"])
			}
			for range 10 {
				r := f.api.Do(st, tok, "PUT", fmt.Sprintf("/themes/%d.json", id), `{"theme":{"role":"main"}}`)
				if r.Status != 200 {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%d %s", r.Status, r.Body))
					mu.Unlock()
				}
			}
		})
	}
	pub.Wait()
	close(stop)
	wg.Wait()
	t.Logf("pages seen during 40 publishes: %v", seen)
	if len(bad) > 0 {
		t.Errorf("concurrent publishes failed: %v", bad)
	}
	for name, n := range seen {
		if name != "harbor" && name != "monolith" {
			t.Errorf("%d pages during publishes were %q, want one whole theme each", n, name)
		}
	}
	var mains int64
	err := f.api.DB.Tx(context.Background(), st, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM themes WHERE role = 'main'`).Scan(&mains).Error
	})
	if err != nil || mains != 1 {
		t.Errorf("main themes after concurrent publishes = %d (%v), want 1", mains, err)
	}
	// The database itself holds one main theme.
	err = f.api.DB.Tx(context.Background(), st, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE themes SET role = 'main'`).Error
	})
	if pg.Code(err) != pg.UniqueViolation {
		t.Errorf("making every theme main = %v, want a unique violation", err)
	}
}

// TestPublishRefusesABrokenTheme: a theme that no longer loads (here, its
// rows changed behind the API's back) is not published.
func TestPublishRefusesABrokenTheme(t *testing.T) {
	f := newThemeFixture(t)
	st := f.api.Store("publish-broken")
	tok := f.api.Token(st, "write_themes")
	mono := themeOf(t, f.api.Do(st, tok, "POST", "/themes.json", `{"theme":{"builtin":"monolith"}}`))
	err := f.api.DB.Tx(context.Background(), st, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO theme_files (theme_id, key, value) VALUES (?, 'snippets/x.liquid', ?)`, num(mono["id"]), []byte("{% if %}")).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.api.Do(st, tok, "PUT", fmt.Sprintf("/themes/%d.json", num(mono["id"])), `{"theme":{"role":"main"}}`); r.Status != 422 || !strings.Contains(r.Body, "snippets/x.liquid:1") {
		t.Errorf("publishing a broken theme = %d %s, want 422 naming the file", r.Status, r.Body)
	}
	if got := f.eventually(st, "harbor"); got != "harbor" {
		t.Errorf("home page after a refused publish = %s, want harbor", got)
	}
}

func TestCreateMainTheme(t *testing.T) {
	f := newThemeFixture(t)
	st := f.api.Store("create-main")
	tok := f.api.Token(st, "write_themes")
	src := f.serveZip("main.zip", harborFiles(t))
	r := f.api.Do(st, tok, "POST", "/themes.json", fmt.Sprintf(`{"theme":{"name":"Live","role":"main","src":%q}}`, src))
	if r.Status != 201 || themeOf(t, r)["role"] != "main" {
		t.Fatalf("POST role main = %d %s", r.Status, r.Body)
	}
	if r := f.api.Do(st, tok, "GET", "/themes.json", ""); strings.Count(r.Body, `"role":"main"`) != 1 || !strings.Contains(r.Body, `"name":"Live","created_at"`) {
		t.Errorf("themes after creating a main one = %s", r.Body)
	}
}

// TestPreview: a preview link shows an unpublished theme to whoever has it,
// privately, and keeps showing it through a cookie; nothing else does.
func TestPreview(t *testing.T) {
	f := newThemeFixture(t)
	a, b := f.api.Store("preview-a"), f.api.Store("preview-b")
	atok, btok := f.api.Token(a, "write_themes"), f.api.Token(b, "write_themes")
	mono := themeOf(t, f.api.Do(a, atok, "POST", "/themes.json", `{"theme":{"builtin":"monolith"}}`))
	// Store b's second theme has the same id as store a's.
	bmono := themeOf(t, f.api.Do(b, btok, "POST", "/themes.json", `{"theme":{"builtin":"monolith"}}`))
	if bmono["id"] != mono["id"] {
		t.Fatalf("theme ids differ between stores (%v, %v); the test needs them equal", bmono["id"], mono["id"])
	}
	id := num(mono["id"])
	link := previewPath(t, mono)
	token := strings.SplitN(link, "preview_token=", 2)[1]
	bToken := strings.SplitN(previewPath(t, bmono), "preview_token=", 2)[1]

	shopper := f.browser(a)
	for _, tc := range []struct{ name, path string }{
		{"no token", fmt.Sprintf("/?preview_theme_id=%d", id)},
		{"a forged token", fmt.Sprintf("/?preview_theme_id=%d&preview_token=%d.9999999999.AAAAAAAAAAAAAAAAAAAAAA", id, id)},
		{"a token with its theme changed", fmt.Sprintf("/?preview_theme_id=%d&preview_token=%s", id+1, strings.Replace(token, fmt.Sprint(id), fmt.Sprint(id+1), 1))},
		{"another theme's id", fmt.Sprintf("/?preview_theme_id=%d&preview_token=%s", 1, token)},
		{"another store's token", fmt.Sprintf("/?preview_theme_id=%d&preview_token=%s", id, bToken)},
	} {
		p := shopper.get(tc.path)
		if p.status != 200 || themeName(p.body) != "harbor" || len(shopper.jar) != 0 {
			t.Errorf("%s: GET %s = %d %s, cookies %v; want the published theme and no preview", tc.name, tc.path, p.status, themeName(p.body), shopper.jar)
		}
	}

	// Tokens as the storefront signs them (see preview.go): a fresh one
	// works, an expired one does not.
	sign := func(store tenant.ID, theme, exp int64) string {
		k := hmac.New(sha256.New, []byte("test cart key"))
		k.Write([]byte("storefleet theme preview v1"))
		m := hmac.New(sha256.New, k.Sum(nil))
		fmt.Fprintf(m, "preview\x00%d\x00%d\x00%d", store, theme, exp)
		return fmt.Sprintf("%d.%d.%s", theme, exp, base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16]))
	}
	if p := f.browser(a).get(fmt.Sprintf("/?preview_theme_id=%d&preview_token=%s", id, sign(a.ID, id, time.Now().Add(time.Minute).Unix()))); themeName(p.body) != "monolith" {
		t.Fatalf("a token signed here for a minute = %s, want monolith (the test signs tokens wrongly?)", themeName(p.body))
	}
	expired := f.browser(a)
	if p := expired.get(fmt.Sprintf("/?preview_theme_id=%d&preview_token=%s", id, sign(a.ID, id, time.Now().Add(-time.Second).Unix()))); themeName(p.body) != "harbor" || len(expired.jar) != 0 {
		t.Errorf("an expired token = %s, cookies %v; want the published theme", themeName(p.body), expired.jar)
	}
	expired.jar["preview_theme"] = &http.Cookie{Name: "preview_theme", Value: sign(a.ID, id, time.Now().Add(-time.Second).Unix())}
	if p := expired.get("/"); themeName(p.body) != "harbor" {
		t.Errorf("an expired preview cookie = %s, want the published theme", themeName(p.body))
	}

	staff := f.browser(a)
	p := staff.get(link)
	if p.status != 200 || themeName(p.body) != "monolith" || p.header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("GET the preview link = %d %s, Cache-Control %q; want monolith, private, no-store", p.status, themeName(p.body), p.header.Get("Cache-Control"))
	}
	ck := staff.jar["preview_theme"]
	if ck == nil || !ck.HttpOnly || ck.MaxAge <= 0 || ck.MaxAge > 3601 {
		t.Fatalf("preview cookie = %+v, want HttpOnly, expiring within the hour", ck)
	}
	// Pages the preview links to keep previewing.
	for _, path := range []string{"/collections/all", "/search?q=tea", "/no-such-page"} {
		if p := staff.get(path); themeName(p.body) != "monolith" || p.header.Get("Cache-Control") != "private, no-store" {
			t.Errorf("GET %s while previewing = %s, %q; want monolith, private", path, themeName(p.body), p.header.Get("Cache-Control"))
		}
	}
	// The preview's assets are served.
	if i := strings.Index(p.body, "/cdn/shop/t/"); i < 0 || staff.get(p.body[i:i+strings.IndexAny(p.body[i:], `"'`)]).status != 200 {
		t.Errorf("the previewed theme's asset is not served")
	}
	// The cookie means nothing on another store.
	other := f.browser(b)
	other.jar["preview_theme"] = ck
	if p := other.get("/"); themeName(p.body) != "harbor" {
		t.Errorf("store a's preview cookie on store b = %s, want b's published theme", themeName(p.body))
	}
	// Shoppers meanwhile see the published theme.
	if p := f.browser(a).get("/"); themeName(p.body) != "harbor" || p.header.Get("Cache-Control") == "private, no-store" {
		t.Errorf("a shopper during the preview = %s %q", themeName(p.body), p.header.Get("Cache-Control"))
	}
	// Leaving the preview.
	if p := staff.get("/?preview_theme_id=0"); themeName(p.body) != "harbor" || staff.jar["preview_theme"] != nil {
		t.Errorf("?preview_theme_id=0 = %s, cookie %v; want the published theme and the cookie gone", themeName(p.body), staff.jar["preview_theme"])
	}
	if p := staff.get("/"); themeName(p.body) != "harbor" {
		t.Errorf("after leaving the preview = %s", themeName(p.body))
	}
	// A deleted theme ends its preview.
	staff.get(link)
	if r := f.api.Do(a, atok, "DELETE", fmt.Sprintf("/themes/%d.json", id), ""); r.Status != 200 {
		t.Fatal(r.Body)
	}
	if p := staff.get("/"); p.status != 200 || themeName(p.body) != "harbor" {
		t.Errorf("previewing a deleted theme = %d %s, want the published theme", p.status, themeName(p.body))
	}
}

// TestThemesAreTheStoresOwn: store b's token never reaches store a's
// themes, and b asking for a theme id only a has gets 404.
func TestThemesAreTheStoresOwn(t *testing.T) {
	f := newThemeFixture(t)
	a, b := f.api.Store("own-a"), f.api.Store("own-b")
	atok, btok := f.api.Token(a, "write_themes"), f.api.Token(b, "write_themes")
	var last map[string]any
	for range 3 {
		last = themeOf(t, f.api.Do(a, atok, "POST", "/themes.json", `{"theme":{"builtin":"monolith","name":"A's own"}}`))
	}
	id := num(last["id"])
	for _, tc := range []struct{ method, path, body string }{
		{"GET", fmt.Sprintf("/themes/%d.json", id), ""},
		{"PUT", fmt.Sprintf("/themes/%d.json", id), `{"theme":{"role":"main"}}`},
		{"DELETE", fmt.Sprintf("/themes/%d.json", id), ""},
		{"GET", fmt.Sprintf("/themes/%d/assets.json", id), ""},
		{"GET", fmt.Sprintf("/themes/%d/assets.json?asset[key]=layout/theme.liquid", id), ""},
		{"PUT", fmt.Sprintf("/themes/%d/assets.json", id), `{"asset":{"key":"snippets/x.liquid","value":"x"}}`},
		{"DELETE", fmt.Sprintf("/themes/%d/assets.json?asset[key]=snippets/price.liquid", id), ""},
	} {
		if r := f.api.Do(b, btok, tc.method, tc.path, tc.body); r.Status != 404 || strings.Contains(r.Body, "A's own") {
			t.Errorf("b: %s %s = %d %s, want 404", tc.method, tc.path, r.Status, r.Body)
		}
		if r := f.api.Do(a, btok, tc.method, tc.path, tc.body); r.Status != 401 {
			t.Errorf("b's token on a's host: %s %s = %d, want 401", tc.method, tc.path, r.Status)
		}
	}
	if r := f.api.Do(b, btok, "GET", "/themes.json", ""); strings.Contains(r.Body, "A's own") || strings.Count(r.Body, `"id"`) != 1 {
		t.Errorf("b's themes = %s, want only its own", r.Body)
	}
	if r := f.api.Do(a, atok, "GET", fmt.Sprintf("/themes/%d.json", id), ""); r.Status != 200 {
		t.Errorf("a's own theme = %d, want 200", r.Status)
	}
}

func TestThemeScopes(t *testing.T) {
	f := newThemeFixture(t)
	st := f.api.Store("scopes-a")
	reader, products := f.api.Token(st, "read_themes"), f.api.Token(st, "write_products")
	content := f.api.Token(st, "write_content")
	id := num(f.api.Do(st, reader, "GET", "/themes.json", "").JSON(t)["themes"].([]any)[0].(map[string]any)["id"])
	assets := fmt.Sprintf("/themes/%d/assets.json", id)
	put := `{"asset":{"key":"snippets/x.liquid","value":"x"}}`
	for _, tc := range []struct {
		who, tok, method, path, body string
		status                       int
	}{
		{"read_themes", reader, "GET", "/themes.json", "", 200},
		{"read_themes", reader, "GET", assets, "", 200},
		{"read_themes", reader, "PUT", assets, put, 403},
		{"read_themes", reader, "POST", "/themes.json", `{"theme":{"builtin":"monolith"}}`, 403},
		{"read_themes", reader, "DELETE", assets + "?asset[key]=snippets/x.liquid", "", 403},
		{"write_products", products, "GET", "/themes.json", "", 403},
		{"write_content", content, "GET", "/themes.json", "", 403},
		{"viewer", f.api.Staff(st, tenant.RoleViewer), "GET", assets, "", 200},
		{"viewer", f.api.Staff(st, tenant.RoleViewer), "PUT", assets, put, 403},
		{"fulfillment", f.api.Staff(st, tenant.RoleFulfillment), "GET", "/themes.json", "", 403},
		{"staff", f.api.Staff(st, tenant.RoleStaff), "PUT", assets, put, 200},
		{"admin", f.api.Staff(st, tenant.RoleAdmin), "POST", "/themes.json", `{"theme":{"builtin":"monolith"}}`, 201},
	} {
		r := f.api.Do(st, tc.tok, tc.method, tc.path, tc.body)
		if r.Status != tc.status {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.who, tc.method, tc.path, r.Status, r.Body, tc.status)
		}
		if tc.status == 403 && tc.tok == reader && !strings.Contains(r.Body, "write_themes") {
			t.Errorf("%s: %s %s = %s, want it to name write_themes", tc.who, tc.method, tc.path, r.Body)
		}
	}
}

// TestAssetFromSrc: an asset may be given by URL too, and is checked like
// any other.
func TestAssetFromSrc(t *testing.T) {
	f := newThemeFixture(t)
	st := f.api.Store("asset-src")
	tok := f.api.Token(st, "write_themes")
	id := num(f.api.Do(st, tok, "GET", "/themes.json", "").JSON(t)["themes"].([]any)[0].(map[string]any)["id"])
	png, _ := base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
	f.mu.Lock()
	f.zips["/logo.png"] = png
	f.mu.Unlock()
	r := f.api.Do(st, tok, "PUT", fmt.Sprintf("/themes/%d/assets.json", id), fmt.Sprintf(`{"asset":{"key":"assets/logo.png","src":%q}}`, f.files.URL+"/logo.png"))
	if r.Status != 200 || !strings.Contains(r.Body, `"content_type":"image/png"`) || !strings.Contains(r.Body, fmt.Sprintf(`"size":%d`, len(png))) {
		t.Errorf("PUT asset from src = %d %s", r.Status, r.Body)
	}
	if p := f.browser(st).get(fmt.Sprintf("/cdn/shop/t/%d/assets/logo.png", id)); p.status != 200 || p.body != string(png) {
		t.Errorf("GET the new asset on the storefront = %d", p.status)
	}
	r = f.api.Do(st, tok, "PUT", fmt.Sprintf("/themes/%d/assets.json", id), fmt.Sprintf(`{"asset":{"key":"assets/gone.png","src":%q}}`, f.files.URL+"/gone.png"))
	if r.Status != 422 || !strings.Contains(r.Body, "answered 404") {
		t.Errorf("PUT asset from a missing src = %d %s", r.Status, r.Body)
	}
}
