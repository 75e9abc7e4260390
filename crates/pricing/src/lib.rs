//! Pricing engine of the billing service: turns a basket of modules, add-ons, options, users and
//! one-off products into a quote with explained lines, VAT per rate and a total.
//!
//! The crate is pure: no I/O, no clock. Every price, rate and limit comes from a [`Catalogue`],
//! which is versioned by date and serialisable, so the service can store it and select the
//! versions in force with [`Catalogue::effective_on`].
//!
//! - [`quote`] validates a [`Basket`] and prices it. Users beyond the included ones are priced in
//!   graduated blocks; a count beyond the last block returns
//!   [`QuoteStatus::CustomPricingRequired`] with the other lines still priced.
//! - VAT is computed once per rate over the lines at that rate and rounded to cents half away
//!   from zero. A business customer in another EU country with a valid VAT id gets the reverse
//!   charge ("btw verlegd"), and a customer outside the EU pays no Dutch VAT.
//! - [`diff`] compares two baskets within a paid month and prorates additions by calendar day.
//!   Removals take effect at the end of the month.
//!
//! Descriptions and explanations are in Dutch (the default) or English, with each language's
//! number format. Error messages are in English.
//!
//! ```
//! use dk_pricing::{Basket, Catalogue, quote};
//! use rust_decimal::Decimal;
//!
//! let basket = Basket {
//!     modules: vec!["crm".into(), "boekhouding".into()],
//!     users: 12,
//!     ..Basket::default()
//! };
//! let quote = quote(&Catalogue::default_nl(), &basket).unwrap();
//! assert_eq!(quote.net.amount(), Decimal::new(13800, 2));
//! ```

mod basket;
mod catalogue;
mod diff;
mod error;
mod language;
mod quote;
mod users;
mod vat;

pub use basket::Basket;
pub use catalogue::{
    BANK_LINK_CODE, Catalogue, CatalogueItem, ItemKind, USERS_CODE, UserBlock, UserPricing,
};
pub use diff::{BillingMonth, Change, DiffLine, ItemTotal, QuoteDiff, diff};
pub use error::QuoteError;
pub use language::Language;
pub use quote::{LineKind, Quote, QuoteLine, QuoteStatus, VatAmount, quote, vat_per_rate};
pub use vat::{
    EU_COUNTRIES, VatTreatment, is_eu, normalise_vat_id, parse_country, treatment, validate_vat_id,
};
