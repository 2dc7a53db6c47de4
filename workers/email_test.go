package workers_test

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/workers"
)

// TestPasswordResetEmail: a customer asks for a reset; the worker emails a
// link, once; the link sets a new password once and then no more.
func TestPasswordResetEmail(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tenant.Open(ctx, testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "mailing", Name: "Mailing Tea", Email: "hello@mailing.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(db)
	if _, err := svc.Register(ctx, st, "ann@example.com", "first-password-1", "Ann", "Lee"); err != nil {
		t.Fatal(err)
	}
	if err := svc.StartReset(ctx, st, "ANN@example.com", "http://mailing.localhost"); err != nil {
		t.Fatal(err)
	}
	if err := svc.StartReset(ctx, st, "nobody@example.com", "http://mailing.localhost"); err != nil {
		t.Fatalf("StartReset(an email without an account) = %v, want nil (no hint)", err)
	}

	dir := t.TempDir()
	sender, err := mail.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fleet := workers.New(db, testenv.IsolatedRedis(t), workers.Config{RelayInterval: 50 * time.Millisecond,
		Mailer: sender, MailFrom: "no-reply@storefleet.example", URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}}, log)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- fleet.Run(runCtx) }()
	var got []mail.Summary
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && len(got) == 0; time.Sleep(50 * time.Millisecond) {
		got, _ = mail.List(dir)
	}
	time.Sleep(300 * time.Millisecond) // a duplicate would show by now
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ = mail.List(dir); len(got) != 1 {
		t.Fatalf("emails sent = %d, want 1: %+v", len(got), got)
	}
	m, err := mail.Read(dir, got[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Reset your password at Mailing Tea" || m.From.Name != "Mailing Tea" || m.From.Email != "no-reply@storefleet.example" ||
		len(m.To) != 1 || m.To[0].Email != "ann@example.com" {
		t.Errorf("email = %+v, want the store's name on the platform's address, to Ann", m.Summary)
	}
	link := regexp.MustCompile(`http://mailing\.localhost/account/reset/(\d+)/([0-9a-f]{64})`).FindStringSubmatch(m.Text)
	if link == nil || !regexp.MustCompile(`href="http://mailing\.localhost/account/reset/`).MatchString(m.HTML) {
		t.Fatalf("email holds no reset link:\n%s", m.Text)
	}
	id, _ := strconv.ParseInt(link[1], 10, 64)
	if _, err := svc.Reset(ctx, st, id, link[2], "short"); !errs.Is(err, errs.Invalid) {
		t.Errorf("Reset with a short password = %v, want Invalid", err)
	}
	if _, err := svc.Reset(ctx, st, id, link[2], "second-password-2"); err != nil {
		t.Fatalf("Reset with the emailed link = %v", err)
	}
	if _, err := svc.Login(ctx, st, "ann@example.com", "second-password-2"); err != nil {
		t.Errorf("Login with the new password = %v", err)
	}
	if _, err := svc.Login(ctx, st, "ann@example.com", "first-password-1"); err == nil {
		t.Errorf("Login with the old password worked")
	}
	if _, err := svc.Reset(ctx, st, id, link[2], "third-password-3"); !errs.Is(err, errs.Invalid) {
		t.Errorf("Reset with a used link = %v, want Invalid", err)
	}
}
