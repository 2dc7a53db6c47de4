package tenant

import (
	"context"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/testenv"
)

// TestLogInAndRefresh: the right password logs in and a wrong one or an
// unknown email does not, alike; a refresh token is spent once and makes
// its successor; a second tab renewing at the same moment is honoured, but
// replaying a spent token later ends every session of the account;
// logging out ends one.
func TestLogInAndRefresh(t *testing.T) {
	db := newTestDB(t, testenv.Database(t), 4)
	ctx := context.Background()
	acct, err := db.CreateAccount(ctx, "Mira@Example.com", "correct-Horse-battery-9", "Mira")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.LogIn(ctx, "mira@example.com", "correct-Horse-battery-9"); err != nil || got.ID != acct.ID {
		t.Fatalf("LogIn = %+v, %v; want Mira's account", got, err)
	}
	for _, tc := range [][2]string{{"mira@example.com", "wrong-Horse-battery-9"}, {"nobody@example.com", "correct-Horse-battery-9"}} {
		if _, err := db.LogIn(ctx, tc[0], tc[1]); !errs.Is(err, errs.Unauthenticated) || errs.MessageOf(err) != errs.MessageOf(ErrBadLogin) {
			t.Errorf("LogIn(%s, %s) = %v, want the one bad-login error", tc[0], tc[1], err)
		}
	}

	first, _, err := db.IssueRefresh(ctx, acct.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	who, second, _, err := db.UseRefresh(ctx, first, time.Hour)
	if err != nil || who != acct.ID || second == "" || second == first {
		t.Fatalf("UseRefresh = %d, %q, %v; want Mira and a new token", who, second, err)
	}
	// Presented again at once (a second tab renewing at the same moment): a
	// session of its own.
	if who, sibling, _, err := db.UseRefresh(ctx, first, time.Hour); err != nil || who != acct.ID || sibling == "" || sibling == second {
		t.Fatalf("UseRefresh(just spent) = %d, %q, %v; want Mira and a token of its own", who, sibling, err)
	}
	// A copy of the first token, replayed later: refused, and the live
	// session ends too.
	if err := db.control.Exec(`UPDATE platform.refresh_tokens SET used_at = used_at - interval '1 minute' WHERE used_at IS NOT NULL`).Error; err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := db.UseRefresh(ctx, first, time.Hour); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("UseRefresh(spent) = %v, want Unauthenticated", err)
	}
	if _, _, _, err := db.UseRefresh(ctx, second, time.Hour); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("UseRefresh(successor after a replay) = %v, want Unauthenticated", err)
	}

	third, _, _ := db.IssueRefresh(ctx, acct.ID, time.Hour)
	if err := db.RevokeRefresh(ctx, third); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := db.UseRefresh(ctx, third, time.Hour); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("UseRefresh(logged out) = %v, want Unauthenticated", err)
	}
	expired, _, _ := db.IssueRefresh(ctx, acct.ID, -time.Minute)
	if _, _, _, err := db.UseRefresh(ctx, expired, time.Hour); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("UseRefresh(expired) = %v, want Unauthenticated", err)
	}
}

// TestOperators: nobody is an operator until made one; the list and the
// check agree; taking it back works.
func TestOperators(t *testing.T) {
	db := newTestDB(t, testenv.Database(t), 4)
	ctx := context.Background()
	acct, err := db.CreateAccount(ctx, "ops@example.com", "correct-Horse-battery-9", "Ops")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := db.IsOperator(ctx, acct.ID); err != nil || ok {
		t.Fatalf("IsOperator(new account) = %v, %v; want false", ok, err)
	}
	if err := db.SetOperator(ctx, acct.ID, true); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.IsOperator(ctx, acct.ID); !ok {
		t.Error("IsOperator after SetOperator(true) = false")
	}
	if list, err := db.Operators(ctx); err != nil || len(list) != 1 || list[0].Email != "ops@example.com" {
		t.Errorf("Operators = %+v, %v", list, err)
	}
	if err := db.SetOperator(ctx, acct.ID, false); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.IsOperator(ctx, acct.ID); ok {
		t.Error("IsOperator after SetOperator(false) = true")
	}
	if err := db.SetOperator(ctx, 999999, true); !errs.Is(err, errs.NotFound) {
		t.Errorf("SetOperator(no account) = %v, want NotFound", err)
	}
}
