//! Samples of secret rules for the synthetic benchmark and the rule tests: strings that a rule's
//! own regex matches, with the value (the rule's capture group) random within its classes and
//! bounds, and everything around it minimal.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use gatehouse_detect::RuleDef;
use regex_automata::meta::Regex;
use regex_syntax::hir::{Class, Hir, HirKind};

#[derive(serde::Deserialize)]
pub struct File {
    pub rule: Vec<RuleDef>,
}

/// The rule file.
pub fn rules() -> Vec<RuleDef> {
    let f: File = toml::from_str(include_str!("../../src/secrets.toml")).expect("rules");
    f.rule
}

pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as usize
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { self.next() % n }
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// Samples a string matching `h`. Outside the capture group `group` the sample is minimal
/// (first alternative, fewest repetitions, a plain character of each class); inside it is
/// random. Returns the group's byte range in `out`.
pub fn sample(
    h: &Hir,
    group: u32,
    inside: bool,
    rng: &mut Rng,
    out: &mut Out,
) -> Option<(usize, usize)> {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(l) => {
            out.real.extend_from_slice(&l.0);
            out.blank.extend_from_slice(&l.0);
            None
        }
        HirKind::Class(c) => {
            let mut bytes: Vec<u8> = Vec::new();
            match c {
                Class::Bytes(b) => {
                    for r in b.ranges() {
                        for x in r.start()..=r.end() {
                            bytes.push(x);
                        }
                    }
                }
                Class::Unicode(u) => {
                    for r in u.ranges() {
                        for x in r.start()..=r.end() {
                            if x.is_ascii() {
                                bytes.push(x as u8);
                            }
                        }
                    }
                }
            }
            let printable: Vec<u8> = bytes
                .iter()
                .copied()
                .filter(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'`' | b'\\'))
                .collect();
            let pool = if printable.is_empty() {
                &bytes
            } else {
                &printable
            };
            let b = if inside {
                *rng.pick(pool)
            } else if let Some(l) = pool.iter().find(|b| b.is_ascii_lowercase()) {
                *l
            } else if bytes.contains(&b' ') {
                b' '
            } else {
                *pool.first()?
            };
            out.real.push(b);
            // The placeholder twin: `x` where the class allows it.
            let filler = if !inside {
                b
            } else if let Some(f) = [b'x', b'X', b'0'].iter().find(|f| bytes.contains(f)) {
                *f
            } else {
                b
            };
            out.blank.push(filler);
            None
        }
        HirKind::Repetition(r) => {
            let n = if inside {
                let max = r.max.map_or(r.min + 12, |m| m.min(r.min + 12));
                r.min as usize + rng.below((max - r.min + 1) as usize)
            } else {
                r.min as usize
            };
            let mut span = None;
            for _ in 0..n {
                span = sample(&r.sub, group, inside, rng, out).or(span);
            }
            span
        }
        HirKind::Capture(c) => {
            if c.index == group {
                let start = out.real.len();
                sample(&c.sub, group, true, rng, out);
                Some((start, out.real.len()))
            } else {
                sample(&c.sub, group, inside, rng, out)
            }
        }
        HirKind::Concat(hs) => {
            let mut span = None;
            for x in hs {
                span = sample(x, group, inside, rng, out).or(span);
            }
            span
        }
        HirKind::Alternation(hs) => {
            let x = if inside { rng.pick(hs) } else { hs.first()? };
            sample(x, group, inside, rng, out)
        }
    }
}

/// A sample and its placeholder twin (the random characters of the value replaced by `x`).
#[derive(Default)]
pub struct Out {
    pub real: Vec<u8>,
    pub blank: Vec<u8>,
}

/// A rule's regex (macros expanded), its syntax tree and value group.
pub struct Sampler {
    pub re: Regex,
    pub hir: Hir,
    pub group: u32,
}

impl Sampler {
    pub fn new(r: &RuleDef) -> Option<Sampler> {
        let src = gatehouse_detect::expand_secret_macros(&r.regex);
        let re = Regex::builder()
            .syntax(
                regex_automata::util::syntax::Config::new()
                    .unicode(false)
                    .utf8(false),
            )
            .build(&src)
            .ok()?;
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(&src)
            .ok()?;
        Some(Sampler {
            re,
            hir,
            group: r.group.unwrap_or(0) as u32,
        })
    }

    /// A minimal match with a random value: `(text, value start, value end)`.
    pub fn minimal(&self, rng: &mut Rng) -> Option<(String, usize, usize)> {
        self.minimal_with_placeholder(rng)
            .map(|(t, _, a, b)| (t, a, b))
    }

    /// [`Sampler::minimal`] and the same text with the value's random characters replaced by
    /// `x` (where the rule's classes allow it): `(text, placeholder text, start, end)`.
    pub fn minimal_with_placeholder(
        &self,
        rng: &mut Rng,
    ) -> Option<(String, String, usize, usize)> {
        let mut out = Out::default();
        let span = if self.group == 0 {
            sample(&self.hir, u32::MAX, true, rng, &mut out);
            Some((0, out.real.len()))
        } else {
            sample(&self.hir, self.group, false, rng, &mut out)
        };
        let (a, b) = span?;
        let raw = String::from_utf8(out.real).ok()?;
        let blank = String::from_utf8(out.blank).ok()?;
        (a < b).then_some((raw, blank, a, b))
    }

    /// Whether the rule's regex matches `text` with `vs..ve` as its value.
    pub fn claims(&self, text: &str, vs: usize, ve: usize) -> bool {
        let mut caps = self.re.create_captures();
        let mut at = 0;
        while at <= text.len() {
            let input = regex_automata::Input::new(text).range(at..);
            self.re.search_captures(&input, &mut caps);
            let Some(m) = caps.get_match() else {
                return false;
            };
            if let Some(g) = caps.get_group(self.group as usize)
                && g.start == vs
                && g.end == ve
            {
                return true;
            }
            at = m.start() + 1;
        }
        false
    }
}
