//! The `x-kubernetes-*` metadata Kubernetes attaches to fields of built-in types
//! (from the Go struct tags `patchStrategy`, `patchMergeKey`, `+listType`,
//! `+listMapKey`, `+mapType`, `+structType`), which k8s-openapi's schemas lack.
//! [`apply`] writes it into the schema index, where strategic merge patch,
//! server-side apply and the OpenAPI documents all read it.

use serde_json::{Value, json};

use super::schema::Schemas;

/// Metadata of one field (`field` is a property name) or of a whole definition (`field == ""`).
pub struct FieldMeta {
    pub def: &'static str,
    pub field: &'static str,
    pub patch_strategy: Option<&'static str>,
    pub merge_key: Option<&'static str>,
    pub list_type: Option<&'static str>,
    pub map_keys: &'static [&'static str],
    pub map_type: Option<&'static str>,
}

/// One table entry: metadata of `field` of definition `def` (`""` for the definition itself).
const fn f(def: &'static str, field: &'static str) -> FieldMeta {
    FieldMeta { def, field, patch_strategy: None, merge_key: None, list_type: None, map_keys: &[], map_type: None }
}

impl FieldMeta {
    /// Set `x-kubernetes-patch-strategy`.
    const fn strategy(self, s: &'static str) -> Self {
        FieldMeta { patch_strategy: Some(s), ..self }
    }

    /// Set `x-kubernetes-patch-merge-key`.
    const fn merge_key(self, k: &'static str) -> Self {
        FieldMeta { merge_key: Some(k), ..self }
    }

    /// Set `x-kubernetes-list-type`.
    const fn list(self, t: &'static str) -> Self {
        FieldMeta { list_type: Some(t), ..self }
    }

    /// Set `x-kubernetes-list-map-keys`.
    const fn keys(self, keys: &'static [&'static str]) -> Self {
        FieldMeta { map_keys: keys, ..self }
    }

    /// Set `x-kubernetes-map-type`.
    const fn map(self, t: &'static str) -> Self {
        FieldMeta { map_type: Some(t), ..self }
    }
}

/// Every field and definition of the built-in types that carries patch or list/map
/// metadata, derived from the Kubernetes 1.33 OpenAPI spec (`api/openapi-spec/swagger.json`
/// of the release-1.33 branch) by a throwaway script: one entry per definition-level
/// (`field: ""`) or property-level occurrence of `x-kubernetes-patch-strategy`,
/// `x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`
/// or `x-kubernetes-map-type`, sorted by definition and field.
pub static FIELDS: &[FieldMeta] = &[
    f("io.k8s.api.admissionregistration.v1.MatchResources", "").map("atomic"),
    f("io.k8s.api.admissionregistration.v1.MatchResources", "excludeResourceRules").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.MatchResources", "resourceRules").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.MutatingWebhook", "admissionReviewVersions").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.MutatingWebhook", "matchConditions")
        .strategy("merge")
        .merge_key("name")
        .list("map")
        .keys(&["name"]),
    f("io.k8s.api.admissionregistration.v1.MutatingWebhook", "rules").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration", "webhooks")
        .strategy("merge")
        .merge_key("name")
        .list("map")
        .keys(&["name"]),
    f("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", "").map("atomic"),
    f("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", "apiGroups").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", "apiVersions").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", "operations").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", "resourceNames").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", "resources").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.ParamKind", "").map("atomic"),
    f("io.k8s.api.admissionregistration.v1.ParamRef", "").map("atomic"),
    f("io.k8s.api.admissionregistration.v1.RuleWithOperations", "apiGroups").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.RuleWithOperations", "apiVersions").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.RuleWithOperations", "operations").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.RuleWithOperations", "resources").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.TypeChecking", "expressionWarnings").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec", "validationActions").list("set"),
    f("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec", "auditAnnotations").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec", "matchConditions")
        .strategy("merge")
        .merge_key("name")
        .list("map")
        .keys(&["name"]),
    f("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec", "validations").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec", "variables")
        .strategy("merge")
        .merge_key("name")
        .list("map")
        .keys(&["name"]),
    f("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyStatus", "conditions").list("map").keys(&["type"]),
    f("io.k8s.api.admissionregistration.v1.ValidatingWebhook", "admissionReviewVersions").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.ValidatingWebhook", "matchConditions")
        .strategy("merge")
        .merge_key("name")
        .list("map")
        .keys(&["name"]),
    f("io.k8s.api.admissionregistration.v1.ValidatingWebhook", "rules").list("atomic"),
    f("io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration", "webhooks")
        .strategy("merge")
        .merge_key("name")
        .list("map")
        .keys(&["name"]),
    f("io.k8s.api.admissionregistration.v1.Variable", "").map("atomic"),
    f("io.k8s.api.admissionregistration.v1alpha1.MatchResources", "").map("atomic"),
    f("io.k8s.api.admissionregistration.v1alpha1.MatchResources", "excludeResourceRules").list("atomic"),
    f("io.k8s.api.admissionregistration.v1alpha1.MatchResources", "resourceRules").list("atomic"),
    f("io.k8s.api.admissionregistration.v1alpha1.MutatingAdmissionPolicySpec", "matchConditions")
        .strategy("merge")
        .merge_key("name")
        .list("map")
        .keys(&["name"]),
    f("io.k8s.api.admissionregistration.v1alpha1.MutatingAdmissionPolicySpec", "mutations").list("atomic"),
    f("io.k8s.api.admissionregistration.v1alpha1.MutatingAdmissionPolicySpec", "variables").list("atomic"),
    f("io.k8s.api.admissionregistration.v1alpha1.NamedRuleWithOperations", "").map("atomic"),
    f("io.k8s.api.admissionregistration.v1alpha1.NamedRuleWithOperations", "apiGroups").list("atomic"),
    f("io.k8s.api.admissionregistration.v1alpha1.NamedRuleWithOperations", "apiVersions").list("atomic"),
    f("io.k8s.api.admissionregistration.v1alpha1.NamedRuleWithOperations", "operations").list("atomic"),
    f("io.k8s.api.admissionregistration.v1alpha1.NamedRuleWithOperations", "resourceNames").list("atomic"),
    f("io.k8s.api.admissionregistration.v1alpha1.NamedRuleWithOperations", "resources").list("atomic"),
    f("io.k8s.api.admissionregistration.v1alpha1.ParamKind", "").map("atomic"),
    f("io.k8s.api.admissionregistration.v1alpha1.ParamRef", "").map("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.MatchResources", "").map("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.MatchResources", "excludeResourceRules").list("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.MatchResources", "resourceRules").list("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.NamedRuleWithOperations", "").map("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.NamedRuleWithOperations", "apiGroups").list("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.NamedRuleWithOperations", "apiVersions").list("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.NamedRuleWithOperations", "operations").list("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.NamedRuleWithOperations", "resourceNames").list("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.NamedRuleWithOperations", "resources").list("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.ParamKind", "").map("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.ParamRef", "").map("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.TypeChecking", "expressionWarnings").list("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicyBindingSpec", "validationActions").list("set"),
    f("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicySpec", "auditAnnotations").list("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicySpec", "matchConditions")
        .strategy("merge")
        .merge_key("name")
        .list("map")
        .keys(&["name"]),
    f("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicySpec", "validations").list("atomic"),
    f("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicySpec", "variables")
        .strategy("merge")
        .merge_key("name")
        .list("map")
        .keys(&["name"]),
    f("io.k8s.api.admissionregistration.v1beta1.ValidatingAdmissionPolicyStatus", "conditions")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.admissionregistration.v1beta1.Variable", "").map("atomic"),
    f("io.k8s.api.apiserverinternal.v1alpha1.ServerStorageVersion", "decodableVersions").list("set"),
    f("io.k8s.api.apiserverinternal.v1alpha1.ServerStorageVersion", "servedVersions").list("set"),
    f("io.k8s.api.apiserverinternal.v1alpha1.StorageVersionStatus", "conditions").list("map").keys(&["type"]),
    f("io.k8s.api.apiserverinternal.v1alpha1.StorageVersionStatus", "storageVersions")
        .list("map")
        .keys(&["apiServerID"]),
    f("io.k8s.api.apps.v1.DaemonSetStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.apps.v1.DeploymentSpec", "strategy").strategy("retainKeys"),
    f("io.k8s.api.apps.v1.DeploymentStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.apps.v1.ReplicaSetStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.apps.v1.StatefulSetSpec", "volumeClaimTemplates").list("atomic"),
    f("io.k8s.api.apps.v1.StatefulSetStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.authentication.v1.TokenRequestSpec", "audiences").list("atomic"),
    f("io.k8s.api.authentication.v1.TokenReviewSpec", "audiences").list("atomic"),
    f("io.k8s.api.authentication.v1.TokenReviewStatus", "audiences").list("atomic"),
    f("io.k8s.api.authentication.v1.UserInfo", "groups").list("atomic"),
    f("io.k8s.api.authorization.v1.FieldSelectorAttributes", "requirements").list("atomic"),
    f("io.k8s.api.authorization.v1.LabelSelectorAttributes", "requirements").list("atomic"),
    f("io.k8s.api.authorization.v1.NonResourceRule", "nonResourceURLs").list("atomic"),
    f("io.k8s.api.authorization.v1.NonResourceRule", "verbs").list("atomic"),
    f("io.k8s.api.authorization.v1.ResourceRule", "apiGroups").list("atomic"),
    f("io.k8s.api.authorization.v1.ResourceRule", "resourceNames").list("atomic"),
    f("io.k8s.api.authorization.v1.ResourceRule", "resources").list("atomic"),
    f("io.k8s.api.authorization.v1.ResourceRule", "verbs").list("atomic"),
    f("io.k8s.api.authorization.v1.SubjectAccessReviewSpec", "groups").list("atomic"),
    f("io.k8s.api.authorization.v1.SubjectRulesReviewStatus", "nonResourceRules").list("atomic"),
    f("io.k8s.api.authorization.v1.SubjectRulesReviewStatus", "resourceRules").list("atomic"),
    f("io.k8s.api.autoscaling.v1.CrossVersionObjectReference", "").map("atomic"),
    f("io.k8s.api.autoscaling.v2.HPAScalingRules", "policies").list("atomic"),
    f("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec", "metrics").list("atomic"),
    f("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus", "currentMetrics").list("atomic"),
    f("io.k8s.api.batch.v1.CronJobStatus", "active").list("atomic"),
    f("io.k8s.api.batch.v1.JobStatus", "conditions").strategy("merge").merge_key("type").list("atomic"),
    f("io.k8s.api.batch.v1.PodFailurePolicy", "rules").list("atomic"),
    f("io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement", "values").list("set"),
    f("io.k8s.api.batch.v1.PodFailurePolicyRule", "onPodConditions").list("atomic"),
    f("io.k8s.api.batch.v1.SuccessPolicy", "rules").list("atomic"),
    f("io.k8s.api.batch.v1.UncountedTerminatedPods", "failed").list("set"),
    f("io.k8s.api.batch.v1.UncountedTerminatedPods", "succeeded").list("set"),
    f("io.k8s.api.certificates.v1.CertificateSigningRequestSpec", "groups").list("atomic"),
    f("io.k8s.api.certificates.v1.CertificateSigningRequestSpec", "request").list("atomic"),
    f("io.k8s.api.certificates.v1.CertificateSigningRequestSpec", "usages").list("atomic"),
    f("io.k8s.api.certificates.v1.CertificateSigningRequestStatus", "certificate").list("atomic"),
    f("io.k8s.api.certificates.v1.CertificateSigningRequestStatus", "conditions").list("map").keys(&["type"]),
    f("io.k8s.api.core.v1.Capabilities", "add").list("atomic"),
    f("io.k8s.api.core.v1.Capabilities", "drop").list("atomic"),
    f("io.k8s.api.core.v1.CephFSPersistentVolumeSource", "monitors").list("atomic"),
    f("io.k8s.api.core.v1.CephFSVolumeSource", "monitors").list("atomic"),
    f("io.k8s.api.core.v1.ComponentStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.core.v1.ConfigMapKeySelector", "").map("atomic"),
    f("io.k8s.api.core.v1.ConfigMapProjection", "items").list("atomic"),
    f("io.k8s.api.core.v1.ConfigMapVolumeSource", "items").list("atomic"),
    f("io.k8s.api.core.v1.Container", "args").list("atomic"),
    f("io.k8s.api.core.v1.Container", "command").list("atomic"),
    f("io.k8s.api.core.v1.Container", "env").strategy("merge").merge_key("name").list("map").keys(&["name"]),
    f("io.k8s.api.core.v1.Container", "envFrom").list("atomic"),
    f("io.k8s.api.core.v1.Container", "ports")
        .strategy("merge")
        .merge_key("containerPort")
        .list("map")
        .keys(&["containerPort", "protocol"]),
    f("io.k8s.api.core.v1.Container", "resizePolicy").list("atomic"),
    f("io.k8s.api.core.v1.Container", "volumeDevices")
        .strategy("merge")
        .merge_key("devicePath")
        .list("map")
        .keys(&["devicePath"]),
    f("io.k8s.api.core.v1.Container", "volumeMounts")
        .strategy("merge")
        .merge_key("mountPath")
        .list("map")
        .keys(&["mountPath"]),
    f("io.k8s.api.core.v1.ContainerImage", "names").list("atomic"),
    f("io.k8s.api.core.v1.ContainerStatus", "allocatedResourcesStatus")
        .strategy("merge")
        .merge_key("name")
        .list("map")
        .keys(&["name"]),
    f("io.k8s.api.core.v1.ContainerStatus", "volumeMounts")
        .strategy("merge")
        .merge_key("mountPath")
        .list("map")
        .keys(&["mountPath"]),
    f("io.k8s.api.core.v1.DownwardAPIProjection", "items").list("atomic"),
    f("io.k8s.api.core.v1.DownwardAPIVolumeSource", "items").list("atomic"),
    f("io.k8s.api.core.v1.EndpointAddress", "").map("atomic"),
    f("io.k8s.api.core.v1.EndpointPort", "").map("atomic"),
    f("io.k8s.api.core.v1.EndpointSubset", "addresses").list("atomic"),
    f("io.k8s.api.core.v1.EndpointSubset", "notReadyAddresses").list("atomic"),
    f("io.k8s.api.core.v1.EndpointSubset", "ports").list("atomic"),
    f("io.k8s.api.core.v1.Endpoints", "subsets").list("atomic"),
    f("io.k8s.api.core.v1.EphemeralContainer", "args").list("atomic"),
    f("io.k8s.api.core.v1.EphemeralContainer", "command").list("atomic"),
    f("io.k8s.api.core.v1.EphemeralContainer", "env").strategy("merge").merge_key("name").list("map").keys(&["name"]),
    f("io.k8s.api.core.v1.EphemeralContainer", "envFrom").list("atomic"),
    f("io.k8s.api.core.v1.EphemeralContainer", "ports")
        .strategy("merge")
        .merge_key("containerPort")
        .list("map")
        .keys(&["containerPort", "protocol"]),
    f("io.k8s.api.core.v1.EphemeralContainer", "resizePolicy").list("atomic"),
    f("io.k8s.api.core.v1.EphemeralContainer", "volumeDevices")
        .strategy("merge")
        .merge_key("devicePath")
        .list("map")
        .keys(&["devicePath"]),
    f("io.k8s.api.core.v1.EphemeralContainer", "volumeMounts")
        .strategy("merge")
        .merge_key("mountPath")
        .list("map")
        .keys(&["mountPath"]),
    f("io.k8s.api.core.v1.ExecAction", "command").list("atomic"),
    f("io.k8s.api.core.v1.FCVolumeSource", "targetWWNs").list("atomic"),
    f("io.k8s.api.core.v1.FCVolumeSource", "wwids").list("atomic"),
    f("io.k8s.api.core.v1.HTTPGetAction", "httpHeaders").list("atomic"),
    f("io.k8s.api.core.v1.HostAlias", "hostnames").list("atomic"),
    f("io.k8s.api.core.v1.ISCSIPersistentVolumeSource", "portals").list("atomic"),
    f("io.k8s.api.core.v1.ISCSIVolumeSource", "portals").list("atomic"),
    f("io.k8s.api.core.v1.LimitRangeSpec", "limits").list("atomic"),
    f("io.k8s.api.core.v1.LinuxContainerUser", "supplementalGroups").list("atomic"),
    f("io.k8s.api.core.v1.LoadBalancerIngress", "ports").list("atomic"),
    f("io.k8s.api.core.v1.LoadBalancerStatus", "ingress").list("atomic"),
    f("io.k8s.api.core.v1.LocalObjectReference", "").map("atomic"),
    f("io.k8s.api.core.v1.NamespaceSpec", "finalizers").list("atomic"),
    f("io.k8s.api.core.v1.NamespaceStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.core.v1.NodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution").list("atomic"),
    f("io.k8s.api.core.v1.NodeSelector", "").map("atomic"),
    f("io.k8s.api.core.v1.NodeSelector", "nodeSelectorTerms").list("atomic"),
    f("io.k8s.api.core.v1.NodeSelectorRequirement", "values").list("atomic"),
    f("io.k8s.api.core.v1.NodeSelectorTerm", "").map("atomic"),
    f("io.k8s.api.core.v1.NodeSelectorTerm", "matchExpressions").list("atomic"),
    f("io.k8s.api.core.v1.NodeSelectorTerm", "matchFields").list("atomic"),
    f("io.k8s.api.core.v1.NodeSpec", "podCIDRs").strategy("merge").list("set"),
    f("io.k8s.api.core.v1.NodeSpec", "taints").list("atomic"),
    f("io.k8s.api.core.v1.NodeStatus", "addresses").strategy("merge").merge_key("type").list("map").keys(&["type"]),
    f("io.k8s.api.core.v1.NodeStatus", "conditions").strategy("merge").merge_key("type").list("map").keys(&["type"]),
    f("io.k8s.api.core.v1.NodeStatus", "images").list("atomic"),
    f("io.k8s.api.core.v1.NodeStatus", "runtimeHandlers").list("atomic"),
    f("io.k8s.api.core.v1.NodeStatus", "volumesAttached").list("atomic"),
    f("io.k8s.api.core.v1.NodeStatus", "volumesInUse").list("atomic"),
    f("io.k8s.api.core.v1.ObjectFieldSelector", "").map("atomic"),
    f("io.k8s.api.core.v1.ObjectReference", "").map("atomic"),
    f("io.k8s.api.core.v1.PersistentVolumeClaimSpec", "accessModes").list("atomic"),
    f("io.k8s.api.core.v1.PersistentVolumeClaimStatus", "accessModes").list("atomic"),
    f("io.k8s.api.core.v1.PersistentVolumeClaimStatus", "allocatedResourceStatuses").map("granular"),
    f("io.k8s.api.core.v1.PersistentVolumeClaimStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.core.v1.PersistentVolumeSpec", "accessModes").list("atomic"),
    f("io.k8s.api.core.v1.PersistentVolumeSpec", "claimRef").map("granular"),
    f("io.k8s.api.core.v1.PersistentVolumeSpec", "mountOptions").list("atomic"),
    f("io.k8s.api.core.v1.PodAffinity", "preferredDuringSchedulingIgnoredDuringExecution").list("atomic"),
    f("io.k8s.api.core.v1.PodAffinity", "requiredDuringSchedulingIgnoredDuringExecution").list("atomic"),
    f("io.k8s.api.core.v1.PodAffinityTerm", "matchLabelKeys").list("atomic"),
    f("io.k8s.api.core.v1.PodAffinityTerm", "mismatchLabelKeys").list("atomic"),
    f("io.k8s.api.core.v1.PodAffinityTerm", "namespaces").list("atomic"),
    f("io.k8s.api.core.v1.PodAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution").list("atomic"),
    f("io.k8s.api.core.v1.PodAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution").list("atomic"),
    f("io.k8s.api.core.v1.PodDNSConfig", "nameservers").list("atomic"),
    f("io.k8s.api.core.v1.PodDNSConfig", "options").list("atomic"),
    f("io.k8s.api.core.v1.PodDNSConfig", "searches").list("atomic"),
    f("io.k8s.api.core.v1.PodSecurityContext", "supplementalGroups").list("atomic"),
    f("io.k8s.api.core.v1.PodSecurityContext", "sysctls").list("atomic"),
    f("io.k8s.api.core.v1.PodSpec", "containers").strategy("merge").merge_key("name").list("map").keys(&["name"]),
    f("io.k8s.api.core.v1.PodSpec", "ephemeralContainers")
        .strategy("merge")
        .merge_key("name")
        .list("map")
        .keys(&["name"]),
    f("io.k8s.api.core.v1.PodSpec", "hostAliases").strategy("merge").merge_key("ip").list("map").keys(&["ip"]),
    f("io.k8s.api.core.v1.PodSpec", "imagePullSecrets").strategy("merge").merge_key("name").list("map").keys(&["name"]),
    f("io.k8s.api.core.v1.PodSpec", "initContainers").strategy("merge").merge_key("name").list("map").keys(&["name"]),
    f("io.k8s.api.core.v1.PodSpec", "nodeSelector").map("atomic"),
    f("io.k8s.api.core.v1.PodSpec", "readinessGates").list("atomic"),
    f("io.k8s.api.core.v1.PodSpec", "resourceClaims")
        .strategy("merge,retainKeys")
        .merge_key("name")
        .list("map")
        .keys(&["name"]),
    f("io.k8s.api.core.v1.PodSpec", "schedulingGates").strategy("merge").merge_key("name").list("map").keys(&["name"]),
    f("io.k8s.api.core.v1.PodSpec", "tolerations").list("atomic"),
    f("io.k8s.api.core.v1.PodSpec", "topologySpreadConstraints")
        .strategy("merge")
        .merge_key("topologyKey")
        .list("map")
        .keys(&["topologyKey", "whenUnsatisfiable"]),
    f("io.k8s.api.core.v1.PodSpec", "volumes")
        .strategy("merge,retainKeys")
        .merge_key("name")
        .list("map")
        .keys(&["name"]),
    f("io.k8s.api.core.v1.PodStatus", "conditions").strategy("merge").merge_key("type").list("map").keys(&["type"]),
    f("io.k8s.api.core.v1.PodStatus", "containerStatuses").list("atomic"),
    f("io.k8s.api.core.v1.PodStatus", "ephemeralContainerStatuses").list("atomic"),
    f("io.k8s.api.core.v1.PodStatus", "hostIPs").strategy("merge").merge_key("ip").list("atomic"),
    f("io.k8s.api.core.v1.PodStatus", "initContainerStatuses").list("atomic"),
    f("io.k8s.api.core.v1.PodStatus", "podIPs").strategy("merge").merge_key("ip").list("map").keys(&["ip"]),
    f("io.k8s.api.core.v1.PodStatus", "resourceClaimStatuses")
        .strategy("merge,retainKeys")
        .merge_key("name")
        .list("map")
        .keys(&["name"]),
    f("io.k8s.api.core.v1.ProjectedVolumeSource", "sources").list("atomic"),
    f("io.k8s.api.core.v1.RBDPersistentVolumeSource", "monitors").list("atomic"),
    f("io.k8s.api.core.v1.RBDVolumeSource", "monitors").list("atomic"),
    f("io.k8s.api.core.v1.ReplicationControllerSpec", "selector").map("atomic"),
    f("io.k8s.api.core.v1.ReplicationControllerStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.core.v1.ResourceFieldSelector", "").map("atomic"),
    f("io.k8s.api.core.v1.ResourceQuotaSpec", "scopes").list("atomic"),
    f("io.k8s.api.core.v1.ResourceRequirements", "claims").list("map").keys(&["name"]),
    f("io.k8s.api.core.v1.ResourceStatus", "resources").list("map").keys(&["resourceID"]),
    f("io.k8s.api.core.v1.ScopeSelector", "").map("atomic"),
    f("io.k8s.api.core.v1.ScopeSelector", "matchExpressions").list("atomic"),
    f("io.k8s.api.core.v1.ScopedResourceSelectorRequirement", "values").list("atomic"),
    f("io.k8s.api.core.v1.SecretKeySelector", "").map("atomic"),
    f("io.k8s.api.core.v1.SecretProjection", "items").list("atomic"),
    f("io.k8s.api.core.v1.SecretReference", "").map("atomic"),
    f("io.k8s.api.core.v1.SecretVolumeSource", "items").list("atomic"),
    f("io.k8s.api.core.v1.ServiceAccount", "imagePullSecrets").list("atomic"),
    f("io.k8s.api.core.v1.ServiceAccount", "secrets").strategy("merge").merge_key("name").list("map").keys(&["name"]),
    f("io.k8s.api.core.v1.ServiceSpec", "clusterIPs").list("atomic"),
    f("io.k8s.api.core.v1.ServiceSpec", "externalIPs").list("atomic"),
    f("io.k8s.api.core.v1.ServiceSpec", "ipFamilies").list("atomic"),
    f("io.k8s.api.core.v1.ServiceSpec", "loadBalancerSourceRanges").list("atomic"),
    f("io.k8s.api.core.v1.ServiceSpec", "ports")
        .strategy("merge")
        .merge_key("port")
        .list("map")
        .keys(&["port", "protocol"]),
    f("io.k8s.api.core.v1.ServiceSpec", "selector").map("atomic"),
    f("io.k8s.api.core.v1.ServiceStatus", "conditions").strategy("merge").merge_key("type").list("map").keys(&["type"]),
    f("io.k8s.api.core.v1.TopologySelectorLabelRequirement", "values").list("atomic"),
    f("io.k8s.api.core.v1.TopologySelectorTerm", "").map("atomic"),
    f("io.k8s.api.core.v1.TopologySelectorTerm", "matchLabelExpressions").list("atomic"),
    f("io.k8s.api.core.v1.TopologySpreadConstraint", "matchLabelKeys").list("atomic"),
    f("io.k8s.api.core.v1.TypedLocalObjectReference", "").map("atomic"),
    f("io.k8s.api.discovery.v1.Endpoint", "addresses").list("set"),
    f("io.k8s.api.discovery.v1.EndpointHints", "forNodes").list("atomic"),
    f("io.k8s.api.discovery.v1.EndpointHints", "forZones").list("atomic"),
    f("io.k8s.api.discovery.v1.EndpointPort", "").map("atomic"),
    f("io.k8s.api.discovery.v1.EndpointSlice", "endpoints").list("atomic"),
    f("io.k8s.api.discovery.v1.EndpointSlice", "ports").list("atomic"),
    f("io.k8s.api.flowcontrol.v1.FlowSchemaSpec", "rules").list("atomic"),
    f("io.k8s.api.flowcontrol.v1.FlowSchemaStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.flowcontrol.v1.NonResourcePolicyRule", "nonResourceURLs").list("set"),
    f("io.k8s.api.flowcontrol.v1.NonResourcePolicyRule", "verbs").list("set"),
    f("io.k8s.api.flowcontrol.v1.PolicyRulesWithSubjects", "nonResourceRules").list("atomic"),
    f("io.k8s.api.flowcontrol.v1.PolicyRulesWithSubjects", "resourceRules").list("atomic"),
    f("io.k8s.api.flowcontrol.v1.PolicyRulesWithSubjects", "subjects").list("atomic"),
    f("io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.flowcontrol.v1.ResourcePolicyRule", "apiGroups").list("set"),
    f("io.k8s.api.flowcontrol.v1.ResourcePolicyRule", "namespaces").list("set"),
    f("io.k8s.api.flowcontrol.v1.ResourcePolicyRule", "resources").list("set"),
    f("io.k8s.api.flowcontrol.v1.ResourcePolicyRule", "verbs").list("set"),
    f("io.k8s.api.networking.v1.HTTPIngressRuleValue", "paths").list("atomic"),
    f("io.k8s.api.networking.v1.IPBlock", "except").list("atomic"),
    f("io.k8s.api.networking.v1.IngressLoadBalancerIngress", "ports").list("atomic"),
    f("io.k8s.api.networking.v1.IngressLoadBalancerStatus", "ingress").list("atomic"),
    f("io.k8s.api.networking.v1.IngressSpec", "rules").list("atomic"),
    f("io.k8s.api.networking.v1.IngressSpec", "tls").list("atomic"),
    f("io.k8s.api.networking.v1.IngressTLS", "hosts").list("atomic"),
    f("io.k8s.api.networking.v1.NetworkPolicyEgressRule", "ports").list("atomic"),
    f("io.k8s.api.networking.v1.NetworkPolicyEgressRule", "to").list("atomic"),
    f("io.k8s.api.networking.v1.NetworkPolicyIngressRule", "from").list("atomic"),
    f("io.k8s.api.networking.v1.NetworkPolicyIngressRule", "ports").list("atomic"),
    f("io.k8s.api.networking.v1.NetworkPolicySpec", "egress").list("atomic"),
    f("io.k8s.api.networking.v1.NetworkPolicySpec", "ingress").list("atomic"),
    f("io.k8s.api.networking.v1.NetworkPolicySpec", "policyTypes").list("atomic"),
    f("io.k8s.api.networking.v1.ServiceBackendPort", "").map("atomic"),
    f("io.k8s.api.networking.v1.ServiceCIDRSpec", "cidrs").list("atomic"),
    f("io.k8s.api.networking.v1.ServiceCIDRStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.networking.v1beta1.ServiceCIDRSpec", "cidrs").list("atomic"),
    f("io.k8s.api.networking.v1beta1.ServiceCIDRStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.node.v1.Scheduling", "nodeSelector").map("atomic"),
    f("io.k8s.api.node.v1.Scheduling", "tolerations").list("atomic"),
    f("io.k8s.api.policy.v1.PodDisruptionBudgetSpec", "selector").strategy("replace"),
    f("io.k8s.api.policy.v1.PodDisruptionBudgetStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.rbac.v1.AggregationRule", "clusterRoleSelectors").list("atomic"),
    f("io.k8s.api.rbac.v1.ClusterRole", "rules").list("atomic"),
    f("io.k8s.api.rbac.v1.ClusterRoleBinding", "subjects").list("atomic"),
    f("io.k8s.api.rbac.v1.PolicyRule", "apiGroups").list("atomic"),
    f("io.k8s.api.rbac.v1.PolicyRule", "nonResourceURLs").list("atomic"),
    f("io.k8s.api.rbac.v1.PolicyRule", "resourceNames").list("atomic"),
    f("io.k8s.api.rbac.v1.PolicyRule", "resources").list("atomic"),
    f("io.k8s.api.rbac.v1.PolicyRule", "verbs").list("atomic"),
    f("io.k8s.api.rbac.v1.Role", "rules").list("atomic"),
    f("io.k8s.api.rbac.v1.RoleBinding", "subjects").list("atomic"),
    f("io.k8s.api.rbac.v1.RoleRef", "").map("atomic"),
    f("io.k8s.api.rbac.v1.Subject", "").map("atomic"),
    f("io.k8s.api.resource.v1alpha3.AllocatedDeviceStatus", "conditions").list("map").keys(&["type"]),
    f("io.k8s.api.resource.v1alpha3.BasicDevice", "consumesCounters").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.BasicDevice", "taints").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceAllocationConfiguration", "requests").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceAllocationResult", "config").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceAllocationResult", "results").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceClaim", "config").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceClaim", "constraints").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceClaim", "requests").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceClaimConfiguration", "requests").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceClassSpec", "config").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceClassSpec", "selectors").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceConstraint", "requests").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceRequest", "firstAvailable").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceRequest", "selectors").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceRequest", "tolerations").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceRequestAllocationResult", "tolerations").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceSubRequest", "selectors").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceSubRequest", "tolerations").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.DeviceTaintSelector", "selectors").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.NetworkDeviceData", "ips").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.ResourceClaimStatus", "devices").list("map").keys(&["driver", "device", "pool"]),
    f("io.k8s.api.resource.v1alpha3.ResourceClaimStatus", "reservedFor")
        .strategy("merge")
        .merge_key("uid")
        .list("map")
        .keys(&["uid"]),
    f("io.k8s.api.resource.v1alpha3.ResourceSliceSpec", "devices").list("atomic"),
    f("io.k8s.api.resource.v1alpha3.ResourceSliceSpec", "sharedCounters").list("atomic"),
    f("io.k8s.api.resource.v1beta1.AllocatedDeviceStatus", "conditions").list("map").keys(&["type"]),
    f("io.k8s.api.resource.v1beta1.BasicDevice", "consumesCounters").list("atomic"),
    f("io.k8s.api.resource.v1beta1.BasicDevice", "taints").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceAllocationConfiguration", "requests").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceAllocationResult", "config").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceAllocationResult", "results").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceClaim", "config").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceClaim", "constraints").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceClaim", "requests").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceClaimConfiguration", "requests").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceClassSpec", "config").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceClassSpec", "selectors").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceConstraint", "requests").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceRequest", "firstAvailable").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceRequest", "selectors").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceRequest", "tolerations").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceRequestAllocationResult", "tolerations").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceSubRequest", "selectors").list("atomic"),
    f("io.k8s.api.resource.v1beta1.DeviceSubRequest", "tolerations").list("atomic"),
    f("io.k8s.api.resource.v1beta1.NetworkDeviceData", "ips").list("atomic"),
    f("io.k8s.api.resource.v1beta1.ResourceClaimStatus", "devices").list("map").keys(&["driver", "device", "pool"]),
    f("io.k8s.api.resource.v1beta1.ResourceClaimStatus", "reservedFor")
        .strategy("merge")
        .merge_key("uid")
        .list("map")
        .keys(&["uid"]),
    f("io.k8s.api.resource.v1beta1.ResourceSliceSpec", "devices").list("atomic"),
    f("io.k8s.api.resource.v1beta1.ResourceSliceSpec", "sharedCounters").list("atomic"),
    f("io.k8s.api.resource.v1beta2.AllocatedDeviceStatus", "conditions").list("map").keys(&["type"]),
    f("io.k8s.api.resource.v1beta2.Device", "consumesCounters").list("atomic"),
    f("io.k8s.api.resource.v1beta2.Device", "taints").list("atomic"),
    f("io.k8s.api.resource.v1beta2.DeviceAllocationConfiguration", "requests").list("atomic"),
    f("io.k8s.api.resource.v1beta2.DeviceAllocationResult", "config").list("atomic"),
    f("io.k8s.api.resource.v1beta2.DeviceAllocationResult", "results").list("atomic"),
    f("io.k8s.api.resource.v1beta2.DeviceClaim", "config").list("atomic"),
    f("io.k8s.api.resource.v1beta2.DeviceClaim", "constraints").list("atomic"),
    f("io.k8s.api.resource.v1beta2.DeviceClaim", "requests").list("atomic"),
    f("io.k8s.api.resource.v1beta2.DeviceClaimConfiguration", "requests").list("atomic"),
    f("io.k8s.api.resource.v1beta2.DeviceClassSpec", "config").list("atomic"),
    f("io.k8s.api.resource.v1beta2.DeviceClassSpec", "selectors").list("atomic"),
    f("io.k8s.api.resource.v1beta2.DeviceConstraint", "requests").list("atomic"),
    f("io.k8s.api.resource.v1beta2.DeviceRequest", "firstAvailable").list("atomic"),
    f("io.k8s.api.resource.v1beta2.DeviceRequestAllocationResult", "tolerations").list("atomic"),
    f("io.k8s.api.resource.v1beta2.DeviceSubRequest", "selectors").list("atomic"),
    f("io.k8s.api.resource.v1beta2.DeviceSubRequest", "tolerations").list("atomic"),
    f("io.k8s.api.resource.v1beta2.ExactDeviceRequest", "selectors").list("atomic"),
    f("io.k8s.api.resource.v1beta2.ExactDeviceRequest", "tolerations").list("atomic"),
    f("io.k8s.api.resource.v1beta2.NetworkDeviceData", "ips").list("atomic"),
    f("io.k8s.api.resource.v1beta2.ResourceClaimStatus", "devices").list("map").keys(&["driver", "device", "pool"]),
    f("io.k8s.api.resource.v1beta2.ResourceClaimStatus", "reservedFor")
        .strategy("merge")
        .merge_key("uid")
        .list("map")
        .keys(&["uid"]),
    f("io.k8s.api.resource.v1beta2.ResourceSliceSpec", "devices").list("atomic"),
    f("io.k8s.api.resource.v1beta2.ResourceSliceSpec", "sharedCounters").list("atomic"),
    f("io.k8s.api.storage.v1.CSIDriverSpec", "tokenRequests").list("atomic"),
    f("io.k8s.api.storage.v1.CSIDriverSpec", "volumeLifecycleModes").list("set"),
    f("io.k8s.api.storage.v1.CSINodeDriver", "topologyKeys").list("atomic"),
    f("io.k8s.api.storage.v1.CSINodeSpec", "drivers").strategy("merge").merge_key("name").list("map").keys(&["name"]),
    f("io.k8s.api.storage.v1.StorageClass", "allowedTopologies").list("atomic"),
    f("io.k8s.api.storage.v1.StorageClass", "mountOptions").list("atomic"),
    f("io.k8s.api.storagemigration.v1alpha1.StorageVersionMigrationList", "items")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.api.storagemigration.v1alpha1.StorageVersionMigrationStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNames", "categories")
        .list("atomic"),
    f("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNames", "shortNames")
        .list("atomic"),
    f("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpec", "versions")
        .list("atomic"),
    f("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus", "conditions")
        .list("map")
        .keys(&["type"]),
    f("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus", "storedVersions")
        .list("atomic"),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersion",
        "additionalPrinterColumns",
    )
    .list("atomic"),
    f("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersion", "selectableFields")
        .list("atomic"),
    f("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "allOf").list("atomic"),
    f("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "anyOf").list("atomic"),
    f("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "enum").list("atomic"),
    f("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "oneOf").list("atomic"),
    f("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "required").list("atomic"),
    f("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "x-kubernetes-list-map-keys")
        .list("atomic"),
    f("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", "x-kubernetes-validations")
        .strategy("merge")
        .merge_key("rule")
        .list("map")
        .keys(&["rule"]),
    f("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.WebhookConversion", "conversionReviewVersions")
        .list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup", "serverAddressByClientCIDRs").list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup", "versions").list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList", "groups").list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.APIResource", "categories").list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.APIResource", "shortNames").list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList", "resources").list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions", "serverAddressByClientCIDRs").list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions", "versions").list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", "dryRun").list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement", "values").list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector", "").map("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector", "matchExpressions").list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement", "values").list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers").strategy("merge").list("set"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "managedFields").list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences")
        .strategy("merge")
        .merge_key("uid")
        .list("map")
        .keys(&["uid"]),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference", "").map("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.Status", "details").list("atomic"),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails", "causes").list("atomic"),
    f("io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIServiceSpec", "caBundle").list("atomic"),
    f("io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIServiceStatus", "conditions")
        .strategy("merge")
        .merge_key("type")
        .list("map")
        .keys(&["type"]),
];

/// Write the table's extensions into the schemas.
pub fn apply(schemas: &mut Schemas) {
    for m in FIELDS {
        let Some(def) = schemas.get_mut(m.def) else { continue };
        let target =
            if m.field.is_empty() { Some(def) } else { def.get_mut("properties").and_then(|p| p.get_mut(m.field)) };
        let Some(Value::Object(obj)) = target else { continue };
        if let Some(s) = m.patch_strategy {
            obj.insert("x-kubernetes-patch-strategy".into(), s.into());
        }
        if let Some(k) = m.merge_key {
            obj.insert("x-kubernetes-patch-merge-key".into(), k.into());
        }
        if let Some(t) = m.list_type {
            obj.insert("x-kubernetes-list-type".into(), t.into());
        }
        if !m.map_keys.is_empty() {
            obj.insert("x-kubernetes-list-map-keys".into(), json!(m.map_keys));
        }
        if let Some(t) = m.map_type {
            obj.insert("x-kubernetes-map-type".into(), t.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path<'a>(schemas: &'a Schemas, def: &str, fields: &[&str]) -> crate::registry::schema::Node<'a> {
        let mut node = schemas.node(def).unwrap_or_else(|| panic!("no definition {def}"));
        for f in fields {
            node = match *f {
                "[]" => node.items(),
                name => node.property(name),
            }
            .unwrap_or_else(|| panic!("no {f} under {def}"));
        }
        node
    }

    #[test]
    fn pod_containers_merge_by_name() {
        let s = Schemas::builtin();
        let c = path(&s, "io.k8s.api.core.v1.Pod", &["spec", "containers"]);
        assert_eq!(c.patch_strategies(), ["merge"]);
        assert_eq!(c.patch_merge_key(), Some("name"));
        assert_eq!(c.list_type(), Some("map"));
        assert_eq!(c.list_map_keys(), ["name"]);
    }

    #[test]
    fn container_ports_merge_by_container_port() {
        let s = Schemas::builtin();
        let p = path(&s, "io.k8s.api.apps.v1.Deployment", &["spec", "template", "spec", "containers", "[]", "ports"]);
        assert_eq!(p.patch_strategies(), ["merge"]);
        assert_eq!(p.patch_merge_key(), Some("containerPort"));
        assert_eq!(p.list_type(), Some("map"));
        assert_eq!(p.list_map_keys(), ["containerPort", "protocol"]);
    }

    #[test]
    fn finalizers_are_a_merged_set() {
        let s = Schemas::builtin();
        let f = path(&s, "io.k8s.api.core.v1.ConfigMap", &["metadata", "finalizers"]);
        assert_eq!(f.patch_strategies(), ["merge"]);
        assert_eq!(f.patch_merge_key(), None);
        assert_eq!(f.list_type(), Some("set"));
        let owners = path(&s, "io.k8s.api.core.v1.ConfigMap", &["metadata", "ownerReferences"]);
        assert_eq!(owners.patch_merge_key(), Some("uid"));
        let managed = path(&s, "io.k8s.api.core.v1.ConfigMap", &["metadata", "managedFields"]);
        assert_eq!(managed.list_type(), Some("atomic"));
    }

    #[test]
    fn service_ports_merge_by_port() {
        let s = Schemas::builtin();
        let p = path(&s, "io.k8s.api.core.v1.Service", &["spec", "ports"]);
        assert_eq!(p.patch_merge_key(), Some("port"));
        assert_eq!(p.list_map_keys(), ["port", "protocol"]);
        assert_eq!(path(&s, "io.k8s.api.core.v1.Service", &["spec", "selector"]).map_type(), Some("atomic"));
    }

    #[test]
    fn volumes_and_strategy_retain_keys() {
        let s = Schemas::builtin();
        let v = path(&s, "io.k8s.api.core.v1.PodSpec", &["volumes"]);
        assert_eq!(v.patch_strategies(), ["merge", "retainKeys"]);
        assert_eq!(v.patch_merge_key(), Some("name"));
        let st = path(&s, "io.k8s.api.apps.v1.Deployment", &["spec", "strategy"]);
        assert_eq!(st.patch_strategies(), ["retainKeys"]);
        let tol = path(&s, "io.k8s.api.core.v1.PodSpec", &["tolerations"]);
        assert_eq!(tol.patch_merge_key(), None);
        assert_eq!(tol.list_type(), Some("atomic"));
    }

    #[test]
    fn label_selector_is_an_atomic_map() {
        let s = Schemas::builtin();
        let def = s.get("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector").expect("LabelSelector");
        assert_eq!(def["x-kubernetes-map-type"], "atomic");
        let sel = path(&s, "io.k8s.api.apps.v1.Deployment", &["spec", "selector"]);
        assert_eq!(sel.map_type(), Some("atomic"));
        assert_eq!(sel.property("matchExpressions").and_then(|n| n.list_type()), Some("atomic"));
    }

    /// Every entry whose definition is in the index names a property that exists.
    #[test]
    fn every_entry_lands() {
        let s = Schemas::builtin();
        for m in FIELDS {
            let Some(def) = s.get(m.def) else { continue };
            let target =
                if m.field.is_empty() { Some(def) } else { def.get("properties").and_then(|p| p.get(m.field)) };
            let target = target.unwrap_or_else(|| panic!("{}.{} missing", m.def, m.field));
            if let Some(k) = m.merge_key {
                assert_eq!(target["x-kubernetes-patch-merge-key"], k, "{}.{}", m.def, m.field);
            }
            if let Some(t) = m.list_type {
                assert_eq!(target["x-kubernetes-list-type"], t, "{}.{}", m.def, m.field);
            }
        }
    }
}
