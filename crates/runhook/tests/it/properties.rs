//! Property tests: generated valid events round-trip; no input makes the parser panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use proptest::prelude::*;
use runhook::Event;
use serde_json::{Map, Value};

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn timestamp() -> impl Strategy<Value = String> {
    (
        0i64..4_102_444_800,
        prop::option::of(0u32..1_000_000),
        prop_oneof![
            Just("Z".to_owned()),
            (-12i32..=14).prop_map(|h| format!("{h:+03}:00"))
        ],
    )
        .prop_map(|(secs, frac, offset)| {
            let t = time::OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let frac = frac.map(|f| format!(".{f:06}")).unwrap_or_default();
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}{offset}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
}

/// A field that is absent (None), null, or holds a value from `value`.
fn field(value: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![Just(None), Just(Some(Value::Null)), value.prop_map(Some)]
}

fn extra_fields() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("x_[a-z]{1,6}", any_json(), 0..3)
        .prop_map(|m| m.into_iter().collect())
}

fn insert(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value);
    }
}

fn status() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("PENDING"),
        Just("RUNNING"),
        Just("COMPLETED"),
        Just("FAILED"),
        Just("CANCELLED"),
        Just("PAUSED")
    ]
    .prop_map(str::to_owned)
}

fn step() -> impl Strategy<Value = Value> {
    (
        "[a-z0-9-]{1,36}",
        timestamp(),
        status(),
        field(".{0,20}".prop_map(Value::String)),
        field("[0-9]{1,2}\\.[0-9]s".prop_map(Value::String)),
        extra_fields(),
    )
        .prop_map(|(id, ts, status, action, duration, mut extra)| {
            extra.insert("id".into(), id.into());
            extra.insert("timestamp".into(), ts.into());
            extra.insert("status".into(), status.into());
            insert(&mut extra, "action", action);
            insert(&mut extra, "screenshot", Some(Value::Null));
            insert(&mut extra, "duration", duration);
            Value::Object(extra)
        })
}

fn error_object() -> impl Strategy<Value = Value> {
    (
        ".{0,30}",
        field(
            prop_oneof![
                Just("SYSTEM_FAILURE"),
                Just("AGENT_FAILURE"),
                Just("BILLING_FAILURE"),
                Just("UNKNOWN"),
                Just("NEW_KIND")
            ]
            .prop_map(Value::from),
        ),
        field("[a-z_]{1,12}".prop_map(Value::String)),
        field(prop_oneof![
            (0u32..600).prop_map(Value::from),
            (0.0f64..600.0).prop_map(Value::from)
        ]),
    )
        .prop_map(|(message, category, code, retry_after)| {
            let mut map = Map::new();
            map.insert("message".into(), message.into());
            insert(&mut map, "category", category);
            insert(&mut map, "code", code);
            insert(&mut map, "retry_after", retry_after);
            Value::Object(map)
        })
}

/// A valid webhook body: one of the three documented events, consistent, with arbitrary
/// optional fields absent, null or set, and arbitrary unknown fields.
fn valid_event() -> impl Strategy<Value = Value> {
    let run_fields = (
        field(".{0,40}".prop_map(Value::String))
            .prop_filter("goal is never null", |g| g != &Some(Value::Null)),
        prop::option::of(timestamp()),
        field(timestamp().prop_map(Value::String)),
        field(timestamp().prop_map(Value::String)),
        field((0u64..10_000).prop_map(Value::from)),
        field(
            prop::collection::btree_map("[a-z]{1,6}", any_json(), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ),
        field(error_object()),
        prop::option::of(prop::collection::vec(step(), 0..4)),
        field(
            (
                field(any::<bool>().prop_map(Value::Bool)),
                field("[A-Z]{2}".prop_map(Value::String)),
            )
                .prop_map(|(enabled, country)| {
                    let mut map = Map::new();
                    insert(&mut map, "proxy_enabled", enabled);
                    insert(&mut map, "proxy_country_code", country);
                    Value::Object(map)
                }),
        ),
        extra_fields(),
    );
    (
        0usize..3,
        "[A-Za-z0-9_-]{1,64}",
        any::<bool>(),
        any::<bool>(),
        run_fields,
        extra_fields(),
    )
        .prop_map(
            |(kind, run_id, data_has_id, data_has_status, fields, mut envelope)| {
                let (event, status) = [
                    ("run.completed", "COMPLETED"),
                    ("run.failed", "FAILED"),
                    ("run.cancelled", "CANCELLED"),
                ][kind];
                let (
                    goal,
                    created,
                    started,
                    finished,
                    steps_n,
                    result,
                    error,
                    steps,
                    browser,
                    extra,
                ) = fields;
                let mut data = extra;
                if data_has_id {
                    data.insert("run_id".into(), run_id.clone().into());
                }
                if data_has_status {
                    data.insert("status".into(), status.into());
                }
                insert(&mut data, "goal", goal);
                insert(&mut data, "created_at", created.map(Value::String));
                insert(&mut data, "started_at", started);
                insert(&mut data, "finished_at", finished);
                insert(&mut data, "num_of_steps", steps_n);
                insert(&mut data, "result", result);
                insert(&mut data, "error", error);
                insert(&mut data, "steps", steps.map(Value::Array));
                insert(&mut data, "browser_config", browser);
                envelope.insert("event".into(), event.into());
                envelope.insert("run_id".into(), run_id.into());
                envelope.insert("status".into(), status.into());
                envelope.insert("data".into(), Value::Object(data));
                Value::Object(envelope)
            },
        )
}

/// Every JSON pointer to a value inside `value`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                pointers(child, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{index}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn valid_events_round_trip(body in valid_event()) {
        let bytes = serde_json::to_vec(&body).unwrap();
        let event = Event::from_slice(&bytes).map_err(|e| TestCaseError::fail(format!("{e}\n{body}")))?;
        prop_assert!(!matches!(event, Event::Unknown(_)));
        prop_assert_eq!(serde_json::to_value(&event).unwrap(), body.clone());
        prop_assert_eq!(Event::from_value(body).unwrap(), event.clone());
        prop_assert_eq!(Event::from_slice(&event.to_vec().unwrap()).unwrap(), event);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Event::from_slice(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        let _ = Event::from_slice(&serde_json::to_vec(&value).unwrap());
        let _ = Event::from_value(value);
    }

    /// Replace any value inside a valid event with arbitrary JSON: the parser never panics, and
    /// whatever it accepts still round-trips exactly.
    #[test]
    fn mutated_events_never_panic_and_accepted_ones_round_trip(
        body in valid_event(),
        pick in any::<prop::sample::Index>(),
        replacement in any_json(),
    ) {
        let mut all = Vec::new();
        pointers(&body, String::new(), &mut all);
        let target = pick.get(&all).clone();
        let mut mutated = body;
        if target.is_empty() {
            mutated = replacement;
        } else if let Some(slot) = mutated.pointer_mut(&target) {
            *slot = replacement;
        }
        let bytes = serde_json::to_vec(&mutated).unwrap();
        if let Ok(event) = Event::from_slice(&bytes) {
            prop_assert_eq!(serde_json::to_value(&event).unwrap(), mutated);
        }
    }
}
