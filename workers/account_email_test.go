package workers_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/hibiken/asynq"

	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/workers"
)

// flakySMTP is an SMTP server on a fixed loopback port that the test stops
// and starts again, keeping one inbox; a sender delivers to the port
// whether or not the server is up.
type flakySMTP struct {
	t     *testing.T
	port  int
	inbox *smtpInbox
	mu    sync.Mutex
	srv   *gosmtp.Server
}

func newFlakySMTP(t *testing.T) (*flakySMTP, mail.Sender) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // down until start
	s := &flakySMTP{t: t, port: port, inbox: &smtpInbox{}}
	t.Cleanup(s.stop)
	sender, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: mail.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	return s, sender
}

func (s *flakySMTP) start() {
	s.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(s.port))
	if err != nil {
		s.t.Fatalf("restart the SMTP server: %v", err)
	}
	srv := gosmtp.NewServer(s.inbox)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go func() { _ = srv.Serve(ln) }()
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
}

func (s *flakySMTP) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}

// TestPlatformEmailSentOnce: a merchant's reset email waits in the platform
// outbox, is queued once under its row id, fails while the SMTP server is
// down, and then is sent once even though its task runs twice more; sent,
// its row forgets the link.
func TestPlatformEmailSentOnce(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	acct, err := db.CreateAccount(ctx, "mona@example.com", "correct-Horse-battery-9", "Mona")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.StartPasswordReset(ctx, "Mona@Example.com", "http://app.localhost"); err != nil {
		t.Fatal(err)
	}
	smtp, sender := newFlakySMTP(t)
	rdb := testenv.IsolatedRedis(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fleet := workers.New(db, rdb, workers.Config{Mailer: sender, MailFrom: "no-reply@storefleet.example",
		URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}}, log)
	for i, want := range []int{1, 0} {
		if n, err := fleet.RelayOnce(ctx); err != nil || n != want {
			t.Fatalf("RelayOnce #%d = %d, %v; want %d", i+1, n, err, want)
		}
	}
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	tasks, err := inspector.ListPendingTasks("critical")
	if err != nil || len(tasks) != 1 || tasks[0].Type != workers.TypeAccountEmail || !strings.HasPrefix(tasks[0].ID, "account-email:") {
		t.Fatalf("queued = %+v, %v; want one account email task under its row id", tasks, err)
	}
	task := asynq.NewTask(tasks[0].Type, tasks[0].Payload)
	if err := fleet.Handler().ProcessTask(ctx, task); err == nil {
		t.Fatalf("the account email task with the SMTP server down = nil, want an error to retry")
	}
	smtp.start()
	for range 2 {
		if err := fleet.Handler().ProcessTask(ctx, task); err != nil {
			t.Fatalf("the account email task = %v", err)
		}
	}
	msgs := smtp.inbox.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("emails received = %d, want 1", len(msgs))
	}
	m := msgs[0]
	rowID := strings.TrimPrefix(tasks[0].ID, "account-email:")
	if m.Subject != "Reset your Storefleet password" || m.From.Name != "Storefleet" || m.From.Email != "no-reply@storefleet.example" ||
		len(m.To) != 1 || m.To[0].Email != "mona@example.com" || m.MessageID != rowID+".account@storefleet" {
		t.Errorf("email = %+v, want the platform's reset email to Mona, its Message-ID the row's id", m.Summary)
	}
	if !strings.Contains(m.Text, "http://app.localhost/password/reset/") || !strings.Contains(m.HTML, `href="http://app.localhost/password/reset/`) {
		t.Errorf("the email lacks the link in its text or HTML:\n%s\n%s", m.Text, m.HTML)
	}
	token := m.Text[strings.Index(m.Text, "/password/reset/")+len("/password/reset/"):]
	token = strings.Fields(token)[0]
	if id, err := db.ResetPassword(ctx, token, "new-Horse-battery-10"); err != nil || id != acct.ID {
		t.Errorf("ResetPassword with the emailed token = %d, %v", id, err)
	}
}

// TestOrderEmailOutlivesAnSMTPOutage: with the SMTP server down, an order
// confirmation (rendered from the store's template) fails and waits to be
// retried; with the server back, it arrives once.
func TestOrderEmailOutlivesAnSMTPOutage(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "smtp-outage", Name: "Outage Tea", Email: "hello@outage.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	smtp, sender := newFlakySMTP(t)
	rdb := testenv.IsolatedRedis(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fleet := workers.New(db, rdb, workers.Config{RelayInterval: 50 * time.Millisecond, RetryCheckInterval: 100 * time.Millisecond,
		Mailer: sender, MailFrom: "no-reply@storefleet.example", URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}}, log)
	start(t, fleet)
	o := placeWebOrder(t, db, st)
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	var retry *asynq.TaskInfo
	waitFor(t, "the confirmation to fail and wait for a retry", func() bool {
		ts, _ := inspector.ListRetryTasks("critical")
		for _, ti := range ts {
			if ti.Type == workers.TypeEmail && ti.LastErr != "" {
				retry = ti
				return true
			}
		}
		return false
	})
	if n := len(smtp.inbox.messages(t)); n != 0 {
		t.Fatalf("received %d emails while the server was down", n)
	}
	smtp.start()
	// Its retry is due in seconds; run it now rather than wait.
	if err := inspector.RunTask("critical", retry.ID); err != nil {
		t.Fatalf("RunTask(%s) = %v", retry.ID, err)
	}
	waitFor(t, "the confirmation after the outage", func() bool { return len(smtp.inbox.messages(t)) >= 1 })
	time.Sleep(500 * time.Millisecond) // a duplicate would show by now
	msgs := smtp.inbox.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("emails received = %d, want 1", len(msgs))
	}
	if m := msgs[0]; !strings.Contains(m.Subject, o.Name) || m.To[0].Email != "ann@example.com" || !strings.HasSuffix(m.MessageID, ".order_confirmation@storefleet") {
		t.Errorf("email = %+v, want the confirmation of %s to Ann", m.Summary, o.Name)
	}
}

// TestCustomerAccountEmails: a storefront sign-up sends the verification
// email and send_invite the invitation, from the store's templates, with
// links on the store's host; the invitation carries the merchant's subject
// and message.
func TestCustomerAccountEmails(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "account-mail", Name: "Account Tea", Email: "hello@account.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(db)
	if _, err := svc.Register(ctx, st, "vic@example.com", "tea-for-two-2026", "Vic", ""); err != nil {
		t.Fatal(err)
	}
	email := "ida@example.com"
	c, err := svc.CreateCustomer(ctx, st, customers.CustomerInput{Email: &email})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SendInvite(ctx, st, c.ID, customers.Invite{Subject: "Your tea account", CustomMessage: "See you <soon>!"}); err != nil {
		t.Fatal(err)
	}
	inbox, sender := startSMTP(t)
	runFleet(t, db, sender)
	waitFor(t, "both emails", func() bool { return len(inbox.messages(t)) >= 2 })
	time.Sleep(300 * time.Millisecond)
	msgs := inbox.messages(t)
	if len(msgs) != 2 {
		t.Fatalf("emails = %d, want 2", len(msgs))
	}
	by := map[string]*mail.Stored{}
	for _, m := range msgs {
		by[m.To[0].Email] = m
	}
	v, i := by["vic@example.com"], by["ida@example.com"]
	if v == nil || i == nil {
		t.Fatalf("recipients = %q, %q; want Vic and Ida", msgs[0].To, msgs[1].To)
	}
	if v.Subject != "Confirm your email at Account Tea" || !strings.Contains(v.Text, "http://account-mail.localhost/account/verify/") ||
		!strings.Contains(v.HTML, `href="http://account-mail.localhost/account/verify/`) || !strings.HasSuffix(v.MessageID, ".customer_account_verification@storefleet") {
		t.Errorf("verification email = %+v\n%s", v.Summary, v.Text)
	}
	if i.Subject != "Your tea account" || !strings.Contains(i.Text, "http://account-mail.localhost/account/activate/") ||
		!strings.Contains(i.Text, "See you <soon>!") || !strings.Contains(i.HTML, "See you &lt;soon&gt;!") {
		t.Errorf("invitation email = %+v\n%s\n%s", i.Summary, i.Text, i.HTML)
	}
}
