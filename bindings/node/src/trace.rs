//! The core's tracing data, published on Node's `diagnostics_channel` by `index.js`: the
//! `hopsafe.request` span as it opens (`hopsafe:request`: method and origin), each
//! `hopsafe::hop` event (`hopsafe:hop`) and each `hopsafe::retry` event (`hopsafe:retry`),
//! with their fields. The core never puts a credential, path or query in them.
//!
//! A minimal `tracing` subscriber (only hopsafe's own targets, and only while a channel has
//! subscribers: `index.js` says so through [`trace_enabled`] as each call starts) hands each
//! record to the JS thread as a JSON document through a threadsafe function that does not
//! keep the event loop alive. Nobody subscribed: no record is built, nothing crosses.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

type Publish = ThreadsafeFunction<String, (), String, Status, false, true>;

/// Collects a record's fields as JSON values.
#[derive(Default)]
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
}

struct Forward {
    publish: Publish,
    next: AtomicU64,
}

impl Forward {
    fn send(&self, channel: &str, fields: Fields) {
        let doc = serde_json::json!({ "channel": channel, "message": fields.0 }).to_string();
        // A full queue or a closing environment drops the record (never blocks the request).
        let _ = self
            .publish
            .call(doc, ThreadsafeFunctionCallMode::NonBlocking);
    }
}

/// Whether any hopsafe channel has subscribers.
static ENABLED: AtomicBool = AtomicBool::new(false);

fn ours(meta: &Metadata<'_>) -> bool {
    meta.target() == "hopsafe" || meta.target().starts_with("hopsafe::")
}

/// Turns forwarding on (a hopsafe channel has subscribers) or off.
#[napi(catch_unwind)]
pub fn trace_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

impl Subscriber for Forward {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if ours(meta) {
            // Asked again each time: forwarding follows the subscribers.
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        ENABLED.load(Ordering::Relaxed) && ours(meta)
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        if span.metadata().name() == "hopsafe.request" {
            let mut fields = Fields::default();
            span.record(&mut fields);
            self.send("request", fields);
        }
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed))
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let channel = match event.metadata().target() {
            "hopsafe::hop" => "hop",
            "hopsafe::retry" => "retry",
            _ => return,
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        fields.0.remove("message");
        self.send(channel, fields);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Routes the core's tracing data to `publish` (once per process: the first call wins; a
/// process that already has a global `tracing` subscriber keeps it). Returns whether this
/// call installed it.
#[napi(catch_unwind)]
pub fn trace_to(publish: Publish) -> bool {
    static SET: OnceLock<bool> = OnceLock::new();
    *SET.get_or_init(|| {
        tracing::subscriber::set_global_default(Forward {
            publish,
            next: AtomicU64::new(1),
        })
        .is_ok()
    })
}
