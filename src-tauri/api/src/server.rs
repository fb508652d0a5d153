//! Serving the API on a socket, plain or over TLS, until told to stop.

use axum::serve::Listener;
use berth_core::{Error, ErrorCode, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::{app, ApiState};

/// How long a TLS handshake may take.
const HANDSHAKE_WITHIN: Duration = Duration::from_secs(10);
/// How long requests under way may take to finish once stopping.
const DRAIN_WITHIN: Duration = Duration::from_secs(10);

/// A certificate chain and its private key, PEM files (`--tls-cert`, `--tls-key`).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsFiles {
    fn acceptor(&self) -> Result<TlsAcceptor> {
        let bad = |what: &str, file: &PathBuf, e: &dyn std::fmt::Display| {
            Error::config(
                ErrorCode::ConfigInvalid,
                what,
                format!("{}: {e}", file.display()),
            )
        };
        let certs = CertificateDer::pem_file_iter(&self.cert)
            .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| bad("--tls-cert", &self.cert, &e))?;
        if certs.is_empty() {
            return Err(bad("--tls-cert", &self.cert, &"no certificate in the file"));
        }
        let key =
            PrivateKeyDer::from_pem_file(&self.key).map_err(|e| bad("--tls-key", &self.key, &e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("--tls-cert", &self.cert, &e))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| bad("--tls-key", &self.key, &e))?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// The API bound to its socket, not yet serving.
pub struct Api {
    listener: TcpListener,
    addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    app: axum::Router,
}

impl Api {
    /// Binds `addr` (port 0: any free port) and, with `tls`, loads the
    /// certificate and key; a bad file or a busy address is refused here,
    /// before anything is served (`config_invalid`).
    pub async fn bind(state: ApiState, addr: SocketAddr, tls: Option<&TlsFiles>) -> Result<Api> {
        let tls = tls.map(TlsFiles::acceptor).transpose()?;
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            Error::config(
                ErrorCode::ConfigInvalid,
                "--listen (BERTH_API_ADDR)",
                format!("cannot listen on {addr}: {e}"),
            )
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::new(ErrorCode::Internal, format!("no local address: {e}")))?;
        Ok(Api {
            listener,
            addr,
            tls,
            app: app(state),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https` over TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// Serves until `stop` resolves, then stops accepting and lets requests
    /// under way finish (up to 10 s; connections still open then are dropped).
    pub async fn run(self, stop: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let graceful = async move {
            let _ = stopped.await;
        };
        let server = match self.tls {
            None => tokio::spawn(
                axum::serve(self.listener, self.app)
                    .with_graceful_shutdown(graceful)
                    .into_future(),
            ),
            Some(acceptor) => {
                let listener = TlsListener::start(self.listener, acceptor, self.addr);
                tokio::spawn(
                    axum::serve(listener, self.app)
                        .with_graceful_shutdown(graceful)
                        .into_future(),
                )
            }
        };
        stop.await;
        let _ = stopping.send(());
        let abort = server.abort_handle();
        match tokio::time::timeout(DRAIN_WITHIN, server).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(Error::new(
                ErrorCode::Internal,
                format!("the API server failed: {e}"),
            )),
            Ok(Err(e)) => Err(Error::new(
                ErrorCode::Internal,
                format!("the API server task failed: {e}"),
            )),
            Err(_) => {
                tracing::warn!("API: requests still open after {DRAIN_WITHIN:?}; dropped");
                abort.abort();
                Ok(())
            }
        }
    }
}

/// Accepted TLS connections: handshakes run in their own tasks (a slow
/// client never holds up the others) and the finished ones are handed to
/// the server in order of completion.
struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    addr: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    fn start(listener: TcpListener, acceptor: TlsAcceptor, addr: SocketAddr) -> Self {
        let (tx, ready) = mpsc::channel(64);
        let accepting = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, go on.
                        tracing::warn!(error = %e, "API: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_WITHIN, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "API: TLS handshake failed"),
                        Err(_) => tracing::debug!("API: TLS handshake timed out"),
                    }
                });
            }
        });
        TlsListener {
            ready,
            addr,
            accepting,
        }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task ended (never, short of a panic): accept no more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}
