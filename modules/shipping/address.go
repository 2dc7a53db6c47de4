package shipping

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/biter777/countries"
	"github.com/go-playground/validator/v10"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/storefleet/storefleet/internal/errs"
)

// Where the address data comes from. Google's address data (Boostport/address,
// bojanz/address) is what we wanted, but the Go module proxy refuses both
// modules here, so the data is assembled from two libraries that it serves:
//
//   - github.com/biter777/countries: ISO 3166-1 countries and ISO 3166-2
//     subdivisions (from Debian's iso-codes), for codes and region names;
//   - github.com/go-playground/validator/v10 (already built in through gin):
//     its postcode_iso3166_alpha2 patterns (GeoNames) for postal codes;
//
// and CLDR (golang.org/x/text) for the countries' display names. What no
// library says — which countries need a region, which regions their
// addresses use, which have no cities — is kept in the small tables below.

// regionRule says that a country's addresses need a region, and which
// ISO 3166-2 subdivision types are the ones addresses use (nil: all).
type regionRule struct {
	types []countries.SubdivisionTypeCode
}

// regionCountries are the countries whose addresses need a region (state,
// province, prefecture) for delivery, as in Google's address data.
var regionCountries = map[string]regionRule{
	"AR": {}, "AU": {}, "BR": {}, "CA": {}, "IN": {}, "JP": {}, "MX": {}, "MY": {}, "US": {},
	// Hong Kong and Macao are countries of their own here.
	"CN": {types: []countries.SubdivisionTypeCode{"Province", "Autonomous Region", "Municipality"}},
	// Addresses name the province, not the autonomous community or region.
	"ES": {types: []countries.SubdivisionTypeCode{"Province", "Autonomous City"}},
	"IT": {types: []countries.SubdivisionTypeCode{"Province"}},
}

// noCity are the city-states whose addresses have no city line.
var noCity = map[string]bool{"HK": true, "MO": true, "SG": true, "MC": true, "VA": true, "GI": true}

// postcodeFixes replace patterns in the validator's table that are out of
// date: South Korea has used five-digit codes since 2015.
var postcodeFixes = map[string]*regexp.Regexp{"KR": regexp.MustCompile(`^\d{5}$`)}

// postcodeCountries are the countries the validator has a pattern for: the
// keys of its postcode table, which it does not export. A country outside
// this list takes any postal code, or none.
var postcodeCountries = strings.Fields(`AD AM AR AS AT AU AX AZ BA BB BD BE BG BH BM BN BR BY CA CC CH CK CL CN CR CV CX
	CY CZ DE DK DO DZ EC EE EG ES ET FI FK FM FO FR GB GE GF GG GL GN GP GR GS GT GU GW HM HN HR HT HU ID IL IM IN
	IO IQ IS IT JE JO JP KE KG KH KR KW KZ LA LB LI LK LR LS LT LU LV MA MC MD ME MG MH MK MN MP MQ MT MU MV MX MY
	NC NE NF NG NI NL NO NP NZ OM PF PG PH PK PL PM PN PR PT PW PY RE RO RS RU SA SE SG SH SI SJ SK SM SN SO SZ
	TC TH TJ TM TN TR TW UA US UY UZ VA VE VI VN WF XK YT ZA ZM`)

var (
	validate     = validator.New()
	countryNames = display.English.Regions()
	countryList  = sync.OnceValue(buildCountries)
)

// lookupCountry returns the country with ISO 3166-1 alpha-2 code code.
func lookupCountry(code string) (Country, bool) {
	list := countryList()
	i, ok := slices.BinarySearchFunc(list, code, func(c Country, code string) int { return cmp.Compare(c.Code, code) })
	if !ok {
		return Country{}, false
	}
	return list[i], true
}

func buildCountries() []Country {
	var out []Country
	for _, c := range countries.All() {
		code := c.Alpha2()
		if len(code) != 2 || c == countries.None || c == countries.Unknown {
			continue
		}
		rule, required := regionCountries[code]
		out = append(out, Country{
			Code: code, Name: displayName(c), Provinces: provincesOf(c, rule, required),
			ZipRequired: slices.Contains(postcodeCountries, code), ProvinceRequired: required,
		})
	}
	slices.SortFunc(out, func(a, b Country) int { return cmp.Compare(a.Code, b.Code) })
	return slices.CompactFunc(out, func(a, b Country) bool { return a.Code == b.Code })
}

// displayName is CLDR's English name ("South Korea", "Taiwan"), which reads
// better at a checkout than ISO's formal one; ISO's when CLDR has none.
func displayName(c countries.CountryCode) string {
	if r, err := language.ParseRegion(c.Alpha2()); err == nil {
		if n := countryNames.Name(r); n != "" && !strings.HasPrefix(n, "Unknown") {
			return strings.TrimSuffix(n, " SAR China")
		}
	}
	return c.String()
}

// provincesOf lists the regions addresses in c use: for a country that
// needs one, of the rule's types; otherwise all its subdivisions (optional
// on an address, but checked when given). Codes lose the country prefix
// ("US-CA" is "CA"), as Shopify writes province codes.
func provincesOf(c countries.CountryCode, rule regionRule, required bool) []Province {
	var out []Province
	for _, s := range c.Subdivisions() {
		if required && rule.types != nil && !slices.Contains(rule.types, s.SubdivisionType()) {
			continue
		}
		_, code, ok := strings.Cut(string(s), "-")
		if !ok {
			continue
		}
		out = append(out, Province{Code: code, Name: s.Info().Name})
	}
	slices.SortFunc(out, func(a, b Province) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Countries lists the countries (code, name, provinces with code and name,
// whether a postal code or province is required), sorted by code, for the
// checkout form's selects and the script that switches the region list.
// Provinces are listed only for countries that require one.
func Countries() []Country {
	list := countryList()
	out := make([]Country, len(list))
	for i, c := range list {
		out[i] = c
		if !c.ProvinceRequired {
			out[i].Provinces = nil
		}
		out[i].Provinces = slices.Clone(out[i].Provinces)
	}
	return out
}

// CountryName is the country's English name for display: CountryName("DE")
// = "Germany"; the code itself when it is not a country.
func CountryName(code string) string {
	if c, ok := lookupCountry(strings.ToUpper(strings.TrimSpace(code))); ok {
		return c.Name
	}
	return code
}

// ProvinceName is the name of a region of a country for display:
// ProvinceName("US", "CA") = "California"; the code itself when unknown.
func ProvinceName(country, code string) string {
	if p, ok := findProvince(strings.ToUpper(strings.TrimSpace(country)), code); ok {
		return p.Name
	}
	return code
}

// findProvince finds region code (or "US-CA") of country.
func findProvince(country, code string) (Province, bool) {
	c, ok := lookupCountry(country)
	if !ok {
		return Province{}, false
	}
	code = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(code)), country+"-")
	for _, p := range c.Provinces {
		if p.Code == code {
			return p, true
		}
	}
	return Province{}, false
}

// CheckAddress validates a for its country: a known ISO 3166-1 country code,
// a region code that exists in the country (required where addresses need
// one), a postal code that matches the country's format when it has one,
// and the fields the country requires (last name, address1, city). It
// returns per-field messages a shopper can act on (keys first_name,
// last_name, address1, city, province, country, zip), empty when valid,
// and a normalised copy: trimmed, codes upper-cased, the region code
// without its country prefix, and the postal code in its usual form
// ("K1A 0B1", "100-0001").
func CheckAddress(a Address) (Address, errs.Fields) {
	a = trimAddress(a)
	f := errs.Fields{}
	if a.LastName == "" {
		f.Add("last_name", "Enter a last name")
	}
	if a.Address1 == "" {
		f.Add("address1", "Enter an address")
	}
	for field, v := range map[string]string{"first_name": a.FirstName, "last_name": a.LastName, "address1": a.Address1, "city": a.City} {
		if len(v) > 255 {
			f.Add(field, "is too long (maximum is 255 characters)")
		}
	}
	a.CountryCode = strings.ToUpper(a.CountryCode)
	c, ok := lookupCountry(a.CountryCode)
	if !ok {
		if a.CountryCode == "" {
			f.Add("country", "Select a country")
		} else {
			f.Add("country", "Select a country from the list (%q is not a country code)", a.CountryCode)
		}
		return a, f
	}
	if a.City == "" && !noCity[c.Code] {
		f.Add("city", "Enter a city")
	}
	checkProvince(&a, c, f)
	checkZip(&a, c, f)
	return a, f
}

func trimAddress(a Address) Address {
	for _, p := range []*string{&a.FirstName, &a.LastName, &a.Company, &a.Address1, &a.Address2, &a.City,
		&a.ProvinceCode, &a.CountryCode, &a.Zip, &a.Phone} {
		*p = strings.Join(strings.Fields(*p), " ")
	}
	return a
}

func checkProvince(a *Address, c Country, f errs.Fields) {
	if a.ProvinceCode == "" {
		if c.ProvinceRequired {
			f.Add("province", "Select a %s", regionWord(c.Code))
		}
		return
	}
	p, ok := findProvince(c.Code, a.ProvinceCode)
	if !ok {
		f.Add("province", "Select a %s of %s from the list (%q is not one)", regionWord(c.Code), c.Name, a.ProvinceCode)
		return
	}
	a.ProvinceCode = p.Code
}

// regionWord is what a country calls its regions, for messages.
func regionWord(country string) string {
	switch country {
	case "US", "AU", "BR", "IN", "MX", "MY":
		return "state"
	case "JP":
		return "prefecture"
	}
	return "province"
}

func checkZip(a *Address, c Country, f errs.Fields) {
	a.Zip = strings.ToUpper(a.Zip)
	if !c.ZipRequired {
		return
	}
	word := "postal code"
	if c.Code == "US" {
		word = "ZIP code"
	}
	if a.Zip == "" {
		f.Add("zip", "Enter a %s", word)
		return
	}
	for _, z := range []string{formatZip(c.Code, a.Zip), a.Zip} {
		if zipMatches(c.Code, z) {
			a.Zip = z
			return
		}
	}
	f.Add("zip", "Enter a valid %s for %s", word, c.Name)
}

func zipMatches(country, zip string) bool {
	if re, ok := postcodeFixes[country]; ok {
		return re.MatchString(zip)
	}
	return validate.Var(zip, "postcode_iso3166_alpha2="+country) == nil
}

// formatZip writes zip the way the country's post writes it, where shoppers
// often leave out the space or hyphen.
func formatZip(country, zip string) string {
	compact := strings.NewReplacer(" ", "", "-", "").Replace(zip)
	switch country {
	case "CA", "GB", "IM", "JE", "GG":
		if len(compact) > 3 {
			return compact[:len(compact)-3] + " " + compact[len(compact)-3:]
		}
	case "NL":
		if len(compact) == 6 {
			return compact[:4] + " " + compact[4:]
		}
	case "JP":
		if len(compact) == 7 {
			return compact[:3] + "-" + compact[3:]
		}
	case "PL":
		if len(compact) == 5 {
			return compact[:2] + "-" + compact[2:]
		}
	case "BR":
		if len(compact) == 8 {
			return compact[:5] + "-" + compact[5:]
		}
	}
	return zip
}
