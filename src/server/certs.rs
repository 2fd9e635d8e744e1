//! The cluster's certificates: a CA, the API server's serving certificate (SANs
//! for loopback, `localhost`, the host name and addresses, and the `kubernetes`
//! Service names and IP) and the admin client certificate (CN `system:admin`,
//! O `system:masters`). Made on first start, reused after; the serving
//! certificate is re-issued when the names it must cover change.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// Paths of the PEM files under `<data-dir>/server/tls`.
#[derive(Clone, Debug)]
pub struct CertPaths {
    pub dir: PathBuf,
}

impl CertPaths {
    pub fn new(data_dir: &Path) -> CertPaths {
        CertPaths { dir: data_dir.join("server").join("tls") }
    }
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("server-ca.crt")
    }
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("server-ca.key")
    }
    pub fn serving_cert(&self) -> PathBuf {
        self.dir.join("serving-kube-apiserver.crt")
    }
    pub fn serving_key(&self) -> PathBuf {
        self.dir.join("serving-kube-apiserver.key")
    }
    pub fn admin_cert(&self) -> PathBuf {
        self.dir.join("client-admin.crt")
    }
    pub fn admin_key(&self) -> PathBuf {
        self.dir.join("client-admin.key")
    }
    fn serving_sans(&self) -> PathBuf {
        self.dir.join("serving-kube-apiserver.sans")
    }
}

/// The PEM material the server needs.
#[derive(Clone)]
pub struct Certs {
    pub ca_pem: String,
    pub serving_cert_pem: String,
    pub serving_key_pem: String,
    pub admin_cert_pem: String,
    pub admin_key_pem: String,
}

fn write_private(path: &Path, contents: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    f.write_all(contents.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn read(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

fn err(e: impl std::fmt::Display) -> String {
    format!("certificate generation failed: {e}")
}

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("coracle-server-ca@{}", jiff::Timestamp::now().as_second()));
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2034, 1, 1);
    p
}

fn leaf_params(cn: &str, org: Option<&str>, sans: Vec<SanType>, server: bool) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    if let Some(o) = org {
        dn.push(DnType::OrganizationName, o);
    }
    p.distinguished_name = dn;
    p.subject_alt_names = sans;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    p.extended_key_usages =
        vec![if server { ExtendedKeyUsagePurpose::ServerAuth } else { ExtendedKeyUsagePurpose::ClientAuth }];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2034, 1, 1);
    p
}

/// Names and addresses the serving certificate must cover.
pub fn serving_names(host: &str, addresses: &[IpAddr], service_ip: IpAddr) -> Vec<String> {
    let mut names = vec![
        "localhost".to_string(),
        "kubernetes".into(),
        "kubernetes.default".into(),
        "kubernetes.default.svc".into(),
        "kubernetes.default.svc.cluster.local".into(),
        "127.0.0.1".into(),
        "::1".into(),
        service_ip.to_string(),
    ];
    if !host.is_empty() {
        names.push(host.to_string());
    }
    names.extend(addresses.iter().map(|a| a.to_string()));
    names.sort();
    names.dedup();
    names
}

/// Load the certificates, creating what is missing.
pub fn ensure(paths: &CertPaths, names: &[String]) -> Result<Certs, String> {
    fs::create_dir_all(&paths.dir).map_err(|e| format!("cannot create {}: {e}", paths.dir.display()))?;
    let (ca_pem, ca_key_pem) = match (read(&paths.ca_cert()), read(&paths.ca_key())) {
        (Some(c), Some(k)) => (c, k),
        _ => {
            let key = KeyPair::generate().map_err(err)?;
            let cert = ca_params().self_signed(&key).map_err(err)?;
            write_private(&paths.ca_key(), &key.serialize_pem())?;
            write_private(&paths.ca_cert(), &cert.pem())?;
            (cert.pem(), key.serialize_pem())
        }
    };
    let ca_key = KeyPair::from_pem(&ca_key_pem).map_err(err)?;
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).map_err(err)?;

    let wanted = names.join(",");
    let have_serving = read(&paths.serving_cert()).zip(read(&paths.serving_key()));
    let (serving_cert_pem, serving_key_pem) = match have_serving {
        Some((c, k)) if read(&paths.serving_sans()).as_deref() == Some(wanted.as_str()) => (c, k),
        _ => {
            let sans = names
                .iter()
                .map(|n| match n.parse::<IpAddr>() {
                    Ok(ip) => Ok(SanType::IpAddress(ip)),
                    Err(_) => n.clone().try_into().map(SanType::DnsName).map_err(err),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let key = KeyPair::generate().map_err(err)?;
            let cert = leaf_params("kube-apiserver", None, sans, true).signed_by(&key, &issuer).map_err(err)?;
            write_private(&paths.serving_key(), &key.serialize_pem())?;
            write_private(&paths.serving_cert(), &cert.pem())?;
            write_private(&paths.serving_sans(), &wanted)?;
            (cert.pem(), key.serialize_pem())
        }
    };
    let (admin_cert_pem, admin_key_pem) = match (read(&paths.admin_cert()), read(&paths.admin_key())) {
        (Some(c), Some(k)) => (c, k),
        _ => {
            let key = KeyPair::generate().map_err(err)?;
            let cert = leaf_params("system:admin", Some("system:masters"), vec![], false)
                .signed_by(&key, &issuer)
                .map_err(err)?;
            write_private(&paths.admin_key(), &key.serialize_pem())?;
            write_private(&paths.admin_cert(), &cert.pem())?;
            (cert.pem(), key.serialize_pem())
        }
    };
    Ok(Certs { ca_pem, serving_cert_pem, serving_key_pem, admin_cert_pem, admin_key_pem })
}

/// A kubeconfig for the admin that works as is.
pub fn admin_kubeconfig(certs: &Certs, server_url: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server_url}\n  name: default\ncontexts:\n- context:\n    cluster: default\n    user: default\n  name: default\ncurrent-context: default\npreferences: {{}}\nusers:\n- name: default\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n",
        ca = b64(&certs.ca_pem),
        cert = b64(&certs.admin_cert_pem),
        key = b64(&certs.admin_key_pem),
    )
}

/// Write the kubeconfig atomically with the requested mode.
pub fn write_kubeconfig(path: &Path, contents: &str, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| {
            format!("cannot create {}: {e}; pass --write-kubeconfig with a writable path", dir.display())
        })?;
    }
    let tmp = path.with_extension("yaml.tmp");
    fs::write(&tmp, contents).map_err(|e| {
        format!("cannot write kubeconfig {}: {e}; pass --write-kubeconfig with a writable path", tmp.display())
    })?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot set mode of {}: {e}", tmp.display()))?;
    fs::rename(&tmp, path).map_err(|e| format!("cannot write kubeconfig {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let p = CertPaths::new(dir.path());
        let names = serving_names("node1", &["192.168.1.5".parse().unwrap()], "10.43.0.1".parse().unwrap());
        let a = ensure(&p, &names).unwrap();
        let b = ensure(&p, &names).unwrap();
        assert_eq!(a.ca_pem, b.ca_pem);
        assert_eq!(a.serving_cert_pem, b.serving_cert_pem);
        let more = serving_names("node1", &["192.168.1.6".parse().unwrap()], "10.43.0.1".parse().unwrap());
        let c = ensure(&p, &more).unwrap();
        assert_eq!(a.ca_pem, c.ca_pem);
        assert_ne!(a.serving_cert_pem, c.serving_cert_pem, "new addresses mean a new serving certificate");
        let kc = admin_kubeconfig(&c, "https://127.0.0.1:6443");
        assert!(kc.contains("server: https://127.0.0.1:6443"));
    }
}
