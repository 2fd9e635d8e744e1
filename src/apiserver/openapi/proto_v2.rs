//! The Swagger 2.0 document in gnostic's protobuf form (`openapi.v2.Document`).
//!
//! kubectl 1.27 and 1.28 fetch `GET /openapi/v2` with
//! `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf` and decode the body with the
//! message types of gnostic's `openapiv2/OpenAPIv2.proto`. The Kubernetes API server produces those bytes
//! by parsing its JSON document with gnostic's compiler (`openapi_v2.ParseDocument`) and marshalling the
//! result; this module produces the same message tree from a `serde_json::Value`:
//!
//! * every JSON object becomes the message the compiler would choose, maps become ordered lists of
//!   `Named*` pairs in document order, and a key present with an empty object stays a present (empty)
//!   message, which matters to readers that test for presence (`properties: {}`);
//! * free-form values (`default`, `example`, `enum` items and every `x-*` vendor extension) become an
//!   [`pb::Any`] whose `yaml` field holds the value serialized the way gnostic does it (go-yaml v3 with
//!   four-space indentation and no line folding); `Any.value` stays empty, as no extension handlers run.
//!   kube-openapi reads the GVK list, patch strategies and merge keys back from that YAML text.
//!
//! Unlike gnostic, the encoder does not reject unknown keys or missing required keys; it fails only
//! when a value has a JSON type that the message field cannot hold.

use prost::Message;
use serde_json::Value;

/// Encode a Swagger 2.0 document (as JSON) into gnostic's `openapi.v2.Document` protobuf bytes.
pub fn encode_document(doc: &Value) -> Result<Vec<u8>, String> {
    Ok(convert::document(doc)?.encode_to_vec())
}

/// Message types of gnostic's `openapiv2/OpenAPIv2.proto` (package `openapi.v2`), with its field numbers.
///
/// Map-like objects are repeated `Named*` pairs; the `xref` fields (gnostic's `_ref`) hold `$ref`. The oneof
/// enums hold their messages inline, as prost-build generates them.
#[allow(clippy::large_enum_variant)]
pub mod pb {
    /// `google.protobuf.Any` (gnostic leaves it unset when no extension handler runs).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ProtobufAny {
        #[prost(string, tag = "1")]
        pub type_url: String,
        #[prost(bytes = "vec", tag = "2")]
        pub value: Vec<u8>,
    }

    /// A free-form JSON value, kept as YAML text.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Any {
        #[prost(message, optional, tag = "1")]
        pub value: Option<ProtobufAny>,
        #[prost(string, tag = "2")]
        pub yaml: String,
    }

    /// A `name: value` pair of a map of free-form values (vendor extensions, examples).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedAny {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<Any>,
    }

    /// The root Swagger object.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Document {
        #[prost(string, tag = "1")]
        pub swagger: String,
        #[prost(message, optional, tag = "2")]
        pub info: Option<Info>,
        #[prost(string, tag = "3")]
        pub host: String,
        #[prost(string, tag = "4")]
        pub base_path: String,
        #[prost(string, repeated, tag = "5")]
        pub schemes: Vec<String>,
        #[prost(string, repeated, tag = "6")]
        pub consumes: Vec<String>,
        #[prost(string, repeated, tag = "7")]
        pub produces: Vec<String>,
        #[prost(message, optional, tag = "8")]
        pub paths: Option<Paths>,
        #[prost(message, optional, tag = "9")]
        pub definitions: Option<Definitions>,
        #[prost(message, optional, tag = "10")]
        pub parameters: Option<ParameterDefinitions>,
        #[prost(message, optional, tag = "11")]
        pub responses: Option<ResponseDefinitions>,
        #[prost(message, repeated, tag = "12")]
        pub security: Vec<SecurityRequirement>,
        #[prost(message, optional, tag = "13")]
        pub security_definitions: Option<SecurityDefinitions>,
        #[prost(message, repeated, tag = "14")]
        pub tags: Vec<Tag>,
        #[prost(message, optional, tag = "15")]
        pub external_docs: Option<ExternalDocs>,
        #[prost(message, repeated, tag = "16")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// General information about the API.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Info {
        #[prost(string, tag = "1")]
        pub title: String,
        #[prost(string, tag = "2")]
        pub version: String,
        #[prost(string, tag = "3")]
        pub description: String,
        #[prost(string, tag = "4")]
        pub terms_of_service: String,
        #[prost(message, optional, tag = "5")]
        pub contact: Option<Contact>,
        #[prost(message, optional, tag = "6")]
        pub license: Option<License>,
        #[prost(message, repeated, tag = "7")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// Contact information of the API owners.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Contact {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub url: String,
        #[prost(string, tag = "3")]
        pub email: String,
        #[prost(message, repeated, tag = "4")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// License information of the API.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct License {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub url: String,
        #[prost(message, repeated, tag = "3")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// A reference to external documentation.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ExternalDocs {
        #[prost(string, tag = "1")]
        pub description: String,
        #[prost(string, tag = "2")]
        pub url: String,
        #[prost(message, repeated, tag = "3")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// A tag used by operations.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tag {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub description: String,
        #[prost(message, optional, tag = "3")]
        pub external_docs: Option<ExternalDocs>,
        #[prost(message, repeated, tag = "4")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// The `paths` object: path items by path (`/…` keys) and vendor extensions.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Paths {
        #[prost(message, repeated, tag = "1")]
        pub vendor_extension: Vec<NamedAny>,
        #[prost(message, repeated, tag = "2")]
        pub path: Vec<NamedPathItem>,
    }

    /// A `path: item` pair of [`Paths`].
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedPathItem {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<PathItem>,
    }

    /// The operations of one path.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PathItem {
        #[prost(string, tag = "1")]
        pub xref: String,
        #[prost(message, optional, tag = "2")]
        pub get: Option<Operation>,
        #[prost(message, optional, tag = "3")]
        pub put: Option<Operation>,
        #[prost(message, optional, tag = "4")]
        pub post: Option<Operation>,
        #[prost(message, optional, tag = "5")]
        pub delete: Option<Operation>,
        #[prost(message, optional, tag = "6")]
        pub options: Option<Operation>,
        #[prost(message, optional, tag = "7")]
        pub head: Option<Operation>,
        #[prost(message, optional, tag = "8")]
        pub patch: Option<Operation>,
        #[prost(message, repeated, tag = "9")]
        pub parameters: Vec<ParametersItem>,
        #[prost(message, repeated, tag = "10")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// One API operation.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Operation {
        #[prost(string, repeated, tag = "1")]
        pub tags: Vec<String>,
        #[prost(string, tag = "2")]
        pub summary: String,
        #[prost(string, tag = "3")]
        pub description: String,
        #[prost(message, optional, tag = "4")]
        pub external_docs: Option<ExternalDocs>,
        #[prost(string, tag = "5")]
        pub operation_id: String,
        #[prost(string, repeated, tag = "6")]
        pub produces: Vec<String>,
        #[prost(string, repeated, tag = "7")]
        pub consumes: Vec<String>,
        #[prost(message, repeated, tag = "8")]
        pub parameters: Vec<ParametersItem>,
        #[prost(message, optional, tag = "9")]
        pub responses: Option<Responses>,
        #[prost(string, repeated, tag = "10")]
        pub schemes: Vec<String>,
        #[prost(bool, tag = "11")]
        pub deprecated: bool,
        #[prost(message, repeated, tag = "12")]
        pub security: Vec<SecurityRequirement>,
        #[prost(message, repeated, tag = "13")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// An item of a `parameters` list: a parameter or a `$ref` to one.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ParametersItem {
        #[prost(oneof = "parameters_item::Oneof", tags = "1, 2")]
        pub oneof: Option<parameters_item::Oneof>,
    }

    /// The choices of [`ParametersItem`].
    pub mod parameters_item {
        /// A parameter or a reference.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Oneof {
            #[prost(message, tag = "1")]
            Parameter(super::Parameter),
            #[prost(message, tag = "2")]
            JsonReference(super::JsonReference),
        }
    }

    /// A `$ref` object.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct JsonReference {
        #[prost(string, tag = "1")]
        pub xref: String,
        #[prost(string, tag = "2")]
        pub description: String,
    }

    /// A body or non-body parameter.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Parameter {
        #[prost(oneof = "parameter::Oneof", tags = "1, 2")]
        pub oneof: Option<parameter::Oneof>,
    }

    /// The choices of [`Parameter`].
    pub mod parameter {
        /// A body parameter (`in: body`) or any other.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Oneof {
            #[prost(message, tag = "1")]
            BodyParameter(super::BodyParameter),
            #[prost(message, tag = "2")]
            NonBodyParameter(super::NonBodyParameter),
        }
    }

    /// A parameter with `in: body`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BodyParameter {
        #[prost(string, tag = "1")]
        pub description: String,
        #[prost(string, tag = "2")]
        pub name: String,
        #[prost(string, tag = "3")]
        pub r#in: String,
        #[prost(bool, tag = "4")]
        pub required: bool,
        #[prost(message, optional, tag = "5")]
        pub schema: Option<Schema>,
        #[prost(message, repeated, tag = "6")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// A header, formData, query or path parameter.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NonBodyParameter {
        #[prost(oneof = "non_body_parameter::Oneof", tags = "1, 2, 3, 4")]
        pub oneof: Option<non_body_parameter::Oneof>,
    }

    /// The choices of [`NonBodyParameter`].
    pub mod non_body_parameter {
        /// One message per parameter location.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Oneof {
            #[prost(message, tag = "1")]
            HeaderParameterSubSchema(super::HeaderParameterSubSchema),
            #[prost(message, tag = "2")]
            FormDataParameterSubSchema(super::FormDataParameterSubSchema),
            #[prost(message, tag = "3")]
            QueryParameterSubSchema(super::QueryParameterSubSchema),
            #[prost(message, tag = "4")]
            PathParameterSubSchema(super::PathParameterSubSchema),
        }
    }

    /// A parameter with `in: header`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct HeaderParameterSubSchema {
        #[prost(bool, tag = "1")]
        pub required: bool,
        #[prost(string, tag = "2")]
        pub r#in: String,
        #[prost(string, tag = "3")]
        pub description: String,
        #[prost(string, tag = "4")]
        pub name: String,
        #[prost(string, tag = "5")]
        pub r#type: String,
        #[prost(string, tag = "6")]
        pub format: String,
        #[prost(message, optional, tag = "7")]
        pub items: Option<PrimitivesItems>,
        #[prost(string, tag = "8")]
        pub collection_format: String,
        #[prost(message, optional, tag = "9")]
        pub default: Option<Any>,
        #[prost(double, tag = "10")]
        pub maximum: f64,
        #[prost(bool, tag = "11")]
        pub exclusive_maximum: bool,
        #[prost(double, tag = "12")]
        pub minimum: f64,
        #[prost(bool, tag = "13")]
        pub exclusive_minimum: bool,
        #[prost(int64, tag = "14")]
        pub max_length: i64,
        #[prost(int64, tag = "15")]
        pub min_length: i64,
        #[prost(string, tag = "16")]
        pub pattern: String,
        #[prost(int64, tag = "17")]
        pub max_items: i64,
        #[prost(int64, tag = "18")]
        pub min_items: i64,
        #[prost(bool, tag = "19")]
        pub unique_items: bool,
        #[prost(message, repeated, tag = "20")]
        pub r#enum: Vec<Any>,
        #[prost(double, tag = "21")]
        pub multiple_of: f64,
        #[prost(message, repeated, tag = "22")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// A parameter with `in: formData`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FormDataParameterSubSchema {
        #[prost(bool, tag = "1")]
        pub required: bool,
        #[prost(string, tag = "2")]
        pub r#in: String,
        #[prost(string, tag = "3")]
        pub description: String,
        #[prost(string, tag = "4")]
        pub name: String,
        #[prost(bool, tag = "5")]
        pub allow_empty_value: bool,
        #[prost(string, tag = "6")]
        pub r#type: String,
        #[prost(string, tag = "7")]
        pub format: String,
        #[prost(message, optional, tag = "8")]
        pub items: Option<PrimitivesItems>,
        #[prost(string, tag = "9")]
        pub collection_format: String,
        #[prost(message, optional, tag = "10")]
        pub default: Option<Any>,
        #[prost(double, tag = "11")]
        pub maximum: f64,
        #[prost(bool, tag = "12")]
        pub exclusive_maximum: bool,
        #[prost(double, tag = "13")]
        pub minimum: f64,
        #[prost(bool, tag = "14")]
        pub exclusive_minimum: bool,
        #[prost(int64, tag = "15")]
        pub max_length: i64,
        #[prost(int64, tag = "16")]
        pub min_length: i64,
        #[prost(string, tag = "17")]
        pub pattern: String,
        #[prost(int64, tag = "18")]
        pub max_items: i64,
        #[prost(int64, tag = "19")]
        pub min_items: i64,
        #[prost(bool, tag = "20")]
        pub unique_items: bool,
        #[prost(message, repeated, tag = "21")]
        pub r#enum: Vec<Any>,
        #[prost(double, tag = "22")]
        pub multiple_of: f64,
        #[prost(message, repeated, tag = "23")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// A parameter with `in: query`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct QueryParameterSubSchema {
        #[prost(bool, tag = "1")]
        pub required: bool,
        #[prost(string, tag = "2")]
        pub r#in: String,
        #[prost(string, tag = "3")]
        pub description: String,
        #[prost(string, tag = "4")]
        pub name: String,
        #[prost(bool, tag = "5")]
        pub allow_empty_value: bool,
        #[prost(string, tag = "6")]
        pub r#type: String,
        #[prost(string, tag = "7")]
        pub format: String,
        #[prost(message, optional, tag = "8")]
        pub items: Option<PrimitivesItems>,
        #[prost(string, tag = "9")]
        pub collection_format: String,
        #[prost(message, optional, tag = "10")]
        pub default: Option<Any>,
        #[prost(double, tag = "11")]
        pub maximum: f64,
        #[prost(bool, tag = "12")]
        pub exclusive_maximum: bool,
        #[prost(double, tag = "13")]
        pub minimum: f64,
        #[prost(bool, tag = "14")]
        pub exclusive_minimum: bool,
        #[prost(int64, tag = "15")]
        pub max_length: i64,
        #[prost(int64, tag = "16")]
        pub min_length: i64,
        #[prost(string, tag = "17")]
        pub pattern: String,
        #[prost(int64, tag = "18")]
        pub max_items: i64,
        #[prost(int64, tag = "19")]
        pub min_items: i64,
        #[prost(bool, tag = "20")]
        pub unique_items: bool,
        #[prost(message, repeated, tag = "21")]
        pub r#enum: Vec<Any>,
        #[prost(double, tag = "22")]
        pub multiple_of: f64,
        #[prost(message, repeated, tag = "23")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// A parameter with `in: path`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PathParameterSubSchema {
        #[prost(bool, tag = "1")]
        pub required: bool,
        #[prost(string, tag = "2")]
        pub r#in: String,
        #[prost(string, tag = "3")]
        pub description: String,
        #[prost(string, tag = "4")]
        pub name: String,
        #[prost(string, tag = "5")]
        pub r#type: String,
        #[prost(string, tag = "6")]
        pub format: String,
        #[prost(message, optional, tag = "7")]
        pub items: Option<PrimitivesItems>,
        #[prost(string, tag = "8")]
        pub collection_format: String,
        #[prost(message, optional, tag = "9")]
        pub default: Option<Any>,
        #[prost(double, tag = "10")]
        pub maximum: f64,
        #[prost(bool, tag = "11")]
        pub exclusive_maximum: bool,
        #[prost(double, tag = "12")]
        pub minimum: f64,
        #[prost(bool, tag = "13")]
        pub exclusive_minimum: bool,
        #[prost(int64, tag = "14")]
        pub max_length: i64,
        #[prost(int64, tag = "15")]
        pub min_length: i64,
        #[prost(string, tag = "16")]
        pub pattern: String,
        #[prost(int64, tag = "17")]
        pub max_items: i64,
        #[prost(int64, tag = "18")]
        pub min_items: i64,
        #[prost(bool, tag = "19")]
        pub unique_items: bool,
        #[prost(message, repeated, tag = "20")]
        pub r#enum: Vec<Any>,
        #[prost(double, tag = "21")]
        pub multiple_of: f64,
        #[prost(message, repeated, tag = "22")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// The `items` of a non-body parameter or header.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PrimitivesItems {
        #[prost(string, tag = "1")]
        pub r#type: String,
        #[prost(string, tag = "2")]
        pub format: String,
        #[prost(message, optional, boxed, tag = "3")]
        pub items: Option<Box<PrimitivesItems>>,
        #[prost(string, tag = "4")]
        pub collection_format: String,
        #[prost(message, optional, tag = "5")]
        pub default: Option<Any>,
        #[prost(double, tag = "6")]
        pub maximum: f64,
        #[prost(bool, tag = "7")]
        pub exclusive_maximum: bool,
        #[prost(double, tag = "8")]
        pub minimum: f64,
        #[prost(bool, tag = "9")]
        pub exclusive_minimum: bool,
        #[prost(int64, tag = "10")]
        pub max_length: i64,
        #[prost(int64, tag = "11")]
        pub min_length: i64,
        #[prost(string, tag = "12")]
        pub pattern: String,
        #[prost(int64, tag = "13")]
        pub max_items: i64,
        #[prost(int64, tag = "14")]
        pub min_items: i64,
        #[prost(bool, tag = "15")]
        pub unique_items: bool,
        #[prost(message, repeated, tag = "16")]
        pub r#enum: Vec<Any>,
        #[prost(double, tag = "17")]
        pub multiple_of: f64,
        #[prost(message, repeated, tag = "18")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// A response header.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Header {
        #[prost(string, tag = "1")]
        pub r#type: String,
        #[prost(string, tag = "2")]
        pub format: String,
        #[prost(message, optional, tag = "3")]
        pub items: Option<PrimitivesItems>,
        #[prost(string, tag = "4")]
        pub collection_format: String,
        #[prost(message, optional, tag = "5")]
        pub default: Option<Any>,
        #[prost(double, tag = "6")]
        pub maximum: f64,
        #[prost(bool, tag = "7")]
        pub exclusive_maximum: bool,
        #[prost(double, tag = "8")]
        pub minimum: f64,
        #[prost(bool, tag = "9")]
        pub exclusive_minimum: bool,
        #[prost(int64, tag = "10")]
        pub max_length: i64,
        #[prost(int64, tag = "11")]
        pub min_length: i64,
        #[prost(string, tag = "12")]
        pub pattern: String,
        #[prost(int64, tag = "13")]
        pub max_items: i64,
        #[prost(int64, tag = "14")]
        pub min_items: i64,
        #[prost(bool, tag = "15")]
        pub unique_items: bool,
        #[prost(message, repeated, tag = "16")]
        pub r#enum: Vec<Any>,
        #[prost(double, tag = "17")]
        pub multiple_of: f64,
        #[prost(string, tag = "18")]
        pub description: String,
        #[prost(message, repeated, tag = "19")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// The headers of a response.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Headers {
        #[prost(message, repeated, tag = "1")]
        pub additional_properties: Vec<NamedHeader>,
    }

    /// A `name: header` pair of [`Headers`].
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedHeader {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<Header>,
    }

    /// The `responses` of an operation, by status code or `default`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Responses {
        #[prost(message, repeated, tag = "1")]
        pub response_code: Vec<NamedResponseValue>,
        #[prost(message, repeated, tag = "2")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// A `code: response` pair of [`Responses`].
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedResponseValue {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<ResponseValue>,
    }

    /// A response or a `$ref` to one.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ResponseValue {
        #[prost(oneof = "response_value::Oneof", tags = "1, 2")]
        pub oneof: Option<response_value::Oneof>,
    }

    /// The choices of [`ResponseValue`].
    pub mod response_value {
        /// A response or a reference.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Oneof {
            #[prost(message, tag = "1")]
            Response(super::Response),
            #[prost(message, tag = "2")]
            JsonReference(super::JsonReference),
        }
    }

    /// One response of an operation.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Response {
        #[prost(string, tag = "1")]
        pub description: String,
        #[prost(message, optional, tag = "2")]
        pub schema: Option<SchemaItem>,
        #[prost(message, optional, tag = "3")]
        pub headers: Option<Headers>,
        #[prost(message, optional, tag = "4")]
        pub examples: Option<Examples>,
        #[prost(message, repeated, tag = "5")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// The examples of a response, by MIME type.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Examples {
        #[prost(message, repeated, tag = "1")]
        pub additional_properties: Vec<NamedAny>,
    }

    /// The schema of a response: a schema or a file schema.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SchemaItem {
        #[prost(oneof = "schema_item::Oneof", tags = "1, 2")]
        pub oneof: Option<schema_item::Oneof>,
    }

    /// The choices of [`SchemaItem`].
    pub mod schema_item {
        /// A schema or a file schema (`type: file`).
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Oneof {
            #[prost(message, tag = "1")]
            Schema(super::Schema),
            #[prost(message, tag = "2")]
            FileSchema(super::FileSchema),
        }
    }

    /// A response schema with `type: file`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FileSchema {
        #[prost(string, tag = "1")]
        pub format: String,
        #[prost(string, tag = "2")]
        pub title: String,
        #[prost(string, tag = "3")]
        pub description: String,
        #[prost(message, optional, tag = "4")]
        pub default: Option<Any>,
        #[prost(string, repeated, tag = "5")]
        pub required: Vec<String>,
        #[prost(string, tag = "6")]
        pub r#type: String,
        #[prost(bool, tag = "7")]
        pub read_only: bool,
        #[prost(message, optional, tag = "8")]
        pub external_docs: Option<ExternalDocs>,
        #[prost(message, optional, tag = "9")]
        pub example: Option<Any>,
        #[prost(message, repeated, tag = "10")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// A JSON schema (Swagger's subset).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Schema {
        #[prost(string, tag = "1")]
        pub xref: String,
        #[prost(string, tag = "2")]
        pub format: String,
        #[prost(string, tag = "3")]
        pub title: String,
        #[prost(string, tag = "4")]
        pub description: String,
        #[prost(message, optional, tag = "5")]
        pub default: Option<Any>,
        #[prost(double, tag = "6")]
        pub multiple_of: f64,
        #[prost(double, tag = "7")]
        pub maximum: f64,
        #[prost(bool, tag = "8")]
        pub exclusive_maximum: bool,
        #[prost(double, tag = "9")]
        pub minimum: f64,
        #[prost(bool, tag = "10")]
        pub exclusive_minimum: bool,
        #[prost(int64, tag = "11")]
        pub max_length: i64,
        #[prost(int64, tag = "12")]
        pub min_length: i64,
        #[prost(string, tag = "13")]
        pub pattern: String,
        #[prost(int64, tag = "14")]
        pub max_items: i64,
        #[prost(int64, tag = "15")]
        pub min_items: i64,
        #[prost(bool, tag = "16")]
        pub unique_items: bool,
        #[prost(int64, tag = "17")]
        pub max_properties: i64,
        #[prost(int64, tag = "18")]
        pub min_properties: i64,
        #[prost(string, repeated, tag = "19")]
        pub required: Vec<String>,
        #[prost(message, repeated, tag = "20")]
        pub r#enum: Vec<Any>,
        #[prost(message, optional, boxed, tag = "21")]
        pub additional_properties: Option<Box<AdditionalPropertiesItem>>,
        #[prost(message, optional, tag = "22")]
        pub r#type: Option<TypeItem>,
        #[prost(message, optional, tag = "23")]
        pub items: Option<ItemsItem>,
        #[prost(message, repeated, tag = "24")]
        pub all_of: Vec<Schema>,
        #[prost(message, optional, tag = "25")]
        pub properties: Option<Properties>,
        #[prost(string, tag = "26")]
        pub discriminator: String,
        #[prost(bool, tag = "27")]
        pub read_only: bool,
        #[prost(message, optional, tag = "28")]
        pub xml: Option<Xml>,
        #[prost(message, optional, tag = "29")]
        pub external_docs: Option<ExternalDocs>,
        #[prost(message, optional, tag = "30")]
        pub example: Option<Any>,
        #[prost(message, repeated, tag = "31")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// `additionalProperties`: a boolean or a schema.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AdditionalPropertiesItem {
        #[prost(oneof = "additional_properties_item::Oneof", tags = "1, 2")]
        pub oneof: Option<additional_properties_item::Oneof>,
    }

    /// The choices of [`AdditionalPropertiesItem`].
    pub mod additional_properties_item {
        /// A schema or a boolean.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Oneof {
            #[prost(message, tag = "1")]
            Schema(Box<super::Schema>),
            #[prost(bool, tag = "2")]
            Boolean(bool),
        }
    }

    /// `type`: one type name or several.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TypeItem {
        #[prost(string, repeated, tag = "1")]
        pub value: Vec<String>,
    }

    /// `items` of a schema (gnostic holds the single item schema in a list).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ItemsItem {
        #[prost(message, repeated, tag = "1")]
        pub schema: Vec<Schema>,
    }

    /// `properties` of a schema.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Properties {
        #[prost(message, repeated, tag = "1")]
        pub additional_properties: Vec<NamedSchema>,
    }

    /// A `name: schema` pair of [`Properties`] or [`Definitions`].
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedSchema {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<Schema>,
    }

    /// The document's `definitions` (models).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Definitions {
        #[prost(message, repeated, tag = "1")]
        pub additional_properties: Vec<NamedSchema>,
    }

    /// XML representation hints of a schema.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Xml {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub namespace: String,
        #[prost(string, tag = "3")]
        pub prefix: String,
        #[prost(bool, tag = "4")]
        pub attribute: bool,
        #[prost(bool, tag = "5")]
        pub wrapped: bool,
        #[prost(message, repeated, tag = "6")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// The document's shared `parameters`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ParameterDefinitions {
        #[prost(message, repeated, tag = "1")]
        pub additional_properties: Vec<NamedParameter>,
    }

    /// A `name: parameter` pair of [`ParameterDefinitions`].
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedParameter {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<Parameter>,
    }

    /// The document's shared `responses`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ResponseDefinitions {
        #[prost(message, repeated, tag = "1")]
        pub additional_properties: Vec<NamedResponse>,
    }

    /// A `name: response` pair of [`ResponseDefinitions`].
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedResponse {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<Response>,
    }

    /// One item of `security`: required schemes with their scopes.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SecurityRequirement {
        #[prost(message, repeated, tag = "1")]
        pub additional_properties: Vec<NamedStringArray>,
    }

    /// A `name: [strings]` pair of [`SecurityRequirement`].
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedStringArray {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<StringArray>,
    }

    /// A list of strings.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StringArray {
        #[prost(string, repeated, tag = "1")]
        pub value: Vec<String>,
    }

    /// The document's `securityDefinitions`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SecurityDefinitions {
        #[prost(message, repeated, tag = "1")]
        pub additional_properties: Vec<NamedSecurityDefinitionsItem>,
    }

    /// A `name: scheme` pair of [`SecurityDefinitions`].
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedSecurityDefinitionsItem {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<SecurityDefinitionsItem>,
    }

    /// One security scheme.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SecurityDefinitionsItem {
        #[prost(oneof = "security_definitions_item::Oneof", tags = "1, 2, 3, 4, 5, 6")]
        pub oneof: Option<security_definitions_item::Oneof>,
    }

    /// The choices of [`SecurityDefinitionsItem`].
    pub mod security_definitions_item {
        /// One message per scheme type and OAuth2 flow.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Oneof {
            #[prost(message, tag = "1")]
            BasicAuthenticationSecurity(super::BasicAuthenticationSecurity),
            #[prost(message, tag = "2")]
            ApiKeySecurity(super::ApiKeySecurity),
            #[prost(message, tag = "3")]
            Oauth2ImplicitSecurity(super::Oauth2ImplicitSecurity),
            #[prost(message, tag = "4")]
            Oauth2PasswordSecurity(super::Oauth2PasswordSecurity),
            #[prost(message, tag = "5")]
            Oauth2ApplicationSecurity(super::Oauth2ApplicationSecurity),
            #[prost(message, tag = "6")]
            Oauth2AccessCodeSecurity(super::Oauth2AccessCodeSecurity),
        }
    }

    /// `type: basic`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BasicAuthenticationSecurity {
        #[prost(string, tag = "1")]
        pub r#type: String,
        #[prost(string, tag = "2")]
        pub description: String,
        #[prost(message, repeated, tag = "3")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// `type: apiKey`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ApiKeySecurity {
        #[prost(string, tag = "1")]
        pub r#type: String,
        #[prost(string, tag = "2")]
        pub name: String,
        #[prost(string, tag = "3")]
        pub r#in: String,
        #[prost(string, tag = "4")]
        pub description: String,
        #[prost(message, repeated, tag = "5")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// `type: oauth2`, `flow: implicit`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Oauth2ImplicitSecurity {
        #[prost(string, tag = "1")]
        pub r#type: String,
        #[prost(string, tag = "2")]
        pub flow: String,
        #[prost(message, optional, tag = "3")]
        pub scopes: Option<Oauth2Scopes>,
        #[prost(string, tag = "4")]
        pub authorization_url: String,
        #[prost(string, tag = "5")]
        pub description: String,
        #[prost(message, repeated, tag = "6")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// `type: oauth2`, `flow: password`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Oauth2PasswordSecurity {
        #[prost(string, tag = "1")]
        pub r#type: String,
        #[prost(string, tag = "2")]
        pub flow: String,
        #[prost(message, optional, tag = "3")]
        pub scopes: Option<Oauth2Scopes>,
        #[prost(string, tag = "4")]
        pub token_url: String,
        #[prost(string, tag = "5")]
        pub description: String,
        #[prost(message, repeated, tag = "6")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// `type: oauth2`, `flow: application`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Oauth2ApplicationSecurity {
        #[prost(string, tag = "1")]
        pub r#type: String,
        #[prost(string, tag = "2")]
        pub flow: String,
        #[prost(message, optional, tag = "3")]
        pub scopes: Option<Oauth2Scopes>,
        #[prost(string, tag = "4")]
        pub token_url: String,
        #[prost(string, tag = "5")]
        pub description: String,
        #[prost(message, repeated, tag = "6")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// `type: oauth2`, `flow: accessCode`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Oauth2AccessCodeSecurity {
        #[prost(string, tag = "1")]
        pub r#type: String,
        #[prost(string, tag = "2")]
        pub flow: String,
        #[prost(message, optional, tag = "3")]
        pub scopes: Option<Oauth2Scopes>,
        #[prost(string, tag = "4")]
        pub authorization_url: String,
        #[prost(string, tag = "5")]
        pub token_url: String,
        #[prost(string, tag = "6")]
        pub description: String,
        #[prost(message, repeated, tag = "7")]
        pub vendor_extension: Vec<NamedAny>,
    }

    /// The scopes of an OAuth2 scheme.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Oauth2Scopes {
        #[prost(message, repeated, tag = "1")]
        pub additional_properties: Vec<NamedString>,
    }

    /// A `name: string` pair of [`Oauth2Scopes`].
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedString {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub value: String,
    }
}

/// Builds the message tree from the JSON document, choosing the messages gnostic's compiler chooses.
mod convert {
    use super::pb;
    use super::pb::{
        additional_properties_item, non_body_parameter, parameter, parameters_item, response_value, schema_item,
        security_definitions_item,
    };
    use serde_json::{Map, Value};

    type Result<T> = std::result::Result<T, String>;

    /// Keys a response schema may have for gnostic to read it as a `FileSchema` rather than a `Schema`.
    const FILE_SCHEMA_KEYS: [&str; 9] =
        ["default", "description", "example", "externalDocs", "format", "readOnly", "required", "title", "type"];

    /// A JSON object read as one message, with its location (`$root.definitions.…`) for error messages.
    struct Obj<'a> {
        map: &'a Map<String, Value>,
        path: String,
    }

    impl<'a> Obj<'a> {
        fn new(value: &'a Value, path: String) -> Result<Self> {
            match value {
                Value::Object(map) => Ok(Obj { map, path }),
                other => Err(format!("{path}: has unexpected value: {other} (expected an object)")),
            }
        }

        fn get(&self, key: &str) -> Option<&'a Value> {
            self.map.get(key)
        }

        fn path_of(&self, key: &str) -> String {
            format!("{}.{key}", self.path)
        }

        fn unexpected(&self, key: &str, value: &Value) -> String {
            format!("{}: has unexpected value for {key}: {value}", self.path)
        }

        /// A string field; like gnostic, integers are taken as their text and `null` as "".
        fn string(&self, key: &str) -> Result<String> {
            match self.get(key) {
                None => Ok(String::new()),
                Some(value) => scalar_string(value).ok_or_else(|| self.unexpected(key, value)),
            }
        }

        fn boolean(&self, key: &str) -> Result<bool> {
            match self.get(key) {
                None => Ok(false),
                Some(Value::Bool(value)) => Ok(*value),
                Some(value) => Err(self.unexpected(key, value)),
            }
        }

        fn float(&self, key: &str) -> Result<f64> {
            match self.get(key) {
                None => Ok(0.0),
                Some(value) => value.as_f64().ok_or_else(|| self.unexpected(key, value)),
            }
        }

        fn int(&self, key: &str) -> Result<i64> {
            match self.get(key) {
                None => Ok(0),
                Some(value) => value.as_i64().ok_or_else(|| self.unexpected(key, value)),
            }
        }

        fn array(&self, key: &str) -> Result<&'a [Value]> {
            match self.get(key) {
                None => Ok(&[]),
                Some(Value::Array(items)) => Ok(items),
                Some(value) => Err(self.unexpected(key, value)),
            }
        }

        /// A list of strings; like gnostic, items that are not string-like are skipped.
        fn strings(&self, key: &str) -> Result<Vec<String>> {
            Ok(self.array(key)?.iter().filter_map(scalar_string).collect())
        }

        fn any(&self, key: &str) -> Option<pb::Any> {
            self.get(key).map(any)
        }

        fn anys(&self, key: &str) -> Result<Vec<pb::Any>> {
            Ok(self.array(key)?.iter().map(any).collect())
        }

        /// An object field read as a message; a present key always gives a present message.
        fn message<T>(&self, key: &str, build: impl FnOnce(Obj<'a>) -> Result<T>) -> Result<Option<T>> {
            self.get(key).map(|value| build(Obj::new(value, self.path_of(key))?)).transpose()
        }

        /// A list of objects read as messages.
        fn messages<T>(&self, key: &str, build: impl Fn(Obj<'a>) -> Result<T>) -> Result<Vec<T>> {
            let items = self.array(key)?.iter().enumerate();
            items.map(|(index, value)| build(Obj::new(value, format!("{}.{key}[{index}]", self.path))?)).collect()
        }

        /// Every entry whose key passes `select`, with its value read as a message.
        fn entries<T>(
            &self,
            select: impl Fn(&str) -> bool,
            build: impl Fn(Obj<'a>) -> Result<T>,
        ) -> Result<Vec<(String, T)>> {
            let selected = self.map.iter().filter(|(key, _)| select(key));
            selected.map(|(key, value)| Ok((key.clone(), build(Obj::new(value, self.path_of(key))?)?))).collect()
        }

        /// The `x-*` entries, each value kept as YAML.
        fn extensions(&self) -> Vec<pb::NamedAny> {
            self.map.iter().filter(|(key, _)| key.starts_with("x-")).map(|(key, value)| named_any(key, value)).collect()
        }
    }

    /// The text gnostic takes for a string field: strings, integers, and "" for `null`.
    fn scalar_string(value: &Value) -> Option<String> {
        match value {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) if number.is_i64() || number.is_u64() => Some(number.to_string()),
            Value::Null => Some(String::new()),
            _ => None,
        }
    }

    fn any(value: &Value) -> pb::Any {
        pb::Any { value: None, yaml: super::yaml::to_string(value) }
    }

    fn named_any(name: &str, value: &Value) -> pb::NamedAny {
        pb::NamedAny { name: name.to_owned(), value: Some(any(value)) }
    }

    fn all_entries(_: &str) -> bool {
        true
    }

    /// Reads the whole document.
    pub(super) fn document(value: &Value) -> Result<pb::Document> {
        let o = Obj::new(value, "$root".to_owned())?;
        Ok(pb::Document {
            swagger: o.string("swagger")?,
            info: o.message("info", info)?,
            host: o.string("host")?,
            base_path: o.string("basePath")?,
            schemes: o.strings("schemes")?,
            consumes: o.strings("consumes")?,
            produces: o.strings("produces")?,
            paths: o.message("paths", paths)?,
            definitions: o
                .message("definitions", |d| Ok(pb::Definitions { additional_properties: named_schemas(&d)? }))?,
            parameters: o.message("parameters", parameter_definitions)?,
            responses: o.message("responses", response_definitions)?,
            security: o.messages("security", security_requirement)?,
            security_definitions: o.message("securityDefinitions", security_definitions)?,
            tags: o.messages("tags", tag)?,
            external_docs: o.message("externalDocs", external_docs)?,
            vendor_extension: o.extensions(),
        })
    }

    fn info(o: Obj<'_>) -> Result<pb::Info> {
        Ok(pb::Info {
            title: o.string("title")?,
            version: o.string("version")?,
            description: o.string("description")?,
            terms_of_service: o.string("termsOfService")?,
            contact: o.message("contact", contact)?,
            license: o.message("license", license)?,
            vendor_extension: o.extensions(),
        })
    }

    fn contact(o: Obj<'_>) -> Result<pb::Contact> {
        Ok(pb::Contact {
            name: o.string("name")?,
            url: o.string("url")?,
            email: o.string("email")?,
            vendor_extension: o.extensions(),
        })
    }

    fn license(o: Obj<'_>) -> Result<pb::License> {
        Ok(pb::License { name: o.string("name")?, url: o.string("url")?, vendor_extension: o.extensions() })
    }

    fn external_docs(o: Obj<'_>) -> Result<pb::ExternalDocs> {
        Ok(pb::ExternalDocs {
            description: o.string("description")?,
            url: o.string("url")?,
            vendor_extension: o.extensions(),
        })
    }

    fn tag(o: Obj<'_>) -> Result<pb::Tag> {
        Ok(pb::Tag {
            name: o.string("name")?,
            description: o.string("description")?,
            external_docs: o.message("externalDocs", external_docs)?,
            vendor_extension: o.extensions(),
        })
    }

    fn paths(o: Obj<'_>) -> Result<pb::Paths> {
        let items = o.entries(|key| key.starts_with('/'), path_item)?;
        Ok(pb::Paths {
            vendor_extension: o.extensions(),
            path: items.into_iter().map(|(name, value)| pb::NamedPathItem { name, value: Some(value) }).collect(),
        })
    }

    fn path_item(o: Obj<'_>) -> Result<pb::PathItem> {
        Ok(pb::PathItem {
            xref: o.string("$ref")?,
            get: o.message("get", operation)?,
            put: o.message("put", operation)?,
            post: o.message("post", operation)?,
            delete: o.message("delete", operation)?,
            options: o.message("options", operation)?,
            head: o.message("head", operation)?,
            patch: o.message("patch", operation)?,
            parameters: o.messages("parameters", parameters_item)?,
            vendor_extension: o.extensions(),
        })
    }

    fn operation(o: Obj<'_>) -> Result<pb::Operation> {
        Ok(pb::Operation {
            tags: o.strings("tags")?,
            summary: o.string("summary")?,
            description: o.string("description")?,
            external_docs: o.message("externalDocs", external_docs)?,
            operation_id: o.string("operationId")?,
            produces: o.strings("produces")?,
            consumes: o.strings("consumes")?,
            parameters: o.messages("parameters", parameters_item)?,
            responses: o.message("responses", responses)?,
            schemes: o.strings("schemes")?,
            deprecated: o.boolean("deprecated")?,
            security: o.messages("security", security_requirement)?,
            vendor_extension: o.extensions(),
        })
    }

    /// A `$ref` object is a reference (gnostic rejects `$ref` as a parameter key); anything else a parameter.
    fn parameters_item(o: Obj<'_>) -> Result<pb::ParametersItem> {
        let oneof = if o.get("$ref").is_some() {
            parameters_item::Oneof::JsonReference(json_reference(&o)?)
        } else {
            parameters_item::Oneof::Parameter(parameter(o)?)
        };
        Ok(pb::ParametersItem { oneof: Some(oneof) })
    }

    fn json_reference(o: &Obj<'_>) -> Result<pb::JsonReference> {
        Ok(pb::JsonReference { xref: o.string("$ref")?, description: o.string("description")? })
    }

    /// The parameter message is chosen by `in`, the only key gnostic's alternatives tell apart.
    fn parameter(o: Obj<'_>) -> Result<pb::Parameter> {
        use non_body_parameter::Oneof as NonBody;
        let location = o.string("in")?;
        let non_body = match location.as_str() {
            "body" => return Ok(pb::Parameter { oneof: Some(parameter::Oneof::BodyParameter(body_parameter(o)?)) }),
            "header" => NonBody::HeaderParameterSubSchema(header_parameter(o)?),
            "formData" => NonBody::FormDataParameterSubSchema(form_data_parameter(o)?),
            "query" => NonBody::QueryParameterSubSchema(query_parameter(o)?),
            "path" => NonBody::PathParameterSubSchema(path_parameter(o)?),
            _ => return Err(format!("{}: contains an invalid Parameter (in: {location:?})", o.path)),
        };
        let non_body = pb::NonBodyParameter { oneof: Some(non_body) };
        Ok(pb::Parameter { oneof: Some(parameter::Oneof::NonBodyParameter(non_body)) })
    }

    fn body_parameter(o: Obj<'_>) -> Result<pb::BodyParameter> {
        Ok(pb::BodyParameter {
            description: o.string("description")?,
            name: o.string("name")?,
            r#in: o.string("in")?,
            required: o.boolean("required")?,
            schema: o.message("schema", schema)?,
            vendor_extension: o.extensions(),
        })
    }

    /// The fields shared by non-body parameters, headers and their `items`.
    struct Primitive {
        r#type: String,
        format: String,
        items: Option<pb::PrimitivesItems>,
        collection_format: String,
        default: Option<pb::Any>,
        maximum: f64,
        exclusive_maximum: bool,
        minimum: f64,
        exclusive_minimum: bool,
        max_length: i64,
        min_length: i64,
        pattern: String,
        max_items: i64,
        min_items: i64,
        unique_items: bool,
        r#enum: Vec<pb::Any>,
        multiple_of: f64,
        vendor_extension: Vec<pb::NamedAny>,
    }

    impl Primitive {
        fn read(o: &Obj<'_>) -> Result<Self> {
            Ok(Primitive {
                r#type: o.string("type")?,
                format: o.string("format")?,
                items: o.message("items", primitives_items)?,
                collection_format: o.string("collectionFormat")?,
                default: o.any("default"),
                maximum: o.float("maximum")?,
                exclusive_maximum: o.boolean("exclusiveMaximum")?,
                minimum: o.float("minimum")?,
                exclusive_minimum: o.boolean("exclusiveMinimum")?,
                max_length: o.int("maxLength")?,
                min_length: o.int("minLength")?,
                pattern: o.string("pattern")?,
                max_items: o.int("maxItems")?,
                min_items: o.int("minItems")?,
                unique_items: o.boolean("uniqueItems")?,
                r#enum: o.anys("enum")?,
                multiple_of: o.float("multipleOf")?,
                vendor_extension: o.extensions(),
            })
        }
    }

    /// Builds `pb::$message` from a [`Primitive`] plus the message's own fields (including `items`).
    macro_rules! primitive_message {
        ($message:ident, $p:ident { $($field:ident: $value:expr),* $(,)? }) => {
            pb::$message {
                r#type: $p.r#type,
                format: $p.format,
                collection_format: $p.collection_format,
                default: $p.default,
                maximum: $p.maximum,
                exclusive_maximum: $p.exclusive_maximum,
                minimum: $p.minimum,
                exclusive_minimum: $p.exclusive_minimum,
                max_length: $p.max_length,
                min_length: $p.min_length,
                pattern: $p.pattern,
                max_items: $p.max_items,
                min_items: $p.min_items,
                unique_items: $p.unique_items,
                r#enum: $p.r#enum,
                multiple_of: $p.multiple_of,
                vendor_extension: $p.vendor_extension,
                $($field: $value),*
            }
        };
    }

    fn primitives_items(o: Obj<'_>) -> Result<pb::PrimitivesItems> {
        let p = Primitive::read(&o)?;
        Ok(primitive_message!(PrimitivesItems, p { items: p.items.map(Box::new) }))
    }

    fn header(o: Obj<'_>) -> Result<pb::Header> {
        let p = Primitive::read(&o)?;
        Ok(primitive_message!(Header, p { items: p.items, description: o.string("description")? }))
    }

    fn header_parameter(o: Obj<'_>) -> Result<pb::HeaderParameterSubSchema> {
        let p = Primitive::read(&o)?;
        Ok(primitive_message!(
            HeaderParameterSubSchema,
            p {
                items: p.items,
                required: o.boolean("required")?,
                r#in: o.string("in")?,
                description: o.string("description")?,
                name: o.string("name")?,
            }
        ))
    }

    fn form_data_parameter(o: Obj<'_>) -> Result<pb::FormDataParameterSubSchema> {
        let p = Primitive::read(&o)?;
        Ok(primitive_message!(
            FormDataParameterSubSchema,
            p {
                items: p.items,
                required: o.boolean("required")?,
                r#in: o.string("in")?,
                description: o.string("description")?,
                name: o.string("name")?,
                allow_empty_value: o.boolean("allowEmptyValue")?,
            }
        ))
    }

    fn query_parameter(o: Obj<'_>) -> Result<pb::QueryParameterSubSchema> {
        let p = Primitive::read(&o)?;
        Ok(primitive_message!(
            QueryParameterSubSchema,
            p {
                items: p.items,
                required: o.boolean("required")?,
                r#in: o.string("in")?,
                description: o.string("description")?,
                name: o.string("name")?,
                allow_empty_value: o.boolean("allowEmptyValue")?,
            }
        ))
    }

    fn path_parameter(o: Obj<'_>) -> Result<pb::PathParameterSubSchema> {
        let p = Primitive::read(&o)?;
        Ok(primitive_message!(
            PathParameterSubSchema,
            p {
                items: p.items,
                required: o.boolean("required")?,
                r#in: o.string("in")?,
                description: o.string("description")?,
                name: o.string("name")?,
            }
        ))
    }

    fn parameter_definitions(o: Obj<'_>) -> Result<pb::ParameterDefinitions> {
        let entries = o.entries(all_entries, parameter)?;
        Ok(pb::ParameterDefinitions {
            additional_properties: entries
                .into_iter()
                .map(|(name, value)| pb::NamedParameter { name, value: Some(value) })
                .collect(),
        })
    }

    fn response_definitions(o: Obj<'_>) -> Result<pb::ResponseDefinitions> {
        let entries = o.entries(all_entries, response)?;
        Ok(pb::ResponseDefinitions {
            additional_properties: entries
                .into_iter()
                .map(|(name, value)| pb::NamedResponse { name, value: Some(value) })
                .collect(),
        })
    }

    /// Status codes (three digits) and `default`, as gnostic's `^([0-9]{3})$|^(default)$`.
    fn is_response_code(key: &str) -> bool {
        key == "default" || (key.len() == 3 && key.bytes().all(|byte| byte.is_ascii_digit()))
    }

    fn responses(o: Obj<'_>) -> Result<pb::Responses> {
        let entries = o.entries(is_response_code, response_value)?;
        Ok(pb::Responses {
            response_code: entries
                .into_iter()
                .map(|(name, value)| pb::NamedResponseValue { name, value: Some(value) })
                .collect(),
            vendor_extension: o.extensions(),
        })
    }

    fn response_value(o: Obj<'_>) -> Result<pb::ResponseValue> {
        let oneof = if o.get("$ref").is_some() {
            response_value::Oneof::JsonReference(json_reference(&o)?)
        } else {
            response_value::Oneof::Response(response(o)?)
        };
        Ok(pb::ResponseValue { oneof: Some(oneof) })
    }

    fn response(o: Obj<'_>) -> Result<pb::Response> {
        Ok(pb::Response {
            description: o.string("description")?,
            schema: o.message("schema", schema_item)?,
            headers: o.message("headers", headers)?,
            examples: o.message("examples", |e| {
                let examples = e.map.iter().map(|(name, value)| named_any(name, value)).collect();
                Ok(pb::Examples { additional_properties: examples })
            })?,
            vendor_extension: o.extensions(),
        })
    }

    fn headers(o: Obj<'_>) -> Result<pb::Headers> {
        let entries = o.entries(all_entries, header)?;
        Ok(pb::Headers {
            additional_properties: entries
                .into_iter()
                .map(|(name, value)| pb::NamedHeader { name, value: Some(value) })
                .collect(),
        })
    }

    /// gnostic reads a response schema as a `FileSchema` when it has `type: file` and only file-schema keys.
    fn schema_item(o: Obj<'_>) -> Result<pb::SchemaItem> {
        let is_file = o.get("type").and_then(Value::as_str) == Some("file")
            && o.map.keys().all(|key| key.starts_with("x-") || FILE_SCHEMA_KEYS.contains(&key.as_str()));
        let oneof = if is_file {
            schema_item::Oneof::FileSchema(file_schema(o)?)
        } else {
            schema_item::Oneof::Schema(schema(o)?)
        };
        Ok(pb::SchemaItem { oneof: Some(oneof) })
    }

    fn file_schema(o: Obj<'_>) -> Result<pb::FileSchema> {
        Ok(pb::FileSchema {
            format: o.string("format")?,
            title: o.string("title")?,
            description: o.string("description")?,
            default: o.any("default"),
            required: o.strings("required")?,
            r#type: o.string("type")?,
            read_only: o.boolean("readOnly")?,
            external_docs: o.message("externalDocs", external_docs)?,
            example: o.any("example"),
            vendor_extension: o.extensions(),
        })
    }

    fn named_schemas(o: &Obj<'_>) -> Result<Vec<pb::NamedSchema>> {
        let entries = o.entries(all_entries, schema)?;
        Ok(entries.into_iter().map(|(name, value)| pb::NamedSchema { name, value: Some(value) }).collect())
    }

    fn schema(o: Obj<'_>) -> Result<pb::Schema> {
        Ok(pb::Schema {
            xref: o.string("$ref")?,
            format: o.string("format")?,
            title: o.string("title")?,
            description: o.string("description")?,
            default: o.any("default"),
            multiple_of: o.float("multipleOf")?,
            maximum: o.float("maximum")?,
            exclusive_maximum: o.boolean("exclusiveMaximum")?,
            minimum: o.float("minimum")?,
            exclusive_minimum: o.boolean("exclusiveMinimum")?,
            max_length: o.int("maxLength")?,
            min_length: o.int("minLength")?,
            pattern: o.string("pattern")?,
            max_items: o.int("maxItems")?,
            min_items: o.int("minItems")?,
            unique_items: o.boolean("uniqueItems")?,
            max_properties: o.int("maxProperties")?,
            min_properties: o.int("minProperties")?,
            required: o.strings("required")?,
            r#enum: o.anys("enum")?,
            additional_properties: additional_properties(&o)?,
            r#type: type_item(&o)?,
            items: o.message("items", |items| Ok(pb::ItemsItem { schema: vec![schema(items)?] }))?,
            all_of: o.messages("allOf", schema)?,
            properties: o
                .message("properties", |p| Ok(pb::Properties { additional_properties: named_schemas(&p)? }))?,
            discriminator: o.string("discriminator")?,
            read_only: o.boolean("readOnly")?,
            xml: o.message("xml", xml)?,
            external_docs: o.message("externalDocs", external_docs)?,
            example: o.any("example"),
            vendor_extension: o.extensions(),
        })
    }

    fn additional_properties(o: &Obj<'_>) -> Result<Option<Box<pb::AdditionalPropertiesItem>>> {
        const KEY: &str = "additionalProperties";
        let oneof = match o.get(KEY) {
            None => return Ok(None),
            Some(Value::Bool(allowed)) => additional_properties_item::Oneof::Boolean(*allowed),
            Some(value @ Value::Object(_)) => {
                additional_properties_item::Oneof::Schema(Box::new(schema(Obj::new(value, o.path_of(KEY))?)?))
            }
            Some(value) => return Err(o.unexpected(KEY, value)),
        };
        Ok(Some(Box::new(pb::AdditionalPropertiesItem { oneof: Some(oneof) })))
    }

    /// `type` as one name or a list of names (gnostic keeps the text of any scalar).
    fn type_item(o: &Obj<'_>) -> Result<Option<pb::TypeItem>> {
        let scalar_text = |value: &Value| match value {
            Value::String(text) => Some(text.clone()),
            Value::Array(_) | Value::Object(_) => None,
            other => Some(other.to_string()),
        };
        let value = match o.get("type") {
            None => return Ok(None),
            Some(Value::Array(items)) => items.iter().map(|item| scalar_text(item).ok_or(item)).collect(),
            Some(other) => scalar_text(other).map(|text| vec![text]).ok_or(other),
        };
        value.map(|value| Some(pb::TypeItem { value })).map_err(|bad| o.unexpected("type", bad))
    }

    fn xml(o: Obj<'_>) -> Result<pb::Xml> {
        Ok(pb::Xml {
            name: o.string("name")?,
            namespace: o.string("namespace")?,
            prefix: o.string("prefix")?,
            attribute: o.boolean("attribute")?,
            wrapped: o.boolean("wrapped")?,
            vendor_extension: o.extensions(),
        })
    }

    fn security_requirement(o: Obj<'_>) -> Result<pb::SecurityRequirement> {
        let requirements = o.map.iter().map(|(name, scopes)| {
            let Value::Array(scopes) = scopes else { return Err(o.unexpected(name, scopes)) };
            // Unlike other string lists, gnostic keeps non-string scopes here, as "".
            let value = scopes.iter().map(|scope| scalar_string(scope).unwrap_or_default()).collect();
            Ok(pb::NamedStringArray { name: name.clone(), value: Some(pb::StringArray { value }) })
        });
        Ok(pb::SecurityRequirement { additional_properties: requirements.collect::<Result<_>>()? })
    }

    fn security_definitions(o: Obj<'_>) -> Result<pb::SecurityDefinitions> {
        let entries = o.entries(all_entries, security_definitions_item)?;
        Ok(pb::SecurityDefinitions {
            additional_properties: entries
                .into_iter()
                .map(|(name, value)| pb::NamedSecurityDefinitionsItem { name, value: Some(value) })
                .collect(),
        })
    }

    /// The scheme message is chosen by `type` and, for OAuth2, `flow`.
    fn security_definitions_item(o: Obj<'_>) -> Result<pb::SecurityDefinitionsItem> {
        use security_definitions_item::Oneof;
        let kind = o.string("type")?;
        let flow = o.string("flow")?;
        let oneof = match (kind.as_str(), flow.as_str()) {
            ("basic", _) => Oneof::BasicAuthenticationSecurity(pb::BasicAuthenticationSecurity {
                r#type: kind,
                description: o.string("description")?,
                vendor_extension: o.extensions(),
            }),
            ("apiKey", _) => Oneof::ApiKeySecurity(pb::ApiKeySecurity {
                r#type: kind,
                name: o.string("name")?,
                r#in: o.string("in")?,
                description: o.string("description")?,
                vendor_extension: o.extensions(),
            }),
            ("oauth2", "implicit") => Oneof::Oauth2ImplicitSecurity(pb::Oauth2ImplicitSecurity {
                r#type: kind,
                flow,
                scopes: o.message("scopes", oauth2_scopes)?,
                authorization_url: o.string("authorizationUrl")?,
                description: o.string("description")?,
                vendor_extension: o.extensions(),
            }),
            ("oauth2", "password") => Oneof::Oauth2PasswordSecurity(pb::Oauth2PasswordSecurity {
                r#type: kind,
                flow,
                scopes: o.message("scopes", oauth2_scopes)?,
                token_url: o.string("tokenUrl")?,
                description: o.string("description")?,
                vendor_extension: o.extensions(),
            }),
            ("oauth2", "application") => Oneof::Oauth2ApplicationSecurity(pb::Oauth2ApplicationSecurity {
                r#type: kind,
                flow,
                scopes: o.message("scopes", oauth2_scopes)?,
                token_url: o.string("tokenUrl")?,
                description: o.string("description")?,
                vendor_extension: o.extensions(),
            }),
            ("oauth2", "accessCode") => Oneof::Oauth2AccessCodeSecurity(pb::Oauth2AccessCodeSecurity {
                r#type: kind,
                flow,
                scopes: o.message("scopes", oauth2_scopes)?,
                authorization_url: o.string("authorizationUrl")?,
                token_url: o.string("tokenUrl")?,
                description: o.string("description")?,
                vendor_extension: o.extensions(),
            }),
            _ => return Err(format!("{}: contains an invalid SecurityDefinitionsItem", o.path)),
        };
        Ok(pb::SecurityDefinitionsItem { oneof: Some(oneof) })
    }

    fn oauth2_scopes(o: Obj<'_>) -> Result<pb::Oauth2Scopes> {
        let scopes = o.map.iter().map(|(name, value)| pb::NamedString {
            name: name.clone(),
            value: scalar_string(value).unwrap_or_default(),
        });
        Ok(pb::Oauth2Scopes { additional_properties: scopes.collect() })
    }
}

/// YAML text of a JSON value, byte for byte as gnostic's `compiler.Marshal` writes it.
///
/// gnostic parses the JSON document with go-yaml v3, clears every node's style and marshals the node
/// again: block collections indented by four spaces (list items inside a list item by two), `{}` and
/// `[]` for empty collections, scalars plain when that reads back as the same value and otherwise
/// quoted (strings that would read as another type, such as `""`, `"true"` or `"1"`, are double-quoted),
/// multi-line strings as literal blocks, and no line folding. This is a port of the parts of go-yaml's
/// emitter that such a document reaches, with the same column and indentation bookkeeping; timestamps are
/// recognized as Go 1.20+'s `time.Parse` does (the Go that builds the API servers kubectl 1.27+ talks to).
mod yaml {
    use serde_json::{Map, Value};

    /// go-yaml v3's default indentation.
    const BEST_INDENT: i32 = 4;
    /// Longest key (in bytes) written as a simple `key: value` rather than `? key`.
    const MAX_SIMPLE_KEY_LEN: usize = 128;

    /// The YAML document for `value`, ending with a line break.
    pub(super) fn to_string(value: &Value) -> String {
        let mut emitter = Emitter::default();
        emitter.node(value, Context::ROOT);
        // The (implicit) document end moves to a fresh line.
        emitter.write_indent();
        emitter.out
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Style {
        Plain,
        SingleQuoted,
        DoubleQuoted,
        Literal,
    }

    /// Where a node sits, as far as style and indentation depend on it.
    #[derive(Clone, Copy)]
    struct Context {
        /// The node is a key written as `key: value`.
        simple_key: bool,
        /// The node directly follows a block sequence's `- `.
        sequence_item: bool,
    }

    impl Context {
        const ROOT: Context = Context { simple_key: false, sequence_item: false };
        const VALUE: Context = Context { simple_key: false, sequence_item: false };
        const SIMPLE_KEY: Context = Context { simple_key: true, sequence_item: false };
        const ITEM: Context = Context { simple_key: false, sequence_item: true };
    }

    /// What go-yaml's scalar analysis allows for a value.
    struct Analysis {
        multiline: bool,
        block_plain_allowed: bool,
        single_quoted_allowed: bool,
        block_allowed: bool,
    }

    struct Emitter {
        out: String,
        column: usize,
        indent: i32,
        indents: Vec<i32>,
        /// The last character written is whitespace (or nothing was written yet).
        whitespace: bool,
        /// Only indentation has been written on the current line so far.
        indention: bool,
    }

    impl Default for Emitter {
        fn default() -> Self {
            Emitter {
                out: String::new(),
                column: 0,
                indent: -1,
                indents: Vec::new(),
                whitespace: true,
                indention: true,
            }
        }
    }

    impl Emitter {
        fn node(&mut self, value: &Value, context: Context) {
            match value {
                Value::Object(map) if map.is_empty() => self.empty_collection("{", "}"),
                Value::Array(items) if items.is_empty() => self.empty_collection("[", "]"),
                Value::Object(map) => self.mapping(map, context),
                Value::Array(items) => self.sequence(items, context),
                Value::String(text) => self.scalar(text, !resolves_to_string(text), context),
                Value::Number(number) => self.scalar(&number.to_string(), false, context),
                Value::Bool(flag) => self.scalar(if *flag { "true" } else { "false" }, false, context),
                Value::Null => self.scalar("null", false, context),
            }
        }

        fn empty_collection(&mut self, open: &str, close: &str) {
            self.write_indicator(open, true, true, false);
            self.write_indicator(close, false, false, false);
        }

        fn sequence(&mut self, items: &[Value], context: Context) {
            self.increase_indent(false, context.sequence_item);
            for item in items {
                self.write_indent();
                self.write_indicator("-", true, false, true);
                self.node(item, Context::ITEM);
            }
            self.decrease_indent();
        }

        fn mapping(&mut self, map: &Map<String, Value>, context: Context) {
            self.increase_indent(false, context.sequence_item);
            for (key, value) in map {
                self.write_indent();
                if key.len() <= MAX_SIMPLE_KEY_LEN && !analyze(key).multiline {
                    self.scalar(key, !resolves_to_string(key), Context::SIMPLE_KEY);
                    self.write_indicator(":", false, false, false);
                } else {
                    self.write_indicator("?", true, false, true);
                    self.scalar(key, !resolves_to_string(key), Context::VALUE);
                    self.write_indent();
                    self.write_indicator(":", true, false, true);
                }
                self.node(value, Context::VALUE);
            }
            self.decrease_indent();
        }

        /// A scalar; `force_quotes` marks a string that would otherwise read back as another type.
        fn scalar(&mut self, value: &str, force_quotes: bool, context: Context) {
            let requested = if value.contains('\n') {
                Style::Literal
            } else if force_quotes {
                Style::DoubleQuoted
            } else {
                Style::Plain
            };
            let style = select_style(requested, value, &analyze(value), context.simple_key);
            self.increase_indent(true, context.sequence_item);
            match style {
                Style::Plain => self.write_plain(value),
                Style::SingleQuoted => self.write_single_quoted(value),
                Style::DoubleQuoted => self.write_double_quoted(value),
                Style::Literal => self.write_literal(value),
            }
            self.decrease_indent();
        }

        fn increase_indent(&mut self, flow: bool, sequence_item: bool) {
            self.indents.push(self.indent);
            self.indent = if self.indent < 0 {
                if flow { BEST_INDENT } else { 0 }
            } else if sequence_item {
                // The first indentation inside a sequence item just skips the "- ".
                self.indent + 2
            } else {
                BEST_INDENT * ((self.indent + BEST_INDENT) / BEST_INDENT)
            };
        }

        fn decrease_indent(&mut self) {
            self.indent = self.indents.pop().unwrap_or(-1);
        }

        fn put(&mut self, ch: char) {
            self.out.push(ch);
            self.column += 1;
        }

        fn put_break(&mut self) {
            self.out.push('\n');
            self.column = 0;
            self.indention = true;
        }

        /// Writes a line break character of the value (`\n` as a line feed, others as themselves).
        fn write_break(&mut self, ch: char) {
            if ch == '\n' {
                self.put_break();
            } else {
                self.out.push(ch);
                self.column = 0;
                self.indention = true;
            }
        }

        fn write_indent(&mut self) {
            let indent = usize::try_from(self.indent).unwrap_or(0);
            if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
                self.put_break();
            }
            while self.column < indent {
                self.put(' ');
            }
            self.whitespace = true;
        }

        fn write_indicator(&mut self, indicator: &str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
            if need_whitespace && !self.whitespace {
                self.put(' ');
            }
            indicator.chars().for_each(|ch| self.put(ch));
            self.whitespace = is_whitespace;
            self.indention = self.indention && is_indention;
        }

        fn write_plain(&mut self, value: &str) {
            if !value.is_empty() && !self.whitespace {
                self.put(' ');
            }
            // Plain scalars never contain line breaks, and lines are never folded.
            value.chars().for_each(|ch| self.put(ch));
            if !value.is_empty() {
                self.whitespace = false;
            }
            self.indention = false;
        }

        fn write_single_quoted(&mut self, value: &str) {
            self.write_indicator("'", true, false, false);
            let mut breaks = false;
            for ch in value.chars() {
                if ch == ' ' {
                    self.put(ch);
                } else if is_break(ch) {
                    if !breaks && ch == '\n' {
                        self.put_break();
                    }
                    self.write_break(ch);
                    breaks = true;
                } else {
                    if breaks {
                        self.write_indent();
                    }
                    if ch == '\'' {
                        self.put('\'');
                    }
                    self.put(ch);
                    self.indention = false;
                    breaks = false;
                }
            }
            self.write_indicator("'", false, false, false);
            self.whitespace = false;
            self.indention = false;
        }

        fn write_double_quoted(&mut self, value: &str) {
            // go-yaml tests for a byte order mark at the start of the value, not at each character.
            let starts_with_bom = value.starts_with('\u{feff}');
            self.write_indicator("\"", true, false, false);
            for ch in value.chars() {
                if starts_with_bom || !is_printable(ch) || is_break(ch) || ch == '"' || ch == '\\' {
                    self.write_escaped(ch);
                } else {
                    self.put(ch);
                }
            }
            self.write_indicator("\"", false, false, false);
            self.whitespace = false;
            self.indention = false;
        }

        fn write_escaped(&mut self, ch: char) {
            self.put('\\');
            let short = match ch {
                '\0' => Some('0'),
                '\u{7}' => Some('a'),
                '\u{8}' => Some('b'),
                '\t' => Some('t'),
                '\n' => Some('n'),
                '\u{b}' => Some('v'),
                '\u{c}' => Some('f'),
                '\r' => Some('r'),
                '\u{1b}' => Some('e'),
                '"' => Some('"'),
                '\\' => Some('\\'),
                '\u{85}' => Some('N'),
                '\u{a0}' => Some('_'),
                '\u{2028}' => Some('L'),
                '\u{2029}' => Some('P'),
                _ => None,
            };
            let code = u32::from(ch);
            let escaped = match short {
                Some(letter) => letter.to_string(),
                None if code <= 0xff => format!("x{code:02X}"),
                None if code <= 0xffff => format!("u{code:04X}"),
                None => format!("U{code:08X}"),
            };
            escaped.chars().for_each(|ch| self.put(ch));
        }

        fn write_literal(&mut self, value: &str) {
            self.write_indicator("|", true, false, false);
            self.write_block_scalar_hints(value);
            self.whitespace = true;
            let mut breaks = true;
            for ch in value.chars() {
                if is_break(ch) {
                    self.write_break(ch);
                    breaks = true;
                } else {
                    if breaks {
                        self.write_indent();
                    }
                    self.put(ch);
                    self.indention = false;
                    breaks = false;
                }
            }
        }

        /// The indentation hint (for a value starting with a space or break) and the chomping indicator.
        fn write_block_scalar_hints(&mut self, value: &str) {
            let mut chars = value.chars().rev();
            if value.starts_with(|ch: char| ch == ' ' || is_break(ch)) {
                self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
            }
            let chomp = match (chars.next(), chars.next()) {
                (Some(last), _) if !is_break(last) => Some("-"),
                (None, _) => Some("-"),
                (Some(_), None) => Some("+"),
                (Some(_), Some(before_last)) if is_break(before_last) => Some("+"),
                _ => None,
            };
            if let Some(chomp) = chomp {
                self.write_indicator(chomp, false, false, false);
            }
        }
    }

    /// go-yaml's choice of style among the requested one and what the value allows (always block context).
    fn select_style(requested: Style, value: &str, analysis: &Analysis, simple_key: bool) -> Style {
        let mut style = requested;
        if simple_key && analysis.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain && (!analysis.block_plain_allowed || (value.is_empty() && simple_key)) {
            style = Style::SingleQuoted;
        }
        if style == Style::SingleQuoted && !analysis.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal && (!analysis.block_allowed || simple_key) {
            style = Style::DoubleQuoted;
        }
        style
    }

    /// go-yaml's `yaml_emitter_analyze_scalar`, for block context.
    fn analyze(value: &str) -> Analysis {
        if value.is_empty() {
            return Analysis {
                multiline: false,
                block_plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: false,
            };
        }
        let mut block_indicators = value.starts_with("---") || value.starts_with("...");
        let (mut line_breaks, mut special_characters, mut tab_characters) = (false, false, false);
        let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
            (false, false, false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut previous_space, mut previous_break) = (false, false);
        let mut preceded_by_whitespace = true;

        let chars: Vec<char> = value.chars().collect();
        for (index, &ch) in chars.iter().enumerate() {
            let first = index == 0;
            let last = index + 1 == chars.len();
            let followed_by_whitespace = chars.get(index + 1).is_none_or(|&next| next == ' ' || next == '\t');
            block_indicators |= match ch {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@' | '`' => first,
                '?' => first && followed_by_whitespace,
                ':' => followed_by_whitespace,
                '-' => first && followed_by_whitespace,
                _ => false,
            };
            if ch == '#' && !first && preceded_by_whitespace {
                block_indicators = true;
            }

            if ch == '\t' {
                tab_characters = true;
            } else if !is_printable(ch) {
                special_characters = true;
            }
            if ch == ' ' {
                leading_space |= first;
                trailing_space |= last;
                break_space |= previous_break;
                previous_space = true;
                previous_break = false;
            } else if is_break(ch) {
                line_breaks = true;
                leading_break |= first;
                trailing_break |= last;
                space_break |= previous_space;
                previous_space = false;
                previous_break = true;
            } else {
                previous_space = false;
                previous_break = false;
            }
            preceded_by_whitespace = ch == ' ' || ch == '\t' || ch == '\0' || is_break(ch);
        }

        let unquotable = space_break || tab_characters || special_characters;
        let block_plain_allowed = !(leading_space
            || leading_break
            || trailing_space
            || trailing_break
            || break_space
            || unquotable
            || line_breaks
            || block_indicators);
        Analysis {
            multiline: line_breaks,
            block_plain_allowed,
            single_quoted_allowed: !(break_space || unquotable),
            block_allowed: !(trailing_space || space_break || special_characters),
        }
    }

    /// go-yaml's printable set: tab and most control characters, surrogates, U+FEFF, U+FFFE, U+FFFF and
    /// everything beyond the Basic Multilingual Plane are not printable.
    fn is_printable(ch: char) -> bool {
        matches!(u32::from(ch), 0x0a | 0x20..=0x7e | 0xa0..=0xd7ff | 0xe000..=0xfffd) && ch != '\u{feff}'
    }

    fn is_break(ch: char) -> bool {
        matches!(ch, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
    }

    /// Whether go-yaml reads the plain text back as a string (not null, bool, number or timestamp).
    ///
    /// Like go-yaml, the first character decides what the text could be.
    fn resolves_to_string(text: &str) -> bool {
        let Some(first) = text.bytes().next() else { return false };
        let could_be_other = matches!(
            first,
            b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' | b'.' | b'+' | b'-' | b'0'
                ..=b'9'
        );
        if !could_be_other || is_special_word(text) {
            return !could_be_other;
        }
        match first {
            b'.' => !is_go_float(text),
            b'+' | b'-' | b'0'..=b'9' => !is_timestamp(text) && !is_number(text),
            _ => true,
        }
    }

    /// The words go-yaml v3 resolves to null, booleans, infinities and NaN.
    fn is_special_word(text: &str) -> bool {
        const WORDS: [&str; 22] = [
            "true", "True", "TRUE", "false", "False", "FALSE", "~", "null", "Null", "NULL", ".nan", ".NaN", ".NAN",
            ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
        ];
        WORDS.contains(&text)
    }

    /// go-yaml's integer and float resolution of text starting with a sign or a digit (underscores ignored).
    fn is_number(text: &str) -> bool {
        let plain: String = text.chars().filter(|&ch| ch != '_').collect();
        let (negative, unsigned) = match plain.as_bytes().first() {
            Some(b'-') => (true, &plain[1..]),
            Some(b'+') => (false, &plain[1..]),
            _ => (false, plain.as_str()),
        };
        is_go_int(unsigned, negative) || (is_yaml_float(&plain) && is_finite_float(&plain))
    }

    /// Go's `strconv.ParseInt`/`ParseUint` with base 0 (the sign already removed): decimal, `0x`, `0o`,
    /// `0b` or a leading-zero octal, within 64 bits.
    fn is_go_int(digits: &str, negative: bool) -> bool {
        let lower = digits.to_ascii_lowercase();
        let (radix, body) = if let Some(hex) = lower.strip_prefix("0x") {
            (16, hex)
        } else if let Some(octal) = lower.strip_prefix("0o") {
            (8, octal)
        } else if let Some(binary) = lower.strip_prefix("0b") {
            (2, binary)
        } else if lower.len() > 1 && lower.starts_with('0') {
            (8, &lower[1..])
        } else {
            (10, lower.as_str())
        };
        if body.is_empty() || !body.chars().all(|ch| ch.is_digit(radix)) {
            return false;
        }
        match u64::from_str_radix(body, radix) {
            Ok(magnitude) => !negative || magnitude <= 1 << 63,
            Err(_) => false,
        }
    }

    /// go-yaml's float pattern `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
    fn is_yaml_float(text: &str) -> bool {
        let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
            None => (unsigned, None),
        };
        let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        let mantissa_ok = match mantissa.split_once('.') {
            Some(("", fraction)) => !fraction.is_empty() && digits(fraction),
            Some((whole, fraction)) => digits(whole) && digits(fraction),
            None => !mantissa.is_empty() && digits(mantissa),
        };
        let exponent_ok = exponent.is_none_or(|exponent| {
            let exponent = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
            !exponent.is_empty() && digits(exponent)
        });
        mantissa_ok && exponent_ok
    }

    /// Go's `strconv.ParseFloat` fails on overflow.
    fn is_finite_float(text: &str) -> bool {
        text.parse::<f64>().is_ok_and(f64::is_finite)
    }

    /// Go's `strconv.ParseFloat` on text starting with '.' (which go-yaml tries for such text): a
    /// fraction with an optional exponent, underscores allowed only between digits.
    fn is_go_float(text: &str) -> bool {
        let plain = text.replace('_', "");
        underscores_between_digits(text) && is_yaml_float(&plain) && is_finite_float(&plain)
    }

    fn underscores_between_digits(text: &str) -> bool {
        let bytes = text.as_bytes();
        bytes.iter().enumerate().all(|(at, &byte)| {
            byte != b'_'
                || (at > 0
                    && matches!(bytes[at - 1], b'0'..=b'9' | b'_')
                    && bytes.get(at + 1).is_some_and(|next| matches!(next, b'0'..=b'9' | b'_')))
        }) && !text.contains("__")
    }

    /// go-yaml's timestamp forms (`2006-1-2`, `2006-1-2T15:4:5.999999999Z07:00` with `T`, `t` or a space
    /// before the time, the space form without a zone), parsed as Go's `time.Parse` would.
    fn is_timestamp(text: &str) -> bool {
        let mut rest = text.as_bytes();
        let Some(year) = take_digits(&mut rest, 4, 4) else { return false };
        let date_ok = take_byte(&mut rest, b'-')
            && take_digits(&mut rest, 1, 2).is_some_and(|month| {
                (1..=12).contains(&month)
                    && take_byte(&mut rest, b'-')
                    && take_digits(&mut rest, 1, 2).is_some_and(|day| day >= 1 && day <= days_in_month(month, year))
            });
        if !date_ok {
            return false;
        }
        let Some((&separator, time)) = rest.split_first() else { return true };
        rest = match separator {
            b'T' | b't' => time,
            // A space in Go's layout matches any run of spaces.
            b' ' => {
                let spaces = time.iter().take_while(|&&byte| byte == b' ').count();
                &time[spaces..]
            }
            _ => return false,
        };
        let time_ok = take_digits(&mut rest, 1, 2).is_some_and(|hour| hour < 24)
            && take_byte(&mut rest, b':')
            && take_digits(&mut rest, 1, 2).is_some_and(|minute| minute < 60)
            && take_byte(&mut rest, b':')
            && take_digits(&mut rest, 1, 2).is_some_and(|second| second < 60);
        if !time_ok {
            return false;
        }
        if let [b'.' | b',', b'0'..=b'9', ..] = rest {
            rest = &rest[1..];
            while let [b'0'..=b'9', tail @ ..] = rest {
                rest = tail;
            }
        }
        match (separator, rest) {
            (b' ', []) | (b'T' | b't', [b'Z']) => true,
            (b'T' | b't', [b'+' | b'-', h1, h2, b':', m1, m2]) => {
                [h1, h2, m1, m2].iter().all(|byte| byte.is_ascii_digit())
                    && (h1 - b'0') * 10 + (h2 - b'0') <= 24
                    && (m1 - b'0') * 10 + (m2 - b'0') <= 60
            }
            _ => false,
        }
    }

    /// Takes `min..=max` leading ASCII digits (as many as available up to `max`) as a number.
    fn take_digits(rest: &mut &[u8], min: usize, max: usize) -> Option<u32> {
        let count = rest.iter().take(max).take_while(|byte| byte.is_ascii_digit()).count();
        if count < min {
            return None;
        }
        let (digits, tail) = rest.split_at(count);
        *rest = tail;
        Some(digits.iter().fold(0, |number, digit| number * 10 + u32::from(digit - b'0')))
    }

    fn take_byte(rest: &mut &[u8], expected: u8) -> bool {
        match rest.split_first() {
            Some((&byte, tail)) if byte == expected => {
                *rest = tail;
                true
            }
            _ => false,
        }
    }

    fn days_in_month(month: u32, year: u32) -> u32 {
        match month {
            2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pb::{
        additional_properties_item, non_body_parameter, parameter, parameters_item, response_value, schema_item,
        security_definitions_item,
    };
    use super::*;
    use serde_json::json;

    fn decode(doc: &Value) -> pb::Document {
        let bytes = encode_document(doc).expect("document encodes");
        pb::Document::decode(bytes.as_slice()).expect("bytes decode as openapi.v2.Document")
    }

    fn yaml(value: &Value) -> String {
        super::yaml::to_string(value)
    }

    fn extension<'a>(extensions: &'a [pb::NamedAny], name: &str) -> &'a str {
        let found = extensions.iter().find(|extension| extension.name == name).expect("extension present");
        &found.value.as_ref().expect("extension value").yaml
    }

    fn definition<'a>(doc: &'a pb::Document, name: &str) -> &'a pb::Schema {
        let definitions = &doc.definitions.as_ref().expect("definitions").additional_properties;
        let found = definitions.iter().find(|named| named.name == name).expect("definition present");
        found.value.as_ref().expect("definition schema")
    }

    fn property<'a>(schema: &'a pb::Schema, name: &str) -> &'a pb::Schema {
        let properties = &schema.properties.as_ref().expect("properties").additional_properties;
        let found = properties.iter().find(|named| named.name == name).expect("property present");
        found.value.as_ref().expect("property schema")
    }

    fn query_parameter(item: &pb::ParametersItem) -> Option<&pb::QueryParameterSubSchema> {
        let Some(parameters_item::Oneof::Parameter(parameter)) = &item.oneof else { return None };
        let Some(parameter::Oneof::NonBodyParameter(non_body)) = &parameter.oneof else { return None };
        match &non_body.oneof {
            Some(non_body_parameter::Oneof::QueryParameterSubSchema(query)) => Some(query),
            _ => None,
        }
    }

    fn configmap_document() -> Value {
        let gvk = json!({"group": "", "kind": "ConfigMap", "version": "v1"});
        json!({
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": "v1.27.3"},
            "paths": {
                "/api/v1/namespaces/{namespace}/configmaps/{name}": {
                    "get": {
                        "operationId": "readCoreV1NamespacedConfigMap",
                        "responses": {
                            "200": {"description": "OK", "schema": {"$ref": "#/definitions/io.k8s.api.core.v1.ConfigMap"}},
                            "401": {"description": "Unauthorized"}
                        },
                        "x-kubernetes-action": "get",
                        "x-kubernetes-group-version-kind": gvk
                    },
                    "patch": {
                        "consumes": ["application/strategic-merge-patch+json", "application/apply-patch+yaml"],
                        "operationId": "patchCoreV1NamespacedConfigMap",
                        "parameters": [
                            {"$ref": "#/parameters/body-78PwaGsr"},
                            {"in": "query", "name": "dryRun", "type": "string", "uniqueItems": true},
                            {"description": "fieldValidation instructs the server.", "in": "query",
                             "name": "fieldValidation", "type": "string", "uniqueItems": true}
                        ],
                        "responses": {"200": {"description": "OK"}},
                        "x-kubernetes-action": "patch",
                        "x-kubernetes-group-version-kind": gvk
                    },
                    "parameters": [
                        {"in": "path", "name": "name", "required": true, "type": "string", "uniqueItems": true},
                        {"$ref": "#/parameters/namespace-vgWSWtn3"}
                    ]
                }
            },
            "definitions": {
                "io.k8s.api.core.v1.ConfigMap": {
                    "properties": {
                        "data": {"additionalProperties": {"default": "", "type": "string"}, "type": "object"},
                        "metadata": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "default": {}}
                    },
                    "type": "object",
                    "x-kubernetes-group-version-kind": [gvk]
                },
                "io.k8s.api.core.v1.PodSpec": {
                    "properties": {
                        "containers": {
                            "items": {"$ref": "#/definitions/io.k8s.api.core.v1.Container", "default": {}},
                            "type": "array",
                            "x-kubernetes-patch-merge-key": "name",
                            "x-kubernetes-patch-strategy": "merge"
                        }
                    },
                    "required": ["containers"],
                    "type": "object"
                },
                "io.k8s.api.core.v1.ContainerPort": {
                    "properties": {
                        "protocol": {"default": "TCP", "enum": ["SCTP", "TCP", "UDP"], "type": "string"}
                    },
                    "type": "object"
                }
            },
            "parameters": {
                "body-78PwaGsr": {"in": "body", "name": "body", "required": true,
                                  "schema": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}},
                "namespace-vgWSWtn3": {"in": "path", "name": "namespace", "required": true, "type": "string"}
            },
            "securityDefinitions": {
                "BearerToken": {"description": "Bearer Token authentication", "in": "header", "name": "authorization",
                                "type": "apiKey"}
            },
            "security": [{"BearerToken": []}]
        })
    }

    #[test]
    fn patch_operation_declares_field_validation_for_its_gvk() {
        let doc = decode(&configmap_document());
        let paths = doc.paths.as_ref().expect("paths");
        assert_eq!(paths.path.len(), 1);
        assert_eq!(paths.path[0].name, "/api/v1/namespaces/{namespace}/configmaps/{name}");
        let patch = paths.path[0].value.as_ref().and_then(|item| item.patch.as_ref()).expect("patch operation");
        assert_eq!(patch.operation_id, "patchCoreV1NamespacedConfigMap");
        assert_eq!(
            extension(&patch.vendor_extension, "x-kubernetes-group-version-kind"),
            "group: \"\"\nkind: ConfigMap\nversion: v1\n"
        );
        assert_eq!(extension(&patch.vendor_extension, "x-kubernetes-action"), "patch\n");
        let field_validation =
            patch.parameters.iter().filter_map(query_parameter).find(|q| q.name == "fieldValidation");
        let field_validation = field_validation.expect("fieldValidation query parameter");
        assert_eq!(field_validation.r#in, "query");
        assert_eq!(field_validation.r#type, "string");
        assert!(field_validation.unique_items);
        assert_eq!(field_validation.description, "fieldValidation instructs the server.");
    }

    #[test]
    fn references_and_parameter_locations_pick_gnostic_messages() {
        let doc = decode(&configmap_document());
        let item = doc.paths.as_ref().and_then(|paths| paths.path[0].value.as_ref()).expect("path item");
        let patch = item.patch.as_ref().expect("patch operation");
        assert_eq!(
            patch.parameters[0].oneof,
            Some(parameters_item::Oneof::JsonReference(pb::JsonReference {
                xref: "#/parameters/body-78PwaGsr".into(),
                description: String::new()
            }))
        );
        let Some(parameters_item::Oneof::Parameter(name)) = &item.parameters[0].oneof else {
            panic!("inline parameter")
        };
        let Some(parameter::Oneof::NonBodyParameter(name)) = &name.oneof else { panic!("non-body parameter") };
        let Some(non_body_parameter::Oneof::PathParameterSubSchema(name)) = &name.oneof else {
            panic!("path parameter")
        };
        assert_eq!((name.name.as_str(), name.r#in.as_str(), name.required), ("name", "path", true));

        let shared = &doc.parameters.as_ref().expect("shared parameters").additional_properties;
        assert_eq!(shared[0].name, "body-78PwaGsr");
        let Some(parameter::Oneof::BodyParameter(body)) = shared[0].value.as_ref().and_then(|p| p.oneof.as_ref())
        else {
            panic!("body parameter")
        };
        assert!(body.required);
        assert_eq!(
            body.schema.as_ref().map(|s| s.xref.as_str()),
            Some("#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch")
        );

        let get = item.get.as_ref().expect("get operation");
        let responses = &get.responses.as_ref().expect("responses").response_code;
        assert_eq!(responses.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["200", "401"]);
        let Some(response_value::Oneof::Response(ok)) = responses[0].value.as_ref().and_then(|v| v.oneof.as_ref())
        else {
            panic!("inline response")
        };
        assert_eq!(ok.description, "OK");
        let Some(schema_item::Oneof::Schema(schema)) = ok.schema.as_ref().and_then(|s| s.oneof.as_ref()) else {
            panic!("response schema")
        };
        assert_eq!(schema.xref, "#/definitions/io.k8s.api.core.v1.ConfigMap");
    }

    #[test]
    fn definitions_keep_models_extensions_and_defaults() {
        let doc = decode(&configmap_document());
        let names: Vec<_> = doc
            .definitions
            .as_ref()
            .expect("definitions")
            .additional_properties
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["io.k8s.api.core.v1.ConfigMap", "io.k8s.api.core.v1.PodSpec", "io.k8s.api.core.v1.ContainerPort"]
        );

        let config_map = definition(&doc, "io.k8s.api.core.v1.ConfigMap");
        assert_eq!(config_map.r#type, Some(pb::TypeItem { value: vec!["object".into()] }));
        assert_eq!(
            extension(&config_map.vendor_extension, "x-kubernetes-group-version-kind"),
            "- group: \"\"\n  kind: ConfigMap\n  version: v1\n"
        );
        let metadata = property(config_map, "metadata");
        assert_eq!(metadata.xref, "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
        assert_eq!(metadata.default.as_ref().map(|d| d.yaml.as_str()), Some("{}\n"));
        assert_eq!(metadata.r#type, None);
        let Some(additional_properties_item::Oneof::Schema(data)) =
            property(config_map, "data").additional_properties.as_ref().and_then(|a| a.oneof.as_ref())
        else {
            panic!("additionalProperties schema")
        };
        assert_eq!(data.default.as_ref().map(|d| d.yaml.as_str()), Some("\"\"\n"));

        let pod_spec = definition(&doc, "io.k8s.api.core.v1.PodSpec");
        assert_eq!(pod_spec.required, ["containers"]);
        let containers = property(pod_spec, "containers");
        assert_eq!(extension(&containers.vendor_extension, "x-kubernetes-patch-merge-key"), "name\n");
        assert_eq!(extension(&containers.vendor_extension, "x-kubernetes-patch-strategy"), "merge\n");
        let items = &containers.items.as_ref().expect("items").schema;
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].xref, "#/definitions/io.k8s.api.core.v1.Container");

        let protocol = property(definition(&doc, "io.k8s.api.core.v1.ContainerPort"), "protocol");
        assert_eq!(protocol.r#enum.iter().map(|e| e.yaml.as_str()).collect::<Vec<_>>(), ["SCTP\n", "TCP\n", "UDP\n"]);
        assert!(protocol.r#enum.iter().all(|e| e.value.is_none()));
    }

    #[test]
    fn security_is_kept() {
        let doc = decode(&configmap_document());
        let requirement = &doc.security[0].additional_properties[0];
        assert_eq!(requirement.name, "BearerToken");
        assert_eq!(requirement.value, Some(pb::StringArray { value: vec![] }));
        let scheme = &doc.security_definitions.as_ref().expect("securityDefinitions").additional_properties[0];
        assert_eq!(
            scheme.value.as_ref().and_then(|s| s.oneof.clone()),
            Some(security_definitions_item::Oneof::ApiKeySecurity(pb::ApiKeySecurity {
                r#type: "apiKey".into(),
                name: "authorization".into(),
                r#in: "header".into(),
                description: "Bearer Token authentication".into(),
                vendor_extension: vec![],
            }))
        );
    }

    #[test]
    fn present_empty_objects_stay_present_messages() {
        let doc = json!({
            "swagger": "2.0",
            "paths": {},
            "definitions": {"Empty": {"type": "object", "properties": {}}, "Map": {"type": "object"}}
        });
        let decoded = decode(&doc);
        assert_eq!(decoded.paths, Some(pb::Paths::default()));
        assert_eq!(decoded.info, None);
        assert_eq!(definition(&decoded, "Empty").properties, Some(pb::Properties::default()));
        assert_eq!(definition(&decoded, "Map").properties, None);
    }

    #[test]
    fn wire_bytes_follow_field_numbers() {
        let bytes = encode_document(&json!({"swagger": "2.0", "paths": {}})).expect("encodes");
        // swagger = 1 (string "2.0"), paths = 8 (empty message).
        assert_eq!(bytes, [0x0a, 3, b'2', b'.', b'0', 0x42, 0]);
    }

    #[test]
    fn additional_properties_may_be_a_boolean() {
        let doc = json!({"swagger": "2.0", "definitions": {"Open": {"type": "object", "additionalProperties": true}}});
        let open = decode(&doc);
        let open = definition(&open, "Open").additional_properties.as_ref().and_then(|a| a.oneof.clone());
        assert_eq!(open, Some(additional_properties_item::Oneof::Boolean(true)));
    }

    #[test]
    fn paths_and_responses_keep_only_gnostic_keys() {
        let doc = json!({
            "swagger": "2.0",
            "paths": {
                "/a": {"get": {"responses": {
                    "200": {"description": "OK"},
                    "default": {"description": "error"},
                    "2xx": {"description": "ignored"},
                    "404": {"$ref": "#/responses/NotFound"},
                    "x-code": 1
                }}},
                "x-paths": "kept",
                "not-a-path": {}
            }
        });
        let decoded = decode(&doc);
        let paths = decoded.paths.as_ref().expect("paths");
        assert_eq!(paths.path.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["/a"]);
        assert_eq!(extension(&paths.vendor_extension, "x-paths"), "kept\n");
        let get = paths.path[0].value.as_ref().and_then(|item| item.get.as_ref()).expect("get");
        let responses = get.responses.as_ref().expect("responses");
        assert_eq!(
            responses.response_code.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["200", "default", "404"]
        );
        assert!(matches!(
            responses.response_code[2].value.as_ref().and_then(|v| v.oneof.as_ref()),
            Some(response_value::Oneof::JsonReference(reference)) if reference.xref == "#/responses/NotFound"
        ));
        assert_eq!(extension(&responses.vendor_extension, "x-code"), "1\n");
    }

    #[test]
    fn file_responses_use_file_schema() {
        let doc = json!({"swagger": "2.0", "responses": {
            "File": {"description": "a file", "schema": {"type": "file", "format": "binary"}},
            "NotFile": {"description": "items make it a schema", "schema": {"type": "file", "items": {}}}
        }});
        let decoded = decode(&doc);
        let responses = &decoded.responses.as_ref().expect("responses").additional_properties;
        let schema_of =
            |index: usize| responses[index].value.as_ref().and_then(|r| r.schema.clone()).and_then(|s| s.oneof);
        assert!(matches!(schema_of(0), Some(schema_item::Oneof::FileSchema(file)) if file.format == "binary"));
        assert!(matches!(schema_of(1), Some(schema_item::Oneof::Schema(_))));
    }

    #[test]
    fn type_may_list_several_names() {
        let doc = json!({"swagger": "2.0", "definitions": {"T": {"type": ["string", "null"]}}});
        let decoded = decode(&doc);
        assert_eq!(
            definition(&decoded, "T").r#type,
            Some(pb::TypeItem { value: vec!["string".into(), "null".into()] })
        );
    }

    #[test]
    fn rejects_values_of_the_wrong_type() {
        assert_eq!(encode_document(&json!([])), Err("$root: has unexpected value: [] (expected an object)".into()));
        assert_eq!(
            encode_document(&json!({"definitions": {"A": {"required": "x"}}})),
            Err("$root.definitions.A: has unexpected value for required: \"x\"".into())
        );
        assert_eq!(
            encode_document(&json!({"definitions": {"A": {"maxLength": 1.5}}})),
            Err("$root.definitions.A: has unexpected value for maxLength: 1.5".into())
        );
        assert_eq!(
            encode_document(&json!({"definitions": {"A": {"items": [{}]}}})),
            Err("$root.definitions.A.items: has unexpected value: [{}] (expected an object)".into())
        );
        assert_eq!(
            encode_document(&json!({"paths": {"/a": {"get": {"parameters": [{"in": "cookie", "name": "c"}]}}}})),
            Err("$root.paths./a.get.parameters[0]: contains an invalid Parameter (in: \"cookie\")".into())
        );
    }

    #[test]
    fn string_fields_take_integers_and_null_like_gnostic() {
        let doc = json!({"swagger": "2.0", "info": {"title": 5, "version": null}});
        assert_eq!(decode(&doc).info, Some(pb::Info { title: "5".into(), ..Default::default() }));
        assert!(encode_document(&json!({"info": {"title": true}})).is_err());
    }

    /// Expected texts are what gnostic (go-yaml v3) produced for the same values.
    #[test]
    fn yaml_matches_gnostic_for_scalars() {
        let cases = [
            (json!("merge"), "merge\n"),
            (json!("merge,retainKeys"), "merge,retainKeys\n"),
            (json!(""), "\"\"\n"),
            (json!("true"), "\"true\"\n"),
            (json!("1"), "\"1\"\n"),
            (json!("1.5"), "\"1.5\"\n"),
            (json!("null"), "\"null\"\n"),
            (json!("~"), "\"~\"\n"),
            (json!("yes"), "yes\n"),
            (json!("2023-01-01"), "\"2023-01-01\"\n"),
            (json!("2023-02-30"), "2023-02-30\n"),
            (json!("-"), "'-'\n"),
            (json!("- x"), "'- x'\n"),
            (json!("a: b"), "'a: b'\n"),
            (json!("a:b"), "a:b\n"),
            (json!("#x"), "'#x'\n"),
            (json!("a #b"), "'a #b'\n"),
            (json!("x "), "'x '\n"),
            (json!(" x"), "' x'\n"),
            (json!("it's"), "it's\n"),
            (json!("a\nb"), "|-\n    a\n    b\n"),
            (json!("a\n"), "|\n    a\n"),
            (json!("tab\there"), "\"tab\\there\"\n"),
            (json!("é"), "é\n"),
            (json!("\u{1F600}"), "\"\\U0001F600\"\n"),
            (json!("0x1F"), "\"0x1F\"\n"),
            (json!("1_000"), "\"1_000\"\n"),
            (json!(".5"), "\".5\"\n"),
            (json!("-.inf"), "\"-.inf\"\n"),
            (json!("<<"), "<<\n"),
            (json!("---x"), "'---x'\n"),
            (json!(0), "0\n"),
            (json!(-7), "-7\n"),
            (json!(1.5), "1.5\n"),
            (json!(true), "true\n"),
            (json!(false), "false\n"),
            (json!(null), "null\n"),
            (json!(18_446_744_073_709_551_615_u64), "18446744073709551615\n"),
        ];
        for (value, expected) in cases {
            assert_eq!(yaml(&value), expected, "YAML of {value}");
        }
    }

    #[test]
    fn yaml_matches_gnostic_for_collections() {
        let gvks = json!([{"group": "", "kind": "Pod", "version": "v1"}, {"group": "apps", "kind": "Deployment", "version": "v1"}]);
        let cases = [
            (gvks, "- group: \"\"\n  kind: Pod\n  version: v1\n- group: apps\n  kind: Deployment\n  version: v1\n"),
            (json!({"group": "", "kind": "Pod", "version": "v1"}), "group: \"\"\nkind: Pod\nversion: v1\n"),
            (json!(["containerPort", "protocol"]), "- containerPort\n- protocol\n"),
            (json!([]), "[]\n"),
            (json!({}), "{}\n"),
            (json!([[], {}]), "- []\n- {}\n"),
            (json!([["a", "b"], {"k": ["v"]}]), "- - a\n  - b\n- k:\n    - v\n"),
            (json!({"a": {"b": {"c": 1}}}), "a:\n    b:\n        c: 1\n"),
            (json!({"x\ny": 1}), "? |-\n    x\n    y\n: 1\n"),
        ];
        for (value, expected) in cases {
            assert_eq!(yaml(&value), expected, "YAML of {value}");
        }
        let long_key = "k".repeat(129);
        assert_eq!(yaml(&json!({ long_key.clone(): 1 })), format!("? {long_key}\n: 1\n"));
        let short_key = "k".repeat(128);
        assert_eq!(yaml(&json!({ short_key.clone(): 1 })), format!("{short_key}: 1\n"));
    }

    #[test]
    fn timestamps_follow_go_time_parse() {
        let quoted = |text: &str| yaml(&json!(text)).starts_with('"');
        assert!(quoted("2024-02-29"));
        assert!(!quoted("2023-02-29"));
        assert!(quoted("2023-1-2T3:4:5Z"));
        assert!(quoted("2023-01-01t10:00:00.5+02:00"));
        assert!(quoted("2023-01-01  10:00:00,123"));
        assert!(!quoted("2023-01-01T10:00:00"));
        assert!(!quoted("2023-01-01 10:00:00Z"));
        assert!(!quoted("2023-01-01T24:00:00Z"));
        // Go 1.20+ rejects zone offsets above 24:00 (Go 1.19 accepted them).
        assert!(!quoted("2023-01-01T10:00:00+25:00"));
        assert!(!quoted("20230-01-01"));
    }
}
