// SPDX-License-Identifier: GPL-2.0

//! Big-endian field access on byte slices that never panics.
//!
//! Getters return 0 for bytes beyond the end of the slice (a short CDB or
//! parameter list reads as zeros, and callers validate lengths separately);
//! setters silently drop bytes that do not fit, which is exactly the SCSI rule
//! for truncating a response to the allocation length.

/// Returns byte `i` of `b`, or 0 if `b` is too short.
#[inline]
pub fn get_u8(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// Reads `N` big-endian bytes at `off` as a `u64` (missing bytes read as 0).
#[inline]
fn get_be<const N: usize>(b: &[u8], off: usize) -> u64 {
    let mut v = 0u64;
    let mut i = 0;
    while i < N {
        v = (v << 8) | u64::from(get_u8(b, off.saturating_add(i)));
        i += 1;
    }
    v
}

/// Reads a big-endian `u16` at `off`.
#[inline]
pub fn get_u16(b: &[u8], off: usize) -> u16 {
    get_be::<2>(b, off) as u16
}

/// Reads a big-endian 24-bit value at `off`.
#[inline]
pub fn get_u24(b: &[u8], off: usize) -> u32 {
    get_be::<3>(b, off) as u32
}

/// Reads a big-endian `u32` at `off`.
#[inline]
pub fn get_u32(b: &[u8], off: usize) -> u32 {
    get_be::<4>(b, off) as u32
}

/// Reads a big-endian 48-bit value at `off`.
#[inline]
pub fn get_u48(b: &[u8], off: usize) -> u64 {
    get_be::<6>(b, off)
}

/// Reads a big-endian `u64` at `off`.
#[inline]
pub fn get_u64(b: &[u8], off: usize) -> u64 {
    get_be::<8>(b, off)
}

/// Stores byte `v` at `i` if it fits.
#[inline]
pub fn put_u8(b: &mut [u8], i: usize, v: u8) {
    if let Some(x) = b.get_mut(i) {
        *x = v;
    }
}

/// Stores the low `n` bytes of `v` big-endian at `off`, dropping what does not fit.
#[inline]
fn put_be(b: &mut [u8], off: usize, v: u64, n: usize) {
    let mut i = 0;
    while i < n {
        let shift = (n - 1 - i) * 8;
        put_u8(b, off.saturating_add(i), (v >> shift) as u8);
        i += 1;
    }
}

/// Stores a big-endian `u16` at `off`.
#[inline]
pub fn put_u16(b: &mut [u8], off: usize, v: u16) {
    put_be(b, off, u64::from(v), 2);
}

/// Stores a big-endian 24-bit value at `off`.
#[inline]
pub fn put_u24(b: &mut [u8], off: usize, v: u32) {
    put_be(b, off, u64::from(v), 3);
}

/// Stores a big-endian `u32` at `off`.
#[inline]
pub fn put_u32(b: &mut [u8], off: usize, v: u32) {
    put_be(b, off, u64::from(v), 4);
}

/// Stores a big-endian `u64` at `off`.
#[inline]
pub fn put_u64(b: &mut [u8], off: usize, v: u64) {
    put_be(b, off, v, 8);
}

/// Copies `src` to `off`, truncated to what fits in `b`.
#[inline]
pub fn put_bytes(b: &mut [u8], off: usize, src: &[u8]) {
    if let Some(dst) = b.get_mut(off..) {
        let n = dst.len().min(src.len());
        dst[..n].copy_from_slice(&src[..n]);
    }
}

/// Copies `src` into a fixed-width ASCII field at `off`, space padded (SPC 4.3.1).
pub fn put_ascii_padded(b: &mut [u8], off: usize, width: usize, src: &[u8]) {
    let mut i = 0;
    while i < width {
        let c = src.get(i).copied().unwrap_or(b' ');
        put_u8(b, off.saturating_add(i), c);
        i += 1;
    }
}

/// A cursor that writes a response into a buffer, keeping count of the full
/// length even past the end of the buffer.
///
/// SCSI responses are built completely and truncated to the allocation length;
/// the full length is what the length fields report.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// Creates a writer at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// The number of bytes produced so far, including bytes that did not fit.
    pub fn len(&self) -> usize {
        self.pos
    }

    /// Whether nothing was produced yet.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// The number of bytes actually stored in the buffer.
    pub fn stored(&self) -> usize {
        self.pos.min(self.buf.len())
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) {
        put_u8(self.buf, self.pos, v);
        self.pos = self.pos.saturating_add(1);
    }

    /// Appends a big-endian `u16`.
    pub fn u16(&mut self, v: u16) {
        put_u16(self.buf, self.pos, v);
        self.pos = self.pos.saturating_add(2);
    }

    /// Appends a big-endian `u32`.
    pub fn u32(&mut self, v: u32) {
        put_u32(self.buf, self.pos, v);
        self.pos = self.pos.saturating_add(4);
    }

    /// Appends a big-endian `u64`.
    pub fn u64(&mut self, v: u64) {
        put_u64(self.buf, self.pos, v);
        self.pos = self.pos.saturating_add(8);
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        put_bytes(self.buf, self.pos, v);
        self.pos = self.pos.saturating_add(v.len());
    }

    /// Appends `n` zero bytes.
    pub fn zeros(&mut self, n: usize) {
        let mut i = 0;
        while i < n {
            self.u8(0);
            i += 1;
        }
    }

    /// Overwrites a big-endian `u16` at an absolute position already passed.
    pub fn patch_u16(&mut self, at: usize, v: u16) {
        put_u16(self.buf, at, v);
    }

    /// Overwrites a big-endian `u32` at an absolute position already passed.
    pub fn patch_u32(&mut self, at: usize, v: u32) {
        put_u32(self.buf, at, v);
    }

    /// Overwrites one byte at an absolute position already passed.
    pub fn patch_u8(&mut self, at: usize, v: u8) {
        put_u8(self.buf, at, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getters_read_zero_past_end() {
        let b = [0x12, 0x34, 0x56];
        assert_eq!(get_u16(&b, 0), 0x1234);
        assert_eq!(get_u24(&b, 0), 0x123456);
        assert_eq!(get_u32(&b, 0), 0x1234_5600);
        assert_eq!(get_u64(&b, usize::MAX), 0);
        assert_eq!(get_u8(&b, 3), 0);
    }

    #[test]
    fn setters_truncate() {
        let mut b = [0u8; 3];
        put_u32(&mut b, 0, 0xaabb_ccdd);
        assert_eq!(b, [0xaa, 0xbb, 0xcc]);
        put_u64(&mut b, usize::MAX - 1, 1);
        assert_eq!(b, [0xaa, 0xbb, 0xcc]);
    }

    #[test]
    fn writer_counts_full_length() {
        let mut b = [0u8; 4];
        let mut w = Writer::new(&mut b);
        w.u16(0x0102);
        w.u32(0x0304_0506);
        w.bytes(b"xyz");
        assert_eq!(w.len(), 9);
        assert_eq!(w.stored(), 4);
        w.patch_u8(0, 9);
        assert_eq!(b, [9, 2, 3, 4]);
    }

    #[test]
    fn ascii_padding() {
        let mut b = [0u8; 8];
        put_ascii_padded(&mut b, 0, 8, b"SCST");
        assert_eq!(&b, b"SCST    ");
        put_ascii_padded(&mut b, 0, 8, b"0123456789");
        assert_eq!(&b, b"01234567");
    }
}
