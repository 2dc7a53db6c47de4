package tenant

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// roleBatch is how many store roles are made at a time. Every batch costs
// each pooled connection in the fleet one rebuild of its role-membership
// cache, so larger batches mean rarer rebuilds.
const roleBatch = 200

// takeRole claims a pre-made store role on shard s inside the control
// transaction tx, making a batch first when none is left. The claim is a
// delete from the pool: if tx rolls back, the role goes back to the pool.
func (d *DB) takeRole(ctx context.Context, tx *gorm.DB, s *shard) (ID, error) {
	for range 3 {
		var ids []int64
		err := tx.Raw(`
			DELETE FROM platform.role_pool WHERE tenant_id = (
				SELECT tenant_id FROM platform.role_pool WHERE shard_id = ?
				ORDER BY tenant_id LIMIT 1 FOR UPDATE SKIP LOCKED)
			RETURNING tenant_id`, s.id).Scan(&ids).Error
		if err != nil {
			return 0, fmt.Errorf("claim store role: %w", err)
		}
		if len(ids) == 1 {
			return ID(ids[0]), nil
		}
		if err := d.makeRoles(ctx, s, roleBatch); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("claim store role on shard %d: the pool stays empty", s.id)
}

// makeRoles reserves n store ids and makes their roles on shard s, in one
// transaction there, then lists them in the pool. The application's role
// becomes a member of each, so that it may bind transactions to them.
func (d *DB) makeRoles(ctx context.Context, s *shard, n int) error {
	var ids []int64
	err := d.control.WithContext(ctx).Raw(`SELECT nextval(pg_get_serial_sequence('platform.tenants', 'id')) FROM generate_series(1, ?)`, n).Scan(&ids).Error
	if err != nil {
		return fmt.Errorf("reserve store ids: %w", err)
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, id := range ids {
			role := quoteIdent(ID(id).Schema())
			if err := tx.Exec(`CREATE ROLE ` + role + ` NOLOGIN`).Error; err != nil {
				return err
			}
			if err := tx.Exec(`GRANT ` + role + ` TO CURRENT_USER`).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("make %d store roles on shard %d: %w", n, s.id, err)
	}
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatInt(id, 10)
	}
	err = d.control.WithContext(ctx).Exec(`INSERT INTO platform.role_pool (tenant_id, shard_id)
		SELECT unnest(string_to_array(?, ',')::bigint[]), ?`, strings.Join(list, ","), s.id).Error
	if err != nil {
		return fmt.Errorf("list new store roles: %w", err)
	}
	d.log.InfoContext(ctx, "made store roles", "shard", s.id, "count", n)
	return nil
}
