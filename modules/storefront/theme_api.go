package storefront

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/tenant"
)

// AdminRoutes mounts Shopify's themes.json and themes/{id}/assets.json.
func (s *Themes) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	read, write := g.Require("themes", rbac.Read), g.Require("themes", rbac.Write)
	r.GET("/themes.json", read, g.Handle(s.listThemes))
	r.POST("/themes.json", write, g.Handle(s.createTheme))
	// gin wants one parameter name per path segment: :file is "<id>.json"
	// here and "<id>" under it.
	r.GET("/themes/:file", read, g.Handle(s.getTheme))
	r.PUT("/themes/:file", write, g.Handle(s.updateTheme))
	r.DELETE("/themes/:file", write, g.Handle(s.deleteTheme))
	r.GET("/themes/:file/assets.json", read, g.Handle(s.getAssets))
	r.PUT("/themes/:file/assets.json", write, g.Handle(s.putAsset))
	r.DELETE("/themes/:file/assets.json", write, g.Handle(s.deleteAsset))
}

// --- JSON shapes -------------------------------------------------------------

type themeJSON struct {
	ID                int64     `json:"id"`
	Name              string    `json:"name"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	Role              string    `json:"role"`
	ThemeStoreID      *int64    `json:"theme_store_id"`
	Previewable       bool      `json:"previewable"`
	Processing        bool      `json:"processing"`
	AdminGraphqlAPIID string    `json:"admin_graphql_api_id"`
	// Storefleet's own: the built-in theme it is based on, and a link that
	// shows it on the storefront for an hour.
	Builtin    *string `json:"builtin"`
	PreviewURL string  `json:"preview_url"`
}

func (s *Themes) toThemeJSON(t *tenant.Tenant, th Theme) themeJSON {
	j := themeJSON{ID: th.ID, Name: th.Name, CreatedAt: th.CreatedAt, UpdatedAt: th.UpdatedAt, Role: th.Role,
		Previewable: true, AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/OnlineStoreTheme/%d", th.ID),
		PreviewURL: s.PreviewURL(t, th.ID)}
	if th.Builtin != "" {
		j.Builtin = &th.Builtin
	}
	return j
}

type assetJSON struct {
	Key         string    `json:"key"`
	PublicURL   *string   `json:"public_url"`
	Value       *string   `json:"value,omitempty"`
	Attachment  *string   `json:"attachment,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	ContentType string    `json:"content_type"`
	Size        int       `json:"size"`
	Checksum    string    `json:"checksum"`
	ThemeID     int64     `json:"theme_id"`
}

// contentTypes are the types of theme files by extension; the rest are
// application/octet-stream.
var contentTypes = map[string]string{
	".liquid": "text/x-liquid", ".json": "application/json", ".css": "text/css", ".js": "application/javascript",
	".mjs": "application/javascript", ".map": "application/json", ".txt": "text/plain", ".svg": "image/svg+xml",
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
	".avif": "image/avif", ".ico": "image/x-icon", ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf",
	".otf": "font/otf", ".eot": "application/vnd.ms-fontobject",
}

func contentType(key string) string {
	if ct, ok := contentTypes[strings.ToLower(path.Ext(key))]; ok {
		return ct
	}
	return "application/octet-stream"
}

// isText reports whether a file is shown as value (text) rather than as
// attachment (base64), as Shopify does.
func isText(key string, b []byte) bool {
	ct := contentType(key)
	textual := strings.HasPrefix(ct, "text/") || ct == "application/json" || ct == "application/javascript" || ct == "image/svg+xml"
	return textual && utf8.Valid(b)
}

func (s *Themes) toAssetJSON(t *tenant.Tenant, th Theme, a Asset, withContent bool) assetJSON {
	j := assetJSON{Key: a.Key, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, ContentType: contentType(a.Key),
		Size: a.Size, Checksum: a.Checksum, ThemeID: th.ID}
	if u := s.AssetURL(t, th, a.Key); u != "" {
		j.PublicURL = &u
	}
	if withContent {
		if isText(a.Key, a.Value) {
			v := string(a.Value)
			j.Value = &v
		} else {
			v := base64.StdEncoding.EncodeToString(a.Value)
			j.Attachment = &v
		}
	}
	return j
}

// themeRequest is a theme as partners send it. Src is Shopify's: the URL of
// a zip archive; Builtin is ours: the name of a built-in theme.
type themeRequest struct {
	Name    *string `json:"name"`
	Role    *string `json:"role"`
	Src     *string `json:"src"`
	Builtin *string `json:"builtin"`
}

func (r themeRequest) toNewTheme() NewTheme {
	return NewTheme{Name: deref(r.Name), Role: deref(r.Role), Src: deref(r.Src), Builtin: deref(r.Builtin)}
}

type assetRequest struct {
	Key        string  `json:"key"`
	Value      *string `json:"value"`
	Attachment *string `json:"attachment"`
	SourceKey  *string `json:"source_key"`
	Src        *string `json:"src"`
}

func (r assetRequest) toAssetWrite() (AssetWrite, error) {
	w := AssetWrite{Key: strings.TrimSpace(r.Key), SourceKey: deref(r.SourceKey), Src: deref(r.Src)}
	if r.Value != nil && r.Attachment != nil {
		return AssetWrite{}, &errs.Error{Kind: errs.Invalid, Message: "asset needs a value or an attachment, not both",
			Fields: map[string][]string{"asset": {"needs a value or an attachment, not both"}}}
	}
	if r.Value != nil {
		w.Value = []byte(*r.Value)
	}
	if r.Attachment != nil {
		b, err := base64.StdEncoding.DecodeString(*r.Attachment)
		if err != nil {
			return AssetWrite{}, &errs.Error{Kind: errs.Invalid, Message: "attachment is not valid base64",
				Fields: map[string][]string{"attachment": {"is not valid base64"}}}
		}
		w.Value = b
	}
	return w, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// --- handlers ----------------------------------------------------------------

func themeID(c *gin.Context, suffix string) (int64, error) {
	f := c.Param("file")
	if suffix != "" && !strings.HasSuffix(f, suffix) {
		return 0, ErrThemeNotFound
	}
	return apps.FileID(strings.TrimSuffix(f, suffix), ErrThemeNotFound)
}

func (s *Themes) listThemes(c *gin.Context) error {
	t := apps.PrincipalOf(c).Store
	list, err := s.Themes(c.Request.Context(), t)
	if err != nil {
		return err
	}
	out := make([]themeJSON, len(list))
	for i, th := range list {
		out[i] = s.toThemeJSON(t, th)
	}
	c.JSON(http.StatusOK, gin.H{"themes": out})
	return nil
}

func (s *Themes) getTheme(c *gin.Context) error {
	id, err := themeID(c, ".json")
	if err != nil {
		return err
	}
	t := apps.PrincipalOf(c).Store
	th, err := s.Theme(c.Request.Context(), t, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"theme": s.toThemeJSON(t, th)})
	return nil
}

func (s *Themes) createTheme(c *gin.Context) error {
	var req themeRequest
	if err := apps.DecodeEnvelope(c, "theme", &req); err != nil {
		return err
	}
	t := apps.PrincipalOf(c).Store
	th, err := s.CreateTheme(c.Request.Context(), t, req.toNewTheme())
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"theme": s.toThemeJSON(t, th)})
	return nil
}

func (s *Themes) updateTheme(c *gin.Context) error {
	id, err := themeID(c, ".json")
	if err != nil {
		return err
	}
	var req themeRequest
	if err := apps.DecodeEnvelope(c, "theme", &req); err != nil {
		return err
	}
	if req.Src != nil || req.Builtin != nil {
		return &errs.Error{Kind: errs.Invalid, Message: "a theme's files change through its assets, not src",
			Fields: map[string][]string{"src": {"cannot be changed; upload a new theme, or change files through themes/{id}/assets.json"}}}
	}
	t := apps.PrincipalOf(c).Store
	th, err := s.UpdateTheme(c.Request.Context(), t, id, ThemeUpdate{Name: req.Name, Role: req.Role})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"theme": s.toThemeJSON(t, th)})
	return nil
}

func (s *Themes) deleteTheme(c *gin.Context) error {
	id, err := themeID(c, ".json")
	if err != nil {
		return err
	}
	t := apps.PrincipalOf(c).Store
	th, err := s.DeleteTheme(c.Request.Context(), t, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"theme": s.toThemeJSON(t, th)})
	return nil
}

// assetKey is the asset[key] parameter Shopify's clients send.
func assetKey(c *gin.Context) string { return c.Query("asset[key]") }

// getAssets lists a theme's files, or with asset[key] returns one with its
// content.
func (s *Themes) getAssets(c *gin.Context) error {
	id, err := themeID(c, "")
	if err != nil {
		return err
	}
	t := apps.PrincipalOf(c).Store
	if key := assetKey(c); key != "" {
		th, a, err := s.Asset(c.Request.Context(), t, id, key)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"asset": s.toAssetJSON(t, th, a, true)})
		return nil
	}
	th, list, err := s.Assets(c.Request.Context(), t, id)
	if err != nil {
		return err
	}
	out := make([]assetJSON, len(list))
	for i, a := range list {
		out[i] = s.toAssetJSON(t, th, a, false)
	}
	c.JSON(http.StatusOK, gin.H{"assets": out})
	return nil
}

func (s *Themes) putAsset(c *gin.Context) error {
	id, err := themeID(c, "")
	if err != nil {
		return err
	}
	var req assetRequest
	if err := apps.DecodeEnvelope(c, "asset", &req); err != nil {
		return err
	}
	w, err := req.toAssetWrite()
	if err != nil {
		return err
	}
	t := apps.PrincipalOf(c).Store
	th, a, err := s.PutAsset(c.Request.Context(), t, id, w)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"asset": s.toAssetJSON(t, th, a, false)})
	return nil
}

func (s *Themes) deleteAsset(c *gin.Context) error {
	id, err := themeID(c, "")
	if err != nil {
		return err
	}
	key := assetKey(c)
	if key == "" {
		return &errs.Error{Kind: errs.Malformed, Message: "asset[key] is required",
			Fields: map[string][]string{"asset[key]": {"is required: the key of the file to delete"}}}
	}
	t := apps.PrincipalOf(c).Store
	if _, err := s.DeleteAsset(c.Request.Context(), t, id, key); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"message": key + " was successfully deleted"})
	return nil
}
