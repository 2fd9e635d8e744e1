//! The catalogue of kinds and what happens to an object on its way to the store:
//! decoding, defaulting, validation, strategies, patches and selectors.

pub mod catalog;
pub mod decode;
pub mod error;
pub mod field_error;
pub mod patch_meta;
pub mod schema;
