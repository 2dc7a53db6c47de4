package storefront

import (
	"strconv"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/themes"
)

// cartItem is one line as both the Liquid cart and cart.js show it.
type cartItem struct {
	line
	title, variantTitle string
	price, linePrice    int64
	image               map[string]any
	url                 string
}

func itemsOf(c *cart) ([]cartItem, int, int64, bool) {
	var items []cartItem
	count, total, ship := 0, int64(0), false
	if c == nil {
		return nil, 0, 0, false
	}
	for _, l := range c.Lines {
		if l.variant == nil {
			continue
		}
		v, p := *l.variant, l.product
		it := cartItem{line: l, title: lineTitle(p, v), price: int64(v.Price), url: toVariantURL(p.Handle, v.ID)}
		if t := v.Title(); t != "Default Title" {
			it.variantTitle = t
		}
		it.linePrice = it.price * int64(l.Quantity)
		for _, im := range p.Images {
			if (v.ImageID != nil && im.ID == *v.ImageID) || (v.ImageID == nil && it.image == nil) {
				it.image = toImageObject(im, p.Title)
			}
		}
		items = append(items, it)
		count += l.Quantity
		total += it.linePrice
		ship = ship || v.RequiresShipping
	}
	return items, count, total, ship
}

func toVariantURL(handle string, id int64) string {
	return "/products/" + handle + "?variant=" + strconv.FormatInt(id, 10)
}

// toCartObject renders c (nil: an empty cart) for themes; shopper text is
// marked untrusted.
func toCartObject(c *cart, cur money.Currency) map[string]any {
	items, count, total, ship := itemsOf(c)
	list := make([]any, len(items))
	for i, it := range items {
		props := map[themes.Untrusted]themes.Untrusted{}
		for k, v := range it.props {
			props[untrusted(k)] = untrusted(v)
		}
		list[i] = map[string]any{
			"id": it.VariantID, "key": strconv.FormatInt(it.VariantID, 10), "quantity": it.Quantity, "title": it.title,
			"product_title": it.product.Title, "variant_title": it.variantTitle, "url": it.url, "image": it.image,
			"price": it.price, "original_price": it.price, "final_price": it.price, "line_price": it.linePrice,
			"original_line_price": it.linePrice, "final_line_price": it.linePrice, "variant_id": it.VariantID,
			"product_id": it.product.ID, "sku": it.variant.SKU, "vendor": it.product.Vendor, "properties": props,
			"requires_shipping": it.variant.RequiresShipping, "handle": it.product.Handle,
		}
	}
	out := map[string]any{
		"item_count": count, "items": list, "total_price": total, "original_total_price": total,
		"items_subtotal_price": total, "total_discount": 0, "requires_shipping": ship, "currency": map[string]any{"iso_code": cur.Code},
		"note": untrusted(""), "attributes": map[themes.Untrusted]themes.Untrusted{}, "notices": []any{},
	}
	if c != nil {
		out["note"] = untrusted(c.Note)
		attrs := map[themes.Untrusted]themes.Untrusted{}
		for k, v := range c.Attributes {
			attrs[untrusted(k)] = untrusted(v)
		}
		out["attributes"] = attrs
		notices := make([]any, len(c.Notices))
		for i, n := range c.Notices {
			notices[i] = untrusted(n)
		}
		out["notices"] = notices
		out["token"] = c.Token
	}
	return out
}

// cartJSON is cart.js, in Shopify's AJAX API shape (amounts in minor units).
type cartJSON struct {
	Token              string            `json:"token"`
	Note               string            `json:"note"`
	Attributes         map[string]string `json:"attributes"`
	OriginalTotalPrice int64             `json:"original_total_price"`
	TotalPrice         int64             `json:"total_price"`
	TotalDiscount      int64             `json:"total_discount"`
	TotalWeight        float64           `json:"total_weight"`
	ItemCount          int               `json:"item_count"`
	Items              []cartItemJSON    `json:"items"`
	RequiresShipping   bool              `json:"requires_shipping"`
	Currency           string            `json:"currency"`
	ItemsSubtotalPrice int64             `json:"items_subtotal_price"`
	Notices            []string          `json:"notices"`
}

type cartItemJSON struct {
	ID                int64             `json:"id"`
	Properties        map[string]string `json:"properties"`
	Quantity          int               `json:"quantity"`
	VariantID         int64             `json:"variant_id"`
	Key               string            `json:"key"`
	Title             string            `json:"title"`
	Price             int64             `json:"price"`
	OriginalPrice     int64             `json:"original_price"`
	DiscountedPrice   int64             `json:"discounted_price"`
	LinePrice         int64             `json:"line_price"`
	OriginalLinePrice int64             `json:"original_line_price"`
	FinalPrice        int64             `json:"final_price"`
	FinalLinePrice    int64             `json:"final_line_price"`
	TotalDiscount     int64             `json:"total_discount"`
	SKU               string            `json:"sku"`
	Grams             int64             `json:"grams"`
	Vendor            string            `json:"vendor"`
	Taxable           bool              `json:"taxable"`
	ProductID         int64             `json:"product_id"`
	URL               string            `json:"url"`
	Image             *string           `json:"image"`
	Handle            string            `json:"handle"`
	RequiresShipping  bool              `json:"requires_shipping"`
	ProductType       string            `json:"product_type"`
	ProductTitle      string            `json:"product_title"`
	VariantTitle      *string           `json:"variant_title"`
	VariantOptions    []string          `json:"variant_options"`
}

var gramsPer = map[string]float64{"g": 1, "kg": 1000, "oz": 28.349523125, "lb": 453.59237}

func toCartJSON(c *cart, cur money.Currency) cartJSON {
	items, count, total, ship := itemsOf(c)
	out := cartJSON{Attributes: map[string]string{}, Items: []cartItemJSON{}, Currency: cur.Code, ItemCount: count,
		TotalPrice: total, OriginalTotalPrice: total, ItemsSubtotalPrice: total, RequiresShipping: ship, Notices: []string{}}
	if c != nil {
		out.Token, out.Note, out.Attributes = c.Token, c.Note, c.Attributes
		out.Notices = append(out.Notices, c.Notices...)
	}
	for _, it := range items {
		v := it.variant
		grams := int64(v.Weight*gramsPer[v.WeightUnit] + 0.5)
		j := cartItemJSON{ID: it.VariantID, Properties: orEmpty(it.props), Quantity: it.Quantity, VariantID: it.VariantID,
			Key: strconv.FormatInt(it.VariantID, 10), Title: it.title, Price: it.price, OriginalPrice: it.price,
			DiscountedPrice: it.price, LinePrice: it.linePrice, OriginalLinePrice: it.linePrice, FinalPrice: it.price,
			FinalLinePrice: it.linePrice, SKU: v.SKU, Grams: grams, Vendor: it.product.Vendor, Taxable: v.Taxable,
			ProductID: it.product.ID, URL: it.url, Handle: it.product.Handle, RequiresShipping: v.RequiresShipping,
			ProductType: it.product.ProductType, ProductTitle: it.product.Title, VariantOptions: []string{}}
		if it.image != nil {
			src := it.image["src"].(string)
			j.Image = &src
		}
		if it.variantTitle != "" {
			j.VariantTitle = &it.variantTitle
		}
		for _, o := range v.Options {
			if o != nil {
				j.VariantOptions = append(j.VariantOptions, *o)
			}
		}
		out.TotalWeight += float64(grams * int64(it.Quantity))
		out.Items = append(out.Items, j)
	}
	return out
}
