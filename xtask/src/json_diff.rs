//! Locating the first difference between two JSON documents.

use serde_json::Value;

/// The JSON pointer of the first place where `left` and `right` differ, or `None` if they are
/// equal. Object key order does not matter; array order does.
pub fn first_difference(left: &Value, right: &Value) -> Option<String> {
    let mut pointer = String::new();
    walk(left, right, &mut pointer).then_some(pointer)
}

fn walk(left: &Value, right: &Value, pointer: &mut String) -> bool {
    match (left, right) {
        (Value::Object(a), Value::Object(b)) => {
            let keys = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k)));
            for key in keys {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) if !walk(x, y, pointer) => pointer.truncate(len),
                    _ => return true,
                }
            }
            false
        }
        (Value::Array(a), Value::Array(b)) => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&index.to_string());
                if walk(x, y, pointer) {
                    return true;
                }
                pointer.truncate(len);
            }
            if a.len() != b.len() {
                pointer.push('/');
                pointer.push_str(&a.len().min(b.len()).to_string());
                return true;
            }
            false
        }
        (a, b) => a != b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_first_difference() {
        let a = json!({"a": 1, "b": {"c": [1, 2, {"d/e": true}]}});
        assert_eq!(first_difference(&a, &a.clone()), None);
        let b = json!({"b": {"c": [1, 2, {"d/e": false}]}, "a": 1});
        assert_eq!(first_difference(&a, &b).as_deref(), Some("/b/c/2/d~1e"));
        let c = json!({"a": 1, "b": {"c": [1, 2]}});
        assert_eq!(first_difference(&a, &c).as_deref(), Some("/b/c/2"));
        let d = json!({"a": 1, "b": {"c": [1, 2, {"d/e": true}]}, "z": null});
        assert_eq!(first_difference(&a, &d).as_deref(), Some("/z"));
    }
}
