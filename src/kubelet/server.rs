//! The kubelet's HTTPS endpoint (the real kubelet's port 10250): container logs, exec,
//! attach and port-forward, which the API server proxies `pods/log`, `pods/exec`,
//! `pods/attach` and `pods/portforward` to. Clients must present a certificate signed
//! by the cluster CA (the API server's kubelet client certificate).
//!
//! Paths, as the kubelet serves them:
//! `GET /containerLogs/{ns}/{pod}/{container}`, `/exec/{ns}/{pod}/{container}`,
//! `/attach/{ns}/{pod}/{container}`, `/portForward/{ns}/{pod}`, `/healthz`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Request, State};
use axum::response::Response;
use axum::routing::{any, get};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::container::{LABEL_ATTEMPT, LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID};
use super::{Kubelet, KubeletError};
use crate::runtime::container::request::ExecRequest;
use crate::runtime::container::state::ContainerStatus as RtStatus;
use crate::streams::{self, CommandOutcome, RemoteCommandOptions};

/// The serving certificate of this kubelet (self-signed, made once per data dir).
fn serving_identity(k: &Kubelet) -> Result<(String, String), KubeletError> {
    let dir = k.paths.agent().join("kubelet");
    let (crt, key) = (dir.join("serving.crt"), dir.join("serving.key"));
    if let (Ok(c), Ok(kk)) = (std::fs::read_to_string(&crt), std::fs::read_to_string(&key)) {
        return Ok((c, kk));
    }
    let mut names = vec![k.cfg.node_name.clone(), "localhost".to_string()];
    names.extend(k.cfg.addresses.iter().map(|a| a.to_string()));
    names.push("127.0.0.1".into());
    let ck = rcgen::generate_simple_self_signed(names)
        .map_err(|e| KubeletError::Setup(format!("kubelet certificate: {e}")))?;
    let (c, kk) = (ck.cert.pem(), ck.signing_key.serialize_pem());
    let write = || -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(&dir)?;
        std::fs::write(&crt, &c)?;
        std::fs::write(&key, &kk)?;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
    };
    write().map_err(|e| KubeletError::Setup(format!("writing the kubelet certificate: {e}")))?;
    Ok((c, kk))
}

fn tls_config(k: &Kubelet, ca_pem: &str) -> Result<Arc<rustls::ServerConfig>, KubeletError> {
    let err = |e: String| KubeletError::Setup(format!("kubelet TLS: {e}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.map_err(|e| err(e.to_string()))?).map_err(|e| err(e.to_string()))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| err(e.to_string()))?;
    let (cert, key) = serving_identity(k)?;
    let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|e| err(e.to_string()))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| err(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Serve until the listener fails.
pub async fn serve(k: Arc<Kubelet>, ca_pem: String) -> Result<(), KubeletError> {
    let tls = tls_config(&k, &ca_pem)?;
    let addr = std::net::SocketAddr::from(([0, 0, 0, 0], k.cfg.kubelet_port));
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        KubeletError::Setup(format!(
            "cannot listen on {addr} for the kubelet endpoint: {e}; choose another --kubelet-port"
        ))
    })?;
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/containerLogs/{ns}/{pod}/{container}", get(logs))
        .route("/exec/{ns}/{pod}/{container}", any(exec))
        .route("/attach/{ns}/{pod}/{container}", any(attach))
        .route("/portForward/{ns}/{pod}", any(port_forward))
        .with_state(k);
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await else { return };
            let svc = TowerToHyperService::new(app);
            let _ = Builder::new(TokioExecutor::new()).serve_connection_with_upgrades(TokioIo::new(tls), svc).await;
        });
    }
}

fn status_response(code: u16, reason: &str, message: &str) -> Response {
    let body = serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("response")
}

fn query_map(req: &Request) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()).into_owned() {
        out.entry(k).or_default().push(v);
    }
    out
}

fn flag(q: &HashMap<String, Vec<String>>, name: &str) -> bool {
    q.get(name).and_then(|v| v.last()).is_some_and(|v| v == "1" || v == "true")
}

/// The runtime containers of a pod's container, newest attempt first.
async fn runs(k: &Arc<Kubelet>, ns: &str, pod: &str, container: &str) -> Vec<RtStatus> {
    let rt = k.runtime.clone();
    let (ns, pod, container) = (ns.to_string(), pod.to_string(), container.to_string());
    let mut v: Vec<RtStatus> = tokio::task::spawn_blocking(move || {
        rt.list()
            .unwrap_or_default()
            .into_iter()
            .filter(|s| {
                s.labels.get(LABEL_POD_NAMESPACE) == Some(&ns)
                    && s.labels.get(LABEL_POD_NAME) == Some(&pod)
                    && s.labels.get(LABEL_CONTAINER_NAME) == Some(&container)
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    let attempt = |s: &RtStatus| s.labels.get(LABEL_ATTEMPT).and_then(|a| a.parse::<u32>().ok()).unwrap_or(0);
    v.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(attempt(b).cmp(&attempt(a))));
    // Only the newest pod of this name.
    if let Some(uid) = v.first().and_then(|s| s.labels.get(LABEL_POD_UID)).cloned() {
        v.retain(|s| s.labels.get(LABEL_POD_UID) == Some(&uid));
    }
    v.sort_by_key(|s| std::cmp::Reverse(attempt(s)));
    v
}

/// `GET /containerLogs/{ns}/{pod}/{container}` with the options of `pods/log`.
async fn logs(
    State(k): State<Arc<Kubelet>>,
    UrlPath((ns, pod, container)): UrlPath<(String, String, String)>,
    req: Request,
) -> Response {
    let q = query_map(&req);
    let one = |n: &str| q.get(n).and_then(|v| v.last()).cloned();
    let previous = flag(&q, "previous");
    let runs = runs(&k, &ns, &pod, &container).await;
    let run = if previous { runs.get(1) } else { runs.first() };
    let Some(run) = run.cloned() else {
        let msg = if previous {
            format!("previous terminated container \"{container}\" in pod \"{pod}\" not found")
        } else {
            format!("container \"{container}\" in pod \"{pod}\" is waiting to start: ContainerCreating")
        };
        return status_response(400, "BadRequest", &msg);
    };
    let follow = flag(&q, "follow") && !previous;
    let timestamps = flag(&q, "timestamps");
    let tail: Option<usize> = one("tailLines").and_then(|t| t.parse().ok());
    let limit: Option<usize> = one("limitBytes").and_then(|t| t.parse().ok());
    let since: Option<jiff::Timestamp> = match (one("sinceSeconds"), one("sinceTime")) {
        (Some(s), _) => s.parse::<i64>().ok().map(|s| jiff::Timestamp::now() - jiff::SignedDuration::from_secs(s)),
        (None, Some(t)) => t.parse().ok(),
        _ => None,
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(16);
    let rt = k.runtime.clone();
    let id = run.id.clone();
    tokio::task::spawn_blocking(move || {
        let opts = crate::runtime::container::manager::LogOptions { follow, tail };
        let reader = match rt.logs(&id, &opts) {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        };
        let mut sent = 0usize;
        for line in reader {
            let Ok(line) = line else { break };
            if since.is_some_and(|s| line.time < s) {
                continue;
            }
            let mut out = Vec::with_capacity(line.content.len() + 40);
            if timestamps {
                out.extend_from_slice(line.time.to_string().as_bytes());
                out.push(b' ');
            }
            out.extend_from_slice(&line.content);
            if !line.partial {
                out.push(b'\n');
            }
            if let Some(l) = limit {
                if sent >= l {
                    break;
                }
                out.truncate(l - sent);
            }
            sent += out.len();
            if tx.blocking_send(Ok(out)).is_err() {
                break;
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(Body::from_stream(stream))
        .expect("response")
}

/// Answer 101 (or the negotiation error) and hand the upgraded connection to `f`.
fn upgrade<F, Fut>(req: Request, negotiated: Result<streams::Negotiated, streams::NegotiationError>, f: F) -> Response
where
    F: FnOnce(TokioIo<hyper::upgrade::Upgraded>, streams::Negotiated) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let negotiated = match negotiated {
        Ok(n) => n,
        Err(e) => return e.response().map(Body::from),
    };
    let resp = streams::upgrade_response(&negotiated, req.headers());
    let on_upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(up) => f(TokioIo::new(up), negotiated).await,
            Err(e) => tracing::debug!(error = %e, "upgrade failed"),
        }
    });
    resp.map(|_| Body::empty())
}

async fn exec(
    State(k): State<Arc<Kubelet>>,
    UrlPath((ns, pod, container)): UrlPath<(String, String, String)>,
    req: Request,
) -> Response {
    let q = query_map(&req);
    let command: Vec<String> = q.get("command").cloned().unwrap_or_default();
    let opts = match RemoteCommandOptions::from_query(req.uri().query().unwrap_or("")) {
        Ok(o) => o,
        Err(e) => return status_response(400, "BadRequest", &e),
    };
    if command.is_empty() {
        return status_response(400, "BadRequest", "you must specify at least one command for the container");
    }
    let run = runs(&k, &ns, &pod, &container).await.into_iter().next().filter(|r| r.is_alive());
    let Some(run) = run else {
        return status_response(400, "BadRequest", &format!("container not found (\"{container}\")"));
    };
    let negotiated = streams::negotiate_remotecommand(req.headers());
    upgrade(req, negotiated, move |io, negotiated| async move {
        let Ok(session) = streams::accept_remotecommand(io, negotiated, opts).await else { return };
        let rt = k.runtime.clone();
        let ereq = ExecRequest {
            command: command.clone(),
            tty: opts.tty,
            stdin: opts.stdin,
            width: 80,
            height: 24,
            ..Default::default()
        };
        let id = run.id.clone();
        let started = tokio::task::spawn_blocking(move || rt.exec(&id, &ereq)).await;
        match started {
            Ok(Ok(s)) => bridge(session, s, Some(command), true).await,
            Ok(Err(e)) => {
                let _ = session.finish(CommandOutcome::exec_error(e)).await;
            }
            Err(e) => {
                let _ = session.finish(CommandOutcome::exec_error(e)).await;
            }
        }
    })
}

async fn attach(
    State(k): State<Arc<Kubelet>>,
    UrlPath((ns, pod, container)): UrlPath<(String, String, String)>,
    req: Request,
) -> Response {
    let opts = match RemoteCommandOptions::from_query(req.uri().query().unwrap_or("")) {
        Ok(o) => o,
        Err(e) => return status_response(400, "BadRequest", &e),
    };
    let run = runs(&k, &ns, &pod, &container).await.into_iter().next().filter(|r| r.is_alive());
    let Some(run) = run else {
        return status_response(400, "BadRequest", &format!("container not found (\"{container}\")"));
    };
    let negotiated = streams::negotiate_remotecommand(req.headers());
    upgrade(req, negotiated, move |io, negotiated| async move {
        let Ok(session) = streams::accept_remotecommand(io, negotiated, opts).await else { return };
        let rt = k.runtime.clone();
        let id = run.id.clone();
        let started = tokio::task::spawn_blocking(move || rt.attach(&id, opts.stdin, opts.stdout, opts.stderr)).await;
        match started {
            Ok(Ok(s)) => {
                let stdin_once =
                    run.annotations.get(super::container::ANNOTATION_STDIN_ONCE).is_some_and(|v| v == "true");
                bridge(session, s, None, stdin_once).await
            }
            Ok(Err(e)) => {
                let _ = session.finish(CommandOutcome::attach_error(e)).await;
            }
            Err(e) => {
                let _ = session.finish(CommandOutcome::attach_error(e)).await;
            }
        }
    })
}

/// Shuttle a client session and a runtime session until the process ends (or, for attach, the
/// client leaves).
async fn bridge(
    mut session: streams::RemoteCommandSession,
    rt_session: crate::runtime::container::exec::Session,
    command: Option<Vec<String>>,
    close_stdin: bool,
) {
    use crate::runtime::container::protocol;
    // Client stdin → runtime.
    if let Some(mut stdin) = session.take_stdin() {
        let mut w = match rt_session.writer() {
            Ok(w) => w,
            Err(_) => return,
        };
        let (tx, rx) = std::sync::mpsc::channel::<Option<Vec<u8>>>();
        std::thread::spawn(move || {
            while let Ok(Some(chunk)) = rx.recv() {
                if w.stdin(&chunk).is_err() {
                    return;
                }
            }
            if close_stdin {
                let _ = w.close_stdin();
            }
        });
        tokio::spawn(async move {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match stdin.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(Some(buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(None);
        });
    }
    // Resize events → runtime.
    if let (Some(mut resize), Ok(mut w)) = (session.take_resize(), rt_session.writer()) {
        tokio::spawn(async move {
            while let Some(sz) = resize.recv().await {
                let _ = tokio::task::block_in_place(|| w.resize(sz.width, sz.height));
            }
        });
    }
    // Runtime frames → client stdout/stderr, until the status frame.
    let (ftx, mut frx) = tokio::sync::mpsc::channel::<protocol::Frame>(64);
    let mut rs = rt_session;
    std::thread::spawn(move || {
        while let Ok(Some(f)) = rs.next_frame() {
            let last = f.channel == protocol::STATUS;
            if ftx.blocking_send(f).is_err() || last {
                break;
            }
        }
    });
    let mut stdout = session.take_stdout();
    let mut stderr = session.take_stderr();
    let gone = session.disconnected();
    tokio::pin!(gone);
    let mut status: Option<protocol::ExitStatus> = None;
    loop {
        tokio::select! {
            f = frx.recv() => match f {
                None => break,
                Some(f) => match f.channel {
                    protocol::STDOUT => if let Some(o) = stdout.as_mut() { let _ = o.write_all(&f.payload).await; let _ = o.flush().await; },
                    protocol::STDERR => if let Some(e) = stderr.as_mut().or(stdout.as_mut()) { let _ = e.write_all(&f.payload).await; let _ = e.flush().await; },
                    protocol::STATUS => { status = serde_json::from_slice(&f.payload).ok(); break; }
                    _ => {}
                }
            },
            _ = &mut gone, if command.is_none() => break,
        }
    }
    drop(stdout);
    drop(stderr);
    let outcome = match (status, command) {
        (Some(s), Some(cmd)) if s.exit_code != 0 => CommandOutcome::exit_code(s.exit_code, &cmd),
        (None, Some(_)) => CommandOutcome::exec_error("the process's session ended without an exit status"),
        _ => CommandOutcome::Success,
    };
    let _ = session.finish(outcome).await;
}

async fn port_forward(
    State(k): State<Arc<Kubelet>>,
    UrlPath((_ns, pod)): UrlPath<(String, String)>,
    req: Request,
) -> Response {
    let q = query_map(&req);
    let ns = _ns;
    // Any container of the pod tells us its sandbox.
    let rt = k.runtime.clone();
    let (pns, ppod) = (ns.clone(), pod.clone());
    let uid = tokio::task::spawn_blocking(move || {
        rt.list()
            .unwrap_or_default()
            .into_iter()
            .filter(|s| {
                s.is_alive()
                    && s.labels.get(LABEL_POD_NAMESPACE) == Some(&pns)
                    && s.labels.get(LABEL_POD_NAME) == Some(&ppod)
            })
            .max_by_key(|s| s.created_at)
            .and_then(|s| s.labels.get(LABEL_POD_UID).cloned())
    })
    .await
    .ok()
    .flatten();
    let Some(uid) = uid else {
        return status_response(400, "BadRequest", &format!("pod {pod} has no running containers"));
    };
    let sandbox = super::sandbox::load(&k.sandbox, &uid);
    let ports: Vec<u16> = q.get("port").into_iter().flatten().filter_map(|p| p.parse().ok()).collect();
    let negotiated = streams::negotiate_portforward(req.headers());
    upgrade(req, negotiated, move |io, negotiated| async move {
        let Ok(mut session) = streams::accept_portforward(io, negotiated, ports).await else { return };
        while let Some(request) = session.next_request().await {
            let sb = sandbox.clone();
            let (pod, uid) = (pod.clone(), uid.clone());
            tokio::spawn(async move {
                let port = request.port();
                match connect_in_pod(sb.as_ref(), port).await {
                    Ok(mut tcp) => {
                        let (mut stream, _errors) = request.into_parts();
                        let _ = tokio::io::copy_bidirectional(&mut stream, &mut tcp).await;
                    }
                    Err(e) => {
                        let msg = streams::portforward::forward_error_message(port, &pod, &uid, e);
                        request.fail(&msg).await;
                    }
                }
            });
        }
    })
}

/// A TCP connection to `localhost:port` inside the pod's network namespace (as the kubelet
/// does it: the socket is made in the namespace, so servers bound to 127.0.0.1 are reachable).
async fn connect_in_pod(sb: Option<&super::sandbox::Sandbox>, port: u16) -> std::io::Result<tokio::net::TcpStream> {
    let netns = sb.filter(|s| !s.host_network).map(|s| s.netns_path());
    let std_stream = tokio::task::spawn_blocking(move || -> std::io::Result<std::net::TcpStream> {
        let Some(ns) = netns else {
            return std::net::TcpStream::connect_timeout(
                &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                Duration::from_secs(5),
            );
        };
        // A thread of its own enters the namespace; the socket keeps it after the thread ends.
        std::thread::spawn(move || -> std::io::Result<std::net::TcpStream> {
            let f = std::fs::File::open(&ns)?;
            nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
            std::net::TcpStream::connect_timeout(
                &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                Duration::from_secs(5),
            )
        })
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("namespace thread panicked")))
    })
    .await
    .map_err(std::io::Error::other)??;
    std_stream.set_nonblocking(true)?;
    tokio::net::TcpStream::from_std(std_stream)
}
