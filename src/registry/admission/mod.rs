//! Admission: what the real API server's admission plugins and special registries do
//! around a write, in the real order. Mutating: NamespaceLifecycle, LimitRanger defaults,
//! ServiceAccount, Service cluster IP and node port allocation (IPs recorded as IPAddress
//! objects, as Kubernetes 1.33 does), then the mutating webhooks. After the object is
//! validated: LimitRanger checks, ValidatingAdmissionPolicies, validating webhooks and
//! ResourceQuota. Also Bindings, and the review kinds that are answered, never stored.

pub mod attributes;
pub mod limitrange;
pub mod matching;
pub mod policy;
pub mod quota;
pub mod webhook;

use std::collections::HashSet;
use std::net::Ipv4Addr;

use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::OwnedMutexGuard;

use crate::registry::Registry;
use crate::registry::catalog::Storage;
use crate::registry::error::{ApiError, ApiResult};
use crate::registry::field_error::FieldError;
use crate::registry::meta;
use crate::registry::resource::ResourceInfo;
use crate::registry::rest::{Ctx, DeleteOptions, Outcome};
use crate::registry::strategy::Subresource;
use crate::store::{ListRequest, StoreError, WriteOptions};
use attributes::{Attributes, Operation};

const IPADDRESS_PREFIX: &str = "/networking.k8s.io/ipaddresses/";

/// What admission keeps between requests (webhook configurations, compiled policies),
/// rebuilt after their objects change.
#[derive(Default)]
pub struct Caches {
    pub webhooks: webhook::Cache,
    pub policies: policy::Cache,
    /// Per-namespace locks of quota accounting.
    pub quota_locks: quota::Locks,
}

/// After a write of any object: drop what admission cached from objects of that resource.
pub fn after_write(reg: &Registry, res: &ResourceInfo) {
    if res.group == "admissionregistration.k8s.io" {
        reg.admission.webhooks.invalidate(res);
        reg.admission.policies.invalidate(res);
    }
    if res.group.is_empty() && res.plural == "resourcequotas" {
        reg.admission.quota_locks.invalidate();
    }
}

/// Namespaces that may never be deleted.
pub const IMMORTAL_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

/// What an admitted write reserved, to be kept on success or given back on failure, and
/// the warnings admission has for the client.
#[derive(Default)]
pub struct Allocation {
    /// Cluster IPs whose IPAddress objects this write created.
    ips: Vec<String>,
    _guard: Option<OwnedMutexGuard<()>>,
    /// Locks held until the write is stored or abandoned (quota accounting).
    held: Vec<OwnedMutexGuard<()>>,
    /// Warnings from webhooks and admission policies.
    pub warnings: Vec<String>,
}

impl Allocation {
    /// Keep `guard` until the write is stored or abandoned.
    pub fn hold(&mut self, guard: OwnedMutexGuard<()>) {
        self.held.push(guard);
    }

    /// The write failed (or was a dry run): give back what it reserved.
    pub async fn release(self, reg: &Registry) {
        for ip in &self.ips {
            let _ = reg.store.delete(&format!("{IPADDRESS_PREFIX}{ip}"), None).await;
        }
    }

    /// The update was stored: release what the old object held and the new one does not.
    pub async fn commit(self, reg: &Registry, old: &Value) {
        if self._guard.is_some() {
            let keep: HashSet<String> = self.ips.iter().cloned().collect();
            for ip in service_ips(old) {
                if !keep.contains(&ip) && !self.ips.is_empty() {
                    let _ = reg.store.delete(&format!("{IPADDRESS_PREFIX}{ip}"), None).await;
                }
            }
        }
    }
}

fn is_service(res: &ResourceInfo) -> bool {
    res.group.is_empty() && res.plural == "services"
}

/// Mutating admission of a create.
pub async fn admit_create(reg: &Registry, ctx: &Ctx, res: &ResourceInfo, obj: &mut Value) -> ApiResult<Allocation> {
    if res.namespaced {
        namespace_lifecycle(reg, res, obj).await?;
    }
    limitrange::admit(reg, res, obj, None).await?;
    if res.group.is_empty() && res.plural == "pods" {
        service_account(reg, obj).await?;
    }
    let mut alloc = if is_service(res) { allocate_service(reg, ctx, obj, None).await? } else { Allocation::default() };
    if crate::registry::crd::is_crd(res) {
        settle_crd_status(reg, obj).await?;
    }
    let attrs = Attributes::new(Operation::Create, res, "", ctx, obj, None);
    if let Err(mut e) = webhook::mutate(reg, &attrs, obj, &mut alloc.warnings).await {
        e.warnings.append(&mut alloc.warnings);
        alloc.release(reg).await;
        return Err(e);
    }
    Ok(alloc)
}

/// Validating admission of a create, after the object itself has been validated.
pub async fn validate_create(
    reg: &Registry,
    ctx: &Ctx,
    res: &ResourceInfo,
    obj: &Value,
    alloc: &mut Allocation,
) -> ApiResult<()> {
    let attrs = Attributes::new(Operation::Create, res, "", ctx, obj, None);
    validating(reg, &attrs, obj, alloc).await
}

async fn validating(reg: &Registry, attrs: &Attributes<'_>, obj: &Value, alloc: &mut Allocation) -> ApiResult<()> {
    policy::validate(reg, attrs, Some(obj), &mut alloc.warnings).await?;
    webhook::validate(reg, attrs, Some(obj), &mut alloc.warnings).await?;
    quota::admit(reg, attrs, obj, alloc).await
}

/// The naming and establishing controllers' work, done as the CRD is written so its
/// resources are served as soon as the write returns.
async fn settle_crd_status(reg: &Registry, crd: &mut Value) -> ApiResult<()> {
    let page = reg
        .store
        .list(ListRequest {
            prefix: crate::registry::crd::CRD_PREFIX.to_string(),
            start_after: None,
            limit: None,
            revision: None,
        })
        .await
        .map_err(ApiError::internal)?;
    let others: Vec<Value> = page.items.iter().filter_map(|kv| serde_json::from_slice(&kv.value).ok()).collect();
    crate::registry::crd::definition::settle_status(crd, &others);
    Ok(())
}

/// Mutating admission of an update.
pub async fn admit_update(
    reg: &Registry,
    ctx: &Ctx,
    res: &ResourceInfo,
    sub: Subresource,
    old: &Value,
    new: &mut Value,
) -> ApiResult<Allocation> {
    if sub == Subresource::Main {
        limitrange::admit(reg, res, new, Some(old)).await?;
    }
    let mut alloc =
        if is_service(res) { allocate_service(reg, ctx, new, Some(old)).await? } else { Allocation::default() };
    if crate::registry::crd::is_crd(res) {
        settle_crd_status(reg, new).await?;
    }
    let attrs = Attributes::new(Operation::Update, res, sub.name(), ctx, new, Some(old));
    if let Err(mut e) = webhook::mutate(reg, &attrs, new, &mut alloc.warnings).await {
        e.warnings.append(&mut alloc.warnings);
        alloc.release(reg).await;
        return Err(e);
    }
    Ok(alloc)
}

/// Validating admission of an update, after the new object has been validated.
#[allow(clippy::too_many_arguments)]
pub async fn validate_update(
    reg: &Registry,
    ctx: &Ctx,
    res: &ResourceInfo,
    sub: Subresource,
    old: &Value,
    new: &Value,
    alloc: &mut Allocation,
) -> ApiResult<()> {
    let attrs = Attributes::new(Operation::Update, res, sub.name(), ctx, new, Some(old));
    validating(reg, &attrs, new, alloc).await
}

/// Admission of a delete: immortal namespaces, then admission policies and webhooks.
/// Returns their warnings.
pub async fn admit_delete(
    reg: &Registry,
    ctx: &Ctx,
    res: &ResourceInfo,
    obj: &Value,
    opts: &DeleteOptions,
) -> ApiResult<Vec<String>> {
    if res.group.is_empty() && res.plural == "namespaces" && IMMORTAL_NAMESPACES.contains(&meta::name(obj)) {
        return Err(ApiError::forbidden("", "namespaces", meta::name(obj), "this namespace may not be deleted"));
    }
    let mut attrs = Attributes::new(Operation::Delete, res, "", ctx, obj, Some(obj));
    if let Some(p) = &opts.propagation_policy {
        attrs.options["propagationPolicy"] = p.clone().into();
    }
    if let Some(g) = opts.grace_period_seconds {
        attrs.options["gracePeriodSeconds"] = g.into();
    }
    if opts.dry_run {
        attrs.options["dryRun"] = json!(["All"]);
    }
    let mut warnings = Vec::new();
    let checked = match policy::validate(reg, &attrs, None, &mut warnings).await {
        Ok(()) => webhook::validate(reg, &attrs, None, &mut warnings).await,
        Err(e) => Err(e),
    };
    match checked {
        Ok(()) => Ok(warnings),
        Err(mut e) => {
            e.warnings.append(&mut warnings);
            Err(e)
        }
    }
}

/// After an object is gone: free what it held.
pub async fn after_delete(reg: &Registry, res: &ResourceInfo, obj: &Value) {
    if is_service(res) {
        for ip in service_ips(obj) {
            let _ = reg.store.delete(&format!("{IPADDRESS_PREFIX}{ip}"), None).await;
        }
    }
}

/// NamespaceLifecycle: no new objects in a namespace that is missing or terminating.
async fn namespace_lifecycle(reg: &Registry, res: &ResourceInfo, obj: &Value) -> ApiResult<()> {
    let ns = meta::namespace(obj);
    let Some(nsres) = reg.resource("", "v1", "namespaces") else { return Ok(()) };
    let Some((nsobj, _)) = reg.read(&nsres, None, ns).await? else {
        return Err(ApiError::not_found("", "namespaces", ns));
    };
    let terminating = meta::deletion_timestamp(&nsobj).is_some()
        || nsobj.get("status").and_then(|s| s.get("phase")).and_then(Value::as_str) == Some("Terminating");
    // Events may still be written about what goes on in a terminating namespace.
    if terminating && res.plural != "events" {
        let mut e = ApiError::forbidden(
            &res.group,
            &res.plural,
            meta::name(obj),
            format!("unable to create new content in namespace {ns} because it is being terminated"),
        );
        if let Some(Value::Object(d)) = e.details.as_deref_mut() {
            d.insert(
                "causes".into(),
                json!([{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]),
            );
        }
        return Err(e);
    }
    Ok(())
}

/// The ServiceAccount admission plugin: a pod runs as an existing account
/// (`default` unless it names one) and gets its token mounted unless it or the
/// account opts out. Mirror pods of static pods are left alone.
async fn service_account(reg: &Registry, pod: &mut Value) -> ApiResult<()> {
    let mirror = pod["metadata"]["annotations"].get("kubernetes.io/config.mirror").is_some();
    if mirror {
        return Ok(());
    }
    let ns = meta::namespace(pod).to_string();
    let name = match pod["spec"]["serviceAccountName"].as_str().filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => pod["spec"]["serviceAccount"].as_str().filter(|n| !n.is_empty()).unwrap_or("default").to_string(),
    };
    pod["spec"]["serviceAccountName"] = name.clone().into();
    pod["spec"]["serviceAccount"] = name.clone().into();
    let sas = reg.resource("", "v1", "serviceaccounts").ok_or_else(|| ApiError::internal("no serviceaccounts"))?;
    // The `default` account of a new namespace is made by a controller a moment later: wait briefly.
    let mut account = None;
    for attempt in 0..20 {
        account = reg.read(&sas, Some(&ns), &name).await?.map(|(v, _)| v);
        if account.is_some() || name != "default" || attempt == 19 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let Some(account) = account else {
        return Err(ApiError::forbidden(
            "",
            "pods",
            meta::name(pod),
            format!("error looking up service account {ns}/{name}: serviceaccount {name:?} not found"),
        ));
    };
    let pod_opts_out = pod["spec"]["automountServiceAccountToken"] == Value::Bool(false);
    let account_opts_out = account["automountServiceAccountToken"] == Value::Bool(false)
        && pod["spec"]["automountServiceAccountToken"] != Value::Bool(true);
    if !pod_opts_out && !account_opts_out {
        let suffix = meta::generate_name("");
        crate::registry::defaults::mount_service_account_token(pod, &suffix);
    }
    Ok(())
}

fn service_ips(obj: &Value) -> Vec<String> {
    let spec = obj.get("spec");
    let mut ips: Vec<String> = spec
        .and_then(|s| s.get("clusterIPs"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if ips.is_empty()
        && let Some(ip) = spec.and_then(|s| s.get("clusterIP")).and_then(Value::as_str)
    {
        ips.push(ip.to_string());
    }
    ips.retain(|ip| ip != "None" && !ip.is_empty());
    ips
}

fn node_ports(obj: &Value) -> Vec<i64> {
    obj.get("spec")
        .and_then(|s| s.get("ports"))
        .and_then(Value::as_array)
        .map(|ports| ports.iter().filter_map(|p| p.get("nodePort").and_then(Value::as_i64)).collect())
        .unwrap_or_default()
}

/// Allocate a Service's cluster IP and node ports (create, or an update that needs them).
async fn allocate_service(reg: &Registry, ctx: &Ctx, svc: &mut Value, old: Option<&Value>) -> ApiResult<Allocation> {
    let guard = reg.alloc_lock.clone().lock_owned().await;
    let mut alloc = Allocation { _guard: Some(guard), ..Default::default() };
    let name = meta::name(svc).to_string();
    let ns = meta::namespace(svc).to_string();
    let svc_type = svc["spec"]["type"].as_str().unwrap_or("ClusterIP").to_string();
    let cidr = reg.config.service_cidr;
    let invalid = |errs: Vec<FieldError>| ApiError::invalid("", "Service", &name, &errs);

    // Cluster IP.
    if svc_type == "ExternalName" {
        if let Some(spec) = svc["spec"].as_object_mut() {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
    } else {
        let old_ips = old.map(service_ips).unwrap_or_default();
        let requested = svc["spec"]["clusterIP"].as_str().unwrap_or("").to_string();
        if requested == "None" {
            svc["spec"]["clusterIPs"] = json!(["None"]);
        } else if !old_ips.is_empty() && (requested.is_empty() || old_ips.contains(&requested)) {
            svc["spec"]["clusterIP"] = old_ips[0].clone().into();
            svc["spec"]["clusterIPs"] = json!(old_ips);
        } else {
            let used = used_ips(reg).await?;
            let ip = if requested.is_empty() {
                pick_ip(&cidr, &used).ok_or_else(|| {
                    invalid(vec![FieldError::internal(
                        "spec.clusterIPs",
                        "failed to allocate a serviceIP: range is full",
                    )])
                })?
            } else {
                let parsed: Option<Ipv4Addr> = requested.parse().ok();
                let in_range =
                    parsed.is_some_and(|a| cidr.contains(&a) && a != cidr.network() && a != cidr.broadcast());
                if !in_range {
                    return Err(invalid(vec![FieldError::invalid_rendered(
                        "spec.clusterIPs",
                        format!("[]string{{{requested:?}}}"),
                        format!(
                            "failed to allocate IP {requested}: the provided IP ({requested}) is not in the valid range. The range of valid IPs is {cidr}"
                        ),
                    )]));
                }
                if used.contains(&requested) {
                    return Err(invalid(vec![FieldError::invalid_rendered(
                        "spec.clusterIPs",
                        format!("[]string{{{requested:?}}}"),
                        format!("failed to allocate IP {requested}: provided IP is already allocated"),
                    )]));
                }
                requested.clone()
            };
            svc["spec"]["clusterIP"] = ip.clone().into();
            svc["spec"]["clusterIPs"] = json!([ip]);
            if !ctx.dry_run {
                create_ipaddress(reg, &ip, &ns, &name).await?;
                alloc.ips.push(ip);
            }
        }
    }

    // Node ports.
    if svc_type == "NodePort" || svc_type == "LoadBalancer" {
        let (lo, hi) = reg.config.node_port_range;
        let mut used = used_node_ports(reg, &ns, &name).await?;
        let old_ports: HashSet<i64> = old.map(node_ports).unwrap_or_default().into_iter().collect();
        let mut errs = Vec::new();
        if let Some(ports) = svc["spec"]["ports"].as_array_mut() {
            for (i, p) in ports.iter_mut().enumerate() {
                match p.get("nodePort").and_then(Value::as_i64) {
                    Some(np) if np != 0 => {
                        if np < lo as i64 || np > hi as i64 {
                            errs.push(FieldError::invalid(
                                format!("spec.ports[{i}].nodePort"),
                                np,
                                format!(
                                    "provided port is not in the valid range. The range of valid ports is {lo}-{hi}"
                                ),
                            ));
                        } else if used.contains(&np) && !old_ports.contains(&np) {
                            errs.push(FieldError::invalid(
                                format!("spec.ports[{i}].nodePort"),
                                np,
                                "provided port is already allocated",
                            ));
                        } else {
                            used.insert(np);
                        }
                    }
                    _ => {
                        let free = (lo as i64..=hi as i64).filter(|n| !used.contains(n)).count();
                        if free == 0 {
                            errs.push(FieldError::internal(format!("spec.ports[{i}].nodePort"), "range is full"));
                            continue;
                        }
                        let mut rng = rand::rng();
                        let np = loop {
                            let n = rng.random_range(lo as i64..=hi as i64);
                            if !used.contains(&n) {
                                break n;
                            }
                        };
                        used.insert(np);
                        p["nodePort"] = np.into();
                    }
                }
            }
        }
        if !errs.is_empty() {
            alloc.release(reg).await;
            return Err(invalid(errs));
        }
    } else if let Some(ports) = svc["spec"]["ports"].as_array_mut() {
        for p in ports {
            if let Some(m) = p.as_object_mut() {
                m.remove("nodePort");
            }
        }
    }
    Ok(alloc)
}

async fn used_ips(reg: &Registry) -> ApiResult<HashSet<String>> {
    let page = reg
        .store
        .list(ListRequest { prefix: IPADDRESS_PREFIX.into(), ..Default::default() })
        .await
        .map_err(ApiError::internal)?;
    Ok(page.items.into_iter().filter_map(|kv| kv.key.strip_prefix(IPADDRESS_PREFIX).map(str::to_string)).collect())
}

/// A free address from the upper part of the range (the lower part is for static IPs).
fn pick_ip(cidr: &ipnet::Ipv4Net, used: &HashSet<String>) -> Option<String> {
    let base = u32::from(cidr.network());
    let size = 1u64 << (32 - cidr.prefix_len());
    if size < 4 {
        return None;
    }
    let static_band = (size / 16).clamp(16, 256);
    let (lo, hi) = (static_band.min(size - 2), size - 2);
    let mut rng = rand::rng();
    let start = rng.random_range(lo..=hi);
    let candidates = (start..=hi).chain(lo..start).chain(1..lo);
    for off in candidates {
        let ip = Ipv4Addr::from(base + off as u32).to_string();
        if !used.contains(&ip) {
            return Some(ip);
        }
    }
    None
}

async fn create_ipaddress(reg: &Registry, ip: &str, ns: &str, name: &str) -> ApiResult<()> {
    let obj = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {
            "name": ip,
            "uid": meta::new_uid(),
            "creationTimestamp": meta::now_rfc3339(),
            "labels": {"ipaddress.kubernetes.io/ip-family": "IPv4", "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io"},
        },
        "spec": {"parentRef": {"group": "", "resource": "services", "namespace": ns, "name": name}},
    });
    let bytes = serde_json::to_vec(&obj).map_err(ApiError::internal)?;
    match reg.store.create(&format!("{IPADDRESS_PREFIX}{ip}"), bytes.into(), WriteOptions::default()).await {
        Ok(_) => Ok(()),
        Err(StoreError::AlreadyExists) => Err(ApiError::invalid(
            "",
            "Service",
            name,
            &[FieldError::invalid("spec.clusterIPs", ip, "provided IP is already allocated")],
        )),
        Err(e) => Err(ApiError::internal(e)),
    }
}

async fn used_node_ports(reg: &Registry, ns: &str, name: &str) -> ApiResult<HashSet<i64>> {
    let page = reg
        .store
        .list(ListRequest { prefix: "/core/services/".into(), ..Default::default() })
        .await
        .map_err(ApiError::internal)?;
    let mut used = HashSet::new();
    for kv in page.items {
        if kv.key == format!("/core/services/{ns}/{name}") {
            continue;
        }
        if let Ok(v) = serde_json::from_slice::<Value>(&kv.value) {
            used.extend(node_ports(&v));
        }
    }
    Ok(used)
}

/// Answer a review kind (SelfSubjectAccessReview and friends). Authorization is
/// "every authenticated user may do everything" until RBAC lands.
pub async fn review(
    reg: &Registry,
    ctx: &Ctx,
    res: &ResourceInfo,
    ns: Option<&str>,
    body: Value,
) -> ApiResult<Outcome> {
    let mut obj = body;
    if obj.get("kind").and_then(Value::as_str) != Some(res.kind.as_str()) {
        return Err(ApiError::bad_request(format!(
            "{} in version {:?} cannot be handled as a {}: no kind in body",
            res.kind, res.version, res.kind
        )));
    }
    let authenticated = !ctx.user.username.is_empty() && ctx.user.username != "system:anonymous";
    let status = match res.kind.as_str() {
        "SelfSubjectAccessReview" | "SubjectAccessReview" | "LocalSubjectAccessReview" => {
            if res.kind == "LocalSubjectAccessReview" {
                let ns_attr = obj["spec"]["resourceAttributes"]["namespace"].as_str().unwrap_or("");
                if ns.unwrap_or("") != ns_attr {
                    return Err(ApiError::invalid(
                        &res.group,
                        &res.kind,
                        "",
                        &[FieldError::invalid(
                            "spec.resourceAttributes.namespace",
                            ns_attr,
                            "must match metadata.namespace",
                        )],
                    ));
                }
            }
            if authenticated {
                json!({"allowed": true, "reason": "coracle allows every authenticated user (RBAC is not enforced yet)"})
            } else {
                json!({"allowed": false})
            }
        }
        "SelfSubjectRulesReview" => json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        }),
        "SelfSubjectReview" => json!({"userInfo": {
            "username": ctx.user.username, "uid": ctx.user.uid, "groups": ctx.user.groups, "extra": ctx.user.extra,
        }}),
        "TokenReview" => {
            let token = obj["spec"]["token"].as_str().unwrap_or("");
            if token.is_empty() {
                return Err(ApiError::bad_request("token is required for TokenReview in authentication"));
            }
            let audiences: Vec<String> = obj["spec"]["audiences"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            reg.review_token(token, &audiences).await
        }
        _ => return Err(ApiError::method_not_supported(&res.group, &res.plural, "create")),
    };
    obj["status"] = status;
    let metadata = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let mut m = metadata.as_object().cloned().unwrap_or_default();
    m.insert("creationTimestamp".into(), Value::Null);
    obj["metadata"] = Value::Object(m);
    Ok(Outcome { object: obj, code: 201, warnings: vec![] })
}

/// `pods/binding` and `bindings`: assign a pod to a node.
pub async fn bind(reg: &Registry, ctx: &Ctx, _res: &ResourceInfo, ns: Option<&str>, body: Value) -> ApiResult<Outcome> {
    let name = meta::name(&body).to_string();
    let node = body["target"]["name"].as_str().unwrap_or("").to_string();
    if node.is_empty() {
        return Err(ApiError::invalid("", "Binding", &name, &[FieldError::required("target.name", "")]));
    }
    let pods = reg.resource("", "v1", "pods").ok_or_else(|| ApiError::internal("no pods resource"))?;
    for _ in 0..8 {
        let (pod, rev) = reg.read(&pods, ns, &name).await?.ok_or_else(|| ApiError::not_found("", "pods", &name))?;
        if meta::deletion_timestamp(&pod).is_some() {
            return Err(ApiError::conflict("", "pods", &name, "pod is being deleted, cannot be assigned to a host"));
        }
        if let Some(cur) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
            return Err(ApiError::conflict(
                "",
                "pods",
                &name,
                &format!("pod {name} is already assigned to node {cur:?}"),
            ));
        }
        let mut new = pod.clone();
        new["spec"]["nodeName"] = node.clone().into();
        let mut conds: Vec<Value> = new["status"]["conditions"].as_array().cloned().unwrap_or_default();
        conds.retain(|c| c["type"] != "PodScheduled");
        conds.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": meta::now_rfc3339()}));
        new["status"]["conditions"] = Value::Array(conds);
        if let Some(ann) = body["metadata"]["annotations"].as_object() {
            for (k, v) in ann {
                meta::meta_mut(&mut new)
                    .entry("annotations")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .map(|a| a.insert(k.clone(), v.clone()));
            }
        }
        if ctx.dry_run {
            break;
        }
        let key = pods.key(Some(meta::namespace(&pod)), &name);
        let bytes = serde_json::to_vec(&{
            let mut s = new.clone();
            meta::set(&mut s, "resourceVersion", None);
            s
        })
        .map_err(ApiError::internal)?;
        match reg.store.update(&key, bytes.into(), rev, WriteOptions::default()).await {
            Ok(_) => break,
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(ApiError::internal(e)),
        }
    }
    Ok(Outcome {
        object: json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
        code: 201,
        warnings: vec![],
    })
}

const COMPONENTS: &[&str] = &["controller-manager", "scheduler", "etcd-0"];

fn component(name: &str) -> Value {
    let message = if name.starts_with("etcd") { "ok (sqlite datastore)" } else { "ok" };
    json!({
        "kind": "ComponentStatus", "apiVersion": "v1",
        "metadata": {"name": name},
        "conditions": [{"type": "Healthy", "status": "True", "message": message}],
    })
}

/// GET of a ComponentStatus (deprecated, but kubectl still asks).
pub fn component_status(res: &ResourceInfo, name: &str) -> ApiResult<Value> {
    debug_assert_eq!(res.storage, Storage::Computed);
    if COMPONENTS.contains(&name) {
        Ok(component(name))
    } else {
        Err(ApiError::not_found("", "componentstatuses", name))
    }
}

pub fn component_statuses(_res: &ResourceInfo) -> ApiResult<Vec<Value>> {
    Ok(COMPONENTS.iter().map(|n| component(n)).collect())
}
