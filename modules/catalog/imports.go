package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/tenant"
)

// TopicImport is the outbox event that asks a worker to run a product
// import (its payload is an ImportEvent). It is internal work, not a
// webhook topic: webhooks.Topics does not offer it to partners.
const TopicImport = "products/import"

// Import statuses: pending until a worker takes it, running while it
// imports, then done (with a report, failed rows and all) or failed (the
// file could not be read at all).
const (
	ImportPending = "pending"
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// MaxImportBytes bounds an uploaded product CSV: Shopify's own import
// takes files of up to 15 MB; twice that leaves room and keeps the row
// holding it reasonable.
const MaxImportBytes = 32 << 20

// importProgressEvery is how often, at most, a running import writes its
// progress: often enough for a page polling every second, rarely enough
// not to double an import's writes.
const importProgressEvery = 200 * time.Millisecond

// ErrImportNotFound is for an import id the store does not have.
var ErrImportNotFound = errs.E(errs.NotFound, "import not found")

// Import is a product CSV import a member of staff started, with its
// progress and, once finished, its report.
type Import struct {
	ID         int64
	Status     string
	Overwrite  bool
	FileName   string
	Total      int // products in the file
	Done       int // products handled so far, failed or not
	Failed     int
	Report     *ImportSummary // set once finished
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

// Finished says whether the import has stopped for good.
func (im Import) Finished() bool { return im.Status == ImportDone || im.Status == ImportFailed }

// ImportSummary is a finished import's report as it is kept: an
// ImportReport whose errors are sentences.
type ImportSummary struct {
	Products       int             `json:"products"`
	Created        int             `json:"created"`
	Updated        int             `json:"updated"`
	Images         int             `json:"images"`
	Failed         []ImportFailure `json:"failed,omitempty"`
	SkippedColumns []string        `json:"skipped_columns,omitempty"`
	Error          string          `json:"error,omitempty"` // why the file could not be read at all
}

// ImportFailure is a product (or a row) of an import that could not be
// made, by the line of the file it starts on.
type ImportFailure struct {
	Line   int    `json:"line"`
	Handle string `json:"handle,omitempty"`
	Reason string `json:"reason"`
}

// ImportEvent is TopicImport's payload: which import to run (in the
// event's store).
type ImportEvent struct {
	ID int64 `json:"id"`
}

// NewImport is an import to start: the file as uploaded, and who starts it.
type NewImport struct {
	FileName  string
	Data      []byte
	Overwrite bool   // update products whose handle exists instead of failing them
	Actor     string // an rbac subject, for the stock history and the import's page
}

// StartImport records an import of in.Data into store t's catalog and, in
// the same transaction, the TopicImport event that has a worker run it
// (RunImport): once this returns, the import is not lost to a restart or
// a Redis outage. The file is read once here, so that one that is not a
// product CSV is refused at once.
//
// Errors: Invalid (no file, too large, not Shopify's product CSV).
func (s *Service) StartImport(ctx context.Context, t *tenant.Tenant, in NewImport) (Import, error) {
	switch {
	case len(in.Data) == 0:
		return Import{}, &errs.Error{Kind: errs.Invalid, Message: "choose a CSV file to import",
			Fields: map[string][]string{"file": {"Choose a CSV file to import."}}}
	case len(in.Data) > MaxImportBytes:
		return Import{}, &errs.Error{Kind: errs.Invalid, Message: "the file is too large",
			Fields: map[string][]string{"file": {fmt.Sprintf("The file is larger than %d MB; split it into smaller files.", MaxImportBytes>>20)}}}
	}
	products, _, _, err := parseCSV(bytes.NewReader(in.Data))
	if err != nil {
		return Import{}, &errs.Error{Kind: errs.Invalid, Message: errs.MessageOf(err),
			Fields: map[string][]string{"file": {errs.MessageOf(err)}}}
	}
	if in.Actor == "" {
		in.Actor = "import"
	}
	var id int64
	err = s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var err error
		if id, err = insertImport(tx, in, len(products)); err != nil {
			return err
		}
		_, err = tenant.Emit(tx, TopicImport, ImportEvent{ID: id})
		return err
	})
	if err != nil {
		return Import{}, err
	}
	return s.Import(ctx, t, id)
}

// Import returns store t's import id, without its file.
//
// Errors: NotFound (ErrImportNotFound).
func (s *Service) Import(ctx context.Context, t *tenant.Tenant, id int64) (Import, error) {
	var im Import
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		ims, err := findImports(tx, id, 1)
		if err != nil {
			return err
		}
		if len(ims) == 0 {
			return ErrImportNotFound
		}
		im = ims[0]
		return nil
	})
	return im, err
}

// Imports lists store t's latest imports, newest first, at most limit.
func (s *Service) Imports(ctx context.Context, t *tenant.Tenant, limit int) ([]Import, error) {
	var ims []Import
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		ims, err = findImports(tx, 0, limit)
		return err
	})
	return ims, err
}

// RunImport carries out store t's import id (ImportCSV), writing its
// progress as it goes and its report at the end. It is the worker's half
// of StartImport, and safe to run twice: a finished import is left as it
// is. An import whose run was cut short (the worker stopped) starts again
// from the top; with Overwrite the products already made are updated again,
// without it they are reported as existing.
//
// Errors: NotFound (ErrImportNotFound); others are internal, and worth a
// retry.
func (s *Service) RunImport(ctx context.Context, t *tenant.Tenant, id int64) error {
	var job importJob
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var err error
		job, err = claimImport(tx, id)
		return err
	})
	if err != nil || job.finished {
		return err
	}
	last := time.Time{}
	progress := func(done, total, failed int) {
		if time.Since(last) < importProgressEvery {
			return
		}
		last = time.Now()
		err := s.db.Tx(ctx, t, func(tx *gorm.DB) error { return progressImport(tx, id, done, total, failed) })
		if err != nil && ctx.Err() == nil {
			// Progress is a courtesy: the import goes on, and its end is
			// written below.
			last = time.Time{}
		}
	}
	rep, err := s.ImportCSV(ctx, t, bytes.NewReader(job.data), ImportOptions{Overwrite: job.overwrite, Actor: job.actor, Progress: progress})
	sum := toImportSummary(rep)
	status := ImportDone
	switch k := errs.KindOf(err); {
	case err == nil:
	case k == errs.Invalid:
		// The file cannot be read past some line: what was read before it
		// was not imported (ImportCSV stops before importing anything).
		status, sum.Error = ImportFailed, errs.MessageOf(err)
	default:
		return fmt.Errorf("run import %d: %w", id, err)
	}
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error { return finishImport(tx, id, status, sum) })
}

// toImportSummary keeps rep as sentences a merchant can read.
func toImportSummary(rep ImportReport) ImportSummary {
	sum := ImportSummary{Products: rep.Products, Created: rep.Created, Updated: rep.Updated, Images: rep.Images, SkippedColumns: rep.SkippedColumns}
	for _, f := range rep.Failed {
		reason := "unknown error"
		if f.Err != nil {
			reason = f.Err.Error()
			if errs.KindOf(f.Err) == errs.Internal && !isPlain(f.Err) {
				reason = "internal error"
			}
		}
		sum.Failed = append(sum.Failed, ImportFailure{Line: f.Line, Handle: f.Handle, Reason: reason})
	}
	return sum
}

// isPlain says whether err is one of the import's own sentences (a plain
// error naming a line or column), not a driver's error that must not be
// shown: those are wrapped with %w and carry a cause.
func isPlain(err error) bool {
	return errors.Unwrap(err) == nil || strings.HasPrefix(err.Error(), "line ")
}
