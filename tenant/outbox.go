package tenant

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/storefleet/storefleet/internal/pg"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// OutboxWake is the notification channel on which a shard's outbox
// announces new events (on commit of the transaction that wrote them).
const OutboxWake = "outbox_events"

// Emit records an event of the store whose transaction tx is: it leaves
// the process only if tx commits, and then exactly as written. topic is
// Shopify's ("products/create"); payload is the resource as the Admin API
// shows it. It returns the event's id, which every task derived from the
// event carries, so that a retried task is recognised.
func Emit(tx *gorm.DB, topic string, payload any) (uuid.UUID, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return uuid.Nil, fmt.Errorf("encode %s event: %w", topic, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, err
	}
	// The shard's outbox, not the store's schema: see migrations/shard. The
	// row's store is stamped by a trigger from the transaction's role.
	if err := tx.Exec(`INSERT INTO outbox.events (id, topic, payload) VALUES (?, ?, ?::jsonb)`, id, topic, string(body)).Error; err != nil {
		return uuid.Nil, fmt.Errorf("emit %s event: %w", topic, err)
	}
	return id, nil
}

// Event is an outbox event on its way out.
type Event struct {
	ID        uuid.UUID
	Store     ID
	Topic     string
	Payload   json.RawMessage
	CreatedAt time.Time
}

type eventRow struct {
	ID        uuid.UUID `gorm:"column:id"`
	StoreRole string    `gorm:"column:store_role"`
	Topic     string    `gorm:"column:topic"`
	Payload   string    `gorm:"column:payload"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

// roleStores maps store roles to store ids for the relay; roles are never
// reused by another store while it exists, so entries stay true.
type roleStores struct {
	mu sync.Mutex
	m  map[string]ID
}

func (d *DB) storeOfRole(ctx context.Context, role string) (ID, bool, error) {
	d.roles.mu.Lock()
	id, ok := d.roles.m[role]
	d.roles.mu.Unlock()
	if ok {
		return id, true, nil
	}
	var ids []int64
	if err := d.control.WithContext(ctx).Raw(`SELECT id FROM platform.tenants WHERE db_role = ?`, role).Scan(&ids).Error; err != nil {
		return 0, false, fmt.Errorf("find store of role %s: %w", role, err)
	}
	if len(ids) == 0 {
		return 0, false, nil
	}
	d.roles.mu.Lock()
	if d.roles.m == nil {
		d.roles.m = map[string]ID{}
	}
	d.roles.m[role] = ID(ids[0])
	d.roles.mu.Unlock()
	return ID(ids[0]), true, nil
}

// RelayEvents hands the pending events of every shard to send, oldest
// first, at most batch per shard, and marks each one sent once send has
// returned nil for it. Several relays may run at once: each claims
// different events (SKIP LOCKED). A send that fails stops that shard's
// batch, so later events wait rather than overtake; the failed one is
// offered again on the next pass. It returns how many events were sent.
// Events of a store that no longer exists are dropped.
func (d *DB) RelayEvents(ctx context.Context, batch int, send func(context.Context, Event) error) (int, error) {
	shards, err := d.Shards(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, sh := range shards {
		s, err := d.shard(ctx, sh.ID)
		if err != nil {
			return total, err
		}
		n, err := d.relayShard(ctx, s, batch, send)
		total += n
		if err != nil {
			return total, fmt.Errorf("relay shard %d: %w", sh.ID, err)
		}
	}
	return total, nil
}

func (d *DB) relayShard(ctx context.Context, s *shard, batch int, send func(context.Context, Event) error) (int, error) {
	sent := 0
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []eventRow
		err := tx.Raw(`SELECT id, store_role, topic, payload::text AS payload, created_at FROM outbox.events
			WHERE sent_at IS NULL ORDER BY created_at, id LIMIT ? FOR UPDATE SKIP LOCKED`, batch).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("claim events: %w", err)
		}
		var done []uuid.UUID
		var sendErr error
		for _, r := range rows {
			store, ok, err := d.storeOfRole(ctx, r.StoreRole)
			if err != nil {
				sendErr = err
				break
			}
			if ok {
				ev := Event{ID: r.ID, Store: store, Topic: r.Topic, Payload: json.RawMessage(r.Payload), CreatedAt: r.CreatedAt}
				if err := send(ctx, ev); err != nil {
					sendErr = err
					break
				}
			} else {
				d.log.WarnContext(ctx, "outbox: dropping an event of a store that no longer exists", "event", r.ID, "role", r.StoreRole)
			}
			done = append(done, r.ID)
		}
		if len(done) > 0 {
			if err := tx.Exec(`UPDATE outbox.events SET sent_at = now() WHERE id = ANY (?::uuid[])`, pg.UUIDArray(done)).Error; err != nil {
				return fmt.Errorf("mark events sent: %w", err)
			}
		}
		sent = len(done)
		if sendErr != nil {
			// Keep what was sent; the rest waits for the next pass.
			d.log.WarnContext(ctx, "outbox: send failed; will retry", "err", sendErr)
		}
		return nil
	})
	return sent, err
}

// PendingEvents counts the events not yet sent, over every shard.
func (d *DB) PendingEvents(ctx context.Context) (int64, error) {
	shards, err := d.Shards(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, sh := range shards {
		s, err := d.shard(ctx, sh.ID)
		if err != nil {
			return 0, err
		}
		var n int64
		if err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM outbox.events WHERE sent_at IS NULL`).Scan(&n).Error; err != nil {
			return 0, fmt.Errorf("count pending events: %w", err)
		}
		total += n
	}
	return total, nil
}

// PruneEvents deletes events sent more than keep ago, on every shard.
func (d *DB) PruneEvents(ctx context.Context, keep time.Duration) (int64, error) {
	shards, err := d.Shards(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, sh := range shards {
		s, err := d.shard(ctx, sh.ID)
		if err != nil {
			return 0, err
		}
		res := s.db.WithContext(ctx).Exec(`DELETE FROM outbox.events WHERE sent_at < ?`, time.Now().Add(-keep))
		if res.Error != nil {
			return total, fmt.Errorf("prune events: %w", res.Error)
		}
		total += res.RowsAffected
	}
	return total, nil
}
