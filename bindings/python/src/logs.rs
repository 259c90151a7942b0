//! The core's `log` records to Python's `logging` (pyo3-log), with the records pyo3-log would
//! drop anyway turned away before its per-target lookup.
//!
//! The core's request span logs an enter and an exit record (`tracing::span::active`, TRACE)
//! every time its future is polled, several per call; pyo3-log forwards DEBUG and above only,
//! but finds that out after splitting and hashing the target each time (about 15% of a
//! loopback GET's instructions). This logger says no to TRACE first and hands every other
//! record to pyo3-log unchanged, so what reaches `logging` is the same.
//!
//! DEBUG records come several per call too (the request span's start, hyper-util's pool
//! reuse and put-back) and are refused from pyo3-log's cached Python levels in the usual
//! setup. A refusal is remembered per thread for its target and level until
//! `refresh_logging()` drops pyo3-log's cache ([`refresh`]), so the lookup runs once, not per
//! record. Only refusals are remembered: pyo3-log says yes to a target it has not cached.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// The most detailed level forwarded: pyo3-log's default filter, which it keeps as is.
const FORWARDED: LevelFilter = LevelFilter::Debug;

/// Bumped when pyo3-log's cache is dropped: every thread then forgets its refusals.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// How many refused (target, level) pairs a thread remembers (the core and hyper-util use
/// a handful of targets).
const REMEMBERED: usize = 16;

/// A thread's remembered refusals, valid for one [`GENERATION`].
struct Refused {
    generation: u64,
    pairs: Vec<(Box<str>, Level)>,
}

thread_local! {
    static REFUSED: RefCell<Refused> = const {
        RefCell::new(Refused { generation: 0, pairs: Vec::new() })
    };
}

/// Whether this thread saw pyo3-log refuse `target` at `level` since its cache was dropped.
fn was_refused(target: &str, level: Level) -> bool {
    let generation = GENERATION.load(Ordering::Acquire);
    REFUSED
        .try_with(|r| {
            let mut r = r.borrow_mut();
            if r.generation != generation {
                r.generation = generation;
                r.pairs.clear();
            }
            r.pairs.iter().any(|(t, l)| *l == level && **t == *target)
        })
        .unwrap_or(false)
}

/// Remembers that pyo3-log refused `target` at `level` (read from its cache of `generation`).
fn remember_refused(target: &str, level: Level, generation: u64) {
    let _ = REFUSED.try_with(|r| {
        let mut r = r.borrow_mut();
        if r.generation == generation && r.pairs.len() < REMEMBERED {
            r.pairs.push((target.into(), level));
        }
    });
}

struct Forward(pyo3_log::Logger);

impl Log for Forward {
    fn enabled(&self, metadata: &Metadata) -> bool {
        let level = metadata.level();
        if level > FORWARDED || was_refused(metadata.target(), level) {
            return false;
        }
        // Read before asking: a refusal read from a cache dropped meanwhile is not kept.
        let generation = GENERATION.load(Ordering::Acquire);
        let enabled = self.0.enabled(metadata);
        if !enabled {
            remember_refused(metadata.target(), level, generation);
        }
        enabled
    }

    fn log(&self, record: &Record) {
        if record.level() <= FORWARDED {
            self.0.log(record);
        }
    }

    fn flush(&self) {
        self.0.flush();
    }
}

/// pyo3-log's handle for dropping its cached levels; `None` when another logger was
/// installed first (then there is nothing of ours to refresh).
static INSTALLED: OnceLock<Option<pyo3_log::ResetHandle>> = OnceLock::new();

/// Installs the logger, once per process.
pub(crate) fn install() {
    INSTALLED.get_or_init(|| {
        let logger = pyo3_log::Logger::default().filter(FORWARDED);
        let handle = logger.reset_handle();
        log::set_boxed_logger(Box::new(Forward(logger))).ok()?;
        log::set_max_level(FORWARDED);
        Some(handle)
    });
}

/// After a change to Python's logging configuration: drops pyo3-log's cached levels, and
/// makes every thread forget the refusals it remembered.
pub(crate) fn refresh() {
    if let Some(Some(handle)) = INSTALLED.get() {
        handle.reset();
        GENERATION.fetch_add(1, Ordering::AcqRel);
    }
}
