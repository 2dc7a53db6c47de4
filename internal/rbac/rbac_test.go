package rbac_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/internal/testenv"
)

func openDB(t testing.TB) *gorm.DB {
	t.Helper()
	cfg, err := pg.ParseURL(testenv.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	db, err := pg.Open(context.Background(), cfg, pg.Pool{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db.Gorm
}

func newEnforcer(t testing.TB, db *gorm.DB) *rbac.Enforcer {
	t.Helper()
	e, err := rbac.New(db, testenv.Redis(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("rbac.New = %v", err)
	}
	return e
}

func assign(t testing.TB, db *gorm.DB, sub, role, store string) rbac.Rule {
	t.Helper()
	r, err := rbac.Assign(db, sub, role, store)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRolesAndScopes(t *testing.T) {
	db := openDB(t)
	s1, s2 := rbac.Store(1), rbac.Store(2)
	owner, viewer, packer, staff := rbac.Account(10), rbac.Account(11), rbac.Account(12), rbac.Account(13)
	readTok, writeTok := rbac.Token(20), rbac.Token(21)
	assign(t, db, owner, rbac.Role("owner"), s1)
	assign(t, db, viewer, rbac.Role("viewer"), s1)
	assign(t, db, packer, rbac.Role("fulfillment"), s1)
	assign(t, db, staff, rbac.Role("staff"), s1)
	assign(t, db, readTok, rbac.Scope("read_products"), s1)
	assign(t, db, writeTok, rbac.Scope("write_products"), s1)
	assign(t, db, writeTok, rbac.Scope("read_customers"), s1)
	e := newEnforcer(t, db)

	for _, tc := range []struct {
		sub, store, obj, act string
		want                 bool
	}{
		{owner, s1, "products", rbac.Write, true},
		{owner, s1, "staff", rbac.Write, true},
		{owner, s2, "products", rbac.Read, false}, // another store
		{viewer, s1, "orders", rbac.Read, true},
		{viewer, s1, "orders", rbac.Write, false},
		{packer, s1, "fulfillments", rbac.Write, true},
		{packer, s1, "customers", rbac.Read, false},
		{staff, s1, "products", rbac.Write, true},
		{staff, s1, "shop", rbac.Write, false},
		{staff, s1, "staff", rbac.Read, false},
		{readTok, s1, "products", rbac.Read, true},
		{readTok, s1, "products", rbac.Write, false},
		{readTok, s2, "products", rbac.Read, false},
		{writeTok, s1, "products", rbac.Read, true}, // write implies read
		{writeTok, s1, "products", rbac.Write, true},
		{writeTok, s1, "customers", rbac.Read, true},
		{writeTok, s1, "customers", rbac.Write, false},
		{writeTok, s1, "inventory", rbac.Read, false},
		{rbac.Token(99), s1, "products", rbac.Read, false}, // unknown subject
	} {
		got, err := e.Allowed(tc.sub, tc.store, tc.obj, tc.act)
		if err != nil || got != tc.want {
			t.Errorf("Allowed(%s, %s, %s, %s) = %v, %v; want %v", tc.sub, tc.store, tc.obj, tc.act, got, err, tc.want)
		}
	}
}

// TestChangesReachEveryProcess: an assignment made and announced by one
// process is enforced by another within a second, without a reload.
func TestChangesReachEveryProcess(t *testing.T) {
	db := openDB(t)
	here, other := newEnforcer(t, db), newEnforcer(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { other.Run(ctx, time.Hour); close(done) }()
	time.Sleep(100 * time.Millisecond) // let it subscribe

	tok, store := rbac.Token(7), rbac.Store(3)
	if ok, _ := other.Allowed(tok, store, "products", rbac.Read); ok {
		t.Fatal("token allowed before any assignment")
	}
	r := assign(t, db, tok, rbac.Scope("read_products"), store)
	if err := here.Publish(ctx, rbac.Change{Added: []rbac.Rule{r}}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := here.Allowed(tok, store, "products", rbac.Read); !ok {
		t.Errorf("the publishing process does not enforce its own change at once")
	}
	waitFor(t, func() bool { ok, _ := other.Allowed(tok, store, "products", rbac.Read); return ok }, "assignment to reach the other process")

	removed, err := rbac.Unassign(db, tok, store)
	if err != nil || len(removed) != 1 || removed[0] != r {
		t.Fatalf("Unassign = %v, %v; want the one rule %v", removed, err, r)
	}
	here.Publish(ctx, rbac.Change{Removed: removed})
	waitFor(t, func() bool { ok, _ := other.Allowed(tok, store, "products", rbac.Read); return !ok }, "revocation to reach the other process")

	// A new permission rule (a store's custom role) reaches the other
	// process too, by a reload it is told to do.
	custom := rbac.Role("custom:3:1")
	if err := db.Exec(`INSERT INTO platform.casbin_rule (ptype, v0, v1, v2) VALUES ('p', ?, 'orders', 'read')`, custom).Error; err != nil {
		t.Fatal(err)
	}
	assign(t, db, tok, custom, store)
	if err := here.Publish(ctx, rbac.Change{Reload: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { ok, _ := other.Allowed(tok, store, "orders", rbac.Read); return ok }, "a new role's rule to reach the other process")

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func waitFor(t testing.TB, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("waited 1s for the %s", what)
}

// BenchmarkAllowed measures one check with 10,000 stores' assignments loaded
// (an owner, a staff member and two tokens per store: 50,000 rules).
func BenchmarkAllowed(b *testing.B) {
	db := openDB(b)
	const stores = 10_000
	err := db.Exec(`INSERT INTO platform.casbin_rule (ptype, v0, v1, v2)
		SELECT 'g', 'account:' || s, 'role:owner', 'store:' || s FROM generate_series(1, ?) s
		UNION ALL SELECT 'g', 'account:' || (s + 1000000), 'role:staff', 'store:' || s FROM generate_series(1, ?) s
		UNION ALL SELECT 'g', 'token:' || s, 'scope:write_products', 'store:' || s FROM generate_series(1, ?) s
		UNION ALL SELECT 'g', 'token:' || s, 'scope:read_orders', 'store:' || s FROM generate_series(1, ?) s
		UNION ALL SELECT 'g', 'token:' || (s + 1000000), 'scope:read_customers', 'store:' || s FROM generate_series(1, ?) s`,
		stores, stores, stores, stores, stores).Error
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	e := newEnforcer(b, db)
	load := time.Since(start)
	b.ResetTimer()
	for i := range b.N {
		s := int64(i%stores + 1)
		ok, err := e.Allowed(rbac.Token(s), rbac.Store(s), "orders", rbac.Read)
		if err != nil || !ok {
			b.Fatalf("Allowed(token %d) = %v, %v", s, ok, err)
		}
	}
	b.ReportMetric(float64(load.Milliseconds()), "policy-load-ms")
}

func ExampleStore() {
	fmt.Println(rbac.Store(5), rbac.Account(3), rbac.Token(9), rbac.Role("owner"), rbac.Scope("read_products"))
	// Output: store:5 account:3 token:9 role:owner scope:read_products
}

// TestPeriodicReloadCatchesUp: a change whose announcement was lost reaches
// a process at its next reload.
func TestPeriodicReloadCatchesUp(t *testing.T) {
	db := openDB(t)
	e := newEnforcer(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Run(ctx, 100*time.Millisecond)
	assign(t, db, rbac.Account(5), rbac.Role("viewer"), rbac.Store(5)) // never announced
	waitFor(t, func() bool { ok, _ := e.Allowed(rbac.Account(5), rbac.Store(5), "orders", rbac.Read); return ok }, "periodic reload")
}
