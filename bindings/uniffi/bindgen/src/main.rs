//! `uniffi-bindgen`, pinned to the uniffi version of `hopsafe-ffi`:
//! `uniffi-bindgen generate --language kotlin --out-dir DIR target/debug/libhopsafe_ffi.so`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
