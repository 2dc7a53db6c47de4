package catalog

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
)

// AdminRoutes mounts the product, variant, collection and collect resources.
func (s *Service) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	read, write := g.Require("products", rbac.Read), g.Require("products", rbac.Write)
	r.GET("/products.json", read, g.Handle(s.listProducts))
	r.POST("/products.json", write, g.Handle(s.createProduct))
	r.GET("/products/:file", read, g.Handle(func(c *gin.Context) error {
		if c.Param("file") == "count.json" {
			return s.countProducts(c)
		}
		return s.getProduct(c)
	}))
	r.PUT("/products/:file", write, g.Handle(s.updateProduct))
	r.DELETE("/products/:file", write, g.Handle(s.deleteProduct))

	// Variants. gin wants one parameter name per path segment, hence :file
	// for the product id here too.
	r.GET("/products/:file/variants.json", read, g.Handle(s.listVariants))
	r.POST("/products/:file/variants.json", write, g.Handle(s.createVariant))
	r.GET("/products/:file/variants/:vfile", read, g.Handle(func(c *gin.Context) error {
		if c.Param("vfile") != "count.json" {
			return ErrVariantNotFound // Shopify reads single variants at variants/{id}.json
		}
		return s.countVariants(c)
	}))
	r.DELETE("/products/:file/variants/:vfile", write, g.Handle(s.deleteVariant))
	r.GET("/variants/:vfile", read, g.Handle(s.getVariant))
	r.PUT("/variants/:vfile", write, g.Handle(s.updateVariant))

	s.imageRoutes(r, g)
	s.collectionRoutes(r, g)
}

// --- JSON shapes -------------------------------------------------------------

type optionJSON struct {
	ID        int64    `json:"id"`
	ProductID int64    `json:"product_id"`
	Name      string   `json:"name"`
	Position  int      `json:"position"`
	Values    []string `json:"values"`
}

type variantJSON struct {
	ID                   int64     `json:"id"`
	ProductID            int64     `json:"product_id"`
	Title                string    `json:"title"`
	Price                string    `json:"price"`
	SKU                  string    `json:"sku"`
	Position             int       `json:"position"`
	InventoryPolicy      string    `json:"inventory_policy"`
	CompareAtPrice       *string   `json:"compare_at_price"`
	FulfillmentService   string    `json:"fulfillment_service"`
	InventoryManagement  *string   `json:"inventory_management"`
	Option1              *string   `json:"option1"`
	Option2              *string   `json:"option2"`
	Option3              *string   `json:"option3"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
	Taxable              bool      `json:"taxable"`
	Barcode              *string   `json:"barcode"`
	Grams                int64     `json:"grams"`
	Weight               float64   `json:"weight"`
	WeightUnit           string    `json:"weight_unit"`
	RequiresShipping     bool      `json:"requires_shipping"`
	ImageID              *int64    `json:"image_id"`
	InventoryItemID      int64     `json:"inventory_item_id"`
	InventoryQuantity    int64     `json:"inventory_quantity"`
	OldInventoryQuantity int64     `json:"old_inventory_quantity"`
	AdminGraphqlAPIID    string    `json:"admin_graphql_api_id"`
}

type productJSON struct {
	ID                int64         `json:"id"`
	Title             string        `json:"title"`
	BodyHTML          string        `json:"body_html"`
	Vendor            string        `json:"vendor"`
	ProductType       string        `json:"product_type"`
	CreatedAt         time.Time     `json:"created_at"`
	Handle            string        `json:"handle"`
	UpdatedAt         time.Time     `json:"updated_at"`
	PublishedAt       *time.Time    `json:"published_at"`
	TemplateSuffix    *string       `json:"template_suffix"`
	PublishedScope    string        `json:"published_scope"`
	Tags              string        `json:"tags"`
	Status            string        `json:"status"`
	AdminGraphqlAPIID string        `json:"admin_graphql_api_id"`
	Variants          []variantJSON `json:"variants"`
	Options           []optionJSON  `json:"options"`
	Images            []imageJSON   `json:"images"`
	Image             *imageJSON    `json:"image"`
}

var gramsPer = map[string]float64{"g": 1, "kg": 1000, "oz": 28.349523125, "lb": 453.59237}

// toProductJSON renders p with prices in cur and image URLs from src.
func toProductJSON(p Product, cur money.Currency, src func(file string) string) productJSON {
	out := productJSON{
		ID: p.ID, Title: p.Title, BodyHTML: p.BodyHTML, Vendor: p.Vendor, ProductType: p.ProductType,
		CreatedAt: p.CreatedAt, Handle: p.Handle, UpdatedAt: p.UpdatedAt, PublishedAt: p.PublishedAt,
		PublishedScope: "web", Tags: strings.Join(p.Tags, ", "), Status: p.Status,
		AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/Product/%d", p.ID),
		Variants:          []variantJSON{}, Options: []optionJSON{}, Images: []imageJSON{},
	}
	for _, im := range p.Images {
		out.Images = append(out.Images, toImageJSON(im, src))
	}
	if len(out.Images) > 0 {
		out.Image = &out.Images[0]
	}
	for _, o := range p.Options {
		out.Options = append(out.Options, optionJSON{ID: o.ID, ProductID: p.ID, Name: o.Name, Position: o.Position, Values: append([]string{}, o.Values...)})
	}
	for _, v := range p.Variants {
		out.Variants = append(out.Variants, toVariantJSON(v, cur))
	}
	return out
}

func toVariantJSON(v Variant, cur money.Currency) variantJSON {
	vj := variantJSON{
		ID: v.ID, ProductID: v.ProductID, Title: v.Title(), Price: cur.Format(v.Price), SKU: v.SKU, Position: v.Position,
		InventoryPolicy: v.InventoryPolicy, FulfillmentService: "manual", InventoryManagement: v.InventoryManagement,
		Option1: v.Options[0], Option2: v.Options[1], Option3: v.Options[2], CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt,
		Taxable: v.Taxable, Grams: int64(v.Weight*gramsPer[v.WeightUnit] + 0.5), Weight: v.Weight, WeightUnit: v.WeightUnit,
		RequiresShipping: v.RequiresShipping, AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/ProductVariant/%d", v.ID),
		// An inventory item's id is its variant's (see modules/inventory).
		InventoryItemID: v.ID, InventoryQuantity: v.InventoryQuantity, OldInventoryQuantity: v.InventoryQuantity,
		ImageID: v.ImageID,
	}
	if v.Barcode != "" {
		vj.Barcode = &v.Barcode
	}
	if v.CompareAtPrice != nil {
		c := cur.Format(*v.CompareAtPrice)
		vj.CompareAtPrice = &c
	}
	return vj
}

type variantRequest struct {
	ID                  int64                       `json:"id"`
	Price               *apps.Decimal               `json:"price"`
	CompareAtPrice      apps.Optional[apps.Decimal] `json:"compare_at_price"`
	SKU                 *string                     `json:"sku"`
	Barcode             *string                     `json:"barcode"`
	Option1             *string                     `json:"option1"`
	Option2             *string                     `json:"option2"`
	Option3             *string                     `json:"option3"`
	Weight              *float64                    `json:"weight"`
	WeightUnit          *string                     `json:"weight_unit"`
	RequiresShipping    *bool                       `json:"requires_shipping"`
	Taxable             *bool                       `json:"taxable"`
	InventoryPolicy     *string                     `json:"inventory_policy"`
	InventoryManagement apps.Optional[string]       `json:"inventory_management"`
	ImageID             apps.Optional[int64]        `json:"image_id"`
}

type productRequest struct {
	Title       *string       `json:"title"`
	BodyHTML    *string       `json:"body_html"`
	Vendor      *string       `json:"vendor"`
	ProductType *string       `json:"product_type"`
	Handle      *string       `json:"handle"`
	Status      *string       `json:"status"`
	Tags        *apps.TagList `json:"tags"`
	Published   *bool         `json:"published"`
	Options     *[]struct {
		Name string `json:"name"`
	} `json:"options"`
	Variants *[]variantRequest `json:"variants"`
	Images   *[]imageRequest   `json:"images"`
}

// toProductInput converts a request, parsing prices in cur.
func (r productRequest) toProductInput(cur money.Currency) (ProductInput, error) {
	in := ProductInput{Title: r.Title, BodyHTML: r.BodyHTML, Vendor: r.Vendor, ProductType: r.ProductType,
		Handle: r.Handle, Status: r.Status, Published: r.Published}
	if r.Tags != nil {
		tags := []string(*r.Tags)
		in.Tags = &tags
	}
	if r.Options != nil {
		names := make([]string, len(*r.Options))
		for i, o := range *r.Options {
			names[i] = o.Name
		}
		in.Options = &names
	}
	f := errs.Fields{}
	if r.Images != nil {
		ims := make([]ImageInput, len(*r.Images))
		for i, im := range *r.Images {
			ims[i] = im.toImageInput(func(format string, args ...any) {
				f.Add("images", "image %d: "+format, append([]any{i + 1}, args...)...)
			})
		}
		in.Images = &ims
	}
	if r.Variants == nil {
		return in, f.Err()
	}
	vs := make([]VariantInput, len(*r.Variants))
	for i, v := range *r.Variants {
		vs[i] = v.toVariantInput(cur, func(format string, args ...any) {
			f.Add("variants", "variant %d: "+format, append([]any{i + 1}, args...)...)
		})
	}
	in.Variants = &vs
	return in, f.Err()
}

// toVariantInput converts one variant of a request, parsing prices in cur
// and reporting problems through bad.
func (v variantRequest) toVariantInput(cur money.Currency, bad func(format string, args ...any)) VariantInput {
	vi := VariantInput{ID: v.ID, SKU: v.SKU, Barcode: v.Barcode, Options: [MaxOptions]*string{v.Option1, v.Option2, v.Option3},
		Weight: v.Weight, WeightUnit: v.WeightUnit, RequiresShipping: v.RequiresShipping, Taxable: v.Taxable, InventoryPolicy: v.InventoryPolicy}
	if v.Price != nil {
		a, err := cur.Parse(string(*v.Price))
		if err != nil {
			bad("price %s", errs.MessageOf(err))
		}
		vi.Price = &a
	}
	if v.CompareAtPrice.Set {
		var p *money.Amount
		if !v.CompareAtPrice.Null && v.CompareAtPrice.Value != "" {
			a, err := cur.Parse(string(v.CompareAtPrice.Value))
			if err != nil {
				bad("compare_at_price %s", errs.MessageOf(err))
			}
			p = &a
		}
		vi.CompareAtPrice = &p
	}
	if v.InventoryManagement.Set {
		var m *string
		if !v.InventoryManagement.Null {
			m = &v.InventoryManagement.Value
		}
		vi.InventoryManagement = &m
	}
	if v.ImageID.Set {
		var id *int64
		if !v.ImageID.Null {
			id = &v.ImageID.Value
		}
		vi.ImageID = &id
	}
	return vi
}

// --- handlers ----------------------------------------------------------------

func productID(c *gin.Context) (int64, error) {
	file := c.Param("file")
	if !strings.HasSuffix(file, ".json") {
		return 0, ErrProductNotFound
	}
	return apps.FileID(file, ErrProductNotFound)
}

func (s *Service) getProduct(c *gin.Context) error {
	id, err := productID(c)
	if err != nil {
		return err
	}
	t := apps.PrincipalOf(c).Store
	p, err := s.Product(c.Request.Context(), t, id)
	if err != nil {
		return err
	}
	return s.writeProducts(c, http.StatusOK, "product", []Product{p})
}

func (s *Service) createProduct(c *gin.Context) error {
	t := apps.PrincipalOf(c).Store
	var req productRequest
	if err := apps.DecodeEnvelope(c, "product", &req); err != nil {
		return err
	}
	cur, err := s.Currency(c.Request.Context(), t)
	if err != nil {
		return err
	}
	in, err := req.toProductInput(cur)
	if err != nil {
		return err
	}
	p, err := s.CreateProduct(c.Request.Context(), t, in)
	if err != nil {
		return err
	}
	return s.writeProducts(c, http.StatusCreated, "product", []Product{p})
}

func (s *Service) updateProduct(c *gin.Context) error {
	id, err := productID(c)
	if err != nil {
		return err
	}
	t := apps.PrincipalOf(c).Store
	var req productRequest
	if err := apps.DecodeEnvelope(c, "product", &req); err != nil {
		return err
	}
	cur, err := s.Currency(c.Request.Context(), t)
	if err != nil {
		return err
	}
	in, err := req.toProductInput(cur)
	if err != nil {
		return err
	}
	p, err := s.UpdateProduct(c.Request.Context(), t, id, in)
	if err != nil {
		return err
	}
	return s.writeProducts(c, http.StatusOK, "product", []Product{p})
}

func (s *Service) deleteProduct(c *gin.Context) error {
	id, err := productID(c)
	if err != nil {
		return err
	}
	if err := s.DeleteProduct(c.Request.Context(), apps.PrincipalOf(c).Store, id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}

func (s *Service) countProducts(c *gin.Context) error {
	q, _, err := parseListQuery(c.Request.URL.Query(), true)
	if err != nil {
		return err
	}
	n, err := s.CountProducts(c.Request.Context(), apps.PrincipalOf(c).Store, q)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
	return nil
}

func (s *Service) listProducts(c *gin.Context) error {
	t := apps.PrincipalOf(c).Store
	q, paged, err := parseListQuery(c.Request.URL.Query(), false)
	if err != nil {
		return err
	}
	ps, more, err := s.Products(c.Request.Context(), t, q)
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		apps.SetLinks(c, q.filters(), q.Limit, ps[0].ID, ps[len(ps)-1].ID, q.Before != 0, more, paged)
	}
	return s.writeProducts(c, http.StatusOK, "products", ps)
}

// writeProducts writes products under key ("product" for one, "products"
// for a list), keeping only the fields the fields parameter names.
func (s *Service) writeProducts(c *gin.Context, status int, key string, ps []Product) error {
	t := apps.PrincipalOf(c).Store
	cur, err := s.Currency(c.Request.Context(), t)
	if err != nil {
		return err
	}
	fields := apps.SplitList(c.Query("fields"))
	items := make([]any, len(ps))
	for i, p := range ps {
		items[i] = apps.KeepFields(toProductJSON(p, cur, s.srcFor(t)), fields)
	}
	if key == "product" {
		c.JSON(status, gin.H{key: items[0]})
	} else {
		c.JSON(status, gin.H{key: items})
	}
	return nil
}

// --- list parameters and cursors ------------------------------------------------

// parseListQuery reads Shopify's list parameters; paged says whether the
// request continues from a page_info cursor.
//
// Errors: Malformed, naming the parameter.
func parseListQuery(v url.Values, counting bool) (Query, bool, error) {
	f := errs.Fields{}
	q := Query{Limit: apps.DefaultLimit}
	if !counting {
		q.Limit = apps.ParseLimit(f, v)
	}
	if v.Get("page_info") != "" && !counting {
		limit := q.Limit
		q.After, q.Before = apps.PageInfo(f, v, &q)
		q.Limit = limit
		if err := f.Err(); err != nil {
			return Query{}, false, apps.Malformed(err)
		}
		return q, true, nil
	}
	if s := v.Get("since_id"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			f.Add("since_id", "must be a product id")
		}
		q.After = n
	}
	for _, s := range apps.SplitList(v.Get("ids")) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			f.Add("ids", "must be comma-separated product ids")
			break
		}
		q.IDs = append(q.IDs, n)
	}
	if len(q.IDs) > apps.MaxLimit {
		f.Add("ids", "may list at most %d ids", apps.MaxLimit)
	}
	q.Handles = apps.ParseList(f, v, "handle")
	for _, st := range apps.SplitList(v.Get("status")) {
		if !slices.Contains([]string{StatusActive, StatusDraft, StatusArchived}, st) {
			f.Add("status", "must be active, draft or archived (comma-separated)")
			break
		}
		q.Statuses = append(q.Statuses, st)
	}
	q.Vendor, q.ProductType, q.Title = v.Get("vendor"), v.Get("product_type"), v.Get("title")
	for _, tp := range []struct {
		name string
		dst  **time.Time
	}{{"created_at_min", &q.CreatedMin}, {"created_at_max", &q.CreatedMax}, {"updated_at_min", &q.UpdatedMin}, {"updated_at_max", &q.UpdatedMax}} {
		if s := v.Get(tp.name); s != "" {
			tm, err := time.Parse(time.RFC3339, s)
			if err != nil {
				f.Add(tp.name, "must be an ISO 8601 time like 2025-01-31T15:04:05-05:00")
				continue
			}
			*tp.dst = &tm
		}
	}
	switch ps := v.Get("published_status"); ps {
	case "", "any", "published", "unpublished":
		q.Published = ps
	default:
		f.Add("published_status", "must be published, unpublished or any")
	}
	if err := f.Err(); err != nil {
		return Query{}, false, apps.Malformed(err)
	}
	return q, false, nil
}

// --- variants ----------------------------------------------------------------

func (s *Service) writeVariant(c *gin.Context, status int, v Variant) error {
	cur, err := s.Currency(c.Request.Context(), apps.PrincipalOf(c).Store)
	if err != nil {
		return err
	}
	c.JSON(status, gin.H{"variant": toVariantJSON(v, cur)})
	return nil
}

func (s *Service) listVariants(c *gin.Context) error {
	pid, err := apps.FileID(c.Param("file"), ErrProductNotFound)
	if err != nil {
		return err
	}
	q, paged, err := parseListQuery(c.Request.URL.Query(), false)
	if err != nil {
		return err
	}
	t := apps.PrincipalOf(c).Store
	p, err := s.Product(c.Request.Context(), t, pid)
	if err != nil {
		return err
	}
	cur, err := s.Currency(c.Request.Context(), t)
	if err != nil {
		return err
	}
	// A list pages in id order, as Shopify's lists do (since_id, page_info);
	// a product's own JSON shows its variants by position.
	vs := slices.Clone(p.Variants)
	slices.SortFunc(vs, func(a, b Variant) int { return cmp.Compare(a.ID, b.ID) })
	vs = slices.DeleteFunc(vs, func(v Variant) bool {
		return (q.After != 0 && v.ID <= q.After) || (q.Before != 0 && v.ID >= q.Before)
	})
	if q.Before != 0 { // the page and one more, nearest the cursor
		vs = vs[max(0, len(vs)-(q.Limit+1)):]
	} else {
		vs = vs[:min(len(vs), q.Limit+1)]
	}
	vs, more := pg.TrimPage(vs, q.Limit, q.Before != 0)
	if len(vs) > 0 {
		apps.SetLinks(c, q.filters(), q.Limit, vs[0].ID, vs[len(vs)-1].ID, q.Before != 0, more, paged)
	}
	out := make([]variantJSON, len(vs))
	for i, v := range vs {
		out[i] = toVariantJSON(v, cur)
	}
	c.JSON(http.StatusOK, gin.H{"variants": out})
	return nil
}

func (s *Service) countVariants(c *gin.Context) error {
	pid, err := apps.FileID(c.Param("file"), ErrProductNotFound)
	if err != nil {
		return err
	}
	p, err := s.Product(c.Request.Context(), apps.PrincipalOf(c).Store, pid)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"count": len(p.Variants)})
	return nil
}

// decodeVariant reads {"variant": {...}} in the store's currency.
func (s *Service) decodeVariant(c *gin.Context) (VariantInput, error) {
	var req variantRequest
	if err := apps.DecodeEnvelope(c, "variant", &req); err != nil {
		return VariantInput{}, err
	}
	cur, err := s.Currency(c.Request.Context(), apps.PrincipalOf(c).Store)
	if err != nil {
		return VariantInput{}, err
	}
	f := errs.Fields{}
	vi := req.toVariantInput(cur, func(format string, args ...any) { f.Add("variant", format, args...) })
	return vi, f.Err()
}

func (s *Service) createVariant(c *gin.Context) error {
	pid, err := apps.FileID(c.Param("file"), ErrProductNotFound)
	if err != nil {
		return err
	}
	vi, err := s.decodeVariant(c)
	if err != nil {
		return err
	}
	v, err := s.CreateVariant(c.Request.Context(), apps.PrincipalOf(c).Store, pid, vi)
	if err != nil {
		return err
	}
	return s.writeVariant(c, http.StatusCreated, v)
}

func (s *Service) getVariant(c *gin.Context) error {
	id, err := apps.FileID(c.Param("vfile"), ErrVariantNotFound)
	if err != nil || !strings.HasSuffix(c.Param("vfile"), ".json") {
		return ErrVariantNotFound
	}
	v, err := s.Variant(c.Request.Context(), apps.PrincipalOf(c).Store, id)
	if err != nil {
		return err
	}
	return s.writeVariant(c, http.StatusOK, v)
}

func (s *Service) updateVariant(c *gin.Context) error {
	id, err := apps.FileID(c.Param("vfile"), ErrVariantNotFound)
	if err != nil {
		return err
	}
	vi, err := s.decodeVariant(c)
	if err != nil {
		return err
	}
	v, err := s.UpdateVariant(c.Request.Context(), apps.PrincipalOf(c).Store, id, vi)
	if err != nil {
		return err
	}
	return s.writeVariant(c, http.StatusOK, v)
}

func (s *Service) deleteVariant(c *gin.Context) error {
	pid, err := apps.FileID(c.Param("file"), ErrProductNotFound)
	if err != nil {
		return err
	}
	id, err := apps.FileID(c.Param("vfile"), ErrVariantNotFound)
	if err != nil {
		return err
	}
	if err := s.DeleteVariant(c.Request.Context(), apps.PrincipalOf(c).Store, pid, id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}
