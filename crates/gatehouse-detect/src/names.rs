//! Model-free PERSON recognizer: capitalised-word runs scored with embedded name lists and
//! context (honorifics, "my name is", greetings, sign-offs).
//!
//! It is a fallback for when no named-entity model is configured: it catches common names of
//! many languages, and multi-word names with one known given or family name, but not rare
//! single names without context.

use crate::names_data::{FIRST_NAMES, NOT_NAMES, SURNAMES};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

/// FNV-1a: the keys are short, trusted (compiled-in) words; SipHash's DoS resistance buys
/// nothing for a lookup-only set and costs most of the recognizer's time.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type WordSet = HashSet<&'static str, BuildHasherDefault<Fnv>>;
use unicode_normalization::UnicodeNormalization;

struct Lists {
    first: WordSet,
    sur: WordSet,
    stop: WordSet,
}

fn lists() -> &'static Lists {
    static L: OnceLock<Lists> = OnceLock::new();
    L.get_or_init(|| Lists {
        first: FIRST_NAMES.iter().copied().collect(),
        sur: SURNAMES.iter().copied().collect(),
        stop: NOT_NAMES.iter().copied().collect(),
    })
}

/// Given names that are also common English words: not names when alone.
const AMBIGUOUS: &[&str] = &[
    "will", "mark", "grace", "rose", "may", "june", "bill", "frank", "joy", "hope", "faith",
    "long", "young", "white", "green", "black", "brown", "king", "bell", "hill", "wood", "rice",
    "price", "cook", "ward", "hunt", "stone", "west", "gray", "park", "lane", "ray", "max", "jack",
    "sun", "ma", "li", "he", "do", "le", "ho", "ng", "lim", "art", "guy", "sandy", "penny",
    "amber", "summer", "august", "eve", "sky", "jordan", "paris", "victoria", "florence",
    "georgia", "virginia", "chase", "miles", "wells", "walker", "hunter", "cole", "fox", "ford",
    "grant", "carter", "mason", "cooper", "turner", "baker", "parker", "marshall", "hall", "ali",
    "han", "jung", "shin", "long", "hu", "xu", "wu", "yu", "min", "jun", "lei", "yan", "an", "anh",
    "tan", "das", "shah", "rao", "bruno", "dean", "drew", "ivy", "iris", "lily", "ruby", "pearl",
    "daisy", "crystal", "dawn",
];

/// Lower-cased, ASCII-folded lookup key of `word`, written into `out` (reused buffer).
fn fold_into(word: &str, out: &mut String) {
    out.clear();
    if word.is_ascii() {
        out.extend(
            word.bytes()
                .filter(|&b| b != b'\'')
                .map(|b| char::from(b.to_ascii_lowercase())),
        );
        return;
    }
    out.extend(
        word.nfd()
            .filter(|c| c.is_alphabetic() || *c == '\'' || *c == '-')
            .flat_map(char::to_lowercase)
            .filter(char::is_ascii)
            .filter(|c| *c != '\''),
    );
}

#[derive(Debug, Clone)]
struct Token {
    start: usize,
    end: usize,
    cap: bool,
    initial: bool,
}

/// Capitalised words of `text` (lowercase words are skipped without decoding: a lowercase word
/// between two capitalised ones breaks a run anyway, which the gap check sees).
fn tokens(text: &str) -> Vec<Token> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let is_word_byte = |x: u8| x.is_ascii_alphabetic() || x >= 0x80;
    while i < b.len() {
        let c = b[i];
        if !is_word_byte(c) {
            i += 1;
            continue;
        }
        // Start of a word: find its end (letters, non-ASCII, inner ' or - before a letter).
        let start = i;
        let mut end = i;
        while end < b.len() {
            let x = b[end];
            let inner_joiner =
                (x == b'\'' || x == b'-') && b.get(end + 1).is_some_and(|&y| is_word_byte(y));
            if !(is_word_byte(x) || inner_joiner) {
                break;
            }
            end += 1;
        }
        i = end.max(start + 1);
        let upper_ascii = c.is_ascii_uppercase();
        if !(upper_ascii || c >= 0x80) {
            continue;
        }
        let (Some(word), true) = (text.get(start..end), text.is_char_boundary(start)) else {
            continue;
        };
        // Non-ASCII first letters and punctuation-like non-ASCII are checked on chars.
        let Some(first) = word.chars().next() else {
            continue;
        };
        if !first.is_uppercase() {
            continue;
        }
        let mut n = 0usize;
        let mut all_upper = true;
        let mut end_trim = word.len();
        for (j, ch) in word.char_indices() {
            if !(ch.is_alphabetic() || ch == '\'' || ch == '-') {
                end_trim = j;
                break;
            }
            n += 1;
            all_upper &= !ch.is_lowercase();
        }
        if end_trim == 0 {
            continue;
        }
        let initial = n == 1;
        let cap = !all_upper || n == 1;
        out.push(Token {
            start,
            end: start + end_trim,
            cap,
            initial,
        });
    }
    out
}

fn gap_ok(text: &str, a: &Token, b: &Token) -> bool {
    let Some(gap) = text.get(a.end..b.start) else {
        return false;
    };
    match gap {
        " " => true,
        ". " | "." => a.initial,
        _ => false,
    }
}

fn sentence_start(text: &str, pos: usize) -> bool {
    let before = text
        .get(..pos)
        .unwrap_or("")
        .trim_end_matches([' ', '"', '\'', '(', '*', '-']);
    before.is_empty() || before.ends_with(['.', '!', '?', '\n', ':', ';', '>'])
}

fn preceding_trigger(text: &str, pos: usize) -> bool {
    let before = text.get(..pos).unwrap_or("");
    // The last 24 bytes (widened to a char boundary), lower-cased on the stack.
    let mut s = before.len().saturating_sub(24);
    while s > 0 && !before.is_char_boundary(s) {
        s -= 1;
    }
    let mut buf = [0u8; 32];
    let src = &before.as_bytes()[s..];
    let n = src.len().min(buf.len());
    buf[..n].copy_from_slice(&src[src.len() - n..]);
    buf[..n].make_ascii_lowercase();
    let Ok(tail) = std::str::from_utf8(&buf[..n]) else {
        return false;
    };
    let t = tail.trim_end();
    const TRIGGERS: &[&str] = &[
        "mr",
        "mr.",
        "mrs",
        "mrs.",
        "ms",
        "ms.",
        "miss",
        "dr",
        "dr.",
        "prof",
        "prof.",
        "sir",
        "mx",
        "mx.",
        "name is",
        "named",
        "called",
        "i am",
        "i'm",
        "this is",
        "signed",
        "signed,",
        "dear",
        "hi",
        "hi,",
        "hello",
        "hello,",
        "thanks",
        "thanks,",
        "regards,",
        "name:",
        "attn:",
        "attn",
        "cc:",
        "contact",
        "ask",
        "by",
        "with",
        "from",
        "to",
        "met",
        "told",
        "and",
        "wife",
        "husband",
        "son",
        "daughter",
        "brother",
        "sister",
        "mother",
        "father",
        "friend",
        "colleague",
        "patient",
        "client",
        "customer",
        "employee",
        "author",
        "written by",
        "authored by",
        "per",
    ];
    TRIGGERS.iter().any(|w| {
        t.ends_with(w) && {
            let pre = &t[..t.len() - w.len()];
            pre.is_empty() || pre.ends_with([' ', '\n', '(', ',', '"'])
        }
    })
}

/// Strong triggers make even an unknown capitalised word a name.
fn strong_trigger(text: &str, pos: usize) -> bool {
    let before = text.get(..pos).unwrap_or("");
    let start = before.len().saturating_sub(16);
    let mut s = start;
    while s < before.len() && !before.is_char_boundary(s) {
        s += 1;
    }
    let t = before[s..].trim_end().to_ascii_lowercase();
    const STRONG: &[&str] = &[
        "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "miss", "dr", "dr.", "prof", "prof.", "mx", "mx.",
        "name is", "named", "called", "i am", "i'm", "signed", "signed,", "dear", "name:",
    ];
    STRONG.iter().any(|w| {
        t.ends_with(w) && {
            let pre = &t[..t.len() - w.len()];
            pre.is_empty() || pre.ends_with([' ', '\n', '(', ',', '"'])
        }
    })
}

/// PERSON spans in `text` as (start byte, end byte, score).
pub(crate) fn find_persons(text: &str) -> Vec<(usize, usize, f32)> {
    let l = lists();
    let toks = tokens(text);
    let mut out = Vec::new();
    let mut keybuf: [String; 4] = Default::default();
    let mut i = 0;
    while i < toks.len() {
        if !toks[i].cap {
            i += 1;
            continue;
        }
        // Maximal run of capitalised tokens (at most 4) joined by single spaces.
        let mut j = i;
        while j + 1 < toks.len()
            && j + 1 - i < 4
            && toks[j + 1].cap
            && gap_ok(text, &toks[j], &toks[j + 1])
        {
            j += 1;
        }
        let run = &toks[i..=j];
        for (t, k) in run.iter().zip(keybuf.iter_mut()) {
            fold_into(&text[t.start..t.end], k);
        }
        let keys = &keybuf[..run.len()];
        // Trim leading/trailing stop words.
        let mut a = 0;
        let mut b = run.len();
        while a < b && l.stop.contains(keys[a].as_str()) {
            a += 1;
        }
        while b > a && l.stop.contains(keys[b - 1].as_str()) {
            b -= 1;
        }
        if a < b {
            let r = &run[a..b];
            let k = &keys[a..b];
            let n = r.len();
            let any_first = k.iter().any(|w| l.first.contains(w.as_str()));
            let first_first = l.first.contains(k[0].as_str());
            let last_sur = l.sur.contains(k[n - 1].as_str());
            let initials = r.iter().filter(|t| t.initial).count();
            // Context checks are evaluated only where a rule needs them.
            let at_start = || sentence_start(text, r[0].start);
            let strong = || strong_trigger(text, r[0].start);
            let weak_ctx = || preceding_trigger(text, r[0].start);
            let mut score: f32 = 0.0;
            if n >= 2 && initials < n {
                if first_first && (last_sur || !at_start() || n >= 2) {
                    score = 0.85;
                } else if last_sur && initials > 0 {
                    score = 0.8;
                } else if any_first || last_sur {
                    score = 0.7;
                } else if strong() {
                    score = 0.8;
                } else if initials > 0 && !r[0].initial && !r[n - 1].initial && n >= 3 {
                    // "Janka M. Szász", "Ravil G Yefimov": a middle initial marks a name.
                    score = 0.8;
                } else if weak_ctx() && !at_start() {
                    score = 0.55;
                }
            } else if n == 1 && !r[0].initial {
                let w = k[0].as_str();
                let ambiguous = AMBIGUOUS.contains(&w);
                if strong() {
                    score = 0.8;
                } else if l.first.contains(w) && !ambiguous {
                    score = if at_start() { 0.55 } else { 0.65 };
                    if weak_ctx() {
                        score = 0.75;
                    }
                } else if l.sur.contains(w) && !ambiguous && !at_start() {
                    score = if weak_ctx() { 0.65 } else { 0.55 };
                }
            }
            if score > 0.0 {
                out.push((r[0].start, r[n - 1].end, score));
            }
        }
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(t: &str) -> Vec<&str> {
        find_persons(t)
            .into_iter()
            .map(|(s, e, _)| &t[s..e])
            .collect()
    }

    #[test]
    fn common_names() {
        assert_eq!(
            spans("Please forward this to John Smith today."),
            vec!["John Smith"]
        );
        assert_eq!(spans("My name is Rubija"), vec!["Rubija"]);
        assert_eq!(
            spans("Krisztián Szöllösy listed his songs"),
            vec!["Krisztián Szöllösy"]
        );
        assert_eq!(spans("Ask Dr. Okafor about it"), vec!["Okafor"]);
    }

    #[test]
    fn not_names() {
        assert!(spans("The Monday meeting is in New York.").is_empty());
        assert!(spans("I will mark it.").is_empty());
    }
}
