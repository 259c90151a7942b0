//! One uniffi call status per thread, reused by that thread's calls into Rust.
//!
//! uniffi's Kotlin makes a new `UniffiRustCallStatus` for every call (a request makes four:
//! the request's buffer, the call, the response's buffer freed, an option's buffer). Each is
//! a JNA `Structure` with a nested one, so native memory registered with JNA's cleaner and
//! tracked in a map: on the 64-thread blocking bench that garbage (reference processing,
//! the cleaner thread) cost more CPU than hopsafe's Rust. The status is only written by Rust
//! when a call fails, and read by Kotlin right after the call, so a thread can keep one.
//! It is taken out of its slot while in use: a call made inside another on the same thread
//! (a redirect hook or listener of a blocking call that calls hopsafe) gets a fresh one and
//! never clobbers the outer call's status.

/// uniffi 0.32's helper that every generated call goes through.
const TEMPLATE: &str = "private inline fun <U, E: kotlin.Exception> uniffiRustCallWithError(errorHandler: UniffiRustCallStatusErrorHandler<E>, callback: (UniffiRustCallStatus) -> U): U {
    var status = UniffiRustCallStatus()
    val return_value = callback(status)
    uniffiCheckCallStatus(errorHandler, status)
    return return_value
}
";

/// The helper with the status kept per thread.
const REUSED: &str = "// hopsafe (bindings/uniffi/bindgen/src/call_status.rs): one call status per thread, reused,
// instead of two JNA Structures (native memory under JNA's cleaner) per call.
private val uniffiIdleCallStatus = ThreadLocal<UniffiRustCallStatus?>()

private inline fun <U, E: kotlin.Exception> uniffiRustCallWithError(errorHandler: UniffiRustCallStatusErrorHandler<E>, callback: (UniffiRustCallStatus) -> U): U {
    // Out of the slot while in use, so a call nested in this one (a callback calling Rust)
    // gets its own. Rust writes `error_buf` only with a failure code, which is reset here.
    val status = uniffiIdleCallStatus.get()?.also {
        uniffiIdleCallStatus.set(null)
        it.code = UNIFFI_CALL_SUCCESS
    } ?: UniffiRustCallStatus()
    try {
        val return_value = callback(status)
        uniffiCheckCallStatus(errorHandler, status)
        return return_value
    } finally {
        uniffiIdleCallStatus.set(status)
    }
}
";

/// `text` (the generated Kotlin) with the call status kept per thread; an error when the
/// helper is not rendered as expected (a uniffi upgrade changed it) or is there twice.
pub fn reuse_per_thread(text: &str) -> Result<String, String> {
    crate::replace_once(text, "uniffiRustCallWithError", TEMPLATE, REUSED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_helper_is_replaced_and_nothing_else() {
        let text = format!("before\n{TEMPLATE}after\n");
        let out = reuse_per_thread(&text).unwrap();
        assert_eq!(out, format!("before\n{REUSED}after\n"));
        assert!(!out.contains("var status = UniffiRustCallStatus()"));
    }

    #[test]
    fn a_helper_it_does_not_recognise_is_an_error() {
        assert!(reuse_per_thread("private inline fun uniffiRustCallWithError() {}").is_err());
        assert!(reuse_per_thread(&TEMPLATE.repeat(2)).is_err());
    }
}
