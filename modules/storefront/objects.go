package storefront

import (
	"fmt"
	"strings"

	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/themes"
)

// Converters from the store's data to the Liquid objects themes expect, in
// the shapes themes/README.md lists (Shopify's, for what we have).

func toShopObject(sh shop.Shop, url string) map[string]any {
	return map[string]any{"name": sh.Name, "url": url, "currency": sh.Currency, "email": sh.Email, "description": ""}
}

func imagePath(file string) string { return "/cdn/shop/products/" + file }

func toImageObject(im catalog.Image, fallbackAlt string) map[string]any {
	alt := fallbackAlt
	if im.Alt != nil && *im.Alt != "" {
		alt = *im.Alt
	}
	return map[string]any{"id": im.ID, "src": imagePath(im.File), "alt": alt, "width": im.Width, "height": im.Height,
		"aspect_ratio": float64(im.Width) / float64(im.Height), "position": im.Position}
}

// available says whether a shopper can buy v now: in stock, not tracked, or
// sold on when out of stock.
func available(v catalog.Variant) bool {
	return v.InventoryManagement == nil || v.InventoryPolicy == "continue" || v.InventoryQuantity > 0
}

func productURL(p catalog.Product) string { return "/products/" + p.Handle }

func toVariantObject(p catalog.Product, v catalog.Variant, images map[int64]map[string]any) map[string]any {
	out := map[string]any{
		"id": v.ID, "title": v.Title(), "price": int64(v.Price), "available": available(v), "sku": v.SKU,
		"barcode": v.Barcode, "inventory_quantity": v.InventoryQuantity, "inventory_policy": v.InventoryPolicy,
		"url": fmt.Sprintf("%s?variant=%d", productURL(p), v.ID), "weight": v.Weight, "weight_unit": v.WeightUnit,
		"requires_shipping": v.RequiresShipping, "taxable": v.Taxable, "product_id": p.ID,
	}
	if v.InventoryManagement != nil {
		out["inventory_management"] = *v.InventoryManagement
	}
	if v.CompareAtPrice != nil {
		out["compare_at_price"] = int64(*v.CompareAtPrice)
	}
	var opts []any
	for k, o := range v.Options {
		if o != nil {
			out[fmt.Sprintf("option%d", k+1)] = *o
			opts = append(opts, *o)
		}
	}
	out["options"] = opts
	if v.ImageID != nil {
		if im, ok := images[*v.ImageID]; ok {
			out["featured_image"] = im
			out["image"] = im
		}
	}
	return out
}

// toProductObject renders p; selected is the variant the page shows (from
// ?variant=), 0 for the first available.
func toProductObject(p catalog.Product, selected int64) map[string]any {
	images := make([]any, len(p.Images))
	byID := map[int64]map[string]any{}
	for i, im := range p.Images {
		o := toImageObject(im, p.Title)
		images[i], byID[im.ID] = o, o
	}
	variants := make([]any, len(p.Variants))
	var chosen, firstAvailable map[string]any
	var min, max int64 = -1, 0
	var cmpMin, cmpMax int64 = -1, 0
	anyAvailable := false
	for i, v := range p.Variants {
		o := toVariantObject(p, v, byID)
		variants[i] = o
		if v.ID == selected {
			chosen = o
		}
		if available(v) {
			anyAvailable = true
			if firstAvailable == nil {
				firstAvailable = o
			}
		}
		price := int64(v.Price)
		if min < 0 || price < min {
			min = price
		}
		max = maxInt(max, price)
		if v.CompareAtPrice != nil {
			c := int64(*v.CompareAtPrice)
			if cmpMin < 0 || c < cmpMin {
				cmpMin = c
			}
			cmpMax = maxInt(cmpMax, c)
		}
	}
	if chosen == nil {
		chosen = firstAvailable
	}
	if chosen == nil && len(variants) > 0 {
		chosen = variants[0].(map[string]any)
	}
	names := make([]any, len(p.Options))
	withValues := make([]any, len(p.Options))
	for i, o := range p.Options {
		names[i] = o.Name
		values := make([]any, len(o.Values))
		for k, v := range o.Values {
			values[k] = v
		}
		sel := ""
		if chosen != nil {
			sel, _ = chosen[fmt.Sprintf("option%d", i+1)].(string)
		}
		withValues[i] = map[string]any{"name": o.Name, "position": i + 1, "values": values, "selected_value": sel}
	}
	tags := make([]any, len(p.Tags))
	for i, t := range p.Tags {
		tags[i] = t
	}
	out := map[string]any{
		"id": p.ID, "title": p.Title, "handle": p.Handle, "url": productURL(p), "description": p.BodyHTML,
		"content": p.BodyHTML, "vendor": p.Vendor, "type": p.ProductType, "tags": tags, "available": anyAvailable,
		"variants": variants, "options": names, "options_with_values": withValues, "images": images,
		"price": max0(min), "price_min": max0(min), "price_max": max, "price_varies": min != max,
		"has_only_default_variant":            len(p.Variants) == 1 && len(p.Options) == 1 && p.Options[0].Name == "Title",
		"selected_or_first_available_variant": chosen, "object_type": "product",
		"created_at": p.CreatedAt, "published_at": p.PublishedAt,
	}
	if v, ok := chosen["id"].(int64); ok && v == selected {
		out["selected_variant"] = chosen
	}
	if cmpMin >= 0 {
		out["compare_at_price"], out["compare_at_price_min"], out["compare_at_price_max"] = cmpMin, cmpMin, cmpMax
	}
	if len(images) > 0 {
		out["featured_image"] = images[0]
		if im, ok := chosen["featured_image"]; ok {
			out["selected_or_first_available_variant_image"] = im
		}
	}
	return out
}

func max0(n int64) int64 { return maxInt(n, 0) }

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

var sortOptions = []any{
	map[string]any{"value": "manual", "name": "Featured"},
	map[string]any{"value": "best-selling", "name": "Best selling"},
	map[string]any{"value": "title-ascending", "name": "Alphabetically, A-Z"},
	map[string]any{"value": "title-descending", "name": "Alphabetically, Z-A"},
	map[string]any{"value": "price-ascending", "name": "Price, low to high"},
	map[string]any{"value": "price-descending", "name": "Price, high to low"},
	map[string]any{"value": "created-ascending", "name": "Date, old to new"},
	map[string]any{"value": "created-descending", "name": "Date, new to old"},
}

func toCollectionObject(c catalog.Collection, count int, sortBy string) map[string]any {
	return map[string]any{
		"id": c.ID, "title": c.Title, "handle": c.Handle, "url": "/collections/" + c.Handle, "description": c.BodyHTML,
		"products_count": count, "all_products_count": count, "sort_by": sortBy, "default_sort_by": c.ShelfSort(),
		"sort_options": sortOptions,
	}
}

// toMenuObject renders a navigation menu; a link is active when it points
// at the page being shown.
func toMenuObject(m menu, path string) map[string]any {
	links := make([]any, len(m.Links))
	for i, l := range m.Links {
		links[i] = map[string]any{"title": l.Title, "url": l.URL, "active": l.URL == path,
			"current": l.URL == path, "handle": handleOf(l.Title), "links": []any{}}
	}
	return map[string]any{"title": m.Title, "handle": m.Handle, "links": links}
}

func handleOf(s string) string { return catalog.Handleize(s) }

// untrusted marks shopper text for the theme engine, which escapes it
// wherever it is printed.
func untrusted(s string) themes.Untrusted { return themes.Untrusted(strings.ToValidUTF8(s, "\uFFFD")) }
