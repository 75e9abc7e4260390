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
        /// When the current line should answer.
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
