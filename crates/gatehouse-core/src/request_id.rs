use std::fmt;

/// A request id: `req_` followed by 26 lower-case base32 characters (128 random bits).
/// Returned to the caller in `x-request-id` and in every error body, and written to the audit row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

impl RequestId {
    /// A fresh random id.
    pub fn new() -> RequestId {
        let mut v: u128 = rand::random();
        let mut s = String::with_capacity(30);
        s.push_str("req_");
        for _ in 0..26 {
            s.push(ALPHABET[(v & 31) as usize] as char);
            v >>= 5;
        }
        RequestId(s)
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RequestId {
    fn default() -> Self {
        RequestId::new()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_well_formed() {
        let a = RequestId::new();
        let b = RequestId::new();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 30);
        assert!(a.as_str()[4..].bytes().all(|c| ALPHABET.contains(&c)));
    }
}
