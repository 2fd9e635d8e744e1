//! The `networking.k8s.io` group: Ingresses, IngressClasses, NetworkPolicies, IPAddresses.

use serde_json::Value;

use super::access::{Fields, int_or_string, metadata};
use super::meta::{self, MetaRules, SelectorOpts, validate_label_selector};
use super::names;
use crate::registry::field_error::{FieldError, Path};

fn rules(namespaced: bool) -> MetaRules {
    MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(namespaced), builtin: true }
}

// ---------------------------------------------------------------- NetworkPolicy

fn policy_port(port: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(proto) = port.opt_str("protocol")
        && !["TCP", "UDP", "SCTP"].contains(&proto)
    {
        errs.push(FieldError::not_supported(path.child("protocol"), proto, &["TCP", "UDP", "SCTP"]));
    }
    let end = port.int("endPort");
    match int_or_string(port.field("port")) {
        Some(Ok(p)) => {
            errs.extend(names::is_valid_port_num(p).into_iter().map(|m| FieldError::invalid(path.child("port"), p, m)));
            if let Some(e) = end {
                if e < p {
                    errs.push(FieldError::invalid(path.child("endPort"), p, "must be greater than or equal to `port`"));
                }
                if e < 1 {
                    errs.push(FieldError::invalid(path.child("endPort"), e, "must be greater than or equal to 1"));
                }
                if e > 65535 {
                    errs.push(FieldError::invalid(path.child("endPort"), e, "must be less than or equal to 65535"));
                }
            }
        }
        Some(Err(name)) => {
            if let Some(e) = end {
                errs.push(FieldError::invalid(
                    path.child("endPort"),
                    e,
                    "may not be specified when `port` is non-numeric",
                ));
            }
            errs.extend(
                names::is_valid_port_name(name).into_iter().map(|m| FieldError::invalid(path.child("port"), name, m)),
            );
        }
        None => {
            if let Some(e) = end {
                errs.push(FieldError::invalid(
                    path.child("endPort"),
                    e,
                    "may not be specified when `port` is not specified",
                ));
            }
        }
    }
    errs
}

fn ip_block(ipb: &Value, path: &Path, old_cidrs: &[String]) -> Vec<FieldError> {
    let cidr = ipb.str_of("cidr");
    if cidr.is_empty() {
        return vec![FieldError::required(path.child("cidr"), "")];
    }
    let mut errs = names::is_valid_cidr_for_legacy_field(path.child("cidr").as_str(), cidr, old_cidrs);
    let Some(net) = names::parse_cidr_sloppy(cidr) else { return errs };
    for (i, ex) in ipb.strings("except").iter().enumerate() {
        let p = path.child("except").index(i);
        errs.extend(names::is_valid_cidr_for_legacy_field(p.as_str(), ex, old_cidrs));
        let Some(exn) = names::parse_cidr_sloppy(ex) else { continue };
        if !net.contains(&exn.network()) || net.prefix >= exn.prefix {
            errs.push(FieldError::invalid(p, *ex, "must be a strict subset of `cidr`"));
        }
    }
    errs
}

fn policy_peer(peer: &Value, path: &Path, old_cidrs: &[String]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut n = 0;
    for f in ["podSelector", "namespaceSelector"] {
        if let Some(sel) = peer.obj(f) {
            n += 1;
            errs.extend(validate_label_selector(Some(sel), SelectorOpts::default(), &path.child(f)));
        }
    }
    if let Some(ipb) = peer.obj("ipBlock") {
        n += 1;
        errs.extend(ip_block(ipb, &path.child("ipBlock"), old_cidrs));
    }
    if n == 0 {
        errs.push(FieldError::required(path, "must specify a peer"));
    } else if n > 1 && peer.has("ipBlock") {
        errs.push(FieldError::forbidden(path, "may not specify both ipBlock and another peer"));
    }
    errs
}

fn policy_cidrs(obj: &Value) -> Vec<String> {
    let spec = obj.field("spec");
    let mut out = Vec::new();
    for (rules, peers) in [("ingress", "from"), ("egress", "to")] {
        for rule in spec.list(rules) {
            for peer in rule.list(peers) {
                if let Some(ipb) = peer.obj("ipBlock") {
                    out.push(ipb.str_of("cidr").to_string());
                    out.extend(ipb.strings("except").iter().map(|s| s.to_string()));
                }
            }
        }
    }
    out
}

/// NetworkPolicy create and update.
pub fn validate_network_policy(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let old_cidrs = old.map(policy_cidrs).unwrap_or_default();
    let mut errs = match old {
        Some(old) => meta::validate_object_meta_update(obj, old, true),
        None => meta::validate_object_meta(obj, rules(true)),
    };
    let spec = obj.field("spec");
    let sp = Path::new("spec");
    errs.extend(validate_label_selector(spec.field("podSelector"), SelectorOpts::default(), &sp.child("podSelector")));
    for (rules_key, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in spec.list(rules_key).iter().enumerate() {
            let rp = sp.child(rules_key).index(i);
            for (j, port) in rule.list("ports").iter().enumerate() {
                errs.extend(policy_port(port, &rp.child("ports").index(j)));
            }
            for (j, peer) in rule.list(peers).iter().enumerate() {
                errs.extend(policy_peer(peer, &rp.child(peers).index(j), &old_cidrs));
            }
        }
    }
    let types = spec.strings("policyTypes");
    if types.len() > 2 {
        errs.push(FieldError::too_many(sp.child("policyTypes"), types.len(), 2));
        return errs;
    }
    for (i, t) in types.iter().enumerate() {
        if *t != "Ingress" && *t != "Egress" {
            errs.push(FieldError::not_supported(sp.child("policyTypes").index(i), *t, &["Ingress", "Egress"]));
        }
    }
    errs
}

// ---------------------------------------------------------------- Ingress

fn ingress_backend(b: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match (b.obj("resource"), b.obj("service")) {
        (Some(_), Some(_)) => {
            return vec![FieldError::invalid(path, "", "cannot set both resource and service backends")];
        }
        (Some(r), None) => errs.extend(typed_local_ref(r, &path.child("resource"))),
        (None, Some(svc)) => {
            let name = svc.str_of("name");
            let np = path.child("service").child("name");
            if name.is_empty() {
                errs.push(FieldError::required(&np, ""));
            } else {
                errs.extend(names::is_dns1035_label(name).into_iter().map(|m| FieldError::invalid(&np, name, m)));
            }
            let port = svc.field("port");
            let (pname, pnum) = (port.str_of("name"), port.int_or_zero("number"));
            let pp = path.child("service").child("port");
            if !pname.is_empty() && pnum != 0 {
                errs.push(FieldError::invalid(path, "", "cannot set both port name & port number"));
            } else if !pname.is_empty() {
                errs.extend(
                    names::is_valid_port_name(pname)
                        .into_iter()
                        .map(|m| FieldError::invalid(pp.child("name"), pname, m)),
                );
            } else if pnum != 0 {
                errs.extend(
                    names::is_valid_port_num(pnum)
                        .into_iter()
                        .map(|m| FieldError::invalid(pp.child("number"), pnum, m)),
                );
            } else {
                errs.push(FieldError::required(path, "port name or number is required"));
            }
        }
        (None, None) => errs.push(FieldError::invalid(path, "", "resource or service backend is required")),
    }
    errs
}

fn typed_local_ref(r: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(g) = r.opt_str("apiGroup") {
        errs.extend(
            names::is_dns1123_subdomain(g).into_iter().map(|m| FieldError::invalid(path.child("apiGroup"), g, m)),
        );
    }
    for f in ["kind", "name"] {
        let v = r.str_of(f);
        if v.is_empty() {
            errs.push(FieldError::required(path.child(f), ""));
        } else {
            errs.extend(
                names::is_valid_path_segment_name(v).into_iter().map(|m| FieldError::invalid(path.child(f), v, m)),
            );
        }
    }
    errs
}

fn http_path(p: &Value, path: &Path) -> Vec<FieldError> {
    let Some(pt) = p.opt_str("pathType") else {
        return vec![FieldError::required(path.child("pathType"), "pathType must be specified")];
    };
    let mut errs = Vec::new();
    let v = p.str_of("path");
    let pp = path.child("path");
    match pt {
        "Exact" | "Prefix" => {
            if !v.starts_with('/') {
                errs.push(FieldError::invalid(&pp, v, "must be an absolute path"));
            }
            if !v.is_empty() {
                for seq in ["//", "/./", "/../", "%2f", "%2F"] {
                    if v.contains(seq) {
                        errs.push(FieldError::invalid(&pp, v, format!("must not contain '{seq}'")));
                    }
                }
                for suf in ["/..", "/."] {
                    if v.ends_with(suf) {
                        errs.push(FieldError::invalid(&pp, v, format!("cannot end with '{suf}'")));
                    }
                }
            }
        }
        "ImplementationSpecific" => {
            if !v.is_empty() && !v.starts_with('/') {
                errs.push(FieldError::invalid(&pp, v, "must be an absolute path"));
            }
        }
        other => errs.push(FieldError::not_supported(
            path.child("pathType"),
            other,
            &["Exact", "ImplementationSpecific", "Prefix"],
        )),
    }
    errs.extend(ingress_backend(p.field("backend").unwrap_or(&Value::Null), &path.child("backend")));
    errs
}

fn ingress_spec(spec: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let rules = spec.list("rules");
    if rules.is_empty() && !spec.has("defaultBackend") {
        errs.push(FieldError::invalid_rendered(
            path,
            "[]networking.IngressRule(nil)",
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(b) = spec.obj("defaultBackend") {
        errs.extend(ingress_backend(b, &path.child("defaultBackend")));
    }
    for (i, rule) in rules.iter().enumerate() {
        let rp = path.child("rules").index(i);
        let host = rule.str_of("host");
        if !host.is_empty() {
            if names::parse_ip_sloppy(host).is_some() {
                errs.push(FieldError::invalid(rp.child("host"), host, "must be a DNS name, not an IP address"));
            }
            let msgs = if host.contains('*') {
                names::is_wildcard_dns1123_subdomain(host)
            } else {
                names::is_dns1123_subdomain(host)
            };
            errs.extend(msgs.into_iter().map(|m| FieldError::invalid(rp.child("host"), host, m)));
        }
        if let Some(http) = rule.obj("http") {
            let hp = rp.child("http");
            let paths = http.list("paths");
            if paths.is_empty() {
                errs.push(FieldError::required(hp.child("paths"), ""));
            }
            for (j, p) in paths.iter().enumerate() {
                errs.extend(http_path(p, &hp.child("paths").index(j)));
            }
        }
    }
    for (i, tls) in spec.list("tls").iter().enumerate() {
        let tp = path.child("tls").index(i);
        for (j, host) in tls.strings("hosts").iter().enumerate() {
            let msgs = if host.contains('*') {
                names::is_wildcard_dns1123_subdomain(host)
            } else {
                names::is_dns1123_subdomain(host)
            };
            errs.extend(msgs.into_iter().map(|m| FieldError::invalid(tp.child("hosts").index(j), *host, m)));
        }
        let secret = tls.str_of("secretName");
        if !secret.is_empty() {
            errs.extend(
                names::is_dns1123_subdomain(secret)
                    .into_iter()
                    .map(|m| FieldError::invalid(tp.child("secretName"), secret, m)),
            );
        }
    }
    if let Some(class) = spec.opt_str("ingressClassName") {
        errs.extend(
            names::is_dns1123_subdomain(class)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("ingressClassName"), class, m)),
        );
    }
    errs
}

/// Ingress create and update.
pub fn validate_ingress(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = match old {
        Some(old) => meta::validate_object_meta_update(obj, old, true),
        None => Vec::new(),
    };
    errs.extend(meta::validate_object_meta(obj, rules(true)));
    let spec = obj.field("spec");
    errs.extend(ingress_spec(spec, &Path::new("spec")));
    if old.is_none()
        && let Some(a) = metadata(obj).field("annotations").opt_str("kubernetes.io/ingress.class")
        && let Some(c) = spec.opt_str("ingressClassName")
        && a != c
    {
        errs.push(FieldError::invalid(
            "annotations.kubernetes.io/ingress.class",
            a,
            "must match `ingressClassName` when both are specified",
        ));
    }
    errs
}

/// Ingress `/status`.
pub fn validate_ingress_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    let old_ips: Vec<String> = old
        .field("status")
        .field("loadBalancer")
        .list("ingress")
        .iter()
        .map(|i| i.str_of("ip").to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let ip = Path::new("status").child("loadBalancer").child("ingress");
    for (i, ing) in obj.field("status").field("loadBalancer").list("ingress").iter().enumerate() {
        let p = ip.index(i);
        let addr = ing.str_of("ip");
        if !addr.is_empty() && !old_ips.iter().any(|o| o == addr) {
            let e = names::is_valid_ip(p.child("ip").as_str(), addr);
            errs.extend(e.into_iter().filter(|e| !e.detail.starts_with("must be in canonical form")));
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

/// IngressClass create and update.
pub fn validate_ingress_class(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = match old {
        Some(old) => {
            let mut e = meta::validate_object_meta_update(obj, old, true);
            e.extend(meta::immutable(
                obj.field("spec").field("controller").unwrap_or(&Value::Null),
                old.field("spec").field("controller").unwrap_or(&Value::Null),
                &Path::new("spec").child("controller"),
            ));
            e
        }
        None => Vec::new(),
    };
    errs.extend(meta::validate_object_meta(obj, rules(false)));
    let spec = obj.field("spec");
    let cp = Path::new("spec").child("controller");
    let controller = spec.str_of("controller");
    if controller.len() > 250 {
        errs.push(FieldError::too_long(&cp, 250));
    }
    errs.extend(names::is_domain_prefixed_path(cp.as_str(), controller));
    if let Some(params) = spec.obj("parameters") {
        let pp = Path::new("spec").child("parameters");
        errs.extend(typed_local_ref(params, &pp));
        match params.opt_str("scope") {
            None => errs.push(FieldError::required(pp.child("scope"), "")),
            Some("Namespace") => match params.opt_str("namespace") {
                None => {
                    errs.push(FieldError::required(pp.child("namespace"), "`parameters.scope` is set to 'Namespace'"))
                }
                Some(ns) => errs.extend(
                    names::is_dns1123_label(ns).into_iter().map(|m| FieldError::invalid(pp.child("namespace"), ns, m)),
                ),
            },
            Some("Cluster") => {
                if params.has("namespace") {
                    errs.push(FieldError::forbidden(pp.child("namespace"), "`parameters.scope` is set to 'Cluster'"));
                }
            }
            Some(other) => errs.push(FieldError::not_supported(pp.child("scope"), other, &["Cluster", "Namespace"])),
        }
    }
    errs
}

// ---------------------------------------------------------------- IPAddress, ServiceCIDR

/// The name rule of IPAddress objects: a canonical IP address.
pub fn ip_address_name(name: &str, _prefix: bool) -> Vec<String> {
    names::is_valid_ip("", name).into_iter().map(|e| e.detail).collect()
}

/// IPAddress create and update.
pub fn validate_ip_address(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let ip_rules = MetaRules { name: ip_address_name, namespaced: Some(false), builtin: true };
    let mut errs = meta::validate_meta(obj, old, ip_rules);
    let sp = Path::new("spec");
    match obj.field("spec").obj("parentRef") {
        None => errs.push(FieldError::required(sp.child("parentRef"), "")),
        Some(r) => {
            let p = sp.child("parentRef");
            let group = r.str_of("group");
            if !group.is_empty() {
                errs.extend(
                    names::is_dns1123_subdomain(group)
                        .into_iter()
                        .map(|m| FieldError::invalid(p.child("group"), group, m)),
                );
            }
            for f in ["resource", "name"] {
                let v = r.str_of(f);
                if v.is_empty() {
                    errs.push(FieldError::required(p.child(f), ""));
                } else {
                    errs.extend(
                        names::is_valid_path_segment_name(v).into_iter().map(|m| FieldError::invalid(p.child(f), v, m)),
                    );
                }
            }
            let ns = r.str_of("namespace");
            if !ns.is_empty() {
                errs.extend(
                    names::is_valid_path_segment_name(ns)
                        .into_iter()
                        .map(|m| FieldError::invalid(p.child("namespace"), ns, m)),
                );
            }
        }
    }
    if let Some(old) = old {
        errs.extend(meta::immutable(
            obj.field("spec").field("parentRef").unwrap_or(&Value::Null),
            old.field("spec").field("parentRef").unwrap_or(&Value::Null),
            &sp.child("parentRef"),
        ));
    }
    errs
}

/// Validate a `networking.k8s.io` object.
pub fn validate(kind: &str, obj: &Value, old: Option<&Value>) -> Option<Vec<FieldError>> {
    Some(match kind {
        "Ingress" => validate_ingress(obj, old),
        "IngressClass" => validate_ingress_class(obj, old),
        "NetworkPolicy" => validate_network_policy(obj, old),
        "IPAddress" => validate_ip_address(obj, old),
        _ => return None,
    })
}

/// Validate a `/status` write of a `networking.k8s.io` object.
pub fn validate_status(kind: &str, obj: &Value, old: &Value) -> Option<Vec<FieldError>> {
    match kind {
        "Ingress" => Some(validate_ingress_status(obj, old)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn ingresses() {
        let ing = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"ingressClassName": "traefik",
            "rules": [{"host": "example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}});
        assert!(validate_ingress(&ing, None).is_empty());
        let bad = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"rules": [{"host": "10.0.0.1",
            "http": {"paths": [{"path": "api", "pathType": "Exact", "backend": {"service": {"name": "web"}}}, {"path": "/"}]}}]}});
        let m = msgs(&validate_ingress(&bad, None));
        assert_eq!(
            m,
            vec![
                "spec.rules[0].host: Invalid value: \"10.0.0.1\": must be a DNS name, not an IP address",
                "spec.rules[0].http.paths[0].path: Invalid value: \"api\": must be an absolute path",
                "spec.rules[0].http.paths[0].backend: Required value: port name or number is required",
                "spec.rules[0].http.paths[1].pathType: Required value: pathType must be specified",
            ]
        );
    }

    #[test]
    fn network_policies() {
        let np = json!({"metadata": {"name": "deny", "namespace": "default"}, "spec": {"podSelector": {},
            "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}, {}],
                "ports": [{"protocol": "TCP", "port": "http", "endPort": 90}]}], "policyTypes": ["Ingress"]}});
        assert_eq!(
            msgs(&validate_network_policy(&np, None)),
            vec![
                "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
                "spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: \"192.168.0.0/16\": must be a strict subset of `cidr`",
                "spec.ingress[0].from[1]: Required value: must specify a peer",
            ]
        );
    }

    #[test]
    fn ingress_classes() {
        let ic = json!({"metadata": {"name": "traefik"}, "spec": {"controller": "traefik.io/ingress-controller"}});
        assert!(validate_ingress_class(&ic, None).is_empty());
        let bad = json!({"metadata": {"name": "x"}, "spec": {"controller": "nginx"}});
        assert_eq!(
            msgs(&validate_ingress_class(&bad, None)),
            vec!["spec.controller: Invalid value: \"nginx\": must be a domain-prefixed path (such as \"acme.io/foo\")"]
        );
    }
}
