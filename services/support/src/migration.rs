//! Schema of the support database: the shared messaging and idempotency tables only, because
//! the calendar keeps no state.
//!
//! NOTE: tickets, time logging and prepaid credit are not built yet; their tables come with them.

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(dk_messaging::migration::CreateMessagingTables),
            Box::new(dk_runtime::idempotency::CreateIdempotencyKeys),
        ]
    }
}
