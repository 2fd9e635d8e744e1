//! ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding (CEL).
//! (Being written: see issue 5.)

use serde_json::Value;

use super::attributes::Attributes;
use crate::registry::Registry;
use crate::registry::error::ApiResult;
use crate::registry::resource::ResourceInfo;

/// What is kept between requests.
#[derive(Default)]
pub struct Cache {}

impl Cache {
    /// An object of `res` was written: forget what was built from such objects.
    pub fn invalidate(&self, _res: &ResourceInfo) {}
}

/// Evaluate the bound policies that match a create, update or delete (`obj` is `None` for a delete).
pub async fn validate(
    _reg: &Registry,
    _attrs: &Attributes<'_>,
    _obj: Option<&Value>,
    _warnings: &mut Vec<String>,
) -> ApiResult<()> {
    Ok(())
}
