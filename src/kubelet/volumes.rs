//! Interim volume contents (replaced by the full one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, DownwardAPIVolumeSource, Pod, ProjectedVolumeSource, Secret, SecretVolumeSource,
    ServiceAccountTokenProjection,
};

use super::env::{ObjectSource, RuntimeInfo};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct VolumeError(pub String);

pub struct FileEntry {
    pub data: Vec<u8>,
    pub mode: u32,
}

#[derive(Default)]
pub struct Payload(pub BTreeMap<String, FileEntry>);

pub fn config_map_payload(src: &ConfigMapVolumeSource, cm: Option<&ConfigMap>) -> Result<Payload, VolumeError> {
    let Some(cm) = cm else { return Err(VolumeError(format!("configmap \"{}\" not found", src.name))) };
    let mut p = Payload::default();
    for (k, v) in cm.data.clone().unwrap_or_default() {
        p.0.insert(k, FileEntry { data: v.into_bytes(), mode: 0o644 });
    }
    Ok(p)
}

pub fn secret_payload(src: &SecretVolumeSource, s: Option<&Secret>) -> Result<Payload, VolumeError> {
    let Some(s) = s else {
        return Err(VolumeError(format!("secret \"{}\" not found", src.secret_name.clone().unwrap_or_default())));
    };
    let mut p = Payload::default();
    for (k, v) in s.data.clone().unwrap_or_default() {
        p.0.insert(k, FileEntry { data: v.0, mode: 0o644 });
    }
    Ok(p)
}

pub fn downward_api_payload(
    _src: &DownwardAPIVolumeSource,
    _pod: &Pod,
    _info: &RuntimeInfo,
) -> Result<Payload, VolumeError> {
    Ok(Payload::default())
}

pub fn projected_payload(
    src: &ProjectedVolumeSource,
    _pod: &Pod,
    _objs: &dyn ObjectSource,
    _info: &RuntimeInfo,
    token: &dyn Fn(&ServiceAccountTokenProjection) -> Result<String, String>,
) -> Result<Payload, VolumeError> {
    let mut p = Payload::default();
    for s in src.sources.iter().flatten() {
        if let Some(t) = &s.service_account_token {
            let tok = token(t).map_err(VolumeError)?;
            p.0.insert(t.path.clone(), FileEntry { data: tok.into_bytes(), mode: 0o644 });
        }
    }
    Ok(p)
}

pub fn write_atomic(dir: &Path, payload: &Payload, _fs_group: Option<u32>) -> std::io::Result<bool> {
    for (k, f) in &payload.0 {
        let p = dir.join(k);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(p, &f.data)?;
    }
    Ok(true)
}

pub fn check_host_path(_path: &Path, _ty: Option<&str>) -> Result<(), VolumeError> {
    Ok(())
}

pub fn sub_path(dir: &Path, sub: &str) -> Result<PathBuf, VolumeError> {
    let p = dir.join(sub);
    std::fs::create_dir_all(&p).map_err(|e| VolumeError(e.to_string()))?;
    Ok(p)
}
