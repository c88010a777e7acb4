//! mTLS: the client-certificate verifier in real TLS handshakes over 127.0.0.1, and the mapping
//! of verified certificates to service principals.

use std::sync::Arc;

use gatehouse_core::PrincipalKind;
use gatehouse_identity::{
    MtlsConfig, MtlsFailure, MtlsIdentitySource, client_cert_verifier, principal_from_cert,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Ca {
    cert: rcgen::Certificate,
    issuer: Issuer<'static, KeyPair>,
}

struct Leaf {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
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

fn leaf(ca: &Ca, cn: Option<&str>, sans: Vec<SanType>, server: bool) -> Leaf {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    if let Some(cn) = cn {
        params.distinguished_name.push(DnType::CommonName, cn);
    }
    params.subject_alt_names = sans;
    params.extended_key_usages = vec![if server {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    Leaf {
        cert: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

fn uri(s: &str) -> SanType {
    SanType::URI(s.try_into().unwrap())
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Runs one TLS handshake on 127.0.0.1 and returns the client certificate the server saw, or the
/// server's handshake error.
async fn handshake(
    ca_pem_path: &std::path::Path,
    required: bool,
    server_ca: &Ca,
    client: Option<&Leaf>,
) -> Result<Option<Vec<u8>>, String> {
    let server_leaf = leaf(
        server_ca,
        None,
        vec![SanType::DnsName("localhost".try_into().unwrap())],
        true,
    );
    let verifier = client_cert_verifier(ca_pem_path, required).unwrap();
    let server_cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![server_leaf.cert.clone()], server_leaf.key.clone_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_cfg));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(server_ca.cert.der().clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let client_cfg = match client {
        Some(c) => builder
            .with_client_auth_cert(vec![c.cert.clone()], c.key.clone_key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_cfg));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        match acceptor.accept(tcp).await {
            Ok(mut tls) => {
                let peer = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.to_vec());
                let mut buf = [0u8; 4];
                tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
                tls.write_all(b"pong").await.map_err(|e| e.to_string())?;
                tls.shutdown().await.ok();
                Ok(peer)
            }
            Err(e) => Err(e.to_string()),
        }
    });
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let client_side = async {
        let mut tls = connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await?;
        tls.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await?;
        Ok::<_, std::io::Error>(())
    };
    let _ = client_side.await; // the server's view is what matters
    server.await.unwrap()
}

#[tokio::test]
async fn verifier_accepts_leaves_of_the_bundle_ca_and_rejects_others() {
    let corp = ca("Corp Client CA");
    let other = ca("Other CA");
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("clients-ca.pem");
    std::fs::write(&bundle, corp.cert.pem()).unwrap();

    let good = leaf(
        &corp,
        Some("bot"),
        vec![uri("spiffe://corp/ns/x/sa/bot")],
        false,
    );
    let foreign = leaf(
        &other,
        Some("bot"),
        vec![uri("spiffe://corp/ns/x/sa/bot")],
        false,
    );

    let peer = handshake(&bundle, true, &corp, Some(&good))
        .await
        .unwrap()
        .expect("the server saw the client certificate");
    let mut cfg = MtlsConfig::new(&bundle);
    cfg.trust_domains = vec!["corp".to_owned()];
    let p = principal_from_cert(&peer, &cfg).unwrap();
    assert_eq!(p.id, "service:spiffe://corp/ns/x/sa/bot");
    assert_eq!(p.kind, PrincipalKind::Service);
    assert_eq!(p.auth_method.as_deref(), Some("mtls"));
    assert_eq!(
        p.attributes.get("spiffe_trust_domain").map(String::as_str),
        Some("corp")
    );
    assert_eq!(
        p.attributes.get("spiffe_id").map(String::as_str),
        Some("spiffe://corp/ns/x/sa/bot")
    );
    assert_eq!(
        p.attributes.get("cert_subject_cn").map(String::as_str),
        Some("bot")
    );
    assert_eq!(p.attributes["cert_sha256"].len(), 64);

    assert!(
        handshake(&bundle, true, &corp, Some(&foreign))
            .await
            .is_err(),
        "a certificate from another CA fails the handshake"
    );
    assert!(
        handshake(&bundle, false, &corp, Some(&foreign))
            .await
            .is_err(),
        "optional client auth still rejects a bad certificate"
    );
    assert!(
        handshake(&bundle, true, &corp, None).await.is_err(),
        "required client auth rejects a client without a certificate"
    );
    assert_eq!(
        handshake(&bundle, false, &corp, None).await.unwrap(),
        None,
        "optional client auth lets a client without a certificate in, unauthenticated"
    );
}

#[test]
fn bad_bundles_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificates here\n").unwrap();
    assert!(client_cert_verifier(&empty, true).is_err());
    assert!(client_cert_verifier(&dir.path().join("missing.pem"), true).is_err());
    let cfg = MtlsConfig::new(dir.path().join("missing.pem"));
    let e = cfg.verifier().err().unwrap();
    assert!(e.to_string().contains("missing.pem"));
}

#[test]
fn certificates_map_to_principals_by_the_configured_rules() {
    let corp = ca("Corp CA");
    let der = |l: Leaf| l.cert.to_vec();
    let base = MtlsConfig::new("/unused.pem");

    // SAN URI (default).
    let spiffe = der(leaf(
        &corp,
        Some("bot"),
        vec![uri("spiffe://corp/ns/x/sa/bot")],
        false,
    ));
    assert_eq!(
        principal_from_cert(&spiffe, &base).unwrap().id,
        "service:spiffe://corp/ns/x/sa/bot"
    );

    // Trust domains and prefixes.
    let mut td = base.clone();
    td.trust_domains = vec!["prod".to_owned()];
    assert_eq!(
        principal_from_cert(&spiffe, &td),
        Err(MtlsFailure::IdentityNotAllowed)
    );
    assert_eq!(
        principal_from_cert(&spiffe, &td).unwrap_err().reason(),
        "cert_identity_not_allowed"
    );
    let mut prefix = base.clone();
    prefix.allowed_uri_prefixes = vec!["spiffe://corp/ns/x/".to_owned()];
    assert!(principal_from_cert(&spiffe, &prefix).is_ok());
    prefix.allowed_uri_prefixes = vec!["spiffe://corp/ns/y/".to_owned()];
    assert_eq!(
        principal_from_cert(&spiffe, &prefix),
        Err(MtlsFailure::IdentityNotAllowed)
    );

    // Several URIs: only one may be allowed.
    let two = der(leaf(
        &corp,
        None,
        vec![uri("spiffe://corp/a"), uri("spiffe://other/b")],
        false,
    ));
    assert_eq!(
        principal_from_cert(&two, &base),
        Err(MtlsFailure::AmbiguousIdentity)
    );
    let mut corp_only = base.clone();
    corp_only.trust_domains = vec!["corp".to_owned()];
    assert_eq!(
        principal_from_cert(&two, &corp_only).unwrap().id,
        "service:spiffe://corp/a"
    );

    // CN identity, and the fallback.
    let cn_only = der(leaf(&corp, Some("billing-bot"), vec![], false));
    assert_eq!(
        principal_from_cert(&cn_only, &base),
        Err(MtlsFailure::NoIdentity)
    );
    let mut by_cn = base.clone();
    by_cn.identity = MtlsIdentitySource::Cn;
    let p = principal_from_cert(&cn_only, &by_cn).unwrap();
    assert_eq!(p.id, "service:billing-bot");
    assert!(!p.attributes.contains_key("spiffe_trust_domain"));
    let mut either = corp_only.clone();
    either.identity = MtlsIdentitySource::SanUriOrCn;
    assert_eq!(
        principal_from_cert(&cn_only, &either).unwrap().id,
        "service:billing-bot"
    );
    // A disallowed URI does not fall back to the CN.
    let other_td = der(leaf(
        &corp,
        Some("billing-bot"),
        vec![uri("spiffe://evil/x")],
        false,
    ));
    assert_eq!(
        principal_from_cert(&other_td, &either),
        Err(MtlsFailure::IdentityNotAllowed)
    );

    // Names that are not valid principal ids.
    let spaced = der(leaf(&corp, Some("bad name"), vec![], false));
    assert_eq!(
        principal_from_cert(&spaced, &by_cn),
        Err(MtlsFailure::InvalidPrincipal)
    );

    // Garbage and trailing bytes.
    let mut trailing = spiffe.clone();
    trailing.push(0);
    assert_eq!(
        principal_from_cert(&trailing, &base),
        Err(MtlsFailure::MalformedCertificate)
    );
    assert_eq!(
        principal_from_cert(&spiffe[..spiffe.len() / 2], &base),
        Err(MtlsFailure::MalformedCertificate)
    );
}

#[test]
fn config_parses_with_defaults_and_rejects_unknown_fields() {
    let cfg: MtlsConfig = serde_json::from_value(serde_json::json!({
        "ca_bundle": "/etc/ca.pem", "trust_domains": ["corp"]
    }))
    .unwrap();
    assert!(!cfg.required);
    assert_eq!(cfg.identity, MtlsIdentitySource::SanUri);
    assert!(
        serde_json::from_value::<MtlsConfig>(serde_json::json!({
            "ca_bundle": "/etc/ca.pem", "identity": "email"
        }))
        .is_err()
    );
    assert!(
        serde_json::from_value::<MtlsConfig>(serde_json::json!({
            "ca_bundle": "/etc/ca.pem", "bogus": 1
        }))
        .is_err()
    );
}
