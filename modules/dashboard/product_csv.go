package dashboard

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/catalog"
)

// exportProducts sends the store's products as Shopify's product CSV, a
// file to download.
func (d *Dashboard) exportProducts(c *gin.Context) {
	m := memberOf(c)
	var buf bytes.Buffer
	// Written whole before it is sent, so that a failure is an error page,
	// not half a file.
	if _, err := d.cfg.Catalog.ExportCSV(c.Request.Context(), m.Store, &buf); err != nil {
		d.failErr(c, err)
		return
	}
	name := fmt.Sprintf("%s-products-%s.csv", m.Store.Slug, time.Now().UTC().Format("2006-01-02"))
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// importRow is an import in the list of recent ones.
type importRow struct {
	ID                  int64
	When, File, Status  string
	Done, Total, Failed int
	Created, Updated    int
	Finished            bool
}

// importsPage is the import form and the recent imports.
type importsPage struct {
	Slug      string
	CanWrite  bool
	Overwrite bool
	Errors    map[string][]string
	Imports   []importRow
	MaxMB     int
}

// importsShown is how many recent imports the import page lists.
const importsShown = 10

// importProductsPage shows the import form and the store's recent imports.
func (d *Dashboard) importProductsPage(c *gin.Context) {
	d.showImports(c, http.StatusOK, importsPage{})
}

func (d *Dashboard) showImports(c *gin.Context, status int, page importsPage) {
	m := memberOf(c)
	page.Slug, page.MaxMB = m.Store.Slug, catalog.MaxImportBytes>>20
	var err error
	if page.CanWrite, err = d.Allowed(m, "products", rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	ims, err := d.cfg.Catalog.Imports(c.Request.Context(), m.Store, importsShown)
	if err != nil {
		d.failErr(c, err)
		return
	}
	for _, im := range ims {
		r := importRow{ID: im.ID, When: im.CreatedAt.Format("2 Jan 2006 15:04"), File: im.FileName, Status: im.Status,
			Done: im.Done, Total: im.Total, Failed: im.Failed, Finished: im.Finished()}
		if im.Report != nil {
			r.Created, r.Updated = im.Report.Created, im.Report.Updated
		}
		page.Imports = append(page.Imports, r)
	}
	d.render(c, status, "products_import", "Import products", page)
}

// importProducts records the uploaded CSV as an import for the worker to
// run (catalog.StartImport), and shows its progress page.
func (d *Dashboard) importProducts(c *gin.Context) {
	m := memberOf(c)
	page := importsPage{Overwrite: c.PostForm("overwrite") == "1"}
	in := catalog.NewImport{Overwrite: page.Overwrite, Actor: m.actor()}
	if fh, err := c.FormFile("file"); err == nil {
		if fh.Size > catalog.MaxImportBytes {
			page.Errors = map[string][]string{"file": {fmt.Sprintf("The file is larger than %d MB; split it into smaller files.", catalog.MaxImportBytes>>20)}}
			d.showImports(c, http.StatusUnprocessableEntity, page)
			return
		}
		f, err := fh.Open()
		if err != nil {
			d.failErr(c, err)
			return
		}
		in.Data, err = io.ReadAll(io.LimitReader(f, catalog.MaxImportBytes+1))
		f.Close()
		if err != nil {
			d.failErr(c, err)
			return
		}
		in.FileName = fh.Filename
	}
	im, err := d.cfg.Catalog.StartImport(c.Request.Context(), m.Store, in)
	if errs.KindOf(err) == errs.Invalid {
		page.Errors = errs.FieldsOf(err)
		if len(page.Errors) == 0 {
			page.Errors = map[string][]string{"file": {errs.MessageOf(err)}}
		}
		d.showImports(c, http.StatusUnprocessableEntity, page)
		return
	}
	if err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/products/imports/%d", m.Store.Slug, im.ID))
}

// importPage is one import's progress, then its report.
type importPage struct {
	Slug    string
	Import  catalog.Import
	Percent int
	When    string
}

// productImport shows import :id: a progress bar while it runs (the page
// polls its fragment every second with htmx; without JavaScript, a Reload
// link), then the report. With HX-Request it sends only the fragment.
func (d *Dashboard) productImport(c *gin.Context) {
	m := memberOf(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		d.notFound(c)
		return
	}
	im, err := d.cfg.Catalog.Import(c.Request.Context(), m.Store, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	page := importPage{Slug: m.Store.Slug, Import: im, When: im.CreatedAt.Format("2 Jan 2006 15:04")}
	if im.Total > 0 {
		page.Percent = min(100, im.Done*100/im.Total)
	}
	if im.Finished() {
		page.Percent = 100
	}
	if c.GetHeader("HX-Request") == "true" {
		d.fragment(c, "product_import", "import-progress", page)
		return
	}
	d.render(c, http.StatusOK, "product_import", "Import", page)
}
