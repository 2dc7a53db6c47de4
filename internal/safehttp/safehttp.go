// Package safehttp fetches URLs that merchants and partners give us —
// product image sources, webhook endpoints — without letting them point the
// platform at itself: the address is checked when the connection is dialled
// (after DNS, so a name that resolves to 127.0.0.1 is caught too, and so is a
// redirect), and private, loopback, link-local and other special ranges are
// refused unless the client was built to allow them (development and tests).
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress is returned (wrapped) when a URL leads to an address
// the client may not reach.
var ErrForbiddenAddress = errors.New("address is not public")

// Options tune a client.
type Options struct {
	// AllowPrivate lets the client reach loopback and private addresses:
	// for local development and tests only.
	AllowPrivate bool
	// Timeout bounds a whole request, body included.
	Timeout time.Duration
}

// NewClient returns an HTTP client that refuses non-public addresses (unless
// o.AllowPrivate), follows at most 5 redirects, and gives up after o.Timeout.
func NewClient(o Options) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		d.Control = refusePrivate
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us, past the check
		DialContext:           localhostDialer(d),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			return nil
		},
	}
}

// localhostDialer dials names under .localhost at 127.0.0.1, as RFC 6761
// has it and as browsers do (Go's resolver asks DNS, which does not know
// them). The address check still applies: only a client allowed to reach
// loopback gets there.
func localhostDialer(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && (strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost")) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return d.DialContext(ctx, network, addr)
	}
}

// refusePrivate runs after name resolution, on the address about to be
// dialled, so that neither DNS tricks nor redirects get past it.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	if !Public(ip) {
		return fmt.Errorf("dial %s: %w", address, ErrForbiddenAddress)
	}
	return nil
}

// special lists ranges that are not ordinary public unicast addresses
// beyond what netip's predicates cover.
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64 can reach IPv4 private space
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
}

// Public reports whether ip is an ordinary public unicast address.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range special {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Resolver looks a host name up. *net.Resolver is the one the fleet uses;
// tests swap in another, since their names need not exist.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ErrUnresolvable is returned (wrapped) by CheckHost when the host's name
// has no address, or none in time.
var ErrUnresolvable = errors.New("host could not be resolved")

// ResolveTimeout bounds CheckHost's lookup: a person is waiting for the answer.
const ResolveTimeout = 3 * time.Second

// CheckHost is the check a URL given to us gets when it is saved, so that a
// person is told at once rather than when it is first fetched: host (an IP
// literal, or a name looked up through r within ResolveTimeout; names under
// .localhost are loopback, as when dialled) must lead only to public
// addresses. The dial-time check still applies, for names that change later.
//
// Errors: ErrForbiddenAddress (wrapped, *AddrError naming the address),
// ErrUnresolvable (wrapped).
func CheckHost(ctx context.Context, r Resolver, host string) error {
	host = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ".")
	var addrs []netip.Addr
	switch ip, err := netip.ParseAddr(host); {
	case err == nil:
		addrs = []netip.Addr{ip}
	case strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost"):
		addrs = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	default:
		ctx, cancel := context.WithTimeout(ctx, ResolveTimeout)
		defer cancel()
		addrs, err = r.LookupNetIP(ctx, "ip", host)
		if err != nil || len(addrs) == 0 {
			return fmt.Errorf("look up %s: %w", host, ErrUnresolvable)
		}
	}
	for _, ip := range addrs {
		if !Public(ip) {
			return &AddrError{Host: host, Addr: ip.Unmap()}
		}
	}
	return nil
}

// AddrError is CheckHost's refusal of host because it leads to Addr, which
// the message names so that a person can see why.
type AddrError struct {
	Host string
	Addr netip.Addr
}

func (e *AddrError) Error() string {
	return fmt.Sprintf("%s leads to %s: %v", e.Host, e.Addr, ErrForbiddenAddress)
}

// Unwrap makes an AddrError an ErrForbiddenAddress for IsForbidden.
func (e *AddrError) Unwrap() error { return ErrForbiddenAddress }

// IsForbidden reports whether err came from refusing a non-public address.
func IsForbidden(err error) bool { return errors.Is(err, ErrForbiddenAddress) }

// Get fetches rawURL with c, bounded by ctx.
func Get(ctx context.Context, c *http.Client, rawURL string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "Storefleet/1 (+image fetch)")
	return c.Do(req)
}
