//! The `discovery.k8s.io` group: EndpointSlices.

use serde_json::Value;

use super::access::Fields;
use super::meta::{self, MetaRules, validate_labels};
use super::names;
use crate::registry::field_error::{FieldError, Path};

const ADDRESS_TYPES: [&str; 3] = ["FQDN", "IPv4", "IPv6"];

fn fqdn(path: &Path, name: &str) -> Vec<FieldError> {
    if name.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let errs = names::is_dns1123_subdomain(name);
    if !errs.is_empty() {
        return vec![FieldError::invalid(path, name, errs.join(","))];
    }
    if name.split('.').count() < 2 {
        return vec![FieldError::invalid(
            path,
            name,
            "should be a domain with at least two segments separated by dots",
        )];
    }
    for label in name.split('.') {
        let e = names::is_dns1123_label(label);
        if !e.is_empty() {
            return vec![FieldError::invalid(path, label, e.join(","))];
        }
    }
    vec![]
}

fn endpoints(list: &[Value], addr_type: &str, old_ips: &[String], path: &Path) -> Vec<FieldError> {
    if list.len() > 1000 {
        return vec![FieldError::too_many(path, list.len(), 1000)];
    }
    let mut errs = Vec::new();
    for (i, ep) in list.iter().enumerate() {
        let p = path.index(i);
        let ap = p.child("addresses");
        let addrs = ep.strings("addresses");
        if addrs.is_empty() {
            errs.push(FieldError::required(&ap, "must contain at least 1 address"));
        } else if addrs.len() > 100 {
            errs.push(FieldError::too_many(&ap, addrs.len(), 100));
        }
        for (j, a) in addrs.iter().enumerate() {
            let aip = ap.index(j);
            match addr_type {
                "IPv4" | "IPv6" => {
                    if old_ips.iter().any(|o| o == a) {
                        continue;
                    }
                    let e: Vec<FieldError> = names::is_valid_ip(aip.as_str(), a)
                        .into_iter()
                        .filter(|e| !e.detail.starts_with("must be in canonical form"))
                        .collect();
                    if !e.is_empty() {
                        errs.extend(e);
                        continue;
                    }
                    let v6 = a.contains(':');
                    if addr_type == "IPv4" && v6 {
                        errs.push(FieldError::invalid(&aip, *a, "must be an IPv4 address"));
                    } else if addr_type == "IPv6" && !v6 {
                        errs.push(FieldError::invalid(&aip, *a, "must be an IPv6 address"));
                    }
                    errs.extend(names::validate_non_special_ip(aip.as_str(), a));
                }
                "FQDN" => errs.extend(fqdn(&aip, a)),
                _ => {}
            }
        }
        if let Some(n) = ep.opt_str("nodeName") {
            errs.extend(
                names::is_dns1123_subdomain(n).into_iter().map(|m| FieldError::invalid(p.child("nodeName"), n, m)),
            );
        }
        let topo = ep.str_map("deprecatedTopology");
        let tp = p.child("deprecatedTopology");
        if topo.len() > 16 {
            errs.push(FieldError::too_many(&tp, topo.len(), 16));
        }
        errs.extend(validate_labels(&topo, &tp));
        if let Some(h) = ep.opt_str("hostname") {
            errs.extend(names::is_dns1123_label(h).into_iter().map(|m| FieldError::invalid(p.child("hostname"), h, m)));
        }
        if let Some(hints) = ep.obj("hints") {
            let zones = hints.list("forZones");
            let hp = p.child("hints").child("forZones");
            if zones.len() > 8 {
                errs.push(FieldError::too_many(&hp, zones.len(), 8));
            }
            let mut seen: Vec<&str> = Vec::new();
            for (j, z) in zones.iter().enumerate() {
                let name = z.str_of("name");
                if seen.contains(&name) {
                    errs.push(FieldError::duplicate(hp.index(j), name));
                } else {
                    seen.push(name);
                }
                errs.extend(
                    names::is_valid_label_value(name)
                        .into_iter()
                        .map(|m| FieldError::invalid(hp.index(j).child("name"), name, m)),
                );
            }
        }
    }
    errs
}

fn ports(list: &[Value], path: &Path) -> Vec<FieldError> {
    if list.len() > 20000 {
        return vec![FieldError::too_many(path, list.len(), 20000)];
    }
    let mut errs = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, port) in list.iter().enumerate() {
        let p = path.index(i);
        let name = port.str_of("name");
        if !name.is_empty() {
            errs.extend(
                names::is_dns1123_label(name).into_iter().map(|m| FieldError::invalid(p.child("name"), name, m)),
            );
        }
        if seen.contains(&name) {
            errs.push(FieldError::duplicate(p.child("name"), name));
        } else {
            seen.push(name);
        }
        match port.opt_str("protocol") {
            None => errs.push(FieldError::required(p.child("protocol"), "")),
            Some(proto) if !["SCTP", "TCP", "UDP"].contains(&proto) => {
                errs.push(FieldError::not_supported(p.child("protocol"), proto, &["SCTP", "TCP", "UDP"]))
            }
            _ => {}
        }
        if let Some(ap) = port.opt_str("appProtocol") {
            errs.extend(
                names::is_qualified_name(ap).into_iter().map(|m| FieldError::invalid(p.child("appProtocol"), ap, m)),
            );
        }
    }
    errs
}

/// EndpointSlice create and update.
pub fn validate_endpoint_slice(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let rules = MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(true), builtin: true };
    let mut errs = match old {
        Some(old) => meta::validate_object_meta_update(obj, old, true),
        None => Vec::new(),
    };
    errs.extend(meta::validate_object_meta(obj, rules));
    let addr_type = obj.str_of("addressType");
    let old_ips: Vec<String> = old
        .map(|o| o.list("endpoints").iter().flat_map(|e| e.strings("addresses")).map(str::to_string).collect())
        .unwrap_or_default();
    errs.extend(endpoints(obj.list("endpoints"), addr_type, &old_ips, &Path::new("endpoints")));
    errs.extend(ports(obj.list("ports"), &Path::new("ports")));
    match old {
        None => {
            if addr_type.is_empty() {
                errs.push(FieldError::required("addressType", ""));
            } else if !ADDRESS_TYPES.contains(&addr_type) {
                errs.push(FieldError::not_supported("addressType", addr_type, &ADDRESS_TYPES));
            }
        }
        Some(old) => errs.extend(meta::immutable(
            obj.field("addressType").unwrap_or(&Value::Null),
            old.field("addressType").unwrap_or(&Value::Null),
            &Path::new("addressType"),
        )),
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoint_slices() {
        let es = json!({"metadata": {"name": "web-abc", "namespace": "default"}, "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.42.0.5"], "conditions": {"ready": true}, "nodeName": "n1"}],
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]});
        assert!(validate_endpoint_slice(&es, None).is_empty());
        let bad = json!({"metadata": {"name": "web-abc", "namespace": "default"}, "addressType": "IPv4",
            "endpoints": [{"addresses": ["fd00::1", "127.0.0.1"]}, {"addresses": []}], "ports": [{"name": "http"}]});
        let m: Vec<String> = validate_endpoint_slice(&bad, None).iter().map(ToString::to_string).collect();
        assert_eq!(
            m,
            vec![
                "endpoints[0].addresses[0]: Invalid value: \"fd00::1\": must be an IPv4 address",
                "endpoints[0].addresses[1]: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
                "endpoints[1].addresses: Required value: must contain at least 1 address",
                "ports[0].protocol: Required value",
            ]
        );
    }
}
