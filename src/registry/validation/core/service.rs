//! Services (`ValidateService`, `ValidateServiceUpdate`, `ValidateServiceStatusUpdate`) and the
//! IP-family checks the service allocator makes on a single-stack IPv4 cluster.

use serde_json::Value;

use super::pod::{validate_port_num_or_name, validate_protocol};
use crate::registry::field_error::{FieldError, Path};
use crate::registry::validation::access::{Fields, metadata};
use crate::registry::validation::meta::{self, MetaRules, render_string_list, validate_labels};
use crate::registry::validation::names;

const TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

fn rules() -> MetaRules {
    MetaRules { name: names::name_is_dns1035_label, namespaced: Some(true), builtin: true }
}

fn cluster_ips(spec: Option<&Value>) -> Vec<&str> {
    spec.strings("clusterIPs")
}

fn is_headless(spec: Option<&Value>) -> bool {
    cluster_ips(spec) == ["None"]
}

fn externally_accessible(spec: Option<&Value>) -> bool {
    let t = spec.str_of("type");
    t == "LoadBalancer" || t == "NodePort" || (t == "ClusterIP" && !spec.list("externalIPs").is_empty())
}

fn needs_health_check(spec: Option<&Value>) -> bool {
    spec.str_of("type") == "LoadBalancer" && spec.str_of("externalTrafficPolicy") == "Local"
}

/// Service create (`old == None`) and update.
pub fn validate_service(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(old) = old {
        errs.extend(meta::validate_object_meta_update(obj, old, true));
        errs.extend(upgrade_downgrade_cluster_ips(old.field("spec"), obj.field("spec")));
        errs.extend(upgrade_downgrade_families(old.field("spec"), obj.field("spec")));
        let (os, ns) = (old.field("spec"), obj.field("spec"));
        if os.str_of("type") == "LoadBalancer"
            && ns.str_of("type") == "LoadBalancer"
            && os.opt_str("loadBalancerClass") != ns.opt_str("loadBalancerClass")
        {
            errs.push(FieldError::invalid(
                "spec.loadBalancerClass",
                ns.field("loadBalancerClass").cloned().unwrap_or(Value::Null),
                "may not change once set",
            ));
        }
        if needs_health_check(os)
            && needs_health_check(ns)
            && os.int_or_zero("healthCheckNodePort") != ns.int_or_zero("healthCheckNodePort")
        {
            errs.push(FieldError::forbidden("spec.healthCheckNodePort", "field is immutable"));
        }
    }
    errs.extend(validate_service_object(obj));
    errs.extend(allocator_checks(obj.field("spec")));
    errs
}

/// `ValidateService`.
fn validate_service_object(obj: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta(obj, rules());
    let annotations = metadata(obj).str_map("annotations");
    let get = |k: &str| annotations.iter().find(|(a, _)| *a == k).map(|(_, v)| *v);
    if let (Some(mode), Some(hints)) =
        (get("service.kubernetes.io/topology-mode"), get("service.kubernetes.io/topology-aware-hints"))
        && mode != hints
    {
        errs.push(FieldError::invalid(
            Path::new("metadata").child("annotations").key("service.kubernetes.io/topology-mode"),
            mode,
            "must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified",
        ));
    }
    let spec = obj.field("spec");
    let sp = Path::new("spec");
    let svc_type = spec.str_of("type");
    let ports = spec.list("ports");
    let headless = is_headless(spec);
    if ports.is_empty() && !headless && svc_type != "ExternalName" {
        errs.push(FieldError::required(sp.child("ports"), ""));
    }
    match svc_type {
        "LoadBalancer" | "NodePort" if headless => errs.push(FieldError::invalid(
            sp.child("clusterIPs").index(0),
            "None",
            format!("may not be set to 'None' for {svc_type} services"),
        )),
        "ExternalName" => {
            for f in ["clusterIPs", "ipFamilies"] {
                if !spec.list(f).is_empty() {
                    errs.push(FieldError::forbidden(sp.child(f), "may not be set for ExternalName services"));
                }
            }
            if spec.has("ipFamilyPolicy") {
                errs.push(FieldError::forbidden(
                    sp.child("ipFamilyPolicy"),
                    "may not be set for ExternalName services",
                ));
            }
            let cname = spec.str_of("externalName");
            let cname = cname.strip_suffix('.').unwrap_or(cname);
            if cname.is_empty() {
                errs.push(FieldError::required(sp.child("externalName"), ""));
            } else {
                errs.extend(
                    names::is_dns1123_subdomain(cname)
                        .into_iter()
                        .map(|m| FieldError::invalid(sp.child("externalName"), cname, m)),
                );
            }
        }
        _ => {}
    }
    let mut port_names: Vec<&str> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        errs.extend(validate_service_port(p, ports.len() > 1, &mut port_names, &sp.child("ports").index(i)));
    }
    if spec.has("selector") {
        errs.extend(validate_labels(&spec.str_map("selector"), &sp.child("selector")));
    }
    let affinity = spec.str_of("sessionAffinity");
    match affinity {
        "" => errs.push(FieldError::required(sp.child("sessionAffinity"), "")),
        "ClientIP" => {
            errs.extend(client_ip_config(spec.field("sessionAffinityConfig"), &sp.child("sessionAffinityConfig")))
        }
        "None" => {
            if spec.has("sessionAffinityConfig") {
                errs.push(FieldError::forbidden(
                    sp.child("sessionAffinityConfig"),
                    "must not be set when session affinity is None",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(sp.child("sessionAffinity"), other, &["ClientIP", "None"])),
    }
    errs.extend(cluster_ips_related(spec));
    for (i, ip) in spec.strings("externalIPs").iter().enumerate() {
        let p = sp.child("externalIPs").index(i);
        let e = names::is_valid_ip(p.as_str(), ip);
        if e.is_empty() {
            errs.extend(names::validate_non_special_ip(p.as_str(), ip));
        } else {
            errs.extend(e);
        }
    }
    match svc_type {
        "" => errs.push(FieldError::required(sp.child("type"), "")),
        t if !TYPES.contains(&t) => errs.push(FieldError::not_supported(sp.child("type"), t, &TYPES)),
        _ => {}
    }
    if svc_type == "ClusterIP" {
        for (i, p) in ports.iter().enumerate() {
            if p.int_or_zero("nodePort") != 0 {
                errs.push(FieldError::forbidden(
                    sp.child("ports").index(i).child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }
    let mut node_ports: Vec<(&str, i64)> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let np = p.int_or_zero("nodePort");
        if np == 0 {
            continue;
        }
        let key = (p.str_of("protocol"), np);
        if node_ports.contains(&key) {
            errs.push(FieldError::duplicate(sp.child("ports").index(i).child("nodePort"), np));
        }
        node_ports.push(key);
    }
    let mut seen: Vec<(&str, i64)> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let key = (p.str_of("protocol"), p.int_or_zero("port"));
        if seen.contains(&key) {
            errs.push(FieldError {
                kind: crate::registry::field_error::ErrorType::Duplicate,
                field: sp.child("ports").index(i).into(),
                bad_value: None,
                detail: format!(
                    "core.ServicePort{{Name:\"\", Protocol:{:?}, AppProtocol:(*string)(nil), Port:{}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
                    key.0, key.1
                ),
            });
        }
        seen.push(key);
    }
    errs.extend(source_ranges(obj, spec));
    if spec.has("allocateLoadBalancerNodePorts") && svc_type != "LoadBalancer" {
        errs.push(FieldError::forbidden(
            sp.child("allocateLoadBalancerNodePorts"),
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if svc_type == "LoadBalancer" && !spec.has("allocateLoadBalancerNodePorts") {
        errs.push(FieldError::required("allocateLoadBalancerNodePorts", ""));
    }
    if let Some(class) = spec.opt_str("loadBalancerClass") {
        if svc_type == "LoadBalancer" {
            errs.extend(
                names::is_qualified_name(class)
                    .into_iter()
                    .map(|m| FieldError::invalid("spec.loadBalancerClass", class, m)),
            );
        } else {
            errs.push(FieldError::forbidden(
                "spec.loadBalancerClass",
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
    }
    errs.extend(traffic_policies(spec, &sp));
    errs
}

fn validate_service_port<'a>(
    p: &'a Value,
    require_name: bool,
    seen: &mut Vec<&'a str>,
    path: &Path,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = p.str_of("name");
    if require_name && name.is_empty() {
        errs.push(FieldError::required(path.child("name"), ""));
    } else if !name.is_empty() {
        errs.extend(
            names::is_dns1123_label(name).into_iter().map(|m| FieldError::invalid(path.child("name"), name, m)),
        );
        if seen.contains(&name) {
            errs.push(FieldError::duplicate(path.child("name"), name));
        } else {
            seen.push(name);
        }
    }
    let port = p.int_or_zero("port");
    errs.extend(names::is_valid_port_num(port).into_iter().map(|m| FieldError::invalid(path.child("port"), port, m)));
    errs.extend(validate_protocol(p.str_of("protocol"), &path.child("protocol")));
    errs.extend(validate_port_num_or_name(p.field("targetPort"), &path.child("targetPort")));
    if let Some(ap) = p.opt_str("appProtocol") {
        errs.extend(
            names::is_qualified_name(ap).into_iter().map(|m| FieldError::invalid(path.child("appProtocol"), ap, m)),
        );
    }
    errs
}

fn client_ip_config(cfg: Option<&Value>, path: &Path) -> Vec<FieldError> {
    const WHEN: &str = "when session affinity type is ClientIP";
    let Some(cfg) = cfg else { return vec![FieldError::required(path, WHEN)] };
    let Some(cip) = cfg.obj("clientIP") else { return vec![FieldError::required(path.child("clientIP"), WHEN)] };
    let tp = path.child("clientIP").child("timeoutSeconds");
    match cip.int("timeoutSeconds") {
        None => vec![FieldError::required(tp, WHEN)],
        Some(t) if t <= 0 || t > 86400 => {
            vec![FieldError::invalid(tp, t, "must be greater than 0 and less than 86400")]
        }
        _ => vec![],
    }
}

fn source_ranges(obj: &Value, spec: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let lb = spec.str_of("type") == "LoadBalancer";
    let ranges = spec.strings("loadBalancerSourceRanges");
    if !ranges.is_empty() {
        let p = Path::new("spec").child("LoadBalancerSourceRanges");
        if !lb {
            errs.push(FieldError::forbidden(&p, "may only be used when `type` is 'LoadBalancer'"));
        }
        for (i, r) in ranges.iter().enumerate() {
            errs.extend(names::is_valid_cidr(p.index(i).as_str(), r.trim()));
        }
    } else if let Some(v) =
        metadata(obj).field("annotations").opt_str("service.beta.kubernetes.io/load-balancer-source-ranges")
    {
        let p =
            Path::new("metadata").child("annotations").key("service.beta.kubernetes.io/load-balancer-source-ranges");
        if !lb {
            errs.push(FieldError::forbidden(&p, "may only be used when `type` is 'LoadBalancer'"));
        }
        let v = v.trim();
        if !v.is_empty() {
            for r in v.split(',') {
                errs.extend(names::is_valid_cidr(p.as_str(), r.trim()));
            }
        }
    }
    errs
}

fn traffic_policies(spec: Option<&Value>, sp: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let etp = spec.str_of("externalTrafficPolicy");
    if !externally_accessible(spec) {
        if !etp.is_empty() {
            errs.push(FieldError::invalid(
                sp.child("externalTrafficPolicy"),
                etp,
                "may only be set for externally-accessible services",
            ));
        }
    } else if etp.is_empty() {
        errs.push(FieldError::required(sp.child("externalTrafficPolicy"), ""));
    } else if etp != "Cluster" && etp != "Local" {
        errs.push(FieldError::not_supported(sp.child("externalTrafficPolicy"), etp, &["Cluster", "Local"]));
    }
    let hc = spec.int_or_zero("healthCheckNodePort");
    if !needs_health_check(spec) {
        if hc != 0 {
            errs.push(FieldError::invalid(
                sp.child("healthCheckNodePort"),
                hc,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            ));
        }
    } else if hc != 0 {
        errs.extend(
            names::is_valid_port_num(hc)
                .into_iter()
                .map(|m| FieldError::invalid(sp.child("healthCheckNodePort"), hc, m)),
        );
    }
    let t = spec.str_of("type");
    match spec.opt_str("internalTrafficPolicy") {
        None if matches!(t, "NodePort" | "LoadBalancer" | "ClusterIP") => {
            errs.push(FieldError::required(sp.child("internalTrafficPolicy"), ""))
        }
        Some(p) if p != "Cluster" && p != "Local" => {
            errs.push(FieldError::not_supported(sp.child("internalTrafficPolicy"), p, &["Cluster", "Local"]))
        }
        _ => {}
    }
    if let Some(td) = spec.opt_str("trafficDistribution")
        && td != "PreferClose"
    {
        errs.push(FieldError::not_supported(sp.child("trafficDistribution"), td, &["PreferClose"]));
    }
    errs
}

/// `ValidateServiceClusterIPsRelatedFields`.
fn cluster_ips_related(spec: Option<&Value>) -> Vec<FieldError> {
    if spec.str_of("type") == "ExternalName" {
        return vec![];
    }
    let sp = Path::new("spec");
    let (ips_path, fam_path) = (sp.child("clusterIPs"), sp.child("ipFamilies"));
    let ips = cluster_ips(spec);
    let rendered = render_string_list(&ips);
    let mut errs = Vec::new();
    let cip = spec.str_of("clusterIP");
    if !cip.is_empty() {
        if ips.is_empty() {
            errs.push(FieldError::required(&ips_path, ""));
        } else if ips[0] != cip {
            errs.push(FieldError::invalid_rendered(&ips_path, &rendered, "first value must match `clusterIP`"));
        }
    } else if !ips.is_empty() {
        errs.push(FieldError::invalid_rendered(
            &ips_path,
            &rendered,
            "must be empty when `clusterIP` is not specified",
        ));
    }
    let families = spec.strings("ipFamilies");
    for (i, f) in families.iter().enumerate() {
        if *f != "IPv4" && *f != "IPv6" {
            errs.push(FieldError::not_supported(fam_path.index(i), *f, &["IPv4", "IPv6"]));
        }
        if families[..i].contains(f) {
            errs.push(FieldError::duplicate(fam_path.index(i), *f));
        }
    }
    if let Some(p) = spec.opt_str("ipFamilyPolicy")
        && !["PreferDualStack", "RequireDualStack", "SingleStack"].contains(&p)
    {
        errs.push(FieldError::not_supported(
            sp.child("ipFamilyPolicy"),
            p,
            &["PreferDualStack", "RequireDualStack", "SingleStack"],
        ));
    }
    let mut invalid_ips = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && *ip == "None" {
            if ips.len() > 1 {
                invalid_ips = true;
                errs.push(FieldError::invalid_rendered(
                    &ips_path,
                    &rendered,
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        let e = names::is_valid_ip(ips_path.index(i).as_str(), ip);
        invalid_ips |= !e.is_empty();
        errs.extend(e);
    }
    if ips.len() > 2 {
        errs.push(FieldError::invalid_rendered(&ips_path, &rendered, "may only hold up to 2 values"));
    }
    if invalid_ips {
        return errs;
    }
    if ips.len() > 1 {
        let v6 = ips.iter().filter(|ip| ip.contains(':')).count();
        if v6 != 1 {
            errs.push(FieldError::invalid_rendered(
                &ips_path,
                &rendered,
                "may specify no more than one IP for each IP family",
            ));
        }
    }
    if !is_headless(spec) {
        for (i, ip) in ips.iter().enumerate().take(families.len()) {
            let v6 = ip.contains(':');
            if families[i] == "IPv4" && v6 {
                errs.push(FieldError::invalid(
                    ips_path.index(i),
                    *ip,
                    format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
            if families[i] == "IPv6" && !v6 {
                errs.push(FieldError::invalid(
                    ips_path.index(i),
                    *ip,
                    format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
        }
    }
    errs
}

/// What the allocator of a single-stack IPv4 cluster refuses.
fn allocator_checks(spec: Option<&Value>) -> Vec<FieldError> {
    if spec.str_of("type") == "ExternalName" {
        return vec![];
    }
    let sp = Path::new("spec");
    let policy = spec.str_of("ipFamilyPolicy");
    let families = spec.strings("ipFamilies");
    let ips = cluster_ips(spec);
    let mut errs = Vec::new();
    if policy == "SingleStack" {
        if ips.len() == 2 {
            errs.push(FieldError::invalid(
                sp.child("ipFamilyPolicy"),
                policy,
                "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified",
            ));
        }
        if families.len() == 2 {
            errs.push(FieldError::invalid(
                sp.child("ipFamilyPolicy"),
                policy,
                "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
            ));
        }
    }
    for (i, ip) in ips.iter().enumerate() {
        if *ip != "None" && ip.contains(':') && i >= families.len() {
            errs.push(FieldError::invalid_rendered(
                sp.child("clusterIPs").index(i),
                render_string_list(&ips),
                "IPv6 is not configured on this cluster",
            ));
        }
    }
    if !errs.is_empty() || (spec.str_of("clusterIP") == "None" && spec.str_map("selector").is_empty()) {
        return errs;
    }
    if policy == "RequireDualStack" {
        errs.push(FieldError::invalid(
            sp.child("ipFamilyPolicy"),
            policy,
            "this cluster is not configured for dual-stack services",
        ));
    }
    for (i, f) in families.iter().enumerate() {
        if *f != "IPv4" {
            errs.push(FieldError::invalid(sp.child("ipFamilies").index(i), *f, "not configured on this cluster"));
        }
    }
    errs
}

fn upgrade_downgrade_cluster_ips(old: Option<&Value>, new: Option<&Value>) -> Vec<FieldError> {
    if old.str_of("type") == "ExternalName"
        || new.str_of("type") == "ExternalName"
        || (is_headless(old) && is_headless(new))
    {
        return vec![];
    }
    let (o, n) = (cluster_ips(old), cluster_ips(new));
    let p = Path::new("spec").child("clusterIPs");
    let rendered = render_string_list(&n);
    let mut errs = Vec::new();
    if o.len() == n.len() {
        for (i, ip) in o.iter().enumerate() {
            if *ip != n[i] {
                errs.push(FieldError::invalid_rendered(p.index(i), &rendered, "may not change once set"));
            }
        }
    } else if o.len() > n.len() {
        if n.is_empty() {
            errs.push(FieldError::invalid_rendered(p.index(0), &rendered, "primary clusterIP can not be unset"));
        }
        if !o.is_empty() && !n.is_empty() && n[0] != o[0] {
            errs.push(FieldError::invalid_rendered(p.index(0), &rendered, "may not change once set"));
        }
        if n.len() == 1 && new.str_of("ipFamilyPolicy") != "SingleStack" {
            errs.push(FieldError::invalid(
                "spec.ipFamilyPolicy",
                new.field("ipFamilyPolicy").cloned().unwrap_or(Value::Null),
                "must be set to 'SingleStack' when releasing the secondary clusterIP",
            ));
        }
    } else if !o.is_empty() && n[0] != o[0] {
        errs.push(FieldError::invalid_rendered(p.index(0), &rendered, "may not change once set"));
    }
    errs
}

fn upgrade_downgrade_families(old: Option<&Value>, new: Option<&Value>) -> Vec<FieldError> {
    if old.str_of("type") == "ExternalName" || new.str_of("type") == "ExternalName" {
        return vec![];
    }
    if is_headless(old) != is_headless(new) || is_headless(new) {
        return vec![];
    }
    let (o, n) = (old.strings("ipFamilies"), new.strings("ipFamilies"));
    let p = Path::new("spec").child("ipFamilies");
    let mut errs = Vec::new();
    if o.len() == n.len() {
        if o != n {
            errs.push(FieldError::invalid(p.index(0), Value::from(n.clone()), "may not change once set"));
        }
    } else if o.len() > n.len() {
        if cluster_ips(new).is_empty() {
            errs.push(FieldError::invalid(p.index(0), Value::from(n.clone()), "primary ipFamily can not be unset"));
        }
        if !n.is_empty() && n[0] != o[0] {
            errs.push(FieldError::invalid_rendered(
                p.index(0),
                render_string_list(&cluster_ips(new)),
                "may not change once set",
            ));
        }
        if n.len() == 1 && new.str_of("ipFamilyPolicy") != "SingleStack" {
            errs.push(FieldError::invalid(
                "spec.ipFamilyPolicy",
                new.field("ipFamilyPolicy").cloned().unwrap_or(Value::Null),
                "must be set to 'SingleStack' when releasing the secondary ipFamily",
            ));
        }
    } else if !o.is_empty() && !n.is_empty() && n[0] != o[0] {
        errs.push(FieldError::invalid_rendered(
            p.index(0),
            render_string_list(&cluster_ips(new)),
            "may not change once set",
        ));
    }
    errs
}

/// `ValidateServiceStatusUpdate`.
pub fn validate_service_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    let lb = obj.field("status").field("loadBalancer");
    let ip = Path::new("status").child("loadBalancer").child("ingress");
    let ingress = lb.list("ingress");
    if obj.field("spec").str_of("type") != "LoadBalancer" && !ingress.is_empty() {
        errs.push(FieldError::forbidden(&ip, "may only be used when `spec.type` is 'LoadBalancer'"));
        return errs;
    }
    for (i, ing) in ingress.iter().enumerate() {
        let p = ip.index(i);
        let addr = ing.str_of("ip");
        if !addr.is_empty() {
            errs.extend(names::is_valid_ip(p.child("ip").as_str(), addr));
        }
        match ing.opt_str("ipMode") {
            None if !addr.is_empty() => {
                errs.push(FieldError::required(p.child("ipMode"), "must be specified when `ip` is set"))
            }
            Some(_) if addr.is_empty() => {
                errs.push(FieldError::forbidden(p.child("ipMode"), "may not be specified when `ip` is not set"))
            }
            Some(m) if m != "Proxy" && m != "VIP" => {
                errs.push(FieldError::not_supported(p.child("ipMode"), m, &["Proxy", "VIP"]))
            }
            _ => {}
        }
        let host = ing.str_of("hostname");
        if !host.is_empty() {
            errs.extend(
                names::is_dns1123_subdomain(host)
                    .into_iter()
                    .map(|m| FieldError::invalid(p.child("hostname"), host, m)),
            );
            if names::parse_ip_sloppy(host).is_some() {
                errs.push(FieldError::invalid(p.child("hostname"), host, "must be a DNS name, not an IP address"));
            }
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

    fn svc() -> Value {
        json!({"metadata": {"name": "web", "namespace": "default", "uid": "u", "resourceVersion": "1"},
            "spec": {"type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "selector": {"app": "web"},
                "clusterIP": "10.43.0.10", "clusterIPs": ["10.43.0.10"],
                "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
    }

    #[test]
    fn valid_service() {
        assert!(validate_service(&svc(), None).is_empty());
    }

    #[test]
    fn typical_mistakes() {
        let mut s = svc();
        s["metadata"]["name"] = json!("1web");
        s["spec"]["ports"] = json!([{"port": 80, "targetPort": 8080, "protocol": "TCP"}, {"port": 70000, "targetPort": "HTTP", "protocol": "ICMP"}]);
        s["spec"]["type"] = json!("Internal");
        let m = msgs(&validate_service(&s, None));
        assert!(m[0].starts_with("metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character"));
        assert_eq!(
            &m[1..],
            &[
                "spec.ports[0].name: Required value",
                "spec.ports[1].name: Required value",
                "spec.ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.ports[1].targetPort: Invalid value: \"HTTP\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                "spec.ports[1].targetPort: Invalid value: \"HTTP\": must contain at least one letter (a-z)",
                "spec.type: Unsupported value: \"Internal\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
            ]
        );
    }

    #[test]
    fn cluster_ip_is_immutable() {
        let old = svc();
        let mut new = svc();
        new["spec"]["clusterIP"] = json!("10.43.0.11");
        new["spec"]["clusterIPs"] = json!(["10.43.0.11"]);
        assert_eq!(
            msgs(&validate_service(&new, Some(&old))),
            vec!["spec.clusterIPs[0]: Invalid value: []string{\"10.43.0.11\"}: may not change once set"]
        );
    }

    #[test]
    fn external_name_and_dual_stack() {
        let s = json!({"metadata": {"name": "ext", "namespace": "default"},
            "spec": {"type": "ExternalName", "sessionAffinity": "None", "externalName": "Bad_Host"}});
        let m = msgs(&validate_service(&s, None));
        assert!(m[0].starts_with("spec.externalName: Invalid value: \"Bad_Host\": a lowercase RFC 1123 subdomain"));
        let mut d = svc();
        d["spec"]["ipFamilyPolicy"] = json!("RequireDualStack");
        assert_eq!(
            msgs(&validate_service(&d, None)),
            vec![
                "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": this cluster is not configured for dual-stack services"
            ]
        );
    }
}
