//! `HopsafeClient.requestBlocking` and `openBlocking` through `DirectCalls` (the binding's `Direct.kt`) instead
//! of uniffi's call, which passes and returns every `RustBuffer` as a JNA `Structure`: a
//! reflective object with native memory under JNA's cleaner, three or four per request. The
//! direct call takes and returns the same uniffi serialisation, so the method's signature,
//! results and exceptions stay as generated.

/// uniffi 0.32's body of the generated method.
const TEMPLATE: &str = "    @Throws(HopsafeException::class)override fun `requestBlocking`(`request`: HttpRequest, `cancel`: CancelHandle?): HttpResponse {
            return FfiConverterTypeHttpResponse.lift(
    callWithHandle {
    uniffiRustCallWithError(HopsafeException) { _status ->
    UniffiLib.uniffi_hopsafe_ffi_fn_method_hopsafeclient_request_blocking(
        it,
        
        FfiConverterTypeHttpRequest.lower(`request`),
        FfiConverterOptionalTypeCancelHandle.lower(`cancel`),_status)
}
    }
    )
    }
";

/// The method calling `DirectCalls`.
const DIRECT: &str = "    @Throws(HopsafeException::class)override fun `requestBlocking`(`request`: HttpRequest, `cancel`: CancelHandle?): HttpResponse {
        // hopsafe (bindings/uniffi/bindgen/src/direct_calls.rs): no JNA Structure per buffer.
        return callWithHandle { DirectCalls.requestBlocking(it, `request`, `cancel`) }
    }
";

/// uniffi 0.32's body of the generated `openBlocking`.
const OPEN_TEMPLATE: &str = "    @Throws(HopsafeException::class)override fun `openBlocking`(`request`: HttpRequest, `cancel`: CancelHandle?, `handOver`: kotlin.Boolean): StreamedResponse {
            return FfiConverterTypeStreamedResponse.lift(
    callWithHandle {
    uniffiRustCallWithError(HopsafeException) { _status ->
    UniffiLib.uniffi_hopsafe_ffi_fn_method_hopsafeclient_open_blocking(
        it,
        
        FfiConverterTypeHttpRequest.lower(`request`),
        FfiConverterOptionalTypeCancelHandle.lower(`cancel`),
        FfiConverterBoolean.lower(`handOver`),_status)
}
    }
    )
    }
";

/// `openBlocking` calling `DirectCalls`.
const OPEN_DIRECT: &str = "    @Throws(HopsafeException::class)override fun `openBlocking`(`request`: HttpRequest, `cancel`: CancelHandle?, `handOver`: kotlin.Boolean): StreamedResponse {
        // hopsafe (bindings/uniffi/bindgen/src/direct_calls.rs): no JNA Structure per buffer.
        return callWithHandle { DirectCalls.openBlocking(it, `request`, `cancel`, `handOver`) }
    }
";

/// `text` (the generated Kotlin) with `requestBlocking` and `openBlocking` calling
/// `DirectCalls`; an error when a method is not rendered as expected (a uniffi upgrade
/// changed it) or is there twice.
pub fn blocking_calls_direct(text: &str) -> Result<String, String> {
    let text = crate::replace_once(text, "requestBlocking", TEMPLATE, DIRECT)?;
    crate::replace_once(&text, "openBlocking", OPEN_TEMPLATE, OPEN_DIRECT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_method_is_replaced_and_nothing_else() {
        let text = format!("before\n{TEMPLATE}between\n{OPEN_TEMPLATE}after\n");
        let out = blocking_calls_direct(&text).unwrap();
        assert_eq!(
            out,
            format!("before\n{DIRECT}between\n{OPEN_DIRECT}after\n")
        );
        assert!(!out.contains("hopsafeclient_request_blocking"));
        assert!(!out.contains("hopsafeclient_open_blocking"));
    }

    #[test]
    fn a_method_it_does_not_recognise_is_an_error() {
        assert!(blocking_calls_direct("override fun `requestBlocking`() {}").is_err());
        assert!(blocking_calls_direct(&TEMPLATE.repeat(2)).is_err());
        assert!(blocking_calls_direct(TEMPLATE).is_err());
    }
}
