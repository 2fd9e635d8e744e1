//! Label and field selectors, parsed and matched as the real API server does, with the
//! field labels each built-in kind supports.

mod field;
mod label;

pub use field::{FieldSelector, Requirement, field_value};
pub use label::{LabelSelector, Operator, Requirement as LabelRequirement, label_value_errors, qualified_name_errors};
