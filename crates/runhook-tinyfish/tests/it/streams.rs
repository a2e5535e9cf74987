//! The client's streams against the emulator over real HTTP on 127.0.0.1: a run's SSE frames in
//! order, and the paginating listing, which visits every run exactly once; and the client as a
//! receiver's confirmer (the seam's conformance suite).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::collections::HashSet;
use std::sync::Arc;

use futures::TryStreamExt;
use runhook::{RunId, RunStatus, Timestamp};
use runhook_receiver::testing::run_confirmer_suite;
use runhook_tinyfish::{ListRuns, RunRequest, SortDirection, StreamEvent};
use support::{client, emulator, finished};

#[tokio::test]
async fn a_streamed_run_sends_its_frames_in_order() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let request = RunRequest::new("https://example.com", "Read the pricing page [steps:4]");
    let events: Vec<StreamEvent> = client
        .stream_run(&request)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(StreamEvent::kind).collect();
    assert_eq!(kinds.first(), Some(&"STARTED"), "{kinds:?}");
    assert_eq!(kinds.get(1), Some(&"STREAMING_URL"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"COMPLETE"), "{kinds:?}");
    let middle = &kinds[2..kinds.len() - 1];
    assert!(
        middle
            .iter()
            .all(|kind| matches!(*kind, "PROGRESS" | "HEARTBEAT")),
        "{kinds:?}"
    );
    assert!(middle.contains(&"PROGRESS"), "{kinds:?}");

    let StreamEvent::Started(started) = &events[0] else {
        unreachable!()
    };
    let run_id = started.run_id.clone();
    for event in &events {
        let id = match event {
            StreamEvent::StreamingUrl(frame) => Some(&frame.run_id),
            StreamEvent::Progress(frame) => {
                assert!(!frame.purpose.is_empty());
                Some(&frame.run_id)
            }
            StreamEvent::Complete(frame) => Some(&frame.run_id),
            _ => None,
        };
        assert!(id.is_none_or(|id| *id == run_id), "{event:?}");
    }
    let StreamEvent::Complete(complete) = events.last().unwrap() else {
        unreachable!()
    };
    let run = client.get_run(&run_id).await.unwrap();
    assert_eq!(run.status.as_ref(), Some(&complete.status));
    assert_eq!(complete.to_run().result, run.result);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_refused_stream_is_an_error_before_any_frame() {
    let emulator = emulator().await;
    let error = client(&emulator)
        .stream_run(&RunRequest::new("not a url", "x"))
        .await
        .unwrap_err();
    assert_eq!(error.api().unwrap().status, 400);
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_paginating_stream_visits_every_run_exactly_once() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let mut created = HashSet::new();
    for chunk in 0..3 {
        let requests: Vec<_> = (0..9)
            .map(|n| RunRequest::new("https://example.com", format!("paged {chunk}-{n}")))
            .collect();
        created.extend(client.create_runs(&requests).await.unwrap());
    }
    let other = client
        .create_run_async(&RunRequest::new(
            "https://example.com",
            "not in the listing",
        ))
        .await
        .unwrap();
    for direction in [SortDirection::Asc, SortDirection::Desc] {
        let query = ListRuns::new()
            .goal("PAGED")
            .limit(4)
            .sort_direction(direction);
        let listed: Vec<RunId> = client
            .list_all_runs(query)
            .map_ok(|run| run.run_id.unwrap())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed.len(), 27, "{direction:?}");
        let unique: HashSet<RunId> = listed.iter().cloned().collect();
        assert_eq!(
            unique, created,
            "{direction:?}: each run once, and only these"
        );
        let mut stamps: Vec<Timestamp> = Vec::new();
        for id in &listed {
            let run = client.get_run(id).await.unwrap();
            stamps.push(run.created_at.unwrap());
        }
        let ordered = stamps.windows(2).all(|pair| match direction {
            SortDirection::Asc => pair[0] <= pair[1],
            _ => pair[0] >= pair[1],
        });
        assert!(ordered, "{direction:?}");
    }
    assert!(!created.contains(&other));

    // One page: its size, the total and the cursor.
    let page = client
        .list_runs(&ListRuns::new().goal("paged").limit(10))
        .await
        .unwrap();
    assert_eq!(page.runs.len(), 10);
    assert_eq!(page.total, Some(27));
    assert!(page.has_more && page.next_cursor.is_some());
    assert!(page.runs.iter().all(|run| run.steps.is_none()));
    emulator.shutdown().await;
}

#[tokio::test]
async fn every_filter_reaches_the_api() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let failed = client
        .create_run_async(&RunRequest::new("https://example.com", "filtered [fail]"))
        .await
        .unwrap();
    let done = client
        .create_run_async(&RunRequest::new("https://example.com", "filtered ok"))
        .await
        .unwrap();
    finished(&client, &failed).await;
    finished(&client, &done).await;
    let ids = |query: ListRuns| {
        let client = client.clone();
        async move {
            let runs: Vec<_> = client.list_all_runs(query).try_collect().await.unwrap();
            runs.into_iter()
                .map(|run| run.run_id.unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids(ListRuns::new().status(RunStatus::Failed)).await,
        std::slice::from_ref(&failed)
    );
    assert_eq!(
        ids(ListRuns::new().goal("OK")).await,
        std::slice::from_ref(&done)
    );
    let future = Timestamp::parse("2999-01-01T00:00:00Z").unwrap();
    let past = Timestamp::parse("2000-01-01T00:00:00Z").unwrap();
    assert!(
        ids(ListRuns::new().created_after(future.clone()))
            .await
            .is_empty()
    );
    assert_eq!(ids(ListRuns::new().created_before(past)).await.len(), 0);
    let all = ids(ListRuns::new()
        .created_before(future)
        .sort_direction(SortDirection::Asc))
    .await;
    assert_eq!(all, [failed, done]);
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_client_conforms_as_a_receivers_confirmer() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let mut known = Vec::new();
    for goal in ["confirm me", "confirm me too [fail]"] {
        let run_id = client
            .create_run_async(&RunRequest::new("https://example.com", goal))
            .await
            .unwrap();
        known.push(finished(&client, &run_id).await);
    }
    let cancelled = client
        .create_run_async(&RunRequest::new(
            "https://example.com",
            "long [duration:3600s]",
        ))
        .await
        .unwrap();
    client.cancel_run(&cancelled).await.unwrap();
    known.push(finished(&client, &cancelled).await);
    let unknown = RunId::new("not-a-run-of-this-api").unwrap();
    run_confirmer_suite(Arc::new(client), &known, &unknown).await;
    emulator.shutdown().await;
}
