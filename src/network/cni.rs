//! Pod networking by the reference CNI plugins, invoked as commands exactly as
//! the CNI spec says (environment variables, the network configuration on stdin,
//! the result on stdout): `bridge` with `host-local` IPAM on this node's slice of
//! the cluster CIDR, `portmap` for host ports, and `loopback` for `lo`.
//!
//! Every host-level name is derived from the instance (bridge, IPAM data dir,
//! result cache), so several coracle instances on one machine never meet.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ipnet::Ipv4Net;
use serde_json::{Value, json};

use crate::runtime::paths::RuntimePaths;

const CNI_VERSION: &str = "1.0.0";
const NETWORK_NAME: &str = "coracle";

#[derive(Debug, thiserror::Error)]
pub enum CniError {
    #[error("CNI plugin {plugin} ({command}) failed for {container}: {message}")]
    Plugin { plugin: String, command: &'static str, container: String, message: String },
    #[error("CNI plugin {plugin} not found in {dir}; install containernetworking-plugins or pass --cni-bin-dir")]
    Missing { plugin: String, dir: String },
    #[error("CNI: {0}")]
    Io(#[from] std::io::Error),
}

/// A host port to forward into a pod.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
    #[serde(rename = "hostIP", skip_serializing_if = "String::is_empty")]
    pub host_ip: String,
}

/// What ADD gave a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub ips: Vec<std::net::IpAddr>,
}

/// The CNI setup of one instance.
#[derive(Clone, Debug)]
pub struct Cni {
    pub bin_dir: PathBuf,
    pub conf_dir: PathBuf,
    /// host-local's allocation records and our cache of ADD results.
    pub state_dir: PathBuf,
    pub bridge: String,
    pub subnet: Ipv4Net,
}

impl Cni {
    /// The configuration for an instance: `cni0` for the default data dir, a derived
    /// bridge name otherwise.
    pub fn new(paths: &RuntimePaths, bin_dir: &Path, subnet: Ipv4Net) -> Cni {
        let bridge = if paths.data_dir == Path::new("/var/lib/coracle") {
            "cni0".to_string()
        } else {
            format!("cni-{}", paths.instance)
        };
        Cni {
            bin_dir: bin_dir.to_path_buf(),
            conf_dir: paths.agent().join("etc").join("cni").join("net.d"),
            state_dir: paths.agent().join("cni"),
            bridge,
            subnet,
        }
    }

    /// The network configuration list, as written to the conf dir.
    pub fn conflist(&self) -> Value {
        json!({
            "cniVersion": CNI_VERSION,
            "name": NETWORK_NAME,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": self.bridge,
                    "isGateway": true,
                    "ipMasq": true,
                    "hairpinMode": true,
                    "ipam": {
                        "type": "host-local",
                        "dataDir": self.state_dir.join("networks"),
                        "ranges": [[{"subnet": self.subnet.to_string()}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true},
            ],
        })
    }

    /// Write the configuration (so operators see what is in use) and check the plugins exist.
    pub fn install(&self) -> Result<(), CniError> {
        for p in ["bridge", "host-local", "portmap", "loopback"] {
            if !self.bin_dir.join(p).exists() {
                return Err(CniError::Missing { plugin: p.into(), dir: self.bin_dir.display().to_string() });
            }
        }
        std::fs::create_dir_all(&self.conf_dir)?;
        std::fs::create_dir_all(self.state_dir.join("results"))?;
        let path = self.conf_dir.join("10-coracle.conflist");
        let text = serde_json::to_string_pretty(&self.conflist()).unwrap_or_default();
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text)?;
        }
        Ok(())
    }

    fn result_path(&self, container: &str) -> PathBuf {
        self.state_dir.join("results").join(format!("{NETWORK_NAME}-{container}"))
    }

    /// Run one plugin.
    fn invoke(
        &self,
        command: &'static str,
        plugin_conf: &Value,
        container: &str,
        netns: &Path,
        ifname: &str,
        args: &str,
    ) -> Result<Value, CniError> {
        let plugin = plugin_conf["type"].as_str().unwrap_or("").to_string();
        let bin = self.bin_dir.join(&plugin);
        if !bin.exists() {
            return Err(CniError::Missing { plugin, dir: self.bin_dir.display().to_string() });
        }
        let mut child = Command::new(&bin)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", container)
            .env("CNI_NETNS", netns)
            .env("CNI_IFNAME", ifname)
            .env("CNI_PATH", &self.bin_dir)
            .env("CNI_ARGS", args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(plugin_conf.to_string().as_bytes())?;
        }
        let out = child.wait_with_output()?;
        let stdout: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        if !out.status.success() {
            let message = stdout
                .get("msg")
                .and_then(Value::as_str)
                .map(|m| match stdout.get("details").and_then(Value::as_str).filter(|d| !d.is_empty()) {
                    Some(d) => format!("{m}: {d}"),
                    None => m.to_string(),
                })
                .unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).trim().to_string());
            return Err(CniError::Plugin { plugin, command, container: container.into(), message });
        }
        Ok(stdout)
    }

    fn plugin_conf(base: &Value, prev: Option<&Value>, ports: &[PortMapping]) -> Value {
        let mut conf = base.clone();
        conf["cniVersion"] = CNI_VERSION.into();
        conf["name"] = NETWORK_NAME.into();
        if let Some(p) = prev {
            conf["prevResult"] = p.clone();
        }
        if conf.get("capabilities").and_then(|c| c.get("portMappings")).and_then(Value::as_bool) == Some(true) {
            conf["runtimeConfig"] = json!({"portMappings": ports});
            if let Some(m) = conf.as_object_mut() {
                m.remove("capabilities");
            }
        }
        conf
    }

    /// ADD: wire a pod's namespace (`lo` and `eth0`), returning its addresses.
    pub fn add(
        &self,
        container: &str,
        netns: &Path,
        pod: (&str, &str),
        ports: &[PortMapping],
    ) -> Result<Attachment, CniError> {
        let args = format!("IgnoreUnknown=1;K8S_POD_NAMESPACE={};K8S_POD_NAME={}", pod.0, pod.1);
        self.invoke(
            "ADD",
            &json!({"cniVersion": CNI_VERSION, "name": "cni-loopback", "type": "loopback"}),
            container,
            netns,
            "lo",
            &args,
        )?;
        let list = self.conflist();
        let mut prev: Option<Value> = None;
        let plugins = list["plugins"].as_array().cloned().unwrap_or_default();
        for (i, base) in plugins.iter().enumerate() {
            let conf = Self::plugin_conf(base, prev.as_ref(), ports);
            match self.invoke("ADD", &conf, container, netns, "eth0", &args) {
                Ok(r) => prev = Some(r),
                Err(e) => {
                    // Undo what the earlier plugins did before reporting.
                    for base in plugins[..=i].iter().rev() {
                        let conf = Self::plugin_conf(base, prev.as_ref(), ports);
                        let _ = self.invoke("DEL", &conf, container, netns, "eth0", &args);
                    }
                    return Err(e);
                }
            }
        }
        let result = prev.unwrap_or(Value::Null);
        let cached = json!({"result": result, "ports": ports, "netns": netns, "pod": [pod.0, pod.1]});
        std::fs::write(self.result_path(container), cached.to_string())?;
        let ips = result["ips"]
            .as_array()
            .map(|ips| {
                ips.iter()
                    .filter_map(|ip| ip["address"].as_str())
                    .filter_map(|a| a.split('/').next())
                    .filter_map(|a| a.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Attachment { ips })
    }

    /// DEL: undo ADD (release the IP, remove port mappings and the veth). Safe to
    /// repeat, and works when the namespace is already gone.
    pub fn del(&self, container: &str, netns: &Path) -> Result<(), CniError> {
        let cache_path = self.result_path(container);
        let cached: Value =
            std::fs::read(&cache_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null);
        let ports: Vec<PortMapping> = cached["ports"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| {
                        Some(PortMapping {
                            host_port: p["hostPort"].as_u64()? as u16,
                            container_port: p["containerPort"].as_u64()? as u16,
                            protocol: p["protocol"].as_str().unwrap_or("tcp").to_string(),
                            host_ip: p["hostIP"].as_str().unwrap_or("").to_string(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let args = match cached["pod"].as_array() {
            Some(p) if p.len() == 2 => {
                format!(
                    "IgnoreUnknown=1;K8S_POD_NAMESPACE={};K8S_POD_NAME={}",
                    p[0].as_str().unwrap_or(""),
                    p[1].as_str().unwrap_or("")
                )
            }
            _ => "IgnoreUnknown=1".into(),
        };
        let prev = cached.get("result").filter(|r| !r.is_null());
        let list = self.conflist();
        let mut first_error = None;
        for base in list["plugins"].as_array().into_iter().flatten().rev() {
            let conf = Self::plugin_conf(base, prev, &ports);
            if let Err(e) = self.invoke("DEL", &conf, container, netns, "eth0", &args) {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => {
                let _ = std::fs::remove_file(cache_path);
                Ok(())
            }
        }
    }

    /// Containers that have an ADD result cached (so a restarted node can clean up after itself).
    pub fn attached(&self) -> Vec<String> {
        let prefix = format!("{NETWORK_NAME}-");
        std::fs::read_dir(self.state_dir.join("results"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter_map(|n| n.strip_prefix(&prefix).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}
