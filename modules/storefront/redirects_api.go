package storefront

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/tenant"
)

// Redirects is the URL redirects' Admin API resource (redirects.json,
// Shopify's): a path of the storefront that answers 301 with another. As
// on Shopify, a redirect applies only where the storefront has no page of
// its own (a product, collection or page that exists is shown, not
// redirected). The storefront writes redirects itself when a product's or
// collection's handle changes (see migrations/tenant/00015_redirects.sql).
type Redirects struct {
	db *tenant.DB
}

// NewRedirects returns the redirects resource.
func NewRedirects(db *tenant.DB) *Redirects { return &Redirects{db: db} }

// ErrRedirectNotFound is for a redirect the store does not have.
var ErrRedirectNotFound = errs.E(errs.NotFound, "redirect not found")

// maxRedirectHops bounds the walk along redirects that looks for loops;
// the storefront collapses chains, so real ones are short.
const maxRedirectHops = 32

// AdminRoutes mounts redirects.json, redirects/count.json and
// redirects/{id}.json, with the content scopes.
func (s *Redirects) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	read, write := g.Require("content", rbac.Read), g.Require("content", rbac.Write)
	r.GET("/redirects.json", read, g.Handle(s.list))
	r.POST("/redirects.json", write, g.Handle(s.create))
	r.GET("/redirects/:file", read, g.Handle(func(c *gin.Context) error {
		if c.Param("file") == "count.json" {
			return s.count(c)
		}
		return s.get(c)
	}))
	r.PUT("/redirects/:file", write, g.Handle(s.update))
	r.DELETE("/redirects/:file", write, g.Handle(s.delete))
}

type redirectJSON struct {
	ID     int64  `json:"id"`
	Path   string `json:"path"`
	Target string `json:"target"`
}

type redirectRow struct {
	ID        int64     `gorm:"column:id"`
	Path      string    `gorm:"column:path"`
	Target    string    `gorm:"column:target"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

const redirectColumns = `id, path, target, created_at`

func (r redirectRow) toJSON() redirectJSON {
	return redirectJSON{ID: r.ID, Path: r.Path, Target: r.Target}
}

type redirectRequest struct {
	Path   *string `json:"path"`
	Target *string `json:"target"`
}

// validate trims the request's fields and checks each alone; creating
// needs both.
func (r *redirectRequest) validate(creating bool) error {
	f := errs.Fields{}
	for _, fd := range []struct {
		name string
		v    **string
	}{{"path", &r.Path}, {"target", &r.Target}} {
		if *fd.v == nil {
			if creating {
				f.Add(fd.name, "can't be blank")
			}
			continue
		}
		v := strings.TrimSpace(**fd.v)
		*fd.v = &v
		if msg := checkRedirectPath(v); msg != "" {
			f.Add(fd.name, "%s", msg)
		}
	}
	return f.Err()
}

// checkRedirectPath says what is wrong with a redirect's path or target,
// "" for nothing. Both are paths of the store: the storefront matches the
// request's path exactly, and a target on another host ("//host/…", which
// browsers also read in "/\host") would make the store an open redirect.
func checkRedirectPath(p string) string {
	switch {
	case p == "":
		return "can't be blank"
	case !strings.HasPrefix(p, "/"):
		return "must be a path of the store starting with / (such as /old-page)"
	case strings.HasPrefix(p, "//") || strings.HasPrefix(p, `/\`):
		return "must be a path of this store, not another host"
	case len(p) > 1024:
		return "is too long (maximum is 1024 characters)"
	case strings.ContainsAny(p, "?#"):
		return "must be a path without a query string or fragment"
	case strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "may not contain spaces or control characters (percent-encode them)"
	}
	return ""
}

var (
	errRedirectPathTaken = &errs.Error{Kind: errs.Invalid, Message: "path has already been taken",
		Fields: map[string][]string{"path": {"has already been taken"}}}
	errRedirectToItself = &errs.Error{Kind: errs.Invalid, Message: "target can't be the same as path",
		Fields: map[string][]string{"target": {"can't be the same as path"}}}
	errRedirectLoop = &errs.Error{Kind: errs.Invalid, Message: "target leads back to path through other redirects",
		Fields: map[string][]string{"target": {"leads back to path through other redirects (a redirect loop)"}}}
)

// checkRedirectLoop refuses path → target when target leads back to path
// through the store's redirects.
func checkRedirectLoop(tx *gorm.DB, path, target string) error {
	if path == target {
		return errRedirectToItself
	}
	cur := target
	for range maxRedirectHops {
		var next []string
		if err := tx.Raw(`SELECT target FROM redirects WHERE path = ?`, cur).Scan(&next).Error; err != nil {
			return fmt.Errorf("follow redirect: %w", err)
		}
		if len(next) == 0 {
			return nil
		}
		if next[0] == path {
			return errRedirectLoop
		}
		cur = next[0]
	}
	return errRedirectLoop
}

func redirectID(c *gin.Context) (int64, error) {
	if !strings.HasSuffix(c.Param("file"), ".json") {
		return 0, ErrRedirectNotFound
	}
	return apps.FileID(c.Param("file"), ErrRedirectNotFound)
}

// redirectQuery is what a list selects; the filters travel in page_info.
type redirectQuery struct {
	Path    string `json:"path,omitempty"`
	Target  string `json:"target,omitempty"`
	SinceID int64  `json:"since_id,omitempty"`
	limit   int
	after   int64
	before  int64
}

func (q redirectQuery) where() (string, []any) {
	where, args := "true", []any{}
	if q.Path != "" {
		where, args = where+" AND path = ?", append(args, q.Path)
	}
	if q.Target != "" {
		where, args = where+" AND target = ?", append(args, q.Target)
	}
	if q.SinceID > 0 {
		where, args = where+" AND id > ?", append(args, q.SinceID)
	}
	return where, args
}

// parseRedirectQuery reads the list parameters: path, target, since_id,
// limit, or page_info (with limit) from a previous page's Link.
func parseRedirectQuery(c *gin.Context) (redirectQuery, bool, error) {
	v := c.Request.URL.Query()
	f := errs.Fields{}
	q := redirectQuery{limit: apps.ParseLimit(f, v)}
	paged := v.Get("page_info") != ""
	if paged {
		q.after, q.before = apps.PageInfo(f, v, &q)
	} else {
		q.Path, q.Target = v.Get("path"), v.Get("target")
		if sv := v.Get("since_id"); sv != "" {
			n, err := strconv.ParseInt(sv, 10, 64)
			if err != nil || n < 0 {
				f.Add("since_id", "must be a redirect id")
			}
			q.SinceID = n
		}
	}
	if err := f.Err(); err != nil {
		return redirectQuery{}, false, apps.Malformed(err)
	}
	return q, paged, nil
}

func (s *Redirects) write(c *gin.Context, status int, one bool, rows []redirectRow) error {
	fields := apps.SplitList(c.Query("fields"))
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = apps.KeepFields(r.toJSON(), fields)
	}
	if one {
		c.JSON(status, gin.H{"redirect": out[0]})
	} else {
		c.JSON(status, gin.H{"redirects": out})
	}
	return nil
}

func (s *Redirects) list(c *gin.Context) error {
	q, paged, err := parseRedirectQuery(c)
	if err != nil {
		return err
	}
	where, args := q.where()
	order := "id"
	switch {
	case q.after > 0:
		where, args = where+" AND id > ?", append(args, q.after)
	case q.before > 0:
		where, args, order = where+" AND id < ?", append(args, q.before), "id DESC"
	}
	var rows []redirectRow
	err = s.db.ReadTx(c.Request.Context(), apps.PrincipalOf(c).Store, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT `+redirectColumns+` FROM redirects WHERE `+where+` ORDER BY `+order+` LIMIT ?`,
			append(args, q.limit+1)...).Scan(&rows).Error
	})
	if err != nil {
		return fmt.Errorf("list redirects: %w", err)
	}
	more := len(rows) > q.limit
	if more {
		rows = rows[:q.limit]
	}
	if q.before > 0 {
		slices.Reverse(rows)
	}
	if len(rows) > 0 {
		apps.SetLinks(c, redirectQuery{Path: q.Path, Target: q.Target, SinceID: q.SinceID}, q.limit,
			rows[0].ID, rows[len(rows)-1].ID, q.before > 0, more, paged)
	}
	return s.write(c, http.StatusOK, false, rows)
}

func (s *Redirects) count(c *gin.Context) error {
	v := c.Request.URL.Query()
	where, args := redirectQuery{Path: v.Get("path"), Target: v.Get("target")}.where()
	var n int64
	err := s.db.ReadTx(c.Request.Context(), apps.PrincipalOf(c).Store, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM redirects WHERE `+where, args...).Scan(&n).Error
	})
	if err != nil {
		return fmt.Errorf("count redirects: %w", err)
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
	return nil
}

func findRedirectRow(tx *gorm.DB, id int64, lock bool) (redirectRow, error) {
	q := `SELECT ` + redirectColumns + ` FROM redirects WHERE id = ?`
	if lock {
		q += ` FOR UPDATE`
	}
	var rows []redirectRow
	if err := tx.Raw(q, id).Scan(&rows).Error; err != nil {
		return redirectRow{}, fmt.Errorf("find redirect: %w", err)
	}
	if len(rows) == 0 {
		return redirectRow{}, ErrRedirectNotFound
	}
	return rows[0], nil
}

func (s *Redirects) get(c *gin.Context) error {
	id, err := redirectID(c)
	if err != nil {
		return err
	}
	var r redirectRow
	err = s.db.ReadTx(c.Request.Context(), apps.PrincipalOf(c).Store, func(tx *gorm.DB) error {
		r, err = findRedirectRow(tx, id, false)
		return err
	})
	if err != nil {
		return err
	}
	return s.write(c, http.StatusOK, true, []redirectRow{r})
}

// lockRedirects serializes redirect writes within a store, so that two
// writes cannot each pass the loop check and together make a loop.
func lockRedirects(tx *gorm.DB) error {
	if err := tx.Exec(`LOCK TABLE redirects IN SHARE ROW EXCLUSIVE MODE`).Error; err != nil {
		return fmt.Errorf("lock redirects: %w", err)
	}
	return nil
}

func (s *Redirects) create(c *gin.Context) error {
	var req redirectRequest
	if err := apps.DecodeEnvelope(c, "redirect", &req); err != nil {
		return err
	}
	if err := req.validate(true); err != nil {
		return err
	}
	var rows []redirectRow
	err := s.db.Tx(c.Request.Context(), apps.PrincipalOf(c).Store, func(tx *gorm.DB) error {
		if err := lockRedirects(tx); err != nil {
			return err
		}
		if err := checkRedirectLoop(tx, *req.Path, *req.Target); err != nil {
			return err
		}
		return tx.Raw(`INSERT INTO redirects (path, target) VALUES (?, ?) RETURNING `+redirectColumns, *req.Path, *req.Target).Scan(&rows).Error
	})
	if pg.Code(err) == pg.UniqueViolation {
		return errRedirectPathTaken
	}
	if err != nil {
		return fmt.Errorf("insert redirect: %w", err)
	}
	return s.write(c, http.StatusCreated, true, rows)
}

func (s *Redirects) update(c *gin.Context) error {
	id, err := redirectID(c)
	if err != nil {
		return err
	}
	var req redirectRequest
	if err := apps.DecodeEnvelope(c, "redirect", &req); err != nil {
		return err
	}
	if err := req.validate(false); err != nil {
		return err
	}
	var rows []redirectRow
	err = s.db.Tx(c.Request.Context(), apps.PrincipalOf(c).Store, func(tx *gorm.DB) error {
		if err := lockRedirects(tx); err != nil {
			return err
		}
		r, err := findRedirectRow(tx, id, true)
		if err != nil {
			return err
		}
		if req.Path != nil {
			r.Path = *req.Path
		}
		if req.Target != nil {
			r.Target = *req.Target
		}
		if err := checkRedirectLoop(tx, r.Path, r.Target); err != nil {
			return err
		}
		return tx.Raw(`UPDATE redirects SET path = ?, target = ? WHERE id = ? RETURNING `+redirectColumns, r.Path, r.Target, id).Scan(&rows).Error
	})
	if pg.Code(err) == pg.UniqueViolation {
		return errRedirectPathTaken
	}
	if err != nil {
		return fmt.Errorf("update redirect: %w", err)
	}
	return s.write(c, http.StatusOK, true, rows)
}

func (s *Redirects) delete(c *gin.Context) error {
	id, err := redirectID(c)
	if err != nil {
		return err
	}
	var n int64
	err = s.db.Tx(c.Request.Context(), apps.PrincipalOf(c).Store, func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM redirects WHERE id = ?`, id)
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return fmt.Errorf("delete redirect: %w", err)
	}
	if n == 0 {
		return ErrRedirectNotFound
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}
