package themes

import (
	"math"
	"strconv"
	"strings"

	"github.com/storefleet/storefleet/internal/money"
)

// moneyFormat is the shop's currency and money formats, read from the
// `shop` object at the start of a render.
type moneyFormat struct {
	currency     money.Currency
	format       string // shop.money_format, e.g. "${{amount}}"
	withCurrency string // shop.money_with_currency_format, e.g. "${{amount}} USD"
}

// symbols gives default formats for shops that set none.
var symbols = map[string]string{
	"USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "SGD": "$", "HKD": "$", "MXN": "$",
	"EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩", "BRL": "R$",
	"CHF": "CHF ", "SEK": "kr ", "NOK": "kr ", "DKK": "kr ", "PLN": "zł ", "ZAR": "R",
}

// commaCurrencies write decimals after a comma by default.
var commaCurrencies = map[string]bool{"EUR": true, "BRL": true, "SEK": true, "NOK": true, "DKK": true, "PLN": true}

func moneyFormatOf(shop any) moneyFormat {
	m, _ := shop.(map[string]any)
	code := strings.ToUpper(text(m["currency"]))
	if code == "" {
		code = "USD"
	}
	cur, err := money.ParseCurrency(code)
	if err != nil {
		cur = money.Currency{Code: code, Digits: 2}
	}
	f := moneyFormat{currency: cur, format: text(m["money_format"]), withCurrency: text(m["money_with_currency_format"])}
	if f.format == "" {
		amount := "{{amount}}"
		if commaCurrencies[cur.Code] {
			amount = "{{amount_with_comma_separator}}"
		}
		sym, ok := symbols[cur.Code]
		switch {
		case !ok:
			f.format = amount + " " + cur.Code
		case cur.Code == "EUR":
			f.format = amount + " €"
		default:
			f.format = sym + amount
		}
	}
	if f.withCurrency == "" {
		if strings.HasSuffix(f.format, " "+cur.Code) {
			f.withCurrency = f.format
		} else {
			f.withCurrency = f.format + " " + cur.Code
		}
	}
	return f
}

// amountOf reads an amount in minor units: an integer, a float from JSON,
// or numeric text.
func amountOf(v any) (int64, bool) {
	switch n := plain(v).(type) {
	case nil:
		return 0, false
	case int:
		return int64(n), true
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) || math.Abs(n) > 1e17 {
			return 0, false
		}
		return int64(math.Round(n)), true
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64); err == nil {
			return i, true
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(n), 64); err == nil && math.Abs(f) < 1e17 {
			return int64(math.Round(f)), true
		}
		return 0, false
	}
	if i, ok := toInt(v); ok {
		return int64(i), true
	}
	return 0, false
}

// group writes an integer's digits in groups of three.
func group(digits, sep string) string {
	if len(digits) <= 3 || sep == "" {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// formatAmount fills one Shopify money placeholder with an amount in
// minor units of a currency with the given decimals.
func formatAmount(minor int64, decimals int, placeholder string, dropZeros bool) string {
	neg := minor < 0
	if neg {
		minor = -minor
	}
	unit := int64(math.Pow10(decimals))
	whole, frac := minor/unit, minor%unit
	thousands, point := ",", "."
	noDecimals := false
	switch placeholder {
	case "amount":
	case "amount_no_decimals":
		noDecimals = true
	case "amount_with_comma_separator":
		thousands, point = ".", ","
	case "amount_no_decimals_with_comma_separator":
		thousands, noDecimals = ".", true
	case "amount_with_apostrophe_separator":
		thousands = "'"
	case "amount_no_decimals_with_space_separator":
		thousands, noDecimals = " ", true
	case "amount_with_space_separator":
		thousands, point = " ", ","
	case "amount_with_period_and_space_separator":
		thousands = " "
	default:
		return ""
	}
	if noDecimals && decimals > 0 {
		// Round half up to whole units.
		if frac*2 >= unit {
			whole++
		}
		frac, decimals = 0, 0
	}
	s := group(strconv.FormatInt(whole, 10), thousands)
	if decimals > 0 && !(dropZeros && frac == 0) {
		f := strconv.FormatInt(frac, 10)
		s += point + strings.Repeat("0", decimals-len(f)) + f
	}
	if neg {
		s = "-" + s
	}
	return s
}

type moneyStyle int

const (
	moneyPlain moneyStyle = iota
	moneyWithCurrency
	moneyNoSymbol
	moneyNoTrailingZeros
)

// format renders an amount in minor units in the shop's format.
func (f moneyFormat) render(minor int64, style moneyStyle) string {
	if minor < 0 {
		return "-" + f.render(-minor, style)
	}
	format := f.format
	if style == moneyWithCurrency {
		format = f.withCurrency
	}
	var kind string
	out := placeholder.ReplaceAllStringFunc(format, func(m string) string {
		kind = placeholder.FindStringSubmatch(m)[1]
		return formatAmount(minor, f.currency.Digits, kind, style == moneyNoTrailingZeros)
	})
	if style == moneyNoSymbol {
		if kind == "" {
			kind = "amount"
		}
		return formatAmount(minor, f.currency.Digits, kind, false)
	}
	return out
}

// moneyFilter formats an amount in minor units (cents for USD, yen for
// JPY) in the shop's money format. The format is the merchant's, so the
// result is trusted; the amount is only ever digits.
func moneyFilter(style moneyStyle) ownFilter {
	return func(st *state, in any, _ []any) (any, error) {
		minor, ok := amountOf(in)
		if !ok {
			return "", nil
		}
		return st.money.render(minor, style), nil
	}
}
