//! The admin API: keys (create, list, rotate, revoke), audit and usage, each authorized by
//! policy and audited; secrets appear only in the answer that created them.

use crate::{Gateway, chat, gateway, upstream};
use serde_json::{Value, json};

const POLICIES: &str = r#"
@id("everyone-uses-models")
permit (principal, action == Action::"invoke_model", resource);

@id("ops-administer")
permit (principal in Team::"ops", action in Action::"admin", resource);
"#;

async fn admin_gateway(dir: &std::path::Path, up: &str) -> (Gateway, String) {
    std::fs::write(dir.join("p.cedar"), POLICIES).unwrap();
    let g = gateway(
        up,
        &format!("[policy]\nfiles = [\"{}/p.cedar\"]\n", dir.display()),
    )
    .await;
    let ops = g.key_for("user:olga", Some("ops")).await;
    (g, ops)
}

async fn complete(g: &Gateway, key: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", g.url))
        .bearer_auth(key)
        .json(&chat("ok", "hi"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn keys_are_managed_through_the_admin_api_only_by_principals_policy_allows() {
    let up = upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (g, ops) = admin_gateway(dir.path(), &up.url).await;
    use reqwest::Method;

    // A principal that policy does not allow: 403 naming no policy (default deny).
    let (s, v) = g.call(Method::GET, "/admin/v1/keys", &g.key, None).await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"]["code"], "forbidden");

    // Create: the secret is in this answer only.
    let (s, v) = g.call(Method::POST,
        "/admin/v1/keys",
        &ops,
        Some(json!({"principal": "user:bob", "team": "eng", "expires": "30d", "attributes": {"tenant": "acme"}})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let secret = v["secret"].as_str().unwrap().to_owned();
    let id = v["key"]["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with(&format!("gh_{id}_")));
    assert_eq!(complete(&g, &secret).await, 200);

    // Bad input gets a clear 400.
    let (s, v) = g
        .call(
            Method::POST,
            "/admin/v1/keys",
            &ops,
            Some(json!({"principal": "bob"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, _) = g
        .call(
            Method::POST,
            "/admin/v1/keys",
            &ops,
            Some(json!({"principal": "user:x", "expires": "forever"})),
        )
        .await;
    assert_eq!(s, 400);

    // List never shows secrets or hashes.
    let (s, v) = g.call(Method::GET, "/admin/v1/keys", &ops, None).await;
    assert_eq!(s, 200);
    let text = v.to_string();
    assert!(text.contains(&id) && !text.contains(&secret), "{text}");
    assert!(!text.contains("hash"), "{text}");

    // Rotate with no grace: the old key stops, the new one works.
    let (s, v) = g
        .call(
            Method::POST,
            &format!("/admin/v1/keys/{id}/rotate"),
            &ops,
            Some(json!({"grace": "0s"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let new_secret = v["secret"].as_str().unwrap().to_owned();
    let new_id = v["key"]["id"].as_str().unwrap().to_owned();
    assert_eq!(v["replaces"], id.as_str());
    assert_eq!(complete(&g, &new_secret).await, 200);
    assert_eq!(complete(&g, &secret).await, 401);

    // Revoke.
    let (s, _) = g
        .call(
            Method::POST,
            &format!("/admin/v1/keys/{new_id}/revoke"),
            &ops,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(complete(&g, &new_secret).await, 401);
    let (s, _) = g
        .call(
            Method::POST,
            "/admin/v1/keys/nosuchkeyxyz/revoke",
            &ops,
            None,
        )
        .await;
    assert_eq!(s, 404);

    // Every admin call is audited with its deciding policy, and no secret is in the log.
    let rows = crate::audit_lines(&g);
    let admin_rows: Vec<&Value> = rows.iter().filter(|r| r["hop"] == "admin").collect();
    assert!(
        admin_rows.iter().any(|r| r["action"] == "manage_keys"
            && r["decision"] == "allow"
            && r["policies"][0] == "ops-administer"),
        "{admin_rows:?}"
    );
    assert!(
        admin_rows
            .iter()
            .any(|r| r["action"] == "manage_keys" && r["decision"] == "block"),
        "{admin_rows:?}"
    );
    let raw = serde_json::to_string(&rows).unwrap();
    assert!(!raw.contains(&secret) && !raw.contains(&new_secret));

    // The audit log is readable through the API by those policy allows.
    let (s, v) = g
        .call(
            Method::GET,
            "/admin/v1/audit?decision=block&limit=50",
            &ops,
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let data = v["data"].as_array().unwrap();
    assert!(!data.is_empty());
    assert!(
        data.iter().all(|r| r["event"]["decision"] == "block"),
        "{v}"
    );
    let (s, _) = g.call(Method::GET, "/admin/v1/audit", &g.key, None).await;
    assert_eq!(s, 403);
    let (s, _) = g
        .call(Method::GET, "/admin/v1/audit?since=yesterday", &ops, None)
        .await;
    assert_eq!(s, 400);

    // Usage per principal.
    let (s, v) = g
        .call(
            Method::GET,
            "/admin/v1/usage?principal=user:bob",
            &ops,
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let reqs: u64 = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(reqs, 2, "{v}");
}
