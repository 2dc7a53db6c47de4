package shop

import (
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/storefleet/storefleet/internal/errs"
)

// Address is the store's postal address. Customer emails show it in their
// footer, as the law on commercial email asks in many places; shop.json
// shows it with Shopify's field names.
type Address struct {
	Address1, Address2 string
	City               string
	ProvinceCode       string // "QC"; as the post writes it, not checked against a list
	Zip                string
	CountryCode        string // ISO 3166-1 alpha-2, "FR"
	Phone              string
}

// IsZero says the store has given no address (a new store has none).
func (a Address) IsZero() bool { return a == Address{} }

// Country is the English name of the address's country ("France"), "" when
// it has none.
func (a Address) Country() string {
	if a.CountryCode == "" {
		return ""
	}
	r, err := language.ParseRegion(a.CountryCode)
	if err != nil {
		return a.CountryCode
	}
	return display.English.Regions().Name(r)
}

// Summary is the address on one line, as an email's footer shows it:
// "1 Rue de la Paix, Apt 2, Paris 75002, France"; "" when it is empty.
func (a Address) Summary() string {
	var parts []string
	for _, s := range []string{a.Address1, a.Address2, strings.TrimSpace(strings.Join(nonEmpty(a.City, a.ProvinceCode, a.Zip), " ")), a.Country()} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// AddressUpdate changes some fields of the address; nil fields stay as
// they are. The address that results is checked whole (see checkAddress).
type AddressUpdate struct {
	Address1, Address2, City, ProvinceCode, Zip, CountryCode, Phone *string
}

// apply returns a with u's fields set.
func (u AddressUpdate) apply(a Address) Address {
	for _, p := range []struct {
		to   *string
		from *string
	}{
		{&a.Address1, u.Address1}, {&a.Address2, u.Address2}, {&a.City, u.City}, {&a.ProvinceCode, u.ProvinceCode},
		{&a.Zip, u.Zip}, {&a.CountryCode, u.CountryCode}, {&a.Phone, u.Phone},
	} {
		if p.from != nil {
			*p.to = *p.from
		}
	}
	return a
}

// checkAddress checks a store address, adding problems to f under
// Shopify's field names, and returns it trimmed, with the country and
// province codes upper-cased. An empty address is allowed (a new store has
// none); otherwise the street, city and country are needed, as a footer
// must locate the sender. The country is checked against ISO 3166-1 here:
// modules/shipping's CheckAddress, which also knows provinces and postal
// codes, imports this package, so this one cannot call it.
func checkAddress(f errs.Fields, a Address) Address {
	for _, p := range []*string{&a.Address1, &a.Address2, &a.City, &a.ProvinceCode, &a.Zip, &a.CountryCode, &a.Phone} {
		*p = strings.TrimSpace(*p)
	}
	a.CountryCode = strings.ToUpper(a.CountryCode)
	a.ProvinceCode = strings.ToUpper(a.ProvinceCode)
	if a.IsZero() {
		return a
	}
	for field, v := range map[string]string{"address1": a.Address1, "address2": a.Address2, "city": a.City, "zip": a.Zip} {
		if len(v) > 255 {
			f.Add(field, "is too long (maximum is 255 characters)")
		}
	}
	if len(a.ProvinceCode) > 10 {
		f.Add("province_code", "is too long (maximum is 10 characters): use the province's code, like QC or CA")
	}
	if len(a.Phone) > 50 {
		f.Add("phone", "is too long (maximum is 50 characters)")
	}
	if a.Address1 == "" {
		f.Add("address1", "can't be blank: enter the street address")
	}
	if a.City == "" {
		f.Add("city", "can't be blank: enter the city")
	}
	switch {
	case a.CountryCode == "":
		f.Add("country_code", "can't be blank: select a country")
	case !isCountry(a.CountryCode):
		f.Add("country_code", "%q is not an ISO 3166-1 country code (like US, FR or DE)", a.CountryCode)
	}
	return a
}

// isCountry says code is a current ISO 3166-1 alpha-2 country code.
func isCountry(code string) bool {
	if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
		return false
	}
	r, err := language.ParseRegion(code)
	return err == nil && r.IsCountry() && r.String() == code && r.ISO3() != "ZZZ"
}
