package tenant

import (
	"context"
	"fmt"
)

// IsOperator says whether account runs the fleet (the operator console).
func (d *DB) IsOperator(ctx context.Context, account AccountID) (bool, error) {
	var n int64
	err := d.control.WithContext(ctx).Raw(`SELECT count(*) FROM platform.operators WHERE account_id = ?`, int64(account)).Scan(&n).Error
	if err != nil {
		return false, fmt.Errorf("check operator: %w", err)
	}
	return n > 0, nil
}

// SetOperator makes account an operator, or (on false) no longer one.
//
// Errors: NotFound (no such account).
func (d *DB) SetOperator(ctx context.Context, account AccountID, on bool) error {
	if _, err := d.Account(ctx, account); err != nil {
		return err
	}
	q := `INSERT INTO platform.operators (account_id) VALUES (?) ON CONFLICT DO NOTHING`
	if !on {
		q = `DELETE FROM platform.operators WHERE account_id = ?`
	}
	if err := d.control.WithContext(ctx).Exec(q, int64(account)).Error; err != nil {
		return fmt.Errorf("set operator: %w", err)
	}
	return nil
}

// Operators lists the operators' accounts.
func (d *DB) Operators(ctx context.Context) ([]Account, error) {
	var rows []accountRow
	err := d.control.WithContext(ctx).Raw(`SELECT a.id, a.email, a.name, a.created_at FROM platform.operators o
		JOIN platform.accounts a ON a.id = o.account_id ORDER BY a.id`).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list operators: %w", err)
	}
	out := make([]Account, len(rows))
	for i, r := range rows {
		out[i] = r.toAccount()
	}
	return out, nil
}
