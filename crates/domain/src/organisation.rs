//! The organisation (tenant) that owns every piece of data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Identifier of an organisation (a customer company, the tenant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrganisationId(Uuid);

impl OrganisationId {
    /// Creates a new, random organisation id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for OrganisationId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for OrganisationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A text that is not a UUID and so cannot name an organisation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid organisation id {0:?}: expected a UUID such as 0190f5a2-7c4e-7b1a-9d3e-2f6a8b9c0d1e"
)]
pub struct OrganisationIdError(pub String);

impl FromStr for OrganisationId {
    type Err = OrganisationIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text.trim())
            .map(Self)
            .map_err(|_| OrganisationIdError(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation_id_round_trips_text() {
        let id = OrganisationId::new();
        assert_eq!(id.to_string().parse::<OrganisationId>().unwrap(), id);
    }

    #[test]
    fn organisation_id_rejects_non_uuid() {
        let error = "acme".parse::<OrganisationId>().unwrap_err();
        assert!(error.to_string().contains("\"acme\""));
    }
}
