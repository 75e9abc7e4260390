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
        pub invoice_id: Uuid,
        pub amount_minor: i64,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
