//! Byte strings across the boundary, copied in one piece.
//!
//! uniffi 0.32 moves a `Vec<u8>` element by element (a bounds check and a push per byte):
//! profiling a 10 MiB download from Kotlin put a third of the process's CPU in that loop.
//! `Blob` has the same metadata and wire format (`i32` length, then the bytes), so the
//! foreign side sees the type it always did (`ByteArray`, `Data`), and copies in bulk.

use uniffi::{FfiConverter, MetadataBuffer, RustBuffer, TypeId};

/// Bytes that cross the boundary as `Vec<u8>` does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl From<Vec<u8>> for Blob {
    fn from(v: Vec<u8>) -> Self {
        Blob(v)
    }
}

impl From<Blob> for Vec<u8> {
    fn from(b: Blob) -> Self {
        b.0
    }
}

// SAFETY: the FFI type is a `RustBuffer`, written and read as uniffi's own `Vec<u8>` converter
// does (big-endian `i32` length, then the bytes), so both sides agree on the layout.
unsafe impl FfiConverter<crate::UniFfiTag> for Blob {
    type FfiType = RustBuffer;

    fn lower(obj: Self) -> RustBuffer {
        let mut buf = Vec::with_capacity(4 + obj.0.len());
        Self::write(obj, &mut buf);
        RustBuffer::from_vec(buf)
    }

    fn try_lift(v: RustBuffer) -> uniffi::Result<Self> {
        let vec = v.destroy_into_vec();
        let mut buf = vec.as_slice();
        let value = Self::try_read(&mut buf)?;
        if !buf.is_empty() {
            uniffi::deps::anyhow::bail!("{} bytes left after a byte string", buf.len());
        }
        Ok(value)
    }

    fn write(obj: Self, buf: &mut Vec<u8>) {
        // The same limit (and panic) as uniffi's `Vec<T>`: the JVM cannot hold more.
        let len = i32::try_from(obj.0.len()).expect("a byte string over i32::MAX bytes");
        buf.reserve(4 + obj.0.len());
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&obj.0);
    }

    fn try_read(buf: &mut &[u8]) -> uniffi::Result<Self> {
        let Some((len, rest)) = buf.split_first_chunk::<4>() else {
            uniffi::deps::anyhow::bail!("a byte string without its length");
        };
        let len = usize::try_from(i32::from_be_bytes(*len))?;
        let Some((bytes, rest)) = rest.split_at_checked(len) else {
            uniffi::deps::anyhow::bail!("a byte string shorter than its length {len}");
        };
        *buf = rest;
        Ok(Blob(bytes.to_vec()))
    }

    const TYPE_ID_META: MetadataBuffer = <Vec<u8> as TypeId<crate::UniFfiTag>>::TYPE_ID_META;
}

uniffi::derive_ffi_traits!(local Blob);

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes uniffi's own `Vec<u8>` converter writes, for comparison.
    fn uniffi_vec(v: Vec<u8>) -> Vec<u8> {
        let mut buf = Vec::new();
        <Vec<u8> as uniffi::Lower<crate::UniFfiTag>>::write(v, &mut buf);
        buf
    }

    #[test]
    fn writes_what_uniffi_writes_and_reads_it_back() {
        for v in [vec![], vec![0u8], (0..=255).collect::<Vec<u8>>()] {
            let mut ours = Vec::new();
            <Blob as FfiConverter<crate::UniFfiTag>>::write(Blob(v.clone()), &mut ours);
            assert_eq!(ours, uniffi_vec(v.clone()));
            let mut rest = ours.as_slice();
            let back = <Blob as FfiConverter<crate::UniFfiTag>>::try_read(&mut rest).unwrap();
            assert_eq!((back.0, rest.len()), (v.clone(), 0));
            let lowered = <Blob as FfiConverter<crate::UniFfiTag>>::lower(Blob(v.clone()));
            let lifted = <Blob as FfiConverter<crate::UniFfiTag>>::try_lift(lowered).unwrap();
            assert_eq!(lifted.0, v);
        }
    }

    #[test]
    fn refuses_short_or_negative_lengths() {
        let read = |b: &[u8]| <Blob as FfiConverter<crate::UniFfiTag>>::try_read(&mut &b[..]);
        assert!(read(&[0, 0]).is_err());
        assert!(read(&[0, 0, 0, 3, 1, 2]).is_err());
        assert!(read(&[0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn has_the_metadata_of_vec_u8() {
        let ours = <Blob as FfiConverter<crate::UniFfiTag>>::TYPE_ID_META;
        let theirs = <Vec<u8> as TypeId<crate::UniFfiTag>>::TYPE_ID_META;
        assert_eq!(ours.as_ref(), theirs.as_ref());
    }
}
