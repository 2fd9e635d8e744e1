//! Duplicate keys in a YAML apply configuration. With `fieldValidation=Strict` the real
//! server decodes an apply patch with yaml.v2's strict mode, which refuses a mapping that
//! repeats a key with `line N: key "k" already set in map` (N the line of the repeat).
//! serde's maps keep the last value silently, so the keys are found here: a serde walk
//! finds which keys repeat (in document order), and the text gives their lines.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, VariantAccess, Visitor};

/// yaml.v2's message for each repeated key, in document order; empty when there is none
/// (or when the text does not parse, which the patch parser reports itself).
pub fn duplicate_key_errors(body: &[u8]) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(body) else { return Vec::new() };
    let found = RefCell::new(Vec::new());
    if Walk(&found).deserialize(serde_yaml_ng::Deserializer::from_str(text)).is_err() {
        return Vec::new();
    }
    let mut used = HashSet::new();
    found
        .into_inner()
        .into_iter()
        .map(|key| match line_of_repeat(text, &key, &mut used) {
            Some(line) => format!("line {line}: key {key:?} already set in map"),
            None => format!("key {key:?} already set in map"),
        })
        .collect()
}

/// The 1-based line where `key` appears a second time in one block mapping: a later line
/// with the key at the same column as an earlier one, with no less indented line between
/// (a line that starts a list item begins a mapping of its own).
fn line_of_repeat(text: &str, key: &str, used: &mut HashSet<usize>) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let key_at = |l: &str| -> Option<usize> {
        let mut col = indent(l);
        let mut rest = l.trim_start();
        while let Some(r) = rest.strip_prefix("- ") {
            col += 2 + indent(r);
            rest = r.trim_start();
        }
        let (name, _) = rest.split_once(':')?;
        (name.trim().trim_matches(|c| c == '"' || c == '\'') == key).then_some(col)
    };
    for (j, l) in lines.iter().enumerate() {
        let Some(col) = key_at(l) else { continue };
        if used.contains(&j) || l.trim_start().starts_with("- ") {
            continue;
        }
        for prev in lines[..j].iter().rev() {
            if prev.trim().is_empty() || prev.trim_start().starts_with('#') {
                continue;
            }
            if key_at(prev) == Some(col) {
                used.insert(j);
                return Some(j + 1);
            }
            if indent(prev) < col {
                break;
            }
        }
    }
    None
}

/// A serde walk over any YAML value that records each key a mapping repeats.
struct Walk<'a>(&'a RefCell<Vec<String>>);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<serde_yaml_ng::Value>()? {
            let name = match &key {
                serde_yaml_ng::Value::String(s) => s.clone(),
                other => serde_yaml_ng::to_string(other).unwrap_or_default().trim().to_string(),
            };
            if !seen.insert(name.clone()) {
                self.0.borrow_mut().push(name);
            }
            map.next_value_seed(Walk(self.0))?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Walk(self.0))?.is_some() {}
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged value (`!tag x`): its content does not matter here.
        let (IgnoredAny, v) = data.variant()?;
        v.newtype_variant::<IgnoredAny>().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::duplicate_key_errors;

    #[test]
    fn reports_the_line_of_each_repeat() {
        let body = "\napiVersion: v1\nkind: K\nmetadata:\n  name: x\nspec:\n  unknown: uk1\n  foo: foo1\n  foo: foo2\n  ports:\n  - name: x\n    name: y\n";
        assert_eq!(
            duplicate_key_errors(body.as_bytes()),
            vec![r#"line 9: key "foo" already set in map"#, r#"line 12: key "name" already set in map"#]
        );
    }

    #[test]
    fn the_same_key_in_different_mappings_is_no_repeat() {
        let body = "a:\n  name: x\nb:\n  name: y\nc: [{name: 1}, {name: 2}]\n";
        assert!(duplicate_key_errors(body.as_bytes()).is_empty());
    }
}
