package webhooks_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/webhooks"
	"github.com/storefleet/storefleet/tenant"
)

// TestAddressMustBePublic: issue 6. A subscription's address must lead to a
// public server, checked when it is made or changed: an IP literal as it
// is, a name through the resolver; one that leads anywhere private, or
// nowhere, is refused with a 422 that says why. A public literal needs no
// lookup. A service allowed private addresses (development, tests) takes
// them all.
func TestAddressMustBePublic(t *testing.T) {
	res := testNames()
	h := appstest.New(t, func(db *tenant.DB) []apps.Resource {
		return []apps.Resource{webhooks.NewService(db, webhooks.WithResolver(res))}
	})
	st := h.Store("hooks-ssrf")
	app := h.Token(st, "read_products")
	post := func(address string) appstest.Response {
		return h.Do(st, app, "POST", "/webhooks.json", `{"webhook":{"topic":"products/create","address":"`+address+`"}}`)
	}
	for _, tc := range []struct{ address, says string }{
		{"https://127.0.0.1/hook", "resolves to a private address (127.0.0.1)"},
		{"https://[::1]/hook", "resolves to a private address (::1)"},
		{"http://[::1]:8080/hook", "resolves to a private address (::1)"},
		{"https://10.1.2.3/hook", "resolves to a private address (10.1.2.3)"},
		{"https://169.254.169.254/latest/meta-data", "resolves to a private address (169.254.169.254)"},
		{"https://0.0.0.0/hook", "resolves to a private address (0.0.0.0)"},
		{"https://[ff02::1]/hook", "resolves to a private address (ff02::1)"},
		{"https://[::ffff:10.0.0.1]/hook", "resolves to a private address (10.0.0.1)"},
		{"https://localhost/hook", "resolves to a private address (127.0.0.1)"},
		{"http://shop.localhost:3000/hook", "resolves to a private address (127.0.0.1)"},
		{"https://loop.example/hook", "resolves to a private address (127.0.0.1)"},
		{"https://intranet.example/hook", "resolves to a private address (10.0.0.5)"},
		{"https://nowhere.example/hook", "could not be resolved"},
	} {
		r := post(tc.address)
		if r.Status != 422 || !strings.Contains(r.Body, tc.says) || !strings.Contains(r.Body, `"address"`) {
			t.Errorf("POST webhooks.json at %s = %d %s, want 422 saying %q", tc.address, r.Status, r.Body, tc.says)
		}
	}

	asked := res.asked.Load()
	r := post("https://93.184.215.14/hook")
	if r.Status != 201 {
		t.Fatalf("POST webhooks.json at a public IP = %d %s, want 201", r.Status, r.Body)
	}
	if n := res.asked.Load() - asked; n != 0 {
		t.Errorf("subscribing at a public IP asked the resolver %d times, want 0", n)
	}
	if r := post("https://erp.example/hook"); r.Status != 201 {
		t.Errorf("POST webhooks.json at a public name = %d %s, want 201", r.Status, r.Body)
	}

	// A change of address is checked the same way.
	path := "/webhooks/" + jsonID(t, r) + ".json"
	if r := h.Do(st, app, "PUT", path, `{"webhook":{"address":"https://10.0.0.7/hook"}}`); r.Status != 422 || !strings.Contains(r.Body, "private address (10.0.0.7)") {
		t.Errorf("PUT a private address = %d %s, want 422", r.Status, r.Body)
	}
	if r := h.Do(st, app, "PUT", path, `{"webhook":{"address":"https://erp.example/v2"}}`); r.Status != 200 {
		t.Errorf("PUT a public address = %d %s, want 200", r.Status, r.Body)
	}

	// Allowed private addresses: no lookup, nothing refused.
	lax := appstest.New(t, func(db *tenant.DB) []apps.Resource {
		return []apps.Resource{webhooks.NewService(db, webhooks.AllowPrivate(true), webhooks.WithResolver(res))}
	})
	ls := lax.Store("hooks-ssrf-lax")
	ltok := lax.Token(ls, "read_products")
	for _, address := range []string{"https://127.0.0.1/hook", "http://[::1]:8080/hook", "https://10.1.2.3/hook", "https://169.254.169.254/x",
		"https://localhost/hook", "https://loop.example/hook", "https://nowhere.example/hook"} {
		r := lax.Do(ls, ltok, "POST", "/webhooks.json", `{"webhook":{"topic":"products/create","address":"`+address+`"}}`)
		if r.Status != 201 {
			t.Errorf("with AllowPrivate, POST webhooks.json at %s = %d %s, want 201", address, r.Status, r.Body)
		}
	}
}

// jsonID is the id of the webhook in r's body.
func jsonID(t *testing.T, r appstest.Response) string {
	t.Helper()
	w, ok := r.JSON(t)["webhook"].(map[string]any)
	if !ok {
		t.Fatalf("response %s has no webhook", r.Body)
	}
	return fmt.Sprintf("%d", int64(w["id"].(float64)))
}
