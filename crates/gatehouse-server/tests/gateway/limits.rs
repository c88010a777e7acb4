//! The admit stage at the gateway: request rates, token budgets with reserve-then-settle, the
//! output clamp, the x-ratelimit headers, refusals in both protocols, and persisted usage.

use crate::{chat, gateway, upstream};
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
    // The refusal carries the exhausted counter too.
    assert_eq!(r.headers()["x-ratelimit-limit-requests"], "3");
    assert_eq!(r.headers()["x-ratelimit-remaining-requests"], "0");
    assert!(r.headers().contains_key("x-ratelimit-reset-requests"));
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
    // Two members share the team budget. The upstream reports 11 + 4 = 15 tokens a request.
    let (a, b) = (
        g.key_for("user:ann", Some("t1")).await,
        g.key_for("user:ben", Some("t1")).await,
    );
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
    assert_eq!(r.headers()["x-ratelimit-limit-tokens"], "60");
    assert_eq!(r.headers()["x-ratelimit-remaining-tokens"], "0");
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

#[tokio::test]
async fn a_stream_cancelled_half_way_settles_what_it_used_and_frees_its_slot() {
    use futures_util::StreamExt;
    let up = upstream::start().await;
    let g = gateway(
        &up.url,
        "[limits.defaults.principal]\nconcurrent = 1\ntokens_per_day = 100000\n",
    )
    .await;
    let mut body = chat("slow-stream", "tell me a long story");
    body["stream"] = json!(true);
    let resp = g
        .post("/v1/chat/completions")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // While the stream runs, the one concurrent slot is taken.
    let busy = g
        .post("/v1/chat/completions")
        .json(&chat("ok", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), 429);
    let mut stream = resp.bytes_stream();
    for _ in 0..3 {
        stream.next().await.unwrap().unwrap();
    }
    drop(stream); // the client goes away half-way

    // The slot is released once the cancellation is settled.
    let mut status = 0;
    for _ in 0..100 {
        status = g
            .post("/v1/chat/completions")
            .json(&chat("ok", "hi"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200);

    // The cancelled stream was charged its prompt and no output: the output allowance it had
    // reserved was refunded.
    let store = g.app.limiter.usage_store().unwrap();
    store.flush().await.unwrap();
    let rows = store
        .query(&gatehouse_limits::UsageFilter {
            model: Some("slow-stream".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].requests, 1);
    assert!(
        rows[0].input_tokens > 0 && rows[0].input_tokens < 64,
        "{rows:?}"
    );
    assert_eq!(rows[0].output_tokens, 0, "{rows:?}");
}

/// Three gateways share one Redis: a limit of 10 requests per minute admits exactly 10 across
/// all of them, whatever instance each request reaches.
#[tokio::test]
async fn three_gateways_sharing_redis_admit_exactly_the_limit_in_total() {
    let Ok(redis) = std::env::var("GATEHOUSE_TEST_REDIS_URL") else {
        eprintln!("skipped: GATEHOUSE_TEST_REDIS_URL unset");
        return;
    };
    let up = upstream::start().await;
    let prefix = format!("gh-test-{}:", gatehouse_core::RequestId::new().as_str());
    let g = gateway(
        &up.url,
        &format!(
            "[limits]\nbackend = \"redis\"\nredis_url = \"{redis}\"\nredis_prefix = \"{prefix}\"\n[limits.defaults.principal]\nrequests_per_minute = 10\n"
        ),
    )
    .await;
    let mut urls = vec![g.url.clone()];
    for _ in 0..2 {
        let mut cfg = g.app.config.clone();
        // The other instances share the key store and Redis; they keep their own audit log.
        let d = tempfile::tempdir().unwrap().keep();
        cfg.audit.path = Some(d.join("audit.jsonl"));
        let app = std::sync::Arc::new(gatehouse_server::App::build(cfg).await.unwrap());
        urls.push(format!("http://{}", crate::serve(app).await));
    }
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..30 {
        let url = format!("{}/v1/chat/completions", urls[i % 3]);
        let (c, k) = (client.clone(), g.key.clone());
        tasks.push(tokio::spawn(async move {
            c.post(url)
                .bearer_auth(k)
                .json(&chat("ok", "hi"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut ok = 0;
    let mut limited = 0;
    for t in tasks {
        match t.await.unwrap() {
            200 => ok += 1,
            429 => limited += 1,
            s => panic!("unexpected status {s}"),
        }
    }
    assert_eq!((ok, limited), (10, 20));
    assert_eq!(up.seen.hits_for("ok"), 10);
}
