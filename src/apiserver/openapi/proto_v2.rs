//! STUB until the gnostic protobuf encoder lands.
pub fn encode_document(_doc: &serde_json::Value) -> Result<Vec<u8>, String> {
    Err("not implemented".into())
}
