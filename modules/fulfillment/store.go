package fulfillment

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

type providerRow struct {
	ID                     int64     `gorm:"column:id"`
	TokenID                *int64    `gorm:"column:token_id"`
	Name                   string    `gorm:"column:name"`
	Handle                 string    `gorm:"column:handle"`
	Email                  string    `gorm:"column:email"`
	CallbackURL            string    `gorm:"column:callback_url"`
	Format                 string    `gorm:"column:format"`
	InventoryManagement    bool      `gorm:"column:inventory_management"`
	TrackingSupport        bool      `gorm:"column:tracking_support"`
	RequiresShippingMethod bool      `gorm:"column:requires_shipping_method"`
	PermitsSKUSharing      bool      `gorm:"column:permits_sku_sharing"`
	IsDefault              bool      `gorm:"column:is_default"`
	CreatedAt              time.Time `gorm:"column:created_at"`
	UpdatedAt              time.Time `gorm:"column:updated_at"`
}

const providerColumns = `id, token_id, name, handle, email, callback_url, format, inventory_management, tracking_support,
	requires_shipping_method, permits_sku_sharing, is_default, created_at, updated_at`

func (r providerRow) toProvider() Provider {
	return Provider{ID: r.ID, TokenID: r.TokenID, Name: r.Name, Handle: r.Handle, Email: r.Email, CallbackURL: r.CallbackURL,
		Format: r.Format, InventoryManagement: r.InventoryManagement, TrackingSupport: r.TrackingSupport,
		RequiresShippingMethod: r.RequiresShippingMethod, PermitsSKUSharing: r.PermitsSKUSharing, Default: r.IsDefault,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func findProviders(tx *gorm.DB, f Filter) ([]Provider, error) {
	q, args := `SELECT `+providerColumns+` FROM fulfillment_services`, []any{}
	if !f.All {
		q, args = q+` WHERE token_id = ?`, append(args, f.Token)
	}
	var rows []providerRow
	if err := tx.Raw(q+` ORDER BY id LIMIT 250`, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list fulfillment services: %w", err)
	}
	out := make([]Provider, len(rows))
	for i, r := range rows {
		out[i] = r.toProvider()
	}
	return out, nil
}

func findProvider(tx *gorm.DB, id int64) (Provider, error) {
	var rows []providerRow
	if err := tx.Raw(`SELECT `+providerColumns+` FROM fulfillment_services WHERE id = ?`, id).Scan(&rows).Error; err != nil {
		return Provider{}, fmt.Errorf("find fulfillment service: %w", err)
	}
	if len(rows) == 0 {
		return Provider{}, ErrProviderNotFound
	}
	return rows[0].toProvider(), nil
}

// lockProvider finds service id for a change by token (0: staff, any
// service), holding its row until the transaction ends.
func lockProvider(tx *gorm.DB, token, id int64) (Provider, error) {
	var rows []providerRow
	err := tx.Raw(`SELECT `+providerColumns+` FROM fulfillment_services WHERE id = ? AND (? = 0 OR token_id = ?) FOR UPDATE`,
		id, token, token).Scan(&rows).Error
	if err != nil {
		return Provider{}, fmt.Errorf("find fulfillment service: %w", err)
	}
	if len(rows) == 0 {
		return Provider{}, ErrProviderNotFound
	}
	return rows[0].toProvider(), nil
}

// findDefault returns the store's default service, if it has one.
func findDefault(tx *gorm.DB) (Provider, bool, error) {
	var rows []providerRow
	if err := tx.Raw(`SELECT ` + providerColumns + ` FROM fulfillment_services WHERE is_default`).Scan(&rows).Error; err != nil {
		return Provider{}, false, fmt.Errorf("find default fulfillment service: %w", err)
	}
	if len(rows) == 0 {
		return Provider{}, false, nil
	}
	return rows[0].toProvider(), true, nil
}

// clearDefault makes no service but keep (0: none) the default.
func clearDefault(tx *gorm.DB, keep int64) error {
	err := tx.Exec(`UPDATE fulfillment_services SET is_default = false, updated_at = now() WHERE is_default AND id <> ?`, keep).Error
	if err != nil {
		return fmt.Errorf("clear default fulfillment service: %w", err)
	}
	return nil
}

func insertProvider(tx *gorm.DB, p *Provider) error {
	var row providerRow
	err := tx.Raw(`INSERT INTO fulfillment_services (token_id, name, handle, email, callback_url, format, inventory_management,
			tracking_support, requires_shipping_method, permits_sku_sharing, is_default, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+providerColumns,
		p.TokenID, p.Name, p.Handle, p.Email, p.CallbackURL, p.Format, p.InventoryManagement, p.TrackingSupport,
		p.RequiresShippingMethod, p.PermitsSKUSharing, p.Default, p.CreatedAt, p.UpdatedAt).Scan(&row).Error
	if err != nil {
		return fmt.Errorf("insert fulfillment service: %w", err)
	}
	*p = row.toProvider()
	return nil
}

func updateProvider(tx *gorm.DB, p Provider) error {
	err := tx.Exec(`UPDATE fulfillment_services SET name = ?, handle = ?, email = ?, callback_url = ?, inventory_management = ?,
			tracking_support = ?, requires_shipping_method = ?, permits_sku_sharing = ?, is_default = ?, updated_at = ?
		WHERE id = ?`,
		p.Name, p.Handle, p.Email, p.CallbackURL, p.InventoryManagement, p.TrackingSupport, p.RequiresShippingMethod,
		p.PermitsSKUSharing, p.Default, p.UpdatedAt, p.ID).Error
	if err != nil {
		return fmt.Errorf("update fulfillment service: %w", err)
	}
	return nil
}

// deleteProvider deletes service id; its pending requests are not sent on.
func deleteProvider(tx *gorm.DB, id int64) error {
	err := tx.Exec(`UPDATE fulfillment_requests SET status = 'cancelled', last_error = 'the fulfillment service was deleted',
		updated_at = now() WHERE service_id = ? AND status = 'pending'`, id).Error
	if err != nil {
		return fmt.Errorf("cancel fulfillment requests: %w", err)
	}
	if err := tx.Exec(`DELETE FROM fulfillment_services WHERE id = ?`, id).Error; err != nil {
		return fmt.Errorf("delete fulfillment service: %w", err)
	}
	return nil
}

type requestRow struct {
	ID          int64      `gorm:"column:id"`
	OrderID     int64      `gorm:"column:order_id"`
	ServiceID   *int64     `gorm:"column:service_id"`
	ServiceName string     `gorm:"column:service_name"`
	Status      string     `gorm:"column:status"`
	Attempts    int        `gorm:"column:attempts"`
	LastError   string     `gorm:"column:last_error"`
	CreatedAt   time.Time  `gorm:"column:created_at"`
	UpdatedAt   time.Time  `gorm:"column:updated_at"`
	AcceptedAt  *time.Time `gorm:"column:accepted_at"`
}

const requestColumns = `id, order_id, service_id, service_name, status, attempts, last_error, created_at, updated_at, accepted_at`

func (r requestRow) toRequest() Request {
	return Request{ID: r.ID, OrderID: r.OrderID, ServiceID: r.ServiceID, ServiceName: r.ServiceName, Status: r.Status,
		Attempts: r.Attempts, LastError: r.LastError, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, AcceptedAt: r.AcceptedAt}
}

// findRequest returns order orderID's request, holding its row until the
// transaction ends when lock is set.
func findRequest(tx *gorm.DB, orderID int64, lock bool) (Request, error) {
	q := `SELECT ` + requestColumns + ` FROM fulfillment_requests WHERE order_id = ?`
	if lock {
		q += ` FOR UPDATE`
	}
	var rows []requestRow
	if err := tx.Raw(q, orderID).Scan(&rows).Error; err != nil {
		return Request{}, fmt.Errorf("find fulfillment request: %w", err)
	}
	if len(rows) == 0 {
		return Request{}, ErrRequestNotFound
	}
	return rows[0].toRequest(), nil
}

func insertRequest(tx *gorm.DB, orderID int64, p Provider) (Request, error) {
	var row requestRow
	err := tx.Raw(`INSERT INTO fulfillment_requests (order_id, service_id, service_name) VALUES (?, ?, ?) RETURNING `+requestColumns,
		orderID, p.ID, p.Name).Scan(&row).Error
	if err != nil {
		return Request{}, fmt.Errorf("insert fulfillment request: %w", err)
	}
	return row.toRequest(), nil
}

// settle closes request id with status and why.
func settle(tx *gorm.DB, id int64, status, reason string) error {
	err := tx.Exec(`UPDATE fulfillment_requests SET status = ?, last_error = ?, updated_at = now() WHERE id = ?`, status, reason, id).Error
	if err != nil {
		return fmt.Errorf("settle fulfillment request: %w", err)
	}
	return nil
}

// recordAttempt counts an attempt at pending request id: accepted when
// reason is empty, still pending with reason otherwise. changed is false
// when the request was no longer pending.
func recordAttempt(tx *gorm.DB, id int64, reason string) (Request, bool, error) {
	status := RequestAccepted
	if reason != "" {
		status = RequestPending
	}
	var rows []requestRow
	err := tx.Raw(`UPDATE fulfillment_requests SET status = ?, attempts = attempts + 1, last_error = ?, updated_at = now(),
			accepted_at = CASE WHEN ? = 'accepted' THEN now() ELSE accepted_at END
		WHERE id = ? AND status = 'pending' RETURNING `+requestColumns, status, reason, status, id).Scan(&rows).Error
	if err != nil {
		return Request{}, false, fmt.Errorf("record fulfillment request attempt: %w", err)
	}
	if len(rows) == 0 {
		return Request{}, false, nil
	}
	return rows[0].toRequest(), true, nil
}
