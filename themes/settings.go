package themes

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"
)

// settingDef is one setting of config/settings_schema.json or of a
// section's or block's schema.
type settingDef struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Default any    `json:"default"`
}

type settingsGroup struct {
	Name      string       `json:"name"`
	ThemeName string       `json:"theme_name"`
	Settings  []settingDef `json:"settings"`
}

// sectionSchema is the JSON of a section's {% schema %} tag.
type sectionSchema struct {
	Name     string       `json:"name"`
	Tag      string       `json:"tag"`
	Class    string       `json:"class"`
	Settings []settingDef `json:"settings"`
	Blocks   []struct {
		Type     string       `json:"type"`
		Name     string       `json:"name"`
		Settings []settingDef `json:"settings"`
	} `json:"blocks"`
	// Default is the content of a static section that settings_data.json
	// does not configure.
	Default *struct {
		Settings map[string]any `json:"settings"`
		Blocks   []blockData    `json:"blocks"`
	} `json:"default"`
}

// sectionData is a section's configuration, in a JSON template or in
// settings_data.json.
type sectionData struct {
	Type       string               `json:"type"`
	Settings   map[string]any       `json:"settings"`
	Blocks     map[string]blockData `json:"blocks"`
	BlockOrder []string             `json:"block_order"`
	Disabled   bool                 `json:"disabled"`
}

type blockData struct {
	Type     string         `json:"type"`
	Settings map[string]any `json:"settings"`
	Disabled bool           `json:"disabled"`
}

// jsonTemplate is a Shopify 2.0 template: the sections of a page, in order.
type jsonTemplate struct {
	path     string
	Layout   any                    `json:"layout"` // a layout name, or false for none
	Sections map[string]sectionData `json:"sections"`
	Order    []string               `json:"order"`
}

var schemaTag = regexp.MustCompile(`\{%-?\s*schema\s*-?%\}([\s\S]*?)\{%-?\s*endschema\s*-?%\}`)

// parseSchema reads the {% schema %} JSON of a section file.
func parseSchema(p string, b []byte) (*sectionSchema, error) {
	m := schemaTag.FindSubmatchIndex(b)
	if m == nil {
		return &sectionSchema{}, nil
	}
	line := 1 + strings.Count(string(b[:m[2]]), "\n")
	var s sectionSchema
	if err := json.Unmarshal(b[m[2]:m[3]], &s); err != nil {
		return nil, &Error{File: p, Line: line, Msg: "invalid schema JSON: " + err.Error(), Err: err}
	}
	return &s, nil
}

// defaults returns the default values of a list of settings.
func defaults(defs []settingDef) map[string]any {
	out := make(map[string]any, len(defs))
	for _, d := range defs {
		if d.ID != "" {
			out[d.ID] = d.Default
		}
	}
	return out
}

// loadSettings merges config/settings_schema.json's defaults with the
// current values of config/settings_data.json.
func (t *Theme) loadSettings() []error {
	var errs []error
	t.settings = map[string]any{}
	t.staticSections = map[string]sectionData{}
	if b, ok := t.files["config/settings_schema.json"]; ok {
		var groups []settingsGroup
		if err := decodeJSON("config/settings_schema.json", b, &groups); err != nil {
			errs = append(errs, err)
		}
		for _, g := range groups {
			if g.Name == "theme_info" {
				t.name = g.ThemeName
			}
			maps.Copy(t.settings, defaults(g.Settings))
		}
	}
	if b, ok := t.files["config/settings_data.json"]; ok {
		var data struct {
			Current json.RawMessage            `json:"current"`
			Presets map[string]json.RawMessage `json:"presets"`
		}
		if err := decodeJSON("config/settings_data.json", b, &data); err != nil {
			return append(errs, err)
		}
		current := data.Current
		var preset string
		if json.Unmarshal(current, &preset) == nil {
			p, ok := data.Presets[preset]
			if !ok {
				return append(errs, &Error{File: "config/settings_data.json", Msg: fmt.Sprintf("current preset %q is not in presets", preset)})
			}
			current = p
		}
		if len(current) > 0 {
			var values map[string]json.RawMessage
			if err := json.Unmarshal(current, &values); err != nil {
				return append(errs, &Error{File: "config/settings_data.json", Msg: "current settings are not an object", Err: err})
			}
			for k, raw := range values {
				switch k {
				case "sections":
					if err := json.Unmarshal(raw, &t.staticSections); err != nil {
						errs = append(errs, &Error{File: "config/settings_data.json", Msg: "invalid sections: " + err.Error(), Err: err})
					}
				case "content_for_index", "blocks":
				default:
					var v any
					if err := json.Unmarshal(raw, &v); err == nil {
						t.settings[k] = v
					}
				}
			}
		}
	}
	return errs
}

// checkJSONTemplate checks that a JSON template names existing sections.
func (t *Theme) checkJSONTemplate(jt *jsonTemplate) []error {
	var errs []error
	for _, id := range jt.order() {
		s, ok := jt.Sections[id]
		if !ok {
			errs = append(errs, &Error{File: jt.path, Msg: fmt.Sprintf("order names section %q, which is not in sections", id)})
			continue
		}
		if _, ok := t.sections[s.Type]; !ok {
			errs = append(errs, &Error{File: jt.path, Msg: fmt.Sprintf("section %q has type %q, but sections/%s.liquid: %v", id, s.Type, s.Type, ErrNotFound), Err: ErrNotFound})
		}
	}
	if name, ok := jt.Layout.(string); ok {
		if _, found := t.layouts[name]; !found {
			errs = append(errs, &Error{File: jt.path, Msg: fmt.Sprintf("layout/%s.liquid: %v", name, ErrNotFound), Err: ErrNotFound})
		}
	}
	return errs
}

// order returns the ids of a JSON template's sections in render order.
func (jt *jsonTemplate) order() []string {
	if len(jt.Order) > 0 {
		return jt.Order
	}
	ids := make([]string, 0, len(jt.Sections))
	for id := range jt.Sections {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// sectionObject builds the `section` object a section file sees: its
// settings (schema defaults, then configured values) and its blocks.
func sectionObject(id string, src *source, data *sectionData) map[string]any {
	schema := src.schema
	if schema == nil {
		schema = &sectionSchema{}
	}
	settings := defaults(schema.Settings)
	var blocks []blockData
	var blockIDs []string
	switch {
	case data != nil:
		maps.Copy(settings, data.Settings)
		order := data.BlockOrder
		if len(order) == 0 {
			for bid := range data.Blocks {
				order = append(order, bid)
			}
			sort.Strings(order)
		}
		for _, bid := range order {
			if b, ok := data.Blocks[bid]; ok && !b.Disabled {
				blocks = append(blocks, b)
				blockIDs = append(blockIDs, bid)
			}
		}
	case schema.Default != nil:
		maps.Copy(settings, schema.Default.Settings)
		for i, b := range schema.Default.Blocks {
			blocks = append(blocks, b)
			blockIDs = append(blockIDs, fmt.Sprintf("%s-%d", b.Type, i+1))
		}
	}
	list := make([]any, 0, len(blocks))
	for i, b := range blocks {
		bs := map[string]any{}
		for _, def := range schema.Blocks {
			if def.Type == b.Type {
				bs = defaults(def.Settings)
			}
		}
		maps.Copy(bs, b.Settings)
		list = append(list, map[string]any{
			"id":                 blockIDs[i],
			"type":               b.Type,
			"settings":           bs,
			"shopify_attributes": "",
		})
	}
	return map[string]any{
		"id":       id,
		"name":     schema.Name,
		"settings": settings,
		"blocks":   list,
	}
}
