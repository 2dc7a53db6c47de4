package storefront_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/tenant"
)

// TestMenusAPI: menus.json writes the menus themes show as linklists,
// in order, each store only its own.
func TestMenusAPI(t *testing.T) {
	h, f := newContentFixture(t)
	a, b := h.Store("menus-a"), h.Store("menus-b")
	tok, reader := h.Token(a, "write_content"), h.Token(a, "read_content")

	r := h.Do(a, reader, "GET", "/menus.json", "")
	if r.Status != 200 || !strings.Contains(r.Body, `"handle":"main-menu"`) || !strings.Contains(r.Body, `{"title":"Catalog","url":"/collections/all","position":2}`) {
		t.Fatalf("GET menus.json = %d %s, want the store's main menu with its links", r.Status, r.Body)
	}
	mainID := int64(r.JSON(t)["menus"].([]any)[0].(map[string]any)["id"].(float64))
	if home := f.shopper(a).get("/"); !strings.Contains(home.body, "Catalog") || home.header.Get("X-Cache") != "miss" {
		t.Fatalf("home page before the change lacks the menu, or was not cached (X-Cache %q)", home.header.Get("X-Cache"))
	}
	// Replacing the main menu's links reaches the cached home page.
	r = h.Do(a, tok, "PUT", fmt.Sprintf("/menus/%d.json", mainID),
		`{"menu":{"links":[{"title":"Teapots","url":"/collections/teapots","position":2},{"title":"Start","url":"/","position":1},{"title":"Blog","url":"https://blog.example/"}]}}`)
	if r.Status != 200 || !strings.Contains(r.Body, `"links":[{"title":"Start","url":"/","position":1},{"title":"Teapots","url":"/collections/teapots","position":2},{"title":"Blog","url":"https://blog.example/","position":3}]`) {
		t.Fatalf("PUT main menu links = %d %s, want them in position order", r.Status, r.Body)
	}
	eventually(t, "home page after the menu change", func() bool {
		body := f.shopper(a).get("/").body
		return strings.Contains(body, `href="/collections/teapots"`) && !strings.Contains(body, ">Catalog<")
	})
	if home := f.shopper(b).get("/"); strings.Contains(home.body, "Teapots") {
		t.Errorf("store B's home page shows store A's menu")
	}

	r = h.Do(a, tok, "POST", "/menus.json", `{"menu":{"title":"Legal & help","links":[{"title":"Shipping","url":"/pages/shipping"}]}}`)
	if r.Status != 201 || !strings.Contains(r.Body, `"handle":"legal-help"`) || !strings.Contains(r.Body, `"position":1`) {
		t.Fatalf("POST menus.json = %d %s", r.Status, r.Body)
	}
	id := int64(r.JSON(t)["menu"].(map[string]any)["id"].(float64))
	for _, tc := range []struct {
		method, path, body, token string
		st                        *tenant.Tenant
		want                      int
		says                      string
	}{
		{"GET", fmt.Sprintf("/menus/%d.json", id), "", reader, a, 200, `"title":"Shipping"`},
		{"GET", "/menus.json?handle=legal-help", "", reader, a, 200, `"handle":"legal-help"`},
		{"GET", "/menus/count.json", "", reader, a, 200, `{"count":3}`},
		{"POST", "/menus.json", `{"menu":{"title":"x"}}`, reader, a, 403, ""},
		{"POST", "/menus.json", `{"menu":{"title":"Legal & help"}}`, tok, a, 422, "has already been taken"},
		{"POST", "/menus.json", `{"menu":{"title":""}}`, tok, a, 422, "can't be blank"},
		{"POST", "/menus.json", `{"menu":{"title":"x","handle":"Bad Handle"}}`, tok, a, 422, "lowercase"},
		{"POST", "/menus.json", `{"menu":{"title":"x","links":[{"title":"","url":"/"}]}}`, tok, a, 422, "link 1: title can't be blank"},
		{"POST", "/menus.json", `{"menu":{"title":"x","links":[{"title":"Hi","url":"javascript:alert(1)"}]}}`, tok, a, 422, "link 1: url must be a path"},
		{"POST", "/menus.json", `{"menu":{"title":"x","links":[{"title":"a","url":"/a","position":1},{"title":"b","url":"/b","position":1}]}}`, tok, a, 422, "position 1 is given twice"},
		{"POST", "/menus.json", `{"menu":{"title":"x","links":[{"title":"a","url":"/a","position":0}]}}`, tok, a, 422, "position must be 1 or more"},
		{"PUT", fmt.Sprintf("/menus/%d.json", id), `{"menu":{"handle":"main-menu"}}`, tok, a, 422, "has already been taken"},
		{"PUT", fmt.Sprintf("/menus/%d.json", id), `{"menu":{"title":"Help"}}`, tok, a, 200, `"title":"Help"`},
		{"GET", fmt.Sprintf("/menus/%d.json", id), "", reader, a, 200, `"title":"Shipping"`}, // links kept
		{"GET", fmt.Sprintf("/menus/%d.json", id), "", h.Token(b, "read_content"), b, 404, ""},
		{"PUT", fmt.Sprintf("/menus/%d.json", id), `{"menu":{"title":"stolen"}}`, h.Token(b, "write_content"), b, 404, ""},
		{"DELETE", fmt.Sprintf("/menus/%d.json", id), "", h.Token(b, "write_content"), b, 404, ""},
		{"GET", "/menus.json?handle=legal-help", "", h.Token(b, "read_content"), b, 200, `{"menus":[]}`},
		{"DELETE", fmt.Sprintf("/menus/%d.json", id), "", tok, a, 200, ""},
		{"GET", fmt.Sprintf("/menus/%d.json", id), "", reader, a, 404, ""},
	} {
		r := h.Do(tc.st, tc.token, tc.method, tc.path, tc.body)
		if r.Status != tc.want || !strings.Contains(r.Body, tc.says) {
			t.Errorf("%s %s %.100s = %d %s, want %d saying %q", tc.method, tc.path, tc.body, r.Status, r.Body, tc.want, tc.says)
		}
		if tc.want >= 400 && strings.Contains(r.Body, "/pages/shipping") {
			t.Errorf("%s %s refused but showed the menu: %s", tc.method, tc.path, r.Body)
		}
	}
}
