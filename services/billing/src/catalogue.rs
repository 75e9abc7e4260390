//! The catalogue as data: seeded once from `Catalogue::default_nl()` by the migration, then read
//! from the `catalogue_items` table for every quote, so prices change by changing rows.
//!
//! Each row is one version of one entry, in the JSON form of `dk-pricing`. A new price is a new
//! row with a later `effective_from`; quotes use the versions in force on the quote date.

use chrono::NaiveDate;
use dk_domain::Currency;
use dk_pricing::{Catalogue, CatalogueItem, UserPricing};
use rust_decimal::Decimal;
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, QueryOrder};
use serde::{Deserialize, Serialize};

use crate::entity::catalogue_item;

/// Row `entry` of a catalogue item (module, add-on, option or one-off product).
const ENTRY_ITEM: &str = "item";
/// Row `entry` of a user price table.
const ENTRY_USER_PRICING: &str = "user_pricing";
/// Row `entry` of the currency, seller country and VAT rate.
const ENTRY_TERMS: &str = "terms";

/// The parts of a catalogue that are neither items nor user prices, in one versioned row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Terms {
    currency: Currency,
    seller_country: String,
    vat_rate: Decimal,
}

/// Failure to read the catalogue from the database.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("failed to read the catalogue: {0}")]
    Database(#[from] DbErr),
    #[error("invalid definition in catalogue row {position} ({code}): {source}")]
    Definition {
        position: i32,
        code: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "unknown entry {entry:?} in catalogue row {position}: expected item, user_pricing or terms"
    )]
    UnknownEntry { position: i32, entry: String },
    #[error("the catalogue has no terms (currency, seller country, VAT rate) in force on {0}")]
    NoTermsInForce(NaiveDate),
}

/// Builds the rows of a catalogue, in catalogue order. The terms row is in force from the
/// earliest date of any item or user price table.
pub fn rows(catalogue: &Catalogue, created_at: DateTimeUtc) -> Vec<catalogue_item::Model> {
    let terms_from = catalogue
        .items
        .iter()
        .map(|item| item.effective_from)
        .chain(
            catalogue
                .user_pricing
                .iter()
                .map(|pricing| pricing.effective_from),
        )
        .min()
        .unwrap_or_default();
    let terms = Terms {
        currency: catalogue.currency,
        seller_country: catalogue.seller_country.clone(),
        vat_rate: catalogue.vat_rate,
    };

    let mut entries: Vec<(&str, String, NaiveDate, String)> = Vec::new();
    entries.push((
        ENTRY_TERMS,
        ENTRY_TERMS.to_owned(),
        terms_from,
        to_json(&terms),
    ));
    for item in &catalogue.items {
        entries.push((
            ENTRY_ITEM,
            item.code.clone(),
            item.effective_from,
            to_json(item),
        ));
    }
    for pricing in &catalogue.user_pricing {
        entries.push((
            ENTRY_USER_PRICING,
            "users".to_owned(),
            pricing.effective_from,
            to_json(pricing),
        ));
    }

    entries
        .into_iter()
        .zip(1..)
        .map(
            |((entry, code, effective_from, definition), position)| catalogue_item::Model {
                position,
                entry: entry.to_owned(),
                code,
                effective_from,
                definition,
                created_at,
            },
        )
        .collect()
}

/// Serialises a catalogue part. Its types hold strings, decimals, dates and plain enums, which
/// always serialise.
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Reads the catalogue and returns the versions in force on `date`.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    date: NaiveDate,
) -> Result<Catalogue, CatalogueError> {
    let rows = catalogue_item::Entity::find()
        .order_by_asc(catalogue_item::Column::Position)
        .all(db)
        .await?;

    let mut items: Vec<CatalogueItem> = Vec::new();
    let mut user_pricing: Vec<UserPricing> = Vec::new();
    let mut terms: Option<(NaiveDate, Terms)> = None;
    for row in rows {
        let definition = |source| CatalogueError::Definition {
            position: row.position,
            code: row.code.clone(),
            source,
        };
        match row.entry.as_str() {
            ENTRY_ITEM => items.push(serde_json::from_str(&row.definition).map_err(definition)?),
            ENTRY_USER_PRICING => {
                user_pricing.push(serde_json::from_str(&row.definition).map_err(definition)?)
            }
            ENTRY_TERMS => {
                let parsed: Terms = serde_json::from_str(&row.definition).map_err(definition)?;
                let later = terms
                    .as_ref()
                    .is_none_or(|(from, _)| row.effective_from > *from);
                if row.effective_from <= date && later {
                    terms = Some((row.effective_from, parsed));
                }
            }
            other => {
                return Err(CatalogueError::UnknownEntry {
                    position: row.position,
                    entry: other.to_owned(),
                });
            }
        }
    }

    let (_, terms) = terms.ok_or(CatalogueError::NoTermsInForce(date))?;
    let catalogue = Catalogue {
        currency: terms.currency,
        seller_country: terms.seller_country,
        vat_rate: terms.vat_rate,
        items,
        user_pricing,
    };
    Ok(catalogue.effective_on(date))
}

/// How long a catalogue read from the database is used, so a new price row counts within this
/// time without a read on every request.
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// Reads the catalogue in force on a date for the handlers, keeping the last one read for
/// [`CACHE_TTL`] so that most requests need no database read.
#[derive(Clone, Default)]
pub struct Reader {
    cached: std::sync::Arc<std::sync::Mutex<Option<Cached>>>,
}

struct Cached {
    date: NaiveDate,
    read_at: std::time::Instant,
    catalogue: std::sync::Arc<Catalogue>,
}

impl Reader {
    /// Returns the catalogue in force on `date`.
    pub async fn in_force<C: ConnectionTrait>(
        &self,
        db: &C,
        date: NaiveDate,
    ) -> Result<std::sync::Arc<Catalogue>, CatalogueError> {
        if let Some(cached) = self.cached.lock().expect("catalogue cache").as_ref()
            && cached.date == date
            && cached.read_at.elapsed() < CACHE_TTL
        {
            return Ok(cached.catalogue.clone());
        }
        let catalogue = std::sync::Arc::new(load(db, date).await?);
        *self.cached.lock().expect("catalogue cache") = Some(Cached {
            date,
            read_at: std::time::Instant::now(),
            catalogue: catalogue.clone(),
        });
        Ok(catalogue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_catalogue_order() {
        let catalogue = Catalogue::default_nl();
        let rows = rows(&catalogue, chrono::Utc::now());
        let codes: Vec<&str> = rows.iter().map(|row| row.code.as_str()).collect();
        assert_eq!(codes.first(), Some(&"terms"));
        assert_eq!(codes.get(1), Some(&"crm"));
        assert_eq!(codes.last(), Some(&"users"));
        assert_eq!(rows.len(), catalogue.items.len() + 2);
        let positions: Vec<i32> = rows.iter().map(|row| row.position).collect();
        assert_eq!(positions, (1..=rows.len() as i32).collect::<Vec<_>>());
    }

    #[test]
    fn item_rows_round_trip() {
        let catalogue = Catalogue::default_nl();
        let rows = rows(&catalogue, chrono::Utc::now());
        let items: Vec<CatalogueItem> = rows
            .iter()
            .filter(|row| row.entry == ENTRY_ITEM)
            .map(|row| serde_json::from_str(&row.definition).unwrap())
            .collect();
        assert_eq!(items, catalogue.items);
    }
}
