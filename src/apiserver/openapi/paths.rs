//! The path items of one resource in OpenAPI v3 form (with a converter to
//! Swagger 2.0): operations, parameters, request bodies and responses named and
//! shaped as the real API server publishes them.

use serde_json::{Map, Value, json};

use super::group_camel;
use crate::registry::resource::ResourceInfo;
use crate::registry::schema::REF_PREFIX;

fn param(name: &str, location: &str, description: &str, schema: Value) -> Value {
    let mut p = json!({"name": name, "in": location, "description": description, "schema": schema});
    if location == "path" {
        p["required"] = true.into();
    }
    p
}

fn string_q(name: &str, description: &str) -> Value {
    param(name, "query", description, json!({"type": "string", "uniqueItems": true}))
}

fn bool_q(name: &str, description: &str) -> Value {
    param(name, "query", description, json!({"type": "boolean", "uniqueItems": true}))
}

fn int_q(name: &str, description: &str) -> Value {
    param(name, "query", description, json!({"type": "integer", "uniqueItems": true}))
}

fn pretty() -> Value {
    string_q(
        "pretty",
        "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).",
    )
}

fn dry_run() -> Value {
    string_q(
        "dryRun",
        "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed",
    )
}

fn field_manager() -> Value {
    string_q(
        "fieldManager",
        "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.",
    )
}

fn field_validation() -> Value {
    string_q(
        "fieldValidation",
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.",
    )
}

fn list_params(watch: bool) -> Vec<Value> {
    let mut v = vec![
        bool_q(
            "allowWatchBookmarks",
            "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server's discretion. Clients should not assume bookmarks are returned at any specific interval, nor may they assume the server will send any BOOKMARK event during a session. If this is not a watch, this field is ignored.",
        ),
        string_q(
            "continue",
            "The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue) and the server may reject a continue value it does not recognize.",
        ),
        string_q(
            "fieldSelector",
            "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
        ),
        string_q(
            "labelSelector",
            "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
        ),
        int_q(
            "limit",
            "limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results.",
        ),
        string_q(
            "resourceVersion",
            "resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset",
        ),
        string_q(
            "resourceVersionMatch",
            "resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset",
        ),
        bool_q(
            "sendInitialEvents",
            "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection. Once all such events have been sent, a synthetic \"Bookmark\" event  will be sent.",
        ),
        int_q(
            "timeoutSeconds",
            "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.",
        ),
    ];
    if watch {
        v.push(bool_q("watch", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion."));
    }
    v
}

fn delete_params() -> Vec<Value> {
    vec![
        dry_run(),
        int_q(
            "gracePeriodSeconds",
            "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used. Defaults to a per object value if not specified. zero means delete immediately.",
        ),
        bool_q(
            "ignoreStoreReadErrorWithClusterBreakingPotential",
            "if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error.",
        ),
        bool_q(
            "orphanDependents",
            "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the \"orphan\" finalizer will be added to/removed from the object's finalizers list. Either this field or PropagationPolicy may be set, but not both.",
        ),
        string_q(
            "propagationPolicy",
            "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. The default policy is decided by the existing finalizer set in the metadata.finalizers and the resource-specific default policy. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.",
        ),
    ]
}

fn reference(def: &str) -> Value {
    json!({"$ref": format!("{REF_PREFIX}{def}")})
}

fn content(schema: Value, types: &[&str]) -> Value {
    let mut m = Map::new();
    for t in types {
        m.insert(t.to_string(), json!({"schema": schema}));
    }
    Value::Object(m)
}

const OUT_TYPES: &[&str] =
    &["application/json", "application/yaml", "application/vnd.kubernetes.protobuf", "application/cbor"];
const WATCH_TYPES: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    "application/cbor",
    "application/json;stream=watch",
    "application/vnd.kubernetes.protobuf;stream=watch",
    "application/cbor-seq",
];
const PATCH_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/apply-patch+cbor",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

const CR_PATCH_TYPES: &[&str] =
    &["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"];

fn responses(codes: &[(&str, &str)], schema: &Value, types: &[&str]) -> Value {
    let mut m = Map::new();
    for (code, desc) in codes {
        m.insert(code.to_string(), json!({"description": desc, "content": content(schema.clone(), types)}));
    }
    m.insert("401".into(), json!({"description": "Unauthorized"}));
    Value::Object(m)
}

struct Op<'a> {
    r: &'a ResourceInfo,
    gvk: Value,
    tag: String,
}

impl Op<'_> {
    #[allow(clippy::too_many_arguments)]
    fn make(
        &self,
        action: &str,
        op_id: String,
        description: String,
        params: Vec<Value>,
        body: Option<Value>,
        resp: Value,
        gvk: Option<Value>,
    ) -> Value {
        let mut o = json!({
            "tags": [self.tag],
            "description": description,
            "operationId": op_id,
            "responses": resp,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk.unwrap_or_else(|| self.gvk.clone()),
        });
        if !params.is_empty() {
            o["parameters"] = Value::Array(params);
        }
        if let Some(b) = body {
            o["requestBody"] = b;
        }
        let _ = self.r;
        o
    }
}

/// Every path of a resource, with its path item.
pub fn resource_paths(r: &ResourceInfo) -> Vec<(String, Value)> {
    let base =
        if r.group.is_empty() { format!("/api/{}", r.version) } else { format!("/apis/{}/{}", r.group, r.version) };
    let gvcamel = format!("{}{}", group_camel(&r.group), capitalize(&r.version));
    let tag = format!(
        "{}_{}",
        if r.group.is_empty() { "core".to_string() } else { r.group.replace(".k8s.io", "").replace(['.', '-'], "") },
        r.version
    );
    let op = Op { r, gvk: json!({"group": r.group, "version": r.version, "kind": r.kind}), tag };
    let scope = if r.namespaced { "Namespaced" } else { "" };
    let kind = &r.kind;
    let obj = reference(&r.definition);
    let list = reference(&format!("{}List", r.definition));
    let status = reference("io.k8s.apimachinery.pkg.apis.meta.v1.Status");
    let ns_prefix = if r.namespaced { format!("{base}/namespaces/{{namespace}}") } else { base.clone() };
    let mut path_params = vec![];
    if r.namespaced {
        path_params.push(param(
            "namespace",
            "path",
            "object name and auth scope, such as for teams and projects",
            json!({"type": "string", "uniqueItems": true}),
        ));
    }
    let name_param = |what: &str| {
        param("name", "path", &format!("name of the {what}"), json!({"type": "string", "uniqueItems": true}))
    };
    let body_of = |schema: &Value, types: &[&str]| json!({"content": content(schema.clone(), types), "required": true});
    // Custom resources take no strategic merge patches, and clients read that from here.
    let patch_types = if crate::registry::crd::custom(r).is_some() { CR_PATCH_TYPES } else { PATCH_TYPES };
    let mut out = Vec::new();

    // Collection.
    let mut coll = Map::new();
    if r.has_verb("list") {
        coll.insert(
            "get".into(),
            op.make(
                "list",
                format!("list{gvcamel}{scope}{kind}"),
                format!("list or watch objects of kind {kind}"),
                list_params(true),
                None,
                responses(&[("200", "OK")], &list, WATCH_TYPES),
                None,
            ),
        );
    }
    if r.has_verb("create") {
        let body_schema = obj.clone();
        let codes: &[(&str, &str)] = &[("200", "OK"), ("201", "Created"), ("202", "Accepted")];
        coll.insert(
            "post".into(),
            op.make(
                "post",
                format!("create{gvcamel}{scope}{kind}"),
                format!("create a {kind}"),
                vec![dry_run(), field_manager(), field_validation()],
                Some(body_of(&body_schema, &["*/*"])),
                responses(codes, &obj, OUT_TYPES),
                None,
            ),
        );
    }
    if r.has_verb("deletecollection") {
        let mut params = delete_params();
        params.extend(list_params(false));
        coll.insert("delete".into(), op.make("deletecollection", format!("delete{gvcamel}Collection{scope}{kind}"), format!("delete collection of {kind}"), params, Some(json!({"content": content(reference("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"), &["*/*"])})), responses(&[("200", "OK")], &status, OUT_TYPES), None));
    }
    if !coll.is_empty() {
        let mut params = path_params.clone();
        params.push(pretty());
        coll.insert("parameters".into(), Value::Array(params));
        out.push((format!("{ns_prefix}/{}", r.plural), Value::Object(coll)));
    }
    // All namespaces.
    if r.namespaced && r.has_verb("list") {
        let mut item = Map::new();
        item.insert(
            "get".into(),
            op.make(
                "list",
                format!("list{gvcamel}{kind}ForAllNamespaces"),
                format!("list or watch objects of kind {kind}"),
                vec![],
                None,
                responses(&[("200", "OK")], &list, WATCH_TYPES),
                None,
            ),
        );
        let mut params = list_params(true);
        params.push(pretty());
        item.insert("parameters".into(), Value::Array(params));
        out.push((format!("{base}/{}", r.plural), Value::Object(item)));
    }
    // One object.
    let mut one = Map::new();
    if r.has_verb("get") {
        one.insert(
            "get".into(),
            op.make(
                "get",
                format!("read{gvcamel}{scope}{kind}"),
                format!("read the specified {kind}"),
                vec![],
                None,
                responses(&[("200", "OK")], &obj, OUT_TYPES),
                None,
            ),
        );
    }
    if r.has_verb("update") {
        one.insert(
            "put".into(),
            op.make(
                "put",
                format!("replace{gvcamel}{scope}{kind}"),
                format!("replace the specified {kind}"),
                vec![dry_run(), field_manager(), field_validation()],
                Some(body_of(&obj, &["*/*"])),
                responses(&[("200", "OK"), ("201", "Created")], &obj, OUT_TYPES),
                None,
            ),
        );
    }
    if r.has_verb("patch") {
        one.insert(
            "patch".into(),
            op.make(
                "patch",
                format!("patch{gvcamel}{scope}{kind}"),
                format!("partially update the specified {kind}"),
                patch_params(),
                Some(body_of(&reference("io.k8s.apimachinery.pkg.apis.meta.v1.Patch"), patch_types)),
                responses(&[("200", "OK"), ("201", "Created")], &obj, OUT_TYPES),
                None,
            ),
        );
    }
    if r.has_verb("delete") {
        one.insert("delete".into(), op.make("delete", format!("delete{gvcamel}{scope}{kind}"), format!("delete a {kind}"), delete_params(), Some(json!({"content": content(reference("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"), &["*/*"])})), responses(&[("200", "OK"), ("202", "Accepted")], &status, OUT_TYPES), None));
    }
    if !one.is_empty() {
        let mut params = vec![name_param(kind)];
        params.extend(path_params.clone());
        params.push(pretty());
        one.insert("parameters".into(), Value::Array(params));
        out.push((format!("{ns_prefix}/{}/{{name}}", r.plural), Value::Object(one)));
    }
    // Subresources.
    let mut subs: Vec<(&str, Value, Value, String)> = Vec::new();
    if r.has_status {
        subs.push(("status", obj.clone(), op.gvk.clone(), "Status".into()));
    }
    if r.has_scale {
        subs.push((
            "scale",
            reference("io.k8s.api.autoscaling.v1.Scale"),
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}),
            "Scale".into(),
        ));
    }
    for (sub, schema, gvk, suffix) in subs {
        let mut item = Map::new();
        item.insert(
            "get".into(),
            op.make(
                "get",
                format!("read{gvcamel}{scope}{kind}{suffix}"),
                format!("read {sub} of the specified {kind}"),
                vec![],
                None,
                responses(&[("200", "OK")], &schema, OUT_TYPES),
                Some(gvk.clone()),
            ),
        );
        item.insert(
            "put".into(),
            op.make(
                "put",
                format!("replace{gvcamel}{scope}{kind}{suffix}"),
                format!("replace {sub} of the specified {kind}"),
                vec![dry_run(), field_manager(), field_validation()],
                Some(body_of(&schema, &["*/*"])),
                responses(&[("200", "OK"), ("201", "Created")], &schema, OUT_TYPES),
                Some(gvk.clone()),
            ),
        );
        item.insert(
            "patch".into(),
            op.make(
                "patch",
                format!("patch{gvcamel}{scope}{kind}{suffix}"),
                format!("partially update {sub} of the specified {kind}"),
                patch_params(),
                Some(body_of(&reference("io.k8s.apimachinery.pkg.apis.meta.v1.Patch"), patch_types)),
                responses(&[("200", "OK"), ("201", "Created")], &schema, OUT_TYPES),
                Some(gvk),
            ),
        );
        let mut params = vec![name_param(kind)];
        params.extend(path_params.clone());
        params.push(pretty());
        item.insert("parameters".into(), Value::Array(params));
        out.push((format!("{ns_prefix}/{}/{{name}}/{sub}", r.plural), Value::Object(item)));
    }
    out
}

fn patch_params() -> Vec<Value> {
    vec![
        dry_run(),
        field_manager(),
        field_validation(),
        bool_q(
            "force",
            "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.",
        ),
    ]
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Convert a v3 path item into Swagger 2.0.
pub fn path_item_to_v2(item: &Value) -> Value {
    let Some(m) = item.as_object() else { return item.clone() };
    let mut out = Map::new();
    for (k, v) in m {
        if k == "parameters" {
            out.insert(k.clone(), params_to_v2(v));
        } else {
            out.insert(k.clone(), operation_to_v2(v));
        }
    }
    Value::Object(out)
}

fn params_to_v2(params: &Value) -> Value {
    let list = params.as_array().cloned().unwrap_or_default();
    Value::Array(
        list.into_iter()
            .map(|p| {
                let mut o = Map::new();
                if let Some(s) = p.get("schema").and_then(Value::as_object) {
                    for (k, v) in s {
                        o.insert(k.clone(), v.clone());
                    }
                }
                for k in ["description", "name", "in", "required"] {
                    if let Some(v) = p.get(k) {
                        o.insert(k.into(), v.clone());
                    }
                }
                Value::Object(o)
            })
            .collect(),
    )
}

fn operation_to_v2(op: &Value) -> Value {
    let Some(m) = op.as_object() else { return op.clone() };
    let mut out = Map::new();
    let mut params = params_to_v2(m.get("parameters").unwrap_or(&Value::Array(vec![])));
    if let Some(body) = m.get("requestBody") {
        let content = body.get("content").and_then(Value::as_object);
        let schema =
            content.and_then(|c| c.values().next()).and_then(|c| c.get("schema")).cloned().unwrap_or(json!({}));
        let consumes: Vec<Value> =
            content.map(|c| c.keys().map(|k| Value::String(k.clone())).collect()).unwrap_or_default();
        out.insert("consumes".into(), Value::Array(consumes));
        if let Some(a) = params.as_array_mut() {
            let mut bp = json!({"name": "body", "in": "body", "schema": super::schema_to_v2(&schema)});
            if body.get("required").and_then(Value::as_bool) == Some(true) {
                bp["required"] = true.into();
            }
            a.insert(0, bp);
        }
    } else {
        out.insert("consumes".into(), json!(["*/*"]));
    }
    let mut produces = Vec::new();
    let mut responses = Map::new();
    if let Some(rs) = m.get("responses").and_then(Value::as_object) {
        for (code, r) in rs {
            let mut nr = Map::new();
            nr.insert("description".into(), r.get("description").cloned().unwrap_or(json!("")));
            if let Some(c) = r.get("content").and_then(Value::as_object) {
                if produces.is_empty() {
                    produces = c.keys().map(|k| Value::String(k.clone())).collect();
                }
                if let Some(s) = c.values().next().and_then(|x| x.get("schema")) {
                    nr.insert("schema".into(), super::schema_to_v2(s));
                }
            }
            responses.insert(code.clone(), Value::Object(nr));
        }
    }
    for (k, v) in m {
        match k.as_str() {
            "parameters" | "requestBody" | "responses" => {}
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert("produces".into(), Value::Array(produces));
    out.insert("schemes".into(), json!(["https"]));
    if params.as_array().is_some_and(|a| !a.is_empty()) {
        out.insert("parameters".into(), params);
    }
    out.insert("responses".into(), Value::Object(responses));
    Value::Object(out)
}
