//! The relay: an inbox processor that forwards each stored event to the app, over the
//! [`Sender`](crate::Sender), and classifies the app's answer with the inbox's retry policy.
//!
//! A relay is a [`runhook_receiver::Receiver`] in inbox mode whose processor is a
//! [`Forwarder`]: each delivery is stored and answered 200, then the inbox workers hand each
//! claimed row to the forwarder, which POSTs the body exactly as received, with
//! `Content-Type: application/json`, `Idempotency-Key: <the row's key>` and
//! `X-Runhook-Attempt: <N>`. The app's answer is classified by the policy's status table
//! ([`policy`]: [`RetryPolicy::inbox`](runhook::RetryPolicy::inbox) plus the statuses of a
//! misconfigured target):
//!
//! | app's answer | the row |
//! |---|---|
//! | 2xx | done |
//! | 404, 405, 501 (the relay is misconfigured: a wrong path, method or app) | retried on the policy, with a [`TargetHealth`] change |
//! | 408, 429, 1xx, 3xx (redirects are not followed), other 5xx | retried; a `Retry-After` is honoured up to the policy's cap |
//! | other 4xx | dead: the app refused the event for good |
//! | timeout, network error, refused address | retried |
//!
//! The target itself is up or down ([`TargetHealth`]): after
//! [`down_after`](ForwarderBuilder::down_after) forwards in a row got no answer or a 5xx, it is
//! down, told once (`Down`), then every
//! [`still_down_every`](ForwarderBuilder::still_down_every) with the rows waiting (`StillDown`);
//! its first 2xx after that makes the rows waiting for a later attempt due at once
//! ([`Forwarder::with_inbox`]), so that an app back from an outage gets its backlog now rather
//! than at each row's backed-off time, and is told once (`Up`, with how many rows waited and
//! for how long). The [`TARGET_UP`] gauge follows it.
//!
//! A retried or dead row's error keeps the start of the app's answer body
//! ([`ANSWER_EXCERPT`] bytes).
//!
//! This is a module of `runhook-dispatch` behind the `relay` feature rather than a crate of its
//! own: the relay is the sender's rules applied to one more destination, and all it adds is one
//! dependency, `runhook-receiver` (for the inbox processor it implements), which the feature
//! keeps out of a build that only sends; the same arrangement as `runhook-tinyfish`'s `confirm`
//! feature. A separate crate would add a package to publish, and a library to compile and link,
//! for a few hundred lines.

mod forwarder;
mod health;
mod outage;
mod policy;
mod target;

pub use forwarder::{ANSWER_EXCERPT, Forwarder, ForwarderBuilder, RelayError};
pub use health::TargetHealth;
pub use outage::{TARGET, TARGET_UP, describe_metrics};
pub use policy::{DEFAULT_FORWARD_TIMEOUT, MAX_WAIT, MISCONFIGURED, WORKER_MARGIN, policy};
pub use target::forwards_to_itself;
