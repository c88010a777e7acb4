use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What sort of party a principal is. Policies treat users and services differently (a service may
/// act on behalf of a user; a user may not act for anyone else).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A human user (`user:alice`).
    User,
    /// A workload or agent (`service:billing-bot`).
    Service,
}

/// An authenticated caller.
///
/// `id` is the canonical `kind:name` form (`user:alice`, `service:rag-indexer`) used as the
/// limiter key, the audit principal and the Cedar entity id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Principal {
    /// Canonical id, `kind:name`.
    pub id: String,
    /// User or service.
    pub kind: PrincipalKind,
    /// The team the principal belongs to, if any (budgets and policies group by it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Groups or roles asserted by the identity source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The API key id that authenticated this request, when a key did. Never the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Models this credential is restricted to; empty means "no restriction at this layer".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_models: Vec<String>,
    /// Attributes asserted by the identity source (JWT claims mapped in config, certificate
    /// fields, a key's metadata), e.g. `tenant`. Policies see them as the entity's attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// How the principal authenticated: `api_key`, `jwt`, `mtls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
}

impl Principal {
    /// Parses a `kind:name` id. Anything but `user:` or `service:` with a non-empty name of
    /// printable ASCII without whitespace is rejected, so ids are safe in logs and metric labels.
    pub fn parse_id(id: &str) -> Option<(PrincipalKind, &str)> {
        let (kind, name) = id.split_once(':')?;
        let kind = match kind {
            "user" => PrincipalKind::User,
            "service" => PrincipalKind::Service,
            _ => return None,
        };
        let valid = !name.is_empty()
            && name.len() <= 128
            && name
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
        valid.then_some((kind, name))
    }

    /// A principal with no team, groups or model restriction.
    pub fn new(id: &str) -> Option<Principal> {
        let (kind, _) = Self::parse_id(id)?;
        Some(Principal {
            id: id.to_owned(),
            kind,
            team: None,
            groups: Vec::new(),
            key_id: None,
            allowed_models: Vec::new(),
            attributes: BTreeMap::new(),
            auth_method: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_and_service_ids() {
        assert_eq!(
            Principal::parse_id("user:alice"),
            Some((PrincipalKind::User, "alice"))
        );
        assert_eq!(
            Principal::parse_id("service:spiffe://corp/bot"),
            Some((PrincipalKind::Service, "spiffe://corp/bot"))
        );
    }

    #[test]
    fn rejects_unknown_kinds_and_unsafe_names() {
        for bad in [
            "alice",
            "admin:root",
            "user:",
            "user:a b",
            "user:\"x",
            "user:é",
        ] {
            assert_eq!(Principal::parse_id(bad), None, "{bad}");
        }
    }
}
