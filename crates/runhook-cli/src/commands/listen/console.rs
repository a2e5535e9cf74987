//! `listen --console ADDR`: the web console beside the receiver, over the relay's inbox, or in
//! inline mode over an inspector of the last deliveries.

use std::net::SocketAddr;
use std::sync::Arc;

use runhook::inbox::Inbox;
use runhook_console::{Console, Inspector, InspectorLimits};
use runhook_receiver::Receiver;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the console shows: a relay's inbox, or the deliveries of an inline receiver.
pub(super) enum Shown {
    /// The receiver's inbox (`--forward-to`).
    Inbox(Arc<dyn Inbox>),
    /// An inline receiver's last deliveries, recorded by the inspector's layer.
    Deliveries(Inspector),
}

impl Shown {
    /// What the console of `receiver` shows: its inbox if it has one, else its deliveries.
    pub(super) fn of(receiver: &Receiver) -> Shown {
        match receiver.inbox() {
            Some(inbox) => Shown::Inbox(Arc::clone(inbox)),
            None => Shown::Deliveries(Inspector::new(InspectorLimits::default())),
        }
    }

    /// The inspector whose layer the webhook route needs, in inline mode.
    pub(super) fn inspector(&self) -> Option<&Inspector> {
        match self {
            Shown::Deliveries(inspector) => Some(inspector),
            Shown::Inbox(_) => None,
        }
    }

    /// Serves the console on `listener` (bound to `bound`) until `stop` turns true; "send
    /// again" of an inline delivery goes through `app` at `path`. Prints the console's line.
    pub(super) fn serve(
        self,
        listener: TcpListener,
        bound: SocketAddr,
        app: &axum::Router,
        path: &str,
        token: Option<String>,
        mut stop: watch::Receiver<bool>,
    ) -> JoinHandle<anyhow::Result<()>> {
        let builder = match self {
            Shown::Inbox(inbox) => Console::over_inbox(inbox),
            Shown::Deliveries(inspector) => Console::over_inspector(inspector, app.clone(), path),
        };
        let router = crate::console::with_token(builder, token).router();
        eprintln!("runhook: console on {}", crate::console::console_url(bound));
        tokio::spawn(crate::console::serve(listener, router, async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }))
    }
}
