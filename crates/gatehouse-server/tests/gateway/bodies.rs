//! More of the admit stage at the gateway (cost budgets, prompt size, cool-down) and the bodies
//! the audit log keeps.

use crate::{chat, gateway, upstream};
use serde_json::{Value, json};

async fn send(g: &crate::Gateway, body: &Value) -> (u16, Value) {
    g.call(
        reqwest::Method::POST,
        "/v1/chat/completions",
        &g.key,
        Some(body.clone()),
    )
    .await
}

#[tokio::test]
async fn a_daily_cost_budget_is_charged_from_the_price_table_and_then_refuses() {
    let up = upstream::start().await;
    // $1 per token: the upstream reports 11 + 4 tokens = $15 a request.
    let g = gateway(
        &up.url,
        r#"
[limits.prices.ok]
input_per_mtok = 1000000
output_per_mtok = 1000000
[[limits.rules]]
scope = { principal = "user:alice" }
cost_per_day_usd = 40
"#,
    )
    .await;
    let mut body = chat("ok", "hi");
    body["max_tokens"] = json!(4);
    let mut statuses = Vec::new();
    let mut last = Value::Null;
    for _ in 0..5 {
        let (s, v) = send(&g, &body).await;
        statuses.push(s);
        last = v;
    }
    assert_eq!(&statuses[..3], &[200, 200, 200], "{statuses:?}");
    assert_eq!(statuses[3], 429, "{statuses:?}");
    assert_eq!(last["error"]["code"], "budget_exceeded", "{last}");
    assert!(
        last["error"]["message"].as_str().unwrap().contains("cost"),
        "{last}"
    );
}

#[tokio::test]
async fn an_oversized_prompt_is_refused_before_it_is_forwarded() {
    let up = upstream::start().await;
    let g = gateway(
        &up.url,
        "[limits.defaults.principal]\nmax_prompt_tokens = 20\n",
    )
    .await;
    let (s, _) = send(&g, &chat("ok", "short")).await;
    assert_eq!(s, 200);
    let (s, v) = send(&g, &chat("ok", &"many words here ".repeat(40))).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error"]["code"], "invalid_request");
    assert_eq!(up.seen.hits_for("ok"), 1);
}

#[tokio::test]
async fn repeated_refusals_start_an_audited_cool_down() {
    let up = upstream::start().await;
    let g = gateway(
        &up.url,
        "[guardrails]\nblocklist = [\"kryptonite\"]\n[limits.cooldown]\nmax_rejections = 3\nwindow_secs = 60\nduration_secs = 300\n",
    )
    .await;
    for _ in 0..3 {
        let (s, _) = send(&g, &chat("ok", "tell me about kryptonite")).await;
        assert_eq!(s, 400);
    }
    // Now even a harmless request is refused for a while.
    let (s, v) = send(&g, &chat("ok", "hello")).await;
    assert_eq!(s, 429, "{v}");
    assert_eq!(v["error"]["code"], "rate_limited");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("cool"),
        "{v}"
    );
    assert_eq!(up.seen.hits_for("ok"), 0);
    let rows = crate::audit_lines(&g);
    assert!(
        rows.iter()
            .any(|r| r["action"] == "cooldown" && r["principal"] == "user:alice"),
        "{rows:?}"
    );
}

#[tokio::test]
async fn audit_bodies_are_stored_redacted_by_default_and_not_at_all_when_off() {
    let up = upstream::start().await;
    let g = gateway(&up.url, "").await;
    let (s, _) = send(&g, &chat("ok", "please mail jane.doe@example.com today")).await;
    assert_eq!(s, 200);
    let rows = crate::audit_lines(&g);
    let row = rows
        .iter()
        .find(|r| r["route"] == "/v1/chat/completions" && r["decision"] == "allow")
        .unwrap();
    let req = row["body"]["request"].as_str().unwrap();
    let resp = row["body"]["response"].as_str().unwrap();
    assert!(req.contains("please mail [EMAIL_ADDRESS] today"), "{req}");
    assert!(resp.contains("[EMAIL_ADDRESS]"), "{resp}");
    let raw = serde_json::to_string(&rows).unwrap();
    assert!(!raw.contains("jane.doe@example.com"));

    let g = gateway(&up.url, "[audit.body]\nmode = \"none\"\n").await;
    let (s, _) = send(&g, &chat("ok", "please mail jane.doe@example.com today")).await;
    assert_eq!(s, 200);
    let rows = crate::audit_lines(&g);
    assert!(rows.iter().all(|r| r.get("body").is_none()), "{rows:?}");
}
