package tenant

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"

	gcblob "gocloud.dev/blob"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/blob"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
)

// Per-store backups are logical dumps of one store's schema, made and
// restored with PostgreSQL's own pg_dump and pg_restore (custom format), so
// that one store can be brought back without touching the others. They are
// kept in blob storage under backups/<store id>/, one file per backup named
// by the moment it was taken (UTC), and pruned after each new one by a
// retention rule (Retain). Whole-database recovery to a point in time is the
// operators' other tool: see deploy/POSTGRES_PITR.md.

// shardURL is a libpq connection string for the database holding store t:
// pgx's own parameters are dropped, since pg_dump would refuse them.
func (d *DB) shardURL(ctx context.Context, t *Tenant) (string, error) {
	raw := d.controlURL
	var dsn string
	if err := d.control.WithContext(ctx).Raw(`SELECT dsn FROM platform.shards WHERE id = ?`, t.ShardID).Scan(&dsn).Error; err != nil {
		return "", fmt.Errorf("find shard of store %s: %w", t.Slug, err)
	}
	if dsn != "" {
		raw = dsn
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("backups need the database as a postgres:// URL")
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") || k == "default_query_exec_mode" || k == "statement_cache_capacity" ||
			k == "description_cache_capacity" {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// DumpStore writes a dump of store t's schema to w.
func (d *DB) DumpStore(ctx context.Context, t *Tenant, w io.Writer) error {
	dsn, err := d.shardURL(ctx, t)
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "pg_dump", "--format=custom", "--schema="+t.Schema, "--dbname="+dsn)
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_dump of store %s: %w: %s", t.Slug, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// RestoreStore replaces store t's data with the dump in r. The store is
// suspended while it runs (shoppers and partners are told so), and its
// status restored after. The old schema is kept aside until the dump is in,
// so a failed restore leaves the store as it was. A dump taken before newer
// tenant migrations is brought up to date afterwards.
func (d *DB) RestoreStore(ctx context.Context, t *Tenant, r io.Reader) error {
	before := t.Status
	if _, err := d.SetStatus(ctx, t.ID, Suspended); err != nil {
		return err
	}
	defer d.SetStatus(context.WithoutCancel(ctx), t.ID, before)
	s, err := d.shard(ctx, t.ShardID)
	if err != nil {
		return err
	}
	dsn, err := d.shardURL(ctx, t)
	if err != nil {
		return err
	}
	aside := fmt.Sprintf("%s_restore_%d", t.Schema, time.Now().UnixNano())
	if err := s.db.WithContext(ctx).Exec(`ALTER SCHEMA ` + quoteIdent(t.Schema) + ` RENAME TO ` + quoteIdent(aside)).Error; err != nil {
		return fmt.Errorf("set store %s's data aside: %w", t.Slug, err)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "pg_restore", "--exit-on-error", "--single-transaction", "--dbname="+dsn)
	cmd.Stdin, cmd.Stderr = r, &stderr
	if err := cmd.Run(); err != nil {
		// Put the old data back where it was.
		undo := s.db.WithContext(context.WithoutCancel(ctx))
		undo.Exec(`DROP SCHEMA IF EXISTS ` + quoteIdent(t.Schema) + ` CASCADE`)
		if uerr := undo.Exec(`ALTER SCHEMA ` + quoteIdent(aside) + ` RENAME TO ` + quoteIdent(t.Schema)).Error; uerr != nil {
			return fmt.Errorf("restore of store %s failed (%v: %s), and putting its data back failed too: %w; the data is in schema %s",
				t.Slug, err, strings.TrimSpace(stderr.String()), uerr, aside)
		}
		return fmt.Errorf("restore of store %s: %w: %s", t.Slug, err, strings.TrimSpace(stderr.String()))
	}
	if err := s.db.WithContext(ctx).Exec(`DROP SCHEMA ` + quoteIdent(aside) + ` CASCADE`).Error; err != nil {
		return fmt.Errorf("drop store %s's old data: %w", t.Slug, err)
	}
	if err := d.migrateOne(ctx, t); err != nil {
		return fmt.Errorf("bring store %s's restored data to the current schema: %w", t.Slug, err)
	}
	// Every server drops its cached pages of the store.
	return s.db.WithContext(ctx).Exec(`SELECT pg_notify(?, ?)`, StorefrontChanges, t.Schema).Error
}

// RestoreStoreAs makes a new store, slug, from src's dump in r, leaving src
// untouched: the new store has src's name and plan, and src's owners own it.
// It stays suspended until its data is in; if the restore fails, the new
// store is deleted again and the slug is free.
//
// The dump names src's schema and role (t_<src id>) throughout, and the new
// store must live in its own (t_<new id>). pg_restore turns the dump into
// SQL, and the identifier is renamed in the statements (never in the rows
// that COPY carries), so nothing of src is renamed, locked or set aside,
// even for a moment. The SQL runs in one transaction that first drops the
// new store's freshly provisioned, empty schema; COMMIT is sent only once
// pg_restore has finished cleanly, so any failure leaves nothing behind. A
// dump of any other schema than src's is refused.
//
// Errors: as Provision (Invalid slug, Conflict ErrSlugTaken), and Invalid
// when the dump is not one of src.
func (d *DB) RestoreStoreAs(ctx context.Context, src *Tenant, r io.Reader, slug string) (*Tenant, error) {
	var change rbac.Change
	t, err := d.Provision(ctx, NewStore{Slug: slug, Name: src.Name}, func(tx *gorm.DB, t *Tenant) error {
		err := tx.Exec(`UPDATE platform.tenants SET plan = ?, status = ? WHERE id = ?`, src.Plan, string(Suspended), int64(t.ID)).Error
		if err != nil {
			return fmt.Errorf("give store %s the plan of %s: %w", t.Slug, src.Slug, err)
		}
		t.Plan, t.Status = src.Plan, Suspended
		var owners []int64
		err = tx.Raw(`SELECT account_id FROM platform.memberships WHERE tenant_id = ? AND role = ? ORDER BY account_id`,
			int64(src.ID), string(RoleOwner)).Scan(&owners).Error
		if err != nil {
			return fmt.Errorf("find the owners of store %s: %w", src.Slug, err)
		}
		for _, a := range owners {
			c, err := insertMembership(tx, AccountID(a), t.ID, RoleOwner)
			if err != nil {
				return err
			}
			change.Added = append(change.Added, c.Added...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.publishAccess(ctx, change)
	if err := d.restoreRenamed(ctx, src, t, r); err != nil {
		return nil, errors.Join(err, d.Delete(context.WithoutCancel(ctx), t.ID))
	}
	if err := d.migrateOne(ctx, t); err != nil {
		err = fmt.Errorf("bring store %s's restored data to the current schema: %w", t.Slug, err)
		return nil, errors.Join(err, d.Delete(context.WithoutCancel(ctx), t.ID))
	}
	return d.SetStatus(ctx, t.ID, Active)
}

// restoreRenamed loads src's dump in r into dst's schema, in place of the
// empty one provisioning made: pg_restore | rename | psql, in one
// transaction (see RestoreStoreAs).
func (d *DB) restoreRenamed(ctx context.Context, src, dst *Tenant, r io.Reader) error {
	dsn, err := d.shardURL(ctx, dst)
	if err != nil {
		return err
	}
	// psql is killed, not sent EOF, on any failure upstream; and EOF without
	// our COMMIT rolls back anyway.
	psqlCtx, killPsql := context.WithCancel(ctx)
	defer killPsql()
	restoreCtx, killRestore := context.WithCancel(ctx)
	defer killRestore()

	var psqlErr, restoreErr bytes.Buffer
	psql := exec.CommandContext(psqlCtx, "psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--file=-", "--dbname="+dsn)
	psql.Stdout, psql.Stderr = io.Discard, &psqlErr
	in, err := psql.StdinPipe()
	if err != nil {
		return err
	}
	restore := exec.CommandContext(restoreCtx, "pg_restore", "--exit-on-error", "--file=-")
	restore.Stdin, restore.Stderr = r, &restoreErr
	out, err := restore.StdoutPipe()
	if err != nil {
		return err
	}
	if err := psql.Start(); err != nil {
		return fmt.Errorf("start psql: %w", err)
	}
	if err := restore.Start(); err != nil {
		killPsql()
		psql.Wait()
		return fmt.Errorf("start pg_restore: %w", err)
	}
	w := bufio.NewWriterSize(in, 256<<10)
	fmt.Fprintf(w, "BEGIN;\nDROP SCHEMA %s CASCADE;\n", quoteIdent(dst.Schema))
	rwErr := renameSchema(w, out, src.Schema, dst.Schema)
	if rwErr != nil {
		killRestore()
		io.Copy(io.Discard, out)
	}
	waitErr := restore.Wait()
	if rwErr == nil && waitErr == nil {
		_, rwErr = w.WriteString("COMMIT;\n")
		if rwErr == nil {
			rwErr = w.Flush()
		}
	}
	if rwErr != nil || waitErr != nil {
		killPsql()
		in.Close()
		psql.Wait()
		switch {
		case waitErr != nil && restoreErr.Len() > 0:
			return fmt.Errorf("pg_restore of store %s's dump: %w: %s", src.Slug, waitErr, strings.TrimSpace(restoreErr.String()))
		case errs.KindOf(rwErr) == errs.Invalid:
			return rwErr
		case psqlErr.Len() > 0:
			return fmt.Errorf("restore of store %s's dump as %s: %s", src.Slug, dst.Slug, strings.TrimSpace(psqlErr.String()))
		}
		return fmt.Errorf("restore of store %s's dump as %s: %w", src.Slug, dst.Slug, rwErr)
	}
	in.Close()
	if err := psql.Wait(); err != nil {
		return fmt.Errorf("restore of store %s's dump as %s: %w: %s", src.Slug, dst.Slug, err, strings.TrimSpace(psqlErr.String()))
	}
	return nil
}

// renameSchema copies the SQL that pg_restore writes from r to w with
// schema (and role) from renamed to to: in statements only, never in the
// rows that COPY carries, nor in psql's meta-commands. Session settings
// become transaction-local (SET LOCAL), since the SQL runs in one
// transaction and a pooled connection must keep nothing of it. The schema
// the dump creates must be from, or the dump is refused (Invalid).
func renameSchema(w io.Writer, r io.Reader, from, to string) error {
	ident := regexp.MustCompile(`\b` + regexp.QuoteMeta(from) + `\b`)
	br := bufio.NewReaderSize(r, 256<<10)
	inCopy, created := false, false
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			switch {
			case inCopy:
				if string(line) == "\\.\n" {
					inCopy = false
				}
			case bytes.HasPrefix(line, []byte(`\`)): // psql meta-command (\restrict, \connect)
				if bytes.HasPrefix(line, []byte(`\connect`)) {
					return errs.E(errs.Invalid, "the dump switches databases; it is not a store backup")
				}
			case bytes.HasPrefix(line, []byte("CREATE SCHEMA ")):
				if got := strings.TrimSpace(string(line)); got != "CREATE SCHEMA "+from+";" {
					return errs.E(errs.Invalid, "the dump holds %s, not store schema %s: it is not a backup of this store",
						strings.TrimSuffix(strings.TrimPrefix(got, "CREATE SCHEMA "), ";"), from)
				}
				created = true
				line = ident.ReplaceAll(line, []byte(to))
			case bytes.HasPrefix(line, []byte("SET ")):
				line = append([]byte("SET LOCAL "), line[len("SET "):]...)
			case bytes.HasPrefix(line, []byte("SELECT pg_catalog.set_config(")):
				line = bytes.Replace(line, []byte(", false);"), []byte(", true);"), 1)
			default:
				inCopy = bytes.HasPrefix(line, []byte("COPY ")) && bytes.HasSuffix(line, []byte(" FROM stdin;\n"))
				line = ident.ReplaceAll(line, []byte(to))
			}
			if _, werr := w.Write(line); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if !created {
		return errs.E(errs.Invalid, "the dump creates no schema: it is not a store backup")
	}
	return nil
}

// BackupKind says why a backup is kept.
type BackupKind string

// The kinds of backup.
const (
	BackupDaily  BackupKind = "daily"  // a nightly backup, kept as its day's
	BackupWeekly BackupKind = "weekly" // kept as the newest of its ISO week, past the daily ones
	BackupManual BackupKind = "manual" // taken by an operator (storefleet tenant backup); counts as its day's
)

// Backup is one dump of a store in blob storage.
type Backup struct {
	ID        string // file name, unique within the store: 20250102T030405Z.dump
	Key       string // full key in the bucket: backups/<store id>/<ID>
	CreatedAt time.Time
	Size      int64
	Manual    bool
	Kind      BackupKind
}

// Retention is how many backups of each store are kept: the newest of each
// of the Daily most recent days that have one, and the newest of each of
// the Weekly most recent ISO weeks that have one (the two sets overlap).
// Counting days that have backups, not calendar days, means that backups
// which stop being made are never all pruned away.
type Retention struct {
	Daily, Weekly int
}

// DefaultRetention keeps a week of dailies and a month of weeklies.
var DefaultRetention = Retention{Daily: 7, Weekly: 4}

// Retain splits backups into those rule r keeps and those it drops, both
// newest first. Kept backups get their kind: manual, daily (kept as its
// day's), or weekly (kept only as its week's). A manual backup counts as
// its day's daily: the newest backup of a day is the one kept for it.
func Retain(backups []Backup, r Retention) (keep, drop []Backup) {
	sorted := slices.Clone(backups)
	slices.SortStableFunc(sorted, func(a, b Backup) int { return b.CreatedAt.Compare(a.CreatedAt) })
	days, weeks := map[string]bool{}, map[string]bool{}
	for _, b := range sorted {
		at := b.CreatedAt.UTC()
		day := at.Format(time.DateOnly)
		year, week := at.ISOWeek()
		wk := fmt.Sprintf("%d-W%02d", year, week)
		daily := !days[day] && len(days) < r.Daily
		if daily {
			days[day] = true
		}
		weekly := !weeks[wk] && len(weeks) < r.Weekly
		if weekly {
			weeks[wk] = true
		}
		switch {
		case !daily && !weekly:
			b.Kind = kindOf(b, BackupDaily)
			drop = append(drop, b)
			continue
		case daily:
			b.Kind = kindOf(b, BackupDaily)
		default:
			b.Kind = kindOf(b, BackupWeekly)
		}
		keep = append(keep, b)
	}
	return keep, drop
}

func kindOf(b Backup, k BackupKind) BackupKind {
	if b.Manual {
		return BackupManual
	}
	return k
}

// BackupPrefix is where store id's backups are in the bucket.
func BackupPrefix(id ID) string { return fmt.Sprintf("backups/%d/", id) }

const backupStamp = "20060102T150405Z"

var backupNamePattern = regexp.MustCompile(`^(\d{8}T\d{6}Z)(-manual)?\.dump$`)

// backupName names a backup taken at at.
func backupName(at time.Time, manual bool) string {
	name := at.UTC().Format(backupStamp)
	if manual {
		name += "-manual"
	}
	return name + ".dump"
}

// parseBackupName reads what a backup's name says; ok is false for a file
// that is not a backup (it is neither listed nor ever pruned).
func parseBackupName(name string) (at time.Time, manual, ok bool) {
	m := backupNamePattern.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, false, false
	}
	at, err := time.Parse(backupStamp, m[1])
	if err != nil {
		return time.Time{}, false, false
	}
	return at, m[2] != "", true
}

// Backups makes, lists, prunes and restores stores' backups in a bucket.
type Backups struct {
	db     *DB
	bucket *blob.Bucket
	keep   Retention
}

// NewBackups returns the backups of db's stores in bucket, pruned by keep.
func NewBackups(db *DB, bucket *blob.Bucket, keep Retention) *Backups {
	return &Backups{db: db, bucket: bucket, keep: keep}
}

// ErrBackupNotFound is for a backup id the store does not have.
var ErrBackupNotFound = errs.E(errs.NotFound, "backup not found")

// Create dumps store t into the bucket, then prunes its backups by the
// retention rule. The dump streams straight to the bucket; a failed dump
// leaves no file. A prune that fails returns the new backup with the error.
// Backups are named by the second they are taken: a second one of the same
// kind within the same second replaces the first.
func (b *Backups) Create(ctx context.Context, t *Tenant, manual bool) (Backup, error) {
	at := time.Now().UTC().Truncate(time.Second)
	name := backupName(at, manual)
	key := BackupPrefix(t.ID) + name
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.bucket.NewWriter(wctx, key, &gcblob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return Backup{}, fmt.Errorf("store backup of %s: %w", t.Slug, err)
	}
	cw := &countingWriter{w: w}
	if err := b.db.DumpStore(ctx, t, cw); err != nil {
		cancel() // a cancelled writer discards what it has
		w.Close()
		blob.Delete(context.WithoutCancel(ctx), b.bucket, key)
		return Backup{}, err
	}
	if err := w.Close(); err != nil {
		return Backup{}, fmt.Errorf("store backup of %s: %w", t.Slug, err)
	}
	made := Backup{ID: name, Key: key, CreatedAt: at, Size: cw.n, Manual: manual, Kind: kindOf(Backup{Manual: manual}, BackupDaily)}
	if _, err := b.Prune(ctx, t); err != nil {
		return made, err
	}
	return made, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// all returns store t's backups in the bucket, in no set order.
func (b *Backups) all(ctx context.Context, t *Tenant) ([]Backup, error) {
	prefix := BackupPrefix(t.ID)
	it := b.bucket.List(&gcblob.ListOptions{Prefix: prefix})
	var out []Backup
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list backups of store %s: %w", t.Slug, err)
		}
		name := strings.TrimPrefix(obj.Key, prefix)
		at, manual, ok := parseBackupName(name)
		if !ok || obj.IsDir {
			continue
		}
		out = append(out, Backup{ID: name, Key: obj.Key, CreatedAt: at, Size: obj.Size, Manual: manual})
	}
}

// List returns store t's backups, newest first, each with the kind the
// retention rule gives it.
func (b *Backups) List(ctx context.Context, t *Tenant) ([]Backup, error) {
	all, err := b.all(ctx, t)
	if err != nil {
		return nil, err
	}
	keep, drop := Retain(all, b.keep)
	out := append(keep, drop...) // only before a prune are any dropped
	slices.SortStableFunc(out, func(a, b Backup) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// Prune deletes store t's backups that the retention rule does not keep,
// and returns them.
func (b *Backups) Prune(ctx context.Context, t *Tenant) ([]Backup, error) {
	all, err := b.all(ctx, t)
	if err != nil {
		return nil, err
	}
	_, drop := Retain(all, b.keep)
	for _, d := range drop {
		if err := blob.Delete(ctx, b.bucket, d.Key); err != nil {
			return nil, fmt.Errorf("prune backups of store %s: %w", t.Slug, err)
		}
	}
	return drop, nil
}

// Find returns store t's backup id: its file name, or its full key.
//
// Errors: NotFound (ErrBackupNotFound, also for another store's key).
func (b *Backups) Find(ctx context.Context, t *Tenant, id string) (Backup, error) {
	name, ok := strings.CutPrefix(id, BackupPrefix(t.ID))
	if !ok && strings.Contains(id, "/") {
		return Backup{}, ErrBackupNotFound
	}
	at, manual, valid := parseBackupName(name)
	if !valid {
		return Backup{}, ErrBackupNotFound
	}
	key := BackupPrefix(t.ID) + name
	attrs, err := b.bucket.Attributes(ctx, key)
	if blob.IsNotFound(err) {
		return Backup{}, ErrBackupNotFound
	}
	if err != nil {
		return Backup{}, fmt.Errorf("find backup %s of store %s: %w", name, t.Slug, err)
	}
	return Backup{ID: name, Key: key, CreatedAt: at, Size: attrs.Size, Manual: manual, Kind: kindOf(Backup{Manual: manual}, BackupDaily)}, nil
}

// Open returns a reader of store t's backup id (as Find takes it).
//
// Errors: NotFound (ErrBackupNotFound).
func (b *Backups) Open(ctx context.Context, t *Tenant, id string) (io.ReadCloser, error) {
	found, err := b.Find(ctx, t, id)
	if err != nil {
		return nil, err
	}
	r, err := b.bucket.NewReader(ctx, found.Key, nil)
	if err != nil {
		return nil, fmt.Errorf("read backup %s of store %s: %w", found.ID, t.Slug, err)
	}
	return r, nil
}

// Restore replaces store t's data with its backup id (see RestoreStore).
//
// Errors: NotFound (ErrBackupNotFound), and RestoreStore's.
func (b *Backups) Restore(ctx context.Context, t *Tenant, id string) error {
	r, err := b.Open(ctx, t, id)
	if err != nil {
		return err
	}
	defer r.Close()
	return b.db.RestoreStore(ctx, t, r)
}

// RestoreAs makes a new store, slug, from store t's backup id, leaving t
// untouched (see RestoreStoreAs).
//
// Errors: NotFound (ErrBackupNotFound), and RestoreStoreAs's.
func (b *Backups) RestoreAs(ctx context.Context, t *Tenant, id, slug string) (*Tenant, error) {
	r, err := b.Open(ctx, t, id)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return b.db.RestoreStoreAs(ctx, t, r, slug)
}
