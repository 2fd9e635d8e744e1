//! `coracle server`'s settings: command-line flags named like k3s's, a YAML
//! config file whose keys are the flag names, flags winning over the file.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use crate::runtime::images::registries;

/// Flags of `coracle server`. Every field is optional so the config file can fill
/// what the command line leaves out; defaults come last.
#[derive(Args, Debug, Clone, Default)]
pub struct ServerArgs {
    /// Folder for all state (database, certificates, images) [default: /var/lib/coracle]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// HTTPS port of the API server [default: 6443]
    #[arg(long, value_name = "PORT")]
    pub https_listen_port: Option<u16>,
    /// Address to listen on [default: 0.0.0.0]
    #[arg(long, value_name = "ADDR")]
    pub bind_address: Option<IpAddr>,
    /// Where to write the admin kubeconfig [default: /etc/coracle/coracle.yaml]
    #[arg(long, value_name = "FILE")]
    pub write_kubeconfig: Option<PathBuf>,
    /// File mode of the kubeconfig, in octal [default: 0600]
    #[arg(long, value_name = "MODE")]
    pub write_kubeconfig_mode: Option<String>,
    /// Name of this node [default: the host name]
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// Run the control plane only: no pods run on this machine
    #[arg(long)]
    pub disable_agent: bool,
    /// Config file with flag names as keys [default: /etc/coracle/config.yaml]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Service IP range [default: 10.43.0.0/16]
    #[arg(long, value_name = "CIDR")]
    pub service_cidr: Option<ipnet::Ipv4Net>,
    /// Pod IP range [default: 10.42.0.0/16]
    #[arg(long, value_name = "CIDR")]
    pub cluster_cidr: Option<ipnet::Ipv4Net>,
    /// Cluster DNS server pods resolve with [default: 10.43.0.10]
    #[arg(long, value_name = "IP")]
    pub cluster_dns: Option<IpAddr>,
    /// Cluster domain [default: cluster.local]
    #[arg(long, value_name = "DOMAIN")]
    pub cluster_domain: Option<String>,
    /// Folder of the CNI plugin binaries [default: /usr/lib/cni]
    #[arg(long, value_name = "DIR")]
    pub cni_bin_dir: Option<PathBuf>,
    /// HTTPS port of this node's kubelet endpoint (logs, exec, attach, port-forward) [default: 10250]
    #[arg(long, value_name = "PORT")]
    pub kubelet_port: Option<u16>,
    /// registries.yaml for pulls: mirrors, auth, TLS (k3s's format) [default: /etc/coracle/registries.yaml]
    #[arg(long, value_name = "FILE")]
    pub private_registry: Option<PathBuf>,
}

/// The config file's keys (the flag names).
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    https_listen_port: Option<u16>,
    bind_address: Option<IpAddr>,
    write_kubeconfig: Option<PathBuf>,
    write_kubeconfig_mode: Option<serde_yaml_ng::Value>,
    node_name: Option<String>,
    disable_agent: Option<bool>,
    service_cidr: Option<ipnet::Ipv4Net>,
    cluster_cidr: Option<ipnet::Ipv4Net>,
    cluster_dns: Option<IpAddr>,
    cluster_domain: Option<String>,
    cni_bin_dir: Option<PathBuf>,
    kubelet_port: Option<u16>,
    private_registry: Option<PathBuf>,
}

/// Settings after merging flags, config file and defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub port: u16,
    pub bind_address: IpAddr,
    pub kubeconfig: PathBuf,
    pub kubeconfig_mode: u32,
    pub node_name: String,
    pub disable_agent: bool,
    pub service_cidr: ipnet::Ipv4Net,
    pub cluster_cidr: ipnet::Ipv4Net,
    pub cluster_dns: IpAddr,
    pub cluster_domain: String,
    pub cni_bin_dir: PathBuf,
    pub kubelet_port: u16,
    /// registries.yaml for the node agent's pulls.
    pub private_registry: PathBuf,
}

pub const DEFAULT_CONFIG: &str = "/etc/coracle/config.yaml";

impl ServerConfig {
    /// Merge. A config file named on the command line must exist; the default one may not.
    pub fn resolve(args: &ServerArgs) -> Result<ServerConfig, String> {
        let (path, explicit) = match &args.config {
            Some(p) => (p.clone(), true),
            None => (PathBuf::from(DEFAULT_CONFIG), false),
        };
        let file = read_file_config(&path, explicit)?;
        let mode_text = match (&args.write_kubeconfig_mode, &file.write_kubeconfig_mode) {
            (Some(m), _) => Some(m.clone()),
            (None, Some(serde_yaml_ng::Value::String(s))) => Some(s.clone()),
            (None, Some(serde_yaml_ng::Value::Number(n))) => Some(n.to_string()),
            (None, Some(other)) => {
                return Err(format!(
                    "config file {}: write-kubeconfig-mode must be an octal mode such as \"0644\", not {other:?}",
                    path.display()
                ));
            }
            (None, None) => None,
        };
        let kubeconfig_mode =
            match mode_text {
                Some(m) => u32::from_str_radix(m.trim_start_matches("0o"), 8).ok().filter(|v| *v <= 0o777).ok_or_else(
                    || format!("invalid --write-kubeconfig-mode {m:?}: give an octal file mode such as 0644"),
                )?,
                None => 0o600,
            };
        let node_name = match args.node_name.clone().or(file.node_name) {
            Some(n) => n,
            None => nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .map(|h| h.to_lowercase())
                .unwrap_or_else(|| "coracle".into()),
        };
        // A registries.yaml named on the command line or in the config file must exist; the
        // default one may not. Either way a broken one stops the start of an agent, as with k3s.
        let (private_registry, explicit) = match args.private_registry.clone().or(file.private_registry) {
            Some(p) => (p, true),
            None => (PathBuf::from(registries::DEFAULT_PATH), false),
        };
        let disable_agent = args.disable_agent || file.disable_agent.unwrap_or(false);
        if !disable_agent {
            registries::RegistriesConfig::load(&private_registry, explicit)
                .map_err(|e| format!("--private-registry: {e}"))?;
        }
        Ok(ServerConfig {
            data_dir: args.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("/var/lib/coracle")),
            port: args.https_listen_port.or(file.https_listen_port).unwrap_or(6443),
            bind_address: args.bind_address.or(file.bind_address).unwrap_or(IpAddr::from([0, 0, 0, 0])),
            kubeconfig: args
                .write_kubeconfig
                .clone()
                .or(file.write_kubeconfig)
                .unwrap_or_else(|| PathBuf::from("/etc/coracle/coracle.yaml")),
            kubeconfig_mode,
            node_name,
            disable_agent,
            service_cidr: args
                .service_cidr
                .or(file.service_cidr)
                .unwrap_or_else(|| "10.43.0.0/16".parse().expect("cidr")),
            cluster_cidr: args
                .cluster_cidr
                .or(file.cluster_cidr)
                .unwrap_or_else(|| "10.42.0.0/16".parse().expect("cidr")),
            cluster_dns: args.cluster_dns.or(file.cluster_dns).unwrap_or(IpAddr::from([10, 43, 0, 10])),
            cluster_domain: args
                .cluster_domain
                .clone()
                .or(file.cluster_domain)
                .unwrap_or_else(|| "cluster.local".into()),
            cni_bin_dir: args.cni_bin_dir.clone().or(file.cni_bin_dir).unwrap_or_else(|| PathBuf::from("/usr/lib/cni")),
            kubelet_port: args.kubelet_port.or(file.kubelet_port).unwrap_or(10250),
            private_registry,
        })
    }
}

fn read_file_config(path: &Path, explicit: bool) -> Result<FileConfig, String> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(FileConfig::default()),
        Ok(text) => serde_yaml_ng::from_str(&text)
            .map_err(|e| format!("config file {}: {e}; keys are the flag names, e.g. data-dir", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(FileConfig::default()),
        Err(e) => Err(format!("cannot read config file {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.yaml");
        std::fs::write(&f, "https-listen-port: 7443\ndata-dir: /tmp/x\nwrite-kubeconfig-mode: \"0644\"\n").unwrap();
        let args = ServerArgs { config: Some(f.clone()), https_listen_port: Some(8443), ..Default::default() };
        let c = ServerConfig::resolve(&args).unwrap();
        assert_eq!(c.port, 8443);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.kubeconfig_mode, 0o644);
        std::fs::write(&f, "bogus-key: 1\n").unwrap();
        let err = ServerConfig::resolve(&args).unwrap_err();
        assert!(err.contains("bogus-key"), "{err}");
        let missing = ServerArgs { config: Some(dir.path().join("nope.yaml")), ..Default::default() };
        assert!(ServerConfig::resolve(&missing).is_err());
    }

    #[test]
    fn private_registry_from_flag_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.yaml");
        let reg = dir.path().join("registries.yaml");
        std::fs::write(&reg, "configs:\n  \"127.0.0.1:5000\":\n    tls:\n      insecure_skip_verify: true\n").unwrap();
        std::fs::write(&f, format!("private-registry: {}\n", reg.display())).unwrap();
        let args = ServerArgs { config: Some(f.clone()), ..Default::default() };
        assert_eq!(ServerConfig::resolve(&args).unwrap().private_registry, reg);
        let other = dir.path().join("other.yaml");
        std::fs::write(&other, "").unwrap();
        let args = ServerArgs { config: Some(f.clone()), private_registry: Some(other.clone()), ..Default::default() };
        assert_eq!(ServerConfig::resolve(&args).unwrap().private_registry, other);
        // Named but missing, or broken: the start fails naming the file.
        let missing = ServerArgs { private_registry: Some(dir.path().join("nope.yaml")), ..args.clone() };
        let err = ServerConfig::resolve(&missing).unwrap_err();
        assert!(err.contains("--private-registry") && err.contains("nope.yaml"), "{err}");
        std::fs::write(&other, "mirrors: [not, a, map]\n").unwrap();
        let err = ServerConfig::resolve(&args).unwrap_err();
        assert!(err.contains(other.to_str().unwrap()), "{err}");
    }
}
