package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/storefront"
	"github.com/storefleet/storefleet/themes"
)

// The Online store screens: a store's themes (publish, preview, add a
// built-in one or upload a zip, delete), the theme settings form with a
// live preview, and the code editor. Every change goes through
// storefront.Themes, the service behind themes.json and assets.json, so a
// change that breaks a theme is refused here exactly as there, with the
// engine's file:line messages.

// themeUploadLimit bounds an uploaded theme archive: what the Admin API
// accepts when it downloads one from src.
const themeUploadLimit = themes.MaxThemeBytes + 1<<20

// Theme files the editor treats specially.
const (
	themeSettingsSchemaKey = "config/settings_schema.json"
	themeSettingsDataKey   = "config/settings_data.json"
)

// themeFolders are the editor's groups of files, in the order Shopify's
// editor shows them.
var themeFolders = []string{"layout", "templates", "sections", "snippets", "assets", "config", "locales"}

// themeDone are the notices shown after an action, by ?done=.
var themeDone = map[string]string{
	"added":     "The theme was added. Preview it, customise it, and publish it when it is ready.",
	"uploaded":  "The theme was uploaded. Preview it, customise it, and publish it when it is ready.",
	"published": "The theme is published: shoppers see it now.",
	"deleted":   "The theme was deleted.",
	"saved":     "Saved.",
	"created":   "The file was created.",
	"removed":   "The file was deleted.",
}

// themeCard is a theme as the screens show it.
type themeCard struct {
	ID                 int64
	Name, Role         string
	Builtin            string
	Updated            string
	PreviewURL         string
	Published          bool
	SettingsURL, Files string
}

// themeBuiltin is a built-in theme that can be added.
type themeBuiltin struct {
	Name, Title, Description string
}

// themesPage is the themes list.
type themesPage struct {
	Main         *themeCard
	Others       []themeCard
	Builtins     []themeBuiltin
	StoreURL     string
	CanWrite     bool
	Flash        string
	Problems     []string
	Count, Max   int
	UploadMB     int
	Name, Choice string // the add form's values, kept after an error
}

func (d *Dashboard) themeCard(m Member, th storefront.Theme) themeCard {
	base := fmt.Sprintf("/store/%s/themes/%d", m.Store.Slug, th.ID)
	return themeCard{ID: th.ID, Name: th.Name, Role: th.Role, Builtin: th.Builtin, Updated: th.UpdatedAt.Format("2 Jan 2006 15:04"),
		PreviewURL: d.cfg.Themes.PreviewURL(m.Store, th.ID), Published: th.Role == storefront.RoleMain,
		SettingsURL: base + "/settings", Files: base + "/files"}
}

// themeProblems lists what is wrong in err for the merchant: each field's
// messages (the theme's own problems, file:line: message, as they are),
// or its message.
func themeProblems(err error) []string {
	fields := errs.FieldsOf(err)
	if len(fields) == 0 {
		return []string{errs.MessageOf(err)}
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		for _, msg := range fields[k] {
			if themeProblemStandsAlone(msg) {
				out = append(out, msg)
			} else {
				out = append(out, k+" "+msg)
			}
		}
	}
	return out
}

// themeProblemStandsAlone says whether a field's message reads whole: a
// sentence of its own, or a theme problem that names its file
// ("templates/page.liquid:3: …"); others read after the field's name.
func themeProblemStandsAlone(msg string) bool {
	if r, _ := utf8.DecodeRuneInString(msg); unicode.IsUpper(r) {
		return true
	}
	for _, f := range themeFolders {
		if strings.HasPrefix(msg, f+"/") {
			return true
		}
	}
	return false
}

// themeIDParam is the :id of a theme page; ok is false for one that
// cannot be.
func themeIDParam(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	return id, err == nil && id > 0
}

// themesList shows the published theme, the others, and the ways to add
// one.
func (d *Dashboard) themesList(c *gin.Context) {
	d.showThemes(c, http.StatusOK, themesPage{}, nil)
}

// showThemes renders the themes list with status; form carries the add
// form's values sent back with formErr.
func (d *Dashboard) showThemes(c *gin.Context, status int, form themesPage, formErr error) {
	m := memberOf(c)
	list, err := d.cfg.Themes.Themes(c.Request.Context(), m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	canWrite, err := d.Allowed(m, "themes", rbac.Write)
	if err != nil {
		d.failErr(c, err)
		return
	}
	page := form
	page.CanWrite, page.StoreURL, page.Count, page.Max, page.UploadMB = canWrite, d.cfg.URLs.Store(m.Store.Slug), len(list), storefront.MaxThemes, themeUploadLimit>>20
	for _, th := range list {
		card := d.themeCard(m, th)
		if card.Published && page.Main == nil {
			page.Main = &card
			continue
		}
		page.Others = append(page.Others, card)
	}
	for _, b := range themes.Builtin() {
		page.Builtins = append(page.Builtins, themeBuiltin{Name: b.Name, Title: strings.ToUpper(b.Name[:1]) + b.Name[1:], Description: b.Description})
	}
	if page.Choice == "" && len(page.Builtins) > 0 {
		page.Choice = page.Builtins[0].Name
	}
	if msg, ok := themeDone[c.Query("done")]; ok && formErr == nil {
		page.Flash = msg
	}
	if formErr != nil {
		page.Problems = themeProblems(formErr)
	}
	d.render(c, status, "themes", "Online store", page)
}

// themesDone answers a post on the themes list: back to the list with a
// notice, or the list again with what is wrong (422).
func (d *Dashboard) themesDone(c *gin.Context, done string, form themesPage, err error) {
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/themes?done=%s", memberOf(c).Store.Slug, done))
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Conflict), errs.Is(err, errs.Malformed):
		d.showThemes(c, http.StatusUnprocessableEntity, form, err)
	default:
		d.failErr(c, err)
	}
}

// addTheme adds a built-in theme, unpublished, as POST themes.json with
// builtin does.
func (d *Dashboard) addTheme(c *gin.Context) {
	m := memberOf(c)
	form := themesPage{Name: strings.TrimSpace(c.PostForm("name")), Choice: c.PostForm("builtin")}
	_, err := d.cfg.Themes.CreateTheme(c.Request.Context(), m.Store, storefront.NewTheme{Name: form.Name, Builtin: form.Choice})
	d.themesDone(c, "added", form, err)
}

// uploadTheme adds a theme from an uploaded zip archive, unpublished, as
// POST themes.json with src does with the archive it downloads.
func (d *Dashboard) uploadTheme(c *gin.Context) {
	m := memberOf(c)
	form := themesPage{Name: strings.TrimSpace(c.PostForm("name"))}
	fh, err := c.FormFile("zip")
	if err != nil {
		d.themesDone(c, "", form, &errs.Error{Kind: errs.Invalid, Message: "choose a zip archive to upload",
			Fields: map[string][]string{"src": {"Choose a theme's zip archive to upload."}}})
		return
	}
	if fh.Size > themeUploadLimit {
		d.themesDone(c, "", form, &errs.Error{Kind: errs.Invalid, Message: "the archive is too large",
			Fields: map[string][]string{"src": {fmt.Sprintf("The archive is larger than %d MB, the most a theme may be.", themeUploadLimit>>20)}}})
		return
	}
	f, err := fh.Open()
	if err != nil {
		d.failErr(c, fmt.Errorf("open uploaded theme: %w", err))
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, themeUploadLimit+1))
	if err != nil {
		d.failErr(c, fmt.Errorf("read uploaded theme: %w", err))
		return
	}
	if data == nil {
		data = []byte{}
	}
	_, err = d.cfg.Themes.CreateTheme(c.Request.Context(), m.Store, storefront.NewTheme{Name: form.Name, Zip: data})
	d.themesDone(c, "uploaded", form, err)
}

// publishTheme makes a theme the published one, as PUT themes/{id}.json
// with role main does.
func (d *Dashboard) publishTheme(c *gin.Context) {
	id, ok := themeIDParam(c)
	if !ok {
		d.notFound(c)
		return
	}
	role := storefront.RoleMain
	_, err := d.cfg.Themes.UpdateTheme(c.Request.Context(), memberOf(c).Store, id, storefront.ThemeUpdate{Role: &role})
	d.themesDone(c, "published", themesPage{}, err)
}

// deleteTheme deletes an unpublished theme once the merchant has ticked
// the confirmation, as DELETE themes/{id}.json does.
func (d *Dashboard) deleteTheme(c *gin.Context) {
	id, ok := themeIDParam(c)
	if !ok {
		d.notFound(c)
		return
	}
	m := memberOf(c)
	if c.PostForm("confirm") != "yes" {
		// Still a 404 for a theme that is not the store's.
		if _, err := d.cfg.Themes.Theme(c.Request.Context(), m.Store, id); err != nil {
			d.failErr(c, err)
			return
		}
		d.themesDone(c, "", themesPage{}, &errs.Error{Kind: errs.Invalid, Message: "confirm the deletion",
			Fields: map[string][]string{"theme": {"Tick “Yes, delete this theme” to delete it: a deleted theme cannot be brought back."}}})
		return
	}
	_, err := d.cfg.Themes.DeleteTheme(c.Request.Context(), m.Store, id)
	d.themesDone(c, "deleted", themesPage{}, err)
}

// --- settings ----------------------------------------------------------------

// themeSettingDef is a setting of config/settings_schema.json, with what
// the form needs of it.
type themeSettingDef struct {
	Type        string   `json:"type"`
	ID          string   `json:"id"`
	Label       string   `json:"label"`
	Info        string   `json:"info"`
	Content     string   `json:"content"`
	Placeholder string   `json:"placeholder"`
	Default     any      `json:"default"`
	Min         *float64 `json:"min"`
	Max         *float64 `json:"max"`
	Step        *float64 `json:"step"`
	Unit        string   `json:"unit"`
	Options     []struct {
		Value string `json:"value"`
		Label string `json:"label"`
	} `json:"options"`
}

type themeSettingGroup struct {
	Name     string            `json:"name"`
	Settings []themeSettingDef `json:"settings"`
}

// themeOption is a choice of a select or radio setting.
type themeOption struct {
	Value, Label string
	Selected     bool
}

// themeField is a setting as the form shows it. Input is the kind of
// control: text, textarea, checkbox, select, radio, color, number, range,
// url, or header (a heading, no value).
type themeField struct {
	ID, Label, Info    string
	Input              string
	Value              string
	Checked            bool
	Min, Max, Step     string
	Unit, Placeholder  string
	Options            []themeOption
	Error              string
	def                themeSettingDef
	keepNonStringValue bool
}

// themeFieldGroup is a titled group of the settings form.
type themeFieldGroup struct {
	Name   string
	Fields []themeField
}

// themeSettingsPage is the Customise screen.
type themeSettingsPage struct {
	Theme    themeCard
	Groups   []themeFieldGroup
	CanWrite bool
	Flash    string
	Problems []string
}

// themeColor is what a color setting accepts: the colour input's form.
var themeColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

func themeNumber(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

// themeSettingsData splits settings_data.json into its top-level members
// and the current values (the preset "current" names, or its object).
func themeSettingsData(b []byte) (top, current map[string]json.RawMessage, err error) {
	top, current = map[string]json.RawMessage{}, map[string]json.RawMessage{}
	if len(bytes.TrimSpace(b)) == 0 {
		return top, current, nil
	}
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, nil, errs.Wrap(errs.Invalid, err, "config/settings_data.json is not a JSON object; fix it in Edit code first")
	}
	raw := top["current"]
	var preset string
	if json.Unmarshal(raw, &preset) == nil {
		var presets map[string]map[string]json.RawMessage
		_ = json.Unmarshal(top["presets"], &presets)
		if p, ok := presets[preset]; ok && p != nil {
			current = p
		}
	} else if len(raw) > 0 {
		if err := json.Unmarshal(raw, &current); err != nil || current == nil {
			return nil, nil, errs.Wrap(errs.Invalid, err, "config/settings_data.json's current settings are not an object; fix them in Edit code first")
		}
	}
	return top, current, nil
}

// themeSettingsForm reads theme id's schema and current values into the
// form's groups.
func (d *Dashboard) themeSettingsForm(c *gin.Context, id int64) (storefront.Theme, []themeFieldGroup, map[string]json.RawMessage, map[string]json.RawMessage, error) {
	ctx, st := c.Request.Context(), memberOf(c).Store
	th, schemaFile, err := d.cfg.Themes.Asset(ctx, st, id, themeSettingsSchemaKey)
	if errs.Is(err, errs.NotFound) {
		if th, err = d.cfg.Themes.Theme(ctx, st, id); err != nil {
			return th, nil, nil, nil, err
		}
		schemaFile = storefront.Asset{Value: []byte("[]")}
	} else if err != nil {
		return th, nil, nil, nil, err
	}
	var groups []themeSettingGroup
	if err := json.Unmarshal(schemaFile.Value, &groups); err != nil {
		return th, nil, nil, nil, errs.Wrap(errs.Invalid, err, "config/settings_schema.json is not valid; fix it in Edit code first")
	}
	_, dataFile, err := d.cfg.Themes.Asset(ctx, st, id, themeSettingsDataKey)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return th, nil, nil, nil, err
	}
	top, current, err := themeSettingsData(dataFile.Value)
	if err != nil {
		return th, nil, nil, nil, err
	}
	var out []themeFieldGroup
	for _, g := range groups {
		if g.Name == "theme_info" || len(g.Settings) == 0 {
			continue
		}
		fg := themeFieldGroup{Name: g.Name}
		for _, s := range g.Settings {
			f := themeField{ID: s.ID, Label: s.Label, Info: s.Info, Min: themeNumber(s.Min), Max: themeNumber(s.Max), Step: themeNumber(s.Step),
				Unit: s.Unit, Placeholder: s.Placeholder, def: s}
			if f.Label == "" {
				f.Label = s.ID
			}
			var v any = s.Default
			if raw, ok := current[s.ID]; ok {
				var cur any
				if json.Unmarshal(raw, &cur) == nil {
					v = cur
				}
			}
			switch s.Type {
			case "header", "paragraph":
				f.Input, f.Label = "header", s.Content
				if f.Label == "" {
					continue
				}
			case "checkbox":
				f.Input = "checkbox"
				f.Checked, _ = v.(bool)
			case "number", "range":
				f.Input = s.Type
				if n, ok := v.(float64); ok {
					f.Value = strconv.FormatFloat(n, 'f', -1, 64)
				}
			case "select", "radio":
				f.Input = s.Type
				cur := fmt.Sprint(v)
				for _, o := range s.Options {
					label := o.Label
					if label == "" {
						label = o.Value
					}
					f.Options = append(f.Options, themeOption{Value: o.Value, Label: label, Selected: o.Value == cur})
				}
			case "textarea", "richtext", "inline_richtext", "html", "liquid":
				f.Input = "textarea"
			case "color", "color_background":
				f.Input = "text"
				if s.Type == "color" {
					f.Input = "color"
				}
			case "url", "video_url":
				f.Input = "url"
			default: // text, image_picker (a URL), and pickers this form offers as text
				f.Input = "text"
			}
			if f.ID == "" && f.Input != "header" {
				continue
			}
			switch f.Input {
			case "text", "textarea", "color", "url":
				switch sv := v.(type) {
				case string:
					f.Value = sv
				case nil:
				default: // a value this form cannot show as text: leave it alone
					f.keepNonStringValue = true
				}
			}
			if f.Input == "color" && !themeColor.MatchString(f.Value) {
				f.Input = "text" // the colour input cannot show it: let the merchant see and fix it
			}
			if f.keepNonStringValue {
				continue
			}
			fg.Fields = append(fg.Fields, f)
		}
		if len(fg.Fields) > 0 {
			out = append(out, fg)
		}
	}
	return th, out, top, current, nil
}

// themeSettings shows the Customise screen: the theme's settings as a form
// and the store with this theme beside it.
func (d *Dashboard) themeSettings(c *gin.Context) {
	id, ok := themeIDParam(c)
	if !ok {
		d.notFound(c)
		return
	}
	th, groups, _, _, err := d.themeSettingsForm(c, id)
	if err != nil && !errs.Is(err, errs.Invalid) {
		d.failErr(c, err)
		return
	}
	d.showThemeSettings(c, http.StatusOK, th, groups, err)
}

func (d *Dashboard) showThemeSettings(c *gin.Context, status int, th storefront.Theme, groups []themeFieldGroup, formErr error) {
	m := memberOf(c)
	canWrite, err := d.Allowed(m, "themes", rbac.Write)
	if err != nil {
		d.failErr(c, err)
		return
	}
	page := themeSettingsPage{Theme: d.themeCard(m, th), Groups: groups, CanWrite: canWrite}
	if msg, ok := themeDone[c.Query("done")]; ok && formErr == nil {
		page.Flash = msg
	}
	if formErr != nil {
		page.Problems = themeProblems(formErr)
	}
	d.render(c, status, "theme_settings", "Customise "+th.Name, page)
}

// saveThemeSettings writes the form's values into
// config/settings_data.json (its current values; presets and sections are
// kept) through PutAsset, so the theme is checked with them as on any
// other change.
func (d *Dashboard) saveThemeSettings(c *gin.Context) {
	id, ok := themeIDParam(c)
	if !ok {
		d.notFound(c)
		return
	}
	th, groups, top, current, err := d.themeSettingsForm(c, id)
	if err != nil {
		if errs.Is(err, errs.Invalid) {
			d.showThemeSettings(c, http.StatusUnprocessableEntity, th, groups, err)
			return
		}
		d.failErr(c, err)
		return
	}
	bad := errs.Fields{}
	for gi := range groups {
		for fi := range groups[gi].Fields {
			f := &groups[gi].Fields[fi]
			if f.Input == "header" {
				continue
			}
			in := c.PostForm("setting_" + f.ID)
			var v any
			switch f.Input {
			case "checkbox":
				f.Checked = c.PostForm("setting_"+f.ID) != ""
				v = f.Checked
			case "number", "range":
				f.Value = strings.TrimSpace(in)
				if f.Value == "" && f.Input == "number" {
					v = nil
					break
				}
				n, err := strconv.ParseFloat(f.Value, 64)
				switch {
				case err != nil:
					f.Error = "must be a number"
				case f.def.Min != nil && n < *f.def.Min, f.def.Max != nil && n > *f.def.Max:
					f.Error = fmt.Sprintf("must be between %s and %s", or(f.Min, "…"), or(f.Max, "…"))
				}
				v = n
			case "select", "radio":
				found := false
				for i := range f.Options {
					f.Options[i].Selected = f.Options[i].Value == in
					found = found || f.Options[i].Selected
				}
				if !found {
					f.Error = "must be one of the choices"
				}
				v = in
			case "color":
				f.Value = strings.TrimSpace(in)
				if !themeColor.MatchString(f.Value) {
					f.Error = "must be a colour such as #1f5f8b"
				}
				v = f.Value
			case "textarea":
				f.Value = strings.ReplaceAll(in, "\r\n", "\n")
				v = f.Value
			default:
				f.Value = strings.TrimSpace(in)
				v = f.Value
			}
			if f.Error != "" {
				bad.Add(f.Label, "%s", f.Error)
				continue
			}
			raw, err := json.Marshal(v)
			if err != nil {
				d.failErr(c, fmt.Errorf("encode setting %s: %w", f.ID, err))
				return
			}
			current[f.ID] = raw
		}
	}
	if err := bad.Err(); err != nil {
		d.showThemeSettings(c, http.StatusUnprocessableEntity, th, groups, err)
		return
	}
	cur, err := json.Marshal(current)
	if err != nil {
		d.failErr(c, fmt.Errorf("encode settings: %w", err))
		return
	}
	top["current"] = cur
	data, err := json.MarshalIndent(top, "", "  ")
	if err != nil {
		d.failErr(c, fmt.Errorf("encode settings: %w", err))
		return
	}
	_, _, err = d.cfg.Themes.PutAsset(c.Request.Context(), memberOf(c).Store, id, storefront.AssetWrite{Key: themeSettingsDataKey, Value: append(data, '\n')})
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/themes/%d/settings?done=saved", memberOf(c).Store.Slug, id))
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Conflict):
		d.showThemeSettings(c, http.StatusUnprocessableEntity, th, groups, err)
	default:
		d.failErr(c, err)
	}
}

// --- code editor -------------------------------------------------------------

// themeFileEntry is a file in the editor's list.
type themeFileEntry struct {
	Key, Name, Link string
	Current         bool
}

// themeFileGroup is a folder of the editor's list.
type themeFileGroup struct {
	Folder string
	Files  []themeFileEntry
}

// themeEditorPage is the Edit code screen: the files, and one open.
type themeEditorPage struct {
	Theme     themeCard
	Groups    []themeFileGroup
	Key       string // the open file; "" for none
	Value     string
	Text      bool // the open file is text, so it can be edited here
	Size      int
	PublicURL string
	Required  bool // the open file cannot be deleted
	CanWrite  bool
	Flash     string
	Problems  []string
	NewKey    string // the new file form's value, kept after an error
	NewError  bool   // the problems are about the new file form
}

// themeTextExts are the theme files edited as text.
var themeTextExts = map[string]bool{".liquid": true, ".json": true, ".css": true, ".js": true, ".mjs": true, ".map": true, ".txt": true, ".svg": true, ".scss": true}

// themeFileIsText says whether the file key with content b is edited as
// text.
func themeFileIsText(key string, b []byte) bool {
	return themeTextExts[strings.ToLower(path.Ext(key))] && utf8.Valid(b)
}

// themeFileRequired says whether the service would refuse to delete key
// whatever else the theme holds.
func themeFileRequired(key string) bool { return key == "layout/theme.liquid" }

// themeFiles shows the editor: the theme's files by folder, and the file
// ?key= open in a text area.
func (d *Dashboard) themeFiles(c *gin.Context) {
	id, ok := themeIDParam(c)
	if !ok {
		d.notFound(c)
		return
	}
	page := themeEditorPage{Key: c.Query("key")}
	if page.Key != "" {
		_, a, err := d.cfg.Themes.Asset(c.Request.Context(), memberOf(c).Store, id, page.Key)
		if err != nil {
			d.failErr(c, err)
			return
		}
		page.Value, page.Text, page.Size = string(a.Value), themeFileIsText(page.Key, a.Value), a.Size
		if !page.Text {
			page.Value = ""
		}
	}
	d.showThemeFiles(c, http.StatusOK, id, page, nil)
}

// showThemeFiles renders the editor with status; page carries the open
// file (and what the merchant typed, after formErr).
func (d *Dashboard) showThemeFiles(c *gin.Context, status int, id int64, page themeEditorPage, formErr error) {
	m := memberOf(c)
	th, assets, err := d.cfg.Themes.Assets(c.Request.Context(), m.Store, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	if page.CanWrite, err = d.Allowed(m, "themes", rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	page.Theme = d.themeCard(m, th)
	base := page.Theme.Files + "?key="
	byFolder := map[string][]themeFileEntry{}
	for _, a := range assets {
		folder, name, _ := strings.Cut(a.Key, "/")
		byFolder[folder] = append(byFolder[folder], themeFileEntry{Key: a.Key, Name: name, Link: base + url.QueryEscape(a.Key), Current: a.Key == page.Key})
	}
	for _, f := range themeFolders {
		if len(byFolder[f]) > 0 {
			page.Groups = append(page.Groups, themeFileGroup{Folder: f, Files: byFolder[f]})
		}
	}
	if page.Key != "" {
		page.Required = themeFileRequired(page.Key)
		page.PublicURL = d.cfg.Themes.AssetURL(m.Store, th, page.Key)
	}
	if msg, ok := themeDone[c.Query("done")]; ok && formErr == nil {
		page.Flash = msg
	}
	if formErr != nil {
		page.Problems = themeProblems(formErr)
	}
	title := "Edit code: " + th.Name
	if page.Key != "" {
		title = page.Key + " · " + th.Name
	}
	d.render(c, status, "theme_editor", title, page)
}

// themeFileDone answers a post of the editor: back to the file with a
// notice, or the editor again with what is wrong (422) and the merchant's
// text as they sent it.
func (d *Dashboard) themeFileDone(c *gin.Context, id int64, key, done string, page themeEditorPage, err error) {
	switch {
	case err == nil:
		to := fmt.Sprintf("/store/%s/themes/%d/files?", memberOf(c).Store.Slug, id)
		if key != "" {
			to += "key=" + url.QueryEscape(key) + "&"
		}
		c.Redirect(http.StatusSeeOther, to+"done="+done)
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Conflict):
		d.showThemeFiles(c, http.StatusUnprocessableEntity, id, page, err)
	default:
		d.failErr(c, err)
	}
}

// saveThemeFile writes the open file, as PUT assets.json with a value
// does: a change that breaks the theme (a Liquid syntax error, invalid
// JSON) is refused with the engine's file:line message and nothing is
// saved.
func (d *Dashboard) saveThemeFile(c *gin.Context) {
	id, ok := themeIDParam(c)
	if !ok {
		d.notFound(c)
		return
	}
	// Browsers send a text area's lines with CRLF; theme files keep LF.
	value := strings.ReplaceAll(c.PostForm("value"), "\r\n", "\n")
	key := c.PostForm("key")
	page := themeEditorPage{Key: key, Value: value, Text: true, Size: len(value)}
	_, _, err := d.cfg.Themes.PutAsset(c.Request.Context(), memberOf(c).Store, id, storefront.AssetWrite{Key: key, Value: []byte(value)})
	d.themeFileDone(c, id, key, "saved", page, err)
}

// createThemeFile adds an empty file, refusing a key the theme already
// has, so "new file" never empties an existing one.
func (d *Dashboard) createThemeFile(c *gin.Context) {
	id, ok := themeIDParam(c)
	if !ok {
		d.notFound(c)
		return
	}
	m := memberOf(c)
	key := strings.TrimSpace(c.PostForm("key"))
	page := themeEditorPage{NewKey: key, NewError: true}
	_, _, err := d.cfg.Themes.Asset(c.Request.Context(), m.Store, id, key)
	switch {
	case err == nil:
		err = &errs.Error{Kind: errs.Invalid, Message: "the file exists already",
			Fields: map[string][]string{"key": {"is a file this theme has already; open it from the list"}}}
	case errs.Is(err, errs.NotFound):
		_, _, err = d.cfg.Themes.PutAsset(c.Request.Context(), m.Store, id, storefront.AssetWrite{Key: key, Value: []byte{}})
	}
	d.themeFileDone(c, id, key, "created", page, err)
}

// deleteThemeFile deletes a file, as DELETE assets.json does: the files
// every theme needs are refused with a message.
func (d *Dashboard) deleteThemeFile(c *gin.Context) {
	id, ok := themeIDParam(c)
	if !ok {
		d.notFound(c)
		return
	}
	key := c.PostForm("key")
	_, err := d.cfg.Themes.DeleteAsset(c.Request.Context(), memberOf(c).Store, id, key)
	page := themeEditorPage{Key: key}
	if err != nil && key != "" {
		if _, a, aerr := d.cfg.Themes.Asset(c.Request.Context(), memberOf(c).Store, id, key); aerr == nil {
			page.Value, page.Text, page.Size = string(a.Value), themeFileIsText(key, a.Value), a.Size
			if !page.Text {
				page.Value = ""
			}
		}
	}
	if err == nil {
		key = ""
	}
	d.themeFileDone(c, id, key, "removed", page, err)
}
