package testenv

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

const stripeHint = "install stripe-mock with `deploy/local/services.sh stripe` (make test does it)"

// stripeMockPath finds the stripe-mock binary: $STRIPE_MOCK_PATH, then
// $(go env GOPATH)/bin, where deploy/local/services.sh installs it, then PATH.
func stripeMockPath() (string, bool) {
	if p := os.Getenv("STRIPE_MOCK_PATH"); p != "" {
		return p, true
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = string(bytes.TrimSpace(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "stripe-mock")
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	p, err := exec.LookPath("stripe-mock")
	return p, err == nil
}

// freePort returns a loopback TCP port nobody listens on at the moment.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StripeMock starts a stripe-mock of the test's own on free loopback ports,
// waits until it answers, and returns its base URL (http://127.0.0.1:<port>).
// It is stopped when the test ends. stripe-mock is stateless: it checks
// requests against Stripe's OpenAPI description and answers with fixtures.
func StripeMock(t testing.TB) string {
	t.Helper()
	bin, ok := stripeMockPath()
	if !ok {
		t.Fatalf("no stripe-mock binary; %s", stripeHint)
	}
	var out bytes.Buffer
	for try := 0; ; try++ {
		httpPort, httpsPort := freePort(t), freePort(t)
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, "-http-port", strconv.Itoa(httpPort), "-https-port", strconv.Itoa(httpsPort))
		out.Reset()
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatalf("start %s: %v; %s", bin, err, stripeHint)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() { cancel(); <-exited }
		base := "http://127.0.0.1:" + strconv.Itoa(httpPort)
		if waitStripeMock(base, exited) {
			t.Cleanup(stop)
			return base
		}
		stop()
		if try == 2 { // a port taken between freePort and the start, three times over: give up
			t.Fatalf("stripe-mock at %s did not answer within 10 s:\n%s", base, out.String())
		}
	}
}

// waitStripeMock polls base until stripe-mock answers, it exits, or 10 s pass.
func waitStripeMock(base string, exited <-chan struct{}) bool {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/balance", nil)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}
