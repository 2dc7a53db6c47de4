package tenant

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/migrations"
)

var benchStores = flag.Int("stores", 1000, "stores BenchmarkFleet provisions into one database")

// BenchmarkFleet provisions -stores stores into one fresh database, one after
// another, then migrates them all and reads through the door. It reports:
//
//   - provision-median-ms: the median time to provision a store;
//   - provision-10th-ms, provision-last-ms: the median of the ten stores
//     around the 10th and of the last ten, and their ratio (is provisioning
//     slowing down as the database fills?);
//   - migrate-all-s: one new tenant migration applied to every store
//     (MigrateStores, 4 at a time);
//   - door-p50-us, door-p99-us: a read-only door transaction reading one row
//     of a random store, on a warm pool of 8 connections.
//
// Run with: go test -run=^$ -bench=Fleet -benchtime=1x ./tenant/ [-stores=N]
func BenchmarkFleet(b *testing.B) {
	for range b.N {
		n := *benchStores
		d := newTestDB(b, testenv.Database(b), 8)
		ctx := context.Background()
		if err := d.SetShard(ctx, 1, n, "open"); err != nil {
			b.Fatal(err)
		}
		stores := make([]*Tenant, 0, n)
		took := make([]time.Duration, 0, n)
		for i := range n {
			start := time.Now()
			t, err := d.Provision(ctx, NewStore{Slug: fmt.Sprintf("bench-%05d", i), Name: fmt.Sprintf("Bench %d", i)}, nil)
			if err != nil {
				b.Fatalf("Provision store %d: %v", i, err)
			}
			took = append(took, time.Since(start))
			stores = append(stores, t)
			if (i+1)%500 == 0 {
				b.Logf("%d stores provisioned, last took %s", i+1, took[i].Round(time.Microsecond))
			}
		}
		ms := func(ds []time.Duration) float64 { return float64(median(ds)) / float64(time.Millisecond) }
		b.ReportMetric(ms(took), "provision-median-ms")
		if n >= 20 {
			early, late := ms(took[5:15]), ms(took[n-10:])
			b.ReportMetric(early, "provision-10th-ms")
			b.ReportMetric(late, "provision-last-ms")
			b.ReportMetric(late/early, "last/10th")
		}

		d.migrations = withExtraMigration(b, "-- +goose Up\nCREATE TABLE bench_notes (id bigint PRIMARY KEY, body text NOT NULL);\n-- +goose Down\nDROP TABLE bench_notes;\n")
		start := time.Now()
		rep, err := d.MigrateStores(ctx, 4, nil)
		if err != nil || rep.Migrated != n {
			b.Fatalf("MigrateStores = %+v, %v; want %d migrated", rep, err, n)
		}
		b.ReportMetric(time.Since(start).Seconds(), "migrate-all-s")
		if v := migrations.Latest(d.migrations); rep.Failed != nil {
			b.Fatalf("stores failed to reach %d: %+v", v, rep.Failed)
		}

		var reads []time.Duration
		for range 2000 {
			t := stores[rand.IntN(len(stores))]
			start := time.Now()
			err := d.ReadTx(ctx, t, func(tx *gorm.DB) error {
				var name string
				return tx.Raw(`SELECT name FROM shop`).Scan(&name).Error
			})
			if err != nil {
				b.Fatal(err)
			}
			reads = append(reads, time.Since(start))
		}
		slices.Sort(reads)
		b.ReportMetric(float64(reads[len(reads)/2].Microseconds()), "door-p50-us")
		b.ReportMetric(float64(reads[len(reads)*99/100].Microseconds()), "door-p99-us")
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
