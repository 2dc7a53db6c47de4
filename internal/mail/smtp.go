package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLSMode says how the SMTP connection is encrypted.
type TLSMode string

// The TLS modes, as the tls= parameter of an smtp:// URL names them.
const (
	TLSNone     TLSMode = "none"     // plain text; credentials only to a loopback host
	TLSStartTLS TLSMode = "starttls" // plain connect, then STARTTLS, which the server must offer
	TLSImplicit TLSMode = "tls"      // TLS from the first byte (smtps, port 465)
)

// Auth mechanisms the SMTP sender can use, as the auth= parameter names them.
const (
	AuthPlain = "plain" // AUTH PLAIN (RFC 4616), the default
	AuthLogin = "login" // AUTH LOGIN, for relays that offer nothing else
)

// Defaults of an SMTPConfig's zero fields.
const (
	DefaultDialTimeout = 10 * time.Second
	DefaultTimeout     = 60 * time.Second
)

// SMTPConfig is where and how the SMTP sender connects. The zero values of
// Port, TLS, Auth and the timeouts mean their defaults.
type SMTPConfig struct {
	Host     string
	Port     int     // default: 25 with TLSNone, 587 with TLSStartTLS, 465 with TLSImplicit
	TLS      TLSMode // default: TLSStartTLS
	Username string  // empty: no authentication
	Password string
	Auth     string // AuthPlain (default) or AuthLogin

	// DialTimeout bounds connecting, including the TLS handshake of
	// TLSImplicit. Default DefaultDialTimeout.
	DialTimeout time.Duration
	// Timeout bounds one whole Send, from dial to QUIT, when the caller's
	// context has no earlier deadline. Default DefaultTimeout.
	Timeout time.Duration

	// TLSConfig, when set, is used for STARTTLS and implicit TLS instead of
	// the system's roots (a private CA, a test certificate). Its ServerName
	// defaults to Host. It cannot be set from a URL.
	TLSConfig *tls.Config
}

// String returns the configuration as an smtp:// URL with the password
// masked, for start-up logs.
func (c SMTPConfig) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port))}
	if c.Username != "" {
		u.User = url.UserPassword(c.Username, "xxxxx")
	}
	q := url.Values{}
	q.Set("tls", string(c.TLS))
	if c.Auth != "" {
		q.Set("auth", c.Auth)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// ParseSMTPURL parses an SMTP URL into a configuration, with defaults filled
// in and checked as NewSMTP checks them:
//
//	smtp://[user:password@]host[:port][?tls=none|starttls|tls][&auth=plain|login][&timeout=60s][&dial_timeout=10s]
//	smtps://[user:password@]host[:port][?…]   (tls=tls)
//
// User and password are percent-decoded. Unknown parameters are refused, so
// a misspelt one does not silently fall back to a default. Errors never
// contain the password.
func ParseSMTPURL(rawURL string) (SMTPConfig, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return SMTPConfig{}, err
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return SMTPConfig{}, fmt.Errorf("mail url: scheme %q is not smtp or smtps", u.Scheme)
	}
	return smtpConfigFromURL(u)
}

// smtpConfigFromURL reads an smtp:// or smtps:// URL.
func smtpConfigFromURL(u *url.URL) (SMTPConfig, error) {
	var c SMTPConfig
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return c, errors.New("mail url: an smtp url is smtp://[user:password@]host[:port][?params], with no path")
	}
	c.Host = u.Hostname()
	if p := u.Port(); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return c, fmt.Errorf("mail url: port %q is not a number from 1 to 65535", p)
		}
		c.Port = port
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if u.Scheme == "smtps" {
		c.TLS = TLSImplicit
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return c, fmt.Errorf("mail url: query: %w", err)
	}
	for key, values := range q {
		value := values[len(values)-1]
		switch key {
		case "tls":
			if u.Scheme == "smtps" && TLSMode(value) != TLSImplicit {
				return c, fmt.Errorf("mail url: smtps always uses tls=tls, got tls=%q", value)
			}
			c.TLS = TLSMode(value)
		case "auth":
			c.Auth = value
		case "timeout", "dial_timeout":
			d, err := time.ParseDuration(value)
			if err != nil || d <= 0 {
				return c, fmt.Errorf("mail url: %s=%q is not a positive duration such as 30s", key, value)
			}
			if key == "timeout" {
				c.Timeout = d
			} else {
				c.DialTimeout = d
			}
		default:
			return c, fmt.Errorf("mail url: unknown parameter %q (known: tls, auth, timeout, dial_timeout)", key)
		}
	}
	return c.withDefaults()
}

// withDefaults fills in c's zero fields and checks the result.
func (c SMTPConfig) withDefaults() (SMTPConfig, error) {
	if c.Host == "" {
		return c, errors.New("mail smtp: host is missing")
	}
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	switch c.TLS {
	case TLSNone:
		if c.Port == 0 {
			c.Port = 25
		}
	case TLSStartTLS:
		if c.Port == 0 {
			c.Port = 587
		}
	case TLSImplicit:
		if c.Port == 0 {
			c.Port = 465
		}
	default:
		return c, fmt.Errorf("mail smtp: tls=%q is not one of none, starttls, tls", c.TLS)
	}
	if c.Port < 1 || c.Port > 65535 {
		return c, fmt.Errorf("mail smtp: port %d is not from 1 to 65535", c.Port)
	}
	if c.Auth == "" {
		c.Auth = AuthPlain
	}
	if c.Auth != AuthPlain && c.Auth != AuthLogin {
		return c, fmt.Errorf("mail smtp: auth=%q is not one of plain, login", c.Auth)
	}
	if c.Username == "" && c.Password != "" {
		return c, errors.New("mail smtp: a password is set without a user name")
	}
	if c.Username != "" && c.Password == "" {
		return c, fmt.Errorf("mail smtp: user %q has no password", c.Username)
	}
	if c.Username != "" && c.TLS == TLSNone && !isLoopback(c.Host) {
		return c, fmt.Errorf("mail smtp: refusing to send credentials to %s in clear text; use tls=starttls or tls=tls", c.Host)
	}
	if c.DialTimeout < 0 || c.Timeout < 0 {
		return c, errors.New("mail smtp: timeouts must not be negative")
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c, nil
}

// isLoopback reports whether host is one that go-mail lets a password reach
// over plain text: localhost, 127.0.0.1 or ::1.
func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// SMTP sends messages through an SMTP server, one connection per Send, so
// that it holds nothing between sends and any number of workers can share
// it. Build it with NewSMTP or New.
//
// It uses github.com/wneessen/go-mail, which builds the MIME message
// (multipart/alternative, quoted-printable, RFC 2047 headers) and speaks
// SMTP with STARTTLS and AUTH, and reports each refusal with its reply code.
type SMTP struct {
	cfg SMTPConfig
	tls *tls.Config
}

// NewSMTP returns a sender for cfg, after filling in its defaults and
// checking it. It does not connect: a server that is down is a transient
// error of the first Send, not a start-up failure.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = cfg.Host
	}
	return &SMTP{cfg: cfg, tls: tc}, nil
}

// String describes the sender as its URL with the password masked.
func (s *SMTP) String() string { return s.cfg.String() }

// Send delivers m. It returns an errs.Invalid error for an invalid message
// and an *Error for a failed delivery; IsPermanent tells them apart from
// those worth a retry. The whole send is bounded by ctx and by the
// configured Timeout, whichever ends first.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	msg, err := m.build(time.Now())
	if err != nil {
		return fmt.Errorf("send mail: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()

	// go-mail bounds each command by its own timeout but watches the
	// context only while dialing; closing the connection when ctx ends
	// makes the rest of the exchange honour it too. The deferred cancel
	// ends ctx, so this also closes a connection that go-mail leaves open
	// when it fails before sending (a refused AUTH or STARTTLS); after a
	// QUIT the second close does nothing.
	dial := func(dctx context.Context, _, _ string) (net.Conn, error) {
		conn, err := s.dial(dctx)
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { _ = conn.Close() })
		return conn, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(s.tls),
	}
	if s.cfg.TLS == TLSStartTLS {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	} else {
		// TLSImplicit is done by dial, before go-mail sees the connection.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		mech := gomail.SMTPAuthPlain
		if s.cfg.Auth == AuthLogin {
			mech = gomail.SMTPAuthLogin
		}
		opts = append(opts, gomail.WithSMTPAuth(mech),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("send mail: client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send mail %s to %s:%d: %w", msg.GetMessageID(), s.cfg.Host, s.cfg.Port, classify(ctx, err))
	}
	return nil
}

// dial connects to the server within DialTimeout and, for TLSImplicit,
// completes the TLS handshake.
func (s *SMTP) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)))
	if err != nil {
		return nil, err
	}
	if s.cfg.TLS != TLSImplicit {
		return conn, nil
	}
	tc := tls.Client(conn, s.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	return tc, nil
}

// classify wraps a go-mail error in an *Error. Only a 5xx reply to the
// message's own commands (MAIL FROM, RCPT TO, DATA), which go-mail reports
// as a *SendError, is permanent; a 5xx while connecting (greeting, STARTTLS,
// AUTH) says the set-up is wrong, and retrying after it is fixed delivers.
// When ctx has ended, its error joins the chain so that errors.Is finds
// context.DeadlineExceeded behind the closed connection.
func classify(ctx context.Context, err error) *Error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = fmt.Errorf("%w: %w", ctxErr, err)
	}
	e := &Error{Err: err}
	if se, ok := errors.AsType[*gomail.SendError](err); ok {
		e.Code = se.ErrorCode()
		e.Permanent = e.Code >= 500 && e.Code <= 599
	}
	return e
}

// compile-time checks that both senders are Senders.
var (
	_ Sender = (*SMTP)(nil)
	_ Sender = (*Dir)(nil)
)
