//! Handle clones for Kotlin without a JNA `Structure`: every Kotlin call on a `HopsafeClient`
//! (and each `CancelHandle` passed) first clones the object's handle through uniffi's
//! `clone` function, which takes a `RustCallStatus` by reference, a `Structure` JNA writes
//! and reads back by reflection around the call. A clone cannot fail, so these take the handle
//! and return the clone, as direct-mapped calls (`DirectClone.kt`; the generated
//! `uniffiCloneHandle` calls them, see `bindings/uniffi/bindgen/src/clone_direct.rs`).

use uniffi::Handle;

use crate::client::{CancelHandle, HopsafeClient};

/// A clone of the `HopsafeClient` handle `handle` (the same value, one more reference).
///
/// # Safety
/// `handle` must be a live handle of a `HopsafeClient`.
#[no_mangle]
pub unsafe extern "C" fn hopsafe_kt_clone_client(handle: u64) -> u64 {
    // SAFETY: the caller guarantees a live handle of this type.
    unsafe { Handle::from_raw_unchecked(handle).clone_arc_handle::<HopsafeClient>() }.as_raw()
}

/// A clone of the `CancelHandle` handle `handle`.
///
/// # Safety
/// `handle` must be a live handle of a `CancelHandle`.
#[no_mangle]
pub unsafe extern "C" fn hopsafe_kt_clone_cancel(handle: u64) -> u64 {
    // SAFETY: the caller guarantees a live handle of this type.
    unsafe { Handle::from_raw_unchecked(handle).clone_arc_handle::<CancelHandle>() }.as_raw()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use uniffi::{Lift, Lower};

    use super::*;
    use crate::UniFfiTag;

    #[test]
    fn a_clone_is_one_more_reference_to_the_same_object() {
        let client = HopsafeClient::plain();
        let handle = <Arc<HopsafeClient> as Lower<UniFfiTag>>::lower(client.clone()).as_raw();
        // SAFETY: `handle` was just lowered and is still owned.
        let clone = unsafe { hopsafe_kt_clone_client(handle) };
        assert_eq!((clone, Arc::strong_count(&client)), (handle, 3));
        for h in [handle, clone] {
            let lifted =
                <Arc<HopsafeClient> as Lift<UniFfiTag>>::try_lift(Handle::from_raw_unchecked(h));
            assert!(Arc::ptr_eq(&lifted.unwrap(), &client));
        }
        assert_eq!(Arc::strong_count(&client), 1);

        let cancel = CancelHandle::new();
        let handle = <Arc<CancelHandle> as Lower<UniFfiTag>>::lower(cancel.clone()).as_raw();
        // SAFETY: as above.
        let clone = unsafe { hopsafe_kt_clone_cancel(handle) };
        assert_eq!((clone, Arc::strong_count(&cancel)), (handle, 3));
        for h in [handle, clone] {
            drop(<Arc<CancelHandle> as Lift<UniFfiTag>>::try_lift(
                Handle::from_raw_unchecked(h),
            ));
        }
        assert_eq!(Arc::strong_count(&cancel), 1);
    }
}
