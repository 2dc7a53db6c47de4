package orders

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/tenant"
)

// validate checks t's kind, status, gateway and amount.
func (t NewTransaction) validate() error {
	f := errs.Fields{}
	switch t.Kind {
	case KindAuthorization, KindCapture, KindSale, KindVoid, KindRefund:
	default:
		f.Add("kind", "must be authorization, capture, sale, void or refund")
	}
	switch t.Status {
	case StatusPending, StatusSuccess, StatusFailure, StatusError:
	default:
		f.Add("status", "must be pending, success, failure or error")
	}
	switch t.Gateway {
	case "manual", "stripe":
	default:
		f.Add("gateway", "must be manual or stripe")
	}
	switch {
	case t.Amount < 0 || t.Amount > money.Max:
		f.Add("amount", "must not be negative")
	case t.Amount == 0 && t.Kind != KindVoid && t.Status == StatusSuccess:
		f.Add("amount", "must be more than zero")
	}
	if len(t.Reference) > maxText || len(t.ErrorCode) > maxText || len(t.Message) > maxNote {
		f.Add("base", "reference and error code must be at most %d characters, message at most %d", maxText, maxNote)
	}
	return f.Err()
}

// sums are what an order's successful transactions add up to.
type sums struct {
	authorized, captured, refunded money.Amount
	voided                         bool
}

func sumTransactions(ts []Transaction) sums {
	var s sums
	for _, t := range ts {
		if t.Status != StatusSuccess {
			continue
		}
		switch t.Kind {
		case KindAuthorization:
			s.authorized += t.Amount
		case KindCapture, KindSale:
			s.captured += t.Amount
		case KindRefund:
			s.refunded += t.Amount
		case KindVoid:
			s.voided = true
		}
	}
	return s
}

// financialStatus is the status an order of total owes with transactions
// ts, whatever order they arrived in. A refund seen before the payment it
// refunds (providers' events cross) counts as paid too.
func financialStatus(total money.Amount, ts []Transaction) string {
	s := sumTransactions(ts)
	paid := max(s.captured, s.refunded)
	switch {
	case s.refunded > 0 && s.refunded >= paid:
		return FinancialRefunded
	case s.refunded > 0:
		return FinancialPartiallyRefunded
	case paid > 0 && paid >= total:
		return FinancialPaid
	case paid > 0:
		return FinancialPartiallyPaid
	case total == 0:
		return FinancialPaid
	case s.voided:
		return FinancialVoided
	case s.authorized > 0:
		return FinancialAuthorized
	}
	return FinancialPending
}

// RecordTransactionIn records t inside the caller's transaction and sets
// the order's financial_status to what its successful transactions add up
// to, so events arriving out of order end in the right state: refunded
// (refunds ≥ paid > 0), partially_refunded, paid (captures + sales ≥
// total), partially_paid, voided (an authorization voided, nothing
// captured), authorized (successful authorizations, nothing captured),
// pending.
//
// A transaction already recorded for the order with the same (gateway,
// kind, status, reference), reference not empty, changes nothing and is
// returned with fresh false, so replayed provider events are harmless. When
// the status changes it records a timeline event and emits "orders/paid"
// (on becoming paid) or "orders/updated"; every fresh transaction emits
// "order_transactions/create".
//
// Errors: NotFound (ErrOrderNotFound), Invalid (kind, status, gateway or
// amount; a successful manual refund above what was paid: a provider's
// refund is a fact and is recorded even when its payment has not been
// seen yet).
func RecordTransactionIn(tx *gorm.DB, t NewTransaction) (Transaction, bool, error) {
	if err := t.validate(); err != nil {
		return Transaction{}, false, err
	}
	o, err := lockOrder(tx, t.OrderID)
	if err != nil {
		return Transaction{}, false, err
	}
	ts, err := findTransactions(tx, o.ID)
	if err != nil {
		return Transaction{}, false, err
	}
	if t.Kind == KindRefund && t.Gateway == "manual" && t.Status != StatusFailure && t.Status != StatusError {
		s := sumTransactions(ts)
		if s.refunded+pendingRefunds(ts, "manual")+t.Amount > s.captured {
			cur := money.MustCurrency(o.Currency)
			return Transaction{}, false, &errs.Error{Kind: errs.Invalid,
				Message: fmt.Sprintf("amount cannot be more than what is left to refund, %s", cur.Format(max(s.captured-s.refunded, 0))),
				Fields:  map[string][]string{"amount": {fmt.Sprintf("cannot be more than %s", cur.Format(max(s.captured-s.refunded, 0)))}}}
		}
	}
	now := time.Now().UTC()
	if t.ProcessedAt.IsZero() {
		t.ProcessedAt = now
	}
	rec, fresh, err := insertTransaction(tx, t, now)
	if err != nil || !fresh {
		return rec, false, err
	}
	status := financialStatus(o.TotalPrice, append(ts, rec))
	if status != o.FinancialStatus {
		if err := setFinancialStatus(tx, o.ID, status, now); err != nil {
			return Transaction{}, false, err
		}
		topic := TopicUpdated
		if status == FinancialPaid {
			topic = TopicPaid
		}
		msg := fmt.Sprintf("Payment status changed from %s to %s (%s %s of %s via %s)", o.FinancialStatus, status,
			t.Kind, t.Status, money.MustCurrency(o.Currency).Format(t.Amount), t.Gateway)
		if err := recordChange(tx, o.ID, status, msg, t.Actor, now, topic); err != nil {
			return Transaction{}, false, err
		}
	}
	if _, err := tenant.Emit(tx, TopicTransactionCreate, toTransactionJSON(rec, money.MustCurrency(o.Currency))); err != nil {
		return Transaction{}, false, err
	}
	return rec, true, nil
}

// pendingRefunds sums the refunds of gateway still pending: money promised
// back that a later success will confirm.
func pendingRefunds(ts []Transaction, gateway string) money.Amount {
	var sum money.Amount
	for _, t := range ts {
		if t.Kind == KindRefund && t.Status == StatusPending && t.Gateway == gateway {
			sum += t.Amount
		}
	}
	return sum
}

// TransactionIn returns transaction id of order orderID.
//
// Errors: NotFound (ErrOrderNotFound, ErrTransactionNotFound).
func TransactionIn(tx *gorm.DB, orderID, id int64) (Transaction, error) {
	if _, err := OrderIn(tx, orderID); err != nil {
		return Transaction{}, err
	}
	ts, err := findTransactions(tx, orderID, id)
	if err != nil {
		return Transaction{}, err
	}
	if len(ts) == 0 {
		return Transaction{}, ErrTransactionNotFound
	}
	return ts[0], nil
}

// TransactionsIn lists order orderID's transactions in id order.
//
// Errors: NotFound (ErrOrderNotFound).
func TransactionsIn(tx *gorm.DB, orderID int64) ([]Transaction, error) {
	if _, err := OrderIn(tx, orderID); err != nil {
		return nil, err
	}
	return findTransactions(tx, orderID)
}

// Transactions lists the transactions of store t's order orderID.
//
// Errors: NotFound (ErrOrderNotFound).
func (s *Service) Transactions(ctx context.Context, t *tenant.Tenant, orderID int64) ([]Transaction, error) {
	var ts []Transaction
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		ts, err = TransactionsIn(tx, orderID)
		return err
	})
	return ts, err
}

// Transaction returns transaction id of store t's order orderID.
//
// Errors: NotFound (ErrOrderNotFound, ErrTransactionNotFound).
func (s *Service) Transaction(ctx context.Context, t *tenant.Tenant, orderID, id int64) (Transaction, error) {
	var tr Transaction
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		tr, err = TransactionIn(tx, orderID, id)
		return err
	})
	return tr, err
}

// CreateTransaction records a transaction the merchant reports for store
// t's order (a manual order marked paid: kind capture or sale, gateway
// manual). A zero amount means what is left to pay.
//
// Errors: NotFound (ErrOrderNotFound), Invalid (as RecordTransactionIn;
// nothing left to pay).
func (s *Service) CreateTransaction(ctx context.Context, t *tenant.Tenant, in NewTransaction) (Transaction, error) {
	var tr Transaction
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if in.Amount == 0 && (in.Kind == KindCapture || in.Kind == KindSale || in.Kind == KindAuthorization) {
			o, err := lockOrder(tx, in.OrderID)
			if err != nil {
				return err
			}
			ts, err := findTransactions(tx, o.ID)
			if err != nil {
				return err
			}
			if in.Amount = o.TotalPrice - sumTransactions(ts).captured; in.Amount <= 0 {
				return &errs.Error{Kind: errs.Invalid, Message: "the order has nothing left to pay",
					Fields: map[string][]string{"amount": {"the order has nothing left to pay"}}}
			}
		}
		var err error
		tr, _, err = RecordTransactionIn(tx, in)
		return err
	})
	return tr, err
}
