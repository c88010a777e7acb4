//! JWT / OIDC verification against a real local identity provider.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::PrincipalKind;
use gatehouse_identity::{ClaimsMapping, IssuerConfig, JwtConfig, JwtFailure, JwtVerifier};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::idp::{Idp, SigningKey, claims, now, raw_token};

fn issuer_cfg(name: &str, idp: &Idp, discovery: bool) -> IssuerConfig {
    IssuerConfig {
        name: name.to_owned(),
        issuer: idp.issuer.clone(),
        discovery,
        jwks_url: (!discovery).then(|| idp.jwks_url()),
        audiences: vec!["gatehouse".to_owned(), "gatehouse-alt".to_owned()],
        algorithms: vec![
            "RS256".to_owned(),
            "PS256".to_owned(),
            "ES256".to_owned(),
            "EdDSA".to_owned(),
        ],
        leeway_secs: 30,
        refresh_secs: 300,
        min_refresh_interval_secs: 60,
        http_timeout_ms: 2000,
        claims: ClaimsMapping::default(),
    }
}

fn config(issuers: Vec<IssuerConfig>) -> JwtConfig {
    JwtConfig {
        issuers,
        max_token_bytes: 8192,
        header: Some("x-gatehouse-user-token".to_owned()),
    }
}

async fn reason(v: &JwtVerifier, token: &str) -> &'static str {
    match v.verify(token).await {
        Ok(p) => panic!("token accepted as {}", p.id),
        Err(e) => e.reason(),
    }
}

#[tokio::test]
async fn valid_tokens_from_two_issuers_with_discovery_and_explicit_jwks_url() {
    let rsa = SigningKey::rsa("rsa-1");
    let ps = SigningKey::rsa_with("ps-1", Algorithm::PS256);
    let ec = SigningKey::p256("ec-1");
    let ed = SigningKey::ed25519("ed-1");
    let idp_a = Idp::start(&[&rsa, &ps, &ec]).await;
    let idp_b = Idp::start(&[&ed]).await;
    let v = JwtVerifier::new(&config(vec![
        issuer_cfg("corp", &idp_a, true),
        issuer_cfg("ci", &idp_b, false),
    ]))
    .await
    .unwrap();
    assert!(v.ready());
    assert_eq!(idp_a.discovery_fetches(), 1, "discovery used for corp");
    assert_eq!(idp_b.discovery_fetches(), 0, "explicit jwks_url for ci");
    let status = v.status();
    assert_eq!(status[0].name, "corp");
    assert_eq!(status[0].keys_loaded, 3);
    assert_eq!(status[1].keys_loaded, 1);
    assert!(status.iter().all(|s| s.last_error.is_none()));
    assert_eq!(v.header(), Some("x-gatehouse-user-token"));

    for (key, sub) in [(&rsa, "alice"), (&ps, "pat"), (&ec, "bob")] {
        let p = v
            .verify(&key.sign(&claims(&idp_a.issuer, sub)))
            .await
            .unwrap();
        assert_eq!(p.id, format!("user:{sub}"));
        assert_eq!(p.kind, PrincipalKind::User);
        assert_eq!(p.auth_method.as_deref(), Some("jwt"));
        assert_eq!(p.attributes.get("issuer").map(String::as_str), Some("corp"));
        assert_eq!(p.key_id, None);
    }
    let mut c = claims(&idp_b.issuer, "carol");
    c["aud"] = json!(["other", "gatehouse-alt"]);
    let p = v.verify(&ed.sign(&c)).await.unwrap();
    assert_eq!(p.id, "user:carol");
    assert_eq!(p.attributes.get("issuer").map(String::as_str), Some("ci"));

    // A key is bound to its issuer: ci's key cannot sign for corp.
    assert_eq!(
        reason(&v, &ed.sign(&claims(&idp_a.issuer, "mallory"))).await,
        "unknown_kid"
    );
    // A token without kid is accepted when exactly one key fits.
    let p = v
        .verify(&ed.sign_as(None, &claims(&idp_b.issuer, "dave")))
        .await
        .unwrap();
    assert_eq!(p.id, "user:dave");
}

#[tokio::test]
async fn claims_map_to_groups_team_and_attributes() {
    let key = SigningKey::ed25519("k1");
    let idp = Idp::start(&[&key]).await;
    let mut cfg = issuer_cfg("corp", &idp, true);
    cfg.claims = ClaimsMapping {
        principal_claim: "email".to_owned(),
        principal_kind: PrincipalKind::Service,
        principal_prefix: Some("corp/".to_owned()),
        groups_claims: vec![
            "groups".to_owned(),
            "roles".to_owned(),
            "https://corp.example/teams".to_owned(),
        ],
        team_claim: Some("org.team".to_owned()),
        attributes: BTreeMap::from([
            ("tenant".to_owned(), "tenant_id".to_owned()),
            ("department".to_owned(), "org.department".to_owned()),
            ("level".to_owned(), "org.level".to_owned()),
            ("admin".to_owned(), "is_admin".to_owned()),
            ("scopes".to_owned(), "scp".to_owned()),
            ("nested".to_owned(), "org".to_owned()),
            ("absent".to_owned(), "nope.nothing".to_owned()),
        ]),
    };
    let v = JwtVerifier::new(&config(vec![cfg])).await.unwrap();

    let mut c = claims(&idp.issuer, "ignored-sub");
    c["email"] = json!("bot@corp.example");
    c["groups"] = json!(["eng", "oncall", 7, "eng"]);
    c["roles"] = json!("admin");
    c["https://corp.example/teams"] = json!(["platform"]);
    c["org"] = json!({"team": "payments", "department": "finance", "level": 3});
    c["tenant_id"] = json!("t-42");
    c["is_admin"] = json!(false);
    c["scp"] = json!(["read", "write"]);
    let p = v.verify(&key.sign(&c)).await.unwrap();
    assert_eq!(p.id, "service:corp/bot@corp.example");
    assert_eq!(p.kind, PrincipalKind::Service);
    assert_eq!(p.groups, ["eng", "oncall", "admin", "platform"]);
    assert_eq!(p.team.as_deref(), Some("payments"));
    let attrs: Vec<(&str, &str)> = p
        .attributes
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        attrs,
        [
            ("admin", "false"),
            ("department", "finance"),
            ("issuer", "corp"),
            ("level", "3"),
            ("scopes", "read,write"),
            ("tenant", "t-42"),
        ]
    );

    // The principal claim is required and must make a valid id.
    let mut c = claims(&idp.issuer, "x");
    assert_eq!(reason(&v, &key.sign(&c)).await, "missing_claim");
    c["email"] = json!("has space@corp");
    assert_eq!(reason(&v, &key.sign(&c)).await, "invalid_claim");
    c["email"] = json!({"not": "a string"});
    assert_eq!(reason(&v, &key.sign(&c)).await, "invalid_claim");
    c["email"] = json!("x".repeat(200));
    assert_eq!(reason(&v, &key.sign(&c)).await, "invalid_claim");
}

#[tokio::test]
async fn every_attack_fails_with_its_reason_and_garbage_never_fetches() {
    let rsa = SigningKey::rsa("rsa-1");
    let ec = SigningKey::p256("ec-1");
    let idp = Idp::start(&[&rsa, &ec]).await;
    let other_idp_key = SigningKey::rsa("rsa-1"); // same kid, different key
    let v = JwtVerifier::new(&config(vec![issuer_cfg("corp", &idp, false)]))
        .await
        .unwrap();
    let fetches = idp.jwks_fetches();
    let iss = idp.issuer.clone();
    let good = claims(&iss, "alice");
    assert!(v.verify(&rsa.sign(&good)).await.is_ok());

    let with = |k: &str, val: Value| {
        let mut c = good.clone();
        c[k] = val;
        c
    };
    let without = |k: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(k);
        c
    };

    // Time.
    let expired = with("exp", json!(now() - 120));
    assert_eq!(reason(&v, &rsa.sign(&expired)).await, "expired_token");
    let within_leeway = with("exp", json!(now() - 5));
    assert!(v.verify(&rsa.sign(&within_leeway)).await.is_ok());
    let future = with("nbf", json!(now() + 600));
    assert_eq!(reason(&v, &rsa.sign(&future)).await, "token_not_yet_valid");
    assert_eq!(
        reason(&v, &rsa.sign(&without("exp"))).await,
        "missing_claim"
    );

    // Audience and issuer.
    let wrong_aud = with("aud", json!("someone-else"));
    assert_eq!(reason(&v, &rsa.sign(&wrong_aud)).await, "wrong_audience");
    let wrong_aud_list = with("aud", json!(["a", "b"]));
    assert_eq!(
        reason(&v, &rsa.sign(&wrong_aud_list)).await,
        "wrong_audience"
    );
    assert_eq!(
        reason(&v, &rsa.sign(&without("aud"))).await,
        "missing_claim"
    );
    let wrong_iss = with("iss", json!("https://evil.example"));
    assert_eq!(reason(&v, &rsa.sign(&wrong_iss)).await, "unknown_issuer");
    let iss_prefix = with("iss", json!(format!("{iss}/")));
    assert_eq!(reason(&v, &rsa.sign(&iss_prefix)).await, "unknown_issuer");
    assert_eq!(
        reason(&v, &rsa.sign(&without("iss"))).await,
        "missing_claim"
    );

    // Keys.
    assert_eq!(
        reason(&v, &rsa.sign_as(Some("no-such-kid"), &good)).await,
        "unknown_kid"
    );
    assert_eq!(
        reason(&v, &other_idp_key.sign(&good)).await,
        "invalid_signature",
        "a key the issuer never published, claiming a published kid"
    );
    // ES256 header naming the RSA key's kid.
    assert_eq!(
        reason(&v, &ec.sign_as(Some("rsa-1"), &good)).await,
        "algorithm_not_allowed"
    );

    // Algorithm confusion: HS256 with the RSA public key as the HMAC secret.
    for secret in [
        rsa.public_pem.as_bytes(),
        rsa.jwk["n"].as_str().unwrap().as_bytes(),
    ] {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("rsa-1".to_owned());
        let forged = jsonwebtoken::encode(&h, &good, &EncodingKey::from_secret(secret)).unwrap();
        assert_eq!(reason(&v, &forged).await, "algorithm_not_allowed");
    }
    // alg: none, with and without a signature segment, and odd spellings.
    for alg in ["none", "None", "NONE", "HS512", ""] {
        let h = json!({"alg": alg, "kid": "rsa-1", "typ": "JWT"});
        assert_eq!(
            reason(&v, &raw_token(&h, &good, "")).await,
            "algorithm_not_allowed"
        );
        assert_eq!(
            reason(&v, &raw_token(&h, &good, "c2ln")).await,
            "algorithm_not_allowed"
        );
    }
    // An algorithm the issuer does not allow (but the library knows).
    let rs384 = {
        let mut h = Header::new(Algorithm::RS384);
        h.kid = Some("rsa-1".to_owned());
        raw_token(&serde_json::to_value(&h).unwrap(), &good, "c2ln")
    };
    assert_eq!(reason(&v, &rs384).await, "algorithm_not_allowed");

    // Tampering and truncation.
    let token = rsa.sign(&good);
    let parts: Vec<&str> = token.split('.').collect();
    let tampered_payload = URL_SAFE_NO_PAD.encode(with("sub", json!("admin")).to_string());
    let tampered = format!("{}.{}.{}", parts[0], tampered_payload, parts[2]);
    assert_eq!(reason(&v, &tampered).await, "invalid_signature");
    let short_sig = format!("{}.{}.{}", parts[0], parts[1], &parts[2][4..]);
    assert_eq!(reason(&v, &short_sig).await, "invalid_signature");
    let flipped = if parts[2].starts_with('A') { "B" } else { "A" };
    let bad_sig = format!("{}.{}.{flipped}{}", parts[0], parts[1], &parts[2][1..]);
    assert_eq!(reason(&v, &bad_sig).await, "invalid_signature");
    let no_sig = format!("{}.{}.", parts[0], parts[1]);
    assert_eq!(reason(&v, &no_sig).await, "malformed_token");
    assert_eq!(
        reason(&v, &token[..token.len() / 2]).await,
        "malformed_token"
    );
    assert_eq!(
        reason(&v, &format!("{}.{}", parts[0], parts[1])).await,
        "malformed_token"
    );
    assert_eq!(
        reason(&v, &format!("{token}.extra")).await,
        "malformed_token"
    );

    // Garbage.
    for garbage in [
        "",
        ".",
        "..",
        "...",
        "a.b.c",
        "not a token",
        "Bearer x",
        "e30.e30.e30",
        "eyJhbGciOiJSUzI1NiJ9.%%%.sig",
        "\u{0}\u{1}.\u{ff}.x",
    ] {
        assert_eq!(reason(&v, garbage).await, "malformed_token", "{garbage:?}");
    }
    let crit = json!({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"]});
    assert_eq!(
        reason(&v, &raw_token(&crit, &good, "c2ln")).await,
        "malformed_token"
    );
    let array_payload = raw_token(&json!({"alg": "RS256"}), &json!([1, 2]), "c2ln");
    assert_eq!(reason(&v, &array_payload).await, "malformed_token");

    // Size cap.
    let oversized = rsa.sign(&with("pad", json!("x".repeat(9000))));
    assert_eq!(reason(&v, &oversized).await, "token_too_large");

    assert_eq!(
        idp.jwks_fetches(),
        fetches,
        "only the unknown kid may fetch, and it is inside the min interval"
    );
}

#[tokio::test]
async fn oversize_tokens_are_rejected_before_parsing_and_the_cap_is_configurable() {
    let key = SigningKey::p256("k1");
    let idp = Idp::start(&[&key]).await;
    let mut cfg = config(vec![issuer_cfg("corp", &idp, true)]);
    cfg.max_token_bytes = 1024;
    let v = JwtVerifier::new(&cfg).await.unwrap();
    // Garbage that would be malformed if parsed is reported as too large: the cap comes first.
    assert_eq!(reason(&v, &"%".repeat(1025)).await, "token_too_large");
    assert_eq!(reason(&v, &"%".repeat(1024)).await, "malformed_token");
    let mut c = claims(&idp.issuer, "alice");
    c["pad"] = json!("y".repeat(1000));
    assert_eq!(reason(&v, &key.sign(&c)).await, "token_too_large");
    assert_eq!(
        reason(&v, &"a".repeat(10 * 1024 * 1024)).await,
        "token_too_large"
    );
}

#[tokio::test]
async fn key_rotation_refetches_on_a_new_kid_and_drops_the_old_key() {
    let old = SigningKey::rsa("2026-01");
    let new = SigningKey::p256("2026-02");
    let idp = Idp::start(&[&old]).await;
    let mut cfg = issuer_cfg("corp", &idp, true);
    cfg.min_refresh_interval_secs = 1;
    let v = JwtVerifier::new(&config(vec![cfg])).await.unwrap();
    assert!(
        v.verify(&old.sign(&claims(&idp.issuer, "alice")))
            .await
            .is_ok()
    );
    assert_eq!(idp.jwks_fetches(), 1);

    idp.publish(&[&new]);
    tokio::time::sleep(Duration::from_millis(1100)).await; // past the min interval
    let p = v
        .verify(&new.sign(&claims(&idp.issuer, "bob")))
        .await
        .unwrap();
    assert_eq!(p.id, "user:bob");
    assert_eq!(idp.jwks_fetches(), 2, "the new kid caused one refetch");
    assert_eq!(
        reason(&v, &old.sign(&claims(&idp.issuer, "alice"))).await,
        "unknown_kid",
        "the old key was removed"
    );
    assert_eq!(v.status()[0].keys_loaded, 1);
}

#[tokio::test]
async fn unknown_kid_hammering_causes_at_most_one_fetch() {
    let key = SigningKey::ed25519("real");
    let idp = Idp::start(&[&key]).await;
    let mut cfg = issuer_cfg("corp", &idp, false);
    cfg.min_refresh_interval_secs = 2;
    let v = JwtVerifier::new(&config(vec![cfg])).await.unwrap();
    assert_eq!(idp.jwks_fetches(), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await; // a refetch is allowed now

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let v = v.clone();
        let kid = format!("random-{}", rand::random::<u64>());
        let token = key.sign_as(Some(&kid), &claims(&idp.issuer, "mallory"));
        tasks.spawn(async move { v.verify(&token).await.map(|_| ()) });
    }
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap(), Err(JwtFailure::UnknownKid));
    }
    let fetches = idp.jwks_fetches();
    assert!(
        (2..=3).contains(&fetches),
        "100 concurrent unknown kids caused {} fetches",
        fetches - 1
    );
    // Sequential hammering inside the interval fetches nothing more.
    for i in 0..100 {
        let token = key.sign_as(Some(&format!("seq-{i}")), &claims(&idp.issuer, "m"));
        assert_eq!(reason(&v, &token).await, "unknown_kid");
    }
    assert!(idp.jwks_fetches() <= fetches + 1);
    // Real tokens keep working throughout.
    assert!(
        v.verify(&key.sign(&claims(&idp.issuer, "alice")))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn cached_keys_keep_working_while_the_idp_is_down() {
    let key = SigningKey::rsa("k1");
    let mut idp = Idp::start(&[&key]).await;
    let mut cfg = issuer_cfg("corp", &idp, true);
    cfg.min_refresh_interval_secs = 1;
    let v = JwtVerifier::new(&config(vec![cfg])).await.unwrap();
    let iss = idp.issuer.clone();
    idp.stop().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // An unknown kid tries the provider, which fails; the cache survives.
    let stranger = SigningKey::rsa("k2");
    assert_eq!(
        reason(&v, &stranger.sign(&claims(&iss, "m"))).await,
        "unknown_kid"
    );
    let st = &v.status()[0];
    assert_eq!(st.keys_loaded, 1);
    assert!(st.last_error.is_some(), "the failed refresh is reported");
    assert!(st.ready());
    let p = v.verify(&key.sign(&claims(&iss, "alice"))).await.unwrap();
    assert_eq!(p.id, "user:alice");
}

#[tokio::test]
async fn an_idp_down_at_start_recovers_through_the_refresh_task() {
    let key = SigningKey::p256("k1");
    let idp = Idp::start(&[&key]).await;
    idp.set_failing(true);
    let mut cfg = issuer_cfg("corp", &idp, true);
    cfg.min_refresh_interval_secs = 1;
    cfg.refresh_secs = 1;
    let v = JwtVerifier::new(&config(vec![cfg])).await.unwrap();
    assert!(!v.ready());
    let st = &v.status()[0];
    assert_eq!(st.keys_loaded, 0);
    assert_eq!(st.last_error.as_deref(), Some("discovery: HTTP status 503"));
    let token = key.sign(&claims(&idp.issuer, "alice"));
    assert_eq!(reason(&v, &token).await, "keys_unavailable");

    idp.set_failing(false);
    let task = v.spawn_refresh();
    let mut ready = false;
    for _ in 0..100 {
        if v.ready() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the refresh task loaded the keys");
    assert!(v.verify(&token).await.is_ok());
    task.abort();
}

#[tokio::test]
async fn jwks_with_odd_keys_keeps_only_usable_signature_keys() {
    let key = SigningKey::rsa("good");
    let idp = Idp::start(&[]).await;
    idp.publish_raw(vec![
        json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}),
        json!({"kty": "RSA", "kid": "enc", "use": "enc", "n": key.jwk["n"], "e": "AQAB"}),
        json!({"kty": "RSA", "kid": "oaep", "alg": "RSA-OAEP", "n": key.jwk["n"], "e": "AQAB"}),
        json!({"kty": "weird", "kid": "w"}),
        json!("not an object"),
        key.jwk.clone(),
    ]);
    let v = JwtVerifier::new(&config(vec![issuer_cfg("corp", &idp, false)]))
        .await
        .unwrap();
    assert_eq!(v.status()[0].keys_loaded, 1);
    assert!(v.verify(&key.sign(&claims(&idp.issuer, "a"))).await.is_ok());
    // An HMAC token naming the published oct key is refused by algorithm, not by key lookup.
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("hmac".to_owned());
    let forged = jsonwebtoken::encode(
        &h,
        &claims(&idp.issuer, "a"),
        &EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    assert_eq!(reason(&v, &forged).await, "algorithm_not_allowed");
}

#[tokio::test]
async fn failures_and_the_verifier_never_show_the_token() {
    let key = SigningKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let v = JwtVerifier::new(&config(vec![issuer_cfg("corp", &idp, true)]))
        .await
        .unwrap();
    let mut expired = claims(&idp.issuer, "alice");
    expired["exp"] = json!(now() - 3600);
    let tokens = [
        key.sign(&expired),
        key.sign_as(Some("zz-unknown-kid-zz"), &claims(&idp.issuer, "a")),
        raw_token(&json!({"alg": "none"}), &claims(&idp.issuer, "a"), ""),
        "garbage-token-value-1234".to_owned(),
        "q".repeat(9000),
    ];
    let verifier_debug = format!("{v:?}");
    assert!(verifier_debug.contains("corp"));
    assert!(!verifier_debug.contains(key.jwk["n"].as_str().unwrap()));
    for token in &tokens {
        let e = v.verify(token).await.unwrap_err();
        let shown = format!("{e} {e:?} {}", e.reason());
        for part in token.split('.').filter(|p| p.len() > 3) {
            assert!(!shown.contains(part), "{shown:?} shows part of the token");
        }
        assert!(!shown.contains("zz-unknown-kid-zz"));
    }
    let status = format!("{:?}", v.status());
    assert!(!status.contains(key.jwk["n"].as_str().unwrap()));
}

#[tokio::test]
async fn invalid_configs_are_refused_before_any_fetch() {
    let key = SigningKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let mut hs = issuer_cfg("corp", &idp, true);
    hs.algorithms = vec!["HS256".to_owned()];
    let mut none = issuer_cfg("corp", &idp, true);
    none.algorithms = vec!["none".to_owned()];
    let mut both = issuer_cfg("corp", &idp, true);
    both.jwks_url = Some(idp.jwks_url());
    let mut remote_http = issuer_cfg("corp", &idp, false);
    remote_http.jwks_url = Some("http://jwks.example/keys".to_owned());
    for cfg in [hs, none, both, remote_http] {
        assert!(JwtVerifier::new(&config(vec![cfg])).await.is_err());
    }
    assert_eq!(idp.jwks_fetches() + idp.discovery_fetches(), 0);
}
