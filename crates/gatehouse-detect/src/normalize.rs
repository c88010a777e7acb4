//! The normaliser: turns untrusted text into the form detectors match on, and remembers where
//! every normalised byte came from.
//!
//! Steps, per Unicode scalar of the original:
//!
//! 1. **Invisible and format characters** (zero-width space/joiners, word joiner, BOM, soft hyphen,
//!    bidi embeddings/overrides/isolates, variation selectors, Unicode *tag* characters
//!    U+E0000–U+E007F used for "ASCII smuggling") are dropped for matching and reported as
//!    [`Obfuscation`] runs. Tag characters are also decoded back to the ASCII they hide, so a
//!    payload smuggled in tags is scanned like any other decoded run.
//! 2. **Confusable folding**: common Cyrillic/Greek/fullwidth homoglyphs of Latin letters are folded
//!    to ASCII (a small TR39-style skeleton table; a word that mixes scripts is reported).
//! 3. **NFKC** compatibility normalisation of each remaining scalar (fullwidth digits, ligatures,
//!    mathematical alphanumerics, …). Composition across scalars is not performed: a base letter
//!    followed by a combining mark stays two scalars, which is harmless for the ASCII-shaped
//!    patterns detectors use.
//!
//! The result keeps, for every byte of the normalised text, the byte offset in the original of
//! the scalar that produced it ([`Normalized::orig_start`]), so any span found in the normalised
//! text maps back to a span of the original that covers it. ASCII text without control
//! characters takes a fast path that borrows the input and uses the identity map.

use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;

/// Kinds of obfuscation the normaliser reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObfuscationKind {
    /// Zero-width and other invisible formatting characters.
    InvisibleChars,
    /// Bidirectional control characters (Trojan Source, CVE-2021-42574).
    BidiControl,
    /// Unicode tag characters hiding ASCII ("ASCII smuggling").
    UnicodeTags,
    /// A word mixing Latin letters with look-alike letters of another script.
    Homoglyph,
}

impl ObfuscationKind {
    /// The finding `type` reported for this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ObfuscationKind::InvisibleChars => "invisible_chars",
            ObfuscationKind::BidiControl => "bidi_control",
            ObfuscationKind::UnicodeTags => "unicode_tags",
            ObfuscationKind::Homoglyph => "homoglyph",
        }
    }
}

/// One obfuscation run, in byte offsets of the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obfuscation {
    /// What was found.
    pub kind: ObfuscationKind,
    /// Start byte in the original text.
    pub start: usize,
    /// End byte (exclusive) in the original text.
    pub end: usize,
}

/// Normalised text plus its map back to the original.
#[derive(Debug)]
pub struct Normalized<'a> {
    /// The text detectors match on.
    pub text: Cow<'a, str>,
    /// For each byte of `text`, the original byte offset of the scalar that produced it; empty
    /// when the map is the identity.
    orig_start: Vec<u32>,
    /// Obfuscation runs found while normalising.
    pub obfuscations: Vec<Obfuscation>,
    /// ASCII hidden in Unicode tag characters, with the original span of the tag run.
    pub tag_payloads: Vec<(String, usize, usize)>,
}

impl Normalized<'_> {
    /// Maps a normalised byte range to the original byte range that produced it.
    pub fn to_original(&self, original: &str, start: usize, end: usize) -> (usize, usize) {
        if self.orig_start.is_empty() {
            return (start.min(original.len()), end.min(original.len()));
        }
        let s = self
            .orig_start
            .get(start)
            .map_or(original.len(), |&v| v as usize);
        let e = if end == 0 {
            s
        } else {
            let last = self
                .orig_start
                .get(end - 1)
                .map_or(original.len(), |&v| v as usize);
            let w = original
                .get(last..)
                .and_then(|r| r.chars().next())
                .map_or(0, char::len_utf8);
            last + w
        };
        (s, e.max(s))
    }

    /// Whether the normalised text is the original text unchanged.
    pub fn is_identity(&self) -> bool {
        self.orig_start.is_empty()
    }
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

fn is_tag(c: char) -> bool {
    ('\u{E0000}'..='\u{E007F}').contains(&c)
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{206A}'..='\u{206F}' | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0100}'..='\u{E01EF}')
}

/// Folds a common homoglyph of a Latin letter or digit to ASCII. Returns `None` when `c` is not
/// in the table.
pub(crate) fn fold_confusable(c: char) -> Option<char> {
    let r = match c {
        // Cyrillic lower case
        'а' => 'a',
        'в' => 'b',
        'е' => 'e',
        'һ' => 'h',
        'і' => 'i',
        'ј' => 'j',
        'к' => 'k',
        'м' => 'm',
        'н' => 'h',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'т' => 't',
        'у' => 'y',
        'х' => 'x',
        'ѕ' => 's',
        'ԁ' => 'd',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'ү' => 'y',
        'ӏ' => 'l',
        // Cyrillic upper case
        'А' => 'A',
        'В' => 'B',
        'Е' => 'E',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'Х' => 'X',
        'У' => 'Y',
        'І' => 'I',
        'Ј' => 'J',
        'Ѕ' => 'S',
        'Ԁ' => 'D',
        'Ԛ' => 'Q',
        'Ԝ' => 'W',
        'Ү' => 'Y',
        'Ӏ' => 'I',
        // Greek
        'Α' => 'A',
        'Β' => 'B',
        'Ε' => 'E',
        'Ζ' => 'Z',
        'Η' => 'H',
        'Ι' => 'I',
        'Κ' => 'K',
        'Μ' => 'M',
        'Ν' => 'N',
        'Ο' => 'O',
        'Ρ' => 'P',
        'Τ' => 'T',
        'Υ' => 'Y',
        'Χ' => 'X',
        'α' => 'a',
        'ο' => 'o',
        'ρ' => 'p',
        'ν' => 'v',
        'ι' => 'i',
        'κ' => 'k',
        'τ' => 't',
        'υ' => 'u',
        'χ' => 'x',
        'ϲ' => 'c',
        'ϳ' => 'j',
        // Latin look-alikes and others
        'ı' => 'i',
        'ɑ' => 'a',
        'ɡ' => 'g',
        'ℓ' => 'l',
        '׀' => 'l',
        'ǀ' => 'l',
        'Ꭵ' => 'i',
        _ => return None,
    };
    Some(r)
}

fn needs_slow_path(text: &str) -> bool {
    let special = |b: u8| b >= 0x80 || (b < 0x20 && b != b'\n' && b != b'\r' && b != b'\t');
    // Whole chunks are folded without an early exit, which the compiler vectorises; `any` on
    // every byte costs several instructions per byte of ordinary ASCII text.
    let mut chunks = text.as_bytes().chunks_exact(64);
    for c in &mut chunks {
        if c.iter().fold(false, |acc, &b| acc | special(b)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| special(b))
}

/// Normalises `text` (see the module docs).
pub fn normalize(text: &str) -> Normalized<'_> {
    if !needs_slow_path(text) {
        return Normalized {
            text: Cow::Borrowed(text),
            orig_start: Vec::new(),
            obfuscations: Vec::new(),
            tag_payloads: Vec::new(),
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut map: Vec<u32> = Vec::with_capacity(text.len());
    let mut obf: Vec<Obfuscation> = Vec::new();
    let mut tags: Vec<(String, usize, usize)> = Vec::new();
    // Homoglyph tracking within the current word.
    let mut word_start_out = 0usize;
    let mut word_has_ascii_letter = false;
    let mut word_folds: Option<(usize, usize)> = None;

    let push = |out: &mut String, map: &mut Vec<u32>, c: char, at: usize| {
        out.push(c);
        for _ in 0..c.len_utf8() {
            map.push(at as u32);
        }
    };
    let add_obf = |obf: &mut Vec<Obfuscation>, kind: ObfuscationKind, s: usize, e: usize| {
        if let Some(last) = obf.last_mut()
            && last.kind == kind
            && last.end == s
        {
            last.end = e;
            return;
        }
        obf.push(Obfuscation {
            kind,
            start: s,
            end: e,
        });
    };

    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        if is_tag(c) {
            add_obf(&mut obf, ObfuscationKind::UnicodeTags, i, end);
            let ascii = (c as u32 - 0xE0000) as u8;
            match tags.last_mut() {
                Some((s, _, e)) if *e == i => {
                    if ascii.is_ascii_graphic() || ascii == b' ' {
                        s.push(char::from(ascii));
                    }
                    *e = end;
                }
                _ => {
                    let mut s = String::new();
                    if ascii.is_ascii_graphic() || ascii == b' ' {
                        s.push(char::from(ascii));
                    }
                    tags.push((s, i, end));
                }
            }
            continue;
        }
        if is_bidi(c) {
            add_obf(&mut obf, ObfuscationKind::BidiControl, i, end);
            continue;
        }
        if is_invisible(c) {
            add_obf(&mut obf, ObfuscationKind::InvisibleChars, i, end);
            continue;
        }
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                word_has_ascii_letter |= c.is_ascii_alphabetic();
            } else {
                if word_has_ascii_letter && let Some((s, e)) = word_folds {
                    let _ = word_start_out;
                    add_obf(&mut obf, ObfuscationKind::Homoglyph, s, e);
                }
                word_has_ascii_letter = false;
                word_folds = None;
                word_start_out = out.len() + 1;
            }
            push(&mut out, &mut map, c, i);
            continue;
        }
        if let Some(f) = fold_confusable(c) {
            word_folds = Some(word_folds.map_or((i, end), |(s, _)| (s, end)));
            push(&mut out, &mut map, f, i);
            continue;
        }
        if c.is_alphanumeric() {
            // A genuine letter of another script: the word is not a Latin look-alike.
            word_has_ascii_letter = false;
            word_folds = None;
        }
        for n in std::iter::once(c).nfkc() {
            let n = fold_confusable(n).unwrap_or(n);
            push(&mut out, &mut map, n, i);
        }
    }
    if word_has_ascii_letter && let Some((s, e)) = word_folds {
        add_obf(&mut obf, ObfuscationKind::Homoglyph, s, e);
    }
    Normalized {
        text: Cow::Owned(out),
        orig_start: map,
        obfuscations: obf,
        tag_payloads: tags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_fast_path_is_identity() {
        let n = normalize("hello world");
        assert!(n.is_identity());
        assert_eq!(n.text, "hello world");
    }

    #[test]
    fn zero_width_removed_and_mapped() {
        let s = "jo\u{200B}hn@exa\u{200D}mple.com";
        let n = normalize(s);
        assert_eq!(n.text, "john@example.com");
        assert_eq!(n.obfuscations.len(), 2);
        let (a, b) = n.to_original(s, 0, n.text.len());
        assert_eq!((a, b), (0, s.len()));
    }

    #[test]
    fn fullwidth_and_homoglyphs() {
        let s = "ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ";
        let n = normalize(s);
        assert_eq!(n.text, "john@example.com");
        let s2 = "pаypal"; // Cyrillic а
        let n2 = normalize(s2);
        assert_eq!(n2.text, "paypal");
        assert_eq!(n2.obfuscations[0].kind, ObfuscationKind::Homoglyph);
        // A whole Cyrillic word is not reported.
        let n3 = normalize("привет мир");
        assert!(n3.obfuscations.is_empty());
    }

    #[test]
    fn tags_decoded() {
        let hidden: String = "hi"
            .chars()
            .map(|c| char::from_u32(0xE0000 + c as u32).unwrap())
            .collect();
        let s = format!("ok{hidden}!");
        let n = normalize(&s);
        assert_eq!(n.text, "ok!");
        assert_eq!(n.tag_payloads[0].0, "hi");
        assert_eq!(n.obfuscations[0].kind, ObfuscationKind::UnicodeTags);
    }
}
