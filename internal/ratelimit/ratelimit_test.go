package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/testenv"
)

func newKey() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "test:" + hex.EncodeToString(b)
}

func TestBucketFillsAndLeaks(t *testing.T) {
	l := New(testenv.Redis(t))
	ctx := context.Background()
	key := newKey()
	b := Bucket{Capacity: 5, Leak: 10} // drains one request every 100 ms
	for i := 1; i <= 5; i++ {
		r, err := l.Take(ctx, key, b)
		if err != nil {
			t.Fatal(err)
		}
		// Leaking may drain a little between calls; it never overflows.
		if !r.Allowed || r.Used() > i || r.Capacity != 5 {
			t.Fatalf("Take #%d = %+v, want allowed with at most %d used of 5", i, r, i)
		}
	}
	r, err := l.Take(ctx, key, b)
	if err != nil {
		t.Fatal(err)
	}
	if r.Allowed {
		// Five calls may take over 100 ms on a loaded machine; then one
		// request has leaked out. Fill it up again.
		r, _ = l.Take(ctx, key, b)
	}
	if r.Allowed || r.RetryAfter <= 0 || r.RetryAfter > 100*time.Millisecond {
		t.Fatalf("Take on a full bucket = %+v, want refused with a wait of at most 100ms", r)
	}
	time.Sleep(r.RetryAfter + 20*time.Millisecond)
	if r, _ := l.Take(ctx, key, b); !r.Allowed {
		t.Errorf("Take after waiting RetryAfter = %+v, want allowed", r)
	}
}

// TestBucketHoldsUnderConcurrency: many clients at once never get more than
// the bucket holds (plus what leaks meanwhile).
func TestBucketHoldsUnderConcurrency(t *testing.T) {
	rdb := testenv.Redis(t)
	key := newKey()
	b := Bucket{Capacity: 40, Leak: 2}
	start := time.Now()
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for range 8 { // eight "servers", each with its own limiter
		l := New(rdb)
		wg.Go(func() {
			for range 25 {
				r, err := l.Take(context.Background(), key, b)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	leaked := int(time.Since(start).Seconds()*b.Leak) + 1
	if allowed < b.Capacity || allowed > b.Capacity+leaked {
		t.Errorf("200 concurrent requests against a bucket of 40: %d allowed, want 40 to %d", allowed, b.Capacity+leaked)
	}
}

func TestBucketsAreSeparate(t *testing.T) {
	l := New(testenv.Redis(t))
	b := Bucket{Capacity: 1, Leak: 0.01}
	k1, k2 := newKey(), newKey()
	if r, _ := l.Take(context.Background(), k1, b); !r.Allowed {
		t.Fatalf("first Take on %s refused", k1)
	}
	if r, _ := l.Take(context.Background(), k2, b); !r.Allowed {
		t.Errorf("Take on %s refused after %s filled up; buckets must not share", k2, k1)
	}
}
