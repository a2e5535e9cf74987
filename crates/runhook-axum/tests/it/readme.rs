//! The workspace README shows this crate's Slack example in full: keep the two identical.

#[test]
fn the_readme_shows_the_slack_example_verbatim() {
    let readme = include_str!("../../../../README.md");
    let example = include_str!("../../examples/axum_slack.rs");
    assert!(
        readme.contains(example),
        "README.md's axum example differs from crates/runhook-axum/examples/axum_slack.rs: paste the \
         file into the README's `rust,no_run` block again"
    );
}
