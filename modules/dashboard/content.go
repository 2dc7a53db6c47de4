package dashboard

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/storefront"
)

// The content screens: the store's pages (/pages/{handle} on the
// storefront) and its navigation menus (what themes read as linklists).
// Both go through storefront.Pages and storefront.Menus, the services
// behind pages.json and menus.json, with the same rules and the same
// casbin object, "content".

// contentDone are the notices shown after an action, by ?done=.
var contentDone = map[string]string{
	"created": "Created.",
	"saved":   "Saved.",
	"deleted": "Deleted.",
}

// contentIDParam is the :id of a page or menu; ok is false for one that
// cannot be.
func contentIDParam(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	return id, err == nil && id > 0
}

// contentFieldErrors is err's per-field messages joined, for the form, and
// its message for the top of the page.
func contentFieldErrors(err error) (map[string][]string, string) {
	if err == nil {
		return nil, ""
	}
	return errs.FieldsOf(err), errs.MessageOf(err)
}

// --- pages -------------------------------------------------------------------

// contentPageRow is a line of the pages list.
type contentPageRow struct {
	ID                    int64
	Title, Handle, Status string
	Updated, URL          string
}

// contentPagesPage is the pages list.
type contentPagesPage struct {
	Rows     []contentPageRow
	CanWrite bool
	Flash    string
}

// contentPages lists the store's pages.
func (d *Dashboard) contentPages(c *gin.Context) {
	m := memberOf(c)
	list, err := d.cfg.Pages.Pages(c.Request.Context(), m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	page := contentPagesPage{}
	if page.CanWrite, err = d.Allowed(m, "content", rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	for _, p := range list {
		status := "hidden"
		if p.PublishedAt != nil {
			status = "published"
		}
		page.Rows = append(page.Rows, contentPageRow{ID: p.ID, Title: p.Title, Handle: p.Handle, Status: status,
			Updated: p.UpdatedAt.Format("2 Jan 2006 15:04"), URL: d.cfg.URLs.Store(m.Store.Slug) + "/pages/" + p.Handle})
	}
	if msg, ok := contentDone[c.Query("done")]; ok {
		page.Flash = msg
	}
	d.render(c, http.StatusOK, "pages", "Pages", page)
}

// contentPageForm is a page's form: new (ID 0) or an existing page.
type contentPageForm struct {
	ID                      int64
	Title, Handle, BodyHTML string
	Published               bool
	URL                     string
	CanWrite                bool
	Flash, Error            string
	Errors                  map[string][]string
}

// newContentPage shows the form for a new page.
func (d *Dashboard) newContentPage(c *gin.Context) {
	d.showContentPage(c, http.StatusOK, contentPageForm{Published: true}, nil)
}

// contentPage shows a page's form with its values.
func (d *Dashboard) contentPage(c *gin.Context) {
	id, ok := contentIDParam(c)
	if !ok {
		d.notFound(c)
		return
	}
	p, err := d.cfg.Pages.Page(c.Request.Context(), memberOf(c).Store, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	form := contentPageForm{ID: p.ID, Title: p.Title, Handle: p.Handle, BodyHTML: p.BodyHTML, Published: p.PublishedAt != nil}
	if msg, ok := contentDone[c.Query("done")]; ok {
		form.Flash = msg
	}
	d.showContentPage(c, http.StatusOK, form, nil)
}

func (d *Dashboard) showContentPage(c *gin.Context, status int, form contentPageForm, formErr error) {
	m := memberOf(c)
	var err error
	if form.CanWrite, err = d.Allowed(m, "content", rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	if form.ID != 0 && form.Handle != "" {
		form.URL = d.cfg.URLs.Store(m.Store.Slug) + "/pages/" + form.Handle
	}
	form.Errors, form.Error = contentFieldErrors(formErr)
	title := "New page"
	if form.ID != 0 {
		title = form.Title
	}
	d.render(c, status, "page", title, form)
}

// contentPageInput reads the page form.
func contentPageInput(c *gin.Context) (contentPageForm, storefront.PageInput) {
	form := contentPageForm{Title: strings.TrimSpace(c.PostForm("title")), Handle: strings.TrimSpace(c.PostForm("handle")),
		BodyHTML: strings.ReplaceAll(c.PostForm("body_html"), "\r\n", "\n"), Published: c.PostForm("published") != ""}
	return form, storefront.PageInput{Title: &form.Title, Handle: &form.Handle, BodyHTML: &form.BodyHTML, Published: &form.Published}
}

// contentPageDone answers a page form's post.
func (d *Dashboard) contentPageDone(c *gin.Context, id int64, done string, form contentPageForm, err error) {
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/pages/%d?done=%s", memberOf(c).Store.Slug, id, done))
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Conflict):
		d.showContentPage(c, http.StatusUnprocessableEntity, form, err)
	default:
		d.failErr(c, err)
	}
}

// createContentPage adds a page, as POST pages.json does.
func (d *Dashboard) createContentPage(c *gin.Context) {
	form, in := contentPageInput(c)
	p, err := d.cfg.Pages.CreatePage(c.Request.Context(), memberOf(c).Store, in)
	d.contentPageDone(c, p.ID, "created", form, err)
}

// updateContentPage changes a page, as PUT pages/{id}.json does.
func (d *Dashboard) updateContentPage(c *gin.Context) {
	id, ok := contentIDParam(c)
	if !ok {
		d.notFound(c)
		return
	}
	form, in := contentPageInput(c)
	form.ID = id
	_, err := d.cfg.Pages.UpdatePage(c.Request.Context(), memberOf(c).Store, id, in)
	d.contentPageDone(c, id, "saved", form, err)
}

// deleteContentPage deletes a page, as DELETE pages/{id}.json does.
func (d *Dashboard) deleteContentPage(c *gin.Context) {
	id, ok := contentIDParam(c)
	if !ok {
		d.notFound(c)
		return
	}
	if err := d.cfg.Pages.DeletePage(c.Request.Context(), memberOf(c).Store, id); err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/pages?done=deleted", memberOf(c).Store.Slug))
}

// --- menus -------------------------------------------------------------------

// navMenuRow is a line of the menus list.
type navMenuRow struct {
	ID            int64
	Title, Handle string
	Links         int
}

// navMenusPage is the menus list, with the new menu form.
type navMenusPage struct {
	Rows          []navMenuRow
	CanWrite      bool
	Flash, Error  string
	Errors        map[string][]string
	Title, Handle string // the new menu form's values, kept after an error
}

// navMenus lists the store's menus.
func (d *Dashboard) navMenus(c *gin.Context) {
	page := navMenusPage{}
	if msg, ok := contentDone[c.Query("done")]; ok {
		page.Flash = msg
	}
	d.showNavMenus(c, http.StatusOK, page, nil)
}

func (d *Dashboard) showNavMenus(c *gin.Context, status int, page navMenusPage, formErr error) {
	m := memberOf(c)
	list, err := d.cfg.Menus.Menus(c.Request.Context(), m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	if page.CanWrite, err = d.Allowed(m, "content", rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	for _, mn := range list {
		page.Rows = append(page.Rows, navMenuRow{ID: mn.ID, Title: mn.Title, Handle: mn.Handle, Links: len(mn.Links)})
	}
	page.Errors, page.Error = contentFieldErrors(formErr)
	d.render(c, status, "menus", "Navigation", page)
}

// createNavMenu adds a menu, as POST menus.json does, and opens it to add
// its links.
func (d *Dashboard) createNavMenu(c *gin.Context) {
	m := memberOf(c)
	page := navMenusPage{Title: strings.TrimSpace(c.PostForm("title")), Handle: strings.TrimSpace(c.PostForm("handle"))}
	mn, err := d.cfg.Menus.CreateMenu(c.Request.Context(), m.Store, storefront.MenuInput{Title: &page.Title, Handle: &page.Handle})
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/menus/%d?done=created", m.Store.Slug, mn.ID))
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Conflict):
		d.showNavMenus(c, http.StatusUnprocessableEntity, page, err)
	default:
		d.failErr(c, err)
	}
}

// navMenuLinkRow is a row of a menu's links form.
type navMenuLinkRow struct {
	N               int // 1-based row number, for labels
	Position        string
	Title, URL      string
	Remove, Present bool // Present: an existing link (not a blank row to add one)
}

// navMenuForm is a menu's page: its title, handle and links.
type navMenuForm struct {
	ID            int64
	Title, Handle string
	Links         []navMenuLinkRow
	CanWrite      bool
	Flash, Error  string
	Errors        map[string][]string
}

// navMenuBlankRows is how many empty rows the links form offers for new
// links.
const navMenuBlankRows = 3

// navMenu shows a menu with its links as a form.
func (d *Dashboard) navMenu(c *gin.Context) {
	id, ok := contentIDParam(c)
	if !ok {
		d.notFound(c)
		return
	}
	mn, err := d.cfg.Menus.Menu(c.Request.Context(), memberOf(c).Store, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	form := navMenuForm{ID: mn.ID, Title: mn.Title, Handle: mn.Handle}
	for _, l := range mn.Links {
		form.Links = append(form.Links, navMenuLinkRow{Position: strconv.Itoa(l.Position), Title: l.Title, URL: l.URL, Present: true})
	}
	if msg, ok := contentDone[c.Query("done")]; ok {
		form.Flash = msg
	}
	d.showNavMenu(c, http.StatusOK, form, nil)
}

func (d *Dashboard) showNavMenu(c *gin.Context, status int, form navMenuForm, formErr error) {
	var err error
	if form.CanWrite, err = d.Allowed(memberOf(c), "content", rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	if form.CanWrite {
		for range navMenuBlankRows {
			form.Links = append(form.Links, navMenuLinkRow{})
		}
	}
	for i := range form.Links {
		form.Links[i].N = i + 1
	}
	form.Errors, form.Error = contentFieldErrors(formErr)
	d.render(c, status, "menu", form.Title, form)
}

// updateNavMenu saves a menu's title, handle and links, as PUT
// menus/{id}.json does: the rows kept, ordered by their position (rows
// without one keep their place), replace the menu's links at once. Rows
// left blank and rows marked for removal are dropped.
func (d *Dashboard) updateNavMenu(c *gin.Context) {
	id, ok := contentIDParam(c)
	if !ok {
		d.notFound(c)
		return
	}
	form := navMenuForm{ID: id, Title: strings.TrimSpace(c.PostForm("title")), Handle: strings.TrimSpace(c.PostForm("handle"))}
	titles, urls, positions := c.PostFormArray("link_title"), c.PostFormArray("link_url"), c.PostFormArray("link_position")
	remove := map[string]bool{}
	for _, r := range c.PostFormArray("link_remove") {
		remove[r] = true
	}
	bad := errs.Fields{}
	links := []storefront.MenuLinkInput{}
	for i := range titles {
		row := navMenuLinkRow{Title: strings.TrimSpace(titles[i]), Remove: remove[strconv.Itoa(i+1)], Present: true}
		if i < len(urls) {
			row.URL = strings.TrimSpace(urls[i])
		}
		if i < len(positions) {
			row.Position = strings.TrimSpace(positions[i])
		}
		if row.Title == "" && row.URL == "" {
			continue // a blank row
		}
		form.Links = append(form.Links, row)
		if row.Remove {
			continue
		}
		l := storefront.MenuLinkInput{Title: row.Title, URL: row.URL}
		if row.Position != "" {
			p, err := strconv.Atoi(row.Position)
			if err != nil {
				bad.Add("links", "link %q: position must be a whole number", row.Title)
			}
			l.Position = &p
		}
		links = append(links, l)
	}
	err := bad.Err()
	if err == nil {
		_, err = d.cfg.Menus.UpdateMenu(c.Request.Context(), memberOf(c).Store, id, storefront.MenuInput{Title: &form.Title, Handle: &form.Handle, Links: &links})
	}
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/menus/%d?done=saved", memberOf(c).Store.Slug, id))
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Conflict):
		if _, gerr := d.cfg.Menus.Menu(c.Request.Context(), memberOf(c).Store, id); gerr != nil {
			d.failErr(c, gerr) // not this store's menu: 404, whatever the form said
			return
		}
		d.showNavMenu(c, http.StatusUnprocessableEntity, form, err)
	default:
		d.failErr(c, err)
	}
}

// deleteNavMenu deletes a menu with its links, as DELETE menus/{id}.json
// does.
func (d *Dashboard) deleteNavMenu(c *gin.Context) {
	id, ok := contentIDParam(c)
	if !ok {
		d.notFound(c)
		return
	}
	if err := d.cfg.Menus.DeleteMenu(c.Request.Context(), memberOf(c).Store, id); err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/menus?done=deleted", memberOf(c).Store.Slug))
}
