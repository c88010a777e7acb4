use crate::{BUILTIN_POLICIES, OBLIGATIONS, SCHEMA};
use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId,
    PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use gatehouse_core::{Principal, PrincipalKind};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::str::FromStr;

/// `[policy]` in `gatehouse.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Policy files (glob patterns, relative to the configuration file). Empty: the built-in
    /// baseline (every authenticated principal may use every configured model).
    pub files: Vec<String>,
    /// Load the built-in guardrail policies beside the files (block prompt attacks and secrets,
    /// redact personal data). Turn off to write your own guardrails.
    pub builtin_guardrails: bool,
    /// Tool arguments visible to policies as `context.arguments.<name>`, with their types.
    pub tool_arguments: BTreeMap<String, ArgType>,
    /// Reload when a policy file changes (SIGHUP always reloads).
    pub watch: bool,
    /// How often files are checked for changes, in milliseconds.
    pub watch_interval_ms: u64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            files: Vec::new(),
            builtin_guardrails: true,
            tool_arguments: BTreeMap::new(),
            watch: true,
            watch_interval_ms: 2_000,
        }
    }
}

/// The Cedar type of a tool argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ArgType {
    /// A 64-bit integer (JSON integers only; `999.5` does not fit and denies).
    Long,
    /// A string.
    String,
    /// A boolean.
    Bool,
    /// A set of strings.
    #[serde(rename = "Set<String>")]
    SetOfString,
}

impl ArgType {
    fn cedar(self) -> &'static str {
        match self {
            ArgType::Long => "Long",
            ArgType::String => "String",
            ArgType::Bool => "Bool",
            ArgType::SetOfString => "Set<String>",
        }
    }
}

/// A policy file's name and text.
#[derive(Debug, Clone)]
pub struct PolicySource {
    /// Where it came from (shown in errors).
    pub name: String,
    /// Cedar text.
    pub text: String,
}

/// Attributes of a configured model (the `Model` entity).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelAttrs {
    /// Public model name (entity id).
    pub name: String,
    /// Provider name (parent `Provider` entity).
    pub provider: String,
    /// Tier, e.g. `small`, `large`.
    pub tier: String,
    /// Data classification the model is approved for, e.g. `public`, `internal`, `confidential`.
    pub classification: String,
}

/// A policy set could not be loaded. The message lists every problem with its source.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PolicyError {
    /// Files could not be read.
    #[error("policy files: {0}")]
    Io(String),
    /// Parse or validation errors.
    #[error("invalid policy set:\n{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

/// The actions of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Call a model.
    InvokeModel,
    /// List models.
    ListModels,
    /// Call a tool.
    CallTool,
    /// List tools.
    ListTools,
    /// Retrieve a document.
    Retrieve,
    /// Ingest a document.
    Ingest,
    /// Read the audit log.
    ReadAudit,
    /// Create, list, revoke and rotate API keys.
    ManageKeys,
    /// Any administrative action (parent of `read_audit` and `manage_keys`).
    Admin,
}

impl Action {
    /// All actions.
    pub const ALL: [Action; 9] = [
        Action::InvokeModel,
        Action::ListModels,
        Action::CallTool,
        Action::ListTools,
        Action::Retrieve,
        Action::Ingest,
        Action::ReadAudit,
        Action::ManageKeys,
        Action::Admin,
    ];

    /// The Cedar action id.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::InvokeModel => "invoke_model",
            Action::ListModels => "list_models",
            Action::CallTool => "call_tool",
            Action::ListTools => "list_tools",
            Action::Retrieve => "retrieve",
            Action::Ingest => "ingest",
            Action::ReadAudit => "read_audit",
            Action::ManageKeys => "manage_keys",
            Action::Admin => "admin",
        }
    }

    /// Parses a Cedar action id.
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// What a decision is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// A model: attributes from configuration, or given (for policy tests).
    Model {
        /// Model name.
        id: String,
        /// Attributes when the model is not configured.
        attrs: Option<ModelAttrs>,
    },
    /// A tool of an MCP server.
    Tool {
        /// Tool name.
        id: String,
        /// Its server.
        server: Option<String>,
        /// Whether the tool is marked sensitive.
        sensitive: bool,
    },
    /// A collection of documents.
    Collection {
        /// Collection id.
        id: String,
        /// Classification.
        classification: String,
    },
    /// A document.
    Document {
        /// Document id.
        id: String,
        /// Its collection.
        collection: Option<String>,
        /// Labels, e.g. `restricted`.
        labels: Vec<String>,
        /// Classification.
        classification: String,
        /// Other attributes, e.g. `tenant`.
        tags: BTreeMap<String, String>,
    },
    /// The gateway itself (administrative actions).
    Gateway,
}

/// First or second decision of a hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// Before inspection: may this principal do this at all?
    #[default]
    Pre,
    /// After inspection, with the findings in the context.
    Post,
}

/// What the data-protection engine's configured actions say about the content. Ordered:
/// `Allow < Redact < Block`, so the strongest of several verdicts is their `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum DataAction {
    /// Nothing, or only findings that are flagged.
    #[default]
    Allow,
    /// Findings whose action is `redact`.
    Redact,
    /// Findings whose action is `block` (secrets by default).
    Block,
}

impl DataAction {
    fn as_str(self) -> &'static str {
        match self {
            DataAction::Allow => "allow",
            DataAction::Redact => "redact",
            DataAction::Block => "block",
        }
    }

    /// The context value of a detector verdict.
    pub fn from_verdict(v: gatehouse_core::Verdict) -> DataAction {
        match v {
            gatehouse_core::Verdict::Block => DataAction::Block,
            gatehouse_core::Verdict::Redact => DataAction::Redact,
            _ => DataAction::Allow,
        }
    }

    /// Parses `allow` / `redact` / `block`.
    pub fn parse(s: &str) -> Option<DataAction> {
        match s {
            "allow" => Some(DataAction::Allow),
            "redact" => Some(DataAction::Redact),
            "block" => Some(DataAction::Block),
            _ => None,
        }
    }
}

/// The request attributes and findings that become the Cedar context.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Which decision.
    pub phase: Phase,
    /// `openai`, `anthropic`, `mcp`, `admin`.
    pub protocol: String,
    /// The client's address (`0.0.0.0` in the context when unknown).
    pub source_ip: Option<IpAddr>,
    /// Unix seconds (`hour` is derived from it, UTC).
    pub time: i64,
    /// Estimated prompt tokens.
    pub token_estimate: u64,
    /// Streamed answer requested.
    pub stream: bool,
    /// Highest injection score, 0–1000.
    pub injection_score: u32,
    /// The injection detector's own calibrated decision.
    pub injection_attack: bool,
    /// PII types found.
    pub pii_types: BTreeSet<String>,
    /// Secret types found.
    pub secret_types: BTreeSet<String>,
    /// All finding types.
    pub finding_types: BTreeSet<String>,
    /// The data-protection engine's verdict.
    pub data_action: DataAction,
    /// `none`, `personal`, `secret`.
    pub data_classification: String,
    /// Tool arguments (only those declared in `policy.tool_arguments` are passed on).
    pub arguments: serde_json::Map<String, serde_json::Value>,
}

impl Facts {
    /// Adds detector findings: PII and secret types (by detector family), every finding type,
    /// and the data classification they imply (`secret` over `personal` over `none`).
    pub fn add_findings(&mut self, findings: &[gatehouse_core::Finding]) {
        for f in findings {
            match f.detector.as_str() {
                "secrets" => {
                    self.secret_types.insert(f.kind.clone());
                }
                "pii" => {
                    self.pii_types.insert(f.kind.clone());
                }
                _ => {}
            }
            self.finding_types.insert(f.kind.clone());
        }
        self.data_classification = if !self.secret_types.is_empty() {
            "secret"
        } else if !self.pii_types.is_empty() {
            "personal"
        } else {
            "none"
        }
        .to_owned();
    }
}

/// One authorization question.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// Who.
    pub principal: &'a Principal,
    /// The user a service acts for, if any (`context.on_behalf_of`).
    pub on_behalf_of: Option<&'a Principal>,
    /// What.
    pub action: Action,
    /// On what.
    pub resource: &'a Resource,
    /// In which circumstances.
    pub facts: &'a Facts,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// Allowed.
    pub allowed: bool,
    /// The determining policy ids: the satisfied permits when allowed, the satisfied forbids
    /// (or the erroring policies) when denied. Empty for the default deny.
    pub policies: Vec<String>,
    /// Obligations of the determining permits (`redact`).
    pub obligations: Vec<String>,
    /// The `@reason` annotation of the first determining forbid, if any.
    pub reason: Option<String>,
    /// Why the decision failed closed (a policy evaluation error or an invalid context); never
    /// contains request values.
    pub error: Option<String>,
}

impl Decision {
    fn deny_error(msg: &str) -> Decision {
        Decision {
            allowed: false,
            error: Some(msg.to_owned()),
            reason: Some("policy_error".into()),
            ..Decision::default()
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Meta {
    obligations: Vec<String>,
    reason: Option<String>,
}

/// A compiled, validated policy set with the configured entities. Immutable; swap a new one in
/// to reload.
pub struct Policies {
    set: PolicySet,
    meta: HashMap<PolicyId, Meta>,
    ids: Vec<String>,
    /// Load order of each id (deciding policies are reported in this order).
    order: HashMap<String, usize>,
    models: HashMap<String, ModelAttrs>,
    /// Per action: its own entity and its ancestors' (`admin` for `read_audit`), so that
    /// `action in Action::"admin"` holds without building the whole action hierarchy per
    /// decision.
    action_entities: HashMap<Action, Vec<Entity>>,
    action_uids: HashMap<Action, EntityUid>,
    /// Entities per principal × resource × action (see [`Policies::request_entities`]).
    entity_cache: std::sync::RwLock<HashMap<EntKey, std::sync::Arc<Built>>>,
    /// Client addresses already turned into `ip(…)` values (building one runs Cedar's parser).
    ip_cache: std::sync::RwLock<HashMap<IpAddr, RestrictedExpression>>,
    arg_types: BTreeMap<String, ArgType>,
    authorizer: Authorizer,
    index: Index,
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policies")
            .field("policies", &self.ids.len())
            .finish_non_exhaustive()
    }
}

/// `line:column` of a diagnostic's first label in `text` (1-based), or `?`.
fn location(text: &str, d: &dyn miette::Diagnostic) -> String {
    let Some(offset) = d.labels().and_then(|mut l| l.next()).map(|l| l.offset()) else {
        return "?".into();
    };
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{line}:{col}")
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The full schema text (fixed part plus the generated `ToolArguments` type).
pub fn schema_text(args: &BTreeMap<String, ArgType>) -> Result<String, PolicyError> {
    let mut s = String::from(SCHEMA);
    s.push_str("\ntype ToolArguments = {\n");
    for (name, ty) in args {
        if !is_ident(name) || name.len() > 64 {
            return Err(PolicyError::Invalid(vec![format!(
                "policy.tool_arguments: {name:?} is not a valid attribute name (letters, digits, _)"
            )]));
        }
        s.push_str(&format!("  \"{name}\"?: {},\n", ty.cedar()));
    }
    s.push_str("};\n");
    Ok(s)
}

/// The schema's entity type names, parsed once (parsing a name runs Cedar's parser).
fn type_name(ty: &str) -> Result<EntityTypeName, String> {
    static TYPES: std::sync::OnceLock<HashMap<&'static str, EntityTypeName>> =
        std::sync::OnceLock::new();
    let types = TYPES.get_or_init(|| {
        [
            "User",
            "Service",
            "Group",
            "Team",
            "Model",
            "Provider",
            "Tool",
            "McpServer",
            "Collection",
            "Document",
            "Gateway",
            "Action",
        ]
        .into_iter()
        .filter_map(|t| EntityTypeName::from_str(t).ok().map(|n| (t, n)))
        .collect()
    });
    match types.get(ty) {
        Some(t) => Ok(t.clone()),
        None => EntityTypeName::from_str(ty).map_err(|e| e.to_string()),
    }
}

fn uid(ty: &str, id: &str) -> Result<EntityUid, String> {
    Ok(EntityUid::from_type_name_and_id(
        type_name(ty)?,
        EntityId::new(id),
    ))
}

/// Which principals a policy's scope can match, for pre-selecting the policies worth
/// evaluating. A policy left out could not have matched (its scope is false for this request),
/// so it could neither decide nor error: the decision is the same as over the whole set.
#[derive(Debug, Clone)]
enum PrincipalKey {
    Any,
    Type(EntityTypeName),
    Entity(u32),
    TypeEntity(EntityTypeName, u32),
}

#[derive(Debug)]
struct Index {
    entries: Vec<(PolicyId, PrincipalKey, Option<Vec<String>>)>,
    entity_ids: HashMap<EntityUid, u32>,
    cache: std::sync::RwLock<HashMap<CandidateKey, std::sync::Arc<PolicySet>>>,
}

/// What the entities of a decision are built from.
#[derive(Debug, PartialEq, Eq, Hash)]
struct EntKey {
    principal: Principal,
    obo: Option<Principal>,
    resource: Resource,
    action: Action,
}

/// A request's entities, built once per distinct [`EntKey`].
struct Built {
    entities: Entities,
    principal: EntityUid,
    principal_type: EntityTypeName,
    resource: EntityUid,
    obo: Option<EntityUid>,
    hits: Vec<u32>,
}

/// Most cached entity sets; the cache is cleared when full.
const ENTITY_CACHE_CAP: usize = 16_384;

/// Action, whether the principal is a user, and the interned scope entities it is (in).
type CandidateKey = (Action, bool, Vec<u32>);

/// Most cached candidate sets; the cache is cleared when full.
const INDEX_CACHE_CAP: usize = 4096;

impl Index {
    fn new(set: &PolicySet) -> Index {
        use cedar_policy::{ActionConstraint, PrincipalConstraint};
        let mut entity_ids: HashMap<EntityUid, u32> = HashMap::new();
        let mut intern = |e: EntityUid| {
            let n = u32::try_from(entity_ids.len()).unwrap_or(u32::MAX);
            *entity_ids.entry(e).or_insert(n)
        };
        let mut entries = Vec::new();
        for p in set.policies() {
            let key = match p.principal_constraint() {
                PrincipalConstraint::Any => PrincipalKey::Any,
                PrincipalConstraint::Is(t) => PrincipalKey::Type(t),
                PrincipalConstraint::Eq(e) | PrincipalConstraint::In(e) => {
                    PrincipalKey::Entity(intern(e))
                }
                PrincipalConstraint::IsIn(t, e) => PrincipalKey::TypeEntity(t, intern(e)),
            };
            let actions = match p.action_constraint() {
                ActionConstraint::Any => None,
                ActionConstraint::Eq(a) => Some(vec![a.id().unescaped().to_owned()]),
                ActionConstraint::In(list) => {
                    let mut v: Vec<String> =
                        list.iter().map(|a| a.id().unescaped().to_owned()).collect();
                    // The action hierarchy: `admin` contains `read_audit` and `manage_keys`.
                    if v.iter().any(|a| a == "admin") {
                        v.push("read_audit".into());
                        v.push("manage_keys".into());
                    }
                    Some(v)
                }
            };
            entries.push((p.id().clone(), key, actions));
        }
        Index {
            entries,
            entity_ids,
            cache: std::sync::RwLock::new(HashMap::new()),
        }
    }

    /// The policies whose scope can match a principal of type `ty` that is (or is in) the
    /// entities `hits` (interned ids), for `action`.
    fn candidates(
        &self,
        set: &PolicySet,
        action: Action,
        ty: &EntityTypeName,
        is_user: bool,
        mut hits: Vec<u32>,
    ) -> std::sync::Arc<PolicySet> {
        hits.sort_unstable();
        hits.dedup();
        let key = (action, is_user, hits);
        if let Ok(c) = self.cache.read()
            && let Some(s) = c.get(&key)
        {
            return s.clone();
        }
        let a = action.as_str();
        let picked = self.entries.iter().filter(|(_, k, acts)| {
            let principal_ok = match k {
                PrincipalKey::Any => true,
                PrincipalKey::Type(t) => t == ty,
                PrincipalKey::Entity(e) => key.2.binary_search(e).is_ok(),
                PrincipalKey::TypeEntity(t, e) => t == ty && key.2.binary_search(e).is_ok(),
            };
            principal_ok && acts.as_ref().is_none_or(|v| v.iter().any(|x| x == a))
        });
        let subset =
            PolicySet::from_policies(picked.filter_map(|(id, _, _)| set.policy(id).cloned()))
                .map(std::sync::Arc::new)
                .unwrap_or_else(|_| std::sync::Arc::new(set.clone()));
        if let Ok(mut c) = self.cache.write() {
            if c.len() >= INDEX_CACHE_CAP {
                c.clear();
            }
            c.insert(key, subset.clone());
        }
        subset
    }
}

fn str_set<'a>(it: impl IntoIterator<Item = &'a String>) -> RestrictedExpression {
    RestrictedExpression::new_set(
        it.into_iter()
            .map(|s| RestrictedExpression::new_string(s.clone())),
    )
}

impl Policies {
    /// Parses `sources` (plus the built-in policies the config asks for), assigns ids from
    /// `@id` annotations (`<source>#<n>` otherwise; duplicates are errors), and validates the
    /// set strictly against the schema. `models` become `Model` entities.
    pub fn compile(
        cfg: &PolicyConfig,
        sources: &[PolicySource],
        models: &[ModelAttrs],
    ) -> Result<Policies, PolicyError> {
        let schema_src = schema_text(&cfg.tool_arguments)?;
        let (schema, _warnings) = Schema::from_cedarschema_str(&schema_src)
            .map_err(|e| PolicyError::Invalid(vec![format!("schema: {e}")]))?;
        let mut all: Vec<PolicySource> = Vec::new();
        if sources.is_empty() || cfg.builtin_guardrails {
            all.push(PolicySource {
                name: "builtin".into(),
                text: BUILTIN_POLICIES.into(),
            });
        }
        all.extend(sources.iter().cloned());
        let baseline = sources.is_empty();

        let mut errors = Vec::new();
        let mut set = PolicySet::new();
        let mut meta = HashMap::new();
        let mut ids = Vec::new();
        let mut origin: HashMap<PolicyId, (String, String)> = HashMap::new();
        for src in &all {
            let parsed = match PolicySet::from_str(&src.text) {
                Ok(p) => p,
                Err(e) => {
                    for d in e.iter() {
                        errors.push(format!("{}:{}: {d}", src.name, location(&src.text, d)));
                    }
                    continue;
                }
            };
            if parsed.templates().next().is_some() {
                errors.push(format!(
                    "{}: policy templates are not supported; write static policies",
                    src.name
                ));
                continue;
            }
            for (n, p) in parsed.policies().enumerate() {
                if src.name == "builtin" && p.annotation("baseline").is_some() && !baseline {
                    continue;
                }
                let id = match p.annotation("id") {
                    Some(id) if !id.trim().is_empty() => id.trim().to_owned(),
                    _ => format!("{}#{n}", src.name),
                };
                let mut m = Meta {
                    obligations: Vec::new(),
                    reason: p.annotation("reason").map(str::to_owned),
                };
                if let Some(obl) = p.annotation("obligation") {
                    for o in obl.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                        if !OBLIGATIONS.contains(&o) {
                            errors.push(format!(
                                "{}: policy {id:?}: unknown obligation {o:?} (known: {})",
                                src.name,
                                OBLIGATIONS.join(", ")
                            ));
                        }
                        m.obligations.push(o.to_owned());
                    }
                    if p.effect() == cedar_policy::Effect::Forbid {
                        errors.push(format!(
                            "{}: policy {id:?}: obligations belong on permit policies",
                            src.name
                        ));
                    }
                }
                let pid = PolicyId::new(&id);
                if meta.contains_key(&pid) {
                    errors.push(format!("{}: duplicate policy id {id:?}", src.name));
                    continue;
                }
                if let Err(e) = set.add(p.new_id(pid.clone())) {
                    errors.push(format!("{}: policy {id:?}: {e}", src.name));
                    continue;
                }
                origin.insert(pid.clone(), (src.name.clone(), src.text.clone()));
                meta.insert(pid, m);
                ids.push(id);
            }
        }
        if errors.is_empty() {
            let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
            for e in result.validation_errors() {
                let at = set
                    .policy(e.policy_id())
                    .and_then(|p| {
                        let (name, text) = origin.get(e.policy_id())?;
                        let _ = p;
                        Some(format!("{name}:{}", location(text, e)))
                    })
                    .unwrap_or_else(|| "validation".into());
                errors.push(format!("{at}: {e}"));
            }
        }
        if !errors.is_empty() {
            return Err(PolicyError::Invalid(errors));
        }
        let all_actions: Vec<Entity> = schema
            .action_entities()
            .map_err(|e| PolicyError::Invalid(vec![format!("schema actions: {e}")]))?
            .iter()
            .cloned()
            .collect();
        let mut action_entities = HashMap::new();
        let mut action_uids = HashMap::new();
        for a in Action::ALL {
            let me = uid("Action", a.as_str()).map_err(|e| PolicyError::Invalid(vec![e]))?;
            let mut wanted = vec![me.clone()];
            if matches!(a, Action::ReadAudit | Action::ManageKeys) {
                wanted.push(uid("Action", "admin").map_err(|e| PolicyError::Invalid(vec![e]))?);
            }
            let ents: Vec<Entity> = all_actions
                .iter()
                .filter(|e| wanted.contains(&e.uid()))
                .cloned()
                .collect();
            action_entities.insert(a, ents);
            action_uids.insert(a, me);
        }
        Ok(Policies {
            meta,
            order: ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), i))
                .collect(),
            ids,
            models: models.iter().map(|m| (m.name.clone(), m.clone())).collect(),
            action_entities,
            action_uids,
            ip_cache: std::sync::RwLock::new(HashMap::new()),
            entity_cache: std::sync::RwLock::new(HashMap::new()),
            arg_types: cfg.tool_arguments.clone(),
            authorizer: Authorizer::new(),
            index: Index::new(&set),
            set,
        })
    }

    /// The ids of the loaded policies, in load order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Whether a model is configured (has entity attributes).
    pub fn has_model(&self, name: &str) -> bool {
        self.models.contains_key(name)
    }

    /// Decides one request. Never fails: problems deny, with [`Decision::error`] set.
    pub fn authorize(&self, q: &Query<'_>) -> Decision {
        match self.try_authorize(q) {
            Ok(d) => d,
            Err(msg) => Decision::deny_error(&msg),
        }
    }

    fn principal_entities(
        &self,
        p: &Principal,
        out: &mut Vec<Entity>,
    ) -> Result<EntityUid, String> {
        let Some((kind, name)) = Principal::parse_id(&p.id) else {
            return Err("principal id is not valid".into());
        };
        let ty = match kind {
            PrincipalKind::User => "User",
            PrincipalKind::Service => "Service",
        };
        let me = uid(ty, name)?;
        let mut parents = Vec::new();
        for g in &p.groups {
            let g = uid("Group", g)?;
            if !out.iter().any(|e| e.uid() == g) {
                out.push(Entity::with_uid(g.clone()));
            }
            parents.push(g);
        }
        if let Some(t) = &p.team {
            let t = uid("Team", t)?;
            if !out.iter().any(|e| e.uid() == t) {
                out.push(Entity::with_uid(t.clone()));
            }
            parents.push(t);
        }
        let attrs = [(
            "auth_method".to_owned(),
            RestrictedExpression::new_string(
                p.auth_method.clone().unwrap_or_else(|| "unknown".into()),
            ),
        )];
        let tags = p
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), RestrictedExpression::new_string(v.clone())));
        let e = Entity::new_with_tags(me.clone(), attrs, parents, tags)
            .map_err(|e| format!("principal entity: {e}"))?;
        out.push(e);
        Ok(me)
    }

    fn resource_entities(&self, r: &Resource, out: &mut Vec<Entity>) -> Result<EntityUid, String> {
        match r {
            Resource::Model { id, attrs } => {
                let m = attrs
                    .as_ref()
                    .or_else(|| self.models.get(id))
                    .ok_or_else(|| "the model is not configured".to_owned())?;
                let provider = uid("Provider", &m.provider)?;
                out.push(Entity::with_uid(provider.clone()));
                let me = uid("Model", id)?;
                let e = Entity::new(
                    me.clone(),
                    [
                        (
                            "tier".to_owned(),
                            RestrictedExpression::new_string(m.tier.clone()),
                        ),
                        (
                            "classification".to_owned(),
                            RestrictedExpression::new_string(m.classification.clone()),
                        ),
                        (
                            "provider".to_owned(),
                            RestrictedExpression::new_string(m.provider.clone()),
                        ),
                    ]
                    .into_iter()
                    .collect(),
                    [provider].into_iter().collect(),
                )
                .map_err(|e| format!("model entity: {e}"))?;
                out.push(e);
                Ok(me)
            }
            Resource::Tool {
                id,
                server,
                sensitive,
            } => {
                let mut parents = std::collections::HashSet::new();
                if let Some(s) = server {
                    let s = uid("McpServer", s)?;
                    out.push(Entity::with_uid(s.clone()));
                    parents.insert(s);
                }
                let me = uid("Tool", id)?;
                let e = Entity::new(
                    me.clone(),
                    [(
                        "sensitive".to_owned(),
                        RestrictedExpression::new_bool(*sensitive),
                    )]
                    .into_iter()
                    .collect(),
                    parents,
                )
                .map_err(|e| format!("tool entity: {e}"))?;
                out.push(e);
                Ok(me)
            }
            Resource::Collection { id, classification } => {
                let me = uid("Collection", id)?;
                let e = Entity::new(
                    me.clone(),
                    [(
                        "classification".to_owned(),
                        RestrictedExpression::new_string(classification.clone()),
                    )]
                    .into_iter()
                    .collect(),
                    Default::default(),
                )
                .map_err(|e| format!("collection entity: {e}"))?;
                out.push(e);
                Ok(me)
            }
            Resource::Document {
                id,
                collection,
                labels,
                classification,
                tags,
            } => {
                let mut parents = Vec::new();
                if let Some(c) = collection {
                    let c = uid("Collection", c)?;
                    // The collection's own attributes are not known here; give it the
                    // document's classification so that the entity is well-formed.
                    out.push(
                        Entity::new(
                            c.clone(),
                            [(
                                "classification".to_owned(),
                                RestrictedExpression::new_string(classification.clone()),
                            )]
                            .into_iter()
                            .collect(),
                            Default::default(),
                        )
                        .map_err(|e| format!("collection entity: {e}"))?,
                    );
                    parents.push(c);
                }
                let me = uid("Document", id)?;
                let e = Entity::new_with_tags(
                    me.clone(),
                    [
                        ("labels".to_owned(), str_set(labels)),
                        (
                            "classification".to_owned(),
                            RestrictedExpression::new_string(classification.clone()),
                        ),
                    ],
                    parents,
                    tags.iter()
                        .map(|(k, v)| (k.clone(), RestrictedExpression::new_string(v.clone()))),
                )
                .map_err(|e| format!("document entity: {e}"))?;
                out.push(e);
                Ok(me)
            }
            Resource::Gateway => {
                let me = uid("Gateway", "gatehouse")?;
                out.push(Entity::with_uid(me.clone()));
                Ok(me)
            }
        }
    }

    fn arguments(
        &self,
        args: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<RestrictedExpression, String> {
        let mut fields = Vec::new();
        for (name, ty) in &self.arg_types {
            let Some(v) = args.get(name) else { continue };
            let e = match (ty, v) {
                (ArgType::Long, serde_json::Value::Number(n)) => match n.as_i64() {
                    Some(i) => RestrictedExpression::new_long(i),
                    None => {
                        return Err(format!(
                            "tool argument {name:?} is not an integer; it must be one"
                        ));
                    }
                },
                (ArgType::String, serde_json::Value::String(s)) => {
                    RestrictedExpression::new_string(s.clone())
                }
                (ArgType::Bool, serde_json::Value::Bool(b)) => RestrictedExpression::new_bool(*b),
                (ArgType::SetOfString, serde_json::Value::Array(a)) => {
                    let mut items = Vec::with_capacity(a.len());
                    for x in a {
                        match x {
                            serde_json::Value::String(s) => {
                                items.push(RestrictedExpression::new_string(s.clone()))
                            }
                            _ => {
                                return Err(format!(
                                    "tool argument {name:?} must be a list of strings"
                                ));
                            }
                        }
                    }
                    RestrictedExpression::new_set(items)
                }
                _ => {
                    return Err(format!(
                        "tool argument {name:?} is not of its declared type {}",
                        ty.cedar()
                    ));
                }
            };
            fields.push((name.clone(), e));
        }
        RestrictedExpression::new_record(fields).map_err(|e| format!("arguments: {e}"))
    }

    fn ip_expr(&self, ip: Option<IpAddr>) -> RestrictedExpression {
        let ip = ip.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        if let Ok(c) = self.ip_cache.read()
            && let Some(e) = c.get(&ip)
        {
            return e.clone();
        }
        let e = RestrictedExpression::new_ip(ip.to_string());
        if let Ok(mut c) = self.ip_cache.write() {
            if c.len() >= 65_536 {
                c.clear();
            }
            c.insert(ip, e.clone());
        }
        e
    }

    /// The entities of a request (principal and its groups and team, the user it acts for,
    /// the resource and its parent, the action), cached by what they are built from: building
    /// them runs Cedar's transitive closure, the most expensive part of a decision.
    fn request_entities(&self, q: &Query<'_>) -> Result<std::sync::Arc<Built>, String> {
        let key = EntKey {
            principal: q.principal.clone(),
            obo: q.on_behalf_of.cloned(),
            resource: q.resource.clone(),
            action: q.action,
        };
        if let Ok(c) = self.entity_cache.read()
            && let Some(b) = c.get(&key)
        {
            return Ok(b.clone());
        }
        let mut entities: Vec<Entity> = Vec::with_capacity(10);
        let principal = self.principal_entities(q.principal, &mut entities)?;
        // The principal and its ancestors (the entities just added) that some policy's scope
        // names.
        let hits: Vec<u32> = entities
            .iter()
            .filter_map(|e| self.index.entity_ids.get(&e.uid()).copied())
            .collect();
        let principal_type = principal.type_name().clone();
        let resource = self.resource_entities(q.resource, &mut entities)?;
        let obo = match q.on_behalf_of {
            Some(u) if u.kind != PrincipalKind::User => {
                return Err("on_behalf_of must be a user".into());
            }
            Some(u) => Some(self.principal_entities(u, &mut entities)?),
            None => None,
        };
        if let Some(a) = self.action_entities.get(&q.action) {
            entities.extend(a.iter().cloned());
        }
        let entities =
            Entities::from_entities(entities, None).map_err(|e| format!("entities: {e}"))?;
        let built = std::sync::Arc::new(Built {
            entities,
            principal,
            principal_type,
            resource,
            obo,
            hits,
        });
        if let Ok(mut c) = self.entity_cache.write() {
            if c.len() >= ENTITY_CACHE_CAP {
                c.clear();
            }
            c.insert(key, built.clone());
        }
        Ok(built)
    }

    fn try_authorize(&self, q: &Query<'_>) -> Result<Decision, String> {
        let built = self.request_entities(q)?;
        let is_user = q.principal.kind == PrincipalKind::User;
        let f = q.facts;
        let ip = self.ip_expr(f.source_ip);
        let hour = f.time.rem_euclid(86_400) / 3_600;
        let mut ctx = vec![
            (
                "phase".to_owned(),
                RestrictedExpression::new_string(
                    match f.phase {
                        Phase::Pre => "pre",
                        Phase::Post => "post",
                    }
                    .into(),
                ),
            ),
            (
                "protocol".to_owned(),
                RestrictedExpression::new_string(f.protocol.clone()),
            ),
            ("source_ip".to_owned(), ip),
            ("time".to_owned(), RestrictedExpression::new_long(f.time)),
            ("hour".to_owned(), RestrictedExpression::new_long(hour)),
            (
                "token_estimate".to_owned(),
                RestrictedExpression::new_long(i64::try_from(f.token_estimate).unwrap_or(i64::MAX)),
            ),
            (
                "stream".to_owned(),
                RestrictedExpression::new_bool(f.stream),
            ),
            (
                "injection_score".to_owned(),
                RestrictedExpression::new_long(i64::from(f.injection_score.min(1000))),
            ),
            (
                "injection_attack".to_owned(),
                RestrictedExpression::new_bool(f.injection_attack),
            ),
            ("pii_types".to_owned(), str_set(&f.pii_types)),
            ("secret_types".to_owned(), str_set(&f.secret_types)),
            ("finding_types".to_owned(), str_set(&f.finding_types)),
            (
                "data_action".to_owned(),
                RestrictedExpression::new_string(f.data_action.as_str().into()),
            ),
            (
                "data_classification".to_owned(),
                RestrictedExpression::new_string(if f.data_classification.is_empty() {
                    "none".into()
                } else {
                    f.data_classification.clone()
                }),
            ),
            ("arguments".to_owned(), self.arguments(&f.arguments)?),
        ];
        if let Some(u) = &built.obo {
            ctx.push((
                "on_behalf_of".to_owned(),
                RestrictedExpression::new_entity_uid(u.clone()),
            ));
        }
        let context = Context::from_pairs(ctx).map_err(|e| format!("context: {e}"))?;
        let action = match self.action_uids.get(&q.action) {
            Some(a) => a.clone(),
            None => uid("Action", q.action.as_str())?,
        };
        // The context is built here from typed facts (tool arguments are checked against their
        // declared types above), so it matches the schema by construction; validating it again
        // per request would cost more than the decision.
        let request = Request::new(
            built.principal.clone(),
            action,
            built.resource.clone(),
            context,
            None,
        )
        .map_err(|_| "the request does not match the policy schema".to_owned())?;
        let candidates = self.index.candidates(
            &self.set,
            q.action,
            &built.principal_type,
            is_user,
            built.hits.clone(),
        );
        let resp = self
            .authorizer
            .is_authorized(&request, &candidates, &built.entities);
        let diag = resp.diagnostics();
        let errored: Vec<String> = diag
            .errors()
            .map(|e| match e {
                cedar_policy::AuthorizationError::PolicyEvaluationError(pe) => {
                    pe.policy_id().to_string()
                }
            })
            .collect();
        if !errored.is_empty() {
            return Ok(Decision {
                allowed: false,
                policies: errored,
                obligations: Vec::new(),
                reason: Some("policy_error".into()),
                error: Some("a policy could not be evaluated; failing closed".into()),
            });
        }
        let allowed = resp.decision() == cedar_policy::Decision::Allow;
        let mut policies: Vec<String> = diag.reason().map(ToString::to_string).collect();
        policies.sort_by_key(|id| self.order.get(id).copied());
        let mut obligations = Vec::new();
        let mut reason = None;
        for id in &policies {
            let Some(m) = self.meta.get(&PolicyId::new(id)) else {
                continue;
            };
            if allowed {
                for o in &m.obligations {
                    if !obligations.contains(o) {
                        obligations.push(o.clone());
                    }
                }
            } else if reason.is_none() {
                reason.clone_from(&m.reason);
            }
        }
        Ok(Decision {
            allowed,
            policies,
            obligations,
            reason,
            error: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> Result<Policies, PolicyError> {
        let mut cfg = PolicyConfig {
            builtin_guardrails: false,
            ..PolicyConfig::default()
        };
        cfg.tool_arguments.insert("amount".into(), ArgType::Long);
        Policies::compile(
            &cfg,
            &[PolicySource {
                name: "t.cedar".into(),
                text: text.into(),
            }],
            &[ModelAttrs {
                name: "m".into(),
                provider: "p".into(),
                tier: "small".into(),
                classification: "internal".into(),
            }],
        )
    }

    fn alice() -> Principal {
        let mut p = Principal::new("user:alice").unwrap();
        p.groups = vec!["staff".into()];
        p
    }

    fn decide(p: &Policies, who: &Principal, facts: &Facts) -> Decision {
        p.authorize(&Query {
            principal: who,
            on_behalf_of: None,
            action: Action::InvokeModel,
            resource: &Resource::Model {
                id: "m".into(),
                attrs: None,
            },
            facts,
        })
    }

    #[test]
    fn admin_contains_read_audit_and_manage_keys() {
        let p = compile(
            r#"@id("ops") permit (principal in Group::"ops", action in Action::"admin", resource);"#,
        )
        .unwrap();
        let mut ops = alice();
        ops.groups.push("ops".into());
        let ask = |who: &Principal, action| {
            p.authorize(&Query {
                principal: who,
                on_behalf_of: None,
                action,
                resource: &Resource::Gateway,
                facts: &Facts::default(),
            })
            .allowed
        };
        assert!(ask(&ops, Action::ManageKeys));
        assert!(ask(&ops, Action::ReadAudit));
        assert!(!ask(&alice(), Action::ManageKeys));
    }

    #[test]
    fn default_deny_without_a_permit() {
        let p =
            compile(r#"@id("x") permit (principal in Group::"other", action, resource);"#).unwrap();
        let d = decide(&p, &alice(), &Facts::default());
        assert!(!d.allowed);
        assert!(d.policies.is_empty());
        assert!(d.error.is_none());
    }

    #[test]
    fn an_erroring_forbid_denies_although_cedar_would_skip_it() {
        // Strict validation cannot see the overflow; at run time the forbid errors. Cedar alone
        // would skip it and let the permit through.
        let p = compile(
            r#"
            @id("everyone") permit (principal, action, resource);
            @id("overflowing") forbid (principal, action, resource)
            when { context.token_estimate * 9223372036854775807 > 0 };
            "#,
        )
        .unwrap();
        let facts = Facts {
            token_estimate: 512,
            ..Facts::default()
        };
        let d = decide(&p, &alice(), &facts);
        assert!(!d.allowed, "{d:?}");
        assert_eq!(d.policies, vec!["overflowing".to_owned()]);
        assert!(d.error.is_some());
        // And without the overflow the permit decides.
        let d = decide(&p, &alice(), &Facts::default());
        assert!(d.allowed, "{d:?}");
    }

    #[test]
    fn obligations_come_from_satisfied_permits_only() {
        let p = compile(
            r#"
            @id("base") permit (principal, action, resource);
            @id("redact-pii") @obligation("redact")
            permit (principal, action, resource) when { !context.pii_types.isEmpty() };
            "#,
        )
        .unwrap();
        let d = decide(&p, &alice(), &Facts::default());
        assert!(d.allowed && d.obligations.is_empty(), "{d:?}");
        let mut f = Facts::default();
        f.pii_types.insert("EMAIL_ADDRESS".into());
        let d = decide(&p, &alice(), &f);
        assert_eq!(d.obligations, vec!["redact".to_owned()]);
        assert_eq!(d.policies, vec!["base".to_owned(), "redact-pii".to_owned()]);
    }

    #[test]
    fn the_reason_annotation_of_the_deciding_forbid_is_reported() {
        let p = compile(
            r#"
            @id("base") permit (principal, action, resource);
            @id("attacks") @reason("prompt_attack")
            forbid (principal, action, resource) when { context.injection_score >= 900 };
            "#,
        )
        .unwrap();
        let f = Facts {
            injection_score: 950,
            ..Facts::default()
        };
        let d = decide(&p, &alice(), &f);
        assert!(!d.allowed);
        assert_eq!(d.reason.as_deref(), Some("prompt_attack"));
        assert_eq!(d.policies, vec!["attacks".to_owned()]);
    }

    #[test]
    fn tool_arguments_of_the_wrong_type_deny() {
        let p = compile(
            r#"@id("pay") permit (principal, action == Action::"call_tool", resource)
               when { context.arguments has amount && context.arguments.amount < 1000 };"#,
        )
        .unwrap();
        let tool = Resource::Tool {
            id: "payments".into(),
            server: None,
            sensitive: true,
        };
        let ask = |v: serde_json::Value| {
            let mut f = Facts::default();
            f.arguments.insert("amount".into(), v);
            p.authorize(&Query {
                principal: &alice(),
                on_behalf_of: None,
                action: Action::CallTool,
                resource: &tool,
                facts: &f,
            })
        };
        assert!(ask(serde_json::json!(999)).allowed);
        assert!(!ask(serde_json::json!(1000)).allowed);
        let d = ask(serde_json::json!(999.5));
        assert!(!d.allowed && d.error.is_some(), "{d:?}");
        let d = ask(serde_json::json!("999"));
        assert!(!d.allowed && d.error.is_some(), "{d:?}");
    }

    #[test]
    fn invalid_sets_are_refused_with_every_problem() {
        let e = compile(
            r#"
            @id("a") permit (principal, action, resource) when { resource.teir == "x" };
            @id("a") permit (principal, action, resource);
            "#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("duplicate policy id"), "{e}");
        let e = compile(r#"@id("a") @obligation("launch") permit (principal, action, resource);"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown obligation"), "{e}");
        let e = compile(r#"permit (principal == ?principal, action, resource);"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("templates are not supported"), "{e}");
        let e = compile(r#"permit (principal, action, resource) when { context.nope };"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.cedar:1:"), "errors carry file:line:col: {e}");
    }

    #[test]
    fn the_builtin_set_validates_and_blocks_attacks_and_secrets() {
        let p = Policies::compile(
            &PolicyConfig::default(),
            &[],
            &[ModelAttrs {
                name: "m".into(),
                provider: "p".into(),
                tier: "small".into(),
                classification: "internal".into(),
            }],
        )
        .unwrap();
        assert!(decide(&p, &alice(), &Facts::default()).allowed);
        let f = Facts {
            phase: Phase::Post,
            injection_attack: true,
            ..Facts::default()
        };
        let d = decide(&p, &alice(), &f);
        assert_eq!(d.policies, vec!["builtin.block-prompt-attacks".to_owned()]);
        let f = Facts {
            phase: Phase::Post,
            data_action: DataAction::Redact,
            ..Facts::default()
        };
        assert_eq!(
            decide(&p, &alice(), &f).obligations,
            vec!["redact".to_owned()]
        );
    }
}
