package workers

import (
	"encoding/json"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/modules/notifications"
	"github.com/storefleet/storefleet/tenant"
)

// staffInvitationData is the data and recipient of a staff invitation
// email (staff/invited): it goes to the invitee, whose address is in the
// event, not to a customer of the store. ok is false for any other kind.
func staffInvitationData(kind notifications.Kind, ev tenant.Event) (notifications.Data, *mail.Address, bool, error) {
	var d notifications.Data
	if kind != notifications.StaffInvitation {
		return d, nil, false, nil
	}
	var p tenant.InvitationEmail
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		return d, nil, true, fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	if p.Email == "" || p.URL == "" {
		return d, nil, true, fmt.Errorf("%w: staff invitation %d without an email or a link", asynq.SkipRetry, p.ID)
	}
	d.Customer = notifications.Customer{Email: p.Email}
	d.URL = p.URL
	d.Invitation = &notifications.Invitation{Role: p.Role, InvitedBy: p.InvitedBy, ExpiresAt: p.ExpiresAt}
	return d, &mail.Address{Email: p.Email}, true, nil
}
