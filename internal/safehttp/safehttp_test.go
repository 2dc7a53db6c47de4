package safehttp

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestPublic(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"8.8.8.8", true},
		{"2606:4700:4700::1111", true},
		{"127.0.0.1", false},
		{"::1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"100.64.0.1", false},
		{"0.0.0.0", false},
		{"::ffff:127.0.0.1", false},
		{"fd00::1", false},
		{"fe80::1", false},
		{"224.0.0.1", false},
		{"64:ff9b::a00:1", false},
	} {
		if got := Public(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Public(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}

func TestClientRefusesLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secret")) }))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	strict := NewClient(Options{Timeout: 2 * time.Second})
	if _, err := Get(ctx, strict, srv.URL); !IsForbidden(err) {
		t.Fatalf("Get(%s) with a strict client = %v, want ErrForbiddenAddress", srv.URL, err)
	}
	// By name too: localhost and its subdomains are loopback.
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, named := range []string{"http://localhost:" + port, "http://shop.localhost:" + port} {
		if _, err := Get(ctx, strict, named); !IsForbidden(err) {
			t.Fatalf("Get(%s) with a strict client = %v, want ErrForbiddenAddress", named, err)
		}
	}

	// A public-looking start that redirects inward is caught at the redirect.
	hop := httptest.NewServer(http.RedirectHandler(srv.URL, http.StatusFound))
	defer hop.Close()
	loose := NewClient(Options{AllowPrivate: true, Timeout: 2 * time.Second})
	if resp, err := Get(ctx, loose, "http://shop.localhost:"+port); err != nil {
		t.Fatalf("Get(shop.localhost) with AllowPrivate = %v, want it dialled at 127.0.0.1", err)
	} else {
		resp.Body.Close()
	}
	resp, err := Get(ctx, loose, hop.URL)
	if err != nil {
		t.Fatalf("Get(%s) with AllowPrivate = %v, want success", hop.URL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Get(%s) with AllowPrivate: status %d, want 200", hop.URL, resp.StatusCode)
	}
}

type fakeNames map[string][]netip.Addr

func (f fakeNames) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// TestCheckHost: a host is refused when it is, or resolves to, anything
// not public, naming the address; a name with no address is its own error.
func TestCheckHost(t *testing.T) {
	names := fakeNames{"pub.example": {netip.MustParseAddr("93.184.215.14")},
		"mixed.example": {netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("192.168.1.1")}}
	for _, tc := range []struct {
		host      string
		forbidden string // the address named, or "" for allowed
		unknown   bool
	}{
		{host: "93.184.215.14"}, {host: "pub.example"}, {host: "pub.example."},
		{host: "127.0.0.1", forbidden: "127.0.0.1"}, {host: "[::1]", forbidden: "::1"}, {host: "::1", forbidden: "::1"},
		{host: "10.0.0.5", forbidden: "10.0.0.5"}, {host: "169.254.169.254", forbidden: "169.254.169.254"},
		{host: "224.0.0.1", forbidden: "224.0.0.1"}, {host: "::", forbidden: "::"},
		{host: "localhost", forbidden: "127.0.0.1"}, {host: "a.b.localhost", forbidden: "127.0.0.1"},
		{host: "mixed.example", forbidden: "192.168.1.1"}, {host: "nowhere.example", unknown: true},
	} {
		err := CheckHost(context.Background(), names, tc.host)
		var ae *AddrError
		switch {
		case tc.unknown:
			if !errors.Is(err, ErrUnresolvable) {
				t.Errorf("CheckHost(%q) = %v, want ErrUnresolvable", tc.host, err)
			}
		case tc.forbidden != "":
			if !errors.As(err, &ae) || ae.Addr.String() != tc.forbidden || !IsForbidden(err) {
				t.Errorf("CheckHost(%q) = %v, want refused for %s", tc.host, err, tc.forbidden)
			}
		case err != nil:
			t.Errorf("CheckHost(%q) = %v, want nil", tc.host, err)
		}
	}
}
