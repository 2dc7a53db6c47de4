package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shipping"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// The bench's data generator. Everything about a store follows from the
// seed and the store's index alone (each store draws from its own PCG
// stream), so two runs with one seed make the same fleet whatever order
// the stores are generated in.

// benchStore is the plan of one store: its names, catalog, customers and
// past orders.
type benchStore struct {
	Index       int
	Slug, Name  string
	Products    []benchProduct
	Collections []benchCollection
	Customers   []benchCustomer
	Orders      []benchOrder
}

// benchProduct is one product with its options, variants, stock and the
// colour of its picture.
type benchProduct struct {
	Title, Handle, Vendor, Type, BodyHTML string
	Tags                                  []string
	Options                               []string // option names; none for a single default variant
	Variants                              []benchVariant
	Picture                               color.RGBA
}

type benchVariant struct {
	Options []string // one value per option
	SKU     string
	Price   money.Amount // minor units of the store's currency (USD)
	Stock   int64        // available at the store's first location
}

type benchCollection struct {
	Title, Handle string
	Products      []int // indexes into the store's Products
}

type benchCustomer struct {
	FirstName, LastName, Email string
	Address1, City, Zip        string
	Country, CountryCode       string
}

// benchOrder is a past order: a customer's (an index into the store's
// Customers) or a guest's (-1), with one to three lines.
type benchOrder struct {
	Customer int
	Lines    []benchOrderLine
}

// benchOrderLine is a quantity of one variant of one of the store's products.
type benchOrderLine struct {
	Product, Variant int // indexes into Products and its Variants
	Quantity         int64
}

// benchShipping is the price of the one shipping rate every generated
// store offers, in minor units: flat, to every country.
const benchShipping money.Amount = 500

var (
	benchAdjectives = []string{"amber", "birch", "cedar", "coral", "dusk", "ember", "fern", "frost", "golden", "harbor",
		"indigo", "jade", "juniper", "linen", "maple", "meadow", "misty", "north", "olive", "pine", "quiet", "river",
		"rustic", "saffron", "slate", "solar", "stone", "sunny", "tidal", "velvet", "willow", "wild"}
	benchNouns = []string{"anchor", "atelier", "barn", "basket", "bay", "bazaar", "bloom", "cabin", "corner", "cove",
		"crate", "dock", "field", "forge", "garden", "grove", "hollow", "kiln", "lantern", "loft", "market", "mill",
		"orchard", "pantry", "parlor", "port", "shed", "studio", "trail", "vale", "workshop", "yard"}
	benchStoreKinds = []string{"Goods", "Supply", "Trading Co.", "Studio", "Market", "Outfitters", "Provisions", "House"}

	benchMaterials = []string{"Ceramic", "Linen", "Oak", "Walnut", "Copper", "Wool", "Cotton", "Glass", "Leather",
		"Bamboo", "Cast Iron", "Stoneware", "Brass", "Hemp", "Porcelain", "Cork"}
	benchQualities = []string{"Classic", "Everyday", "Handmade", "Heritage", "Minimal", "Rustic", "Modern", "Small-Batch",
		"Vintage", "Field", "Coastal", "Alpine"}
	benchItems = []struct{ name, kind string }{
		{"Mug", "Kitchen"}, {"Teapot", "Kitchen"}, {"Bowl", "Kitchen"}, {"Cutting Board", "Kitchen"}, {"Apron", "Kitchen"},
		{"Tote Bag", "Bags"}, {"Backpack", "Bags"}, {"Wallet", "Bags"}, {"Throw Blanket", "Home"}, {"Cushion", "Home"},
		{"Candle", "Home"}, {"Vase", "Home"}, {"Notebook", "Stationery"}, {"Pen Case", "Stationery"}, {"Scarf", "Apparel"},
		{"Beanie", "Apparel"}, {"Socks", "Apparel"}, {"Planter", "Garden"}, {"Watering Can", "Garden"}, {"Lamp", "Home"},
	}
	benchSizes  = []string{"Small", "Medium", "Large"}
	benchColors = []string{"Natural", "Charcoal", "Sage", "Rust", "Ocean", "Sand"}

	benchFirstNames = []string{"Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira",
		"Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Viktor", "Wen", "Yusuf", "Zoe"}
	benchLastNames = []string{"Abbott", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
		"Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi", "Silva", "Tanaka"}
	benchCities = []struct{ city, country, code, zip string }{
		{"Lisbon", "Portugal", "PT", "1100-148"}, {"Lyon", "France", "FR", "69002"}, {"Austin", "United States", "US", "78701"},
		{"Toronto", "Canada", "CA", "M5V 2T6"}, {"Leeds", "United Kingdom", "GB", "LS1 4DY"}, {"Osaka", "Japan", "JP", "530-0001"},
		{"Porto", "Portugal", "PT", "4000-322"}, {"Berlin", "Germany", "DE", "10115"},
	}
	benchStreets = []string{"Mill Lane", "Harbor Road", "Station Street", "Orchard Way", "King Street", "Canal Walk"}
)

func benchPick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// benchRand is store index's own stream for seed.
func benchRand(seed uint64, index int, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(index)<<8|stream))
}

// benchStoreName is store index's slug and name for seed. The index is in
// the slug, so slugs never repeat.
func benchStoreName(seed uint64, index int) (slug, name string) {
	r := benchRand(seed, index, 0)
	adj, noun := benchPick(r, benchAdjectives), benchPick(r, benchNouns)
	slug = fmt.Sprintf("%s-%s-%d", adj, noun, index+1)
	name = fmt.Sprintf("%s %s %s", benchTitleWord(adj), benchTitleWord(noun), benchPick(r, benchStoreKinds))
	return slug, name
}

func benchTitleWord(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// planBenchStore returns the plan of store index for seed: products products
// (one to six variants each, one picture, stock), two collections (the
// home page's "frontpage" and "new-arrivals"), customers customers and
// orders past orders.
func planBenchStore(seed uint64, index, products, customers, orders int) benchStore {
	s := benchStore{Index: index}
	s.Slug, s.Name = benchStoreName(seed, index)

	r := benchRand(seed, index, 1)
	seen := map[string]bool{}
	for k := range products {
		item := benchPick(r, benchItems)
		title := fmt.Sprintf("%s %s %s", benchPick(r, benchQualities), benchPick(r, benchMaterials), item.name)
		if seen[title] {
			title = fmt.Sprintf("%s No. %d", title, k+1)
		}
		seen[title] = true
		p := benchProduct{
			Title:    title,
			Handle:   catalog.Handleize(title),
			Vendor:   s.Name,
			Type:     item.kind,
			BodyHTML: fmt.Sprintf("<p>%s, made for %s. A bench product.</p>", title, s.Name),
			Tags:     []string{"bench", strings.ToLower(item.kind)},
			Picture:  color.RGBA{uint8(40 + r.IntN(180)), uint8(40 + r.IntN(180)), uint8(40 + r.IntN(180)), 255},
		}
		sizes, colors := benchSizes[:1+r.IntN(len(benchSizes))], []string(nil)
		if r.IntN(2) == 0 {
			colors = slices.Clone(benchColors)
			r.Shuffle(len(colors), func(i, j int) { colors[i], colors[j] = colors[j], colors[i] })
			colors = colors[:2]
		}
		base := money.Amount((5+r.IntN(90))*100 + 99) // 5.99 … 94.99
		switch {
		case len(sizes) == 1 && colors == nil:
			p.Variants = []benchVariant{{}}
		case colors == nil:
			p.Options = []string{"Size"}
			for _, sz := range sizes {
				p.Variants = append(p.Variants, benchVariant{Options: []string{sz}})
			}
		default:
			p.Options = []string{"Size", "Color"}
			for _, sz := range sizes {
				for _, c := range colors {
					p.Variants = append(p.Variants, benchVariant{Options: []string{sz, c}})
				}
			}
		}
		for v := range p.Variants {
			vr := &p.Variants[v]
			vr.SKU = fmt.Sprintf("B%d-P%d-V%d", index+1, k+1, v+1)
			vr.Price = base + money.Amount(v*200)
			vr.Stock = int64(r.IntN(60))
			if r.IntN(10) == 0 {
				vr.Stock = 0 // some variants are sold out
			}
		}
		s.Products = append(s.Products, p)
	}

	featured := benchCollection{Title: "Featured", Handle: "frontpage"}
	for k := range min(8, products) {
		featured.Products = append(featured.Products, k)
	}
	arrivals := benchCollection{Title: "New arrivals", Handle: "new-arrivals"}
	for k := products / 2; k < products; k++ {
		arrivals.Products = append(arrivals.Products, k)
	}
	s.Collections = []benchCollection{featured, arrivals}

	r = benchRand(seed, index, 2)
	for k := range customers {
		first, last, city := benchPick(r, benchFirstNames), benchPick(r, benchLastNames), benchPick(r, benchCities)
		s.Customers = append(s.Customers, benchCustomer{
			FirstName: first, LastName: last,
			Email:    fmt.Sprintf("%s.%s.%d@%s.example", strings.ToLower(first), strings.ToLower(last), k+1, s.Slug),
			Address1: fmt.Sprintf("%d %s", 1+r.IntN(200), benchPick(r, benchStreets)),
			City:     city.city, Zip: city.zip, Country: city.country, CountryCode: city.code,
		})
	}

	r = benchRand(seed, index, 3)
	for range orders {
		o := benchOrder{Customer: -1}
		if customers > 0 && r.IntN(4) > 0 { // a quarter are guests' orders
			o.Customer = r.IntN(customers)
		}
		used := map[[2]int]bool{}
		for range 1 + r.IntN(3) {
			k := r.IntN(len(s.Products))
			l := benchOrderLine{Product: k, Variant: r.IntN(len(s.Products[k].Variants)), Quantity: int64(1 + r.IntN(3))}
			if used[[2]int{l.Product, l.Variant}] {
				continue
			}
			used[[2]int{l.Product, l.Variant}] = true
			o.Lines = append(o.Lines, l)
		}
		s.Orders = append(s.Orders, o)
	}
	return s
}

// benchPicture draws a product's 64-pixel picture: its colour with a
// lighter diagonal band. Small on purpose: thousands are made per run.
func benchPicture(c color.RGBA) []byte {
	const size = 64
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	light := color.RGBA{uint8(min(255, int(c.R)+60)), uint8(min(255, int(c.G)+60)), uint8(min(255, int(c.B)+60)), 255}
	for y := range size {
		for x := range size {
			if d := x - y; d > -10 && d < 10 {
				img.SetRGBA(x, y, light)
			} else {
				img.SetRGBA(x, y, c)
			}
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}) // writing to a buffer cannot fail
	return b.Bytes()
}

// benchScopes are what each store's bench token may do.
var benchScopes = []string{"read_products", "write_products", "read_inventory", "write_inventory"}

// benchSite is what the load scenarios need of a generated store.
type benchSite struct {
	Store       *tenant.Tenant
	Products    []string // handles
	Collections []string // handles
	Items       []int64  // inventory item ids (one per variant)
	Stock       []int64  // each item's stock as generated (Admin API runs may add to it)
	Location    int64    // the store's first active location
	Token       string   // an Admin API token with benchScopes
}

// benchCounts is what the generator made, summed over stores.
type benchCounts struct {
	Products    int `json:"products"`
	Variants    int `json:"variants"`
	Images      int `json:"images"`
	Stock       int `json:"stock_levels"`
	Collections int `json:"collections"`
	Customers   int `json:"customers"`
	Orders      int `json:"orders"` // past orders
	Zones       int `json:"shipping_zones"`
	Tokens      int `json:"tokens"`
}

func (c *benchCounts) add(o benchCounts) {
	c.Products += o.Products
	c.Variants += o.Variants
	c.Images += o.Images
	c.Stock += o.Stock
	c.Collections += o.Collections
	c.Customers += o.Customers
	c.Orders += o.Orders
	c.Zones += o.Zones
	c.Tokens += o.Tokens
}

// generateBenchStore fills store t with plan s through the modules' services,
// as a merchant's edits would, gives it a shipping zone, places its past
// orders and mints its bench token.
func generateBenchStore(ctx context.Context, d *deps, t *tenant.Tenant, s benchStore) (benchSite, benchCounts, error) {
	cat, inv, cust := d.catalog(), inventory.NewService(d.db), customers.NewService(d.db)
	site := benchSite{Store: t}
	var n benchCounts
	locs, err := inv.Locations(ctx, t)
	if err != nil {
		return site, n, err
	}
	i := slices.IndexFunc(locs, func(l inventory.Location) bool { return l.Active })
	if i < 0 {
		return site, n, fmt.Errorf("store %s has no active location", t.Slug)
	}
	site.Location = locs[i].ID

	ids := make([]int64, len(s.Products))
	made := make([]catalog.Product, len(s.Products))
	for k, bp := range s.Products {
		in := bp.input()
		p, err := cat.CreateProduct(ctx, t, in)
		if err != nil {
			return site, n, fmt.Errorf("store %s product %q: %w", t.Slug, bp.Title, err)
		}
		ids[k], made[k] = p.ID, p
		site.Products = append(site.Products, p.Handle)
		n.Products++
		n.Images += len(p.Images)
		for v, pv := range p.Variants {
			n.Variants++
			site.Items = append(site.Items, pv.ID) // an inventory item shares its variant's id
			site.Stock = append(site.Stock, bp.Variants[v].Stock)
			ch := inventory.Change{ItemID: pv.ID, LocationID: site.Location, Quantity: bp.Variants[v].Stock, Reason: "received", Actor: "bench"}
			if _, err := inv.SetAvailable(ctx, t, ch); err != nil {
				return site, n, fmt.Errorf("store %s stock of %s: %w", t.Slug, pv.SKU, err)
			}
			n.Stock++
		}
	}
	for _, bc := range s.Collections {
		title, handle, published := bc.Title, bc.Handle, true
		in := catalog.CollectionInput{Title: &title, Handle: &handle, Published: &published}
		for _, k := range bc.Products {
			in.Products = append(in.Products, ids[k])
		}
		c, err := cat.CreateCollection(ctx, t, in)
		if err != nil {
			return site, n, fmt.Errorf("store %s collection %s: %w", t.Slug, bc.Handle, err)
		}
		site.Collections = append(site.Collections, c.Handle)
		n.Collections++
	}
	customerIDs := make([]int64, len(s.Customers))
	for k, bc := range s.Customers {
		c, err := cust.CreateCustomer(ctx, t, bc.input())
		if err != nil {
			return site, n, fmt.Errorf("store %s customer %s: %w", t.Slug, bc.Email, err)
		}
		customerIDs[k] = c.ID
		n.Customers++
	}
	if _, err := shipping.NewService(d.db).CreateZone(ctx, t, benchZone); err != nil {
		return site, n, fmt.Errorf("store %s shipping zone: %w", t.Slug, err)
	}
	n.Zones++
	if len(s.Orders) > 0 {
		// One transaction for the store's past orders: a few milliseconds, not a few per order.
		err := d.db.Tx(ctx, t, func(tx *gorm.DB) error {
			cur, err := shop.CurrencyIn(tx)
			if err != nil {
				return err
			}
			for k, bo := range s.Orders {
				if _, err := orders.PlaceIn(tx, bo.newOrder(s, made, customerIDs, cur)); err != nil {
					return fmt.Errorf("past order %d: %w", k+1, err)
				}
			}
			return nil
		})
		if err != nil {
			return site, n, fmt.Errorf("store %s: %w", t.Slug, err)
		}
		n.Orders += len(s.Orders)
	}
	_, secret, err := d.db.CreateToken(ctx, t, "bench", benchScopes)
	if err != nil {
		return site, n, fmt.Errorf("store %s token: %w", t.Slug, err)
	}
	site.Token = secret
	n.Tokens++
	return site, n, nil
}

// benchZone is every generated store's shipping: one flat rate to every
// country, so that a shopper from anywhere can check out.
var benchZone = shipping.ZoneInput{Name: "Everywhere", Countries: []shipping.ZoneCountryInput{{Code: shipping.RestOfWorld}},
	PriceRates: []shipping.PriceRateInput{{Name: "Standard", Price: "5.00"}}}

// newOrder is past order o of store s as orders.PlaceIn takes it: the
// products' variants as made (ids, prices), the customer's address, the
// flat shipping rate, no tax, and inventory bypassed, so that stock stays
// as generated.
func (o benchOrder) newOrder(s benchStore, made []catalog.Product, customerIDs []int64, cur money.Currency) orders.NewOrder {
	n := orders.NewOrder{Currency: cur.Code, Gateway: "manual", PaymentMethod: "Bank transfer", SourceName: "web",
		InventoryBehaviour: orders.InventoryBypass, Actor: "bench", Tags: []string{"bench"},
		ShippingLines: []orders.ShippingLine{{Title: "Standard", Code: "Standard", Source: "storefleet", Price: benchShipping}}}
	if o.Customer >= 0 {
		c := s.Customers[o.Customer]
		n.Email, n.CustomerID = c.Email, &customerIDs[o.Customer]
		n.ShippingAddress = &orders.Address{FirstName: c.FirstName, LastName: c.LastName, Address1: c.Address1, City: c.City,
			Zip: c.Zip, Country: c.Country, CountryCode: c.CountryCode}
	} else {
		n.Email = fmt.Sprintf("guest@%s.example", s.Slug)
	}
	for _, l := range o.Lines {
		p := made[l.Product]
		v := p.Variants[l.Variant]
		n.Lines = append(n.Lines, orders.NewLine{VariantID: &v.ID, ProductID: &p.ID, Title: p.Title, VariantTitle: v.Title(),
			SKU: v.SKU, Vendor: p.Vendor, Quantity: l.Quantity, Price: v.Price, RequiresShipping: true, Taxable: true, Tracked: true})
		n.SubtotalPrice += v.Price * money.Amount(l.Quantity)
	}
	n.BillingAddress = n.ShippingAddress
	n.TotalShipping = benchShipping
	n.TotalPrice = n.SubtotalPrice + n.TotalShipping
	return n
}

// input is the product as the catalog service takes it.
func (bp benchProduct) input() catalog.ProductInput {
	title, body, vendor, typ, handle := bp.Title, bp.BodyHTML, bp.Vendor, bp.Type, bp.Handle
	tags, alt := slices.Clone(bp.Tags), bp.Title
	in := catalog.ProductInput{Title: &title, BodyHTML: &body, Vendor: &vendor, ProductType: &typ, Handle: &handle, Tags: &tags,
		Images: &[]catalog.ImageInput{{Attachment: benchPicture(bp.Picture), Alt: &alt}}}
	if len(bp.Options) > 0 {
		names := slices.Clone(bp.Options)
		in.Options = &names
	}
	variants := make([]catalog.VariantInput, len(bp.Variants))
	for v, bv := range bp.Variants {
		price, sku, shopify := bv.Price, bv.SKU, "shopify"
		tracked := &shopify
		// Stock tracked, as a merchant's usually is: a variant at zero shows
		// sold out, and a checkout takes its units.
		variants[v] = catalog.VariantInput{Price: &price, SKU: &sku, InventoryManagement: &tracked}
		for o := range bv.Options {
			val := bv.Options[o]
			variants[v].Options[o] = &val
		}
	}
	in.Variants = &variants
	return in
}

// input is the customer as the customers service takes it.
func (bc benchCustomer) input() customers.CustomerInput {
	first, last, email := bc.FirstName, bc.LastName, bc.Email
	a1, city, zip, country, code := bc.Address1, bc.City, bc.Zip, bc.Country, bc.CountryCode
	accepts := len(bc.Email)%2 == 0
	return customers.CustomerInput{Email: &email, FirstName: &first, LastName: &last, AcceptsMarketing: &accepts,
		Addresses: &[]customers.AddressInput{{FirstName: &first, LastName: &last, Address1: &a1, City: &city, Zip: &zip,
			Country: &country, CountryCode: &code}}}
}
