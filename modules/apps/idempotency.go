package apps

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/tenant"
)

// Idempotency headers.
const (
	IdempotencyKeyHeader = "Idempotency-Key"
	ReplayedHeader       = "Idempotent-Replayed"
)

// How long keys are kept, how long a first request may run before a retry
// takes its key over (its process died), and how long a concurrent duplicate
// waits for the first to finish.
const (
	keyTTL      = 24 * time.Hour
	staleAfter  = time.Minute
	waitForPeer = 10 * time.Second
)

// keyState is what a store knows of an idempotency key.
type keyState struct {
	RequestHash []byte     `gorm:"column:request_hash"`
	Status      *int       `gorm:"column:status"`
	ContentType string     `gorm:"column:content_type"`
	Body        []byte     `gorm:"column:body"`
	CreatedAt   time.Time  `gorm:"column:created_at"`
	CompletedAt *time.Time `gorm:"column:completed_at"`
}

// idempotent makes every write that carries an Idempotency-Key happen once:
// the first request runs and its response is kept; a retry of the same
// request (same token, method, path and body) gets that response again with
// Idempotent-Replayed: true; the same key with another request is refused
// (422). A duplicate that arrives while the first still runs waits for it.
// Server errors are not kept, so they can be retried.
func (g *Gate) idempotent(c *gin.Context) {
	key := c.GetHeader(IdempotencyKeyHeader)
	if key == "" || c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		return
	}
	if len(key) > 255 || strings.IndexFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
		Abort(c, g.log, errs.E(errs.Malformed, "Idempotency-Key must be 1 to 255 printable ASCII characters (a UUID, say)"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, 2<<20))
	if err != nil {
		Abort(c, g.log, errs.E(errs.Malformed, "request body is larger than 2 MiB"))
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	p := PrincipalOf(c)
	h := sha256.New()
	caller := strconv.FormatInt(p.Token.ID, 10) // as keys were hashed before staff sessions
	if p.Account != 0 {
		caller = p.Subject()
	}
	fmt.Fprintf(h, "%s\n%s\n%s\n", caller, c.Request.Method, c.Request.URL.Path)
	h.Write(body)
	hash := h.Sum(nil)
	ctx := c.Request.Context()

	for deadline := time.Now().Add(waitForPeer); ; {
		claimed, st, err := g.claimKey(ctx, p.Store, key, hash)
		if err != nil {
			Abort(c, g.log, err)
			return
		}
		if claimed {
			break
		}
		if !bytes.Equal(st.RequestHash, hash) {
			Abort(c, g.log, errs.E(errs.Invalid, "Idempotency-Key %q was already used for a different request; use a new key for a new request", key))
			return
		}
		if st.Status != nil {
			c.Header(ReplayedHeader, "true")
			c.Data(*st.Status, st.ContentType, st.Body)
			c.Abort()
			return
		}
		if time.Now().After(deadline) {
			Abort(c, g.log, errs.E(errs.Conflict, "a request with this Idempotency-Key is still being processed; retry later"))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}

	rec := &recorder{ResponseWriter: c.Writer}
	c.Writer = rec
	c.Next()
	// Record (or, for a server error, release) the key even if the client
	// has gone: the write happened.
	ctx = context.WithoutCancel(ctx)
	status := rec.Status()
	err = g.db.Tx(ctx, p.Store, func(tx *gorm.DB) error {
		if status >= 500 {
			return tx.Exec(`DELETE FROM idempotency_keys WHERE key = ?`, key).Error
		}
		return tx.Exec(`UPDATE idempotency_keys SET status = ?, content_type = ?, body = ?, completed_at = now() WHERE key = ?`,
			status, rec.Header().Get("Content-Type"), rec.buf.Bytes(), key).Error
	})
	if err != nil {
		g.log.ErrorContext(ctx, "cannot record idempotency key; a retry may repeat the request", "key", key, "err", err)
	}
}

// claimKey makes key this request's, unless a live request or response
// already holds it, in which case its state is returned. Expired keys and
// keys of requests that died mid-way are taken over.
func (g *Gate) claimKey(ctx context.Context, t *tenant.Tenant, key string, hash []byte) (bool, keyState, error) {
	var st keyState
	claimed := false
	err := g.db.Tx(ctx, t, func(tx *gorm.DB) error {
		// Keys past their 24 hours go as new ones come: an index range scan
		// that finds nothing most of the time.
		if err := tx.Exec(`DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => ?)`, keyTTL.Seconds()).Error; err != nil {
			return fmt.Errorf("expire idempotency keys: %w", err)
		}
		var n []int
		err := tx.Raw(`INSERT INTO idempotency_keys (key, request_hash) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash, status = NULL, body = NULL,
				content_type = '', created_at = now(), completed_at = NULL
			WHERE idempotency_keys.created_at < now() - make_interval(secs => ?)
			   OR (idempotency_keys.status IS NULL AND idempotency_keys.created_at < now() - make_interval(secs => ?))
			RETURNING 1`, key, hash, keyTTL.Seconds(), staleAfter.Seconds()).Scan(&n).Error
		if err != nil {
			return fmt.Errorf("claim idempotency key: %w", err)
		}
		if len(n) == 1 {
			claimed = true
			return nil
		}
		return tx.Raw(`SELECT request_hash, status, content_type, body, created_at, completed_at FROM idempotency_keys WHERE key = ?`, key).Scan(&st).Error
	})
	return claimed, st, err
}

// recorder keeps a copy of the response body.
type recorder struct {
	gin.ResponseWriter
	buf bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.buf.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) WriteString(s string) (int, error) {
	r.buf.WriteString(s)
	return r.ResponseWriter.WriteString(s)
}
