//! The conversion from errors to `tonic::Status`, in one place.
//!
//! Client mistakes carry the standard error details of `google.rpc` (a `BadRequest` field
//! violation, an `ErrorInfo` with a stable reason), so clients in any language can read them.
//! Internal failures are logged once here, with the error, and the client gets a generic
//! INTERNAL without details of our database or code.

use std::collections::HashMap;
use std::fmt::Display;

use sea_orm::{DbErr, SqlErr};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Domain of the `ErrorInfo` details.
const ERROR_DOMAIN: &str = "digitaalkantoor.nl";

/// Builds INVALID_ARGUMENT for a request field with an invalid value.
pub fn invalid_argument(field: &str, description: impl Into<String>) -> Status {
    let description = description.into();
    Status::with_error_details(
        Code::InvalidArgument,
        format!("{field}: {description}"),
        ErrorDetails::with_bad_request_violation(field, description),
    )
}

/// Builds a status with a stable, machine-readable reason such as `IBAN_NOT_REGISTERED`.
pub fn with_reason(
    code: Code,
    reason: &str,
    message: impl Into<String>,
    metadata: &[(&str, String)],
) -> Status {
    let metadata: HashMap<String, String> = metadata
        .iter()
        .map(|(key, value)| ((*key).to_owned(), value.clone()))
        .collect();
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
    )
}

/// Builds NOT_FOUND for a resource of the caller's organisation that does not exist. Resources
/// of other organisations get the same status, so their existence is not revealed.
pub fn not_found(resource: &str, id: &str) -> Status {
    Status::not_found(format!("{resource} {id} not found"))
}

/// Logs an unexpected failure with its context and returns a generic INTERNAL.
pub fn internal(context: &str, error: &dyn Display) -> Status {
    tracing::error!(error = %error, context, "request failed");
    Status::internal(format!(
        "internal error while {context}; see the service log"
    ))
}

/// Maps a database error: a unique violation becomes ALREADY_EXISTS, a serialization failure
/// or deadlock becomes ABORTED (the client may retry), everything else INTERNAL.
pub fn from_db(context: &str, error: DbErr) -> Status {
    if let Some(SqlErr::UniqueConstraintViolation(detail)) = error.sql_err() {
        return Status::already_exists(format!("{context}: already exists ({detail})"));
    }
    if is_retryable(&error) {
        return Status::aborted(format!(
            "{context}: conflict with a concurrent request; nothing was changed, so send the \
             request again with the same idempotency key"
        ));
    }
    internal(context, &error)
}

/// Returns whether a database error is a transient conflict that a retry can resolve:
/// PostgreSQL's serialization_failure (SQLSTATE 40001), deadlock_detected (40P01) or
/// lock_not_available (55P03, a lock timeout), or SQLite's busy database.
pub fn is_retryable(error: &DbErr) -> bool {
    const CONFLICTS: [&str; 3] = ["40001", "40P01", "55P03"];
    if let DbErr::Exec(sea_orm::RuntimeErr::SqlxError(sqlx))
    | DbErr::Query(sea_orm::RuntimeErr::SqlxError(sqlx)) = error
        && let sea_orm::sqlx::Error::Database(database) = sqlx.as_ref()
        && database
            .code()
            .is_some_and(|code| CONFLICTS.contains(&code.as_ref()))
    {
        return true;
    }
    // PostgreSQL's message text, for errors that reach here as text only.
    let text = error.to_string();
    CONFLICTS.iter().any(|code| text.contains(code))
        || text.contains("could not serialize")
        || text.contains("deadlock detected")
        || text.contains("database is locked")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_field_violation() {
        let status = invalid_argument("iban", "invalid IBAN \"NL00\"");
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let violation = &details.bad_request().unwrap().field_violations[0];
        assert_eq!(violation.field, "iban");
        assert!(violation.description.contains("NL00"));
    }

    #[test]
    fn reason_is_machine_readable() {
        let status = with_reason(
            Code::FailedPrecondition,
            "IBAN_NOT_REGISTERED",
            "not registered",
            &[("iban", "NL91ABNA0417164300".into())],
        );
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.reason, "IBAN_NOT_REGISTERED");
        assert_eq!(info.metadata["iban"], "NL91ABNA0417164300");
    }
}
