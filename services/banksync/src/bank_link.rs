//! The automatic bank link: the customer's consent at the bank, syncing linked accounts, and
//! the scheduler that does both on its own.
//!
//! A consent starts `pending` with a random OAuth `state`, becomes `active` when the bank's code
//! is exchanged for tokens (replacing the account's earlier consent), and `ended` when it lapses
//! or the bank stops honouring it. The scheduler notifies the customer, once per consent, when it
//! lapses within the notice period (`bank.consent.expiring.v1`) and when it has ended
//! (`bank.consent.ended.v1`), each in the same transaction as the status change.
//!
//! A sync reads the booked transactions from a few days before the last synced date up to
//! today, and stores them through the same path as a statement file. The source-independent
//! fingerprint (see `import`) makes a repeated sync, an overlap with a manual import, and two
//! replicas syncing at once store every mutation once. Replicas claim a due sync by moving its
//! `next_run_at` with a conditional update, so only one of them syncs an account per round.
//!
//! The customer's tokens are stored sealed (see `vault`).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Europe::Amsterdam;
use dk_banklink::{AccountInformation, Bank, Grant, LinkError};
use dk_domain::OrganisationId;
use dk_messaging::outbox::{self, Relay};
use dk_messaging::{Event, topology};
use dk_proto::banksync::v1 as pb;
use dk_proto::convert::timestamp_from;
use dk_proto::events::v1::BankConsentNotice;
use dk_runtime::idempotency::{self, Key};
use dk_runtime::status;
use prost::Message;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryOrder, QuerySelect, Set};
use tokio_util::sync::CancellationToken;
use tonic::{Code, Status};

use crate::entity::{account_sync, automatic_link, bank_account, bank_consent};
use crate::import::{self, EVENT_SOURCE, ImportRequest, Source};
use crate::settings::BankLinkSettings;
use crate::vault::Vault;

/// Consent states as stored.
const PENDING: &str = "pending";
const ACTIVE: &str = "active";
const REPLACED: &str = "replaced";
const ENDED: &str = "ended";

/// Due syncs taken per scheduler round.
const SYNCS_PER_ROUND: u64 = 100;

/// The automatic bank link of one banksync instance.
pub struct BankLinks {
    db: DatabaseConnection,
    settings: BankLinkSettings,
    providers: HashMap<Bank, Arc<dyn AccountInformation>>,
    vault: Vault,
    relay: Relay,
}

/// The result of a sync: the account's link afterwards and what was stored.
pub struct Synced {
    pub link: pb::BankLink,
    pub import: pb::ImportStatementResponse,
}

/// Counts of one scheduler round, for logs and tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub synced: usize,
    pub failed: usize,
    pub renewal_notices: usize,
    pub ended: usize,
}

impl BankLinks {
    /// Connects an adapter for every configured bank.
    pub fn new(
        db: DatabaseConnection,
        settings: BankLinkSettings,
        relay: Relay,
    ) -> anyhow::Result<Self> {
        let mut providers = HashMap::new();
        for bank in Bank::ALL {
            if let Some(api) = settings.bank(bank) {
                providers.insert(bank, dk_banklink::connect(bank, api)?);
            }
        }
        let vault = Vault::new(settings.token_key.expose()).map_err(anyhow::Error::msg)?;
        Ok(BankLinks {
            db,
            settings,
            providers,
            vault,
            relay,
        })
    }

    /// Runs scheduler rounds until `shutdown`; does nothing when the interval is 0.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let seconds = self.settings.scheduler_interval_seconds;
        if seconds == 0 {
            return;
        }
        let mut ticks = tokio::time::interval(Duration::from_secs(seconds));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            match self.round(Utc::now()).await {
                Ok(round) if round != Round::default() => {
                    tracing::info!(?round, "bank link round");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "bank link round failed"),
            }
        }
    }

    /// Runs one scheduler round at `now`: ends lapsed consents, sends renewal notices, and
    /// syncs the accounts that are due.
    pub async fn round(&self, now: DateTime<Utc>) -> Result<Round, DbErr> {
        let mut round = Round {
            ended: self.end_lapsed(now).await?,
            renewal_notices: self.send_renewal_notices(now).await?,
            ..Round::default()
        };
        let due = account_sync::Entity::find()
            .filter(account_sync::Column::NextRunAt.lte(now))
            .order_by_asc(account_sync::Column::NextRunAt)
            .limit(SYNCS_PER_ROUND)
            .all(&self.db)
            .await?;
        for sync in due {
            if !self.claim(&sync, now).await? {
                continue;
            }
            let organisation = OrganisationId::from_uuid(sync.organisation_id);
            match self
                .sync(organisation, sync.bank_account_id, None, now)
                .await
            {
                Ok(_) => round.synced += 1,
                Err(error) => {
                    round.failed += 1;
                    tracing::warn!(
                        bank_account_id = %sync.bank_account_id,
                        error = error.message(),
                        "scheduled bank sync failed"
                    );
                }
            }
        }
        Ok(round)
    }

    /// Moves a due sync's next run forward, unless another replica did so first.
    async fn claim(&self, sync: &account_sync::Model, now: DateTime<Utc>) -> Result<bool, DbErr> {
        let next = now + self.sync_interval();
        let result = account_sync::Entity::update_many()
            .col_expr(account_sync::Column::NextRunAt, Expr::value(next))
            .filter(account_sync::Column::BankAccountId.eq(sync.bank_account_id))
            .filter(account_sync::Column::NextRunAt.eq(sync.next_run_at))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    fn sync_interval(&self) -> TimeDelta {
        TimeDelta::seconds(
            i64::try_from(self.settings.sync_interval_seconds).unwrap_or(i64::MAX / 2),
        )
    }

    fn notice_period(&self) -> TimeDelta {
        TimeDelta::days(self.settings.renewal_notice_days)
    }

    fn provider(&self, bank: Bank, iban: &str) -> Result<&Arc<dyn AccountInformation>, Status> {
        self.providers.get(&bank).ok_or_else(|| {
            status::with_reason(
                Code::FailedPrecondition,
                "BANK_NOT_CONFIGURED",
                format!(
                    "the automatic link with {} is not configured on this server (settings \
                     bank_link.{}); import the statement files of {iban} instead",
                    bank.display_name(),
                    bank.as_str()
                ),
                &[("bank", bank.as_str().to_owned())],
            )
        })
    }

    /// Starts a consent for an automatically linked account.
    pub async fn start_consent(
        &self,
        organisation: OrganisationId,
        account_id: Uuid,
        redirect_uri: &str,
        key: &Key,
    ) -> Result<pb::StartBankConsentResponse, Status> {
        let context = "starting a bank consent";
        let redirect_uri = check_redirect_uri(redirect_uri)?;
        let transaction = dk_runtime::database::begin_write(&self.db)
            .await
            .map_err(|e| status::from_db(context, e))?;
        if let Some(response) = idempotency::replay(&transaction, key).await? {
            return Ok(response);
        }
        let account = linked_account(&transaction, organisation, account_id).await?;
        let bank = bank_of(&account)?;
        let provider = self.provider(bank, &account.iban)?;
        let state = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let consent = bank_consent::ActiveModel {
            id: Set(Uuid::now_v7()),
            organisation_id: Set(organisation.as_uuid()),
            bank_account_id: Set(account.id),
            bank: Set(bank.as_str().to_owned()),
            status: Set(PENDING.to_owned()),
            state: Set(state.clone()),
            redirect_uri: Set(redirect_uri.clone()),
            access_token: Set(None),
            refresh_token: Set(None),
            access_expires_at: Set(None),
            valid_until: Set(None),
            renewal_notice_at: Set(None),
            ended_reason: Set(None),
            created_at: Set(Utc::now()),
            activated_at: Set(None),
        }
        .insert(&transaction)
        .await
        .map_err(|e| status::from_db(context, e))?;
        let response = pb::StartBankConsentResponse {
            consent_id: consent.id.to_string(),
            bank: bank.as_str().to_owned(),
            authorization_url: provider.authorization_url(&state, &redirect_uri),
            state,
        };
        idempotency::store(&transaction, key, &response)
            .await
            .map_err(|e| status::from_db(context, e))?;
        transaction
            .commit()
            .await
            .map_err(|e| status::from_db(context, e))?;
        Ok(response)
    }

    /// Completes a consent with the bank's code; the account syncs at the next round.
    pub async fn complete_consent(
        &self,
        organisation: OrganisationId,
        state: &str,
        code: &str,
        key: &Key,
    ) -> Result<pb::CompleteBankConsentResponse, Status> {
        let context = "completing a bank consent";
        if let Some(response) = idempotency::replay(&self.db, key).await? {
            return Ok(response);
        }
        if code.trim().is_empty() {
            return Err(status::invalid_argument(
                "code",
                "missing: expected the code parameter of the bank's redirect",
            ));
        }
        let consent = bank_consent::Entity::find()
            .filter(bank_consent::Column::OrganisationId.eq(organisation.as_uuid()))
            .filter(bank_consent::Column::State.eq(state.trim()))
            .one(&self.db)
            .await
            .map_err(|e| status::from_db(context, e))?
            .ok_or_else(|| status::not_found("bank consent with state", state.trim()))?;
        if consent.status != PENDING {
            return Err(status::with_reason(
                Code::FailedPrecondition,
                "BANK_CONSENT_NOT_PENDING",
                format!(
                    "bank consent {} is {} and cannot be completed again: start a new one",
                    consent.id, consent.status
                ),
                &[("consent_id", consent.id.to_string())],
            ));
        }
        let bank =
            Bank::from_str(&consent.bank).map_err(|error| status::internal(context, &error))?;
        let account = linked_account(&self.db, organisation, consent.bank_account_id).await?;
        let provider = self.provider(bank, &account.iban)?;
        let grant = match provider
            .exchange_code(code.trim(), &consent.redirect_uri)
            .await
        {
            Ok(grant) => grant,
            Err(error) => {
                self.end_consent(&consent, &account.iban, &error.to_string())
                    .await
                    .map_err(|e| status::from_db(context, e))?;
                if let LinkError::ErrorResponse {
                    status: 400 | 401, ..
                } = error
                {
                    return Err(status::with_reason(
                        Code::FailedPrecondition,
                        "BANK_CODE_REJECTED",
                        format!(
                            "account {}: the bank rejected the code, so consent {} has ended ({error}); \
                             start a new one with dk bank consent start --account {}",
                            account.iban, consent.id, account.id
                        ),
                        &[("iban", account.iban.clone())],
                    ));
                }
                return Err(link_status(&account.iban, &error));
            }
        };

        let now = Utc::now();
        let transaction = dk_runtime::database::begin_write(&self.db)
            .await
            .map_err(|e| status::from_db(context, e))?;
        bank_consent::Entity::update_many()
            .col_expr(bank_consent::Column::Status, Expr::value(REPLACED))
            .filter(bank_consent::Column::BankAccountId.eq(account.id))
            .filter(bank_consent::Column::Status.eq(ACTIVE))
            .exec(&transaction)
            .await
            .map_err(|e| status::from_db(context, e))?;
        let activated = bank_consent::Entity::update_many()
            .col_expr(bank_consent::Column::Status, Expr::value(ACTIVE))
            .col_expr(bank_consent::Column::ActivatedAt, Expr::value(Some(now)))
            .col_expr(
                bank_consent::Column::ValidUntil,
                Expr::value(Some(grant.consent_valid_until)),
            )
            .filter(bank_consent::Column::Id.eq(consent.id))
            .filter(bank_consent::Column::Status.eq(PENDING))
            .exec(&transaction)
            .await
            .map_err(|e| status::from_db(context, e))?;
        if activated.rows_affected != 1 {
            return Err(Status::aborted(format!(
                "bank consent {} was completed by a concurrent request",
                consent.id
            )));
        }
        self.save_grant(&transaction, consent.id, &grant)
            .await
            .map_err(|e| status::from_db(context, e))?;
        account_sync::Entity::insert(account_sync::ActiveModel {
            bank_account_id: Set(account.id),
            organisation_id: Set(organisation.as_uuid()),
            next_run_at: Set(now),
            last_run_at: Set(None),
            synced_through: Set(None),
            last_outcome: Set(None),
        })
        .on_conflict(
            OnConflict::column(account_sync::Column::BankAccountId)
                .update_column(account_sync::Column::NextRunAt)
                .to_owned(),
        )
        .exec_without_returning(&transaction)
        .await
        .map_err(|e| status::from_db(context, e))?;
        let link = link_view(
            &transaction,
            &account,
            now,
            self.notice_period(),
            Language::Dutch,
        )
        .await
        .map_err(|e| status::from_db(context, e))?;
        let response = pb::CompleteBankConsentResponse {
            bank_link: Some(link),
        };
        idempotency::store(&transaction, key, &response)
            .await
            .map_err(|e| status::from_db(context, e))?;
        transaction
            .commit()
            .await
            .map_err(|e| status::from_db(context, e))?;
        tracing::info!(
            organisation_id = %organisation,
            bank_account_id = %account.id,
            bank = bank.as_str(),
            valid_until = %grant.consent_valid_until,
            "bank consent active"
        );
        Ok(response)
    }

    /// Syncs one linked account now.
    pub async fn sync(
        &self,
        organisation: OrganisationId,
        account_id: Uuid,
        key: Option<&Key>,
        now: DateTime<Utc>,
    ) -> Result<Synced, Status> {
        let context = "syncing a bank account";
        if let Some(key) = key
            && let Some(response) =
                idempotency::replay::<_, pb::SyncBankAccountResponse>(&self.db, key).await?
        {
            return Ok(Synced {
                link: response.bank_link.unwrap_or_default(),
                import: response.import.unwrap_or_default(),
            });
        }
        let db = |e| status::from_db(context, e);
        let account = linked_account(&self.db, organisation, account_id).await?;
        let bank = bank_of(&account)?;
        let consent = bank_consent::Entity::find()
            .filter(bank_consent::Column::BankAccountId.eq(account.id))
            .filter(bank_consent::Column::Status.eq(ACTIVE))
            .one(&self.db)
            .await
            .map_err(db)?
            .ok_or_else(|| {
                status::with_reason(
                    Code::FailedPrecondition,
                    "BANK_CONSENT_MISSING",
                    format!(
                        "account {} has no active consent at {}: start one with dk bank consent \
                         start --account {} (StartBankConsent)",
                        account.iban,
                        bank.display_name(),
                        account.id
                    ),
                    &[("iban", account.iban.clone())],
                )
            })?;
        let provider = self.provider(bank, &account.iban)?.clone();
        let progress = account_sync::Entity::find_by_id(account.id)
            .one(&self.db)
            .await
            .map_err(db)?;
        let today = now.with_timezone(&Amsterdam).date_naive();
        let from = progress
            .as_ref()
            .and_then(|progress| progress.synced_through)
            .map(|date| date - TimeDelta::days(self.settings.overlap_days))
            .unwrap_or(today - TimeDelta::days(self.settings.first_sync_days))
            .min(today);

        let mut grant = self
            .grant_of(&consent)
            .map_err(|error| status::internal(context, &error))?;
        let before = grant.clone();
        let fetched = dk_banklink::fetch_booked(
            provider.as_ref(),
            &mut grant,
            &account.iban,
            from,
            today,
            now,
        )
        .await;
        if grant != before {
            self.save_grant(&self.db, consent.id, &grant)
                .await
                .map_err(db)?;
        }
        let transactions = match fetched {
            Ok(transactions) => transactions,
            Err(error) => {
                tracing::warn!(
                    organisation_id = %organisation,
                    bank_account_id = %account.id,
                    bank = bank.as_str(),
                    %error,
                    "bank sync failed"
                );
                if error.needs_new_consent() {
                    self.end_consent(&consent, &account.iban, &error.to_string())
                        .await
                        .map_err(db)?;
                }
                record_outcome(&self.db, &account, now, None, &error.to_string())
                    .await
                    .map_err(db)?;
                return Err(link_status(&account.iban, &error));
            }
        };

        let statement = dk_statement::Statement {
            statement_id: None,
            sequence: None,
            account: account.iban.clone(),
            iban: Some(account.iban.clone()),
            currency: transactions
                .first()
                .map_or_else(|| "EUR".to_owned(), |t| t.currency.clone()),
            opening_balance: None,
            closing_balance: None,
            transactions,
        };
        let content = serde_json::to_vec(&statement.transactions)
            .map_err(|error| status::internal(context, &error))?;
        let name = format!("{} sync {from} to {today}", bank.display_name());
        let request = ImportRequest {
            organisation_id: organisation,
            source: Source {
                name: &name,
                format: "bank-api",
                dialect: bank.as_str(),
                content: &content,
            },
            idempotency: None,
        };
        let imported = import::store_retrying(&self.db, &request, &[statement], &[])
            .await
            .map_err(crate::grpc::import_status)?;
        self.relay.notify();
        let outcome = format!(
            "read {} to {today}: {} new, {} already known",
            from, imported.imported_count, imported.duplicate_count
        );
        record_outcome(&self.db, &account, now, Some(today), &outcome)
            .await
            .map_err(db)?;
        // A sync by request counts as the scheduled one.
        account_sync::Entity::update_many()
            .col_expr(
                account_sync::Column::NextRunAt,
                Expr::value(now + self.sync_interval()),
            )
            .filter(account_sync::Column::BankAccountId.eq(account.id))
            .exec(&self.db)
            .await
            .map_err(db)?;
        let link = link_view(
            &self.db,
            &account,
            now,
            self.notice_period(),
            Language::Dutch,
        )
        .await
        .map_err(db)?;
        let response = pb::SyncBankAccountResponse {
            bank_link: Some(link),
            import: Some(imported),
        };
        if let Some(key) = key {
            let transaction = dk_runtime::database::begin_write(&self.db)
                .await
                .map_err(db)?;
            idempotency::store(&transaction, key, &response)
                .await
                .map_err(db)?;
            transaction.commit().await.map_err(db)?;
        }
        tracing::info!(
            organisation_id = %organisation,
            bank_account_id = %account.id,
            bank = bank.as_str(),
            %outcome,
            "bank account synced"
        );
        Ok(Synced {
            link: response.bank_link.unwrap_or_default(),
            import: response.import.unwrap_or_default(),
        })
    }

    /// Decrypts the tokens of an active consent.
    fn grant_of(&self, consent: &bank_consent::Model) -> Result<Grant, String> {
        let missing = || format!("active consent {} has no tokens", consent.id);
        let open = |sealed: &str| {
            self.vault
                .open(consent.id, sealed)
                .map_err(|e| e.to_string())
        };
        Ok(Grant {
            access_token: open(consent.access_token.as_deref().ok_or_else(missing)?)?,
            access_expires_at: consent.access_expires_at.ok_or_else(missing)?,
            refresh_token: consent.refresh_token.as_deref().map(open).transpose()?,
            consent_valid_until: consent.valid_until.ok_or_else(missing)?,
        })
    }

    /// Stores refreshed tokens, sealed.
    async fn save_grant<C: ConnectionTrait>(
        &self,
        db: &C,
        consent: Uuid,
        grant: &Grant,
    ) -> Result<(), DbErr> {
        bank_consent::Entity::update_many()
            .col_expr(
                bank_consent::Column::AccessToken,
                Expr::value(Some(self.vault.seal(consent, &grant.access_token))),
            )
            .col_expr(
                bank_consent::Column::RefreshToken,
                Expr::value(
                    grant
                        .refresh_token
                        .as_deref()
                        .map(|token| self.vault.seal(consent, token)),
                ),
            )
            .col_expr(
                bank_consent::Column::AccessExpiresAt,
                Expr::value(Some(grant.access_expires_at)),
            )
            .filter(bank_consent::Column::Id.eq(consent))
            .exec(db)
            .await?;
        Ok(())
    }

    /// Lists the organisation's automatically linked accounts.
    pub async fn list(
        &self,
        organisation: OrganisationId,
        language: Language,
    ) -> Result<Vec<pb::BankLink>, DbErr> {
        let linked: Vec<Uuid> = automatic_link::Entity::find()
            .filter(automatic_link::Column::OrganisationId.eq(organisation.as_uuid()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|link| link.bank_account_id)
            .collect();
        let accounts = bank_account::Entity::find()
            .filter(bank_account::Column::Id.is_in(linked))
            .order_by_asc(bank_account::Column::Iban)
            .all(&self.db)
            .await?;
        let now = Utc::now();
        let mut links = Vec::with_capacity(accounts.len());
        for account in &accounts {
            links.push(link_view(&self.db, account, now, self.notice_period(), language).await?);
        }
        Ok(links)
    }

    /// Ends a consent that is still pending or active, with the customer's notice.
    async fn end_consent(
        &self,
        consent: &bank_consent::Model,
        iban: &str,
        reason: &str,
    ) -> Result<bool, DbErr> {
        let transaction = dk_runtime::database::begin_write(&self.db).await?;
        let ended = bank_consent::Entity::update_many()
            .col_expr(bank_consent::Column::Status, Expr::value(ENDED))
            .col_expr(
                bank_consent::Column::EndedReason,
                Expr::value(Some(reason.to_owned())),
            )
            .filter(bank_consent::Column::Id.eq(consent.id))
            .filter(bank_consent::Column::Status.is_in([PENDING, ACTIVE]))
            .exec(&transaction)
            .await?
            .rows_affected
            == 1;
        // A consent that never became active ends without a notice, because the customer is
        // completing it at that moment and gets CompleteBankConsent's error.
        if ended && consent.status == ACTIVE {
            let event = notice_event(consent, iban, topology::BANK_CONSENT_ENDED, reason);
            outbox::enqueue(&transaction, "banksync", &[event]).await?;
        }
        transaction.commit().await?;
        if ended {
            self.relay.notify();
            tracing::info!(consent_id = %consent.id, reason, "bank consent ended");
        }
        Ok(ended)
    }

    async fn end_lapsed(&self, now: DateTime<Utc>) -> Result<usize, DbErr> {
        let lapsed = bank_consent::Entity::find()
            .filter(bank_consent::Column::Status.eq(ACTIVE))
            .filter(bank_consent::Column::ValidUntil.lte(now))
            .all(&self.db)
            .await?;
        let mut ended = 0;
        for consent in lapsed {
            let iban = account_iban(&self.db, consent.bank_account_id).await?;
            let reason = format!(
                "the consent lapsed on {}",
                consent
                    .valid_until
                    .unwrap_or(now)
                    .with_timezone(&Amsterdam)
                    .date_naive()
            );
            if self.end_consent(&consent, &iban, &reason).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }

    async fn send_renewal_notices(&self, now: DateTime<Utc>) -> Result<usize, DbErr> {
        let due = bank_consent::Entity::find()
            .filter(bank_consent::Column::Status.eq(ACTIVE))
            .filter(bank_consent::Column::RenewalNoticeAt.is_null())
            .filter(bank_consent::Column::ValidUntil.lte(now + self.notice_period()))
            .all(&self.db)
            .await?;
        let mut sent = 0;
        for consent in due {
            let iban = account_iban(&self.db, consent.bank_account_id).await?;
            let transaction = dk_runtime::database::begin_write(&self.db).await?;
            let claimed = bank_consent::Entity::update_many()
                .col_expr(
                    bank_consent::Column::RenewalNoticeAt,
                    Expr::value(Some(now)),
                )
                .filter(bank_consent::Column::Id.eq(consent.id))
                .filter(bank_consent::Column::RenewalNoticeAt.is_null())
                .exec(&transaction)
                .await?
                .rows_affected
                == 1;
            if claimed {
                let event = notice_event(&consent, &iban, topology::BANK_CONSENT_EXPIRING, "");
                outbox::enqueue(&transaction, "banksync", &[event]).await?;
                sent += 1;
            }
            transaction.commit().await?;
        }
        if sent > 0 {
            self.relay.notify();
        }
        Ok(sent)
    }
}

/// The language of customer notices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Dutch,
    English,
}

impl Language {
    /// Reads `nl` (also the default for an empty value) or `en`.
    pub fn parse(text: &str) -> Result<Self, Status> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "nl" => Ok(Language::Dutch),
            "en" => Ok(Language::English),
            other => Err(status::invalid_argument(
                "language",
                format!("{other:?} is not supported: expected \"nl\" or \"en\""),
            )),
        }
    }
}

/// Accepts an https URL, or http on the machine itself for development.
fn check_redirect_uri(text: &str) -> Result<String, Status> {
    let text = text.trim();
    let url = url::Url::parse(text).map_err(|error| {
        status::invalid_argument(
            "redirect_uri",
            format!("{text:?} is not a URL ({error}): expected the https address the bank sends the customer back to"),
        )
    })?;
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(status::invalid_argument(
            "redirect_uri",
            format!(
                "{text:?} has a fragment or a user name: expected a plain address without #… or user@ (OAuth 2.0 forbids both)"
            ),
        ));
    }
    let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if url.scheme() == "https" || (url.scheme() == "http" && local) {
        Ok(url.into())
    } else {
        Err(status::invalid_argument(
            "redirect_uri",
            format!(
                "{text:?} is not https: expected an https URL, or http on 127.0.0.1 or localhost"
            ),
        ))
    }
}

/// The caller's account, which must be linked automatically.
async fn linked_account<C: ConnectionTrait>(
    db: &C,
    organisation: OrganisationId,
    account_id: Uuid,
) -> Result<bank_account::Model, Status> {
    let context = "reading a linked bank account";
    let account = bank_account::Entity::find_by_id(account_id)
        .filter(bank_account::Column::OrganisationId.eq(organisation.as_uuid()))
        .one(db)
        .await
        .map_err(|e| status::from_db(context, e))?
        .ok_or_else(|| status::not_found("bank account", &account_id.to_string()))?;
    let linked = automatic_link::Entity::find_by_id(account.id)
        .one(db)
        .await
        .map_err(|e| status::from_db(context, e))?
        .is_some();
    if !linked {
        return Err(status::with_reason(
            Code::FailedPrecondition,
            "BANK_LINK_OFF",
            format!(
                "account {} is not linked automatically: turn its automatic link on first \
                 (dk bank link --account {}, or SetAutomaticLink)",
                account.iban, account.id
            ),
            &[("iban", account.iban.clone())],
        ));
    }
    // A licence that dropped the bank link stops consents and syncs of accounts linked before.
    let today = Utc::now().with_timezone(&Amsterdam).date_naive();
    let entitled = crate::links::includes_bank_link(db, organisation.as_uuid(), today)
        .await
        .map_err(|e| status::from_db(context, e))?;
    if !entitled {
        return Err(status::with_reason(
            Code::FailedPrecondition,
            "BANK_LINK_NOT_IN_LICENCE",
            format!(
                "the licence of organisation {organisation} no longer includes the automatic bank \
                 link, so account {} is not synced: add it to the licence (dk licence change \
                 --add-bank-link), or import its statement files",
                account.iban
            ),
            &[("iban", account.iban.clone())],
        ));
    }
    Ok(account)
}

/// Rejects an account whose bank has no automatic link, before it takes one of the licence's
/// linked IBANs.
pub fn check_linkable(iban: &str) -> Result<(), Status> {
    if Bank::of_iban(iban).is_some() {
        return Ok(());
    }
    Err(status::with_reason(
        Code::FailedPrecondition,
        "BANK_NOT_SUPPORTED",
        format!(
            "account {iban} is not at ING, ABN AMRO or Rabobank, the banks with an automatic link; import its statement files instead"
        ),
        &[("iban", iban.to_owned())],
    ))
}

fn bank_of(account: &bank_account::Model) -> Result<Bank, Status> {
    Bank::of_iban(&account.iban).ok_or_else(|| {
        status::with_reason(
            Code::FailedPrecondition,
            "BANK_NOT_SUPPORTED",
            format!(
                "account {} is not at ING, ABN AMRO or Rabobank, the banks with an automatic link; import its statement files instead",
                account.iban
            ),
            &[("iban", account.iban.clone())],
        )
    })
}

/// Maps a failed call to a bank to the gRPC status for the caller.
fn link_status(iban: &str, error: &LinkError) -> Status {
    let message = format!("account {iban}: {error}");
    let meta = [("iban", iban.to_owned())];
    match error {
        LinkError::ConsentEnded { .. } => status::with_reason(
            Code::FailedPrecondition,
            "BANK_CONSENT_ENDED",
            message,
            &meta,
        ),
        LinkError::AccountNotFound { .. } => status::with_reason(
            Code::FailedPrecondition,
            "BANK_ACCOUNT_NOT_IN_CONSENT",
            message,
            &meta,
        ),
        LinkError::RateLimited { .. } => {
            status::with_reason(Code::Unavailable, "BANK_RATE_LIMITED", message, &meta)
        }
        LinkError::ErrorResponse { .. }
        | LinkError::Unreachable { .. }
        | LinkError::Response { .. } => {
            status::with_reason(Code::Unavailable, "BANK_UNAVAILABLE", message, &meta)
        }
        LinkError::Settings { .. } => status::internal("calling a bank", error),
    }
}

async fn record_outcome<C: ConnectionTrait>(
    db: &C,
    account: &bank_account::Model,
    now: DateTime<Utc>,
    synced_through: Option<NaiveDate>,
    outcome: &str,
) -> Result<(), DbErr> {
    let mut update = account_sync::Entity::update_many()
        .col_expr(account_sync::Column::LastRunAt, Expr::value(Some(now)))
        .col_expr(
            account_sync::Column::LastOutcome,
            Expr::value(Some(outcome.to_owned())),
        )
        .filter(account_sync::Column::BankAccountId.eq(account.id));
    if let Some(date) = synced_through {
        update = update.col_expr(account_sync::Column::SyncedThrough, Expr::value(Some(date)));
    }
    update.exec(db).await?;
    Ok(())
}

async fn account_iban<C: ConnectionTrait>(db: &C, account: Uuid) -> Result<String, DbErr> {
    Ok(bank_account::Entity::find_by_id(account)
        .one(db)
        .await?
        .map(|account| account.iban)
        .unwrap_or_default())
}

fn notice_event(
    consent: &bank_consent::Model,
    iban: &str,
    event_type: &str,
    reason: &str,
) -> Event {
    let bank = Bank::from_str(&consent.bank).map_or("?", Bank::display_name);
    let until = consent.valid_until.unwrap_or_else(Utc::now);
    let ended = event_type == topology::BANK_CONSENT_ENDED;
    let payload = BankConsentNotice {
        consent_id: consent.id.to_string(),
        organisation_id: consent.organisation_id.to_string(),
        bank_account_id: consent.bank_account_id.to_string(),
        account_iban: iban.to_owned(),
        bank: consent.bank.clone(),
        valid_until: Some(timestamp_from(until)),
        reason: reason.to_owned(),
        notice_nl: notice(Language::Dutch, ended, bank, iban, until),
        notice_en: notice(Language::English, ended, bank, iban, until),
    };
    Event::new(
        event_type,
        EVENT_SOURCE,
        consent.organisation_id,
        payload.encode_to_vec(),
    )
}

/// Writes the customer's message about a consent that lapses soon, or has ended.
fn notice(language: Language, ended: bool, bank: &str, iban: &str, until: DateTime<Utc>) -> String {
    let date = until.with_timezone(&Amsterdam).date_naive();
    match (language, ended) {
        (Language::Dutch, false) => format!(
            "Uw toestemming aan {bank} voor rekening {iban} verloopt op {}. Geef opnieuw \
             toestemming om de bankmutaties automatisch te blijven ophalen.",
            dutch_date(date)
        ),
        (Language::English, false) => format!(
            "Your consent at {bank} for account {iban} expires on {}. Give consent again to \
             keep fetching bank mutations automatically.",
            date.format("%-d %B %Y")
        ),
        (Language::Dutch, true) => format!(
            "De automatische koppeling met {bank} voor rekening {iban} is gestopt, omdat de \
             toestemming is verlopen of ingetrokken. Geef opnieuw toestemming, of importeer \
             de afschriften als bestand."
        ),
        (Language::English, true) => format!(
            "The automatic link with {bank} for account {iban} has stopped, because the \
             consent expired or was withdrawn. Give consent again, or import the statements \
             as files."
        ),
    }
}

fn dutch_date(date: NaiveDate) -> String {
    use chrono::Datelike;
    const MONTHS: [&str; 12] = [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ];
    format!(
        "{} {} {}",
        date.day(),
        MONTHS[date.month0() as usize],
        date.year()
    )
}

/// Reads the link state of one account, as the API returns it.
async fn link_view<C: ConnectionTrait>(
    db: &C,
    account: &bank_account::Model,
    now: DateTime<Utc>,
    notice_period: TimeDelta,
    language: Language,
) -> Result<pb::BankLink, DbErr> {
    let bank = Bank::of_iban(&account.iban);
    let consents = bank_consent::Entity::find()
        .filter(bank_consent::Column::BankAccountId.eq(account.id))
        .filter(bank_consent::Column::Status.is_in([ACTIVE, ENDED]))
        .order_by_desc(bank_consent::Column::CreatedAt)
        .all(db)
        .await?;
    let active = consents.iter().find(|consent| consent.status == ACTIVE);
    let latest = active.or(consents.first());
    let progress = account_sync::Entity::find_by_id(account.id).one(db).await?;
    let bank_name = bank.map_or("de bank", Bank::display_name);
    let (status, notice_text) = match latest {
        Some(consent) if consent.status == ACTIVE => {
            let until = consent.valid_until.unwrap_or(now);
            if until - now <= notice_period {
                (
                    pb::ConsentStatus::RenewalDue,
                    notice(language, false, bank_name, &account.iban, until),
                )
            } else {
                (pb::ConsentStatus::Active, String::new())
            }
        }
        Some(consent) => (
            pb::ConsentStatus::Ended,
            notice(
                language,
                true,
                bank_name,
                &account.iban,
                consent.valid_until.unwrap_or(now),
            ),
        ),
        None => (
            pb::ConsentStatus::Missing,
            match language {
                Language::Dutch => format!(
                    "Geef {bank_name} toestemming om de bankmutaties van rekening {} automatisch op te halen.",
                    account.iban
                ),
                Language::English => format!(
                    "Give {bank_name} consent to fetch the bank mutations of account {} automatically.",
                    account.iban
                ),
            },
        ),
    };
    Ok(pb::BankLink {
        bank_account_id: account.id.to_string(),
        iban: account.iban.clone(),
        bank: bank
            .map(|bank| bank.as_str().to_owned())
            .unwrap_or_default(),
        consent_status: status as i32,
        consent_valid_until: latest
            .and_then(|consent| consent.valid_until)
            .map(timestamp_from),
        last_sync_time: progress
            .as_ref()
            .and_then(|progress| progress.last_run_at)
            .map(timestamp_from),
        synced_through: progress
            .as_ref()
            .and_then(|progress| progress.synced_through)
            .map(Into::into),
        next_sync_time: progress
            .as_ref()
            .filter(|_| {
                status == pb::ConsentStatus::Active || status == pb::ConsentStatus::RenewalDue
            })
            .map(|progress| timestamp_from(progress.next_run_at)),
        last_sync_outcome: progress
            .and_then(|progress| progress.last_outcome)
            .unwrap_or_default(),
        notice: notice_text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_https_or_local() {
        assert!(check_redirect_uri("https://app.example.nl/bank/return").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:8080/return").is_ok());
        assert!(check_redirect_uri("http://localhost/return").is_ok());
        assert!(check_redirect_uri("https://app.example.nl/return#part").is_err());
        assert!(check_redirect_uri("https://user:secret@app.example.nl/return").is_err());
        let error = check_redirect_uri("http://app.example.nl/return").unwrap_err();
        assert!(
            error.message().contains("is not https"),
            "{}",
            error.message()
        );
        let error = check_redirect_uri("not a url").unwrap_err();
        assert!(
            error
                .message()
                .starts_with("redirect_uri: \"not a url\" is not a URL"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn notices_in_both_languages() {
        let until = DateTime::parse_from_rfc3339("2027-03-01T23:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            notice(Language::Dutch, false, "ING", "NL69INGB0123456789", until),
            "Uw toestemming aan ING voor rekening NL69INGB0123456789 verloopt op 2 maart 2027. \
             Geef opnieuw toestemming om de bankmutaties automatisch te blijven ophalen."
        );
        assert_eq!(
            notice(Language::English, false, "ING", "NL69INGB0123456789", until),
            "Your consent at ING for account NL69INGB0123456789 expires on 2 March 2027. Give \
             consent again to keep fetching bank mutations automatically."
        );
        assert!(
            notice(
                Language::Dutch,
                true,
                "Rabobank",
                "NL44RABO0123456789",
                until
            )
            .starts_with(
                "De automatische koppeling met Rabobank voor rekening NL44RABO0123456789 is gestopt"
            )
        );
    }

    #[test]
    fn languages() {
        assert_eq!(Language::parse("").unwrap(), Language::Dutch);
        assert_eq!(Language::parse("EN").unwrap(), Language::English);
        assert!(
            Language::parse("de")
                .unwrap_err()
                .message()
                .contains("\"de\"")
        );
    }
}
