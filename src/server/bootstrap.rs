//! Objects every cluster starts with: the four system namespaces, the
//! `kubernetes` Service with its Endpoints and EndpointSlice, and the system
//! PriorityClasses. Written through the registry like any client's objects.

use std::net::IpAddr;

use serde_json::{Value, json};

use crate::registry::Registry;
use crate::registry::error::ApiResult;
use crate::registry::rest::Ctx;

async fn ensure(reg: &Registry, ctx: &Ctx, group: &str, version: &str, plural: &str, obj: Value) -> ApiResult<()> {
    let res = reg.resource(group, version, plural).expect("built-in resource");
    let ns = obj["metadata"]["namespace"].as_str().map(str::to_string);
    let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
    if reg.read(&res, ns.as_deref(), &name).await?.is_some() {
        return Ok(());
    }
    match reg.create(ctx, &res, ns.as_deref(), obj).await {
        Ok(_) => Ok(()),
        Err(e) if e.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Create what is missing. `endpoint` is where the API server can be reached.
pub async fn run(reg: &Registry, endpoint: IpAddr, port: u16) -> ApiResult<()> {
    let ctx = Ctx::system("system:apiserver");
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        ensure(
            reg,
            &ctx,
            "",
            "v1",
            "namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        )
        .await?;
    }
    let first_ip = {
        let net = reg.config.service_cidr;
        std::net::Ipv4Addr::from(u32::from(net.network()) + 1)
    };
    ensure(
        reg,
        &ctx,
        "",
        "v1",
        "services",
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": first_ip.to_string(), "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}], "sessionAffinity": "None", "type": "ClusterIP"}
        }),
    )
    .await?;
    ensure(
        reg,
        &ctx,
        "",
        "v1",
        "endpoints",
        json!({
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": endpoint.to_string()}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]
        }),
    )
    .await?;
    ensure(
        reg,
        &ctx,
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": if endpoint.is_ipv4() { "IPv4" } else { "IPv6" },
            "endpoints": [{"addresses": [endpoint.to_string()], "conditions": {"ready": true}}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}]
        }),
    )
    .await?;
    for (name, value, desc) in [
        (
            "system-node-critical",
            2000001000,
            "Used for system critical pods that must not be moved from their current node.",
        ),
        (
            "system-cluster-critical",
            2000000000,
            "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
        ),
    ] {
        ensure(
            reg,
            &ctx,
            "scheduling.k8s.io",
            "v1",
            "priorityclasses",
            json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name}, "value": value, "description": desc, "preemptionPolicy": "PreemptLowerPriority"}),
        )
        .await?;
    }
    Ok(())
}
