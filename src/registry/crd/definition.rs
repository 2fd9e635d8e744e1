//! CustomResourceDefinition objects themselves: defaults, the strategy (status reset,
//! stored versions, generation), validation with the real server's messages
//! (apiextensions `validation.go`), and the status the naming and establishing
//! controllers compute (accepted names, `NamesAccepted`, `Established`).
//!
//! Validation works on the v1 object but reports paths the way the real server does after
//! converting to its internal version: per-version `schema`, `subresources`,
//! `additionalPrinterColumns` and `selectableFields` identical in every version are
//! reported at the top level (`spec.validation.openAPIV3Schema…`, `spec.subresources…`).

use serde_json::{Map, Value, json};

use super::schema::Schema;
use super::structural::validate_structural;
use crate::registry::field_error::{FieldError, Path};
use crate::registry::meta;
use crate::registry::validation::meta::{MetaRules, immutable, validate_object_meta, validate_object_meta_update};
use crate::registry::validation::names;

/// The finalizer that deletes a CRD's custom resources before the CRD goes.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn arr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// Go encodes a float64 that holds an integer without a fraction (`maximum: 10`), and so
/// must the numbers of schemas that went through the typed decoder as floats.
fn integral_numbers(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::Number(n) if matches!(k.as_str(), "maximum" | "minimum" | "multipleOf") => {
                        if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15) {
                            *x = Value::from(f as i64);
                        }
                    }
                    // Values (defaults, enums, examples) are data, not schema.
                    _ if matches!(k.as_str(), "default" | "enum" | "example") => {}
                    _ => integral_numbers(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// `SetDefaults_CustomResourceDefinition` (v1).
pub fn apply_defaults(crd: &mut Value) {
    if let Some(Value::Array(versions)) = crd.pointer_mut("/spec/versions") {
        for v in versions {
            if let Some(schema) = v.pointer_mut("/schema/openAPIV3Schema") {
                integral_numbers(schema);
            }
        }
    }
    let Some(spec) = crd.get_mut("spec").and_then(Value::as_object_mut) else { return };
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        let kind = names.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
        if names.get("singular").and_then(Value::as_str).unwrap_or("").is_empty() && !kind.is_empty() {
            names.insert("singular".into(), kind.to_lowercase().into());
        }
        if names.get("listKind").and_then(Value::as_str).unwrap_or("").is_empty() && !kind.is_empty() {
            names.insert("listKind".into(), format!("{kind}List").into());
        }
    }
    let conversion = spec.entry("conversion").or_insert_with(|| json!({"strategy": "None"}));
    if conversion.is_null() {
        *conversion = json!({"strategy": "None"});
    }
    if let Some(svc) = conversion.pointer_mut("/webhook/clientConfig/service").and_then(Value::as_object_mut) {
        svc.entry("port").or_insert(443.into());
    }
}

/// The name of the storage version.
pub fn storage_version(crd: &Value) -> Option<&str> {
    crd.get("spec")
        .map(|sp| arr(sp, "versions"))
        .and_then(|vs| vs.iter().find(|v| v.get("storage") == Some(&Value::Bool(true))))
        .map(|v| s(v, "name"))
}

/// The CRD strategy's `PrepareForCreate`: empty status, generation 1, the storage version stored.
pub fn prepare_for_create(crd: &mut Value) {
    let stored: Vec<Value> = storage_version(crd).map(|v| vec![Value::String(v.to_string())]).unwrap_or_default();
    if let Some(m) = crd.as_object_mut() {
        m.insert("status".into(), json!({"storedVersions": stored}));
    }
}

/// `PrepareForUpdate`: the status is kept; a new storage version is added to storedVersions.
pub fn prepare_for_update(old: &Value, new: &mut Value, status_write: bool) {
    if !status_write {
        let status = old.get("status").cloned().unwrap_or_else(|| json!({}));
        if let Some(m) = new.as_object_mut() {
            m.insert("status".into(), status);
        }
    }
    if let Some(v) = storage_version(new).map(str::to_string) {
        let status = new.as_object_mut().map(|m| m.entry("status").or_insert_with(|| json!({})));
        if let Some(Value::Object(st)) = status {
            let list = st.entry("storedVersions").or_insert_with(|| json!([]));
            if let Some(a) = list.as_array_mut()
                && !a.iter().any(|x| x == v.as_str())
            {
                a.push(v.into());
            }
        }
    }
}

/// The condition of a type, if any.
pub fn condition<'a>(crd: &'a Value, type_: &str) -> Option<&'a Value> {
    crd.pointer("/status/conditions").and_then(Value::as_array).and_then(|cs| cs.iter().find(|c| s(c, "type") == type_))
}

/// Whether a condition is `True`.
pub fn condition_true(crd: &Value, type_: &str) -> bool {
    condition(crd, type_).is_some_and(|c| s(c, "status") == "True")
}

/// `SetCRDCondition`: replace the condition of that type (keeping its transition time when
/// the status does not change).
pub fn set_condition(crd: &mut Value, type_: &str, status: &str, reason: &str, message: &str) {
    let now = meta::now_rfc3339();
    let Some(m) = crd.as_object_mut() else { return };
    let st = m.entry("status").or_insert_with(|| json!({}));
    if !st.is_object() {
        *st = json!({});
    }
    let conds = st.as_object_mut().map(|o| o.entry("conditions").or_insert_with(|| json!([])));
    let Some(Value::Array(conds)) = conds else { return };
    let mut new =
        json!({"type": type_, "status": status, "lastTransitionTime": now, "reason": reason, "message": message});
    if let Some(old) = conds.iter_mut().find(|c| c.get("type").and_then(Value::as_str) == Some(type_)) {
        if s(old, "status") == status {
            new["lastTransitionTime"] = old.get("lastTransitionTime").cloned().unwrap_or(Value::Null);
        }
        *old = new;
    } else {
        conds.push(new);
    }
}

/// The naming controller and the establishing controller in one step: accepted names
/// (requested names unless another CRD of the group holds them), `NamesAccepted`, and
/// `Established` once the names are accepted. `others` are the other CRDs.
pub fn settle_status(crd: &mut Value, others: &[Value]) {
    let group = crd.pointer("/spec/group").and_then(Value::as_str).unwrap_or("").to_string();
    let mut resources = std::collections::BTreeSet::new();
    let mut kinds = std::collections::BTreeSet::new();
    for o in others {
        if o.pointer("/spec/group").and_then(Value::as_str) != Some(group.as_str()) || meta::name(o) == meta::name(crd)
        {
            continue;
        }
        let an = o.pointer("/status/acceptedNames").cloned().unwrap_or_default();
        resources.insert(s(&an, "plural").to_string());
        resources.insert(s(&an, "singular").to_string());
        for sn in arr(&an, "shortNames") {
            resources.insert(sn.as_str().unwrap_or("").to_string());
        }
        kinds.insert(s(&an, "kind").to_string());
        kinds.insert(s(&an, "listKind").to_string());
    }
    let requested = crd.pointer("/spec/names").cloned().unwrap_or_default();
    let accepted = crd.pointer("/status/acceptedNames").cloned().unwrap_or_else(|| json!({}));
    let mut new_names = accepted.as_object().cloned().unwrap_or_default();
    let mut failure: Option<(&str, String)> = None;
    let fresh = |req: &str, acc: &str, used: &std::collections::BTreeSet<String>| -> Result<(), String> {
        if req == acc || !used.contains(req) { Ok(()) } else { Err(format!("{req:?} is already in use")) }
    };
    for (field, reason, set) in [("plural", "PluralConflict", &resources), ("singular", "SingularConflict", &resources)]
    {
        match fresh(s(&requested, field), s(&accepted, field), set) {
            Ok(()) => {
                new_names.insert(field.into(), s(&requested, field).into());
            }
            Err(e) => failure = Some((reason, e)),
        }
    }
    let req_short: Vec<&str> = arr(&requested, "shortNames").iter().filter_map(Value::as_str).collect();
    let acc_short: Vec<&str> = arr(&accepted, "shortNames").iter().filter_map(Value::as_str).collect();
    if req_short != acc_short {
        let errs: Vec<String> = req_short
            .iter()
            .filter(|sn| !acc_short.contains(sn))
            .filter_map(|sn| fresh(sn, "", &resources).err())
            .collect();
        if errs.is_empty() {
            if req_short.is_empty() {
                new_names.remove("shortNames");
            } else {
                new_names.insert("shortNames".into(), json!(req_short));
            }
        } else {
            let msg = if errs.len() == 1 { errs[0].clone() } else { format!("[{}]", errs.join(", ")) };
            failure = Some(("ShortNamesConflict", msg));
        }
    }
    for (field, reason) in [("kind", "KindConflict"), ("listKind", "ListKindConflict")] {
        match fresh(s(&requested, field), s(&accepted, field), &kinds) {
            Ok(()) => {
                new_names.insert(field.into(), s(&requested, field).into());
            }
            Err(e) => failure = Some((reason, e)),
        }
    }
    match requested.get("categories") {
        Some(c) if c.as_array().is_some_and(|a| !a.is_empty()) => {
            new_names.insert("categories".into(), c.clone());
        }
        _ => {
            new_names.remove("categories");
        }
    }
    if let Some(st) = crd.as_object_mut().map(|m| m.entry("status").or_insert_with(|| json!({}))) {
        st["acceptedNames"] = Value::Object(ordered_names(new_names));
    }
    match failure {
        Some((reason, message)) => {
            set_condition(crd, "NamesAccepted", "False", reason, &message);
            if !condition_true(crd, "Established") {
                set_condition(crd, "Established", "False", "NotAccepted", "not all names are accepted");
            }
        }
        None => {
            set_condition(crd, "NamesAccepted", "True", "NoConflicts", "no conflicts found");
            if !condition_true(crd, "Established") {
                set_condition(
                    crd,
                    "Established",
                    "True",
                    "InitialNamesAccepted",
                    "the initial names have been accepted",
                );
            }
        }
    }
}

fn ordered_names(m: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for k in ["plural", "singular", "shortNames", "kind", "listKind", "categories"] {
        if let Some(v) = m.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    out
}

// ------------------------------------------------------------------ validation

/// Where the per-version parts of the spec are reported (top level when identical).
struct Hoisted {
    schema: bool,
    subresources: bool,
    columns: bool,
    selectable: bool,
}

fn identical(versions: &[Value], field: &str) -> bool {
    let first = versions.first().and_then(|v| v.get(field));
    versions.iter().all(|v| v.get(field) == first)
}

fn dns1035(path: &str, v: &str) -> Vec<FieldError> {
    let msgs = names::is_dns1035_label(v);
    if msgs.is_empty() { vec![] } else { vec![FieldError::invalid(path, v, msgs.join(","))] }
}

/// A Go-syntax rendering of the versions (the bad value of `spec.versions` errors).
fn render_versions(versions: &[Value]) -> String {
    let items: Vec<String> = versions
        .iter()
        .map(|v| {
            format!(
                "apiextensions.CustomResourceDefinitionVersion{{Name:{:?}, Served:{}, Storage:{}, Deprecated:{}, DeprecationWarning:(*string)(nil), Schema:(*apiextensions.CustomResourceValidation)(nil), Subresources:(*apiextensions.CustomResourceSubresources)(nil), AdditionalPrinterColumns:[]apiextensions.CustomResourceColumnDefinition(nil), SelectableFields:[]apiextensions.SelectableField(nil)}}",
                s(v, "name"),
                v.get("served").and_then(Value::as_bool).unwrap_or(false),
                v.get("storage").and_then(Value::as_bool).unwrap_or(false),
                v.get("deprecated").and_then(Value::as_bool).unwrap_or(false),
            )
        })
        .collect();
    format!("[]apiextensions.CustomResourceDefinitionVersion{{{}}}", items.join(", "))
}

/// Validate a CRD on create (`old == None`) or update.
pub fn validate(crd: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let spec = crd.get("spec").cloned().unwrap_or_default();
    let group = s(&spec, "group");
    let plural = spec.pointer("/names/plural").and_then(Value::as_str).unwrap_or("");
    match old {
        None => {
            let rules = MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(false), builtin: false };
            errs.extend(validate_object_meta(crd, rules));
            let name = meta::name(crd);
            if !name.is_empty() && name != format!("{plural}.{group}") {
                errs.push(FieldError::invalid("metadata.name", name, r#"must be spec.names.plural+"."+spec.group"#));
            }
        }
        Some(old) => errs.extend(validate_object_meta_update(crd, old, false)),
    }
    errs.extend(validate_spec(&spec));
    if let Some(old) = old {
        let old_spec = old.get("spec").cloned().unwrap_or_default();
        if condition_true(old, "Established") {
            errs.extend(immutable(
                spec.get("scope").unwrap_or(&Value::Null),
                old_spec.get("scope").unwrap_or(&Value::Null),
                &Path::new("spec.scope"),
            ));
            errs.extend(immutable(
                spec.pointer("/names/kind").unwrap_or(&Value::Null),
                old_spec.pointer("/names/kind").unwrap_or(&Value::Null),
                &Path::new("spec.names.kind"),
            ));
        }
        errs.extend(immutable(
            spec.get("group").unwrap_or(&Value::Null),
            old_spec.get("group").unwrap_or(&Value::Null),
            &Path::new("spec.group"),
        ));
        errs.extend(immutable(
            spec.pointer("/names/plural").unwrap_or(&Value::Null),
            old_spec.pointer("/names/plural").unwrap_or(&Value::Null),
            &Path::new("spec.names.plural"),
        ));
    }
    let status = crd.get("status").cloned().unwrap_or_default();
    errs.extend(validate_names(status.get("acceptedNames").unwrap_or(&Value::Null), "status.acceptedNames"));
    errs.extend(validate_stored_versions(&status, arr(&spec, "versions")));
    if spec.get("preserveUnknownFields") == Some(&Value::Bool(true))
        && old.is_none_or(|o| o.pointer("/spec/preserveUnknownFields") != Some(&Value::Bool(true)))
    {
        errs.push(FieldError::invalid(
            "spec.preserveUnknownFields",
            true,
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        ));
    }
    errs
}

fn validate_stored_versions(status: &Value, versions: &[Value]) -> Vec<FieldError> {
    let stored: Vec<&str> = arr(status, "storedVersions").iter().filter_map(Value::as_str).collect();
    let render = || format!("[]string{{{}}}", stored.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", "));
    if stored.is_empty() {
        return vec![FieldError::invalid_rendered(
            "status.storedVersions",
            "[]string(nil)",
            "must have at least one stored version",
        )];
    }
    let mut errs = Vec::new();
    for v in versions {
        let name = s(v, "name");
        if v.get("storage") == Some(&Value::Bool(true)) && !stored.contains(&name) {
            errs.push(FieldError::invalid_rendered(
                "status.storedVersions",
                render(),
                format!("must have the storage version {name}"),
            ));
        }
    }
    for (i, sv) in stored.iter().enumerate() {
        if !versions.iter().any(|v| s(v, "name") == *sv) {
            errs.push(FieldError::invalid(
                format!("status.storedVersions[{i}]"),
                *sv,
                format!("missing from spec.versions; {sv} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in {sv} and removes {sv} from status.storedVersions"),
            ));
        }
    }
    errs
}

fn validate_spec(spec: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let group = s(spec, "group");
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else {
        let msgs = names::is_dns1123_subdomain(group);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid("spec.group", group, msgs.join(",")));
        } else if group.split('.').count() < 2 {
            errs.push(FieldError::invalid("spec.group", group, "should be a domain with at least one dot"));
        }
    }
    match s(spec, "scope") {
        "" => errs.push(FieldError::required("spec.scope", "")),
        "Cluster" | "Namespaced" => {}
        other => errs.push(FieldError::not_supported("spec.scope", other, &["Cluster", "Namespaced"])),
    }
    let versions = arr(spec, "versions");
    let hoist = Hoisted {
        schema: identical(versions, "schema"),
        subresources: identical(versions, "subresources"),
        columns: identical(versions, "additionalPrinterColumns"),
        selectable: identical(versions, "selectableFields"),
    };
    let has_defaults = versions.iter().any(|v| v.pointer("/schema/openAPIV3Schema").is_some_and(schema_has_default));
    if has_defaults && spec.get("preserveUnknownFields") == Some(&Value::Bool(true)) {
        errs.push(FieldError::invalid(
            "spec.preserveUnknownFields",
            true,
            "must be false in order to use defaults in the schema",
        ));
    }
    let any_status = versions.iter().any(|v| v.pointer("/subresources/status").is_some());
    let mut storage = 0;
    let mut seen = std::collections::BTreeSet::new();
    let mut unique = true;
    for (i, v) in versions.iter().enumerate() {
        let vp = format!("spec.versions[{i}]");
        if v.get("storage") == Some(&Value::Bool(true)) {
            storage += 1;
        }
        if !seen.insert(s(v, "name").to_string()) {
            unique = false;
        }
        errs.extend(dns1035(&format!("{vp}.name"), s(v, "name")));
        if v.pointer("/schema/openAPIV3Schema").is_none() {
            errs.push(FieldError::required(format!("{vp}.schema.openAPIV3Schema"), "schemas are required"));
        }
        errs.extend(validate_version(v, &vp, &hoist));
    }
    if hoist.schema
        && let Some(schema) = versions.first().and_then(|v| v.pointer("/schema/openAPIV3Schema"))
    {
        errs.extend(validate_schema(schema, any_status, "spec.validation"));
    }
    if hoist.subresources
        && let Some(sub) = versions.first().and_then(|v| v.get("subresources"))
    {
        errs.extend(validate_subresources(sub, "spec.subresources"));
    }
    if hoist.columns {
        for (i, c) in versions.first().map(|v| arr(v, "additionalPrinterColumns")).unwrap_or(&[]).iter().enumerate() {
            errs.extend(validate_column(c, &format!("spec.additionalPrinterColumns[{i}]")));
        }
    }
    if hoist.selectable
        && let Some(v) = versions.first()
    {
        errs.extend(validate_selectable(v, "spec.selectableFields"));
    }
    if !unique {
        errs.push(FieldError::invalid_rendered(
            "spec.versions",
            render_versions(versions),
            "must contain unique version names",
        ));
    }
    if storage != 1 {
        errs.push(FieldError::invalid_rendered(
            "spec.versions",
            render_versions(versions),
            "must have exactly one version marked as storage version",
        ));
    }
    if let Some(first) = versions.first() {
        errs.extend(dns1035("spec.version", s(first, "name")));
    }
    let names = spec.get("names").cloned().unwrap_or_default();
    for f in ["plural", "singular", "kind", "listKind"] {
        if s(&names, f).is_empty() {
            errs.push(FieldError::required(format!("spec.names.{f}"), ""));
        }
    }
    errs.extend(validate_names(&names, "spec.names"));
    let conversion = spec.get("conversion").cloned().unwrap_or_default();
    if !conversion.is_null()
        && s(&conversion, "strategy") != "None"
        && spec.get("preserveUnknownFields") == Some(&Value::Bool(true))
    {
        errs.push(FieldError::invalid(
            "spec.conversion.strategy",
            s(&conversion, "strategy"),
            "must be None if spec.preserveUnknownFields is true",
        ));
    }
    errs.extend(validate_conversion(&conversion));
    errs
}

fn schema_has_default(v: &Value) -> bool {
    match v {
        Value::Object(m) => {
            m.get("default").is_some_and(|d| !d.is_null())
                || m.iter().any(|(k, c)| k != "default" && k != "enum" && k != "example" && schema_has_default(c))
        }
        Value::Array(a) => a.iter().any(schema_has_default),
        _ => false,
    }
}

fn validate_version(v: &Value, vp: &str, hoist: &Hoisted) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let deprecated = v.get("deprecated") == Some(&Value::Bool(true));
    if let Some(w) = v.get("deprecationWarning").and_then(Value::as_str) {
        let p = format!("{vp}.deprecationWarning");
        if !deprecated {
            errs.push(FieldError::invalid(&p, w, "can only be set for deprecated versions"));
        } else {
            if w.len() > 256 {
                errs.push(FieldError::invalid(&p, w, "must be <= 256 characters long"));
            }
            if w.is_empty() {
                errs.push(FieldError::invalid(&p, w, "must not be an empty string"));
            }
            if let Some(i) = w.char_indices().find(|(_, c)| c.is_control()).map(|(i, _)| i) {
                errs.push(FieldError::invalid(
                    &p,
                    w,
                    format!("must only contain printable UTF-8 characters; non-printable character found at index {i}"),
                ));
            }
        }
    }
    let has_status = v.pointer("/subresources/status").is_some();
    if !hoist.schema
        && let Some(schema) = v.pointer("/schema/openAPIV3Schema")
    {
        errs.extend(validate_schema(schema, has_status, &format!("{vp}.schema")));
    }
    if !hoist.subresources
        && let Some(sub) = v.get("subresources")
    {
        errs.extend(validate_subresources(sub, &format!("{vp}.subresources")));
    }
    if !hoist.columns {
        for (i, c) in arr(v, "additionalPrinterColumns").iter().enumerate() {
            errs.extend(validate_column(c, &format!("{vp}.additionalPrinterColumns[{i}]")));
        }
    }
    if !hoist.selectable {
        errs.extend(validate_selectable(v, &format!("{vp}.selectableFields")));
    }
    errs
}

fn validate_selectable(v: &Value, path: &str) -> Vec<FieldError> {
    let fields = arr(v, "selectableFields");
    if fields.is_empty() {
        return vec![];
    }
    let Some(schema) = v.pointer("/schema/openAPIV3Schema") else {
        return vec![FieldError::invalid(
            path,
            "",
            "selectableFields may only be set when version.schema.openAPIV3Schema is not included",
        )];
    };
    let compiled = Schema::from_value(schema);
    let mut errs = Vec::new();
    let mut unique = std::collections::BTreeSet::new();
    for (i, f) in fields.iter().enumerate() {
        let jp = s(f, "jsonPath");
        let p = format!("{path}[{i}].jsonPath");
        if jp.is_empty() {
            errs.push(FieldError::required(p, ""));
            continue;
        }
        match field_path_schema(&compiled, jp) {
            Err(e) => errs.push(FieldError::invalid(&p, jp, format!("is an invalid path: {e}"))),
            Ok((root, target)) => {
                if root == "metadata" {
                    errs.push(FieldError::invalid(&p, jp, "must not point to fields in metadata"));
                }
                if !matches!(target.type_.as_str(), "string" | "boolean" | "integer") {
                    errs.push(FieldError::invalid(
                        &p,
                        jp,
                        "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
                    ));
                }
                if !unique.insert(jp.to_string()) {
                    errs.push(FieldError::duplicate(&p, jp));
                }
            }
        }
    }
    if unique.len() > 8 {
        errs.push(FieldError::too_many(path, unique.len(), 8));
    }
    errs
}

/// Follow a simple `.a.b` path through a schema (`ValidFieldPath` without array notation).
pub fn field_path_schema<'a>(schema: &'a Schema, path: &str) -> Result<(String, &'a Schema), String> {
    let rest = path
        .strip_prefix('.')
        .ok_or_else(|| format!("expected [ or . but got: {}", path.chars().next().unwrap_or(' ')))?;
    let mut cur = schema;
    let mut root = String::new();
    for (i, part) in rest.split('.').enumerate() {
        if part.contains('[') {
            return Err("array notation is not allowed".into());
        }
        if i == 0 {
            root = part.to_string();
        }
        cur = cur.properties.get(part).ok_or("does not refer to a valid field")?;
    }
    Ok((root, cur))
}

fn validate_names(names: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if names.is_null() {
        return errs;
    }
    for f in ["plural", "singular"] {
        let v = s(names, f);
        if !v.is_empty() {
            errs.extend(dns1035(&format!("{path}.{f}"), v));
        }
    }
    for f in ["kind", "listKind"] {
        let v = s(names, f);
        let msgs = names::is_dns1035_label(&v.to_lowercase());
        if !v.is_empty() && !msgs.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.{f}"),
                v,
                format!("may have mixed case, but should otherwise match: {}", msgs.join(",")),
            ));
        }
    }
    for (i, sn) in arr(names, "shortNames").iter().enumerate() {
        errs.extend(dns1035(&format!("{path}.shortNames[{i}]"), sn.as_str().unwrap_or("")));
    }
    let kind = s(names, "kind");
    if !kind.is_empty() && kind == s(names, "listKind") {
        errs.push(FieldError::invalid(format!("{path}.listKind"), kind, "kind and listKind may not be the same"));
    }
    for (i, c) in arr(names, "categories").iter().enumerate() {
        errs.extend(dns1035(&format!("{path}.categories[{i}]"), c.as_str().unwrap_or("")));
    }
    errs
}

fn validate_column(c: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    const TYPES: &str = "boolean,date,integer,number,string";
    const FORMATS: &str = "byte,date,date-time,double,float,int32,int64,password";
    if s(c, "name").is_empty() {
        errs.push(FieldError::required(format!("{path}.name"), ""));
    }
    match s(c, "type") {
        "" => errs.push(FieldError::required(format!("{path}.type"), format!("must be one of {TYPES}"))),
        t if !TYPES.split(',').any(|x| x == t) => {
            errs.push(FieldError::invalid(format!("{path}.type"), t, format!("must be one of {TYPES}")))
        }
        _ => {}
    }
    let f = s(c, "format");
    if !f.is_empty() && !FORMATS.split(',').any(|x| x == f) {
        errs.push(FieldError::invalid(format!("{path}.format"), f, format!("must be one of {FORMATS}")));
    }
    let jp = s(c, "jsonPath");
    if jp.is_empty() {
        errs.push(FieldError::required(format!("{path}.JSONPath"), ""));
    } else {
        errs.extend(simple_json_path(jp, &format!("{path}.JSONPath")));
    }
    errs
}

fn simple_json_path(p: &str, path: &str) -> Vec<FieldError> {
    if p.is_empty() {
        vec![FieldError::invalid(path, p, "must not be empty")]
    } else if !p.starts_with('.') {
        vec![FieldError::invalid(path, p, "must be a simple json path starting with .")]
    } else {
        vec![]
    }
}

fn validate_subresources(sub: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(scale) = sub.get("scale").filter(|s| s.is_object()) else { return errs };
    for (f, prefix, what) in [("specReplicasPath", ".spec.", ".spec"), ("statusReplicasPath", ".status.", ".status")] {
        let p = format!("{path}.scale.{f}");
        let v = s(scale, f);
        if v.is_empty() {
            errs.push(FieldError::required(p, ""));
        } else {
            let e = simple_json_path(v, &p);
            if !e.is_empty() {
                errs.extend(e);
            } else if !v.starts_with(prefix) {
                errs.push(FieldError::invalid(p, v, format!("should be a json path under {what}")));
            }
        }
    }
    let ls = s(scale, "labelSelectorPath");
    if !ls.is_empty() {
        let p = format!("{path}.scale.labelSelectorPath");
        let e = simple_json_path(ls, &p);
        if !e.is_empty() {
            errs.extend(e);
        } else if !ls.starts_with(".spec.") && !ls.starts_with(".status.") {
            errs.push(FieldError::invalid(p, ls, "should be a json path under either .spec or .status"));
        }
    }
    errs
}

fn validate_conversion(c: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if c.is_null() {
        return errs;
    }
    let p = "spec.conversion";
    match s(c, "strategy") {
        "" => errs.push(FieldError::required(format!("{p}.strategy"), "")),
        "None" | "Webhook" => {}
        other => errs.push(FieldError::not_supported(format!("{p}.strategy"), other, &["None", "Webhook"])),
    }
    let webhook = c.get("webhook").filter(|w| !w.is_null());
    let cc = webhook.and_then(|w| w.get("clientConfig")).filter(|w| !w.is_null());
    let review = webhook.map(|w| arr(w, "conversionReviewVersions")).unwrap_or(&[]);
    if s(c, "strategy") == "Webhook" {
        match cc {
            None => errs.push(FieldError::required(
                format!("{p}.webhookClientConfig"),
                "required when strategy is set to Webhook",
            )),
            Some(cc) => {
                let url = cc.get("url").and_then(Value::as_str);
                let svc = cc.get("service").filter(|v| !v.is_null());
                match (url, svc) {
                    (Some(_), Some(_)) | (None, None) => errs.push(FieldError::required(
                        format!("{p}.webhookClientConfig"),
                        "exactly one of url or service is required",
                    )),
                    (Some(u), None) => errs.extend(validate_webhook_url(u, &format!("{p}.webhookClientConfig.url"))),
                    (None, Some(svc)) => {
                        let sp = format!("{p}.webhookClientConfig.service");
                        if s(svc, "name").is_empty() {
                            errs.push(FieldError::required(format!("{sp}.name"), "service name is required"));
                        }
                        if s(svc, "namespace").is_empty() {
                            errs.push(FieldError::required(format!("{sp}.namespace"), "service namespace is required"));
                        }
                        if let Some(port) = svc.get("port").and_then(Value::as_i64)
                            && !(1..=65535).contains(&port)
                        {
                            errs.push(FieldError::invalid(
                                format!("{sp}.port"),
                                port,
                                "port is not valid: must be between 1 and 65535, inclusive",
                            ));
                        }
                        let path = s(svc, "path");
                        if !path.is_empty() && !path.starts_with('/') {
                            errs.push(FieldError::invalid(format!("{sp}.path"), path, "must start with a '/'"));
                        }
                    }
                }
            }
        }
        let rp = format!("{p}.conversionReviewVersions");
        if review.is_empty() {
            errs.push(FieldError::required(rp, ""));
        } else {
            let mut seen = std::collections::BTreeSet::new();
            let mut accepted = false;
            for (i, v) in review.iter().enumerate() {
                let v = v.as_str().unwrap_or("");
                if !seen.insert(v) {
                    errs.push(FieldError::invalid(format!("{rp}[{i}]"), v, "duplicate version"));
                    continue;
                }
                for m in names::is_dns1035_label(v) {
                    errs.push(FieldError::invalid(format!("{rp}[{i}]"), v, m));
                }
                accepted |= v == "v1" || v == "v1beta1";
            }
            if !accepted {
                let rendered = format!(
                    "[]string{{{}}}",
                    review.iter().map(|v| format!("{:?}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(", ")
                );
                errs.push(FieldError::invalid_rendered(rp, rendered, "must include at least one of v1, v1beta1"));
            }
        }
    } else {
        if cc.is_some() {
            errs.push(FieldError::forbidden(
                format!("{p}.webhookClientConfig"),
                "should not be set when strategy is not set to Webhook",
            ));
        }
        if !review.is_empty() {
            errs.push(FieldError::forbidden(
                format!("{p}.conversionReviewVersions"),
                "should not be set when strategy is not set to Webhook",
            ));
        }
    }
    errs
}

fn validate_webhook_url(u: &str, path: &str) -> Vec<FieldError> {
    const FORM: &str = "; desired format: https://host[/path]";
    let mut errs = Vec::new();
    let Ok(url) = u.parse::<http::Uri>() else {
        return vec![FieldError::required(path, format!("url must be a valid URL: parse {u:?}: invalid URI{FORM}"))];
    };
    let scheme = url.scheme_str().unwrap_or("");
    if scheme != "https" {
        errs.push(FieldError::invalid(path, scheme, format!("'https' is the only allowed URL scheme{FORM}")));
    }
    let host = url.host().unwrap_or("");
    if host.is_empty() {
        errs.push(FieldError::invalid(path, host, format!("host must be specified{FORM}")));
    }
    if url.authority().is_some_and(|a| a.as_str().contains('@')) {
        let user = url.authority().map(|a| a.as_str().split('@').next().unwrap_or("").to_string()).unwrap_or_default();
        errs.push(FieldError::invalid(path, user, "user information is not permitted in the URL"));
    }
    if let Some(q) = url.query() {
        errs.push(FieldError::invalid(path, q, "query parameters are not permitted in the URL"));
    }
    if let Some((_, frag)) = u.split_once('#') {
        errs.push(FieldError::invalid(path, frag, "fragments are not permitted in the URL"));
    }
    errs
}

/// Fields of JSONSchemaProps a root schema may have when the status subresource is on.
const ALLOWED_AT_ROOT: &[&str] = &[
    "description",
    "type",
    "format",
    "title",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "required",
    "items",
    "properties",
    "externalDocs",
    "example",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-validations",
];

const ALLOWED_AT_ROOT_GO: &str = "[Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations]";

/// `validateCustomResourceDefinitionValidation` of one schema (`path` is `spec.validation`
/// or `spec.versions[i].schema`).
pub fn validate_schema(schema: &Value, status_enabled: bool, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let root = format!("{path}.openAPIV3Schema");
    let Some(m) = schema.as_object() else { return errs };
    if status_enabled {
        for (k, v) in m {
            let zero = match v {
                Value::Null => true,
                Value::Bool(b) => !b,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                Value::Number(_) => false,
            };
            if zero {
                continue;
            }
            if k == "type" {
                if v != "object" {
                    errs.push(FieldError::invalid(
                        format!("{root}.type"),
                        v.clone(),
                        r#"only "object" is allowed as the type at the root of the schema if the status subresource is enabled"#,
                    ));
                    break;
                }
                continue;
            }
            if !ALLOWED_AT_ROOT.contains(&k.as_str()) {
                errs.push(FieldError::invalid_rendered(
                    &root,
                    "apiextensions.JSONSchemaProps{...}",
                    format!("only {ALLOWED_AT_ROOT_GO} fields are allowed at the root of the schema if the status subresource is enabled"),
                ));
                break;
            }
        }
    }
    if m.get("nullable") == Some(&Value::Bool(true)) {
        errs.push(FieldError::forbidden(format!("{root}.nullable"), "nullable cannot be true at the root"));
    }
    let structural = validate_structural(schema, &root);
    let structural_ok = structural.is_empty();
    errs.extend(structural);
    if structural_ok {
        errs.extend(validate_defaults(schema, &root));
    }
    let mut schema_errs = Vec::new();
    openapi_schema(schema, &root, Ctx { root: true, ..Ctx::default() }, &mut schema_errs);
    let schema_ok = schema_errs.is_empty();
    errs.extend(schema_errs);
    if structural_ok && schema_ok {
        errs.extend(crate::cel::validate_schema_rules(schema, &root));
    }
    errs
}

/// Defaults must validate against their schema and carry no unknown fields.
fn validate_defaults(schema: &Value, root: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    walk_defaults(schema, root, true, &mut errs);
    errs
}

fn walk_defaults(v: &Value, path: &str, is_root: bool, errs: &mut Vec<FieldError>) {
    let Some(m) = v.as_object() else { return };
    if let Some(d) = m.get("default").filter(|d| !d.is_null()) {
        let compiled = Schema::from_value(v);
        let mut pruned = d.clone();
        let unknown = super::prune::prune(&mut pruned, Some(&compiled), false);
        let dp = format!("{path}.default");
        if !unknown.is_empty() {
            errs.push(FieldError::invalid(
                &dp,
                d.clone(),
                format!("must not have unknown fields: {}", unknown.join(", ")),
            ));
        }
        let mut check = d.clone();
        super::prune::default(&mut check, Some(&compiled));
        errs.extend(super::validate::validate(&compiled, &check, Some(&dp)));
    }
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            if is_root && (k == "metadata" || k == "apiVersion" || k == "kind") {
                continue;
            }
            walk_defaults(p, &format!("{path}.properties[{k}]"), false, errs);
        }
    }
    if let Some(items) = m.get("items") {
        walk_defaults(items, &format!("{path}.items"), false, errs);
    }
    if let Some(add) = m.get("additionalProperties").filter(|a| a.is_object()) {
        walk_defaults(add, &format!("{path}.additionalProperties"), false, errs);
    }
}

#[derive(Clone, Default)]
struct Ctx {
    root: bool,
    inside_meta: bool,
    forbid_defaults: Option<String>,
}

const OPENAPI_TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];

/// `ValidateCustomResourceDefinitionOpenAPISchema` (without CEL, checked separately).
fn openapi_schema(v: &Value, path: &str, ctx: Ctx, errs: &mut Vec<FieldError>) {
    let Some(m) = v.as_object() else { return };
    let type_ = m.get("type").and_then(Value::as_str).unwrap_or("");
    if !type_.is_empty() && !OPENAPI_TYPES.contains(&type_) {
        errs.push(FieldError::not_supported(format!("{path}.type"), type_, OPENAPI_TYPES));
    }
    if m.get("default").is_some_and(|d| !d.is_null())
        && let Some(reason) = &ctx.forbid_defaults
    {
        let detail =
            if reason.is_empty() { "must not be set".to_string() } else { format!("must not be set {reason}") };
        errs.push(FieldError::forbidden(format!("{path}.default"), detail));
    }
    for (f, what) in [
        ("id", "id is not supported"),
        ("additionalItems", "additionalItems is not supported"),
        ("patternProperties", "patternProperties is not supported"),
        ("definitions", "definitions is not supported"),
        ("dependencies", "dependencies is not supported"),
        ("$ref", "$ref is not supported"),
    ] {
        if m.get(f).is_some_and(|x| !x.is_null() && x != "") {
            errs.push(FieldError::forbidden(format!("{path}.{f}"), what));
        }
    }
    if type_ == "null" {
        errs.push(FieldError::forbidden(
            format!("{path}.type"),
            "type cannot be set to null, use nullable as an alternative",
        ));
    }
    if m.get("items").is_some_and(Value::is_array) {
        errs.push(FieldError::forbidden(format!("{path}.items"), "items must be a schema object and not an array"));
    }
    if ctx.inside_meta && m.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true)) {
        errs.push(FieldError::forbidden(
            format!("{path}.x-kubernetes-embedded-resource"),
            "must not be used inside of resource meta",
        ));
    }
    if m.get("uniqueItems") == Some(&Value::Bool(true)) {
        errs.push(FieldError::forbidden(
            format!("{path}.uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    let props = m.get("properties").and_then(Value::as_object).filter(|p| !p.is_empty());
    if let Some(add) = m.get("additionalProperties") {
        if props.is_some() && (add == &Value::Bool(false) || add.is_object()) {
            errs.push(FieldError::forbidden(
                format!("{path}.additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        let mut sub = ctx.clone();
        sub.root = false;
        if ctx.inside_meta {
            sub.forbid_defaults = Some("inside additionalProperties applying to object metadata".into());
        }
        openapi_schema(add, &format!("{path}.additionalProperties"), sub, errs);
    }
    let embedded = m.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true));
    if let Some(props) = props {
        for (k, p) in props {
            let mut sub = ctx.clone();
            sub.root = false;
            if (ctx.root || embedded) && matches!(k.as_str(), "metadata" | "kind" | "apiVersion") {
                sub.inside_meta = true;
                if ctx.root {
                    sub.forbid_defaults = Some(format!("in top-level {k}"));
                }
            }
            openapi_schema(p, &format!("{path}.properties[{k}]"), sub, errs);
        }
    }
    let plain = Ctx { root: false, ..ctx.clone() };
    if let Some(n) = m.get("not") {
        openapi_schema(n, &format!("{path}.not"), plain.clone(), errs);
    }
    for j in ["allOf", "oneOf", "anyOf"] {
        for (i, n) in m.get(j).and_then(Value::as_array).into_iter().flatten().enumerate() {
            openapi_schema(n, &format!("{path}.{j}[{i}]"), plain.clone(), errs);
        }
    }
    if let Some(items) = m.get("items").filter(|i| i.is_object()) {
        openapi_schema(items, &format!("{path}.items"), plain.clone(), errs);
    }
    if m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        errs.push(FieldError::invalid(
            format!("{path}.x-kubernetes-preserve-unknown-fields"),
            false,
            "must be true or undefined",
        ));
    }
    let map_type = m.get("x-kubernetes-map-type").and_then(Value::as_str);
    if map_type.is_some() && type_ != "object" {
        if type_.is_empty() {
            errs.push(FieldError::required(
                format!("{path}.type"),
                "must be object if x-kubernetes-map-type is specified",
            ));
        } else {
            errs.push(FieldError::invalid(
                format!("{path}.type"),
                type_,
                "must be object if x-kubernetes-map-type is specified",
            ));
        }
    }
    if let Some(mt) = map_type
        && mt != "atomic"
        && mt != "granular"
    {
        errs.push(FieldError::not_supported(format!("{path}.x-kubernetes-map-type"), mt, &["atomic", "granular"]));
    }
    let list_type = m.get("x-kubernetes-list-type").and_then(Value::as_str);
    let items = m.get("items").and_then(Value::as_object);
    if list_type.is_some() && type_ != "array" {
        if type_.is_empty() {
            errs.push(FieldError::required(
                format!("{path}.type"),
                "must be array if x-kubernetes-list-type is specified",
            ));
        } else {
            errs.push(FieldError::invalid(
                format!("{path}.type"),
                type_,
                "must be array if x-kubernetes-list-type is specified",
            ));
        }
    } else if list_type == Some("set")
        && let Some(is) = items
    {
        match is.get("type").and_then(Value::as_str) {
            Some("array")
                if is.get("x-kubernetes-list-type").and_then(Value::as_str).is_some_and(|t| t != "atomic") =>
            {
                errs.push(FieldError::invalid(
                    format!("{path}.items.x-kubernetes-list-type"),
                    is.get("x-kubernetes-list-type").cloned().unwrap_or_default(),
                    "must be atomic as item of a list with x-kubernetes-list-type=set",
                ));
            }
            Some("object") if is.get("x-kubernetes-map-type").and_then(Value::as_str) != Some("atomic") => {
                errs.push(FieldError::invalid(
                    format!("{path}.items.x-kubernetes-map-type"),
                    "null",
                    "must be atomic as item of a list with x-kubernetes-list-type=set",
                ));
            }
            _ => {}
        }
    }
    if let Some(lt) = list_type
        && !matches!(lt, "atomic" | "set" | "map")
    {
        errs.push(FieldError::not_supported(format!("{path}.x-kubernetes-list-type"), lt, &["atomic", "set", "map"]));
    }
    let keys: Vec<&str> = m
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let render_keys =
        || format!("[]string{{{}}}", keys.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", "));
    if !keys.is_empty() {
        match list_type {
            None => errs.push(FieldError::required(
                format!("{path}.x-kubernetes-list-type"),
                "must be map if x-kubernetes-list-map-keys is non-empty",
            )),
            Some(lt) if lt != "map" => errs.push(FieldError::invalid(
                format!("{path}.x-kubernetes-list-type"),
                lt,
                "must be map if x-kubernetes-list-map-keys is non-empty",
            )),
            _ => {}
        }
    }
    if list_type == Some("map") {
        if keys.is_empty() {
            errs.push(FieldError::required(
                format!("{path}.x-kubernetes-list-map-keys"),
                "must not be empty if x-kubernetes-list-type is map",
            ));
        }
        match items {
            None => errs.push(FieldError::required(
                format!("{path}.items"),
                "must have a schema if x-kubernetes-list-type is map",
            )),
            Some(is) if is.get("type").and_then(Value::as_str) != Some("object") => errs.push(FieldError::invalid(
                format!("{path}.items.type"),
                is.get("type").cloned().unwrap_or(Value::String(String::new())),
                "must be object if parent array's x-kubernetes-list-type is map",
            )),
            Some(is) => {
                let iprops = is.get("properties").and_then(Value::as_object);
                let mut seen = std::collections::BTreeSet::new();
                for k in &keys {
                    match iprops.and_then(|p| p.get(*k)) {
                        Some(p) => {
                            let t = p.get("type").and_then(Value::as_str).unwrap_or("");
                            if t == "array" || t == "object" {
                                errs.push(FieldError::invalid(
                                    format!("{path}.items.properties[{k}].type"),
                                    "object",
                                    "must be a scalar type if parent array's x-kubernetes-list-type is map",
                                ));
                            }
                        }
                        None => errs.push(FieldError::invalid_rendered(
                            format!("{path}.x-kubernetes-list-map-keys"),
                            render_keys(),
                            "entries must all be names of item properties",
                        )),
                    }
                    if !seen.insert(*k) {
                        errs.push(FieldError::invalid_rendered(
                            format!("{path}.x-kubernetes-list-map-keys"),
                            render_keys(),
                            "must not contain duplicate entries",
                        ));
                    }
                }
            }
        }
    }
    // validateMapListKeysMapSet
    if let (Some(lt @ ("set" | "map")), Some(is)) = (list_type, items) {
        if is.get("nullable") == Some(&Value::Bool(true)) {
            errs.push(FieldError::forbidden(
                format!("{path}.items.nullable"),
                format!("cannot be nullable when x-kubernetes-list-type is {lt}"),
            ));
        }
        if lt == "map" {
            let required: Vec<&str> = is
                .get("required")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for k in &keys {
                let Some(p) = is.get("properties").and_then(|p| p.get(*k)) else { continue };
                if !required.contains(k) && p.get("default").is_none_or(Value::is_null) {
                    errs.push(FieldError::required(
                        format!("{path}.items.properties[{k}].default"),
                        "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                    ));
                }
                if p.get("nullable") == Some(&Value::Bool(true)) {
                    errs.push(FieldError::forbidden(
                        format!("{path}.items.properties[{k}].nullable"),
                        "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                    ));
                }
            }
        }
    }
    for (i, rule) in m.get("x-kubernetes-validations").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let rp = format!("{path}.x-kubernetes-validations[{i}]");
        let r = s(rule, "rule").trim();
        let msg = s(rule, "message");
        if r.is_empty() {
            errs.push(FieldError::required(format!("{rp}.rule"), "rule is not specified"));
        } else if !msg.is_empty() && msg.trim().is_empty() {
            errs.push(FieldError::invalid(format!("{rp}.message"), msg, "message must be non-empty if specified"));
        } else if msg.trim().contains(['\n', '\r']) {
            errs.push(FieldError::invalid(format!("{rp}.message"), msg, "message must not contain line breaks"));
        } else if r.contains(['\n', '\r']) && msg.trim().is_empty() {
            errs.push(FieldError::required(
                format!("{rp}.message"),
                "message must be specified if rule contains line breaks",
            ));
        }
        let me = s(rule, "messageExpression");
        if !me.is_empty() && me.trim().is_empty() {
            errs.push(FieldError::required(
                format!("{rp}.messageExpression"),
                "messageExpression must be non-empty if specified",
            ));
        }
        if let Some(reason) = rule.get("reason").and_then(Value::as_str)
            && !matches!(
                reason,
                "FieldValueDuplicate" | "FieldValueForbidden" | "FieldValueInvalid" | "FieldValueRequired"
            )
        {
            errs.push(FieldError::not_supported(
                format!("{rp}.reason"),
                reason,
                &["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"],
            ));
        }
        let fp = s(rule, "fieldPath");
        if !fp.is_empty() {
            if fp.trim().is_empty() {
                errs.push(FieldError::invalid(
                    format!("{rp}.fieldPath"),
                    fp,
                    "fieldPath must be non-empty if specified",
                ));
            } else if fp.contains(['\n', '\r']) {
                errs.push(FieldError::invalid(format!("{rp}.fieldPath"), fp, "fieldPath must not contain line breaks"));
            } else if crate::cel::rule_field_path(&Schema::from_value(v), fp).is_err() {
                errs.push(FieldError::invalid(format!("{rp}.fieldPath"), fp, "fieldPath must be a valid path"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object",
                        "properties": {"size": {"type": "integer"}}}}}}}]}
        })
    }

    fn errs(v: &Value) -> Vec<String> {
        validate(v, None).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_good_crd() {
        let mut c = crd();
        apply_defaults(&mut c);
        prepare_for_create(&mut c);
        assert_eq!(c["spec"]["names"]["singular"], "widget");
        assert_eq!(c["spec"]["names"]["listKind"], "WidgetList");
        assert_eq!(c["status"]["storedVersions"], json!(["v1"]));
        assert_eq!(errs(&c), Vec::<String>::new());
        settle_status(&mut c, &[]);
        assert!(condition_true(&c, "Established") && condition_true(&c, "NamesAccepted"));
        assert_eq!(c["status"]["acceptedNames"]["shortNames"], json!(["wd"]));
    }

    #[test]
    fn bad_names_and_groups() {
        let mut c = crd();
        c["metadata"]["name"] = "widgets.other.com".into();
        c["spec"]["group"] = "example".into();
        c["spec"]["names"]["kind"] = "Widget!".into();
        apply_defaults(&mut c);
        prepare_for_create(&mut c);
        let e = errs(&c);
        assert!(
            e.contains(
                &r#"metadata.name: Invalid value: "widgets.other.com": must be spec.names.plural+"."+spec.group"#
                    .to_string()
            ),
            "{e:?}"
        );
        assert!(
            e.contains(
                &r#"spec.group: Invalid value: "example": should be a domain with at least one dot"#.to_string()
            ),
            "{e:?}"
        );
        assert!(e.iter().any(|m| m.starts_with(r#"spec.names.kind: Invalid value: "Widget!": may have mixed case, but should otherwise match: a DNS-1035 label"#)), "{e:?}");
    }

    #[test]
    fn storage_and_structural() {
        let mut c = crd();
        c["spec"]["versions"][0]["storage"] = false.into();
        c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] = json!({"properties": {}});
        apply_defaults(&mut c);
        c["status"] = json!({"storedVersions": ["v1"]});
        let e = errs(&c);
        assert!(e.iter().any(|m| m.ends_with("must have exactly one version marked as storage version")), "{e:?}");
        assert!(e.contains(&"spec.validation.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields".to_string()), "{e:?}");
    }

    #[test]
    fn naming_conflicts() {
        let mut a = crd();
        apply_defaults(&mut a);
        settle_status(&mut a, &[]);
        let mut b = crd();
        b["metadata"]["name"] = "gadgets.example.com".into();
        b["spec"]["names"] =
            json!({"plural": "gadgets", "kind": "Widget", "singular": "gadget", "listKind": "GadgetList"});
        settle_status(&mut b, &[a]);
        let c = condition(&b, "NamesAccepted").unwrap();
        assert_eq!(c["reason"], "KindConflict");
        assert_eq!(c["message"], r#""Widget" is already in use"#);
        assert!(!condition_true(&b, "Established"));
    }
}
