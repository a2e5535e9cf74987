//! `trigger --set PATH=JSON`: replace or add one field of the built event. PATH is a JSON
//! pointer (RFC 6901: `/data/result`, `/data/steps/0/status`; `~1` is `/` and `~0` is `~` in a
//! key); JSON is the new value (`'"text"'`, `42`, `null`, `{"a":1}`).

use anyhow::bail;
use serde_json::Value;

/// One `--set PATH=JSON`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Override {
    /// The JSON pointer, e.g. `/data/result`.
    pub(crate) pointer: String,
    /// The value to put there.
    pub(crate) value: Value,
}

/// Parses `PATH=JSON` for clap; the message says what is wrong (clap exits 2 with it).
pub(crate) fn parse(text: &str) -> Result<Override, String> {
    let Some((pointer, json)) = text.split_once('=') else {
        return Err(format!(
            "expected PATH=JSON, e.g. /data/result='{{\"price\":1}}'; {text:?} has no `=`"
        ));
    };
    if !pointer.starts_with('/') {
        return Err(format!(
            "PATH {pointer:?} is not a JSON pointer: it must start with `/`, e.g. /data/result \
             (not data.result)"
        ));
    }
    if let Some(bad) = pointer
        .split('/')
        .find(|token| token.replace("~0", "").replace("~1", "").contains('~'))
    {
        return Err(format!(
            "PATH {pointer:?}: in {bad:?}, `~` must be followed by 0 (`~`) or 1 (`/`)"
        ));
    }
    let value = serde_json::from_str(json).map_err(|error| {
        format!(
            "the value for {pointer} is not JSON ({error}); quote strings, e.g. \
             {pointer}='\"text\"'"
        )
    })?;
    Ok(Override {
        pointer: pointer.to_owned(),
        value,
    })
}

/// Puts `change.value` at `change.pointer` in `document`: replaces a field or array element,
/// or adds a key to an existing object (`-` appends to an array). The parent must exist.
pub(crate) fn apply(document: &mut Value, change: &Override) -> anyhow::Result<()> {
    let (parent, last) = match change.pointer.rsplit_once('/') {
        Some(split) => split,
        None => bail!("--set {}: not a JSON pointer", change.pointer),
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    let Some(target) = document.pointer_mut(parent) else {
        bail!(
            "--set {}: the event has nothing at {parent:?} to set {key:?} in",
            change.pointer
        );
    };
    match target {
        Value::Object(object) => {
            object.insert(key, change.value.clone());
        }
        Value::Array(items) => {
            let len = items.len();
            match key.as_str() {
                "-" => items.push(change.value.clone()),
                index => match index.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    Some(item) => *item = change.value.clone(),
                    None => bail!(
                        "--set {}: {parent} is an array of {len}; {index:?} is not one of its \
                         indexes (use - to append)",
                        change.pointer
                    ),
                },
            }
        }
        other => bail!(
            "--set {}: {parent} holds {}, which has no fields",
            change.pointer,
            kind(other)
        ),
    }
    Ok(())
}

/// What a JSON value is, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_replaced_added_and_appended() {
        let mut doc = json!({"data": {"result": null, "steps": [1, 2]}});
        for (set, expected) in [
            ("/data/result={\"a\":1}", json!({"a": 1})),
            ("/data/new=\"x\"", json!("x")),
            ("/data/steps/1=3", json!(3)),
            ("/data/a~1b=true", json!(true)),
        ] {
            apply(&mut doc, &parse(set).unwrap()).unwrap();
            let pointer = set.split_once('=').unwrap().0;
            assert_eq!(doc.pointer(pointer), Some(&expected), "{set}");
        }
        apply(&mut doc, &parse("/data/steps/-=4").unwrap()).unwrap();
        assert_eq!(doc["data"]["steps"], json!([1, 3, 4]));
        assert_eq!(doc["data"]["a/b"], json!(true));
    }

    #[test]
    fn bad_paths_and_values_are_explained() {
        assert!(
            parse("data.result=1")
                .unwrap_err()
                .contains("must start with `/`")
        );
        assert!(parse("/data/result").unwrap_err().contains("no `=`"));
        assert!(parse("/data/goal=text").unwrap_err().contains("not JSON"));
        assert!(parse("/a~2=1").unwrap_err().contains("`~`"));
        let mut doc = json!({"data": {"steps": [], "n": 1}});
        let missing = apply(&mut doc, &parse("/nope/x=1").unwrap()).unwrap_err();
        assert!(
            missing.to_string().contains("nothing at \"/nope\""),
            "{missing}"
        );
        assert!(apply(&mut doc, &parse("/data/steps/5=1").unwrap()).is_err());
        assert!(apply(&mut doc, &parse("/data/n/x=1").unwrap()).is_err());
    }
}
