package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
)

// received is one message as the test server got it.
type received struct {
	user string // the authenticated user, if any
	from string
	to   []string
	data []byte
}

// backend is an in-memory SMTP server backend. With user set, it requires
// AUTH (PLAIN or LOGIN) with user and pass. Recipients whose local part is
// "busy" get 451, "nobody" gets 550.
type backend struct {
	user, pass string

	mu   sync.Mutex
	msgs []received
}

func (b *backend) NewSession(*gosmtp.Conn) (gosmtp.Session, error) {
	return &session{b: b}, nil
}

func (b *backend) received() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type session struct {
	b    *backend
	user string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != s.b.user || pass != s.b.pass {
			return gosmtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}
	if mech == sasl.Login {
		return &loginServer{check: check}, nil
	}
	return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.b.user != "" && s.user == "" {
		return gosmtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	switch {
	case strings.HasPrefix(to, "busy@"):
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "mailbox busy, try later"}
	case strings.HasPrefix(to, "nobody@"):
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.msgs = append(s.b.msgs, received{user: s.user, from: s.from, to: s.to, data: data})
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl only has as a
// client.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if response != nil {
			l.user = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(response)
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(response))
	}
}

// testCert returns a server TLS config with a self-signed certificate for
// 127.0.0.1 and localhost, and a client config that trusts it.
func testCert(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "storefleet test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("ParseCertificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool}
	return server, client
}

// startServer runs an SMTP server for be on a free loopback port until the
// test ends. With TLSStartTLS it offers STARTTLS, with TLSImplicit it speaks
// TLS from the start; both need serverTLS.
func startServer(t testing.TB, be *backend, mode TLSMode, serverTLS *tls.Config) (host string, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	s := gosmtp.NewServer(be)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true // loopback only
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	switch mode {
	case TLSStartTLS:
		s.TLSConfig = serverTLS
	case TLSImplicit:
		ln = tls.NewListener(ln, serverTLS)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return "127.0.0.1", port
}

// newSMTP parses rawURL and returns its sender, trusting clientTLS's roots.
func newSMTP(t testing.TB, rawURL string, clientTLS *tls.Config) *SMTP {
	t.Helper()
	cfg, err := ParseSMTPURL(rawURL)
	if err != nil {
		t.Fatalf("ParseSMTPURL(%q) = %v", rawURL, err)
	}
	cfg.TLSConfig = clientTLS
	s, err := NewSMTP(cfg)
	if err != nil {
		t.Fatalf("NewSMTP(%v) = %v", cfg, err)
	}
	return s
}

// orderMessage is a message with non-ASCII text in every part that can hold
// it, lines longer than SMTP's 998, and a fixed Message-ID.
func orderMessage() *Message {
	return &Message{
		From:      Address{Name: "Thé Émeraude — Boutique", Email: "orders@emeraude.example"},
		ReplyTo:   Address{Name: "Support", Email: "help@emeraude.example"},
		To:        []Address{{Name: "Zoë Müller", Email: "zoe@shopper.example"}, {Email: "ops@emeraude.example"}},
		Subject:   "Commande n°1042 confirmée ✓ 抹茶",
		Text:      "Merci Zoë !\nVotre commande de matcha (抹茶) est confirmée.\n" + strings.Repeat("long line ", 150) + "\n",
		HTML:      `<p>Merci <b>Zoë</b> !</p><p>Votre commande de matcha (抹茶) est confirmée.</p>`,
		MessageID: "order-1042.confirmation.t17@emeraude.example",
		Date:      time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC),
		Headers:   map[string]string{"X-Storefleet-Tenant": "t17"},
	}
}

// parsed is what a mail client would show of a message.
type parsed struct {
	From, ReplyTo    string
	To               []string
	Subject          string
	MessageID        string
	Date             time.Time
	Tenant           string
	ContentType      string
	Text, HTML       string
	PartContentTypes []string
}

// parseMessage parses raw as a mail client would, independently of Read.
func parseMessage(t testing.TB, raw []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, raw)
	}
	h := msg.Header
	var p parsed
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 {
		t.Fatalf("From %q: %v", h.Get("From"), err)
	}
	p.From = from[0].Name + " <" + from[0].Address + ">"
	rt, err := h.AddressList("Reply-To")
	if err != nil || len(rt) != 1 {
		t.Fatalf("Reply-To %q: %v", h.Get("Reply-To"), err)
	}
	p.ReplyTo = rt[0].Address
	to, err := h.AddressList("To")
	if err != nil {
		t.Fatalf("To %q: %v", h.Get("To"), err)
	}
	for _, a := range to {
		p.To = append(p.To, a.Name+" <"+a.Address+">")
	}
	var dec mime.WordDecoder
	if p.Subject, err = dec.DecodeHeader(h.Get("Subject")); err != nil {
		t.Fatalf("Subject %q: %v", h.Get("Subject"), err)
	}
	p.MessageID = h.Get("Message-Id")
	if p.Date, err = h.Date(); err != nil {
		t.Fatalf("Date %q: %v", h.Get("Date"), err)
	}
	p.Date = p.Date.UTC()
	p.Tenant = h.Get("X-Storefleet-Tenant")
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	p.ContentType = mediaType
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		body, err := io.ReadAll(part) // multipart decodes quoted-printable
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		p.PartContentTypes = append(p.PartContentTypes, ct)
		switch ct {
		case "text/plain":
			p.Text = string(body)
		case "text/html":
			p.HTML = string(body)
		}
	}
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 {
			t.Errorf("line %d of the message is %d bytes long, more than SMTP allows", i, len(line))
		}
	}
	return p
}

func TestSMTPSend(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	tests := []struct {
		name     string
		mode     TLSMode
		query    string
		user     string // server requires AUTH with user:secret when set
		wantUser string
	}{
		{name: "plain text, no auth", mode: TLSNone, query: "?tls=none"},
		{name: "plain text, AUTH PLAIN on loopback", mode: TLSNone, query: "?tls=none", user: "shop", wantUser: "shop"},
		{name: "STARTTLS, AUTH PLAIN", mode: TLSStartTLS, query: "?tls=starttls", user: "shop", wantUser: "shop"},
		{name: "STARTTLS, AUTH LOGIN", mode: TLSStartTLS, query: "?tls=starttls&auth=login", user: "shop", wantUser: "shop"},
		{name: "implicit TLS, AUTH PLAIN", mode: TLSImplicit, query: "?tls=tls", user: "sh@p", wantUser: "sh@p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &backend{user: tt.user, pass: "p@ss:wörd/1"}
			host, port := startServer(t, be, tt.mode, serverTLS)
			creds := ""
			if tt.user != "" {
				creds = strings.ReplaceAll(tt.user, "@", "%40") + ":p%40ss%3Aw%C3%B6rd%2F1@"
			}
			s := newSMTP(t, fmt.Sprintf("smtp://%s%s:%d%s", creds, host, port, tt.query), clientTLS)

			if err := s.Send(t.Context(), orderMessage()); err != nil {
				t.Fatalf("Send = %v", err)
			}

			got := be.received()
			if len(got) != 1 {
				t.Fatalf("server received %d messages, want 1", len(got))
			}
			if got[0].user != tt.wantUser {
				t.Errorf("authenticated user = %q, want %q", got[0].user, tt.wantUser)
			}
			if got[0].from != "orders@emeraude.example" {
				t.Errorf("MAIL FROM = %q, want orders@emeraude.example", got[0].from)
			}
			if diff := cmp.Diff([]string{"zoe@shopper.example", "ops@emeraude.example"}, got[0].to); diff != "" {
				t.Errorf("RCPT TO (-want +got):\n%s", diff)
			}
			want := parsed{
				From:             "Thé Émeraude — Boutique <orders@emeraude.example>",
				ReplyTo:          "help@emeraude.example",
				To:               []string{"Zoë Müller <zoe@shopper.example>", " <ops@emeraude.example>"},
				Subject:          "Commande n°1042 confirmée ✓ 抹茶",
				MessageID:        "<order-1042.confirmation.t17@emeraude.example>",
				Date:             time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC),
				Tenant:           "t17",
				ContentType:      "multipart/alternative",
				PartContentTypes: []string{"text/plain", "text/html"},
				Text:             orderMessage().Text,
				HTML:             orderMessage().HTML,
			}
			// go-mail writes text bodies with CRLF line ends, as SMTP wants.
			gotParsed := parseMessage(t, got[0].data)
			gotParsed.Text = strings.ReplaceAll(gotParsed.Text, "\r\n", "\n")
			if diff := cmp.Diff(want, gotParsed); diff != "" {
				t.Errorf("received message (-want +got):\n%s\n%s", diff, got[0].data)
			}
		})
	}
}

func TestSMTPSendGeneratesMessageIDAndDate(t *testing.T) {
	be := &backend{}
	host, port := startServer(t, be, TLSNone, nil)
	s := newSMTP(t, fmt.Sprintf("smtp://%s:%d?tls=none", host, port), nil)
	m := &Message{
		From:    Address{Email: "orders@emeraude.example"},
		To:      []Address{{Email: "zoe@shopper.example"}},
		Subject: "Plain",
		Text:    "only text",
	}
	before := time.Now().Add(-time.Second)
	for range 2 {
		if err := s.Send(t.Context(), m); err != nil {
			t.Fatalf("Send = %v", err)
		}
	}
	if m.MessageID != "" || !m.Date.IsZero() {
		t.Errorf("Send changed the message: MessageID %q, Date %v", m.MessageID, m.Date)
	}
	got := be.received()
	if len(got) != 2 {
		t.Fatalf("server received %d messages, want 2", len(got))
	}
	var ids []string
	for _, r := range got {
		msg, err := netmail.ReadMessage(bytes.NewReader(r.data))
		if err != nil {
			t.Fatalf("ReadMessage: %v", err)
		}
		id := msg.Header.Get("Message-Id")
		if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@emeraude.example>") {
			t.Errorf("Message-ID = %q, want <…@emeraude.example>", id)
		}
		ids = append(ids, id)
		if d, err := msg.Header.Date(); err != nil || d.Before(before) {
			t.Errorf("Date = %q (%v), want about now", msg.Header.Get("Date"), err)
		}
		if ct := msg.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("Content-Type = %q, want text/plain", ct)
		}
		if ua := msg.Header.Get("User-Agent") + msg.Header.Get("X-Mailer"); ua != "" {
			t.Errorf("message names its mailer %q, want no User-Agent", ua)
		}
	}
	if ids[0] == ids[1] {
		t.Errorf("two sends without MessageID both got %q, want different IDs", ids[0])
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

// silentServer accepts connections and never says anything.
func silentServer(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

func TestSMTPErrorClassification(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	const password = "hunter2-secret"
	tests := []struct {
		name          string
		url           func(t *testing.T) string
		to            string
		timeout       time.Duration // of the caller's context; 0 means none
		wantPermanent bool
		wantCode      int
		wantIs        error
		wantTimeout   bool // context.DeadlineExceeded or os.ErrDeadlineExceeded
	}{
		{
			name: "451 for the recipient is transient",
			url: func(t *testing.T) string {
				_, port := startServer(t, &backend{}, TLSNone, nil)
				return fmt.Sprintf("smtp://127.0.0.1:%d?tls=none", port)
			},
			to:       "busy@shopper.example",
			wantCode: 451,
		},
		{
			name: "550 for the recipient is permanent",
			url: func(t *testing.T) string {
				_, port := startServer(t, &backend{}, TLSNone, nil)
				return fmt.Sprintf("smtp://127.0.0.1:%d?tls=none", port)
			},
			to:            "nobody@shopper.example",
			wantPermanent: true,
			wantCode:      550,
		},
		{
			name: "server down is transient",
			url: func(t *testing.T) string {
				return fmt.Sprintf("smtp://127.0.0.1:%d?tls=none", closedPort(t))
			},
			to: "zoe@shopper.example",
		},
		{
			name: "silent server times out with the caller's context",
			url: func(t *testing.T) string {
				return fmt.Sprintf("smtp://127.0.0.1:%d?tls=none", silentServer(t))
			},
			to:      "zoe@shopper.example",
			timeout: 300 * time.Millisecond,
			wantIs:  context.DeadlineExceeded,
		},
		{
			name: "silent server times out with the configured timeout",
			url: func(t *testing.T) string {
				return fmt.Sprintf("smtp://127.0.0.1:%d?tls=none&timeout=300ms", silentServer(t))
			},
			to: "zoe@shopper.example",
			// The context and go-mail's per-command deadline end together;
			// either may report it.
			wantTimeout: true,
		},
		{
			name: "wrong password is transient: the set-up is wrong, not the message",
			url: func(t *testing.T) string {
				_, port := startServer(t, &backend{user: "shop", pass: "other"}, TLSNone, nil)
				return fmt.Sprintf("smtp://shop:%s@127.0.0.1:%d?tls=none", password, port)
			},
			to: "zoe@shopper.example",
		},
		{
			name: "STARTTLS required but not offered is transient",
			url: func(t *testing.T) string {
				_, port := startServer(t, &backend{}, TLSNone, nil)
				return fmt.Sprintf("smtp://127.0.0.1:%d?tls=starttls", port)
			},
			to: "zoe@shopper.example",
		},
		{
			name: "untrusted certificate is transient",
			url: func(t *testing.T) string {
				_, port := startServer(t, &backend{}, TLSImplicit, serverTLS)
				return fmt.Sprintf("smtps://127.0.0.1:%d", port)
			},
			to: "zoe@shopper.example",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseSMTPURL(tt.url(t))
			if err != nil {
				t.Fatalf("ParseSMTPURL = %v", err)
			}
			if !strings.Contains(tt.name, "untrusted") {
				cfg.TLSConfig = clientTLS
			}
			s, err := NewSMTP(cfg)
			if err != nil {
				t.Fatalf("NewSMTP = %v", err)
			}
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			m := orderMessage()
			m.To = []Address{{Email: tt.to}}

			start := time.Now()
			err = s.Send(ctx, m)
			elapsed := time.Since(start)

			if err == nil {
				t.Fatal("Send = nil, want an error")
			}
			if got := IsPermanent(err); got != tt.wantPermanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, tt.wantPermanent)
			}
			e, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("Send = %v (%T), want an *Error in the chain", err, err)
			}
			if e.Code != tt.wantCode {
				t.Errorf("Send = %v, code %d, want code %d", err, e.Code, tt.wantCode)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Send = %v, want errors.Is %v", err, tt.wantIs)
			}
			if tt.wantTimeout && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Send = %v, want a timeout", err)
			}
			if elapsed > 5*time.Second {
				t.Errorf("Send took %v, want it bounded by its timeout", elapsed)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("Send = %v, which shows the password", err)
			}
		})
	}
}

func TestSMTPInvalidMessageDoesNotConnect(t *testing.T) {
	be := &backend{}
	host, port := startServer(t, be, TLSNone, nil)
	s := newSMTP(t, fmt.Sprintf("smtp://%s:%d?tls=none", host, port), nil)
	m := orderMessage()
	m.Subject = "Hello\r\nBcc: everyone@victim.example"
	err := s.Send(t.Context(), m)
	if err == nil || !IsPermanent(err) {
		t.Fatalf("Send(header injection) = %v, want a permanent error", err)
	}
	if got := be.received(); len(got) != 0 {
		t.Errorf("server received %d messages, want 0", len(got))
	}
}

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		url  string
		want SMTPConfig
	}{
		{"smtp://mail.example.com", SMTPConfig{Host: "mail.example.com", Port: 587, TLS: TLSStartTLS, Auth: AuthPlain, DialTimeout: DefaultDialTimeout, Timeout: DefaultTimeout}},
		{"smtp://localhost:1025?tls=none", SMTPConfig{Host: "localhost", Port: 1025, TLS: TLSNone, Auth: AuthPlain, DialTimeout: DefaultDialTimeout, Timeout: DefaultTimeout}},
		{"smtp://mail.example.com?tls=none", SMTPConfig{Host: "mail.example.com", Port: 25, TLS: TLSNone, Auth: AuthPlain, DialTimeout: DefaultDialTimeout, Timeout: DefaultTimeout}},
		{"smtps://apikey:s%40cr%2Ft@smtp.example.com", SMTPConfig{Host: "smtp.example.com", Port: 465, TLS: TLSImplicit, Username: "apikey", Password: "s@cr/t", Auth: AuthPlain, DialTimeout: DefaultDialTimeout, Timeout: DefaultTimeout}},
		{"smtp://u:p@[::1]:2525?tls=none&auth=login&timeout=5s&dial_timeout=2s", SMTPConfig{Host: "::1", Port: 2525, TLS: TLSNone, Username: "u", Password: "p", Auth: AuthLogin, DialTimeout: 2 * time.Second, Timeout: 5 * time.Second}},
		{"smtp://u:p@mail.example.com:465?tls=tls", SMTPConfig{Host: "mail.example.com", Port: 465, TLS: TLSImplicit, Username: "u", Password: "p", Auth: AuthPlain, DialTimeout: DefaultDialTimeout, Timeout: DefaultTimeout}},
	}
	for _, tt := range tests {
		got, err := ParseSMTPURL(tt.url)
		if err != nil {
			t.Errorf("ParseSMTPURL(%q) = %v", tt.url, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseSMTPURL(%q) (-want +got):\n%s", tt.url, diff)
		}
	}
}

func TestParseSMTPURLErrors(t *testing.T) {
	const password = "Tr0ub4dor"
	tests := []struct {
		url  string
		want string // in the error
	}{
		{"", "empty"},
		{"smtp://u:" + password + "@mail.example.com:bad", "invalid port"},
		{"smtp://u:" + password + "@mail.example.com:70000", "port"},
		{"smtp://u:" + password + "@mail.example.com?tls=maybe", `tls="maybe"`},
		{"smtps://u:" + password + "@mail.example.com?tls=none", "smtps always uses tls=tls"},
		{"smtp://u:" + password + "@mail.example.com?auth=cram", `auth="cram"`},
		{"smtp://u:" + password + "@mail.example.com?timeout=soon", "timeout"},
		{"smtp://u:" + password + "@mail.example.com?tsl=none", `unknown parameter "tsl"`},
		{"smtp://u:" + password + "@mail.example.com?tls=none", "clear text"},
		{"smtp://u:" + password + "@mail.example.com/path", "no path"},
		{"smtp://:" + password + "@mail.example.com", "without a user name"},
		{"smtp://user@mail.example.com", "no password"},
		{"smtp://u:" + password + "@:25", "host is missing"},
		{"http://u:" + password + "@mail.example.com", "not smtp"},
		{"smtp://u:" + password + "@mail.example.com%zz", "invalid URL escape"},
	}
	for _, tt := range tests {
		_, err := ParseSMTPURL(tt.url)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSMTPURL(%q) = %v, want an error containing %q", tt.url, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("ParseSMTPURL(%q) = %v, which shows the password", tt.url, err)
		}
	}
}

func TestSMTPStringMasksPassword(t *testing.T) {
	s, err := New("smtps://shop:Tr0ub4dor@smtp.example.com")
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	for _, got := range []string{fmt.Sprint(s), fmt.Sprintf("%+v", s.(*SMTP).cfg)} {
		if strings.Contains(got, "Tr0ub4dor") || !strings.Contains(got, "smtp.example.com:465") {
			t.Errorf("String() = %q, want the address without the password", got)
		}
	}
}

// TestSMTPClosesConnectionOnFailedSetup checks that a connection go-mail
// gives up on before sending (here: STARTTLS required, not offered) is
// closed, not left open until the server times it out.
func TestSMTPClosesConnectionOnFailedSetup(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	closed := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			closed <- err
			return
		}
		defer c.Close()
		_, _ = io.WriteString(c, "220 localhost ESMTP\r\n")
		buf := make([]byte, 512)
		for {
			n, err := c.Read(buf)
			if err != nil {
				closed <- nil // the client hung up
				return
			}
			if bytes.HasPrefix(buf[:n], []byte("EHLO")) {
				_, _ = io.WriteString(c, "250-localhost\r\n250 8BITMIME\r\n")
			}
		}
	}()
	s := newSMTP(t, fmt.Sprintf("smtp://127.0.0.1:%d?tls=starttls", ln.Addr().(*net.TCPAddr).Port), nil)
	if err := s.Send(t.Context(), orderMessage()); err == nil || IsPermanent(err) {
		t.Fatalf("Send = %v, want a transient error", err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not close its connection within 5s of Send returning")
	}
}
