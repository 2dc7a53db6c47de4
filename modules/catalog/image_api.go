package catalog

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/tenant"
)

// imageRoutes mounts products/{id}/images.json and its members.
func (s *Service) imageRoutes(r gin.IRouter, g *apps.Gate) {
	read, write := g.Require("products", rbac.Read), g.Require("products", rbac.Write)
	r.GET("/products/:file/images.json", read, g.Handle(s.listImages))
	r.POST("/products/:file/images.json", write, g.Handle(s.createImage))
	r.GET("/products/:file/images/:ifile", read, g.Handle(func(c *gin.Context) error {
		if c.Param("ifile") == "count.json" {
			return s.countImages(c)
		}
		return s.getImage(c)
	}))
	r.PUT("/products/:file/images/:ifile", write, g.Handle(s.updateImage))
	r.DELETE("/products/:file/images/:ifile", write, g.Handle(s.deleteImage))
}

type imageJSON struct {
	ID                int64     `json:"id"`
	Alt               *string   `json:"alt"`
	Position          int       `json:"position"`
	ProductID         int64     `json:"product_id"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	AdminGraphqlAPIID string    `json:"admin_graphql_api_id"`
	Width             int       `json:"width"`
	Height            int       `json:"height"`
	Src               string    `json:"src"`
	VariantIDs        []int64   `json:"variant_ids"`
}

func toImageJSON(im Image, src func(file string) string) imageJSON {
	return imageJSON{ID: im.ID, Alt: im.Alt, Position: im.Position, ProductID: im.ProductID,
		CreatedAt: im.CreatedAt, UpdatedAt: im.UpdatedAt, AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/ProductImage/%d", im.ID),
		Width: im.Width, Height: im.Height, Src: src(im.File), VariantIDs: im.VariantIDs}
}

// srcFor returns the function that turns store t's file names into URLs.
func (s *Service) srcFor(t *tenant.Tenant) func(string) string {
	return func(file string) string { return s.ImageURL(t, file) }
}

// imageRequest is an image as partners send it: src or a base64
// attachment (filename is accepted and ignored: the name we store is the
// content's hash, the extension its real format's).
type imageRequest struct {
	ID         int64                 `json:"id"`
	Src        *string               `json:"src"`
	Attachment *string               `json:"attachment"`
	Filename   *string               `json:"filename"`
	Alt        apps.Optional[string] `json:"alt"`
	Position   *int                  `json:"position"`
	VariantIDs *[]int64              `json:"variant_ids"`
}

// toImageInput converts a request, reporting problems through bad.
func (r imageRequest) toImageInput(bad func(format string, args ...any)) ImageInput {
	in := ImageInput{ID: r.ID, Position: r.Position, VariantIDs: r.VariantIDs}
	if r.Src != nil {
		in.Src = strings.TrimSpace(*r.Src)
	}
	if r.Attachment != nil {
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(*r.Attachment))
		switch {
		case err != nil:
			bad("attachment is not valid base64")
		case len(data) == 0:
			bad("attachment is empty")
		}
		in.Attachment = data
	}
	if r.Alt.Set {
		alt := r.Alt.Value // null clears, as an empty string does
		in.Alt = &alt
	}
	return in
}

func imageID(c *gin.Context) (int64, error) {
	if !strings.HasSuffix(c.Param("ifile"), ".json") {
		return 0, ErrImageNotFound
	}
	return apps.FileID(c.Param("ifile"), ErrImageNotFound)
}

func (s *Service) decodeImage(c *gin.Context) (ImageInput, error) {
	var req imageRequest
	if err := apps.DecodeEnvelope(c, "image", &req); err != nil {
		return ImageInput{}, err
	}
	f := errs.Fields{}
	in := req.toImageInput(func(format string, args ...any) { f.Add("image", format, args...) })
	return in, f.Err()
}

func (s *Service) writeImage(c *gin.Context, status int, im Image) error {
	out := apps.KeepFields(toImageJSON(im, s.srcFor(apps.PrincipalOf(c).Store)), apps.SplitList(c.Query("fields")))
	c.JSON(status, gin.H{"image": out})
	return nil
}

func (s *Service) listImages(c *gin.Context) error {
	pid, err := apps.FileID(c.Param("file"), ErrProductNotFound)
	if err != nil {
		return err
	}
	var since int64
	if v := c.Query("since_id"); v != "" {
		if since, err = strconv.ParseInt(v, 10, 64); err != nil || since < 0 {
			return apps.Malformed(errs.Fields{"since_id": {"must be an image id"}}.Err())
		}
	}
	t := apps.PrincipalOf(c).Store
	imgs, err := s.Images(c.Request.Context(), t, pid)
	if err != nil {
		return err
	}
	if since > 0 { // since_id lists in id order, as Shopify's lists do
		imgs = slices.DeleteFunc(imgs, func(im Image) bool { return im.ID <= since })
		slices.SortFunc(imgs, func(a, b Image) int { return int(a.ID - b.ID) })
	}
	fields := apps.SplitList(c.Query("fields"))
	out := make([]any, len(imgs))
	for i, im := range imgs {
		out[i] = apps.KeepFields(toImageJSON(im, s.srcFor(t)), fields)
	}
	c.JSON(http.StatusOK, gin.H{"images": out})
	return nil
}

func (s *Service) countImages(c *gin.Context) error {
	pid, err := apps.FileID(c.Param("file"), ErrProductNotFound)
	if err != nil {
		return err
	}
	n, err := s.CountImages(c.Request.Context(), apps.PrincipalOf(c).Store, pid)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
	return nil
}

func (s *Service) getImage(c *gin.Context) error {
	pid, err := apps.FileID(c.Param("file"), ErrProductNotFound)
	if err != nil {
		return err
	}
	id, err := imageID(c)
	if err != nil {
		return err
	}
	im, err := s.Image(c.Request.Context(), apps.PrincipalOf(c).Store, pid, id)
	if err != nil {
		return err
	}
	return s.writeImage(c, http.StatusOK, im)
}

func (s *Service) createImage(c *gin.Context) error {
	pid, err := apps.FileID(c.Param("file"), ErrProductNotFound)
	if err != nil {
		return err
	}
	in, err := s.decodeImage(c)
	if err != nil {
		return err
	}
	im, err := s.CreateImage(c.Request.Context(), apps.PrincipalOf(c).Store, pid, in)
	if err != nil {
		return err
	}
	return s.writeImage(c, http.StatusOK, im) // Shopify answers 200 here
}

func (s *Service) updateImage(c *gin.Context) error {
	pid, err := apps.FileID(c.Param("file"), ErrProductNotFound)
	if err != nil {
		return err
	}
	id, err := imageID(c)
	if err != nil {
		return err
	}
	in, err := s.decodeImage(c)
	if err != nil {
		return err
	}
	im, err := s.UpdateImage(c.Request.Context(), apps.PrincipalOf(c).Store, pid, id, in)
	if err != nil {
		return err
	}
	return s.writeImage(c, http.StatusOK, im)
}

func (s *Service) deleteImage(c *gin.Context) error {
	pid, err := apps.FileID(c.Param("file"), ErrProductNotFound)
	if err != nil {
		return err
	}
	id, err := imageID(c)
	if err != nil {
		return err
	}
	if err := s.DeleteImage(c.Request.Context(), apps.PrincipalOf(c).Store, pid, id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}
