package main

import (
	"context"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/testenv"
)

// TestDevInbox: in development, mail written to the folder is listed on
// the dashboard host and shown, its HTML in a sandboxed frame.
func TestDevInbox(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, testenv.Database(t), "MAIL_URL", "file:"+dir)
	sender, err := mail.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = sender.Send(context.Background(), &mail.Message{From: mail.Address{Name: "Tea", Email: "no-reply@example.com"},
		To: []mail.Address{{Email: "ann@example.com"}}, Subject: "Reset <your> password", Text: "Open http://x/", HTML: `<p onclick="x()">Hi</p>`})
	if err != nil {
		t.Fatal(err)
	}
	r := s.do(t, "GET", "app.localhost", "/dev/mail", "")
	if r.status != 200 || !strings.Contains(r.body, "Reset &lt;your&gt; password") || !strings.Contains(r.body, "ann@example.com") {
		t.Fatalf("GET /dev/mail = %d %s", r.status, r.body)
	}
	i := strings.Index(r.body, `href="/dev/mail/`)
	link := r.body[i+6 : i+6+strings.Index(r.body[i+6:], `"`)]
	m := s.do(t, "GET", "app.localhost", link, "")
	if m.status != 200 || !strings.Contains(m.body, "<iframe sandbox") || !strings.Contains(m.body, "Open http://x/") || strings.Contains(m.body, `<p onclick`) {
		t.Errorf("GET %s = %d %s", link, m.status, m.body)
	}
	if r := s.do(t, "GET", "app.localhost", "/dev/mail/../../etc/passwd", ""); r.status == 200 {
		t.Errorf("a path outside the folder was served")
	}
	prod := startServer(t, testenv.Database(t), "MAIL_URL", "file:"+dir, "STOREFLEET_ENV", "production", "SESSION_SECRET", strings.Repeat("k", 32))
	if r := prod.do(t, "GET", "app.localhost", "/dev/mail", ""); r.status != 404 {
		t.Errorf("GET /dev/mail in production = %d, want 404", r.status)
	}
}
