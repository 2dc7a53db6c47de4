package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// newStripeClient returns a Stripe client of the platform account, talking
// to cfg.APIURL when set (stripe-mock in tests). stripe-go's own logging is
// off: we log what matters, without payloads.
func newStripeClient(cfg Config) *client.API {
	backend := func(kind stripe.SupportedBackend) stripe.Backend {
		c := &stripe.BackendConfig{
			HTTPClient:        &http.Client{Timeout: 30 * time.Second},
			LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
			MaxNetworkRetries: stripe.Int64(2), // safe: every write carries an idempotency key
		}
		if cfg.APIURL != "" {
			c.URL = stripe.String(cfg.APIURL)
		}
		return stripe.GetBackendWithConfig(kind, c)
	}
	api := &client.API{}
	api.Init(cfg.SecretKey, &stripe.Backends{
		API:     backend(stripe.APIBackend),
		Connect: backend(stripe.ConnectBackend),
		Uploads: backend(stripe.UploadsBackend),
	})
	return api
}

// applicationFee is the platform's fee on amount, rounded half up.
func applicationFee(amount, basisPoints int64) int64 {
	if amount <= 0 || basisPoints <= 0 {
		return 0
	}
	return (amount*basisPoints + 5_000) / 10_000
}

// idempotencyKey builds a Stripe idempotency key from our own ids; a part too
// long for Stripe's 255 characters is replaced by its hash.
func idempotencyKey(what string, store tenant.ID, parts ...string) string {
	for i, p := range parts {
		if len(p) > 64 {
			h := sha256.Sum256([]byte(p))
			parts[i] = "h" + hex.EncodeToString(h[:16])
		}
	}
	return "storefleet-" + what + "-" + store.String() + "-" + strings.Join(parts, "-")
}

// stripeError turns a Stripe failure into our vocabulary. The cause kept is
// built from Stripe's error type, code and request id only: a *stripe.Error
// can carry the payment method (card brand, last digits), which must not
// reach a log.
func stripeError(op string, err error) error {
	se, ok := errors.AsType[*stripe.Error](err)
	if !ok {
		return errs.Wrap(errs.Unavailable, fmt.Errorf("%s: %w", op, err), "the payment provider cannot be reached; try again in a moment")
	}
	cause := fmt.Errorf("%s: stripe %d %s %s (request %s)", op, se.HTTPStatusCode, se.Type, se.Code, se.RequestID)
	if se.HTTPStatusCode >= 500 || se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode == 0 || se.Type == stripe.ErrorTypeAPI {
		return errs.Wrap(errs.Unavailable, cause, "the payment provider is not answering; try again in a moment")
	}
	return errs.Wrap(errs.Internal, cause, "the payment provider refused the request")
}

// stripeProvider makes direct charges on the store's Connect account.
type stripeProvider struct{ s *Service }

func (sp stripeProvider) start(ctx context.Context, t *tenant.Tenant, _ Method, p Payment) (Started, error) {
	s := sp.s
	f := errs.Fields{}
	if p.OrderID <= 0 {
		f.Add("order_id", "must be an order's id")
	}
	if p.Amount <= 0 {
		f.Add("amount", "must be more than zero to pay by card")
	}
	if p.Currency.Code == "" {
		f.Add("currency", "is missing")
	}
	if strings.TrimSpace(p.Key) == "" {
		f.Add("key", "is needed to make the payment idempotent")
	}
	if p.Attempt < 0 {
		f.Add("attempt", "must not be negative")
	}
	if err := f.Err(); err != nil {
		return Started{}, err
	}
	ok, acct, err := s.cardsOn(ctx, t)
	if err != nil {
		return Started{}, err
	}
	if !ok {
		return Started{}, ErrStripeOff
	}

	// An intent made before for this order (its pending sale is recorded)
	// is the one to pay, however long ago: Stripe keeps idempotency keys
	// for a day only, and a second intent could be paid a second time.
	var made string
	err = s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		txs, err := orders.TransactionsIn(tx, p.OrderID)
		for _, x := range txs {
			if x.Gateway == ProviderStripe && x.Kind == orders.KindSale && x.Status == orders.StatusPending && x.Amount == p.Amount {
				made = x.Reference
			}
		}
		return err
	})
	if err != nil {
		return Started{}, err
	}
	if made != "" {
		get := &stripe.PaymentIntentParams{}
		get.Context = ctx
		get.SetStripeAccount(acct.StripeAccount)
		pi, err := s.stripe.PaymentIntents.Get(made, get)
		if err != nil {
			return Started{}, stripeError("read payment intent", err)
		}
		return Started{Provider: ProviderStripe, ClientSecret: pi.ClientSecret, PublishableKey: s.cfg.PublishableKey,
			StripeAccount: acct.StripeAccount}, nil
	}

	params := &stripe.PaymentIntentParams{
		Amount:                  stripe.Int64(int64(p.Amount)),
		Currency:                stripe.String(strings.ToLower(p.Currency.Code)),
		AutomaticPaymentMethods: &stripe.PaymentIntentAutomaticPaymentMethodsParams{Enabled: stripe.Bool(true)},
		Description:             stripe.String("Order " + p.OrderName),
	}
	if fee := applicationFee(int64(p.Amount), s.cfg.FeeBasisPoints); fee > 0 {
		params.ApplicationFeeAmount = stripe.Int64(fee)
	}
	params.Context = ctx
	params.AddMetadata("store_id", t.ID.String())
	params.AddMetadata("order_id", strconv.FormatInt(p.OrderID, 10))
	params.AddMetadata("order_name", p.OrderName)
	params.SetStripeAccount(acct.StripeAccount)
	params.SetIdempotencyKey(idempotencyKey("pi", t.ID, p.Key, strconv.Itoa(p.Attempt)))
	pi, err := s.stripe.PaymentIntents.New(params)
	if err != nil {
		return Started{}, stripeError("create payment intent", err)
	}

	err = s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		_, _, err := orders.RecordTransactionIn(tx, orders.NewTransaction{
			OrderID: p.OrderID, Kind: orders.KindSale, Status: orders.StatusPending, Amount: p.Amount,
			Gateway: ProviderStripe, Reference: pi.ID, ProcessedAt: s.now().UTC(), Actor: ProviderStripe,
		})
		return err
	})
	if err != nil {
		return Started{}, fmt.Errorf("record payment intent of order %d: %w", p.OrderID, err)
	}
	return Started{Provider: ProviderStripe, ClientSecret: pi.ClientSecret, PublishableKey: s.cfg.PublishableKey,
		StripeAccount: acct.StripeAccount}, nil
}

func (sp stripeProvider) refund(ctx context.Context, t *tenant.Tenant, r, parent orders.Transaction) (string, error) {
	s := sp.s
	if r.ParentID == nil || parent.Gateway != ProviderStripe || !strings.HasPrefix(parent.Reference, "pi_") {
		return "", errs.E(errs.Invalid, "refund %d has no Stripe payment to refund", r.ID)
	}
	if r.Amount <= 0 {
		return "", errs.E(errs.Invalid, "refund %d has no amount", r.ID)
	}
	acct, err := s.db.StripeAccount(ctx, t.ID)
	if err != nil {
		return "", fmt.Errorf("refund %d: %w", r.ID, err)
	}
	params := &stripe.RefundParams{
		PaymentIntent: stripe.String(parent.Reference),
		Amount:        stripe.Int64(int64(r.Amount)),
	}
	params.Context = ctx
	params.AddMetadata("store_id", t.ID.String())
	params.AddMetadata("order_id", strconv.FormatInt(r.OrderID, 10))
	params.AddMetadata("transaction_id", strconv.FormatInt(r.ID, 10))
	if r.RefundID != nil {
		params.AddMetadata("refund_id", strconv.FormatInt(*r.RefundID, 10))
	}
	params.SetStripeAccount(acct.StripeAccount)
	params.SetIdempotencyKey(idempotencyKey("refund", t.ID, strconv.FormatInt(r.ID, 10)))
	re, err := s.stripe.Refunds.New(params)
	if se, ok := errors.AsType[*stripe.Error](err); ok {
		switch se.HTTPStatusCode {
		case http.StatusBadRequest, http.StatusPaymentRequired, http.StatusNotFound:
			// Already refunded, more than was paid, no such payment: asking
			// again will not change Stripe's answer.
			return "", &refusal{code: string(se.Code), message: se.Msg}
		}
	}
	if err != nil {
		return "", stripeError("create refund", err)
	}
	if re.Status == stripe.RefundStatusFailed || re.Status == stripe.RefundStatusCanceled {
		return "", &refusal{code: string(re.Status), message: "Stripe could not refund the payment"}
	}
	return re.ID, nil
}

// ConnectLink returns a Stripe Connect onboarding link for store t: the
// merchant follows it to set up (or finish setting up) the account its card
// payments land on. The account is made on first use — a Standard account,
// idempotently per store — and saved with tenant.DB.SaveStripeAccount.
// returnURL is where Stripe sends the merchant back; refreshURL is where an
// expired or used link goes, and should ask for a new one.
//
// Errors: Invalid (Stripe is not configured; a URL that is not absolute
// http(s)), Unavailable (Stripe cannot be reached), Internal.
func (s *Service) ConnectLink(ctx context.Context, t *tenant.Tenant, returnURL, refreshURL string) (string, error) {
	if s.stripe == nil {
		return "", errs.E(errs.Invalid, "card payments are not set up on this platform")
	}
	f := errs.Fields{}
	for name, u := range map[string]string{"return_url": returnURL, "refresh_url": refreshURL} {
		if !absoluteHTTP(u) {
			f.Add(name, "must be an absolute http or https URL")
		}
	}
	if err := f.Err(); err != nil {
		return "", err
	}
	acct, err := s.db.StripeAccount(ctx, t.ID)
	if errors.Is(err, tenant.ErrPaymentAccountNotFound) {
		params := &stripe.AccountParams{Type: stripe.String(string(stripe.AccountTypeStandard))}
		params.Context = ctx
		params.AddMetadata("store_id", t.ID.String())
		params.SetIdempotencyKey(idempotencyKey("account", t.ID))
		a, err := s.stripe.Accounts.New(params)
		if err != nil {
			return "", stripeError("create connected account", err)
		}
		acct = tenant.PaymentAccount{StripeAccount: a.ID, ChargesEnabled: a.ChargesEnabled, DetailsSubmitted: a.DetailsSubmitted}
		if err := s.db.SaveStripeAccount(ctx, t.ID, acct); err != nil {
			return "", fmt.Errorf("save connected account: %w", err)
		}
	} else if err != nil {
		return "", err
	}
	params := &stripe.AccountLinkParams{
		Account:    stripe.String(acct.StripeAccount),
		ReturnURL:  stripe.String(returnURL),
		RefreshURL: stripe.String(refreshURL),
		Type:       stripe.String("account_onboarding"),
	}
	params.Context = ctx
	// An account link works once: a key of our ids would hand a merchant who
	// asks again the link already used. Retries of this one call share the key.
	params.SetIdempotencyKey(idempotencyKey("account-link", t.ID, uuid.NewString()))
	link, err := s.stripe.AccountLinks.New(params)
	if err != nil {
		return "", stripeError("create account link", err)
	}
	return link.URL, nil
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
