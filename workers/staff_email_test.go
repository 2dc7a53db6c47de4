package workers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/tenant"
)

// TestStaffInvitationEmail: an invitation sends, through a real SMTP
// server, one email to the invitee (not to a customer), in the store's
// name, with the accept link; the link accepts the invitation.
func TestStaffInvitationEmail(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	owner, st, err := db.SignUp(ctx, tenant.Signup{Email: "olga@example.com", Password: "correct-Horse-battery-9", StoreName: "Invite Tea", Slug: "invite-tea"})
	if err != nil {
		t.Fatal(err)
	}
	urls := tenant.URLs{Scheme: "http", Domain: "localhost"}
	if _, err := db.Invite(ctx, st, tenant.Actor{Account: owner.ID, Email: owner.Email, Role: tenant.RoleOwner}, "sam@example.com", tenant.RoleStaff, urls); err != nil {
		t.Fatalf("Invite = %v", err)
	}
	inbox, sender := startSMTP(t)
	runFleet(t, db, sender)
	waitFor(t, "the invitation email", func() bool { return len(inbox.messages(t)) > 0 })
	time.Sleep(300 * time.Millisecond) // a duplicate would show by now
	msgs := inbox.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("emails sent = %d, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Subject != "Invite Tea invited you to join as staff" || m.From.Name != "Invite Tea" || len(m.To) != 1 || m.To[0].Email != "sam@example.com" {
		t.Errorf("email = %+v, want the store's invitation to sam", m.Summary)
	}
	i := strings.Index(m.Text, "http://app.localhost/invitations/")
	if i < 0 || !strings.Contains(m.HTML, `href="http://app.localhost/invitations/`) {
		t.Fatalf("email holds no accept link:\n%s", m.Text)
	}
	token := strings.Fields(m.Text[i+len("http://app.localhost/invitations/"):])[0]
	acct, _, _, err := db.AcceptInvitationNew(ctx, token, "Sam", "correct-Horse-battery-9")
	if err != nil {
		t.Fatalf("AcceptInvitationNew(the emailed token) = %v", err)
	}
	if role, err := db.RoleIn(ctx, acct.ID, st); err != nil || role != tenant.RoleStaff {
		t.Errorf("RoleIn(sam) = %s, %v; want staff", role, err)
	}
}
