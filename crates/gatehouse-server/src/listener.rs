//! The listener: accept loop with a connection cap, optional TLS (HTTP/1.1 and HTTP/2 via ALPN),
//! header-size and header-time limits against slow or oversized clients, a URI length limit, and
//! graceful shutdown.

use crate::app::App;
use crate::checkpoint::{ClientAddr, PeerIdentity};
use crate::config::TlsConfig;
use crate::error::{Protocol, error_response};
use crate::routes::router;
use gatehouse_core::{ErrorCode, Rejection, RequestId};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// TLS material could not be loaded.
    #[error("server.tls: {0}")]
    Tls(String),
}

/// Loads a rustls server config (HTTP/2 and HTTP/1.1 via ALPN) from PEM files.
pub fn tls_acceptor(cfg: &TlsConfig) -> Result<tokio_rustls::TlsAcceptor, ListenError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cfg.cert)
        .map_err(|e| ListenError::Tls(format!("cert {}: {e}", cfg.cert.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| ListenError::Tls(format!("cert {}: {e}", cfg.cert.display())))?;
    if certs.is_empty() {
        return Err(ListenError::Tls(format!(
            "cert {}: no certificate found",
            cfg.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&cfg.key)
        .map_err(|e| ListenError::Tls(format!("key {}: {e}", cfg.key.display())))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ListenError::Tls(e.to_string()))?;
    let builder = match &cfg.client_auth {
        None => builder.with_no_client_auth(),
        Some(m) => builder.with_client_cert_verifier(
            m.verifier()
                .map_err(|e| ListenError::Tls(format!("client_auth: {e}")))?,
        ),
    };
    let mut sc = builder
        .with_single_cert(certs, key)
        .map_err(|e| ListenError::Tls(e.to_string()))?;
    sc.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(sc)))
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open connections finish
/// within the configured grace period.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ListenError> {
    let cfg = app.config.server.clone();
    app.spawn_policy_reloader();
    let tls = cfg.tls.as_ref().map(tls_acceptor).transpose()?;
    let router = router(app.clone());
    let permits = Arc::new(Semaphore::new(cfg.max_connections));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(cfg.header_read_timeout_ms))
        .max_buf_size(cfg.max_header_bytes.max(8192))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(cfg.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let builder = Arc::new(builder);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let max_uri = cfg.max_uri_bytes;
    let mtls = Arc::new(cfg.tls.as_ref().and_then(|t| t.client_auth.clone()));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let (stream, addr) = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mk_svc = move |peer: Option<PeerIdentity>| {
            hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                let router = router.clone();
                let peer = peer.clone();
                async move {
                    if req.uri().to_string().len() > max_uri {
                        let rej = Rejection::new(ErrorCode::InvalidRequest, "request URI too long");
                        let mut r = error_response(Protocol::OpenAi, &rej, &RequestId::new());
                        *r.status_mut() = http::StatusCode::URI_TOO_LONG;
                        return Ok::<_, std::convert::Infallible>(r);
                    }
                    req.extensions_mut().insert(ClientAddr(addr));
                    if let Some(p) = peer {
                        req.extensions_mut().insert(p);
                    }
                    router.oneshot(req.map(axum::body::Body::new)).await
                }
            })
        };
        let builder = builder.clone();
        match &tls {
            None => {
                let conn = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), mk_svc(None))
                    .into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(permit);
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                let mtls = mtls.clone();
                tokio::spawn(async move {
                    let tls_stream = match tokio::time::timeout(
                        Duration::from_secs(10),
                        acceptor.accept(stream),
                    )
                    .await
                    {
                        Ok(Ok(s)) => s,
                        _ => return,
                    };
                    // The handshake verified the chain against the CA bundle; map the leaf.
                    let peer = match (&*mtls, tls_stream.get_ref().1.peer_certificates()) {
                        (Some(m), Some(chain)) => chain.first().map(|leaf| {
                            PeerIdentity(Arc::new(
                                gatehouse_identity::principal_from_cert(leaf.as_ref(), m)
                                    .map_err(|f| f.reason()),
                            ))
                        }),
                        _ => None,
                    };
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(tls_stream), mk_svc(peer))
                        .into_owned();
                    let _ = watcher.watch(conn).await;
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_millis(cfg.shutdown_grace_ms)) => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
        }
    }
    app.auditor.flush();
    Ok(())
}
