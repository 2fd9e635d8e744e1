//! Resource names and quantities: container resources, quotas, limit ranges, capacities.

use serde_json::Value;

use crate::registry::field_error::{FieldError, Path};
use crate::registry::quantity::{Quantity, parse_quantity};
use crate::registry::validation::access::{Fields, quantity_text};
use crate::registry::validation::names;

const STANDARD_CONTAINER_RESOURCES: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];
const STANDARD_RESOURCES: [&str; 20] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];
const STANDARD_QUOTA_RESOURCES: [&str; 19] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "services.nodeports",
    "services.loadbalancers",
];
const INTEGER_RESOURCES: [&str; 9] = [
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

/// `hugepages-<size>`.
pub fn is_hugepage(name: &str) -> bool {
    name.starts_with("hugepages-")
}

fn is_quota_hugepage(name: &str) -> bool {
    name.starts_with("hugepages-") || name.starts_with("requests.hugepages-")
}

/// No domain, or the `kubernetes.io/` domain.
pub fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// A resource of a device plugin or similar (`example.com/gpu`).
pub fn is_extended(name: &str) -> bool {
    if is_native(name) || name.starts_with("requests.") {
        return false;
    }
    names::is_qualified_name(&format!("requests.{name}")).is_empty()
}

/// Whether requests may be below limits for the resource.
pub fn is_overcommit_allowed(name: &str) -> bool {
    is_native(name) && !is_hugepage(name)
}

fn is_integer_resource(name: &str) -> bool {
    INTEGER_RESOURCES.contains(&name) || is_extended(name)
}

fn is_standard_resource(name: &str) -> bool {
    STANDARD_RESOURCES.contains(&name) || is_quota_hugepage(name)
}

/// A standard quota resource name.
pub fn is_standard_quota_resource(name: &str) -> bool {
    STANDARD_QUOTA_RESOURCES.contains(&name) || is_quota_hugepage(name)
}

/// Parse a quantity field; its error names the field like a decode error would.
pub fn quantity_at(v: &Value, path: &Path) -> Result<Quantity, Box<FieldError>> {
    let text = quantity_text(v).unwrap_or_default();
    parse_quantity(&text).map_err(|e| Box::new(FieldError::invalid(path, text, e)))
}

/// `validateResourceName`.
pub fn validate_resource_name(name: &str, path: &Path) -> Vec<FieldError> {
    let errs: Vec<FieldError> =
        names::is_qualified_name(name).into_iter().map(|m| FieldError::invalid(path, name, m)).collect();
    if !errs.is_empty() {
        return errs;
    }
    if !name.contains('/') && !is_standard_resource(name) {
        return vec![FieldError::invalid(path, name, "must be a standard resource type or fully qualified")];
    }
    vec![]
}

/// `validateContainerResourceName`.
pub fn validate_container_resource_name(name: &str, path: &Path) -> Vec<FieldError> {
    let mut errs = validate_resource_name(name, path);
    if !name.contains('/') {
        if !(STANDARD_CONTAINER_RESOURCES.contains(&name) || is_hugepage(name)) {
            errs.push(FieldError::invalid(path, name, "must be a standard resource for containers"));
        }
    } else if !is_native(name) && !is_extended(name) {
        errs.push(FieldError::invalid(path, name, "doesn't follow extended resource name standard"));
    }
    errs
}

/// `ValidateResourceQuotaResourceName`.
pub fn validate_quota_resource_name(name: &str, path: &Path) -> Vec<FieldError> {
    let mut errs = validate_resource_name(name, path);
    if !name.contains('/') && !is_standard_quota_resource(name) {
        errs.push(FieldError::invalid(path, name, "must be a standard resource for quota"));
    }
    errs
}

/// `ValidateResourceQuantityValue`: non-negative, and whole for integer resources.
pub fn validate_quantity_value(resource: &str, q: &Quantity, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if q.signum() < 0 {
        errs.push(FieldError::invalid(path, q.to_string(), "must be greater than or equal to 0"));
    }
    if is_integer_resource(resource) && q.to_millis() % 1000 != 0 {
        errs.push(FieldError::invalid(path, q.to_string(), "must be an integer"));
    }
    errs
}

/// `ValidatePositiveQuantityValue`.
pub fn validate_positive_quantity(q: &Quantity, path: &Path) -> Vec<FieldError> {
    if q.signum() <= 0 { vec![FieldError::invalid(path, q.to_string(), "must be greater than zero")] } else { vec![] }
}

/// `validateBasicResource`.
pub fn validate_basic_resource(q: &Quantity, path: &Path) -> Vec<FieldError> {
    if q.value() < 0 {
        vec![FieldError::invalid(path, q.value() as i64, "must be a valid resource quantity")]
    } else {
        vec![]
    }
}

/// The quantities of a resource list, with parse errors collected.
pub fn resource_list<'a>(v: Option<&'a Value>, path: &Path, errs: &mut Vec<FieldError>) -> Vec<(&'a str, Quantity)> {
    let mut out = Vec::new();
    for (k, q) in v.map(|v| v.entries_all()).unwrap_or_default() {
        match quantity_at(q, &path.key(k)) {
            Ok(q) => out.push((k, q)),
            Err(e) => errs.push(*e),
        }
    }
    out
}

trait EntriesAll {
    fn entries_all(&self) -> Vec<(&str, &Value)>;
}

impl EntriesAll for Value {
    fn entries_all(&self) -> Vec<(&str, &Value)> {
        self.as_object().map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect()).unwrap_or_default()
    }
}

fn hugepage_divisible(name: &str, q: &Quantity) -> bool {
    let Some(size) = name.strip_prefix("hugepages-").and_then(|s| parse_quantity(s).ok()) else { return false };
    let page = size.value();
    page > 0 && q.value() % page == 0 && q.to_millis() % 1000 == 0
}

/// `validateResourceRequirements` for a container (`ValidateContainerResourceRequirements`).
pub fn validate_container_resources(req: Option<&Value>, claim_names: &[&str], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (lim_path, req_path) = (path.child("limits"), path.child("requests"));
    let limits = resource_list(req.field("limits"), &lim_path, &mut errs);
    let requests = resource_list(req.field("requests"), &req_path, &mut errs);
    let (mut lim_cpu_mem, mut req_cpu_mem, mut huge) = (false, false, false);
    for (name, q) in &limits {
        let p = lim_path.key(name);
        errs.extend(validate_container_resource_name(name, &p));
        errs.extend(validate_quantity_value(name, q, &p));
        if is_hugepage(name) {
            huge = true;
            if !hugepage_divisible(name, q) {
                errs.push(FieldError::invalid(
                    &p,
                    q.to_string(),
                    format!("{q} is not positive integer multiple of {name}"),
                ));
            }
        }
        lim_cpu_mem |= matches!(*name, "cpu" | "memory");
    }
    for (name, q) in &requests {
        let p = req_path.key(name);
        errs.extend(validate_container_resource_name(name, &p));
        errs.extend(validate_quantity_value(name, q, &p));
        match limits.iter().find(|(l, _)| l == name) {
            Some((_, limit)) if q != limit && !is_overcommit_allowed(name) => errs.push(FieldError::invalid(
                &req_path,
                q.to_string(),
                format!("must be equal to {name} limit of {limit}"),
            )),
            Some((_, limit)) if q > limit => errs.push(FieldError::invalid(
                &req_path,
                q.to_string(),
                format!("must be less than or equal to {name} limit of {limit}"),
            )),
            Some(_) => {}
            None if !is_overcommit_allowed(name) => {
                errs.push(FieldError::required(&lim_path, "Limit must be set for non overcommitable resources"))
            }
            None => {}
        }
        if is_hugepage(name) {
            huge = true;
            if !hugepage_divisible(name, q) {
                errs.push(FieldError::invalid(
                    &p,
                    q.to_string(),
                    format!("{q} is not positive integer multiple of {name}"),
                ));
            }
        }
        req_cpu_mem |= matches!(*name, "cpu" | "memory");
    }
    if !lim_cpu_mem && !req_cpu_mem && huge {
        errs.push(FieldError::forbidden(path, "HugePages require cpu or memory"));
    }
    errs.extend(validate_claim_names(
        req.field("claims").map(|c| c.as_array().map(Vec::as_slice).unwrap_or(&[])).unwrap_or(&[]),
        claim_names,
        &path.child("claims"),
    ));
    errs
}

/// `validateResourceClaimNames`.
fn validate_claim_names(claims: &[Value], pod_claims: &[&str], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, claim) in claims.iter().enumerate() {
        let name = claim.str_of("name");
        if name.is_empty() {
            errs.push(FieldError::required(path.index(i), ""));
            continue;
        }
        if seen.iter().any(|s| s == name) {
            errs.push(FieldError::duplicate(path.index(i), name));
        } else {
            let request = claim.str_of("request");
            let mut key = name.to_string();
            if !request.is_empty() {
                errs.extend(
                    names::is_dns1123_label(request)
                        .into_iter()
                        .map(|m| FieldError::invalid(path.index(i).child("request"), request, m)),
                );
                key = format!("{name}/{request}");
            }
            if seen.contains(&key) {
                errs.push(FieldError::duplicate(path.index(i), key.clone()));
            } else if request.is_empty() && seen.iter().any(|k| k.split_once('/').is_some_and(|(n, _)| n == name)) {
                errs.push(FieldError::duplicate(path.index(i), name));
            }
            seen.push(key);
        }
        if !pod_claims.contains(&name) {
            let mut e = FieldError::not_found(path.index(i), name);
            e.detail = if pod_claims.is_empty() {
                "must be one of the names in pod.spec.resourceClaims which is empty".into()
            } else {
                let mut sorted = pod_claims.to_vec();
                sorted.sort_unstable();
                format!("must be one of the names in pod.spec.resourceClaims: {}", sorted.join(", "))
            };
            errs.push(e);
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn requests_above_limits() {
        let r = json!({"limits": {"cpu": "500m"}, "requests": {"cpu": "1"}});
        assert_eq!(
            msgs(&validate_container_resources(Some(&r), &[], &Path::new("spec.containers[0].resources"))),
            vec![
                "spec.containers[0].resources.requests: Invalid value: \"1\": must be less than or equal to cpu limit of 500m"
            ]
        );
    }

    #[test]
    fn names_and_values() {
        let r = json!({"requests": {"gpu": "1", "memory": "-1", "example.com/dev": "500m", "cpu": "abc"}});
        let m = msgs(&validate_container_resources(Some(&r), &[], &Path::new("r")));
        assert_eq!(
            m,
            vec![
                "r.requests[cpu]: Invalid value: \"abc\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                "r.requests[gpu]: Invalid value: \"gpu\": must be a standard resource type or fully qualified",
                "r.requests[gpu]: Invalid value: \"gpu\": must be a standard resource for containers",
                "r.requests[memory]: Invalid value: \"-1\": must be greater than or equal to 0",
                "r.requests[example.com/dev]: Invalid value: \"500m\": must be an integer",
                "r.limits: Required value: Limit must be set for non overcommitable resources",
            ]
        );
    }
}
