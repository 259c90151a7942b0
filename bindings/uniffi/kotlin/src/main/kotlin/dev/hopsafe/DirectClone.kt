package dev.hopsafe

/**
 * The handle clones of `bindings/uniffi/src/direct_clone.rs`, direct-mapped: what the generated
 * `uniffiCloneHandle` of [HopsafeClient] and [CancelHandle] calls (rewritten by the binding's
 * bindgen) instead of uniffi's clone call, which passes a call status as a JNA `Structure`.
 */
@Suppress("FunctionName", "ktlint:standard:function-naming")
internal object DirectClone {
    init {
        registerDirect(DirectClone::class.java)
    }

    external fun hopsafe_kt_clone_client(handle: Long): Long

    external fun hopsafe_kt_clone_cancel(handle: Long): Long
}
