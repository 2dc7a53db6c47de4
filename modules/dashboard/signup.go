package dashboard

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/tenant"
)

// signupForm is the sign-up page: what was typed, and what is wrong with it.
type signupForm struct {
	Email     string
	StoreName string
	Slug      string
	SlugAuto  bool // the slug follows the store's name until the merchant edits it
	Slug2     slugStatus
	Errors    map[string][]string
	Message   string
}

// slugStatus is the live check of a slug under its field.
type slugStatus struct {
	Slug      string
	Available bool
	Problem   string
	StoreURL  string
}

func (d *Dashboard) signupPage(c *gin.Context) {
	if accountOf(c) != 0 {
		c.Redirect(http.StatusSeeOther, "/")
		return
	}
	d.render(c, http.StatusOK, "signup", "Open your store", signupForm{SlugAuto: true})
}

// signup creates the account and its first store, logs the merchant in and
// sends them to the new store's home.
func (d *Dashboard) signup(c *gin.Context) {
	form := signupForm{
		Email:     strings.TrimSpace(c.PostForm("email")),
		StoreName: strings.TrimSpace(c.PostForm("store_name")),
		Slug:      strings.ToLower(strings.TrimSpace(c.PostForm("slug"))),
		SlugAuto:  c.PostForm("slug_auto") == "1",
	}
	if form.Slug == "" {
		form.Slug = tenant.SuggestSlug(form.StoreName)
	}
	acct, t, err := d.cfg.DB.SignUp(c.Request.Context(), tenant.Signup{
		Email: form.Email, Password: c.PostForm("password"), StoreName: form.StoreName, Slug: form.Slug,
		Dashboard: d.cfg.URLs.Dashboard(), // the verification email, queued with the account
	})
	if err != nil {
		switch errs.KindOf(err) {
		case errs.Invalid, errs.Conflict:
			form.Errors = errs.FieldsOf(err)
			if len(form.Errors) == 0 {
				form.Message = errs.MessageOf(err)
			}
			d.render(c, http.StatusUnprocessableEntity, "signup", "Open your store", form)
		default:
			d.failErr(c, err)
		}
		return
	}
	if err := d.beginSession(c, acct.ID); err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/store/"+t.Slug+"?welcome=1")
}

// slugCheck answers the sign-up form's live check (htmx): with from=name,
// the slug field suggested from the store's name; otherwise the
// availability of the slug typed.
func (d *Dashboard) slugCheck(c *gin.Context) {
	slug := strings.ToLower(strings.TrimSpace(c.Query("slug")))
	fromName := c.Query("from") == "name"
	if fromName && c.Query("slug_auto") == "1" {
		slug = tenant.SuggestSlug(c.Query("store_name"))
	}
	st, err := d.slugStatus(c, slug)
	if err != nil {
		d.failErr(c, err)
		return
	}
	if fromName {
		d.fragment(c, "signup", "slug-field", signupForm{Slug: slug, SlugAuto: c.Query("slug_auto") == "1", Slug2: st})
		return
	}
	d.fragment(c, "signup", "slug-status", st)
}

func (d *Dashboard) slugStatus(c *gin.Context, slug string) (slugStatus, error) {
	st := slugStatus{Slug: slug}
	if slug == "" {
		return st, nil
	}
	problem, err := d.cfg.DB.SlugProblem(c.Request.Context(), slug)
	if err != nil {
		return st, err
	}
	st.Problem, st.Available = problem, problem == ""
	st.StoreURL = d.cfg.URLs.Store(slug)
	return st, nil
}
