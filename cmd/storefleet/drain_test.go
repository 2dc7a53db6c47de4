package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/testenv"
)

// TestSIGTERMDrainsInFlightRequests starts the real binary (this test
// binary, running main), begins a sign-up whose body is still arriving,
// sends SIGTERM, and checks that the server stops taking new connections,
// finishes the request, and exits cleanly.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	url := testenv.Database(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), "STOREFLEET_RUN_MAIN=1", "DATABASE_URL="+url, "REDIS_URL="+testenv.RedisURL(), "HTTP_ADDR="+addr)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up within 10s:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"email":"slow@drain.example","password":"correct-Horse-battery-9","store_name":"Slow Shop","slug":"slow-shop"}`
	fmt.Fprintf(conn, "POST /api/signup HTTP/1.1\r\nHost: app.localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:20])
	time.Sleep(200 * time.Millisecond) // the server is now reading the body

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused once the drain begins.
	for deadline := time.Now().Add(3 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("server still accepts connections 3s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-exited:
		t.Fatalf("server exited (%v) with a request in flight:\n%s", err, logs)
	default:
	}

	conn.Write([]byte(body[20:]))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request after SIGTERM: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("in-flight sign-up after SIGTERM = %d, want 201", resp.StatusCode)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("server exit after drain = %v, want a clean exit:\n%s", err, logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("server did not exit within 10s of finishing its last request")
	}
	if !strings.Contains(logs.String(), "draining in-flight requests") {
		t.Errorf("server log does not mention the drain:\n%s", logs)
	}
}
