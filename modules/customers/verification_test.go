package customers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/tenant"
)

// accountEvents takes the pending outbox events of topic (of every store)
// and decodes them.
func accountEvents(t *testing.T, h *appstest.Harness, topic string) []customers.AccountEmail {
	t.Helper()
	var out []customers.AccountEmail
	_, err := h.DB.RelayEvents(context.Background(), 1000, func(_ context.Context, ev tenant.Event) error {
		if ev.Topic == topic {
			var e customers.AccountEmail
			if err := json.Unmarshal(ev.Payload, &e); err != nil {
				t.Errorf("payload of %s: %v", topic, err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("RelayEvents = %v", err)
	}
	return out
}

// linkOf splits "/account/<what>/<id>/<token>".
func linkOf(t *testing.T, path, what string) (int64, string) {
	t.Helper()
	parts := strings.Split(path, "/")
	if len(parts) != 5 || parts[2] != what {
		t.Fatalf("link %q, want /account/%s/<id>/<token>", path, what)
	}
	id, _ := strconv.ParseInt(parts[3], 10, 64)
	return id, parts[4]
}

// TestRegisterSendsVerification: every storefront sign-up emits the
// verification email in its transaction; its link verifies the email once.
func TestRegisterSendsVerification(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	st := h.Store("verify-register")
	svc := customers.NewService(h.DB)
	c, err := svc.Register(ctx, st, "Vic@Example.com", "tea-for-two-2026", "Vic", "Ng")
	if err != nil {
		t.Fatal(err)
	}
	evs := accountEvents(t, h, customers.TopicVerification)
	if len(evs) != 1 || evs[0].CustomerID != c.ID || evs[0].Email != "Vic@Example.com" || evs[0].FirstName != "Vic" {
		t.Fatalf("verification events = %+v, want one for Vic", evs)
	}
	id, token := linkOf(t, evs[0].Path, "verify")
	if ok, _ := svc.EmailVerified(ctx, st, id); ok {
		t.Errorf("a new account's email is verified before the link")
	}
	if _, err := svc.VerifyEmail(ctx, st, id, strings.Repeat("0", 64)); !errs.Is(err, errs.Invalid) {
		t.Errorf("VerifyEmail(made-up token) = %v, want Invalid", err)
	}
	if _, err := svc.VerifyEmail(ctx, st, id, token); err != nil {
		t.Fatalf("VerifyEmail = %v", err)
	}
	if ok, _ := svc.EmailVerified(ctx, st, id); !ok {
		t.Errorf("EmailVerified after the link = false")
	}
	if _, err := svc.VerifyEmail(ctx, st, id, token); !errs.Is(err, errs.Invalid) {
		t.Errorf("VerifyEmail twice = %v, want Invalid", err)
	}
	// A refused sign-up emits nothing.
	if _, err := svc.Register(ctx, st, "vic@example.com", "tea-for-two-2026", "", ""); !errs.Is(err, errs.Invalid) {
		t.Fatalf("Register(taken) = %v", err)
	}
	if evs := accountEvents(t, h, customers.TopicVerification); len(evs) != 0 {
		t.Errorf("a refused sign-up emitted %+v", evs)
	}
}

// TestSendInvite: send_invite emits the invitation with the merchant's
// subject and message; its link activates the account once (password,
// enabled, email verified); bad requests get 422, another store's token
// 404, a read-only token 403.
func TestSendInvite(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	st, other := h.Store("invite-a"), h.Store("invite-b")
	tok, otherTok := h.Token(st, "write_customers"), h.Token(other, "write_customers")
	c := create(t, h, st, tok, `{"customer":{"email":"ida@example.com","first_name":"Ida"}}`)
	path := fmt.Sprintf("/customers/%d/send_invite.json", id(c))

	if r := h.Do(other, otherTok, "POST", path, ""); r.Status != 404 {
		t.Errorf("another store's send_invite = %d %s, want 404", r.Status, r.Body)
	}
	if r := h.Do(st, h.Token(st, "read_customers"), "POST", path, ""); r.Status != 403 {
		t.Errorf("send_invite with read_customers = %d, want 403", r.Status)
	}
	for _, bad := range []struct{ body, field string }{
		{`{"customer_invite":{"to":"someone@else.example"}}`, "to"},
		{`{"customer_invite":{"subject":"` + strings.Repeat("x", 300) + `"}}`, "subject"},
		{`{"customer_invite":{"custom_message":7}}`, "custom_message"},
	} {
		if r := h.Do(st, tok, "POST", path, bad.body); r.Status != 422 || !strings.Contains(r.Body, bad.field) {
			t.Errorf("send_invite %.60s = %d %s, want 422 naming %s", bad.body, r.Status, r.Body, bad.field)
		}
	}
	noEmail := create(t, h, st, tok, `{"customer":{"first_name":"Nemo"}}`)
	if r := h.Do(st, tok, "POST", fmt.Sprintf("/customers/%d/send_invite.json", id(noEmail)), ""); r.Status != 422 || !strings.Contains(r.Body, "email") {
		t.Errorf("send_invite to a customer without an email = %d %s, want 422", r.Status, r.Body)
	}
	if evs := accountEvents(t, h, customers.TopicInvite); len(evs) != 0 {
		t.Fatalf("refused invitations emitted %+v", evs)
	}

	r := h.Checked(st, tok, "POST", path, `{"customer_invite":{"to":"IDA@example.com","subject":"Welcome\nto Tea","custom_message":"Hi Ida!"}}`, 201)
	inv, _ := r.JSON(t)["customer_invite"].(map[string]any)
	if inv["to"] != "ida@example.com" || inv["subject"] != "Welcome to Tea" || inv["custom_message"] != "Hi Ida!" {
		t.Errorf("customer_invite = %v", inv)
	}
	if got := object(t, h.Do(st, tok, "GET", fmt.Sprintf("/customers/%d.json", id(c)), ""), "customer"); got["state"] != "invited" {
		t.Errorf("state after the invitation = %v, want invited", got["state"])
	}
	// Sent again (empty body): the first link stops working.
	h.Checked(st, tok, "POST", path, "", 201)
	evs := accountEvents(t, h, customers.TopicInvite)
	if len(evs) != 2 || evs[0].Subject != "Welcome to Tea" || evs[0].CustomMessage != "Hi Ida!" || evs[1].Subject != "" {
		t.Fatalf("invite events = %+v, want two, the first with its subject and message", evs)
	}
	svc := customers.NewService(h.DB)
	firstID, first := linkOf(t, evs[0].Path, "activate")
	cid, token := linkOf(t, evs[1].Path, "activate")
	if err := svc.CheckActivation(ctx, st, firstID, first); !errs.Is(err, errs.Invalid) {
		t.Errorf("the first invitation's link = %v, want Invalid once a new one was sent", err)
	}
	if err := svc.CheckActivation(ctx, other, cid, token); !errs.Is(err, errs.Invalid) {
		t.Errorf("the link on another store = %v, want Invalid", err)
	}
	if _, err := svc.Activate(ctx, st, cid, token, "short"); !errs.Is(err, errs.Invalid) {
		t.Errorf("Activate(short password) = %v, want Invalid", err)
	}
	got, err := svc.Activate(ctx, st, cid, token, "ida-password-1")
	if err != nil || got.State != customers.StateEnabled {
		t.Fatalf("Activate = %+v, %v; want an enabled account", got, err)
	}
	if ok, _ := svc.EmailVerified(ctx, st, cid); !ok {
		t.Errorf("activation did not verify the email")
	}
	if _, err := svc.Login(ctx, st, "ida@example.com", "ida-password-1"); err != nil {
		t.Errorf("Login after activation = %v", err)
	}
	if _, err := svc.Activate(ctx, st, cid, token, "other-password-2"); !errs.Is(err, errs.Invalid) {
		t.Errorf("Activate twice = %v, want Invalid", err)
	}
	if r := h.Do(st, tok, "POST", path, ""); r.Status != 422 || !strings.Contains(r.Body, "already") {
		t.Errorf("send_invite to an enabled account = %d %s, want 422", r.Status, r.Body)
	}
	if evs := accountEvents(t, h, customers.TopicVerification); len(evs) != 0 {
		t.Errorf("an invitation or activation emitted a verification email: %+v", evs)
	}
}
