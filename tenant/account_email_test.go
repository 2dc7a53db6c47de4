package tenant

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/testenv"
)

// relayAll takes every pending account email out of the platform outbox.
func relayAll(t *testing.T, db *DB) []AccountEmail {
	t.Helper()
	var got []AccountEmail
	if _, err := db.RelayAccountEmails(context.Background(), 100, func(_ context.Context, e AccountEmail) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatalf("RelayAccountEmails = %v", err)
	}
	return got
}

// TestAccountVerification: a verification email waits in the platform
// outbox, is relayed once and delivered once; its link verifies the email
// once; a verified account is sent no more links.
func TestAccountVerification(t *testing.T) {
	db := newTestDB(t, testenv.Database(t), 4)
	ctx := context.Background()
	acct, err := db.CreateAccount(ctx, "Vera@Example.com", "correct-Horse-battery-9", "Vera")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.StartVerification(ctx, acct.ID, "http://app.localhost:8080"); err != nil {
		t.Fatalf("StartVerification = %v", err)
	}
	if ok, err := db.EmailVerified(ctx, acct.ID); err != nil || ok {
		t.Fatalf("EmailVerified before the link = %v, %v; want false", ok, err)
	}
	// A relay whose queue refuses leaves the email for the next pass.
	if n, err := db.RelayAccountEmails(ctx, 100, func(context.Context, AccountEmail) error { return errors.New("redis down") }); err != nil || n != 0 {
		t.Fatalf("RelayAccountEmails with a failing queue = %d, %v; want 0, nil", n, err)
	}
	got := relayAll(t, db)
	if len(got) != 1 || got[0].Kind != AccountEmailVerify || got[0].ToEmail != "Vera@Example.com" || got[0].ToName != "Vera" ||
		!strings.HasPrefix(got[0].URL, "http://app.localhost:8080/verify/") {
		t.Fatalf("relayed = %+v, want Vera's verification email", got)
	}
	if again := relayAll(t, db); len(again) != 0 {
		t.Errorf("a second relay = %+v, want nothing", again)
	}
	sends := 0
	for range 2 {
		if err := db.DeliverAccountEmail(ctx, got[0].ID, func(context.Context, AccountEmail) error { sends++; return nil }); err != nil {
			t.Fatalf("DeliverAccountEmail = %v", err)
		}
	}
	if sends != 1 {
		t.Errorf("sends over two deliveries = %d, want 1", sends)
	}
	var url string
	db.control.Raw(`SELECT url FROM platform.account_emails WHERE id = ?`, got[0].ID).Scan(&url)
	if url != "" {
		t.Errorf("the sent email keeps its link %q", url)
	}
	token := strings.TrimPrefix(got[0].URL, "http://app.localhost:8080/verify/")
	if id, err := db.VerifyEmail(ctx, token); err != nil || id != acct.ID {
		t.Fatalf("VerifyEmail = %d, %v; want Vera", id, err)
	}
	if ok, _ := db.EmailVerified(ctx, acct.ID); !ok {
		t.Errorf("EmailVerified after the link = false")
	}
	for _, tok := range []string{token, "made-up", ""} {
		if _, err := db.VerifyEmail(ctx, tok); !errors.Is(err, ErrAccountLink) {
			t.Errorf("VerifyEmail(%q) = %v, want ErrAccountLink", tok, err)
		}
	}
	if err := db.StartVerification(ctx, acct.ID, "http://app.localhost:8080"); err != nil {
		t.Fatal(err)
	}
	if again := relayAll(t, db); len(again) != 0 {
		t.Errorf("a verified account was sent %+v", again)
	}
}

// TestAccountPasswordReset: an unknown email gets nothing and no error; a
// reset link sets the password once, ends every session and spends older
// links.
func TestAccountPasswordReset(t *testing.T) {
	db := newTestDB(t, testenv.Database(t), 4)
	ctx := context.Background()
	acct, err := db.CreateAccount(ctx, "reset@example.com", "correct-Horse-battery-9", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.StartPasswordReset(ctx, "nobody@example.com", "http://app.localhost"); err != nil {
		t.Fatalf("StartPasswordReset(unknown) = %v, want nil", err)
	}
	if got := relayAll(t, db); len(got) != 0 {
		t.Fatalf("an unknown email queued %+v", got)
	}
	for range 2 {
		if err := db.StartPasswordReset(ctx, "RESET@example.com", "http://app.localhost"); err != nil {
			t.Fatal(err)
		}
	}
	got := relayAll(t, db)
	if len(got) != 2 || got[0].Kind != AccountEmailReset || !strings.HasPrefix(got[0].URL, "http://app.localhost/password/reset/") {
		t.Fatalf("relayed = %+v, want two reset emails", got)
	}
	older := strings.TrimPrefix(got[0].URL, "http://app.localhost/password/reset/")
	token := strings.TrimPrefix(got[1].URL, "http://app.localhost/password/reset/")
	session, _, err := db.IssueRefresh(ctx, acct.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CheckPasswordReset(ctx, token); err != nil {
		t.Errorf("CheckPasswordReset(live) = %v", err)
	}
	if _, err := db.ResetPassword(ctx, token, "short"); !errs.Is(err, errs.Invalid) || len(errs.FieldsOf(err)["password"]) == 0 {
		t.Errorf("ResetPassword(weak) = %v, want Invalid on password", err)
	}
	if id, err := db.ResetPassword(ctx, token, "new-Horse-battery-10"); err != nil || id != acct.ID {
		t.Fatalf("ResetPassword = %d, %v", id, err)
	}
	if _, _, _, err := db.UseRefresh(ctx, session, time.Hour); err == nil {
		t.Errorf("a session from before the reset still works")
	}
	if _, err := db.LogIn(ctx, "reset@example.com", "new-Horse-battery-10"); err != nil {
		t.Errorf("LogIn with the new password = %v", err)
	}
	if _, err := db.LogIn(ctx, "reset@example.com", "correct-Horse-battery-9"); err == nil {
		t.Errorf("the old password still works")
	}
	for _, tok := range []string{token, older} {
		if _, err := db.ResetPassword(ctx, tok, "third-Horse-battery-11"); !errors.Is(err, ErrAccountLink) {
			t.Errorf("ResetPassword with a spent link = %v, want ErrAccountLink", err)
		}
		if err := db.CheckPasswordReset(ctx, tok); !errors.Is(err, ErrAccountLink) {
			t.Errorf("CheckPasswordReset(spent) = %v, want ErrAccountLink", err)
		}
	}
	if ok, _ := db.EmailVerified(ctx, acct.ID); !ok {
		t.Errorf("a reset through the emailed link did not verify the email")
	}
}
