package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// importRow is a product_imports row, without its file.
type importRow struct {
	ID         int64      `gorm:"column:id"`
	Status     string     `gorm:"column:status"`
	Overwrite  bool       `gorm:"column:overwrite"`
	FileName   string     `gorm:"column:file_name"`
	Total      int        `gorm:"column:total"`
	Done       int        `gorm:"column:done"`
	Failed     int        `gorm:"column:failed"`
	Report     []byte     `gorm:"column:report"`
	CreatedBy  string     `gorm:"column:created_by"`
	CreatedAt  time.Time  `gorm:"column:created_at"`
	UpdatedAt  time.Time  `gorm:"column:updated_at"`
	FinishedAt *time.Time `gorm:"column:finished_at"`
}

const importColumns = `id, status, overwrite, file_name, total, done, failed, report, created_by, created_at, updated_at, finished_at`

func (r importRow) toImport() (Import, error) {
	im := Import{ID: r.ID, Status: r.Status, Overwrite: r.Overwrite, FileName: r.FileName, Total: r.Total, Done: r.Done, Failed: r.Failed,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, FinishedAt: r.FinishedAt}
	if len(r.Report) > 0 {
		var sum ImportSummary
		if err := json.Unmarshal(r.Report, &sum); err != nil {
			return Import{}, fmt.Errorf("read import %d report: %w", r.ID, err)
		}
		im.Report = &sum
	}
	return im, nil
}

// findImports reads import id, or (id 0) the latest limit imports.
func findImports(tx *gorm.DB, id int64, limit int) ([]Import, error) {
	q := tx.Table("product_imports").Select(importColumns).Order("id DESC").Limit(limit)
	if id != 0 {
		q = q.Where("id = ?", id)
	}
	var rows []importRow
	if err := q.Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find imports: %w", err)
	}
	out := make([]Import, 0, len(rows))
	for _, r := range rows {
		im, err := r.toImport()
		if err != nil {
			return nil, err
		}
		out = append(out, im)
	}
	return out, nil
}

func insertImport(tx *gorm.DB, in NewImport, total int) (int64, error) {
	var id int64
	err := tx.Raw(`INSERT INTO product_imports (overwrite, file_name, data, total, created_by) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		in.Overwrite, in.FileName, in.Data, total, in.Actor).Scan(&id).Error
	if err != nil {
		return 0, fmt.Errorf("insert import: %w", err)
	}
	return id, nil
}

// importJob is what a run of an import needs.
type importJob struct {
	finished  bool
	overwrite bool
	actor     string
	data      []byte
}

// claimImport marks import id running (one more attempt) and returns its
// file; a finished import is returned as finished, untouched.
func claimImport(tx *gorm.DB, id int64) (importJob, error) {
	var rows []struct {
		Status    string `gorm:"column:status"`
		Overwrite bool   `gorm:"column:overwrite"`
		CreatedBy string `gorm:"column:created_by"`
		Data      []byte `gorm:"column:data"`
	}
	if err := tx.Raw(`SELECT status, overwrite, created_by, data FROM product_imports WHERE id = ? FOR UPDATE`, id).Scan(&rows).Error; err != nil {
		return importJob{}, fmt.Errorf("find import %d: %w", id, err)
	}
	if len(rows) == 0 {
		return importJob{}, ErrImportNotFound
	}
	r := rows[0]
	if r.Status == ImportDone || r.Status == ImportFailed {
		return importJob{finished: true}, nil
	}
	if r.Data == nil {
		return importJob{}, errors.New("import has no file")
	}
	err := tx.Exec(`UPDATE product_imports SET status = 'running', attempts = attempts + 1, done = 0, failed = 0, updated_at = now() WHERE id = ?`, id).Error
	if err != nil {
		return importJob{}, fmt.Errorf("claim import %d: %w", id, err)
	}
	return importJob{overwrite: r.Overwrite, actor: r.CreatedBy, data: r.Data}, nil
}

func progressImport(tx *gorm.DB, id int64, done, total, failed int) error {
	err := tx.Exec(`UPDATE product_imports SET done = ?, total = ?, failed = ?, updated_at = now() WHERE id = ? AND status = 'running'`,
		done, total, failed, id).Error
	if err != nil {
		return fmt.Errorf("write import %d progress: %w", id, err)
	}
	return nil
}

// finishImport writes import id's end and drops its file: the report is
// what is kept.
func finishImport(tx *gorm.DB, id int64, status string, sum ImportSummary) error {
	b, err := json.Marshal(sum)
	if err != nil {
		return fmt.Errorf("encode import %d report: %w", id, err)
	}
	err = tx.Exec(`UPDATE product_imports SET status = ?, total = ?, done = ?, failed = ?, report = ?::jsonb, data = NULL,
		finished_at = now(), updated_at = now() WHERE id = ?`, status, sum.Products, sum.Products, len(sum.Failed), string(b), id).Error
	if err != nil {
		return fmt.Errorf("finish import %d: %w", id, err)
	}
	return nil
}
