package notifications

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/modules/shop"
)

type templateRow struct {
	Kind      string    `gorm:"column:kind"`
	Subject   string    `gorm:"column:subject"`
	BodyHTML  string    `gorm:"column:body_html"`
	BodyText  string    `gorm:"column:body_text"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

const templateColumns = `kind, subject, body_html, body_text, updated_at`

func (r templateRow) toTemplate() Template {
	k := Kind(r.Kind)
	info, _ := infoOf(k)
	at := r.UpdatedAt
	return Template{Kind: k, Title: info.title, Subject: r.Subject, BodyHTML: r.BodyHTML, BodyText: r.BodyText,
		Customized: true, UpdatedAt: &at}
}

// findTemplates returns the store's own templates by kind, leaving out
// kinds this binary no longer has.
func findTemplates(tx *gorm.DB) (map[Kind]Template, error) {
	var rows []templateRow
	if err := tx.Raw(`SELECT ` + templateColumns + ` FROM notification_templates`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find notification templates: %w", err)
	}
	out := map[Kind]Template{}
	for _, r := range rows {
		if _, ok := infoOf(Kind(r.Kind)); ok {
			out[Kind(r.Kind)] = r.toTemplate()
		}
	}
	return out, nil
}

// findTemplate returns the store's own template of kind, and whether it
// has one.
func findTemplate(tx *gorm.DB, kind Kind) (Template, bool, error) {
	var rows []templateRow
	if err := tx.Raw(`SELECT `+templateColumns+` FROM notification_templates WHERE kind = ?`, string(kind)).Scan(&rows).Error; err != nil {
		return Template{}, false, fmt.Errorf("find notification template: %w", err)
	}
	if len(rows) == 0 {
		return Template{}, false, nil
	}
	return rows[0].toTemplate(), true, nil
}

// upsertTemplate saves tpl as the store's own.
func upsertTemplate(tx *gorm.DB, tpl Template) (Template, error) {
	var rows []templateRow
	err := tx.Raw(`INSERT INTO notification_templates (kind, subject, body_html, body_text, updated_at)
		VALUES (?, ?, ?, ?, now())
		ON CONFLICT (kind) DO UPDATE SET subject = EXCLUDED.subject, body_html = EXCLUDED.body_html,
			body_text = EXCLUDED.body_text, updated_at = now()
		RETURNING `+templateColumns, string(tpl.Kind), tpl.Subject, tpl.BodyHTML, tpl.BodyText).Scan(&rows).Error
	if err != nil {
		return Template{}, fmt.Errorf("save notification template: %w", err)
	}
	if len(rows) != 1 {
		return Template{}, errors.New("save notification template: no row returned")
	}
	return rows[0].toTemplate(), nil
}

// deleteTemplate removes the store's own template of kind, if any.
func deleteTemplate(tx *gorm.DB, kind Kind) error {
	if err := tx.Exec(`DELETE FROM notification_templates WHERE kind = ?`, string(kind)).Error; err != nil {
		return fmt.Errorf("delete notification template: %w", err)
	}
	return nil
}

// shopIn returns the store as its emails show it. The logo is read from
// the shop table's logo_url (migration 00024) here until the shop module
// has it among its settings.
func shopIn(tx *gorm.DB, url string) (Shop, error) {
	sh, err := shop.ShopIn(tx)
	if err != nil {
		return Shop{}, err
	}
	var row struct {
		LogoURL *string `gorm:"column:logo_url"`
	}
	if err := tx.Raw(`SELECT logo_url FROM shop`).Scan(&row).Error; err != nil {
		return Shop{}, fmt.Errorf("read shop logo: %w", err)
	}
	out := Shop{Name: sh.Name, Email: sh.ReplyEmail(), URL: url, Currency: sh.Currency, Address: sh.Address}
	if row.LogoURL != nil {
		out.LogoURL = *row.LogoURL
	}
	return out, nil
}
