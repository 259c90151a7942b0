package dev.hopsafe

import com.sun.jna.Native

/**
 * The handle clones of `bindings/uniffi/src/direct_clone.rs`, direct-mapped: what the generated
 * `uniffiCloneHandle` of [HopsafeClient] and [CancelHandle] calls (rewritten by the binding's
 * bindgen) instead of uniffi's clone call, which passes a call status as a JNA `Structure`.
 */
@Suppress("FunctionName", "ktlint:standard:function-naming")
internal object DirectClone {
    init {
        UniffiLib.ensureInitialized()
        val name = System.getProperty("uniffi.component.hopsafe_ffi.libraryOverride") ?: "hopsafe_ffi"
        Native.register(DirectClone::class.java, name)
    }

    external fun hopsafe_kt_clone_client(handle: Long): Long

    external fun hopsafe_kt_clone_cancel(handle: Long): Long
}
