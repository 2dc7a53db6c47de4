package dashboard

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/modules/notifications"
	"github.com/storefleet/storefleet/tenant"
)

// Payments (billing's manual methods and Stripe Connect) and notification
// emails (the notifications service notifications.json calls); both are the
// shop's settings: "shop" read to see, write to change.

// methodView is a manual payment method with its form's values.
type methodView struct {
	Key, Name, Instructions string // Key: the code without "manual:"
	Enabled                 bool
	Problems                []string
}

// paymentsPage is the payments settings.
type paymentsPage struct {
	Methods []methodView
	// Stripe says the fleet can take cards; Account is the store's Stripe
	// account, nil before it connects.
	Stripe   bool
	Account  *tenant.PaymentAccount
	CanWrite bool
	Flash    string
	Problems []string
}

var paymentsDone = map[string]string{
	"saved":   "Payment method saved.",
	"return":  "Welcome back from Stripe. Card payments start as soon as Stripe has accepted your account.",
	"refresh": "The Stripe link had expired or was used already. Connect Stripe again to get a new one.",
}

// settingsPayments shows the store's manual methods and its Stripe account.
func (d *Dashboard) settingsPayments(c *gin.Context) {
	page := paymentsPage{Flash: paymentsDone[c.Query("done")]}
	if s := c.Query("stripe"); s != "" {
		page.Flash = paymentsDone[s]
	}
	d.showPayments(c, http.StatusOK, page, "", nil)
}

// showPayments renders the payments page; failed is the key of the method
// whose form came back with problems, kept with what was typed.
func (d *Dashboard) showPayments(c *gin.Context, status int, page paymentsPage, failed string, typed *methodView) {
	m := memberOf(c)
	ctx := c.Request.Context()
	ms, err := d.cfg.Payments.ManualMethods(ctx, m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	for _, mm := range ms {
		v := methodView{Key: strings.TrimPrefix(mm.Code, billing.ProviderManual+":"), Name: mm.Name, Instructions: mm.Instructions, Enabled: mm.Enabled}
		if typed != nil && v.Key == failed {
			v.Instructions, v.Enabled, v.Problems = typed.Instructions, typed.Enabled, typed.Problems
		}
		page.Methods = append(page.Methods, v)
	}
	page.Stripe = d.cfg.Stripe
	if page.Stripe {
		a, err := d.cfg.DB.StripeAccount(ctx, m.Store.ID)
		switch {
		case err == nil:
			page.Account = &a
		case !errors.Is(err, tenant.ErrPaymentAccountNotFound):
			d.failErr(c, err)
			return
		}
	}
	if page.CanWrite, err = d.canWrite(c, "shop"); err != nil {
		d.failErr(c, err)
		return
	}
	d.render(c, status, "settings_payments", "Payments", page)
}

// updatePaymentMethod turns a manual method on or off and saves its
// instructions.
func (d *Dashboard) updatePaymentMethod(c *gin.Context) {
	key := c.Param("method")
	typed := methodView{Key: key, Instructions: c.PostForm("instructions"), Enabled: c.PostForm("enabled") != ""}
	_, err := d.cfg.Payments.UpdateManualMethod(c.Request.Context(), memberOf(c).Store, billing.ProviderManual+":"+key,
		billing.ManualMethodUpdate{Enabled: &typed.Enabled, Instructions: &typed.Instructions})
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, settingsBase(c)+"/payments?done=saved")
	case userError(err):
		typed.Problems = problems(err)
		d.showPayments(c, http.StatusUnprocessableEntity, paymentsPage{}, key, &typed)
	default:
		d.failErr(c, err)
	}
}

// connectStripe sends the merchant to Stripe's onboarding for the store's
// connected account (billing.ConnectLink), coming back to the payments page.
func (d *Dashboard) connectStripe(c *gin.Context) {
	if !d.cfg.Stripe {
		d.fail(c, http.StatusUnprocessableEntity, "Card payments are not available",
			"Card payments need the platform's operator to configure Stripe. Until then, your store takes the manual payment methods.")
		return
	}
	back := d.cfg.URLs.Dashboard() + settingsBase(c) + "/payments?stripe="
	link, err := d.cfg.Payments.ConnectLink(c.Request.Context(), memberOf(c).Store, back+"return", back+"refresh")
	if err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, link)
}

// --- Notifications -----------------------------------------------------------

// notificationRow is a kind in the notifications list.
type notificationRow struct {
	Kind, Title, Description string
	Customized               bool
}

// notificationsPage lists the kinds.
type notificationsPage struct {
	Rows []notificationRow
}

// notificationPage is one kind's editor.
type notificationPage struct {
	Kind, Title, Description    string
	Subject, BodyHTML, BodyText string
	Customized, CanWrite        bool
	Flash                       string
	Problems                    []string
	Preview                     *notifications.Email
}

var notificationDone = map[string]string{"saved": "Template saved: the next emails use it.", "reset": "Back to the default template."}

// settingsNotifications lists the emails the store sends.
func (d *Dashboard) settingsNotifications(c *gin.Context) {
	tpls, err := d.cfg.Notifications.Templates(c.Request.Context(), memberOf(c).Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	var page notificationsPage
	for _, t := range tpls {
		title, desc, _ := notifications.About(t.Kind)
		page.Rows = append(page.Rows, notificationRow{Kind: string(t.Kind), Title: title, Description: desc, Customized: t.Customized})
	}
	d.render(c, http.StatusOK, "settings_notifications", "Notifications", page)
}

// notificationKind is the :kind of a notification page.
func notificationKind(c *gin.Context) (notifications.Kind, error) {
	return notifications.ParseKind(c.Param("kind"))
}

// settingsNotification shows a kind's template for editing.
func (d *Dashboard) settingsNotification(c *gin.Context) {
	kind, err := notificationKind(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	tpl, err := d.cfg.Notifications.Template(c.Request.Context(), memberOf(c).Store, kind)
	if err != nil {
		d.failErr(c, err)
		return
	}
	page := notificationPage{Subject: tpl.Subject, BodyHTML: tpl.BodyHTML, BodyText: tpl.BodyText, Customized: tpl.Customized,
		Flash: notificationDone[c.Query("done")]}
	d.showNotification(c, http.StatusOK, kind, page)
}

func (d *Dashboard) showNotification(c *gin.Context, status int, kind notifications.Kind, page notificationPage) {
	var err error
	if page.CanWrite, err = d.canWrite(c, "shop"); err != nil {
		d.failErr(c, err)
		return
	}
	page.Kind = string(kind)
	page.Title, page.Description, _ = notifications.About(kind)
	d.render(c, status, "settings_notification", page.Title, page)
}

// saveNotification saves a kind's template (action=save) or renders it
// with sample data (action=preview), as PUT notifications/{kind}.json and
// its preview do; Liquid that does not parse or render is shown with its
// line, and nothing is saved.
func (d *Dashboard) saveNotification(c *gin.Context) {
	kind, err := notificationKind(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	m := memberOf(c)
	ctx := c.Request.Context()
	page := notificationPage{Subject: c.PostForm("subject"), BodyHTML: c.PostForm("body_html"), BodyText: c.PostForm("body_text")}
	in := notifications.Input{Subject: &page.Subject, BodyHTML: &page.BodyHTML, BodyText: &page.BodyText}
	cur, err := d.cfg.Notifications.Template(ctx, m.Store, kind)
	if err != nil {
		d.failErr(c, err)
		return
	}
	page.Customized = cur.Customized
	if c.PostForm("action") == "preview" {
		email, err := d.cfg.Notifications.Preview(ctx, m.Store, kind, in)
		switch {
		case err == nil:
			page.Preview = &email
			d.showNotification(c, http.StatusOK, kind, page)
		case userError(err):
			page.Problems = problems(err)
			d.showNotification(c, http.StatusUnprocessableEntity, kind, page)
		default:
			d.failErr(c, err)
		}
		return
	}
	_, err = d.cfg.Notifications.SetTemplate(ctx, m.Store, kind, in)
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, settingsBase(c)+"/notifications/"+string(kind)+"?done=saved")
	case userError(err):
		page.Problems = problems(err)
		d.showNotification(c, http.StatusUnprocessableEntity, kind, page)
	default:
		d.failErr(c, err)
	}
}

// resetNotification goes back to the default template of a kind.
func (d *Dashboard) resetNotification(c *gin.Context) {
	kind, err := notificationKind(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	if _, err := d.cfg.Notifications.ResetTemplate(c.Request.Context(), memberOf(c).Store, kind); err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, settingsBase(c)+"/notifications/"+string(kind)+"?done=reset")
}
