use serde_json::json;

use super::*;

fn schema(v: serde_json::Value) -> Schema {
    Schema::from_value(&v)
}

fn run(s: &Schema, obj: serde_json::Value, old: Option<serde_json::Value>) -> Vec<String> {
    RuleSet::new(s).validate(s, &obj, old.as_ref()).iter().map(ToString::to_string).collect()
}

#[test]
fn rules_and_messages() {
    let s = schema(json!({"type": "object", "properties": {"spec": {"type": "object",
        "x-kubernetes-validations": [
            {"rule": "self.minReplicas <= self.replicas", "message": "replicas should be greater than or equal to minReplicas"},
            {"rule": "self.replicas < 100", "messageExpression": "'too many: ' + string(self.replicas)", "fieldPath": ".replicas"},
            {"rule": "!has(self.forbidden)", "reason": "FieldValueForbidden", "message": "not allowed"}
        ],
        "properties": {"replicas": {"type": "integer"}, "minReplicas": {"type": "integer"}, "forbidden": {"type": "string"}}}}}));
    assert!(run(&s, json!({"spec": {"replicas": 3, "minReplicas": 1}}), None).is_empty());
    assert_eq!(
        run(&s, json!({"spec": {"replicas": 300, "minReplicas": 500, "forbidden": "x"}}), None),
        vec![
            r#"spec: Invalid value: "object": replicas should be greater than or equal to minReplicas"#,
            r#"spec.replicas: Invalid value: "object": too many: 300"#,
            "spec: Forbidden: not allowed",
        ]
    );
}

#[test]
fn transition_rules() {
    let s = schema(json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "name": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "Value is immutable"}]},
        "count": {"type": "integer", "x-kubernetes-validations": [
            {"rule": "!oldSelf.hasValue() || self >= oldSelf.value()", "optionalOldSelf": true, "message": "may only grow"}]}
    }}}}));
    assert!(run(&s, json!({"spec": {"name": "a", "count": 1}}), None).is_empty());
    assert_eq!(
        run(&s, json!({"spec": {"name": "b", "count": 1}}), Some(json!({"spec": {"name": "a", "count": 2}}))),
        vec![
            r#"spec.name: Invalid value: "string": Value is immutable"#,
            r#"spec.count: Invalid value: "integer": may only grow"#
        ]
    );
}

#[test]
fn libraries() {
    for (rule, ok) in [
        ("self.items.all(x, x > 0) && self.items.exists(x, x == 2) && self.items.exists_one(x, x == 3)", true),
        ("self.items.map(x, x * 2).filter(x, x > 4) == [6]", true),
        ("size(self.name) == 5 && self.name.startsWith('he') && self.name.matches('^h.*o$')", true),
        ("self.name.upperAscii() == 'HELLO' && self.name.indexOf('l') == 2 && self.name.split('l').size() == 3", true),
        ("self.items.isSorted() && self.items.sum() == 6 && self.items.max() == 3 && self.items.min() == 1", true),
        ("self.name.find('l+') == 'll' && self.name.findAll('l') == ['l', 'l']", true),
        ("url('https://example.com:8443/a?x=1').getHost() == 'example.com:8443' && isURL('https://x')", true),
        ("quantity(self.mem).isGreaterThan(quantity('1Gi')) && quantity('1.5').isInteger() == false", true),
        ("quantity('1k').add(quantity('1')).compareTo(quantity('1001')) == 0 && isQuantity('2Mi')", true),
        ("self.items.size() > 5", false),
    ] {
        let s = schema(json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [{"rule": rule}],
            "properties": {"items": {"type": "array", "items": {"type": "integer"}}, "name": {"type": "string"},
                "mem": {"type": "string"}}}}}));
        let errs = run(&s, json!({"spec": {"items": [1, 2, 3], "name": "hello", "mem": "2Gi"}}), None);
        assert_eq!(errs.is_empty(), ok, "{rule}: {errs:?}");
    }
}

#[test]
fn compile_checks() {
    let bad = json!({"type": "object", "properties": {"spec": {"type": "object",
        "x-kubernetes-validations": [{"rule": "self.a ==="}, {"rule": "self.x == other"}],
        "properties": {"l": {"type": "array", "items": {"type": "string",
            "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}}}}}});
    let errs: Vec<String> =
        validate_schema_rules(&bad, "spec.validation.openAPIV3Schema").iter().map(ToString::to_string).collect();
    assert!(errs[0].starts_with("spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:\"self.a ===\""), "{errs:?}");
    assert!(errs[0].contains("compilation failed: ERROR: <input>:1:"), "{errs:?}");
    assert!(errs[1].contains("undeclared reference to 'other'"), "{errs:?}");
    assert_eq!(
        errs[2],
        "spec.validation.openAPIV3Schema.properties[spec].properties[l].items.x-kubernetes-validations[0].rule: Invalid value: \"self == oldSelf\": oldSelf cannot be used on the uncorrelatable portion of the schema within spec.validation.openAPIV3Schema.properties[spec].properties[l]"
    );
}

#[test]
fn runtime_errors() {
    let s = schema(json!({"type": "object", "properties": {"spec": {"type": "object",
        "x-kubernetes-validations": [{"rule": "self.missing == 1"}], "properties": {"a": {"type": "string"}}}}}));
    let errs = run(&s, json!({"spec": {"a": "x"}}), None);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with(r#"spec: Invalid value: "object": "#)
            && errs[0].ends_with("evaluating rule: self.missing == 1"),
        "{errs:?}"
    );
}
