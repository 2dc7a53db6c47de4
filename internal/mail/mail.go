// Package mail builds and sends Storefleet's email: order confirmations,
// verification and password-reset links, staff invitations. It gives a
// Message, which it validates and renders as one RFC 5322 message
// (multipart/alternative when it has both a text and an HTML body), and two
// Senders: SMTP, for a real relay, and Dir, which writes each message as an
// .eml file for a developer's inbox page. New picks one from a URL, so the
// choice is configuration:
//
//	smtp://user:pass@smtp.example.com:587?tls=starttls   SMTP (tls=none|starttls|tls)
//	smtps://user:pass@smtp.example.com                    SMTP over implicit TLS (port 465)
//	file:///var/lib/storefleet/mail                      a folder, absolute path
//	file:.data/mail  or  file://./.data/mail             a folder, relative to the working directory
//
// Sending is done by workers, never inside a request, and a worker retries a
// failed send unless IsPermanent says that retrying cannot help. Set
// Message.MessageID to something derived from the task so that a retried
// message carries the same Message-ID as the first attempt and mail clients
// show it once.
package mail

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"

	gomail "github.com/wneessen/go-mail"

	"github.com/storefleet/storefleet/internal/errs"
)

// Address is a mailbox: an email address and the display name shown beside
// it. Name may hold any Unicode text but no line breaks; it is encoded
// (RFC 2047) when the message is written.
type Address struct {
	Name  string
	Email string
}

// String returns the address as a header shows it, "Name <email>", with
// non-ASCII names encoded.
func (a Address) String() string {
	return (&netmail.Address{Name: a.Name, Address: a.Email}).String()
}

// Message is one email to send. Text, HTML or both must be set; with both,
// mail clients show the HTML and fall back to the text.
type Message struct {
	From    Address
	ReplyTo Address // optional: zero means replies go to From

	// To are the recipients, one or more. Delivery is all or nothing: when
	// the server refuses one recipient, nobody gets the message, so a
	// transactional mail normally has one.
	To []Address

	Subject string
	Text    string
	HTML    string

	// MessageID is the Message-ID header without its angle brackets, such as
	// "order-1042.confirmation.t17@acme.example". Empty means a random one,
	// which is new on every Send: callers that retry should set it, so that
	// every attempt carries the same ID and receivers can tell a repeat.
	MessageID string

	// Date is the Date header; zero means the time of sending.
	Date time.Time

	// Headers are extra header fields, such as List-Unsubscribe or
	// X-Storefleet-Tenant. Fields that the Message sets from its own fields
	// (From, To, Subject, Message-ID, Date, MIME and content headers) and
	// Cc, Bcc are refused here.
	Headers map[string]string
}

// Sender delivers messages. A Sender is safe for concurrent use. Send does
// not modify m. An error it returns is classified by IsPermanent.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// New returns the Sender that rawURL names: smtp:// and smtps:// give an
// *SMTP (see ParseSMTPURL), file: gives a *Dir. The folder of a file URL is
// an absolute path (file:///var/mail) or, for a developer's checkout, a path
// relative to the working directory (file:.data/mail or file://./.data/mail).
// Errors never contain the URL's password.
func New(rawURL string) (Sender, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "smtp", "smtps":
		cfg, err := smtpConfigFromURL(u)
		if err != nil {
			return nil, err
		}
		return NewSMTP(cfg)
	case "file":
		dir, err := dirFromURL(u)
		if err != nil {
			return nil, err
		}
		return NewDir(dir)
	default:
		return nil, fmt.Errorf("mail url: scheme %q is not one of smtp, smtps, file", u.Scheme)
	}
}

// parseURL parses a mail URL without letting the URL, and so its password,
// into the error: url.Parse quotes its whole input.
func parseURL(rawURL string) (*url.URL, error) {
	if rawURL == "" {
		return nil, errors.New("mail url: empty")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("mail url: %w", err)
	}
	return u, nil
}

// dirFromURL returns the folder of a file URL.
func dirFromURL(u *url.URL) (string, error) {
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("mail url: a file url takes no user, query or fragment")
	}
	var dir string
	switch {
	case u.Opaque != "": // file:.data/mail
		dir = u.Opaque
	case u.Host == "." && u.Path != "": // file://./.data/mail
		dir = "." + u.Path
	case (u.Host == "" || u.Host == "localhost") && u.Path != "": // file:///abs
		dir = u.Path
	default:
		return "", fmt.Errorf("mail url: file url host must be empty (file:///abs/path) or \".\" (file://./relative), got %q", u.Host)
	}
	return dir, nil
}

// Error is a failed delivery attempt with what the server said, if anything.
// The worker retries unless Permanent is set.
type Error struct {
	// Code is the SMTP reply code that refused the message, or 0 when there
	// was no reply (connection refused, timeout, broken connection).
	Code int
	// Permanent reports that sending the same message again will fail the
	// same way: the server refused the sender, a recipient or the content
	// with a 5xx reply.
	Permanent bool
	// Err is the cause.
	Err error
}

// Error returns the cause's message, which names the reply when there was
// one.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the cause, so errors.Is finds context.DeadlineExceeded or
// a *net.OpError behind it.
func (e *Error) Unwrap() error { return e.Err }

// IsPermanent reports whether err means that retrying the same message
// cannot succeed: the message is invalid (an errs.Invalid error from
// Validate) or the server refused it with a 5xx reply to MAIL FROM, RCPT TO
// or DATA (unknown recipient, rejected sender, content refused). Every other
// error is transient: connection refused or reset, timeouts, 4xx replies,
// and failures of TLS or authentication, which are faults of the set-up and
// not of the message, so its retries go through once the set-up is fixed.
// When the server refuses several recipients of one message, the reply to
// the last of them decides (go-mail keeps only that code).
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Permanent
	}
	return errs.Is(err, errs.Invalid)
}

// reservedHeaders are the fields Message sets from its own fields (or must
// not carry at all); Headers may not set them.
var reservedHeaders = map[string]bool{
	"from": true, "sender": true, "reply-to": true, "to": true, "cc": true, "bcc": true,
	"subject": true, "date": true, "message-id": true, "return-path": true,
	"mime-version": true, "content-type": true, "content-transfer-encoding": true,
}

// Validate reports what is wrong with m, as an errs.Invalid error with one
// entry per field ("from", "to[1]", "subject", "headers.X-Foo", …), or nil.
// It refuses addresses that net/mail cannot parse or that carry a display
// name inside Email, and line breaks or control characters in the subject,
// names and header values, which would let text from a shopper add header
// fields of its own (header injection).
func (m *Message) Validate() error {
	v := errs.Fields{}
	checkAddress(v, "from", m.From)
	if m.ReplyTo != (Address{}) {
		checkAddress(v, "reply_to", m.ReplyTo)
	}
	if len(m.To) == 0 {
		v.Add("to", "must have at least one recipient")
	}
	for i, a := range m.To {
		checkAddress(v, fmt.Sprintf("to[%d]", i), a)
	}
	if strings.TrimSpace(m.Subject) == "" {
		v.Add("subject", "must not be empty")
	} else if hasControl(m.Subject) {
		v.Add("subject", "must not contain line breaks or control characters")
	}
	if m.Text == "" && m.HTML == "" {
		v.Add("body", "must have a text or an HTML body")
	}
	if m.MessageID != "" {
		if err := checkMessageID(m.MessageID); err != nil {
			v.Add("message_id", "%v", err)
		}
	}
	for name, value := range m.Headers {
		field := "headers." + name
		switch {
		case !isFieldName(name):
			v.Add(field, "is not a valid header name")
		case reservedHeaders[strings.ToLower(name)]:
			v.Add(field, "is set by the message itself")
		case hasControl(value):
			v.Add(field, "must not contain line breaks or control characters")
		}
	}
	return v.Err()
}

// checkAddress records what is wrong with a, if anything.
func checkAddress(v errs.Fields, field string, a Address) {
	if hasControl(a.Name) {
		v.Add(field, "name must not contain line breaks or control characters")
	}
	if a.Email == "" {
		v.Add(field, "email is missing")
		return
	}
	p, err := netmail.ParseAddress(a.Email)
	// A parsed name or a changed address means Email held more than one
	// addr-spec ("x@y.com <evil@z.com>"), which would send elsewhere.
	if err != nil || p.Name != "" || p.Address != a.Email {
		v.Add(field, "%q is not a valid email address", a.Email)
	}
}

// hasControl reports whether s holds a control character other than tab;
// CR and LF among them end a header field.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r != '\t' && unicode.IsControl(r) })
}

// isFieldName reports whether s is an RFC 5322 field name: printable ASCII
// without the colon.
func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// checkMessageID checks id against RFC 5322's msg-id without its brackets:
// dot-atom "@" dot-atom.
func checkMessageID(id string) error {
	left, right, ok := strings.Cut(id, "@")
	if !ok || !isDotAtom(left) || !isDotAtom(right) {
		return fmt.Errorf("%q is not of the form left@right (letters, digits and !#$%%&'*+-/=?^_`{|}~.)", id)
	}
	if len(id) > 250 {
		return errors.New("is longer than 250 characters")
	}
	return nil
}

// isDotAtom reports whether s is RFC 5322 dot-atom-text.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", rune(c)) {
			return false
		}
	}
	return true
}

// randomMessageID returns a new Message-ID in the domain of from, so that it
// names the sender rather than the machine that happened to send.
func randomMessageID(from string) string {
	domain := "storefleet.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok && isDotAtom(d) {
		domain = d
	}
	b := make([]byte, 20)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)) + "@" + domain
}

// build validates m and returns it as a go-mail message, with its Message-ID
// and Date filled in when m leaves them empty.
func (m *Message) build(now time.Time) (*gomail.Msg, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(&netmail.Address{Name: m.From.Name, Address: m.From.Email})
	to := make([]*netmail.Address, len(m.To))
	for i, a := range m.To {
		to[i] = &netmail.Address{Name: a.Name, Address: a.Email}
	}
	msg.ToMailAddress(to...)
	if m.ReplyTo != (Address{}) {
		msg.ReplyToMailAddress(&netmail.Address{Name: m.ReplyTo.Name, Address: m.ReplyTo.Email})
	}
	msg.Subject(m.Subject)
	id := m.MessageID
	if id == "" {
		id = randomMessageID(m.From.Email)
	}
	msg.SetMessageIDWithValue(id)
	date := m.Date
	if date.IsZero() {
		date = now
	}
	msg.SetDateWithValue(date)
	for name, value := range m.Headers {
		msg.SetGenHeader(gomail.Header(name), value)
	}
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	}
	return msg, nil
}
