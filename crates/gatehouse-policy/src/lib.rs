//! Gatehouse authorization: the Cedar schema of the AI domain, entity and context building, and
//! the authorizer.
//!
//! * [`SCHEMA`] declares the entity types (`User`, `Service`, `Group`, `Team`, `Model`,
//!   `Provider`, `Tool`, `McpServer`, `Collection`, `Document`, `Gateway`), the actions
//!   (`invoke_model`, `list_models`, `call_tool`, `list_tools`, `retrieve`, `ingest`,
//!   `read_audit`, `manage_keys`, `admin`) and the request context. The record type of tool
//!   arguments is generated from configuration ([`PolicyConfig::tool_arguments`]).
//! * [`Policies::compile`] parses policy sources, gives every policy its `@id`, and validates
//!   the whole set **strictly** against the schema; a set that does not validate is an error and
//!   never replaces a valid one (the caller keeps the old [`Policies`]).
//! * [`Policies::authorize`] decides one request. Default deny. An evaluation error in any
//!   policy is a deny (Cedar skips a policy that errors, even a `forbid`; here the error wins),
//!   and so is a context that does not match the schema.
//! * Obligations come from policy annotations: a satisfied `permit` annotated
//!   `@obligation("redact")` asks the caller to redact; a determining `forbid` annotated
//!   `@reason("prompt_attack")` names why. Guardrail behaviour is written as policy.
//!
//! Pure: no I/O. Callers read the policy files (`gatehouse_server::policy_files`) and pass their
//! text as [`PolicySource`]s.

mod cases;
mod engine;

pub use cases::{CaseOutcome, CaseReport, run_cases};
pub use engine::{
    Action, ArgType, DataAction, Decision, Facts, ModelAttrs, Phase, Policies, PolicyConfig,
    PolicyError, PolicySource, Query, Resource, schema_text,
};

/// The fixed part of the Cedar schema (the `ToolArguments` type is generated).
pub const SCHEMA: &str = include_str!("schema.cedarschema");

/// The built-in policies (baseline permit and guardrails).
pub const BUILTIN_POLICIES: &str = include_str!("../policies/builtin.cedar");

/// Obligations a policy may attach with `@obligation("…")`. Any other value fails validation.
pub const OBLIGATIONS: &[&str] = &["redact"];
