//! Schema of the bookkeeping database.

use dk_runtime::reference_checks::{self, CheckedTable};
use sea_orm_migration::prelude::*;

use crate::entity::{
    account_balance, allocation, books, invoice, invoice_change, invoice_line, invoice_version,
    journal_entry, journal_line, ledger_account, match_history, payment_booking, payment_match,
};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(dk_messaging::migration::CreateMessagingTables),
            Box::new(dk_runtime::idempotency::CreateIdempotencyKeys),
            Box::new(CreateInvoiceTables),
            Box::new(CreateLedgerTables),
            Box::new(PlanLedgerChecksPerStatement),
            Box::new(dk_messaging::migration::IndexOutboxByProducer),
            Box::new(CheckReferencesPerStatement),
            Box::new(LeaveRoomForUpdates),
            Box::new(GuardPostedEntriesPerStatement),
            Box::new(dk_messaging::migration::StoreSeveralEventsPerOutboxRow),
            Box::new(LogInvoiceChanges),
        ]
    }
}

struct CreateInvoiceTables;

impl MigrationName for CreateInvoiceTables {
    fn name(&self) -> &str {
        "m0003_invoice_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateInvoiceTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use invoice::Column as Invoice;
        manager
            .create_table(
                Table::create()
                    .table(invoice::Entity)
                    .col(ColumnDef::new(Invoice::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Invoice::OrganisationId).uuid().not_null())
                    .col(ColumnDef::new(Invoice::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(Invoice::Number).string().not_null())
                    .col(ColumnDef::new(Invoice::NumberKey).string().not_null())
                    .col(
                        ColumnDef::new(Invoice::CounterpartyName)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Invoice::CounterpartyIban).string().null())
                    .col(ColumnDef::new(Invoice::Currency).string_len(3).not_null())
                    .col(
                        ColumnDef::new(Invoice::AmountMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Invoice::OpenMinor).big_integer().not_null())
                    .col(ColumnDef::new(Invoice::IssueDate).date().not_null())
                    .col(ColumnDef::new(Invoice::DueDate).date().not_null())
                    .col(ColumnDef::new(Invoice::PaymentReference).string().null())
                    .col(
                        ColumnDef::new(Invoice::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Invoice::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .check(Expr::col(Invoice::OpenMinor).gte(0))
                    .check(Expr::col(Invoice::OpenMinor).lte(Expr::col(Invoice::AmountMinor)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invoices_organisation_kind_number")
                    .table(invoice::Entity)
                    .col(Invoice::OrganisationId)
                    .col(Invoice::Kind)
                    .col(Invoice::NumberKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // NULL references do not collide with each other on either database.
        manager
            .create_index(
                Index::create()
                    .name("invoices_organisation_payment_reference")
                    .table(invoice::Entity)
                    .col(Invoice::OrganisationId)
                    .col(Invoice::PaymentReference)
                    .unique()
                    .to_owned(),
            )
            .await?;

        use payment_match::Column as Match;
        manager
            .create_table(
                Table::create()
                    .table(payment_match::Entity)
                    .col(ColumnDef::new(Match::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Match::OrganisationId).uuid().not_null())
                    .col(ColumnDef::new(Match::MutationId).uuid().not_null())
                    .col(ColumnDef::new(Match::EventId).uuid().not_null())
                    .col(ColumnDef::new(Match::BankAccountId).uuid().not_null())
                    .col(ColumnDef::new(Match::BookingDate).date().not_null())
                    .col(ColumnDef::new(Match::AmountMinor).big_integer().not_null())
                    .col(ColumnDef::new(Match::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Match::CounterpartyIban).string().null())
                    .col(ColumnDef::new(Match::CounterpartyName).string().null())
                    .col(ColumnDef::new(Match::Remittance).text().not_null())
                    .col(ColumnDef::new(Match::Outcome).string_len(32).not_null())
                    .col(ColumnDef::new(Match::Booked).boolean().not_null())
                    .col(ColumnDef::new(Match::Decision).text().not_null())
                    .col(
                        ColumnDef::new(Match::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("payment_matches_organisation_mutation")
                    .table(payment_match::Entity)
                    .col(Match::OrganisationId)
                    .col(Match::MutationId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        use allocation::Column as Allocation;
        manager
            .create_table(
                Table::create()
                    .table(allocation::Entity)
                    .col(
                        ColumnDef::new(Allocation::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Allocation::MatchId).uuid().not_null())
                    .col(ColumnDef::new(Allocation::InvoiceId).uuid().not_null())
                    .col(
                        ColumnDef::new(Allocation::AmountMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Allocation::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(allocation::Entity, Allocation::MatchId)
                            .to(payment_match::Entity, Match::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(allocation::Entity, Allocation::InvoiceId)
                            .to(invoice::Entity, Invoice::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("payment_allocations_invoice")
                    .table(allocation::Entity)
                    .col(Allocation::InvoiceId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Table::drop().table(allocation::Entity).to_owned(),
            Table::drop().table(payment_match::Entity).to_owned(),
            Table::drop().table(invoice::Entity).to_owned(),
        ] {
            manager.drop_table(table).await?;
        }
        Ok(())
    }
}

struct CreateLedgerTables;

impl MigrationName for CreateLedgerTables {
    fn name(&self) -> &str {
        "m0004_ledger_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateLedgerTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(invoice::Entity)
                    .add_column(
                        ColumnDef::new(invoice::Column::CounterpartyCountry)
                            .string_len(2)
                            .not_null()
                            .default("NL"),
                    )
                    .to_owned(),
            )
            .await?;

        use ledger_account::Column as Account;
        manager
            .create_table(
                Table::create()
                    .table(ledger_account::Entity)
                    .col(uuid_key(Account::Id))
                    .col(uuid(Account::OrganisationId))
                    .col(ColumnDef::new(Account::Number).string_len(10).not_null())
                    .col(text(Account::NameNl))
                    .col(text(Account::NameEn))
                    .col(text(Account::RgsCode))
                    .col(ColumnDef::new(Account::Class).string_len(12).not_null())
                    .col(ColumnDef::new(Account::NormalSide).string_len(6).not_null())
                    .col(ColumnDef::new(Account::Role).string_len(40).null())
                    .col(ColumnDef::new(Account::BankAccountId).uuid().null())
                    .col(ColumnDef::new(Account::Iban).string_len(34).null())
                    .col(timestamp(Account::CreatedAt))
                    .check(Expr::col(Account::Class).is_in(["balance", "profit_loss"]))
                    .check(Expr::col(Account::NormalSide).is_in(["debit", "credit"]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ledger_accounts_organisation_number")
                    .table(ledger_account::Entity)
                    .col(Account::OrganisationId)
                    .col(Account::Number)
                    .unique()
                    .to_owned(),
            )
            .await?;

        use invoice_line::Column as Line;
        manager
            .create_table(
                Table::create()
                    .table(invoice_line::Entity)
                    .col(uuid_key(Line::Id))
                    .col(uuid(Line::InvoiceId))
                    .col(ColumnDef::new(Line::Position).integer().not_null())
                    .col(text(Line::Description))
                    .col(text(Line::Quantity))
                    .col(
                        ColumnDef::new(Line::UnitPriceMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Line::AmountMinor).big_integer().not_null())
                    .col(ColumnDef::new(Line::VatCode).string_len(16).not_null())
                    .col(uuid(Line::AccountId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(invoice_line::Entity, Line::InvoiceId)
                            .to(invoice::Entity, invoice::Column::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(invoice_line::Entity, Line::AccountId)
                            .to(ledger_account::Entity, Account::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invoice_lines_invoice_position")
                    .table(invoice_line::Entity)
                    .col(Line::InvoiceId)
                    .col(Line::Position)
                    .unique()
                    .to_owned(),
            )
            .await?;

        use journal_entry::Column as Entry;
        manager
            .create_table(
                Table::create()
                    .table(journal_entry::Entity)
                    .col(uuid_key(Entry::Id))
                    .col(uuid(Entry::OrganisationId))
                    .col(ColumnDef::new(Entry::Journal).string_len(12).not_null())
                    .col(ColumnDef::new(Entry::EntryDate).date().not_null())
                    .col(text(Entry::Description))
                    .col(ColumnDef::new(Entry::Source).string_len(12).not_null())
                    .col(ColumnDef::new(Entry::SourceId).uuid().null())
                    .col(ColumnDef::new(Entry::ReversesEntryId).uuid().null())
                    .col(
                        ColumnDef::new(Entry::PostedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(timestamp(Entry::CreatedAt))
                    .check(Expr::col(Entry::Journal).is_in(JOURNALS))
                    .check(Expr::col(Entry::Source).is_in(SOURCES))
                    .foreign_key(
                        ForeignKey::create()
                            .from(journal_entry::Entity, Entry::ReversesEntryId)
                            .to(journal_entry::Entity, Entry::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            (
                "journal_entries_organisation_date",
                vec![Entry::OrganisationId, Entry::EntryDate],
                false,
            ),
            (
                "journal_entries_reverses",
                vec![Entry::ReversesEntryId],
                true,
            ),
            (
                "journal_entries_source",
                vec![Entry::SourceId, Entry::Source],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(journal_entry::Entity);
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }

        use journal_line::Column as JournalLine;
        manager
            .create_table(
                Table::create()
                    .table(journal_line::Entity)
                    .col(uuid_key(JournalLine::Id))
                    .col(uuid(JournalLine::EntryId))
                    .col(uuid(JournalLine::OrganisationId))
                    .col(ColumnDef::new(JournalLine::Position).integer().not_null())
                    .col(uuid(JournalLine::AccountId))
                    .col(ColumnDef::new(JournalLine::EntryDate).date().not_null())
                    .col(
                        ColumnDef::new(JournalLine::AmountMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(text(JournalLine::Description))
                    .col(ColumnDef::new(JournalLine::InvoiceId).uuid().null())
                    .col(ColumnDef::new(JournalLine::VatBox).string_len(3).null())
                    .col(ColumnDef::new(JournalLine::VatPart).string_len(4).null())
                    .check(Expr::col(JournalLine::AmountMinor).ne(0))
                    .check(
                        Expr::col(JournalLine::VatPart)
                            .is_null()
                            .or(Expr::col(JournalLine::VatPart).is_in(["base", "tax"])),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(journal_line::Entity, JournalLine::EntryId)
                            .to(journal_entry::Entity, Entry::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(journal_line::Entity, JournalLine::AccountId)
                            .to(ledger_account::Entity, Account::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "journal_lines_entry",
                vec![JournalLine::EntryId, JournalLine::Position],
            ),
            (
                "journal_lines_account_date",
                vec![
                    JournalLine::OrganisationId,
                    JournalLine::AccountId,
                    JournalLine::EntryDate,
                ],
            ),
            ("journal_lines_invoice", vec![JournalLine::InvoiceId]),
        ] {
            let mut index = Index::create();
            index.name(name).table(journal_line::Entity);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }

        use account_balance::Column as Balance;
        manager
            .create_table(
                Table::create()
                    .table(account_balance::Entity)
                    .col(uuid(Balance::AccountId))
                    .col(ColumnDef::new(Balance::Month).date().not_null())
                    .col(uuid(Balance::OrganisationId))
                    .col(ColumnDef::new(Balance::DebitMinor).big_integer().not_null())
                    .col(
                        ColumnDef::new(Balance::CreditMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(Balance::AccountId).col(Balance::Month))
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(allocation::Entity)
                    .add_column(ColumnDef::new(allocation::Column::BookingId).uuid().null())
                    .to_owned(),
            )
            .await?;
        use payment_booking::Column as Booking;
        manager
            .create_table(
                Table::create()
                    .table(payment_booking::Entity)
                    .col(uuid_key(Booking::Id))
                    .col(uuid(Booking::OrganisationId))
                    .col(uuid(Booking::MutationId))
                    .col(uuid(Booking::MatchId))
                    .col(uuid(Booking::EntryId))
                    .col(timestamp(Booking::CreatedAt))
                    .col(
                        ColumnDef::new(Booking::UndoneAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Booking::ReversalEntryId).uuid().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(payment_booking::Entity, Booking::MatchId)
                            .to(payment_match::Entity, payment_match::Column::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(payment_booking::Entity, Booking::EntryId)
                            .to(journal_entry::Entity, Entry::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("payment_bookings_match")
                    .table(payment_booking::Entity)
                    .col(Booking::MatchId)
                    .to_owned(),
            )
            .await?;
        use match_history::Column as History;
        manager
            .create_table(
                Table::create()
                    .table(match_history::Entity)
                    .col(uuid_key(History::Id))
                    .col(uuid(History::MatchId))
                    .col(uuid(History::OrganisationId))
                    .col(ColumnDef::new(History::Action).string_len(12).not_null())
                    .col(text(History::Actor))
                    .col(ColumnDef::new(History::InvoiceId).uuid().null())
                    .col(text(History::Decision))
                    .col(timestamp(History::CreatedAt))
                    .check(Expr::col(History::Action).is_in([
                        "decided",
                        "confirmed",
                        "rejected",
                        "undone",
                    ]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("match_history_match")
                    .table(match_history::Entity)
                    .col(History::MatchId)
                    .col(History::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(invoice_version::Entity)
                    .col(uuid_key(invoice_version::Column::OrganisationId))
                    .col(
                        ColumnDef::new(invoice_version::Column::Version)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        use books::Column as Books;
        manager
            .create_table(
                Table::create()
                    .table(books::Entity)
                    .col(uuid_key(Books::OrganisationId))
                    .col(ColumnDef::new(Books::ClosedThrough).date().null())
                    .col(timestamp(Books::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        let connection = manager.get_connection();
        for statement in ledger_sql(manager.get_database_backend()) {
            connection.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "invoice_versions",
            "match_history",
            "payment_bookings",
            "books",
            "account_balances",
            "journal_lines",
            "journal_entries",
            "invoice_lines",
            "ledger_accounts",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            let connection = manager.get_connection();
            for function in [
                "guard_journal_entry",
                "check_posted_entries",
                "guard_journal_line",
                "check_inserted_lines",
            ] {
                connection
                    .execute_unprepared(&format!("DROP FUNCTION IF EXISTS {function}()"))
                    .await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table(allocation::Entity)
                    .drop_column(allocation::Column::BookingId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(invoice::Entity)
                    .drop_column(invoice::Column::CounterpartyCountry)
                    .to_owned(),
            )
            .await
    }
}

/// The journals every organisation has.
pub const JOURNALS: [&str; 4] = ["sales", "purchases", "bank", "memorial"];
/// The kinds of document a journal entry can book.
const SOURCES: [&str; 5] = ["invoice", "payment", "transfer", "manual", "reversal"];

/// The error of a change to a posted journal entry.
const IMMUTABLE: &str = "posted journal entries are immutable; post a reversing entry instead";

/// Partial unique indexes, and the triggers that make the database itself refuse an unbalanced
/// entry, an entry in a closed period, and any change to a posted entry or its lines.
///
/// An entry is inserted with `posted_at` empty, its lines are added, and then `posted_at` is
/// set. Setting it checks that there are at least two lines, that they add up to zero and that
/// the date lies after the closed periods. From then on the entry and its lines are fixed.
fn ledger_sql(backend: sea_orm::DatabaseBackend) -> Vec<String> {
    let mut statements = vec![
        // One account per role (banks have one per bank account), and one per bank account.
        "CREATE UNIQUE INDEX ledger_accounts_organisation_role ON ledger_accounts \
         (organisation_id, role) WHERE role IS NOT NULL AND role <> 'bank'"
            .to_owned(),
        "CREATE UNIQUE INDEX ledger_accounts_bank_account ON ledger_accounts \
         (organisation_id, bank_account_id) WHERE bank_account_id IS NOT NULL"
            .to_owned(),
        // A bank mutation has at most one booking that is not undone.
        "CREATE UNIQUE INDEX payment_bookings_active_mutation ON payment_bookings \
         (organisation_id, mutation_id) WHERE undone_at IS NULL"
            .to_owned(),
        "CREATE INDEX ledger_accounts_iban ON ledger_accounts (organisation_id, iban) \
         WHERE iban IS NOT NULL"
            .to_owned(),
        // An invoice is booked by one entry.
        "CREATE UNIQUE INDEX journal_entries_invoice ON journal_entries (source_id) \
         WHERE source = 'invoice'"
            .to_owned(),
    ];
    match backend {
        // On PostgreSQL the checks that read other rows run once per statement over its
        // transition tables, so posting a batch of entries costs a few queries, not a few per row.
        sea_orm::DatabaseBackend::Postgres => statements.extend([
            format!(
                "CREATE FUNCTION guard_journal_entry() RETURNS trigger AS $$ \
                 BEGIN \
                   IF TG_OP = 'INSERT' THEN \
                     IF NEW.posted_at IS NOT NULL THEN \
                       RAISE EXCEPTION 'journal entry % is inserted posted; add its lines first', NEW.id; \
                     END IF; \
                     RETURN NEW; \
                   END IF; \
                   IF OLD.posted_at IS NOT NULL THEN \
                     RAISE EXCEPTION '{IMMUTABLE}: % on entry % refused', TG_OP, OLD.id; \
                   END IF; \
                   IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; \
                   RETURN NEW; \
                 END; $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER journal_entries_guard BEFORE INSERT OR UPDATE OR DELETE ON \
             journal_entries FOR EACH ROW EXECUTE FUNCTION guard_journal_entry()"
                .to_owned(),
            "CREATE FUNCTION check_posted_entries() RETURNS trigger AS $$ \
             DECLARE bad uuid; total bigint; line_count bigint; day date; closed date; \
             BEGIN \
               SELECT n.id, COALESCE(SUM(l.amount_minor), 0), COUNT(l.id) \
                 INTO bad, total, line_count \
                 FROM new_entries n JOIN old_entries o ON o.id = n.id \
                 LEFT JOIN journal_lines l ON l.entry_id = n.id \
                 WHERE n.posted_at IS NOT NULL AND o.posted_at IS NULL \
                 GROUP BY n.id \
                 HAVING COUNT(l.id) < 2 OR COALESCE(SUM(l.amount_minor), 0) <> 0 \
                 LIMIT 1; \
               IF bad IS NOT NULL THEN \
                 RAISE EXCEPTION 'journal entry % does not balance: % lines adding up to % cents', \
                   bad, line_count, total; \
               END IF; \
               SELECT n.id, n.entry_date, b.closed_through INTO bad, day, closed \
                 FROM new_entries n JOIN old_entries o ON o.id = n.id \
                 JOIN books b ON b.organisation_id = n.organisation_id \
                 WHERE n.posted_at IS NOT NULL AND o.posted_at IS NULL \
                   AND b.closed_through IS NOT NULL AND n.entry_date <= b.closed_through \
                 LIMIT 1; \
               IF bad IS NOT NULL THEN \
                 RAISE EXCEPTION 'journal entry % is dated %, in the periods closed through %', \
                   bad, day, closed; \
               END IF; \
               RETURN NULL; \
             END; $$ LANGUAGE plpgsql"
                .to_owned(),
            "CREATE TRIGGER journal_entries_posting AFTER UPDATE ON journal_entries \
             REFERENCING OLD TABLE AS old_entries NEW TABLE AS new_entries \
             FOR EACH STATEMENT EXECUTE FUNCTION check_posted_entries()"
                .to_owned(),
            "CREATE FUNCTION guard_journal_line() RETURNS trigger AS $$ \
             BEGIN \
               IF EXISTS (SELECT 1 FROM journal_entries WHERE id = OLD.entry_id AND posted_at IS NOT NULL) \
                  OR (TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM journal_entries \
                      WHERE id = NEW.entry_id AND posted_at IS NOT NULL)) THEN \
                 RAISE EXCEPTION 'lines of posted journal entry % are immutable: % refused', OLD.entry_id, TG_OP; \
               END IF; \
               IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; \
               RETURN NEW; \
             END; $$ LANGUAGE plpgsql"
                .to_owned(),
            "CREATE TRIGGER journal_lines_guard BEFORE UPDATE OR DELETE ON \
             journal_lines FOR EACH ROW EXECUTE FUNCTION guard_journal_line()"
                .to_owned(),
            "CREATE FUNCTION check_inserted_lines() RETURNS trigger AS $$ \
             DECLARE entry uuid; \
             BEGIN \
               SELECT e.id INTO entry FROM new_lines l JOIN journal_entries e ON e.id = l.entry_id \
                 WHERE e.posted_at IS NOT NULL LIMIT 1; \
               IF entry IS NOT NULL THEN \
                 RAISE EXCEPTION 'lines of posted journal entry % are immutable: INSERT refused', entry; \
               END IF; \
               RETURN NULL; \
             END; $$ LANGUAGE plpgsql"
                .to_owned(),
            "CREATE TRIGGER journal_lines_insert AFTER INSERT ON journal_lines \
             REFERENCING NEW TABLE AS new_lines \
             FOR EACH STATEMENT EXECUTE FUNCTION check_inserted_lines()"
                .to_owned(),
        ]),
        _ => statements.extend([
            "CREATE TRIGGER journal_entries_insert_unposted BEFORE INSERT ON journal_entries \
             WHEN NEW.posted_at IS NOT NULL \
             BEGIN SELECT RAISE(ABORT, 'a journal entry is inserted unposted; add its lines first'); END"
                .to_owned(),
            format!(
                "CREATE TRIGGER journal_entries_no_update BEFORE UPDATE ON journal_entries \
                 WHEN OLD.posted_at IS NOT NULL \
                 BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END"
            ),
            format!(
                "CREATE TRIGGER journal_entries_no_delete BEFORE DELETE ON journal_entries \
                 WHEN OLD.posted_at IS NOT NULL \
                 BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END"
            ),
            "CREATE TRIGGER journal_entries_balance BEFORE UPDATE OF posted_at ON journal_entries \
             WHEN NEW.posted_at IS NOT NULL AND ( \
               (SELECT COUNT(*) FROM journal_lines WHERE entry_id = NEW.id) < 2 \
               OR (SELECT COALESCE(SUM(amount_minor), 0) FROM journal_lines WHERE entry_id = NEW.id) <> 0) \
             BEGIN SELECT RAISE(ABORT, 'journal entry does not balance: its lines must add up to zero'); END"
                .to_owned(),
            "CREATE TRIGGER journal_entries_closed_period BEFORE UPDATE OF posted_at ON journal_entries \
             WHEN NEW.posted_at IS NOT NULL AND NEW.entry_date <= \
               (SELECT closed_through FROM books WHERE organisation_id = NEW.organisation_id) \
             BEGIN SELECT RAISE(ABORT, 'journal entry is dated in a closed period'); END"
                .to_owned(),
            "CREATE TRIGGER journal_lines_no_insert BEFORE INSERT ON journal_lines \
             WHEN (SELECT posted_at FROM journal_entries WHERE id = NEW.entry_id) IS NOT NULL \
             BEGIN SELECT RAISE(ABORT, 'lines of a posted journal entry are immutable'); END"
                .to_owned(),
            "CREATE TRIGGER journal_lines_no_update BEFORE UPDATE ON journal_lines \
             WHEN (SELECT posted_at FROM journal_entries WHERE id = OLD.entry_id) IS NOT NULL \
               OR (SELECT posted_at FROM journal_entries WHERE id = NEW.entry_id) IS NOT NULL \
             BEGIN SELECT RAISE(ABORT, 'lines of a posted journal entry are immutable'); END"
                .to_owned(),
            "CREATE TRIGGER journal_lines_no_delete BEFORE DELETE ON journal_lines \
             WHEN (SELECT posted_at FROM journal_entries WHERE id = OLD.entry_id) IS NOT NULL \
             BEGIN SELECT RAISE(ABORT, 'lines of a posted journal entry are immutable'); END"
                .to_owned(),
        ]),
    }
    statements
}

/// Makes PostgreSQL plan the ledger triggers' checks anew on every statement.
///
/// PL/pgSQL caches the plan of a query without parameters for the whole session. The plans
/// made while a new database was empty scanned `journal_entries` or `journal_lines` in full,
/// and kept doing so as the tables grew, so each posting took longer than the one before.
/// `EXECUTE` plans with the current table sizes and the transition tables' row counts, which
/// leads to index lookups per posted entry. SQLite's row triggers look rows up by key already.
struct PlanLedgerChecksPerStatement;

impl MigrationName for PlanLedgerChecksPerStatement {
    fn name(&self) -> &str {
        "m0005_plan_ledger_checks_per_statement"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for PlanLedgerChecksPerStatement {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION check_posted_entries() RETURNS trigger AS $$ \
             DECLARE bad uuid; total bigint; line_count bigint; day date; closed date; \
             BEGIN \
               EXECUTE 'SELECT n.id, COALESCE(SUM(l.amount_minor), 0), COUNT(l.id) \
                 FROM new_entries n JOIN old_entries o ON o.id = n.id \
                 LEFT JOIN journal_lines l ON l.entry_id = n.id \
                 WHERE n.posted_at IS NOT NULL AND o.posted_at IS NULL \
                 GROUP BY n.id \
                 HAVING COUNT(l.id) < 2 OR COALESCE(SUM(l.amount_minor), 0) <> 0 \
                 LIMIT 1' INTO bad, total, line_count; \
               IF bad IS NOT NULL THEN \
                 RAISE EXCEPTION 'journal entry % does not balance: % lines adding up to % cents', \
                   bad, line_count, total; \
               END IF; \
               EXECUTE 'SELECT n.id, n.entry_date, b.closed_through \
                 FROM new_entries n JOIN old_entries o ON o.id = n.id \
                 JOIN books b ON b.organisation_id = n.organisation_id \
                 WHERE n.posted_at IS NOT NULL AND o.posted_at IS NULL \
                   AND b.closed_through IS NOT NULL AND n.entry_date <= b.closed_through \
                 LIMIT 1' INTO bad, day, closed; \
               IF bad IS NOT NULL THEN \
                 RAISE EXCEPTION 'journal entry % is dated %, in the periods closed through %', \
                   bad, day, closed; \
               END IF; \
               RETURN NULL; \
             END; $$ LANGUAGE plpgsql",
        )
        .await?;
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION check_inserted_lines() RETURNS trigger AS $$ \
             DECLARE entry uuid; \
             BEGIN \
               EXECUTE 'SELECT e.id FROM new_lines l JOIN journal_entries e ON e.id = l.entry_id \
                 WHERE e.posted_at IS NOT NULL LIMIT 1' INTO entry; \
               IF entry IS NOT NULL THEN \
                 RAISE EXCEPTION 'lines of posted journal entry % are immutable: INSERT refused', entry; \
               END IF; \
               RETURN NULL; \
             END; $$ LANGUAGE plpgsql",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        // The functions as the ledger migration created them.
        let db = manager.get_connection();
        for statement in ledger_sql(sea_orm::DatabaseBackend::Postgres) {
            if let Some(function) = statement.strip_prefix("CREATE FUNCTION check_") {
                db.execute_unprepared(&format!("CREATE OR REPLACE FUNCTION check_{function}"))
                    .await?;
            }
        }
        Ok(())
    }
}

/// The references of the ledger's and the matcher's busiest tables, checked once per statement
/// on PostgreSQL instead of by foreign keys ([`dk_runtime::reference_checks`]).
///
/// Booking 256 bank mutations inserts about 2,400 references. Their foreign keys took about a
/// third of the batch's time in the database, most of it in the row locks. A batch's matches,
/// entries and bookings are its own, and it has updated its invoices already, so the checks
/// per statement lock almost nothing.
struct CheckReferencesPerStatement;

impl MigrationName for CheckReferencesPerStatement {
    fn name(&self) -> &str {
        "m0006_check_references_per_statement"
    }
}

const CHECKED_REFERENCES: [CheckedTable<'static>; 3] = [
    (
        "journal_lines",
        &[
            ("entry_id", "journal_entries"),
            ("account_id", "ledger_accounts"),
        ],
    ),
    (
        "payment_bookings",
        &[
            ("match_id", "payment_matches"),
            ("entry_id", "journal_entries"),
        ],
    ),
    (
        "payment_allocations",
        &[
            ("match_id", "payment_matches"),
            ("booking_id", "payment_bookings"),
            ("invoice_id", "invoices"),
        ],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for CheckReferencesPerStatement {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        reference_checks::install_on(manager, &CHECKED_REFERENCES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The allocation's booking had no foreign key before.
        let had_foreign_key = |_: &str, column: &str| column != "booking_id";
        reference_checks::remove_on(manager, &CHECKED_REFERENCES, had_foreign_key).await
    }
}

/// Leaves free space in the pages of the two tables whose rows are updated soon after they are
/// written, so that PostgreSQL can update a row within its page without touching the indexes
/// (a HOT update). A journal entry is inserted and then posted in the same transaction; an
/// invoice's open amount changes when it is paid. With full pages every such update wrote a
/// new entry into each index of the table. Rows written before this migration keep their pages.
struct LeaveRoomForUpdates;

impl MigrationName for LeaveRoomForUpdates {
    fn name(&self) -> &str {
        "m0007_leave_room_for_updates"
    }
}

/// Per table, the percentage of each page that inserts may fill.
const FILL_FACTORS: [(&str, u8); 2] = [("journal_entries", 50), ("invoices", 85)];

#[async_trait::async_trait]
impl MigrationTrait for LeaveRoomForUpdates {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        for (table, fill_factor) in FILL_FACTORS {
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "ALTER TABLE {table} SET (fillfactor = {fill_factor})"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        for (table, _) in FILL_FACTORS {
            manager
                .get_connection()
                .execute_unprepared(&format!("ALTER TABLE {table} RESET (fillfactor)"))
                .await?;
        }
        Ok(())
    }
}

/// Checks on PostgreSQL once per statement, instead of once per row, that a journal entry is
/// inserted unposted and that a posted one is not changed.
///
/// The row trigger called a PL/pgSQL function for every entry a batch inserted and again for
/// every entry it posted, about 500 calls per batch of 256 bank mutations. The statement
/// triggers read the statement's transition table once. Deletes keep a row trigger.
struct GuardPostedEntriesPerStatement;

impl MigrationName for GuardPostedEntriesPerStatement {
    fn name(&self) -> &str {
        "m0008_guard_posted_entries_per_statement"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for GuardPostedEntriesPerStatement {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER journal_entries_guard ON journal_entries")
            .await?;
        db.execute_unprepared(&format!(
            "CREATE FUNCTION guard_journal_entries() RETURNS trigger AS $$ \
             DECLARE bad uuid; \
             BEGIN \
               IF TG_OP = 'INSERT' THEN \
                 EXECUTE 'SELECT id FROM new_rows WHERE posted_at IS NOT NULL LIMIT 1' INTO bad; \
                 IF bad IS NOT NULL THEN \
                   RAISE EXCEPTION 'journal entry % is inserted posted; add its lines first', bad; \
                 END IF; \
               ELSE \
                 EXECUTE 'SELECT id FROM old_rows WHERE posted_at IS NOT NULL LIMIT 1' INTO bad; \
                 IF bad IS NOT NULL THEN \
                   RAISE EXCEPTION '{IMMUTABLE}: UPDATE on entry % refused', bad; \
                 END IF; \
               END IF; \
               RETURN NULL; \
             END; $$ LANGUAGE plpgsql"
        ))
        .await?;
        for (event, table) in [
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows"),
        ] {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER journal_entries_guard_{lower} AFTER {event} ON journal_entries \
                 REFERENCING {table} FOR EACH STATEMENT EXECUTE FUNCTION guard_journal_entries()",
                lower = event.to_lowercase(),
            ))
            .await?;
        }
        // Deletes keep the row function. No booking deletes entries, and a row trigger runs
        // before the foreign key of a reversal, so the error names immutability as the reason.
        db.execute_unprepared(
            "CREATE TRIGGER journal_entries_guard_delete BEFORE DELETE ON journal_entries \
             FOR EACH ROW EXECUTE FUNCTION guard_journal_entry()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for event in ["insert", "update", "delete"] {
            db.execute_unprepared(&format!(
                "DROP TRIGGER journal_entries_guard_{event} ON journal_entries"
            ))
            .await?;
        }
        db.execute_unprepared(
            "DROP FUNCTION guard_journal_entries(); \
             CREATE TRIGGER journal_entries_guard BEFORE INSERT OR UPDATE OR DELETE ON \
             journal_entries FOR EACH ROW EXECUTE FUNCTION guard_journal_entry()",
        )
        .await?;
        Ok(())
    }
}

/// Logs the invoices behind each raise of an organisation's invoice version, so that a cached
/// invoice index reads only those again after another writer's change.
struct LogInvoiceChanges;

impl MigrationName for LogInvoiceChanges {
    fn name(&self) -> &str {
        "m0009_log_invoice_changes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for LogInvoiceChanges {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use invoice_change::Column as Change;
        manager
            .create_table(
                Table::create()
                    .table(invoice_change::Entity)
                    .col(uuid(Change::OrganisationId))
                    .col(ColumnDef::new(Change::Version).big_integer().not_null())
                    .col(ColumnDef::new(Change::InvoiceIds).blob().not_null())
                    .primary_key(
                        Index::create()
                            .col(Change::OrganisationId)
                            .col(Change::Version),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(invoice_change::Entity).to_owned())
            .await
    }
}

fn uuid_key(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .uuid()
        .not_null()
        .primary_key()
        .to_owned()
}

fn uuid(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).uuid().not_null().to_owned()
}

fn text(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).text().not_null().to_owned()
}

fn timestamp(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}
