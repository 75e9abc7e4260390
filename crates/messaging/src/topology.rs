//! Every exchange, queue and binding of the system, declared in one place.
//!
//! Each producing service owns one durable topic exchange, `dk.<service>`. Each consuming service
//! owns one durable queue per subscription, `dk.<consumer>.<subscription>`, bound to the
//! producer's exchange by routing key, with a dead-letter exchange `dk.<consumer>.dlx` that
//! routes rejected messages to `<queue>.dlq`. A name prefix keeps environments and parallel
//! tests apart on one broker.
//!
//! A subscription of [`Scope::One`] receives the events of one organisation only. Its queue is
//! not bound to the producer's exchange directly but through a headers exchange of its own,
//! `<queue>.filter`, which passes an event only when its `dk-organisation-id` header names the
//! organisation the consumer subscribed for. The broker then drops the other events instead of
//! storing, delivering and acknowledging each of them. Billing needs the payments of the
//! vendor's invoices only, while bookkeeping publishes one for every invoice of every
//! organisation.

/// Routing key and CloudEvents type of a newly imported bank mutation.
pub const BANK_MUTATION_IMPORTED: &str = "bank.mutation.imported.v1";
/// Routing key and CloudEvents type of a bank account an organisation registered.
pub const BANK_ACCOUNT_REGISTERED: &str = "bank.account.registered.v1";
/// Routing key and CloudEvents type of a bank consent that lapses soon.
pub const BANK_CONSENT_EXPIRING: &str = "bank.consent.expiring.v1";
/// Routing key and CloudEvents type of a bank consent that lapsed or was withdrawn.
pub const BANK_CONSENT_ENDED: &str = "bank.consent.ended.v1";
/// Routing key and CloudEvents type of a payment applied to an invoice.
pub const INVOICE_PAID: &str = "invoice.paid.v1";
/// Routing key and CloudEvents type of a payment that an undone match takes back.
pub const INVOICE_PAYMENT_UNDONE: &str = "invoice.payment.undone.v1";
/// Routing key and CloudEvents type of an invoice or credit note that billing issued.
pub const INVOICE_ISSUED: &str = "invoice.issued.v1";
/// Routing key and CloudEvents type of a licence that started (trial) or became paid.
pub const LICENCE_ACTIVATED: &str = "licence.activated.v1";
/// Routing key and CloudEvents type of a licence's changed entitlements.
pub const LICENCE_CHANGED: &str = "licence.changed.v1";

/// A consumer's queue on one producer's exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription {
    /// The consuming service, for example `bookkeeping`.
    pub consumer: &'static str,
    /// Short name of the queue within the consumer, for example `bank-mutations`.
    pub name: &'static str,
    /// The producing service whose exchange the queue is bound to.
    pub producer: &'static str,
    pub routing_keys: &'static [&'static str],
    /// The organisations whose events the queue receives.
    pub scope: Scope,
}

/// The organisations whose events a subscription's queue receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The events of every organisation.
    Every,
    /// The events of the one organisation that the consumer names when it subscribes.
    One,
}

/// Bookkeeping receives every imported bank mutation, to match it to invoices.
pub const BOOKKEEPING_BANK_MUTATIONS: Subscription = Subscription {
    consumer: "bookkeeping",
    name: "bank-mutations",
    producer: "banksync",
    routing_keys: &[BANK_MUTATION_IMPORTED],
    scope: Scope::Every,
};

/// Bookkeeping receives the organisations' bank accounts, to give each its ledger account and
/// to recognise transfers between them.
pub const BOOKKEEPING_BANK_ACCOUNTS: Subscription = Subscription {
    consumer: "bookkeeping",
    name: "bank-accounts",
    producer: "banksync",
    routing_keys: &[BANK_ACCOUNT_REGISTERED],
    scope: Scope::Every,
};

/// Bookkeeping receives the invoices billing issues, to book them as sales invoices of the
/// issuing organisation.
pub const BOOKKEEPING_ISSUED_INVOICES: Subscription = Subscription {
    consumer: "bookkeeping",
    name: "issued-invoices",
    producer: "billing",
    routing_keys: &[INVOICE_ISSUED],
    scope: Scope::Every,
};

/// Banksync receives the licences' entitlements, to allow the automatic bank link and cap its
/// IBANs.
pub const BANKSYNC_LICENCES: Subscription = Subscription {
    consumer: "banksync",
    name: "licences",
    producer: "billing",
    routing_keys: &[LICENCE_ACTIVATED, LICENCE_CHANGED],
    scope: Scope::Every,
};

/// Billing receives the payments bookkeeping applies and takes back, to keep the paid state of
/// the vendor's invoices. It subscribes for the vendor organisation only.
pub const BILLING_INVOICE_PAYMENTS: Subscription = Subscription {
    consumer: "billing",
    name: "invoice-payments",
    producer: "bookkeeping",
    routing_keys: &[INVOICE_PAID, INVOICE_PAYMENT_UNDONE],
    scope: Scope::One,
};

/// The producing services, each with its exchange.
pub const PRODUCERS: &[&str] = &["banksync", "bookkeeping", "billing", "support"];

/// Every subscription in the system.
pub const SUBSCRIPTIONS: &[Subscription] = &[
    BOOKKEEPING_BANK_MUTATIONS,
    BOOKKEEPING_BANK_ACCOUNTS,
    BOOKKEEPING_ISSUED_INVOICES,
    BILLING_INVOICE_PAYMENTS,
    BANKSYNC_LICENCES,
];

/// Concrete names for one environment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Names {
    prefix: String,
}

impl Names {
    /// Names with a prefix such as `test-4f2a.`; an empty prefix gives the production names.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn exchange(&self, producer: &str) -> String {
        format!("{}dk.{producer}", self.prefix)
    }

    pub fn queue(&self, subscription: &Subscription) -> String {
        format!(
            "{}dk.{}.{}",
            self.prefix, subscription.consumer, subscription.name
        )
    }

    pub fn dead_letter_exchange(&self, subscription: &Subscription) -> String {
        format!("{}dk.{}.dlx", self.prefix, subscription.consumer)
    }

    pub fn dead_letter_queue(&self, subscription: &Subscription) -> String {
        format!("{}.dlq", self.queue(subscription))
    }

    /// Returns the name of the headers exchange between the producer's exchange and the queue
    /// of a subscription of [`Scope::One`].
    pub fn filter_exchange(&self, subscription: &Subscription) -> String {
        format!("{}.filter", self.queue(subscription))
    }
}

/// Whether an AMQP topic pattern (`*` one word, `#` zero or more words) matches a routing key.
pub fn topic_matches(pattern: &str, routing_key: &str) -> bool {
    fn matches(pattern: &[&str], key: &[&str]) -> bool {
        match (pattern.first(), key.first()) {
            (None, None) => true,
            (Some(&"#"), _) => {
                matches(&pattern[1..], key) || (!key.is_empty() && matches(pattern, &key[1..]))
            }
            (Some(&"*"), Some(_)) => matches(&pattern[1..], &key[1..]),
            (Some(word), Some(other)) if word == other => matches(&pattern[1..], &key[1..]),
            _ => false,
        }
    }
    let pattern: Vec<&str> = pattern.split('.').collect();
    let key: Vec<&str> = routing_key.split('.').collect();
    matches(&pattern, &key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_prefix() {
        let names = Names::new("t1.");
        assert_eq!(names.exchange("banksync"), "t1.dk.banksync");
        assert_eq!(
            names.queue(&BOOKKEEPING_BANK_MUTATIONS),
            "t1.dk.bookkeeping.bank-mutations"
        );
        assert_eq!(
            names.dead_letter_queue(&BOOKKEEPING_BANK_MUTATIONS),
            "t1.dk.bookkeeping.bank-mutations.dlq"
        );
        assert_eq!(
            names.filter_exchange(&BILLING_INVOICE_PAYMENTS),
            "t1.dk.billing.invoice-payments.filter"
        );
    }

    #[test]
    fn topic_patterns_match_like_rabbitmq() {
        let cases = [
            (
                "bank.mutation.imported.v1",
                "bank.mutation.imported.v1",
                true,
            ),
            ("bank.mutation.*.v1", "bank.mutation.imported.v1", true),
            ("bank.#", "bank.mutation.imported.v1", true),
            ("#", "anything.at.all", true),
            ("bank.*", "bank.mutation.imported.v1", false),
            ("invoice.paid.v1", "bank.mutation.imported.v1", false),
        ];
        for (pattern, key, expected) in cases {
            assert_eq!(topic_matches(pattern, key), expected, "{pattern} vs {key}");
        }
    }
}
