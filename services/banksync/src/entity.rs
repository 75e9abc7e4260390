//! Database tables of banksync. Money columns hold whole minor units (cents), see `dk_domain::Money`.

pub mod bank_account {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bank_accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        pub iban: String,
        pub name: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod statement_import {
    use sea_orm::entity::prelude::*;

    /// One uploaded file.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "statement_imports")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        pub file_name: String,
        pub format: String,
        pub dialect: String,
        pub content_sha256: String,
        pub byte_size: i64,
        pub imported_count: i32,
        pub duplicate_count: i32,
        /// Warnings, one per line.
        pub warnings: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod bank_statement {
    use sea_orm::entity::prelude::*;

    /// One statement of a file: an account's balances over a period.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bank_statements")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        pub import_id: Uuid,
        pub bank_account_id: Uuid,
        pub statement_ref: Option<String>,
        pub currency: String,
        pub opening_minor: Option<i64>,
        pub opening_date: Option<Date>,
        pub closing_minor: Option<i64>,
        pub closing_date: Option<Date>,
        pub transaction_count: i32,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod bank_mutation {
    use sea_orm::entity::prelude::*;

    /// One booked transaction on an account. `fingerprint` is unique per account, which is what
    /// keeps re-imported and overlapping files from storing a mutation twice.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bank_mutations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        pub bank_account_id: Uuid,
        pub import_id: Uuid,
        pub fingerprint: String,
        pub booking_date: Date,
        pub value_date: Date,
        pub amount_minor: i64,
        pub currency: String,
        pub counterparty_iban: Option<String>,
        pub counterparty_name: Option<String>,
        pub remittance: String,
        pub end_to_end_id: Option<String>,
        pub structured_reference: Option<String>,
        pub bank_reference: Option<String>,
        pub transaction_code: Option<String>,
        pub reversal: bool,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod licence_entitlement {
    use sea_orm::entity::prelude::*;

    /// The entitlements of an organisation's licence from `effective_from` on, as billing announced it
    /// in `licence.activated.v1` and `licence.changed.v1`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "licence_entitlements")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organisation_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub effective_from: Date,
        pub licence_id: Uuid,
        pub automatic_bank_link: bool,
        pub max_linked_ibans: i32,
        pub received_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod automatic_link {
    use sea_orm::entity::prelude::*;

    /// A bank account that is synced automatically through the bank link.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "automatic_links")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub bank_account_id: Uuid,
        pub organisation_id: Uuid,
        pub linked_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod bank_consent {
    use sea_orm::entity::prelude::*;

    /// A customer's consent at the bank for reading one account, from the start of the OAuth
    /// flow (`pending`) through `active` to `replaced` by a newer one or `ended`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bank_consents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        pub bank_account_id: Uuid,
        pub bank: String,
        pub status: String,
        /// The OAuth `state` of the consent redirect; unique.
        pub state: String,
        pub redirect_uri: String,
        pub access_token: Option<String>,
        pub refresh_token: Option<String>,
        pub access_expires_at: Option<DateTimeUtc>,
        pub valid_until: Option<DateTimeUtc>,
        /// When the customer got the notice that the consent lapses soon.
        pub renewal_notice_at: Option<DateTimeUtc>,
        pub ended_reason: Option<String>,
        pub created_at: DateTimeUtc,
        pub activated_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod account_sync {
    use sea_orm::entity::prelude::*;

    /// The sync schedule and progress of one automatically linked account.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "account_syncs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub bank_account_id: Uuid,
        pub organisation_id: Uuid,
        /// When the scheduler syncs the account next; a replica claims a sync by moving it.
        pub next_run_at: DateTimeUtc,
        pub last_run_at: Option<DateTimeUtc>,
        /// The last booking date that a sync read completely.
        pub synced_through: Option<Date>,
        pub last_outcome: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
