//! List options: selectors, pagination (`limit`/`continue`) and the
//! `resourceVersion`/`resourceVersionMatch` semantics of the real API server.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::resource::ResourceInfo;
use super::selector::{FieldSelector, LabelSelector, field_value};
use crate::store::Revision;

/// `resourceVersionMatch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RvMatch {
    NotOlderThan,
    Exact,
}

/// Options of a list or watch, parsed from the query string.
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    pub label_selector: Option<LabelSelector>,
    pub field_selector: Option<FieldSelector>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<RvMatch>,
    pub timeout_seconds: Option<u64>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: Option<bool>,
}

/// Values of the query parameters of a list or watch.
#[derive(Clone, Debug, Default)]
pub struct ListQuery<'a> {
    pub label_selector: Option<&'a str>,
    pub field_selector: Option<&'a str>,
    pub limit: Option<&'a str>,
    pub continue_token: Option<&'a str>,
    pub resource_version: Option<&'a str>,
    pub resource_version_match: Option<&'a str>,
    pub timeout_seconds: Option<&'a str>,
    pub allow_watch_bookmarks: Option<&'a str>,
    pub send_initial_events: Option<&'a str>,
}

fn parse_bool(name: &str, v: &str) -> ApiResult<bool> {
    match v {
        "true" | "1" | "True" | "TRUE" | "t" | "T" => Ok(true),
        "false" | "0" | "False" | "FALSE" | "f" | "F" | "" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "invalid value for {name}: {v:?}: strconv.ParseBool: parsing {v:?}: invalid syntax"
        ))),
    }
}

impl ListOptions {
    /// Parse and check the options (messages as the real server gives them).
    pub fn parse(res: &ResourceInfo, q: &ListQuery<'_>) -> ApiResult<ListOptions> {
        let label_selector = match q.label_selector.filter(|s| !s.is_empty()) {
            Some(s) => Some(LabelSelector::parse(s).map_err(ApiError::bad_request)?),
            None => None,
        };
        let field_selector = match q.field_selector.filter(|s| !s.is_empty()) {
            Some(s) => {
                let fs = FieldSelector::parse(s).map_err(ApiError::bad_request)?;
                // Refuse labels the kind does not support, as the real server does.
                let probe = json!({"metadata": {}});
                for r in fs.requirements() {
                    match super::crd::custom(res) {
                        Some(cr) => super::crd::field_value(res, cr, &probe, &r.field).map(|_| ()),
                        None => field_value(&res.group, &res.plural, &probe, &r.field).map(|_| ()),
                    }
                    .map_err(ApiError::bad_request)?;
                }
                Some(fs)
            }
            None => None,
        };
        let limit = match q.limit.filter(|s| !s.is_empty()) {
            Some(s) => {
                let n: i64 = s.parse().map_err(|_| ApiError::bad_request(format!("invalid limit {s:?}")))?;
                (n > 0).then_some(n as usize)
            }
            None => None,
        };
        let resource_version_match = match q.resource_version_match.filter(|s| !s.is_empty()) {
            Some("NotOlderThan") => Some(RvMatch::NotOlderThan),
            Some("Exact") => Some(RvMatch::Exact),
            Some(other) => {
                return Err(invalid_list_options(vec![(
                    "resourceVersionMatch",
                    format!("Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\", \"\""),
                )]));
            }
            None => None,
        };
        let resource_version = q.resource_version.filter(|s| !s.is_empty()).map(str::to_string);
        let continue_token = q.continue_token.filter(|s| !s.is_empty()).map(str::to_string);
        if continue_token.is_some() && resource_version.as_deref().is_some_and(|rv| rv != "0") {
            return Err(ApiError::bad_request("specifying resource version is not allowed when using continue"));
        }
        let initial_events_watch = q.send_initial_events.is_some();
        if resource_version_match.is_some() && resource_version.is_none() && !initial_events_watch {
            return Err(invalid_list_options(vec![(
                "resourceVersionMatch",
                "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided".to_string(),
            )]));
        }
        if resource_version_match.is_some() && continue_token.is_some() {
            return Err(invalid_list_options(vec![(
                "resourceVersionMatch",
                "Forbidden: resourceVersionMatch is forbidden when continue is provided".to_string(),
            )]));
        }
        if resource_version_match == Some(RvMatch::Exact) && resource_version.as_deref() == Some("0") {
            return Err(invalid_list_options(vec![(
                "resourceVersionMatch",
                "Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"".to_string(),
            )]));
        }
        if let Some(rv) = &resource_version {
            parse_rv(rv)?;
        }
        let timeout_seconds = match q.timeout_seconds.filter(|s| !s.is_empty()) {
            Some(s) => Some(s.parse().map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds {s:?}")))?),
            None => None,
        };
        Ok(ListOptions {
            label_selector,
            field_selector,
            limit,
            continue_token,
            resource_version,
            resource_version_match,
            timeout_seconds,
            allow_watch_bookmarks: match q.allow_watch_bookmarks {
                Some(v) => parse_bool("allowWatchBookmarks", v)?,
                None => false,
            },
            send_initial_events: match q.send_initial_events {
                Some(v) => Some(parse_bool("sendInitialEvents", v)?),
                None => None,
            },
        })
    }

    /// Whether an object passes the label and field selectors.
    pub fn matches(&self, res: &ResourceInfo, obj: &Value) -> bool {
        if let Some(ls) = &self.label_selector
            && !ls.matches(super::meta::labels(obj))
        {
            return false;
        }
        if let Some(fs) = &self.field_selector {
            if let Some(cr) = super::crd::custom(res) {
                return fs.matches(|field| super::crd::field_value(res, cr, obj, field).ok().flatten());
            }
            return fs.matches(|field| field_value(&res.group, &res.plural, obj, field).ok().flatten());
        }
        true
    }

    pub fn has_selectors(&self) -> bool {
        self.label_selector.as_ref().is_some_and(|s| !s.is_empty()) || self.field_selector.is_some()
    }
}

fn invalid_list_options(errs: Vec<(&str, String)>) -> ApiError {
    let msgs: Vec<String> = errs.iter().map(|(f, m)| format!("{f}: {m}")).collect();
    let message = if msgs.len() == 1 { msgs[0].clone() } else { format!("[{}]", msgs.join(", ")) };
    let reason = |m: &str| {
        if m.starts_with("Forbidden") {
            "FieldValueForbidden"
        } else if m.starts_with("Unsupported value") {
            "FieldValueNotSupported"
        } else {
            "FieldValueInvalid"
        }
    };
    let causes: Vec<Value> = errs.iter().map(|(f, m)| json!({"reason": reason(m), "message": m, "field": f})).collect();
    let mut e = ApiError::new(422, "Invalid", format!("ListOptions.meta.k8s.io \"\" is invalid: {message}"));
    e.details = Some(Box::new(json!({"group": "meta.k8s.io", "kind": "ListOptions", "causes": causes})));
    e
}

/// Parse a resourceVersion given by a client.
pub fn parse_rv(rv: &str) -> ApiResult<Revision> {
    rv.parse::<Revision>()
        .ok()
        .filter(|r| *r >= 0)
        .ok_or_else(|| ApiError::bad_request(format!("invalid resource version: {rv:?}")))
}

/// What a continue token carries: the revision of the first page and the key to resume after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContinueToken {
    pub revision: Revision,
    /// Key relative to the list's prefix.
    pub start_after: String,
}

impl ContinueToken {
    /// Encode as the real server does: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"key\u0000"}`.
    pub fn encode(&self) -> String {
        let body = json!({"v": "meta.k8s.io/v1", "rv": self.revision, "start": format!("{}\u{0}", self.start_after)});
        B64.encode(body.to_string())
    }

    pub fn decode(token: &str) -> ApiResult<ContinueToken> {
        let bad = || ApiError::bad_request(format!("continue key is not valid: {token}"));
        let bytes = B64
            .decode(token)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(token))
            .map_err(|_| bad())?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if v.get("v").and_then(Value::as_str) != Some("meta.k8s.io/v1") {
            return Err(ApiError::bad_request(
                "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
            ));
        }
        let revision = v.get("rv").and_then(Value::as_i64).filter(|r| *r > 0).ok_or_else(bad)?;
        let start = v.get("start").and_then(Value::as_str).ok_or_else(bad)?;
        let start = start.strip_suffix('\u{0}').unwrap_or(start);
        if start.contains("..") || start.starts_with('/') {
            return Err(bad());
        }
        Ok(ContinueToken { revision, start_after: start.to_string() })
    }
}

/// One page of a list, ready to be rendered.
#[derive(Clone, Debug, Default)]
pub struct ListPage {
    pub items: Vec<Value>,
    pub resource_version: Revision,
    pub continue_token: Option<String>,
    pub remaining: Option<i64>,
}

/// The message of a 410 for a continue token whose revision was compacted.
pub const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let t = ContinueToken { revision: 42, start_after: "default/web".into() };
        assert_eq!(ContinueToken::decode(&t.encode()).unwrap(), t);
        assert!(ContinueToken::decode("garbage").is_err());
    }
}
