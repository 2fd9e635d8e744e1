//! Printers of the networking.k8s.io and discovery.k8s.io groups.

use serde_json::{Value, json};

use super::core::load_balancer_ingress;
use super::descriptions as d;
use super::format::{Ctx, arr, as_int, at, format_label_selector, group_qualified, list_with_more, name, s};
use super::{AGE, CellsFn, Column, NAME, col};

pub(super) fn printer(group: &str, resource: &str) -> Option<(&'static [Column], CellsFn)> {
    Some(match (group, resource) {
        ("networking.k8s.io", "ingresses") => (INGRESS_COLUMNS, ingress),
        ("networking.k8s.io", "ingressclasses") => (INGRESS_CLASS_COLUMNS, ingress_class),
        ("networking.k8s.io", "networkpolicies") => (NETWORK_POLICY_COLUMNS, network_policy),
        ("networking.k8s.io", "servicecidrs") => (SERVICE_CIDR_COLUMNS, service_cidr),
        ("networking.k8s.io", "ipaddresses") => (IP_ADDRESS_COLUMNS, ip_address),
        ("discovery.k8s.io", "endpointslices") => (ENDPOINT_SLICE_COLUMNS, endpoint_slice),
        _ => return None,
    })
}

const INGRESS_COLUMNS: &[Column] = &[
    NAME,
    col("Class", "string", "The name of the IngressClass resource that should be used for additional configuration"),
    col("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
    col("Address", "string", "Address is a list containing ingress points for the load-balancer"),
    col("Ports", "string", "Ports of TLS configurations that open"),
    AGE,
];

/// `formatHosts`: up to three hosts, `*` when no rule names one.
fn format_hosts(rules: &[Value]) -> String {
    const MAX: usize = 3;
    let mut list: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if list.len() == MAX {
            more = true;
        }
        let host = s(rule, &["host"]);
        if !more && !host.is_empty() {
            list.push(host);
        }
    }
    if list.is_empty() {
        return "*".to_string();
    }
    let ret = list.join(",");
    if more { format!("{ret} + {} more...", rules.len() - MAX) } else { ret }
}

fn ingress(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let ports = if arr(obj, &["spec", "tls"]).is_empty() { "80" } else { "80, 443" };
    vec![
        name(obj).into(),
        at(obj, &["spec", "ingressClassName"]).and_then(Value::as_str).unwrap_or("<none>").into(),
        format_hosts(arr(obj, &["spec", "rules"])).into(),
        load_balancer_ingress(at(obj, &["status", "loadBalancer"])).into(),
        ports.into(),
        ctx.age(obj).into(),
    ]
}

const INGRESS_CLASS_COLUMNS: &[Column] = &[
    NAME,
    col("Controller", "string", "Controller that is responsible for handling this class"),
    col("Parameters", "string", "A reference to a resource with additional parameters"),
    AGE,
];

fn ingress_class(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let parameters = at(obj, &["spec", "parameters"]).map_or_else(
        || "<none>".to_string(),
        |p| {
            let mut out = s(p, &["kind"]).to_string();
            if let Some(group) = at(p, &["apiGroup"]).and_then(Value::as_str) {
                out = format!("{out}.{group}");
            }
            format!("{out}/{}", s(p, &["name"]))
        },
    );
    vec![name(obj).into(), s(obj, &["spec", "controller"]).into(), parameters.into(), ctx.age(obj).into()]
}

const NETWORK_POLICY_COLUMNS: &[Column] = &[NAME, col("Pod-Selector", "string", d::EXT_NETPOL_SPEC_POD_SELECTOR), AGE];

fn network_policy(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    // The pod selector is a struct, never nil: an absent one selects everything.
    let empty = json!({});
    let selector = at(obj, &["spec", "podSelector"]).unwrap_or(&empty);
    vec![name(obj).into(), format_label_selector(Some(selector)).into(), ctx.age(obj).into()]
}

const SERVICE_CIDR_COLUMNS: &[Column] = &[NAME, col("CIDRs", "string", d::SERVICE_CIDR_SPEC_CIDRS), AGE];

fn service_cidr(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let cidrs: Vec<&str> = arr(obj, &["spec", "cidrs"]).iter().map(|c| c.as_str().unwrap_or("")).collect();
    vec![name(obj).into(), cidrs.join(",").into(), ctx.age(obj).into()]
}

/// The real printer defines two columns but also sends the age.
const IP_ADDRESS_COLUMNS: &[Column] = &[NAME, col("ParentRef", "string", d::IP_ADDRESS_SPEC_PARENT_REF)];

fn ip_address(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let parent = at(obj, &["spec", "parentRef"]).map_or_else(
        || "<none>".to_string(),
        |p| {
            let mut out = group_qualified(s(p, &["resource"]), s(p, &["group"])).to_lowercase();
            let ns = s(p, &["namespace"]);
            if !ns.is_empty() {
                out = format!("{out}/{ns}");
            }
            format!("{out}/{}", s(p, &["name"]))
        },
    );
    vec![name(obj).into(), parent.into(), ctx.age(obj).into()]
}

const ENDPOINT_SLICE_COLUMNS: &[Column] = &[
    NAME,
    col("AddressType", "string", d::EPS_ADDRESS_TYPE),
    col("Ports", "string", d::EPS_PORTS),
    col("Endpoints", "string", d::EPS_ENDPOINTS),
    AGE,
];

const LIST_MAX: usize = 3;

fn format_discovery_ports(ports: &[Value]) -> String {
    let list: Vec<String> = ports
        .iter()
        .take(LIST_MAX)
        .map(|p| match (at(p, &["port"]), at(p, &["name"]).and_then(Value::as_str)) {
            (Some(port), _) => as_int(port).to_string(),
            (None, Some(n)) => n.to_string(),
            (None, None) => "*".to_string(),
        })
        .collect();
    list_with_more(&list, ports.len() > LIST_MAX, ports.len(), LIST_MAX)
}

fn format_discovery_endpoints(endpoints: &[Value]) -> String {
    let all: Vec<String> = endpoints
        .iter()
        .flat_map(|e| arr(e, &["addresses"]).iter().map(|a| a.as_str().unwrap_or("").to_string()))
        .collect();
    let list: Vec<String> = all.iter().take(LIST_MAX).cloned().collect();
    list_with_more(&list, all.len() > LIST_MAX, all.len(), LIST_MAX)
}

fn endpoint_slice(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        name(obj).into(),
        s(obj, &["addressType"]).into(),
        format_discovery_ports(arr(obj, &["ports"])).into(),
        format_discovery_endpoints(arr(obj, &["endpoints"])).into(),
        ctx.age(obj).into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;

    fn row(group: &str, resource: &str, obj: Value) -> Vec<Value> {
        super::super::cells(group, resource, &obj, now())
    }

    #[test]
    fn ingresses() {
        let ing = json!({
            "metadata": {"name": "web"},
            "spec": {"ingressClassName": "traefik", "tls": [{"hosts": ["a.example.com"]}],
                "rules": [{"host": "a.example.com"}, {}, {"host": "b.example.com"}, {"host": "c.example.com"}, {"host": "d.example.com"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.168.1.20"}, {"ip": "192.168.1.10"}, {"ip": "192.168.1.10"}]}}
        });
        assert_eq!(
            row("networking.k8s.io", "ingresses", ing),
            vec![
                json!("web"),
                json!("traefik"),
                json!("a.example.com,b.example.com,c.example.com + 2 more..."),
                json!("192.168.1.10,192.168.1.20"),
                json!("80, 443"),
                json!("<unknown>")
            ]
        );
        let bare = json!({"metadata": {"name": "x"}, "spec": {"rules": [{}]}});
        assert_eq!(
            row("networking.k8s.io", "ingresses", bare)[1..5],
            [json!("<none>"), json!("*"), json!(""), json!("80")]
        );
        let class = json!({"metadata": {"name": "traefik"}, "spec": {"controller": "traefik.io/ingress-controller",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}});
        assert_eq!(
            row("networking.k8s.io", "ingressclasses", class)[1..3],
            [json!("traefik.io/ingress-controller"), json!("IngressParameters.k8s.example.com/external-lb")]
        );
    }

    #[test]
    fn policies_cidrs_addresses() {
        let np = json!({"metadata": {"name": "deny"}, "spec": {"podSelector": {}}});
        assert_eq!(row("networking.k8s.io", "networkpolicies", np)[1], json!("<none>"));
        let np = json!({"metadata": {"name": "web"}, "spec": {"podSelector": {"matchLabels": {"app": "web"}}}});
        assert_eq!(row("networking.k8s.io", "networkpolicies", np)[1], json!("app=web"));
        let cidr = json!({"metadata": {"name": "kubernetes"}, "spec": {"cidrs": ["10.43.0.0/16", "fd00:43::/112"]}});
        assert_eq!(row("networking.k8s.io", "servicecidrs", cidr)[1], json!("10.43.0.0/16,fd00:43::/112"));
        let ip = json!({"metadata": {"name": "10.43.0.1"}, "spec": {"parentRef": {"group": "", "resource": "services", "namespace": "default", "name": "kubernetes"}}});
        assert_eq!(
            row("networking.k8s.io", "ipaddresses", ip),
            vec![json!("10.43.0.1"), json!("services/default/kubernetes"), json!("<unknown>")]
        );
    }

    #[test]
    fn endpoint_slices() {
        let eps = json!({
            "metadata": {"name": "web-abc"}, "addressType": "IPv4",
            "ports": [{"name": "http", "port": 80}, {"name": "named"}, {}, {"port": 9090}],
            "endpoints": [{"addresses": ["10.42.0.1"]}, {"addresses": ["10.42.0.2", "10.42.0.3"]}]
        });
        assert_eq!(
            row("discovery.k8s.io", "endpointslices", eps)[1..4],
            [json!("IPv4"), json!("80,named,* + 1 more..."), json!("10.42.0.1,10.42.0.2,10.42.0.3")]
        );
        let empty = json!({"metadata": {"name": "e"}, "addressType": "IPv4"});
        assert_eq!(row("discovery.k8s.io", "endpointslices", empty)[2..4], [json!("<unset>"), json!("<unset>")]);
    }
}
