package tenant

// Staff: the people of a store beyond its owner. An owner or admin invites
// someone by email with a role; the invitation (a 128-bit token stored
// hashed, good for InvitationTTL, one pending per email) and its
// staff/invited event commit together in the store's schema, so the email
// leaves through the outbox like every other. Accepting it joins the store
// with that role, creating the account if the email has none. Roles are the
// built-in ones or a store's custom roles (a named set of permissions on the
// objects in StaffObjects). Every staff change is written to the store's
// audit log, which the dashboard also fills with every other change made
// through it.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/rbac"
)

// TopicStaffInvited is the event of an invitation sent (or sent again):
// its payload is an InvitationEmail, which the email worker turns into the
// store's staff_invitation email to the invitee.
const TopicStaffInvited = "staff/invited"

// InvitationTTL is how long an invitation can be accepted.
const InvitationTTL = 7 * 24 * time.Hour

// StaffObject is the casbin object of staff management: the staff list,
// invitations, roles and the audit log. Owner and admin have it through
// "*"; a custom role cannot be given it, or it could raise itself.
const StaffObject = "staff"

// StaffObjects are the objects a custom role can be given read or write
// on: everything the product checks, except StaffObject.
var StaffObjects = []string{"products", "inventory", "customers", "orders", "fulfillments", "discounts", "shipping", "shop", "themes", "content"}

// InvitableRoles are the built-in roles an invitation or a role change can
// give; ownership only moves by TransferOwnership.
var InvitableRoles = []Role{RoleAdmin, RoleStaff, RoleFulfillment, RoleViewer}

// Actor is who makes a staff change, as the audit log remembers them.
type Actor struct {
	Account AccountID
	Email   string
	Role    Role
}

// StaffMember is an account with its role in a store.
type StaffMember struct {
	Account Account
	Role    Role
	Since   time.Time
}

// Errors of staff management.
var (
	ErrMemberNotFound     = errs.E(errs.NotFound, "staff member not found")
	ErrInvitationNotFound = errs.E(errs.NotFound, "invitation not found")
	ErrInvitationExpired  = errs.E(errs.Conflict, "this invitation has expired; ask the store for a new one")
	ErrInvitationUsed     = errs.E(errs.Conflict, "this invitation has already been accepted")
	ErrInvitationRevoked  = errs.E(errs.Conflict, "this invitation was withdrawn by the store")
	ErrCustomRoleNotFound = errs.E(errs.NotFound, "role not found")
	ErrOwnerRole          = errs.E(errs.Invalid, "the owner's role cannot be changed and the owner cannot be removed; the owner can transfer ownership to an admin first")
)

// Members lists store t's staff, owners first, then by email.
func (d *DB) Members(ctx context.Context, t *Tenant) ([]StaffMember, error) {
	return d.members(ctx, t, 0)
}

// StaffMemberOf returns account's membership of store t.
//
// Errors: NotFound (ErrMemberNotFound), also for another store's member.
func (d *DB) StaffMemberOf(ctx context.Context, t *Tenant, account AccountID) (StaffMember, error) {
	ms, err := d.members(ctx, t, account)
	if err != nil {
		return StaffMember{}, err
	}
	if len(ms) == 0 {
		return StaffMember{}, ErrMemberNotFound
	}
	return ms[0], nil
}

func (d *DB) members(ctx context.Context, t *Tenant, only AccountID) ([]StaffMember, error) {
	var rows []struct {
		ID        int64     `gorm:"column:id"`
		Email     string    `gorm:"column:email"`
		Name      string    `gorm:"column:name"`
		CreatedAt time.Time `gorm:"column:created_at"`
		Role      string    `gorm:"column:role"`
		Since     time.Time `gorm:"column:since"`
	}
	q := `SELECT a.id, a.email, a.name, a.created_at, m.role, m.created_at AS since
		FROM platform.memberships m JOIN platform.accounts a ON a.id = m.account_id
		WHERE m.tenant_id = ?`
	args := []any{int64(t.ID)}
	if only != 0 {
		q += ` AND m.account_id = ?`
		args = append(args, int64(only))
	}
	q += ` ORDER BY m.role = 'owner' DESC, lower(a.email)`
	if err := d.control.WithContext(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list staff of store %d: %w", t.ID, err)
	}
	out := make([]StaffMember, len(rows))
	for i, r := range rows {
		out[i] = StaffMember{Account: accountRow{ID: r.ID, Email: r.Email, Name: r.Name, CreatedAt: r.CreatedAt}.toAccount(), Role: Role(r.Role), Since: r.Since}
	}
	return out, nil
}

// Invitation is an invitation to join a store's staff.
type Invitation struct {
	ID         int64
	Store      ID
	Email      string
	Role       Role
	InvitedBy  AccountID
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	RevokedAt  *time.Time
}

// Problem is why the invitation cannot be accepted now: ErrInvitationUsed,
// ErrInvitationRevoked, ErrInvitationExpired, or nil.
func (i Invitation) Problem(now time.Time) error {
	switch {
	case i.AcceptedAt != nil:
		return ErrInvitationUsed
	case i.RevokedAt != nil:
		return ErrInvitationRevoked
	case !now.Before(i.ExpiresAt):
		return ErrInvitationExpired
	}
	return nil
}

// InvitationEmail is the payload of a staff/invited event: what the
// invitation email says, and to whom. URL holds the token: the event is the
// only place it is kept unhashed, until the outbox is pruned.
type InvitationEmail struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"` // the role's name as the store shows it
	InvitedBy string    `json:"invited_by"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// newInvitationToken makes a token for store t: the store's id (so the
// link finds the store without a fleet-wide index) and 128 random bits.
func newInvitationToken(t ID) (string, []byte, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("invitation token: %w", err)
	}
	tok := t.String() + "-" + hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	return tok, sum[:], nil
}

// InvitationURL is the accept link of token on the dashboard.
func InvitationURL(urls URLs, token string) string {
	return urls.Dashboard() + "/invitations/" + token
}

// Invite invites email to store t with role, by the owner or an admin: the
// invitation and its staff/invited event (the email, with the accept link
// on urls' dashboard) commit together. An expired invitation of the same
// email is withdrawn first.
//
// Errors: Invalid (a bad email or role, with per-field messages), Conflict
// (the email is a member already, or has a pending invitation).
func (d *DB) Invite(ctx context.Context, t *Tenant, by Actor, email string, role Role, urls URLs) (Invitation, error) {
	f := errs.Fields{}
	email, err := auth.NormalizeEmail(email)
	if err != nil {
		f.Add("email", "%s", strings.TrimPrefix(errs.MessageOf(err), "email "))
	}
	label, rerr := d.checkRole(ctx, t, role)
	if rerr != nil {
		f.Add("role", "%s", errs.MessageOf(rerr))
	}
	if err := f.Err(); err != nil {
		return Invitation{}, err
	}
	if acct, err := d.AccountByEmail(ctx, email); err == nil {
		if _, err := d.RoleIn(ctx, acct.ID, t); err == nil {
			return Invitation{}, &errs.Error{Kind: errs.Conflict, Message: email + " is already a member of this store",
				Fields: map[string][]string{"email": {"is already a member of this store"}}}
		}
	} else if !errs.Is(err, errs.NotFound) {
		return Invitation{}, err
	}
	var inv Invitation
	err = d.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE staff_invitations SET revoked_at = now()
			WHERE lower(email) = lower(?) AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at <= now()`, email).Error; err != nil {
			return fmt.Errorf("withdraw expired invitation: %w", err)
		}
		tok, hash, err := newInvitationToken(t.ID)
		if err != nil {
			return err
		}
		var row invitationRow
		err = tx.Raw(`INSERT INTO staff_invitations (email, role, token_hash, invited_by, expires_at)
			VALUES (?, ?, ?, ?, ?) RETURNING `+invitationCols, email, string(role), hash, int64(by.Account), time.Now().Add(InvitationTTL)).Scan(&row).Error
		if pg.Code(err) == pg.UniqueViolation {
			return &errs.Error{Kind: errs.Conflict, Message: email + " already has a pending invitation; send it again from the list instead",
				Fields: map[string][]string{"email": {"already has a pending invitation"}}}
		}
		if err != nil {
			return fmt.Errorf("insert invitation: %w", err)
		}
		inv = row.toInvitation(t.ID)
		if err := emitInvitation(tx, inv, label, by, InvitationURL(urls, tok)); err != nil {
			return err
		}
		return recordAuditIn(tx, by.entry(fmt.Sprintf("Invited %s as %s", email, label), "invitation "+strconv.FormatInt(inv.ID, 10)))
	})
	return inv, err
}

func emitInvitation(tx *gorm.DB, inv Invitation, label string, by Actor, url string) error {
	_, err := Emit(tx, TopicStaffInvited, InvitationEmail{ID: inv.ID, Email: inv.Email, Role: label, InvitedBy: by.Email,
		URL: url, ExpiresAt: inv.ExpiresAt})
	return err
}

// Invitations lists store t's pending invitations (expired ones included,
// to be sent again or withdrawn), newest first.
func (d *DB) Invitations(ctx context.Context, t *Tenant) ([]Invitation, error) {
	var rows []invitationRow
	err := d.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT ` + invitationCols + ` FROM staff_invitations
			WHERE accepted_at IS NULL AND revoked_at IS NULL ORDER BY id DESC`).Scan(&rows).Error
	})
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	out := make([]Invitation, len(rows))
	for i, r := range rows {
		out[i] = r.toInvitation(t.ID)
	}
	return out, nil
}

// ResendInvitation sends pending invitation id again, with a new link (the
// old one stops working: only the hash of a token is kept) and a new
// expiry.
//
// Errors: NotFound (ErrInvitationNotFound, also for one no longer pending).
func (d *DB) ResendInvitation(ctx context.Context, t *Tenant, by Actor, id int64, urls URLs) (Invitation, error) {
	var inv Invitation
	err := d.Tx(ctx, t, func(tx *gorm.DB) error {
		tok, hash, err := newInvitationToken(t.ID)
		if err != nil {
			return err
		}
		var rows []invitationRow
		err = tx.Raw(`UPDATE staff_invitations SET token_hash = ?, expires_at = ?
			WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL RETURNING `+invitationCols,
			hash, time.Now().Add(InvitationTTL), id).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("renew invitation %d: %w", id, err)
		}
		if len(rows) == 0 {
			return ErrInvitationNotFound
		}
		inv = rows[0].toInvitation(t.ID)
		label, err := roleLabelIn(d.control.WithContext(ctx), t, inv.Role)
		if err != nil {
			return err
		}
		if err := emitInvitation(tx, inv, label, by, InvitationURL(urls, tok)); err != nil {
			return err
		}
		return recordAuditIn(tx, by.entry("Sent the invitation of "+inv.Email+" again", "invitation "+strconv.FormatInt(id, 10)))
	})
	return inv, err
}

// RevokeInvitation withdraws pending invitation id: its link stops working.
//
// Errors: NotFound (ErrInvitationNotFound, also for one no longer pending).
func (d *DB) RevokeInvitation(ctx context.Context, t *Tenant, by Actor, id int64) error {
	return d.Tx(ctx, t, func(tx *gorm.DB) error {
		var emails []string
		err := tx.Raw(`UPDATE staff_invitations SET revoked_at = now()
			WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL RETURNING email`, id).Scan(&emails).Error
		if err != nil {
			return fmt.Errorf("revoke invitation %d: %w", id, err)
		}
		if len(emails) == 0 {
			return ErrInvitationNotFound
		}
		return recordAuditIn(tx, by.entry("Withdrew the invitation of "+emails[0], "invitation "+strconv.FormatInt(id, 10)))
	})
}

// InvitationByToken finds the invitation of an accept link, whatever its
// state (the page says why one cannot be accepted), with its store.
//
// Errors: NotFound (ErrInvitationNotFound).
func (d *DB) InvitationByToken(ctx context.Context, token string) (Invitation, *Tenant, error) {
	t, hash, err := d.tokenStore(ctx, token)
	if err != nil {
		return Invitation{}, nil, err
	}
	var rows []invitationRow
	err = d.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT `+invitationCols+` FROM staff_invitations WHERE token_hash = ?`, hash).Scan(&rows).Error
	})
	if err != nil {
		return Invitation{}, nil, fmt.Errorf("find invitation: %w", err)
	}
	if len(rows) == 0 {
		return Invitation{}, nil, ErrInvitationNotFound
	}
	return rows[0].toInvitation(t.ID), t, nil
}

// tokenStore is the store an invitation token names, and the token's hash.
func (d *DB) tokenStore(ctx context.Context, token string) (*Tenant, []byte, error) {
	storePart, random, ok := strings.Cut(token, "-")
	if !ok || len(random) != 32 {
		return nil, nil, ErrInvitationNotFound
	}
	if _, err := hex.DecodeString(random); err != nil {
		return nil, nil, ErrInvitationNotFound
	}
	id, err := ParseID(storePart)
	if err != nil {
		return nil, nil, ErrInvitationNotFound
	}
	t, err := d.Tenant(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, nil, ErrInvitationNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256([]byte(token))
	return t, sum[:], nil
}

// AcceptInvitation joins account, already logged in, to the invitation's
// store with its role. The account's email must be the one invited.
//
// Errors: NotFound (ErrInvitationNotFound), Conflict (used, withdrawn,
// expired), Forbidden (another account's invitation).
func (d *DB) AcceptInvitation(ctx context.Context, token string, account AccountID) (Invitation, *Tenant, error) {
	acct, err := d.Account(ctx, account)
	if err != nil {
		return Invitation{}, nil, err
	}
	inv, t, err := d.InvitationByToken(ctx, token)
	if err != nil {
		return Invitation{}, nil, err
	}
	if !strings.EqualFold(inv.Email, acct.Email) {
		return Invitation{}, nil, errs.E(errs.Forbidden, "this invitation is for %s; log in as %s to accept it", inv.Email, inv.Email)
	}
	inv, err = d.accept(ctx, t, token, func(tx *gorm.DB) (Account, error) { return acct, nil })
	return inv, t, err
}

// AcceptInvitationNew creates the invited email's account, with name and
// password, and joins it to the store with the invitation's role; the
// account and its membership are made together.
//
// Errors: NotFound (ErrInvitationNotFound), Conflict (used, withdrawn,
// expired; ErrEmailTaken: log in to accept instead), Invalid (the password,
// per field).
func (d *DB) AcceptInvitationNew(ctx context.Context, token, name, password string) (Account, Invitation, *Tenant, error) {
	if err := auth.ValidatePassword(password); err != nil {
		f := errs.Fields{}
		f.Add("password", "%s", strings.TrimPrefix(errs.MessageOf(err), "password "))
		return Account{}, Invitation{}, nil, f.Err()
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return Account{}, Invitation{}, nil, err
	}
	inv, t, err := d.InvitationByToken(ctx, token)
	if err != nil {
		return Account{}, Invitation{}, nil, err
	}
	var acct Account
	inv, err = d.accept(ctx, t, token, func(tx *gorm.DB) (Account, error) {
		var err error
		acct, err = insertAccount(tx, inv.Email, hash, strings.TrimSpace(name))
		return acct, err
	})
	return acct, inv, t, err
}

// accept claims the invitation in the store's schema (used once: a
// conditional update), then, in one control transaction, gets the account
// (who) and gives it the role. If that fails, the claim is undone, so the
// invitation can be accepted again.
func (d *DB) accept(ctx context.Context, t *Tenant, token string, who func(tx *gorm.DB) (Account, error)) (Invitation, error) {
	sum := sha256.Sum256([]byte(token))
	var inv Invitation
	err := d.Tx(ctx, t, func(tx *gorm.DB) error {
		var rows []invitationRow
		err := tx.Raw(`UPDATE staff_invitations SET accepted_at = now()
			WHERE token_hash = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now() RETURNING `+invitationCols, sum[:]).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("claim invitation: %w", err)
		}
		if len(rows) == 1 {
			inv = rows[0].toInvitation(t.ID)
			return nil
		}
		// Say why not.
		if err := tx.Raw(`SELECT `+invitationCols+` FROM staff_invitations WHERE token_hash = ?`, sum[:]).Scan(&rows).Error; err != nil {
			return fmt.Errorf("find invitation: %w", err)
		}
		if len(rows) == 0 {
			return ErrInvitationNotFound
		}
		if p := rows[0].toInvitation(t.ID).Problem(time.Now()); p != nil {
			return p
		}
		return ErrInvitationExpired // expired a moment ago, by the database's clock
	})
	if err != nil {
		return Invitation{}, err
	}
	var acct Account
	var change rbac.Change
	label := string(inv.Role)
	err = d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if acct, err = who(tx); err != nil {
			return err
		}
		// The invitation's link reached this address: it is the account's.
		if strings.EqualFold(acct.Email, inv.Email) {
			if err := markVerified(tx, acct.ID); err != nil {
				return err
			}
		}
		if label, err = roleLabelIn(tx, t, inv.Role); err != nil {
			return err
		}
		var has []string
		if err := tx.Raw(`SELECT role FROM platform.memberships WHERE account_id = ? AND tenant_id = ? FOR UPDATE`,
			int64(acct.ID), int64(t.ID)).Scan(&has).Error; err != nil {
			return fmt.Errorf("find membership: %w", err)
		}
		if len(has) > 0 {
			return nil // a member already (invited twice over): the role they have stays
		}
		change, err = insertMembership(tx, acct.ID, t.ID, inv.Role)
		return err
	})
	if err != nil {
		if uerr := d.Tx(ctx, t, func(tx *gorm.DB) error {
			return tx.Exec(`UPDATE staff_invitations SET accepted_at = NULL WHERE id = ?`, inv.ID).Error
		}); uerr != nil {
			d.log.ErrorContext(ctx, "invitation claimed but not accepted, and the claim could not be undone", "store", t.ID, "invitation", inv.ID, "err", uerr)
		}
		if errors.Is(err, ErrEmailTaken) {
			return Invitation{}, errs.E(errs.Conflict, "%s already has an account: log in to accept the invitation", inv.Email)
		}
		return Invitation{}, err
	}
	d.publishAccess(ctx, change)
	now := time.Now()
	inv.AcceptedAt = &now
	d.audit(ctx, t, func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE staff_invitations SET accepted_by = ? WHERE id = ?`, int64(acct.ID), inv.ID).Error; err != nil {
			return err
		}
		by := Actor{Account: acct.ID, Email: acct.Email, Role: inv.Role}
		return recordAuditIn(tx, by.entry("Accepted the invitation as "+label, "invitation "+strconv.FormatInt(inv.ID, 10)))
	})
	return inv, nil
}

// ChangeRole gives staff member account of store t another role (a
// built-in one other than owner, or one of the store's custom roles); every
// process's access policy follows.
//
// Errors: NotFound (ErrMemberNotFound), Invalid (an unknown role, or the
// owner: ErrOwnerRole).
func (d *DB) ChangeRole(ctx context.Context, t *Tenant, by Actor, account AccountID, role Role) error {
	if role == RoleOwner {
		return ErrOwnerRole
	}
	var change rbac.Change
	var from, to string
	var email string
	err := d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		cur, em, err := lockMembership(tx, t, account)
		if err != nil {
			return err
		}
		email = em
		if cur == RoleOwner {
			return ErrOwnerRole
		}
		if to, err = roleLabelIn(tx, t, role); err != nil {
			return err
		}
		if from, err = roleLabelIn(tx, t, cur); err != nil {
			from = string(cur)
		}
		change, err = setRoleIn(tx, t, account, role)
		return err
	})
	if err != nil {
		return err
	}
	d.publishAccess(ctx, change)
	d.audit(ctx, t, func(tx *gorm.DB) error {
		return recordAuditIn(tx, by.entry(fmt.Sprintf("Changed the role of %s from %s to %s", email, from, to), "account "+strconv.FormatInt(int64(account), 10)))
	})
	return nil
}

// RemoveMember takes account out of store t's staff. The owner cannot be
// removed (ownership is transferred first).
//
// Errors: NotFound (ErrMemberNotFound), Invalid (ErrOwnerRole).
func (d *DB) RemoveMember(ctx context.Context, t *Tenant, by Actor, account AccountID) error {
	var change rbac.Change
	var email, label string
	err := d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		cur, em, err := lockMembership(tx, t, account)
		if err != nil {
			return err
		}
		email = em
		if cur == RoleOwner {
			return ErrOwnerRole
		}
		if label, err = roleLabelIn(tx, t, cur); err != nil {
			label = string(cur)
		}
		if err := tx.Exec(`DELETE FROM platform.memberships WHERE account_id = ? AND tenant_id = ?`, int64(account), int64(t.ID)).Error; err != nil {
			return fmt.Errorf("delete membership: %w", err)
		}
		change.Removed, err = rbac.Unassign(tx, rbac.Account(int64(account)), rbac.Store(int64(t.ID)))
		return err
	})
	if err != nil {
		return err
	}
	d.publishAccess(ctx, change)
	d.audit(ctx, t, func(tx *gorm.DB) error {
		return recordAuditIn(tx, by.entry(fmt.Sprintf("Removed %s (%s) from the staff", email, label), "account "+strconv.FormatInt(int64(account), 10)))
	})
	return nil
}

// TransferOwnership makes admin to the owner of store t in place of by,
// who must be its owner and confirm with their password; by becomes an
// admin.
//
// Errors: Invalid (a wrong password, per field; to is not an admin),
// Forbidden (by is not the owner), NotFound (ErrMemberNotFound).
func (d *DB) TransferOwnership(ctx context.Context, t *Tenant, by Actor, to AccountID, password string) error {
	me, err := d.Account(ctx, by.Account)
	if err != nil {
		return err
	}
	if _, err := d.LogIn(ctx, me.Email, password); errors.Is(err, ErrBadLogin) {
		return &errs.Error{Kind: errs.Invalid, Message: "the password is not right", Fields: map[string][]string{"password": {"is not right"}}}
	} else if err != nil {
		return err
	}
	if to == by.Account {
		return errs.E(errs.Invalid, "you are the owner already")
	}
	var change rbac.Change
	var email string
	err = d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		mine, _, err := lockMembership(tx, t, by.Account)
		if errs.Is(err, errs.NotFound) || (err == nil && mine != RoleOwner) {
			return errs.E(errs.Forbidden, "only the store's owner can transfer ownership")
		}
		if err != nil {
			return err
		}
		theirs, em, err := lockMembership(tx, t, to)
		if err != nil {
			return err
		}
		email = em
		if theirs != RoleAdmin {
			return errs.E(errs.Invalid, "ownership can only go to an admin; make %s an admin first", em)
		}
		c1, err := setRoleIn(tx, t, to, RoleOwner)
		if err != nil {
			return err
		}
		c2, err := setRoleIn(tx, t, by.Account, RoleAdmin)
		if err != nil {
			return err
		}
		change = rbac.Change{Added: append(c1.Added, c2.Added...), Removed: append(c1.Removed, c2.Removed...)}
		return nil
	})
	if err != nil {
		return err
	}
	d.publishAccess(ctx, change)
	d.audit(ctx, t, func(tx *gorm.DB) error {
		return recordAuditIn(tx, by.entry("Transferred ownership to "+email+" (and became an admin)", "account "+strconv.FormatInt(int64(to), 10)))
	})
	return nil
}

// lockMembership locks account's membership of t in tx and returns its role
// and the account's email.
func lockMembership(tx *gorm.DB, t *Tenant, account AccountID) (Role, string, error) {
	var rows []struct {
		Role  string `gorm:"column:role"`
		Email string `gorm:"column:email"`
	}
	err := tx.Raw(`SELECT m.role, a.email FROM platform.memberships m JOIN platform.accounts a ON a.id = m.account_id
		WHERE m.account_id = ? AND m.tenant_id = ? FOR UPDATE OF m`, int64(account), int64(t.ID)).Scan(&rows).Error
	if err != nil {
		return "", "", fmt.Errorf("lock membership: %w", err)
	}
	if len(rows) == 0 {
		return "", "", ErrMemberNotFound
	}
	return Role(rows[0].Role), rows[0].Email, nil
}

// setRoleIn replaces account's role in t, membership and assignment, in tx.
func setRoleIn(tx *gorm.DB, t *Tenant, account AccountID, role Role) (rbac.Change, error) {
	if err := tx.Exec(`UPDATE platform.memberships SET role = ? WHERE account_id = ? AND tenant_id = ?`,
		string(role), int64(account), int64(t.ID)).Error; err != nil {
		return rbac.Change{}, fmt.Errorf("update membership: %w", err)
	}
	removed, err := rbac.Unassign(tx, rbac.Account(int64(account)), rbac.Store(int64(t.ID)))
	if err != nil {
		return rbac.Change{}, err
	}
	r, err := rbac.Assign(tx, rbac.Account(int64(account)), rbac.Role(string(role)), rbac.Store(int64(t.ID)))
	if err != nil {
		return rbac.Change{}, err
	}
	return rbac.Change{Added: []rbac.Rule{r}, Removed: removed}, nil
}

// Permission is an action ("read", "write") on an object of StaffObjects.
type Permission struct {
	Object, Action string
}

func (p Permission) String() string { return p.Object + ":" + p.Action }

// CustomRole is a store's own role: a name and the permissions it gives.
// Write on an object gives read on it too.
type CustomRole struct {
	ID          int64
	Store       ID
	Name        string
	Permissions []Permission
	CreatedAt   time.Time
}

// Role is the custom role as a membership holds it: custom:<store>:<id>.
func (r CustomRole) Role() Role {
	return Role("custom:" + r.Store.String() + ":" + strconv.FormatInt(r.ID, 10))
}

// Allows says whether the role gives act on obj.
func (r CustomRole) Allows(obj, act string) bool {
	return slices.Contains(r.Permissions, Permission{obj, act})
}

// customRoleID is the id of custom role r of store t; false for a role
// that is not one of t's custom roles.
func customRoleID(t *Tenant, r Role) (int64, bool) {
	rest, ok := strings.CutPrefix(string(r), "custom:"+t.ID.String()+":")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil && id > 0
}

// IsCustom says whether r is a custom role (of any store).
func (r Role) IsCustom() bool { return strings.HasPrefix(string(r), "custom:") }

type customRoleRow struct {
	ID          int64     `gorm:"column:id"`
	TenantID    int64     `gorm:"column:tenant_id"`
	Name        string    `gorm:"column:name"`
	Permissions string    `gorm:"column:permissions"` // text[] as text: {a:read,b:write}
	CreatedAt   time.Time `gorm:"column:created_at"`
}

func (r customRoleRow) toCustomRole() CustomRole {
	cr := CustomRole{ID: r.ID, Store: ID(r.TenantID), Name: r.Name, CreatedAt: r.CreatedAt}
	for _, p := range strings.Split(strings.Trim(r.Permissions, "{}"), ",") {
		if obj, act, ok := strings.Cut(p, ":"); ok {
			cr.Permissions = append(cr.Permissions, Permission{obj, act})
		}
	}
	return cr
}

const customRoleCols = `id, tenant_id, name, permissions::text AS permissions, created_at`

// CustomRoles lists store t's custom roles by name.
func (d *DB) CustomRoles(ctx context.Context, t *Tenant) ([]CustomRole, error) {
	var rows []customRoleRow
	err := d.control.WithContext(ctx).Raw(`SELECT `+customRoleCols+` FROM platform.custom_roles WHERE tenant_id = ? ORDER BY lower(name)`,
		int64(t.ID)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list custom roles: %w", err)
	}
	out := make([]CustomRole, len(rows))
	for i, r := range rows {
		out[i] = r.toCustomRole()
	}
	return out, nil
}

// CreateCustomRole makes a role of store t named name giving perms, with
// its permission rules. Other processes learn the rules at their next
// policy reload; until then the role gives nothing there (never more).
//
// Errors: Invalid (blank or long name, no or unknown permission, per
// field), Conflict (the name is taken).
func (d *DB) CreateCustomRole(ctx context.Context, t *Tenant, by Actor, name string, perms []Permission) (CustomRole, error) {
	name = strings.Join(strings.Fields(name), " ")
	f := errs.Fields{}
	switch {
	case name == "":
		f.Add("name", "can't be blank")
	case len([]rune(name)) > 60:
		f.Add("name", "is too long (maximum is 60 characters)")
	case slices.ContainsFunc(slices.Concat(InvitableRoles, []Role{RoleOwner}), func(r Role) bool { return strings.EqualFold(string(r), name) }):
		f.Add("name", "is the name of a built-in role")
	}
	var set []string
	for _, p := range perms {
		if !slices.Contains(StaffObjects, p.Object) || (p.Action != rbac.Read && p.Action != rbac.Write) {
			f.Add("permissions", "%s is not a permission", p)
			continue
		}
		set = append(set, p.String())
		if p.Action == rbac.Write {
			set = append(set, Permission{p.Object, rbac.Read}.String())
		}
	}
	slices.Sort(set)
	set = slices.Compact(set)
	if len(set) == 0 && len(f) == 0 {
		f.Add("permissions", "choose at least one")
	}
	if err := f.Err(); err != nil {
		return CustomRole{}, err
	}
	var cr CustomRole
	err := d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row customRoleRow
		err := tx.Raw(`INSERT INTO platform.custom_roles (tenant_id, name, permissions) VALUES (?, ?, ?::text[]) RETURNING `+customRoleCols,
			int64(t.ID), name, "{"+strings.Join(set, ",")+"}").Scan(&row).Error
		if pg.Code(err) == pg.UniqueViolation {
			return &errs.Error{Kind: errs.Conflict, Message: "a role named " + name + " exists already", Fields: map[string][]string{"name": {"is taken"}}}
		}
		if err != nil {
			return fmt.Errorf("insert custom role: %w", err)
		}
		cr = row.toCustomRole()
		for _, p := range cr.Permissions {
			if err := tx.Exec(`INSERT INTO platform.casbin_rule (ptype, v0, v1, v2) VALUES ('p', ?, ?, ?) ON CONFLICT DO NOTHING`,
				rbac.Role(string(cr.Role())), p.Object, p.Action).Error; err != nil {
				return fmt.Errorf("insert custom role rule: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return CustomRole{}, err
	}
	d.reloadAccess(ctx)
	d.audit(ctx, t, func(tx *gorm.DB) error {
		return recordAuditIn(tx, by.entry("Created the role "+name+" ("+strings.Join(set, ", ")+")", "role "+strconv.FormatInt(cr.ID, 10)))
	})
	return cr, nil
}

// DeleteCustomRole deletes custom role id of store t with its rules. A role
// a member holds, or a pending invitation gives, is not deleted.
//
// Errors: NotFound (ErrCustomRoleNotFound), Conflict (in use).
func (d *DB) DeleteCustomRole(ctx context.Context, t *Tenant, by Actor, id int64) error {
	cr := CustomRole{ID: id, Store: t.ID}
	var pending int64
	err := d.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM staff_invitations WHERE role = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()`,
			string(cr.Role())).Scan(&pending).Error
	})
	if err != nil {
		return fmt.Errorf("count invitations of role: %w", err)
	}
	var name string
	err = d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var names []string
		if err := tx.Raw(`SELECT name FROM platform.custom_roles WHERE id = ? AND tenant_id = ? FOR UPDATE`, id, int64(t.ID)).Scan(&names).Error; err != nil {
			return fmt.Errorf("lock custom role: %w", err)
		}
		if len(names) == 0 {
			return ErrCustomRoleNotFound
		}
		name = names[0]
		var members int64
		if err := tx.Raw(`SELECT count(*) FROM platform.memberships WHERE tenant_id = ? AND role = ?`, int64(t.ID), string(cr.Role())).Scan(&members).Error; err != nil {
			return fmt.Errorf("count members of role: %w", err)
		}
		if members > 0 || pending > 0 {
			return errs.E(errs.Conflict, "the role %s is in use (%d staff members, %d pending invitations); give them another role first", name, members, pending)
		}
		if err := tx.Exec(`DELETE FROM platform.casbin_rule WHERE ptype = 'p' AND v0 = ?`, rbac.Role(string(cr.Role()))).Error; err != nil {
			return fmt.Errorf("delete custom role rules: %w", err)
		}
		return tx.Exec(`DELETE FROM platform.custom_roles WHERE id = ?`, id).Error
	})
	if err != nil {
		return err
	}
	d.reloadAccess(ctx)
	d.audit(ctx, t, func(tx *gorm.DB) error {
		return recordAuditIn(tx, by.entry("Deleted the role "+name, "role "+strconv.FormatInt(id, 10)))
	})
	return nil
}

// reloadAccess has every process reload its policy after a change to
// permission rules (a custom role made or deleted).
func (d *DB) reloadAccess(ctx context.Context) {
	d.publishAccess(ctx, rbac.Change{Reload: true})
}

// checkRole says whether role can be given in t (InvitableRoles, or one of
// t's custom roles) and returns its name as the store shows it.
func (d *DB) checkRole(ctx context.Context, t *Tenant, role Role) (string, error) {
	return roleLabelIn(d.control.WithContext(ctx), t, role)
}

// RoleLabel is role's name as store t shows it: the built-in role's name,
// or the custom role's.
//
// Errors: Invalid (not a role of t).
func (d *DB) RoleLabel(ctx context.Context, t *Tenant, role Role) (string, error) {
	if role == RoleOwner {
		return string(role), nil
	}
	return roleLabelIn(d.control.WithContext(ctx), t, role)
}

// roleLabelIn is RoleLabel for a role that can be given (not owner),
// reading the control database through db.
func roleLabelIn(db *gorm.DB, t *Tenant, role Role) (string, error) {
	bad := errs.E(errs.Invalid, "choose admin, staff, fulfillment, viewer or one of the store's custom roles")
	if slices.Contains(InvitableRoles, role) {
		return string(role), nil
	}
	id, ok := customRoleID(t, role)
	if !ok {
		return "", bad
	}
	var names []string
	if err := db.Raw(`SELECT name FROM platform.custom_roles WHERE id = ? AND tenant_id = ?`, id, int64(t.ID)).Scan(&names).Error; err != nil {
		return "", fmt.Errorf("find custom role: %w", err)
	}
	if len(names) == 0 {
		return "", bad
	}
	return names[0], nil
}

type invitationRow struct {
	ID         int64      `gorm:"column:id"`
	Email      string     `gorm:"column:email"`
	Role       string     `gorm:"column:role"`
	InvitedBy  int64      `gorm:"column:invited_by"`
	CreatedAt  time.Time  `gorm:"column:created_at"`
	ExpiresAt  time.Time  `gorm:"column:expires_at"`
	AcceptedAt *time.Time `gorm:"column:accepted_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
}

const invitationCols = `id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at`

func (r invitationRow) toInvitation(t ID) Invitation {
	return Invitation{ID: r.ID, Store: t, Email: r.Email, Role: Role(r.Role), InvitedBy: AccountID(r.InvitedBy),
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, AcceptedAt: r.AcceptedAt, RevokedAt: r.RevokedAt}
}

// AuditEntry is a line of a store's audit log: who did what, to what, when.
type AuditEntry struct {
	ID        int64
	Account   AccountID
	Email     string
	Role      Role
	Action    string // "Marked order as paid", "Invited ann@example.com as viewer"
	Resource  string // "order 12", or "" when none
	CreatedAt time.Time
}

func (a Actor) entry(action, resource string) AuditEntry {
	return AuditEntry{Account: a.Account, Email: a.Email, Role: a.Role, Action: action, Resource: resource}
}

// RecordAudit adds e to store t's audit log (its ID and time are set here).
func (d *DB) RecordAudit(ctx context.Context, t *Tenant, e AuditEntry) error {
	return d.Tx(ctx, t, func(tx *gorm.DB) error { return recordAuditIn(tx, e) })
}

// RecordAuditIn adds e to the audit log of the store whose transaction tx
// is: for a change that must be logged with what it logs.
func RecordAuditIn(tx *gorm.DB, e AuditEntry) error { return recordAuditIn(tx, e) }

func recordAuditIn(tx *gorm.DB, e AuditEntry) error {
	if len(e.Action) > 500 {
		e.Action = e.Action[:500]
	}
	err := tx.Exec(`INSERT INTO audit_log (account_id, email, role, action, resource) VALUES (?, ?, ?, ?, ?)`,
		int64(e.Account), e.Email, string(e.Role), e.Action, e.Resource).Error
	if err != nil {
		return fmt.Errorf("insert audit entry: %w", err)
	}
	return nil
}

// audit writes the log of a change already committed elsewhere (the
// control database); a failure is logged, since the change stands.
func (d *DB) audit(ctx context.Context, t *Tenant, fn func(tx *gorm.DB) error) {
	if err := d.Tx(ctx, t, fn); err != nil {
		d.log.ErrorContext(ctx, "audit entry not written", "store", t.ID, "err", err)
	}
}

// AuditLog returns up to limit entries of store t's audit log older than
// entry before (0: the newest), newest first, and whether older ones exist.
func (d *DB) AuditLog(ctx context.Context, t *Tenant, before int64, limit int) ([]AuditEntry, bool, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	var rows []struct {
		ID        int64     `gorm:"column:id"`
		AccountID int64     `gorm:"column:account_id"`
		Email     string    `gorm:"column:email"`
		Role      string    `gorm:"column:role"`
		Action    string    `gorm:"column:action"`
		Resource  string    `gorm:"column:resource"`
		CreatedAt time.Time `gorm:"column:created_at"`
	}
	err := d.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id, account_id, email, role, action, resource, created_at FROM audit_log
			WHERE id < ? ORDER BY id DESC LIMIT ?`, before, limit+1).Scan(&rows).Error
	})
	if err != nil {
		return nil, false, fmt.Errorf("read audit log: %w", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	out := make([]AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = AuditEntry{ID: r.ID, Account: AccountID(r.AccountID), Email: r.Email, Role: Role(r.Role), Action: r.Action,
			Resource: r.Resource, CreatedAt: r.CreatedAt}
	}
	return out, more, nil
}
