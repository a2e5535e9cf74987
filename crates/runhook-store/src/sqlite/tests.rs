//! The writer's group commit, one batch at a time: operations see each other, a failing one is
//! undone alone (store and inbox alike), a failed commit fails the batch, the durability setting
//! is applied, and files of the schemas before the one migrator are migrated with their rows.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use runhook::store::{Claim, KeyState};
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::schema::{migrate, prepare};
use super::writer::{Failure, run_batch};
use super::{Component, Op, Reply, Request, SqliteConfig};
use crate::sqlite_inbox::ops as inbox;
use crate::sqlite_store::ops::{self as store, Settle};

/// A prepared in-memory connection with the store's and the inbox's tables.
fn connection() -> Connection {
    let connection = prepare(
        Connection::open_in_memory().unwrap(),
        SqliteConfig::default(),
    )
    .unwrap();
    migrate(&connection, Component::Store).unwrap();
    migrate(&connection, Component::Inbox).unwrap();
    connection
}

fn claim(key: &str) -> Op {
    Op::Store(store::Op::Claim {
        key: key.to_owned(),
        now: 1_000,
        lease: 5_000,
    })
}

fn state(key: &str) -> Op {
    Op::Store(store::Op::State {
        key: key.to_owned(),
        now: 1_000,
    })
}

fn insert(key: &str) -> Op {
    Op::Inbox(inbox::Op::Insert {
        key: key.to_owned(),
        run_id: None,
        event: "run.completed".to_owned(),
        received_at: 1_000,
        body: bytes::Bytes::from_static(b"{}"),
        drift: "[]".to_owned(),
        source: "webhook",
    })
}

/// Runs `ops` as one batch and returns their answers, in order.
fn batch(connection: &Connection, ops: Vec<Op>) -> Vec<Result<Reply, Failure>> {
    let (mut requests, mut answers) = (Vec::new(), Vec::new());
    for op in ops {
        let (reply, answer) = oneshot::channel();
        requests.push(Request { op, reply });
        answers.push(answer);
    }
    for (reply, result) in run_batch(connection, &mut requests) {
        reply.send(result).unwrap();
    }
    assert!(requests.is_empty());
    assert!(connection.is_autocommit(), "a transaction was left open");
    answers
        .into_iter()
        .map(|mut answer| answer.try_recv().unwrap())
        .collect()
}

fn acquired(answer: &Result<Reply, Failure>) -> u64 {
    match answer {
        Ok(Reply::Store(store::Reply::Claim(Claim::Acquired(token)))) => token.get(),
        other => panic!("expected a claim acquired, got {other:?}"),
    }
}

fn error(answer: &Result<Reply, Failure>) -> &str {
    match answer {
        Err(failure) => &failure.message,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn count(connection: &Connection) -> u64 {
    match &batch(connection, vec![Op::Store(store::Op::Count)])[0] {
        Ok(Reply::Store(store::Reply::Count(rows))) => *rows,
        other => panic!("expected a count, got {other:?}"),
    }
}

#[test]
fn the_operations_of_a_batch_see_those_before_them() {
    let connection = connection();
    let answers = batch(
        &connection,
        vec![
            claim("a"),
            claim("a"),
            Op::Store(store::Op::Settle {
                key: "a".to_owned(),
                token: 1,
                now: 1_000,
                span: 60_000,
                kind: Settle::Complete,
            }),
            state("a"),
            claim("a"),
            claim("b"),
        ],
    );
    assert_eq!(acquired(&answers[0]), 1);
    assert!(
        matches!(
            answers[1],
            Ok(Reply::Store(store::Reply::Claim(Claim::InFlight { .. })))
        ),
        "{:?}",
        answers[1]
    );
    assert!(matches!(
        answers[2],
        Ok(Reply::Store(store::Reply::Settled(true)))
    ));
    assert!(matches!(
        answers[3],
        Ok(Reply::Store(store::Reply::State(KeyState::Done)))
    ));
    assert!(matches!(
        answers[4],
        Ok(Reply::Store(store::Reply::Claim(Claim::Done)))
    ));
    assert_eq!(acquired(&answers[5]), 2);
    assert_eq!(count(&connection), 2);
}

#[test]
fn a_failing_operation_is_undone_alone() {
    let connection = connection();
    connection
        .execute_batch(
            "CREATE TRIGGER poison BEFORE INSERT ON runhook_idempotency
             WHEN NEW.key = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
        )
        .unwrap();
    let answers = batch(
        &connection,
        vec![claim("a"), claim("poison"), claim("b"), state("poison")],
    );
    assert_eq!(acquired(&answers[0]), 1);
    assert!(error(&answers[1]).contains("poisoned"), "{:?}", answers[1]);
    // The failed claim's token was taken in its savepoint, so it was given back.
    assert_eq!(acquired(&answers[2]), 2);
    assert!(matches!(
        answers[3],
        Ok(Reply::Store(store::Reply::State(KeyState::Absent)))
    ));
    assert_eq!(count(&connection), 2);
}

#[test]
fn a_transaction_sqlite_rolls_back_fails_the_operations_before_and_the_rest_go_on() {
    let connection = connection();
    connection
        .execute_batch(
            "CREATE TRIGGER doom BEFORE INSERT ON runhook_idempotency
             WHEN NEW.key = 'doom' BEGIN SELECT RAISE(ROLLBACK, 'doomed'); END;",
        )
        .unwrap();
    let answers = batch(&connection, vec![claim("a"), claim("doom"), claim("b")]);
    assert!(
        error(&answers[0]).contains("rolled back"),
        "{:?}",
        answers[0]
    );
    assert!(error(&answers[0]).contains("doomed"), "{:?}", answers[0]);
    assert!(error(&answers[1]).contains("doomed"), "{:?}", answers[1]);
    assert_eq!(acquired(&answers[2]), 1, "a's token was rolled back too");
    assert_eq!(count(&connection), 1);
}

#[test]
fn a_failed_commit_fails_every_operation_of_the_batch() {
    let connection = connection();
    // A deferred foreign key is checked at COMMIT: a claim of "orphan" makes the commit fail.
    connection
        .execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
             CREATE TRIGGER orphan AFTER INSERT ON runhook_idempotency
             WHEN NEW.key = 'orphan' BEGIN INSERT INTO child VALUES (42); END;",
        )
        .unwrap();
    let answers = batch(
        &connection,
        vec![claim("a"), claim("orphan"), state("a"), claim("b")],
    );
    for answer in &answers {
        assert!(error(answer).contains("commit"), "{answer:?}");
    }
    assert_eq!(count(&connection), 0);
    // The next batch starts afresh.
    let answers = batch(&connection, vec![claim("a")]);
    assert_eq!(acquired(&answers[0]), 1);
}

#[test]
fn a_read_only_batch_takes_no_write_lock_and_a_write_batch_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runhook.db");
    let connection = prepare(Connection::open(&path).unwrap(), SqliteConfig::default()).unwrap();
    migrate(&connection, Component::Store).unwrap();
    connection
        .busy_timeout(std::time::Duration::from_millis(50))
        .unwrap();
    // Another process holds the write lock.
    let other = Connection::open(&path).unwrap();
    other
        .execute_batch("BEGIN IMMEDIATE; UPDATE runhook_token SET last = last;")
        .unwrap();
    let answers = batch(&connection, vec![state("a"), Op::Store(store::Op::Count)]);
    assert!(matches!(
        answers[0],
        Ok(Reply::Store(store::Reply::State(KeyState::Absent)))
    ));
    assert!(matches!(
        answers[1],
        Ok(Reply::Store(store::Reply::Count(0)))
    ));
    let answers = batch(&connection, vec![claim("a"), state("a")]);
    for answer in &answers {
        assert!(error(answer).contains("cannot begin"), "{answer:?}");
    }
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(acquired(&batch(&connection, vec![claim("a")])[0]), 1);
}

#[test]
fn a_settlement_with_a_token_beyond_the_counter_holds_nothing() {
    let connection = connection();
    let answers = batch(
        &connection,
        vec![
            claim("a"),
            Op::Store(store::Op::Settle {
                key: "a".to_owned(),
                token: u64::MAX,
                now: 1_000,
                span: 5_000,
                kind: Settle::Renew,
            }),
        ],
    );
    assert_eq!(acquired(&answers[0]), 1);
    assert!(matches!(
        answers[1],
        Ok(Reply::Store(store::Reply::Settled(false)))
    ));
}

#[test]
fn the_durability_setting_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let synchronous = |config: SqliteConfig| -> i64 {
        let connection = prepare(
            Connection::open(dir.path().join("runhook.db")).unwrap(),
            config,
        )
        .unwrap();
        let mode: String = connection
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        connection
            .query_row("PRAGMA synchronous", [], |row| row.get(0))
            .unwrap()
    };
    assert_eq!(synchronous(SqliteConfig::default()), 1, "NORMAL");
    assert_eq!(
        synchronous(SqliteConfig::default().synchronous_full(true)),
        2,
        "FULL"
    );
}

#[test]
fn a_failing_inbox_operation_fails_alone_and_the_rest_of_its_group_is_written() {
    let connection = connection();
    connection
        .execute_batch(
            "CREATE TRIGGER poison BEFORE INSERT ON runhook_inbox
             WHEN NEW.key = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
        )
        .unwrap();
    let answers = batch(
        &connection,
        vec![insert("a"), insert("poison"), claim("k"), insert("b")],
    );
    assert!(
        matches!(answers[0], Ok(Reply::Inbox(inbox::Reply::Inserted(None)))),
        "{:?}",
        answers[0]
    );
    assert!(error(&answers[1]).contains("poisoned"), "{:?}", answers[1]);
    assert_eq!(
        acquired(&answers[2]),
        1,
        "a store operation shares the group"
    );
    assert!(
        matches!(answers[3], Ok(Reply::Inbox(inbox::Reply::Inserted(None)))),
        "{:?}",
        answers[3]
    );
    let rows: i64 = connection
        .query_row("SELECT COUNT(*) FROM runhook_inbox", [], |row| row.get(0))
        .unwrap();
    assert_eq!(rows, 2, "a and b were committed");
}
