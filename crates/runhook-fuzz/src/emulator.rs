//! `emulator_request`: the emulator's checks of request bodies.

use runhook_emulator::{BodyKind, check_body};
use serde_json::Value;

/// Checks `data` as a run body and as a `{"run_ids"}` body, with and without loopback webhook
/// URLs allowed ([`check_body`]). Checks: a refusal is a 400 `INVALID_INPUT` envelope with a
/// message and at least one issue in `details`, each with a `code`, a `path` and a `message`;
/// a run body accepted without the loopback opt-in is accepted with it.
pub fn emulator_request(data: &[u8]) {
    for kind in [BodyKind::Run, BodyKind::RunIds] {
        let strict = check_body(kind, data, false);
        let open = check_body(kind, data, true);
        if strict.is_ok() {
            assert!(open.is_ok(), "the loopback opt-in refused a body: {open:?}");
        }
        for refusal in [strict, open].into_iter().filter_map(Result::err) {
            check_refusal(&refusal);
        }
    }
}

/// What every refusal carries.
fn check_refusal(envelope: &Value) {
    let error = &envelope["error"];
    assert_eq!(error["code"], "INVALID_INPUT", "{envelope}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a refusal without a message: {envelope}"
    );
    let details = error["details"].as_array().map_or(&[][..], Vec::as_slice);
    assert!(
        !details.is_empty(),
        "a refusal without an issue: {envelope}"
    );
    for issue in details {
        assert!(issue["code"].is_string(), "{issue}");
        assert!(issue["path"].is_array(), "{issue}");
        assert!(issue["message"].is_string(), "{issue}");
    }
}
