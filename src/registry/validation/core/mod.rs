//! The core (`""`) API group.

pub mod objects;
pub mod pod;
pub mod resources;
pub mod service;
pub mod storage;
pub mod volumes;

use serde_json::Value;

use crate::registry::field_error::FieldError;

/// Validate a core object; `None` when the kind has no specific rules here.
pub fn validate(kind: &str, obj: &Value, old: Option<&Value>) -> Option<Vec<FieldError>> {
    Some(match kind {
        "Pod" => pod::validate_pod(obj, old),
        "Service" => service::validate_service(obj, old),
        "ConfigMap" => objects::validate_config_map(obj, old),
        "Secret" => objects::validate_secret(obj, old),
        "Namespace" => objects::validate_namespace(obj, old),
        "ServiceAccount" => objects::validate_meta_only(obj, old, true),
        "Node" => objects::validate_node(obj, old),
        "PersistentVolume" => storage::validate_pv(obj, old),
        "PersistentVolumeClaim" => storage::validate_pvc(obj, old),
        "Endpoints" => objects::validate_endpoints(obj, old),
        "Event" => objects::validate_event(obj, old, false),
        "LimitRange" => objects::validate_limit_range(obj, old),
        "ResourceQuota" => objects::validate_resource_quota(obj, old),
        "ReplicationController" => objects::validate_replication_controller(obj, old),
        "PodTemplate" => objects::validate_pod_template(obj, old),
        _ => return None,
    })
}

/// Validate a `/status` write of a core object; `None` when the kind has no specific rules.
pub fn validate_status(kind: &str, obj: &Value, old: &Value) -> Option<Vec<FieldError>> {
    Some(match kind {
        "Pod" => pod::validate_pod_status(obj, old),
        "Service" => service::validate_service_status(obj, old),
        "Namespace" => objects::validate_namespace_status(obj, old),
        "Node" => objects::validate_node(obj, Some(old)),
        "PersistentVolume" => storage::validate_pv_status(obj, old),
        "PersistentVolumeClaim" => storage::validate_pvc_status(obj, old),
        "ResourceQuota" => objects::validate_resource_quota_status(obj, old),
        "ReplicationController" => objects::validate_replication_controller_status(obj, old),
        _ => return None,
    })
}
