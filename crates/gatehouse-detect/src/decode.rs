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
/// Both bits: bytes of both alphabets.
const BOTH: u8 = B64 | PCT;

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
    if limits.min_run >= 2 && !contains_byte(b, b'%') {
        return base64_runs(b, limits);
    }
    let mut out = Vec::new();
    let mut total = 0usize;
    let mut i = 0;
    while i < b.len() && out.len() < limits.max_runs && total < limits.max_total {
        if CLASS[usize::from(b[i])] & B64 == 0 && b[i] != b'%' {
            i += 1;
            continue;
        }
        // Fast path: a run of bytes in both alphabets (letters, digits, `-_+=`) that ends at a
        // byte in neither (a space, most punctuation) is the percent run and the base64 run at
        // once, with no escapes. Most words of prose end here.
        let mut e = i;
        while b
            .get(e)
            .is_some_and(|&x| CLASS[usize::from(x)] & BOTH == BOTH)
        {
            e += 1;
        }
        if b.get(e)
            .is_none_or(|&x| CLASS[usize::from(x)] & (B64 | PCT) == 0)
        {
            if e - i >= limits.min_run {
                let (d, t) = b64_or_hex(b, i, e);
                total += d;
                if let Some((s, enc, start)) = t {
                    out.push(DecodedRun {
                        start,
                        end: e,
                        encoding: enc,
                        text: s,
                    });
                }
            }
            i = e.max(i + 1);
            continue;
        }
        // One pass finds both the percent-encoded run (`i..j`) and the base64/hex run (`i..k`):
        // the two alphabets share the alphanumerics, so `k` is where the first byte outside
        // the base64 alphabet occurs in `i..j`, or, when there is none, where the base64 run
        // continues past `j` (only `/` is in the base64 alphabet and not in the other).
        let mut j = i;
        let mut escapes = 0;
        let mut b64_end = None;
        while let Some(&x) = b.get(j) {
            let c = CLASS[usize::from(x)];
            if c & PCT == 0 {
                break;
            }
            if c & B64 == 0 {
                if x == b'%' {
                    escapes += 1;
                }
                if b64_end.is_none() {
                    b64_end = Some(j);
                }
            }
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
        let k = match b64_end {
            Some(k) => k,
            None => {
                let mut k = j;
                while b.get(k).is_some_and(|&x| CLASS[usize::from(x)] & B64 != 0) {
                    k += 1;
                }
                k
            }
        };
        let Some(run) = b.get(i..k) else {
            break;
        };
        if run.len() >= limits.min_run {
            let (d, t) = b64_or_hex(b, i, k);
            total += d;
            if let Some((s, enc, start)) = t {
                out.push(DecodedRun {
                    start,
                    end: k,
                    encoding: enc,
                    text: s,
                });
            }
        }
        i = k.max(i + 1);
    }
    out
}

/// Whether `b` contains `x` (whole chunks compared without an early exit, which vectorises).
fn contains_byte(b: &[u8], x: u8) -> bool {
    let mut chunks = b.chunks_exact(64);
    for c in &mut chunks {
        if c.iter().fold(false, |acc, &y| acc | (y == x)) {
            return true;
        }
    }
    chunks.remainder().contains(&x)
}

/// [`decode_runs`] for a text without `%`: no percent-encoded run can start, so the runs the
/// byte-by-byte scan decodes are exactly the maximal runs of base64 bytes of at least
/// `limits.min_run` bytes, in order. Every such run contains a position that is a multiple of
/// `min_run` (minus one), so only those positions are probed and a run is measured only where a
/// probe lands on a base64 byte.
fn base64_runs(b: &[u8], limits: &DecodeLimits) -> Vec<DecodedRun> {
    let is_b64 = |p: usize| b.get(p).is_some_and(|&x| CLASS[usize::from(x)] & B64 != 0);
    let step = limits.min_run.max(1);
    let mut out = Vec::new();
    let mut total = 0usize;
    // Bytes before `done` belong to runs already measured.
    let mut done = 0usize;
    let mut p = step - 1;
    while p < b.len() && out.len() < limits.max_runs && total < limits.max_total {
        if !is_b64(p) {
            p += step;
            continue;
        }
        let mut s = p;
        while s > done && is_b64(s - 1) {
            s -= 1;
        }
        let mut e = p + 1;
        while is_b64(e) {
            e += 1;
        }
        if e - s >= limits.min_run {
            let (d, t) = b64_or_hex(b, s, e);
            total += d;
            if let Some((text, enc, start)) = t {
                out.push(DecodedRun {
                    start,
                    end: e,
                    encoding: enc,
                    text,
                });
            }
        }
        done = e;
        // The first probe of the grid `k * step - 1` after `e` (not a base64 byte itself).
        p = ((e + 1) / step + 1) * step - 1;
    }
    out
}

/// Decodes the base64/hex candidate `b[i..k]`: the number of decoded bytes (counted against
/// the limit) and the text when it is printable.
fn b64_or_hex(b: &[u8], i: usize, k: usize) -> (usize, Option<(String, Encoding, usize)>) {
    // `name=value` (`token=ZXlK…`): an `=` inside the run, not padding, ends a name; the value
    // after it is the encoded part.
    let mut i = i;
    let mut p = k;
    while p > i && b.get(p - 1) == Some(&b'=') {
        p -= 1;
    }
    if let Some(eq) = b.get(i..p).and_then(|r| r.iter().rposition(|&x| x == b'=')) {
        i += eq + 1;
    }
    let run = b.get(i..k).unwrap_or(&[]);
    if run.len() < 8 {
        return (0, None);
    }
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
    match decoded {
        Some((d, enc)) => (d.len(), printable(d).map(|s| (s, enc, i))),
        None => (0, None),
    }
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

    /// The run finder before the single-pass rewrite: a percent run and a base64 run scanned
    /// separately from each start.
    fn reference_runs(text: &str, limits: &DecodeLimits) -> Vec<(usize, usize, Encoding, String)> {
        let b = text.as_bytes();
        let mut out = Vec::new();
        let mut total = 0usize;
        let mut i = 0;
        while i < b.len() && out.len() < limits.max_runs && total < limits.max_total {
            if CLASS[usize::from(b[i])] & B64 == 0 && b[i] != b'%' {
                i += 1;
                continue;
            }
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
                    out.push((i, j, Encoding::Percent, s));
                }
                i = j;
                continue;
            }
            let mut k = i;
            while k < b.len() && CLASS[usize::from(b[k])] & B64 != 0 {
                k += 1;
            }
            if k - i >= limits.min_run {
                // Decoding itself (incl. the `name=value` split) is shared; this reference is
                // about finding the runs.
                let (d, t) = b64_or_hex(b, i, k);
                total += d;
                if let Some((s, enc, start)) = t {
                    out.push((start, k, enc, s));
                }
            }
            i = k.max(i + 1);
        }
        out
    }

    fn runs_of(text: &str, limits: &DecodeLimits) -> Vec<(usize, usize, Encoding, String)> {
        decode_runs(text, limits)
            .into_iter()
            .map(|r| (r.start, r.end, r.encoding, r.text))
            .collect()
    }

    proptest::proptest! {
        /// The single-pass run finder decodes exactly the runs the two-pass one did, on text
        /// built from the bytes where the two alphabets differ.
        #[test]
        fn single_pass_equals_reference(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("%41".to_owned()),
                    proptest::strategy::Just("%4".to_owned()),
                    proptest::strategy::Just("/".to_owned()),
                    proptest::strategy::Just(".".to_owned()),
                    proptest::strategy::Just("@".to_owned()),
                    proptest::strategy::Just("=".to_owned()),
                    proptest::strategy::Just(" ".to_owned()),
                    proptest::strategy::Just("é".to_owned()),
                    // Payloads that decode to text: base64, unpadded base64 and hex.
                    proptest::strategy::Just("Y29udGFjdDogYWxpY2VAZXhhbXBsZS5jb20=".to_owned()),
                    proptest::strategy::Just("aGVsbG8gd29ybGQgYWdhaW4".to_owned()),
                    proptest::strategy::Just("616c696365406578616d706c652e636f6d".to_owned()),
                    "[A-Za-z0-9+_~&-]{1,24}",
                    "[0-9a-f]{2,40}",
                ],
                0..24,
            ),
            min_run in 1usize..20,
            max_runs in 1usize..4,
            max_total in 8usize..200,
        ) {
            let text: String = parts.concat();
            let limits = DecodeLimits { min_run, max_runs, max_total };
            proptest::prop_assert_eq!(runs_of(&text, &limits), reference_runs(&text, &limits));
        }
    }

    #[test]
    fn single_pass_equals_reference_on_encoded_payloads() {
        for t in [
            "payload Y29udGFjdDogYWxpY2VAZXhhbXBsZS5jb20= end",
            "x 616c696365406578616d706c652e636f6d y q=alice%40example%2Ecom&z",
            "a/b%40c%41dZm9vYmFyYmF6cXV4Zm9vYmFy/Zm9vYmFyYmF6cXV4Zm9vYmFy.%2F%2F",
            "%%%%%%%% ////////////////// ................",
            "no percent here: Y29udGFjdDogYWxpY2VAZXhhbXBsZS5jb20= and aGVsbG8gd29ybGQgYWdhaW4/x \
             616c696365406578616d706c652e636f6d,aGVsbG8gd29ybGQgYWdhaW4",
        ] {
            let l = DecodeLimits::default();
            assert_eq!(runs_of(t, &l), reference_runs(t, &l), "{t}");
        }
    }

    /// `name=value`: the value after the last `=` inside a run is what is decoded.
    #[test]
    fn assignment_inside_a_run() {
        let t = "token=Y29udGFjdDogYWxpY2VAZXhhbXBsZS5jb20= end";
        let runs = decode_runs(t, &DecodeLimits::default());
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].text, "contact: alice@example.com");
        assert_eq!(
            &t[runs[0].start..runs[0].end],
            "Y29udGFjdDogYWxpY2VAZXhhbXBsZS5jb20="
        );
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
