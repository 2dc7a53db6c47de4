package shipping

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestCheckAddress(t *testing.T) {
	base := func(country, province, zip string) Address {
		return Address{FirstName: "Ada", LastName: "Lovelace", Address1: "1 Main St", City: "Town",
			CountryCode: country, ProvinceCode: province, Zip: zip}
	}
	for _, tc := range []struct {
		name     string
		in       Address
		wantKeys []string // fields with problems
		wantZip  string   // normalised zip, when valid
		wantProv string
	}{
		{"US state and ZIP", base("us", "ca", "94043"), nil, "94043", "CA"},
		{"US ZIP+4", base("US", "US-NY", "10001-1234"), nil, "10001-1234", "NY"},
		{"US bad ZIP", base("US", "CA", "9404"), []string{"zip"}, "", ""},
		{"US missing state", base("US", "", "94043"), []string{"province"}, "", ""},
		{"US bad state", base("US", "ZZ", "94043"), []string{"province"}, "", ""},
		{"CA postal code without space", base("CA", "ON", "k1a0b1"), nil, "K1A 0B1", "ON"},
		{"CA bad postal code", base("CA", "ON", "12345"), []string{"zip"}, "", ""},
		{"GB postcode", base("GB", "", "sw1a1aa"), nil, "SW1A 1AA", ""},
		{"GB bad postcode", base("GB", "", "12345"), []string{"zip"}, "", ""},
		{"DE", base("DE", "", "10115"), nil, "10115", ""},
		{"DE optional state given", base("DE", "BE", "10115"), nil, "10115", "BE"},
		{"DE bad postcode", base("DE", "", "1011"), []string{"zip"}, "", ""},
		{"JP prefecture and postal code", base("JP", "13", "1000001"), nil, "100-0001", "13"},
		{"JP missing prefecture", base("JP", "", "100-0001"), []string{"province"}, "", ""},
		{"HK without postal code or city", Address{LastName: "Chan", Address1: "1 Queen's Rd", CountryCode: "HK"}, nil, "", ""},
		{"AE without postal code", base("AE", "", ""), nil, "", ""},
		{"KR five digits", base("KR", "", "03187"), nil, "03187", ""},
		{"unknown country", base("XX", "", "1"), []string{"country"}, "", ""},
		{"no country", base("", "", "1"), []string{"country"}, "", ""},
		{"missing fields", Address{CountryCode: "DE", Zip: "10115"}, []string{"address1", "city", "last_name"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, f := CheckAddress(tc.in)
			var keys []string
			for k, msgs := range f {
				if len(msgs) > 0 {
					keys = append(keys, k)
				}
			}
			if diff := cmp.Diff(tc.wantKeys, keys, cmpSorted); diff != "" {
				t.Fatalf("CheckAddress(%+v) fields %v; keys mismatch (-want +got):\n%s", tc.in, f, diff)
			}
			if tc.wantKeys == nil {
				if got.Zip != tc.wantZip || got.ProvinceCode != tc.wantProv {
					t.Errorf("CheckAddress(%+v) = zip %q province %q, want %q %q", tc.in, got.Zip, got.ProvinceCode, tc.wantZip, tc.wantProv)
				}
				if f.Err() != nil {
					t.Errorf("CheckAddress(%+v).Err() = %v, want nil", tc.in, f.Err())
				}
			}
		})
	}
}

var cmpSorted = cmp.Options{cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{CountryName("DE"), "Germany"},
		{CountryName("us"), "United States"},
		{CountryName("KR"), "South Korea"},
		{CountryName("HK"), "Hong Kong"},
		{CountryName("XX"), "XX"},
		{ProvinceName("US", "CA"), "California"},
		{ProvinceName("CA", "QC"), "Quebec"},
		{ProvinceName("US", "ZZ"), "ZZ"},
	} {
		if tc.got != tc.want {
			t.Errorf("name = %q, want %q", tc.got, tc.want)
		}
	}
}

func TestCountries(t *testing.T) {
	cs := Countries()
	if len(cs) < 240 {
		t.Fatalf("Countries() has %d countries, want about 250", len(cs))
	}
	byCode := map[string]Country{}
	for _, c := range cs {
		byCode[c.Code] = c
	}
	us := byCode["US"]
	if !us.ProvinceRequired || !us.ZipRequired || len(us.Provinces) < 50 {
		t.Errorf("Countries() US = required %v/%v, %d provinces; want both required, 50+ provinces", us.ProvinceRequired, us.ZipRequired, len(us.Provinces))
	}
	if es := byCode["ES"]; len(es.Provinces) != 52 {
		t.Errorf("Countries() ES has %d provinces, want 52 (50 provinces, Ceuta, Melilla)", len(es.Provinces))
	}
	if hk := byCode["HK"]; hk.ZipRequired || hk.ProvinceRequired || len(hk.Provinces) != 0 {
		t.Errorf("Countries() HK = %+v, want nothing required", hk)
	}
	// Every region code fits the tax_provinces.code column (tax countries
	// are created with their provinces).
	for _, c := range countryList() {
		for _, p := range c.Provinces {
			if !provinceCode.MatchString(p.Code) {
				t.Errorf("country %s has province code %q, which tax_provinces refuses", c.Code, p.Code)
			}
		}
	}
	if de := byCode["DE"]; de.ProvinceRequired || len(de.Provinces) != 0 {
		t.Errorf("Countries() DE = %+v, want no province select", de)
	}
}

var provinceCode = regexp.MustCompile(`^[A-Z0-9]{1,3}$`)
