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
        /// The idempotency key of the `CreateQuote` call, unique per organisation.
        pub idempotency_key: Option<String>,
        /// SHA-256 of that call's request, in hex. A repeat with another request is rejected.
        pub request_hash: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod billing_details {
    use sea_orm::entity::prelude::*;

    /// Name and address of a customer organisation, as its next invoices show them.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "billing_details")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organisation_id: Uuid,
        pub name: String,
        pub street: String,
        pub postal_code: String,
        pub city: String,
        pub country_code: String,
        pub vat_id: Option<String>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod custom_user_price {
    use sea_orm::entity::prelude::*;

    /// The price per extra user that a sales employee set on a quote beyond the user table.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "custom_user_prices")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub quote_id: Uuid,
        pub unit_price_minor: i64,
        pub currency: String,
        /// Subject of the sales employee's token.
        pub set_by: String,
        pub set_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod licence {
    use sea_orm::entity::prelude::*;

    /// One organisation's licence; `organisation_id` is unique.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "licences")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub organisation_id: Uuid,
        /// `trial` or `active`.
        pub state: String,
        /// `nl` or `en`: the language of the licence's invoices.
        pub language: String,
        /// Day the licence became paid.
        pub activated_on: Option<Date>,
        /// The quote whose acceptance made the licence paid.
        pub quote_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod licence_version {
    use sea_orm::entity::prelude::*;

    /// The basket of a licence from `effective_from` until the next version.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "licence_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub licence_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub effective_from: Date,
        /// A `dk_pricing::Basket` as JSON.
        pub basket: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod licence_charge {
    use sea_orm::entity::prelude::*;

    /// A prorated amount of a change, collected by the next monthly invoice.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "licence_charges")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub licence_id: Uuid,
        /// `YYYY-MM` of the change.
        pub billing_month: String,
        pub change_date: Date,
        pub code: String,
        pub description: String,
        pub amount_minor: i64,
        pub currency: String,
        /// VAT rate as a fraction, for example `0.21`.
        pub vat_rate: String,
        pub explanation: String,
        /// The invoice that charged it; `None` while it waits.
        pub invoice_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod invoice_series {
    use sea_orm::entity::prelude::*;

    /// The last number issued in an issuer's one gapless series.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invoice_series")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub issuer_organisation_id: Uuid,
        pub last_number: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod invoice {
    use sea_orm::entity::prelude::*;

    /// An issued invoice or credit note. Rows are never updated or deleted; database triggers
    /// refuse both.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invoices")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub issuer_organisation_id: Uuid,
        /// Position in the issuer's series; `(issuer_organisation_id, sequence)` is unique.
        pub sequence: i64,
        pub number: String,
        /// `invoice` or `credit_note`.
        pub kind: String,
        pub customer_organisation_id: Uuid,
        pub licence_id: Option<Uuid>,
        /// `YYYY-MM` of a monthly invoice.
        pub period: Option<String>,
        pub corrects_invoice_id: Option<Uuid>,
        pub issue_date: Date,
        pub due_date: Date,
        pub language: String,
        pub currency: String,
        pub net_minor: i64,
        pub vat_minor: i64,
        pub total_minor: i64,
        /// The supplier as a `Party` JSON object.
        pub supplier: String,
        /// The customer as a `Party` JSON object.
        pub customer: String,
        /// VAT per rate as JSON.
        pub vat: String,
        pub vat_note: Option<String>,
        pub reason: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod invoice_line {
    use sea_orm::entity::prelude::*;

    /// One line of an issued invoice; immutable like the invoice.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invoice_lines")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub invoice_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub line_number: i32,
        pub code: String,
        pub description: String,
        pub quantity: String,
        pub unit_price_minor: i64,
        pub amount_minor: i64,
        /// VAT rate as a fraction, for example `0.21`.
        pub vat_rate: String,
        pub explanation: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod licence_period {
    use sea_orm::entity::prelude::*;

    /// The claim that a licence's month is invoiced: the primary key makes a second monthly
    /// invoice for the same month impossible, whichever replica tries.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "licence_periods")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub licence_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub period: String,
        pub invoice_id: Uuid,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod credited_line {
    use sea_orm::entity::prelude::*;

    /// An invoice line that a credit note corrected; each line can be credited once.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "credited_lines")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub invoice_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub line_number: i32,
        pub credit_note_id: Uuid,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod invoice_payment {
    use sea_orm::entity::prelude::*;

    /// A payment that bookkeeping applied to an issued invoice (`invoice.paid.v1`), or took back
    /// (`invoice.payment.undone.v1`).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invoice_payments")]
    pub struct Model {
        /// Bookkeeping's match id; one payment per match and invoice.
        #[sea_orm(primary_key, auto_increment = false)]
        pub match_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub invoice_id: Uuid,
        pub amount_minor: i64,
        pub received_at: DateTimeUtc,
        /// Bookkeeping's booking of the match that this row follows. A match undone and
        /// confirmed again gets a new, greater booking id. `None` on payments recorded before
        /// events carried it.
        pub booking_id: Option<Uuid>,
        /// When bookkeeping undid that booking; an undone payment does not count.
        pub undone_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
