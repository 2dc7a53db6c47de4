package storefront

import (
	"bytes"
	"html/template"
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/tenant"
)

// The links of customer account emails: /account/verify/{id}/{token}
// confirms the email of a new account (sent on every sign-up), and
// /account/activate/{id}/{token} is where a customer the store invited
// chooses a password, after which they are logged in. Both pages are drawn
// inside the store's theme, as its "page" template with a page object of
// ours: Liquid themes have no verification page, and a Shopify theme's
// activate_account form posts a form type our form tag does not know. They
// are never kept in the page cache (each link is one customer's, and
// works once).

// activationRoutes mounts the account email links, behind the CSRF check
// like every /account page. Routes calls it beside accountRoutes.
func (h *Handler) activationRoutes(r gin.IRouter) {
	a := r.Group("/account", h.csrf)
	a.GET("/verify/:id/:token", h.verifyEmail)
	a.GET("/activate/:id/:token", h.activatePage)
	a.POST("/activate", h.activate)
}

// verifyEmail spends a verification link and says so; a used or expired
// link gets a page saying that, with 410.
func (h *Handler) verifyEmail(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	cu, err := customers.NewService(h.db).VerifyEmail(c.Request.Context(), t, id, c.Param("token"))
	if errs.Is(err, errs.Invalid) {
		h.accountPage(c, http.StatusGone, "Link expired", noticeHTML("This link has expired or was already used.",
			"If you already confirmed your email, there is nothing more to do.", "/account", "Go to your account"))
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.accountPage(c, http.StatusOK, "Email confirmed", noticeHTML("Thank you: your email address "+cu.Email+" is confirmed.",
		"", "/account", "Go to your account"))
}

// activatePage shows the form to choose a password, for a live invitation
// link.
func (h *Handler) activatePage(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	token := c.Param("token")
	err := customers.NewService(h.db).CheckActivation(c.Request.Context(), t, id, token)
	if errs.Is(err, errs.Invalid) {
		h.activationExpired(c)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.activationForm(c, http.StatusOK, id, token, "")
}

// activate sets the password from the activation form and logs the
// customer in.
func (h *Handler) activate(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	id, _ := strconv.ParseInt(c.PostForm("customer_id"), 10, 64)
	token, password := c.PostForm("token"), c.PostForm("customer[password]")
	if c.PostForm("customer[password_confirmation]") != password {
		h.activationForm(c, http.StatusUnprocessableEntity, id, token, "The two passwords are not the same.")
		return
	}
	cu, err := customers.NewService(h.db).Activate(c.Request.Context(), t, id, token, password)
	if errs.Is(err, errs.Invalid) {
		if msgs := errs.FieldsOf(err)["password"]; len(msgs) > 0 {
			h.activationForm(c, http.StatusUnprocessableEntity, id, token, "Password "+msgs[0]+".")
			return
		}
		h.activationExpired(c)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.setCustomerCookie(c, t, cu.ID)
	c.Redirect(http.StatusSeeOther, "/account")
}

func (h *Handler) activationExpired(c *gin.Context) {
	h.accountPage(c, http.StatusGone, "Invitation expired", noticeHTML("This invitation link has expired or was already used.",
		"If you already chose a password, log in. Otherwise, ask the store to send you a new invitation.", "/account/login", "Log in"))
}

var activationTemplate = template.Must(template.New("activate").Parse(`<p>Choose a password to activate your account.</p>
{{if .Problem}}<p class="form-error" role="alert">{{.Problem}}</p>{{end}}
<form method="post" action="/account/activate" class="stack">
<input type="hidden" name="authenticity_token" value="{{.CSRF}}">
<input type="hidden" name="customer_id" value="{{.ID}}">
<input type="hidden" name="token" value="{{.Token}}">
<div class="field"><label for="ActivatePassword">Password</label>
<input type="password" id="ActivatePassword" name="customer[password]" autocomplete="new-password" minlength="8" required></div>
<div class="field"><label for="ActivatePasswordConfirm">Password, again</label>
<input type="password" id="ActivatePasswordConfirm" name="customer[password_confirmation]" autocomplete="new-password" minlength="8" required></div>
<button type="submit" class="button button--full">Activate my account</button>
</form>`))

func (h *Handler) activationForm(c *gin.Context, status int, id int64, token, problem string) {
	var b bytes.Buffer
	err := activationTemplate.Execute(&b, map[string]any{"CSRF": h.csrfToken(c.Request, tenant.FromContext(c.Request.Context())),
		"ID": id, "Token": token, "Problem": problem})
	if err != nil {
		h.fail(c, err)
		return
	}
	h.accountPage(c, status, "Activate your account", b.String())
}

var noticeTemplate = template.Must(template.New("notice").Parse(`<p>{{.Lead}}</p>{{if .More}}<p>{{.More}}</p>{{end}}
<p><a href="{{.Link}}">{{.Label}}</a></p>`))

// noticeHTML is a short page body: what happened, more if any, and where
// to go next.
func noticeHTML(lead, more, link, label string) string {
	var b bytes.Buffer
	_ = noticeTemplate.Execute(&b, map[string]string{"Lead": lead, "More": more, "Link": link, "Label": label})
	return b.String()
}

// accountPage draws body (HTML of ours, its values escaped) under title in
// the store's theme, as its "page" template, or on a plain page when the
// theme has none. It is never cached.
func (h *Handler) accountPage(c *gin.Context, status int, title, body string) {
	t := tenant.FromContext(c.Request.Context())
	noStore(c)
	var out []byte
	err := h.db.ReadTx(c.Request.Context(), t, func(tx *gorm.DB) error {
		v, err := h.newView(c, tx, t)
		if err != nil {
			return err
		}
		if !slices.Contains(v.theme.Templates(), "page") {
			out = plainAccountPage(v.shop.Name, title, body)
			return nil
		}
		v.vars["page"] = map[string]any{"id": 0, "title": title, "handle": "account", "url": c.Request.URL.Path,
			"content": body, "object_type": "page"}
		v.vars["page_title"] = title + " – " + v.shop.Name
		v.vars["request"].(map[string]any)["page_type"] = "page"
		v.opts.CSRFToken = h.csrfToken(c.Request, t)
		out, err = v.theme.Render(c.Request.Context(), "page", v.vars, v.opts)
		return err
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	writePage(c, status, out, "")
}

var plainTemplate = template.Must(template.New("plain").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{{.Title}} – {{.Shop}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}label,input{display:block}input{margin:.2rem 0 1rem}</style></head>
<body><main><p>{{.Shop}}</p><h1>{{.Title}}</h1>{{.Body}}</main></body></html>`))

func plainAccountPage(shop, title, body string) []byte {
	var b bytes.Buffer
	_ = plainTemplate.Execute(&b, map[string]any{"Shop": shop, "Title": title, "Body": template.HTML(body)})
	return b.Bytes()
}
