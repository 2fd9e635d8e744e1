//! Patches: JSON patch, JSON merge patch, strategic merge patch, and server-side
//! apply with field management. This file turns a request's patch into the
//! patched object; the patch kinds live in their own files.

pub mod apply;
pub mod fieldpath;
pub mod go_zero;
pub mod managed_fields;
pub mod strategic;
pub mod typed;
pub mod yaml_dups;

#[cfg(test)]
mod ssa_testing;

use serde_json::{Value, json};

use super::Registry;
use super::error::{ApiError, ApiResult};
use super::resource::ResourceInfo;
use super::rest::{Ctx, PatchType};
use super::schema::Node;
use super::strategy::Subresource;

/// Parse a patch body of the given type.
pub fn parse_patch(patch_type: PatchType, body: &[u8]) -> ApiResult<Value> {
    let value: Value = match patch_type {
        PatchType::Apply => {
            serde_yaml_ng::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
        }
        _ => serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?,
    };
    match (patch_type, &value) {
        (PatchType::Json, Value::Array(_)) => Ok(value),
        (PatchType::Json, _) => {
            Err(ApiError::bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch"))
        }
        (_, Value::Object(_)) => Ok(value),
        (PatchType::Apply, _) => {
            Err(ApiError::bad_request("error decoding YAML: the apply configuration must be an object"))
        }
        (_, _) => Err(ApiError::bad_request(
            "json: cannot unmarshal non-object into Go value of type map[string]interface {}",
        )),
    }
}

/// Requests for server-side apply must name their field manager.
pub fn check_apply_request(ctx: &Ctx, _force: bool) -> ApiResult<()> {
    if ctx.field_manager.as_deref().unwrap_or("").is_empty() {
        let mut e = ApiError::new(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        );
        e.details = Some(Box::new(json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
            {"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}
        ]})));
        return Err(e);
    }
    Ok(())
}

/// A JSON patch that cannot be applied: the real server's generic 422, the cause in the details.
fn patch_rejected(cause: String) -> ApiError {
    let mut e = ApiError::new(422, "Invalid", "the server rejected our request due to an error in our request");
    e.details = Some(Box::new(json!({"causes": [{"message": cause}]})));
    e
}

/// Apply a JSON, merge or strategic patch to a plain object.
pub fn apply_plain(obj: &Value, patch: &Value, patch_type: PatchType, node: Option<Node<'_>>) -> ApiResult<Value> {
    let mut out = obj.clone();
    match patch_type {
        PatchType::Json => {
            let ops: json_patch::Patch =
                serde_json::from_value(patch.clone()).map_err(|e| ApiError::bad_request(e.to_string()))?;
            json_patch::patch(&mut out, &ops).map_err(|e| patch_rejected(e.to_string()))?;
        }
        PatchType::Merge => json_patch::merge(&mut out, patch),
        PatchType::Strategic => {
            out = strategic::apply(obj, patch, node).map_err(ApiError::from)?;
        }
        PatchType::Apply => {
            return Err(ApiError::unsupported_media_type(
                "application/apply-patch+yaml",
                &[
                    "application/json-patch+json",
                    "application/merge-patch+json",
                    "application/strategic-merge-patch+json",
                ],
            ));
        }
    }
    Ok(out)
}

/// Apply a request's patch to the current object.
#[allow(clippy::too_many_arguments)]
pub fn apply_patch(
    reg: &Registry,
    ctx: &Ctx,
    res: &ResourceInfo,
    current: &Value,
    patch: &Value,
    patch_type: PatchType,
    force: bool,
    _sub: Subresource,
) -> ApiResult<Value> {
    let schemas = reg.schemas();
    let node = schemas.node(&res.definition);
    match patch_type {
        PatchType::Apply => {
            let node = node.ok_or_else(|| ApiError::internal("no schema for kind"))?;
            let manager = ctx.field_manager.clone().unwrap_or_default();
            apply::apply(Some(current), patch, &manager, force, jiff::Timestamp::now(), node)
                .map_err(|e| apply_error(res, super::meta::name(current), e))
        }
        other => apply_plain(current, patch, other, node),
    }
}

/// The API error for a failed server-side apply.
pub fn apply_error(_res: &ResourceInfo, _name: &str, e: apply::ApplyError) -> ApiError {
    e.to_api_error()
}
