//! Every endpoint of the client against the emulator over real HTTP on 127.0.0.1: creation
//! (sync, async, batch), reads (one, with screenshots, batch), cancels (one, idempotent,
//! batch), and every error code the API answers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use runhook::{RunId, RunStatus};
use runhook_tinyfish::{ApiErrorCode, CancelOutcome, Error, ListRuns, RunRequest};
use support::{client, client_with_key, emulator, finished};

fn request(goal: &str) -> RunRequest {
    RunRequest::new("https://example.com", goal)
}

#[tokio::test]
async fn a_blocking_run_answers_its_final_state() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let done = client
        .create_run(&request(
            r#"Extract the title [result:{"title":"Example Domain"}]"#,
        ))
        .await
        .unwrap();
    assert_eq!(done.status, Some(RunStatus::Completed));
    let result = done.result.value().unwrap();
    assert_eq!(result["title"], "Example Domain");
    assert!(done.run_id.is_some());

    let failed = client.create_run(&request("Log in [fail]")).await.unwrap();
    assert_eq!(failed.status, Some(RunStatus::Failed));
    assert!(
        failed
            .error
            .value()
            .is_some_and(|error| !error.message.is_empty())
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_async_run_is_read_back_as_the_core_run_type() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let run_id = client
        .create_run_async(&request("Extract the page title"))
        .await
        .unwrap();
    let run = finished(&client, &run_id).await;
    assert_eq!(run.run_id.as_ref(), Some(&run_id));
    assert_eq!(run.status, Some(RunStatus::Completed));
    assert_eq!(run.goal.as_deref(), Some("Extract the page title"));
    assert!(run.created_at.is_some());
    let steps = run.steps.as_ref().unwrap();
    assert!(!steps.is_empty());
    assert!(steps.iter().all(|step| step.screenshot.value().is_none()));

    let pictured = client.get_run_with_screenshots(&run_id).await.unwrap();
    let shots = pictured.steps.unwrap();
    assert!(shots.iter().all(|step| {
        step.screenshot
            .value()
            .is_some_and(|shot| shot.starts_with("data:image/jpeg;base64,"))
    }));
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_batch_is_created_all_at_once_and_read_back_with_the_ids_not_found() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let requests: Vec<_> = (0..3)
        .map(|n| request(&format!("batch item {n}")))
        .collect();
    let ids = client.create_runs(&requests).await.unwrap();
    assert_eq!(ids.len(), 3);
    let unknown = RunId::new("no-such-run").unwrap();
    let mut asked = ids.clone();
    asked.push(unknown.clone());
    let batch = client.get_runs(&asked).await.unwrap();
    let mut found: Vec<_> = batch
        .runs
        .iter()
        .filter_map(|run| run.run_id.clone())
        .collect();
    found.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(batch.not_found, [unknown]);
    let goals: Vec<_> = batch
        .runs
        .iter()
        .filter_map(|run| run.goal.clone())
        .collect();
    assert!(
        goals.iter().all(|goal| goal.starts_with("batch item")),
        "{goals:?}"
    );

    // Refused before sending: nothing, or more than 100.
    let too_many = vec![request("x"); 101];
    for bad in [&[][..], &too_many[..]] {
        let error = client.create_runs(bad).await.unwrap_err();
        assert!(matches!(error, Error::InvalidArgument(_)), "{error}");
    }
    assert!(matches!(
        client.get_runs(&[]).await,
        Err(Error::InvalidArgument(_))
    ));
    emulator.shutdown().await;
}

#[tokio::test]
async fn cancelling_is_idempotent_one_at_a_time_and_in_batches() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let long = request("Wait a long time [duration:3600s]");
    let running = client.create_run_async(&long).await.unwrap();
    let first = client.cancel_run(&running).await.unwrap();
    assert!(first.is_cancelled());
    assert!(first.cancelled_at.is_some());
    let again = client.cancel_run(&running).await.unwrap();
    assert!(again.is_cancelled());
    assert_eq!(
        again.message.as_deref(),
        Some(CancelOutcome::ALREADY_CANCELLED)
    );
    assert_eq!(again.cancelled_at, first.cancelled_at);
    assert_eq!(
        client.get_run(&running).await.unwrap().status,
        Some(RunStatus::Cancelled)
    );

    let quick = client.create_run_async(&request("Quick")).await.unwrap();
    finished(&client, &quick).await;
    let late = client.cancel_run(&quick).await.unwrap();
    assert_eq!(late.status, RunStatus::Completed);
    assert_eq!(
        late.message.as_deref(),
        Some(CancelOutcome::ALREADY_FINISHED)
    );
    assert!(late.cancelled_at.is_none());

    let other = client.create_run_async(&long).await.unwrap();
    let unknown = RunId::new("no-such-run").unwrap();
    let batch = client
        .cancel_runs(&[other.clone(), quick.clone(), unknown.clone()])
        .await
        .unwrap();
    assert_eq!(batch.not_found, std::slice::from_ref(&unknown));
    let status_of = |id: &RunId| {
        batch
            .results
            .iter()
            .find(|result| &result.run_id == id)
            .map(|result| result.status.clone())
    };
    assert_eq!(status_of(&other), Some(RunStatus::Cancelled));
    assert_eq!(status_of(&quick), Some(RunStatus::Completed));

    let error = client.cancel_run(&unknown).await.unwrap_err();
    assert!(error.is_not_found(), "{error}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn every_error_code_the_api_answers_is_typed() {
    let emulator = emulator().await;
    let client = client(&emulator);

    // 400 INVALID_INPUT, with the issues in `details`.
    let error = client
        .create_run_async(&RunRequest::new("not a url", ""))
        .await
        .unwrap_err();
    let api = error.api().unwrap();
    assert_eq!((api.status, &api.code), (400, &ApiErrorCode::InvalidInput));
    assert!(!api.message.is_empty());
    let details = api.details.as_ref().and_then(|d| d.as_array()).unwrap();
    assert!(!details.is_empty(), "{details:?}");

    // 401 INVALID_API_KEY.
    let stranger = client_with_key(&emulator, "sk-wrong");
    let error = stranger
        .get_run(&RunId::new("r1").unwrap())
        .await
        .unwrap_err();
    let api = error.api().unwrap();
    assert_eq!((api.status, &api.code), (401, &ApiErrorCode::InvalidApiKey));
    let error = stranger.create_run_async(&request("x")).await.unwrap_err();
    assert_eq!(error.api().unwrap().code, ApiErrorCode::InvalidApiKey);

    // 404 NOT_FOUND.
    let error = client
        .get_run(&RunId::new("no-such-run").unwrap())
        .await
        .unwrap_err();
    let api = error.api().unwrap();
    assert_eq!((api.status, &api.code), (404, &ApiErrorCode::NotFound));
    assert!(error.is_not_found());

    // A page size the API would refuse is refused before sending.
    for limit in [0, 101] {
        let error = client
            .list_runs(&ListRuns::new().limit(limit))
            .await
            .unwrap_err();
        assert!(matches!(error, Error::InvalidArgument(_)), "{error}");
    }
    emulator.shutdown().await;
}
