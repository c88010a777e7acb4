//! `gatehouse policy test`: table-driven policy tests.
//!
//! ```toml
//! [[case]]
//! name = "interns may only use small models"
//! principal = { id = "user:ivan", groups = ["interns"] }
//! action = "invoke_model"
//! resource = { type = "Model", id = "gpt-large" }
//! expect = "deny"
//! policies = ["interns-small-models-only"]   # optional: the deciding policy ids, exactly
//! ```

use crate::engine::{
    Action, DataAction, Decision, Facts, ModelAttrs, Phase, Policies, Query, Resource,
};
use gatehouse_core::Principal;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(default)]
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    principal: PrincipalSpec,
    #[serde(default)]
    on_behalf_of: Option<PrincipalSpec>,
    action: String,
    resource: ResourceSpec,
    #[serde(default)]
    context: ContextSpec,
    expect: Expect,
    #[serde(default)]
    policies: Option<Vec<String>>,
    #[serde(default)]
    obligations: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Allow,
    Deny,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalSpec {
    id: String,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    auth_method: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceSpec {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: Option<String>,
    // Model
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    // Model, Collection, Document
    #[serde(default)]
    classification: Option<String>,
    // Tool
    #[serde(default)]
    server: Option<String>,
    #[serde(default)]
    sensitive: bool,
    // Document
    #[serde(default)]
    collection: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ContextSpec {
    phase: Option<String>,
    protocol: Option<String>,
    source_ip: Option<String>,
    time: Option<i64>,
    token_estimate: u64,
    stream: bool,
    injection_score: u32,
    injection_attack: bool,
    pii_types: BTreeSet<String>,
    secret_types: BTreeSet<String>,
    finding_types: BTreeSet<String>,
    data_action: Option<String>,
    data_classification: Option<String>,
    arguments: serde_json::Map<String, serde_json::Value>,
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseOutcome {
    /// As expected.
    Pass,
    /// Not as expected; the text says how.
    Fail(String),
    /// The case itself is malformed.
    Error(String),
}

/// One case's name, outcome and the decision made.
#[derive(Debug, Clone)]
pub struct CaseReport {
    /// Case name.
    pub name: String,
    /// Outcome.
    pub outcome: CaseOutcome,
    /// The decision, when one was made.
    pub decision: Option<Decision>,
}

fn principal(spec: &PrincipalSpec) -> Result<Principal, String> {
    let mut p = Principal::new(&spec.id).ok_or_else(|| {
        format!(
            "principal {:?} must be user:<name> or service:<name>",
            spec.id
        )
    })?;
    p.groups.clone_from(&spec.groups);
    p.team.clone_from(&spec.team);
    p.attributes.clone_from(&spec.tags);
    p.auth_method = Some(spec.auth_method.clone().unwrap_or_else(|| "api_key".into()));
    Ok(p)
}

fn resource(spec: &ResourceSpec, policies: &Policies) -> Result<Resource, String> {
    let id = || {
        spec.id
            .clone()
            .ok_or_else(|| format!("resource of type {} needs an id", spec.kind))
    };
    Ok(match spec.kind.as_str() {
        "Model" => {
            let id = id()?;
            let attrs = if spec.tier.is_some()
                || spec.classification.is_some()
                || spec.provider.is_some()
                || !policies.has_model(&id)
            {
                Some(ModelAttrs {
                    name: id.clone(),
                    provider: spec.provider.clone().unwrap_or_else(|| "unknown".into()),
                    tier: spec.tier.clone().unwrap_or_else(|| "standard".into()),
                    classification: spec
                        .classification
                        .clone()
                        .unwrap_or_else(|| "internal".into()),
                })
            } else {
                None
            };
            Resource::Model { id, attrs }
        }
        "Tool" => Resource::Tool {
            id: id()?,
            server: spec.server.clone(),
            sensitive: spec.sensitive,
        },
        "Collection" => Resource::Collection {
            id: id()?,
            classification: spec
                .classification
                .clone()
                .unwrap_or_else(|| "internal".into()),
        },
        "Document" => Resource::Document {
            id: id()?,
            collection: spec.collection.clone(),
            labels: spec.labels.clone(),
            classification: spec
                .classification
                .clone()
                .unwrap_or_else(|| "internal".into()),
            tags: spec.tags.clone(),
        },
        "Gateway" => Resource::Gateway,
        other => {
            return Err(format!(
                "unknown resource type {other:?} (Model, Tool, Collection, Document, Gateway)"
            ));
        }
    })
}

fn facts(c: &ContextSpec) -> Result<Facts, String> {
    let phase = match c.phase.as_deref() {
        None | Some("pre") => Phase::Pre,
        Some("post") => Phase::Post,
        Some(other) => return Err(format!("context.phase {other:?}: pre or post")),
    };
    let data_action = match c.data_action.as_deref() {
        None => DataAction::Allow,
        Some(s) => DataAction::parse(s)
            .ok_or_else(|| format!("context.data_action {s:?}: allow, redact or block"))?,
    };
    let source_ip = match &c.source_ip {
        None => None,
        Some(s) => Some(
            s.parse()
                .map_err(|_| format!("context.source_ip {s:?} is not an IP address"))?,
        ),
    };
    Ok(Facts {
        phase,
        protocol: c.protocol.clone().unwrap_or_else(|| "openai".into()),
        source_ip,
        time: c.time.unwrap_or(1_767_225_600),
        token_estimate: c.token_estimate,
        stream: c.stream,
        injection_score: c.injection_score,
        injection_attack: c.injection_attack,
        pii_types: c.pii_types.clone(),
        secret_types: c.secret_types.clone(),
        finding_types: c.finding_types.clone(),
        data_action,
        data_classification: c
            .data_classification
            .clone()
            .unwrap_or_else(|| "none".into()),
        arguments: c.arguments.clone(),
    })
}

fn run_one(case: &Case, policies: &Policies) -> Result<(Decision, Option<String>), String> {
    let p = principal(&case.principal)?;
    let obo = case.on_behalf_of.as_ref().map(principal).transpose()?;
    let action = Action::parse(&case.action).ok_or_else(|| {
        format!(
            "unknown action {:?} (known: {})",
            case.action,
            Action::ALL.map(Action::as_str).join(", ")
        )
    })?;
    let r = resource(&case.resource, policies)?;
    let f = facts(&case.context)?;
    let d = policies.authorize(&Query {
        principal: &p,
        on_behalf_of: obo.as_ref(),
        action,
        resource: &r,
        facts: &f,
    });
    let mut problems = Vec::new();
    let want = case.expect == Expect::Allow;
    if d.allowed != want {
        problems.push(format!(
            "expected {}, got {}",
            if want { "allow" } else { "deny" },
            if d.allowed { "allow" } else { "deny" }
        ));
    }
    if let Some(ids) = &case.policies {
        let mut a: Vec<&String> = ids.iter().collect();
        let mut b: Vec<&String> = d.policies.iter().collect();
        a.sort();
        b.sort();
        if a != b {
            problems.push(format!(
                "expected deciding policies [{}], got [{}]",
                ids.join(", "),
                d.policies.join(", ")
            ));
        }
    }
    if let Some(obl) = &case.obligations {
        let mut a = obl.clone();
        let mut b = d.obligations.clone();
        a.sort();
        b.sort();
        if a != b {
            problems.push(format!(
                "expected obligations [{}], got [{}]",
                obl.join(", "),
                d.obligations.join(", ")
            ));
        }
    }
    if let Some(e) = &d.error {
        problems.push(format!("evaluation: {e}"));
    }
    let problem = (!problems.is_empty()).then(|| problems.join("; "));
    Ok((d, problem))
}

/// Runs every case of a `cases.toml` text against `policies`. `Err` when the file itself cannot
/// be read as cases (exit 2); otherwise one report per case.
pub fn run_cases(text: &str, policies: &Policies) -> Result<Vec<CaseReport>, String> {
    let file: CaseFile = toml::from_str(text).map_err(|e| e.to_string())?;
    if file.case.is_empty() {
        return Err("no [[case]] entries".into());
    }
    Ok(file
        .case
        .iter()
        .map(|c| match run_one(c, policies) {
            Ok((d, None)) => CaseReport {
                name: c.name.clone(),
                outcome: CaseOutcome::Pass,
                decision: Some(d),
            },
            Ok((d, Some(p))) => CaseReport {
                name: c.name.clone(),
                outcome: CaseOutcome::Fail(p),
                decision: Some(d),
            },
            Err(e) => CaseReport {
                name: c.name.clone(),
                outcome: CaseOutcome::Error(e),
                decision: None,
            },
        })
        .collect())
}
