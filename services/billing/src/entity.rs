//! Database tables of billing. Money columns hold whole minor units (cents), see
//! `dk_domain::Money`.

pub mod catalogue_item {
    use sea_orm::entity::prelude::*;

    /// One version of one catalogue entry, as JSON in the form of `dk-pricing`; `(entry, code,
    /// effective_from)` is unique.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "catalogue_items")]
    pub struct Model {
        /// Order of the entries on a quote: modules, add-ons and options in this order.
        #[sea_orm(primary_key, auto_increment = false)]
        pub position: i32,
        /// `item` (a `CatalogueItem`), `user_pricing` (a `UserPricing`) or `terms` (currency,
        /// seller country and VAT rate).
        pub entry: String,
        /// Item code such as `crm`; `users` for user pricing and `terms` for the terms.
        pub code: String,
        pub effective_from: Date,
        pub definition: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod quote {
    use sea_orm::entity::prelude::*;

    /// A priced quote with the basket it was priced from.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "quotes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        pub created_at: DateTimeUtc,
        /// The quote date (Europe/Amsterdam) plus 30 days.
        pub valid_until: Date,
        /// `nl` or `en`.
        pub language: String,
        /// The requested `dk_pricing::Basket`, as JSON.
        pub basket: String,
        /// The priced `dk_pricing::Quote`, as JSON.
        pub quote: String,
        /// `priced` or `custom_pricing_required`.
        pub status: String,
        pub currency: String,
        pub net_minor: i64,
        pub vat_minor: i64,
        pub total_minor: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
