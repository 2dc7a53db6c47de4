package tenant

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/testenv"
)

// kindName names k in failure messages.
func kindName(k HostKind) string {
	switch k {
	case HostUnknown:
		return "HostUnknown"
	case HostDashboard:
		return "HostDashboard"
	case HostStore:
		return "HostStore"
	}
	return fmt.Sprintf("HostKind(%d)", int(k))
}

func TestResolverKind(t *testing.T) {
	tests := []struct {
		base, host string
		want       HostKind
		wantSlug   string
	}{
		{"localhost", "app.localhost:8080", HostDashboard, ""},
		{"localhost", "app.localhost", HostDashboard, ""},
		{"localhost", "APP.Localhost.", HostDashboard, ""},
		{"localhost", "localhost", HostDashboard, ""},
		{"localhost", "localhost:8080", HostDashboard, ""},
		{"localhost", "localhost.", HostDashboard, ""},
		{"localhost", "acme-tea.localhost:8080", HostStore, "acme-tea"},
		{"localhost", "acme-tea.localhost", HostStore, "acme-tea"},
		{"localhost", "ACME-TEA.LOCALHOST.", HostStore, "acme-tea"},
		{"localhost", "acme-tea.localhost.:443", HostStore, "acme-tea"},
		{"localhost", "a1b.localhost", HostStore, "a1b"},
		{"localhost", strings.Repeat("a", 63) + ".localhost", HostStore, strings.Repeat("a", 63)},
		{"localhost", "a.b.localhost", HostUnknown, ""},
		{"localhost", "shop.acme-tea.localhost", HostUnknown, ""},
		{"localhost", "www.localhost", HostUnknown, ""}, // reserved
		{"localhost", "admin.localhost", HostUnknown, ""},
		{"localhost", "ab.localhost", HostUnknown, ""}, // too short
		{"localhost", strings.Repeat("a", 64) + ".localhost", HostUnknown, ""},
		{"localhost", "-acme.localhost", HostUnknown, ""},
		{"localhost", "acme-.localhost", HostUnknown, ""},
		{"localhost", "ac--me.localhost", HostUnknown, ""},
		{"localhost", "acme_tea.localhost", HostUnknown, ""},
		{"localhost", "\u212Aacme.localhost", HostUnknown, ""}, // Kelvin sign folds to k
		{"localhost", "acmé.localhost", HostUnknown, ""},
		{"localhost", ".localhost", HostUnknown, ""},
		{"localhost", "acme-tea.localhost..", HostUnknown, ""},
		{"localhost", "evil.com", HostUnknown, ""},
		{"localhost", "localhost.evil.com", HostUnknown, ""},
		{"localhost", "acme-tea.localhost.evil.com", HostUnknown, ""},
		{"localhost", "acme-tealocalhost", HostUnknown, ""},
		{"localhost", "notlocalhost", HostUnknown, ""},
		{"localhost", "[::1]:8080", HostUnknown, ""},
		{"localhost", "[::1]", HostUnknown, ""},
		{"localhost", "127.0.0.1:8080", HostUnknown, ""},
		{"localhost", "", HostUnknown, ""},
		{"localhost", ":8080", HostUnknown, ""},
		{"Storefleet.App", "acme-tea.storefleet.app", HostStore, "acme-tea"},
		{"Storefleet.App", "app.storefleet.app", HostDashboard, ""},
		{"Storefleet.App", "storefleet.app:443", HostDashboard, ""},
		{"Storefleet.App", "acme-tea.localhost", HostUnknown, ""},
		{"Storefleet.App", "acme-tea.app", HostUnknown, ""},
	}
	for _, tt := range tests {
		r := NewResolver(nil, tt.base, time.Hour)
		kind, slug := r.Kind(tt.host)
		if kind != tt.want || slug != tt.wantSlug {
			t.Errorf("Kind(%q) under %q = %s, %q; want %s, %q", tt.host, tt.base, kindName(kind), slug, kindName(tt.want), tt.wantSlug)
		}
	}
}

// hostOnly lowercases host, drops its port and one trailing dot: what Kind
// compares with the base domain.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

func FuzzKind(f *testing.F) {
	for _, h := range []string{
		"app.localhost:8080", "localhost", "acme-tea.localhost:8080", "ACME-TEA.LOCALHOST.", "a.b.localhost",
		"www.localhost", "evil.com", "localhost.evil.com", "[::1]:8080", "", "acme-tea.localhost.:1",
		"\u212aacme.localhost", "xn--acme-tea.localhost", "acme-tea.localhost:", ":", "a:b:c.localhost",
	} {
		f.Add(h)
	}
	resolvers := []*Resolver{NewResolver(nil, "localhost", time.Hour), NewResolver(nil, "storefleet.app", time.Hour)}
	f.Fuzz(func(t *testing.T, host string) {
		for _, r := range resolvers {
			kind, slug := r.Kind(host)
			h := hostOnly(host)
			switch kind {
			case HostStore:
				if err := ValidateSlug(slug); err != nil {
					t.Fatalf("Kind(%q) = HostStore, %q; ValidateSlug(%q) = %v, want nil", host, slug, slug, err)
				}
				if !strings.HasSuffix(h, "."+r.baseDomain) || h != slug+"."+r.baseDomain {
					t.Fatalf("Kind(%q) = HostStore, %q; host %q is not the slug under %q", host, slug, h, r.baseDomain)
				}
			case HostDashboard:
				if slug != "" || (h != r.baseDomain && h != "app."+r.baseDomain) {
					t.Fatalf("Kind(%q) = HostDashboard, %q; want only %q or app.%s, and no slug", host, slug, r.baseDomain, r.baseDomain)
				}
			case HostUnknown:
				if slug != "" {
					t.Fatalf("Kind(%q) = HostUnknown, %q; want no slug", host, slug)
				}
			default:
				t.Fatalf("Kind(%q) = %d, want one of the three kinds", host, kind)
			}
		}
	})
}

var suggestedSlug = regexp.MustCompile(`^[a-z0-9-]*$`)

func FuzzSuggestSlug(f *testing.F) {
	for _, s := range []string{
		"Acme Tea", "Crème Brûlée & Co.", "  --leading and trailing--  ", "日本のお茶", "", "a--b", "Ǆemal",
		"ﬁne ﬂowers", "\u212a", strings.Repeat("ab-", 40), strings.Repeat("x", 62) + " y", "\xff\xfe", "Ω≈ç√",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := SuggestSlug(name)
		if !suggestedSlug.MatchString(got) {
			t.Fatalf("SuggestSlug(%q) = %q, want only [a-z0-9-]", name, got)
		}
		if strings.HasPrefix(got, "-") || strings.HasSuffix(got, "-") || strings.Contains(got, "--") {
			t.Fatalf("SuggestSlug(%q) = %q, want no leading, trailing or double hyphen", name, got)
		}
		if len(got) > 63 {
			t.Fatalf("SuggestSlug(%q) = %q (%d bytes), want at most 63", name, got, len(got))
		}
		if again := SuggestSlug(got); again != got {
			t.Fatalf("SuggestSlug(%q) = %q, but SuggestSlug(%q) = %q; want it stable", name, got, got, again)
		}
		// Long enough and not reserved, a suggestion is a valid slug.
		if len(got) >= 3 && !isReserved(got) {
			if err := ValidateSlug(got); err != nil {
				t.Fatalf("SuggestSlug(%q) = %q; ValidateSlug = %v, want nil", name, got, err)
			}
		}
	})
}

func isReserved(slug string) bool {
	for _, r := range ReservedSlugs {
		if r == slug {
			return true
		}
	}
	return false
}

// within calls check every 20ms until it returns nil, for at most d, and
// fails the test with check's last error if it never does.
func within(t testing.TB, d time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runResolver runs r.Run until the test ends, and returns once r has
// subscribed: Run drops the whole cache whenever it subscribes, so a
// sentinel entry planted before it starts disappears then and only then
// (no store has a negative id, so no change message can name it).
func runResolver(t testing.TB, r *Resolver) {
	t.Helper()
	const sentinel = "sentinel-not-a-slug"
	r.mu.Lock()
	r.entries[sentinel] = cacheEntry{t: &Tenant{ID: -1, Slug: sentinel}, expires: time.Now().Add(time.Hour)}
	r.mu.Unlock()

	rdb := testenv.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, rdb) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Resolver.Run after its context ended = %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Resolver.Run did not return within 5s of its context ending")
		}
	})

	within(t, 5*time.Second, "Resolver.Run subscribes", func() error {
		select {
		case err := <-done:
			t.Fatalf("Resolver.Run returned early: %v", err)
		default:
		}
		r.mu.Lock()
		_, ok := r.entries[sentinel]
		r.mu.Unlock()
		if ok {
			return errors.New("cache not dropped yet")
		}
		return nil
	})
	// And Redis agrees someone listens on the channel.
	n, err := rdb.PubSubNumSub(context.Background(), changesChannel).Result()
	if err != nil || n[changesChannel] < 1 {
		t.Fatalf("PUBSUB NUMSUB %s = %v, %v; want at least 1 subscriber", changesChannel, n, err)
	}
}

// TestResolverFollowsChanges: two processes (two handles on one database);
// one changes stores, the other's resolver, with an hour-long TTL, sees each
// change within a second because of the Redis invalidation.
func TestResolverFollowsChanges(t *testing.T) {
	url := testenv.Database(t)
	d1 := newTestDB(t, url, 4)
	d2 := newTestDB(t, url, 4)
	ctx := context.Background()
	const slug = "resolve-me"
	tn := provision(t, d1, slug)

	r2 := NewResolver(d2, "localhost", time.Hour)
	runResolver(t, r2)
	// r3 never hears of changes: with the same TTL it keeps what it cached,
	// which shows that r2 sees changes through the invalidation, not by
	// reading the database each time.
	r3 := NewResolver(d2, "localhost", time.Hour)

	want, err := d1.TenantBySlug(ctx, slug)
	if err != nil {
		t.Fatalf("TenantBySlug(%q) = %v", slug, err)
	}
	for name, r := range map[string]*Resolver{"r2": r2, "r3": r3} {
		got, err := r.Store(ctx, slug)
		if err != nil {
			t.Fatalf("%s.Store(%q) = %v, want the active store", name, slug, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s.Store(%q) mismatch (-want +got):\n%s", name, slug, diff)
		}
	}

	// A payload that is not a store id is ignored, and Run keeps listening.
	if err := testenv.Redis(t).Publish(ctx, changesChannel, "not-an-id").Err(); err != nil {
		t.Fatalf("publish garbage: %v", err)
	}

	if _, err := d1.SetStatus(ctx, tn.ID, Suspended); err != nil {
		t.Fatalf("SetStatus(%d, suspended) = %v", tn.ID, err)
	}
	within(t, time.Second, "r2 sees the suspension", func() error {
		got, err := r2.Store(ctx, slug)
		if !errors.Is(err, ErrSuspended) {
			return fmt.Errorf("r2.Store(%q) = %v, %v; want ErrSuspended", slug, got, err)
		}
		if got == nil || got.ID != tn.ID || got.Status != Suspended {
			return fmt.Errorf("r2.Store(%q) = %+v, ErrSuspended; want the suspended store with it", slug, got)
		}
		return nil
	})
	if _, err := r2.Store(ctx, slug); errs.KindOf(err) != errs.Forbidden {
		t.Errorf("r2.Store(%q) of a suspended store = %v, want kind %q", slug, err, errs.Forbidden)
	}
	if got, err := r3.Store(ctx, slug); err != nil || got.Status != Active {
		t.Errorf("r3.Store(%q) (no invalidation, 1h TTL) = %+v, %v; want the cached active store", slug, got, err)
	}

	if _, err := d1.SetStatus(ctx, tn.ID, Active); err != nil {
		t.Fatalf("SetStatus(%d, active) = %v", tn.ID, err)
	}
	within(t, time.Second, "r2 sees the store resumed", func() error {
		got, err := r2.Store(ctx, slug)
		if err != nil || got == nil || got.ID != tn.ID || got.Status != Active {
			return fmt.Errorf("r2.Store(%q) = %+v, %v; want the active store", slug, got, err)
		}
		return nil
	})

	// A store that does not exist yet is cached as missing, and found as
	// soon as it is provisioned elsewhere.
	const later = "opens-later"
	for name, r := range map[string]*Resolver{"r2": r2, "r3": r3} {
		got, err := r.Store(ctx, later)
		if !errors.Is(err, ErrTenantNotFound) || got != nil {
			t.Fatalf("%s.Store(%q) = %+v, %v; want nil, ErrTenantNotFound", name, later, got, err)
		}
		if errs.KindOf(err) != errs.NotFound {
			t.Errorf("%s.Store(%q) = %v, want kind %q", name, later, err, errs.NotFound)
		}
	}
	opened := provision(t, d1, later)
	within(t, time.Second, "r2 finds the new store", func() error {
		got, err := r2.Store(ctx, later)
		if err != nil || got == nil || got.ID != opened.ID {
			return fmt.Errorf("r2.Store(%q) = %+v, %v; want store %d", later, got, err, opened.ID)
		}
		return nil
	})
	if got, err := r3.Store(ctx, later); !errors.Is(err, ErrTenantNotFound) {
		t.Errorf("r3.Store(%q) (no invalidation, 1h TTL) = %+v, %v; want the cached ErrTenantNotFound", later, got, err)
	}
	// The first store was not disturbed by the new one.
	if got, err := r2.Store(ctx, slug); err != nil || got.ID != tn.ID {
		t.Errorf("r2.Store(%q) = %+v, %v; want store %d", slug, got, err, tn.ID)
	}
}

// TestResolverTTL: without invalidations, a change is seen once the entry
// expires.
func TestResolverTTL(t *testing.T) {
	url := testenv.Database(t)
	d1 := newTestDB(t, url, 4)
	d2 := newTestDB(t, url, 4)
	ctx := context.Background()
	tn := provision(t, d1, "short-lived")

	r := NewResolver(d2, "localhost", 100*time.Millisecond)
	if _, err := r.Store(ctx, tn.Slug); err != nil {
		t.Fatalf("Store(%q) = %v, want the active store", tn.Slug, err)
	}
	if _, err := d1.SetStatus(ctx, tn.ID, Suspended); err != nil {
		t.Fatalf("SetStatus(%d, suspended) = %v", tn.ID, err)
	}
	within(t, 2*time.Second, "the entry expires", func() error {
		if _, err := r.Store(ctx, tn.Slug); !errors.Is(err, ErrSuspended) {
			return fmt.Errorf("Store(%q) = %v, want ErrSuspended", tn.Slug, err)
		}
		return nil
	})
}

// TestResolverConcurrent runs many lookups while the store flips status and
// Run drops entries, for the race detector; every answer is one of the two
// states.
func TestResolverConcurrent(t *testing.T) {
	url := testenv.Database(t)
	d1 := newTestDB(t, url, 4)
	d2 := newTestDB(t, url, 8)
	ctx := context.Background()
	tn := provision(t, d1, "busy-store")
	r := NewResolver(d2, "localhost", time.Hour)
	runResolver(t, r)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := r.Store(ctx, tn.Slug)
				switch {
				case err == nil && got.ID == tn.ID && got.Status == Active:
				case errors.Is(err, ErrSuspended) && got.ID == tn.ID && got.Status == Suspended:
				default:
					t.Errorf("Store(%q) = %+v, %v; want the store, active or suspended", tn.Slug, got, err)
					return
				}
				if _, err := r.Store(ctx, "never-opened"); !errors.Is(err, ErrTenantNotFound) {
					t.Errorf("Store(never-opened) = %v, want ErrTenantNotFound", err)
					return
				}
			}
		})
	}
	for i := range 10 {
		status := Suspended
		if i%2 == 1 {
			status = Active
		}
		if _, err := d1.SetStatus(ctx, tn.ID, status); err != nil {
			t.Errorf("SetStatus(%d, %s) = %v", tn.ID, status, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	// The last change (active) wins.
	within(t, time.Second, "the last status", func() error {
		if got, err := r.Store(ctx, tn.Slug); err != nil || got.Status != Active {
			return fmt.Errorf("Store(%q) = %+v, %v; want the active store", tn.Slug, got, err)
		}
		return nil
	})
}

// TestResolverDatabaseDown: a lookup that fails is returned as it is, not
// cached as a missing store.
func TestResolverDatabaseDown(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 1)
	d.Close()
	r := NewResolver(d, "localhost", time.Hour)
	got, err := r.Store(context.Background(), "acme-tea")
	if err == nil || errors.Is(err, ErrTenantNotFound) || got != nil {
		t.Fatalf("Store(acme-tea) on a closed database = %+v, %v; want nil and a database error", got, err)
	}
	if k := errs.KindOf(err); k != errs.Internal {
		t.Errorf("Store(acme-tea) on a closed database = %v, want kind %q", err, errs.Internal)
	}
	r.mu.Lock()
	n := len(r.entries)
	r.mu.Unlock()
	if n != 0 {
		t.Errorf("after a failed lookup the cache holds %d entries, want 0", n)
	}
}
