package tenant

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
)

// Shard is a PostgreSQL database that holds store schemas.
type Shard struct {
	ID       int
	Name     string
	DSN      string // empty for the control database itself
	Capacity int    // how many stores it may hold
	Status   string // open (takes new stores) or closed
	Stores   int    // how many it holds now
}

// shard is an open shard: its pool, and gorm on it.
type shard struct {
	id  int
	pdb *pg.DB
	db  *gorm.DB
}

type shardRow struct {
	ID       int
	Name     string
	DSN      string `gorm:"column:dsn"`
	Capacity int
	Status   string
	Stores   int
}

func (r shardRow) toShard() Shard {
	return Shard(r)
}

const shardColumns = `s.id, s.name, s.dsn, s.capacity, s.status,
	(SELECT count(*) FROM platform.tenants t WHERE t.shard_id = s.id) AS stores`

// Shards lists the shard directory with each shard's store count.
func (d *DB) Shards(ctx context.Context) ([]Shard, error) {
	var rows []shardRow
	err := d.control.WithContext(ctx).Raw(`SELECT ` + shardColumns + ` FROM platform.shards s ORDER BY s.id`).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list shards: %w", err)
	}
	out := make([]Shard, len(rows))
	for i, r := range rows {
		out[i] = r.toShard()
	}
	return out, nil
}

// AddShard registers a database as a shard for new stores. It connects first,
// so a wrong URL is refused before it is in the directory.
//
// Errors: Invalid (bad name, capacity or URL), Conflict (name taken),
// Unavailable (cannot connect).
func (d *DB) AddShard(ctx context.Context, name, dsn string, capacity int) (Shard, error) {
	f := errs.Fields{}
	if strings.TrimSpace(name) == "" {
		f.Add("name", "is required")
	}
	if capacity < 0 {
		f.Add("capacity", "must be zero or more")
	}
	cfg, err := pg.ParseURL(dsn)
	if err != nil {
		f.Add("dsn", "%s", err.Error())
	}
	if err := f.Err(); err != nil {
		return Shard{}, err
	}
	db, err := pg.Open(ctx, cfg, pg.Pool{MaxConns: 1})
	if err != nil {
		return Shard{}, errs.Wrap(errs.Unavailable, err, "cannot connect to the shard's database")
	}
	err = migrateShard(ctx, db)
	db.Close()
	if err != nil {
		return Shard{}, fmt.Errorf("prepare the shard's database: %w", err)
	}

	var row shardRow
	err = d.control.WithContext(ctx).Raw(`
		INSERT INTO platform.shards (id, name, dsn, capacity)
		VALUES ((SELECT coalesce(max(id), 0) + 1 FROM platform.shards), ?, ?, ?)
		RETURNING id, name, dsn, capacity, status, 0 AS stores`, name, dsn, capacity).Scan(&row).Error
	if pg.Code(err) == pg.UniqueViolation {
		return Shard{}, errs.E(errs.Conflict, "a shard named %q exists", name)
	}
	if err != nil {
		return Shard{}, fmt.Errorf("insert shard: %w", err)
	}
	return row.toShard(), nil
}

// SetShard changes a shard's capacity and status.
//
// Errors: Invalid, NotFound.
func (d *DB) SetShard(ctx context.Context, id, capacity int, status string) error {
	if capacity < 0 || (status != "open" && status != "closed") {
		return errs.E(errs.Invalid, "capacity must be zero or more and status open or closed")
	}
	res := d.control.WithContext(ctx).Exec(`UPDATE platform.shards SET capacity = ?, status = ? WHERE id = ?`, capacity, status, id)
	if res.Error != nil {
		return fmt.Errorf("update shard %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "no shard %d", id)
	}
	return nil
}

// pickShard chooses the open shard with the most room left, locking its
// directory row in tx so that concurrent provisioning cannot overfill it. The
// lock is NO KEY UPDATE, so foreign keys to the shard (role_pool, tenants)
// can still be checked by other transactions meanwhile.
//
// A transaction that waited for the lock still sees the count it read
// before waiting, so the count is read again once the lock is held (a new
// statement sees what the previous holder committed); if the shard filled
// meanwhile, the choice is made again.
func pickShard(tx *gorm.DB) (int, error) {
	for range 5 {
		id, err := pickShardOnce(tx)
		if err != nil {
			return 0, err
		}
		var room bool
		err = tx.Raw(`SELECT s.capacity > (SELECT count(*) FROM platform.tenants t WHERE t.shard_id = s.id)
			FROM platform.shards s WHERE s.id = ?`, id).Scan(&room).Error
		if err != nil {
			return 0, fmt.Errorf("count shard %d stores: %w", id, err)
		}
		if room {
			return id, nil
		}
	}
	return 0, ErrNoShardRoom
}

func pickShardOnce(tx *gorm.DB) (int, error) {
	var id int
	err := tx.Raw(`
		SELECT s.id FROM platform.shards s
		WHERE s.status = 'open'
		  AND s.capacity > (SELECT count(*) FROM platform.tenants t WHERE t.shard_id = s.id)
		ORDER BY s.capacity - (SELECT count(*) FROM platform.tenants t WHERE t.shard_id = s.id) DESC, s.id
		LIMIT 1
		FOR NO KEY UPDATE OF s`).Scan(&id).Error
	if err != nil {
		return 0, fmt.Errorf("pick shard: %w", err)
	}
	if id == 0 {
		return 0, ErrNoShardRoom
	}
	return id, nil
}

// shard returns the open pool for shard id, opening it on first use. Shard 1
// without a URL of its own is the control database's pool.
func (d *DB) shard(ctx context.Context, id int) (*shard, error) {
	d.mu.Lock()
	s, ok := d.shards[id]
	d.mu.Unlock()
	if ok {
		return s, nil
	}

	var row shardRow
	err := d.control.WithContext(ctx).Raw(`SELECT id, name, dsn, capacity, status, 0 AS stores FROM platform.shards WHERE id = ?`, id).Scan(&row).Error
	if err != nil {
		return nil, fmt.Errorf("find shard %d: %w", id, err)
	}
	if row.ID == 0 {
		return nil, fmt.Errorf("find shard %d: %w", id, errors.New("not in the directory"))
	}
	s = &shard{id: id, pdb: d.controlDB, db: d.control}
	if row.DSN != "" {
		cfg, err := pg.ParseURL(row.DSN)
		if err != nil {
			return nil, fmt.Errorf("shard %d: %w", id, err)
		}
		db, err := pg.Open(ctx, cfg, d.cfg.Pool)
		if err != nil {
			return nil, fmt.Errorf("shard %d: %w", id, err)
		}
		s = &shard{id: id, pdb: db, db: db.Gorm}
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if existing, ok := d.shards[id]; ok { // another goroutine won the race
		if s.pdb != d.controlDB {
			s.pdb.Close()
		}
		return existing, nil
	}
	d.shards[id] = s
	return s, nil
}
