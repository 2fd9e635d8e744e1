//! ResourceQuota admission.
//! (Being written: see issue 5.)

use serde_json::Value;

use super::Allocation;
use super::attributes::Attributes;
use crate::registry::Registry;
use crate::registry::error::ApiResult;

/// Refuse a create or update that would exceed a quota of its namespace.
pub async fn admit(_reg: &Registry, _attrs: &Attributes<'_>, _obj: &Value, _alloc: &mut Allocation) -> ApiResult<()> {
    Ok(())
}
