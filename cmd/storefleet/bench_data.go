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

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/tenant"
)

// The bench's data generator. Everything about a store follows from the
// seed and the store's index alone (each store draws from its own PCG
// stream), so two runs with one seed make the same fleet whatever order
// the stores are generated in.

// benchStore is the plan of one store: its names, catalog and customers.
type benchStore struct {
	Index       int
	Slug, Name  string
	Products    []benchProduct
	Collections []benchCollection
	Customers   []benchCustomer
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
// home page's "frontpage" and "new-arrivals") and customers customers.
func planBenchStore(seed uint64, index, products, customers int) benchStore {
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
	Tokens      int `json:"tokens"`
}

func (c *benchCounts) add(o benchCounts) {
	c.Products += o.Products
	c.Variants += o.Variants
	c.Images += o.Images
	c.Stock += o.Stock
	c.Collections += o.Collections
	c.Customers += o.Customers
	c.Tokens += o.Tokens
}

// generateBenchStore fills store t with plan s through the modules' services,
// as a merchant's edits would, and mints its bench token.
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
	for k, bp := range s.Products {
		in := bp.input()
		p, err := cat.CreateProduct(ctx, t, in)
		if err != nil {
			return site, n, fmt.Errorf("store %s product %q: %w", t.Slug, bp.Title, err)
		}
		ids[k] = p.ID
		site.Products = append(site.Products, p.Handle)
		n.Products++
		n.Images += len(p.Images)
		for v, pv := range p.Variants {
			n.Variants++
			site.Items = append(site.Items, pv.ID) // an inventory item shares its variant's id
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
	for _, bc := range s.Customers {
		_, err := cust.CreateCustomer(ctx, t, bc.input())
		if err != nil {
			return site, n, fmt.Errorf("store %s customer %s: %w", t.Slug, bc.Email, err)
		}
		n.Customers++
	}
	_, secret, err := d.db.CreateToken(ctx, t, "bench", benchScopes)
	if err != nil {
		return site, n, fmt.Errorf("store %s token: %w", t.Slug, err)
	}
	site.Token = secret
	n.Tokens++
	return site, n, nil
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
		price, sku := bv.Price, bv.SKU
		variants[v] = catalog.VariantInput{Price: &price, SKU: &sku}
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
