//! Building HTTP responses: objects in the negotiated format, Status errors,
//! and the headers the real API server sends with them.

use axum::body::Body;
use axum::response::Response;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};

use super::negotiate::{Output, render};
use crate::registry::error::ApiError;
use crate::registry::meta;
use crate::registry::resource::ResourceInfo;
use crate::registry::tables;

/// A JSON response with a status code.
pub fn json_response(code: u16, value: &Value, pretty: bool) -> Response {
    bytes_response(code, "application/json", render(value, &Output::Json, pretty))
}

pub fn bytes_response(code: u16, content_type: &str, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(CONTENT_TYPE, v);
    }
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    resp
}

/// A `metav1.Status` error response.
pub fn error_response(e: &ApiError) -> Response {
    let mut resp = json_response(e.code, &e.to_status(), false);
    add_warnings(&mut resp, &e.warnings);
    resp
}

/// Add `Warning: 299 - "…"` headers.
pub fn add_warnings(resp: &mut Response, warnings: &[String]) {
    for w in warnings {
        let text = format!("299 - {:?}", w);
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append("Warning", v);
        }
    }
}

/// Make an object's PartialObjectMetadata.
pub fn partial_metadata(obj: &Value, version: &str) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// Give a Table (and the PartialObjectMetadata in its rows) the meta.k8s.io version asked for.
pub fn set_table_version(t: &mut Value, version: &str) {
    let api_version = format!("meta.k8s.io/{version}");
    t["apiVersion"] = api_version.clone().into();
    if let Some(rows) = t.get_mut("rows").and_then(Value::as_array_mut) {
        for row in rows {
            if let Some(obj) =
                row.get_mut("object").filter(|o| o.get("kind").and_then(Value::as_str) == Some("PartialObjectMetadata"))
            {
                obj["apiVersion"] = api_version.clone().into();
            }
        }
    }
}

/// The Table of a resource's objects: its printer's, or for custom resources the
/// `additionalPrinterColumns` of the CRD version.
pub fn resource_table(
    res: &ResourceInfo,
    objects: &[Value],
    include_object: &str,
    list_meta: Value,
    with_columns: bool,
) -> Value {
    let now = jiff::Timestamp::now();
    match crate::registry::crd::custom(res) {
        Some(cr) => tables::custom_resource_table(&cr.columns, objects, include_object, list_meta, now, with_columns),
        None => tables::table(&res.group, &res.plural, objects, include_object, list_meta, now, with_columns),
    }
}

/// Render one object in the chosen output.
pub fn object_body(res: &ResourceInfo, obj: &Value, output: &Output, include_object: &str) -> Value {
    match output {
        Output::Table { .. } => {
            let mut t = resource_table(
                res,
                std::slice::from_ref(obj),
                include_object,
                json!({"resourceVersion": meta::resource_version(obj)}),
                true,
            );
            if let Output::Table { version } = output {
                set_table_version(&mut t, version);
            }
            t
        }
        Output::Metadata { version } => partial_metadata(obj, version),
        _ => obj.clone(),
    }
}

/// Render a list in the chosen output.
pub fn list_body(
    res: &ResourceInfo,
    items: Vec<Value>,
    list_meta: Value,
    output: &Output,
    include_object: &str,
) -> Value {
    match output {
        Output::Table { version } => {
            let mut t = resource_table(res, &items, include_object, list_meta, true);
            t["apiVersion"] = format!("meta.k8s.io/{version}").into();
            t
        }
        Output::Metadata { version } => {
            let items: Vec<Value> = items.iter().map(|o| partial_metadata(o, version)).collect();
            json!({
                "kind": "PartialObjectMetadataList",
                "apiVersion": format!("meta.k8s.io/{version}"),
                "metadata": list_meta,
                "items": items,
            })
        }
        _ => {
            // Items of a typed list carry no apiVersion/kind of their own; those of a custom
            // resource list (unstructured upstream) keep theirs.
            let custom = crate::registry::crd::custom(res).is_some();
            let items: Vec<Value> = items
                .into_iter()
                .map(|mut o| {
                    if let Some(m) = o.as_object_mut().filter(|_| !custom) {
                        m.remove("apiVersion");
                        m.remove("kind");
                    }
                    o
                })
                .collect();
            json!({"kind": res.list_kind, "apiVersion": res.api_version(), "metadata": list_meta, "items": items})
        }
    }
}
