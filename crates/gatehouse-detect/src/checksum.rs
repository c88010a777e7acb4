//! Check digits and structural validators used to confirm pattern matches.
//!
//! Each function takes the candidate text (as matched, separators included where noted) and
//! answers whether it is structurally valid. None of them panics on any input.

/// Digits of `s` (ASCII `0`–`9` only), ignoring every other character.
pub(crate) fn digits(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect()
}

/// Luhn (mod 10) check used by payment cards and Canadian SINs.
pub(crate) fn luhn(d: &[u8]) -> bool {
    if d.len() < 2 {
        return false;
    }
    let mut sum = 0u32;
    for (i, &x) in d.iter().rev().enumerate() {
        let mut v = u32::from(x);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

fn prefix_num(d: &[u8], n: usize) -> u32 {
    d.iter()
        .take(n)
        .fold(0u32, |acc, &x| acc * 10 + u32::from(x))
}

/// Payment card: 13–19 digits, Luhn, and a known issuer prefix with a length it issues.
pub(crate) fn credit_card(s: &str) -> bool {
    let d = digits(s);
    let n = d.len();
    if !(12..=19).contains(&n) || !luhn(&d) {
        return false;
    }
    if d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let p1 = prefix_num(&d, 1);
    let p2 = prefix_num(&d, 2);
    let p3 = prefix_num(&d, 3);
    let p4 = prefix_num(&d, 4);
    let p6 = prefix_num(&d, 6);
    let visa = p1 == 4 && matches!(n, 13 | 16 | 19);
    let mastercard = ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && n == 16;
    let amex = (p2 == 34 || p2 == 37) && n == 15;
    let discover =
        (p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) || (622126..=622925).contains(&p6))
            && (16..=19).contains(&n);
    let jcb = ((3528..=3589).contains(&p4) && (16..=19).contains(&n))
        || ((p4 == 2131 || p4 == 1800) && n == 15);
    let diners = ((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39 || p4 == 3095)
        && (14..=19).contains(&n);
    let unionpay = p2 == 62 && (16..=19).contains(&n);
    let maestro = (p2 == 50 || (56..=69).contains(&p2)) && (12..=19).contains(&n);
    let mir = (2200..=2204).contains(&p4) && (16..=19).contains(&n);
    // Only Maestro issues 12-digit numbers.
    if n == 12 {
        return maestro;
    }
    visa || mastercard || amex || discover || jcb || diners || unionpay || maestro || mir
}

/// IBAN lengths per country (ISO 13616 registry).
fn iban_len(cc: &[u8]) -> Option<usize> {
    let l = match cc {
        b"AD" => 24,
        b"AE" => 23,
        b"AL" => 28,
        b"AT" => 20,
        b"AZ" => 28,
        b"BA" => 20,
        b"BE" => 16,
        b"BG" => 22,
        b"BH" => 22,
        b"BI" => 27,
        b"BR" => 29,
        b"BY" => 28,
        b"CH" => 21,
        b"CR" => 22,
        b"CY" => 28,
        b"CZ" => 24,
        b"DE" => 22,
        b"DJ" => 27,
        b"DK" => 18,
        b"DO" => 28,
        b"EE" => 20,
        b"EG" => 29,
        b"ES" => 24,
        b"FI" => 18,
        b"FK" => 18,
        b"FO" => 18,
        b"FR" => 27,
        b"GB" => 22,
        b"GE" => 22,
        b"GI" => 23,
        b"GL" => 18,
        b"GR" => 27,
        b"GT" => 28,
        b"HR" => 21,
        b"HU" => 28,
        b"IE" => 22,
        b"IL" => 23,
        b"IQ" => 23,
        b"IS" => 26,
        b"IT" => 27,
        b"JO" => 30,
        b"KW" => 30,
        b"KZ" => 20,
        b"LB" => 28,
        b"LC" => 32,
        b"LI" => 21,
        b"LT" => 20,
        b"LU" => 20,
        b"LV" => 21,
        b"LY" => 25,
        b"MC" => 27,
        b"MD" => 24,
        b"ME" => 22,
        b"MK" => 19,
        b"MN" => 20,
        b"MR" => 27,
        b"MT" => 31,
        b"MU" => 30,
        b"NI" => 28,
        b"NL" => 18,
        b"NO" => 15,
        b"OM" => 23,
        b"PK" => 24,
        b"PL" => 28,
        b"PS" => 29,
        b"PT" => 25,
        b"QA" => 29,
        b"RO" => 24,
        b"RS" => 22,
        b"RU" => 33,
        b"SA" => 24,
        b"SC" => 31,
        b"SD" => 18,
        b"SE" => 24,
        b"SI" => 19,
        b"SK" => 24,
        b"SM" => 27,
        b"SO" => 23,
        b"ST" => 25,
        b"SV" => 28,
        b"TL" => 23,
        b"TN" => 24,
        b"TR" => 26,
        b"UA" => 29,
        b"VA" => 22,
        b"VG" => 24,
        b"XK" => 20,
        b"YE" => 30,
        _ => return None,
    };
    Some(l)
}

/// IBAN: validates country length and mod-97 over the alphanumeric characters of `s`.
/// Returns the number of characters of `s` (a prefix, separators included) that form the IBAN,
/// so that a greedy match that swallowed a following word can be trimmed.
pub(crate) fn iban_prefix_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    if bytes.len() < 4 {
        return None;
    }
    let cc = [bytes[0].to_ascii_uppercase(), bytes[1].to_ascii_uppercase()];
    let want = iban_len(&cc)?;
    let mut alnum = Vec::with_capacity(want);
    let mut consumed = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_alphanumeric() {
            alnum.push(b.to_ascii_uppercase());
            if alnum.len() == want {
                consumed = i + 1;
                break;
            }
        } else if b != b' ' && b != b'-' {
            return None;
        }
    }
    if alnum.len() != want || !alnum.get(2..4)?.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Trailing alphanumerics glued to the IBAN (no separator) mean the length is wrong.
    if let Some(next) = bytes.get(consumed)
        && next.is_ascii_alphanumeric()
    {
        return None;
    }
    let mut rem: u32 = 0;
    let rearranged = alnum[4..].iter().chain(alnum[..4].iter());
    for &c in rearranged {
        let v = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    (rem == 1).then_some(consumed)
}

/// US Social Security Number structural rules (SSA: area 000, 666, 9xx never issued; group 00
/// and serial 0000 never issued; a few published sample numbers are void).
pub(crate) fn us_ssn(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 9 {
        return false;
    }
    let area = prefix_num(&d, 3);
    let group = u32::from(d[3]) * 10 + u32::from(d[4]);
    let serial = d[5..].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        return false;
    }
    if d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let n = d.iter().fold(0u64, |a, &x| a * 10 + u64::from(x));
    // Woolworth wallet card and the number used in advertising.
    !matches!(n, 78_051_120 | 219_099_999 | 123_456_789)
}

/// ABA routing transit number checksum (3-7-1 weights).
pub(crate) fn aba_routing(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 9 || d.iter().all(|&x| x == 0) {
        return false;
    }
    let w = [3u32, 7, 1, 3, 7, 1, 3, 7, 1];
    let sum: u32 = d.iter().zip(w).map(|(&x, w)| u32::from(x) * w).sum();
    sum.is_multiple_of(10) && prefix_num(&d, 2) <= 72
}

/// UK NHS number: mod 11 check digit.
pub(crate) fn uk_nhs(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 10 {
        return false;
    }
    let sum: u32 = d[..9]
        .iter()
        .enumerate()
        .map(|(i, &x)| u32::from(x) * (10 - i as u32))
        .sum();
    let check = (11 - sum % 11) % 11;
    check != 10 && check == u32::from(d[9])
}

/// UK National Insurance number prefix rules.
pub(crate) fn uk_nino(s: &str) -> bool {
    let b: Vec<u8> = s
        .bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if b.len() != 9 {
        return false;
    }
    let (p0, p1) = (b[0], b[1]);
    let bad_first = b"DFIQUV";
    let bad_second = b"DFIOQUV";
    if bad_first.contains(&p0) || bad_second.contains(&p1) {
        return false;
    }
    let prefix = [p0, p1];
    !matches!(
        &prefix,
        b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ"
    ) && matches!(b[8], b'A'..=b'D')
}

/// Canadian SIN: 9 digits, Luhn, first digit not 0 or 8.
pub(crate) fn ca_sin(s: &str) -> bool {
    let d = digits(s);
    d.len() == 9 && d[0] != 0 && d[0] != 8 && luhn(&d)
}

const VERHOEFF_D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 8, 7, 6, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// Verhoeff checksum (Aadhaar).
pub(crate) fn verhoeff(d: &[u8]) -> bool {
    let mut c = 0usize;
    for (i, &x) in d.iter().rev().enumerate() {
        let p = VERHOEFF_P[i % 8][usize::from(x % 10)];
        c = usize::from(VERHOEFF_D[c][usize::from(p)]);
    }
    c == 0
}

/// Indian Aadhaar: 12 digits, first digit 2–9, Verhoeff.
pub(crate) fn aadhaar(s: &str) -> bool {
    let d = digits(s);
    d.len() == 12 && d[0] >= 2 && verhoeff(&d) && !d.iter().all(|&x| x == d[0])
}

/// Australian TFN: 8 or 9 digits, weighted mod 11.
pub(crate) fn au_tfn(s: &str) -> bool {
    let d = digits(s);
    let w: &[u32] = match d.len() {
        9 => &[1, 4, 3, 7, 5, 8, 6, 9, 10],
        8 => &[10, 7, 8, 4, 6, 3, 5, 1],
        _ => return false,
    };
    let sum: u32 = d.iter().zip(w).map(|(&x, &w)| u32::from(x) * w).sum();
    sum.is_multiple_of(11) && !d.iter().all(|&x| x == 0)
}

/// Australian ABN: 11 digits, subtract 1 from the first, weighted mod 89.
pub(crate) fn au_abn(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    let w = [10u32, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19];
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, &x)| (u32::from(x) - u32::from(i == 0)) * w[i])
        .sum();
    sum.is_multiple_of(89)
}

/// Australian Medicare card: 10 or 11 digits, first 2–6, weighted check digit at position 9.
pub(crate) fn au_medicare(s: &str) -> bool {
    let d = digits(s);
    if !(d.len() == 10 || d.len() == 11) || !(2..=6).contains(&d[0]) {
        return false;
    }
    let w = [1u32, 3, 7, 9, 1, 3, 7, 9];
    let sum: u32 = d[..8].iter().zip(w).map(|(&x, w)| u32::from(x) * w).sum();
    sum % 10 == u32::from(d[8])
}

/// Spanish NIF (DNI) and NIE control letter.
pub(crate) fn es_nif(s: &str) -> bool {
    let b: Vec<u8> = s
        .bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if b.len() != 9 {
        return false;
    }
    let lead = match b[0] {
        b'X' => Some(0u32),
        b'Y' => Some(1),
        b'Z' => Some(2),
        c if c.is_ascii_digit() => None,
        _ => return false,
    };
    let mut n: u32 = lead.unwrap_or(0);
    let body = if lead.is_some() { &b[1..8] } else { &b[0..8] };
    if lead.is_none() {
        n = 0;
    }
    for &c in body {
        if !c.is_ascii_digit() {
            return false;
        }
        n = n * 10 + u32::from(c - b'0');
    }
    let letters = b"TRWAGMYFPDXBNJZSQVHLCKE";
    letters.get((n % 23) as usize) == Some(&b[8])
}

/// Italian fiscal code (codice fiscale) check character.
pub(crate) fn it_fiscal_code(s: &str) -> bool {
    let b: Vec<u8> = s.bytes().map(|c| c.to_ascii_uppercase()).collect();
    if b.len() != 16 || !b.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let mut sum = 0u32;
    for (i, &c) in b[..15].iter().enumerate() {
        let idx = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A')
        };
        sum += if i % 2 == 0 {
            ODD.get(idx as usize).copied().unwrap_or(0)
        } else {
            idx
        };
    }
    u32::from(b[15]) == u32::from(b'A') + sum % 26
}

/// Singapore NRIC/FIN check letter.
pub(crate) fn sg_nric(s: &str) -> bool {
    let b: Vec<u8> = s.bytes().map(|c| c.to_ascii_uppercase()).collect();
    if b.len() != 9 || !b[1..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let w = [2u32, 7, 6, 5, 4, 3, 2];
    let mut sum: u32 = b[1..8]
        .iter()
        .zip(w)
        .map(|(&c, w)| u32::from(c - b'0') * w)
        .sum();
    let table: &[u8; 11] = match b[0] {
        b'S' => b"JZIHGFEDCBA",
        b'T' => {
            sum += 4;
            b"JZIHGFEDCBA"
        }
        b'F' => b"XWUTRQPNMLK",
        b'G' => {
            sum += 4;
            b"XWUTRQPNMLK"
        }
        b'M' => {
            sum += 3;
            b"KLJNPQRTUWX"
        }
        _ => return false,
    };
    table.get((sum % 11) as usize) == Some(&b[8])
}

/// German tax identification number (Steuer-IdNr): ISO 7064 MOD 11,10 and digit-frequency rule.
pub(crate) fn de_tax_id(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        counts[usize::from(x)] += 1;
    }
    let repeated = counts.iter().filter(|&&c| c > 1).count();
    if repeated != 1 || counts.iter().any(|&c| c > 3) {
        return false;
    }
    let mut product = 10u32;
    for &x in &d[..10] {
        let mut sum = (u32::from(x) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = (11 - product) % 10;
    check == u32::from(d[10])
}

/// CRC-32 (IEEE 802.3, reflected), used by GitHub's new token format.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

const B62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// GitHub token checksum: the last 6 base62 characters encode the CRC32 of the 30-character
/// random part. `token` is the whole token including its `ghp_`-style prefix.
pub(crate) fn github_token_checksum(token: &str) -> bool {
    let Some((_, body)) = token.split_once('_') else {
        return false;
    };
    if body.len() != 36 || !body.is_ascii() {
        return false;
    }
    let (random, check) = body.split_at(30);
    let mut v = crc32(random.as_bytes());
    let mut enc = [b'0'; 6];
    for slot in enc.iter_mut().rev() {
        *slot = B62[(v % 62) as usize];
        v /= 62;
    }
    enc == check.as_bytes()
}

/// EIP-55 checksum of an Ethereum address (`0x` + 40 hex digits): `Some(true)` when the
/// mixed-case spelling matches Keccak-256 of the lower-case hex, `Some(false)` when it does not,
/// `None` when the address is all lower or all upper case (it carries no checksum).
pub(crate) fn eip55(addr: &str) -> Option<bool> {
    use sha3::{Digest, Keccak256};
    let hex = addr
        .strip_prefix("0x")
        .or_else(|| addr.strip_prefix("0X"))?;
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(false);
    }
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    if !(has_lower && has_upper) {
        return None;
    }
    let lower = hex.to_ascii_lowercase();
    let hash = Keccak256::digest(lower.as_bytes());
    let ok = hex.bytes().enumerate().all(|(i, b)| {
        let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
        !b.is_ascii_alphabetic() || b.is_ascii_uppercase() == (nibble >= 8)
    });
    Some(ok)
}

/// Shannon entropy in bits per character.
pub(crate) fn shannon_entropy(s: &str) -> f32 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let nf = n as f32;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / nf;
            -p * p.log2()
        })
        .sum()
}

const B58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Base58Check (Bitcoin legacy addresses): decodes and verifies the double-SHA-256 checksum.
pub(crate) fn base58check(s: &str) -> bool {
    use sha2::{Digest, Sha256};
    if s.len() > 64 {
        return false;
    }
    let mut bytes: Vec<u8> = Vec::with_capacity(32);
    for c in s.bytes() {
        let Some(v) = B58.iter().position(|&x| x == c) else {
            return false;
        };
        let mut carry = v as u32;
        for b in bytes.iter_mut().rev() {
            carry += u32::from(*b) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|&c| c == b'1').count();
    let mut full = vec![0u8; zeros];
    full.extend_from_slice(&bytes);
    if full.len() < 5 {
        return false;
    }
    let (payload, check) = full.split_at(full.len() - 4);
    let h1 = Sha256::digest(payload);
    let h2 = Sha256::digest(h1);
    h2.get(..4) == Some(check)
}

/// Bech32 / Bech32m checksum (SegWit addresses).
pub(crate) fn bech32(s: &str) -> bool {
    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let lower = s.to_ascii_lowercase();
    let Some(pos) = lower.rfind('1') else {
        return false;
    };
    let (hrp, data) = lower.split_at(pos);
    let data = &data[1..];
    if hrp.is_empty() || data.len() < 6 || lower.len() > 90 {
        return false;
    }
    let mut values = Vec::with_capacity(hrp.len() * 2 + 1 + data.len());
    for b in hrp.bytes() {
        values.push(u32::from(b >> 5));
    }
    values.push(0);
    for b in hrp.bytes() {
        values.push(u32::from(b & 31));
    }
    for c in data.bytes() {
        let Some(v) = CHARSET.iter().position(|&x| x == c) else {
            return false;
        };
        values.push(v as u32);
    }
    let gen_ = [
        0x3b6a_57b2u32,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk = 1u32;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x1ff_ffff) << 5) ^ v;
        for (i, g) in gen_.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk == 1 || chk == 0x2bc8_30a3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_cards() {
        assert!(credit_card("4111 1111 1111 1111"));
        assert!(credit_card("5500-0000-0000-0004"));
        assert!(credit_card("378282246310005"));
        assert!(!credit_card("4111 1111 1111 1112"));
        assert!(!credit_card("1234 5678 9012 3452"));
    }

    #[test]
    fn iban() {
        assert_eq!(iban_prefix_len("GB82WEST12345698765432"), Some(22));
        assert_eq!(iban_prefix_len("DE89 3704 0044 0532 0130 00"), Some(27));
        assert_eq!(iban_prefix_len("DE89 3704 0044 0532 0130 01"), None);
        assert_eq!(iban_prefix_len("DE89 3704 0044 0532 0130 00 TO"), Some(27));
        assert_eq!(iban_prefix_len("XX89370400440532013000"), None);
        assert_eq!(iban_prefix_len("gb82west12345698765432"), Some(22));
    }

    #[test]
    fn ssn_rules() {
        assert!(us_ssn("536-22-8726"));
        assert!(!us_ssn("000-22-8726"));
        assert!(!us_ssn("666-22-8726"));
        assert!(!us_ssn("936-22-8726"));
        assert!(!us_ssn("536-00-8726"));
        assert!(!us_ssn("536-22-0000"));
        assert!(!us_ssn("078-05-1120"));
    }

    #[test]
    fn national_ids() {
        assert!(aba_routing("011000015"));
        assert!(!aba_routing("011000016"));
        assert!(uk_nhs("943 476 5919"));
        assert!(!uk_nhs("943 476 5918"));
        assert!(uk_nino("AB123456C"));
        assert!(!uk_nino("QQ123456C"));
        assert!(ca_sin("130 692 544"));
        assert!(!ca_sin("130 692 545"));
        assert!(aadhaar("2341 2341 2346"));
        assert!(!aadhaar("2341 2341 2347"));
        assert!(au_tfn("123 456 782"));
        assert!(!au_tfn("123 456 783"));
        assert!(au_abn("51 824 753 556"));
        assert!(!au_abn("51 824 753 557"));
        assert!(au_medicare("2123 45670 1"));
        assert!(es_nif("12345678Z"));
        assert!(!es_nif("12345678A"));
        assert!(es_nif("X1234567L"));
        assert!(it_fiscal_code("RSSMRA85T10A562S"));
        assert!(!it_fiscal_code("RSSMRA85T10A562T"));
        assert!(sg_nric("S1234567D"));
        assert!(!sg_nric("S1234567A"));
        assert!(de_tax_id("86095742719"));
        assert!(!de_tax_id("86095742718"));
    }

    #[test]
    fn crc_and_github() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        // Build a token with a correct checksum from its own random part.
        let random = "abcdefghijklmnopqrstuvwxyz0123";
        let mut v = crc32(random.as_bytes());
        let mut enc = [b'0'; 6];
        for slot in enc.iter_mut().rev() {
            *slot = B62[(v % 62) as usize];
            v /= 62;
        }
        let tok = format!("ghp_{random}{}", std::str::from_utf8(&enc).unwrap());
        assert!(github_token_checksum(&tok));
        assert!(!github_token_checksum(&tok.replace('a', "b")));
    }

    #[test]
    fn wallets() {
        assert!(base58check("1BoatSLRHtKNngkdXEeobR76b53LETtpyT"));
        assert!(!base58check("1BoatSLRHtKNngkdXEeobR76b53LETtpyU"));
        assert!(bech32("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"));
        assert!(!bech32("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr"));
    }

    #[test]
    fn entropy() {
        assert!(shannon_entropy("aaaaaaaa") < 0.01);
        assert!(shannon_entropy("abcdefgh") > 2.9);
    }

    #[test]
    fn eip55_checksums() {
        // Test vectors from the EIP-55 specification.
        for a in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            assert_eq!(eip55(a), Some(true), "{a}");
            // One letter with its case flipped breaks the checksum.
            let flipped: String = a
                .char_indices()
                .map(|(i, c)| {
                    if i == a
                        .rfind(|c: char| c.is_ascii_alphabetic() && c != 'x')
                        .unwrap_or(0)
                    {
                        if c.is_ascii_uppercase() {
                            c.to_ascii_lowercase()
                        } else {
                            c.to_ascii_uppercase()
                        }
                    } else {
                        c
                    }
                })
                .collect();
            assert_eq!(eip55(&flipped), Some(false), "{flipped}");
            // One case only: no checksum.
            assert_eq!(eip55(&format!("0x{}", a[2..].to_ascii_lowercase())), None);
            assert_eq!(eip55(&format!("0x{}", a[2..].to_ascii_uppercase())), None);
        }
    }
}
