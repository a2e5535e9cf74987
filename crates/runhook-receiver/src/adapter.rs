//! What every web-framework adapter shares: the names it re-exports ([`prelude`]) and its two
//! extractor types ([`webhook_types!`](crate::webhook_types)).
//!
//! The runhook adapters (`runhook-axum`, `runhook-warp`, `runhook-poem`) are built from these;
//! an adapter for another framework can be too, and then offers the same names and the same
//! `Webhook` and `WebhookRejection` as they do.

/// The names a user of an adapter writes in a handler or a `main`, re-exported by each adapter
/// (`pub use runhook_receiver::adapter::prelude::*;`) so that one dependency is enough.
pub mod prelude {
    #[cfg(feature = "server")]
    pub use crate::server::{Serve, ServerLimits};
    pub use crate::{
        HandlerContext, Handlers, Received, Receiver, ReceiverBuilder, ReceiverConfig, Refusal,
        WebhookChecks, handler_fn,
    };
    pub use runhook::{Event, HandlerOutcome, RunEvent};
}

/// The paths [`webhook_types!`](crate::webhook_types) expands to, so that an adapter needs no
/// dependency of its own for them.
#[doc(hidden)]
pub mod __private {
    pub use crate::Refusal;
    pub use runhook::Event;
}

/// Defines an adapter's two extractor types, each a newtype because a framework's extractor
/// trait can only be implemented in the adapter's own crate:
///
/// - `Webhook(pub Event)`: a webhook that passed every check, with `into_inner` and `Deref` to
///   the [`Event`](runhook::Event);
/// - `WebhookRejection(pub Refusal)`: why a request was refused, an error that displays as its
///   [`Refusal`](crate::Refusal) and derefs to it.
///
/// Each gets the doc comment and attributes written before it; the adapter then implements
/// its framework's extractor and response traits for them.
///
/// ```
/// runhook_receiver::webhook_types! {
///     /// A checked webhook.
///     Webhook;
///     /// Why a request was refused.
///     WebhookRejection;
/// }
///
/// let webhook = Webhook(runhook::Event::from_slice(br#"{"event":"run.completed","run_id":"r1",
///     "status":"COMPLETED","data":{}}"#).unwrap());
/// assert_eq!(webhook.name(), "run.completed");
/// ```
#[macro_export]
macro_rules! webhook_types {
    (
        $(#[$webhook_meta:meta])* Webhook;
        $(#[$rejection_meta:meta])* WebhookRejection;
    ) => {
        $(#[$webhook_meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct Webhook(pub $crate::adapter::__private::Event);

        impl Webhook {
            /// The event.
            pub fn into_inner(self) -> $crate::adapter::__private::Event {
                self.0
            }
        }

        impl ::std::ops::Deref for Webhook {
            type Target = $crate::adapter::__private::Event;

            fn deref(&self) -> &$crate::adapter::__private::Event {
                &self.0
            }
        }

        $(#[$rejection_meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct WebhookRejection(pub $crate::adapter::__private::Refusal);

        impl ::std::ops::Deref for WebhookRejection {
            type Target = $crate::adapter::__private::Refusal;

            fn deref(&self) -> &$crate::adapter::__private::Refusal {
                &self.0
            }
        }

        impl ::std::fmt::Display for WebhookRejection {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::std::error::Error for WebhookRejection {
            fn source(&self) -> ::std::option::Option<&(dyn ::std::error::Error + 'static)> {
                ::std::error::Error::source(&self.0)
            }
        }
    };
}
