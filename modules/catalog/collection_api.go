package catalog

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
)

// collectionRoutes mounts custom collections and collects; both read and
// write the products scope, as on Shopify.
func (s *Service) collectionRoutes(r gin.IRouter, g *apps.Gate) {
	read, write := g.Require("products", rbac.Read), g.Require("products", rbac.Write)
	r.GET("/custom_collections.json", read, g.Handle(s.listCollections))
	r.POST("/custom_collections.json", write, g.Handle(s.createCollection))
	r.GET("/custom_collections/:file", read, g.Handle(func(c *gin.Context) error {
		if c.Param("file") == "count.json" {
			return s.countCollections(c)
		}
		return s.getCollection(c)
	}))
	r.PUT("/custom_collections/:file", write, g.Handle(s.updateCollection))
	r.DELETE("/custom_collections/:file", write, g.Handle(s.deleteCollection))

	r.GET("/collects.json", read, g.Handle(s.listCollects))
	r.POST("/collects.json", write, g.Handle(s.createCollect))
	r.GET("/collects/:file", read, g.Handle(func(c *gin.Context) error {
		if c.Param("file") == "count.json" {
			return s.countCollects(c)
		}
		return s.getCollect(c)
	}))
	r.DELETE("/collects/:file", write, g.Handle(s.deleteCollect))
}

type collectionJSON struct {
	ID                int64      `json:"id"`
	Handle            string     `json:"handle"`
	Title             string     `json:"title"`
	UpdatedAt         time.Time  `json:"updated_at"`
	BodyHTML          string     `json:"body_html"`
	PublishedAt       *time.Time `json:"published_at"`
	SortOrder         string     `json:"sort_order"`
	TemplateSuffix    *string    `json:"template_suffix"`
	PublishedScope    string     `json:"published_scope"`
	AdminGraphqlAPIID string     `json:"admin_graphql_api_id"`
	Image             any        `json:"image"`
}

func toCollectionJSON(c Collection) collectionJSON {
	return collectionJSON{ID: c.ID, Handle: c.Handle, Title: c.Title, UpdatedAt: c.UpdatedAt, BodyHTML: c.BodyHTML,
		PublishedAt: c.PublishedAt, SortOrder: c.SortOrder, PublishedScope: "web",
		AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/Collection/%d", c.ID)}
}

type collectJSON struct {
	ID           int64     `json:"id"`
	CollectionID int64     `json:"collection_id"`
	ProductID    int64     `json:"product_id"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	Position     int       `json:"position"`
	SortValue    string    `json:"sort_value"`
}

func toCollectJSON(c Collect) collectJSON {
	return collectJSON{ID: c.ID, CollectionID: c.CollectionID, ProductID: c.ProductID, CreatedAt: c.CreatedAt,
		UpdatedAt: c.UpdatedAt, Position: c.Position, SortValue: fmt.Sprintf("%010d", c.Position)}
}

type collectionRequest struct {
	Title     *string `json:"title"`
	BodyHTML  *string `json:"body_html"`
	Handle    *string `json:"handle"`
	SortOrder *string `json:"sort_order"`
	Published *bool   `json:"published"`
	Collects  []struct {
		ProductID int64 `json:"product_id"`
	} `json:"collects"`
}

func (r collectionRequest) toInput() CollectionInput {
	in := CollectionInput{Title: r.Title, BodyHTML: r.BodyHTML, Handle: r.Handle, SortOrder: r.SortOrder, Published: r.Published}
	for _, c := range r.Collects {
		in.Products = append(in.Products, c.ProductID)
	}
	return in
}

func collectionID(c *gin.Context) (int64, error) {
	if !strings.HasSuffix(c.Param("file"), ".json") {
		return 0, ErrCollectionNotFound
	}
	return apps.FileID(c.Param("file"), ErrCollectionNotFound)
}

// parseCollectionQuery reads the list parameters of custom_collections.json.
func parseCollectionQuery(c *gin.Context, counting bool) (CollectionQuery, bool, error) {
	v := c.Request.URL.Query()
	f := errs.Fields{}
	q := CollectionQuery{Limit: apps.ParseLimit(f, v)}
	if v.Get("page_info") != "" && !counting {
		q.After, q.Before = apps.PageInfo(f, v, &q)
		q.Limit = apps.ParseLimit(f, v)
		if err := f.Err(); err != nil {
			return CollectionQuery{}, false, apps.Malformed(err)
		}
		return q, true, nil
	}
	idParam := func(name string) int64 {
		s := v.Get(name)
		if s == "" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			f.Add(name, "must be an id")
		}
		return n
	}
	q.After = idParam("since_id")
	q.ProductID = idParam("product_id")
	for _, s := range apps.ParseList(f, v, "ids") {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			f.Add("ids", "must be comma-separated collection ids")
			break
		}
		q.IDs = append(q.IDs, n)
	}
	q.Handles, q.Title = apps.ParseList(f, v, "handle"), v.Get("title")
	switch ps := v.Get("published_status"); ps {
	case "", "any", "published", "unpublished":
		q.Published = ps
	default:
		f.Add("published_status", "must be published, unpublished or any")
	}
	if err := f.Err(); err != nil {
		return CollectionQuery{}, false, apps.Malformed(err)
	}
	return q, false, nil
}

func (s *Service) listCollections(c *gin.Context) error {
	q, paged, err := parseCollectionQuery(c, false)
	if err != nil {
		return err
	}
	cs, more, err := s.Collections(c.Request.Context(), apps.PrincipalOf(c).Store, q)
	if err != nil {
		return err
	}
	if len(cs) > 0 {
		f := q
		f.Limit, f.After, f.Before = 0, 0, 0
		apps.SetLinks(c, f, q.Limit, cs[0].ID, cs[len(cs)-1].ID, q.Before != 0, more, paged)
	}
	fields := apps.SplitList(c.Query("fields"))
	out := make([]any, len(cs))
	for i, col := range cs {
		out[i] = apps.KeepFields(toCollectionJSON(col), fields)
	}
	c.JSON(http.StatusOK, gin.H{"custom_collections": out})
	return nil
}

func (s *Service) countCollections(c *gin.Context) error {
	q, _, err := parseCollectionQuery(c, true)
	if err != nil {
		return err
	}
	n, err := s.CountCollections(c.Request.Context(), apps.PrincipalOf(c).Store, q)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
	return nil
}

func (s *Service) getCollection(c *gin.Context) error {
	id, err := collectionID(c)
	if err != nil {
		return err
	}
	col, err := s.Collection(c.Request.Context(), apps.PrincipalOf(c).Store, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"custom_collection": apps.KeepFields(toCollectionJSON(col), apps.SplitList(c.Query("fields")))})
	return nil
}

func (s *Service) createCollection(c *gin.Context) error {
	var req collectionRequest
	if err := apps.DecodeEnvelope(c, "custom_collection", &req); err != nil {
		return err
	}
	col, err := s.CreateCollection(c.Request.Context(), apps.PrincipalOf(c).Store, req.toInput())
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"custom_collection": toCollectionJSON(col)})
	return nil
}

func (s *Service) updateCollection(c *gin.Context) error {
	id, err := collectionID(c)
	if err != nil {
		return err
	}
	var req collectionRequest
	if err := apps.DecodeEnvelope(c, "custom_collection", &req); err != nil {
		return err
	}
	if len(req.Collects) > 0 {
		return &errs.Error{Kind: errs.Invalid, Message: "change a collection's products through collects.json",
			Fields: map[string][]string{"collects": {"can only be given when creating a collection; use collects.json"}}}
	}
	col, err := s.UpdateCollection(c.Request.Context(), apps.PrincipalOf(c).Store, id, req.toInput())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"custom_collection": toCollectionJSON(col)})
	return nil
}

func (s *Service) deleteCollection(c *gin.Context) error {
	id, err := collectionID(c)
	if err != nil {
		return err
	}
	if err := s.DeleteCollection(c.Request.Context(), apps.PrincipalOf(c).Store, id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}

func parseCollectQuery(c *gin.Context) (CollectQuery, error) {
	v := c.Request.URL.Query()
	f := errs.Fields{}
	q := CollectQuery{Limit: apps.ParseLimit(f, v)}
	for name, dst := range map[string]*int64{"since_id": &q.After, "collection_id": &q.CollectionID, "product_id": &q.ProductID} {
		if s := v.Get(name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				f.Add(name, "must be an id")
			}
			*dst = n
		}
	}
	if err := f.Err(); err != nil {
		return CollectQuery{}, apps.Malformed(err)
	}
	return q, nil
}

func (s *Service) listCollects(c *gin.Context) error {
	q, err := parseCollectQuery(c)
	if err != nil {
		return err
	}
	cs, err := s.Collects(c.Request.Context(), apps.PrincipalOf(c).Store, q)
	if err != nil {
		return err
	}
	out := make([]collectJSON, len(cs))
	for i, col := range cs {
		out[i] = toCollectJSON(col)
	}
	c.JSON(http.StatusOK, gin.H{"collects": out})
	return nil
}

func (s *Service) countCollects(c *gin.Context) error {
	q, err := parseCollectQuery(c)
	if err != nil {
		return err
	}
	n, err := s.CountCollects(c.Request.Context(), apps.PrincipalOf(c).Store, q)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
	return nil
}

func (s *Service) getCollect(c *gin.Context) error {
	if !strings.HasSuffix(c.Param("file"), ".json") {
		return ErrCollectNotFound
	}
	id, err := apps.FileID(c.Param("file"), ErrCollectNotFound)
	if err != nil {
		return err
	}
	col, err := s.Collect(c.Request.Context(), apps.PrincipalOf(c).Store, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"collect": toCollectJSON(col)})
	return nil
}

type collectRequest struct {
	CollectionID int64 `json:"collection_id"`
	ProductID    int64 `json:"product_id"`
}

// validate refuses a collect that does not name a collection and a product.
func (r collectRequest) validate() error {
	f := errs.Fields{}
	if r.CollectionID <= 0 {
		f.Add("collection_id", "can't be blank")
	}
	if r.ProductID <= 0 {
		f.Add("product_id", "can't be blank")
	}
	return f.Err()
}

func (s *Service) createCollect(c *gin.Context) error {
	var req collectRequest
	if err := apps.DecodeEnvelope(c, "collect", &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	col, err := s.AddToCollection(c.Request.Context(), apps.PrincipalOf(c).Store, req.CollectionID, req.ProductID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"collect": toCollectJSON(col)})
	return nil
}

func (s *Service) deleteCollect(c *gin.Context) error {
	id, err := apps.FileID(c.Param("file"), ErrCollectNotFound)
	if err != nil {
		return err
	}
	if err := s.RemoveCollect(c.Request.Context(), apps.PrincipalOf(c).Store, id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}
