package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/modules/storefront"
	"github.com/storefleet/storefleet/tenant"
)

// contentPagesOf is st's pages.
func (f *fixture) contentPagesOf(st *tenant.Tenant) []storefront.Page {
	f.t.Helper()
	ps, err := storefront.NewPages(f.db).Pages(context.Background(), st)
	if err != nil {
		f.t.Fatalf("Pages = %v", err)
	}
	return ps
}

// contentMenusOf is st's menus.
func (f *fixture) contentMenusOf(st *tenant.Tenant) []storefront.Menu {
	f.t.Helper()
	ms, err := storefront.NewMenus(f.db).Menus(context.Background(), st)
	if err != nil {
		f.t.Fatalf("Menus = %v", err)
	}
	return ms
}

// TestContentPages: the owner creates a page, a taken handle is refused
// with a message and the text kept, the page is edited, hidden, deleted.
func TestContentPages(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("pages-shop")
	b := f.browser()
	b.mustLogin(acct.Email)
	if r := b.get("/store/pages-shop/pages"); r.status != http.StatusOK || !strings.Contains(r.body, "No pages yet") {
		t.Fatalf("GET pages = %d", r.status)
	}
	b.get("/store/pages-shop/pages/new")
	r := b.post("/store/pages-shop/pages", url.Values{"title": {"About us"}, "body_html": {"<p>Tea since 1901.</p>"}, "published": {"1"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST pages = %d %.500s, want 303", r.status, r.body)
	}
	ps := f.contentPagesOf(st)
	if len(ps) != 1 || ps[0].Handle != "about-us" || ps[0].PublishedAt == nil || ps[0].BodyHTML != "<p>Tea since 1901.</p>" {
		t.Fatalf("after creating, pages are %+v", ps)
	}
	if r.header.Get("Location") != fmt.Sprintf("/store/pages-shop/pages/%d?done=created", ps[0].ID) {
		t.Errorf("POST pages redirected to %s", r.header.Get("Location"))
	}
	list := b.get("/store/pages-shop/pages")
	if !strings.Contains(list.body, "About us") || !strings.Contains(list.body, "/pages/about-us") {
		t.Errorf("the pages list lacks the new page")
	}

	b.get("/store/pages-shop/pages/new")
	r = b.post("/store/pages-shop/pages", url.Values{"title": {"About"}, "handle": {"about-us"}, "body_html": {"<p>Kept text</p>"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "has already been taken") || !strings.Contains(r.body, "Kept text") {
		t.Errorf("POST pages with a taken handle = %d, want 422 saying so, the text kept", r.status)
	}
	b.get("/store/pages-shop/pages/new")
	if r := b.post("/store/pages-shop/pages", url.Values{"title": {""}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "can&#39;t be blank") {
		t.Errorf("POST pages without a title = %d, want 422", r.status)
	}
	if n := len(f.contentPagesOf(st)); n != 1 {
		t.Errorf("refused posts left %d pages, want 1", n)
	}

	path := fmt.Sprintf("/store/pages-shop/pages/%d", ps[0].ID)
	b.get(path)
	if r := b.post(path, url.Values{"title": {"About"}, "handle": {"about"}, "body_html": {"<p>New.</p>"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST %s = %d %.500s", path, r.status, r.body)
	}
	if p := f.contentPagesOf(st)[0]; p.Title != "About" || p.Handle != "about" || p.PublishedAt != nil || p.BodyHTML != "<p>New.</p>" {
		t.Errorf("after editing (unticked visible), the page is %+v", p)
	}
	b.get(path)
	if r := b.post(path+"/delete", url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("POST delete = %d", r.status)
	}
	if n := len(f.contentPagesOf(st)); n != 0 {
		t.Errorf("after deleting, %d pages", n)
	}
}

// TestContentMenus: the owner creates a menu, adds links, reorders and
// removes one; a bad link is refused with a message and the rows kept.
func TestContentMenus(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("menus-shop")
	b := f.browser()
	b.mustLogin(acct.Email)
	b.get("/store/menus-shop/menus")
	r := b.post("/store/menus-shop/menus", url.Values{"title": {"Footer links"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST menus = %d %.500s", r.status, r.body)
	}
	var menu storefront.Menu
	for _, m := range f.contentMenusOf(st) {
		if m.Handle == "footer-links" {
			menu = m
		}
	}
	if menu.ID == 0 {
		t.Fatalf("the new menu is not there: %+v", f.contentMenusOf(st))
	}
	path := fmt.Sprintf("/store/menus-shop/menus/%d", menu.ID)
	if r.header.Get("Location") != path+"?done=created" {
		t.Errorf("POST menus redirected to %s", r.header.Get("Location"))
	}
	b.get(path)
	r = b.post(path, url.Values{"title": {"Footer links"}, "handle": {"footer-links"},
		"link_title": {"Shop", "About", ""}, "link_url": {"/collections/all", "/pages/about", ""}, "link_position": {"", "", ""}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST %s = %d %.800s", path, r.status, r.body)
	}
	got, _ := storefront.NewMenus(f.db).Menu(context.Background(), st, menu.ID)
	if len(got.Links) != 2 || got.Links[0].Title != "Shop" || got.Links[1].URL != "/pages/about" {
		t.Fatalf("after adding links, the menu is %+v", got)
	}
	// Reorder: About first.
	b.get(path)
	if r := b.post(path, url.Values{"title": {"Footer links"}, "handle": {"footer-links"},
		"link_title": {"Shop", "About"}, "link_url": {"/collections/all", "/pages/about"}, "link_position": {"2", "1"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST reorder = %d %.800s", r.status, r.body)
	}
	got, _ = storefront.NewMenus(f.db).Menu(context.Background(), st, menu.ID)
	if len(got.Links) != 2 || got.Links[0].Title != "About" || got.Links[1].Title != "Shop" {
		t.Errorf("after reordering, the links are %+v", got.Links)
	}
	b.get(path)
	r = b.post(path, url.Values{"title": {"Footer links"}, "handle": {"footer-links"},
		"link_title": {"About", "Shop", "Evil"}, "link_url": {"/pages/about", "/collections/all", "javascript:alert(1)"}, "link_remove": {"2"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "must be a path of the store") || !strings.Contains(r.body, "javascript:alert(1)") {
		t.Errorf("POST a javascript: link = %d, want 422 saying why with the row kept", r.status)
	}
	if now, _ := storefront.NewMenus(f.db).Menu(context.Background(), st, menu.ID); len(now.Links) != 2 {
		t.Errorf("a refused post changed the links: %+v", now.Links)
	}
	b.get(path)
	if r := b.post(path, url.Values{"title": {"Footer links"}, "handle": {"footer-links"},
		"link_title": {"About", "Shop"}, "link_url": {"/pages/about", "/collections/all"}, "link_remove": {"2"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST remove = %d %.800s", r.status, r.body)
	}
	got, _ = storefront.NewMenus(f.db).Menu(context.Background(), st, menu.ID)
	if len(got.Links) != 1 || got.Links[0].Title != "About" {
		t.Errorf("after removing Shop, the links are %+v", got.Links)
	}
	list := b.get("/store/menus-shop/menus")
	if !strings.Contains(list.body, "Footer links") {
		t.Errorf("the menus list lacks the menu")
	}
	b.get(path)
	if r := b.post(path+"/delete", url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("POST delete menu = %d", r.status)
	}
	if _, err := storefront.NewMenus(f.db).Menu(context.Background(), st, menu.ID); err == nil {
		t.Errorf("the deleted menu is still there")
	}
}

// TestContentViewerAndTenants: a viewer sees pages and menus but every
// post is refused; another store's page and menu are not found here; a
// post without the CSRF token is refused.
func TestContentViewerAndTenants(t *testing.T) {
	f := newFixture(t)
	_, st := f.owner("content-a")
	title := "Shipping"
	p, err := storefront.NewPages(f.db).CreatePage(context.Background(), st, storefront.PageInput{Title: &title})
	if err != nil {
		t.Fatal(err)
	}
	mtitle := "Side"
	m, err := storefront.NewMenus(f.db).CreateMenu(context.Background(), st, storefront.MenuInput{Title: &mtitle})
	if err != nil {
		t.Fatal(err)
	}
	viewer := f.staff(st, tenant.RoleViewer)
	b := f.browser()
	b.mustLogin(viewer.Email)
	if r := b.get("/store/content-a/pages"); r.status != http.StatusOK || !strings.Contains(r.body, "Shipping") || strings.Contains(r.body, "Add page") {
		t.Errorf("a viewer's GET pages = %d, want the list without Add page", r.status)
	}
	if r := b.get("/store/content-a/menus"); r.status != http.StatusOK || !strings.Contains(r.body, "Side") || strings.Contains(r.body, "Add menu") {
		t.Errorf("a viewer's GET menus = %d, want the list without the add form", r.status)
	}
	b.get(fmt.Sprintf("/store/content-a/pages/%d", p.ID))
	for _, path := range []string{"/store/content-a/pages", fmt.Sprintf("/store/content-a/pages/%d", p.ID), fmt.Sprintf("/store/content-a/pages/%d/delete", p.ID),
		"/store/content-a/menus", fmt.Sprintf("/store/content-a/menus/%d", m.ID), fmt.Sprintf("/store/content-a/menus/%d/delete", m.ID)} {
		if r := b.post(path, url.Values{"title": {"Changed"}}); r.status != http.StatusForbidden {
			t.Errorf("a viewer's POST %s = %d, want 403", path, r.status)
		}
	}
	unchanged := func() bool {
		gp, perr := storefront.NewPages(f.db).Page(context.Background(), st, p.ID)
		gm, merr := storefront.NewMenus(f.db).Menu(context.Background(), st, m.ID)
		return perr == nil && merr == nil && gp.Title == "Shipping" && gm.Title == "Side"
	}
	if !unchanged() {
		t.Errorf("a viewer's posts changed something")
	}

	// Store B's owner, with store A's ids under B's slug.
	acctB, stB := f.owner("content-b")
	ob := f.browser()
	ob.mustLogin(acctB.Email)
	for _, path := range []string{fmt.Sprintf("/store/content-b/pages/%d", p.ID), fmt.Sprintf("/store/content-b/menus/%d", m.ID)} {
		if r := ob.get(path); r.status != http.StatusNotFound || strings.Contains(r.body, "Shipping") {
			t.Errorf("GET %s (another store's) = %d, want 404", path, r.status)
		}
	}
	ob.get("/store/content-b/pages")
	for _, path := range []string{fmt.Sprintf("/store/content-b/pages/%d", p.ID), fmt.Sprintf("/store/content-b/pages/%d/delete", p.ID),
		fmt.Sprintf("/store/content-b/menus/%d", m.ID), fmt.Sprintf("/store/content-b/menus/%d/delete", m.ID)} {
		if r := ob.post(path, url.Values{"title": {"Taken over"}}); r.status != http.StatusNotFound {
			t.Errorf("POST %s (another store's) = %d, want 404", path, r.status)
		}
	}
	if !unchanged() {
		t.Errorf("store B's posts changed store A's content")
	}

	// No CSRF token.
	if r := ob.do(http.MethodPost, "/store/content-b/pages", url.Values{"title": {"Forged"}}); r.status != http.StatusForbidden {
		t.Errorf("POST pages without a token = %d, want 403", r.status)
	}
	if r := ob.do(http.MethodPost, "/store/content-b/menus", url.Values{"title": {"Forged"}}); r.status != http.StatusForbidden {
		t.Errorf("POST menus without a token = %d, want 403", r.status)
	}
	for _, mm := range f.contentMenusOf(stB) {
		if mm.Title == "Forged" {
			t.Errorf("a post without a token created a menu")
		}
	}
	for _, pp := range f.contentPagesOf(stB) {
		if pp.Title == "Forged" {
			t.Errorf("a post without a token created a page")
		}
	}
}
