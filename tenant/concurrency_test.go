package tenant

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/testenv"
)

// TestProvisionManyAtOnce: more concurrent sign-ups than the pool has
// connections all finish (they used to wait for each other's connections
// for ever).
func TestProvisionManyAtOnce(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 4)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = d.Provision(ctx, NewStore{Slug: fmt.Sprintf("crowd-%02d", i), Name: "Crowd"}, nil)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Provision #%d = %v", i, err)
		}
	}
}

// TestShardCapacityHoldsAcrossProcesses: two control-plane handles (two
// processes) provisioning at once never put more stores on a shard than its
// capacity.
func TestShardCapacityHoldsAcrossProcesses(t *testing.T) {
	url := testenv.Database(t)
	one, two := newTestDB(t, url, 6), newTestDB(t, url, 6)
	ctx := context.Background()
	provision(t, one, "first-in")
	if err := one.SetShard(ctx, 1, 2, "open"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]error, 6)
	for i := range results {
		d := one
		if i%2 == 1 {
			d = two
		}
		wg.Go(func() {
			_, results[i] = d.Provision(ctx, NewStore{Slug: fmt.Sprintf("squeeze-%d", i), Name: "Squeeze"}, nil)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range results {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrNoShardRoom):
			t.Errorf("Provision on a nearly full shard = %v, want nil or ErrNoShardRoom", err)
		}
	}
	shards, _ := one.Shards(ctx)
	if won != 1 || shards[0].Stores != 2 {
		t.Errorf("%d provisions succeeded and shard 1 holds %d stores, want 1 and 2 (its capacity)", won, shards[0].Stores)
	}
}
