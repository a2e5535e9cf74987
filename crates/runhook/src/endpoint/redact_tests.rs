use super::*;

/// `(input, expected)` pairs.
fn check(cases: &[(&str, &str)]) {
    for (input, expected) in cases {
        assert_eq!(redact_url(input), *expected, "{input}");
    }
}

#[test]
fn user_info_is_hidden_in_every_scheme() {
    check(&[
        (
            "redis://:s3cret@127.0.0.1:6379",
            "redis://:***@127.0.0.1:6379",
        ),
        ("postgres://app:pw@db/test", "postgres://app:***@db/test"),
        (
            "mysql://root:PW@10.0.0.1/db",
            "mysql://root:***@10.0.0.1/db",
        ),
        (
            "http://user:PW@127.0.0.1:9/x",
            "http://user:***@127.0.0.1:9/x",
        ),
        ("postgres://app@db/test", "postgres://app@db/test"),
        (
            "https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/x",
            "https://***@github.com/x",
        ),
        ("x+y.z-1://u:p@h", "x+y.z-1://u:***@h"),
    ]);
}

#[test]
fn a_password_holding_delimiters_is_never_echoed() {
    for input in [
        "mysql://root:p/w@db/app",
        "redis://:pa?ss@127.0.0.1:6379",
        "postgres://u:p#w@db/x",
        "mysql://root:12/34@db/app",
        "mysql://root:p@ss@db/app",
        "amqp://guest:PW:with:colons@host/vhost",
    ] {
        let out = redact_url(input);
        for secret in ["p/w", "pa?ss", "p#w", "12/34", "p@ss", "PW:with"] {
            assert!(!out.contains(secret), "{input} gave {out}");
        }
        assert!(out.contains(REDACTED), "{input} gave {out}");
    }
}

#[test]
fn secret_named_parameters_are_hidden() {
    check(&[
        (
            "postgres://db/test?password=pw&sslmode=disable",
            "postgres://db/test?password=***&sslmode=disable",
        ),
        (
            "redis://h:6379/0?PASSWORD=x",
            "redis://h:6379/0?PASSWORD=***",
        ),
        (
            "http://127.0.0.1:3000/hook?token=38e7&x=1&access_token=a&API_KEY=k&sig=s",
            "http://127.0.0.1:3000/hook?token=***&x=1&access_token=***&API_KEY=***&sig=***",
        ),
        ("/hooks?t%6Fken=abc", "/hooks?t%6Fken=***"),
        (
            "https://h/cb#access_token=abc&state=1",
            "https://h/cb#access_token=***&state=1",
        ),
        (
            "https://h/x?goal=buy&limit=5",
            "https://h/x?goal=buy&limit=5",
        ),
    ]);
}

#[test]
fn token_like_path_segments_are_hidden() {
    check(&[
        (
            "/webhooks/38e7f1c2a9b04d6e8f1a2b3c4d5e6f70",
            "/webhooks/***",
        ),
        (
            "https://h/hooks/6f1c2a9b-04d6-4e8f-9a2b-3c4d5e6f7081?x=1",
            "https://h/hooks/***?x=1",
        ),
        ("/webhooks/tinyfish", "/webhooks/tinyfish"),
        ("/tinyfish-webhook-receiver", "/tinyfish-webhook-receiver"),
        ("/v1/runs", "/v1/runs"),
        ("/hook?38e7f1c2a9b04d6e8f1a", "/hook?***"),
    ]);
}

#[test]
fn text_that_is_not_a_url_keeps_its_words_and_loses_its_secrets() {
    check(&[
        (
            "host=db password=s3cret user=app",
            "host=db password=*** user=app",
        ),
        (
            "host=db password = s3cret user=app",
            "host=db password = *** user=app",
        ),
        ("password='a b c' user=app", "password=*** user=app"),
        ("mysql:root:PW@host", "***@host"),
        ("ops@example.com", "ops@example.com"),
        ("127.0.0.1:8080", "127.0.0.1:8080"),
        ("memory", "memory"),
        ("", ""),
        ("sqlite:./runhook.db", "sqlite:./runhook.db"),
        (
            "--store \"mysql://root:PW@db/x\" is not a store",
            "--store \"mysql://root:***@db/x\" is not a store",
        ),
        ("the key is wrong", "the key is wrong"),
        (
            "the URL carries user-info (user:password@); remove them",
            "the URL carries user-info (user:password@); remove them",
        ),
        (
            "not a url at all: %%% ::: @@@",
            "not a url at all: %%% ::: @@@",
        ),
    ]);
}

#[test]
fn secret_names() {
    for name in [
        "password",
        "passwd",
        "PWD",
        "token",
        "access_token",
        "api_key",
        "X-Signature",
    ] {
        assert!(is_secret_name(name), "{name}");
    }
    for name in [
        "schema", "sslmode", "user", "limit", "goal", "dbname", "host",
    ] {
        assert!(!is_secret_name(name), "{name}");
    }
}
