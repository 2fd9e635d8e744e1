//! Server-side printing: the `meta.k8s.io/v1` Table kubectl asks for with
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
//!
//! The columns and cells mirror the real server's printers (kubernetes
//! pkg/printers/internalversion/printers.go, Kubernetes 1.33), which the server always runs
//! in wide mode: every column is sent and kubectl hides priority-1 columns unless `-o wide`.
//! Kinds without a printer get the default table of apiserver's rest/table.go (Name, Created
//! At); APIServices get kube-aggregator's.

mod apps;
mod batch;
mod cluster;
mod core;
mod custom;
mod descriptions;
mod format;
mod networking;
mod storage;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

pub use custom::custom_resource_table;
pub use format::human_duration;
use format::{Ctx, s};

/// One column of a Table (`metav1.TableColumnDefinition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub type_: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    pub priority: i32,
}

impl Column {
    fn to_json(self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// A column shown by default.
const fn col(name: &'static str, type_: &'static str, description: &'static str) -> Column {
    Column { name, type_, format: "", description, priority: 0 }
}

/// A column shown only with `-o wide`.
const fn wide(name: &'static str, type_: &'static str, description: &'static str) -> Column {
    Column { name, type_, format: "", description, priority: 1 }
}

/// The Name column of nearly every printer.
const NAME: Column =
    Column { name: "Name", type_: "string", format: "name", description: descriptions::OBJECT_META_NAME, priority: 0 };

/// The Age column of nearly every printer.
const AGE: Column = col("Age", "string", descriptions::OBJECT_META_CREATION_TIMESTAMP);

const CONTAINERS: Column = wide("Containers", "string", "Names of each container in the template.");
const IMAGES: Column = wide("Images", "string", "Images referenced by each container in the template.");

/// The default table of resources without a printer (apiserver `rest.NewDefaultTableConvertor`).
const DEFAULT_COLUMNS: &[Column] = &[NAME, col("Created At", "date", descriptions::OBJECT_META_CREATION_TIMESTAMP)];

/// Computes the cells of one object.
type CellsFn = fn(&Value, &Ctx) -> Vec<Value>;

/// How a resource is turned into a table.
#[derive(Clone, Copy)]
enum Convertor {
    /// A printer of printers.go.
    Printer(&'static [Column], CellsFn),
    /// `rest.NewDefaultTableConvertor`: Name and Created At.
    Default,
    /// kube-aggregator's APIService table (sends its columns even when asked not to).
    ApiService,
}

fn convertor(group: &str, resource: &str) -> Convertor {
    if group == "apiregistration.k8s.io" && resource == "apiservices" {
        return Convertor::ApiService;
    }
    core::printer(group, resource)
        .or_else(|| apps::printer(group, resource))
        .or_else(|| batch::printer(group, resource))
        .or_else(|| networking::printer(group, resource))
        .or_else(|| storage::printer(group, resource))
        .or_else(|| cluster::printer(group, resource))
        .map_or(Convertor::Default, |(columns, cells)| Convertor::Printer(columns, cells))
}

/// Column definitions for a resource. Resources without a printer (roles, limit ranges,
/// custom resource definitions, CSI storage capacities, custom resources…) get the default
/// table: Name and Created At.
pub fn columns(group: &str, resource: &str) -> &'static [Column] {
    match convertor(group, resource) {
        Convertor::Printer(columns, _) => columns,
        Convertor::Default => DEFAULT_COLUMNS,
        Convertor::ApiService => cluster::APISERVICE_COLUMNS,
    }
}

/// Cells of one row, in column order. `now` is the time ages are measured from.
pub fn cells(group: &str, resource: &str, obj: &Value, now: Timestamp) -> Vec<Value> {
    convertor(group, resource).cells(obj, &Ctx { now })
}

impl Convertor {
    fn cells(self, obj: &Value, ctx: &Ctx) -> Vec<Value> {
        match self {
            Convertor::Printer(_, cells) => cells(obj, ctx),
            Convertor::Default => {
                let created = format::rfc3339(format::at(obj, &["metadata", "creationTimestamp"]));
                vec![format::name(obj).into(), created.into()]
            }
            Convertor::ApiService => cluster::apiservice(obj, ctx),
        }
    }
}

/// The full metav1.Table JSON for a list of objects (or one object, as a one-item slice).
///
/// `include_object` is the `includeObject` query parameter: `"None"` (no object), `"Metadata"`
/// or empty (the default: a `PartialObjectMetadata` of `meta.k8s.io/v1`) or `"Object"` (the
/// whole object). `list_meta` is the list's metadata (`resourceVersion`, `continue`,
/// `remainingItemCount`) to copy. `with_columns` is false for the watch events after the
/// first, which the real server sends with `columnDefinitions: null` (kube-aggregator's
/// APIService table always carries them).
pub fn table(
    group: &str,
    resource: &str,
    objects: &[Value],
    include_object: &str,
    list_meta: Value,
    now: Timestamp,
    with_columns: bool,
) -> Value {
    let conv = convertor(group, resource);
    let ctx = Ctx { now };
    let mut ordered: Vec<&Value> = objects.iter().collect();
    if group == "flowcontrol.apiserver.k8s.io" && resource == "flowschemas" {
        // printFlowSchemaList sorts by matching precedence, then name.
        ordered.sort_by(|a, b| {
            let key = |o: &Value| (format::int(o, &["spec", "matchingPrecedence"]), format::name(o));
            key(a).cmp(&key(b))
        });
    }
    let rows: Vec<Value> = ordered
        .into_iter()
        .map(|obj| {
            let mut row = Map::new();
            row.insert("cells".into(), conv.cells(obj, &ctx).into());
            if let Some(c) = row_conditions(group, resource, obj) {
                row.insert("conditions".into(), c);
            }
            row.insert("object".into(), embedded_object(obj, include_object));
            Value::Object(row)
        })
        .collect();
    let columns = match conv {
        Convertor::ApiService => Some(columns(group, resource)),
        _ if with_columns => Some(columns(group, resource)),
        _ => None,
    };
    let mut t = Map::new();
    t.insert("kind".into(), "Table".into());
    t.insert("apiVersion".into(), "meta.k8s.io/v1".into());
    t.insert("metadata".into(), table_meta(&list_meta));
    t.insert(
        "columnDefinitions".into(),
        columns.map_or(Value::Null, |cs| cs.iter().map(|c| c.to_json()).collect::<Vec<_>>().into()),
    );
    // The default convertor appends to a nil slice, so an empty list has `rows: null`.
    let rows = if rows.is_empty() && matches!(conv, Convertor::Default) { Value::Null } else { rows.into() };
    t.insert("rows".into(), rows);
    Value::Object(t)
}

/// Check an `includeObject` value as the real server does when it builds the rows: `None`,
/// `Metadata`, `Object` or empty are accepted; anything else is a 400 BadRequest with this
/// message (the real server only notices when the table has at least one row).
pub fn check_include_object(value: &str) -> Result<(), String> {
    match value {
        "" | "None" | "Metadata" | "Object" => Ok(()),
        other => Err(format!("unrecognized includeObject value: {other:?}")),
    }
}

/// The `ListMeta` of a Table: only the list fields, and only when set.
fn table_meta(list_meta: &Value) -> Value {
    let mut m = Map::new();
    for key in ["resourceVersion", "continue", "remainingItemCount"] {
        match list_meta.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(v) => {
                m.insert(key.into(), v.clone());
            }
        }
    }
    Value::Object(m)
}

/// The row's `object`, as `includeObject` asks.
fn embedded_object(obj: &Value, include_object: &str) -> Value {
    match include_object {
        "None" => Value::Null,
        "Object" => obj.clone(),
        _ => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    }
}

/// Row conditions: pods that have run to completion are marked `Completed`.
fn row_conditions(group: &str, resource: &str, obj: &Value) -> Option<Value> {
    if !(group.is_empty() && resource == "pods") {
        return None;
    }
    let (reason, message) = match s(obj, &["status", "phase"]) {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn now() -> Timestamp {
        "2024-05-01T12:00:00Z".parse().expect("timestamp")
    }

    #[test]
    fn default_table_for_kinds_without_printer() {
        let role = json!({"metadata": {"name": "r", "namespace": "d", "creationTimestamp": "2024-05-01T11:00:00Z"}});
        assert_eq!(columns("rbac.authorization.k8s.io", "roles"), DEFAULT_COLUMNS);
        assert_eq!(columns("example.com", "widgets"), DEFAULT_COLUMNS);
        assert_eq!(columns("storage.k8s.io", "csistoragecapacities"), DEFAULT_COLUMNS);
        assert_eq!(cells("", "limitranges", &role, now()), vec![json!("r"), json!("2024-05-01T11:00:00Z")]);
        let t = table("rbac.authorization.k8s.io", "roles", &[], "", json!({"resourceVersion": "5"}), now(), true);
        assert_eq!(t["rows"], Value::Null);
        assert_eq!(t["columnDefinitions"][1]["name"], "Created At");
        assert_eq!(t["columnDefinitions"][1]["type"], "date");
        assert_eq!(t["metadata"], json!({"resourceVersion": "5"}));
    }

    #[test]
    fn table_shape() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "done", "namespace": "default", "resourceVersion": "7", "creationTimestamp": "2024-05-01T11:59:00Z"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": "Succeeded", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}
        });
        let meta = json!({"resourceVersion": "9", "continue": "abc", "remainingItemCount": 3, "selfLink": "x"});
        let t = table("", "pods", std::slice::from_ref(&pod), "", meta, now(), true);
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(t["metadata"], json!({"resourceVersion": "9", "continue": "abc", "remainingItemCount": 3}));
        assert_eq!(t["columnDefinitions"].as_array().map(Vec::len), Some(9));
        assert_eq!(t["columnDefinitions"][0]["format"], "name");
        assert_eq!(t["columnDefinitions"][5]["priority"], 1);
        let row = &t["rows"][0];
        assert_eq!(
            row["cells"],
            json!(["done", "0/1", "Completed", "0", "60s", "<none>", "<none>", "<none>", "<none>"])
        );
        assert_eq!(
            row["conditions"],
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}])
        );
        assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(row["object"]["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(row["object"]["metadata"]["resourceVersion"], "7");
        let t = table("", "pods", std::slice::from_ref(&pod), "Object", json!({}), now(), false);
        assert_eq!(t["columnDefinitions"], Value::Null);
        assert_eq!(t["rows"][0]["object"], pod);
        assert_eq!(t["metadata"], json!({}));
        let t = table("", "pods", std::slice::from_ref(&pod), "None", json!({}), now(), true);
        assert_eq!(t["rows"][0]["object"], Value::Null);
        let t = table("", "pods", &[], "", json!({}), now(), true);
        assert_eq!(t["rows"], json!([]));
    }

    #[test]
    fn include_object_values() {
        assert!(check_include_object("").is_ok() && check_include_object("Object").is_ok());
        assert_eq!(check_include_object("All").unwrap_err(), "unrecognized includeObject value: \"All\"");
    }

    #[test]
    fn apiservice_always_sends_columns() {
        let svc = json!({"metadata": {"name": "v1.apps", "creationTimestamp": "2024-05-01T11:00:00Z"}, "spec": {},
            "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Local"}]}});
        let t = table("apiregistration.k8s.io", "apiservices", &[svc], "None", json!({}), now(), false);
        assert_eq!(t["columnDefinitions"].as_array().map(Vec::len), Some(4));
        assert_eq!(t["rows"][0]["cells"], json!(["v1.apps", "Local", "True", "60m"]));
    }

    #[test]
    fn every_printer_fills_its_columns() {
        let resources = [
            ("", "pods"),
            ("", "podtemplates"),
            ("", "replicationcontrollers"),
            ("", "services"),
            ("", "endpoints"),
            ("", "nodes"),
            ("", "namespaces"),
            ("", "events"),
            ("events.k8s.io", "events"),
            ("", "secrets"),
            ("", "serviceaccounts"),
            ("", "persistentvolumes"),
            ("", "persistentvolumeclaims"),
            ("", "componentstatuses"),
            ("", "configmaps"),
            ("", "resourcequotas"),
            ("apps", "deployments"),
            ("apps", "replicasets"),
            ("apps", "statefulsets"),
            ("apps", "daemonsets"),
            ("apps", "controllerrevisions"),
            ("batch", "jobs"),
            ("batch", "cronjobs"),
            ("autoscaling", "horizontalpodautoscalers"),
            ("policy", "poddisruptionbudgets"),
            ("networking.k8s.io", "ingresses"),
            ("networking.k8s.io", "ingressclasses"),
            ("networking.k8s.io", "networkpolicies"),
            ("networking.k8s.io", "servicecidrs"),
            ("discovery.k8s.io", "endpointslices"),
            ("rbac.authorization.k8s.io", "rolebindings"),
            ("rbac.authorization.k8s.io", "clusterrolebindings"),
            ("certificates.k8s.io", "certificatesigningrequests"),
            ("certificates.k8s.io", "clustertrustbundles"),
            ("coordination.k8s.io", "leases"),
            ("coordination.k8s.io", "leasecandidates"),
            ("storage.k8s.io", "storageclasses"),
            ("storage.k8s.io", "volumeattributesclasses"),
            ("storage.k8s.io", "volumeattachments"),
            ("storage.k8s.io", "csinodes"),
            ("storage.k8s.io", "csidrivers"),
            ("scheduling.k8s.io", "priorityclasses"),
            ("node.k8s.io", "runtimeclasses"),
            ("flowcontrol.apiserver.k8s.io", "flowschemas"),
            ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations"),
            ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
            ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
            ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
            ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
            ("admissionregistration.k8s.io", "mutatingadmissionpolicies"),
            ("admissionregistration.k8s.io", "mutatingadmissionpolicybindings"),
            ("internal.apiserver.k8s.io", "storageversions"),
            ("storagemigration.k8s.io", "storageversionmigrations"),
            ("resource.k8s.io", "deviceclasses"),
            ("resource.k8s.io", "resourceclaims"),
            ("resource.k8s.io", "resourceclaimtemplates"),
            ("resource.k8s.io", "resourceslices"),
            ("apiregistration.k8s.io", "apiservices"),
        ];
        let empty = json!({"metadata": {"name": "x"}});
        for (g, r) in resources {
            assert!(matches!(convertor(g, r), Convertor::Printer(..) | Convertor::ApiService), "{g}/{r}");
            assert_eq!(cells(g, r, &empty, now()).len(), columns(g, r).len(), "{g}/{r}");
        }
        // The IPAddress printer sends an Age cell it has no column for, as the real one does.
        assert_eq!(columns("networking.k8s.io", "ipaddresses").len(), 2);
        assert_eq!(cells("networking.k8s.io", "ipaddresses", &empty, now()).len(), 3);
    }
}
