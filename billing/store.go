package billing

import (
	"fmt"

	"gorm.io/gorm"
)

type methodRow struct {
	Code         string `gorm:"column:code"`
	Name         string `gorm:"column:name"`
	Instructions string `gorm:"column:instructions"`
}

func (r methodRow) toMethod() Method {
	return Method{Code: r.Code, Name: r.Name, Instructions: r.Instructions, Provider: ProviderManual}
}

// findMethods returns the store's enabled manual methods, in their order.
func findMethods(tx *gorm.DB) ([]Method, error) {
	var rows []methodRow
	if err := tx.Raw(`SELECT code, name, instructions FROM payment_methods WHERE enabled ORDER BY position, code`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list payment methods: %w", err)
	}
	out := make([]Method, len(rows))
	for i, r := range rows {
		out[i] = r.toMethod()
	}
	return out, nil
}

// findMethod returns enabled manual method code.
func findMethod(tx *gorm.DB, code string) (Method, bool, error) {
	var rows []methodRow
	if err := tx.Raw(`SELECT code, name, instructions FROM payment_methods WHERE code = ? AND enabled`, code).Scan(&rows).Error; err != nil {
		return Method{}, false, fmt.Errorf("find payment method: %w", err)
	}
	if len(rows) == 0 {
		return Method{}, false, nil
	}
	return rows[0].toMethod(), true, nil
}

// insertEvent notes that Stripe event id is handled; false when it was already.
func insertEvent(tx *gorm.DB, id, typ string) (bool, error) {
	res := tx.Exec(`INSERT INTO payment_events (event_id, type) VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING`, id, typ)
	if res.Error != nil {
		return false, fmt.Errorf("insert payment event: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// findRefund returns what became of refund transaction id, if it was carried out.
func findRefund(tx *gorm.DB, transactionID int64) (string, bool, error) {
	var refs []string
	if err := tx.Raw(`SELECT reference FROM payment_refunds WHERE transaction_id = ?`, transactionID).Scan(&refs).Error; err != nil {
		return "", false, fmt.Errorf("find refund: %w", err)
	}
	if len(refs) == 0 {
		return "", false, nil
	}
	return refs[0], true, nil
}

// insertRefund notes that refund transaction id was carried out; false when
// another run noted it first.
func insertRefund(tx *gorm.DB, transactionID int64, reference, status string) (bool, error) {
	res := tx.Exec(`INSERT INTO payment_refunds (transaction_id, reference, status) VALUES (?, ?, ?) ON CONFLICT (transaction_id) DO NOTHING`,
		transactionID, reference, status)
	if res.Error != nil {
		return false, fmt.Errorf("insert refund: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}
