//! Field selectors: the `?fieldSelector=` grammar of k8s.io/apimachinery/pkg/fields, and the
//! field labels each built-in kind supports (its field label conversion function plus the
//! fields its registry strategy exposes for matching).

use std::fmt;

use serde_json::Value;

/// One term of a field selector: `field=value` (`equal`) or `field!=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub field: String,
    pub equal: bool,
    pub value: String,
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.equal { "=" } else { "!=" };
        write!(f, "{}{op}{}", self.field, escape_value(&self.value))
    }
}

/// A parsed field selector: terms joined by AND, sorted as the real parser sorts them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    reqs: Vec<Requirement>,
}

impl FieldSelector {
    /// Parse a `?fieldSelector=` string as `fields.ParseSelector` does; the error is the
    /// text the API server puts in its 400 BadRequest.
    pub fn parse(s: &str) -> Result<FieldSelector, String> {
        let mut terms = split_terms(s);
        terms.sort_unstable();
        let mut reqs = Vec::new();
        for term in terms.into_iter().filter(|t| !t.is_empty()) {
            let (field, op, rhs) =
                split_term(term).ok_or_else(|| format!("invalid selector: '{s}'; can't understand '{term}'"))?;
            let value = unescape_value(rhs)?;
            // A term with neither field nor value selects everything and is dropped.
            if field.is_empty() && value.is_empty() {
                continue;
            }
            reqs.push(Requirement { field: field.to_string(), equal: op != "!=", value });
        }
        Ok(FieldSelector { reqs })
    }

    /// The terms, in the order the API server checks them against the kind's field labels.
    pub fn requirements(&self) -> &[Requirement] {
        &self.reqs
    }

    /// Whether the selector places no restriction.
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Whether an object matches, given a lookup of its field values (a missing field reads as "").
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.reqs.iter().all(|r| (get(&r.field).unwrap_or_default() == r.value) == r.equal)
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.reqs.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// Split on commas that are not escaped with a backslash.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Split a term at its first operator (`!=`, `==` or `=`).
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if let Some(rhs) = rest.strip_prefix(op) {
                return Some((&term[..i], op, rhs));
            }
        }
    }
    None
}

/// `fields.EscapeValue`.
fn escape_value(s: &str) -> String {
    s.replace('\\', "\\\\").replace(',', "\\,").replace('=', "\\=")
}

/// `fields.UnescapeValue`, with its error texts.
fn unescape_value(s: &str) -> Result<String, String> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                _ => return Err(format!("invalid field selector: invalid escape sequence: \\{c}")),
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => return Err(format!("invalid field selector: unescaped character in value: {}", c as u32)),
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(out)
}

// ----- field labels per kind -----

/// Where a field label's value comes from.
#[derive(Clone, Copy)]
enum Source {
    /// A string at a path of the object (`""` when absent).
    Str(&'static [&'static str]),
    /// A boolean, `"true"`/`"false"` (`false` when absent).
    Bool(&'static [&'static str]),
    /// An integer (`0` when absent).
    Int(&'static [&'static str]),
    /// Accepted by the conversion function but never set by the strategy: always `""`.
    Unset,
    /// Computed by a function.
    Func(fn(&Value) -> String),
}

/// The rules of one kind: accepted labels, and how an unsupported one is reported.
struct Kind {
    labels: &'static [(&'static str, Source)],
    reject: fn(&str) -> String,
}

const NAME: (&str, Source) = ("metadata.name", Source::Str(&["metadata", "name"]));
const NAMESPACE: (&str, Source) = ("metadata.namespace", Source::Str(&["metadata", "namespace"]));

fn not_supported(label: &str) -> String {
    format!("field label not supported: {label}")
}

fn default_reject(label: &str) -> String {
    format!("{label:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"")
}

fn job_reject(label: &str) -> String {
    format!("field label {label:?} not supported for batchv1.Job")
}

fn resource_slice_reject(label: &str) -> String {
    format!("field label not supported for resource.k8s.io/v1beta2, Kind=ResourceSlice: {label}")
}

const DEFAULT: Kind = Kind { labels: &[NAME, NAMESPACE], reject: default_reject };

const PODS: Kind = Kind {
    labels: &[
        NAME,
        NAMESPACE,
        ("spec.nodeName", Source::Str(&["spec", "nodeName"])),
        // Old v1 clients send spec.host; the server rewrites it to spec.nodeName.
        ("spec.host", Source::Str(&["spec", "nodeName"])),
        ("spec.restartPolicy", Source::Str(&["spec", "restartPolicy"])),
        ("spec.schedulerName", Source::Str(&["spec", "schedulerName"])),
        ("spec.serviceAccountName", Source::Str(&["spec", "serviceAccountName"])),
        ("spec.hostNetwork", Source::Bool(&["spec", "hostNetwork"])),
        ("status.phase", Source::Str(&["status", "phase"])),
        ("status.podIP", Source::Func(pod_ip)),
        // Accepted (it is shared with the downward API) but not a selectable field.
        ("status.podIPs", Source::Unset),
        ("status.nominatedNodeName", Source::Str(&["status", "nominatedNodeName"])),
    ],
    reject: not_supported,
};

const NODES: Kind =
    Kind { labels: &[NAME, ("spec.unschedulable", Source::Bool(&["spec", "unschedulable"]))], reject: not_supported };

const REPLICATION_CONTROLLERS: Kind = Kind {
    labels: &[NAME, NAMESPACE, ("status.replicas", Source::Int(&["status", "replicas"]))],
    reject: not_supported,
};

const NAMESPACES: Kind =
    Kind { labels: &[("status.phase", Source::Str(&["status", "phase"])), NAME], reject: not_supported };

const SECRETS: Kind = Kind { labels: &[("type", Source::Str(&["type"])), NAME, NAMESPACE], reject: not_supported };

const SERVICES: Kind = Kind {
    labels: &[
        NAME,
        NAMESPACE,
        ("spec.clusterIP", Source::Str(&["spec", "clusterIP"])),
        ("spec.type", Source::Str(&["spec", "type"])),
    ],
    reject: not_supported,
};

const CORE_EVENTS: Kind = Kind {
    labels: &[
        ("involvedObject.kind", Source::Func(|o| involved(o, "kind"))),
        ("involvedObject.namespace", Source::Func(|o| involved(o, "namespace"))),
        ("involvedObject.name", Source::Func(|o| involved(o, "name"))),
        ("involvedObject.uid", Source::Func(|o| involved(o, "uid"))),
        ("involvedObject.apiVersion", Source::Func(|o| involved(o, "apiVersion"))),
        ("involvedObject.resourceVersion", Source::Func(|o| involved(o, "resourceVersion"))),
        ("involvedObject.fieldPath", Source::Func(|o| involved(o, "fieldPath"))),
        ("reason", Source::Str(&["reason"])),
        ("reportingComponent", Source::Func(reporting_controller)),
        ("source", Source::Func(event_source)),
        ("type", Source::Str(&["type"])),
        NAMESPACE,
        NAME,
    ],
    reject: not_supported,
};

const EVENTS_K8S_IO: Kind = Kind {
    labels: &[
        ("reason", Source::Str(&["reason"])),
        ("regarding.kind", Source::Func(|o| involved(o, "kind"))),
        ("regarding.namespace", Source::Func(|o| involved(o, "namespace"))),
        ("regarding.name", Source::Func(|o| involved(o, "name"))),
        ("regarding.uid", Source::Func(|o| involved(o, "uid"))),
        ("regarding.apiVersion", Source::Func(|o| involved(o, "apiVersion"))),
        ("regarding.resourceVersion", Source::Func(|o| involved(o, "resourceVersion"))),
        ("regarding.fieldPath", Source::Func(|o| involved(o, "fieldPath"))),
        ("reportingController", Source::Func(reporting_controller)),
        ("source", Source::Func(event_source)),
        ("type", Source::Str(&["type"])),
        NAMESPACE,
        NAME,
    ],
    reject: not_supported,
};

const JOBS: Kind = Kind {
    labels: &[NAME, NAMESPACE, ("status.successful", Source::Int(&["status", "succeeded"]))],
    reject: job_reject,
};

const SIGNED: Kind =
    Kind { labels: &[NAME, ("spec.signerName", Source::Str(&["spec", "signerName"]))], reject: not_supported };

const RESOURCE_SLICES: Kind = Kind {
    labels: &[
        NAME,
        ("spec.nodeName", Source::Str(&["spec", "nodeName"])),
        ("spec.driver", Source::Str(&["spec", "driver"])),
    ],
    reject: resource_slice_reject,
};

fn kind_of(group: &str, resource: &str) -> &'static Kind {
    match (group, resource) {
        ("", "pods") => &PODS,
        ("", "nodes") => &NODES,
        ("", "replicationcontrollers") => &REPLICATION_CONTROLLERS,
        ("", "namespaces") => &NAMESPACES,
        ("", "secrets") => &SECRETS,
        ("", "services") => &SERVICES,
        ("", "events") => &CORE_EVENTS,
        ("events.k8s.io", "events") => &EVENTS_K8S_IO,
        ("batch", "jobs") => &JOBS,
        ("certificates.k8s.io", "certificatesigningrequests" | "clustertrustbundles") => &SIGNED,
        ("resource.k8s.io", "resourceslices") => &RESOURCE_SLICES,
        _ => &DEFAULT,
    }
}

/// The value of a field label of an object, for matching a field selector.
///
/// `Err` carries the message of the real server's 400 BadRequest for a label the kind does
/// not support (for example `field label not supported: spec.foo` for pods, or
/// `"spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace"` for
/// kinds with no field labels of their own). `Ok(None)` is a label the server accepts but never
/// sets, which matches as `""`. Booleans read `"true"`/`"false"`, absent values `""`.
pub fn field_value(group: &str, resource: &str, obj: &Value, field: &str) -> Result<Option<String>, String> {
    let kind = kind_of(group, resource);
    let (_, source) = kind.labels.iter().find(|(l, _)| *l == field).ok_or_else(|| (kind.reject)(field))?;
    Ok(match source {
        Source::Str(path) => Some(at(obj, path).and_then(Value::as_str).unwrap_or("").to_string()),
        Source::Bool(path) => Some(at(obj, path).and_then(Value::as_bool).unwrap_or(false).to_string()),
        Source::Int(path) => Some(at(obj, path).and_then(Value::as_i64).unwrap_or(0).to_string()),
        Source::Unset => None,
        Source::Func(f) => Some(f(obj)),
    })
}

fn at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, k| v.get(k))
}

fn str_at<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    at(obj, path).and_then(Value::as_str).unwrap_or("")
}

/// The pod's primary IP: `status.podIP` (authoritative when set), else the first of `status.podIPs`.
fn pod_ip(obj: &Value) -> String {
    match str_at(obj, &["status", "podIP"]) {
        "" => at(obj, &["status", "podIPs"])
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|p| p.get("ip"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        ip => ip.to_string(),
    }
}

/// A field of the object an Event is about: `involvedObject` (core/v1) or `regarding` (events.k8s.io).
fn involved(obj: &Value, field: &str) -> String {
    let r = obj.get("involvedObject").or_else(|| obj.get("regarding"));
    r.and_then(|r| r.get(field)).and_then(Value::as_str).unwrap_or("").to_string()
}

/// `reportingComponent` (core/v1 JSON name) or `reportingController` (events.k8s.io).
fn reporting_controller(obj: &Value) -> String {
    let v = str_at(obj, &["reportingComponent"]);
    if v.is_empty() { str_at(obj, &["reportingController"]).to_string() } else { v.to_string() }
}

/// The event's source component, falling back to its reporting controller.
fn event_source(obj: &Value) -> String {
    let c = str_at(obj, &["source", "component"]);
    let c = if c.is_empty() { str_at(obj, &["deprecatedSource", "component"]) } else { c };
    if c.is_empty() { reporting_controller(obj) } else { c.to_string() }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_and_sorts_terms() {
        let s = FieldSelector::parse("status.phase!=Running,metadata.name==web,spec.nodeName=n1").unwrap();
        let r = s.requirements();
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].field.as_str(), r[0].equal, r[0].value.as_str()), ("metadata.name", true, "web"));
        assert_eq!((r[1].field.as_str(), r[1].equal), ("spec.nodeName", true));
        assert_eq!((r[2].field.as_str(), r[2].equal, r[2].value.as_str()), ("status.phase", false, "Running"));
        assert_eq!(s.to_string(), "metadata.name=web,spec.nodeName=n1,status.phase!=Running");
    }

    #[test]
    fn escaping() {
        let s = FieldSelector::parse(r"metadata.name=a\,b\=c\\d").unwrap();
        assert_eq!(s.requirements()[0].value, r"a,b=c\d");
        assert_eq!(s.to_string(), r"metadata.name=a\,b\=c\\d");
        assert_eq!(
            FieldSelector::parse("a=b=c").unwrap_err(),
            "invalid field selector: unescaped character in value: 61"
        );
        assert_eq!(FieldSelector::parse(r"a=b\x").unwrap_err(), r"invalid field selector: invalid escape sequence: \x");
        assert_eq!(FieldSelector::parse(r"a=b\").unwrap_err(), r"invalid field selector: invalid escape sequence: \");
    }

    #[test]
    fn parse_errors() {
        assert_eq!(FieldSelector::parse("foo").unwrap_err(), "invalid selector: 'foo'; can't understand 'foo'");
        assert_eq!(FieldSelector::parse("a=b,foo").unwrap_err(), "invalid selector: 'a=b,foo'; can't understand 'foo'");
        assert!(FieldSelector::parse("").unwrap().is_empty());
        assert!(FieldSelector::parse(",,=").unwrap().is_empty());
    }

    #[test]
    fn matching() {
        let s = FieldSelector::parse("a=1,b!=2,c=").unwrap();
        let get = |f: &str| match f {
            "a" => Some("1".to_string()),
            "b" => Some("3".to_string()),
            _ => None,
        };
        assert!(s.matches(get));
        assert!(!s.matches(|_| None));
    }

    #[test]
    fn pod_fields() {
        let pod = json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always", "hostNetwork": true},
            "status": {"phase": "Running", "podIP": "10.42.0.5", "podIPs": [{"ip": "10.42.0.5"}, {"ip": "fd00::5"}]}
        });
        let v = |f: &str| field_value("", "pods", &pod, f);
        assert_eq!(v("spec.nodeName").unwrap().as_deref(), Some("n1"));
        assert_eq!(v("spec.host").unwrap().as_deref(), Some("n1"));
        assert_eq!(v("spec.hostNetwork").unwrap().as_deref(), Some("true"));
        assert_eq!(v("status.podIP").unwrap().as_deref(), Some("10.42.0.5"));
        assert_eq!(v("status.podIPs").unwrap(), None);
        assert_eq!(v("spec.schedulerName").unwrap().as_deref(), Some(""));
        assert_eq!(v("metadata.namespace").unwrap().as_deref(), Some("default"));
        assert_eq!(v("spec.foo").unwrap_err(), "field label not supported: spec.foo");
        let empty = json!({"metadata": {}});
        assert_eq!(field_value("", "pods", &empty, "spec.hostNetwork").unwrap().as_deref(), Some("false"));
    }

    #[test]
    fn other_kinds() {
        let node = json!({"metadata": {"name": "n1"}, "spec": {"unschedulable": true}});
        assert_eq!(field_value("", "nodes", &node, "spec.unschedulable").unwrap().as_deref(), Some("true"));
        assert_eq!(
            field_value("", "nodes", &node, "metadata.namespace").unwrap_err(),
            "field label not supported: metadata.namespace"
        );
        let job = json!({"status": {"succeeded": 2}});
        assert_eq!(field_value("batch", "jobs", &job, "status.successful").unwrap().as_deref(), Some("2"));
        assert_eq!(
            field_value("batch", "jobs", &job, "status.active").unwrap_err(),
            "field label \"status.active\" not supported for batchv1.Job"
        );
        assert_eq!(
            field_value("apps", "replicasets", &job, "status.replicas").unwrap_err(),
            "\"status.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        );
        let cm = json!({"metadata": {"name": "c"}});
        assert_eq!(field_value("", "configmaps", &cm, "metadata.namespace").unwrap().as_deref(), Some(""));
        let rc = json!({"status": {"replicas": 3}});
        assert_eq!(field_value("", "replicationcontrollers", &rc, "status.replicas").unwrap().as_deref(), Some("3"));
        let secret = json!({"type": "Opaque"});
        assert_eq!(field_value("", "secrets", &secret, "type").unwrap().as_deref(), Some("Opaque"));
        let ns = json!({"status": {"phase": "Active"}});
        assert_eq!(field_value("", "namespaces", &ns, "status.phase").unwrap().as_deref(), Some("Active"));
        let csr = json!({"spec": {"signerName": "kubernetes.io/kubelet-serving"}});
        assert_eq!(
            field_value("certificates.k8s.io", "certificatesigningrequests", &csr, "spec.signerName")
                .unwrap()
                .as_deref(),
            Some("kubernetes.io/kubelet-serving")
        );
    }

    #[test]
    fn event_fields() {
        let core = json!({
            "metadata": {"name": "e1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web", "uid": "u1"},
            "reason": "Started", "type": "Normal", "reportingComponent": "kubelet",
            "source": {"component": ""}
        });
        let v = |g: &str, o: &Value, f: &str| field_value(g, "events", o, f);
        assert_eq!(v("", &core, "involvedObject.uid").unwrap().as_deref(), Some("u1"));
        assert_eq!(v("", &core, "source").unwrap().as_deref(), Some("kubelet"));
        assert_eq!(v("", &core, "reportingComponent").unwrap().as_deref(), Some("kubelet"));
        assert_eq!(v("", &core, "regarding.name").unwrap_err(), "field label not supported: regarding.name");
        let new = json!({
            "metadata": {"name": "e1"},
            "regarding": {"kind": "Pod", "name": "web"},
            "reportingController": "kubelet", "type": "Warning"
        });
        assert_eq!(v("events.k8s.io", &new, "regarding.name").unwrap().as_deref(), Some("web"));
        assert_eq!(v("events.k8s.io", &new, "reportingController").unwrap().as_deref(), Some("kubelet"));
        assert_eq!(v("events.k8s.io", &core, "regarding.kind").unwrap().as_deref(), Some("Pod"));
        assert_eq!(
            v("events.k8s.io", &new, "involvedObject.name").unwrap_err(),
            "field label not supported: involvedObject.name"
        );
    }
}
