package tenant

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/internal/testenv"
)

var staffURLs = URLs{Scheme: "http", Domain: "localhost", Port: "8080"}

// staffInvitedEvents relays the outbox and returns the staff/invited
// events of store t.
func staffInvitedEvents(t *testing.T, d *DB, st *Tenant) []InvitationEmail {
	t.Helper()
	var out []InvitationEmail
	_, err := d.RelayEvents(context.Background(), 100, func(_ context.Context, ev Event) error {
		if ev.Topic == TopicStaffInvited && ev.Store == st.ID {
			var p InvitationEmail
			if err := json.Unmarshal(ev.Payload, &p); err != nil {
				t.Errorf("staff/invited payload %s: %v", ev.Payload, err)
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("RelayEvents = %v", err)
	}
	return out
}

func staffToken(t *testing.T, url string) string {
	t.Helper()
	tok, ok := strings.CutPrefix(url, "http://app.localhost:8080/invitations/")
	if !ok {
		t.Fatalf("invitation link %q is not on the dashboard", url)
	}
	return tok
}

func staffAllowed(t *testing.T, d *DB, acct AccountID, st *Tenant, obj, act string) bool {
	t.Helper()
	e, err := d.Access()
	if err != nil {
		t.Fatal(err)
	}
	ok, err := e.Allowed(rbac.Account(int64(acct)), rbac.Store(int64(st.ID)), obj, act)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestStaffInvitation: an invitation emits its email event with the link in
// the same transaction; accepting it makes the account and the membership;
// the link works once; an expired or withdrawn one is refused.
func TestStaffInvitation(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 4)
	ctx := context.Background()
	owner, st, err := d.SignUp(ctx, Signup{Email: "olga@example.com", Password: "correct-Horse-battery-9", StoreName: "Olga Tea", Slug: "olga-tea"})
	if err != nil {
		t.Fatal(err)
	}
	by := Actor{Account: owner.ID, Email: owner.Email, Role: RoleOwner}

	if _, err := d.Invite(ctx, st, by, "not an email", RoleViewer, staffURLs); !errs.Is(err, errs.Invalid) || len(errs.FieldsOf(err)["email"]) == 0 {
		t.Errorf("Invite(bad email) = %v, want Invalid on email", err)
	}
	if _, err := d.Invite(ctx, st, by, "vic@example.com", RoleOwner, staffURLs); !errs.Is(err, errs.Invalid) {
		t.Errorf("Invite(as owner) = %v, want Invalid", err)
	}
	if _, err := d.Invite(ctx, st, by, owner.Email, RoleViewer, staffURLs); !errs.Is(err, errs.Conflict) {
		t.Errorf("Invite(a member) = %v, want Conflict", err)
	}
	inv, err := d.Invite(ctx, st, by, "Vic@Example.com", RoleViewer, staffURLs)
	if err != nil {
		t.Fatalf("Invite = %v", err)
	}
	if _, err := d.Invite(ctx, st, by, "vic@example.com", RoleStaff, staffURLs); !errs.Is(err, errs.Conflict) {
		t.Errorf("Invite(pending again) = %v, want Conflict", err)
	}
	evs := staffInvitedEvents(t, d, st)
	if len(evs) != 1 || !strings.EqualFold(evs[0].Email, "vic@example.com") || evs[0].Role != "viewer" || evs[0].ID != inv.ID || evs[0].InvitedBy != owner.Email {
		t.Fatalf("staff/invited events = %+v, want one for vic as viewer", evs)
	}
	tok := staffToken(t, evs[0].URL)
	got, gotStore, err := d.InvitationByToken(ctx, tok)
	if err != nil || got.ID != inv.ID || gotStore.ID != st.ID {
		t.Fatalf("InvitationByToken = %+v, %v; want invitation %d", got, err, inv.ID)
	}
	for _, bad := range []string{st.ID.String() + "-" + strings.Repeat("ab", 16), "x", "999999-" + strings.Repeat("0", 32)} {
		if _, _, err := d.InvitationByToken(ctx, bad); !errs.Is(err, errs.NotFound) {
			t.Errorf("InvitationByToken(%q) = %v, want NotFound", bad, err)
		}
	}
	if _, _, _, err := d.AcceptInvitationNew(ctx, tok, "Vic", "short"); !errs.Is(err, errs.Invalid) {
		t.Errorf("AcceptInvitationNew(short password) = %v, want Invalid", err)
	}
	acct, _, _, err := d.AcceptInvitationNew(ctx, tok, "Vic", "correct-Horse-battery-9")
	if err != nil {
		t.Fatalf("AcceptInvitationNew = %v", err)
	}
	if role, err := d.RoleIn(ctx, acct.ID, st); err != nil || role != RoleViewer {
		t.Errorf("RoleIn(vic) = %s, %v; want viewer", role, err)
	}
	if ok, err := d.EmailVerified(ctx, acct.ID); err != nil || !ok {
		t.Errorf("EmailVerified(vic) = %v, %v; want true: the invitation's link reached the address", ok, err)
	}
	if !staffAllowed(t, d, acct.ID, st, "orders", "read") || staffAllowed(t, d, acct.ID, st, "orders", "write") {
		t.Errorf("vic's access is not a viewer's")
	}
	if _, _, _, err := d.AcceptInvitationNew(ctx, tok, "Vic", "correct-Horse-battery-9"); !errs.Is(err, errs.Conflict) {
		t.Errorf("AcceptInvitationNew a second time = %v, want Conflict", err)
	}
	if _, _, err := d.AcceptInvitation(ctx, tok, acct.ID); !errs.Is(err, errs.Conflict) || errs.MessageOf(err) != errs.MessageOf(ErrInvitationUsed) {
		t.Errorf("AcceptInvitation of a used invitation = %v, want ErrInvitationUsed", err)
	}

	// Expired.
	late, err := d.Invite(ctx, st, by, "late@example.com", RoleStaff, staffURLs)
	if err != nil {
		t.Fatal(err)
	}
	lateTok := staffToken(t, staffInvitedEvents(t, d, st)[0].URL)
	if err := d.Tx(ctx, st, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE staff_invitations SET expires_at = now() - interval '1 minute' WHERE id = ?`, late.ID).Error
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := d.AcceptInvitationNew(ctx, lateTok, "Late", "correct-Horse-battery-9"); errs.MessageOf(err) != errs.MessageOf(ErrInvitationExpired) {
		t.Errorf("AcceptInvitationNew(expired) = %v, want ErrInvitationExpired", err)
	}
	if _, err := d.AccountByEmail(ctx, "late@example.com"); !errs.Is(err, errs.NotFound) {
		t.Errorf("an expired invitation made an account: %v", err)
	}
	// Inviting again replaces the expired one; resend rotates the link.
	again, err := d.Invite(ctx, st, by, "late@example.com", RoleStaff, staffURLs)
	if err != nil {
		t.Fatalf("Invite after expiry = %v", err)
	}
	firstTok := staffToken(t, staffInvitedEvents(t, d, st)[0].URL)
	if _, err := d.ResendInvitation(ctx, st, by, again.ID, staffURLs); err != nil {
		t.Fatalf("ResendInvitation = %v", err)
	}
	secondTok := staffToken(t, staffInvitedEvents(t, d, st)[0].URL)
	if _, _, err := d.InvitationByToken(ctx, firstTok); !errs.Is(err, errs.NotFound) {
		t.Errorf("the link before a resend still works: %v", err)
	}
	// Withdrawn.
	if err := d.RevokeInvitation(ctx, st, by, again.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := d.AcceptInvitationNew(ctx, secondTok, "Late", "correct-Horse-battery-9"); errs.MessageOf(err) != errs.MessageOf(ErrInvitationRevoked) {
		t.Errorf("AcceptInvitationNew(withdrawn) = %v, want ErrInvitationRevoked", err)
	}

	// An existing account accepts while logged in; another account cannot.
	existing, err := d.CreateAccount(ctx, "eve@example.com", "correct-Horse-battery-9", "Eve")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Invite(ctx, st, by, "eve@example.com", RoleFulfillment, staffURLs); err != nil {
		t.Fatal(err)
	}
	eveTok := staffToken(t, staffInvitedEvents(t, d, st)[0].URL)
	if _, _, _, err := d.AcceptInvitationNew(ctx, eveTok, "Eve", "correct-Horse-battery-9"); !errs.Is(err, errs.Conflict) || !strings.Contains(errs.MessageOf(err), "log in") {
		t.Errorf("AcceptInvitationNew for an email with an account = %v, want Conflict saying to log in", err)
	}
	if _, _, err := d.AcceptInvitation(ctx, eveTok, acct.ID); !errs.Is(err, errs.Forbidden) {
		t.Errorf("AcceptInvitation as another account = %v, want Forbidden", err)
	}
	if _, _, err := d.AcceptInvitation(ctx, eveTok, existing.ID); err != nil {
		t.Fatalf("AcceptInvitation as eve = %v", err)
	}
	if role, _ := d.RoleIn(ctx, existing.ID, st); role != RoleFulfillment {
		t.Errorf("eve's role = %q, want fulfillment", role)
	}

	log, _, err := d.AuditLog(ctx, st, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"Invited Vic@Example.com as viewer", "Accepted the invitation as viewer", "Withdrew the invitation of late@example.com"} {
		if !strings.Contains(strings.Join(actions, "\n"), want) {
			t.Errorf("audit log %q lacks %q", actions, want)
		}
	}
}

// TestCustomRolesAndOwnership: a custom role's permissions are what the
// access policy enforces; a role in use is not deleted; ownership moves
// only to an admin, with the owner's password.
func TestCustomRolesAndOwnership(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 4)
	ctx := context.Background()
	owner, st, err := d.SignUp(ctx, Signup{Email: "otto@example.com", Password: "correct-Horse-battery-9", StoreName: "Otto", Slug: "otto"})
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := d.SignUp(ctx, Signup{Email: "uma@example.com", Password: "correct-Horse-battery-9", StoreName: "Uma", Slug: "uma"})
	if err != nil {
		t.Fatal(err)
	}
	by := Actor{Account: owner.ID, Email: owner.Email, Role: RoleOwner}
	if _, err := d.CreateCustomRole(ctx, st, by, "", []Permission{{"orders", "read"}}); !errs.Is(err, errs.Invalid) {
		t.Errorf("CreateCustomRole(no name) = %v, want Invalid", err)
	}
	if _, err := d.CreateCustomRole(ctx, st, by, "Boss", []Permission{{"staff", "write"}}); !errs.Is(err, errs.Invalid) {
		t.Errorf("CreateCustomRole(staff write) = %v, want Invalid", err)
	}
	packers, err := d.CreateCustomRole(ctx, st, by, "Packers", []Permission{{"orders", "read"}, {"fulfillments", "write"}})
	if err != nil {
		t.Fatalf("CreateCustomRole = %v", err)
	}
	if _, err := d.CreateCustomRole(ctx, st, by, "packers", []Permission{{"orders", "read"}}); !errs.Is(err, errs.Conflict) {
		t.Errorf("CreateCustomRole(same name) = %v, want Conflict", err)
	}
	pam, err := d.CreateAccount(ctx, "pam@example.com", "correct-Horse-battery-9", "Pam")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetRole(ctx, pam.ID, st, RoleStaff); err != nil {
		t.Fatal(err)
	}
	if err := d.ChangeRole(ctx, st, by, pam.ID, packers.Role()); err != nil {
		t.Fatalf("ChangeRole(packers) = %v", err)
	}
	for _, tc := range []struct {
		store    *Tenant
		obj, act string
		want     bool
	}{
		{st, "orders", "read", true},
		{st, "fulfillments", "read", true},
		{st, "fulfillments", "write", true},
		{st, "orders", "write", false},
		{st, "products", "read", false},
		{st, "staff", "read", false},
		{other, "orders", "read", false},
	} {
		if got := staffAllowed(t, d, pam.ID, tc.store, tc.obj, tc.act); got != tc.want {
			t.Errorf("Allowed(pam, %s, %s, %s) = %v, want %v", tc.store.Slug, tc.obj, tc.act, got, tc.want)
		}
	}
	// Another store's custom role cannot be given here.
	theirs, err := d.CreateCustomRole(ctx, other, Actor{Role: RoleOwner}, "Theirs", []Permission{{"products", "write"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ChangeRole(ctx, st, by, pam.ID, theirs.Role()); !errs.Is(err, errs.Invalid) {
		t.Errorf("ChangeRole(another store's role) = %v, want Invalid", err)
	}
	if err := d.DeleteCustomRole(ctx, st, by, packers.ID); !errs.Is(err, errs.Conflict) {
		t.Errorf("DeleteCustomRole(in use) = %v, want Conflict", err)
	}
	if err := d.DeleteCustomRole(ctx, st, by, theirs.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("DeleteCustomRole(another store's) = %v, want NotFound", err)
	}
	if err := d.ChangeRole(ctx, st, by, owner.ID, RoleViewer); !errs.Is(err, errs.Invalid) {
		t.Errorf("ChangeRole(owner) = %v, want Invalid", err)
	}
	if err := d.RemoveMember(ctx, st, by, owner.ID); !errs.Is(err, errs.Invalid) {
		t.Errorf("RemoveMember(owner) = %v, want Invalid", err)
	}

	// Ownership.
	if err := d.TransferOwnership(ctx, st, by, pam.ID, "correct-Horse-battery-9"); !errs.Is(err, errs.Invalid) {
		t.Errorf("TransferOwnership(to a non-admin) = %v, want Invalid", err)
	}
	if err := d.ChangeRole(ctx, st, by, pam.ID, RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteCustomRole(ctx, st, by, packers.ID); err != nil {
		t.Errorf("DeleteCustomRole(unused) = %v", err)
	}
	if err := d.TransferOwnership(ctx, st, by, pam.ID, "wrong-password-123"); !errs.Is(err, errs.Invalid) || len(errs.FieldsOf(err)["password"]) == 0 {
		t.Errorf("TransferOwnership(wrong password) = %v, want Invalid on password", err)
	}
	pamActor := Actor{Account: pam.ID, Email: pam.Email, Role: RoleAdmin}
	if err := d.TransferOwnership(ctx, st, pamActor, owner.ID, "correct-Horse-battery-9"); !errs.Is(err, errs.Forbidden) {
		t.Errorf("TransferOwnership by an admin = %v, want Forbidden", err)
	}
	if err := d.TransferOwnership(ctx, st, by, pam.ID, "correct-Horse-battery-9"); err != nil {
		t.Fatalf("TransferOwnership = %v", err)
	}
	if r, _ := d.RoleIn(ctx, pam.ID, st); r != RoleOwner {
		t.Errorf("pam's role = %s, want owner", r)
	}
	if r, _ := d.RoleIn(ctx, owner.ID, st); r != RoleAdmin {
		t.Errorf("the old owner's role = %s, want admin", r)
	}
	if !staffAllowed(t, d, owner.ID, st, "staff", "write") {
		t.Errorf("the old owner, now admin, cannot manage staff")
	}
	if err := d.RemoveMember(ctx, st, pamActor, owner.ID); err != nil {
		t.Fatalf("RemoveMember(admin) = %v", err)
	}
	if staffAllowed(t, d, owner.ID, st, "orders", "read") {
		t.Errorf("a removed member still reads orders")
	}
	if sm, err := d.StaffMemberOf(ctx, st, pam.ID); err != nil || sm.Account.Email != "pam@example.com" || sm.Role != RoleOwner {
		t.Errorf("StaffMemberOf(pam) = %+v, %v; want pam, owner", sm, err)
	}
	if _, err := d.StaffMemberOf(ctx, other, pam.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("StaffMemberOf(another store) = %v, want NotFound", err)
	}
}
