package mail

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func newDir(t testing.TB) *Dir {
	t.Helper()
	d, err := NewDir(filepath.Join(t.TempDir(), ".data", "mail"))
	if err != nil {
		t.Fatalf("NewDir = %v", err)
	}
	return d
}

func TestDirListNewestFirst(t *testing.T) {
	d := newDir(t)
	subjects := []string{"Bienvenue chez Émeraude", "Réinitialiser le mot de passe", "Commande n°1042 confirmée ✓ 抹茶"}
	start := time.Now().Add(-time.Second)
	for i, subject := range subjects {
		m := orderMessage()
		m.Subject = subject
		m.MessageID = fmt.Sprintf("msg-%d@emeraude.example", i)
		if err := d.Send(t.Context(), m); err != nil {
			t.Fatalf("Send(%q) = %v", subject, err)
		}
	}
	if err := os.WriteFile(filepath.Join(d.Path(), "notes.txt"), []byte("not mail"), 0o600); err != nil {
		t.Fatal(err)
	}

	got, err := List(d.Path())
	if err != nil {
		t.Fatalf("List = %v", err)
	}
	if len(got) != len(subjects) {
		t.Fatalf("List = %d messages, want %d: %+v", len(got), len(subjects), got)
	}
	for i, s := range got {
		want := len(subjects) - 1 - i
		if s.Subject != subjects[want] {
			t.Errorf("List()[%d].Subject = %q, want %q", i, s.Subject, subjects[want])
		}
		if s.MessageID != fmt.Sprintf("msg-%d@emeraude.example", want) {
			t.Errorf("List()[%d].MessageID = %q, want msg-%d@emeraude.example", i, s.MessageID, want)
		}
		if i > 0 && !s.Time.Before(got[i-1].Time) {
			t.Errorf("List()[%d].Time = %v, not before List()[%d].Time = %v", i, s.Time, i-1, got[i-1].Time)
		}
		if s.Time.Before(start) || s.Time.After(time.Now()) {
			t.Errorf("List()[%d].Time = %v, want the time it was written", i, s.Time)
		}
		if diff := cmp.Diff(Address{Name: "Thé Émeraude — Boutique", Email: "orders@emeraude.example"}, s.From); diff != "" {
			t.Errorf("List()[%d].From (-want +got):\n%s", i, diff)
		}
		wantTo := []Address{{Name: "Zoë Müller", Email: "zoe@shopper.example"}, {Email: "ops@emeraude.example"}}
		if diff := cmp.Diff(wantTo, s.To); diff != "" {
			t.Errorf("List()[%d].To (-want +got):\n%s", i, diff)
		}
		if !strings.HasSuffix(s.Name, fmt.Sprintf("-msg-%d@emeraude.example.eml", want)) {
			t.Errorf("List()[%d].Name = %q, want <time>-msg-%d@emeraude.example.eml", i, s.Name, want)
		}
	}
}

func TestDirRead(t *testing.T) {
	tests := []struct {
		name               string
		text, html         string
		wantType           string // Content-Type of the message, up to ';'
		wantText, wantHTML string
	}{
		{
			name:     "text and html",
			text:     orderMessage().Text,
			html:     orderMessage().HTML,
			wantType: "multipart/alternative",
			wantText: orderMessage().Text, wantHTML: orderMessage().HTML,
		},
		{name: "text only", text: "Votre code : 123456\n", wantType: "text/plain", wantText: "Votre code : 123456\n"},
		{name: "html only", html: "<p>Invitation à rejoindre <b>Émeraude</b></p>", wantType: "text/html", wantHTML: "<p>Invitation à rejoindre <b>Émeraude</b></p>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDir(t)
			m := orderMessage()
			m.Text, m.HTML = tt.text, tt.html
			if err := d.Send(t.Context(), m); err != nil {
				t.Fatalf("Send = %v", err)
			}
			list, err := List(d.Path())
			if err != nil || len(list) != 1 {
				t.Fatalf("List = %v, %v; want one message", list, err)
			}

			got, err := Read(d.Path(), list[0].Name)
			if err != nil {
				t.Fatalf("Read(%q) = %v", list[0].Name, err)
			}
			if diff := cmp.Diff(list[0], got.Summary); diff != "" {
				t.Errorf("Read(%q).Summary differs from List's (-list +read):\n%s", list[0].Name, diff)
			}
			// Bodies travel with CRLF line ends, as RFC 5322 wants.
			if text := strings.ReplaceAll(got.Text, "\r\n", "\n"); text != tt.wantText {
				t.Errorf("Read(%q).Text = %q, want %q", list[0].Name, text, tt.wantText)
			}
			if got.HTML != tt.wantHTML {
				t.Errorf("Read(%q).HTML = %q, want %q", list[0].Name, got.HTML, tt.wantHTML)
			}
			if !strings.Contains(string(got.Raw), "Content-Type: "+tt.wantType) {
				t.Errorf("Read(%q).Raw has no Content-Type %s:\n%s", list[0].Name, tt.wantType, got.Raw)
			}
			if got.Subject != m.Subject {
				t.Errorf("Read(%q).Subject = %q, want %q", list[0].Name, got.Subject, m.Subject)
			}
		})
	}
}

func TestDirConcurrentSends(t *testing.T) {
	d := newDir(t)
	const n = 40
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			m := orderMessage()
			m.Subject = fmt.Sprintf("message %d", i)
			m.MessageID = "" // each gets a random one
			errc <- d.Send(context.Background(), m)
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Errorf("Send = %v", err)
		}
	}
	list, err := List(d.Path())
	if err != nil {
		t.Fatalf("List = %v", err)
	}
	seen := map[string]bool{}
	for _, s := range list {
		seen[s.Subject] = true
	}
	if len(list) != n || len(seen) != n {
		t.Errorf("List = %d messages with %d subjects, want %d of each", len(list), len(seen), n)
	}
	entries, err := os.ReadDir(d.Path())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n {
		t.Errorf("folder holds %d files, want %d (no temporary files left)", len(entries), n)
	}
}

func TestDirSendRefusesInvalid(t *testing.T) {
	d := newDir(t)
	m := orderMessage()
	m.To[0].Email = "zoe@shopper.example\nBcc: all@victim.example"
	if err := d.Send(t.Context(), m); err == nil || !IsPermanent(err) {
		t.Fatalf("Send(header injection) = %v, want a permanent error", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := d.Send(ctx, orderMessage()); !errors.Is(err, context.Canceled) {
		t.Errorf("Send(cancelled ctx) = %v, want context.Canceled", err)
	}
	if list, err := List(d.Path()); err != nil || len(list) != 0 {
		t.Errorf("List = %v, %v; want no messages", list, err)
	}
}

func TestListMissingFolder(t *testing.T) {
	got, err := List(filepath.Join(t.TempDir(), "never-created"))
	if err != nil || len(got) != 0 {
		t.Errorf("List(missing) = %v, %v; want no messages and no error", got, err)
	}
}

func TestReadRefusesOtherFiles(t *testing.T) {
	d := newDir(t)
	secret := filepath.Join(filepath.Dir(d.Path()), "secret.eml")
	if err := os.WriteFile(secret, []byte("Subject: secret\r\n\r\nsecret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../secret.eml", secret, "missing.eml", ".tmp-1.eml", "notes.txt", ""} {
		if _, err := Read(d.Path(), name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Read(%q) = %v, want fs.ErrNotExist", name, err)
		}
	}
}
