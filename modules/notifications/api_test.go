package notifications_test

import (
	"strings"
	"testing"

	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/notifications"
	"github.com/storefleet/storefleet/tenant"
)

func newHarness(t testing.TB) *appstest.Harness {
	return appstest.New(t, func(db *tenant.DB) []apps.Resource {
		return []apps.Resource{notifications.NewService(db, tenant.URLs{Scheme: "http", Domain: "localhost"})}
	})
}

func notification(t *testing.T, r appstest.Response) map[string]any {
	t.Helper()
	n, ok := r.JSON(t)["notification"].(map[string]any)
	if !ok {
		t.Fatalf("response %d %s has no notification", r.Status, r.Body)
	}
	return n
}

// TestNotificationsAPI: an owner lists the kinds, customises one, previews
// and resets it; the change is the store's alone.
func TestNotificationsAPI(t *testing.T) {
	h := newHarness(t)
	a, b := h.Store("notify-a"), h.Store("notify-b")
	owner := h.Staff(a, tenant.RoleOwner)

	r := h.Do(a, owner, "GET", "/notifications.json", "")
	list, _ := r.JSON(t)["notifications"].([]any)
	if r.Status != 200 || len(list) != len(notifications.Kinds()) {
		t.Fatalf("GET notifications.json = %d %s, want every kind", r.Status, r.Body)
	}
	for _, n := range list {
		n := n.(map[string]any)
		if n["customized"] != false || n["subject"] == "" || n["body_html"] == "" || n["body_text"] == "" {
			t.Errorf("a fresh store's %v = %v, want the default, not customised", n["kind"], n)
		}
	}

	body := `{"notification": {"subject": "{{ shop.name }}: order {{ order_name }} is in", "body_text": "Thanks {{ customer.first_name }}! {{ total_price | money }}"}}`
	r = h.Do(a, owner, "PUT", "/notifications/order_confirmation.json", body)
	if n := notification(t, r); r.Status != 200 || n["customized"] != true || n["updated_at"] == nil ||
		!strings.Contains(n["body_html"].(string), "<html") {
		t.Fatalf("PUT order_confirmation.json = %d %s, want it customised, the HTML body kept", r.Status, r.Body)
	}
	if n := notification(t, h.Do(a, owner, "GET", "/notifications/order_confirmation.json", "")); !strings.HasPrefix(n["subject"].(string), "{{ shop.name }}") {
		t.Errorf("GET after PUT = %v, want the new subject", n)
	}

	// The preview renders the saved template with sample data; a body
	// previews an edit without saving it, escaping what it prints in HTML.
	r = h.Do(a, owner, "POST", "/notifications/order_confirmation/preview.json", "")
	p, _ := r.JSON(t)["preview"].(map[string]any)
	if r.Status != 200 || p["subject"] != "Store notify-a: order #1001 is in" || p["body_text"] != "Thanks Ann! $39.00" {
		t.Fatalf("POST preview.json = %d %s", r.Status, r.Body)
	}
	r = h.Do(a, owner, "POST", "/notifications/order_confirmation/preview.json",
		`{"notification": {"body_html": "<p>{{ customer.first_name | append: '<b>' }}</p>"}}`)
	if p, _ := r.JSON(t)["preview"].(map[string]any); r.Status != 200 || p["body_html"] != "<p>Ann&lt;b&gt;</p>" {
		t.Errorf("POST preview.json with a body = %d %s, want the edit rendered, escaped", r.Status, r.Body)
	}
	if n := notification(t, h.Do(a, owner, "GET", "/notifications/order_confirmation.json", "")); strings.Contains(n["body_html"].(string), "append") {
		t.Errorf("a preview saved its body: %v", n["body_html"])
	}

	// Store B is untouched, and A's people cannot reach it.
	ownerB := h.Staff(b, tenant.RoleOwner)
	if n := notification(t, h.Do(b, ownerB, "GET", "/notifications/order_confirmation.json", "")); n["customized"] != false || strings.Contains(n["subject"].(string), "is in") {
		t.Errorf("store B's confirmation = %v, want B's default", n)
	}
	for name, who := range map[string]string{"A's owner": owner, "A's token": h.Token(a, "write_orders")} {
		if r := h.Do(b, who, "PUT", "/notifications/order_confirmation.json", body); r.Status != 401 && r.Status != 403 && r.Status != 404 {
			t.Errorf("PUT on store B as %s = %d %s, want refused", name, r.Status, r.Body)
		}
		if r := h.Do(b, who, "GET", "/notifications.json", ""); r.Status != 401 && r.Status != 403 && r.Status != 404 || strings.Contains(r.Body, "subject") {
			t.Errorf("GET on store B as %s = %d %s, want refused without data", name, r.Status, r.Body)
		}
	}
	if n := notification(t, h.Do(b, ownerB, "GET", "/notifications/order_confirmation.json", "")); n["customized"] != false {
		t.Errorf("store B's confirmation changed: %v", n)
	}

	// Back to the default.
	r = h.Do(a, owner, "DELETE", "/notifications/order_confirmation.json", "")
	if n := notification(t, r); r.Status != 200 || n["customized"] != false || n["subject"] != notifications.Default(notifications.OrderConfirmation).Subject {
		t.Errorf("DELETE = %d %s, want the default back", r.Status, r.Body)
	}
	if n := notification(t, h.Do(a, owner, "GET", "/notifications/order_confirmation.json", "")); n["customized"] != false {
		t.Errorf("GET after DELETE = %v, want the default", n)
	}
	if r := h.Do(a, owner, "GET", "/notifications/welcome.json", ""); r.Status != 404 {
		t.Errorf("GET an unknown kind = %d, want 404", r.Status)
	}
	if r := h.Do(a, owner, "POST", "/notifications/welcome/preview.json", ""); r.Status != 404 {
		t.Errorf("preview of an unknown kind = %d, want 404", r.Status)
	}
}

// TestNotificationsAccess: owners and admins edit; staff and viewers read;
// apps, whatever their scopes, do neither.
func TestNotificationsAccess(t *testing.T) {
	h := newHarness(t)
	st := h.Store("notify-access")
	body := `{"notification": {"subject": "Order {{ order_name }}"}}`
	for _, tc := range []struct {
		name        string
		who         string
		read, write int
	}{
		{"owner", h.Staff(st, tenant.RoleOwner), 200, 200},
		{"admin", h.Staff(st, tenant.RoleAdmin), 200, 200},
		{"staff", h.Staff(st, tenant.RoleStaff), 200, 403},
		{"viewer", h.Staff(st, tenant.RoleViewer), 200, 403},
		{"app", h.Token(st, "write_orders", "write_customers", "write_products"), 403, 403},
	} {
		if r := h.Do(st, tc.who, "GET", "/notifications.json", ""); r.Status != tc.read {
			t.Errorf("GET notifications.json as %s = %d, want %d", tc.name, r.Status, tc.read)
		}
		if r := h.Do(st, tc.who, "PUT", "/notifications/refund.json", body); r.Status != tc.write {
			t.Errorf("PUT refund.json as %s = %d %s, want %d", tc.name, r.Status, r.Body, tc.write)
		}
		if r := h.Do(st, tc.who, "DELETE", "/notifications/refund.json", ""); r.Status != tc.write {
			t.Errorf("DELETE refund.json as %s = %d, want %d", tc.name, r.Status, tc.write)
		}
		if r := h.Do(st, tc.who, "POST", "/notifications/refund/preview.json", ""); r.Status != tc.write {
			t.Errorf("POST refund/preview.json as %s = %d, want %d", tc.name, r.Status, tc.write)
		}
	}
}

// TestNotificationsRefuseBrokenTemplates: Liquid that does not parse, fails
// on the sample data or crosses a limit is refused with the field and line
// a person can fix, and nothing is saved.
func TestNotificationsRefuseBrokenTemplates(t *testing.T) {
	h := newHarness(t)
	st := h.Store("notify-broken")
	owner := h.Staff(st, tenant.RoleOwner)
	for _, tc := range []struct {
		body, field, want string
	}{
		{`{"body_html": "<p>\n{% if order_name %}\nno end"}`, "body_html", "line 2"},
		{`{"body_text": "a\n{{ total_price | divided_by: 0 }}"}`, "body_text", "line 2"},
		{`{"subject": "{% for i in (1..1000000) %}x{% endfor %}"}`, "subject", "loop"},
		{`{"subject": "{{ nothing }}"}`, "subject", "blank"},
		{`{"subject": "   "}`, "subject", "blank"},
		{`{"body_html": "{% render 'header' %}"}`, "body_html", "not found"},
		{`{"body_text": "` + strings.Repeat("x", notifications.MaxBodyBytes+1) + `"}`, "body_text", "too long"},
		{`{"subject": 5}`, "subject", "wrong type"},
	} {
		r := h.Do(st, owner, "PUT", "/notifications/shipping_confirmation.json", `{"notification": `+tc.body+`}`)
		if r.Status != 422 || !strings.Contains(r.Body, tc.field) || !strings.Contains(r.Body, tc.want) {
			body := tc.body
			if len(body) > 80 {
				body = body[:80] + "…"
			}
			t.Errorf("PUT %s = %d %.300s, want 422 naming %s and %q", body, r.Status, r.Body, tc.field, tc.want)
		}
	}
	for _, bad := range []string{`not json`, `{"subject": "x"}`, `{"notification": "x"}`} {
		if r := h.Do(st, owner, "PUT", "/notifications/shipping_confirmation.json", bad); r.Status != 400 && r.Status != 422 {
			t.Errorf("PUT %s = %d %s, want 400 or 422", bad, r.Status, r.Body)
		}
	}
	if n := notification(t, h.Do(st, owner, "GET", "/notifications/shipping_confirmation.json", "")); n["customized"] != false {
		t.Errorf("a refused PUT saved a template: %v", n)
	}
	r := h.Do(st, owner, "POST", "/notifications/shipping_confirmation/preview.json", `{"notification": {"body_text": "{% if %}"}}`)
	if r.Status != 422 || !strings.Contains(r.Body, "body_text") {
		t.Errorf("preview of broken Liquid = %d %s, want 422", r.Status, r.Body)
	}
}

// TestDefaultsRenderTheirSamples: every shipped template renders its kind's
// sample data, with what the customer needs.
func TestDefaultsRenderTheirSamples(t *testing.T) {
	sh := notifications.Shop{Name: "Tea & Co", Email: "hello@tea.example", URL: "http://tea.localhost", Currency: "EUR",
		LogoURL: "https://cdn.example/logo.png?w=200&h=60"}
	want := map[notifications.Kind][]string{
		notifications.OrderConfirmation:    {"#1001", "2 × Sencha - 100 g", "39,00 € EUR", "http://tea.localhost/orders/sample"},
		notifications.ShippingConfirmation: {"UPS", "1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784"},
		notifications.RefundNotification:   {"9,00 € EUR", "1 × Tea cup", "Damaged in transit"},
		notifications.OrderCancelled:       {"#1001", "was cancelled"},
		notifications.PasswordReset:        {"http://tea.localhost/account/reset/1/"},
	}
	for _, kind := range notifications.Kinds() {
		e, err := notifications.Default(kind).Render(t.Context(), notifications.Sample(kind, sh))
		if err != nil {
			t.Errorf("Default(%s).Render(sample) = %v", kind, err)
			continue
		}
		if e.Subject == "" || strings.Contains(e.Subject, "\n") {
			t.Errorf("%s subject = %q, want one line", kind, e.Subject)
		}
		for _, w := range append(want[kind], "Hello Ann", "Tea & Co") {
			if !strings.Contains(e.Text, w) {
				t.Errorf("%s text lacks %q:\n%s", kind, w, e.Text)
			}
		}
		if !strings.Contains(e.HTML, "Tea &amp; Co") || strings.Contains(e.HTML, "Tea & Co") ||
			!strings.Contains(e.HTML, `<img src="https://cdn.example/logo.png?w=200&amp;h=60"`) {
			t.Errorf("%s HTML does not show the escaped name and logo:\n%s", kind, e.HTML)
		}
		// The account emails are about the account, not an order.
		aboutAccount := kind == notifications.PasswordReset || kind == notifications.AccountVerification ||
			kind == notifications.AccountInvite || kind == notifications.StaffInvitation
		if !aboutAccount && !strings.Contains(e.HTML, `href="http://tea.localhost/orders/sample"`) {
			t.Errorf("%s HTML has no link to the order:\n%s", kind, e.HTML)
		}
	}
}
