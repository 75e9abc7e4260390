//! Reference checks per statement instead of per row, on PostgreSQL.
//!
//! A foreign key checks each inserted row on its own: a trigger call and a locking look-up of the
//! referenced row. A statement that inserts thousands of rows pays that thousands of times, even
//! when they all refer to the same few rows. The triggers built here check a statement's rows
//! together, over its transition table, looking each distinct referenced id up once through the
//! key's index. They lock (`FOR KEY SHARE`, as a foreign key does) only the referenced rows that
//! other transactions wrote: no one else can delete a row that the statement's own transaction
//! inserted or updated before that transaction ends. Deleting a referenced row, changing a key or
//! truncating a referenced table is rejected as before, with `foreign_key_violation`.
//!
//! A migration calls [`install`] with the tables it checks, and [`remove`] to go back to
//! foreign keys. Each database gets its own copy of the functions, so two services' migrations
//! do not meet. SQLite keeps its foreign keys.

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr};
use sea_orm_migration::SchemaManager;

/// A table whose references are checked per statement: its name, and its references as pairs
/// of column and referenced table. Each referenced table's key is its `id`.
pub type CheckedTable<'a> = (&'a str, &'a [(&'a str, &'a str)]);

/// Builds the statements that replace the foreign keys of `tables` by checks per statement.
/// They create the functions and a trigger per referencing table and event. Each referenced
/// table gets triggers that reject a delete, a key change or a truncate while rows refer to it.
pub fn install(tables: &[CheckedTable<'_>]) -> Vec<String> {
    let mut statements = vec![
        // The foreign keys these triggers replace; their names were chosen by the database.
        format!(
            "DO $$ DECLARE fk record; BEGIN \
               FOR fk IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint \
                 WHERE contype = 'f' AND conrelid IN ({checked}) \
               LOOP EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tbl, fk.conname); \
               END LOOP; \
             END $$",
            checked = tables
                .iter()
                .map(|(table, _)| format!("'{table}'::regclass"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        // Arguments: pairs of column and referenced table. Each referenced id is looked up in
        // the key's index (the LIMIT keeps the planner from scanning the table instead). The
        // rows that another transaction wrote are locked as a foreign key would lock them, so
        // they cannot be deleted before this transaction ends. Rows this transaction inserted
        // or updated need no lock, because no other transaction can read the new ones and the
        // updated ones are locked already.
        "CREATE FUNCTION check_references() RETURNS trigger AS $$ \
         DECLARE i int := 0; wanted bigint; found bigint; others bigint; locked bigint; \
           missing text; \
         BEGIN \
           WHILE i < TG_NARGS LOOP \
             EXECUTE format('SELECT count(*), count(p.id), \
                 count(p.id) FILTER (WHERE p.xmin <> pg_current_xact_id()::xid) \
               FROM (SELECT DISTINCT %1$I AS id FROM new_rows WHERE %1$I IS NOT NULL) n \
               LEFT JOIN LATERAL (SELECT p.id, p.xmin FROM %2$I p WHERE p.id = n.id LIMIT 1) p \
                 ON true', TG_ARGV[i], TG_ARGV[i + 1]) INTO wanted, found, others; \
             IF others > 0 THEN \
               EXECUTE format('SELECT count(*) \
                 FROM (SELECT DISTINCT %1$I AS id FROM new_rows WHERE %1$I IS NOT NULL) n \
                 CROSS JOIN LATERAL (SELECT 1 FROM %2$I p WHERE p.id = n.id \
                   AND p.xmin <> pg_current_xact_id()::xid LIMIT 1 FOR KEY SHARE OF p) l', \
                 TG_ARGV[i], TG_ARGV[i + 1]) INTO locked; \
               found := found - others + locked; \
             END IF; \
             IF found < wanted THEN \
               EXECUTE format('SELECT n.%1$I::text FROM new_rows n WHERE n.%1$I IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM %2$I p WHERE p.id = n.%1$I) LIMIT 1', \
                 TG_ARGV[i], TG_ARGV[i + 1]) INTO missing; \
               RAISE EXCEPTION '% on %: %.% % refers to no row of %', \
                 TG_OP, TG_TABLE_NAME, TG_TABLE_NAME, TG_ARGV[i], missing, TG_ARGV[i + 1] \
                 USING ERRCODE = 'foreign_key_violation'; \
             END IF; \
             i := i + 2; \
           END LOOP; \
           RETURN NULL; \
         END; $$ LANGUAGE plpgsql"
            .to_owned(),
        // Arguments: pairs of referencing table and column.
        // NOTE: unlike a foreign key, this check reads with the deleting transaction's snapshot.
        // Under REPEATABLE READ a reference committed after that snapshot is missed, so such a
        // transaction can delete a row that was referenced meanwhile. The services delete none
        // of these rows and use READ COMMITTED, where each check reads the latest commits.
        "CREATE FUNCTION check_unreferenced() RETURNS trigger AS $$ \
         DECLARE i int := 0; referenced text; \
         BEGIN \
           WHILE i < TG_NARGS LOOP \
             EXECUTE format('SELECT o.id::text FROM old_rows o \
               WHERE EXISTS (SELECT 1 FROM %I c WHERE c.%I = o.id) LIMIT 1', \
               TG_ARGV[i], TG_ARGV[i + 1]) INTO referenced; \
             IF referenced IS NOT NULL THEN \
               RAISE EXCEPTION 'DELETE on %: row % is referenced by %.%', \
                 TG_TABLE_NAME, referenced, TG_ARGV[i], TG_ARGV[i + 1] \
                 USING ERRCODE = 'foreign_key_violation'; \
             END IF; \
             i := i + 2; \
           END LOOP; \
           RETURN NULL; \
         END; $$ LANGUAGE plpgsql"
            .to_owned(),
        "CREATE FUNCTION reject_key_change() RETURNS trigger AS $$ \
         BEGIN \
           RAISE EXCEPTION 'UPDATE on %: the id % cannot change, because other tables refer to % by id', \
             TG_TABLE_NAME, OLD.id, TG_TABLE_NAME \
             USING ERRCODE = 'foreign_key_violation'; \
         END; $$ LANGUAGE plpgsql"
            .to_owned(),
        // Arguments: the referencing tables. A foreign key rejects TRUNCATE of the table it
        // refers to, and a statement trigger on DELETE does not run for TRUNCATE.
        // NOTE: unlike a foreign key, this also rejects truncating the referencing tables in
        // the same statement, or with CASCADE. Emptying them takes DELETE, or dropping the
        // trigger first.
        "CREATE FUNCTION reject_truncate() RETURNS trigger AS $$ \
         BEGIN \
           RAISE EXCEPTION 'TRUNCATE on % rejected: % refer to its rows', \
             TG_TABLE_NAME, array_to_string(TG_ARGV, ', ') \
             USING ERRCODE = 'foreign_key_violation'; \
         END; $$ LANGUAGE plpgsql"
            .to_owned(),
    ];
    let mut referencing: Vec<(&str, Vec<(&str, &str)>)> = Vec::new();
    for (table, references) in tables {
        let arguments: Vec<String> = references
            .iter()
            .map(|(column, parent)| format!("'{column}', '{parent}'"))
            .collect();
        for event in ["INSERT", "UPDATE"] {
            statements.push(format!(
                "CREATE TRIGGER {table}_references_{lower} AFTER {event} ON {table} \
                 REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT \
                 EXECUTE FUNCTION check_references({arguments})",
                lower = event.to_lowercase(),
                arguments = arguments.join(", "),
            ));
        }
        for (column, parent) in references.iter() {
            match referencing.iter_mut().find(|(name, _)| name == parent) {
                Some((_, children)) => children.push((table, column)),
                None => referencing.push((parent, vec![(table, column)])),
            }
        }
    }
    for (parent, children) in referencing {
        let arguments: Vec<String> = children
            .iter()
            .map(|(table, column)| format!("'{table}', '{column}'"))
            .collect();
        statements.push(format!(
            "CREATE TRIGGER {parent}_referenced_delete AFTER DELETE ON {parent} \
             REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT \
             EXECUTE FUNCTION check_unreferenced({})",
            arguments.join(", ")
        ));
        statements.push(format!(
            "CREATE TRIGGER {parent}_key_update BEFORE UPDATE OF id ON {parent} \
             FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) \
             EXECUTE FUNCTION reject_key_change()"
        ));
        let mut tables: Vec<String> = children
            .iter()
            .map(|(table, _)| format!("'{table}'"))
            .collect();
        tables.dedup();
        statements.push(format!(
            "CREATE TRIGGER {parent}_referenced_truncate BEFORE TRUNCATE ON {parent} \
             FOR EACH STATEMENT EXECUTE FUNCTION reject_truncate({})",
            tables.join(", ")
        ));
    }
    statements
}

/// Builds the statements that undo [`install`]. They drop the triggers and functions, and add a
/// foreign key again for each reference where `had_foreign_key(table, column)` is true.
pub fn remove(
    tables: &[CheckedTable<'_>],
    had_foreign_key: impl Fn(&str, &str) -> bool,
) -> Vec<String> {
    let mut statements = Vec::new();
    let mut parents: Vec<&str> = Vec::new();
    for (table, references) in tables {
        for event in ["insert", "update"] {
            statements.push(format!(
                "DROP TRIGGER {table}_references_{event} ON {table}"
            ));
        }
        for (column, parent) in references.iter() {
            if had_foreign_key(table, column) {
                statements.push(format!(
                    "ALTER TABLE {table} ADD FOREIGN KEY ({column}) REFERENCES {parent} (id)"
                ));
            }
            if !parents.contains(parent) {
                parents.push(parent);
            }
        }
    }
    for parent in parents {
        statements.push(format!(
            "DROP TRIGGER {parent}_referenced_delete ON {parent}; \
             DROP TRIGGER {parent}_key_update ON {parent}; \
             DROP TRIGGER {parent}_referenced_truncate ON {parent}"
        ));
    }
    statements.push(
        "DROP FUNCTION check_references(); DROP FUNCTION check_unreferenced(); \
         DROP FUNCTION reject_key_change(); DROP FUNCTION reject_truncate()"
            .to_owned(),
    );
    statements
}

/// Runs the statements of [`install`] on PostgreSQL. Other databases keep their foreign keys.
pub async fn install_on(
    manager: &SchemaManager<'_>,
    tables: &[CheckedTable<'_>],
) -> Result<(), DbErr> {
    run_on_postgres(manager, install(tables)).await
}

/// Runs the statements of [`remove`] on PostgreSQL. Other databases kept their foreign keys.
pub async fn remove_on(
    manager: &SchemaManager<'_>,
    tables: &[CheckedTable<'_>],
    had_foreign_key: impl Fn(&str, &str) -> bool,
) -> Result<(), DbErr> {
    run_on_postgres(manager, remove(tables, had_foreign_key)).await
}

async fn run_on_postgres(
    manager: &SchemaManager<'_>,
    statements: Vec<String>,
) -> Result<(), DbErr> {
    if manager.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(&statement).await?;
    }
    Ok(())
}
