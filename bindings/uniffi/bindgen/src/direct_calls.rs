//! `HopsafeClient.requestBlocking` through `DirectCalls` (the binding's `Direct.kt`) instead
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

/// `text` (the generated Kotlin) with `requestBlocking` calling `DirectCalls`; an error when
/// the method is not rendered as expected (a uniffi upgrade changed it) or is there twice.
pub fn request_blocking(text: &str) -> Result<String, String> {
    match text.matches(TEMPLATE).count() {
        1 => Ok(text.replace(TEMPLATE, DIRECT)),
        n => Err(format!(
            "expected requestBlocking as uniffi 0.32 renders it once, found it {n} times"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_method_is_replaced_and_nothing_else() {
        let text = format!("before\n{TEMPLATE}after\n");
        let out = request_blocking(&text).unwrap();
        assert_eq!(out, format!("before\n{DIRECT}after\n"));
        assert!(!out.contains("hopsafeclient_request_blocking"));
    }

    #[test]
    fn a_method_it_does_not_recognise_is_an_error() {
        assert!(request_blocking("override fun `requestBlocking`() {}").is_err());
        assert!(request_blocking(&TEMPLATE.repeat(2)).is_err());
    }
}
