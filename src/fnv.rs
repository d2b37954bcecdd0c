//! FNV-1a, the one small non-cryptographic hash storybot uses where a value must be stable
//! across processes and releases (story ids, term ids, delivery nonces, backoff jitter), which
//! the standard library's randomly seeded hasher is not. Written once here, as globset's
//! `fnv.rs`.

/// The 64-bit FNV offset basis.
pub(crate) const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a of `bytes`, starting from `basis` (use [`OFFSET_BASIS`] unless a second,
/// independent hash of the same bytes is wanted).
pub(crate) fn hash_with(basis: u64, bytes: &[u8]) -> u64 {
    let mut h = basis;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// FNV-1a of `bytes`.
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    hash_with(OFFSET_BASIS, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_test_vectors() {
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
