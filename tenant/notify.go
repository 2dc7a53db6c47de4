package tenant

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StorefrontChanges is the PostgreSQL notification channel on which a
// store's schema announces, when a transaction commits, that something
// shoppers see has changed (a product, a collection, stock, a theme, the
// shop's settings); its payload is the store's schema name. Triggers from
// the tenant migrations send it; NOTIFY is transactional, so a change is
// announced only once it can be read.
const StorefrontChanges = "storefront_changes"

// WatchChanges calls fn with the id of each store that announces a change
// on channel, from every shard, until ctx ends. It calls fn(0), meaning
// "any store may have changed", for a notification that names no store
// (the outbox's wake-ups) and whenever it (re)starts listening to a shard,
// since notifications sent while nobody listened are lost. Shards added
// later are picked up within a minute. Listening needs a session of its own
// per shard, so shard URLs must not go through a transaction-pooling
// PgBouncer.
func (d *DB) WatchChanges(ctx context.Context, channel string, fn func(ID)) {
	watched := map[int]bool{}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		shards, err := d.Shards(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "watch changes: list shards", "err", err)
		}
		for _, sh := range shards {
			if watched[sh.ID] {
				continue
			}
			s, err := d.shard(ctx, sh.ID)
			if err != nil {
				d.log.WarnContext(ctx, "watch changes: open shard", "shard", sh.ID, "err", err)
				continue
			}
			watched[sh.ID] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.listen(ctx, s, channel, fn)
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Minute):
		}
	}
}

// listen keeps one connection of shard s listening on channel, reconnecting
// after a failure.
func (d *DB) listen(ctx context.Context, s *shard, channel string, fn func(ID)) {
	for ctx.Err() == nil {
		err := func() error {
			conn, err := s.pdb.Pool.Acquire(ctx)
			if err != nil {
				return err
			}
			// The connection's session state is ours now: it never goes back
			// to the pool.
			pc := conn.Hijack()
			defer pc.Close(context.Background())
			if _, err := pc.Exec(ctx, `LISTEN `+quoteIdent(channel)); err != nil {
				return err
			}
			fn(0)
			for {
				n, err := pc.WaitForNotification(ctx)
				if err != nil {
					return err
				}
				id := ID(0) // a notification that names no store: anything may have changed
				if rest, ok := strings.CutPrefix(n.Payload, "t_"); ok {
					if v, err := strconv.ParseInt(rest, 10, 64); err == nil {
						id = ID(v)
					}
				}
				fn(id)
			}
		}()
		if ctx.Err() != nil {
			return
		}
		d.log.WarnContext(ctx, "watch changes: listening failed; retrying", "shard", s.id, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
