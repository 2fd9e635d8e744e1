//! The catalogue of built-in kinds: every resource Kubernetes 1.33 serves that
//! k8s-openapi (feature `v1_33`) has a type for, with its scope, names, verbs and
//! subresources, and the typed functions (decode, schema) that tie it to its Rust type.

use std::any::TypeId;

use k8s_openapi::{NamespaceResourceScope, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::decode::{DecodeResult, decode_typed};

/// Verbs a resource answers, in the order discovery lists them.
pub const ALL_VERBS: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const NS_VERBS: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];
const CREATE_ONLY: &[&str] = &["create"];
const READ_ONLY: &[&str] = &["get", "list"];

/// What the registry does with a resource's objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// Kept in the store (the normal case).
    Stored,
    /// Create-only review objects answered at once and never stored (TokenReview, SubjectAccessReview…).
    Review,
    /// Create-only objects that act on another one (Binding).
    Binding,
    /// Computed on read (ComponentStatus).
    Computed,
}

/// One resource in one group-version.
#[derive(Clone, Debug)]
pub struct KindInfo {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub list_kind: String,
    /// The plural resource name used in URLs (`pods`).
    pub plural: &'static str,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    pub storage: Storage,
    /// The OpenAPI definition name (`io.k8s.api.core.v1.Pod`).
    pub definition: String,
    pub has_status: bool,
    pub has_scale: bool,
    /// Decode a body through the Rust type (unknown-field detection and normalisation).
    pub decode: fn(Value) -> DecodeResult,
    /// Register the type's schema (and everything it references) with a generator.
    pub schema: fn(&mut schemars::SchemaGenerator) -> schemars::Schema,
}

impl KindInfo {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_string() } else { format!("{}/{}", self.group, self.version) }
    }
}

fn decode_fn<T: DeserializeOwned + Serialize>(v: Value) -> DecodeResult {
    decode_typed::<T>(v)
}

fn schema_fn<T: schemars::JsonSchema>(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    g.subschema_for::<T>()
}

fn kind_info<T>() -> KindInfo
where
    T: Resource + DeserializeOwned + Serialize + schemars::JsonSchema + 'static,
    T::Scope: 'static,
{
    let group = T::GROUP;
    let plural = T::URL_PATH_SEGMENT;
    let (short_names, categories) = names_of(group, plural);
    let storage = storage_of(group, plural);
    let verbs = match storage {
        Storage::Review | Storage::Binding => CREATE_ONLY,
        Storage::Computed => READ_ONLY,
        Storage::Stored if group.is_empty() && plural == "namespaces" => NS_VERBS,
        Storage::Stored => ALL_VERBS,
    };
    KindInfo {
        group,
        version: T::VERSION,
        kind: T::KIND,
        list_kind: format!("{}List", T::KIND),
        plural,
        singular: T::KIND.to_ascii_lowercase(),
        namespaced: TypeId::of::<T::Scope>() == TypeId::of::<NamespaceResourceScope>(),
        short_names,
        categories,
        verbs,
        storage,
        definition: T::schema_name().into_owned(),
        has_status: false, // filled from the schema by the registry
        has_scale: matches!(
            (group, plural),
            ("apps", "deployments" | "replicasets" | "statefulsets") | ("", "replicationcontrollers")
        ),
        decode: decode_fn::<T>,
        schema: schema_fn::<T>,
    }
}

/// Short names and categories as the real API server lists them.
fn names_of(group: &str, plural: &str) -> (&'static [&'static str], &'static [&'static str]) {
    const ALL: &[&str] = &["all"];
    const EXT: &[&str] = &["api-extensions"];
    match (group, plural) {
        ("", "componentstatuses") => (&["cs"], &[]),
        ("", "configmaps") => (&["cm"], &[]),
        ("", "endpoints") => (&["ep"], &[]),
        ("", "events") | ("events.k8s.io", "events") => (&["ev"], &[]),
        ("", "limitranges") => (&["limits"], &[]),
        ("", "namespaces") => (&["ns"], &[]),
        ("", "nodes") => (&["no"], &[]),
        ("", "persistentvolumeclaims") => (&["pvc"], &[]),
        ("", "persistentvolumes") => (&["pv"], &[]),
        ("", "pods") => (&["po"], ALL),
        ("", "replicationcontrollers") => (&["rc"], ALL),
        ("", "resourcequotas") => (&["quota"], &[]),
        ("", "serviceaccounts") => (&["sa"], &[]),
        ("", "services") => (&["svc"], ALL),
        ("apiextensions.k8s.io", "customresourcedefinitions") => (&["crd", "crds"], EXT),
        ("apiregistration.k8s.io", "apiservices") => (&[], EXT),
        (
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations"
            | "validatingwebhookconfigurations"
            | "validatingadmissionpolicies"
            | "validatingadmissionpolicybindings"
            | "mutatingadmissionpolicies"
            | "mutatingadmissionpolicybindings",
        ) => (&[], EXT),
        ("apps", "daemonsets") => (&["ds"], ALL),
        ("apps", "deployments") => (&["deploy"], ALL),
        ("apps", "replicasets") => (&["rs"], ALL),
        ("apps", "statefulsets") => (&["sts"], ALL),
        ("autoscaling", "horizontalpodautoscalers") => (&["hpa"], ALL),
        ("batch", "cronjobs") => (&["cj"], ALL),
        ("batch", "jobs") => (&[], ALL),
        ("certificates.k8s.io", "certificatesigningrequests") => (&["csr"], &[]),
        ("networking.k8s.io", "ingresses") => (&["ing"], &[]),
        ("networking.k8s.io", "networkpolicies") => (&["netpol"], &[]),
        ("networking.k8s.io", "ipaddresses") => (&["ip"], &[]),
        ("policy", "poddisruptionbudgets") => (&["pdb"], &[]),
        ("scheduling.k8s.io", "priorityclasses") => (&["pc"], &[]),
        ("storage.k8s.io", "storageclasses") => (&["sc"], &[]),
        ("storage.k8s.io", "volumeattributesclasses") => (&["vac"], &[]),
        _ => (&[], &[]),
    }
}

fn storage_of(group: &str, plural: &str) -> Storage {
    match (group, plural) {
        ("", "bindings") => Storage::Binding,
        ("", "componentstatuses") => Storage::Computed,
        (
            "authentication.k8s.io" | "authorization.k8s.io",
            "tokenreviews"
            | "selfsubjectreviews"
            | "subjectaccessreviews"
            | "selfsubjectaccessreviews"
            | "localsubjectaccessreviews"
            | "selfsubjectrulesreviews",
        ) => Storage::Review,
        _ => Storage::Stored,
    }
}

macro_rules! builtin_kinds {
    ($($path:path),* $(,)?) => {
        /// Every built-in resource, in no particular order.
        pub fn builtin_kinds() -> Vec<KindInfo> {
            vec![$(kind_info::<$path>()),*]
        }
    };
}

use k8s_openapi::api as k;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions as apiext;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration as apireg;

builtin_kinds!(
    k::admissionregistration::v1::MutatingWebhookConfiguration,
    k::admissionregistration::v1::ValidatingAdmissionPolicy,
    k::admissionregistration::v1::ValidatingAdmissionPolicyBinding,
    k::admissionregistration::v1::ValidatingWebhookConfiguration,
    k::admissionregistration::v1alpha1::MutatingAdmissionPolicy,
    k::admissionregistration::v1alpha1::MutatingAdmissionPolicyBinding,
    k::admissionregistration::v1beta1::ValidatingAdmissionPolicy,
    k::admissionregistration::v1beta1::ValidatingAdmissionPolicyBinding,
    k::apiserverinternal::v1alpha1::StorageVersion,
    k::apps::v1::ControllerRevision,
    k::apps::v1::DaemonSet,
    k::apps::v1::Deployment,
    k::apps::v1::ReplicaSet,
    k::apps::v1::StatefulSet,
    k::authentication::v1::SelfSubjectReview,
    k::authentication::v1::TokenReview,
    k::authorization::v1::LocalSubjectAccessReview,
    k::authorization::v1::SelfSubjectAccessReview,
    k::authorization::v1::SelfSubjectRulesReview,
    k::authorization::v1::SubjectAccessReview,
    k::autoscaling::v1::HorizontalPodAutoscaler,
    k::autoscaling::v2::HorizontalPodAutoscaler,
    k::batch::v1::CronJob,
    k::batch::v1::Job,
    k::certificates::v1::CertificateSigningRequest,
    k::certificates::v1alpha1::ClusterTrustBundle,
    k::certificates::v1beta1::ClusterTrustBundle,
    k::coordination::v1::Lease,
    k::coordination::v1alpha2::LeaseCandidate,
    k::coordination::v1beta1::LeaseCandidate,
    k::core::v1::Binding,
    k::core::v1::ComponentStatus,
    k::core::v1::ConfigMap,
    k::core::v1::Endpoints,
    k::core::v1::Event,
    k::core::v1::LimitRange,
    k::core::v1::Namespace,
    k::core::v1::Node,
    k::core::v1::PersistentVolume,
    k::core::v1::PersistentVolumeClaim,
    k::core::v1::Pod,
    k::core::v1::PodTemplate,
    k::core::v1::ReplicationController,
    k::core::v1::ResourceQuota,
    k::core::v1::Secret,
    k::core::v1::Service,
    k::core::v1::ServiceAccount,
    k::discovery::v1::EndpointSlice,
    k::events::v1::Event,
    k::flowcontrol::v1::FlowSchema,
    k::flowcontrol::v1::PriorityLevelConfiguration,
    k::networking::v1::Ingress,
    k::networking::v1::IngressClass,
    k::networking::v1::IPAddress,
    k::networking::v1::NetworkPolicy,
    k::networking::v1::ServiceCIDR,
    k::networking::v1beta1::IPAddress,
    k::networking::v1beta1::ServiceCIDR,
    k::node::v1::RuntimeClass,
    k::policy::v1::PodDisruptionBudget,
    k::rbac::v1::ClusterRole,
    k::rbac::v1::ClusterRoleBinding,
    k::rbac::v1::Role,
    k::rbac::v1::RoleBinding,
    k::resource::v1alpha3::DeviceClass,
    k::resource::v1alpha3::DeviceTaintRule,
    k::resource::v1alpha3::ResourceClaim,
    k::resource::v1alpha3::ResourceClaimTemplate,
    k::resource::v1alpha3::ResourceSlice,
    k::resource::v1beta1::DeviceClass,
    k::resource::v1beta1::ResourceClaim,
    k::resource::v1beta1::ResourceClaimTemplate,
    k::resource::v1beta1::ResourceSlice,
    k::resource::v1beta2::DeviceClass,
    k::resource::v1beta2::ResourceClaim,
    k::resource::v1beta2::ResourceClaimTemplate,
    k::resource::v1beta2::ResourceSlice,
    k::scheduling::v1::PriorityClass,
    k::storage::v1::CSIDriver,
    k::storage::v1::CSINode,
    k::storage::v1::CSIStorageCapacity,
    k::storage::v1::StorageClass,
    k::storage::v1::VolumeAttachment,
    k::storage::v1alpha1::VolumeAttributesClass,
    k::storage::v1beta1::VolumeAttributesClass,
    k::storagemigration::v1alpha1::StorageVersionMigration,
    apiext::v1::CustomResourceDefinition,
    apireg::v1::APIService,
);

/// Kubernetes' version priority: GA before beta before alpha, higher numbers first
/// (`v1 > v1beta2 > v1beta1 > v1alpha1`), anything else after, alphabetically.
pub fn version_priority(a: &str, b: &str) -> std::cmp::Ordering {
    fn parse(v: &str) -> Option<(u32, u8, u32)> {
        let rest = v.strip_prefix('v')?;
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let major: u32 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((major, 2, 0));
        }
        let (level, n) = if let Some(n) = tail.strip_prefix("beta") {
            (1, n)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (0, n)
        } else {
            return None;
        };
        Some((major, level, n.parse().ok()?))
    }
    match (parse(a), parse(b)) {
        (Some((ma, la, na)), Some((mb, lb, nb))) => lb.cmp(&la).then(mb.cmp(&ma)).then(nb.cmp(&na)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_the_usual_kinds() {
        let kinds = builtin_kinds();
        let pod = kinds.iter().find(|k| k.kind == "Pod").expect("pods");
        assert!(pod.namespaced);
        assert_eq!(pod.plural, "pods");
        assert_eq!(pod.short_names, &["po"]);
        assert_eq!(pod.definition, "io.k8s.api.core.v1.Pod");
        let ns = kinds.iter().find(|k| k.kind == "Namespace").expect("namespaces");
        assert!(!ns.namespaced);
        assert!(!ns.verbs.contains(&"deletecollection"));
        assert!(kinds.len() > 80);
    }

    #[test]
    fn version_order() {
        let mut v = vec!["v1alpha1", "v1beta1", "v2", "v1", "v1beta2", "v2beta1", "foo"];
        v.sort_by(|a, b| version_priority(a, b));
        assert_eq!(v, vec!["v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"]);
    }
}
