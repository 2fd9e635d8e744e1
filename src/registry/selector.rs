//! STUB until the selectors module lands: equality-based label and field selectors.
use serde_json::{Map, Value};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelSelector {
    reqs: Vec<(String, bool, String)>,
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<LabelSelector, String> {
        let mut reqs = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some((k, v)) = part.split_once("!=") {
                reqs.push((k.trim().to_string(), false, v.trim().to_string()));
            } else if let Some((k, v)) = part.split_once('=') {
                reqs.push((k.trim().to_string(), true, v.trim_start_matches('=').trim().to_string()));
            } else {
                return Err(format!("unable to parse requirement: {part}"));
            }
        }
        Ok(LabelSelector { reqs })
    }
    pub fn from_object(_v: &Value) -> Result<LabelSelector, String> {
        Ok(LabelSelector::default())
    }
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.reqs.iter().all(|(k, eq, v)| {
            let got = labels.and_then(|l| l.get(k)).and_then(Value::as_str);
            if *eq { got == Some(v.as_str()) } else { got != Some(v.as_str()) }
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Requirement {
    pub field: String,
    pub equal: bool,
    pub value: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldSelector {
    reqs: Vec<Requirement>,
}

impl FieldSelector {
    pub fn parse(s: &str) -> Result<FieldSelector, String> {
        let l = LabelSelector::parse(s)?;
        Ok(FieldSelector {
            reqs: l.reqs.into_iter().map(|(field, equal, value)| Requirement { field, equal, value }).collect(),
        })
    }
    pub fn requirements(&self) -> &[Requirement] {
        &self.reqs
    }
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.reqs.iter().all(|r| {
            let v = get(&r.field).unwrap_or_default();
            (v == r.value) == r.equal
        })
    }
}

pub fn field_value(_group: &str, _resource: &str, obj: &Value, field: &str) -> Result<Option<String>, String> {
    let m = obj.get("metadata");
    match field {
        "metadata.name" => Ok(Some(m.and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("").to_string())),
        "metadata.namespace" => {
            Ok(Some(m.and_then(|m| m.get("namespace")).and_then(Value::as_str).unwrap_or("").to_string()))
        }
        _ => Ok(None),
    }
}

impl std::fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> =
            self.reqs.iter().map(|(k, eq, v)| format!("{k}{}{v}", if *eq { "=" } else { "!=" })).collect();
        f.write_str(&parts.join(","))
    }
}
