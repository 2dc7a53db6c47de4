package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/webhooks"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/workers"
)

// benchRedisDB is the Redis database the jobs scenario's queues use, apart
// from the development worker's (database 0).
const benchRedisDB = 15

// jobs times events from the outbox to handled tasks: every store with data
// subscribes a local endpoint to products/update, 20 updates per store are
// made with no worker running (the events wait in the outbox, with the
// products/create events of the data and of the Admin API runs), then a
// worker in this process relays and handles all of them. The row gives the
// time from the worker's start until the last update's webhook arrived.
func (b *bench) jobs(ctx context.Context) {
	row := benchRow{Scenario: "jobs", Variant: "outbox → relay → asynq → signed webhook POST (products/update)", Stores: len(b.sites)}
	fail := func(err error) {
		row.Status, row.Note = benchFailed, err.Error()
		b.rep.Rows = append(b.rep.Rows, row)
	}
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got.Add(1)
	}))
	defer srv.Close()
	hooks, cat := webhooks.NewService(b.d.db, webhooks.AllowPrivate(true)), b.d.catalog() // its receiver is on loopback
	topic := "products/update"
	for _, s := range b.sites {
		tok, err := b.d.db.Authenticate(ctx, s.Store, s.Token)
		if err != nil {
			fail(err)
			return
		}
		if _, err := hooks.Subscribe(ctx, s.Store, tok.ID, webhooks.Input{Topic: &topic, Address: &srv.URL}); err != nil {
			fail(err)
			return
		}
	}
	const perStore = 20
	show := b.progress("making product updates for the jobs scenario")
	want := int64(0)
	for i, s := range b.sites {
		ps, _, err := cat.Products(ctx, s.Store, catalog.Query{Limit: perStore})
		if err != nil || len(ps) == 0 {
			fail(fmt.Errorf("products of %s: %v", s.Store.Slug, err))
			return
		}
		for k := range perStore {
			title := fmt.Sprintf("%s (edit %d)", ps[k%len(ps)].Title, k)
			if _, err := cat.UpdateProduct(ctx, s.Store, ps[k%len(ps)].ID, catalog.ProductInput{Title: &title}); err != nil {
				fail(err)
				return
			}
			want++
		}
		show(tenant.Progress{Total: len(b.sites), Done: i + 1})
	}
	pending, err := b.d.db.PendingEvents(ctx)
	if err != nil {
		fail(err)
		return
	}

	opt, err := redis.ParseURL(b.d.cfg.RedisURL)
	if err != nil {
		fail(err)
		return
	}
	opt.DB = benchRedisDB
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	rdb.FlushDB(ctx)
	defer rdb.FlushDB(context.WithoutCancel(ctx))
	fleet := workers.New(b.d.db, rdb, workers.Config{Concurrency: 20, RelayInterval: 100 * time.Millisecond,
		AllowPrivate: true, URLs: b.d.cfg.urls}, b.d.log)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- fleet.Run(runCtx) }()
	deadline := start.Add(10 * time.Minute)
	for got.Load() < want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	left, _ := b.d.db.PendingEvents(ctx)
	stop()
	if err := <-done; err != nil {
		fail(err)
		return
	}
	if got.Load() < want {
		fail(fmt.Errorf("%d of %d webhooks arrived in %v", got.Load(), want, elapsed.Round(time.Second)))
		return
	}
	row.Status, row.Seconds = benchOK, elapsed.Seconds()
	row.Note = fmt.Sprintf("%d events (%d with a subscriber) through in %.1f s: %.0f events/s relayed and handled, %.0f webhooks/s delivered; %d events still pending after",
		pending, want, elapsed.Seconds(), float64(pending-left)/elapsed.Seconds(), float64(got.Load())/elapsed.Seconds(), left)
	b.rep.Rows = append(b.rep.Rows, row)
}
