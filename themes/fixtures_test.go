package themes

import (
	"fmt"
	"maps"
)

// Fixture data shaped as README.md's "Objects" says the storefront builds it.

func testShop(currency string) map[string]any {
	shop := map[string]any{
		"name":        "Acme Tea",
		"url":         "https://acme-tea.example",
		"description": "Loose-leaf teas & teaware",
		"currency":    currency,
	}
	switch currency {
	case "USD":
		shop["money_format"] = "${{amount}}"
		shop["money_with_currency_format"] = "${{amount}} USD"
	case "JPY":
		shop["money_format"] = "¥{{amount_no_decimals}}"
		shop["money_with_currency_format"] = "¥{{amount_no_decimals}} JPY"
	}
	return shop
}

func testImage(n int, alt string) map[string]any {
	return map[string]any{"src": fmt.Sprintf("/files/tea-%d.jpg", n), "alt": alt, "width": 1200, "height": 1200}
}

// testProduct has two options and four variants: one sold out, one with
// three left.
func testProduct() map[string]any {
	img1, img2 := testImage(1, "Sencha leaves"), testImage(2, "Sencha in a cup")
	variant := func(id int, o1, o2 string, price, compare, qty int, available bool) map[string]any {
		return map[string]any{
			"id": id, "title": o1 + " / " + o2, "price": price, "compare_at_price": compare,
			"available": available, "sku": fmt.Sprintf("SEN-%d", id),
			"option1": o1, "option2": o2, "option3": nil,
			"inventory_quantity": qty, "inventory_management": "shopify", "inventory_policy": "deny",
			"featured_image": nil, "url": fmt.Sprintf("/products/sencha?variant=%d", id),
		}
	}
	variants := []any{
		variant(101, "50g", "Standard", 1999, 2499, 40, true),
		variant(102, "50g", "Premium", 2499, 0, 3, true),
		variant(103, "100g", "Standard", 2999, 0, 0, false),
		variant(104, "100g", "Premium", 3499, 0, 12, true),
	}
	return map[string]any{
		"id": 7, "title": "Sencha Green Tea", "handle": "sencha", "url": "/products/sencha",
		"description": "<p>A <strong>bright</strong>, grassy green tea.</p>",
		"vendor":      "Uji Farms", "type": "Tea", "tags": []any{"green", "japan"},
		"price": 1999, "price_min": 1999, "price_max": 3499, "price_varies": true,
		"compare_at_price": 2499, "compare_at_price_min": 0, "compare_at_price_max": 2499,
		"available": true, "has_only_default_variant": false,
		"variants": variants,
		"options":  []any{"Size", "Grade"},
		"options_with_values": []any{
			map[string]any{"name": "Size", "position": 1, "values": []any{"50g", "100g"}, "selected_value": "50g"},
			map[string]any{"name": "Grade", "position": 2, "values": []any{"Standard", "Premium"}, "selected_value": "Standard"},
		},
		"selected_or_first_available_variant": variants[0],
		"images":                              []any{img1, img2},
		"featured_image":                      img1,
		"object_type":                         "product",
	}
}

// testProducts makes n simple products.
func testProducts(n int) []any {
	out := make([]any, n)
	for i := range n {
		out[i] = map[string]any{
			"id": 1000 + i, "title": fmt.Sprintf("Tea No. %d", i+1), "handle": fmt.Sprintf("tea-%d", i+1),
			"url": fmt.Sprintf("/products/tea-%d", i+1), "price": 500 + 100*i, "price_min": 500 + 100*i,
			"price_max": 500 + 100*i, "compare_at_price": nil, "available": i%5 != 4, "vendor": "Acme",
			"featured_image": testImage(i+10, ""), "object_type": "product",
		}
	}
	return out
}

func testCollection(products []any) map[string]any {
	return map[string]any{
		"id": 3, "title": "All Teas", "handle": "all-teas", "url": "/collections/all-teas",
		"description": "<p>Every tea we sell.</p>", "products": products,
		"products_count": len(products), "all_products_count": len(products),
		"image": nil, "sort_by": "price-ascending", "default_sort_by": "manual",
		"sort_options": []any{
			map[string]any{"name": "Featured", "value": "manual"},
			map[string]any{"name": "Price, low to high", "value": "price-ascending"},
			map[string]any{"name": "Price, high to low", "value": "price-descending"},
		},
	}
}

func testLinklists() map[string]any {
	return map[string]any{
		"main-menu": map[string]any{"title": "Main menu", "links": []any{
			map[string]any{"title": "Home", "url": "/", "active": false},
			map[string]any{"title": "Teas", "url": "/collections/all-teas", "active": true},
			map[string]any{"title": "About us", "url": "/pages/about", "active": false},
		}},
		"footer": map[string]any{"title": "Footer", "links": []any{
			map[string]any{"title": "Shipping policy", "url": "/pages/shipping"},
			map[string]any{"title": "Contact", "url": "/pages/contact"},
		}},
	}
}

func testCart(note, attr string) map[string]any {
	return map[string]any{
		"item_count": 3, "total_price": 6497, "items_subtotal_price": 6497, "currency": "USD",
		"note": Untrusted(note), "attributes": UntrustedMap(map[string]string{"Gift message": attr}),
		"requires_shipping": true,
		"items": []any{
			map[string]any{"id": 101, "key": "101:abc", "quantity": 2, "title": "Sencha Green Tea - 50g / Standard",
				"product_title": "Sencha Green Tea", "variant_title": "50g / Standard", "url": "/products/sencha?variant=101",
				"image": testImage(1, "Sencha leaves"), "price": 1999, "line_price": 3998, "final_line_price": 3998,
				"variant_id": 101, "product_id": 7},
			map[string]any{"id": 102, "key": "102:def", "quantity": 1, "title": "Sencha Green Tea - 50g / Premium",
				"product_title": "Sencha Green Tea", "variant_title": "50g / Premium", "url": "/products/sencha?variant=102",
				"image": nil, "price": 2499, "line_price": 2499, "final_line_price": 2499, "variant_id": 102, "product_id": 7},
		},
	}
}

func emptyCart() map[string]any {
	return map[string]any{"item_count": 0, "total_price": 0, "items_subtotal_price": 0, "items": []any{},
		"note": Untrusted(""), "attributes": UntrustedMap(nil), "currency": "USD"}
}

func testAddress(name, line1 string) map[string]any {
	return map[string]any{"name": Untrusted(name), "first_name": Untrusted(name), "last_name": Untrusted(""),
		"company": Untrusted(""), "address1": Untrusted(line1), "address2": Untrusted(""),
		"city": Untrusted("Portland"), "province": Untrusted("Oregon"), "zip": Untrusted("97201"),
		"country": Untrusted("United States"), "phone": Untrusted("")}
}

func testOrder() map[string]any {
	return map[string]any{
		"id": 9001, "name": "#1001", "order_number": 1001, "created_at": "2026-03-14T10:00:00Z",
		"financial_status": "paid", "financial_status_label": "Paid",
		"fulfillment_status": "unfulfilled", "fulfillment_status_label": "Unfulfilled",
		"customer_url": "/account/orders/abc123", "cancelled": false,
		"subtotal_price": 3998, "shipping_price": 500, "tax_price": 320, "total_price": 4818,
		"line_items": []any{
			map[string]any{"title": "Sencha Green Tea - 50g / Standard", "sku": "SEN-101", "quantity": 2,
				"price": 1999, "final_price": 1999, "line_price": 3998, "final_line_price": 3998, "url": "/products/sencha"},
		},
		"shipping_address": testAddress("Ada Lovelace", "1 Main St"),
		"billing_address":  testAddress("Ada Lovelace", "1 Main St"),
	}
}

func testCustomer(name, line1 string) map[string]any {
	addr := testAddress(name, line1)
	return map[string]any{
		"id": 55, "first_name": Untrusted(name), "last_name": Untrusted("Lovelace"), "name": Untrusted(name + " Lovelace"),
		"email": Untrusted("ada@example.com"), "orders": []any{testOrder()}, "orders_count": 1,
		"default_address": addr, "addresses": []any{addr},
	}
}

// pageVars returns the objects of a page, as the storefront builds them.
func pageVars(template string) map[string]any {
	vars := map[string]any{
		"shop":      testShop("USD"),
		"linklists": testLinklists(),
		"cart":      testCart("Please gift wrap", "Happy birthday"),
		"collections": []any{testCollection(testProducts(30)), func() map[string]any {
			c := testCollection(testProducts(4))
			c["handle"], c["title"], c["url"] = "frontpage", "Home page", "/collections/frontpage"
			return c
		}()},
		"page_title": "Acme Tea",
	}
	switch template {
	case "product":
		vars["product"] = testProduct()
		vars["page_title"] = "Sencha Green Tea"
	case "collection":
		vars["collection"] = testCollection(testProducts(30))
	case "search":
		vars["search"] = map[string]any{"terms": Untrusted("tea"), "performed": true, "results_count": 3,
			"results": append(testProducts(2), map[string]any{"object_type": "page", "title": "About our tea", "url": "/pages/about", "content": "<p>We love tea.</p>"})}
	case "cart":
	case "page":
		vars["page"] = map[string]any{"title": "About us", "handle": "about", "url": "/pages/about", "content": "<p>We started in <em>2009</em>.</p>"}
	case "customers/account":
		vars["customer"] = testCustomer("Ada", "1 Main St")
	case "customers/order":
		vars["customer"] = testCustomer("Ada", "1 Main St")
		vars["order"] = testOrder()
	}
	return vars
}

func withVars(base map[string]any, extra map[string]any) map[string]any {
	out := maps.Clone(base)
	maps.Copy(out, extra)
	return out
}
