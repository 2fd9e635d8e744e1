//! Which requests an admission webhook or policy applies to, shared by both: rules
//! (operations, API groups and versions, resources with their subresources, scope),
//! `namespaceSelector` and `objectSelector`, decided as the real API server's
//! `webhook/predicates` and the policies' matcher decide them.

use serde_json::{Map, Value};

use super::attributes::{Attributes, Operation};
use crate::registry::Registry;
use crate::registry::error::{ApiError, ApiResult};
use crate::registry::selector::LabelSelector;

fn strings(v: &Value, field: &str) -> Vec<String> {
    v.get(field)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn has(list: &[String], want: &str) -> bool {
    list.iter().any(|x| x == "*" || x == want)
}

/// Whether one `RuleWithOperations` (or `NamedRuleWithOperations`) matches. With
/// `any_version`, the rule's apiVersions are not compared (`matchPolicy: Equivalent` for a
/// resource served in several versions).
pub fn rule_matches(rule: &Value, attrs: &Attributes<'_>, any_version: bool) -> bool {
    let op = attrs.operation.as_str();
    if !has(&strings(rule, "operations"), op) {
        return false;
    }
    if !has(&strings(rule, "apiGroups"), &attrs.res.group) {
        return false;
    }
    if !any_version && !has(&strings(rule, "apiVersions"), &attrs.res.version) {
        return false;
    }
    let resource_ok = strings(rule, "resources").iter().any(|r| {
        let (res, sub) = r.split_once('/').unwrap_or((r.as_str(), ""));
        (res == "*" || res == attrs.res.plural) && (sub == "*" || sub == attrs.subresource)
    });
    if !resource_ok {
        return false;
    }
    let names = strings(rule, "resourceNames");
    if !names.is_empty() && !names.contains(&attrs.name) {
        return false;
    }
    let is_namespace = attrs.res.group.is_empty() && attrs.res.plural == "namespaces";
    match rule.get("scope").and_then(Value::as_str).unwrap_or("*") {
        "Namespaced" => !is_namespace && !attrs.namespace.is_empty(),
        "Cluster" => is_namespace || attrs.namespace.is_empty(),
        _ => true,
    }
}

/// Whether any rule of `rules` matches.
pub fn any_rule_matches(rules: &[Value], attrs: &Attributes<'_>, any_version: bool) -> bool {
    rules.iter().any(|r| rule_matches(r, attrs, any_version))
}

fn labels_of(obj: Option<&Value>) -> Option<&Map<String, Value>> {
    obj.and_then(|o| o.get("metadata")).and_then(|m| m.get("labels")).and_then(Value::as_object)
}

fn parse_selector(selector: Option<&Value>) -> ApiResult<LabelSelector> {
    match selector {
        // A missing selector matches everything here (the defaulted `{}`).
        None | Some(Value::Null) => Ok(LabelSelector::default()),
        Some(s) => LabelSelector::from_object(s).map_err(ApiError::internal),
    }
}

/// `objectSelector`: matches when the new object's or the old object's labels match.
pub fn object_selector_matches(
    selector: Option<&Value>,
    attrs: &Attributes<'_>,
    obj: Option<&Value>,
) -> ApiResult<bool> {
    let sel = parse_selector(selector)?;
    if sel.is_empty() {
        return Ok(true);
    }
    let matches = |o: Option<&Value>| o.is_some() && sel.matches(labels_of(o));
    Ok(matches(obj) || matches(attrs.old))
}

/// `namespaceSelector`: matched against the labels of the request's namespace (of the
/// namespace object itself when one is written). Cluster-scoped objects other than
/// namespaces always match.
pub async fn namespace_selector_matches(
    reg: &Registry,
    selector: Option<&Value>,
    attrs: &Attributes<'_>,
    obj: Option<&Value>,
) -> ApiResult<bool> {
    let is_namespace = attrs.res.group.is_empty() && attrs.res.plural == "namespaces";
    if attrs.namespace.is_empty() && !is_namespace {
        return Ok(true);
    }
    let sel = parse_selector(selector)?;
    if sel.is_empty() {
        return Ok(true);
    }
    let labels = namespace_labels(reg, attrs, obj).await?;
    Ok(sel.matches(labels.as_ref()))
}

/// The labels of the namespace a request is in (for a write of a namespace: its new labels).
pub async fn namespace_labels(
    reg: &Registry,
    attrs: &Attributes<'_>,
    obj: Option<&Value>,
) -> ApiResult<Option<Map<String, Value>>> {
    Ok(namespace_object(reg, attrs, obj).await?.and_then(|ns| labels_of(Some(&ns)).cloned()))
}

/// The namespace object of a request (`namespaceObject` of admission policies), `None` for
/// cluster-scoped objects.
pub async fn namespace_object(reg: &Registry, attrs: &Attributes<'_>, obj: Option<&Value>) -> ApiResult<Option<Value>> {
    let is_namespace = attrs.res.group.is_empty() && attrs.res.plural == "namespaces";
    if is_namespace && attrs.subresource.is_empty() && matches!(attrs.operation, Operation::Create | Operation::Update)
    {
        return Ok(obj.cloned());
    }
    let name = if is_namespace { attrs.name.as_str() } else { attrs.namespace.as_str() };
    if name.is_empty() {
        return Ok(None);
    }
    let Some(nsres) = reg.resource("", "v1", "namespaces") else { return Ok(None) };
    Ok(reg.read(&nsres, None, name).await?.map(|(v, _)| v))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::rest::Ctx;

    fn registry() -> std::sync::Arc<Registry> {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("state.db")).unwrap();
        Registry::new(store, crate::registry::RegistryConfig::default())
    }

    fn attrs<'a>(
        reg: &Registry,
        ctx: &'a Ctx,
        plural: &str,
        sub: &'a str,
        op: Operation,
        obj: &Value,
    ) -> Attributes<'a> {
        let res = reg.resource("", "v1", plural).unwrap();
        Attributes::new(op, Box::leak(Box::new(res)), sub, ctx, obj, None)
    }

    #[test]
    fn rules_match_resources_subresources_and_scope() {
        let reg = registry();
        let ctx = Ctx::default();
        let pod = json!({"metadata": {"name": "p", "namespace": "default"}});
        let a = attrs(&reg, &ctx, "pods", "", Operation::Create, &pod);
        let status = attrs(&reg, &ctx, "pods", "status", Operation::Update, &pod);
        let rule = |resources: Value, scope: &str| json!({"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": resources, "scope": scope});
        assert!(rule_matches(&rule(json!(["pods"]), "*"), &a, false));
        assert!(rule_matches(&rule(json!(["*"]), "Namespaced"), &a, false));
        assert!(!rule_matches(&rule(json!(["*"]), "Cluster"), &a, false));
        assert!(!rule_matches(&rule(json!(["*"]), "*"), &status, false));
        assert!(rule_matches(&rule(json!(["*/*"]), "*"), &status, false));
        assert!(rule_matches(&rule(json!(["pods/status"]), "*"), &status, false));
        assert!(rule_matches(&rule(json!(["*/status"]), "*"), &status, false));
        assert!(!rule_matches(&rule(json!(["pods"]), "*"), &status, false));
        let wrong_version =
            json!({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["v2"], "resources": ["pods"]});
        assert!(!rule_matches(&wrong_version, &a, false));
        assert!(rule_matches(&wrong_version, &a, true));
        let delete_only =
            json!({"operations": ["DELETE"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]});
        assert!(!rule_matches(&delete_only, &a, false));
        let ns = json!({"metadata": {"name": "team"}});
        let nsa = attrs(&reg, &ctx, "namespaces", "", Operation::Create, &ns);
        assert!(rule_matches(&rule(json!(["namespaces"]), "Cluster"), &nsa, false));
        assert!(!rule_matches(&rule(json!(["namespaces"]), "Namespaced"), &nsa, false));
    }

    #[test]
    fn object_selector_matches_new_or_old_labels() {
        let reg = registry();
        let ctx = Ctx::default();
        let obj = json!({"metadata": {"name": "p", "namespace": "default", "labels": {"app": "web"}}});
        let a = attrs(&reg, &ctx, "pods", "", Operation::Create, &obj);
        let sel = json!({"matchLabels": {"app": "web"}});
        assert!(object_selector_matches(Some(&sel), &a, Some(&obj)).unwrap());
        let other = json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]});
        assert!(!object_selector_matches(Some(&other), &a, Some(&obj)).unwrap());
        assert!(object_selector_matches(Some(&json!({})), &a, Some(&obj)).unwrap());
        // A delete has no new object: the old one's labels decide.
        assert!(!object_selector_matches(Some(&sel), &a, None).unwrap());
    }
}
