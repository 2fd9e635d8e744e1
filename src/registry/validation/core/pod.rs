//! Pods, pod specs and pod templates (`ValidatePodSpec`, `ValidatePodCreate`,
//! `ValidatePodUpdate`, `ValidatePodStatusUpdate`, `ValidatePodTemplateSpec`), with the feature
//! gates of a default Kubernetes 1.33 API server.

use serde_json::{Map, Value};

use super::resources::{quantity_at, resource_list, validate_container_resources};
use super::volumes::{VolumeInfo, validate_local_descending_path, validate_path_no_backsteps, validate_volumes};
use crate::registry::field_error::{FieldError, Path};
use crate::registry::validation::access::{Fields, int_or_string, metadata, semantic_eq};
use crate::registry::validation::meta::{
    self, MetaRules, SelectorOpts, non_negative, validate_annotations, validate_label_name, validate_label_selector,
    validate_labels,
};
use crate::registry::validation::names;

/// Which checks apply: pods get a few that embedded pod specs do not.
#[derive(Clone, Copy, Default)]
pub struct PodOpts {
    /// The object is a Pod (not a template inside a workload).
    pub resource_is_pod: bool,
    /// Tolerate an invalid `controller.kubernetes.io/pod-deletion-cost` (already stored).
    pub allow_invalid_deletion_cost: bool,
}

const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";
const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";
const SECCOMP_POD: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";
const APPARMOR_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

const ENV_DOWNWARD_FIELDS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];
const CONTAINER_RESOURCE_FIELDS: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

// ---------------------------------------------------------------- the pod

/// Validate a Pod on create (`ValidatePodCreate`) or update (`ValidatePodUpdate`).
pub fn validate_pod(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut opts = PodOpts { resource_is_pod: true, allow_invalid_deletion_cost: false };
    let Some(old) = old else {
        let mut errs = pod_metadata_and_spec(obj, opts);
        let spec = obj.field("spec");
        let sp = Path::new("spec");
        if !spec.list("ephemeralContainers").is_empty() {
            errs.push(FieldError::forbidden(sp.child("ephemeralContainers"), "cannot be set on create"));
        }
        if !spec.str_of("nodeName").is_empty() && !spec.list("schedulingGates").is_empty() {
            errs.push(FieldError::forbidden(
                sp.child("nodeName"),
                "cannot be set until all schedulingGates have been cleared",
            ));
        }
        errs.extend(seccomp_annotations_and_fields(metadata(obj), spec, &sp));
        return errs;
    };
    opts.allow_invalid_deletion_cost = deletion_cost_invalid(metadata(old));
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    errs.extend(pod_metadata_and_spec(obj, opts));
    errs.extend(annotation_updates(obj, old));
    errs.extend(pod_spec_update(obj.field("spec"), old.field("spec")));
    errs
}

/// `ValidatePodStatusUpdate`.
pub fn validate_pod_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    errs.extend(annotation_updates(obj, old));
    let (status, old_status) = (obj.field("status"), old.field("status"));
    const SYSTEM: [&str; 3] = ["PodScheduled", "Ready", "Initialized"];
    for (i, c) in status.list("conditions").iter().enumerate() {
        let t = c.str_of("type");
        if !SYSTEM.contains(&t) {
            errs.extend(qualified_name(t, &Path::new("metadata").child("conditions").index(i).child("Type")));
        }
    }
    let sp = Path::new("status");
    if obj.field("spec").str_of("nodeName") != old.field("spec").str_of("nodeName") {
        errs.push(FieldError::forbidden(sp.child("nodeName"), "may not be changed directly"));
    }
    let nominated = status.str_of("nominatedNodeName");
    if nominated != old_status.str_of("nominatedNodeName") && !nominated.is_empty() {
        errs.extend(
            names::is_dns1123_subdomain(nominated)
                .into_iter()
                .map(|m| FieldError::invalid(sp.child("nominatedNodeName"), nominated, m)),
        );
    }
    let (qos, old_qos) = (status.str_of("qosClass"), old_status.str_of("qosClass"));
    if qos != old_qos {
        errs.push(FieldError::invalid(sp.child("qosClass"), qos, meta::FIELD_IMMUTABLE));
    }
    let restart = old.field("spec").str_of("restartPolicy");
    errs.extend(state_transitions(
        status.list("containerStatuses"),
        old_status.list("containerStatuses"),
        &sp.child("containerStatuses"),
        restart,
        &[],
    ));
    let restartable: Vec<&str> = old
        .field("spec")
        .list("initContainers")
        .iter()
        .filter(|c| c.str_of("restartPolicy") == "Always")
        .map(|c| c.str_of("name"))
        .collect();
    errs.extend(state_transitions(
        status.list("initContainerStatuses"),
        old_status.list("initContainerStatuses"),
        &sp.child("initContainerStatuses"),
        restart,
        &restartable,
    ));
    errs.extend(state_transitions(
        status.list("ephemeralContainerStatuses"),
        old_status.list("ephemeralContainerStatuses"),
        &sp.child("ephemeralContainerStatuses"),
        "Never",
        &[],
    ));
    errs.extend(validate_ip_list(status.list("podIPs"), &sp.child("podIPs"), None));
    if !status.list("hostIPs").is_empty() {
        errs.extend(validate_ip_list(status.list("hostIPs"), &sp.child("hostIPs"), Some(status.str_of("hostIP"))));
    }
    errs
}

fn state_transitions(
    new: &[Value],
    old: &[Value],
    path: &Path,
    restart: &str,
    restartable: &[&str],
) -> Vec<FieldError> {
    if restart == "Always" {
        return vec![];
    }
    let mut errs = Vec::new();
    for (i, o) in old.iter().enumerate() {
        let Some(term) = o.field("state").obj("terminated") else { continue };
        if term.int_or_zero("exitCode") != 0 && restart == "OnFailure" {
            continue;
        }
        if restartable.contains(&o.str_of("name")) {
            continue;
        }
        if new.iter().any(|n| n.str_of("name") == o.str_of("name") && !n.field("state").has("terminated")) {
            errs.push(FieldError::forbidden(
                path.index(i).child("state"),
                "may not be transitioned to non-terminated state",
            ));
        }
    }
    errs
}

fn validate_ip_list(ips: &[Value], path: &Path, host_ip: Option<&str>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let list: Vec<&str> = ips.iter().map(|v| v.str_of("ip")).collect();
    if let Some(h) = host_ip
        && list.first().is_some_and(|f| *f != h)
    {
        errs.push(FieldError::invalid(path.index(0).child("ip"), list[0], "must be equal to `hostIP`"));
    }
    for (i, ip) in list.iter().enumerate() {
        errs.extend(names::is_valid_ip(path.index(i).as_str(), ip));
    }
    if list.len() > 1 {
        let v4 = list.iter().filter(|ip| !ip.contains(':')).count();
        if list.len() > 2 || v4 != 1 {
            errs.push(FieldError::invalid(
                path,
                Value::Array(ips.to_vec()),
                "may specify no more than one IP for each IP family",
            ));
        }
        for (i, ip) in list.iter().enumerate() {
            if list[..i].contains(ip) {
                errs.push(FieldError::duplicate(path.index(i), ips[i].clone()));
            }
        }
    }
    errs
}

/// `validatePodMetadataAndSpec`.
fn pod_metadata_and_spec(obj: &Value, opts: PodOpts) -> Vec<FieldError> {
    let rules = MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(true), builtin: true };
    let mut errs = meta::validate_object_meta(obj, rules);
    let meta_v = metadata(obj);
    let spec = obj.field("spec");
    let sp = Path::new("spec");
    errs.extend(pod_specific_annotations(
        &meta_v.str_map("annotations"),
        spec,
        &Path::new("metadata").child("annotations"),
        opts,
    ));
    errs.extend(validate_pod_spec(spec, Some(meta_v), &sp, opts));
    if spec.str_of("serviceAccountName").is_empty() {
        for (vi, vol) in spec.list("volumes").iter().enumerate() {
            for (si, src) in vol.field("projected").list("sources").iter().enumerate() {
                if src.has("serviceAccountToken") {
                    let p = sp
                        .child("volumes")
                        .index(vi)
                        .child("projected")
                        .child("sources")
                        .index(si)
                        .child("serviceAccountToken");
                    errs.push(FieldError::forbidden(p, "must not be specified when serviceAccountName is not set"));
                }
            }
        }
    }
    for kind in ["containers", "initContainers"] {
        for (i, c) in spec.list(kind).iter().enumerate() {
            errs.extend(container_only_for_pod(c, &sp.child(kind).index(i)));
        }
    }
    errs
}

fn container_only_for_pod(c: &Value, path: &Path) -> Vec<FieldError> {
    let image = c.str_of("image");
    if image.len() != image.trim().len() {
        vec![FieldError::invalid(path.child("image"), image, "must not have leading or trailing whitespace")]
    } else {
        vec![]
    }
}

fn deletion_cost_invalid(meta_v: &Value) -> bool {
    meta_v.field("annotations").opt_str(DELETION_COST).is_some_and(|v| parse_deletion_cost(v).is_none())
}

fn parse_deletion_cost(v: &str) -> Option<i32> {
    let first_ok = v.starts_with('-') || v == "0" || v.as_bytes().first().is_some_and(|c| (b'1'..=b'9').contains(c));
    if !first_ok {
        return None;
    }
    v.parse().ok()
}

/// `ValidatePodSpecificAnnotations`.
pub fn pod_specific_annotations(
    annotations: &[(&str, &str)],
    spec: Option<&Value>,
    path: &Path,
    opts: PodOpts,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let get = |k: &str| annotations.iter().find(|(a, _)| *a == k).map(|(_, v)| *v);
    if let Some(v) = get(MIRROR_ANNOTATION)
        && spec.str_of("nodeName").is_empty()
    {
        errs.push(FieldError::invalid(
            path.key(MIRROR_ANNOTATION),
            v,
            "must set spec.nodeName if mirror pod annotation is set",
        ));
    }
    if !opts.allow_invalid_deletion_cost
        && let Some(v) = get(DELETION_COST)
        && parse_deletion_cost(v).is_none()
    {
        errs.push(FieldError::invalid(path.key(DELETION_COST), v, "must be a 32bit integer"));
    }
    for (k, v) in annotations {
        if *k == SECCOMP_POD || k.starts_with(SECCOMP_CONTAINER_PREFIX) {
            errs.extend(validate_seccomp_profile_annotation(v, &path.child(k)));
        }
    }
    for (k, v) in annotations {
        let Some(container) = k.strip_prefix(APPARMOR_PREFIX) else { continue };
        if !all_containers(spec).iter().any(|c| c.str_of("name") == container) {
            errs.push(FieldError::invalid(path.key(k), container, "container not found"));
        }
        if !(v.is_empty() || *v == "runtime/default" || *v == "unconfined" || v.starts_with("localhost/")) {
            errs.push(FieldError::invalid(path.key(k), *v, format!("invalid AppArmor profile name: {v:?}")));
        }
    }
    errs
}

fn validate_seccomp_profile_annotation(p: &str, path: &Path) -> Vec<FieldError> {
    match p {
        "runtime/default" | "docker/default" | "unconfined" => vec![],
        p if p.starts_with("localhost/") => validate_local_descending_path(&p["localhost/".len()..], path),
        p => vec![FieldError::invalid(path, p, "must be a valid seccomp profile")],
    }
}

fn all_containers(spec: Option<&Value>) -> Vec<&Value> {
    ["initContainers", "containers", "ephemeralContainers"].iter().flat_map(|k| spec.list(k).iter()).collect()
}

/// Containers of a spec with their paths (`VisitContainersWithPath`).
fn containers_with_paths<'a>(spec: Option<&'a Value>, path: &Path) -> Vec<(&'a Value, Path)> {
    ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|k| spec.list(k).iter().enumerate().map(move |(i, c)| (c, path.child(k).index(i))))
        .collect()
}

fn annotation_updates(new: &Value, old: &Value) -> Vec<FieldError> {
    let (na, oa) = (metadata(new).str_map("annotations"), metadata(old).str_map("annotations"));
    let path = Path::new("metadata").child("annotations");
    let mut errs = Vec::new();
    for (k, ov) in &oa {
        if na.iter().any(|(nk, nv)| nk == k && nv == ov) {
            continue;
        }
        if k.starts_with(APPARMOR_PREFIX) {
            errs.push(FieldError::forbidden(path.key(k), "may not remove or update AppArmor annotations"));
        }
        if *k == MIRROR_ANNOTATION {
            errs.push(FieldError::forbidden(path.key(k), "may not remove or update mirror pod annotation"));
        }
    }
    for (k, _) in &na {
        if oa.iter().any(|(ok, _)| ok == k) {
            continue;
        }
        if k.starts_with(APPARMOR_PREFIX) {
            errs.push(FieldError::forbidden(path.key(k), "may not add AppArmor annotations"));
        }
        if *k == MIRROR_ANNOTATION {
            errs.push(FieldError::forbidden(path.key(k), "may not add mirror pod annotation"));
        }
    }
    errs
}

fn seccomp_annotations_and_fields(meta_v: &Value, spec: Option<&Value>, sp: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let annotations = meta_v.str_map("annotations");
    let get = |k: &str| annotations.iter().find(|(a, _)| *a == k).map(|(_, v)| *v);
    if let (Some(profile), Some(a)) = (spec.field("securityContext").obj("seccompProfile"), get(SECCOMP_POD)) {
        errs.extend(seccomp_match(a, profile, &sp.child("securityContext").child("seccompProfile")));
    }
    for (c, cp) in containers_with_paths(spec, sp) {
        let Some(profile) = c.field("securityContext").obj("seccompProfile") else { continue };
        if let Some(a) = get(&format!("{SECCOMP_CONTAINER_PREFIX}{}", c.str_of("name"))) {
            errs.extend(seccomp_match(a, profile, &cp.child("securityContext").child("seccompProfile")));
        }
    }
    errs
}

fn seccomp_match(annotation: &str, profile: &Value, path: &Path) -> Vec<FieldError> {
    let mismatch =
        || vec![FieldError::forbidden(path.child("type"), "seccomp type in annotation and field must match")];
    match profile.str_of("type") {
        "Unconfined" if annotation != "unconfined" => mismatch(),
        "RuntimeDefault" if annotation != "runtime/default" && annotation != "docker/default" => mismatch(),
        "Localhost" => match annotation.strip_prefix("localhost/") {
            None => mismatch(),
            Some(p) if profile.opt_str("localhostProfile") != Some(p) => vec![FieldError::forbidden(
                path.child("localhostProfile"),
                "seccomp profile in annotation and field must match",
            )],
            Some(_) => vec![],
        },
        _ => vec![],
    }
}

// ---------------------------------------------------------------- pod updates

const UPDATABLE_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

fn pod_spec_update(new: Option<&Value>, old: Option<&Value>) -> Vec<FieldError> {
    let sp = Path::new("spec");
    let mut errs = Vec::new();
    for kind in ["containers", "initContainers"] {
        let (n, o) = (new.list(kind), old.list(kind));
        if n.len() != o.len() {
            errs.push(FieldError::forbidden(sp.child(kind), "pod updates may not add or remove containers"));
            return errs;
        }
        for (i, c) in n.iter().enumerate() {
            let image = c.str_of("image");
            if image.is_empty() {
                errs.push(FieldError::required(sp.child(kind).index(i).child("image"), ""));
            }
            if image.trim().len() != image.len() {
                errs.push(FieldError::invalid(
                    sp.child(kind).index(i).child("image"),
                    image,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }
    let ads = sp.child("activeDeadlineSeconds");
    match (new.int("activeDeadlineSeconds"), old.int("activeDeadlineSeconds")) {
        (Some(n), _) if !(0..=i64::from(i32::MAX)).contains(&n) => {
            errs.push(FieldError::invalid(ads, n, names::inclusive_range_error(0, i64::from(i32::MAX))));
            return errs;
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(FieldError::invalid(ads, n, "must be less than or equal to previous value"));
            return errs;
        }
        (None, Some(_)) => {
            errs.push(FieldError::invalid(ads, Value::Null, "must not update from a positive integer to nil value"))
        }
        _ => {}
    }
    errs.extend(only_added_tolerations(new.list("tolerations"), old.list("tolerations"), &sp.child("tolerations")));
    errs.extend(only_deleted_gates(
        new.list("schedulingGates"),
        old.list("schedulingGates"),
        &sp.child("schedulingGates"),
    ));
    let (Some(new), Some(old)) = (new, old) else { return errs };
    if semantic_eq(new, old) {
        return errs;
    }
    let mut munged = new.clone();
    for kind in ["containers", "initContainers"] {
        if let Some(list) = munged.get_mut(kind).and_then(Value::as_array_mut) {
            for (i, c) in list.iter_mut().enumerate() {
                c["image"] = old.list(kind).get(i).map(|o| o["image"].clone()).unwrap_or(Value::Null);
            }
        }
    }
    for f in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        set_or_remove(&mut munged, f, old.field(f).cloned());
    }
    if old.int("terminationGracePeriodSeconds").is_some_and(|g| g < 0)
        && munged.int("terminationGracePeriodSeconds") == Some(1)
    {
        set_or_remove(
            &mut munged,
            "terminationGracePeriodSeconds",
            old.field("terminationGracePeriodSeconds").cloned(),
        );
    }
    if !old.list("schedulingGates").is_empty() {
        errs.extend(gated_pod_mutations(&mut munged, old, &sp));
    }
    if !semantic_eq(&munged, old) {
        errs.push(FieldError::forbidden(
            &sp,
            format!("pod updates may not change fields other than {UPDATABLE_FIELDS}\n{}", spec_diff(old, &munged)),
        ));
    }
    errs
}

/// Gated pods may add node selectors and node affinity requirements.
fn gated_pod_mutations(munged: &mut Value, old: &Value, sp: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (new_sel, old_sel) = (munged.str_map("nodeSelector"), old.str_map("nodeSelector"));
    if new_sel != old_sel {
        if old_sel.iter().any(|(k, v)| !new_sel.contains(&(k, v))) {
            errs.push(FieldError::invalid_rendered(
                sp.child("nodeSelector"),
                meta::render_string_map(&new_sel, munged.has("nodeSelector")),
                "only additions to spec.nodeSelector are allowed (no mutations or deletions)",
            ));
        }
        set_or_remove(munged, "nodeSelector", old.field("nodeSelector").cloned());
    }
    let old_na = old.field("affinity").field("nodeAffinity").cloned();
    let new_na = munged.field("affinity").field("nodeAffinity").cloned();
    if !semantic_eq(old_na.as_ref().unwrap_or(&Value::Null), new_na.as_ref().unwrap_or(&Value::Null)) {
        let na_path = sp.child("affinity").child("nodeAffinity");
        let old_terms =
            old_na.as_ref().field("requiredDuringSchedulingIgnoredDuringExecution").list("nodeSelectorTerms").to_vec();
        let new_terms =
            new_na.as_ref().field("requiredDuringSchedulingIgnoredDuringExecution").list("nodeSelectorTerms").to_vec();
        let tp = na_path.child("requiredDuringSchedulingIgnoredDuringExecution").child("nodeSelectorTerms");
        if !old_terms.is_empty() && old_terms.len() != new_terms.len() {
            errs.push(FieldError::invalid(
                tp,
                Value::Array(new_terms),
                "no additions/deletions to non-empty NodeSelectorTerms list are allowed",
            ));
        } else {
            for (i, (o, n)) in old_terms.iter().zip(&new_terms).enumerate() {
                if !term_only_additions(n, o) {
                    errs.push(FieldError::invalid(
                        tp.index(i),
                        n.clone(),
                        "only additions are allowed (no mutations or deletions)",
                    ));
                }
            }
        }
        if let Some(aff) = munged.get_mut("affinity").and_then(Value::as_object_mut) {
            match old_na {
                Some(na) => {
                    aff.insert("nodeAffinity".into(), na);
                }
                None => {
                    aff.remove("nodeAffinity");
                }
            }
        }
    }
    errs
}

fn term_only_additions(new: &Value, old: &Value) -> bool {
    let old_empty = old.list("matchExpressions").is_empty() && old.list("matchFields").is_empty();
    let new_empty = new.list("matchExpressions").is_empty() && new.list("matchFields").is_empty();
    if old_empty && !new_empty {
        return false;
    }
    ["matchExpressions", "matchFields"].iter().all(|k| {
        let (o, n) = (old.list(k), new.list(k));
        n.len() >= o.len() && o.iter().zip(n).all(|(a, b)| semantic_eq(a, b))
    })
}

fn set_or_remove(obj: &mut Value, key: &str, v: Option<Value>) {
    if let Some(m) = obj.as_object_mut() {
        match v {
            Some(v) => {
                m.insert(key.into(), v);
            }
            None => {
                m.remove(key);
            }
        }
    }
}

/// A short description of what differs between two specs (the real server prints a go-cmp diff).
fn spec_diff(old: &Value, new: &Value) -> String {
    let (o, n) = (old.as_object().cloned().unwrap_or_default(), new.as_object().cloned().unwrap_or_default());
    let mut lines = vec!["  core.PodSpec{".to_string()];
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.dedup();
    let mut seen = Vec::new();
    for k in keys {
        if seen.contains(&k) {
            continue;
        }
        seen.push(k);
        let (a, b) = (o.get(k).unwrap_or(&Value::Null), n.get(k).unwrap_or(&Value::Null));
        if !semantic_eq(a, b) {
            lines.push(format!("- \t{k}: {a},"));
            lines.push(format!("+ \t{k}: {b},"));
        }
    }
    lines.push("  }".into());
    lines.join("\n")
}

fn only_added_tolerations(new: &[Value], old: &[Value], path: &Path) -> Vec<FieldError> {
    let strip = |t: &Value| {
        let mut t = t.clone();
        set_or_remove(&mut t, "tolerationSeconds", None);
        t
    };
    for o in old {
        let os = strip(o);
        if !new.iter().any(|n| semantic_eq(&strip(n), &os)) {
            return vec![FieldError::forbidden(
                path,
                "existing toleration can not be modified except its tolerationSeconds",
            )];
        }
    }
    validate_tolerations(new, path)
}

fn only_deleted_gates(new: &[Value], old: &[Value], path: &Path) -> Vec<FieldError> {
    let old_names: Vec<&str> = old.iter().map(|g| g.str_of("name")).collect();
    new.iter()
        .enumerate()
        .filter(|(_, g)| !old_names.contains(&g.str_of("name")))
        .map(|(i, g)| {
            FieldError::forbidden(
                path.index(i).child("name"),
                format!("only deletion is allowed, but found new scheduling gate '{}'", g.str_of("name")),
            )
        })
        .collect()
}

// ---------------------------------------------------------------- templates

/// `ValidatePodTemplateSpec`.
pub fn validate_pod_template_spec(t: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let meta_v = t.field("metadata");
    let mut errs = validate_labels(&meta_v.str_map("labels"), &path.child("labels"));
    errs.extend(validate_annotations(&meta_v.str_map("annotations"), &path.child("annotations")));
    let spec = t.field("spec");
    errs.extend(pod_specific_annotations(
        &meta_v.str_map("annotations"),
        spec,
        &path.child("annotations"),
        PodOpts::default(),
    ));
    errs.extend(validate_pod_spec(spec, None, &path.child("spec"), PodOpts::default()));
    errs.extend(seccomp_annotations_and_fields(meta_v.unwrap_or(&Value::Null), spec, &path.child("spec")));
    if !spec.list("ephemeralContainers").is_empty() {
        errs.push(FieldError::forbidden(
            path.child("spec").child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

// ---------------------------------------------------------------- the spec

/// `ValidatePodSpec`.
pub fn validate_pod_spec(
    spec: Option<&Value>,
    pod_meta: Option<&Value>,
    path: &Path,
    opts: PodOpts,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let grace = spec.int("terminationGracePeriodSeconds");
    if grace.is_none() {
        errs.push(FieldError::required(path.child("terminationGracePeriodSeconds"), ""));
    }
    let host_users = spec.boolean("hostUsers").unwrap_or(true);
    let pod_name = pod_meta.map(|m| m.str_of("name"));
    let (vols, verrs) = validate_volumes(spec.list("volumes"), pod_name, &path.child("volumes"), opts.resource_is_pod);
    errs.extend(verrs);
    let claim_names: Vec<&str> =
        spec.list("resourceClaims").iter().map(|c| c.str_of("name")).filter(|n| !n.is_empty()).collect();
    errs.extend(validate_pod_resource_claims(spec.list("resourceClaims"), &path.child("resourceClaims")));
    let ctx =
        ContainerCtx { vols: &vols, claims: &claim_names, grace, restart: spec.str_of("restartPolicy"), host_users };
    errs.extend(validate_containers(spec.list("containers"), &ctx, &path.child("containers")));
    errs.extend(validate_init_containers(
        spec.list("initContainers"),
        spec.list("containers"),
        &ctx,
        &path.child("initContainers"),
    ));
    errs.extend(validate_ephemeral_containers(spec, &ctx, &path.child("ephemeralContainers")));
    errs.extend(host_network_deps(spec, path, opts));
    errs.extend(validate_restart_policy(spec.str_of("restartPolicy"), &path.child("restartPolicy")));
    errs.extend(validate_dns_policy(spec.str_of("dnsPolicy"), &path.child("dnsPolicy")));
    errs.extend(validate_labels(&spec.str_map("nodeSelector"), &path.child("nodeSelector")));
    errs.extend(validate_pod_security_context(spec, path));
    for (i, s) in spec.list("imagePullSecrets").iter().enumerate() {
        if s.as_object().is_some_and(|m| m.keys().any(|k| k != "name")) {
            errs.push(FieldError::invalid(path.child("imagePullSecrets").index(i), s.clone(), "only name may be set"));
        }
    }
    if let Some(aff) = spec.obj("affinity") {
        errs.extend(validate_affinity(aff, &path.child("affinity")));
    }
    errs.extend(validate_dns_config(spec.field("dnsConfig"), spec.str_of("dnsPolicy"), &path.child("dnsConfig")));
    for (i, g) in spec.list("readinessGates").iter().enumerate() {
        errs.extend(qualified_name(
            g.str_of("conditionType"),
            &path.child("readinessGates").index(i).child("conditionType"),
        ));
    }
    let mut seen_gates: Vec<&str> = Vec::new();
    for (i, g) in spec.list("schedulingGates").iter().enumerate() {
        let name = g.str_of("name");
        errs.extend(qualified_name(name, &path.child("schedulingGates").index(i)));
        if seen_gates.contains(&name) {
            errs.push(FieldError::duplicate(path.child("schedulingGates").index(i), name));
        }
        seen_gates.push(name);
    }
    errs.extend(validate_topology_spread(
        spec.list("topologySpreadConstraints"),
        &path.child("topologySpreadConstraints"),
    ));
    errs.extend(validate_windows_host_process(spec, path));
    if !host_users {
        for (f, child) in [("hostNetwork", "hostNetwork"), ("hostPID", "HostPID"), ("hostIPC", "HostIPC")] {
            if spec.flag(f) {
                errs.push(FieldError::forbidden(path.child(child), "when `pod.Spec.HostUsers` is false"));
            }
        }
    }
    for (field, check) in [
        ("serviceAccountName", names::is_dns1123_subdomain as fn(&str) -> Vec<String>),
        ("nodeName", names::is_dns1123_subdomain),
    ] {
        let v = spec.str_of(field);
        if !v.is_empty() {
            errs.extend(check(v).into_iter().map(|m| FieldError::invalid(path.child(field), v, m)));
        }
    }
    if let Some(v) = spec.int("activeDeadlineSeconds")
        && !(1..=i64::from(i32::MAX)).contains(&v)
    {
        errs.push(FieldError::invalid(
            path.child("activeDeadlineSeconds"),
            v,
            names::inclusive_range_error(1, i64::from(i32::MAX)),
        ));
    }
    for field in ["hostname", "subdomain"] {
        let v = spec.str_of(field);
        if !v.is_empty() {
            errs.extend(dns_label(v, &path.child(field)));
        }
    }
    errs.extend(validate_tolerations(spec.list("tolerations"), &path.child("tolerations")));
    for (i, ha) in spec.list("hostAliases").iter().enumerate() {
        let p = path.child("hostAliases").index(i);
        errs.extend(names::is_valid_ip(p.child("ip").as_str(), ha.str_of("ip")));
        for (j, h) in ha.strings("hostnames").iter().enumerate() {
            errs.extend(
                names::is_dns1123_subdomain(h)
                    .into_iter()
                    .map(|m| FieldError::invalid(p.child("hostnames").index(j), *h, m)),
            );
        }
    }
    let pcn = spec.str_of("priorityClassName");
    if !pcn.is_empty() {
        errs.extend(
            names::is_dns1123_subdomain(pcn)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("priorityClassName"), pcn, m)),
        );
    }
    if let Some(rc) = spec.opt_str("runtimeClassName") {
        errs.extend(
            names::is_dns1123_subdomain(rc)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("runtimeClassName"), rc, m)),
        );
    }
    if let Some(pp) = spec.opt_str("preemptionPolicy") {
        errs.extend(validate_preemption_policy(pp, &path.child("preemptionPolicy")));
    }
    if let Some(overhead) = spec.obj("overhead") {
        let r = serde_json::json!({ "limits": overhead });
        errs.extend(validate_container_resources(Some(&r), &[], &path.child("overhead")).into_iter().map(|mut e| {
            e.field = e.field.replace("overhead.limits", "overhead");
            e
        }));
    }
    if let Some(os) = spec.obj("os") {
        errs.extend(validate_os(spec, os, path));
    }
    errs
}

/// `ValidatePreemptionPolicy`.
pub fn validate_preemption_policy(pp: &str, path: &Path) -> Vec<FieldError> {
    match pp {
        "PreemptLowerPriority" | "Never" => vec![],
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(path, other, &["PreemptLowerPriority", "Never"])],
    }
}

fn dns_label(v: &str, path: &Path) -> Vec<FieldError> {
    names::is_dns1123_label(v).into_iter().map(|m| FieldError::invalid(path, v, m)).collect()
}

fn qualified_name(v: &str, path: &Path) -> Vec<FieldError> {
    names::is_qualified_name(v).into_iter().map(|m| FieldError::invalid(path, v, m)).collect()
}

fn validate_pod_resource_claims(claims: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, c) in claims.iter().enumerate() {
        let p = path.index(i);
        let name = c.str_of("name");
        if name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        } else if seen.contains(&name) {
            errs.push(FieldError::duplicate(p.child("name"), name));
        } else {
            errs.extend(dns_label(name, &p.child("name")));
            seen.push(name);
        }
        let (rc, rct) = (c.opt_str("resourceClaimName"), c.opt_str("resourceClaimTemplateName"));
        if rc.is_some() && rct.is_some() {
            errs.push(FieldError::invalid(
                &p,
                c.clone(),
                "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified",
            ));
        }
        if rc.is_none() && rct.is_none() {
            errs.push(FieldError::invalid(
                &p,
                c.clone(),
                "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`",
            ));
        }
        for (f, v) in [("resourceClaimName", rc), ("resourceClaimTemplateName", rct)] {
            if let Some(v) = v {
                errs.extend(names::is_dns1123_subdomain(v).into_iter().map(|m| FieldError::invalid(p.child(f), v, m)));
            }
        }
    }
    errs
}

fn validate_restart_policy(p: &str, path: &Path) -> Vec<FieldError> {
    match p {
        "Always" | "OnFailure" | "Never" => vec![],
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(path, other, &["Always", "OnFailure", "Never"])],
    }
}

fn validate_dns_policy(p: &str, path: &Path) -> Vec<FieldError> {
    match p {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => vec![],
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(
            path,
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )],
    }
}

fn host_network_deps(spec: Option<&Value>, path: &Path, opts: PodOpts) -> Vec<FieldError> {
    if !spec.flag("hostNetwork") {
        return vec![];
    }
    let mut errs = Vec::new();
    for (i, c) in spec.list("containers").iter().enumerate() {
        for (j, port) in c.list("ports").iter().enumerate() {
            let (hp, cp) = (port.int_or_zero("hostPort"), port.int_or_zero("containerPort"));
            if (opts.resource_is_pod || hp != 0) && hp != cp {
                errs.push(FieldError::invalid(
                    path.child("containers").index(i).child("ports").index(j).child("hostPort"),
                    hp,
                    "must match `containerPort` when `hostNetwork` is true",
                ));
            }
        }
    }
    errs
}

// ---------------------------------------------------------------- containers

struct ContainerCtx<'a> {
    vols: &'a [VolumeInfo],
    claims: &'a [&'a str],
    grace: Option<i64>,
    restart: &'a str,
    host_users: bool,
}

fn validate_containers(containers: &[Value], ctx: &ContainerCtx<'_>, path: &Path) -> Vec<FieldError> {
    if containers.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let mut errs = Vec::new();
    let mut names_seen: Vec<&str> = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let p = path.index(i);
        errs.extend(container_common(c, ctx, &p));
        let name = c.str_of("name");
        if names_seen.contains(&name) {
            errs.push(FieldError::duplicate(p.child("name"), name));
        } else {
            names_seen.push(name);
        }
        errs.extend(lifecycle_and_probes(c, ctx, &p));
        if c.has("restartPolicy") {
            errs.push(FieldError::forbidden(p.child("restartPolicy"), "may not be set for non-init containers"));
        }
    }
    errs.extend(host_port_conflicts(containers, path));
    errs
}

fn lifecycle_and_probes(c: &Value, ctx: &ContainerCtx<'_>, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(lc) = c.obj("lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = lc.obj(hook) {
                errs.extend(validate_handler(h, ctx.grace, &p.child("lifecycle").child(hook), true));
            }
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(pr) = c.obj(probe) else { continue };
        let pp = p.child(probe);
        errs.extend(validate_probe(pr, ctx.grace, &pp));
        if probe == "readinessProbe" {
            if let Some(t) = pr.field("terminationGracePeriodSeconds") {
                errs.push(FieldError::invalid(
                    pp.child("terminationGracePeriodSeconds"),
                    t.clone(),
                    "must not be set for readinessProbes",
                ));
            }
        } else if pr.int("successThreshold") != Some(1) {
            errs.push(FieldError::invalid(
                pp.child("successThreshold"),
                pr.int_or_zero("successThreshold"),
                "must be 1",
            ));
        }
    }
    errs
}

fn validate_init_containers(
    inits: &[Value],
    regular: &[Value],
    ctx: &ContainerCtx<'_>,
    path: &Path,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut all: Vec<&str> = regular.iter().map(|c| c.str_of("name")).collect();
    for (i, c) in inits.iter().enumerate() {
        let p = path.index(i);
        errs.extend(container_common(c, ctx, &p));
        let mut restart_always = false;
        if let Some(rp) = c.opt_str("restartPolicy") {
            if rp != "Always" {
                errs.push(FieldError::not_supported(p.child("restartPolicy"), rp, &["Always"]));
            }
            restart_always = rp == "Always";
        }
        let name = c.str_of("name");
        if all.contains(&name) {
            errs.push(FieldError::duplicate(p.child("name"), name));
        } else if !name.is_empty() {
            all.push(name);
        }
        errs.extend(host_port_conflicts(std::slice::from_ref(c), path));
        if restart_always {
            errs.extend(lifecycle_and_probes(c, ctx, &p));
        } else {
            for f in ["lifecycle", "livenessProbe", "readinessProbe", "startupProbe"] {
                if c.has(f) {
                    errs.push(FieldError::forbidden(
                        p.child(f),
                        "may not be set for init containers without restartPolicy=Always",
                    ));
                }
            }
        }
    }
    errs
}

const EPHEMERAL_FORBIDDEN: [&str; 6] =
    ["ports", "resources", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle"];

fn validate_ephemeral_containers(spec: Option<&Value>, ctx: &ContainerCtx<'_>, path: &Path) -> Vec<FieldError> {
    let ephemeral = spec.list("ephemeralContainers");
    if ephemeral.is_empty() {
        return vec![];
    }
    let others: Vec<&str> =
        spec.list("containers").iter().chain(spec.list("initContainers")).map(|c| c.str_of("name")).collect();
    let mut all = others.clone();
    let mut errs = Vec::new();
    for (i, ec) in ephemeral.iter().enumerate() {
        let p = path.index(i);
        errs.extend(container_common(ec, ctx, &p));
        errs.extend(container_only_for_pod(ec, &p));
        let name = ec.str_of("name");
        if all.contains(&name) {
            errs.push(FieldError::duplicate(p.child("name"), name));
        } else {
            all.push(name);
        }
        let target = ec.str_of("targetContainerName");
        if !target.is_empty() && !others.contains(&target) {
            errs.push(FieldError::not_found(p.child("targetContainerName"), target));
        }
        for f in EPHEMERAL_FORBIDDEN {
            let set = ec.field(f).is_some_and(|v| {
                !(v.as_object().is_some_and(Map::is_empty) || v.as_array().is_some_and(Vec::is_empty))
            });
            if set {
                errs.push(FieldError::forbidden(p.child(f), "cannot be set for an Ephemeral Container"));
            }
        }
        for (j, vm) in ec.list("volumeMounts").iter().enumerate() {
            for f in ["subPath", "subPathExpr"] {
                if !vm.str_of(f).is_empty() {
                    errs.push(FieldError::forbidden(
                        p.child("volumeMounts").index(j).child(f),
                        "cannot be set for an Ephemeral Container",
                    ));
                }
            }
        }
    }
    errs
}

fn container_common(c: &Value, ctx: &ContainerCtx<'_>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = c.str_of("name");
    if name.is_empty() {
        errs.push(FieldError::required(path.child("name"), ""));
    } else {
        errs.extend(dns_label(name, &path.child("name")));
    }
    if c.str_of("image").is_empty() {
        errs.push(FieldError::required(path.child("image"), ""));
    }
    match c.str_of("terminationMessagePolicy") {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(FieldError::required(path.child("terminationMessagePolicy"), "")),
        other => errs.push(FieldError::not_supported(
            path.child("terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    errs.extend(validate_container_ports(c.list("ports"), &path.child("ports")));
    errs.extend(validate_env(c.list("env"), &path.child("env")));
    errs.extend(validate_env_from(c.list("envFrom"), &path.child("envFrom")));
    errs.extend(validate_volume_mounts(c, ctx.vols, &path.child("volumeMounts")));
    errs.extend(validate_volume_devices(c, ctx.vols, &path.child("volumeDevices")));
    errs.extend(validate_pull_policy(c.str_of("imagePullPolicy"), &path.child("imagePullPolicy")));
    errs.extend(validate_container_resources(c.field("resources"), ctx.claims, &path.child("resources")));
    errs.extend(validate_resize_policy(c.list("resizePolicy"), ctx.restart, &path.child("resizePolicy")));
    if let Some(sc) = c.obj("securityContext") {
        errs.extend(validate_security_context(sc, ctx.host_users, &path.child("securityContext")));
    }
    errs
}

/// `validatePullPolicy`.
pub fn validate_pull_policy(p: &str, path: &Path) -> Vec<FieldError> {
    match p {
        "Always" | "IfNotPresent" | "Never" => vec![],
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(path, other, &["Always", "IfNotPresent", "Never"])],
    }
}

fn validate_container_ports(ports: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names_seen: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let p = path.index(i);
        let name = port.str_of("name");
        if !name.is_empty() {
            let msgs = names::is_valid_port_name(name);
            if !msgs.is_empty() {
                errs.extend(msgs.into_iter().map(|m| FieldError::invalid(p.child("name"), name, m)));
            } else if names_seen.contains(&name) {
                errs.push(FieldError::duplicate(p.child("name"), name));
            } else {
                names_seen.push(name);
            }
        }
        let cp = port.int_or_zero("containerPort");
        if cp == 0 {
            errs.push(FieldError::required(p.child("containerPort"), ""));
        } else {
            errs.extend(
                names::is_valid_port_num(cp).into_iter().map(|m| FieldError::invalid(p.child("containerPort"), cp, m)),
            );
        }
        let hp = port.int_or_zero("hostPort");
        if hp != 0 {
            errs.extend(
                names::is_valid_port_num(hp).into_iter().map(|m| FieldError::invalid(p.child("hostPort"), hp, m)),
            );
        }
        errs.extend(validate_protocol(port.str_of("protocol"), &p.child("protocol")));
    }
    errs
}

/// A port protocol: TCP, UDP or SCTP.
pub fn validate_protocol(proto: &str, path: &Path) -> Vec<FieldError> {
    match proto {
        "" => vec![FieldError::required(path, "")],
        "SCTP" | "TCP" | "UDP" => vec![],
        other => vec![FieldError::not_supported(path, other, &["SCTP", "TCP", "UDP"])],
    }
}

fn host_port_conflicts(containers: &[Value], path: &Path) -> Vec<FieldError> {
    let mut seen: Vec<String> = Vec::new();
    let mut errs = Vec::new();
    for (ci, c) in containers.iter().enumerate() {
        for (pi, port) in c.list("ports").iter().enumerate() {
            let hp = port.int_or_zero("hostPort");
            if hp == 0 {
                continue;
            }
            let key = format!("{}/{}/{hp}", port.str_of("protocol"), port.str_of("hostIP"));
            if seen.contains(&key) {
                errs.push(FieldError::duplicate(path.index(ci).child("ports").index(pi).child("hostPort"), key));
            } else {
                seen.push(key);
            }
        }
    }
    errs
}

fn validate_env(env: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, ev) in env.iter().enumerate() {
        let p = path.index(i);
        let name = ev.str_of("name");
        if name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        } else {
            errs.extend(
                names::is_relaxed_env_var_name(name).into_iter().map(|m| FieldError::invalid(p.child("name"), name, m)),
            );
        }
        errs.extend(validate_value_from(ev, &p.child("valueFrom")));
    }
    errs
}

fn validate_value_from(ev: &Value, path: &Path) -> Vec<FieldError> {
    let Some(vf) = ev.obj("valueFrom") else { return vec![] };
    let mut errs = Vec::new();
    let mut n = 0;
    if let Some(fr) = vf.obj("fieldRef") {
        n += 1;
        errs.extend(validate_object_field_selector(fr, &ENV_DOWNWARD_FIELDS, &path.child("fieldRef")));
    }
    if let Some(rf) = vf.obj("resourceFieldRef") {
        n += 1;
        errs.extend(validate_resource_field_selector(rf, &path.child("resourceFieldRef"), false));
    }
    for (kind, child) in [("configMapKeyRef", "configMapKeyRef"), ("secretKeyRef", "secretKeyRef")] {
        let Some(r) = vf.obj(kind) else { continue };
        n += 1;
        let p = path.child(child);
        let name = r.str_of("name");
        errs.extend(
            names::is_dns1123_subdomain(name).into_iter().map(|m| FieldError::invalid(p.child("name"), name, m)),
        );
        let key = r.str_of("key");
        if key.is_empty() {
            errs.push(FieldError::required(p.child("key"), ""));
        } else {
            errs.extend(names::is_config_map_key(key).into_iter().map(|m| FieldError::invalid(p.child("key"), key, m)));
        }
    }
    if n == 0 {
        errs.push(FieldError::invalid(
            path,
            "",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        ));
    } else if !ev.str_of("value").is_empty() {
        errs.push(FieldError::invalid(path, "", "may not be specified when `value` is not empty"));
    } else if n > 1 {
        errs.push(FieldError::invalid(path, "", "may not have more than one field specified at a time"));
    }
    errs
}

/// `validateObjectFieldSelector` (downward API field references).
pub fn validate_object_field_selector(fs: &Value, allowed: &[&str], path: &Path) -> Vec<FieldError> {
    let api_version = fs.str_of("apiVersion");
    if api_version.is_empty() {
        return vec![FieldError::required(path.child("apiVersion"), "")];
    }
    let fp = fs.str_of("fieldPath");
    if fp.is_empty() {
        return vec![FieldError::required(path.child("fieldPath"), "")];
    }
    let internal = match convert_downward_label(api_version, fp) {
        Ok(l) => l,
        Err(e) => {
            return vec![FieldError::invalid(path.child("fieldPath"), fp, format!("error converting fieldPath: {e}"))];
        }
    };
    if let Some((p, subscript)) = split_subscripted(&internal) {
        return match p {
            "metadata.annotations" => qualified_name(&subscript.to_lowercase(), path),
            "metadata.labels" => qualified_name(subscript, path),
            other => vec![FieldError::invalid(path, other, "does not support subscript")],
        };
    }
    if !allowed.contains(&internal.as_str()) {
        return vec![FieldError::not_supported(path.child("fieldPath"), internal, allowed)];
    }
    vec![]
}

fn split_subscripted(p: &str) -> Option<(&str, &str)> {
    let s = p.strip_suffix("']")?;
    let (path, sub) = s.split_once("['")?;
    (!path.is_empty()).then_some((path, sub))
}

fn convert_downward_label(version: &str, label: &str) -> Result<String, String> {
    if version != "v1" {
        return Err(format!("unsupported pod version: {version}"));
    }
    if let Some((p, _)) = split_subscripted(label) {
        return match p {
            "metadata.annotations" | "metadata.labels" => Ok(label.into()),
            _ => Err(format!("field label does not support subscript: {label}")),
        };
    }
    match label {
        "metadata.annotations"
        | "metadata.labels"
        | "metadata.name"
        | "metadata.namespace"
        | "metadata.uid"
        | "spec.nodeName"
        | "spec.restartPolicy"
        | "spec.serviceAccountName"
        | "spec.schedulerName"
        | "status.phase"
        | "status.hostIP"
        | "status.hostIPs"
        | "status.podIP"
        | "status.podIPs" => Ok(label.into()),
        "spec.host" => Ok("spec.nodeName".into()),
        _ => Err(format!("field label not supported: {label}")),
    }
}

/// `validateContainerResourceFieldSelector`.
pub fn validate_resource_field_selector(fs: &Value, path: &Path, volume: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let resource = fs.str_of("resource");
    if volume && fs.str_of("containerName").is_empty() {
        errs.push(FieldError::required(path.child("containerName"), ""));
    } else if resource.is_empty() {
        errs.push(FieldError::required(path.child("resource"), ""));
    } else if !CONTAINER_RESOURCE_FIELDS.contains(&resource)
        && !resource.starts_with("limits.hugepages-")
        && !resource.starts_with("requests.hugepages-")
    {
        errs.push(FieldError::not_supported(path.child("resource"), resource, &CONTAINER_RESOURCE_FIELDS));
    }
    if let Some(d) = fs.field("divisor") {
        match quantity_at(d, &path.child("divisor")) {
            Err(e) => errs.push(*e),
            Ok(q) if q.is_zero() => {}
            Ok(q) => errs.extend(validate_divisor(resource, &q.to_string(), path)),
        }
    }
    errs
}

fn validate_divisor(resource: &str, divisor: &str, path: &Path) -> Vec<FieldError> {
    const BYTES: [&str; 13] = ["1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"];
    const BYTES_LIST: &str = "1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei";
    let p = path.child("divisor");
    let mut errs = Vec::new();
    match resource {
        "limits.cpu" | "requests.cpu" if !["1m", "1"].contains(&divisor) => errs.push(FieldError::invalid(
            &p,
            resource,
            "only divisor's values 1m and 1 are supported with the cpu resource",
        )),
        "limits.memory" | "requests.memory" if !BYTES.contains(&divisor) => errs.push(FieldError::invalid(
            &p,
            resource,
            format!("only divisor's values {BYTES_LIST} are supported with the memory resource"),
        )),
        "limits.ephemeral-storage" | "requests.ephemeral-storage" if !BYTES.contains(&divisor) => {
            errs.push(FieldError::invalid(
                &p,
                resource,
                format!("only divisor's values {BYTES_LIST} are supported with the local ephemeral storage resource"),
            ))
        }
        _ => {}
    }
    if (resource.starts_with("requests.hugepages-") || resource.starts_with("limits.hugepages-"))
        && !BYTES.contains(&divisor)
    {
        errs.push(FieldError::invalid(
            &p,
            resource,
            format!("only divisor's values {BYTES_LIST} are supported with the hugepages resource"),
        ));
    }
    errs
}

fn validate_env_from(list: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, ev) in list.iter().enumerate() {
        let p = path.index(i);
        let prefix = ev.str_of("prefix");
        if !prefix.is_empty() {
            errs.extend(
                names::is_relaxed_env_var_name(prefix)
                    .into_iter()
                    .map(|m| FieldError::invalid(p.child("prefix"), prefix, m)),
            );
        }
        let mut n = 0;
        for kind in ["configMapRef", "secretRef"] {
            let Some(r) = ev.obj(kind) else { continue };
            n += 1;
            let name = r.str_of("name");
            let np = p.child(kind).child("name");
            if name.is_empty() {
                errs.push(FieldError::required(np, ""));
            } else {
                errs.extend(
                    names::name_is_dns_subdomain(name, true).into_iter().map(|m| FieldError::invalid(&np, name, m)),
                );
            }
        }
        if n == 0 {
            errs.push(FieldError::invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"));
        } else if n > 1 {
            errs.push(FieldError::invalid(path, "", "may not have more than one field specified at a time"));
        }
    }
    errs
}

fn validate_volume_mounts(c: &Value, vols: &[VolumeInfo], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let devices: Vec<(&str, &str)> =
        c.list("volumeDevices").iter().map(|d| (d.str_of("name"), d.str_of("devicePath"))).collect();
    let mut mountpoints: Vec<&str> = Vec::new();
    let privileged = c.field("securityContext").flag("privileged");
    for (i, m) in c.list("volumeMounts").iter().enumerate() {
        let p = path.index(i);
        let (name, mount_path) = (m.str_of("name"), m.str_of("mountPath"));
        if name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        }
        let vol = vols.iter().find(|v| v.name == name);
        if vol.is_none() {
            errs.push(FieldError::not_found(p.child("name"), name));
        }
        if mount_path.is_empty() {
            errs.push(FieldError::required(p.child("mountPath"), ""));
        }
        if mountpoints.contains(&mount_path) {
            errs.push(FieldError::invalid(p.child("mountPath"), mount_path, "must be unique"));
        }
        mountpoints.push(mount_path);
        if devices.iter().any(|(n, _)| *n == name) {
            errs.push(FieldError::invalid(p.child("name"), name, "must not already exist in volumeDevices"));
        }
        if devices.iter().any(|(_, dp)| *dp == mount_path) {
            errs.push(FieldError::invalid(
                p.child("mountPath"),
                mount_path,
                "must not already exist as a path in volumeDevices",
            ));
        }
        let (sub, sub_expr) = (m.str_of("subPath"), m.str_of("subPathExpr"));
        if vol.is_some_and(|v| v.is_image) {
            if !sub.is_empty() {
                errs.push(FieldError::invalid(p.child("subPath"), sub, "not allowed in image volume sources"));
            }
            if !sub_expr.is_empty() {
                errs.push(FieldError::invalid(p.child("subPathExpr"), sub_expr, "not allowed in image volume sources"));
            }
        }
        if !sub.is_empty() {
            errs.extend(validate_local_descending_path(sub, &path.child("subPath")));
        }
        if !sub_expr.is_empty() {
            if !sub.is_empty() {
                errs.push(FieldError::invalid(
                    p.child("subPathExpr"),
                    sub_expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            errs.extend(validate_local_descending_path(sub_expr, &path.child("subPathExpr")));
        }
        if let Some(mp) = m.opt_str("mountPropagation") {
            const SUPPORTED: [&str; 3] = ["Bidirectional", "HostToContainer", "None"];
            let mpp = path.child("mountPropagation");
            if !SUPPORTED.contains(&mp) {
                errs.push(FieldError::not_supported(&mpp, mp, &SUPPORTED));
            }
            if mp == "Bidirectional" && !privileged {
                errs.push(FieldError::forbidden(
                    &mpp,
                    "Bidirectional mount propagation is available only to privileged containers",
                ));
            }
        }
        if let Some(rro) = m.opt_str("recursiveReadOnly") {
            let rp = path.child("recursiveReadOnly");
            match rro {
                "Disabled" => {}
                "Enabled" | "IfPossible" => {
                    if !m.flag("readOnly") {
                        errs.push(FieldError::forbidden(&rp, "may only be specified when readOnly is true"));
                    }
                    if m.opt_str("mountPropagation").is_some_and(|mp| mp != "None") {
                        errs.push(FieldError::forbidden(
                            &rp,
                            "may only be specified when mountPropagation is None or not specified",
                        ));
                    }
                }
                other => errs.push(FieldError::not_supported(&rp, other, &["Disabled", "Enabled", "IfPossible"])),
            }
        }
    }
    errs
}

fn validate_volume_devices(c: &Value, vols: &[VolumeInfo], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mounts: Vec<(&str, &str)> =
        c.list("volumeMounts").iter().map(|m| (m.str_of("name"), m.str_of("mountPath"))).collect();
    let (mut paths_seen, mut names_seen): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for (i, d) in c.list("volumeDevices").iter().enumerate() {
        let p = path.index(i);
        let (name, dev_path) = (d.str_of("name"), d.str_of("devicePath"));
        let vol = vols.iter().find(|v| v.name == name);
        if name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        }
        if names_seen.contains(&name) {
            errs.push(FieldError::invalid(p.child("name"), name, "must be unique"));
        }
        match vol {
            Some(v) if !v.is_pvc => errs.push(FieldError::invalid(
                p.child("name"),
                name,
                "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode",
            )),
            None => errs.push(FieldError::not_found(p.child("name"), name)),
            _ => {}
        }
        if dev_path.is_empty() {
            errs.push(FieldError::required(p.child("devicePath"), ""));
        }
        if paths_seen.contains(&dev_path) {
            errs.push(FieldError::invalid(p.child("devicePath"), dev_path, "must be unique"));
        }
        if !dev_path.is_empty() && !validate_path_no_backsteps(dev_path, &p).is_empty() {
            errs.push(FieldError::invalid(p.child("devicePath"), dev_path, "can not contain backsteps ('..')"));
        } else {
            paths_seen.push(dev_path);
        }
        if mounts.iter().any(|(n, _)| *n == name) {
            errs.push(FieldError::invalid(p.child("name"), name, "must not already exist in volumeMounts"));
        }
        if mounts.iter().any(|(_, mp)| *mp == dev_path) {
            errs.push(FieldError::invalid(
                p.child("devicePath"),
                dev_path,
                "must not already exist as a path in volumeMounts",
            ));
        }
        if !name.is_empty() {
            names_seen.push(name);
        }
    }
    errs
}

fn validate_resize_policy(list: &[Value], restart: &str, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let (rn, rp) = (p.str_of("resourceName"), p.str_of("restartPolicy"));
        if seen.contains(&rn) {
            errs.push(FieldError::duplicate(path.index(i), rn));
        }
        seen.push(rn);
        match rn {
            "cpu" | "memory" => {}
            "" => errs.push(FieldError::required(path, "")),
            other => errs.push(FieldError::not_supported(path, other, &["cpu", "memory"])),
        }
        match rp {
            "NotRequired" | "RestartContainer" => {}
            "" => errs.push(FieldError::required(path, "")),
            other => errs.push(FieldError::not_supported(path, other, &["NotRequired", "RestartContainer"])),
        }
        if restart == "Never" && rp != "NotRequired" {
            errs.push(FieldError::invalid(path, rp, "must be 'NotRequired' when `restartPolicy` is 'Never'"));
        }
    }
    errs
}

// ---------------------------------------------------------------- probes and handlers

fn validate_probe(probe: &Value, grace: Option<i64>, path: &Path) -> Vec<FieldError> {
    let mut errs = validate_handler(probe, grace, path, false);
    for f in ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] {
        errs.extend(non_negative(&path.child(f), probe.int_or_zero(f)));
    }
    if let Some(t) = probe.int("terminationGracePeriodSeconds")
        && t <= 0
    {
        errs.push(FieldError::invalid(path.child("terminationGracePeriodSeconds"), t, "must be greater than 0"));
    }
    errs
}

/// `validateHandler`: exactly one of exec, httpGet, tcpSocket, grpc (probes) or sleep (hooks).
fn validate_handler(h: &Value, grace: Option<i64>, path: &Path, lifecycle: bool) -> Vec<FieldError> {
    let kinds: &[&str] =
        if lifecycle { &["exec", "httpGet", "tcpSocket", "sleep"] } else { &["exec", "httpGet", "tcpSocket", "grpc"] };
    let mut errs = Vec::new();
    let mut n = 0;
    for kind in kinds {
        let Some(a) = h.obj(kind) else { continue };
        let p = path.child(kind);
        if n > 0 {
            errs.push(FieldError::forbidden(p, "may not specify more than 1 handler type"));
            continue;
        }
        n += 1;
        errs.extend(match *kind {
            "exec" if a.list("command").is_empty() => vec![FieldError::required(p.child("command"), "")],
            "httpGet" => validate_http_get(a, &p),
            "tcpSocket" => validate_port_num_or_name(a.field("port"), &p.child("port")),
            "grpc" => {
                let port = a.int_or_zero("port");
                names::is_valid_port_num(port)
                    .into_iter()
                    .map(|m| FieldError::invalid(p.child("port"), port, m))
                    .collect()
            }
            "sleep" => {
                let s = a.int_or_zero("seconds");
                match grace {
                    Some(g) if s < 0 || s > g => vec![FieldError::invalid(
                        &p,
                        s,
                        format!("must be non-negative and less than terminationGracePeriodSeconds ({g})"),
                    )],
                    _ => vec![],
                }
            }
            _ => vec![],
        });
    }
    if n == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
    errs
}

fn validate_http_get(a: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if a.str_of("path").is_empty() {
        errs.push(FieldError::required(path.child("path"), ""));
    }
    errs.extend(validate_port_num_or_name(a.field("port"), &path.child("port")));
    let scheme = a.str_of("scheme");
    if scheme != "HTTP" && scheme != "HTTPS" {
        errs.push(FieldError::not_supported(path.child("scheme"), scheme, &["HTTP", "HTTPS"]));
    }
    for h in a.list("httpHeaders") {
        let name = h.str_of("name");
        errs.extend(
            names::is_http_header_name(name)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("httpHeaders"), name, m)),
        );
    }
    errs
}

/// `ValidatePortNumOrName`.
pub fn validate_port_num_or_name(port: Option<&Value>, path: &Path) -> Vec<FieldError> {
    match int_or_string(port) {
        Some(Err(s)) => names::is_valid_port_name(s).into_iter().map(|m| FieldError::invalid(path, s, m)).collect(),
        other => {
            let n = if let Some(Ok(n)) = other { n } else { 0 };
            names::is_valid_port_num(n).into_iter().map(|m| FieldError::invalid(path, n, m)).collect()
        }
    }
}

// ---------------------------------------------------------------- security

fn validate_id(v: Option<i64>, path: &Path, errs: &mut Vec<FieldError>) {
    if let Some(id) = v {
        errs.extend(names::is_valid_user_id(id).into_iter().map(|m| FieldError::invalid(path, id, m)));
    }
}

/// `ValidateSecurityContext` of a container.
fn validate_security_context(sc: &Value, host_users: bool, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    validate_id(sc.int("runAsUser"), &path.child("runAsUser"), &mut errs);
    validate_id(sc.int("runAsGroup"), &path.child("runAsGroup"), &mut errs);
    if let Some(pm) = sc.opt_str("procMount") {
        if pm != "Default" && pm != "Unmasked" {
            errs.push(FieldError::not_supported(path.child("procMount"), pm, &["Default", "Unmasked"]));
        }
        if host_users && pm == "Unmasked" {
            errs.push(FieldError::invalid(path.child("procMount"), pm, "`hostUsers` must be false to use `Unmasked`"));
        }
    }
    errs.extend(validate_seccomp_profile(sc.field("seccompProfile"), &path.child("seccompProfile")));
    if sc.boolean("allowPrivilegeEscalation") == Some(false) {
        if sc.flag("privileged") {
            errs.push(FieldError::invalid(
                path,
                sc.clone(),
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            ));
        }
        if sc.field("capabilities").strings("add").contains(&"CAP_SYS_ADMIN") {
            errs.push(FieldError::invalid(
                path,
                sc.clone(),
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            ));
        }
    }
    errs.extend(validate_windows_options(sc.field("windowsOptions"), &path.child("windowsOptions")));
    errs.extend(validate_apparmor_profile(sc.field("appArmorProfile"), &path.child("appArmorProfile")));
    errs
}

fn validate_seccomp_profile(sp: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let Some(sp) = sp else { return vec![] };
    let mut errs = Vec::new();
    let t = sp.str_of("type");
    match t {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => errs.push(FieldError::required(path.child("type"), "type is required when seccompProfile is set")),
        other => errs.push(FieldError::not_supported(
            path.child("type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )),
    }
    match (t, sp.opt_str("localhostProfile")) {
        ("Localhost", None) => errs
            .push(FieldError::required(path.child("localhostProfile"), "must be set when seccomp type is Localhost")),
        ("Localhost", Some(p)) => errs.extend(validate_local_descending_path(p, &path.child("localhostProfile"))),
        (_, Some(_)) => errs.push(FieldError::invalid(
            path.child("localhostProfile"),
            sp.clone(),
            "can only be set when seccomp type is Localhost",
        )),
        _ => {}
    }
    errs
}

fn validate_apparmor_profile(p: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let Some(p) = p else { return vec![] };
    let lp = p.opt_str("localhostProfile");
    match p.str_of("type") {
        "Localhost" => match lp {
            None => vec![FieldError::required(
                path.child("localhostProfile"),
                "must be set when AppArmor type is Localhost",
            )],
            Some(l) if l.trim() != l => {
                vec![FieldError::invalid(path.child("localhostProfile"), l, "must not be padded with whitespace")]
            }
            Some("") => vec![FieldError::required(
                path.child("localhostProfile"),
                "must be set when AppArmor type is Localhost",
            )],
            Some(l) if l.len() > 4095 => vec![FieldError::too_long(path.child("localhostProfile"), 4095)],
            Some(_) => vec![],
        },
        "RuntimeDefault" | "Unconfined" => match lp {
            Some(l) => vec![FieldError::invalid(
                path.child("localhostProfile"),
                l,
                "can only be set when AppArmor type is Localhost",
            )],
            None => vec![],
        },
        "" => vec![FieldError::required(path.child("type"), "type is required when appArmorProfile is set")],
        other => {
            vec![FieldError::not_supported(path.child("type"), other, &["Localhost", "RuntimeDefault", "Unconfined"])]
        }
    }
}

fn validate_windows_options(w: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let Some(w) = w else { return vec![] };
    let mut errs = Vec::new();
    if let Some(n) = w.opt_str("gmsaCredentialSpecName") {
        errs.extend(
            names::is_dns1123_subdomain(n)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("gmsaCredentialSpecName"), n, m)),
        );
    }
    if let Some(s) = w.opt_str("gmsaCredentialSpec") {
        if s.is_empty() {
            errs.push(FieldError::invalid(
                path.child("gmsaCredentialSpec"),
                s,
                "gmsaCredentialSpec cannot be an empty string",
            ));
        } else if s.len() > 64 * 1024 {
            errs.push(FieldError::invalid(
                path.child("gmsaCredentialSpec"),
                s,
                "gmsaCredentialSpec size must be under 64 KiB",
            ));
        }
    }
    if let Some(u) = w.opt_str("runAsUserName") {
        let p = path.child("runAsUserName");
        if u.is_empty() {
            errs.push(FieldError::invalid(&p, u, "runAsUserName cannot be an empty string"));
        } else if u.chars().any(char::is_control) {
            errs.push(FieldError::invalid(&p, u, "runAsUserName cannot contain control characters"));
        } else if u.matches('\\').count() > 1 {
            errs.push(FieldError::invalid(&p, u, "runAsUserName cannot contain more than one backslash"));
        } else {
            let user = u.rsplit_once('\\').map_or(u, |(_, user)| user);
            if user.is_empty() {
                errs.push(FieldError::invalid(&p, u, "runAsUserName's User cannot be empty"));
            } else if user.len() > 104 {
                errs.push(FieldError::invalid(
                    &p,
                    u,
                    "runAsUserName's User length must not be longer than 104 characters",
                ));
            }
        }
    }
    errs
}

fn validate_windows_host_process(spec: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let pod_hp = spec.field("securityContext").field("windowsOptions").boolean("hostProcess");
    let mut errs = Vec::new();
    let (mut count, mut hp_count) = (0, 0);
    for (c, cp) in containers_with_paths(spec, path) {
        count += 1;
        let c_hp = c.field("securityContext").field("windowsOptions").boolean("hostProcess");
        if let (Some(p), Some(ch)) = (pod_hp, c_hp)
            && p != ch
        {
            errs.push(FieldError::invalid(
                cp.child("securityContext").child("windowsOptions").child("hostProcess"),
                ch,
                format!("pod hostProcess value must be identical if both are specified, was {p}"),
            ));
        }
        if c_hp == Some(true) || (c_hp.is_none() && pod_hp == Some(true)) {
            hp_count += 1;
        }
    }
    if hp_count > 0 {
        if hp_count != count {
            errs.push(FieldError::invalid(
                path,
                "",
                "If pod contains any hostProcess containers then all containers must be HostProcess containers",
            ));
        }
        if !spec.flag("hostNetwork") {
            errs.push(FieldError::invalid(
                path.child("hostNetwork"),
                false,
                "hostNetwork must be true if pod contains any hostProcess containers",
            ));
        }
    }
    errs
}

fn sysctl_namespace(name: &str) -> &'static str {
    let n = name.replace('/', ".");
    if n.starts_with("net.") {
        "net"
    } else if n.starts_with("kernel.shm")
        || n.starts_with("kernel.msg")
        || n == "kernel.sem"
        || n.starts_with("fs.mqueue.")
    {
        "ipc"
    } else {
        ""
    }
}

fn is_valid_sysctl_name(name: &str) -> bool {
    let seg = |s: &str| {
        let b = s.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_lowercase() | b[0].is_ascii_digit()
            && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
            && b.iter().all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
    };
    name.len() <= 253 && name.split(['.', '/']).all(seg)
}

fn validate_pod_security_context(spec: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let Some(sc) = spec.obj("securityContext") else { return vec![] };
    let p = path.child("securityContext");
    let mut errs = Vec::new();
    for f in ["fsGroup", "runAsUser", "runAsGroup"] {
        validate_id(sc.int(f), &p.child(f), &mut errs);
    }
    for (i, g) in sc.list("supplementalGroups").iter().enumerate() {
        validate_id(g.as_i64(), &p.child("supplementalGroups").index(i), &mut errs);
    }
    if spec.boolean("shareProcessNamespace") == Some(true) && spec.flag("hostPID") {
        errs.push(FieldError::invalid(
            p.child("shareProcessNamespace"),
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, s) in sc.list("sysctls").iter().enumerate() {
        let np = p.child("sysctls").index(i).child("name");
        let name = s.str_of("name");
        if name.is_empty() {
            errs.push(FieldError::required(&np, ""));
        } else if !is_valid_sysctl_name(name) {
            errs.push(FieldError::invalid(
                &np,
                name,
                "must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$",
            ));
        } else if seen.contains(&name) {
            errs.push(FieldError::duplicate(&np, name));
        }
        match sysctl_namespace(name) {
            "net" if spec.flag("hostNetwork") => {
                errs.push(FieldError::invalid(&np, name, "may not be specified when 'hostNetwork' is true"))
            }
            "ipc" if spec.flag("hostIPC") => {
                errs.push(FieldError::invalid(&np, name, "may not be specified when 'hostIPC' is true"))
            }
            _ => {}
        }
        seen.push(name);
    }
    if let Some(f) = sc.opt_str("fsGroupChangePolicy")
        && f != "Always"
        && f != "OnRootMismatch"
    {
        errs.push(FieldError::not_supported(p.child("fsGroupChangePolicy"), f, &["Always", "OnRootMismatch"]));
    }
    errs.extend(validate_seccomp_profile(sc.field("seccompProfile"), &p.child("seccompProfile")));
    errs.extend(validate_windows_options(sc.field("windowsOptions"), &p.child("windowsOptions")));
    errs.extend(validate_apparmor_profile(sc.field("appArmorProfile"), &p.child("appArmorProfile")));
    if let Some(s) = sc.opt_str("supplementalGroupsPolicy")
        && s != "Merge"
        && s != "Strict"
    {
        errs.push(FieldError::not_supported(p.child("supplementalGroupsPolicy"), s, &["Merge", "Strict"]));
    }
    if let Some(s) = sc.opt_str("seLinuxChangePolicy")
        && s != "MountOption"
        && s != "Recursive"
    {
        errs.push(FieldError::not_supported(p.child("seLinuxChangePolicy"), s, &["MountOption", "Recursive"]));
    }
    errs
}

fn validate_os(spec: Option<&Value>, os: &Value, path: &Path) -> Vec<FieldError> {
    let p = path.child("os");
    let name = os.str_of("name");
    if name.is_empty() {
        return vec![FieldError::required(p.child("name"), "cannot be empty")];
    }
    if name != "linux" && name != "windows" {
        return vec![FieldError::not_supported(p, name, &["linux", "windows"])];
    }
    let mut errs = Vec::new();
    let sc = spec.field("securityContext");
    if name == "linux" {
        if sc.has("windowsOptions") {
            errs.push(FieldError::forbidden(
                path.child("securityContext").child("windowsOptions"),
                "windows options cannot be set for a linux pod",
            ));
        }
        for (c, cp) in containers_with_paths(spec, path) {
            if c.field("securityContext").has("windowsOptions") {
                errs.push(FieldError::forbidden(
                    cp.child("securityContext").child("windowsOptions"),
                    "windows options cannot be set for a linux pod",
                ));
            }
        }
        return errs;
    }
    const WIN: &str = "cannot be set for a windows pod";
    let psc = path.child("securityContext");
    for f in [
        "appArmorProfile",
        "seLinuxOptions",
        "seccompProfile",
        "fsGroup",
        "fsGroupChangePolicy",
        "sysctls",
        "runAsUser",
        "runAsGroup",
        "supplementalGroups",
        "supplementalGroupsPolicy",
        "seLinuxChangePolicy",
    ] {
        if sc.has(f) && !(f == "sysctls" && sc.list(f).is_empty()) {
            errs.push(FieldError::forbidden(psc.child(f), WIN));
        }
    }
    for f in ["hostUsers", "shareProcessNamespace"] {
        if spec.has(f) {
            errs.push(FieldError::forbidden(path.child(f), WIN));
        }
    }
    for f in ["hostPID", "hostIPC"] {
        if spec.flag(f) {
            errs.push(FieldError::forbidden(path.child(f), WIN));
        }
    }
    for (c, cp) in containers_with_paths(spec, path) {
        let csc = c.field("securityContext");
        for f in [
            "appArmorProfile",
            "seLinuxOptions",
            "seccompProfile",
            "capabilities",
            "readOnlyRootFilesystem",
            "privileged",
            "allowPrivilegeEscalation",
            "procMount",
            "runAsUser",
            "runAsGroup",
        ] {
            if csc.has(f) {
                errs.push(FieldError::forbidden(cp.child("securityContext").child(f), WIN));
            }
        }
    }
    errs
}

// ---------------------------------------------------------------- scheduling

/// `ValidateTolerations`.
pub fn validate_tolerations(list: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let p = path.index(i);
        let (key, op, value, effect) = (t.str_of("key"), t.str_of("operator"), t.str_of("value"), t.str_of("effect"));
        if !key.is_empty() {
            errs.extend(validate_label_name(key, &p.child("key")));
        }
        if key.is_empty() && op != "Exists" {
            errs.push(FieldError::invalid(
                p.child("operator"),
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if t.has("tolerationSeconds") && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                p.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match op {
            "Equal" | "" => {
                let msgs = names::is_valid_label_value(value);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(p.child("operator"), value, msgs.join(";")));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    errs.push(FieldError::invalid(
                        p.child("operator"),
                        value,
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(p.child("operator"), other, &["Equal", "Exists"])),
        }
        if !effect.is_empty() {
            errs.extend(validate_taint_effect(effect, &p.child("effect")));
        }
    }
    errs
}

/// `validateTaintEffect` (non-empty effect).
pub fn validate_taint_effect(effect: &str, path: &Path) -> Vec<FieldError> {
    match effect {
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => vec![],
        other => vec![FieldError::not_supported(path, other, &["NoSchedule", "PreferNoSchedule", "NoExecute"])],
    }
}

/// `ValidateNodeSelectorRequirement`.
pub fn validate_node_selector_requirement(rq: &Value, allow_invalid_values: bool, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let values = rq.strings("values");
    match rq.str_of("operator") {
        "In" | "NotIn" if values.is_empty() => errs
            .push(FieldError::required(path.child("values"), "must be specified when `operator` is 'In' or 'NotIn'")),
        "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::forbidden(
            path.child("values"),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        "Gt" | "Lt" if values.len() != 1 => errs.push(FieldError::required(
            path.child("values"),
            "must be specified single value when `operator` is 'Lt' or 'Gt'",
        )),
        "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" => {}
        op => errs.push(FieldError::invalid(path.child("operator"), op, "not a valid selector operator")),
    }
    errs.extend(validate_label_name(rq.str_of("key"), &path.child("key")));
    if !allow_invalid_values {
        for (i, v) in values.iter().enumerate() {
            errs.extend(
                names::is_valid_label_value(v)
                    .into_iter()
                    .map(|m| FieldError::invalid(path.child("values").index(i), *v, m)),
            );
        }
    }
    errs
}

fn validate_node_selector_term(term: &Value, allow_invalid: bool, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (j, rq) in term.list("matchExpressions").iter().enumerate() {
        errs.extend(validate_node_selector_requirement(rq, allow_invalid, &path.child("matchExpressions").index(j)));
    }
    for (j, rq) in term.list("matchFields").iter().enumerate() {
        let p = path.child("matchFields").index(j);
        match rq.str_of("operator") {
            "In" | "NotIn" if rq.list("values").len() != 1 => errs.push(FieldError::required(
                p.child("values"),
                "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
            )),
            "In" | "NotIn" => {}
            op => errs.push(FieldError::invalid(p.child("operator"), op, "not a valid selector operator")),
        }
        if rq.str_of("key") != "metadata.name" {
            errs.push(FieldError::invalid(p.child("key"), rq.str_of("key"), "not a valid field selector key"));
        } else {
            for (i, v) in rq.strings("values").iter().enumerate() {
                errs.extend(
                    names::is_dns1123_subdomain(v)
                        .into_iter()
                        .map(|m| FieldError::invalid(p.child("values").index(i), *v, m)),
                );
            }
        }
    }
    errs
}

/// `ValidateNodeSelector`.
pub fn validate_node_selector(sel: &Value, allow_invalid: bool, path: &Path) -> Vec<FieldError> {
    let terms = sel.list("nodeSelectorTerms");
    let tp = path.child("nodeSelectorTerms");
    if terms.is_empty() {
        return vec![FieldError::required(tp, "must have at least one node selector term")];
    }
    terms.iter().enumerate().flat_map(|(i, t)| validate_node_selector_term(t, allow_invalid, &tp.index(i))).collect()
}

fn validate_affinity(aff: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(na) = aff.obj("nodeAffinity") {
        let p = path.child("nodeAffinity");
        if let Some(req) = na.obj("requiredDuringSchedulingIgnoredDuringExecution") {
            errs.extend(validate_node_selector(req, false, &p.child("requiredDuringSchedulingIgnoredDuringExecution")));
        }
        for (i, t) in na.list("preferredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
            let tp = p.child("preferredDuringSchedulingIgnoredDuringExecution").index(i);
            let w = t.int_or_zero("weight");
            if !(1..=100).contains(&w) {
                errs.push(FieldError::invalid(tp.child("weight"), w, "must be in the range 1-100"));
            }
            errs.extend(validate_node_selector_term(
                t.field("preference").unwrap_or(&Value::Null),
                true,
                &tp.child("preference"),
            ));
        }
    }
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(pa) = aff.obj(kind) else { continue };
        let p = path.child(kind);
        for (i, t) in pa.list("requiredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
            errs.extend(validate_pod_affinity_term(
                t,
                &p.child("requiredDuringSchedulingIgnoredDuringExecution").index(i),
            ));
        }
        for (i, t) in pa.list("preferredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
            let tp = p.child("preferredDuringSchedulingIgnoredDuringExecution").index(i);
            let w = t.int_or_zero("weight");
            if !(1..=100).contains(&w) {
                errs.push(FieldError::invalid(tp.child("weight"), w, "must be in the range 1-100"));
            }
            errs.extend(validate_pod_affinity_term(
                t.field("podAffinityTerm").unwrap_or(&Value::Null),
                &tp.child("podAffinityTerm"),
            ));
        }
    }
    errs
}

fn validate_pod_affinity_term(t: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs =
        validate_label_selector(t.field("labelSelector"), SelectorOpts::default(), &path.child("labelSelector"));
    errs.extend(validate_label_selector(
        t.field("namespaceSelector"),
        SelectorOpts::default(),
        &path.child("namespaceSelector"),
    ));
    for ns in t.strings("namespaces") {
        errs.extend(dns_label(ns, &path.child("namespace")));
    }
    let sel = t.field("labelSelector");
    for kind in ["matchLabelKeys", "mismatchLabelKeys"] {
        let keys = t.strings(kind);
        if keys.is_empty() {
            continue;
        }
        if sel.is_none() {
            errs.push(FieldError::forbidden(path.child(kind), "must not be specified when labelSelector is not set"));
            continue;
        }
        for (i, k) in keys.iter().enumerate() {
            errs.extend(validate_label_name(k, &path.child(kind).index(i)));
        }
    }
    let mismatch = t.strings("mismatchLabelKeys");
    for (i, k) in t.strings("matchLabelKeys").iter().enumerate() {
        if mismatch.contains(k) {
            errs.push(FieldError::invalid(
                path.child("matchLabelKeys").index(i),
                *k,
                "exists in both matchLabelKeys and mismatchLabelKeys",
            ));
        }
    }
    let topo = t.str_of("topologyKey");
    if topo.is_empty() {
        errs.push(FieldError::required(path.child("topologyKey"), "can not be empty"));
    }
    errs.extend(validate_label_name(topo, &path.child("topologyKey")));
    errs
}

fn validate_topology_spread(list: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let p = path.index(i);
        let skew = c.int_or_zero("maxSkew");
        if skew <= 0 {
            errs.push(FieldError::invalid(p.child("maxSkew"), skew, "must be greater than zero"));
        }
        let (key, action) = (c.str_of("topologyKey"), c.str_of("whenUnsatisfiable"));
        if key.is_empty() {
            errs.push(FieldError::required(p.child("topologyKey"), "can not be empty"));
        }
        if action != "DoNotSchedule" && action != "ScheduleAnyway" {
            errs.push(FieldError::not_supported(
                p.child("whenUnsatisfiable"),
                action,
                &["DoNotSchedule", "ScheduleAnyway"],
            ));
        }
        if list[i + 1..].iter().any(|o| o.str_of("topologyKey") == key && o.str_of("whenUnsatisfiable") == action) {
            errs.push(FieldError::duplicate(
                p.child("{topologyKey, whenUnsatisfiable}"),
                format!("{{{key}, {action}}}"),
            ));
        }
        if let Some(md) = c.int("minDomains") {
            if md <= 0 {
                errs.push(FieldError::invalid(p.child("minDomains"), md, "must be greater than zero"));
            }
            if action != "DoNotSchedule" {
                errs.push(FieldError::invalid(
                    p.child("minDomains"),
                    md,
                    format!("can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {action}"),
                ));
            }
        }
        for f in ["nodeAffinityPolicy", "nodeTaintsPolicy"] {
            if let Some(v) = c.opt_str(f)
                && v != "Honor"
                && v != "Ignore"
            {
                errs.push(FieldError::not_supported(p.child(f), v, &["Honor", "Ignore"]));
            }
        }
        let keys = c.strings("matchLabelKeys");
        if !keys.is_empty() {
            let sel = c.field("labelSelector");
            let sel_keys: Vec<&str> = sel
                .str_map("matchLabels")
                .iter()
                .map(|(k, _)| *k)
                .chain(sel.list("matchExpressions").iter().map(|e| e.str_of("key")))
                .collect();
            if sel.is_none() {
                errs.push(FieldError::forbidden(
                    p.child("matchLabelKeys"),
                    "must not be specified when labelSelector is not set",
                ));
            }
            for (j, k) in keys.iter().enumerate() {
                errs.extend(validate_label_name(k, &p.child("matchLabelKeys").index(j)));
                if sel_keys.contains(k) {
                    errs.push(FieldError::invalid(
                        p.child("matchLabelKeys").index(j),
                        *k,
                        "exists in both matchLabelKeys and labelSelector",
                    ));
                }
            }
        }
        errs.extend(validate_label_selector(
            c.field("labelSelector"),
            SelectorOpts::default(),
            &p.child("labelSelector"),
        ));
    }
    errs
}

fn validate_dns_config(cfg: Option<&Value>, policy: &str, path: &Path) -> Vec<FieldError> {
    if policy == "None" {
        let Some(cfg) = cfg else {
            return vec![FieldError::required(path, "must provide `dnsConfig` when `dnsPolicy` is None")];
        };
        if cfg.list("nameservers").is_empty() {
            return vec![FieldError::required(
                path.child("nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            )];
        }
    }
    let Some(cfg) = cfg else { return vec![] };
    let mut errs = Vec::new();
    let ns = cfg.strings("nameservers");
    if ns.len() > 3 {
        errs.push(FieldError::invalid_rendered(
            path.child("nameservers"),
            meta::render_string_list(&ns),
            "must not have more than 3 nameservers",
        ));
    }
    for (i, n) in ns.iter().enumerate() {
        errs.extend(names::is_valid_ip(path.child("nameservers").index(i).as_str(), n));
    }
    let searches = cfg.strings("searches");
    if searches.len() > 32 {
        errs.push(FieldError::invalid_rendered(
            path.child("searches"),
            meta::render_string_list(&searches),
            "must not have more than 32 search paths",
        ));
    }
    if searches.join(" ").len() > 2048 {
        errs.push(FieldError::invalid_rendered(
            path.child("searches"),
            meta::render_string_list(&searches),
            "must not have more than 2048 characters (including spaces) in the search list",
        ));
    }
    for (i, s) in searches.iter().enumerate() {
        if *s == "." {
            continue;
        }
        let trimmed = s.strip_suffix('.').unwrap_or(s);
        errs.extend(
            names::is_dns1123_subdomain_with_underscore(trimmed)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("searches").index(i), trimmed, m)),
        );
    }
    for (i, o) in cfg.list("options").iter().enumerate() {
        if o.str_of("name").is_empty() {
            errs.push(FieldError::required(path.child("options").index(i), "must not be empty"));
        }
    }
    errs
}

/// The QoS class of a pod spec (`ComputePodQOS`).
pub fn qos_class(spec: Option<&Value>) -> &'static str {
    let mut requests: Vec<(String, crate::registry::quantity::Quantity)> = Vec::new();
    let mut limits: Vec<(String, crate::registry::quantity::Quantity)> = Vec::new();
    let mut guaranteed = true;
    let containers: Vec<&Value> = spec.list("containers").iter().chain(spec.list("initContainers")).collect();
    let mut scratch = Vec::new();
    for c in containers {
        let r = c.field("resources");
        let req: Vec<(&str, crate::registry::quantity::Quantity)> =
            resource_list(r.field("requests"), &Path::new(""), &mut scratch)
                .into_iter()
                .filter(|(n, q)| matches!(*n, "cpu" | "memory") && !q.is_zero())
                .collect();
        let lim: Vec<(&str, crate::registry::quantity::Quantity)> =
            resource_list(r.field("limits"), &Path::new(""), &mut scratch)
                .into_iter()
                .filter(|(n, q)| matches!(*n, "cpu" | "memory") && !q.is_zero())
                .collect();
        for (n, q) in &req {
            add_to(&mut requests, n, q);
        }
        let mut has_cpu = false;
        let mut has_mem = false;
        for (n, q) in &lim {
            has_cpu |= *n == "cpu";
            has_mem |= *n == "memory";
            add_to(&mut limits, n, q);
        }
        if !(has_cpu && has_mem) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed {
        for (n, q) in &requests {
            if limits.iter().find(|(ln, _)| ln == n).is_none_or(|(_, l)| l != q) {
                guaranteed = false;
            }
        }
    }
    if guaranteed && limits.len() == 2 { "Guaranteed" } else { "Burstable" }
}

fn add_to(
    list: &mut Vec<(String, crate::registry::quantity::Quantity)>,
    name: &str,
    q: &crate::registry::quantity::Quantity,
) {
    match list.iter_mut().find(|(n, _)| n == name) {
        Some((_, existing)) => {
            if let Some(sum) = existing.checked_add(q) {
                *existing = sum;
            }
        }
        None => list.push((name.to_string(), q.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    /// A pod as it looks after defaulting.
    fn pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "1"},
            "spec": {
                "containers": [{"name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                    "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "resources": {},
                    "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": "http", "scheme": "HTTP"}, "timeoutSeconds": 1,
                        "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}}],
                "volumes": [{"name": "data", "emptyDir": {}}],
                "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
                "schedulerName": "default-scheduler", "securityContext": {}, "serviceAccountName": "default",
                "enableServiceLinks": true, "priority": 0,
                "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]},
            "status": {"phase": "Pending", "qosClass": "BestEffort"}})
    }

    #[test]
    fn valid_pod_passes() {
        assert_eq!(msgs(&validate_pod(&pod(), None)), Vec::<String>::new());
    }

    #[test]
    fn container_mistakes() {
        let mut p = pod();
        p["spec"]["containers"][0]["name"] = json!("Web_1");
        p["spec"]["containers"][0]["image"] = json!("");
        p["spec"]["containers"][0]["imagePullPolicy"] = json!("Sometimes");
        p["spec"]["containers"][0]["ports"] =
            json!([{"containerPort": 0, "protocol": "TCP"}, {"containerPort": 70000, "protocol": "HTTP"}]);
        p["spec"]["containers"][0]["volumeMounts"] = json!([{"name": "missing", "mountPath": "/x"}]);
        let m = msgs(&validate_pod(&p, None));
        assert_eq!(
            m,
            vec![
                "spec.containers[0].name: Invalid value: \"Web_1\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                "spec.containers[0].image: Required value",
                "spec.containers[0].ports[0].containerPort: Required value",
                "spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.containers[0].ports[1].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.containers[0].volumeMounts[0].name: Not found: \"missing\"",
                "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
            ]
        );
    }

    #[test]
    fn spec_mistakes() {
        let mut p = pod();
        p["spec"]["restartPolicy"] = json!("Sometimes");
        p["spec"]["dnsPolicy"] = json!("Custom");
        p["spec"]["containers"] = json!([]);
        p["spec"]["tolerations"] = json!([{"operator": "Equal", "value": "x"}]);
        let m = msgs(&validate_pod(&p, None));
        assert_eq!(
            m,
            vec![
                "spec.containers: Required value",
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                "spec.dnsPolicy: Unsupported value: \"Custom\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
                "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ]
        );
    }

    #[test]
    fn resources_env_and_probes() {
        let mut p = pod();
        let c = &mut p["spec"]["containers"][0];
        c["resources"] = json!({"limits": {"memory": "64Mi"}, "requests": {"memory": "128Mi"}});
        c["env"] = json!([{"name": "A=B", "value": "x"}, {"name": "X", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nope"}}}]);
        c["livenessProbe"] = json!({"exec": {"command": []}, "successThreshold": 2, "timeoutSeconds": 1, "periodSeconds": 10, "failureThreshold": 3});
        let m = msgs(&validate_pod(&p, None));
        assert_eq!(
            m,
            vec![
                "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
                "spec.containers[0].env[1].valueFrom.fieldRef.fieldPath: Invalid value: \"spec.nope\": error converting fieldPath: field label not supported: spec.nope",
                "spec.containers[0].resources.requests: Invalid value: \"128Mi\": must be less than or equal to memory limit of 64Mi",
                "spec.containers[0].livenessProbe.exec.command: Required value",
                "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
            ]
        );
    }

    #[test]
    fn sidecars_and_init_containers() {
        let mut p = pod();
        let base = p["spec"]["containers"][0].clone();
        let mut init = base.clone();
        init["name"] = json!("init");
        init["ports"] = json!([]);
        init["restartPolicy"] = json!("OnFailure");
        let mut sidecar = base.clone();
        sidecar["name"] = json!("sidecar");
        sidecar["ports"] = json!([]);
        sidecar["restartPolicy"] = json!("Always");
        p["spec"]["initContainers"] = json!([init, sidecar]);
        let m = msgs(&validate_pod(&p, None));
        assert_eq!(
            m,
            vec![
                "spec.initContainers[0].restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
                "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
            ]
        );
    }

    #[test]
    fn host_network_ports() {
        let mut p = pod();
        p["spec"]["hostNetwork"] = json!(true);
        p["spec"]["containers"][0]["ports"][0]["hostPort"] = json!(8080);
        assert_eq!(
            msgs(&validate_pod(&p, None)),
            vec![
                "spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true"
            ]
        );
    }

    #[test]
    fn volumes() {
        let mut p = pod();
        p["spec"]["volumes"] = json!([{"name": "data", "emptyDir": {}, "hostPath": {"path": "/x"}}, {"name": "cfg", "configMap": {"name": "c", "defaultMode": 1000}},
            {"name": "cfg"}]);
        let m = msgs(&validate_pod(&p, None));
        assert_eq!(
            m,
            vec![
                "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
                "spec.volumes[1].configMap.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive",
                "spec.volumes[2]: Required value: must specify a volume type",
                "spec.containers[0].volumeMounts[0].name: Not found: \"data\"",
            ]
        );
    }

    #[test]
    fn updates() {
        let old = pod();
        let mut new = pod();
        new["spec"]["containers"][0]["image"] = json!("nginx:1.28");
        new["spec"]["activeDeadlineSeconds"] = json!(100);
        assert!(validate_pod(&new, Some(&old)).is_empty());
        let mut bad = pod();
        bad["spec"]["restartPolicy"] = json!("Never");
        let m = msgs(&validate_pod(&bad, Some(&old)));
        assert_eq!(m.len(), 1);
        assert!(m[0].starts_with("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"));
        let mut more = pod();
        more["spec"]["containers"] =
            json!([old["spec"]["containers"][0].clone(), old["spec"]["containers"][0].clone()]);
        more["spec"]["containers"][1]["name"] = json!("two");
        more["spec"]["containers"][1]["ports"] = json!([]);
        assert_eq!(
            msgs(&validate_pod(&more, Some(&old))),
            vec!["spec.containers: Forbidden: pod updates may not add or remove containers"]
        );
        let mut tol = pod();
        tol["spec"]["tolerations"] = json!([]);
        assert_eq!(
            msgs(&validate_pod(&tol, Some(&old))),
            vec!["spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"]
        );
    }

    #[test]
    fn status_updates() {
        let old = pod();
        let mut new = pod();
        new["status"]["qosClass"] = json!("Guaranteed");
        new["status"]["podIPs"] = json!([{"ip": "10.42.0.300"}]);
        assert_eq!(
            msgs(&validate_pod_status(&new, &old)),
            vec![
                "status.qosClass: Invalid value: \"Guaranteed\": field is immutable",
                "status.podIPs[0]: Invalid value: \"10.42.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ]
        );
    }

    #[test]
    fn qos_classes() {
        let spec = |r: Value| json!({"containers": [{"resources": r}]});
        assert_eq!(qos_class(Some(&spec(json!({})))), "BestEffort");
        assert_eq!(qos_class(Some(&spec(json!({"requests": {"cpu": "100m"}})))), "Burstable");
        let g = json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}});
        assert_eq!(qos_class(Some(&spec(g))), "Guaranteed");
    }

    #[test]
    fn templates_validate_the_pod_spec() {
        let t = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c"}], "restartPolicy": "Always",
            "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30}});
        let m = msgs(&validate_pod_template_spec(Some(&t), &Path::new("spec.template")));
        assert_eq!(
            m,
            vec![
                "spec.template.spec.containers[0].image: Required value",
                "spec.template.spec.containers[0].terminationMessagePolicy: Required value",
                "spec.template.spec.containers[0].imagePullPolicy: Required value",
            ]
        );
    }
}
