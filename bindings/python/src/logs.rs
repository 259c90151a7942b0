//! The core's `log` records to Python's `logging` (pyo3-log), with the records pyo3-log would
//! drop anyway turned away before its per-target lookup.
//!
//! The core's request span logs an enter and an exit record (`tracing::span::active`, TRACE)
//! every time its future is polled, several per call; pyo3-log forwards DEBUG and above only,
//! but finds that out after splitting and hashing the target each time (about 15% of a
//! loopback GET's instructions). This logger says no to TRACE first and hands every other
//! record to pyo3-log unchanged, so what reaches `logging` is the same.

use log::{LevelFilter, Log, Metadata, Record};

/// The most detailed level forwarded: pyo3-log's default filter, which it keeps as is.
const FORWARDED: LevelFilter = LevelFilter::Debug;

struct Forward(pyo3_log::Logger);

impl Log for Forward {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= FORWARDED && self.0.enabled(metadata)
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

/// Installs the logger; the handle that drops pyo3-log's cached levels, or `None` when
/// another logger was installed first.
pub(crate) fn install() -> Option<pyo3_log::ResetHandle> {
    let logger = pyo3_log::Logger::default().filter(FORWARDED);
    let handle = logger.reset_handle();
    log::set_boxed_logger(Box::new(Forward(logger))).ok()?;
    log::set_max_level(FORWARDED);
    Some(handle)
}
