//! Helpers the printers share: reading JSON objects the way the printers read Go structs
//! (absent means zero), ages, and the formatting functions of apimachinery and the printers.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value};

use crate::registry::selector::LabelSelector;

/// What a printer needs besides the object: the time ages are measured from.
pub(super) struct Ctx {
    pub now: Timestamp,
}

impl Ctx {
    /// `translateTimestampSince`: the age of a timestamp, `<unknown>` when it is unset.
    pub fn since(&self, v: Option<&Value>) -> String {
        match parse_time(v) {
            Some(t) => self.since_ts(t),
            None => "<unknown>".to_string(),
        }
    }

    pub fn since_ts(&self, t: Timestamp) -> String {
        human_nanos(self.now.duration_since(t))
    }

    /// The AGE cell: the age of `metadata.creationTimestamp`.
    pub fn age(&self, obj: &Value) -> String {
        self.since(at(obj, &["metadata", "creationTimestamp"]))
    }
}

/// Parse a `metav1.Time`/`MicroTime`; `None` when absent, null, invalid or Go's zero time.
pub(super) fn parse_time(v: Option<&Value>) -> Option<Timestamp> {
    let t: Timestamp = v?.as_str()?.parse().ok()?;
    (t != go_zero_time()).then_some(t)
}

/// `time.Time{}`: 0001-01-01T00:00:00Z.
fn go_zero_time() -> Timestamp {
    Timestamp::from_second(-62_135_596_800).unwrap_or(Timestamp::MIN)
}

/// A timestamp as `time.RFC3339` in UTC (whole seconds), Go's zero time when unset.
pub(super) fn rfc3339(v: Option<&Value>) -> String {
    let t = parse_time(v).unwrap_or_else(go_zero_time);
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `duration.HumanDuration` of apimachinery, for a std duration.
pub fn human_duration(d: std::time::Duration) -> String {
    human_nanos(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
}

/// `duration.HumanDuration`: a succinct duration with about two significant figures.
pub(super) fn human_nanos(d: SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 { format!("{minutes}m") } else { format!("{minutes}m{s}s") };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{h}h", hours / 24) };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 { format!("{}y", hours / 24 / 365) } else { format!("{}y{dy}d", hours / 24 / 365) };
    }
    format!("{}y", hours / 24 / 365)
}

// ----- reading objects -----

/// The value at a path, `None` when absent or null.
pub(super) fn at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, k| v.get(k)).filter(|v| !v.is_null())
}

/// A string field, `""` when absent.
pub(super) fn s<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    at(obj, path).and_then(Value::as_str).unwrap_or("")
}

/// An integer field, `0` when absent.
pub(super) fn int(obj: &Value, path: &[&str]) -> i64 {
    at(obj, path).map(as_int).unwrap_or(0)
}

/// An integer value (floats truncated, as a Go int conversion would).
pub(super) fn as_int(v: &Value) -> i64 {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)).unwrap_or(0)
}

/// A boolean field, `false` when absent.
pub(super) fn boolean(obj: &Value, path: &[&str]) -> bool {
    at(obj, path).and_then(Value::as_bool).unwrap_or(false)
}

/// An array field, empty when absent.
pub(super) fn arr<'a>(obj: &'a Value, path: &[&str]) -> &'a [Value] {
    at(obj, path).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// A map field.
pub(super) fn map<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Map<String, Value>> {
    at(obj, path).and_then(Value::as_object)
}

/// `metadata.name`.
pub(super) fn name(obj: &Value) -> String {
    s(obj, &["metadata", "name"]).to_string()
}

/// Whether `metadata.deletionTimestamp` is set.
pub(super) fn deleting(obj: &Value) -> bool {
    at(obj, &["metadata", "deletionTimestamp"]).is_some()
}

/// An annotation's value.
pub(super) fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    map(obj, &["metadata", "annotations"]).and_then(|a| a.get(key)).and_then(Value::as_str)
}

/// The status of the first condition of a type (`None` when there is none).
pub(super) fn condition<'a>(conditions: &'a [Value], type_: &str) -> Option<&'a Value> {
    conditions.iter().find(|c| s(c, &["type"]) == type_)
}

/// Whether the first condition of a type has status `True`.
pub(super) fn condition_true(conditions: &[Value], type_: &str) -> bool {
    condition(conditions, type_).is_some_and(|c| s(c, &["status"]) == "True")
}

/// `resource.Quantity.String()` of a quantity field; `0` when absent.
pub(super) fn quantity(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(q)) => q.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".to_string(),
    }
}

/// `intstr.IntOrString.String()`.
pub(super) fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => as_int(other).to_string(),
    }
}

/// `labels.FormatLabels`: `k=v` pairs, sorted, comma-joined; `<none>` when empty.
pub(super) fn format_labels(m: Option<&Map<String, Value>>) -> String {
    let mut pairs: Vec<String> =
        m.into_iter().flatten().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect();
    pairs.sort();
    if pairs.is_empty() { "<none>".to_string() } else { pairs.join(",") }
}

/// `metav1.LabelSelectorAsSelector(sel).String()`; `Err` when the selector is invalid.
pub(super) fn selector_string(sel: Option<&Value>) -> Result<String, String> {
    LabelSelector::from_object(sel.unwrap_or(&Value::Null)).map(|s| s.to_string())
}

/// `metav1.FormatLabelSelector`: `<none>` when it selects nothing or everything, `<error>` when invalid.
pub(super) fn format_label_selector(sel: Option<&Value>) -> String {
    match selector_string(sel) {
        Ok(s) if s.is_empty() => "<none>".to_string(),
        Ok(s) => s,
        Err(_) => "<error>".to_string(),
    }
}

/// The generated `(*metav1.LabelSelector).String()` (Go struct syntax).
pub(super) fn go_label_selector(sel: &Value) -> String {
    let mut keys: Vec<(&String, &Value)> = map(sel, &["matchLabels"]).into_iter().flatten().collect();
    keys.sort_by(|a, b| a.0.cmp(b.0));
    let labels: String = keys.iter().map(|(k, v)| format!("{k}: {},", v.as_str().unwrap_or(""))).collect();
    let exprs: String = arr(sel, &["matchExpressions"])
        .iter()
        .map(|e| {
            let values: Vec<&str> = arr(e, &["values"]).iter().map(|v| v.as_str().unwrap_or("")).collect();
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                s(e, &["key"]),
                s(e, &["operator"]),
                values.join(" ")
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}"
    )
}

/// `layoutContainerCells`: container names and images, comma-joined.
pub(super) fn containers(list: &[Value]) -> (String, String) {
    let names: Vec<&str> = list.iter().map(|c| s(c, &["name"])).collect();
    let images: Vec<&str> = list.iter().map(|c| s(c, &["image"])).collect();
    (names.join(","), images.join(","))
}

/// `listWithMoreString`.
pub(super) fn list_with_more(list: &[String], more: bool, count: usize, max: usize) -> String {
    let ret = list.join(",");
    if more {
        return format!("{ret} + {} more...", count - max);
    }
    if ret.is_empty() { "<unset>".to_string() } else { ret }
}

/// `helper.GetAccessModesAsString`: the short forms, in a fixed order.
pub(super) fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP")]
        .iter()
        .filter(|(m, _)| has(m))
        .map(|(_, short)| *short)
        .collect::<Vec<_>>()
        .join(",")
}

/// `printBool`/`printBoolPtr`: `True`, `False` or `<unset>`.
pub(super) fn bool_ptr(v: Option<&Value>) -> String {
    match v.and_then(Value::as_bool) {
        Some(true) => "True".to_string(),
        Some(false) => "False".to_string(),
        None => "<unset>".to_string(),
    }
}

/// `schema.GroupResource.String()` / `GroupKind.String()`: `name.group`, or `name` for the core group.
pub(super) fn group_qualified(name: &str, group: &str) -> String {
    if group.is_empty() { name.to_string() } else { format!("{name}.{group}") }
}

/// The text, or a placeholder when it is empty.
pub(super) fn or(text: &str, placeholder: &str) -> String {
    if text.is_empty() { placeholder.to_string() } else { text.to_string() }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn d(secs: i64) -> String {
        human_nanos(SignedDuration::from_secs(secs))
    }

    #[test]
    fn human_duration_matches_apimachinery() {
        let cases = [
            (-3, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (125, "2m5s"),
            (599, "9m59s"),
            (600, "10m"),
            (3 * 3600 - 1, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60 * 5, "3h5m"),
            (8 * 3600, "8h"),
            (47 * 3600 + 59 * 60, "47h"),
            (48 * 3600, "2d"),
            (50 * 3600, "2d2h"),
            (8 * 86400, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (731 * 86400, "2y1d"),
            (8 * 365 * 86400, "8y"),
        ];
        for (secs, want) in cases {
            assert_eq!(d(secs), want, "{secs}");
        }
        assert_eq!(human_duration(std::time::Duration::from_secs(3600)), "60m");
        assert_eq!(human_nanos(SignedDuration::from_millis(-1500)), "0s");
    }

    #[test]
    fn times() {
        let ctx = Ctx { now: "2024-01-01T01:00:00Z".parse().unwrap() };
        assert_eq!(ctx.since(Some(&json!("2024-01-01T00:00:00Z"))), "60m");
        assert_eq!(ctx.since(None), "<unknown>");
        assert_eq!(ctx.since(Some(&json!("0001-01-01T00:00:00Z"))), "<unknown>");
        assert_eq!(rfc3339(Some(&json!("2024-01-01T00:00:00.5Z"))), "2024-01-01T00:00:00Z");
        assert_eq!(rfc3339(None), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn labels_and_selectors() {
        let m = json!({"b": "2", "a.b": "x", "a": "1"});
        assert_eq!(format_labels(m.as_object()), "a.b=x,a=1,b=2");
        assert_eq!(format_labels(None), "<none>");
        assert_eq!(format_label_selector(None), "<none>");
        assert_eq!(format_label_selector(Some(&json!({}))), "<none>");
        assert_eq!(format_label_selector(Some(&json!({"matchLabels": {"app": "a"}}))), "app=a");
        assert_eq!(format_label_selector(Some(&json!({"matchLabels": {"app": "a b"}}))), "<error>");
        let sel = json!({"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [{"key": "k", "operator": "In", "values": ["x", "y"]}]});
        assert_eq!(
            go_label_selector(&sel),
            "&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:k,Operator:In,Values:[x y],},},}"
        );
    }
}
