//! Database tables of bookkeeping. Money columns hold whole minor units (cents), see
//! `dk_domain::Money`.

pub mod invoice {
    use sea_orm::entity::prelude::*;

    /// A sales or purchase invoice; `(organisation_id, kind, number_key)` and
    /// `(organisation_id, payment_reference)` are unique.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invoices")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        /// `sales` or `purchase`.
        pub kind: String,
        pub number: String,
        /// The number in lower case; unique per organisation and kind, because matching
        /// ignores case.
        pub number_key: String,
        pub counterparty_name: String,
        pub counterparty_iban: Option<String>,
        /// ISO 3166 country of the counterparty, which decides the VAT return box of
        /// reverse-charge lines.
        pub counterparty_country: String,
        pub currency: String,
        pub amount_minor: i64,
        pub open_minor: i64,
        pub issue_date: Date,
        pub due_date: Date,
        pub payment_reference: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod payment_match {
    use sea_orm::entity::prelude::*;

    /// The decision taken on one received bank mutation; `(organisation_id, mutation_id)` is
    /// unique, so a mutation is decided and booked at most once.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payment_matches")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        pub mutation_id: Uuid,
        pub event_id: Uuid,
        pub bank_account_id: Uuid,
        pub booking_date: Date,
        pub amount_minor: i64,
        pub currency: String,
        pub counterparty_iban: Option<String>,
        pub counterparty_name: Option<String>,
        pub remittance: String,
        /// `exact`, `partial`, `overpaid`, `possible_double_payment`, `suggested` or `unmatched`.
        pub outcome: String,
        /// Whether the decision applied money to invoices.
        pub booked: bool,
        /// The whole decision with its reasons, as JSON.
        pub decision: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod allocation {
    use sea_orm::entity::prelude::*;

    /// The part of a matched mutation applied to one invoice.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payment_allocations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub match_id: Uuid,
        /// The booking the allocation belongs to; empty on allocations made before bookings
        /// were recorded.
        pub booking_id: Option<Uuid>,
        pub invoice_id: Uuid,
        pub amount_minor: i64,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod invoice_line {
    use sea_orm::entity::prelude::*;

    /// One line of an invoice entered with its lines: what was sold or bought, its net amount,
    /// its VAT code and the revenue or cost account it is booked to.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invoice_lines")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub invoice_id: Uuid,
        pub position: i32,
        pub description: String,
        /// Decimal text, such as `1.5`.
        pub quantity: String,
        pub unit_price_minor: i64,
        /// Net amount of the line, `quantity × unit price` rounded to cents.
        pub amount_minor: i64,
        /// `high`, `low`, `zero` or `reverse_charge`.
        pub vat_code: String,
        pub account_id: Uuid,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod ledger_account {
    use sea_orm::entity::prelude::*;

    /// An account of an organisation's chart of accounts; `(organisation_id, number)` is unique,
    /// and so is a role other than `bank`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ledger_accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        pub number: String,
        pub name_nl: String,
        pub name_en: String,
        /// Code in the Dutch reference chart of accounts (RGS).
        pub rgs_code: String,
        /// `balance` or `profit_loss`.
        pub class: String,
        /// `debit` or `credit`.
        pub normal_side: String,
        /// The purpose the service books the account for automatically, such as `debtors`.
        pub role: Option<String>,
        /// The bank account whose money this account holds, for accounts of role `bank`.
        pub bank_account_id: Option<Uuid>,
        /// That bank account's IBAN.
        pub iban: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod journal_entry {
    use sea_orm::entity::prelude::*;

    /// A journal entry. It is written unposted, its lines are added, and posting it sets
    /// `posted_at`; database triggers then refuse an unbalanced entry and any later change.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "journal_entries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        /// `sales`, `purchases`, `bank` or `memorial`.
        pub journal: String,
        pub entry_date: Date,
        pub description: String,
        /// The kind of document the entry books: `invoice`, `payment`, `transfer`, `manual` or
        /// `reversal`.
        pub source: String,
        /// The invoice or match the entry books, if any.
        pub source_id: Option<Uuid>,
        /// The entry this one reverses. A unique index (`journal_entries_reverses`) lets an entry
        /// be reversed at most once.
        pub reverses_entry_id: Option<Uuid>,
        pub posted_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod journal_line {
    use sea_orm::entity::prelude::*;

    /// One line of a journal entry. `amount_minor` is signed: debit positive, credit negative,
    /// so the lines of a balanced entry add up to zero.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "journal_lines")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub entry_id: Uuid,
        pub organisation_id: Uuid,
        pub position: i32,
        pub account_id: Uuid,
        pub entry_date: Date,
        pub amount_minor: i64,
        pub description: String,
        /// The invoice whose open item the line changes, on debtors and creditors lines.
        pub invoice_id: Option<Uuid>,
        /// VAT return box the line counts in, such as `1a`.
        pub vat_box: Option<String>,
        /// `base` or `tax`: which column of the box.
        pub vat_part: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod account_balance {
    use sea_orm::entity::prelude::*;

    /// Debit and credit totals of one account in one month, kept up to date by every posting.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "account_balances")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: Uuid,
        /// First day of the month.
        #[sea_orm(primary_key, auto_increment = false)]
        pub month: Date,
        pub organisation_id: Uuid,
        pub debit_minor: i64,
        pub credit_minor: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod books {
    use sea_orm::entity::prelude::*;

    /// Per organisation: the last day of the closed periods, if any.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "books")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organisation_id: Uuid,
        pub closed_through: Option<Date>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod payment_booking {
    use sea_orm::entity::prelude::*;

    /// The posting of a bank mutation: its payment or transfer entry. A partial unique index
    /// allows one booking per mutation that is not undone, so a mutation is never booked twice,
    /// whichever consumer or user books it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payment_bookings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        pub mutation_id: Uuid,
        pub match_id: Uuid,
        pub entry_id: Uuid,
        pub created_at: DateTimeUtc,
        /// When the booking was undone; its entry is then reversed.
        pub undone_at: Option<DateTimeUtc>,
        pub reversal_entry_id: Option<Uuid>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod match_history {
    use sea_orm::entity::prelude::*;

    /// One step in the life of a match decision: decided, confirmed, rejected or undone.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "match_history")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub match_id: Uuid,
        pub organisation_id: Uuid,
        /// `decided`, `confirmed`, `rejected` or `undone`.
        pub action: String,
        /// `matcher`, or the subject of the user's token.
        pub actor: String,
        /// The invoice a confirmation or rejection named.
        pub invoice_id: Option<Uuid>,
        /// The decision as it stood after this step, as JSON.
        pub decision: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod invoice_change {
    use sea_orm::entity::prelude::*;

    /// The invoices that the change raising an organisation's invoice version to `version`
    /// inserted or changed, so that a cached index can read those again instead of all
    /// invoices. Only the latest versions are kept ([`crate::invoice_index::KEPT_CHANGES`]).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invoice_changes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organisation_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i64,
        /// The invoice ids, 16 bytes each.
        pub invoice_ids: Vec<u8>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod invoice_version {
    use sea_orm::entity::prelude::*;

    /// Per organisation, a counter that every change to its invoices raises, so a cached
    /// invoice index can tell whether it is still current. Writers raise it last, just before
    /// they commit, so the row lock orders their commits without holding up their writes.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invoice_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organisation_id: Uuid,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
