//! Authorization latency with a large policy set (issue: identity and authorization).
//!
//! `cargo run --release -p gatehouse-bench --bin gatehouse-bench-authz -- [--policies 1000]`
//!
//! Generates N policies shaped like a real deployment (per-team model grants, tier rules,
//! guardrails on findings, tenant rules for agents), then times single decisions — each one
//! builds the entities and context from scratch, as the gateway does — and prints percentiles.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use gatehouse_core::Principal;
use gatehouse_policy::{
    Action, DataAction, Facts, ModelAttrs, Phase, Policies, PolicyConfig, PolicySource, Query,
    Resource,
};
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn policies(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let p = match i % 10 {
            0..=5 => format!(
                "@id(\"grant-{i}\")\npermit (principal in Team::\"team{}\", action == Action::\"invoke_model\", resource == Model::\"model{}\");\n",
                i % 200,
                i % 50
            ),
            6 => format!(
                "@id(\"tier-{i}\")\nforbid (principal in Group::\"group{}\", action == Action::\"invoke_model\", resource)\nunless {{ resource.tier == \"small\" }};\n",
                i % 100
            ),
            7 => format!(
                "@id(\"inj-{i}\")\nforbid (principal in Team::\"team{}\", action == Action::\"invoke_model\", resource)\nwhen {{ context.phase == \"post\" && context.injection_score >= {} }}\nunless {{ principal in Group::\"redteam\" }};\n",
                i % 200,
                800 + i % 200
            ),
            8 => format!(
                "@id(\"pii-{i}\")\n@obligation(\"redact\")\npermit (principal in Team::\"team{}\", action == Action::\"invoke_model\", resource)\nwhen {{ context.phase == \"post\" && context.pii_types.contains(\"EMAIL_ADDRESS\") && resource.classification != \"confidential\" }};\n",
                i % 200
            ),
            _ => format!(
                "@id(\"tenant-{i}\")\nforbid (principal is Service, action, resource)\nwhen {{ context has on_behalf_of && principal.hasTag(\"tenant\") && principal.getTag(\"tenant\") == \"t{}\" }}\nunless {{ context.on_behalf_of.hasTag(\"tenant\") && context.on_behalf_of.getTag(\"tenant\") == \"t{}\" }};\n",
                i % 300,
                i % 300
            ),
        };
        s.push_str(&p);
    }
    s
}

fn pct(sorted: &[u128], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// `--stages`: identify + authorize as the gateway runs them (an `App` built from a config with
/// the generated policies; API key in `Authorization`; the key store's read-through cache as in
/// production), timed per request.
fn stages(n: usize, iters: usize) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.cedar"), policies(n)).unwrap();
    let mut models = String::new();
    for i in 0..50 {
        models.push_str(&format!(
            "[[models]]\nname = \"model{i}\"\nprovider = \"mock\"\ntier = \"{}\"\n",
            if i % 2 == 0 { "small" } else { "large" }
        ));
    }
    let text = format!(
        "[store]\npath = \"{}\"\n[audit]\nsink = \"none\"\n[providers.mock]\nkind = \"mock\"\n{models}[policy]\nfiles = [\"{}/p.cedar\"]\nwatch = false\n",
        dir.path().join("g.db").display(),
        dir.path().display()
    );
    let cfg = gatehouse_server::Config::parse(&text).expect("config");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (app, key) = rt.block_on(async {
        let app = gatehouse_server::App::build(cfg).await.expect("app");
        let (_, key) = app
            .keys
            .create(&gatehouse_identity::NewKey {
                principal: "user:alice".into(),
                team: Some("team1".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        (app, key)
    });
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        format!("Bearer {key}").parse().unwrap(),
    );
    let addr: std::net::SocketAddr = "10.1.2.3:40000".parse().unwrap();
    let mut ns = Vec::with_capacity(iters);
    rt.block_on(async {
        for i in 0..iters + 2_000 {
            let mut ctx = gatehouse_server::checkpoint::Ctx::new(
                gatehouse_server::error::Protocol::OpenAi,
                "/v1/chat/completions",
                "invoke_model",
                Some(addr),
            );
            let t = Instant::now();
            let p = app.identify(&mut ctx, &headers).await.expect("identified");
            let r = app.authorize(&mut ctx, &p, "model1").map(|_| ());
            let el = t.elapsed().as_nanos();
            assert!(r.is_ok(), "{r:?}");
            if i >= 2_000 {
                ns.push(el);
            }
        }
    });
    ns.sort_unstable();
    println!(
        "identify (API key) + authorize (first decision), {n} policies, {iters} requests: p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs",
        pct(&ns, 0.5),
        pct(&ns, 0.9),
        pct(&ns, 0.99)
    );
}

fn main() {
    if std::env::args().any(|a| a == "--stages") {
        let n: usize = arg("--policies")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1000);
        let iters: usize = arg("--iters")
            .and_then(|s| s.parse().ok())
            .unwrap_or(50_000);
        stages(n, iters);
        return;
    }
    let n: usize = arg("--policies")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let iters: usize = arg("--iters")
        .and_then(|s| s.parse().ok())
        .unwrap_or(50_000);
    let models: Vec<ModelAttrs> = (0..50)
        .map(|i| ModelAttrs {
            name: format!("model{i}"),
            provider: "openai".into(),
            tier: if i % 2 == 0 { "small" } else { "large" }.into(),
            classification: "internal".into(),
        })
        .collect();
    let t0 = Instant::now();
    let set = Policies::compile(
        &PolicyConfig {
            builtin_guardrails: false,
            ..PolicyConfig::default()
        },
        &[PolicySource {
            name: "generated".into(),
            text: policies(n),
        }],
        &models,
    )
    .expect("generated policies validate");
    let compile = t0.elapsed();
    let mut p = Principal::new("user:alice").unwrap();
    p.team = Some("team1".into());
    p.groups = vec!["employees".into(), "group7".into()];
    p.auth_method = Some("api_key".into());
    p.attributes.insert("tenant".into(), "t7".into());
    let resource = Resource::Model {
        id: "model1".into(),
        attrs: None,
    };
    let pre = Facts {
        protocol: "openai".into(),
        source_ip: Some("10.1.2.3".parse().unwrap()),
        time: 1_767_225_600,
        token_estimate: 512,
        ..Facts::default()
    };
    let mut post = pre.clone();
    post.phase = Phase::Post;
    post.injection_score = 120;
    post.pii_types.insert("EMAIL_ADDRESS".into());
    post.finding_types.insert("EMAIL_ADDRESS".into());
    post.data_action = DataAction::Redact;
    let mut out = Vec::new();
    for (label, facts) in [
        ("pre (first decision)", &pre),
        ("post (second decision, with findings)", &post),
    ] {
        let q = Query {
            principal: &p,
            on_behalf_of: None,
            action: Action::InvokeModel,
            resource: &resource,
            facts,
        };
        let d = set.authorize(&q);
        assert!(d.error.is_none(), "{d:?}");
        for _ in 0..2_000 {
            std::hint::black_box(set.authorize(&q));
        }
        let mut ns = Vec::with_capacity(iters);
        for _ in 0..iters {
            let t = Instant::now();
            let d = set.authorize(std::hint::black_box(&q));
            ns.push(t.elapsed().as_nanos());
            std::hint::black_box(d);
        }
        ns.sort_unstable();
        out.push(format!(
            "| {label} | {} | {:.1} | {:.1} | {:.1} | {} |",
            if d.allowed { "allow" } else { "deny" },
            pct(&ns, 0.5),
            pct(&ns, 0.9),
            pct(&ns, 0.99),
            d.policies.len()
        ));
    }
    println!(
        "{n} policies, compiled and validated in {:.1} ms; {iters} decisions per row",
        compile.as_secs_f64() * 1000.0
    );
    println!();
    println!("| decision | result | p50 µs | p90 µs | p99 µs | determining policies |");
    println!("|---|---|---:|---:|---:|---:|");
    for l in out {
        println!("{l}");
    }
}
