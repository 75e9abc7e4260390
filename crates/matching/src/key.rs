//! Fixed-capacity ASCII keys stored inline, so that building a key while scanning does not
//! allocate and a hash map probe compares bytes in the table instead of following a pointer.

use std::hash::{Hash, Hasher};

/// An ASCII string of at most `N` bytes (`N` at most 255) stored inline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InlineKey<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> InlineKey<N> {
    pub(crate) const CAPACITY: usize = N;

    pub(crate) fn new() -> Self {
        const { assert!(N <= u8::MAX as usize, "the length must fit in a u8") };
        Self {
            len: 0,
            bytes: [0; N],
        }
    }

    /// Builds a key from ASCII `text`, or returns `None` when it is longer than `N` bytes or
    /// contains a byte outside ASCII.
    pub(crate) fn from_ascii(text: &[u8]) -> Option<Self> {
        let mut key = Self::new();
        for &byte in text {
            if !byte.is_ascii() || !key.push(byte) {
                return None;
            }
        }
        Some(key)
    }

    /// Builds the compact form of `text` (ASCII letters and digits, uppercased), or returns
    /// `None` when it is empty or longer than `N`.
    pub(crate) fn compact(text: &str) -> Option<Self> {
        let mut key = Self::new();
        (key.push_compact(text.as_bytes()) && key.len() > 0).then_some(key)
    }

    /// Appends `byte` and returns true, or returns false when the key is full.
    pub(crate) fn push(&mut self, byte: u8) -> bool {
        let len = usize::from(self.len);
        if len == N {
            return false;
        }
        self.bytes[len] = byte;
        self.len += 1;
        true
    }

    /// Appends the ASCII letters and digits of `text`, uppercased. Returns false, leaving the
    /// key unchanged, when they do not fit.
    pub(crate) fn push_compact(&mut self, text: &[u8]) -> bool {
        let added = text
            .iter()
            .filter(|byte| byte.is_ascii_alphanumeric())
            .count();
        if usize::from(self.len) + added > N {
            return false;
        }
        for &byte in text.iter().filter(|byte| byte.is_ascii_alphanumeric()) {
            self.bytes[usize::from(self.len)] = byte.to_ascii_uppercase();
            self.len += 1;
        }
        true
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("an inline key contains only ASCII")
    }
}

// Unused bytes are always zero, so comparing the whole array is the same as comparing the used
// bytes, and hashing only the used bytes is consistent with it.
impl<const N: usize> PartialEq for InlineKey<N> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.bytes == other.bytes
    }
}

impl<const N: usize> Eq for InlineKey<N> {}

impl<const N: usize> Hash for InlineKey<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_normalises_and_limits() {
        let key = InlineKey::<16>::compact("rf18 5390-0754 7034").expect("fits");
        assert_eq!(key.as_str(), "RF18539007547034");
        assert!(InlineKey::<4>::compact("12345").is_none());
        assert!(InlineKey::<4>::compact(" - ").is_none());
    }

    #[test]
    fn from_ascii_rejects_long_and_non_ascii() {
        assert!(InlineKey::<3>::from_ascii(b"abcd").is_none());
        assert!(InlineKey::<8>::from_ascii("é".as_bytes()).is_none());
        assert_eq!(
            InlineKey::<3>::from_ascii(b"abc").map(|key| key.len()),
            Some(3)
        );
    }
}
