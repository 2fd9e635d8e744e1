//! Volume sources of pods and persistent volumes (`ValidateVolumes`, `validateVolumeSource`,
//! `ValidatePersistentVolumeSpec`'s sources).

use serde_json::Value;

use super::resources::quantity_at;
use crate::registry::field_error::{FieldError, Path};
use crate::registry::validation::access::Fields;
use crate::registry::validation::meta::{SelectorOpts, validate_label_selector, validate_template_object_meta};
use crate::registry::validation::names;

const FILE_MODE_ERR: &str = "must be a number between 0 and 0777 (octal), both inclusive";
const MULTIPLE_TYPES: &str = "may not specify more than 1 volume type";

/// The volume sources a pod may use, in the order the real validator checks them, with the
/// path segment its errors use.
const POD_SOURCES: [(&str, &str); 30] = [
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "persistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephfs"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwardAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
];

/// Fields of a source that must be non-empty, per source kind.
fn required_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "gcePersistentDisk" => &["pdName"],
        "awsElasticBlockStore" | "cinder" | "portworxVolume" => &["volumeID"],
        "glusterfs" => &["endpoints", "path"],
        "rbd" => &["monitors", "image"],
        "cephfs" => &["monitors"],
        "flexVolume" => &["driver"],
        "azureFile" => &["secretName", "shareName"],
        "azureDisk" => &["diskName", "diskURI"],
        "vsphereVolume" => &["volumePath"],
        "photonPersistentDisk" => &["pdID"],
        "scaleIO" => &["gateway", "system", "volumeName"],
        "quobyte" => &["volume"],
        _ => &[],
    }
}

/// A summary of one valid volume, for the mount checks.
#[derive(Clone, Debug)]
pub struct VolumeInfo {
    pub name: String,
    /// Backed by a claim (persistentVolumeClaim or ephemeral): may be a block device.
    pub is_pvc: bool,
    pub is_image: bool,
}

/// `ValidateVolumes`: returns the volumes that passed, by name.
pub fn validate_volumes(
    volumes: &[Value],
    pod_name: Option<&str>,
    path: &Path,
    is_pod: bool,
) -> (Vec<VolumeInfo>, Vec<FieldError>) {
    let mut errs = Vec::new();
    let mut ok: Vec<VolumeInfo> = Vec::new();
    let mut all_names: Vec<&str> = Vec::new();
    let created_pvcs: Vec<String> = pod_name
        .filter(|n| !n.is_empty())
        .map(|pod| {
            volumes.iter().filter(|v| v.has("ephemeral")).map(|v| format!("{pod}-{}", v.str_of("name"))).collect()
        })
        .unwrap_or_default();
    for (i, vol) in volumes.iter().enumerate() {
        let idx = path.index(i);
        let name = vol.str_of("name");
        let mut el = validate_volume_source(vol, &idx, name, pod_name, is_pod);
        if name.is_empty() {
            el.push(FieldError::required(idx.child("name"), ""));
        } else {
            el.extend(
                names::is_dns1123_label(name).into_iter().map(|m| FieldError::invalid(idx.child("name"), name, m)),
            );
        }
        if all_names.contains(&name) {
            el.push(FieldError::duplicate(idx.child("name"), name));
        }
        if el.is_empty() {
            all_names.push(name);
            ok.push(VolumeInfo {
                name: name.to_string(),
                is_pvc: vol.has("persistentVolumeClaim") || vol.has("ephemeral"),
                is_image: vol.has("image"),
            });
        } else {
            errs.extend(el);
        }
        let claim = vol.field("persistentVolumeClaim").str_of("claimName");
        if vol.has("persistentVolumeClaim") && created_pvcs.iter().any(|c| c == claim) {
            errs.push(FieldError::invalid(
                idx.child("persistentVolumeClaim").child("claimName"),
                claim,
                "must not reference a PVC that gets created for an ephemeral volume",
            ));
        }
    }
    (ok, errs)
}

fn validate_volume_source(
    vol: &Value,
    path: &Path,
    vol_name: &str,
    pod_name: Option<&str>,
    is_pod: bool,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut count = 0;
    for (kind, segment) in POD_SOURCES {
        let Some(src) = vol.obj(kind) else { continue };
        if count > 0 {
            let forbidden_at = if kind == "downwardAPI" { "downwarAPI" } else { kind };
            errs.push(FieldError::forbidden(path.child(forbidden_at), MULTIPLE_TYPES));
            continue;
        }
        count += 1;
        let p = path.child(segment);
        errs.extend(match kind {
            "emptyDir" => validate_empty_dir(src, &path.child("emptyDir")),
            "hostPath" => validate_host_path(src, &p),
            "gitRepo" => validate_git_repo(src, &p),
            "secret" => validate_secret_source(src, &p),
            "configMap" => validate_config_map_source(src, &p),
            "nfs" => validate_nfs(src, &p),
            "iscsi" => validate_iscsi(src, &p),
            "persistentVolumeClaim" => required(src, "claimName", &p),
            "downwardAPI" => validate_downward_api_source(src, &p),
            "projected" => validate_projected(src, &p),
            "csi" => validate_csi(src, &p),
            "ephemeral" => validate_ephemeral(src, &p, vol_name, pod_name),
            "image" => validate_image_source(src, &p, is_pod),
            "fc" => validate_fc(src, &p),
            "flocker" => validate_flocker(src, &p),
            "storageos" => validate_storageos(src, &p),
            other => validate_required_fields(src, other, &p),
        });
        if kind == "iscsi"
            && src.has("initiatorName")
            && format!("{vol_name}:{}", src.str_of("targetPortal")).len() > 64
        {
            errs.push(FieldError::invalid(
                path.child("name"),
                vol_name,
                "Total length of <volume name>:<iscsi.targetPortal> must be under 64 characters if iscsi.initiatorName is specified.",
            ));
        }
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a volume type"));
    }
    errs
}

fn required(src: &Value, field: &str, path: &Path) -> Vec<FieldError> {
    if src.str_of(field).is_empty() && src.list(field).is_empty() {
        vec![FieldError::required(path.child(field), "")]
    } else {
        vec![]
    }
}

fn validate_required_fields(src: &Value, kind: &str, path: &Path) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = required_fields(kind).iter().flat_map(|f| required(src, f, path)).collect();
    if matches!(kind, "gcePersistentDisk" | "awsElasticBlockStore") {
        let part = src.int_or_zero("partition");
        if !(0..=255).contains(&part) {
            errs.push(FieldError::invalid(path.child("partition"), part, names::inclusive_range_error(1, 255)));
        }
    }
    if kind == "flexVolume" {
        for (k, _) in src.str_map("options") {
            let ns = k.split_once('/').map_or(k, |(n, _)| n);
            let normalized = format!(".{}", ns.to_lowercase());
            if normalized.ends_with(".kubernetes.io") || normalized.ends_with(".k8s.io") {
                errs.push(FieldError::invalid(
                    path.child("options").key(k),
                    k,
                    "kubernetes.io and k8s.io namespaces are reserved",
                ));
            }
        }
    }
    errs
}

fn validate_empty_dir(src: &Value, path: &Path) -> Vec<FieldError> {
    match src.field("sizeLimit").map(|q| quantity_at(q, &path.child("sizeLimit"))) {
        Some(Ok(q)) if q.signum() < 0 => {
            vec![FieldError::forbidden(path.child("sizeLimit"), "SizeLimit field must be a valid resource quantity")]
        }
        Some(Err(e)) => vec![*e],
        _ => vec![],
    }
}

const HOST_PATH_TYPES: [&str; 8] =
    ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"];

/// Host path source (pods and PVs).
pub fn validate_host_path(src: &Value, path: &Path) -> Vec<FieldError> {
    let p = src.str_of("path");
    if p.is_empty() {
        return vec![FieldError::required(path.child("path"), "")];
    }
    let mut errs = validate_path_no_backsteps(p, &path.child("path"));
    if let Some(t) = src.opt_str("type")
        && !HOST_PATH_TYPES.contains(&t)
    {
        errs.push(FieldError::not_supported(path.child("type"), t, &HOST_PATH_TYPES));
    }
    errs
}

fn validate_git_repo(src: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = required(src, "repository", path);
    errs.extend(validate_local_descending_path(src.str_of("directory"), &path.child("directory")));
    errs
}

fn validate_mode(src: &Value, field: &str, path: &Path) -> Vec<FieldError> {
    match src.int(field) {
        Some(m) if !(0..=0o777).contains(&m) => vec![FieldError::invalid(path.child(field), m, FILE_MODE_ERR)],
        _ => vec![],
    }
}

fn validate_items(src: &Value, path: &Path) -> Vec<FieldError> {
    src.list("items")
        .iter()
        .enumerate()
        .flat_map(|(i, kp)| validate_key_to_path(kp, &path.child("items").index(i)))
        .collect()
}

fn validate_secret_source(src: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = required(src, "secretName", path);
    errs.extend(validate_mode(src, "defaultMode", path));
    errs.extend(validate_items(src, path));
    errs
}

fn validate_config_map_source(src: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = required(src, "name", path);
    errs.extend(validate_mode(src, "defaultMode", path));
    errs.extend(validate_items(src, path));
    errs
}

fn validate_key_to_path(kp: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = required(kp, "key", path);
    errs.extend(required(kp, "path", path));
    errs.extend(validate_local_non_reserved_path(kp.str_of("path"), &path.child("path")));
    errs.extend(validate_mode(kp, "mode", path));
    errs
}

/// NFS source (pods and PVs).
pub fn validate_nfs(src: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = required(src, "server", path);
    errs.extend(required(src, "path", path));
    let p = src.str_of("path");
    if !p.starts_with('/') {
        errs.push(FieldError::invalid(path.child("path"), p, "must be an absolute path"));
    }
    errs
}

fn iqn_valid(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix("iqn.") {
        let b = rest.as_bytes();
        let date_ok = b.len() > 8
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4] == b'-'
            && b[5..7].iter().all(u8::is_ascii_digit)
            && b[7] == b'.';
        return date_ok && rest[8..].contains(':');
    }
    if let Some(rest) = s.strip_prefix("eui").filter(|_| s.len() == 20) {
        return rest[1..].bytes().all(|c| c.is_ascii_alphanumeric());
    }
    if let Some(rest) = s.strip_prefix("naa").filter(|_| s.len() == 36) {
        return rest[1..].bytes().all(|c| c.is_ascii_alphanumeric());
    }
    false
}

/// iSCSI source (pods and PVs).
pub fn validate_iscsi(src: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = required(src, "targetPortal", path);
    let iqn = src.str_of("iqn");
    if iqn.is_empty() {
        errs.push(FieldError::required(path.child("iqn"), ""));
    } else if !(iqn.starts_with("iqn") || iqn.starts_with("eui") || iqn.starts_with("naa")) {
        errs.push(FieldError::invalid(path.child("iqn"), iqn, "must be valid format starting with iqn, eui, or naa"));
    } else if !iqn_valid(iqn) {
        errs.push(FieldError::invalid(path.child("iqn"), iqn, "must be valid format"));
    }
    let lun = src.int_or_zero("lun");
    if !(0..=255).contains(&lun) {
        errs.push(FieldError::invalid(path.child("lun"), lun, names::inclusive_range_error(0, 255)));
    }
    if (src.flag("chapAuthDiscovery") || src.flag("chapAuthSession")) && !src.has("secretRef") {
        errs.push(FieldError::required(path.child("secretRef"), ""));
    }
    errs
}

fn validate_fc(src: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (wwns, wwids) = (src.list("targetWWNs"), src.list("wwids"));
    if wwns.is_empty() && wwids.is_empty() {
        errs.push(FieldError::required(
            path.child("targetWWNs"),
            "must specify either targetWWNs or wwids, but not both",
        ));
    }
    if !wwns.is_empty() && !wwids.is_empty() {
        errs.push(FieldError::invalid(
            path.child("targetWWNs"),
            Value::Array(wwns.to_vec()),
            "targetWWNs and wwids can not be specified simultaneously",
        ));
    }
    if !wwns.is_empty() {
        match src.int("lun") {
            None => errs.push(FieldError::required(path.child("lun"), "lun is required if targetWWNs is specified")),
            Some(l) if !(0..=255).contains(&l) => {
                errs.push(FieldError::invalid(path.child("lun"), l, names::inclusive_range_error(0, 255)))
            }
            _ => {}
        }
    }
    errs
}

fn validate_flocker(src: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (name, uuid) = (src.str_of("datasetName"), src.str_of("datasetUUID"));
    if name.is_empty() && uuid.is_empty() {
        errs.push(FieldError::required(path, "one of datasetName and datasetUUID is required"));
    }
    if !name.is_empty() && !uuid.is_empty() {
        errs.push(FieldError::invalid(
            path,
            "resource",
            "datasetName and datasetUUID can not be specified simultaneously",
        ));
    }
    if name.contains('/') {
        errs.push(FieldError::invalid(path.child("datasetName"), name, "must not contain '/'"));
    }
    errs
}

fn validate_storageos(src: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = src.str_of("volumeName");
    if name.is_empty() {
        errs.push(FieldError::required(path.child("volumeName"), ""));
    } else {
        errs.extend(
            names::is_dns1123_label(name).into_iter().map(|m| FieldError::invalid(path.child("volumeName"), name, m)),
        );
    }
    let ns = src.str_of("volumeNamespace");
    if !ns.is_empty() {
        errs.extend(
            names::is_dns1123_label(ns).into_iter().map(|m| FieldError::invalid(path.child("volumeNamespace"), ns, m)),
        );
    }
    errs
}

/// `ValidateCSIDriverName`.
pub fn validate_csi_driver_name(driver: &str, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if driver.is_empty() {
        errs.push(FieldError::required(path, ""));
    }
    if driver.len() > 63 {
        errs.push(FieldError::too_long(path, 63));
    }
    errs.extend(
        names::is_dns1123_subdomain(&driver.to_lowercase()).into_iter().map(|m| FieldError::invalid(path, driver, m)),
    );
    errs
}

fn validate_csi(src: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = validate_csi_driver_name(src.str_of("driver"), &path.child("driver"));
    if let Some(r) = src.obj("nodePublishSecretRef") {
        let name = r.str_of("name");
        if name.is_empty() {
            errs.push(FieldError::required(path.child("nodePublishSecretRef").child("name"), ""));
        } else {
            errs.extend(
                names::is_dns1123_subdomain(name).into_iter().map(|m| FieldError::invalid(path.child("name"), name, m)),
            );
        }
    }
    errs
}

fn validate_ephemeral(src: &Value, path: &Path, vol_name: &str, pod_name: Option<&str>) -> Vec<FieldError> {
    let Some(t) = src.obj("volumeClaimTemplate") else {
        return vec![FieldError::required(path.child("volumeClaimTemplate"), "")];
    };
    let tp = path.child("volumeClaimTemplate");
    let mut errs = validate_template_object_meta(t.field("metadata").unwrap_or(&Value::Null), &tp.child("metadata"));
    errs.extend(super::storage::validate_pvc_spec(t.field("spec").unwrap_or(&Value::Null), &tp.child("spec")));
    if let Some(pod) = pod_name.filter(|p| !p.is_empty())
        && !vol_name.is_empty()
    {
        let pvc = format!("{pod}-{vol_name}");
        for m in names::is_dns1123_subdomain(&pvc) {
            errs.push(FieldError::invalid(path.child("name"), vol_name, format!("PVC name {pvc:?}: {m}")));
        }
    }
    errs
}

fn validate_image_source(src: &Value, path: &Path, is_pod: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if is_pod && src.str_of("reference").is_empty() {
        errs.push(FieldError::required(path.child("reference"), ""));
    }
    errs.extend(super::pod::validate_pull_policy(src.str_of("pullPolicy"), &path.child("pullPolicy")));
    errs
}

const VOLUME_DOWNWARD_FIELDS: [&str; 5] =
    ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"];

fn validate_downward_file(file: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = required(file, "path", path);
    errs.extend(validate_local_non_reserved_path(file.str_of("path"), &path.child("path")));
    if let Some(fr) = file.obj("fieldRef") {
        errs.extend(super::pod::validate_object_field_selector(fr, &VOLUME_DOWNWARD_FIELDS, &path.child("fieldRef")));
        if file.has("resourceFieldRef") {
            errs.push(FieldError::invalid(
                path,
                "resource",
                "fieldRef and resourceFieldRef can not be specified simultaneously",
            ));
        }
    } else if let Some(rf) = file.obj("resourceFieldRef") {
        errs.extend(super::pod::validate_resource_field_selector(rf, &path.child("resourceFieldRef"), true));
    } else {
        errs.push(FieldError::required(path, "one of fieldRef and resourceFieldRef is required"));
    }
    errs.extend(validate_mode(file, "mode", path));
    errs
}

fn validate_downward_api_source(src: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = validate_mode(src, "defaultMode", path);
    for file in src.list("items") {
        errs.extend(validate_downward_file(file, path));
    }
    errs
}

fn validate_projected(src: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = validate_mode(src, "defaultMode", path);
    let mut all_paths: Vec<String> = Vec::new();
    let mut note_path = |p: &str, bad: &str, errs: &mut Vec<FieldError>| {
        if all_paths.iter().any(|x| x == p) {
            errs.push(FieldError::invalid(path, bad, "conflicting duplicate paths"));
        } else {
            all_paths.push(p.to_string());
        }
    };
    for (i, source) in src.list("sources").iter().enumerate() {
        let sp = path.child("sources").index(i);
        let mut n = 0;
        for kind in ["secret", "configMap"] {
            let Some(s) = source.obj(kind) else { continue };
            n += 1;
            let pp = sp.child(kind);
            errs.extend(required(s, "name", &pp));
            for (j, kp) in s.list("items").iter().enumerate() {
                errs.extend(validate_key_to_path(kp, &pp.child("items").index(j)));
                let p = kp.str_of("path");
                if !p.is_empty() {
                    note_path(p, s.str_of("name"), &mut errs);
                }
            }
        }
        if let Some(d) = source.obj("downwardAPI") {
            n += 1;
            for file in d.list("items") {
                errs.extend(validate_downward_file(file, &sp.child("downwardAPI")));
                let p = file.str_of("path");
                if !p.is_empty() {
                    note_path(p, p, &mut errs);
                }
            }
        }
        if let Some(t) = source.obj("serviceAccountToken") {
            n += 1;
            let pp = sp.child("serviceAccountToken");
            let exp = t.int("expirationSeconds").unwrap_or(3600);
            if exp < 600 {
                errs.push(FieldError::invalid(
                    pp.child("expirationSeconds"),
                    exp,
                    "may not specify a duration less than 10 minutes",
                ));
            }
            if exp > 1 << 32 {
                errs.push(FieldError::invalid(
                    pp.child("expirationSeconds"),
                    exp,
                    "may not specify a duration larger than 2^32 seconds",
                ));
            }
            let p = t.str_of("path");
            if p.is_empty() {
                errs.push(FieldError::required(path.child("path"), ""));
            } else {
                errs.extend(validate_local_non_reserved_path(p, &path.child("path")));
            }
        }
        if let Some(ctb) = source.obj("clusterTrustBundle") {
            n += 1;
            errs.extend(validate_cluster_trust_bundle(ctb, &sp.child("clusterTrustBundle")));
            note_path(ctb.str_of("path"), ctb.str_of("path"), &mut errs);
        }
        if n > 1 {
            errs.push(FieldError::forbidden(&sp, "may not specify more than 1 volume type per source"));
        }
    }
    errs
}

fn validate_cluster_trust_bundle(ctb: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match (ctb.opt_str("name"), ctb.opt_str("signerName")) {
        (Some(_), Some(_)) => {
            errs.push(FieldError::invalid(path, ctb.clone(), "only one of name and signerName may be used"))
        }
        (Some(""), None) => errs.push(FieldError::required(path.child("name"), "must be a valid object name")),
        (None, Some("")) => errs.push(FieldError::required(path.child("signerName"), "must be a valid signer name")),
        (None, Some(_)) => errs.extend(validate_label_selector(
            ctb.field("labelSelector"),
            SelectorOpts::default(),
            &path.child("labelSelector"),
        )),
        (Some(_), None) => {
            if ctb.has("labelSelector") {
                errs.push(FieldError::invalid(
                    path.child("labelSelector"),
                    ctb.field("labelSelector").cloned().unwrap_or_default(),
                    "labelSelector must be unset if name is specified",
                ));
            }
        }
        (None, None) => errs.push(FieldError::required(path, "either name or signerName must be specified")),
    }
    let p = ctb.str_of("path");
    if p.is_empty() {
        errs.push(FieldError::required(path.child("path"), ""));
    }
    errs.extend(validate_local_non_reserved_path(p, &path.child("path")));
    errs
}

/// `validatePathNoBacksteps`.
pub fn validate_path_no_backsteps(target: &str, path: &Path) -> Vec<FieldError> {
    if target.replace('\\', "/").split('/').any(|p| p == "..") {
        vec![FieldError::invalid(path, target, "must not contain '..'")]
    } else {
        vec![]
    }
}

/// `validateLocalDescendingPath`: relative, no `..` elements.
pub fn validate_local_descending_path(target: &str, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if target.starts_with('/') {
        errs.push(FieldError::invalid(path, target, "must be a relative path"));
    }
    errs.extend(validate_path_no_backsteps(target, path));
    errs
}

/// `ValidateLocalNonReservedPath`: also must not start with `..`.
pub fn validate_local_non_reserved_path(target: &str, path: &Path) -> Vec<FieldError> {
    let mut errs = validate_local_descending_path(target, path);
    if target.starts_with("..") && !target.starts_with("../") {
        errs.push(FieldError::invalid(path, target, "must not start with '..'"));
    }
    errs
}

/// The sources a PersistentVolume may use, in the order the real validator checks them,
/// with the path segment its errors use.
const PV_SOURCES: [(&str, &str); 22] = [
    ("hostPath", "hostPath"),
    ("gcePersistentDisk", "persistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("nfs", "nfs"),
    ("rbd", "rbd"),
    ("quobyte", "quobyte"),
    ("cephfs", "cephfs"),
    ("iscsi", "iscsi"),
    ("cinder", "cinder"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("scaleIO", "scaleIO"),
    ("local", "local"),
    ("storageos", "storageos"),
    ("csi", "csi"),
];

/// The volume source of a PV: returns the errors and whether a `local` source is used.
pub fn validate_pv_source(spec: &Value, path: &Path) -> (Vec<FieldError>, bool) {
    let mut errs = Vec::new();
    let mut count = 0;
    let mut local = false;
    for (kind, segment) in PV_SOURCES {
        let Some(src) = spec.obj(kind) else { continue };
        if count > 0 && kind != "flexVolume" {
            errs.push(FieldError::forbidden(path.child(kind), MULTIPLE_TYPES));
            continue;
        }
        count += 1;
        let p = path.child(segment);
        errs.extend(match kind {
            "hostPath" => validate_host_path(src, &p),
            "nfs" => validate_nfs(src, &p),
            "iscsi" => validate_iscsi(src, &p),
            "fc" => validate_fc(src, &p),
            "flocker" => validate_flocker(src, &p),
            "storageos" => validate_storageos(src, &p),
            "local" => {
                local = true;
                let lp = src.str_of("path");
                if lp.is_empty() {
                    vec![FieldError::required(p.child("path"), "")]
                } else {
                    validate_path_no_backsteps(lp, &p.child("path"))
                }
            }
            "csi" => {
                let mut e = validate_csi_driver_name(src.str_of("driver"), &p.child("driver"));
                e.extend(required(src, "volumeHandle", &p));
                e
            }
            other => validate_required_fields(src, other, &p),
        });
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a volume type"));
    }
    (errs, local)
}
