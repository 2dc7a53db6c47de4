package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/tenant"
)

// Staff screens: the store's members and pending invitations
// (/store/:slug/staff), one member (/staff/members/:id: change role,
// remove, transfer ownership), custom roles (/staff/roles), and the accept
// page of an invitation link (/invitations/:token, logged in or not). Every
// change goes through the tenant package's staff methods, which apply the
// access change as SetRole does and write the audit log. The casbin object
// is tenant.StaffObject ("staff"): owner and admin may change it; a viewer
// ("*" read) sees the list, read-only.

// staffRoleOption is a role a form offers.
type staffRoleOption struct {
	Value, Label string
}

// staffRow is a line of the members list.
type staffRow struct {
	ID                 int64
	Email, Name, Role  string
	Since              string
	Owner, Me          bool
	IsAdmin, IsDefault bool
}

// invitationView is a pending invitation in the list.
type invitationView struct {
	ID             int64
	Email, Role    string
	Expires        string
	Expired        bool
	InvitedByEmail string
}

// customRoleView is a custom role in the roles list.
type customRoleView struct {
	ID          int64
	Name, Perms string
}

// staffPage is the staff list, its invite form, and the roles page.
type staffPage struct {
	RolesPage   bool
	Members     []staffRow
	Invitations []invitationView
	Roles       []staffRoleOption
	CanManage   bool
	Flash       string
	Message     string
	Errors      map[string][]string
	// The invite form.
	Email, Role string
	// The roles page.
	CustomRoles []customRoleView
	Objects     []string
	RoleName    string
	Checked     map[string]bool // "orders:write" → checked
}

// staffDone are the notices after an action, by ?done=.
var staffDone = map[string]string{
	"invited":      "The invitation is on its way.",
	"resent":       "The invitation was sent again, with a new link.",
	"revoked":      "The invitation was withdrawn; its link no longer works.",
	"role":         "The role was changed.",
	"removed":      "The staff member was removed.",
	"transferred":  "Ownership was transferred. You are now an admin.",
	"role-created": "The role was created.",
	"role-deleted": "The role was deleted.",
}

// actorOf is the member as the audit log remembers them.
func (d *Dashboard) actorOf(c *gin.Context) (tenant.Actor, error) {
	m := memberOf(c)
	acct, err := d.cfg.DB.Account(c.Request.Context(), m.Account)
	if err != nil {
		return tenant.Actor{}, err
	}
	return tenant.Actor{Account: m.Account, Email: acct.Email, Role: m.Role}, nil
}

// roleOptions are the roles store t can give: the built-in ones and its
// custom roles, with a name for every role (owner included).
func (d *Dashboard) roleOptions(c *gin.Context, t *tenant.Tenant) ([]staffRoleOption, map[tenant.Role]string, []tenant.CustomRole, error) {
	crs, err := d.cfg.DB.CustomRoles(c.Request.Context(), t)
	if err != nil {
		return nil, nil, nil, err
	}
	labels := map[tenant.Role]string{tenant.RoleOwner: "owner"}
	var opts []staffRoleOption
	for _, r := range tenant.InvitableRoles {
		opts = append(opts, staffRoleOption{string(r), string(r)})
		labels[r] = string(r)
	}
	for _, cr := range crs {
		opts = append(opts, staffRoleOption{string(cr.Role()), cr.Name})
		labels[cr.Role()] = cr.Name
	}
	return opts, labels, crs, nil
}

func staffLabel(labels map[tenant.Role]string, r tenant.Role) string {
	if l, ok := labels[r]; ok {
		return l
	}
	return string(r)
}

// staff lists the store's members and pending invitations, with the invite
// form for those who may manage staff.
func (d *Dashboard) staff(c *gin.Context) {
	d.showStaff(c, http.StatusOK, staffPage{Role: string(tenant.RoleStaff)})
}

func (d *Dashboard) showStaff(c *gin.Context, status int, page staffPage) {
	m := memberOf(c)
	ctx := c.Request.Context()
	var err error
	var labels map[tenant.Role]string
	if page.Roles, labels, _, err = d.roleOptions(c, m.Store); err != nil {
		d.failErr(c, err)
		return
	}
	if page.CanManage, err = d.Allowed(m, tenant.StaffObject, rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	members, err := d.cfg.DB.Members(ctx, m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	for _, sm := range members {
		page.Members = append(page.Members, staffRow{ID: int64(sm.Account.ID), Email: sm.Account.Email, Name: sm.Account.Name,
			Role: staffLabel(labels, sm.Role), Since: sm.Since.Format("2 Jan 2006"), Owner: sm.Role == tenant.RoleOwner, Me: sm.Account.ID == m.Account})
	}
	if page.CanManage {
		invs, err := d.cfg.DB.Invitations(ctx, m.Store)
		if err != nil {
			d.failErr(c, err)
			return
		}
		now := time.Now()
		for _, inv := range invs {
			page.Invitations = append(page.Invitations, invitationView{ID: inv.ID, Email: inv.Email, Role: staffLabel(labels, inv.Role),
				Expires: inv.ExpiresAt.Format("2 Jan 2006 15:04"), Expired: !now.Before(inv.ExpiresAt)})
		}
	}
	if msg, ok := staffDone[c.Query("done")]; ok && status == http.StatusOK {
		page.Flash = msg
	}
	d.render(c, status, "staff", "Staff", page)
}

// staffFailed answers a staff action's error: the page again with it (422)
// when the merchant can act on it, the error page otherwise.
func (d *Dashboard) staffFailed(c *gin.Context, err error, again func(status int, message string, fields map[string][]string)) {
	switch errs.KindOf(err) {
	case errs.Invalid, errs.Conflict:
		fields := errs.FieldsOf(err)
		msg := ""
		if len(fields) == 0 {
			msg = errs.MessageOf(err)
		}
		again(http.StatusUnprocessableEntity, msg, fields)
	default:
		d.failErr(c, err)
	}
}

// staffAudited marks the request as logged by the service with its
// details, so that the audit middleware does not log it again.
func staffAudited(c *gin.Context) { c.Set(ctxAudited, true) }

func (d *Dashboard) staffRedirect(c *gin.Context, path, done string) {
	c.Redirect(http.StatusSeeOther, "/store/"+memberOf(c).Store.Slug+path+"?done="+done)
}

// inviteStaff invites an email with a role; the email leaves through the
// outbox.
func (d *Dashboard) inviteStaff(c *gin.Context) {
	m := memberOf(c)
	by, err := d.actorOf(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	form := staffPage{Email: strings.TrimSpace(c.PostForm("email")), Role: c.PostForm("role")}
	_, err = d.cfg.DB.Invite(c.Request.Context(), m.Store, by, form.Email, tenant.Role(form.Role), d.cfg.URLs)
	if err != nil {
		d.staffFailed(c, err, func(status int, msg string, fields map[string][]string) {
			form.Message, form.Errors = msg, fields
			d.showStaff(c, status, form)
		})
		return
	}
	staffAudited(c)
	d.staffRedirect(c, "/staff", "invited")
}

// staffPathID is the :id of a staff URL; ok is false for one that cannot be.
func staffPathID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	return id, err == nil && id > 0
}

// resendInvitation sends a pending invitation again with a new link.
func (d *Dashboard) resendInvitation(c *gin.Context) {
	d.invitationAction(c, "resent", func(by tenant.Actor, id int64) error {
		_, err := d.cfg.DB.ResendInvitation(c.Request.Context(), memberOf(c).Store, by, id, d.cfg.URLs)
		return err
	})
}

// revokeInvitation withdraws a pending invitation.
func (d *Dashboard) revokeInvitation(c *gin.Context) {
	d.invitationAction(c, "revoked", func(by tenant.Actor, id int64) error {
		return d.cfg.DB.RevokeInvitation(c.Request.Context(), memberOf(c).Store, by, id)
	})
}

func (d *Dashboard) invitationAction(c *gin.Context, done string, fn func(by tenant.Actor, id int64) error) {
	id, ok := staffPathID(c)
	if !ok {
		d.notFound(c)
		return
	}
	by, err := d.actorOf(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	if err := fn(by, id); err != nil {
		d.failErr(c, err)
		return
	}
	staffAudited(c)
	d.staffRedirect(c, "/staff", done)
}

// staffMemberPage is one member's page.
type staffMemberPage struct {
	Member                     staffRow
	Role                       string // the member's role value
	Roles                      []staffRoleOption
	CanManage, CanTransfer     bool
	Flash, Message             string
	Errors                     map[string][]string
	OwnerNote, TransferMissing string
}

// staffMember shows one member of the store, with the changes the viewer's
// role allows. Another store's member is not found.
func (d *Dashboard) staffMember(c *gin.Context) {
	d.showStaffMember(c, http.StatusOK, staffMemberPage{})
}

func (d *Dashboard) showStaffMember(c *gin.Context, status int, page staffMemberPage) {
	m := memberOf(c)
	id, ok := staffPathID(c)
	if !ok {
		d.notFound(c)
		return
	}
	sm, err := d.cfg.DB.StaffMemberOf(c.Request.Context(), m.Store, tenant.AccountID(id))
	if err != nil {
		d.failErr(c, err)
		return
	}
	var labels map[tenant.Role]string
	if page.Roles, labels, _, err = d.roleOptions(c, m.Store); err != nil {
		d.failErr(c, err)
		return
	}
	if page.CanManage, err = d.Allowed(m, tenant.StaffObject, rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	page.Member = staffRow{ID: id, Email: sm.Account.Email, Name: sm.Account.Name, Role: staffLabel(labels, sm.Role),
		Since: sm.Since.Format("2 Jan 2006"), Owner: sm.Role == tenant.RoleOwner, Me: sm.Account.ID == m.Account,
		IsAdmin: sm.Role == tenant.RoleAdmin}
	page.Role = string(sm.Role)
	page.CanTransfer = m.Role == tenant.RoleOwner && sm.Role == tenant.RoleAdmin
	if msg, ok := staffDone[c.Query("done")]; ok && status == http.StatusOK {
		page.Flash = msg
	}
	d.render(c, status, "staff_member", sm.Account.Email, page)
}

// memberAction runs a change on the member of the URL; on an error the
// merchant can act on, the member's page comes back with it.
func (d *Dashboard) memberAction(c *gin.Context, after string, fn func(by tenant.Actor, id tenant.AccountID) error) {
	id, ok := staffPathID(c)
	if !ok {
		d.notFound(c)
		return
	}
	by, err := d.actorOf(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	if err := fn(by, tenant.AccountID(id)); err != nil {
		d.staffFailed(c, err, func(status int, msg string, fields map[string][]string) {
			if msg == "" {
				msg = errs.MessageOf(err)
			}
			d.showStaffMember(c, status, staffMemberPage{Message: msg, Errors: fields})
		})
		return
	}
	staffAudited(c)
	switch after {
	case "removed":
		d.staffRedirect(c, "/staff", after)
	default:
		d.staffRedirect(c, fmt.Sprintf("/staff/members/%d", id), after)
	}
}

// changeStaffRole gives the member another role.
func (d *Dashboard) changeStaffRole(c *gin.Context) {
	d.memberAction(c, "role", func(by tenant.Actor, id tenant.AccountID) error {
		return d.cfg.DB.ChangeRole(c.Request.Context(), memberOf(c).Store, by, id, tenant.Role(c.PostForm("role")))
	})
}

// removeStaff takes the member out of the store.
func (d *Dashboard) removeStaff(c *gin.Context) {
	d.memberAction(c, "removed", func(by tenant.Actor, id tenant.AccountID) error {
		return d.cfg.DB.RemoveMember(c.Request.Context(), memberOf(c).Store, by, id)
	})
}

// transferOwnership makes the member (an admin) the owner, confirmed with
// the owner's password.
func (d *Dashboard) transferOwnership(c *gin.Context) {
	d.memberAction(c, "transferred", func(by tenant.Actor, id tenant.AccountID) error {
		return d.cfg.DB.TransferOwnership(c.Request.Context(), memberOf(c).Store, by, id, c.PostForm("password"))
	})
}

// staffRoles lists the store's custom roles with the form that makes one.
func (d *Dashboard) staffRoles(c *gin.Context) {
	d.showStaffRoles(c, http.StatusOK, staffPage{})
}

func (d *Dashboard) showStaffRoles(c *gin.Context, status int, page staffPage) {
	m := memberOf(c)
	page.RolesPage, page.Objects = true, tenant.StaffObjects
	var err error
	if page.CanManage, err = d.Allowed(m, tenant.StaffObject, rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	_, _, crs, err := d.roleOptions(c, m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	for _, cr := range crs {
		var ps []string
		for _, p := range cr.Permissions {
			if p.Action == rbac.Write || !cr.Allows(p.Object, rbac.Write) {
				ps = append(ps, p.Object+" "+p.Action)
			}
		}
		page.CustomRoles = append(page.CustomRoles, customRoleView{ID: cr.ID, Name: cr.Name, Perms: strings.Join(ps, ", ")})
	}
	if msg, ok := staffDone[c.Query("done")]; ok && status == http.StatusOK {
		page.Flash = msg
	}
	d.render(c, status, "staff", "Roles", page)
}

// createStaffRole makes a custom role from the name and the ticked
// permissions (perm=orders:read, perm=orders:write, …).
func (d *Dashboard) createStaffRole(c *gin.Context) {
	m := memberOf(c)
	by, err := d.actorOf(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	form := staffPage{RoleName: strings.TrimSpace(c.PostForm("name")), Checked: map[string]bool{}}
	var perms []tenant.Permission
	for _, p := range c.PostFormArray("perm") {
		obj, act, _ := strings.Cut(p, ":")
		perms = append(perms, tenant.Permission{Object: obj, Action: act})
		form.Checked[p] = true
	}
	if _, err := d.cfg.DB.CreateCustomRole(c.Request.Context(), m.Store, by, form.RoleName, perms); err != nil {
		d.staffFailed(c, err, func(status int, msg string, fields map[string][]string) {
			form.Message, form.Errors = msg, fields
			d.showStaffRoles(c, status, form)
		})
		return
	}
	staffAudited(c)
	d.staffRedirect(c, "/staff/roles", "role-created")
}

// deleteStaffRole deletes a custom role nobody holds.
func (d *Dashboard) deleteStaffRole(c *gin.Context) {
	m := memberOf(c)
	id, ok := staffPathID(c)
	if !ok {
		d.notFound(c)
		return
	}
	by, err := d.actorOf(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	if err := d.cfg.DB.DeleteCustomRole(c.Request.Context(), m.Store, by, id); err != nil {
		d.staffFailed(c, err, func(status int, msg string, fields map[string][]string) {
			d.showStaffRoles(c, status, staffPage{Message: errs.MessageOf(err)})
		})
		return
	}
	staffAudited(c)
	d.staffRedirect(c, "/staff/roles", "role-deleted")
}

// invitationPage is the accept page of an invitation link.
type invitationPage struct {
	Token, Store, Role, Email string
	Problem                   string // why it cannot be accepted; "" when it can
	LoggedInAs                string // the account logged in, if any
	Mine                      bool   // logged in as the invited email
	HasAccount                bool   // the email has an account: log in to accept
	LoginURL                  string
	Name, Message             string
	Errors                    map[string][]string
}

// invitation shows an invitation: the store and role, and how to accept
// it — join (logged in as the invitee), log in first (the email has an
// account), or choose a name and password (it has none). An expired, used
// or withdrawn one says so.
func (d *Dashboard) invitation(c *gin.Context) {
	d.showInvitation(c, http.StatusOK, invitationPage{})
}

func (d *Dashboard) showInvitation(c *gin.Context, status int, page invitationPage) {
	ctx := c.Request.Context()
	token := c.Param("token")
	inv, t, err := d.cfg.DB.InvitationByToken(ctx, token)
	if errs.Is(err, errs.NotFound) {
		d.fail(c, http.StatusNotFound, "Invitation not found",
			"This invitation link is not valid: it may have been sent again with a new link, or mistyped. Ask the store for a new invitation.")
		return
	}
	if err != nil {
		d.failErr(c, err)
		return
	}
	if p := inv.Problem(time.Now()); p != nil {
		d.fail(c, http.StatusGone, "Invitation no longer valid", strings.ToUpper(errs.MessageOf(p)[:1])+errs.MessageOf(p)[1:]+".")
		return
	}
	role, err := d.cfg.DB.RoleLabel(ctx, t, inv.Role)
	if err != nil {
		role = string(inv.Role)
	}
	page.Token, page.Store, page.Role, page.Email = token, t.Name, role, inv.Email
	page.LoginURL = "/login?next=" + url.QueryEscape("/invitations/"+token)
	if a := accountOf(c); a != 0 {
		acct, err := d.cfg.DB.Account(ctx, a)
		if err != nil {
			d.failErr(c, err)
			return
		}
		page.LoggedInAs, page.Mine = acct.Email, strings.EqualFold(acct.Email, inv.Email)
	} else {
		_, err := d.cfg.DB.AccountByEmail(ctx, inv.Email)
		if err != nil && !errs.Is(err, errs.NotFound) {
			d.failErr(c, err)
			return
		}
		page.HasAccount = err == nil
	}
	d.render(c, status, "invitation", "Join "+t.Name, page)
}

// acceptInvitation accepts an invitation: as the logged-in invitee, or by
// creating the invitee's account (then logged in); either way on to the
// store.
func (d *Dashboard) acceptInvitation(c *gin.Context) {
	ctx := c.Request.Context()
	token := c.Param("token")
	var t *tenant.Tenant
	var err error
	form := invitationPage{Name: strings.TrimSpace(c.PostForm("name"))}
	if a := accountOf(c); a != 0 {
		_, t, err = d.cfg.DB.AcceptInvitation(ctx, token, a)
	} else {
		var acct tenant.Account
		acct, _, t, err = d.cfg.DB.AcceptInvitationNew(ctx, token, form.Name, c.PostForm("password"))
		if err == nil {
			err = d.beginSession(c, acct.ID)
		}
	}
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, "/store/"+t.Slug)
	case isInvitationGone(err), errs.Is(err, errs.NotFound):
		d.showInvitation(c, http.StatusGone, form) // used, withdrawn or expired: the page says which
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Forbidden), errs.Is(err, errs.Conflict):
		form.Errors = errs.FieldsOf(err)
		if len(form.Errors) == 0 {
			form.Message = errs.MessageOf(err)
		}
		d.showInvitation(c, http.StatusUnprocessableEntity, form)
	default:
		d.failErr(c, err)
	}
}

func isInvitationGone(err error) bool {
	msg := errs.MessageOf(err)
	for _, e := range []error{tenant.ErrInvitationUsed, tenant.ErrInvitationRevoked, tenant.ErrInvitationExpired} {
		if msg == errs.MessageOf(e) {
			return true
		}
	}
	return false
}
