//! STUB until the tables module lands.
use serde_json::{Value, json};

pub struct Column {
    pub name: &'static str,
    pub type_: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    pub priority: i32,
}

pub fn human_duration(d: std::time::Duration) -> String {
    format!("{}s", d.as_secs())
}

pub fn table(
    _group: &str,
    _resource: &str,
    objects: &[Value],
    _include_object: &str,
    list_meta: Value,
    _now: jiff::Timestamp,
    with_columns: bool,
) -> Value {
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| json!({"cells": [o["metadata"]["name"], o["metadata"]["creationTimestamp"]], "object": o}))
        .collect();
    let mut t = json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta, "rows": rows});
    if with_columns {
        t["columnDefinitions"] = json!([
            {"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0},
            {"name": "Created At", "type": "date", "format": "", "description": "", "priority": 0}
        ]);
    }
    t
}
