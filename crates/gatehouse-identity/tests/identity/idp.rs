//! A real local OIDC identity provider on 127.0.0.1: a discovery document, a JWKS that the test
//! can swap, fetch counters, an outage switch, and signing keys generated in the test.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rcgen::{KeyPair, PublicKeyData};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct IdpState {
    issuer: String,
    jwks: Mutex<Vec<Value>>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
    failing: AtomicBool,
}

/// A running identity provider.
pub struct Idp {
    pub issuer: String,
    state: Arc<IdpState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

async fn discovery(State(st): State<Arc<IdpState>>) -> Response {
    st.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    if st.failing.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    axum::Json(json!({
        "issuer": st.issuer,
        "jwks_uri": format!("{}/jwks.json", st.issuer),
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
    }))
    .into_response()
}

async fn jwks(State(st): State<Arc<IdpState>>) -> Response {
    st.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if st.failing.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let keys = st.jwks.lock().unwrap().clone();
    axum::Json(json!({ "keys": keys })).into_response()
}

impl Idp {
    /// Starts an IdP serving the public halves of `keys`.
    pub async fn start(keys: &[&SigningKey]) -> Idp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(IdpState {
            issuer: issuer.clone(),
            jwks: Mutex::new(keys.iter().map(|k| k.jwk.clone()).collect()),
            jwks_fetches: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
            failing: AtomicBool::new(false),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks.json", get(jwks))
            .with_state(Arc::clone(&state));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Idp {
            issuer,
            state,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/jwks.json", self.issuer)
    }

    /// Replaces the published keys (rotation).
    pub fn publish(&self, keys: &[&SigningKey]) {
        *self.state.jwks.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    /// Publishes raw JWK values (for odd keys).
    pub fn publish_raw(&self, keys: Vec<Value>) {
        *self.state.jwks.lock().unwrap() = keys;
    }

    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    pub fn discovery_fetches(&self) -> usize {
        self.state.discovery_fetches.load(Ordering::SeqCst)
    }

    /// Makes every endpoint answer 503 (or serve again).
    pub fn set_failing(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    /// Stops the server; its port refuses connections afterwards.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// A private signing key with its public JWK.
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    pub enc: EncodingKey,
    pub jwk: Value,
    /// PEM of the public key (for the algorithm-confusion attack).
    pub public_pem: String,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    &b[first..]
}

impl SigningKey {
    pub fn rsa(kid: &str) -> SigningKey {
        Self::rsa_with(kid, Algorithm::RS256)
    }

    pub fn rsa_with(kid: &str, alg: Algorithm) -> SigningKey {
        let kp = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let enc = EncodingKey::from_rsa_pem(kp.serialize_pem().as_bytes()).unwrap();
        let spki = kp.subject_public_key_info();
        let (_, info) =
            <x509_parser::x509::SubjectPublicKeyInfo as x509_parser::prelude::FromDer<_>>::from_der(&spki)
                .unwrap();
        let x509_parser::public_key::PublicKey::RSA(rsa) = info.parsed().unwrap() else {
            panic!("not an RSA key");
        };
        let alg_name = format!("{alg:?}");
        SigningKey {
            kid: kid.to_owned(),
            alg,
            enc,
            jwk: json!({"kty": "RSA", "use": "sig", "alg": alg_name, "kid": kid,
                        "n": b64(strip_zeros(rsa.modulus)), "e": b64(strip_zeros(rsa.exponent))}),
            public_pem: kp.public_key_pem(),
        }
    }

    pub fn p256(kid: &str) -> SigningKey {
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

    pub fn ed25519(kid: &str) -> SigningKey {
        let kp = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        SigningKey {
            kid: kid.to_owned(),
            alg: Algorithm::EdDSA,
            enc: EncodingKey::from_ed_der(&kp.serialize_der()),
            jwk: json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": kid,
                        "x": b64(kp.public_key_raw())}),
            public_pem: kp.public_key_pem(),
        }
    }

    /// Signs `claims` with this key, naming its kid.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(Some(&self.kid), claims)
    }

    /// Signs `claims` with this key, naming any kid (or none).
    pub fn sign_as(&self, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.enc).unwrap()
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Standard claims for `issuer`, valid for an hour, audience `gatehouse`.
pub fn claims(issuer: &str, sub: &str) -> Value {
    json!({"iss": issuer, "sub": sub, "aud": "gatehouse", "iat": now(), "exp": now() + 3600})
}

/// Builds an unsigned-style token from raw JSON header and payload and a signature segment.
pub fn raw_token(header: &Value, payload: &Value, sig: &str) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes()),
        sig
    )
}
