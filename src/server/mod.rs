//! `coracle server`: assemble the store, registry, API server and controllers,
//! and serve HTTPS.

pub mod bootstrap;
pub mod certs;
pub mod config;
pub mod tls;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::apiserver::{self, ApiState};
use crate::registry::{Registry, RegistryConfig};
use crate::store::sqlite::SqliteStore;
use config::ServerConfig;

/// A failure that ends the process with a one-line message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// Check that the data dir can be used, with a message that says what to do if not.
fn prepare_data_dir(dir: &Path) -> Result<(), StartError> {
    let fix = "pass --data-dir with a writable directory";
    std::fs::create_dir_all(dir.join("server").join("db"))
        .map_err(|e| StartError(format!("cannot use data dir {}: {e}; {fix}", dir.display())))?;
    let probe = dir.join("server").join(".write-test");
    std::fs::write(&probe, b"ok")
        .map_err(|e| StartError(format!("cannot write to data dir {}: {e}; {fix}", dir.display())))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// IPv4 addresses of this host's interfaces, loopback excluded.
pub fn host_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for a in addrs {
            // Bridges and veths of pod networks (ours or another instance's) are not the host's.
            if ["cni", "veth", "docker", "flannel"].iter().any(|p| a.interface_name.starts_with(p)) {
                continue;
            }
            if let Some(sin) = a.address.as_ref().and_then(|s| s.as_sockaddr_in()) {
                let ip = IpAddr::V4(sin.ip());
                if !ip.is_loopback() && !out.contains(&ip) {
                    out.push(ip);
                }
            }
        }
    }
    out
}

/// Run the server until it is killed.
pub async fn run(cfg: ServerConfig) -> Result<(), StartError> {
    prepare_data_dir(&cfg.data_dir)?;
    // Bind first: a busy port should fail at once.
    let addr = SocketAddr::new(cfg.bind_address, cfg.port);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        StartError(format!("cannot listen on {addr}: {e}; stop whatever uses the port or pass --https-listen-port"))
    })?;

    let db = cfg.data_dir.join("server").join("db").join("state.db");
    let store =
        SqliteStore::open(&db).map_err(|e| StartError(format!("cannot open the datastore {}: {e}", db.display())))?;

    let addresses = host_addresses();
    let advertise = if cfg.bind_address.is_unspecified() || cfg.bind_address.is_loopback() {
        addresses.first().copied().unwrap_or(IpAddr::from([127, 0, 0, 1]))
    } else {
        cfg.bind_address
    };
    let service_ip = IpAddr::V4(std::net::Ipv4Addr::from(u32::from(cfg.service_cidr.network()) + 1));
    let mut names_addrs = addresses.clone();
    if !cfg.bind_address.is_unspecified() {
        names_addrs.push(cfg.bind_address);
    }
    let names = certs::serving_names(&cfg.node_name, &names_addrs, service_ip);
    let certs = certs::ensure(&certs::CertPaths::new(&cfg.data_dir), &names).map_err(StartError)?;
    let tls_config = tls::server_config(&certs).map_err(StartError)?;

    let registry =
        Registry::new(store.clone(), RegistryConfig { service_cidr: cfg.service_cidr, ..Default::default() });
    let key = cfg.data_dir.join("server").join("tls").join("service.key");
    let issuer = crate::registry::tokens::TokenIssuer::load_or_create(&key).map_err(|e| StartError(e.to_string()))?;
    registry.set_token_issuer(Arc::new(issuer));
    // Serve the custom resources of the stored CRDs from the first request on.
    registry.reload_crds().await.map_err(|e| StartError(format!("cannot load custom resource definitions: {e}")))?;
    let state = ApiState::new(registry.clone(), format!("{advertise}:{}", cfg.port));
    let kubelet_tls = crate::apiserver::proxy::kubelet_client_config(&certs.admin_cert_pem, &certs.admin_key_pem)
        .map_err(StartError)?;
    let _ = state.kubelet_tls.set(kubelet_tls);
    let app = apiserver::router(state.clone());

    let url_host = if cfg.bind_address.is_unspecified() || cfg.bind_address.is_loopback() {
        "127.0.0.1".to_string()
    } else {
        match cfg.bind_address {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        }
    };
    let kubeconfig = certs::admin_kubeconfig(&certs, &format!("https://{url_host}:{}", cfg.port));
    certs::write_kubeconfig(&cfg.kubeconfig, &kubeconfig, cfg.kubeconfig_mode).map_err(StartError)?;

    let serve = tokio::spawn(tls::serve(listener, tls_config, app));
    bootstrap::run(&registry, advertise, cfg.port).await.map_err(|e| StartError(format!("bootstrap failed: {e}")))?;
    crate::controllers::start(state.clone(), store.clone(), certs.ca_pem.clone(), cfg.cluster_cidr);
    tokio::spawn(crate::scheduler::run(crate::apiserver::local_client::client(state.clone(), "system:kube-scheduler")));
    if !cfg.disable_agent {
        let kubelet_cfg = crate::kubelet::KubeletConfig {
            node_name: cfg.node_name.clone(),
            data_dir: cfg.data_dir.clone(),
            addresses: if addresses.is_empty() { vec![advertise] } else { addresses.clone() },
            cni_bin_dir: cfg.cni_bin_dir.clone(),
            cluster_dns: cfg.cluster_dns,
            cluster_domain: cfg.cluster_domain.clone(),
            kubelet_port: cfg.kubelet_port,
            control_plane: true,
            max_pods: 110,
            ca_pem: certs.ca_pem.clone(),
            private_registry: cfg.private_registry.clone(),
        };
        let client = crate::apiserver::local_client::client(state.clone(), &format!("system:node:{}", cfg.node_name));
        tokio::spawn(async move {
            if let Err(e) = crate::kubelet::run(client, kubelet_cfg).await {
                tracing::error!(error = %e, "the node agent stopped");
            }
        });
    }
    state.ready.store(true, Ordering::Release);
    tracing::info!(address = %addr, kubeconfig = %cfg.kubeconfig.display(), "coracle server is ready");
    let _ = serve.await;
    Ok(())
}

/// Whether the data dir is shared with a server (for tools that work with or without one).
pub fn state_db(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("server").join("db").join("state.db")
}

#[allow(dead_code)]
fn _assert_send(s: Arc<ApiState>) -> impl Send {
    s
}
