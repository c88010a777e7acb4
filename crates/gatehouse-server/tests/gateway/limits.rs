//! The admit stage at the gateway: request rates, token budgets with reserve-then-settle, the
//! output clamp, the x-ratelimit headers, refusals in both protocols, and persisted usage.

use crate::{chat, gateway, upstream};
use gatehouse_identity::NewKey;
use serde_json::{Value, json};

#[tokio::test]
async fn a_request_rate_limit_answers_429_with_retry_after_and_ratelimit_headers() {
    let up = upstream::start().await;
    let g = gateway(
        &up.url,
        "[limits.defaults.principal]\nrequests_per_minute = 3\n",
    )
    .await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = g
            .post("/v1/chat/completions")
            .json(&chat("ok", "hi"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-ratelimit-limit-requests"], "3");
        remaining.push(
            r.headers()["x-ratelimit-remaining-requests"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);

    let r = g
        .post("/v1/chat/completions")
        .json(&chat("ok", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limited");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("requests per minute"),
        "{v}"
    );

    // The same limit in the Anthropic shape.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/messages", g.url))
        .header("x-api-key", &g.key)
        .json(&json!({"model": "ok", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "rate_limit_error");

    // Only admitted requests reached the upstream.
    assert_eq!(up.seen.hits_for("ok"), 3);
}

#[tokio::test]
async fn a_team_token_budget_is_reserved_settled_with_real_usage_and_persisted() {
    let up = upstream::start().await;
    let g = gateway(
        &up.url,
        r#"
[[limits.rules]]
scope = { team = "t1" }
tokens_per_day = 60
max_output_tokens = 5
"#,
    )
    .await;
    let key = |p: &str| {
        let app = g.app.clone();
        let p = p.to_owned();
        async move {
            app.keys
                .create(&NewKey {
                    principal: p,
                    team: Some("t1".into()),
                    ..NewKey::default()
                })
                .await
                .unwrap()
                .1
        }
    };
    // Two members share the team budget. The upstream reports 11 + 4 = 15 tokens a request.
    let (a, b) = (key("user:ann").await, key("user:ben").await);
    let send = |k: String| {
        let url = format!("{}/v1/chat/completions", g.url);
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(k)
                .json(&chat("ok", "hi"))
                .send()
                .await
                .unwrap()
        }
    };
    for k in [&a, &b, &a, &b] {
        let r = send(k.clone()).await;
        assert_eq!(r.status(), 200);
        assert!(r.headers().contains_key("x-ratelimit-remaining-tokens"));
    }
    // 4 × 15 = 60 settled: the budget is spent for both members.
    let r = send(b.clone()).await;
    assert_eq!(r.status(), 429);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "budget_exceeded", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("team t1"),
        "{v}"
    );

    // The clamp: requests that asked for no limit went upstream with max_tokens = 5.
    let bodies = up.seen.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 4);
    assert!(bodies.iter().all(|b| b["max_tokens"] == 5), "{bodies:?}");

    // Usage is persisted: a restart does not reset the day.
    let store = g.app.limiter.usage_store().unwrap();
    store.flush().await.unwrap();
    let rows = store
        .query(&gatehouse_limits::UsageFilter {
            team: Some("t1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let (reqs, input, output) = rows.iter().fold((0, 0, 0), |acc, r| {
        (
            acc.0 + r.requests,
            acc.1 + r.input_tokens,
            acc.2 + r.output_tokens,
        )
    });
    assert_eq!((reqs, input, output), (4, 44, 16));
}
