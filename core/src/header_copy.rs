//! Copies of header maps with spare room, for the names a request gains on its way.

use http::HeaderMap;

/// A copy of `headers` with room for `room` more names, so adding the few a request gains on
/// its way (an idempotency key, hyper's `Host`) does not grow and copy the map again (a
/// clone has no spare capacity). Same names, values, order and sensitivity as a clone.
pub(crate) fn copy_with_room(headers: &HeaderMap, room: usize) -> HeaderMap {
    let mut copy = HeaderMap::with_capacity(headers.keys_len() + room);
    for (name, value) in headers {
        copy.append(name.clone(), value.clone());
    }
    copy
}

/// The headers to change, copied (with [`copy_with_room`]) if they are still borrowed.
pub(crate) fn to_mut_with_room<'a>(
    headers: &'a mut std::borrow::Cow<'_, HeaderMap>,
    room: usize,
) -> &'a mut HeaderMap {
    if let std::borrow::Cow::Borrowed(base) = headers {
        *headers = std::borrow::Cow::Owned(copy_with_room(base, room));
    }
    headers.to_mut()
}
