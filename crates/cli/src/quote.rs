//! `dk quote`: prices a licence with the billing service and prints the quote.

use clap::{Args, ValueEnum};
use dk_proto::billing::v1 as billing;
use dk_proto::common::v1 as common;
use dk_proto::convert::date_to_string;
use serde_json::{Value, json};

use crate::TargetArgs;
use crate::client::{self, idempotency_key};

#[derive(Args)]
pub struct QuoteArgs {
    /// Module codes, comma-separated: crm, projecten-uren, boekhouding, handel, personeelsmanagement, facturatie.
    #[arg(long, value_delimiter = ',')]
    modules: Vec<String>,
    /// Add-on codes, comma-separated: documentbeheer, voorraadbeheer.
    #[arg(long, value_delimiter = ',')]
    addons: Vec<String>,
    /// Total number of users, the one included user counted.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    users: i32,
    /// Include the automatic bank link (needs boekhouding or facturatie).
    #[arg(long)]
    bank_link: bool,
    /// Customer country as an ISO 3166 alpha-2 code.
    #[arg(long, default_value = "NL")]
    country: String,
    /// Customer VAT id. With an EU country other than NL, the VAT is reverse charged.
    #[arg(long)]
    vat_id: Option<String>,
    /// Language of the descriptions and explanations.
    #[arg(long, value_enum, default_value = "nl")]
    language: QuoteLanguage,
    /// Key that makes a retried command return the quote it created the first time; a new key
    /// per call when left out.
    #[arg(long)]
    idempotency_key: Option<String>,
    #[command(flatten)]
    target: TargetArgs,
}

/// Language of the texts that billing returns: descriptions, explanations and the VAT note.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum QuoteLanguage {
    Nl,
    En,
}

impl QuoteLanguage {
    pub(crate) fn to_proto(self) -> billing::Language {
        match self {
            QuoteLanguage::Nl => billing::Language::Nl,
            QuoteLanguage::En => billing::Language::En,
        }
    }
}

/// Drops the empty codes that a trailing or doubled comma leaves, as in `--modules crm,`.
fn without_empty(codes: Vec<String>) -> Vec<String> {
    codes
        .into_iter()
        .filter(|code| !code.trim().is_empty())
        .collect()
}

/// The options of `dk quote` behind the fields of its request.
pub(crate) const QUOTE_OPTIONS: [(&str, &str); 7] = [
    ("modules", "--modules"),
    ("addons", "--addons"),
    ("users", "--users"),
    ("bank_link", "--bank-link"),
    ("country_code", "--country"),
    ("vat_id", "--vat-id"),
    ("language", "--language"),
];

pub async fn run(args: QuoteArgs) -> anyhow::Result<()> {
    let language = args.language.to_proto();
    let request = billing::CreateQuoteRequest {
        idempotency_key: idempotency_key(args.idempotency_key),
        modules: without_empty(args.modules),
        addons: without_empty(args.addons),
        users: args.users,
        bank_link: args.bank_link,
        country_code: args.country,
        vat_id: args.vat_id.unwrap_or_default(),
        language: language as i32,
    };
    let quote = args
        .target
        .target()
        .billing()
        .await?
        .create_quote(request)
        .await
        .map_err(client::status_error_naming(&QUOTE_OPTIONS))?
        .into_inner()
        .quote
        .unwrap_or_default();
    if args.target.json {
        client::print_json(&quote_json(&quote));
    } else {
        print_quote(&quote);
    }
    Ok(())
}

pub(crate) fn amount(money: Option<&common::Money>) -> Value {
    match money {
        Some(money) => Value::String(money.amount.clone()),
        None => Value::Null,
    }
}

fn status_name(status: i32) -> &'static str {
    match billing::QuoteStatus::try_from(status) {
        Ok(billing::QuoteStatus::Priced) => "priced",
        Ok(billing::QuoteStatus::CustomPricingRequired) => "custom_pricing_required",
        _ => "unknown",
    }
}

/// Builds the `--json` output, with money as decimal strings and `null` for a missing price.
pub fn quote_json(quote: &billing::Quote) -> Value {
    json!({
        "quote_id": quote.quote_id,
        "lines": quote.lines.iter().map(quote_line_json).collect::<Vec<_>>(),
        "net": amount(quote.net.as_ref()),
        "vat": quote.vat.iter().map(vat_json).collect::<Vec<_>>(),
        "total": amount(quote.total.as_ref()),
        "status": status_name(quote.status),
        "reverse_charge": quote.reverse_charge,
        "vat_note": quote.vat_note,
        "customer_vat_id": quote.customer_vat_id,
        "valid_until": date_to_string(quote.valid_until.as_ref()),
    })
}

pub(crate) fn quote_line_json(line: &billing::QuoteLine) -> Value {
    json!({
        "code": line.code,
        "description": line.description,
        "quantity": line.quantity,
        "unit_price": amount(line.unit_price.as_ref()),
        "amount": amount(line.amount.as_ref()),
        "explanation": line.explanation,
    })
}

pub(crate) fn vat_json(vat: &billing::VatLine) -> Value {
    json!({
        "rate": vat.rate,
        "base": amount(vat.base.as_ref()),
        "amount": amount(vat.amount.as_ref()),
    })
}

pub(crate) fn money_text(money: Option<&common::Money>) -> String {
    money.map(|money| money.amount.clone()).unwrap_or_default()
}

/// The labels of a printed quote in its language, which customers see as well.
struct QuoteLabels {
    header: [&'static str; 5],
    custom: &'static str,
    net: &'static str,
    vat: &'static str,
    over: &'static str,
    total: &'static str,
    custom_pricing: &'static str,
    customer_vat_id: &'static str,
    quote: &'static str,
    valid_until: &'static str,
}

const DUTCH_LABELS: QuoteLabels = QuoteLabels {
    header: [
        "omschrijving",
        "aantal",
        "prijs per stuk",
        "bedrag",
        "toelichting",
    ],
    custom: "op maat",
    net: "netto",
    vat: "btw",
    over: "over",
    total: "totaal",
    custom_pricing: "status: prijs op maat nodig; de totalen laten de regel van de gebruikers \
                     zonder prijs weg",
    customer_vat_id: "btw-nummer klant",
    quote: "offerte",
    valid_until: "geldig tot",
};

const ENGLISH_LABELS: QuoteLabels = QuoteLabels {
    header: [
        "description",
        "quantity",
        "unit price",
        "amount",
        "explanation",
    ],
    custom: "custom",
    net: "net",
    vat: "VAT",
    over: "over",
    total: "total",
    custom_pricing: "status: custom pricing required; the totals leave out the unpriced users line",
    customer_vat_id: "customer VAT id",
    quote: "quote",
    valid_until: "valid until",
};

/// Prints the lines as a table with the explanation of each, then net, VAT and total, labelled
/// in the quote's language.
pub(crate) fn print_quote(quote: &billing::Quote) {
    let labels = if quote.language == billing::Language::En as i32 {
        &ENGLISH_LABELS
    } else {
        &DUTCH_LABELS
    };
    let header = labels.header;
    let rows: Vec<[String; 5]> = quote
        .lines
        .iter()
        .map(|line| {
            [
                line.description.clone(),
                line.quantity.clone(),
                money_text(line.unit_price.as_ref()),
                match &line.amount {
                    Some(money) => money.amount.clone(),
                    None => labels.custom.to_owned(),
                },
                line.explanation.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|title| title.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let print_row = |cells: [&str; 5]| {
        println!(
            "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
        );
    };
    print_row(header);
    for row in &rows {
        print_row([&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }

    // Totals right-aligned under the amount column.
    let label_width = widths[0] + widths[1] + widths[2] + 6;
    let amount_width = widths[3];
    let total_row = |label: &str, value: String| {
        println!("{label:<label_width$}{value:>amount_width$}");
    };
    println!();
    total_row(labels.net, money_text(quote.net.as_ref()));
    for vat in &quote.vat {
        total_row(
            &format!(
                "{} {}% {} {}",
                labels.vat,
                vat.rate,
                labels.over,
                money_text(vat.base.as_ref())
            ),
            money_text(vat.amount.as_ref()),
        );
    }
    total_row(labels.total, money_text(quote.total.as_ref()));
    println!();

    if quote.status == billing::QuoteStatus::CustomPricingRequired as i32 {
        println!("{}", labels.custom_pricing);
    }
    // "btw verlegd" contains the word for VAT, but "buiten de EU" needs the label.
    if !quote.vat_note.is_empty() {
        if quote
            .vat_note
            .to_lowercase()
            .contains(&labels.vat.to_lowercase())
        {
            println!("{}", quote.vat_note);
        } else {
            println!("{}: {}", labels.vat, quote.vat_note);
        }
    }
    if !quote.customer_vat_id.is_empty() {
        println!("{}: {}", labels.customer_vat_id, quote.customer_vat_id);
    }
    println!(
        "{} {}, {} {}",
        labels.quote,
        quote.quote_id,
        labels.valid_until,
        date_to_string(quote.valid_until.as_ref())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_comma_adds_no_code() {
        let codes = ["crm", "", " ", "boekhouding"].map(String::from).to_vec();
        assert_eq!(without_empty(codes), ["crm", "boekhouding"]);
    }
}
