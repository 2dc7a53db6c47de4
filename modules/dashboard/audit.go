package dashboard

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenant"
)

// The audit log: every successful change made through a store's pages is
// recorded in the store's audit_log (tenant door), with who made it, their
// role, what it was and on which resource. Staff changes are logged by the
// tenant package with their details (who was invited as what), and the
// middleware leaves those requests alone.

// ctxAudited marks a request whose change was logged already; ctxAction
// holds the change's name, as its route gave it (Dashboard.change).
const (
	ctxAudited = "dashboard.audited"
	ctxAction  = "dashboard.action"
)

// auditPerPage is the audit log's page size.
const auditPerPage = 50

// audit records each successful (status < 400) change of the request's
// store once the handler is done: method other than GET, HEAD, OPTIONS.
// A failure to record is logged; the change itself has been made.
func (d *Dashboard) audit(c *gin.Context) {
	c.Next()
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return
	}
	if c.Writer.Status() >= http.StatusBadRequest || c.GetBool(ctxAudited) {
		return
	}
	v, ok := c.Get(ctxMember)
	if !ok {
		return
	}
	m := v.(Member)
	ctx := c.Request.Context()
	e := tenant.AuditEntry{Account: m.Account, Role: m.Role, Action: c.GetString(ctxAction), Resource: auditResource(c)}
	if e.Action == "" {
		e.Action = c.Request.Method + " " + c.Request.URL.Path
	}
	acct, err := d.cfg.DB.Account(ctx, m.Account)
	if err == nil {
		e.Email = acct.Email
		err = d.cfg.DB.RecordAudit(ctx, m.Store, e)
	}
	if err != nil {
		d.cfg.Log.ErrorContext(ctx, "audit entry not written", slog.Any("err", err), slog.String("action", e.Action),
			slog.String("request_id", web.RequestID(ctx)))
	}
}

// auditResource names what the request changed from its route's
// parameters: "orders 12" for /orders/:id/paid with id 12.
func auditResource(c *gin.Context) string {
	var out []string
	segs := strings.Split(c.FullPath(), "/")
	for _, p := range c.Params {
		if p.Key == "slug" {
			continue
		}
		name := p.Key
		for i, s := range segs {
			if s == ":"+p.Key && i > 0 && !strings.HasPrefix(segs[i-1], ":") {
				name = segs[i-1]
			}
		}
		out = append(out, name+" "+p.Value)
	}
	return strings.Join(out, ", ")
}

// auditRow is a line of the audit log page.
type auditRow struct {
	When, Email, Role, Action, Resource string
}

// auditPage is a page of the audit log.
type auditPage struct {
	Rows       []auditRow
	Prev, Next string
}

// requireStaffWrite admits only those who manage staff (owner and admin):
// the audit log says who did what, which is theirs to read.
func (d *Dashboard) requireStaffWrite(c *gin.Context) {
	m := memberOf(c)
	ok, err := d.Allowed(m, tenant.StaffObject, rbac.Write)
	if err != nil {
		d.failErr(c, err)
		return
	}
	if !ok {
		d.fail(c, http.StatusForbidden, "Not allowed",
			fmt.Sprintf("Your role in %s (%s) does not let you see the audit log. Ask the store's owner if you need to.", m.Store.Name, m.Role))
		return
	}
	c.Next()
}

// auditLog lists the store's audit log, newest first, a page at a time
// (?before=<id>).
func (d *Dashboard) auditLog(c *gin.Context) {
	m := memberOf(c)
	before, _ := strconv.ParseInt(c.Query("before"), 10, 64)
	entries, more, err := d.cfg.DB.AuditLog(c.Request.Context(), m.Store, before, auditPerPage)
	if err != nil {
		d.failErr(c, err)
		return
	}
	_, labels, _, err := d.roleOptions(c, m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	var page auditPage
	for _, e := range entries {
		page.Rows = append(page.Rows, auditRow{When: e.CreatedAt.Format("2 Jan 2006 15:04:05"), Email: e.Email,
			Role: staffLabel(labels, e.Role), Action: e.Action, Resource: e.Resource})
	}
	if before > 0 {
		page.Prev = "?"
	}
	if more && len(entries) > 0 {
		page.Next = "?before=" + strconv.FormatInt(entries[len(entries)-1].ID, 10)
	}
	d.render(c, http.StatusOK, "audit", "Audit log", page)
}
