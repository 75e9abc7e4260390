//! The gRPC face of banksync: request validation, caller scoping and conversion to wire types.

use std::str::FromStr;

use chrono::Utc;
use dk_domain::Iban;
use dk_messaging::outbox::Relay;
use dk_proto::banksync::v1 as pb;
use dk_proto::banksync::v1::bank_sync_service_server::BankSyncService;
use dk_proto::convert::timestamp_from;
use dk_runtime::auth::caller;
use dk_runtime::idempotency::{self, Key};
use dk_runtime::paging::Page;
use dk_runtime::status;
use dk_statement::Format;
use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseConnection, QueryOrder, QuerySelect, Set};
use tonic::{Code, Request, Response, Status};

use crate::entity::{bank_account, bank_mutation};
use crate::import::{self, ImportError, ImportRequest};

/// Shared state of the gRPC handlers.
pub struct BankSync {
    pub db: DatabaseConnection,
    pub relay: Relay,
    pub max_file_bytes: usize,
    pub bank_links: std::sync::Arc<crate::bank_link::BankLinks>,
}

#[tonic::async_trait]
impl BankSyncService for BankSync {
    async fn register_bank_account(
        &self,
        request: Request<pb::RegisterBankAccountRequest>,
    ) -> Result<Response<pb::RegisterBankAccountResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let organisation = caller.organisation_id.as_uuid();
        let key = Key::new(
            organisation,
            "RegisterBankAccount",
            &request.idempotency_key,
            &request,
        )?;
        let iban = Iban::parse(&request.iban)
            .map_err(|error| status::invalid_argument("iban", error.to_string()))?;
        let name = request.name.trim();
        if name.chars().count() > 200 {
            return Err(status::invalid_argument(
                "name",
                "expected at most 200 characters",
            ));
        }

        let transaction = dk_runtime::database::begin_write(&self.db)
            .await
            .map_err(|e| status::from_db("registering a bank account", e))?;
        if let Some(response) = idempotency::replay(&transaction, &key).await? {
            return Ok(Response::new(response));
        }
        let existing = bank_account::Entity::find()
            .filter(bank_account::Column::OrganisationId.eq(organisation))
            .filter(bank_account::Column::Iban.eq(iban.as_str()))
            .one(&transaction)
            .await
            .map_err(|e| status::from_db("registering a bank account", e))?;
        let already_registered = existing.is_some();
        let account = match existing {
            Some(account) => account,
            None => {
                let account = bank_account::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    organisation_id: Set(organisation),
                    iban: Set(iban.to_string()),
                    name: Set(if name.is_empty() {
                        iban.to_print_form()
                    } else {
                        name.to_owned()
                    }),
                    created_at: Set(Utc::now()),
                }
                .insert(&transaction)
                .await
                .map_err(|e| status::from_db("registering a bank account", e))?;
                let registered = dk_proto::events::v1::BankAccountRegistered {
                    bank_account_id: account.id.to_string(),
                    organisation_id: organisation.to_string(),
                    iban: account.iban.clone(),
                    name: account.name.clone(),
                };
                let event = dk_messaging::Event::new(
                    dk_messaging::topology::BANK_ACCOUNT_REGISTERED,
                    crate::import::EVENT_SOURCE,
                    organisation,
                    prost::Message::encode_to_vec(&registered),
                );
                dk_messaging::outbox::enqueue(&transaction, "banksync", &[event])
                    .await
                    .map_err(|e| status::from_db("registering a bank account", e))?;
                account
            }
        };
        let linked = crate::links::linked_among(&transaction, &[account.id])
            .await
            .map_err(|e| status::from_db("registering a bank account", e))?;
        let response = pb::RegisterBankAccountResponse {
            bank_account: Some(account_to_proto(&account, linked.contains(&account.id))),
            already_registered,
        };
        idempotency::store(&transaction, &key, &response)
            .await
            .map_err(|e| status::from_db("registering a bank account", e))?;
        transaction
            .commit()
            .await
            .map_err(|e| status::from_db("registering a bank account", e))?;
        if !already_registered {
            self.relay.notify();
        }
        Ok(Response::new(response))
    }

    async fn list_bank_accounts(
        &self,
        request: Request<pb::ListBankAccountsRequest>,
    ) -> Result<Response<pb::ListBankAccountsResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let mut rows = bank_account::Entity::find()
            .filter(bank_account::Column::OrganisationId.eq(caller.organisation_id.as_uuid()))
            .order_by_asc(bank_account::Column::CreatedAt)
            .order_by_asc(bank_account::Column::Id)
            .offset(page.offset)
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(|e| status::from_db("listing bank accounts", e))?;
        let next_page_token = page.finish(&mut rows);
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let linked = crate::links::linked_among(&self.db, &ids)
            .await
            .map_err(|e| status::from_db("listing bank accounts", e))?;
        Ok(Response::new(pb::ListBankAccountsResponse {
            bank_accounts: rows
                .iter()
                .map(|row| account_to_proto(row, linked.contains(&row.id)))
                .collect(),
            next_page_token,
        }))
    }

    async fn set_automatic_link(
        &self,
        request: Request<pb::SetAutomaticLinkRequest>,
    ) -> Result<Response<pb::SetAutomaticLinkResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let organisation = caller.organisation_id.as_uuid();
        let key = Key::new(
            organisation,
            "SetAutomaticLink",
            &request.idempotency_key,
            &request,
        )?;
        let text = request.bank_account_id.trim();
        let account_id = Uuid::from_str(text).map_err(|_| {
            status::invalid_argument(
                "bank_account_id",
                format!("{text:?} is not a UUID: expected the id of a registered bank account"),
            )
        })?;
        let context = "setting the automatic bank link";
        let transaction = dk_runtime::database::begin_write(&self.db)
            .await
            .map_err(|e| status::from_db(context, e))?;
        if let Some(response) = idempotency::replay(&transaction, &key).await? {
            return Ok(Response::new(response));
        }
        let account = bank_account::Entity::find_by_id(account_id)
            .filter(bank_account::Column::OrganisationId.eq(organisation))
            .one(&transaction)
            .await
            .map_err(|e| status::from_db(context, e))?
            .ok_or_else(|| status::not_found("bank account", &account_id.to_string()))?;
        let today = Utc::now()
            .with_timezone(&chrono_tz::Europe::Amsterdam)
            .date_naive();
        let (linked, max) = if request.enabled {
            crate::bank_link::check_linkable(&account.iban)?;
            crate::links::link(&transaction, organisation, account.id, today)
                .await
                .map_err(|error| match error {
                    crate::links::LinkError::NotEntitled(_) => status::with_reason(
                        Code::FailedPrecondition,
                        "BANK_LINK_NOT_IN_LICENCE",
                        error.to_string(),
                        &[("iban", account.iban.clone())],
                    ),
                    crate::links::LinkError::LimitReached { .. } => status::with_reason(
                        Code::FailedPrecondition,
                        "BANK_LINK_IBAN_LIMIT",
                        format!("cannot link {} automatically: {error}", account.iban),
                        &[("iban", account.iban.clone())],
                    ),
                    crate::links::LinkError::Database(error) => status::from_db(context, error),
                })?
        } else {
            crate::links::unlink(&transaction, organisation, account.id, today)
                .await
                .map_err(|e| status::from_db(context, e))?
        };
        let response = pb::SetAutomaticLinkResponse {
            bank_account: Some(account_to_proto(&account, request.enabled)),
            linked_count: i32::try_from(linked).unwrap_or(i32::MAX),
            max_linked_ibans: max,
        };
        idempotency::store(&transaction, &key, &response)
            .await
            .map_err(|e| status::from_db(context, e))?;
        transaction
            .commit()
            .await
            .map_err(|e| status::from_db(context, e))?;
        Ok(Response::new(response))
    }

    async fn import_statement(
        &self,
        request: Request<pb::ImportStatementRequest>,
    ) -> Result<Response<pb::ImportStatementResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let key = Key::new(
            caller.organisation_id.as_uuid(),
            "ImportStatement",
            &request.idempotency_key,
            &request,
        )?;
        if let Some(response) = idempotency::replay(&self.db, &key).await? {
            return Ok(Response::new(response));
        }
        if request.content.is_empty() {
            return Err(import_status(ImportError::Empty));
        }
        if request.content.len() > self.max_file_bytes {
            return Err(import_status(ImportError::TooLarge {
                size: request.content.len(),
                max: self.max_file_bytes,
            }));
        }
        let overrides = dk_statement::Overrides {
            format: format_from_proto(request.format)?,
            dialect: dialect_from_request(&request.dialect)?,
        };
        let parsed = import::parse(request.content.clone(), overrides)
            .await
            .map_err(|error| {
                count_import("unknown", "rejected");
                import_status(error)
            })?;
        let import_request = ImportRequest {
            organisation_id: caller.organisation_id,
            source: import::Source {
                name: &request.file_name,
                format: parsed.format.as_str(),
                dialect: parsed.dialect.as_str(),
                content: &request.content,
            },
            idempotency: Some(&key),
        };
        let warnings: Vec<String> = parsed
            .warnings
            .iter()
            .map(|warning| warning.message.clone())
            .collect();
        let response =
            import::store_retrying(&self.db, &import_request, &parsed.statements, &warnings)
                .await
                .map_err(|error| {
                    count_import(parsed.format.as_str(), "rejected");
                    import_status(error)
                })?;
        count_import(parsed.format.as_str(), "imported");
        self.relay.notify();
        tracing::debug!(
            organisation_id = %caller.organisation_id,
            import_id = %response.import_id,
            imported = response.imported_count,
            duplicates = response.duplicate_count,
            "statement imported"
        );
        Ok(Response::new(response))
    }

    async fn start_bank_consent(
        &self,
        request: Request<pb::StartBankConsentRequest>,
    ) -> Result<Response<pb::StartBankConsentResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let key = Key::new(
            caller.organisation_id.as_uuid(),
            "StartBankConsent",
            &request.idempotency_key,
            &request,
        )?;
        let account = account_id_field(&request.bank_account_id)?;
        let response = self
            .bank_links
            .start_consent(caller.organisation_id, account, &request.redirect_uri, &key)
            .await?;
        Ok(Response::new(response))
    }

    async fn complete_bank_consent(
        &self,
        request: Request<pb::CompleteBankConsentRequest>,
    ) -> Result<Response<pb::CompleteBankConsentResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let key = Key::new(
            caller.organisation_id.as_uuid(),
            "CompleteBankConsent",
            &request.idempotency_key,
            &request,
        )?;
        if request.state.trim().is_empty() {
            return Err(status::invalid_argument(
                "state",
                "missing: expected the state parameter of the bank's redirect",
            ));
        }
        let response = self
            .bank_links
            .complete_consent(caller.organisation_id, &request.state, &request.code, &key)
            .await?;
        Ok(Response::new(response))
    }

    async fn sync_bank_account(
        &self,
        request: Request<pb::SyncBankAccountRequest>,
    ) -> Result<Response<pb::SyncBankAccountResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let key = Key::new(
            caller.organisation_id.as_uuid(),
            "SyncBankAccount",
            &request.idempotency_key,
            &request,
        )?;
        let account = account_id_field(&request.bank_account_id)?;
        let synced = self
            .bank_links
            .sync(caller.organisation_id, account, Some(&key), Utc::now())
            .await?;
        Ok(Response::new(pb::SyncBankAccountResponse {
            bank_link: Some(synced.link),
            import: Some(synced.import),
        }))
    }

    async fn list_bank_links(
        &self,
        request: Request<pb::ListBankLinksRequest>,
    ) -> Result<Response<pb::ListBankLinksResponse>, Status> {
        let caller = caller(&request)?;
        let language = crate::bank_link::Language::parse(&request.get_ref().language)?;
        let bank_links = self
            .bank_links
            .list(caller.organisation_id, language)
            .await
            .map_err(|e| status::from_db("listing bank links", e))?;
        Ok(Response::new(pb::ListBankLinksResponse { bank_links }))
    }

    async fn list_bank_mutations(
        &self,
        request: Request<pb::ListBankMutationsRequest>,
    ) -> Result<Response<pb::ListBankMutationsResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let mut query = bank_mutation::Entity::find()
            .filter(bank_mutation::Column::OrganisationId.eq(caller.organisation_id.as_uuid()));
        if !request.bank_account_id.is_empty() {
            let account = Uuid::from_str(&request.bank_account_id).map_err(|_| {
                status::invalid_argument(
                    "bank_account_id",
                    format!("{:?} is not a UUID", request.bank_account_id),
                )
            })?;
            query = query.filter(bank_mutation::Column::BankAccountId.eq(account));
        }
        let mut rows = query
            .order_by_desc(bank_mutation::Column::BookingDate)
            .order_by_desc(bank_mutation::Column::Id)
            .offset(page.offset)
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(|e| status::from_db("listing bank mutations", e))?;
        let next_page_token = page.finish(&mut rows);
        let ibans: std::collections::HashMap<Uuid, String> = bank_account::Entity::find()
            .filter(bank_account::Column::OrganisationId.eq(caller.organisation_id.as_uuid()))
            .all(&self.db)
            .await
            .map_err(|e| status::from_db("listing bank mutations", e))?
            .into_iter()
            .map(|account| (account.id, account.iban))
            .collect();
        Ok(Response::new(pb::ListBankMutationsResponse {
            bank_mutations: rows
                .iter()
                .map(|row| {
                    mutation_to_proto(
                        row,
                        ibans.get(&row.bank_account_id).cloned().unwrap_or_default(),
                    )
                })
                .collect(),
            next_page_token,
        }))
    }
}

/// Reads a `bank_account_id` field.
fn account_id_field(text: &str) -> Result<Uuid, Status> {
    let text = text.trim();
    Uuid::from_str(text).map_err(|_| {
        status::invalid_argument(
            "bank_account_id",
            format!("{text:?} is not a UUID: expected the id of a registered bank account"),
        )
    })
}

fn dialect_from_request(dialect: &str) -> Result<Option<dk_statement::Dialect>, Status> {
    if dialect.trim().is_empty() {
        return Ok(None);
    }
    dialect
        .parse()
        .map(Some)
        .map_err(|error: dk_statement::UnknownDialect| {
            status::invalid_argument("dialect", error.to_string())
        })
}

fn format_from_proto(format: i32) -> Result<Option<Format>, Status> {
    match pb::StatementFormat::try_from(format) {
        Ok(pb::StatementFormat::Unspecified) => Ok(None),
        Ok(pb::StatementFormat::Mt940) => Ok(Some(Format::Mt940)),
        Ok(pb::StatementFormat::Mt942) => Ok(Some(Format::Mt942)),
        Ok(pb::StatementFormat::Camt052) => Ok(Some(Format::Camt052)),
        Ok(pb::StatementFormat::Camt053) => Ok(Some(Format::Camt053)),
        Ok(pb::StatementFormat::Camt054) => Ok(Some(Format::Camt054)),
        Ok(pb::StatementFormat::Csv) => Ok(Some(Format::Csv)),
        Err(_) => Err(status::invalid_argument(
            "format",
            format!("unknown statement format {format}"),
        )),
    }
}

pub(crate) fn import_status(error: ImportError) -> Status {
    match error {
        ImportError::Empty | ImportError::TooLarge { .. } => {
            status::invalid_argument("content", error.to_string())
        }
        ImportError::Parse(ref parse) => {
            let mut metadata = vec![("expected", parse.expected.clone())];
            if let Some(line) = parse.line {
                metadata.push(("line", line.to_string()));
            }
            if let Some(offset) = parse.byte_offset {
                metadata.push(("byte_offset", offset.to_string()));
            }
            status::with_reason(
                Code::InvalidArgument,
                "STATEMENT_UNREADABLE",
                error.to_string(),
                &metadata,
            )
        }
        ImportError::NotAnIban {
            statement,
            ref account,
            ..
        }
        | ImportError::InvalidIban {
            statement,
            iban: ref account,
            ..
        } => {
            let metadata = [
                ("statement", statement.to_string()),
                ("account", account.clone()),
            ];
            status::with_reason(
                Code::InvalidArgument,
                "STATEMENT_IBAN_INVALID",
                error.to_string(),
                &metadata,
            )
        }
        ImportError::NoStatements | ImportError::Amount { .. } | ImportError::Currency { .. } => {
            status::invalid_argument("content", error.to_string())
        }
        ImportError::NotRegistered { ref iban, .. } => {
            let iban = iban.clone();
            status::with_reason(
                Code::FailedPrecondition,
                "IBAN_NOT_REGISTERED",
                error.to_string(),
                &[("iban", iban)],
            )
        }
        ImportError::Idempotency(status) => status,
        ImportError::Database(error) => status::from_db("importing a statement", error),
    }
}

fn account_to_proto(account: &bank_account::Model, automatic_link: bool) -> pb::BankAccount {
    let bank_name = Iban::parse(&account.iban)
        .ok()
        .and_then(|iban| iban.bank_name())
        .unwrap_or_default();
    pb::BankAccount {
        id: account.id.to_string(),
        iban: account.iban.clone(),
        name: account.name.clone(),
        bank_name: bank_name.to_owned(),
        create_time: Some(timestamp_from(account.created_at)),
        automatic_link,
    }
}

fn mutation_to_proto(row: &bank_mutation::Model, iban: String) -> pb::BankMutation {
    let currency = dk_domain::Currency::parse(&row.currency).unwrap_or(dk_domain::Currency::EUR);
    pb::BankMutation {
        id: row.id.to_string(),
        bank_account_id: row.bank_account_id.to_string(),
        iban,
        booking_date: Some(row.booking_date.into()),
        value_date: Some(row.value_date.into()),
        amount: Some(dk_domain::Money::from_minor_units(row.amount_minor, currency).into()),
        counterparty_iban: row.counterparty_iban.clone().unwrap_or_default(),
        counterparty_name: row.counterparty_name.clone().unwrap_or_default(),
        remittance: row.remittance.clone(),
        end_to_end_id: row.end_to_end_id.clone().unwrap_or_default(),
        structured_reference: row.structured_reference.clone().unwrap_or_default(),
        bank_reference: row.bank_reference.clone().unwrap_or_default(),
        reversal: row.reversal,
        import_id: row.import_id.to_string(),
        structured_reference_check: crate::import::reference_check(
            row.structured_reference.as_deref(),
        ),
    }
}

/// Counts a statement file by its format and whether it was imported or rejected.
fn count_import(format: &str, outcome: &'static str) {
    dk_telemetry::metrics::instruments().statement_imports.add(
        1,
        &[
            dk_telemetry::metrics::attribute("format", format.to_owned()),
            dk_telemetry::metrics::attribute("outcome", outcome),
        ],
    );
}
