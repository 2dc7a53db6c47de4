package catalog

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
)

// Product statuses.
const (
	StatusActive   = "active"
	StatusDraft    = "draft"
	StatusArchived = "archived"
)

// Limits, as Shopify has them.
const (
	MaxOptions  = 3
	MaxVariants = 100
	MaxTags     = 250
	maxText     = 255
)

// Product is a thing a store sells, in one or more variants.
type Product struct {
	ID          int64
	Title       string
	BodyHTML    string
	Vendor      string
	ProductType string
	Handle      string
	Status      string
	Tags        []string
	PublishedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Options     []Option
	Variants    []Variant
	Images      []Image
}

// Option is a dimension a product's variants differ in (Size, Color); its
// values are those its variants use, in order of first use.
type Option struct {
	ID       int64
	Name     string
	Position int
	Values   []string
}

// Variant is one purchasable version of a product.
type Variant struct {
	ID                  int64
	ProductID           int64
	Position            int
	SKU                 string
	Barcode             string
	Price               money.Amount
	CompareAtPrice      *money.Amount
	Options             [MaxOptions]*string
	Weight              float64
	WeightUnit          string
	RequiresShipping    bool
	Taxable             bool
	InventoryPolicy     string
	InventoryManagement *string
	InventoryQuantity   int64 // available over the store's active locations (the inventory module's)
	ImageID             *int64
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Title is the variant's option values joined, as shoppers see it.
func (v Variant) Title() string {
	var parts []string
	for _, o := range v.Options {
		if o != nil {
			parts = append(parts, *o)
		}
	}
	return strings.Join(parts, " / ")
}

// defaultOption is the option a product without options gets, as on Shopify.
const (
	defaultOptionName  = "Title"
	defaultOptionValue = "Default Title"
)

// VariantInput is a variant to create, or (with ID) to change; nil fields are
// left as they are, or take their defaults on creation.
type VariantInput struct {
	ID                  int64
	Price               *money.Amount
	CompareAtPrice      **money.Amount // set to a nil pointer to clear it
	SKU                 *string
	Barcode             *string
	Options             [MaxOptions]*string
	Weight              *float64
	WeightUnit          *string
	RequiresShipping    *bool
	Taxable             *bool
	InventoryPolicy     *string
	InventoryManagement **string
	ImageID             **int64 // set to a nil pointer to show no image
}

// ProductInput is a product to create, or a change to one; nil fields are
// left as they are, or take their defaults on creation. Variants, when
// given, is the whole new list: listed variants with an ID are changed, those
// without are created, and the product's other variants are deleted.
type ProductInput struct {
	Title       *string
	BodyHTML    *string
	Vendor      *string
	ProductType *string
	Handle      *string
	Status      *string
	Tags        *[]string
	Published   *bool
	Options     *[]string // option names, in order
	Variants    *[]VariantInput
	Images      *[]ImageInput // like Variants: the whole new list
}

func checkText(f errs.Fields, field string, s *string, required bool) {
	switch {
	case s == nil:
	case required && strings.TrimSpace(*s) == "":
		f.Add(field, "can't be blank")
	case utf8.RuneCountInString(*s) > maxText && field != "body_html":
		f.Add(field, "is too long (maximum is %d characters)", maxText)
	}
}

// validate checks the fields an input sets. creating says whether absent
// required fields are an error.
func (in *ProductInput) validate(creating bool) error {
	f := errs.Fields{}
	if creating && in.Title == nil {
		f.Add("title", "can't be blank")
	}
	for _, p := range []*string{in.Title, in.Vendor, in.ProductType, in.Handle, in.Status} {
		if p != nil {
			*p = strings.TrimSpace(*p)
		}
	}
	checkText(f, "title", in.Title, true)
	checkText(f, "vendor", in.Vendor, false)
	checkText(f, "product_type", in.ProductType, false)
	if in.BodyHTML != nil && len(*in.BodyHTML) > 512*1024 {
		f.Add("body_html", "is too long (maximum is 512 KiB)")
	}
	if in.Handle != nil {
		if *in.Handle == "" && !creating {
			f.Add("handle", "can't be blank")
		} else if *in.Handle != "" && (Handleize(*in.Handle) != *in.Handle) {
			f.Add("handle", "may hold only lowercase letters, digits and single hyphens (try %q)", Handleize(*in.Handle))
		}
	}
	if in.Status != nil && !slices.Contains([]string{StatusActive, StatusDraft, StatusArchived}, *in.Status) {
		f.Add("status", "must be active, draft or archived")
	}
	if in.Tags != nil {
		if len(*in.Tags) > MaxTags {
			f.Add("tags", "must be at most %d", MaxTags)
		}
		for _, t := range *in.Tags {
			if utf8.RuneCountInString(t) > maxText {
				f.Add("tags", "%q is too long (maximum is %d characters)", t, maxText)
			}
		}
	}
	if in.Options != nil {
		opts := *in.Options
		if len(opts) > MaxOptions {
			f.Add("options", "must be at most %d", MaxOptions)
		}
		seen := map[string]bool{}
		for i, name := range opts {
			name = strings.TrimSpace(name)
			opts[i] = name
			switch {
			case name == "":
				f.Add("options", "option %d needs a name", i+1)
			case seen[strings.ToLower(name)]:
				f.Add("options", "%q is listed twice", name)
			case utf8.RuneCountInString(name) > maxText:
				f.Add("options", "%q is too long (maximum is %d characters)", name, maxText)
			}
			seen[strings.ToLower(name)] = true
		}
	}
	if in.Variants != nil {
		vs := *in.Variants
		if len(vs) > MaxVariants {
			f.Add("variants", "must be at most %d", MaxVariants)
		}
		if len(vs) == 0 && !creating {
			f.Add("variants", "a product needs at least one variant")
		}
		for i := range vs {
			vs[i].validate(f, i+1, creating)
		}
	}
	if in.Images != nil {
		if len(*in.Images) > MaxImages {
			f.Add("images", "must be at most %d", MaxImages)
		}
		for i := range *in.Images {
			im := &(*in.Images)[i]
			if im.VariantIDs != nil && creating {
				f.Add("images", "image %d: a new product's images cannot name variants yet", i+1)
			}
			im.validate(f, "images", creating)
		}
	}
	return f.Err()
}

func (v *VariantInput) validate(f errs.Fields, n int, creating bool) {
	bad := func(format string, args ...any) {
		f.Add("variants", "variant %d: "+format, append([]any{n}, args...)...)
	}
	if creating && v.ID != 0 {
		bad("a new product's variants cannot have ids")
	}
	for _, p := range []*string{v.SKU, v.Barcode} {
		if p != nil {
			*p = strings.TrimSpace(*p)
			if utf8.RuneCountInString(*p) > maxText {
				bad("sku and barcode must be at most %d characters", maxText)
			}
		}
	}
	for i, o := range v.Options {
		if o != nil {
			s := strings.TrimSpace(*o)
			v.Options[i] = &s
			if s == "" || utf8.RuneCountInString(s) > maxText {
				bad("option%d must be 1 to %d characters", i+1, maxText)
			}
		}
	}
	if v.Weight != nil && !(*v.Weight >= 0 && *v.Weight < 1e9) { // also refuses NaN
		bad("weight must be a number from 0 to 999999999.999")
	}
	if v.WeightUnit != nil && !slices.Contains([]string{"g", "kg", "oz", "lb"}, *v.WeightUnit) {
		bad("weight_unit must be g, kg, oz or lb")
	}
	if v.InventoryPolicy != nil && *v.InventoryPolicy != "deny" && *v.InventoryPolicy != "continue" {
		bad("inventory_policy must be deny or continue")
	}
	if v.InventoryManagement != nil && *v.InventoryManagement != nil && **v.InventoryManagement != "shopify" {
		bad("inventory_management must be \"shopify\" or null")
	}
}

// checkVariants checks a product's final variants against its options: each
// variant has a value for every option and none beyond, and no two variants
// share all their values.
func checkVariants(options []Option, variants []Variant) error {
	f := errs.Fields{}
	seen := map[string]int{}
	for i, v := range variants {
		for k := range MaxOptions {
			has := v.Options[k] != nil
			switch {
			case k < len(options) && !has:
				f.Add("variants", "variant %d: needs a value for option %q (option%d)", i+1, options[k].Name, k+1)
			case k >= len(options) && has:
				f.Add("variants", "variant %d: option%d is set but the product has %d options", i+1, k+1, len(options))
			}
		}
		key := strings.ToLower(v.Title())
		if j, dup := seen[key]; dup {
			f.Add("variants", "variant %d: the variant %q already exists (variant %d)", i+1, v.Title(), j)
		}
		seen[key] = i + 1
	}
	return f.Err()
}

// Handleize turns a title into a handle: lowercase letters and digits, runs
// of anything else as single hyphens, at most 255 characters.
func Handleize(s string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
			continue
		}
		hyphen = true
	}
	h := b.String()
	for utf8.RuneCountInString(h) > maxText {
		_, size := utf8.DecodeLastRuneInString(h)
		h = strings.TrimRight(h[:len(h)-size], "-")
	}
	return h
}

// errNoHandle is for a title that gives no handle (only punctuation, say).
var errNoHandle = &errs.Error{Kind: errs.Invalid, Message: "handle can't be blank",
	Fields: map[string][]string{"handle": {"can't be derived from the title; give one"}}}
