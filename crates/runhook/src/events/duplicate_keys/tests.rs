//! The one-pass check against the separate pass it replaced ([`oracle`]): the same findings, and
//! the same outcome of every parse that uses them, on every fixture and on bodies with repeated
//! keys and drift generated from them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;

use proptest::prelude::*;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::{DuplicateKey, deserialize, oracle};
use crate::events::lenient::{MAX_DUPLICATES, lenient};
use crate::receive::RequestChecks;
use crate::{Event, EventError};

fn find(body: &[u8]) -> Option<DuplicateKey> {
    deserialize::<IgnoredAny>(body, 1).1.pop()
}

#[test]
fn finds_repeated_keys_with_their_object() {
    assert_eq!(find(br#"{"a":1,"b":{"c":[1,{"d":1}]}}"#), None);
    assert_eq!(
        find(br#"{"a":1,"a":2}"#),
        Some(DuplicateKey {
            object: String::new(),
            key: "a".into()
        })
    );
    assert_eq!(
        find(br#"{"data":{"result":{"items":[{},{"k~/":1,"x":{"y":1,"y":2}}]}}}"#),
        Some(DuplicateKey {
            object: "/data/result/items/1/x".into(),
            key: "y".into()
        })
    );
    // Keys equal after unescaping are the same key.
    assert_eq!(
        find(br#"{"a":1,"\u0061":2}"#).map(|d| d.key),
        Some("a".into())
    );
    // The same key in sibling objects is fine.
    assert_eq!(find(br#"[{"a":1},{"a":1}]"#), None);
    // A repeat inside a repeated copy is noted once; the walk goes on to the end.
    let body = br#"{"a":{"x":1,"x":2},"a":{"x":1,"x":2},"b":{"k~1":{"z":0,"z":0}}}"#;
    let (parsed, found) = deserialize::<Value>(body, 64);
    assert_eq!(
        parsed.unwrap(),
        serde_json::from_slice::<Value>(body).unwrap()
    );
    let found: Vec<(&str, &str)> = found
        .iter()
        .map(|d| (d.object.as_str(), d.key.as_str()))
        .collect();
    assert_eq!(found, [("/a", "x"), ("", "a"), ("/b/k~01", "z")]);
}

#[test]
fn large_objects_are_checked_too() {
    let keys: Vec<String> = (0..100)
        .map(|i| format!("\"k{i}\":{{\"n\":{i}}}"))
        .collect();
    let object = format!("{{{}}}", keys.join(","));
    assert_eq!(find(object.as_bytes()), None);
    for repeat in [0, 15, 16, 17, 99] {
        let body = format!("{{{},\"k{repeat}\":0}}", keys.join(","));
        assert_eq!(
            find(body.as_bytes()).map(|d| d.key),
            Some(format!("k{repeat}")),
            "k{repeat}"
        );
    }
}

#[test]
fn the_limit_caps_the_findings_not_the_parse() {
    let body = br#"{"a":1,"a":2,"b":[{"c":1,"c":2}],"d":true,"d":false}"#;
    for limit in [1, 2, 3, 64] {
        let (parsed, found) = deserialize::<Value>(body, limit);
        assert_eq!(
            parsed.unwrap(),
            serde_json::from_slice::<Value>(body).unwrap()
        );
        assert_eq!(found, oracle::find_up_to(body, limit), "limit {limit}");
    }
    assert_eq!(deserialize::<Value>(body, 0).1, []);
    // The parse's own errors are serde_json's, trailing characters included.
    for bad in [&b"{\"a\":1} x"[..], b"{\"a\":", b"[1e400]"] {
        let error = deserialize::<Value>(bad, 64).0.unwrap_err().to_string();
        assert_eq!(
            error,
            serde_json::from_slice::<Value>(bad)
                .unwrap_err()
                .to_string()
        );
    }
}

/// What each parse that looks for repeated keys gave before this check was folded into the
/// parse: the strict parse followed by the oracle's pass, then the lenient slow path.
fn before(body: &[u8], strict: bool, check: bool) -> Result<Event, EventError> {
    let parsed = Event::from_slice(body);
    let duplicate = match &parsed {
        Ok(_) if check => oracle::find(body),
        _ => None,
    };
    if strict {
        let event = parsed?;
        return match duplicate {
            Some(DuplicateKey { object, key }) => Err(EventError::DuplicateKey { object, key }),
            None => Ok(event),
        };
    }
    match parsed {
        Ok(event) if duplicate.is_none() => Ok(event),
        _ => {
            let duplicates = if check {
                oracle::find_up_to(body, MAX_DUPLICATES)
            } else {
                Vec::new()
            };
            let value = serde_json::from_slice(body).map_err(|e| EventError::syntax(&e))?;
            lenient(value, &duplicates)
        }
    }
}

/// Asserts that every parse gives what it gave before, and that the one pass finds what the
/// separate pass found.
fn assert_same(body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    for strict in [false, true] {
        for check in [false, true] {
            let mut config = RequestChecks::default().with_strict(strict);
            config.reject_duplicate_keys = check;
            assert_eq!(
                crate::receive::parse(body, &config),
                before(body, strict, check),
                "strict {strict}, check {check}: {text}"
            );
        }
    }
    assert_eq!(
        Event::from_slice_lenient(body),
        before(body, false, true),
        "{text}"
    );
    if serde_json::from_slice::<IgnoredAny>(body).is_ok() {
        assert_eq!(
            deserialize::<Value>(body, MAX_DUPLICATES).1,
            oracle::find_up_to(body, MAX_DUPLICATES),
            "{text}"
        );
    }
}

/// Every fixture's body: the valid ones, the invalid ones' payloads, and the receive vectors'
/// request bodies.
fn fixture_bodies() -> &'static [Vec<u8>] {
    static BODIES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    BODIES.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        let mut bodies = Vec::new();
        for folder in ["valid", "invalid"] {
            let mut files: Vec<_> = std::fs::read_dir(root.join(folder))
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .collect();
            files.sort();
            for file in files {
                let bytes = std::fs::read(&file).unwrap();
                if folder == "valid" {
                    bodies.push(bytes);
                } else {
                    let wrapper: Value = serde_json::from_slice(&bytes).unwrap();
                    bodies.push(serde_json::to_vec(&wrapper["payload"]).unwrap());
                }
            }
        }
        let vectors: Value =
            serde_json::from_slice(&std::fs::read(root.join("vectors/receive.json")).unwrap())
                .unwrap();
        for case in vectors["cases"].as_array().unwrap() {
            for step in case["steps"].as_array().unwrap() {
                let request = &step["request"];
                if let Some(text) = request["text"].as_str() {
                    bodies.push(text.as_bytes().to_vec());
                } else if !request["json"].is_null() {
                    bodies.push(serde_json::to_vec(&request["json"]).unwrap());
                }
            }
        }
        bodies
    })
}

#[test]
fn every_fixture_gives_what_it_gave_before() {
    let bodies = fixture_bodies();
    assert!(bodies.len() > 100, "{}", bodies.len());
    for body in bodies {
        assert_same(body);
    }
}

/// A small seeded generator (splitmix64): the mutations are a function of the proptest seed.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True one time in `n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Values a repeat or a drift puts in place: other types, nested repeats, known field names.
const REPLACEMENTS: &[&str] = &[
    "null",
    "1",
    "-2.5",
    "\"x\"",
    "\"COMPLETED\"",
    "\"run-other\"",
    "\"2026-03-25T10:30:00Z\"",
    "true",
    "[]",
    "{}",
    "[{\"id\":\"s\",\"id\":\"t\"}]",
    "{\"message\":\"m\",\"message\":\"n\"}",
    "{\"p\":1,\"q\":{\"r\":1,\"r\":2}}",
];

/// Writes `value` as JSON text, now and then repeating a key (with the same or another value),
/// spelling a key with an escape, or putting another value in place of one.
fn write(value: &Value, dice: &mut Dice, out: &mut String) {
    match value {
        Value::Object(map) => {
            out.push('{');
            let mut first = true;
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            for (key, item) in map {
                let mut entries = vec![(key.as_str(), Some(item))];
                if dice.one_in(12) {
                    entries.push((key.as_str(), dice.one_in(2).then_some(item)));
                }
                if dice.one_in(25) {
                    entries.push((dice.pick(&keys), None));
                }
                for (key, item) in entries {
                    if !std::mem::take(&mut first) {
                        out.push(',');
                    }
                    let quoted = serde_json::to_string(key).unwrap();
                    match key.chars().next() {
                        Some(c) if c.is_ascii_alphabetic() && dice.one_in(10) => {
                            out.push_str(&format!("\"\\u{:04x}{}", c as u32, &quoted[2..]));
                        }
                        _ => out.push_str(&quoted),
                    }
                    out.push(':');
                    match item {
                        Some(item) if !dice.one_in(30) => write(item, dice, out),
                        _ => out.push_str(dice.pick(REPLACEMENTS)),
                    }
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, dice, out);
            }
            out.push(']');
        }
        Value::String(_) if dice.one_in(40) => {
            let other = dice.pick(&["run.started", "run.failed", "FAILED", "x/y"]);
            out.push_str(&serde_json::to_string(&other).unwrap());
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// Fixtures rewritten with repeated keys, escaped keys and drifted values: every parse gives
    /// what it gave before.
    #[test]
    fn generated_bodies_give_what_they_gave_before(index in any::<usize>(), seed in any::<u64>()) {
        let bodies = fixture_bodies();
        let body = &bodies[index % bodies.len()];
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return Ok(());
        };
        let mut dice = Dice(seed);
        let mut text = String::new();
        write(&value, &mut dice, &mut text);
        assert_same(text.as_bytes());
    }
}
