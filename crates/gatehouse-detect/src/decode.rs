//! Bounded decoding of encoded runs (base64, hex, percent-encoding) so that a secret or an
//! e-mail address hidden in an encoding is still found.
//!
//! Candidates are found with a single byte scan (no regex). Each decoded run is accepted only
//! if it is valid UTF-8 and mostly printable, so random key material (which decodes to binary)
//! is left to the secret rules that match it as-is. Work is bounded per text by
//! [`DecodeLimits`]; decoding is not recursive.

/// How an encoded run was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// RFC 4648 base64 or base64url.
    Base64,
    /// Hexadecimal.
    Hex,
    /// Percent-encoding (`%40`).
    Percent,
}

impl Encoding {
    /// Obfuscation finding type for a payload in this encoding.
    pub fn finding_type(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64_payload",
            Encoding::Hex => "hex_payload",
            Encoding::Percent => "percent_encoded_payload",
        }
    }
}

/// Limits on decoding work per scanned text.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Shortest run considered.
    pub min_run: usize,
    /// Most runs decoded per text.
    pub max_runs: usize,
    /// Most decoded bytes per text.
    pub max_total: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            min_run: 16,
            max_runs: 64,
            max_total: 64 * 1024,
        }
    }
}

/// A decoded run: byte range in the scanned text and the decoded text.
#[derive(Debug, Clone)]
pub struct DecodedRun {
    /// Start byte of the encoded run.
    pub start: usize,
    /// End byte (exclusive) of the encoded run.
    pub end: usize,
    /// Encoding.
    pub encoding: Encoding,
    /// Decoded text.
    pub text: String,
}

fn b64_val(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

pub(crate) fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let body: &[u8] = {
        let mut end = s.len();
        while end > 0 && s[end - 1] == b'=' {
            end -= 1;
        }
        &s[..end]
    };
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for &b in body {
        acc = (acc << 6) | u32::from(b64_val(b)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

fn hex_decode(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks_exact(2)
        .map(|p| {
            let h = char::from(p[0]).to_digit(16)?;
            let l = char::from(p[1]).to_digit(16)?;
            Some((h * 16 + l) as u8)
        })
        .collect()
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && let (Some(&h), Some(&l)) = (s.get(i + 1), s.get(i + 2))
            && let (Some(h), Some(l)) = (char::from(h).to_digit(16), char::from(l).to_digit(16))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(if s[i] == b'+' { b' ' } else { s[i] });
        i += 1;
    }
    out
}

fn printable(bytes: Vec<u8>) -> Option<String> {
    let s = String::from_utf8(bytes).ok()?;
    let total = s.chars().count();
    if total < 4 {
        return None;
    }
    let good = s
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .count();
    (good * 100 >= total * 95).then_some(s)
}

const B64: u8 = 1;
const PCT: u8 = 2;

/// Byte classes: base64/base64url alphabet (`B64`) and percent-encoded text (`PCT`).
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let x = i as u8;
        let mut c = 0;
        if x.is_ascii_alphanumeric() || matches!(x, b'+' | b'/' | b'-' | b'_' | b'=') {
            c |= B64;
        }
        if x.is_ascii_alphanumeric()
            || matches!(
                x,
                b'%' | b'.' | b'-' | b'_' | b'+' | b'@' | b'~' | b'=' | b'&'
            )
        {
            c |= PCT;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Finds and decodes encoded runs in `text` within `limits`.
pub fn decode_runs(text: &str, limits: &DecodeLimits) -> Vec<DecodedRun> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut total = 0usize;
    let mut i = 0;
    while i < b.len() && out.len() < limits.max_runs && total < limits.max_total {
        if CLASS[usize::from(b[i])] & B64 == 0 && b[i] != b'%' {
            i += 1;
            continue;
        }
        // Percent-encoded run.
        let mut j = i;
        let mut escapes = 0;
        while j < b.len() && CLASS[usize::from(b[j])] & PCT != 0 {
            escapes += usize::from(b[j] == b'%');
            j += 1;
        }
        if escapes >= 2 && j - i >= 6 {
            let dec = percent_decode(&b[i..j]);
            total += dec.len();
            if let Some(s) = printable(dec) {
                out.push(DecodedRun {
                    start: i,
                    end: j,
                    encoding: Encoding::Percent,
                    text: s,
                });
            }
            i = j;
            continue;
        }
        let mut k = i;
        while k < b.len() && CLASS[usize::from(b[k])] & B64 != 0 {
            k += 1;
        }
        let run = &b[i..k];
        if run.len() >= limits.min_run {
            let all_hex = run.iter().all(u8::is_ascii_hexdigit);
            let decoded = if all_hex && run.len().is_multiple_of(2) {
                hex_decode(run).map(|d| (d, Encoding::Hex))
            } else {
                let has_upper = run.iter().any(u8::is_ascii_uppercase);
                let has_lower = run.iter().any(u8::is_ascii_lowercase);
                if has_upper && has_lower {
                    base64_decode(run).map(|d| (d, Encoding::Base64))
                } else {
                    None
                }
            };
            if let Some((d, enc)) = decoded {
                total += d.len();
                if let Some(s) = printable(d) {
                    out.push(DecodedRun {
                        start: i,
                        end: k,
                        encoding: enc,
                        text: s,
                    });
                }
            }
        }
        i = k.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_base64_email() {
        // "contact: alice@example.com"
        let t = "payload Y29udGFjdDogYWxpY2VAZXhhbXBsZS5jb20= end";
        let runs = decode_runs(t, &DecodeLimits::default());
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].text, "contact: alice@example.com");
        assert_eq!(
            &t[runs[0].start..runs[0].end],
            "Y29udGFjdDogYWxpY2VAZXhhbXBsZS5jb20="
        );
    }

    #[test]
    fn hex_and_percent() {
        let t = "x 616c696365406578616d706c652e636f6d y";
        let runs = decode_runs(t, &DecodeLimits::default());
        assert_eq!(runs[0].text, "alice@example.com");
        let t2 = "q=alice%40example%2Ecom&z";
        let runs2 = decode_runs(t2, &DecodeLimits::default());
        assert_eq!(runs2[0].text, "q=alice@example.com&z");
    }

    #[test]
    fn random_key_material_is_not_text() {
        let runs = decode_runs(
            "wJalrXUtnFEMIK7MDENGbPxRfiCYzzzzzzzzzzzz",
            &DecodeLimits::default(),
        );
        assert!(runs.is_empty());
    }
}
