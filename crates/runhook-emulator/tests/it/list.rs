//! `GET /v1/runs`: filters, order, cursor pagination and limit bounds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use serde_json::{Value, json};
use support::{finished, get, queue, start};

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["run_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_order_and_cursor_pagination() {
    let emulator = start().await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(
            queue(
                &emulator,
                &format!("Extract the page title #{i}"),
                json!({}),
            )
            .await,
        );
        // Creation times are kept to the millisecond: keep them apart.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let failed = queue(&emulator, "Book a flight [fail]", json!({})).await;
    for id in created.iter().chain([&failed]) {
        finished(&emulator, id).await;
    }

    // Newest first by default; entries carry no steps or video URL.
    let (status, page) = get(&emulator, "/v1/runs").await;
    assert_eq!(status, 200);
    assert_eq!(page["pagination"]["total"], 6);
    assert_eq!(page["pagination"]["has_more"], false);
    assert_eq!(page["pagination"]["next_cursor"], Value::Null);
    assert_eq!(ids(&page)[0], failed);
    let entry = &page["data"][0];
    assert!(
        entry.get("steps").is_none() && entry.get("video_url").is_none(),
        "{entry}"
    );
    assert_eq!(entry["status"], "FAILED");

    // Walk the list two at a time, oldest first.
    let mut walked = Vec::new();
    let mut path = "/v1/runs?sort_direction=asc&limit=2".to_owned();
    for pages in 1.. {
        assert!(pages <= 6, "more pages than runs: {walked:?}");
        let (status, page) = get(&emulator, &path).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["pagination"]["total"], 6);
        walked.extend(ids(&page));
        if page["pagination"]["has_more"] == false {
            assert_eq!(page["pagination"]["next_cursor"], Value::Null);
            break;
        }
        let cursor = page["pagination"]["next_cursor"].as_str().unwrap();
        path = format!("/v1/runs?sort_direction=asc&limit=2&cursor={cursor}");
    }
    let mut expected = created.clone();
    expected.push(failed.clone());
    assert_eq!(walked, expected);

    // Filters.
    let (_, page) = get(&emulator, "/v1/runs?status=FAILED").await;
    assert_eq!(ids(&page), std::slice::from_ref(&failed));
    let (_, page) = get(&emulator, "/v1/runs?goal=PAGE%20TITLE%20%233").await;
    assert_eq!(ids(&page), std::slice::from_ref(&created[3]));
    let (_, page) = get(&emulator, "/v1/runs?status=COMPLETED&goal=title").await;
    assert_eq!(page["pagination"]["total"], 5);
    let (_, one) = get(&emulator, &format!("/v1/runs/{}", created[2])).await;
    let created_at = one["created_at"].as_str().unwrap();
    let (_, after) = get(
        &emulator,
        &format!("/v1/runs?created_after={created_at}&sort_direction=asc"),
    )
    .await;
    assert_eq!(
        ids(&after)[..],
        [created[3].clone(), created[4].clone(), failed.clone()][..]
    );
    let (_, before) = get(&emulator, &format!("/v1/runs?created_before={created_at}")).await;
    assert_eq!(before["pagination"]["total"], 2);
    let (_, none) = get(&emulator, "/v1/runs?created_after=2999-01-01T00:00:00Z").await;
    assert_eq!(none["pagination"]["total"], 0);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_and_bad_parameters_are_refused() {
    let emulator = start().await;
    for i in 0..25 {
        queue(&emulator, &format!("goal {i} [duration:1m]"), json!({})).await;
    }
    let (_, page) = get(&emulator, "/v1/runs").await;
    assert_eq!(ids(&page).len(), 20, "default limit");
    assert_eq!(page["pagination"]["has_more"], true);
    let (_, page) = get(&emulator, "/v1/runs?limit=100").await;
    assert_eq!(ids(&page).len(), 25);
    let (_, page) = get(&emulator, "/v1/runs?limit=1").await;
    assert_eq!(ids(&page).len(), 1);
    let (_, page) = get(&emulator, "/v1/runs?status=RUNNING&limit=100").await;
    assert!(page["pagination"]["total"].as_u64().unwrap() <= 25);
    for query in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "status=DONE",
        "sort_direction=up",
        "cursor=garbage",
        "created_after=yesterday",
    ] {
        let (status, body) = get(&emulator, &format!("/v1/runs?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], "INVALID_INPUT", "{query}");
        let name = query.split('=').next().unwrap();
        assert_eq!(
            body["error"]["details"][0]["path"],
            json!([name]),
            "{query}"
        );
    }
    emulator.shutdown().await;
}
