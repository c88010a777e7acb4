//! The admin API under `/admin/v1`: keys, audit, usage and policy reload. Every call is
//! identified like any other request and authorized by policy on the `Gateway` resource
//! (`manage_keys`, `read_audit`, `admin`); default deny, so an operator grants it explicitly:
//!
//! ```cedar
//! @id("ops-administer") permit (principal in Group::"ops", action in Action::"admin", resource);
//! ```
//!
//! Every call is audited (hop `admin`), including refusals. Secrets appear once, in the body of
//! the answer that created them, never in the audit row or a log.

use crate::app::App;
use crate::checkpoint::{ClientAddr, Ctx, PeerIdentity};
use crate::error::Protocol;
use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Path, Query as UrlQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use gatehouse_core::{ErrorCode, Principal, Rejection};
use gatehouse_identity::{NewKey, StoreError};
use gatehouse_policy::{Action, Facts, Query, Resource};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

type AppState = State<Arc<App>>;

/// The admin routes (merged into the main router).
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/admin/v1/keys", get(list_keys).post(create_key))
        .route("/admin/v1/keys/{id}/revoke", post(revoke_key))
        .route("/admin/v1/keys/{id}/rotate", post(rotate_key))
        .route("/admin/v1/audit", get(audit))
        .route("/admin/v1/usage", get(usage))
        .route("/admin/v1/policy/reload", post(reload_policy))
}

fn json_answer(ctx: &Ctx, status: StatusCode, v: &Value) -> Response {
    let mut r = Response::new(Body::from(v.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(h) = HeaderValue::from_str(ctx.rid.as_str()) {
        r.headers_mut().insert("x-request-id", h);
    }
    r
}

/// identify + authorize for an admin action.
async fn admit_admin(
    app: &App,
    ctx: &mut Ctx,
    headers: &HeaderMap,
    action: Action,
) -> Result<Principal, Rejection> {
    let principal = app.identify(ctx, headers).await?;
    let facts = Facts {
        protocol: "admin".into(),
        ..app.facts(ctx)
    };
    let d = app.policies.load().authorize(&Query {
        principal: &principal,
        on_behalf_of: ctx.on_behalf_of.as_ref(),
        action,
        resource: &Resource::Gateway,
        facts: &facts,
    });
    ctx.policies.clone_from(&d.policies);
    if !d.allowed {
        ctx.reason = Some(d.reason.clone().unwrap_or_else(|| "policy_deny".into()));
        let mut r = Rejection::new(
            ErrorCode::Forbidden,
            format!("no policy permits this principal to {}", action.as_str()),
        );
        if !d.policies.is_empty() {
            r.policy = Some(d.policies.join(","));
        }
        return Err(r.at("authorize"));
    }
    Ok(principal)
}

fn ctx_for(
    route: &'static str,
    action: &'static str,
    addr: Option<Extension<ClientAddr>>,
    peer: Option<Extension<PeerIdentity>>,
) -> Ctx {
    let mut ctx = Ctx::new(
        Protocol::OpenAi,
        route,
        action,
        addr.map(|Extension(ClientAddr(a))| a),
    );
    ctx.hop = gatehouse_core::Hop::Admin;
    ctx.peer = peer.map(|Extension(p)| p);
    ctx
}

async fn finish(
    app: &App,
    mut ctx: Ctx,
    result: Result<(StatusCode, Value), Rejection>,
) -> Response {
    match result {
        Ok((status, v)) => {
            let resp = json_answer(&ctx, status, &v);
            app.record_success(&mut ctx, resp).await
        }
        Err(rej) => app.reject(&mut ctx, rej).await,
    }
}

fn store_error(e: StoreError) -> Rejection {
    match e {
        StoreError::NotFound(_) => Rejection::new(ErrorCode::NotFound, "no such key").at("admin"),
        StoreError::Conflict(m) => Rejection::invalid(m).at("admin"),
        StoreError::Invalid(m) => Rejection::invalid(m).at("admin"),
        other => {
            tracing::error!(error = %other, "key store failed");
            Rejection::internal("admin").at("admin")
        }
    }
}

use gatehouse_core::parse_lifetime;

async fn list_keys(
    State(app): AppState,
    addr: Option<Extension<ClientAddr>>,
    peer: Option<Extension<PeerIdentity>>,
    headers: HeaderMap,
) -> Response {
    let mut ctx = ctx_for("/admin/v1/keys", "manage_keys", addr, peer);
    let result = async {
        admit_admin(&app, &mut ctx, &headers, Action::ManageKeys).await?;
        let keys = app.keys.list().await.map_err(store_error)?;
        Ok((StatusCode::OK, json!({ "object": "list", "data": keys })))
    }
    .await;
    finish(&app, ctx, result).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    principal: String,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    models: Vec<String>,
    /// Lifetime, `30d`, `12h`, `90m`.
    #[serde(default)]
    expires: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

async fn read_json<T: serde::de::DeserializeOwned>(app: &App, body: Body) -> Result<T, Rejection> {
    let bytes = app.read_body(body).await?;
    gatehouse_llm::parse_json(&bytes).map_err(|m| Rejection::invalid(m).at("validate"))
}

async fn create_key(
    State(app): AppState,
    addr: Option<Extension<ClientAddr>>,
    peer: Option<Extension<PeerIdentity>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut ctx = ctx_for("/admin/v1/keys", "manage_keys", addr, peer);
    let result = async {
        admit_admin(&app, &mut ctx, &headers, Action::ManageKeys).await?;
        let req: CreateKey = read_json(&app, body).await?;
        let expires_in = match &req.expires {
            None => None,
            Some(s) => Some(parse_lifetime(s).ok_or_else(|| {
                Rejection::invalid(format!("expires: expected e.g. 30d, 12h or 90m, got {s:?}"))
                    .at("validate")
            })?),
        };
        let (rec, secret) = app
            .keys
            .create(&NewKey {
                principal: req.principal,
                team: req.team,
                name: req.name,
                models: req.models,
                expires_in,
                attributes: req.attributes,
            })
            .await
            .map_err(store_error)?;
        ctx.reason = Some(format!("created_key:{}", rec.id));
        Ok((StatusCode::CREATED, json!({ "key": rec, "secret": secret })))
    }
    .await;
    finish(&app, ctx, result).await
}

async fn revoke_key(
    State(app): AppState,
    addr: Option<Extension<ClientAddr>>,
    peer: Option<Extension<PeerIdentity>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut ctx = ctx_for("/admin/v1/keys/{id}/revoke", "manage_keys", addr, peer);
    let result = async {
        admit_admin(&app, &mut ctx, &headers, Action::ManageKeys).await?;
        if !app.keys.revoke(&id).await.map_err(store_error)? {
            return Err(Rejection::new(ErrorCode::NotFound, "no such active key").at("admin"));
        }
        ctx.reason = Some(format!("revoked_key:{id}"));
        Ok((StatusCode::OK, json!({ "id": id, "revoked": true })))
    }
    .await;
    finish(&app, ctx, result).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateKey {
    /// How long the old key keeps working, `24h` (default) or `0s`.
    #[serde(default)]
    grace: Option<String>,
}

async fn rotate_key(
    State(app): AppState,
    addr: Option<Extension<ClientAddr>>,
    peer: Option<Extension<PeerIdentity>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut ctx = ctx_for("/admin/v1/keys/{id}/rotate", "manage_keys", addr, peer);
    let result = async {
        admit_admin(&app, &mut ctx, &headers, Action::ManageKeys).await?;
        let bytes = app.read_body(body).await?;
        let req: RotateKey = if bytes.is_empty() {
            RotateKey::default()
        } else {
            gatehouse_llm::parse_json(&bytes).map_err(|m| Rejection::invalid(m).at("validate"))?
        };
        let grace = match req.grace.as_deref() {
            None => Duration::from_secs(86_400),
            Some(s) => parse_lifetime(s).ok_or_else(|| {
                Rejection::invalid(format!("grace: expected e.g. 24h or 0s, got {s:?}"))
                    .at("validate")
            })?,
        };
        let (rec, secret) = app.keys.rotate(&id, grace).await.map_err(store_error)?;
        ctx.reason = Some(format!("rotated_key:{id}->{}", rec.id));
        Ok((
            StatusCode::CREATED,
            json!({ "key": rec, "secret": secret, "replaces": id, "grace_secs": grace.as_secs() }),
        ))
    }
    .await;
    finish(&app, ctx, result).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    principal: Option<String>,
    since: Option<String>,
    until: Option<String>,
    decision: Option<String>,
    finding: Option<String>,
    request_id: Option<String>,
    limit: Option<u32>,
}

async fn audit(
    State(app): AppState,
    addr: Option<Extension<ClientAddr>>,
    peer: Option<Extension<PeerIdentity>>,
    params: Result<UrlQuery<AuditParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let mut ctx = ctx_for("/admin/v1/audit", "read_audit", addr, peer);
    let result = async {
        admit_admin(&app, &mut ctx, &headers, Action::ReadAudit).await?;
        let UrlQuery(p) = params.map_err(|e| Rejection::invalid(e.body_text()).at("validate"))?;
        let time = |s: Option<String>| {
            s.map(|s| {
                gatehouse_audit::reader::parse_time_arg(&s)
                    .map_err(|e| Rejection::invalid(e.to_string()).at("validate"))
            })
            .transpose()
        };
        let filter = gatehouse_audit::Filter {
            principal: p.principal,
            since: time(p.since)?,
            until: time(p.until)?,
            decision: p.decision,
            finding: p.finding,
            request_id: p.request_id,
            limit: Some(
                p.limit
                    .unwrap_or(100)
                    .min(gatehouse_audit::reader::MAX_LIMIT),
            ),
            newest_first: true,
            ..Default::default()
        };
        app.auditor.flush();
        let source = app
            .config
            .audit
            .audit_source(&app.config.data_dir())
            .map_err(|e| {
                tracing::error!(error = %e, "audit source");
                Rejection::internal("admin").at("admin")
            })?;
        let reader = gatehouse_audit::AuditReader::open(source).map_err(|e| {
            tracing::error!(error = %e, "audit reader");
            Rejection::internal("admin").at("admin")
        })?;
        let rows = reader.query(&filter).await.map_err(|e| {
            tracing::error!(error = %e, "audit query");
            Rejection::internal("admin").at("admin")
        })?;
        Ok((StatusCode::OK, json!({ "object": "list", "data": rows })))
    }
    .await;
    finish(&app, ctx, result).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageParams {
    principal: Option<String>,
    team: Option<String>,
    key: Option<String>,
    model: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

async fn usage(
    State(app): AppState,
    addr: Option<Extension<ClientAddr>>,
    peer: Option<Extension<PeerIdentity>>,
    params: Result<UrlQuery<UsageParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let mut ctx = ctx_for("/admin/v1/usage", "admin", addr, peer);
    let result = async {
        admit_admin(&app, &mut ctx, &headers, Action::Admin).await?;
        let UrlQuery(p) = params.map_err(|e| Rejection::invalid(e.body_text()).at("validate"))?;
        let Some(store) = app.limiter.usage_store() else {
            return Ok((StatusCode::OK, json!({ "object": "list", "data": [] })));
        };
        for (name, v) in [("since", &p.since), ("until", &p.until)] {
            if let Some(d) = v
                && !(d.len() == 10 && d.as_bytes().get(4) == Some(&b'-'))
            {
                return Err(
                    Rejection::invalid(format!("{name}: expected YYYY-MM-DD")).at("validate")
                );
            }
        }
        store.flush().await.ok();
        let rows = store
            .query(&gatehouse_limits::UsageFilter {
                principal: p.principal.clone(),
                team: p.team,
                key_id: p.key,
                model: p.model.clone(),
                since: p.since,
                until: p.until,
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "usage query");
                Rejection::internal("admin").at("admin")
            })?;
        let data: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "day": r.day, "principal": r.principal, "team": r.team, "key_id": r.key_id,
                    "model": r.model, "provider": r.provider, "requests": r.requests,
                    "input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
                    "cost_usd": r.cost_micros as f64 / 1e6,
                })
            })
            .collect();
        // Remaining budget for a principal, when one is named and exists as a key owner.
        let mut remaining = Value::Null;
        if let Some(pid) = &p.principal
            && let Some(who) = Principal::new(pid)
        {
            let model = p.model.as_deref().unwrap_or("");
            let provider = app
                .models
                .get(model)
                .and_then(|r| r.targets.first())
                .map(|t| t.provider_name.as_str())
                .unwrap_or("");
            let left = app
                .limiter
                .remaining(&gatehouse_limits::SubjectRef {
                    principal: &who,
                    model,
                    provider,
                    overrides: None,
                })
                .await;
            remaining = serde_json::to_value(left).unwrap_or(Value::Null);
        }
        Ok((
            StatusCode::OK,
            json!({ "object": "list", "data": data, "remaining": remaining }),
        ))
    }
    .await;
    finish(&app, ctx, result).await
}

async fn reload_policy(
    State(app): AppState,
    addr: Option<Extension<ClientAddr>>,
    peer: Option<Extension<PeerIdentity>>,
    headers: HeaderMap,
) -> Response {
    let mut ctx = ctx_for("/admin/v1/policy/reload", "admin", addr, peer);
    let result = async {
        admit_admin(&app, &mut ctx, &headers, Action::Admin).await?;
        match app.reload_policies() {
            Ok(n) => Ok((StatusCode::OK, json!({ "reloaded": true, "policies": n }))),
            Err(e) => Err(Rejection::invalid(format!(
                "the policy set is invalid; the previous set stays in force: {e}"
            ))
            .at("admin")),
        }
    }
    .await;
    finish(&app, ctx, result).await
}
