package billing

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/tenant"
)

// ManualMethod is one of a store's manual ways to pay as its merchant manages
// it: turned off, the checkout does not offer it.
type ManualMethod struct {
	Method
	Enabled bool
}

// ManualMethodUpdate changes a manual method; nil fields stay as they are.
type ManualMethodUpdate struct {
	Enabled      *bool
	Instructions *string
}

// MaxInstructions bounds a manual method's instructions, shown to the shopper
// after placing an order.
const MaxInstructions = 4000

// ErrMethodNotFound is returned for a manual method the store does not have.
var ErrMethodNotFound = errs.E(errs.NotFound, "payment method not found")

// ManualMethods lists store t's manual methods, enabled or not, in the
// order the checkout shows them.
func (s *Service) ManualMethods(ctx context.Context, t *tenant.Tenant) ([]ManualMethod, error) {
	var out []ManualMethod
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		out, err = findManualMethods(tx, "")
		return err
	})
	return out, err
}

// UpdateManualMethod turns store t's manual method code ("manual:bank_transfer")
// on or off, or changes its instructions.
//
// Errors: NotFound (ErrMethodNotFound), Invalid (instructions too long or not
// text).
func (s *Service) UpdateManualMethod(ctx context.Context, t *tenant.Tenant, code string, in ManualMethodUpdate) (ManualMethod, error) {
	if !strings.HasPrefix(code, ProviderManual+":") {
		return ManualMethod{}, ErrMethodNotFound
	}
	if in.Instructions != nil {
		v := strings.TrimSpace(*in.Instructions)
		f := errs.Fields{}
		switch {
		case len(v) > MaxInstructions:
			f.Add("instructions", "is too long (maximum is %d characters)", MaxInstructions)
		case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
			f.Add("instructions", "must be text")
		}
		if err := f.Err(); err != nil {
			return ManualMethod{}, err
		}
		in.Instructions = &v
	}
	var out ManualMethod
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE payment_methods SET enabled = coalesce(?, enabled), instructions = coalesce(?, instructions),
			updated_at = now() WHERE code = ?`, in.Enabled, in.Instructions, code)
		if res.Error != nil {
			return fmt.Errorf("update payment method: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrMethodNotFound
		}
		ms, err := findManualMethods(tx, code)
		if err != nil {
			return err
		}
		out = ms[0]
		return nil
	})
	return out, err
}

type manualMethodRow struct {
	Code         string `gorm:"column:code"`
	Name         string `gorm:"column:name"`
	Instructions string `gorm:"column:instructions"`
	Enabled      bool   `gorm:"column:enabled"`
}

// findManualMethods returns the store's manual methods, enabled or not; only
// method code when code is not empty.
func findManualMethods(tx *gorm.DB, code string) ([]ManualMethod, error) {
	var rows []manualMethodRow
	err := tx.Raw(`SELECT code, name, instructions, enabled FROM payment_methods WHERE ? = '' OR code = ? ORDER BY position, code`,
		code, code).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list manual payment methods: %w", err)
	}
	out := make([]ManualMethod, len(rows))
	for i, r := range rows {
		out[i] = ManualMethod{Method: Method{Code: r.Code, Name: r.Name, Instructions: r.Instructions, Provider: ProviderManual}, Enabled: r.Enabled}
	}
	return out, nil
}
