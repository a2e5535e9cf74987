//! Where a sender may deliver (docs/protocol.md §4.2): webhook URL rules and IP-address
//! classification for the address checks.
//!
//! - [`WebhookUrl`]: a parsed, checked URL: `https`, no user-info, a host, at most 2048 bytes, and
//!   an IP-literal host the [`AddressPolicy`] allows.
//! - [`classify_ip`]: the [`AddressClass`] of an address, looking through IPv6 forms that carry an
//!   IPv4 address (`::ffff:169.254.169.254` is link-local).
//! - [`AddressPolicy`]: public addresses only by default; `--insecure-localhost` unlocks loopback
//!   (and plain `http` to a loopback host), `--allow-private-networks` unlocks private, CGNAT and
//!   unique-local addresses; link-local (with the cloud metadata address `169.254.169.254`) and
//!   the other special ranges are never allowed.
//!
//! - [`redact_url`]: any URL, connection string or line of text, fit to print: user-info,
//!   secret-named parameters and token-like path segments replaced by `***`.
//!
//! The URL check alone is not enough: a public name can resolve to a private address. The
//! sender resolves the host itself, checks every address with [`AddressPolicy::check`] before
//! connecting to it, and never follows redirects.

mod address;
mod policy;
mod redact;
mod url;

pub use self::url::{UrlError, WebhookUrl};
pub use address::{AddressClass, classify_ip, embedded_ipv4, is_cloud_metadata};
pub use policy::{AddressPolicy, ForbiddenAddress, OptIn};
pub use redact::{REDACTED, is_secret_name, redact_url};
pub(crate) use redact::{decode_form, map_pairs};
