package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/tenant"
)

// TypeImport runs a product CSV import the dashboard recorded
// (catalog.RunImport).
const TypeImport = "products:import"

// importTimeout is how long one run of an import may take: a large file
// with pictures to download takes minutes, not hours.
const importTimeout = time.Hour

// importPayload names the import to run.
type importPayload struct {
	Store    tenant.ID `json:"store"`
	ImportID int64     `json:"import_id"`
}

// enqueueImport queues, for a products/import event, the import it
// names, on the low queue, under the import's own id: an import is queued
// once, however often its event is relayed.
func (f *Fleet) enqueueImport(ctx context.Context, ev tenant.Event) error {
	if ev.Topic != catalog.TopicImport {
		return nil
	}
	var e catalog.ImportEvent
	if err := json.Unmarshal(ev.Payload, &e); err != nil || e.ID == 0 {
		f.log.WarnContext(ctx, "products/import without an import id", "event", ev.ID, "err", err)
		return nil
	}
	b, _ := json.Marshal(importPayload{Store: ev.Store, ImportID: e.ID})
	_, err := f.client.EnqueueContext(ctx, asynq.NewTask(TypeImport, b),
		asynq.TaskID(fmt.Sprintf("import:%d:%d", ev.Store, e.ID)), asynq.Queue("low"),
		asynq.MaxRetry(10), asynq.Timeout(importTimeout), asynq.Retention(72*time.Hour))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// handleImport runs the import in its store; an import already finished
// (a second run) is left alone by RunImport.
func (f *Fleet) handleImport(ctx context.Context, t *asynq.Task) error {
	var p importPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	st, err := f.db.Tenant(ctx, p.Store)
	if errs.Is(err, errs.NotFound) {
		return nil // the store is gone, and its import with it
	}
	if err != nil {
		return err
	}
	if f.cfg.Catalog == nil {
		return fmt.Errorf("import %d of store %d: this worker has no catalog configured", p.ImportID, p.Store)
	}
	err = f.cfg.Catalog.RunImport(ctx, st, p.ImportID)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	return err
}
