package workers_test

import (
	"context"
	"sync"
	"testing"

	"github.com/storefleet/storefleet/workers"
)

// start runs fleet until the stop it returns is called, or the test ends
// (whichever comes first); stop waits for Run to return and reports its
// error. It is registered with t.Cleanup after the test's Redis client, so
// the fleet stops before that client closes, even when the test fails.
func start(t testing.TB, fleet *workers.Fleet) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fleet.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
