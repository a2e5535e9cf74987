//! Tests of [`UrlToken`](super::UrlToken).

use super::*;

const OLD: &str = "s3cr3t-old-Token";
const NEW: &str = "n3w+t0ken/with=specials";

fn uri(text: &str) -> Uri {
    text.parse().unwrap()
}

fn verify(auth: &UrlToken, text: &str) -> Result<(), AuthError> {
    auth.verify(&uri(text), &HeaderMap::new(), b"{}")
}

/// The 401 reason must name neither the expected tokens nor the presented one.
fn assert_secret_free(error: &AuthError, presented: &str) {
    let text = error.to_string();
    for secret in [OLD, NEW, "s3cr3t", presented] {
        if !secret.is_empty() {
            assert!(!text.contains(secret), "{text:?} reveals {secret:?}");
        }
    }
}

#[test]
fn the_right_token_in_the_query_is_accepted_and_rotation_works() {
    let auth = UrlToken::in_query([OLD, NEW]).unwrap();
    assert_eq!(verify(&auth, &format!("/hooks?token={OLD}")), Ok(()));
    assert_eq!(
        verify(&auth, &format!("/hooks?a=1&token={OLD}&b=2")),
        Ok(())
    );
    // Percent-encoded: `+` is %2B, `/` is %2F, `=` is %3D.
    assert_eq!(
        verify(&auth, "/hooks?token=n3w%2Bt0ken%2Fwith%3Dspecials"),
        Ok(())
    );
}

#[test]
fn a_wrong_missing_empty_or_repeated_token_is_refused_without_revealing_it() {
    let auth = UrlToken::in_query([OLD, NEW]).unwrap();
    for (target, presented) in [
        ("/hooks?token=guess", "guess"),
        ("/hooks?token=s3cr3t-old-Toke", "s3cr3t-old-Toke"),
        ("/hooks?token=s3cr3t-old-Token-", "s3cr3t-old-Token-"),
        // `+` decodes to a space, so the raw `+` form does not match.
        ("/hooks?token=n3w+t0ken%2Fwith%3Dspecials", "n3w t0ken"),
        ("/hooks", ""),
        ("/hooks?token=", ""),
        ("/hooks?token", ""),
        ("/hooks?other=s3cr3t-old-Token", ""),
        ("/hooks?Token=s3cr3t-old-Token", ""),
        ("/hooks/s3cr3t-old-Token", ""),
        ("/hooks?token=s3cr3t-old-Token&token=guess", "guess"),
        ("/hooks?token=s3cr3t-old-Token&token=s3cr3t-old-Token", ""),
    ] {
        let error = verify(&auth, target).unwrap_err();
        assert_secret_free(&error, presented);
        // And the whole 401 reason as `receive` sends it.
        let config = crate::receive::RequestChecks::default().with_authenticator(auth.clone());
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        let verdict =
            crate::receive::receive(&http::Method::POST, &uri(target), &headers, b"{}", &config);
        let crate::receive::Verdict::Reject(rejection) = verdict else {
            panic!("{target} accepted");
        };
        assert_eq!(rejection.status, 401, "{target}");
        assert_secret_free(
            &AuthError::Invalid {
                reason: rejection.reason,
            },
            presented,
        );
    }
    assert!(matches!(
        verify(&auth, "/hooks?token=").unwrap_err(),
        AuthError::MissingToken { .. }
    ));
    assert!(
        verify(&auth, "/hooks?token=a&token=b")
            .unwrap_err()
            .to_string()
            .contains("more than once")
    );
}

#[test]
fn a_token_in_a_path_segment() {
    let last = UrlToken::in_last_path_segment([OLD, NEW]).unwrap();
    assert_eq!(verify(&last, &format!("/hooks/tinyfish/{OLD}")), Ok(()));
    assert_eq!(verify(&last, &format!("/hooks/tinyfish/{OLD}?x=1")), Ok(()));
    assert_eq!(
        verify(&last, "/hooks/n3w+t0ken%2Fwith%3Dspecials"),
        Ok(()),
        "a path segment is percent-decoded, and `+` is itself"
    );
    assert!(verify(&last, &format!("/hooks/{OLD}/")).is_err());
    assert!(verify(&last, &format!("/{OLD}x")).is_err());
    assert!(verify(&last, &format!("/hooks?token={OLD}")).is_err());

    let second = UrlToken::new(TokenPlace::PathSegment(1), [OLD]).unwrap();
    assert_eq!(verify(&second, &format!("/hooks/{OLD}/tinyfish")), Ok(()));
    assert!(verify(&second, &format!("/{OLD}/hooks")).is_err());
    assert!(matches!(
        verify(&second, "/hooks").unwrap_err(),
        AuthError::MissingToken { .. }
    ));
}

#[test]
fn another_parameter_name_can_be_configured() {
    let auth = UrlToken::new(TokenPlace::Query("key".into()), [OLD]).unwrap();
    assert_eq!(verify(&auth, &format!("/h?key={OLD}")), Ok(()));
    assert!(verify(&auth, &format!("/h?token={OLD}")).is_err());
}

#[test]
fn no_token_or_an_empty_one_is_refused_at_build_time() {
    assert_eq!(
        UrlToken::in_query(Vec::<String>::new()).unwrap_err(),
        UrlTokenError::NoToken
    );
    assert_eq!(
        UrlToken::in_query([OLD, ""]).unwrap_err(),
        UrlTokenError::EmptyToken { index: 1 }
    );
    assert_eq!(
        UrlToken::new(TokenPlace::Query(String::new()), [OLD]).unwrap_err(),
        UrlTokenError::EmptyParameterName
    );
}

#[test]
fn redaction_hides_the_token_and_debug_never_shows_it() {
    let auth = UrlToken::in_query([OLD]).unwrap();
    let target = uri(&format!("/hooks?a=1&token={OLD}&b=%20"));
    assert_eq!(auth.redact(&target), "/hooks?a=1&token=REDACTED&b=%20");
    assert_eq!(auth.redact_uri(&target), auth.redact(&target));
    assert_eq!(
        auth.redact(&uri("/hooks?t%6Fken=guess")),
        "/hooks?t%6Fken=REDACTED"
    );
    assert_eq!(auth.redact(&uri("/hooks")), "/hooks");
    let path = UrlToken::in_last_path_segment([OLD]).unwrap();
    assert_eq!(
        path.redact(&uri(&format!("/hooks/{OLD}?x=1"))),
        "/hooks/REDACTED?x=1"
    );
    assert!(!format!("{auth:?}").contains(OLD));
    // The trait's default leaves the URI as it is.
    let plain = crate::receive::NoAuthentication;
    assert_eq!(
        plain.redact_uri(&target),
        format!("/hooks?a=1&token={OLD}&b=%20")
    );
}
