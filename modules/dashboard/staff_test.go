package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// staffInvitations relays the outbox and returns the staff/invited events
// of st (each fixture has a database of its own).
func (f *fixture) staffInvitations(st *tenant.Tenant) []tenant.InvitationEmail {
	f.t.Helper()
	var out []tenant.InvitationEmail
	_, err := f.db.RelayEvents(context.Background(), 100, func(_ context.Context, ev tenant.Event) error {
		if ev.Topic == tenant.TopicStaffInvited && ev.Store == st.ID {
			var p tenant.InvitationEmail
			if err := json.Unmarshal(ev.Payload, &p); err != nil {
				f.t.Errorf("staff/invited payload: %v", err)
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		f.t.Fatalf("RelayEvents = %v", err)
	}
	return out
}

// staffInvitePath is the path of an invitation link.
func staffInvitePath(t *testing.T, link string) string {
	t.Helper()
	p, ok := strings.CutPrefix(link, "http://app.localhost:8080")
	if !ok || !strings.HasPrefix(p, "/invitations/") {
		t.Fatalf("invitation link %q is not on the dashboard", link)
	}
	return p
}

// TestStaffInviteViewer: the owner invites a viewer; the email event holds
// the link; the invitee accepts it with a new account, logs in, sees
// orders, and is refused (403) when marking one paid. The link works once.
func TestStaffInviteViewer(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("staff-shop")
	o := f.placeOrder(st, "ann@example.com", 1)
	b := f.browser()
	b.mustLogin(acct.Email)

	list := b.get("/store/staff-shop/staff")
	if list.status != http.StatusOK || !strings.Contains(list.body, acct.Email) || !strings.Contains(list.body, "Send invitation") {
		t.Fatalf("GET staff = %d, want the members and the invite form:\n%.500s", list.status, list.body)
	}
	if !strings.Contains(b.get("/store/staff-shop").body, `href="/store/staff-shop/staff"`) {
		t.Errorf("the owner's menu has no Staff item")
	}
	b.get("/store/staff-shop/staff")
	r := b.post("/store/staff-shop/staff/invitations", url.Values{"email": {"not-an-email"}, "role": {"viewer"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Email ") {
		t.Errorf("POST invitations with a bad email = %d, want 422 naming the email:\n%.300s", r.status, r.body)
	}
	if evs := f.staffInvitations(st); len(evs) != 0 {
		t.Errorf("a refused invitation emitted %d events", len(evs))
	}
	email := unique("vic-") + "@example.com"
	b.get("/store/staff-shop/staff")
	if r := b.post("/store/staff-shop/staff/invitations", url.Values{"email": {email}, "role": {"viewer"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST invitations = %d %.300s, want 303", r.status, r.body)
	}
	if page := b.get("/store/staff-shop/staff?done=invited"); !strings.Contains(page.body, email) || !strings.Contains(page.body, "Revoke") {
		t.Errorf("the pending invitation is not listed")
	}
	evs := f.staffInvitations(st)
	if len(evs) != 1 || evs[0].Email != email || evs[0].Role != "viewer" {
		t.Fatalf("staff/invited events = %+v, want one for %s as viewer", evs, email)
	}
	link := staffInvitePath(t, evs[0].URL)

	v := f.browser()
	page := v.get(link)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Store staff-shop") || !strings.Contains(page.body, "viewer") ||
		!strings.Contains(page.body, "Create my account") {
		t.Fatalf("GET %s = %d, want the store, the role and the account form:\n%.500s", link, page.status, page.body)
	}
	if r := v.post(link, url.Values{"name": {"Vic"}, "password": {"short"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Password ") {
		t.Errorf("POST %s with a short password = %d, want 422 naming the password", link, r.status)
	}
	v.get(link)
	if r := v.post(link, url.Values{"name": {"Vic"}, "password": {password}}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/store/staff-shop" {
		t.Fatalf("POST %s = %d %s %.300s, want 303 to the store", link, r.status, r.header.Get("Location"), r.body)
	}
	if r := f.browser().get(link); r.status != http.StatusGone || !strings.Contains(r.body, "already been accepted") {
		t.Errorf("GET %s once used = %d, want 410 saying so", link, r.status)
	}

	viewer := f.browser()
	viewer.mustLogin(email)
	if r := viewer.get("/store/staff-shop/orders"); r.status != http.StatusOK || !strings.Contains(r.body, o.Name) {
		t.Fatalf("the viewer's GET orders = %d, want the list", r.status)
	}
	viewer.get(fmt.Sprintf("/store/staff-shop/orders/%d", o.ID))
	if r := viewer.post(fmt.Sprintf("/store/staff-shop/orders/%d/paid", o.ID), url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("the viewer's POST paid = %d, want 403", r.status)
	}
	if got := f.order(st, o.ID); got.FinancialStatus != orders.FinancialPending {
		t.Errorf("after the viewer's post, the order is %s, want pending", got.FinancialStatus)
	}
	// A viewer sees the staff list, read-only, and can change nothing in it.
	if r := viewer.get("/store/staff-shop/staff"); r.status != http.StatusOK || strings.Contains(r.body, "Send invitation") {
		t.Errorf("the viewer's GET staff = %d, want the list without the invite form", r.status)
	}
	if r := viewer.post("/store/staff-shop/staff/invitations", url.Values{"email": {"x@example.com"}, "role": {"admin"}}); r.status != http.StatusForbidden {
		t.Errorf("the viewer's POST invitations = %d, want 403", r.status)
	}
	if r := viewer.get("/store/staff-shop/staff/audit"); r.status != http.StatusForbidden {
		t.Errorf("the viewer's GET audit = %d, want 403", r.status)
	}
}

// TestStaffRolesAndAudit: an admin changes a role; staff cannot invite;
// another store's member is not found; a post without the CSRF token is
// refused; a custom role in use is not deleted; the audit log lists it all.
func TestStaffRolesAndAudit(t *testing.T) {
	f := newFixture(t)
	owner, st := f.owner("roles-shop")
	_, other := f.owner("roles-other")
	admin := f.staff(st, tenant.RoleAdmin)
	worker := f.staff(st, tenant.RoleStaff)
	outsider := f.staff(other, tenant.RoleStaff)
	o := f.placeOrder(st, "ann@example.com", 1)

	// Staff cannot invite.
	s := f.browser()
	s.mustLogin(worker.Email)
	s.get("/store/roles-shop/staff")
	if r := s.post("/store/roles-shop/staff/invitations", url.Values{"email": {"z@example.com"}, "role": {"admin"}}); r.status != http.StatusForbidden {
		t.Errorf("staff's POST invitations = %d, want 403", r.status)
	}
	if evs := f.staffInvitations(st); len(evs) != 0 {
		t.Errorf("a refused invitation emitted %d events", len(evs))
	}

	a := f.browser()
	a.mustLogin(admin.Email)
	memberPath := fmt.Sprintf("/store/roles-shop/staff/members/%d", worker.ID)
	if r := a.get(memberPath); r.status != http.StatusOK || !strings.Contains(r.body, worker.Email) || !strings.Contains(r.body, "Change role") {
		t.Fatalf("GET %s = %d, want the member with the role form:\n%s", memberPath, r.status, r.body)
	}
	// No CSRF token: refused, nothing changed.
	if r := a.do(http.MethodPost, memberPath+"/role", url.Values{"role": {"viewer"}}); r.status != http.StatusForbidden {
		t.Errorf("POST role without a token = %d, want 403", r.status)
	}
	if role, _ := f.db.RoleIn(context.Background(), worker.ID, st); role != tenant.RoleStaff {
		t.Errorf("after a refused post, the role is %s, want staff", role)
	}
	if r := a.post(memberPath+"/role", url.Values{"role": {"no-such-role"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "choose admin") {
		t.Errorf("POST role with an unknown role = %d, want 422 saying what to choose:\n%.300s", r.status, r.body)
	}
	a.get(memberPath)
	if r := a.post(memberPath+"/role", url.Values{"role": {"viewer"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST role = %d %.300s, want 303", r.status, r.body)
	}
	if role, _ := f.db.RoleIn(context.Background(), worker.ID, st); role != tenant.RoleViewer {
		t.Errorf("after the change, the role is %s, want viewer", role)
	}
	// Another store's member under this store's slug: not found.
	if r := a.get(fmt.Sprintf("/store/roles-shop/staff/members/%d", outsider.ID)); r.status != http.StatusNotFound || strings.Contains(r.body, outsider.Email) {
		t.Errorf("GET another store's member = %d, want 404", r.status)
	}
	a.get(memberPath)
	if r := a.post(fmt.Sprintf("/store/roles-shop/staff/members/%d/remove", outsider.ID), url.Values{}); r.status != http.StatusNotFound {
		t.Errorf("POST remove of another store's member = %d, want 404", r.status)
	}
	if role, err := f.db.RoleIn(context.Background(), outsider.ID, other); err != nil || role != tenant.RoleStaff {
		t.Errorf("the other store's member is %s, %v; want staff", role, err)
	}
	// The owner cannot be removed.
	ownerPath := fmt.Sprintf("/store/roles-shop/staff/members/%d", owner.ID)
	a.get(ownerPath)
	if r := a.post(ownerPath+"/remove", url.Values{}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("POST remove of the owner = %d, want 422", r.status)
	}

	// A custom role: made, given, enforced, not deleted while in use.
	a.get("/store/roles-shop/staff/roles")
	if r := a.post("/store/roles-shop/staff/roles", url.Values{"name": {""}, "perm": {"orders:read"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Name can&#39;t be blank") {
		t.Errorf("POST roles without a name = %d, want 422:\n%.300s", r.status, r.body)
	}
	a.get("/store/roles-shop/staff/roles")
	if r := a.post("/store/roles-shop/staff/roles", url.Values{"name": {"Packers"}, "perm": {"orders:read", "fulfillments:write"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST roles = %d %.300s, want 303", r.status, r.body)
	}
	crs, err := f.db.CustomRoles(context.Background(), st)
	if err != nil || len(crs) != 1 {
		t.Fatalf("CustomRoles = %+v, %v; want Packers", crs, err)
	}
	a.get(memberPath)
	if r := a.post(memberPath+"/role", url.Values{"role": {string(crs[0].Role())}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST role Packers = %d %.300s", r.status, r.body)
	}
	access, _ := f.db.Access()
	for _, tc := range []struct {
		obj, act string
		want     bool
	}{{"orders", "read", true}, {"fulfillments", "write", true}, {"orders", "write", false}, {"products", "read", false}} {
		if got, _ := access.Allowed(rbac.Account(int64(worker.ID)), rbac.Store(int64(st.ID)), tc.obj, tc.act); got != tc.want {
			t.Errorf("a Packer may %s %s = %v, want %v", tc.act, tc.obj, got, tc.want)
		}
	}
	// The Packer sees the role by its name, in the switcher and when refused.
	w := f.browser()
	w.mustLogin(worker.Email)
	if r := w.get("/stores"); !strings.Contains(r.body, "Packers") || strings.Contains(r.body, "custom:") {
		t.Errorf("the Packer's store list does not name the role Packers:\n%.600s", r.body)
	}
	if r := w.get("/store/roles-shop/products"); r.status != http.StatusForbidden || !strings.Contains(r.body, "(Packers)") {
		t.Errorf("GET products as a Packer = %d, want 403 naming the role Packers", r.status)
	}
	a.get("/store/roles-shop/staff/roles")
	if r := a.post(fmt.Sprintf("/store/roles-shop/staff/roles/%d/delete", crs[0].ID), url.Values{}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "in use") {
		t.Errorf("POST delete of a role in use = %d, want 422 saying it is in use", r.status)
	}
	// An audited order action by the owner.
	b := f.browser()
	b.mustLogin(owner.Email)
	b.get(fmt.Sprintf("/store/roles-shop/orders/%d", o.ID))
	if r := b.post(fmt.Sprintf("/store/roles-shop/orders/%d/paid", o.ID), url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("POST paid = %d", r.status)
	}
	b.get(ownerPath)
	if r := b.post(fmt.Sprintf("/store/roles-shop/staff/members/%d/transfer", admin.ID), url.Values{"password": {"not-my-password-1"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "Password is not right") {
		t.Errorf("POST transfer with a wrong password = %d, want 422 on the password:\n%.300s", r.status, r.body)
	}

	audit := b.get("/store/roles-shop/staff/audit")
	if audit.status != http.StatusOK {
		t.Fatalf("GET audit = %d", audit.status)
	}
	for _, want := range []string{
		"Marked an order as paid", fmt.Sprintf("orders %d", o.ID), owner.Email,
		"Changed the role of " + worker.Email + " from staff to viewer",
		"Changed the role of " + worker.Email + " from viewer to Packers",
		"Created the role Packers", admin.Email,
	} {
		if !strings.Contains(audit.body, want) {
			t.Errorf("the audit log lacks %q", want)
		}
	}
	if strings.Contains(audit.body, "POST /store/roles-shop/staff") {
		t.Errorf("a staff change was logged twice (as a bare request too)")
	}
	if n := len(regexp.MustCompile(`Marked an order as paid`).FindAllString(audit.body, -1)); n != 1 {
		t.Errorf("the audit log has %d mark-paid entries, want 1 (refused posts are not logged)", n)
	}
	if i, j := strings.Index(audit.body, "Marked an order as paid"), strings.Index(audit.body, "Created the role Packers"); i > j {
		t.Errorf("the audit log is not newest first")
	}
}
