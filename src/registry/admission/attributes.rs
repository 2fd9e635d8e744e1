//! What admission sees of a request: the operation, the resource and subresource, the
//! object's name and namespace, who asks, the old object and the request's options. The
//! admission webhooks, ValidatingAdmissionPolicies and ResourceQuota all decide from
//! these, as the real API server's `admission.Attributes`.

use serde_json::{Value, json};

use crate::registry::meta;
use crate::registry::resource::ResourceInfo;
use crate::registry::rest::Ctx;

/// The operation under admission, as AdmissionReview and rules spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }

    /// The kind of the options object sent with this operation.
    pub fn options_kind(self) -> &'static str {
        match self {
            Operation::Create => "CreateOptions",
            Operation::Update => "UpdateOptions",
            Operation::Delete => "DeleteOptions",
            Operation::Connect => "",
        }
    }
}

/// One request under admission.
pub struct Attributes<'a> {
    pub operation: Operation,
    pub res: &'a ResourceInfo,
    /// `""` for the object itself, else `status`, `finalize`, `scale`, ….
    pub subresource: &'a str,
    /// `""` for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
    pub ctx: &'a Ctx,
    /// The stored object of an update or delete.
    pub old: Option<&'a Value>,
    /// The request's CreateOptions / UpdateOptions / DeleteOptions, as AdmissionReview's
    /// `options` carries them.
    pub options: Value,
}

impl<'a> Attributes<'a> {
    /// Attributes of a write of `obj` (or, for a delete, of the stored object).
    pub fn new(
        operation: Operation,
        res: &'a ResourceInfo,
        subresource: &'a str,
        ctx: &'a Ctx,
        obj: &Value,
        old: Option<&'a Value>,
    ) -> Attributes<'a> {
        let namespace = if res.namespaced { meta::namespace(obj).to_string() } else { String::new() };
        let mut options = json!({"kind": operation.options_kind(), "apiVersion": "meta.k8s.io/v1"});
        if ctx.dry_run {
            options["dryRun"] = json!(["All"]);
        }
        if let Some(m) = &ctx.field_manager {
            options["fieldManager"] = m.clone().into();
        }
        Attributes { operation, res, subresource, namespace, name: meta::name(obj).to_string(), ctx, old, options }
    }

    /// `pods`, `pods/status`, … as rules name resources.
    pub fn resource_with_subresource(&self) -> String {
        if self.subresource.is_empty() {
            self.res.plural.clone()
        } else {
            format!("{}/{}", self.res.plural, self.subresource)
        }
    }
}
