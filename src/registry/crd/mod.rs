//! CustomResourceDefinitions: the schemas of custom resources (validation, pruning,
//! defaulting), the validation and status of CRDs themselves, and the resources the
//! registry serves for them.

pub mod checks;
pub mod formats;
pub mod prune;
pub mod schema;
pub mod validate;
pub mod definition;
pub mod structural;
