//! Content negotiation: what the client accepts (JSON, YAML, server-side
//! Tables, partial object metadata) and how request bodies are read.

use bytes::Bytes;
use http::HeaderMap;
use http::header::{ACCEPT, CONTENT_TYPE};
use serde_json::Value;

use crate::registry::error::ApiError;

/// Media types accepted for request bodies.
pub const BODY_TYPES: &[&str] = &["application/json", "application/yaml"];

/// How a response is rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Json,
    Yaml,
    /// `as=Table;v=v1;g=meta.k8s.io` (the version the client asked for).
    Table {
        version: String,
    },
    /// `as=PartialObjectMetadata` / `PartialObjectMetadataList`.
    Metadata {
        version: String,
    },
}

impl Output {
    pub fn content_type(&self) -> String {
        match self {
            Output::Json => "application/json".into(),
            Output::Yaml => "application/yaml".into(),
            Output::Table { version } => format!("application/json;as=Table;v={version};g=meta.k8s.io"),
            Output::Metadata { version } => {
                format!("application/json;as=PartialObjectMetadata;v={version};g=meta.k8s.io")
            }
        }
    }
}

/// One entry of an Accept header.
#[derive(Debug)]
pub struct MediaRange<'a> {
    pub essence: &'a str,
    pub params: Vec<(&'a str, &'a str)>,
}

impl<'a> MediaRange<'a> {
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
    }
}

/// Split an Accept header into its ranges, in order, dropping those with q=0.
pub fn parse_accept(accept: &str) -> Vec<MediaRange<'_>> {
    accept
        .split(',')
        .filter_map(|part| {
            let mut it = part.split(';');
            let essence = it.next()?.trim();
            if essence.is_empty() {
                return None;
            }
            let params: Vec<(&str, &str)> =
                it.filter_map(|p| p.split_once('=')).map(|(k, v)| (k.trim(), v.trim().trim_matches('"'))).collect();
            if params.iter().any(|(k, v)| *k == "q" && v.parse::<f32>().ok() == Some(0.0)) {
                return None;
            }
            Some(MediaRange { essence, params })
        })
        .collect()
}

/// Choose the output of a resource response.
pub fn choose_output(headers: &HeaderMap) -> Result<Output, ApiError> {
    let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.trim().is_empty() {
        return Ok(Output::Json);
    }
    for r in parse_accept(accept) {
        let essence = r.essence.to_ascii_lowercase();
        let json_like = matches!(essence.as_str(), "application/json" | "application/*" | "*/*");
        if let Some(kind) = r.param("as") {
            if !json_like {
                continue;
            }
            let group = r.param("g").unwrap_or("");
            let version = r.param("v").unwrap_or("");
            if group != "meta.k8s.io" || !matches!(version, "v1" | "v1beta1") {
                continue;
            }
            match kind {
                "Table" => return Ok(Output::Table { version: version.to_string() }),
                "PartialObjectMetadata" | "PartialObjectMetadataList" => {
                    return Ok(Output::Metadata { version: version.to_string() });
                }
                _ => continue,
            }
        }
        match essence.as_str() {
            "application/json" | "application/*" | "*/*" | "application/json-patch+json" => return Ok(Output::Json),
            "application/yaml" => return Ok(Output::Yaml),
            _ => continue,
        }
    }
    Err(ApiError::not_acceptable(&["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]))
}

/// The essence of the request's Content-Type (`application/json` when absent).
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "application/json".into())
}

/// Decode a JSON, YAML or protobuf body meant to be a `kind`, with the paths of any
/// duplicated keys. Failures carry the real server's messages.
pub fn decode_body(headers: &HeaderMap, body: &Bytes, kind: &str) -> Result<(Value, Vec<String>), ApiError> {
    let ct = content_type(headers);
    let unrecognized = |detail: String| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {kind}): {detail} ({})",
            summarize(body)
        ))
    };
    match ct.as_str() {
        "application/json" | "*/*" => super::strict_json::parse(body).map_err(|e| {
            let detail = if body.iter().all(u8::is_ascii_whitespace) {
                "unexpected end of JSON input".to_string()
            } else {
                json_error_text(&e)
            };
            unrecognized(format!("couldn't get version/kind; json parse error: {detail}"))
        }),
        "application/vnd.kubernetes.protobuf" => {
            super::protobuf::decode(body).map(|v| (v, Vec::new())).map_err(|e| match e.type_meta() {
                Some((api_version, kind)) => {
                    let version = api_version.rsplit('/').next().unwrap_or(api_version);
                    ApiError::bad_request(crate::registry::decode::cannot_handle(kind, version, &e.to_string()))
                }
                None => unrecognized(e.to_string()),
            })
        }
        "application/yaml" | "application/x-yaml" | "text/yaml" => match serde_yaml_ng::from_slice::<Value>(body) {
            Ok(Value::Null) => {
                Err(unrecognized("couldn't get version/kind; json parse error: unexpected end of JSON input".into()))
            }
            Ok(v) => Ok((v, Vec::new())),
            Err(e) => Err(unrecognized(format!(
                "couldn't get version/kind; json parse error: error converting YAML to JSON: yaml: {e}"
            ))),
        },
        _ => Err(ApiError::unsupported_media_type(
            &ct,
            &["application/json", "application/yaml", "application/vnd.kubernetes.protobuf", "application/cbor"],
        )),
    }
}

/// The start of a body for error messages (Go's `summarizeData`).
fn summarize(body: &[u8]) -> String {
    const MAX: usize = 30;
    if body.is_empty() {
        return "<empty>".into();
    }
    let shown = &body[..body.len().min(MAX)];
    let more = if body.len() > MAX { " ..." } else { "" };
    if body[0] == b'{' {
        format!("{}{more}", String::from_utf8_lossy(shown))
    } else {
        format!("{}{more}", shown.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }
}

/// serde_json's message, shaped like Go's decoder errors where it helps.
fn json_error_text(e: &serde_json::Error) -> String {
    format!("{e}")
}

/// Whether the client wants indented output (`?pretty=true`, or curl/wget like the real server assumes).
pub fn wants_pretty(pretty_param: Option<&str>, user_agent: &str) -> bool {
    match pretty_param {
        Some(p) => matches!(p, "true" | "1" | "True" | "TRUE" | "t" | "T" | ""),
        None => {
            let ua = user_agent.to_ascii_lowercase();
            ua.starts_with("curl") || ua.starts_with("wget")
        }
    }
}

/// Serialize a value in the chosen output format.
pub fn render(value: &Value, output: &Output, pretty: bool) -> Vec<u8> {
    match output {
        Output::Yaml => serde_yaml_ng::to_string(value).unwrap_or_default().into_bytes(),
        _ if pretty => {
            let mut v = serde_json::to_vec_pretty(value).unwrap_or_default();
            v.push(b'\n');
            v
        }
        _ => {
            let mut v = serde_json::to_vec(value).unwrap_or_default();
            v.push(b'\n');
            v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn out(accept: &str) -> Result<Output, ApiError> {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_str(accept).unwrap());
        choose_output(&h)
    }

    #[test]
    fn kubectl_accept_headers() {
        assert_eq!(
            out("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json").unwrap(),
            Output::Table { version: "v1".into() }
        );
        assert_eq!(out("application/vnd.kubernetes.protobuf,application/json").unwrap(), Output::Json);
        assert_eq!(out("application/yaml").unwrap(), Output::Yaml);
        assert_eq!(out("*/*").unwrap(), Output::Json);
        assert_eq!(out("application/vnd.kubernetes.protobuf").unwrap_err().code, 406);
    }
}
