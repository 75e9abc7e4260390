//! Database tables of support.

pub mod ticket {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tickets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        pub subject: String,
        /// `chat`, `phone` or `email`.
        pub channel: String,
        /// Support line 1, 2 or 3.
        pub line: i32,
        /// `open`, `pending`, `resolved` or `closed`.
        pub status: String,
        pub opened_at: DateTimeUtc,
        /// Response target of the current line.
        pub response_due: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod escalation {
    use sea_orm::entity::prelude::*;

    /// A move of a ticket between support lines, with the customer's agreement for billed lines.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ticket_escalations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub ticket_id: Uuid,
        pub from_line: i32,
        pub to_line: i32,
        pub escalated_by: String,
        pub escalated_at: DateTimeUtc,
        pub customer_agreed_by: Option<String>,
        pub customer_agreed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod time_entry {
    use sea_orm::entity::prelude::*;

    /// Whole minutes of work on a ticket, kept as logged.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "time_entries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub ticket_id: Uuid,
        pub organisation_id: Uuid,
        pub agent: String,
        pub work_date: Date,
        pub minutes: i32,
        pub description: String,
        /// The ticket's support line when the time was logged.
        pub line: i32,
        /// Whether the minutes count towards billed time (second and third line).
        pub billable: bool,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod billing_mode {
    use sea_orm::entity::prelude::*;

    /// An organisation's way of paying for billed time. Without a row it is post-calculation.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "billing_modes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organisation_id: Uuid,
        /// `post_calculation` or `prepaid`.
        pub mode: String,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod credit_package {
    use sea_orm::entity::prelude::*;

    /// A monthly or yearly support package that adds a lot every period.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "credit_packages")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        /// `package_monthly` or `package_yearly`.
        pub product: String,
        pub started_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod credit_lot {
    use sea_orm::entity::prelude::*;

    /// Prepaid minutes bought at once; `(package_id, period)` is unique, and a check keeps
    /// `remaining_minutes` from going below zero.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "credit_lots")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        pub product: String,
        pub package_id: Option<Uuid>,
        /// `YYYY-MM` or `YYYY` of a package's period.
        pub period: Option<String>,
        pub purchased_at: DateTimeUtc,
        pub hourly_rate_minor: i64,
        pub currency: String,
        pub total_minutes: i32,
        pub remaining_minutes: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod credit_draw {
    use sea_orm::entity::prelude::*;

    /// Billed minutes of a time entry taken from a lot, or left to post-calculation when
    /// `lot_id` is `None`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "credit_draws")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        pub lot_id: Option<Uuid>,
        pub ticket_id: Uuid,
        pub time_entry_id: Uuid,
        pub minutes: i32,
        pub drawn_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod usage_statement {
    use sea_orm::entity::prelude::*;

    /// An organisation's post-calculation statement of one month; `(organisation_id, month)` is
    /// unique, so a month is charged once.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "usage_statements")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organisation_id: Uuid,
        /// `YYYY-MM`.
        pub month: String,
        pub total_minor: i64,
        pub currency: String,
        /// The statement's lines as the JSON of `pb::PostCalculationLine` fields.
        pub lines: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod article {
    use sea_orm::entity::prelude::*;

    /// A knowledge-base article. On PostgreSQL the table also has a generated `search_vector`
    /// column. On SQLite the FTS5 table `kb_article_terms` contains its stemmed words.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "kb_articles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub module: String,
        pub page: String,
        pub title: String,
        pub body: String,
        pub video_url: Option<String>,
        /// `nl` or `en`.
        pub language: String,
        pub views: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
