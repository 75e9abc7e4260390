//! Authentication: every call carries `authorization: Bearer <token>`, an HS256 JSON Web Token
//! whose `org` claim names the one organisation the call may act on.
//!
//! Staff tokens also carry a `roles` claim (`support_agent`, `sales`, `finance`); a service that
//! offers staff calls checks the role and the organisation with [`Caller::require_staff`].
//!
//! NOTE: the tokens are signed with a shared secret from the configuration. Real customer
//! sign-in (an identity provider issuing these tokens) is not part of this system yet; `dk dev`
//! issues development tokens with the same key.

use std::sync::Arc;

use chrono::{Duration, Utc};
use dk_domain::OrganisationId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::service::Interceptor;
use tonic::{Request, Status};
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The calling user or service account.
    sub: String,
    /// The organisation the token is for.
    org: Uuid,
    /// Staff roles; absent on customer tokens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    roles: Vec<Role>,
    iat: i64,
    exp: i64,
}

/// A staff role of the vendor's employees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SupportAgent,
    Sales,
    Finance,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SupportAgent => "support_agent",
            Role::Sales => "sales",
            Role::Finance => "finance",
        }
    }

    /// Parses `support_agent`, `sales` or `finance`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "support_agent" => Ok(Role::SupportAgent),
            "sales" => Ok(Role::Sales),
            "finance" => Ok(Role::Finance),
            other => Err(format!(
                "unknown role {other:?}: expected support_agent, sales or finance"
            )),
        }
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub subject: String,
    pub organisation_id: OrganisationId,
    pub roles: Vec<Role>,
}

impl Caller {
    /// Allows a staff call: the caller acts for the vendor's organisation `vendor` and has
    /// `role`. Anyone else gets PERMISSION_DENIED naming what is missing.
    pub fn require_staff(&self, role: Role, vendor: OrganisationId) -> Result<(), Status> {
        if self.organisation_id != vendor {
            return Err(Status::permission_denied(format!(
                "this call is for staff of the vendor organisation {vendor}; the token is for \
                 organisation {}",
                self.organisation_id
            )));
        }
        if !self.roles.contains(&role) {
            return Err(Status::permission_denied(format!(
                "this call needs the {} role; the token of {:?} has none",
                role.as_str(),
                self.subject
            )));
        }
        Ok(())
    }
}

/// Signs and verifies tokens with one HMAC key.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// Issues a token for `subject` acting on `organisation`, valid for `lifetime`.
    pub fn issue(&self, subject: &str, organisation: OrganisationId, lifetime: Duration) -> String {
        self.issue_with_roles(subject, organisation, &[], lifetime)
    }

    /// Issues a staff token with `roles`.
    pub fn issue_with_roles(
        &self,
        subject: &str,
        organisation: OrganisationId,
        roles: &[Role],
        lifetime: Duration,
    ) -> String {
        let now = Utc::now();
        let claims = Claims {
            sub: subject.to_owned(),
            org: organisation.as_uuid(),
            roles: roles.to_vec(),
            iat: now.timestamp(),
            exp: (now + lifetime).timestamp(),
        };
        // jsonwebtoken fails only on claims it cannot serialise or a key that does not fit the
        // algorithm. Neither can happen with these claims and an HMAC key, so the default
        // (empty) token is never returned.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_default()
    }

    /// Checks a token's signature and expiry and returns its caller.
    pub fn verify(&self, token: &str) -> Result<Caller, Status> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|error| Status::unauthenticated(format!("invalid bearer token: {error}")))?;
        Ok(Caller {
            subject: data.claims.sub,
            organisation_id: OrganisationId::from_uuid(data.claims.org),
            roles: data.claims.roles,
        })
    }
}

/// Interceptor that verifies the bearer token and stores the [`Caller`] in the request.
#[derive(Clone)]
pub struct Authenticate {
    keys: Arc<TokenKeys>,
}

impl Authenticate {
    pub fn new(keys: Arc<TokenKeys>) -> Self {
        Self { keys }
    }
}

impl Interceptor for Authenticate {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let header = request.metadata().get("authorization").ok_or_else(|| {
            Status::unauthenticated("missing authorization header: expected \"Bearer <token>\"")
        })?;
        let value = header
            .to_str()
            .map_err(|_| Status::unauthenticated("authorization header is not text"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                Status::unauthenticated("authorization header must start with \"Bearer \"")
            })?;
        let caller = self.keys.verify(token.trim())?;
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

/// Returns the caller that [`Authenticate`] stored in the request.
pub fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("request was not authenticated"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips() {
        let keys = TokenKeys::new("test secret");
        let organisation = OrganisationId::new();
        let token = keys.issue("alice", organisation, Duration::hours(1));
        let caller = keys.verify(&token).unwrap();
        assert_eq!(caller.subject, "alice");
        assert_eq!(caller.organisation_id, organisation);
    }

    #[test]
    fn token_with_other_key_is_rejected() {
        let token = TokenKeys::new("one").issue("alice", OrganisationId::new(), Duration::hours(1));
        let status = TokenKeys::new("two").verify(&token).unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn expired_token_is_rejected() {
        let keys = TokenKeys::new("k");
        let token = keys.issue("alice", OrganisationId::new(), Duration::hours(-2));
        assert_eq!(
            keys.verify(&token).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
    }

    #[test]
    fn staff_calls_need_role_and_vendor_organisation() {
        let keys = TokenKeys::new("k");
        let vendor = OrganisationId::new();
        let finance = keys.issue_with_roles("fien", vendor, &[Role::Finance], Duration::hours(1));
        let caller = keys.verify(&finance).unwrap();
        assert_eq!(caller.roles, vec![Role::Finance]);
        assert!(caller.require_staff(Role::Finance, vendor).is_ok());

        let denied = caller.require_staff(Role::Sales, vendor).unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        assert!(denied.message().contains("sales"), "{}", denied.message());

        let customer = keys.verify(&keys.issue("klant", OrganisationId::new(), Duration::hours(1)));
        let denied = customer
            .unwrap()
            .require_staff(Role::Finance, vendor)
            .unwrap_err();
        assert!(
            denied.message().contains(&vendor.to_string()),
            "{}",
            denied.message()
        );
        assert_eq!(Role::parse("finance"), Ok(Role::Finance));
        assert!(Role::parse("admin").unwrap_err().contains("admin"));
    }

    #[test]
    fn interceptor_requires_bearer() {
        let keys = Arc::new(TokenKeys::new("k"));
        let mut interceptor = Authenticate::new(keys.clone());
        assert!(interceptor.call(Request::new(())).is_err());

        let mut request = Request::new(());
        request
            .metadata_mut()
            .insert("authorization", "Basic abc".parse().unwrap());
        assert!(interceptor.call(request).is_err());

        let organisation = OrganisationId::new();
        let token = keys.issue("bob", organisation, Duration::hours(1));
        let mut request = Request::new(());
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let request = interceptor.call(request).unwrap();
        assert_eq!(caller(&request).unwrap().organisation_id, organisation);
    }
}
