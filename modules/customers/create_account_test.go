package customers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/tenant"
)

// TestCreateCustomerWithPassword: POST customers.json with a password makes
// an enabled account that logs in at once, and emits the verification
// email in the same transaction; its link makes verified_email true. The
// account is the store's own: another store's login does not know it.
func TestCreateCustomerWithPassword(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	a, b := h.Store("password-a"), h.Store("password-b")
	tok := h.Token(a, "write_customers")
	svc := customers.NewService(h.DB)
	c := create(t, h, a, tok, `{"customer":{"email":"Pat@Example.com","first_name":"Pat",
		"password":"kettle-on-2026","password_confirmation":"kettle-on-2026","send_email_welcome":false}}`)
	if c["state"] != "enabled" || c["verified_email"] != false {
		t.Errorf("customer created with a password: state %v, verified_email %v; want enabled, false", c["state"], c["verified_email"])
	}
	if _, ok := c["password"]; ok {
		t.Errorf("the answer carries the password: %v", c)
	}
	got, err := svc.Login(ctx, a, "pat@example.com", "kettle-on-2026")
	if err != nil || got.ID != id(c) {
		t.Errorf("Login(pat, password) = %d, %v; want customer %d", got.ID, err, id(c))
	}
	if _, err := svc.Login(ctx, a, "pat@example.com", "kettle-off-2026"); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("Login(pat, wrong password) = %v, want Unauthenticated", err)
	}
	if _, err := svc.Login(ctx, b, "pat@example.com", "kettle-on-2026"); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("store B's Login(pat) = %v, want Unauthenticated", err)
	}

	// A password with no confirmation is taken too (the confirmation is
	// checked when given).
	create(t, h, a, tok, `{"customer":{"email":"quin@example.com","password":"kettle-on-2026"}}`)
	all := allAccountEvents(t, h)
	if evs := all[customers.TopicInvite]; len(evs) != 0 {
		t.Errorf("invitation events = %+v, want none for an account with a password", evs)
	}
	evs := all[customers.TopicVerification]
	if len(evs) != 2 || evs[0].CustomerID != id(c) || evs[0].Email != "Pat@Example.com" || evs[0].FirstName != "Pat" {
		t.Fatalf("verification events = %+v, want Pat's and Quin's", evs)
	}
	vid, token := linkOf(t, evs[0].Path, "verify")
	if _, err := svc.VerifyEmail(ctx, a, vid, token); err != nil {
		t.Fatalf("VerifyEmail(Pat's link) = %v", err)
	}
	path := fmt.Sprintf("/customers/%d.json", id(c))
	if got := object(t, h.Do(a, tok, "GET", path, ""), "customer")["verified_email"]; got != true {
		t.Errorf("after the link, GET %s verified_email = %v, want true", path, got)
	}
	// Store B cannot see the account.
	if r := h.Do(b, h.Token(b, "read_customers"), "GET", "/customers/search.json?query=pat@example.com", ""); r.Status != 200 ||
		strings.Contains(r.Body, "Pat") {
		t.Errorf("store B's search for pat = %d %s, want no customer", r.Status, r.Body)
	}
}

// TestCreateCustomerSendEmailInvite: send_email_invite invites the new
// customer as send_invite.json does: state invited, the invitation event,
// whose link activates an account that logs in.
func TestCreateCustomerSendEmailInvite(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	st := h.Store("create-invite")
	tok := h.Token(st, "write_customers")
	svc := customers.NewService(h.DB)
	c := create(t, h, st, tok, `{"customer":{"email":"ivy@example.com","first_name":"Ivy","send_email_invite":true}}`)
	if c["state"] != "invited" {
		t.Errorf("customer created with send_email_invite: state %v, want invited", c["state"])
	}
	all := allAccountEvents(t, h)
	if evs := all[customers.TopicVerification]; len(evs) != 0 {
		t.Errorf("verification events = %+v, want none for an invitation", evs)
	}
	evs := all[customers.TopicInvite]
	if len(evs) != 1 || evs[0].CustomerID != id(c) || evs[0].Email != "ivy@example.com" || evs[0].FirstName != "Ivy" {
		t.Fatalf("invitation events = %+v, want one for Ivy", evs)
	}
	aid, token := linkOf(t, evs[0].Path, "activate")
	if _, err := svc.Login(ctx, st, "ivy@example.com", "chamomile-2026"); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("Login before activation = %v, want Unauthenticated", err)
	}
	if _, err := svc.Activate(ctx, st, aid, token, "chamomile-2026"); err != nil {
		t.Fatalf("Activate(Ivy's link) = %v", err)
	}
	if got, err := svc.Login(ctx, st, "ivy@example.com", "chamomile-2026"); err != nil || got.ID != id(c) || !got.VerifiedEmail {
		t.Errorf("Login after activation = %+v, %v; want Ivy, email verified", got, err)
	}
	// send_email_invite false is an ordinary customer.
	if c := create(t, h, st, tok, `{"customer":{"email":"jo@example.com","send_email_invite":false}}`); c["state"] != "disabled" {
		t.Errorf("send_email_invite false: state %v, want disabled", c["state"])
	}
}

// TestCreateAccountRefusesBadInput: a refused password or invitation is a
// 422 naming the field, and creates no customer and emits no email.
func TestCreateAccountRefusesBadInput(t *testing.T) {
	h := newHarness(t)
	st := h.Store("create-account-bad")
	tok := h.Token(st, "write_customers")
	c := create(t, h, st, tok, `{"customer":{"email":"taken@example.com"}}`)
	for _, tc := range []struct{ name, body, says string }{
		{"mismatch", `{"customer":{"email":"m@example.com","password":"kettle-on-2026","password_confirmation":"kettle-on-2027"}}`,
			`"password_confirmation":["doesn't match Password"]`},
		{"too short", `{"customer":{"email":"s@example.com","password":"short","password_confirmation":"short"}}`,
			`"password":["is too short (minimum is 8 characters)"]`},
		{"too long", `{"customer":{"email":"l@example.com","password":"` + strings.Repeat("x", 1025) + `"}}`, `"password":["is too long`},
		{"confirmation alone", `{"customer":{"email":"c@example.com","password_confirmation":"kettle-on-2026"}}`, `"password":["can't be blank`},
		{"no email", `{"customer":{"first_name":"Ned","password":"kettle-on-2026"}}`, `"email":["can't be blank for a customer with a password`},
		{"invite without email", `{"customer":{"first_name":"Ned","send_email_invite":true}}`, `"email":["can't be blank when send_email_invite`},
		{"both", `{"customer":{"email":"both@example.com","password":"kettle-on-2026","send_email_invite":true}}`, `"send_email_invite":["cannot be combined`},
		{"taken email", `{"customer":{"email":"TAKEN@example.com","password":"kettle-on-2026"}}`, `"email":["has already been taken"]`},
		{"password not text", `{"customer":{"email":"n@example.com","password":12345678}}`, "password"},
		{"invite not a boolean", `{"customer":{"email":"n@example.com","send_email_invite":"yes"}}`, "send_email_invite"},
	} {
		before := count(t, h, st, tok)
		if r := h.Do(st, tok, "POST", "/customers.json", tc.body); r.Status != 422 || !strings.Contains(r.Body, tc.says) {
			t.Errorf("POST with %s = %d %s, want 422 saying %s", tc.name, r.Status, r.Body, tc.says)
		}
		if after := count(t, h, st, tok); after != before {
			t.Errorf("POST with %s refused, but the customer count went from %d to %d", tc.name, before, after)
		}
	}
	// A password or an invitation is taken only on creation.
	path := fmt.Sprintf("/customers/%d.json", id(c))
	for _, body := range []string{`{"customer":{"password":"kettle-on-2026","password_confirmation":"kettle-on-2026"}}`,
		`{"customer":{"send_email_invite":true}}`} {
		if r := h.Do(st, tok, "PUT", path, body); r.Status != 422 || !strings.Contains(r.Body, "when the customer is created") {
			t.Errorf("PUT %s %s = %d %s, want 422", path, body, r.Status, r.Body)
		}
	}
	if all := allAccountEvents(t, h); len(all) != 0 {
		t.Errorf("refused requests emitted %+v, want no account email", all)
	}
}

// allAccountEvents takes the pending outbox events of every store once and
// decodes the account emails among them, by topic.
func allAccountEvents(t *testing.T, h *appstest.Harness) map[string][]customers.AccountEmail {
	t.Helper()
	out := map[string][]customers.AccountEmail{}
	_, err := h.DB.RelayEvents(context.Background(), 1000, func(_ context.Context, ev tenant.Event) error {
		if ev.Topic == customers.TopicVerification || ev.Topic == customers.TopicInvite {
			var e customers.AccountEmail
			if err := json.Unmarshal(ev.Payload, &e); err != nil {
				t.Errorf("payload of %s: %v", ev.Topic, err)
			}
			out[ev.Topic] = append(out[ev.Topic], e)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("RelayEvents = %v", err)
	}
	return out
}
