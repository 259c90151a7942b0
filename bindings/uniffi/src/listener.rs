//! The tracing listener: a `HopsafeListener` implemented in Kotlin or Swift, told about every
//! request, redirect followed and retry of the client it was given to. It is fed from the
//! core's tracing data (the `hopsafe.request` span, the `hopsafe::hop` and `hopsafe::retry`
//! events) by a tracing-subscriber layer that is set as the dispatcher of that client's calls
//! only, so clients with different listeners never see each other's traffic and nothing is
//! installed process-wide. Like the core's events, it never carries a credential, path or query.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use crate::error::HopsafeError;
use crate::types::{DropReason, DroppedHeader};

/// What a client did, as its listener is told.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum HopsafeEvent {
    /// A request starts (before its first hop is sent).
    Request {
        /// The method as sent first.
        method: String,
        /// The origin of the first URL (`scheme://host:port`).
        origin: String,
    },
    /// A redirect was followed.
    Hop {
        /// The method sent to `origin`.
        method: String,
        /// The origin that answered with the redirect.
        origin: String,
        /// The redirect status.
        status: u16,
        /// The origin of the next hop.
        to: String,
        /// The method of the next hop (GET after a 303, or a 301/302 answering a POST).
        next_method: String,
        /// The headers not sent on the next hop, and why (names only, never values).
        dropped: Vec<DroppedHeader>,
    },
    /// A request is sent again after a failure.
    Retry {
        /// The method of the request.
        method: String,
        /// The origin it is sent to.
        origin: String,
        /// The attempt that failed (1 = the first).
        attempt: u32,
        /// Why: `Connect`, `Refused` (HTTP/2 REFUSED_STREAM), `AfterSend` or `Status(503)`.
        reason: String,
        /// The status that answered, when the reason is a status.
        status: Option<u16>,
        /// How long hopsafe waits before the next attempt, in milliseconds.
        wait_ms: u64,
    },
}

/// Told about every request, hop and retry of the client it was given to. Called on one of
/// hopsafe's threads while the call goes on: keep it quick (hand the event to a logger or a
/// queue). A listener that throws is ignored; the request goes on.
#[uniffi::export(foreign)]
pub trait HopsafeListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: HopsafeEvent) -> Result<(), HopsafeError>;
}

/// The dispatcher that feeds `listener`; set around each call of the client.
pub(crate) fn dispatch(listener: Arc<dyn HopsafeListener>) -> Dispatch {
    // While exactly one dispatcher exists, tracing-core decides the interest of a callsite
    // seen for the first time by asking the *current thread's* default only: a callsite first
    // hit by a call without a listener would be disabled for good, also inside listened calls.
    // A second dispatcher that lives forever (and wants nothing) makes it ask every live
    // dispatcher instead, so each callsite is `sometimes` and judged per call.
    static QUIET: OnceLock<Dispatch> = OnceLock::new();
    QUIET.get_or_init(|| Dispatch::new(tracing::subscriber::NoSubscriber::default()));
    Dispatch::new(tracing_subscriber::registry().with(Bridge(listener)))
}

/// The layer that turns the core's span and events into `HopsafeEvent`s.
struct Bridge(Arc<dyn HopsafeListener>);

/// The fields of a `hopsafe.request` span, kept in its extensions for the events inside it.
struct RequestFields {
    method: String,
    origin: String,
}

impl Bridge {
    fn emit(&self, event: HopsafeEvent) {
        // A listener's failure is its own; it never fails the request.
        let _ = self.0.on_event(event);
    }
}

impl<S> Layer<S> for Bridge
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        // Only hopsafe's own span and events, never h2's or anyone else's.
        if metadata.target().starts_with("hopsafe") {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "hopsafe.request" {
            return;
        }
        let mut f = Fields::default();
        attrs.record(&mut f);
        let fields = RequestFields {
            method: f.take("method"),
            origin: f.take("origin"),
        };
        self.emit(HopsafeEvent::Request {
            method: fields.method.clone(),
            origin: fields.origin.clone(),
        });
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let target = event.metadata().target();
        if target != "hopsafe::hop" && target != "hopsafe::retry" {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        let request = ctx.event_scope(event).and_then(|scope| {
            scope.from_root().find_map(|s| {
                s.extensions()
                    .get::<RequestFields>()
                    .map(|r| (r.method.clone(), r.origin.clone()))
            })
        });
        if target == "hopsafe::hop" {
            self.emit(HopsafeEvent::Hop {
                method: f.take("method"),
                origin: f.take("from"),
                status: f.number("status").try_into().unwrap_or(0),
                to: f.take("to"),
                next_method: f.take("next_method"),
                dropped: parse_dropped(&f.take("dropped")),
            });
        } else {
            let (method, span_origin) = request.unwrap_or_default();
            let reason = f.take("failure");
            let status = reason
                .strip_prefix("Status(")
                .and_then(|s| s.strip_suffix(')'))
                .and_then(|s| s.parse().ok());
            let origin = f.take("origin");
            self.emit(HopsafeEvent::Retry {
                method,
                origin: if origin.is_empty() {
                    span_origin
                } else {
                    origin
                },
                attempt: f.number("attempt").try_into().unwrap_or(u32::MAX),
                reason,
                status,
                wait_ms: f.number("wait_ms"),
            });
        }
    }
}

/// The fields of a span or event, as text (numbers too).
#[derive(Default)]
struct Fields(HashMap<&'static str, String>);

impl Fields {
    fn take(&mut self, name: &str) -> String {
        self.0.remove(name).unwrap_or_default()
    }

    fn number(&mut self, name: &str) -> u64 {
        self.take(name).parse().unwrap_or(0)
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
}

/// The core's `dropped` field, the Debug text of `[("name", "reason"), ...]`: header names are
/// tokens and reasons fixed words, so neither holds a quote.
fn parse_dropped(text: &str) -> Vec<DroppedHeader> {
    let quoted: Vec<&str> = text.split('"').skip(1).step_by(2).collect();
    quoted
        .chunks_exact(2)
        .filter_map(|pair| {
            let reason = match pair[1] {
                "cross-origin" => DropReason::CrossOrigin,
                "method-changed" => DropReason::MethodChanged,
                _ => return None,
            };
            Some(DroppedHeader {
                name: pair[0].to_owned(),
                reason,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_headers_are_read_from_the_core_field() {
        let got = parse_dropped(
            r#"[("authorization", "cross-origin"), ("content-type", "method-changed")]"#,
        );
        assert_eq!(
            got,
            [
                DroppedHeader {
                    name: "authorization".into(),
                    reason: DropReason::CrossOrigin
                },
                DroppedHeader {
                    name: "content-type".into(),
                    reason: DropReason::MethodChanged
                },
            ]
        );
        assert!(parse_dropped("[]").is_empty());
    }
}

#[cfg(test)]
mod scoped {
    use std::sync::Mutex;

    use tracing::instrument::WithSubscriber;

    use super::*;

    struct Rec(Mutex<Vec<HopsafeEvent>>);

    impl HopsafeListener for Rec {
        fn on_event(&self, event: HopsafeEvent) -> Result<(), HopsafeError> {
            self.0.lock().unwrap().push(event);
            Ok(())
        }
    }

    #[test]
    fn callsites_first_hit_outside_a_listened_call_still_reach_the_listener() {
        let client = hopsafe::Client::new().unwrap();
        let call = || {
            let c = client.clone();
            async move {
                let req = hopsafe::Request::parse("GET", "http://127.0.0.1:1/").unwrap();
                let _ = c.execute(req).await;
            }
        };
        let rec = Arc::new(Rec(Mutex::new(Vec::new())));
        let d = dispatch(rec.clone());
        // The first hit of the request span is in a call without the listener.
        hopsafe::runtime::block_on(call());
        hopsafe::runtime::block_on(call().with_subscriber(d));
        let got = rec.0.lock().unwrap().clone();
        let origin = "http://127.0.0.1:1".to_owned();
        assert_eq!(
            got.first(),
            Some(&HopsafeEvent::Request {
                method: "GET".into(),
                origin
            }),
            "{got:?}"
        );
        assert!(
            got[1..]
                .iter()
                .all(|e| matches!(e, HopsafeEvent::Retry { reason, .. } if reason == "Connect")),
            "{got:?}"
        );
    }
}
