//! Identity at the gateway, end to end: bearer JWTs from a real local OIDC provider (discovery,
//! JWKS, key rotation), client certificates (mTLS) and on-behalf-of user tokens, each checked by
//! its HTTP answer and by the audit row it leaves.

use crate::{Gateway, audit_lines, chat, gateway, upstream};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_identity::NewKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SanType,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// A local OIDC identity provider on 127.0.0.1: discovery document, swappable JWKS, fetch counters.
// ---------------------------------------------------------------------------------------------

struct IdpState {
    issuer: String,
    jwks: Mutex<Vec<Value>>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
}

struct Idp {
    issuer: String,
    state: Arc<IdpState>,
}

async fn discovery(State(st): State<Arc<IdpState>>) -> axum::Json<Value> {
    st.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({
        "issuer": st.issuer,
        "jwks_uri": format!("{}/jwks.json", st.issuer),
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }))
}

async fn jwks(State(st): State<Arc<IdpState>>) -> axum::Json<Value> {
    st.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys = st.jwks.lock().unwrap().clone();
    axum::Json(json!({ "keys": keys }))
}

impl Idp {
    /// Starts an IdP publishing the public halves of `keys`; it serves until the test ends.
    async fn start(keys: &[&SigningKey]) -> Idp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(IdpState {
            issuer: issuer.clone(),
            jwks: Mutex::new(keys.iter().map(|k| k.jwk.clone()).collect()),
            jwks_fetches: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks.json", get(jwks))
            .with_state(Arc::clone(&state));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Idp { issuer, state }
    }

    /// Replaces the published keys (rotation).
    fn publish(&self, keys: &[&SigningKey]) {
        *self.state.jwks.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    fn discovery_fetches(&self) -> usize {
        self.state.discovery_fetches.load(Ordering::SeqCst)
    }

    /// Standard claims for this issuer: valid for an hour, audience `gatehouse`.
    fn claims(&self, sub: &str) -> Value {
        json!({"iss": self.issuer, "sub": sub, "aud": "gatehouse", "iat": now(), "exp": now() + 3600})
    }
}

/// A private signing key with its public JWK.
struct SigningKey {
    kid: String,
    alg: Algorithm,
    enc: EncodingKey,
    jwk: Value,
    /// PEM of the public key (the HMAC secret of the algorithm-confusion attack).
    public_pem: String,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    &b[first..]
}

impl SigningKey {
    fn rsa(kid: &str) -> SigningKey {
        let kp = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let enc = EncodingKey::from_rsa_pem(kp.serialize_pem().as_bytes()).unwrap();
        let spki = kp.subject_public_key_info();
        let (_, info) =
            <x509_parser::x509::SubjectPublicKeyInfo as x509_parser::prelude::FromDer<_>>::from_der(
                &spki,
            )
            .unwrap();
        let x509_parser::public_key::PublicKey::RSA(rsa) = info.parsed().unwrap() else {
            panic!("not an RSA key");
        };
        SigningKey {
            kid: kid.to_owned(),
            alg: Algorithm::RS256,
            enc,
            jwk: json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                        "n": b64(strip_zeros(rsa.modulus)), "e": b64(strip_zeros(rsa.exponent))}),
            public_pem: kp.public_key_pem(),
        }
    }

    fn p256(kid: &str) -> SigningKey {
        let kp = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let raw = kp.public_key_raw();
        assert_eq!(raw.len(), 65);
        SigningKey {
            kid: kid.to_owned(),
            alg: Algorithm::ES256,
            enc: EncodingKey::from_ec_der(&kp.serialize_der()),
            jwk: json!({"kty": "EC", "crv": "P-256", "use": "sig", "kid": kid,
                        "x": b64(&raw[1..33]), "y": b64(&raw[33..])}),
            public_pem: kp.public_key_pem(),
        }
    }

    /// Signs `claims` with this key, naming its kid.
    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.enc).unwrap()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A token from raw JSON header and payload and a literal signature segment.
fn raw_token(header: &Value, payload: &Value, sig: &str) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes()),
        sig
    )
}

// ---------------------------------------------------------------------------------------------
// Gateway helpers.
// ---------------------------------------------------------------------------------------------

/// `[identity.jwt]` trusting `idp` through discovery, plus `more` (e.g. a `header` line).
fn jwt_toml(idp: &Idp, more: &str) -> String {
    format!(
        r#"
[identity.jwt]
max_token_bytes = 2048
{more}

[[identity.jwt.issuers]]
name = "corp"
issuer = "{iss}"
discovery = true
audiences = ["gatehouse"]
algorithms = ["RS256", "ES256"]
min_refresh_interval_secs = 1
refresh_secs = 300
http_timeout_ms = 2000
[identity.jwt.issuers.claims]
attributes = {{ tenant = "tenant" }}
"#,
        iss = idp.issuer
    )
}

/// `[policy]` loading the single file `policies` written into `dir`.
fn policy_toml(dir: &Path, policies: &str) -> String {
    let file = dir.join("policies.cedar");
    std::fs::write(&file, policies).unwrap();
    format!(
        "\n[policy]\nfiles = [\"{}\"]\nbuiltin_guardrails = false\n",
        file.display()
    )
}

async fn post_chat(g: &Gateway, headers: &[(&str, &str)], model: &str) -> (u16, Value, String) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", g.url))
        .json(&chat(model, "hello"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The audit row with this request id (from the response's error body or header).
fn row_for<'a>(rows: &'a [Value], rid: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["request_id"] == rid)
        .unwrap_or_else(|| panic!("no audit row for {rid}"))
}

/// The parts of a token that identify it: the whole token and every long segment.
fn token_parts(token: &str) -> Vec<String> {
    let mut parts = vec![token.to_owned()];
    parts.extend(
        token
            .split('.')
            .filter(|p| p.len() >= 16)
            .map(str::to_owned),
    );
    parts
}

fn assert_no_token(haystack: &str, token: &str, what: &str) {
    for part in token_parts(token) {
        assert!(
            !haystack.contains(&part),
            "{what} contains (part of) the presented token"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 1. A valid JWT is a user principal whose groups reach policy.
// ---------------------------------------------------------------------------------------------

const EMPLOYEES_ONLY: &str = r#"
@id("employees-use-models")
permit (principal in Group::"employees", action == Action::"invoke_model", resource);
"#;

#[tokio::test]
async fn a_valid_jwt_identifies_the_user_and_its_groups_reach_policy() {
    let key = SigningKey::rsa("corp-1");
    let idp = Idp::start(&[&key]).await;
    let up = upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "{}{}",
        jwt_toml(&idp, ""),
        policy_toml(dir.path(), EMPLOYEES_ONLY)
    );
    let g = gateway(&up.url, &extra).await;
    assert_eq!(
        idp.discovery_fetches(),
        1,
        "the issuer was found by discovery"
    );
    assert_eq!(idp.jwks_fetches(), 1, "keys loaded at start");

    let mut c = idp.claims("alice");
    c["groups"] = json!(["employees", "eng"]);
    let alice = key.sign(&c);
    let (s, v, _) = post_chat(&g, &[("authorization", &bearer(&alice))], "ok").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "upstream says: hello"
    );
    let hits = up.seen.hits.lock().unwrap().clone();
    assert_eq!(
        hits.last().unwrap().1,
        "Bearer sk-up-configured-key",
        "the provider's credential is forwarded, never the caller's token"
    );

    // The same token works in the Anthropic protocol (Authorization or x-api-key).
    for header in ["authorization", "x-api-key"] {
        let value = if header == "authorization" {
            bearer(&alice)
        } else {
            alice.clone()
        };
        let r = reqwest::Client::new()
            .post(format!("{}/v1/messages", g.url))
            .header(header, value)
            .header("anthropic-version", "2023-06-01")
            .json(&json!({"model": "mock", "max_tokens": 16,
                          "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{header}");
    }

    // A token without the group: default deny, no deciding policy.
    let mut c = idp.claims("bob");
    c["groups"] = json!(["contractors"]);
    let bob = key.sign(&c);
    let (s, v, _) = post_chat(&g, &[("authorization", &bearer(&bob))], "ok").await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"]["code"], "forbidden");
    assert!(
        v["error"].get("policy").is_none(),
        "default deny names no policy: {v}"
    );
    let bob_rid = v["error"]["request_id"].as_str().unwrap().to_owned();
    // And no groups at all.
    let (s, _, _) = post_chat(
        &g,
        &[("authorization", &bearer(&key.sign(&idp.claims("carol"))))],
        "ok",
    )
    .await;
    assert_eq!(s, 403);
    // Group names are data, never policy text: look-alikes of the permitted group do not match.
    let mut c = idp.claims("eve");
    c["groups"] = json!([
        "employees\" || true || \"",
        "Group::\"employees\"",
        "Employees",
        "employees "
    ]);
    let (s, v, _) = post_chat(&g, &[("authorization", &bearer(&key.sign(&c)))], "ok").await;
    assert_eq!(s, 403, "{v}");

    // /v1/models shows each user what policy lets them invoke.
    let models = |token: String| {
        let url = format!("{}/v1/models", g.url);
        async move {
            let v: Value = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["data"].as_array().unwrap().len()
        }
    };
    assert!(models(alice.clone()).await > 0);
    assert_eq!(models(bob.clone()).await, 0);

    let rows = audit_lines(&g);
    let allowed: Vec<&Value> = rows
        .iter()
        .filter(|r| r["decision"] == "allow" && r["route"] == "/v1/chat/completions")
        .collect();
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0]["principal"], "user:alice");
    assert!(allowed[0].get("key_id").is_none_or(Value::is_null));
    assert_eq!(allowed[0]["policies"], json!(["employees-use-models"]));
    let denied = row_for(&rows, &bob_rid);
    assert_eq!(denied["principal"], "user:bob");
    assert_eq!(denied["decision"], "block");
    assert_eq!(denied["status"], 403);
    let all = serde_json::to_string(&rows).unwrap();
    assert_no_token(&all, &alice, "the audit log");
    assert_no_token(&all, &bob, "the audit log");
    assert_eq!(
        idp.jwks_fetches(),
        1,
        "valid tokens are verified from the cache"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Bad tokens: 401 in the caller's shape, reason in the audit row, never the token.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_bad_token_gets_401_with_its_reason_and_is_never_echoed_or_audited() {
    let key = SigningKey::rsa("corp-1");
    let idp = Idp::start(&[&key]).await;
    let up = upstream::start().await;
    let g = gateway(&up.url, &jwt_toml(&idp, "")).await;
    let fetches = (idp.discovery_fetches(), idp.jwks_fetches());
    assert_eq!(fetches, (1, 1));

    let with = |k: &str, v: Value| {
        let mut c = idp.claims("mallory");
        c[k] = v;
        c
    };
    let hs256_with_rsa_public_key = {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some(key.kid.clone());
        jsonwebtoken::encode(
            &h,
            &idp.claims("mallory"),
            &EncodingKey::from_secret(key.public_pem.as_bytes()),
        )
        .unwrap()
    };
    let alg_none = raw_token(
        &json!({"alg": "none", "typ": "JWT", "kid": key.kid}),
        &idp.claims("mallory"),
        "",
    );
    let oversized = key.sign(&with("pad", json!("p".repeat(3000))));
    assert!(oversized.len() > 2048);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            key.sign(&with("exp", json!(now() - 3600))),
            "expired_token",
        ),
        (
            "wrong audience",
            key.sign(&with("aud", json!("someone-else"))),
            "wrong_audience",
        ),
        (
            "unknown issuer",
            key.sign(&with("iss", json!("https://evil.example"))),
            "unknown_issuer",
        ),
        ("alg none", alg_none, "algorithm_not_allowed"),
        (
            "HS256 with the RSA public key",
            hs256_with_rsa_public_key,
            "algorithm_not_allowed",
        ),
        (
            "JWT-shaped garbage",
            "eyJnYXJiYWdlIGhlYWRlcg.bm90IGpzb24gYXQgYWxs.c2lnbmF0dXJlLWdhcmJhZ2U".to_owned(),
            "malformed_token",
        ),
        ("oversized", oversized, "token_too_large"),
    ];

    let client = reqwest::Client::new();
    let mut rids = Vec::new();
    for (name, token, reason) in &cases {
        // OpenAI shape.
        let r = client
            .post(format!("{}/v1/chat/completions", g.url))
            .bearer_auth(token)
            .json(&chat("ok", "hello"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{name}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer", "{name}");
        let text = r.text().await.unwrap();
        assert_no_token(&text, token, name);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["code"], "unauthenticated", "{name}: {v}");
        assert_eq!(v["error"]["type"], "authentication_error", "{name}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(reason),
            "{name}: {v}"
        );
        rids.push((
            *name,
            v["error"]["request_id"].as_str().unwrap().to_owned(),
            *reason,
        ));

        // Anthropic shape, the token in x-api-key.
        let r = client
            .post(format!("{}/v1/messages", g.url))
            .header("x-api-key", token)
            .header("anthropic-version", "2023-06-01")
            .json(&json!({"model": "mock", "max_tokens": 16,
                          "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{name}");
        let text = r.text().await.unwrap();
        assert_no_token(&text, token, name);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "error", "{name}: {v}");
        assert_eq!(v["error"]["type"], "authentication_error", "{name}: {v}");
        rids.push((*name, v["request_id"].as_str().unwrap().to_owned(), *reason));
    }
    // Garbage that is not shaped like a JWT is an (invalid) API key, not a JWT.
    let (s, v, _) = post_chat(&g, &[("authorization", "Bearer not-a-token-at-all")], "ok").await;
    assert_eq!(s, 401);
    rids.push((
        "plain garbage",
        v["error"]["request_id"].as_str().unwrap().to_owned(),
        "malformed_key",
    ));

    assert_eq!(
        (idp.discovery_fetches(), idp.jwks_fetches()),
        fetches,
        "no bad token (garbage least of all) made the gateway fetch from the identity provider"
    );
    assert_eq!(
        up.seen.hits.lock().unwrap().len(),
        0,
        "nothing reached the upstream"
    );

    let rows = audit_lines(&g);
    for (name, rid, reason) in &rids {
        let row = row_for(&rows, rid);
        assert_eq!(row["reason"], *reason, "{name}: {row}");
        assert_eq!(row["decision"], "block", "{name}");
        assert_eq!(row["code"], "unauthenticated", "{name}");
        assert_eq!(row["stage"], "identify", "{name}");
        assert_eq!(row["status"], 401, "{name}");
        assert!(row.get("principal").is_none_or(Value::is_null), "{name}");
    }
    let path = g.app.config.audit.path.clone().unwrap();
    let raw = std::fs::read_to_string(path).unwrap();
    for (name, token, _) in &cases {
        assert_no_token(&raw, token, &format!("the audit file ({name})"));
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Key rotation at the identity provider.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn after_the_idp_rotates_keys_the_new_kid_is_accepted_and_the_old_one_refused() {
    let old = SigningKey::rsa("2026-01");
    let new = SigningKey::p256("2026-02");
    let idp = Idp::start(&[&old]).await;
    let up = upstream::start().await;
    let g = gateway(&up.url, &jwt_toml(&idp, "")).await;

    let old_token = old.sign(&idp.claims("alice"));
    let (s, v, _) = post_chat(&g, &[("authorization", &bearer(&old_token))], "ok").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(idp.jwks_fetches(), 1);

    idp.publish(&[&new]);
    // Past min_refresh_interval_secs (1 s) since the start-up fetch: an unknown kid may refetch.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let new_token = new.sign(&idp.claims("bob"));
    let (s, v, _) = post_chat(&g, &[("authorization", &bearer(&new_token))], "ok").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        idp.jwks_fetches(),
        2,
        "the new kid caused exactly one refetch"
    );

    let (s, v, _) = post_chat(&g, &[("authorization", &bearer(&old_token))], "ok").await;
    assert_eq!(s, 401, "{v}");
    let old_rid = v["error"]["request_id"].as_str().unwrap().to_owned();
    // The new key keeps working.
    let (s, _, _) = post_chat(&g, &[("authorization", &bearer(&new_token))], "ok").await;
    assert_eq!(s, 200);

    let rows = audit_lines(&g);
    let principals: Vec<&str> = rows
        .iter()
        .filter(|r| r["decision"] == "allow")
        .map(|r| r["principal"].as_str().unwrap())
        .collect();
    assert_eq!(principals, ["user:alice", "user:bob", "user:bob"]);
    assert_eq!(row_for(&rows, &old_rid)["reason"], "unknown_kid");
}

// ---------------------------------------------------------------------------------------------
// 4. mTLS: client certificates map to service principals.
// ---------------------------------------------------------------------------------------------

struct Ca {
    cert: rcgen::Certificate,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).unwrap();
    Ca {
        cert,
        issuer: Issuer::new(params, key),
    }
}

/// A leaf certificate signed by `ca`: (certificate PEM, private key PEM).
fn leaf(ca: &Ca, cn: &str, sans: Vec<SanType>, server: bool) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.subject_alt_names = sans;
    params.extended_key_usages = vec![if server {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn spiffe(id: &str) -> SanType {
    SanType::URI(id.try_into().unwrap())
}

const SUPPORT_BOT: &str = "spiffe://corp/ns/agents/sa/support-bot";

#[tokio::test]
async fn client_certificates_identify_services_and_foreign_ones_fail_the_handshake() {
    let up = upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server_ca = ca("gateway server CA");
    let agents_ca = ca("agents CA");
    let rogue_ca = ca("rogue CA");
    let (server_cert, server_key) = leaf(
        &server_ca,
        "gateway",
        vec![SanType::DnsName("localhost".try_into().unwrap())],
        true,
    );
    let paths = [
        ("server.pem", server_cert),
        ("server.key", server_key),
        ("clients-ca.pem", agents_ca.cert.pem()),
    ];
    for (name, pem) in &paths {
        std::fs::write(dir.path().join(name), pem).unwrap();
    }
    let d = dir.path().display();
    let extra = format!(
        r#"
[server.tls]
cert = "{d}/server.pem"
key = "{d}/server.key"
client_auth = {{ ca_bundle = "{d}/clients-ca.pem", required = false }}
"#
    );
    // The listener of `gateway` terminates TLS because the config says so.
    let g = gateway(&up.url, &extra).await;
    let port: u16 = g.url.rsplit(':').next().unwrap().parse().unwrap();
    let url = format!("https://localhost:{port}/v1/chat/completions");
    let root = reqwest::Certificate::from_pem(server_ca.cert.pem().as_bytes()).unwrap();
    let client = |identity: Option<(String, String)>| {
        let mut b = reqwest::Client::builder()
            .tls_certs_only([root.clone()])
            .resolve("localhost", ([127, 0, 0, 1], port).into());
        if let Some((cert, key)) = identity {
            b = b.identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
        }
        b.build().unwrap()
    };
    let rid_of = |v: &Value| v["error"]["request_id"].as_str().unwrap_or("").to_owned();

    // A certificate from the trusted CA, no Authorization header: the SPIFFE ID is the service.
    let bot = leaf(&agents_ca, "support-bot", vec![spiffe(SUPPORT_BOT)], false);
    let r = client(Some(bot))
        .post(&url)
        .json(&chat("ok", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "upstream says: hello"
    );

    // A certificate from another CA, even with the same SPIFFE ID: the handshake fails.
    let forged = leaf(&rogue_ca, "support-bot", vec![spiffe(SUPPORT_BOT)], false);
    let r = client(Some(forged))
        .post(&url)
        .json(&chat("ok", "forged"))
        .send()
        .await;
    assert!(r.is_err(), "a foreign client certificate was accepted");

    // A trusted certificate that names no SAN URI maps to no principal.
    let nameless = leaf(&agents_ca, "nameless", vec![], false);
    let r = client(Some(nameless))
        .post(&url)
        .json(&chat("ok", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let nameless_rid = rid_of(&r.json().await.unwrap());

    // No certificate and no key: 401.
    let r = client(None)
        .post(&url)
        .json(&chat("ok", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unauthenticated");
    let anonymous_rid = rid_of(&v);

    // No certificate but an API key: certificates are optional (required = false).
    let r = client(None)
        .post(&url)
        .bearer_auth(&g.key)
        .json(&chat("ok", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    assert_eq!(up.seen.hits_for("ok"), 2, "only the two identified calls");
    let rows = audit_lines(&g);
    let allowed: Vec<&str> = rows
        .iter()
        .filter(|r| r["decision"] == "allow")
        .map(|r| r["principal"].as_str().unwrap())
        .collect();
    assert_eq!(
        allowed,
        [format!("service:{SUPPORT_BOT}").as_str(), "user:alice"]
    );
    assert_eq!(row_for(&rows, &nameless_rid)["reason"], "cert_no_identity");
    assert_eq!(
        row_for(&rows, &anonymous_rid)["reason"],
        "missing_credentials"
    );
    assert_eq!(rows.len(), 4, "the failed handshake reached no route");
}

// ---------------------------------------------------------------------------------------------
// 5. On behalf of: a service names the user it acts for.
// ---------------------------------------------------------------------------------------------

const OWN_TENANT: &str = r#"
@id("services-use-models")
permit (principal is Service, action == Action::"invoke_model", resource);

@id("services-act-for-own-tenant")
forbid (principal is Service, action, resource)
when { context has on_behalf_of }
unless {
  principal.hasTag("tenant") &&
  context.on_behalf_of.hasTag("tenant") &&
  principal.getTag("tenant") == context.on_behalf_of.getTag("tenant")
};
"#;

#[tokio::test]
async fn a_service_acts_on_behalf_of_users_of_its_own_tenant_only() {
    let key = SigningKey::rsa("corp-1");
    let idp = Idp::start(&[&key]).await;
    let up = upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "{}{}",
        jwt_toml(&idp, "header = \"x-gatehouse-user\""),
        policy_toml(dir.path(), OWN_TENANT)
    );
    let g = gateway(&up.url, &extra).await;
    let (_, service) = g
        .app
        .keys
        .create(&NewKey {
            principal: "service:support-bot".into(),
            attributes: BTreeMap::from([("tenant".to_owned(), "acme".to_owned())]),
            ..NewKey::default()
        })
        .await
        .unwrap();
    let service_auth = bearer(&service);
    let user_token = |sub: &str, tenant: Option<&str>| {
        let mut c = idp.claims(sub);
        if let Some(t) = tenant {
            c["tenant"] = json!(t);
        }
        key.sign(&c)
    };
    let alice = user_token("alice", Some("acme"));

    // The service alone (no one on whose behalf): permitted.
    let (s, v, _) = post_chat(&g, &[("authorization", &service_auth)], "ok").await;
    assert_eq!(s, 200, "{v}");

    // For a user of its own tenant: permitted, and the audit row names the user.
    let (s, v, _) = post_chat(
        &g,
        &[
            ("authorization", &service_auth),
            ("x-gatehouse-user", &alice),
        ],
        "ok",
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // The header may carry the token as `Bearer <token>` too.
    let (s, v, _) = post_chat(
        &g,
        &[
            ("authorization", &service_auth),
            ("x-gatehouse-user", &bearer(&alice)),
        ],
        "ok",
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // For a user of another tenant, or of none: denied by the tenant policy.
    let mut denied = Vec::new();
    for (sub, tenant) in [("mallory", Some("globex")), ("nobody", None)] {
        let (s, v, _) = post_chat(
            &g,
            &[
                ("authorization", &service_auth),
                ("x-gatehouse-user", &user_token(sub, tenant)),
            ],
            "ok",
        )
        .await;
        assert_eq!(s, 403, "{sub}: {v}");
        assert_eq!(v["error"]["code"], "forbidden");
        assert_eq!(v["error"]["policy"], "services-act-for-own-tenant", "{v}");
        denied.push((sub, v["error"]["request_id"].as_str().unwrap().to_owned()));
    }

    // A user key may not act for anyone, whatever the token.
    let (s, v, _) = post_chat(
        &g,
        &[
            ("authorization", &bearer(&g.key)),
            ("x-gatehouse-user", &alice),
        ],
        "ok",
    )
    .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(
        v["error"]["message"],
        "only services may act on behalf of a user"
    );
    let user_rid = v["error"]["request_id"].as_str().unwrap().to_owned();

    // An invalid on-behalf-of token: 401 with the token's reason, prefixed.
    let mut expired = idp.claims("alice");
    expired["tenant"] = json!("acme");
    expired["exp"] = json!(now() - 3600);
    let expired = key.sign(&expired);
    let mut invalid = Vec::new();
    for (token, reason) in [
        (expired.as_str(), "on_behalf_of_expired_token"),
        ("not-a-jwt-at-all", "on_behalf_of_malformed_token"),
    ] {
        let (s, v, text) = post_chat(
            &g,
            &[
                ("authorization", &service_auth),
                ("x-gatehouse-user", token),
            ],
            "ok",
        )
        .await;
        assert_eq!(s, 401, "{v}");
        assert_eq!(v["error"]["code"], "unauthenticated");
        assert_no_token(&text, token, "the response");
        invalid.push((
            reason,
            v["error"]["request_id"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(
        up.seen.hits_for("ok"),
        3,
        "only the permitted calls went out"
    );

    let rows = audit_lines(&g);
    let allowed: Vec<&Value> = rows.iter().filter(|r| r["decision"] == "allow").collect();
    assert_eq!(allowed.len(), 3);
    for r in &allowed {
        assert_eq!(r["principal"], "service:support-bot");
    }
    assert!(allowed[0].get("on_behalf_of").is_none_or(Value::is_null));
    assert_eq!(allowed[1]["on_behalf_of"], "user:alice");
    assert_eq!(allowed[2]["on_behalf_of"], "user:alice");
    for (sub, rid) in &denied {
        let row = row_for(&rows, rid);
        assert_eq!(row["principal"], "service:support-bot");
        assert_eq!(row["on_behalf_of"], format!("user:{sub}"));
        assert_eq!(row["status"], 403);
        assert_eq!(row["policies"], json!(["services-act-for-own-tenant"]));
    }
    let row = row_for(&rows, &user_rid);
    assert_eq!(row["principal"], "user:alice");
    assert_eq!(row["reason"], "on_behalf_of_not_a_service");
    for (reason, rid) in &invalid {
        let row = row_for(&rows, rid);
        assert_eq!(row["reason"], *reason);
        assert_eq!(row["status"], 401);
        assert_eq!(row["principal"], "service:support-bot");
    }
    let all = serde_json::to_string(&rows).unwrap();
    for token in [&alice, &expired] {
        assert_no_token(&all, token, "the audit log");
    }
    let bodies = serde_json::to_string(&*up.seen.bodies.lock().unwrap()).unwrap();
    assert_no_token(&bodies, &alice, "the upstream request");
}
