//! `event`: the strict and the lenient parse of a webhook body.

use runhook::{Event, EventError};

/// Parses `data` as a webhook body, strictly ([`Event::from_slice`]) and leniently
/// ([`Event::from_slice_lenient`]), and checks:
///
/// - an event the strict parse accepts is also accepted by the lenient parse, the same event
///   with no drift, unless the lenient parse refuses a repeated key (the strict parse does not
///   look for one);
/// - an event with no drift is written out ([`Event::to_vec`]) and parsed strictly again to
///   itself;
/// - an event with drift is written out and parsed leniently again to an event of the same type
///   and run.
pub fn event(data: &[u8]) {
    let strict = Event::from_slice(data);
    let lenient = Event::from_slice_lenient(data);
    if let Ok(strict) = &strict {
        match &lenient {
            Ok(lenient) => {
                if lenient.drift_problems().is_empty() {
                    assert_eq!(lenient, strict, "the lenient parse read another event");
                }
            }
            Err(EventError::DuplicateKey { .. }) => {}
            Err(error) => panic!("the strict parse accepts what the lenient one refuses: {error}"),
        }
    }
    for event in strict.iter().chain(lenient.iter()) {
        round_trip(event);
    }
}

/// Writes `event` out and reads it back.
pub(crate) fn round_trip(event: &Event) {
    let written = match event.to_vec() {
        Ok(written) => written,
        Err(error) => panic!("an accepted event cannot be written out: {error}"),
    };
    if event.drift_problems().is_empty() {
        match Event::from_slice(&written) {
            Ok(again) => assert_eq!(&again, event, "the event read back differs"),
            Err(error) => panic!("an event written out is refused when read back: {error}"),
        }
    } else {
        match Event::from_slice_lenient(&written) {
            Ok(again) => {
                assert_eq!(again.name(), event.name());
                assert_eq!(again.run_id(), event.run_id());
            }
            Err(error) => panic!("a drifted event written out is refused when read back: {error}"),
        }
    }
}
