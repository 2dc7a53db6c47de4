package mail

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/errs"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(m *Message)
		field  string // the field the error must name; "" means valid
	}{
		{"valid", func(*Message) {}, ""},
		{"valid without reply-to, html only", func(m *Message) { m.ReplyTo = Address{}; m.Text = "" }, ""},
		{"valid text only, no message id", func(m *Message) { m.HTML = ""; m.MessageID = "" }, ""},
		{"tab in subject is fine", func(m *Message) { m.Subject = "a\tb" }, ""},
		{"CRLF in subject", func(m *Message) { m.Subject = "Hi\r\nBcc: all@victim.example" }, "subject"},
		{"LF in subject", func(m *Message) { m.Subject = "Hi\nX-Evil: 1" }, "subject"},
		{"NUL in subject", func(m *Message) { m.Subject = "Hi\x00" }, "subject"},
		{"empty subject", func(m *Message) { m.Subject = "  " }, "subject"},
		{"CR in from name", func(m *Message) { m.From.Name = "Shop\rBcc: x@y.example" }, "from"},
		{"LF in recipient name", func(m *Message) { m.To[0].Name = "Zoë\nBcc: x@y.example" }, "to[0]"},
		{"U+2028 is fine in a name", func(m *Message) { m.To[0].Name = "Zoë\u2028Müller" }, ""},
		{"NEL in reply-to name", func(m *Message) { m.ReplyTo.Name = "Help\u0085" }, "reply_to"},
		{"CRLF in header value", func(m *Message) { m.Headers = map[string]string{"X-Tag": "a\r\nBcc: x@y.example"} }, "headers.X-Tag"},
		{"colon in header name", func(m *Message) { m.Headers = map[string]string{"X-A:B": "v"} }, "headers.X-A:B"},
		{"space in header name", func(m *Message) { m.Headers = map[string]string{"X A": "v"} }, "headers.X A"},
		{"Bcc header", func(m *Message) { m.Headers = map[string]string{"bcc": "x@y.example"} }, "headers.bcc"},
		{"Message-ID header", func(m *Message) { m.Headers = map[string]string{"Message-ID": "<a@b>"} }, "headers.Message-ID"},
		{"missing from", func(m *Message) { m.From = Address{} }, "from"},
		{"from not an address", func(m *Message) { m.From.Email = "orders" }, "from"},
		{"from with a display name inside", func(m *Message) { m.From.Email = "Shop <orders@emeraude.example>" }, "from"},
		{"two addresses in one", func(m *Message) { m.To[1].Email = "a@b.example, c@d.example" }, "to[1]"},
		{"address with trailing garbage", func(m *Message) { m.To[0].Email = "zoe@shopper.example <evil@x.example>" }, "to[0]"},
		{"CRLF in address", func(m *Message) { m.To[0].Email = "zoe@shopper.example\r\nBcc: x@y.example" }, "to[0]"},
		{"address with spaces around", func(m *Message) { m.To[0].Email = " zoe@shopper.example" }, "to[0]"},
		{"no recipients", func(m *Message) { m.To = nil }, "to"},
		{"reply-to name only", func(m *Message) { m.ReplyTo = Address{Name: "Help"} }, "reply_to"},
		{"no body", func(m *Message) { m.Text, m.HTML = "", "" }, "body"},
		{"message id without @", func(m *Message) { m.MessageID = "order-1042" }, "message_id"},
		{"message id with brackets", func(m *Message) { m.MessageID = "<a@b.example>" }, "message_id"},
		{"message id with CRLF", func(m *Message) { m.MessageID = "a@b.example\r\nBcc: x@y.example" }, "message_id"},
		{"message id with space", func(m *Message) { m.MessageID = "a b@c.example" }, "message_id"},
		{"message id with two @", func(m *Message) { m.MessageID = "a@b@c.example" }, "message_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := orderMessage()
			tt.change(m)
			err := m.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("Validate() = %v, want kind %q", err, errs.Invalid)
			}
			if _, ok := errs.FieldsOf(err)[tt.field]; !ok {
				t.Errorf("Validate() fields = %v, want an entry for %q", errs.FieldsOf(err), tt.field)
			}
			if !IsPermanent(fmt.Errorf("send: %w", err)) {
				t.Errorf("IsPermanent(%v) = false, want true", err)
			}
		})
	}
}

func TestIsPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("boom"), false},
		{"transient *Error", fmt.Errorf("send: %w", &Error{Code: 451, Err: errors.New("busy")}), false},
		{"permanent *Error", fmt.Errorf("send: %w", &Error{Code: 550, Permanent: true, Err: errors.New("no such user")}), true},
		{"invalid message", fmt.Errorf("send: %w", errs.E(errs.Invalid, "bad")), true},
		{"other kind", errs.E(errs.Unavailable, "down"), false},
	}
	for _, tt := range tests {
		if got := IsPermanent(tt.err); got != tt.want {
			t.Errorf("%s: IsPermanent(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestNew(t *testing.T) {
	abs := t.TempDir()
	t.Chdir(t.TempDir())
	tests := []struct {
		url      string
		wantSMTP string // the sender's String(), for SMTP
		wantDir  string // the Dir's path, for file
	}{
		{url: "smtp://localhost:1025?tls=none", wantSMTP: "smtp://localhost:1025?auth=plain&tls=none"},
		{url: "smtps://u:secret@smtp.example.com", wantSMTP: "smtp://u:xxxxx@smtp.example.com:465?auth=plain&tls=tls"},
		{url: "file://" + abs + "/mail", wantDir: abs + "/mail"},
		{url: "file://localhost" + abs + "/m2", wantDir: abs + "/m2"},
		{url: "file:.data/mail", wantDir: ".data/mail"},
		{url: "file://./.data/mail2", wantDir: "./.data/mail2"},
	}
	for _, tt := range tests {
		s, err := New(tt.url)
		if err != nil {
			t.Errorf("New(%q) = %v", tt.url, err)
			continue
		}
		switch s := s.(type) {
		case *SMTP:
			if got := s.String(); got != tt.wantSMTP {
				t.Errorf("New(%q).String() = %q, want %q", tt.url, got, tt.wantSMTP)
			}
		case *Dir:
			if s.Path() != tt.wantDir {
				t.Errorf("New(%q).Path() = %q, want %q", tt.url, s.Path(), tt.wantDir)
			}
			if _, err := List(filepath.Clean(s.Path())); err != nil {
				t.Errorf("List(%q) = %v; New should have created it", s.Path(), err)
			}
		default:
			t.Errorf("New(%q) = %T, want *SMTP or *Dir", tt.url, s)
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct{ url, want string }{
		{"", "empty"},
		{"imap://mail.example.com", `scheme "imap"`},
		{"mail.example.com", `scheme ""`},
		{"file://otherhost/var/mail", "host must be empty"},
		{"file:///var/mail?x=1", "no user, query"},
		{"smtp://mail.example.com?tls=bogus", `tls="bogus"`},
	}
	for _, tt := range tests {
		if _, err := New(tt.url); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%q) = %v, want an error containing %q", tt.url, err, tt.want)
		}
	}
}
