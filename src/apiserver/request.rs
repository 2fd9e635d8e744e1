//! What a request asks for, from its method, path and query (the API server's
//! `RequestInfoFactory`).

use http::Method;

/// A request for a resource (or a collection, or a subresource).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceRequest {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
    pub verb: Verb,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
}

/// Every kind of path the server answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/<group>`
    Group(String),
    /// `/api/v1`, `/apis/<group>/<version>`
    ResourceList {
        group: String,
        version: String,
    },
    Resource(ResourceRequest),
    /// Anything else (health, version, openapi…): left to other handlers.
    Other,
}

/// Parse a request path.
pub fn route(method: &Method, path: &str, watch_param: bool) -> Route {
    let trimmed = path.trim_matches('/');
    let parts: Vec<&str> = if trimmed.is_empty() { vec![] } else { trimmed.split('/').collect() };
    let (group, version, rest) = match parts.as_slice() {
        ["api"] => return Route::CoreVersions,
        ["apis"] => return Route::Groups,
        ["apis", g] => return Route::Group(g.to_string()),
        ["api", v] => return Route::ResourceList { group: String::new(), version: v.to_string() },
        ["apis", g, v] => return Route::ResourceList { group: g.to_string(), version: v.to_string() },
        ["api", v, rest @ ..] => (String::new(), v.to_string(), rest.to_vec()),
        ["apis", g, v, rest @ ..] => (g.to_string(), v.to_string(), rest.to_vec()),
        _ => return Route::Other,
    };
    let mut rest = rest;
    let mut verb_watch = false;
    if rest.first() == Some(&"watch") {
        verb_watch = true;
        rest.remove(0);
    }
    let mut namespace = None;
    if rest.first() == Some(&"namespaces") && rest.len() > 1 {
        namespace = Some(rest[1].to_string());
        if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
            rest.drain(..2);
        }
    }
    if rest.is_empty() || rest.iter().any(|p| p.is_empty()) {
        return Route::Other;
    }
    let resource = rest[0].to_string();
    let name = rest.get(1).map(|s| s.to_string());
    let subresource = rest.get(2).map(|s| s.to_string());
    if rest.len() > 3 {
        // Only proxy subresources take a further path; none are served here.
        return Route::Other;
    }
    // `/api/v1/namespaces/foo` names the namespace itself.
    if resource == "namespaces" && namespace.is_some() && name.as_deref() == namespace.as_deref() {
        namespace = None;
    }
    let verb = match *method {
        Method::GET | Method::HEAD => {
            if verb_watch || watch_param {
                Verb::Watch
            } else if name.is_some() {
                Verb::Get
            } else {
                Verb::List
            }
        }
        Method::POST => Verb::Create,
        Method::PUT => Verb::Update,
        Method::PATCH => Verb::Patch,
        Method::DELETE => {
            if name.is_some() {
                Verb::Delete
            } else {
                Verb::DeleteCollection
            }
        }
        _ => return Route::Other,
    };
    Route::Resource(ResourceRequest { group, version, namespace, resource, name, subresource, verb })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(method: Method, path: &str) -> ResourceRequest {
        match route(&method, path, false) {
            Route::Resource(r) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn parses_paths() {
        let r = res(Method::GET, "/api/v1/namespaces/default/pods/web");
        assert_eq!(
            (r.namespace.as_deref(), r.resource.as_str(), r.name.as_deref(), r.verb),
            (Some("default"), "pods", Some("web"), Verb::Get)
        );
        let r = res(Method::GET, "/apis/apps/v1/deployments");
        assert_eq!((r.group.as_str(), r.namespace, r.verb), ("apps", None, Verb::List));
        let r = res(Method::GET, "/api/v1/namespaces/kube-system");
        assert_eq!((r.resource.as_str(), r.name.as_deref(), r.namespace), ("namespaces", Some("kube-system"), None));
        let r = res(Method::PUT, "/api/v1/namespaces/foo/finalize");
        assert_eq!(
            (r.resource.as_str(), r.name.as_deref(), r.subresource.as_deref()),
            ("namespaces", Some("foo"), Some("finalize"))
        );
        let r = res(Method::PATCH, "/apis/apps/v1/namespaces/d/deployments/x/scale");
        assert_eq!(r.subresource.as_deref(), Some("scale"));
        let r = res(Method::GET, "/api/v1/watch/namespaces/d/configmaps");
        assert_eq!(r.verb, Verb::Watch);
        let r = res(Method::DELETE, "/api/v1/namespaces/d/configmaps");
        assert_eq!(r.verb, Verb::DeleteCollection);
        assert_eq!(route(&Method::GET, "/apis", false), Route::Groups);
        assert_eq!(
            route(&Method::GET, "/apis/apps/v1", false),
            Route::ResourceList { group: "apps".into(), version: "v1".into() }
        );
        assert_eq!(route(&Method::GET, "/healthz", false), Route::Other);
    }
}
