//! `dk bank link`, `dk bank consent`, `dk bank sync` and `dk bank links`: the automatic bank
//! link of an account, the customer's consent at the bank, and syncing.

use clap::Subcommand;
use dk_proto::banksync::v1 as banksync;
use serde_json::{Value, json};

use crate::TargetArgs;
use crate::client::{idempotency_key, print_json, status_error};

/// The return address for the bank when no --redirect-uri is given. Nothing needs to
/// listen there: the customer copies the address from the browser into `dk bank consent
/// complete --return-url`.
const DEFAULT_REDIRECT: &str = "http://127.0.0.1:8080/bank-link/return";

#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Start the customer's consent at the bank for a linked account; prints the bank's page.
    Start {
        /// Id of the bank account (see `dk account add`).
        #[arg(long)]
        account: String,
        /// The address the bank sends the customer back to: https, or http on 127.0.0.1,
        /// localhost or [::1].
        #[arg(long, default_value = DEFAULT_REDIRECT)]
        redirect_uri: String,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Complete a consent with the address the bank sent the customer back to, or with its
    /// code and state.
    Complete {
        /// The whole return address, with its code and state parameters.
        #[arg(long, conflicts_with_all = ["code", "state"])]
        return_url: Option<String>,
        /// The code parameter of the return address.
        #[arg(long, requires = "state")]
        code: Option<String>,
        /// The state parameter of the return address.
        #[arg(long, requires = "code")]
        state: Option<String>,
        #[command(flatten)]
        target: TargetArgs,
    },
}

pub async fn link(account: String, off: bool, target: TargetArgs) -> anyhow::Result<()> {
    let response = target
        .target()
        .banksync()
        .await?
        .set_automatic_link(banksync::SetAutomaticLinkRequest {
            idempotency_key: idempotency_key(None),
            bank_account_id: account,
            enabled: !off,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let account = response.bank_account.unwrap_or_default();
    if target.json {
        print_json(&json!({
            "bank_account_id": account.id,
            "iban": account.iban,
            "automatic_link": account.automatic_link,
            "linked_count": response.linked_count,
            "max_linked_ibans": response.max_linked_ibans,
        }));
    } else {
        println!(
            "{} is {} linked automatically ({} of at most {} IBANs linked)",
            account.iban,
            if account.automatic_link {
                "now"
            } else {
                "no longer"
            },
            response.linked_count,
            response.max_linked_ibans
        );
        if account.automatic_link {
            println!("next: dk bank consent start --account {}", account.id);
        }
    }
    Ok(())
}

pub async fn consent(command: ConsentCommand) -> anyhow::Result<()> {
    match command {
        ConsentCommand::Start {
            account,
            redirect_uri,
            target,
        } => {
            let started = target
                .target()
                .banksync()
                .await?
                .start_bank_consent(banksync::StartBankConsentRequest {
                    idempotency_key: idempotency_key(None),
                    bank_account_id: account,
                    redirect_uri,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            if target.json {
                print_json(&json!({
                    "consent_id": started.consent_id,
                    "bank": started.bank,
                    "authorization_url": started.authorization_url,
                    "state": started.state,
                }));
            } else {
                println!("Open this page, log in at the bank and consent:");
                println!("  {}", started.authorization_url);
                println!("Then pass the address the bank sends you back to:");
                println!("  dk bank consent complete --return-url 'ADDRESS'");
            }
            Ok(())
        }
        ConsentCommand::Complete {
            return_url,
            code,
            state,
            target,
        } => {
            let (code, state) = match (return_url, code, state) {
                (Some(url), _, _) => code_and_state(&url)?,
                (None, Some(code), Some(state)) => (code, state),
                _ => anyhow::bail!(
                    "give --return-url, or both --code and --state from the bank's return address"
                ),
            };
            let link = target
                .target()
                .banksync()
                .await?
                .complete_bank_consent(banksync::CompleteBankConsentRequest {
                    idempotency_key: idempotency_key(None),
                    state,
                    code,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .bank_link
                .unwrap_or_default();
            if target.json {
                print_json(&link_json(&link));
            } else {
                println!(
                    "consent for {} at {} is {}, valid until {}",
                    link.iban,
                    link.bank,
                    status_name(link.consent_status),
                    time_text(link.consent_valid_until.as_ref())
                );
                println!(
                    "the account syncs at the scheduler's next round, or now with: dk bank sync --account {}",
                    link.bank_account_id
                );
            }
            Ok(())
        }
    }
}

pub async fn sync(account: String, target: TargetArgs) -> anyhow::Result<()> {
    let response = target
        .target()
        .banksync()
        .await?
        .sync_bank_account(banksync::SyncBankAccountRequest {
            idempotency_key: idempotency_key(None),
            bank_account_id: account,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let link = response.bank_link.unwrap_or_default();
    let import = response.import.unwrap_or_default();
    if target.json {
        let mut value = link_json(&link);
        value["imported"] = json!(import.imported_count);
        value["duplicates"] = json!(import.duplicate_count);
        value["warnings"] = json!(import.warnings);
        print_json(&value);
    } else {
        println!(
            "synced {}: {} new, {} already known",
            link.iban, import.imported_count, import.duplicate_count
        );
        for warning in &import.warnings {
            println!("  warning: {warning}");
        }
    }
    Ok(())
}

pub async fn list(language: String, target: TargetArgs) -> anyhow::Result<()> {
    let links = target
        .target()
        .banksync()
        .await?
        .list_bank_links(banksync::ListBankLinksRequest { language })
        .await
        .map_err(status_error)?
        .into_inner()
        .bank_links;
    if target.json {
        print_json(&Value::Array(links.iter().map(link_json).collect()));
        return Ok(());
    }
    if links.is_empty() {
        println!("no account is linked automatically (dk bank link --account ID)");
    }
    for link in &links {
        println!(
            "{} {:<9} consent {:<12} until {:<25} synced through {:<10} next {}",
            link.iban,
            if link.bank.is_empty() {
                "-"
            } else {
                &link.bank
            },
            status_name(link.consent_status),
            time_text(link.consent_valid_until.as_ref()),
            crate::client::date_text(link.synced_through.as_ref()),
            time_text(link.next_sync_time.as_ref()),
        );
        if !link.last_sync_outcome.is_empty() {
            println!("  last sync: {}", link.last_sync_outcome);
        }
        if !link.notice.is_empty() {
            println!("  {}", link.notice);
        }
    }
    Ok(())
}

/// Reads the `code` and `state` parameters of the bank's return address.
fn code_and_state(text: &str) -> anyhow::Result<(String, String)> {
    let url = url::Url::parse(text.trim()).map_err(|error| {
        anyhow::anyhow!("--return-url {text:?} is not an address ({error}): expected the address the bank sent you back to")
    })?;
    if let Some((_, error)) = url.query_pairs().find(|(key, _)| key == "error") {
        let description = url
            .query_pairs()
            .find(|(key, _)| key == "error_description")
            .map(|(_, text)| format!(" ({text})"))
            .unwrap_or_default();
        anyhow::bail!(
            "the consent failed at the bank: {error}{description}; start a new one with dk bank consent start"
        );
    }
    let find = |name: &str| {
        url.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .ok_or_else(|| {
                anyhow::anyhow!("--return-url has no {name} parameter: expected the address the bank sent you back to, with code and state")
            })
    };
    Ok((find("code")?, find("state")?))
}

fn status_name(status: i32) -> &'static str {
    match banksync::ConsentStatus::try_from(status) {
        Ok(banksync::ConsentStatus::Missing) => "missing",
        Ok(banksync::ConsentStatus::Active) => "active",
        Ok(banksync::ConsentStatus::RenewalDue) => "renewal-due",
        Ok(banksync::ConsentStatus::Ended) => "ended",
        _ => "unknown",
    }
}

/// Formats an instant as RFC 3339 with the Amsterdam offset, as the other commands print
/// instants, or `-` when absent.
fn time_text(time: Option<&prost_types::Timestamp>) -> String {
    amsterdam(time).unwrap_or_else(|| "-".to_owned())
}

pub(crate) fn amsterdam(time: Option<&prost_types::Timestamp>) -> Option<String> {
    let time = time?;
    let instant = chrono::DateTime::from_timestamp(time.seconds, 0)?;
    Some(
        instant
            .with_timezone(&chrono_tz::Europe::Amsterdam)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    )
}

fn link_json(link: &banksync::BankLink) -> Value {
    let time =
        |time: Option<&prost_types::Timestamp>| amsterdam(time).map_or(Value::Null, Value::String);
    json!({
        "bank_account_id": link.bank_account_id,
        "iban": link.iban,
        "bank": link.bank,
        "consent_status": status_name(link.consent_status),
        "consent_valid_until": time(link.consent_valid_until.as_ref()),
        "last_sync_time": time(link.last_sync_time.as_ref()),
        "synced_through": link.synced_through.as_ref().map_or(Value::Null, |date| json!(crate::client::date_text(Some(date)))),
        "next_sync_time": time(link.next_sync_time.as_ref()),
        "last_sync_outcome": link.last_sync_outcome,
        "notice": link.notice,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_print_with_the_amsterdam_offset() {
        let winter = prost_types::Timestamp {
            seconds: 1_796_443_200,
            nanos: 0,
        };
        assert_eq!(time_text(Some(&winter)), "2026-12-05T05:00:00+01:00");
        let summer = prost_types::Timestamp {
            seconds: 1_783_000_800,
            nanos: 0,
        };
        assert_eq!(time_text(Some(&summer)), "2026-07-02T16:00:00+02:00");
        assert_eq!(time_text(None), "-");
    }

    #[test]
    fn return_addresses_give_code_and_state() {
        let (code, state) =
            code_and_state("http://127.0.0.1:8080/bank-link/return?code=abc&state=s1").unwrap();
        assert_eq!((code.as_str(), state.as_str()), ("abc", "s1"));
        let error = code_and_state("http://127.0.0.1:8080/return?state=s1").unwrap_err();
        assert!(error.to_string().contains("no code parameter"), "{error}");
        let error =
            code_and_state("http://127.0.0.1/return?error=access_denied&state=s").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the consent failed at the bank: access_denied; start a new one with dk bank consent start"
        );
        assert!(code_and_state("not an address").is_err());
    }
}
