package dashboard_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/modules/storefront"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/themes"
)

// themesService is a themes service on the fixture's database, to check
// what the screens changed.
func (f *fixture) themesService() *storefront.Themes {
	return storefront.NewThemes(f.db, storefront.Config{URLs: tenant.URLs{Scheme: "http", Domain: "localhost", Port: "8080"},
		CartKey: []byte("cart-key-for-tests-0123456789abcd")}, nil)
}

// themesList is st's themes, the published one first.
func (f *fixture) themesList(st *tenant.Tenant) []storefront.Theme {
	f.t.Helper()
	list, err := f.themesService().Themes(context.Background(), st)
	if err != nil {
		f.t.Fatalf("Themes = %v", err)
	}
	return list
}

// themesNamed is st's theme called name.
func (f *fixture) themesNamed(st *tenant.Tenant, name string) storefront.Theme {
	f.t.Helper()
	for _, th := range f.themesList(st) {
		if th.Name == name {
			return th
		}
	}
	f.t.Fatalf("store %s has no theme %q", st.Slug, name)
	return storefront.Theme{}
}

// themesFile is the content of key in theme id of st; ok is false when
// the theme has no such file.
func (f *fixture) themesFile(st *tenant.Tenant, id int64, key string) (string, bool) {
	f.t.Helper()
	_, a, err := f.themesService().Asset(context.Background(), st, id, key)
	if err != nil {
		return "", false
	}
	return string(a.Value), true
}

// themesZip zips the built-in theme name's files, as a merchant would
// upload them.
func themesZip(t *testing.T, name string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, b := range themes.Builtin() {
		if b.Name != name {
			continue
		}
		err := fs.WalkDir(b.FS, ".", func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			data, err := fs.ReadFile(b.FS, p)
			if err != nil {
				return err
			}
			fw, err := w.Create(p)
			if err != nil {
				return err
			}
			_, err = fw.Write(data)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestThemes: the owner sees the published theme, adds a built-in one,
// publishes it, customises it, edits its code (a Liquid syntax error is
// refused with its message and the typed text kept), uploads a zip, and
// deletes a theme.
func TestThemes(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("themes-shop")
	b := f.browser()
	b.mustLogin(acct.Email)
	before := f.themesList(st)
	if len(before) == 0 || before[0].Role != storefront.RoleMain {
		t.Fatalf("a new store has themes %+v, want a published one", before)
	}
	home := b.get("/store/themes-shop")
	for _, want := range []string{`href="/store/themes-shop/themes"`, `href="/store/themes-shop/pages"`, `href="/store/themes-shop/menus"`} {
		if !strings.Contains(home.body, want) {
			t.Errorf("the owner's menu lacks %s", want)
		}
	}
	list := b.get("/store/themes-shop/themes")
	if list.status != http.StatusOK || !strings.Contains(list.body, before[0].Name) || !strings.Contains(list.body, "Published") ||
		!strings.Contains(list.body, "preview_token=") || !strings.Contains(list.body, "Customise") {
		t.Fatalf("GET themes = %d, want the published theme %q with preview and customise:\n%.2000s", list.status, before[0].Name, list.body)
	}

	// Add the other built-in theme and publish it.
	if r := b.post("/store/themes-shop/themes", url.Values{"builtin": {"monolith"}, "name": {"Mono"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST themes builtin=monolith = %d %.500s, want 303", r.status, r.body)
	}
	mono := f.themesNamed(st, "Mono")
	if mono.Role != storefront.RoleUnpublished || mono.Builtin != "monolith" {
		t.Errorf("the added theme is %+v, want monolith, unpublished", mono)
	}
	b.get("/store/themes-shop/themes")
	if r := b.post("/store/themes-shop/themes", url.Values{"builtin": {"nosuch"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "must be one of") {
		t.Errorf("POST themes builtin=nosuch = %d, want 422 naming the choices", r.status)
	}
	b.get("/store/themes-shop/themes")
	if r := b.post(fmt.Sprintf("/store/themes-shop/themes/%d/publish", mono.ID), url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("POST publish = %d %.500s, want 303", r.status, r.body)
	}
	if now := f.themesList(st); now[0].ID != mono.ID || now[0].Role != storefront.RoleMain {
		t.Errorf("after publishing, the published theme is %+v, want Mono", now[0])
	}

	// Customise: the form shows the schema's settings with their values,
	// and the preview; saving writes settings_data.json.
	settingsPath := fmt.Sprintf("/store/themes-shop/themes/%d/settings", mono.ID)
	page := b.get(settingsPath)
	for _, want := range []string{`name="setting_invert"`, `name="setting_products_per_page"`, `value="12"`, "<iframe", "preview_theme_id=" + fmt.Sprint(mono.ID)} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the settings page lacks %q", want)
		}
	}
	dataBefore, _ := f.themesFile(st, mono.ID, "config/settings_data.json")
	r := b.post(settingsPath, url.Values{"setting_products_per_page": {"many"}, "setting_low_stock_threshold": {"5"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "must be a number") || !strings.Contains(r.body, `value="many"`) {
		t.Errorf("POST settings with a bad number = %d, want 422 saying so with the value kept", r.status)
	}
	if after, _ := f.themesFile(st, mono.ID, "config/settings_data.json"); after != dataBefore {
		t.Errorf("a refused settings post changed settings_data.json")
	}
	r = b.post(settingsPath, url.Values{"setting_invert": {"1"}, "setting_products_per_page": {"8"}, "setting_low_stock_threshold": {"3"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST settings = %d %.800s, want 303", r.status, r.body)
	}
	data, _ := f.themesFile(st, mono.ID, "config/settings_data.json")
	for _, want := range []string{`"invert": true`, `"products_per_page": 8`, `"low_stock_threshold": 3`, `"presets"`} {
		if !strings.Contains(data, want) {
			t.Errorf("settings_data.json after saving lacks %s:\n%s", want, data)
		}
	}
	if saved := b.get(settingsPath + "?done=saved"); !strings.Contains(saved.body, `value="8"`) || !strings.Contains(saved.body, "Saved.") {
		t.Errorf("the settings page after saving does not show the new value")
	}

	// Edit code: a syntax error is refused, with its message and the text kept.
	const key = "templates/page.liquid"
	filesPath := fmt.Sprintf("/store/themes-shop/themes/%d/files", mono.ID)
	editor := b.get(filesPath + "?key=" + url.QueryEscape(key))
	orig, _ := f.themesFile(st, mono.ID, key)
	if editor.status != http.StatusOK || !strings.Contains(editor.body, "<textarea") || !strings.Contains(editor.body, html.EscapeString(strings.SplitN(orig, "\n", 2)[0])) ||
		!strings.Contains(editor.body, ">sections<") || !strings.Contains(editor.body, ">snippets<") {
		t.Fatalf("GET the editor = %d, want the file in a text area and the folders", editor.status)
	}
	broken := "<h1>{{ page.title }}</h1>\n{% if page.title %}\n<p>never closed</p>\n"
	r = b.post(filesPath, url.Values{"key": {key}, "value": {broken}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, key+":") || !strings.Contains(r.body, html.EscapeString("<p>never closed</p>")) {
		t.Errorf("POST a Liquid syntax error = %d, want 422 with the file:line message and the text kept:\n%.3000s", r.status, r.body)
	}
	if now, _ := f.themesFile(st, mono.ID, key); now != orig {
		t.Errorf("a refused edit was saved")
	}
	good := "<h1>{{ page.title }}</h1>\r\n<div class=\"rte\">{{ page.content }}</div>\r\n"
	if r := b.post(filesPath, url.Values{"key": {key}, "value": {good}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST a good edit = %d %.800s, want 303", r.status, r.body)
	}
	if now, _ := f.themesFile(st, mono.ID, key); now != strings.ReplaceAll(good, "\r\n", "\n") {
		t.Errorf("after a good edit the file is %q", now)
	}

	// New file, delete it; a required file is refused.
	b.get(filesPath)
	if r := b.post(filesPath+"/new", url.Values{"key": {"snippets/hello.liquid"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST new file = %d %.500s", r.status, r.body)
	}
	if _, ok := f.themesFile(st, mono.ID, "snippets/hello.liquid"); !ok {
		t.Errorf("the new file was not created")
	}
	b.get(filesPath)
	if r := b.post(filesPath+"/new", url.Values{"key": {key}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "already") {
		t.Errorf("POST new file over an existing one = %d, want 422", r.status)
	}
	if r := b.post(filesPath+"/new", url.Values{"key": {"nowhere.liquid"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "must be a file in layout/") {
		t.Errorf("POST new file with a bad key = %d, want 422 saying where files go", r.status)
	}
	b.get(filesPath)
	if r := b.post(filesPath+"/delete", url.Values{"key": {"snippets/hello.liquid"}}); r.status != http.StatusSeeOther {
		t.Errorf("POST delete file = %d", r.status)
	}
	if _, ok := f.themesFile(st, mono.ID, "snippets/hello.liquid"); ok {
		t.Errorf("the deleted file is still there")
	}
	b.get(filesPath)
	if r := b.post(filesPath+"/delete", url.Values{"key": {"layout/theme.liquid"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "required") {
		t.Errorf("POST delete layout/theme.liquid = %d, want 422 saying it is required", r.status)
	}

	// Upload a zip; a broken one is refused with a message.
	b.get("/store/themes-shop/themes")
	if r := b.upload("/store/themes-shop/themes/upload", url.Values{"name": {"Uploaded Harbor"}}, "zip", "harbor.zip", themesZip(t, "harbor")); r.status != http.StatusSeeOther {
		t.Fatalf("POST upload = %d %.800s, want 303", r.status, r.body)
	}
	up := f.themesNamed(st, "Uploaded Harbor")
	if up.Builtin != "" || up.Role != storefront.RoleUnpublished {
		t.Errorf("the uploaded theme is %+v, want an unpublished theme of its own", up)
	}
	if _, ok := f.themesFile(st, up.ID, "layout/theme.liquid"); !ok {
		t.Errorf("the uploaded theme has no layout")
	}
	b.get("/store/themes-shop/themes")
	n := len(f.themesList(st))
	if r := b.upload("/store/themes-shop/themes/upload", url.Values{}, "zip", "junk.zip", []byte("not a zip")); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "class=\"alert\"") {
		t.Errorf("POST upload of junk = %d, want 422 with the problem", r.status)
	}
	if len(f.themesList(st)) != n {
		t.Errorf("a refused upload added a theme")
	}

	// Delete: refused without the confirmation, done with it; the
	// published theme cannot be deleted.
	b.get("/store/themes-shop/themes")
	del := fmt.Sprintf("/store/themes-shop/themes/%d/delete", up.ID)
	if r := b.post(del, url.Values{}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("POST delete without confirming = %d, want 422", r.status)
	}
	if r := b.post(del, url.Values{"confirm": {"yes"}}); r.status != http.StatusSeeOther {
		t.Errorf("POST delete = %d, want 303", r.status)
	}
	if len(f.themesList(st)) != n-1 {
		t.Errorf("the theme was not deleted")
	}
	if r := b.post(fmt.Sprintf("/store/themes-shop/themes/%d/delete", mono.ID), url.Values{"confirm": {"yes"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "theme is published (role main) and cannot be deleted") {
		t.Errorf("POST delete of the published theme = %d, want 422 saying why", r.status)
	}
}

// TestThemesViewer: a viewer sees the themes, the settings and the code,
// without buttons, and every post is refused with 403 and changes nothing.
func TestThemesViewer(t *testing.T) {
	f := newFixture(t)
	_, st := f.owner("themes-viewer")
	main := f.themesList(st)[0]
	viewer := f.staff(st, tenant.RoleViewer)
	b := f.browser()
	b.mustLogin(viewer.Email)
	list := b.get("/store/themes-viewer/themes")
	if list.status != http.StatusOK || !strings.Contains(list.body, main.Name) || strings.Contains(list.body, "Add theme") {
		t.Fatalf("a viewer's GET themes = %d, want the list without the add form", list.status)
	}
	base := fmt.Sprintf("/store/themes-viewer/themes/%d", main.ID)
	if r := b.get(base + "/settings"); r.status != http.StatusOK || strings.Contains(r.body, ">Save<") {
		t.Errorf("a viewer's GET settings = %d, want 200 without Save", r.status)
	}
	if r := b.get(base + "/files?key=layout/theme.liquid"); r.status != http.StatusOK || !strings.Contains(r.body, "readonly") {
		t.Errorf("a viewer's GET editor = %d, want 200 read-only", r.status)
	}
	layout, _ := f.themesFile(st, main.ID, "layout/theme.liquid")
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{"/store/themes-viewer/themes", url.Values{"builtin": {"monolith"}}},
		{base + "/publish", url.Values{}},
		{base + "/delete", url.Values{"confirm": {"yes"}}},
		{base + "/settings", url.Values{"setting_products_per_page": {"8"}}},
		{base + "/files", url.Values{"key": {"layout/theme.liquid"}, "value": {"x"}}},
		{base + "/files/new", url.Values{"key": {"snippets/x.liquid"}}},
		{base + "/files/delete", url.Values{"key": {"layout/theme.liquid"}}},
	} {
		if r := b.post(p.path, p.form); r.status != http.StatusForbidden {
			t.Errorf("a viewer's POST %s = %d, want 403", p.path, r.status)
		}
	}
	if r := b.upload("/store/themes-viewer/themes/upload", url.Values{}, "zip", "h.zip", themesZip(t, "harbor")); r.status != http.StatusForbidden {
		t.Errorf("a viewer's upload = %d, want 403", r.status)
	}
	if now := f.themesList(st); len(now) != 1 || now[0].Version != main.Version {
		t.Errorf("after a viewer's posts the themes are %+v, want them unchanged", now)
	}
	if now, _ := f.themesFile(st, main.ID, "layout/theme.liquid"); now != layout {
		t.Errorf("a viewer's post changed the layout")
	}
}

// TestThemesCrossTenant: another store's theme id under this store's slug
// is not found, and a post without the CSRF token is refused.
func TestThemesCrossTenant(t *testing.T) {
	f := newFixture(t)
	acct, _ := f.owner("themes-a")
	_, other := f.owner("themes-b")
	svc := f.themesService()
	var theirs storefront.Theme
	for range 2 {
		var err error
		if theirs, err = svc.CreateTheme(context.Background(), other, storefront.NewTheme{Builtin: "monolith", Name: "Secret"}); err != nil {
			t.Fatal(err)
		}
	}
	b := f.browser()
	b.mustLogin(acct.Email)
	base := fmt.Sprintf("/store/themes-a/themes/%d", theirs.ID)
	for _, p := range []string{base + "/settings", base + "/files", base + "/files?key=layout/theme.liquid"} {
		if r := b.get(p); r.status != http.StatusNotFound || strings.Contains(r.body, "Secret") {
			t.Errorf("GET %s (another store's theme) = %d, want 404", p, r.status)
		}
	}
	b.get("/store/themes-a/themes")
	for _, p := range []string{base + "/publish", base + "/delete", base + "/settings", base + "/files", base + "/files/delete"} {
		if r := b.post(p, url.Values{"confirm": {"yes"}, "key": {"layout/theme.liquid"}, "value": {"x"}}); r.status != http.StatusNotFound {
			t.Errorf("POST %s (another store's theme) = %d, want 404", p, r.status)
		}
	}
	if now, err := svc.Theme(context.Background(), other, theirs.ID); err != nil || now.Role != storefront.RoleUnpublished || now.Version != theirs.Version {
		t.Errorf("store B's theme is %+v (%v), want it unchanged", now, err)
	}

	// No CSRF token: 403, nothing published.
	_, st := f.owner("themes-c")
	owner := f.browser()
	acctC := f.staff(st, tenant.RoleAdmin)
	owner.mustLogin(acctC.Email)
	add, err := svc.CreateTheme(context.Background(), st, storefront.NewTheme{Builtin: "monolith"})
	if err != nil {
		t.Fatal(err)
	}
	if r := owner.do(http.MethodPost, fmt.Sprintf("/store/themes-c/themes/%d/publish", add.ID), url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("POST publish without a CSRF token = %d, want 403", r.status)
	}
	if now, _ := svc.Theme(context.Background(), st, add.ID); now.Role != storefront.RoleUnpublished {
		t.Errorf("a post without a token published the theme")
	}
}
