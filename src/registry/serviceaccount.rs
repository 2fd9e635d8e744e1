//! ServiceAccount tokens through the API: the `serviceaccounts/token`
//! subresource (TokenRequest) and checking a presented token against the objects
//! it is bound to.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Registry;
use super::error::{ApiError, ApiResult};
use super::field_error::FieldError;
use super::meta;
use super::rest::{Ctx, Outcome, UserInfo};
use super::tokens::{ServiceAccountClaims, TokenIssuer, service_account_of};

/// Shortest token lifetime a TokenRequest may ask for.
const MIN_EXPIRATION: i64 = 600;
/// Lifetime when the request names none.
const DEFAULT_EXPIRATION: i64 = 3600;

impl Registry {
    /// Install the signing key (the server does this at start).
    pub fn set_token_issuer(&self, issuer: Arc<TokenIssuer>) {
        let _ = self.tokens.set(issuer);
    }

    pub fn token_issuer(&self) -> Option<&Arc<TokenIssuer>> {
        self.tokens.get()
    }

    async fn get_core(&self, plural: &str, ns: Option<&str>, name: &str) -> ApiResult<Option<Value>> {
        let res = self.resource("", "v1", plural).ok_or_else(|| ApiError::internal(format!("no {plural}")))?;
        Ok(self.read(&res, ns, name).await?.map(|(v, _)| v))
    }

    /// POST `serviceaccounts/<name>/token`.
    pub async fn create_token(&self, ctx: &Ctx, ns: &str, sa_name: &str, body: Value) -> ApiResult<Outcome> {
        let issuer =
            self.token_issuer().cloned().ok_or_else(|| ApiError::internal("no service account signing key"))?;
        let sa = self
            .get_core("serviceaccounts", Some(ns), sa_name)
            .await?
            .ok_or_else(|| ApiError::not_found("", "serviceaccounts", sa_name))?;
        let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
        let audiences: Vec<String> = spec["audiences"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .filter(|a: &Vec<String>| !a.is_empty())
            .unwrap_or_else(|| issuer.api_audiences.clone());
        let expiration = spec["expirationSeconds"].as_i64().unwrap_or(DEFAULT_EXPIRATION);
        if expiration < MIN_EXPIRATION {
            return Err(ApiError::invalid(
                "authentication.k8s.io",
                "TokenRequest",
                sa_name,
                &[FieldError::invalid(
                    "spec.expirationSeconds",
                    expiration,
                    "may not specify a duration less than 10 minutes",
                )],
            ));
        }
        if expiration > 1 << 32 {
            return Err(ApiError::invalid(
                "authentication.k8s.io",
                "TokenRequest",
                sa_name,
                &[FieldError::too_long("spec.expirationSeconds", 1 << 32)],
            ));
        }
        let now = jiff::Timestamp::now().as_second();
        let mut k8s = json!({
            "namespace": ns,
            "serviceaccount": {"name": sa_name, "uid": meta::uid(&sa)},
        });
        let bound = &spec["boundObjectRef"];
        if bound.is_object() {
            let kind = bound["kind"].as_str().unwrap_or("");
            let name = bound["name"].as_str().unwrap_or("");
            let (plural, key, namespaced) = match kind {
                "Pod" => ("pods", "pod", true),
                "Secret" => ("secrets", "secret", true),
                "Node" => ("nodes", "node", false),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "cannot bind token to object of type {other}: supported kinds are Pod, Secret, Node"
                    )));
                }
            };
            let obj = self
                .get_core(plural, namespaced.then_some(ns), name)
                .await?
                .ok_or_else(|| ApiError::not_found("", plural, name))?;
            if let Some(uid) = bound["uid"].as_str().filter(|u| !u.is_empty())
                && uid != meta::uid(&obj)
            {
                return Err(ApiError::conflict(
                    "",
                    plural,
                    name,
                    &format!(
                        "the UID in the bound object reference ({uid}) does not match the UID in record. The object might have been deleted and then recreated"
                    ),
                ));
            }
            k8s[key] = json!({"name": name, "uid": meta::uid(&obj)});
            // A pod-bound token also names the pod's node, as Kubernetes 1.30+ does.
            if kind == "Pod"
                && let Some(node) = obj["spec"]["nodeName"].as_str().filter(|n| !n.is_empty())
                && let Some(n) = self.get_core("nodes", None, node).await?
            {
                k8s["node"] = json!({"name": node, "uid": meta::uid(&n)});
            }
        }
        let claims = json!({
            "aud": audiences,
            "exp": now + expiration,
            "iat": now,
            "iss": issuer.issuer,
            "jti": meta::new_uid(),
            "kubernetes.io": k8s,
            "nbf": now,
            "sub": format!("system:serviceaccount:{ns}:{sa_name}"),
        });
        let token = if ctx.dry_run { String::new() } else { issuer.sign(&claims) };
        let expires = jiff::Timestamp::from_second(now + expiration).map(meta::format_time).unwrap_or_default();
        let mut out_spec = json!({"audiences": audiences, "expirationSeconds": expiration});
        if bound.is_object() {
            out_spec["boundObjectRef"] = bound.clone();
        }
        let object = json!({
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": sa_name, "namespace": ns, "creationTimestamp": meta::now_rfc3339()},
            "spec": out_spec,
            "status": {"token": token, "expirationTimestamp": expires},
        });
        Ok(Outcome { object, code: 201, warnings: vec![] })
    }

    /// The user a bearer token stands for, if it is a valid ServiceAccount token
    /// whose account and bound object still exist.
    pub async fn authenticate_token(&self, token: &str) -> Option<UserInfo> {
        let issuer = self.token_issuer()?;
        let claims = issuer.verify(token, jiff::Timestamp::now().as_second()).ok()?;
        let sa = service_account_of(&claims)?;
        self.check_bindings(&sa).await.then(|| user_of(&sa, &claims))
    }

    /// The `status` of a TokenReview: whether `token` authenticates a ServiceAccount for
    /// `audiences` (the API server's when none are asked for), and as whom.
    pub async fn review_token(&self, token: &str, audiences: &[String]) -> Value {
        let Some(issuer) = self.token_issuer() else {
            return json!({"authenticated": false, "error": "token authentication is not available"});
        };
        let wanted = if audiences.is_empty() { issuer.api_audiences.clone() } else { audiences.to_vec() };
        let (claims, matched) = match issuer.verify_for(token, jiff::Timestamp::now().as_second(), &wanted) {
            Ok(v) => v,
            Err(e) => return json!({"authenticated": false, "user": {}, "error": format!("[{e}]")}),
        };
        let Some(sa) = service_account_of(&claims) else {
            return json!({"authenticated": false, "user": {}, "error": "[invalid bearer token]"});
        };
        if !self.check_bindings(&sa).await {
            return json!({"authenticated": false, "user": {}, "error": "[invalid bearer token, service account token has been invalidated]"});
        }
        let user = user_of(&sa, &claims);
        let mut u = json!({"username": user.username, "uid": user.uid, "groups": user.groups});
        if !user.extra.is_empty() {
            u["extra"] = json!(user.extra);
        }
        json!({"authenticated": true, "user": u, "audiences": matched})
    }

    async fn check_bindings(&self, sa: &ServiceAccountClaims) -> bool {
        let Ok(Some(account)) = self.get_core("serviceaccounts", Some(&sa.namespace), &sa.name).await else {
            return false;
        };
        if !sa.uid.is_empty() && sa.uid != meta::uid(&account) {
            return false;
        }
        match &sa.bound {
            None => true,
            Some((kind, name, uid)) => {
                let (plural, ns) = match kind.as_str() {
                    "Pod" => ("pods", Some(sa.namespace.as_str())),
                    "Secret" => ("secrets", Some(sa.namespace.as_str())),
                    _ => ("nodes", None),
                };
                match self.get_core(plural, ns, name).await {
                    Ok(Some(obj)) => {
                        (uid.is_empty() || uid == meta::uid(&obj)) && meta::deletion_timestamp(&obj).is_none()
                    }
                    _ => false,
                }
            }
        }
    }
}

fn user_of(sa: &ServiceAccountClaims, claims: &Value) -> UserInfo {
    let mut extra = std::collections::BTreeMap::new();
    if let Some(("Pod", name, uid)) = sa.bound.as_ref().map(|(k, n, u)| (k.as_str(), n, u)) {
        extra.insert("authentication.kubernetes.io/pod-name".into(), vec![name.clone()]);
        extra.insert("authentication.kubernetes.io/pod-uid".into(), vec![uid.clone()]);
    }
    if let Some(jti) = claims["jti"].as_str() {
        extra.insert("authentication.kubernetes.io/credential-id".into(), vec![format!("JTI={jti}")]);
    }
    UserInfo {
        username: format!("system:serviceaccount:{}:{}", sa.namespace, sa.name),
        uid: sa.uid.clone(),
        groups: vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{}", sa.namespace),
            "system:authenticated".into(),
        ],
        extra,
    }
}

/// The claims of a legacy token for a `kubernetes.io/service-account-token` Secret.
pub fn legacy_claims(ns: &str, secret: &str, sa_name: &str, sa_uid: &str) -> Value {
    json!({
        "iss": super::tokens::LEGACY_ISSUER,
        "kubernetes.io/serviceaccount/namespace": ns,
        "kubernetes.io/serviceaccount/secret.name": secret,
        "kubernetes.io/serviceaccount/service-account.name": sa_name,
        "kubernetes.io/serviceaccount/service-account.uid": sa_uid,
        "sub": format!("system:serviceaccount:{ns}:{sa_name}"),
    })
}
