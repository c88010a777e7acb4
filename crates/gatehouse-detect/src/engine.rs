//! The engine: compiles every rule into one multi-pattern automaton per detector family, runs
//! the normaliser, the pattern pass, the PERSON recognizer and the decoder, resolves overlaps,
//! maps spans back to the original text and decides actions.

use crate::checksum;
use crate::config::{
    Action, CustomPattern, DetectConfig, MAX_CUSTOM_PATTERN_LEN, MAX_CUSTOM_PATTERNS,
};
use crate::decode::{self, DecodeLimits};
use crate::error::{Error, ErrorKind};
use crate::models::EntityModel;
use crate::names;
use crate::normalize::{self, Normalized};
use crate::redact::{self, Pseudonymizer};
use crate::rules::{self, Rule, RuleFile, Validator};
use crate::stream::StreamScanner;
use aho_corasick::AhoCorasick;
use gatehouse_core::{Direction, Finding, Verdict};
use regex_automata::{Anchored, Input, meta, util::syntax};
use std::sync::Arc;

/// A finding with everything the engine knows about it: char and byte offsets into the original
/// text and the action configured for it. Like [`Finding`], it never holds the matched value.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Detector family (`pii`, `secrets`, `obfuscation`, …).
    pub detector: Arc<str>,
    /// Entity type or rule id.
    pub kind: Arc<str>,
    /// Confidence in [0, 1].
    pub score: f32,
    /// Start, Unicode scalar offset into the original text.
    pub start: usize,
    /// End (exclusive), Unicode scalar offset.
    pub end: usize,
    /// Start, byte offset into the original text.
    pub byte_start: usize,
    /// End (exclusive), byte offset.
    pub byte_end: usize,
    /// What the configuration says to do with it.
    pub action: Action,
}

impl Detection {
    /// The shared, loggable form.
    pub fn to_finding(&self) -> Finding {
        Finding {
            detector: self.detector.to_string(),
            kind: self.kind.to_string(),
            score: self.score,
            start: self.start,
            end: self.end,
        }
    }
}

/// Result of scanning one text.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanOutcome {
    /// Findings in the shared form, sorted by start.
    pub findings: Vec<Finding>,
    /// The same findings with byte offsets and actions.
    pub detections: Vec<Detection>,
    /// The strongest action among the findings.
    pub verdict: Verdict,
    /// The text with every span whose action is `redact` or `block` masked; `None` when nothing
    /// was masked.
    pub redacted: Option<String>,
    /// The attached entity model ([`Engine::with_entity_model`]) failed on this text. The
    /// findings then come from the built-in rules alone (PERSON fallback included), so redaction
    /// still covers what they find; callers that must not forward text the model could not
    /// check treat this flag as a failure (fail closed).
    pub model_error: bool,
}

/// A raw hit, in byte offsets of the text it was found in.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub detector: Arc<str>,
    pub kind: Arc<str>,
    pub score: f32,
    pub start: usize,
    pub end: usize,
    /// Overlap family: hits of one family do not overlap after resolution.
    pub family: u8,
    /// From a generic (keyword/entropy) rule: loses overlaps against specific rules.
    pub generic: bool,
}

const FAMILY_PII: u8 = 0;
const FAMILY_SECRETS: u8 = 1;
const FAMILY_OBFUSCATION: u8 = 2;

pub(crate) struct CompiledRule {
    /// Source, for the capture regex compiled on first use.
    regex: String,
    /// Single-pattern regex with capture groups, used only on a match of this rule to find the
    /// secret group (the multi-pattern set is built without captures, to stay small and fast).
    group_re: std::sync::OnceLock<Option<meta::Regex>>,
    detector: Arc<str>,
    kind: Arc<str>,
    group: usize,
    validator: Validator,
    score: f32,
    ctx_ids: Vec<u32>,
    context_required: bool,
    min_entropy: Option<f32>,
    placeholder_check: bool,
    generic: bool,
    filter: rules::ValueFilter,
    /// The rule's allow-list, one automaton (values in which it finds a match are dropped).
    allow: Option<meta::Regex>,
    word_start: bool,
}

pub(crate) struct PatternSet {
    re: meta::Regex,
    /// Search caches kept between scans: creating one allocates per-NFA-state tables, which
    /// costs more than scanning a prompt.
    caches: std::sync::Mutex<Vec<meta::Cache>>,
    rules: Vec<CompiledRule>,
    /// On a rejected match, try lower-priority patterns anchored at the same start.
    fallback: bool,
    family: u8,
    /// Literal prefilter (secret sets): anchored searches at prefix literals and unanchored
    /// ones around long token runs instead of one unanchored pass over the whole text.
    prefilter: Option<crate::prefilter::Prefilter>,
    /// The rules without a literal prefix (found by unanchored searches in the prefilter's
    /// windows) as one automaton, with their indices in `rules`; `None` when every rule is
    /// anchorable.
    window_re: Option<(meta::Regex, Vec<usize>)>,
    /// Search caches of `window_re`.
    window_caches: std::sync::Mutex<Vec<meta::Cache>>,
}

pub(crate) struct Inner {
    pub(crate) cfg: DetectConfig,
    sets: Vec<PatternSet>,
    /// The prefilters of the secrets sets merged into one literal pass, with the indices of
    /// its member sets in `sets`.
    shared_prefilter: Option<(crate::prefilter::Shared, Vec<usize>)>,
    ctx: Option<AhoCorasick>,
    pub(crate) liveness: Option<regex_automata::hybrid::dfa::DFA>,
    /// Warm lazy-DFA caches for stream scanners. A fresh cache re-determinises the DFA from
    /// scratch, which cost ~3 M instructions per streamed answer in the gateway profile; scanners
    /// take one from here and give it back when dropped.
    pub(crate) liveness_caches: std::sync::Mutex<Vec<regex_automata::hybrid::dfa::Cache>>,
    pub(crate) max_pattern_len: usize,
    pub(crate) hash_key: Vec<u8>,
    /// Use the literal prefilter of the sets that have one (off only in tests that compare
    /// against the full scan).
    pub(crate) prefilter: bool,
    placeholder_kind: Arc<str>,
    secrets_detector: Arc<str>,
    obf_detector: Arc<str>,
    pii_detector: Arc<str>,
    person_kind: Arc<str>,
    location_kind: Arc<str>,
    organization_kind: Arc<str>,
}

/// The detection engine. Cheap to clone (shared, immutable); build it once per configuration.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
    /// Named-entity model for PERSON / LOCATION / ORGANIZATION, when attached.
    entity_model: Option<Arc<dyn EntityModel>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("pattern_sets", &self.inner.sets.len())
            .field("max_pattern_len", &self.inner.max_pattern_len)
            .field("entity_model", &self.entity_model())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) fn expand_macros_pub(re: &str) -> String {
    expand_macros(re)
}

/// The credential words of the keyword rules (`{{kw}}`): detect-secrets' keyword list and
/// common spellings (`db_pass`, `apiKey`, `contraseña`).
const KEYWORDS: &str = r"(?:passw(?:or)?d|passwd|passcode|passphrase|pwd|pass|secret[eo]?|(?:api|app|application|auth|service|account|db|database|priv|private|client|access|secret|signing|encryption|master)_?key|apikey|db_?pass|database_?pass|key_?pass|token|credentials?|contrase(?:n|\xC3\xB1)a)";

/// Expands the macros of `secrets.toml` (`{{assign}}`, `{{end}}`, `{{b}}`, `{{kw}}`) in a rule
/// regex, as the engine does before compiling it (for tools that work with the rule file).
pub fn expand_secret_macros(re: &str) -> String {
    expand_macros(re)
}

fn expand_macros(re: &str) -> String {
    re.replace(
        "{{assign}}",
        r#"\\?['"]?\]?[ \t]{0,3}(?:[+.?:!]?=|:{2,3}=|=>|:|,|\|{1,2}|<-|>|\()(?:[ \t]*[|>][-+]?[ \t]*\r?\n)?\s{0,5}\\?['"`]?"#,
    )
    .replace("{{end}}", r#"(?:[`'"\s;,\\<>)\]}&|.:!?]|$)"#)
    .replace("{{b}}", r"(?-u:\b)")
    .replace("{{kw}}", KEYWORDS)
}

/// Rules are ASCII-shaped: matching is done on ASCII classes (`\w`, `\s`, case folding), which
/// keeps the automata small; the normaliser has already folded look-alikes and fullwidth forms.
/// Matches may therefore end inside a multi-byte scalar; such matches fail the char-boundary
/// checks and are dropped.
fn syntax_config() -> syntax::Config {
    syntax::Config::new()
        .nest_limit(64)
        .unicode(false)
        .utf8(false)
}

fn compile_set(
    rules: Vec<Rule>,
    family: u8,
    fallback: bool,
    ctx_words: &mut Vec<String>,
) -> Result<PatternSet, Error> {
    let pats: Vec<&str> = rules.iter().map(|r| r.regex.as_str()).collect();
    let build = |pats: &[&str]| {
        meta::Regex::builder()
            .syntax(syntax_config())
            .configure(
                // No bounded backtracker: it zeroes a visited set of (NFA states x haystack)
                // bits on every capture search, which dominates the cost on a large rule set.
                meta::Config::new()
                    .nfa_size_limit(Some(64 << 20))
                    .hybrid_cache_capacity(32 << 20)
                    .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit)
                    .backtrack(false),
            )
            .build_many(pats)
            .map_err(Box::new)
    };
    let prefilter = if family == FAMILY_SECRETS {
        let spec: Vec<(&str, Option<usize>)> = rules
            .iter()
            .map(|r| (r.regex.as_str(), r.token_run))
            .collect();
        crate::prefilter::Prefilter::build(&spec).map(|mut p| {
            p.set_back(rules.iter().map(|r| r.token_run_back).max().unwrap_or(2));
            p
        })
    } else {
        None
    };
    let window_re = if prefilter.is_some() {
        let idx: Vec<usize> = (0..pats.len())
            .filter(|&i| {
                pats.get(i)
                    .is_some_and(|p| !crate::prefilter::anchorable(p))
            })
            .collect();
        if idx.is_empty() {
            None
        } else {
            let wp: Vec<&str> = idx.iter().filter_map(|&i| pats.get(i).copied()).collect();
            build(&wp).ok().map(|re| (re, idx))
        }
    } else {
        None
    };
    if prefilter.is_some()
        && window_re.is_none()
        && pats.iter().any(|p| !crate::prefilter::anchorable(p))
    {
        return Err(Error::new(ErrorKind::Config(
            "secret rules without a literal prefix do not compile into one automaton".to_owned(),
        )));
    }
    let re = build(&pats).map_err(|e| {
        // Name the rule that does not compile on its own, if any.
        let culprit = rules.iter().find_map(|r| {
            meta::Regex::builder()
                .syntax(syntax_config())
                .build(&r.regex)
                .err()
                .map(|e| (r.kind.clone(), e.to_string()))
        });
        let (id, message) = culprit.unwrap_or_else(|| ("<set>".to_owned(), e.to_string()));
        Error::new(ErrorKind::Pattern { id, message })
    })?;
    let mut compiled = Vec::with_capacity(rules.len());
    for r in rules {
        let mut ids = Vec::new();
        // A keyword that every match starts with (a token's prefix, `ghp_`) never counts as
        // context (context words are looked for outside the match): not searched for.
        let prefixes = if family == FAMILY_SECRETS {
            crate::prefilter::prefix_literals_of(&r.regex)
        } else {
            Vec::new()
        };
        for w in &r.context {
            let w = w.to_ascii_lowercase();
            if !prefixes.is_empty()
                && prefixes
                    .iter()
                    .all(|p| p.starts_with(w.as_bytes()) || w.as_bytes().starts_with(p))
            {
                continue;
            }
            let id = match ctx_words.iter().position(|x| *x == w) {
                Some(i) => i,
                None => {
                    ctx_words.push(w);
                    ctx_words.len() - 1
                }
            };
            ids.push(id as u32);
        }
        let generic = matches!(
            r.kind.as_str(),
            "generic-api-key"
                | "password-assignment"
                | "keyword-assignment"
                | "password-in-text"
                | "high-entropy-string"
                | "authorization-header"
                | "provider-credential"
        ) || r.kind.starts_with("curl-");
        let allow = if r.allow.is_empty() {
            None
        } else {
            let pats: Vec<&str> = r.allow.iter().map(String::as_str).collect();
            Some(
                meta::Regex::builder()
                    .syntax(syntax_config())
                    .configure(meta::Config::new().nfa_size_limit(Some(1 << 20)))
                    .build_many(&pats)
                    .map_err(|e| {
                        Error::new(ErrorKind::Pattern {
                            id: r.kind.clone(),
                            message: format!("allow-list: {e}"),
                        })
                    })?,
            )
        };
        compiled.push(CompiledRule {
            regex: r.regex.clone(),
            group_re: std::sync::OnceLock::new(),
            detector: Arc::from(r.detector.as_str()),
            kind: Arc::from(r.kind.as_str()),
            group: r.group,
            validator: r.validator,
            score: r.score,
            ctx_ids: ids,
            context_required: r.context_required,
            min_entropy: r.min_entropy,
            placeholder_check: r.placeholder_check,
            generic,
            filter: r.filter,
            allow,
            word_start: r.word_start,
        });
    }
    Ok(PatternSet {
        window_re,
        window_caches: std::sync::Mutex::new(Vec::new()),
        caches: std::sync::Mutex::new(Vec::new()),
        re,
        rules: compiled,
        fallback,
        family,
        prefilter,
    })
}

fn custom_rules(custom: &[CustomPattern]) -> Result<Vec<Rule>, Error> {
    if custom.len() > MAX_CUSTOM_PATTERNS {
        return Err(Error::new(ErrorKind::Config(format!(
            "at most {MAX_CUSTOM_PATTERNS} custom patterns"
        ))));
    }
    let mut out = Vec::new();
    for c in custom {
        if c.regex.len() > MAX_CUSTOM_PATTERN_LEN {
            return Err(Error::new(ErrorKind::PatternTooLarge { id: c.id.clone() }));
        }
        // Compile alone with a tight size limit.
        meta::Regex::builder()
            .syntax(syntax_config())
            .configure(meta::Config::new().nfa_size_limit(Some(1 << 20)))
            .build(&c.regex)
            .map_err(|e| {
                if e.size_limit().is_some() {
                    Error::new(ErrorKind::PatternTooLarge { id: c.id.clone() })
                } else {
                    Error::new(ErrorKind::Pattern {
                        id: c.id.clone(),
                        message: e.to_string(),
                    })
                }
            })?;
        out.push(Rule {
            detector: c.detector.clone().unwrap_or_else(|| "pii".to_owned()),
            kind: c.id.clone(),
            regex: c.regex.clone(),
            group: 0,
            validator: Validator::None,
            score: c.score.unwrap_or(0.8).clamp(0.0, 1.0),
            context_required: !c.context.is_empty(),
            context: c.context.clone(),
            min_entropy: None,
            placeholder_check: false,
            pass: 1,
            token_run: None,
            token_run_back: 2,
            filter: rules::ValueFilter::Placeholder,
            allow: Vec::new(),
            word_start: false,
        });
    }
    Ok(out)
}

fn max_len_of(regex: &str) -> Option<usize> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(regex)
        .ok()?;
    hir.properties().maximum_len()
}

impl Engine {
    /// Builds an engine: parses the built-in rules and the configured custom patterns and
    /// compiles them. Errors name the offending pattern.
    pub fn new(cfg: &DetectConfig) -> Result<Engine, Error> {
        if !(0.0..=1.0).contains(&cfg.min_score) {
            return Err(Error::new(ErrorKind::Config(
                "min_score must be in [0, 1]".to_owned(),
            )));
        }
        let mut ctx_words = Vec::new();
        let mut sets = Vec::new();
        let mut all_patterns: Vec<String> = Vec::new();
        let mut pii = if cfg.pii {
            rules::pii_rules()
        } else {
            Vec::new()
        };
        pii.extend(custom_rules(&cfg.custom)?);
        pii.retain(|r| !cfg.disabled_types.contains(&r.kind));
        if !pii.is_empty() {
            all_patterns.extend(pii.iter().map(|r| r.regex.clone()));
            sets.push(compile_set(pii, FAMILY_PII, true, &mut ctx_words)?);
        }
        if cfg.secrets {
            crate::filters::warm_up();
            let file: RuleFile = toml::from_str(rules::SECRETS_TOML)
                .map_err(|e| Error::new(ErrorKind::RuleFile(e.to_string())))?;
            let mut secret_rules: Vec<Rule> = file
                .rule
                .into_iter()
                .map(|d| {
                    let mut r = d.into_rule("secrets");
                    r.regex = expand_macros(&r.regex);
                    r
                })
                .collect();
            secret_rules.retain(|r| !cfg.disabled_types.contains(&r.kind));
            all_patterns.extend(secret_rules.iter().map(|r| r.regex.clone()));
            let (pass1, pass2): (Vec<Rule>, Vec<Rule>) =
                secret_rules.into_iter().partition(|r| r.pass <= 1);
            for part in [pass1, pass2] {
                if !part.is_empty() {
                    sets.push(compile_set(part, FAMILY_SECRETS, false, &mut ctx_words)?);
                }
            }
        }
        let ctx = if ctx_words.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(&ctx_words)
                    .map_err(|e| Error::new(ErrorKind::Config(e.to_string())))?,
            )
        };
        let mut max_pattern_len = 0usize;
        for p in &all_patterns {
            let m = max_len_of(p).unwrap_or(cfg.max_holdback);
            max_pattern_len = max_pattern_len.max(m.min(cfg.max_holdback));
        }
        let liveness = if all_patterns.is_empty() {
            None
        } else {
            use regex_automata::hybrid::dfa::DFA;
            DFA::builder()
                .syntax(syntax_config())
                .configure(
                    DFA::config()
                        .match_kind(regex_automata::MatchKind::All)
                        .cache_capacity(8 << 20),
                )
                .thompson(
                    regex_automata::nfa::thompson::Config::new().nfa_size_limit(Some(64 << 20)),
                )
                .build_many(&all_patterns)
                .ok()
        };
        let hash_key = cfg
            .hash_key
            .clone()
            .unwrap_or_else(|| "gatehouse-default-mask-key".to_owned())
            .into_bytes();
        let members: Vec<usize> = sets
            .iter()
            .enumerate()
            .filter(|(_, s)| s.prefilter.is_some())
            .map(|(i, _)| i)
            .collect();
        let shared_prefilter = if members.len() >= 2 {
            let pfs: Vec<&crate::prefilter::Prefilter> = members
                .iter()
                .filter_map(|&i| sets.get(i).and_then(|s| s.prefilter.as_ref()))
                .collect();
            crate::prefilter::Shared::new(&pfs).map(|sh| (sh, members))
        } else {
            None
        };
        Ok(Engine {
            inner: Arc::new(Inner {
                cfg: cfg.clone(),
                sets,
                shared_prefilter,
                ctx,
                liveness,
                liveness_caches: std::sync::Mutex::new(Vec::new()),
                max_pattern_len,
                hash_key,
                prefilter: true,
                placeholder_kind: Arc::from("placeholder"),
                secrets_detector: Arc::from("secrets"),
                obf_detector: Arc::from("obfuscation"),
                pii_detector: Arc::from("pii"),
                person_kind: Arc::from("PERSON"),
                location_kind: Arc::from("LOCATION"),
                organization_kind: Arc::from("ORGANIZATION"),
            }),
            entity_model: None,
        })
    }

    /// Whether every secrets automaton runs behind the literal prefilter (none falls back to a
    /// full scan of the text).
    #[cfg(test)]
    pub(crate) fn secrets_prefiltered(&self) -> bool {
        self.inner
            .sets
            .iter()
            .filter(|s| s.family == FAMILY_SECRETS)
            .all(|s| s.prefilter.is_some())
    }

    /// Attaches a named-entity model: its PERSON / LOCATION / ORGANIZATION spans (it is given
    /// the normalised text; spans are mapped back to the original) join the findings of the
    /// `pii` detector and are merged with the built-in recognizers by the usual overlap
    /// resolution. A model error keeps the rule-based findings and sets
    /// [`ScanOutcome::model_error`]. Streams use the model too (same detection path).
    pub fn with_entity_model(mut self, model: Arc<dyn EntityModel>) -> Engine {
        self.entity_model = Some(model);
        self
    }

    /// Description of the attached entity model (for `/readyz` and `scan` output), if any.
    pub fn entity_model(&self) -> Option<String> {
        self.entity_model.as_ref().map(|m| m.describe())
    }

    /// The configuration this engine was built from.
    pub fn config(&self) -> &DetectConfig {
        &self.inner.cfg
    }

    /// Length in bytes of the longest match any rule can produce (bounded by
    /// `DetectConfig::max_holdback`): the most a stream is ever held back.
    pub fn max_pattern_len(&self) -> usize {
        self.inner.max_pattern_len
    }

    /// Scans `text` flowing in `direction`: findings, verdict and, when something is masked,
    /// the redacted text (masks per the configured [`crate::MaskStyle`]).
    pub fn scan(&self, text: &str, direction: Direction) -> ScanOutcome {
        let mut ps = Pseudonymizer::new();
        self.scan_with(text, direction, &mut ps)
    }

    /// Like [`Engine::scan`], but redacts with consistent placeholders from `ps`, so that the
    /// originals can be restored in the response ([`Pseudonymizer::restore`]). Use one
    /// `Pseudonymizer` per request.
    pub fn pseudonymize(
        &self,
        text: &str,
        direction: Direction,
        ps: &mut Pseudonymizer,
    ) -> ScanOutcome {
        self.scan_inner(text, direction, ps, true)
    }

    pub(crate) fn scan_with(
        &self,
        text: &str,
        direction: Direction,
        ps: &mut Pseudonymizer,
    ) -> ScanOutcome {
        self.scan_inner(text, direction, ps, false)
    }

    /// The text to keep where it is stored rather than forwarded (audit bodies): every finding
    /// of every detector masked as `[TYPE]`, whatever its configured action, and every run of
    /// random-looking characters that no rule names masked as `[SECRET]`. Errs on the side of
    /// masking.
    pub fn mask_for_storage(&self, text: &str) -> String {
        let mut found = self.detect(text, Direction::Input);
        found.sort_by_key(|d| d.byte_start);
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for d in found {
            if d.byte_start < at || d.byte_end > text.len() {
                continue;
            }
            out.push_str(text.get(at..d.byte_start).unwrap_or(""));
            out.push('[');
            out.push_str(&d.kind.to_ascii_uppercase());
            out.push(']');
            at = d.byte_end;
        }
        out.push_str(text.get(at..).unwrap_or(""));
        mask_high_entropy(&out)
    }

    /// A scanner for a stream of text deltas in `direction`.
    pub fn stream_scanner(&self, direction: Direction) -> StreamScanner {
        StreamScanner::new(self.clone(), direction)
    }

    /// Only the detections (no redaction), in original byte and char offsets.
    pub fn detect(&self, text: &str, direction: Direction) -> Vec<Detection> {
        self.detect_checked(text, direction).0
    }

    /// Detections and whether the entity model failed on `text`.
    fn detect_checked(&self, text: &str, direction: Direction) -> (Vec<Detection>, bool) {
        let (hits, model_error) = self.hits_checked(text);
        (self.to_detections(text, hits, direction), model_error)
    }

    fn scan_inner(
        &self,
        text: &str,
        direction: Direction,
        ps: &mut Pseudonymizer,
        force_placeholder: bool,
    ) -> ScanOutcome {
        let (detections, model_error) = self.detect_checked(text, direction);
        let verdict = detections
            .iter()
            .map(|d| d.action.verdict())
            .max()
            .unwrap_or(Verdict::Allow);
        let to_mask: Vec<&Detection> = detections
            .iter()
            .filter(|d| d.action >= Action::Redact)
            .collect();
        let redacted = if to_mask.is_empty() {
            None
        } else {
            let style = if force_placeholder {
                crate::MaskStyle::Placeholder
            } else {
                self.inner.cfg.mask
            };
            Some(redact::apply(
                text,
                &to_mask,
                style,
                &self.inner.hash_key,
                ps,
            ))
        };
        ScanOutcome {
            findings: detections.iter().map(Detection::to_finding).collect(),
            detections,
            verdict,
            redacted,
            model_error,
        }
    }

    /// All hits in original byte offsets, overlaps resolved, and whether the entity model
    /// failed.
    fn hits_checked(&self, text: &str) -> (Vec<Hit>, bool) {
        let inner = &*self.inner;
        let norm = normalize::normalize(text);
        let ntext: &str = &norm.text;
        let mut hits: Vec<Hit> = Vec::new();
        self.pattern_hits(ntext, &mut hits);
        let mut model_error = false;
        if let Some(model) = &self.entity_model
            && inner.cfg.pii
        {
            match model.entities(ntext) {
                Ok(ents) => {
                    for ent in ents {
                        let kind = match ent.entity_type.as_str() {
                            "PERSON" | "PER" => &inner.person_kind,
                            "LOCATION" | "LOC" | "GPE" => &inner.location_kind,
                            "ORGANIZATION" | "ORG" => &inner.organization_kind,
                            _ => continue,
                        };
                        let score = if ent.score.is_finite() {
                            ent.score.clamp(0.0, 1.0)
                        } else {
                            0.0
                        };
                        // Spans from outside the crate: keep only well-formed ones.
                        if ent.start >= ent.end
                            || ent.end > ntext.len()
                            || !ntext.is_char_boundary(ent.start)
                            || !ntext.is_char_boundary(ent.end)
                            || score < inner.cfg.min_score
                            || inner.cfg.disabled_types.iter().any(|d| **d == **kind)
                        {
                            continue;
                        }
                        hits.push(Hit {
                            detector: inner.pii_detector.clone(),
                            kind: kind.clone(),
                            score,
                            start: ent.start,
                            end: ent.end,
                            family: FAMILY_PII,
                            generic: true,
                        });
                    }
                }
                Err(_) => model_error = true,
            }
        }
        if inner.cfg.names && inner.cfg.pii {
            for ent in names::find_entities(ntext) {
                let kind = match ent.kind {
                    names::EntityKind::Person => &inner.person_kind,
                    names::EntityKind::Location => &inner.location_kind,
                    names::EntityKind::Organization => &inner.organization_kind,
                };
                if ent.score >= inner.cfg.min_score
                    && !inner.cfg.disabled_types.iter().any(|d| **d == **kind)
                {
                    hits.push(Hit {
                        detector: inner.pii_detector.clone(),
                        kind: kind.clone(),
                        score: ent.score,
                        start: ent.start,
                        end: ent.end,
                        family: FAMILY_PII,
                        generic: true,
                    });
                }
            }
        }
        let mut decoded_hits = Vec::new();
        if inner.cfg.decode {
            let runs = decode::decode_runs(ntext, &DecodeLimits::default());
            for run in runs {
                let mut inner_hits = Vec::new();
                self.pattern_hits(&run.text, &mut inner_hits);
                let mut any = false;
                for h in inner_hits {
                    if &*h.kind == "placeholder" {
                        continue;
                    }
                    any = true;
                    decoded_hits.push(Hit {
                        start: run.start,
                        end: run.end,
                        score: h.score * 0.95,
                        ..h
                    });
                }
                if any && inner.cfg.obfuscation {
                    decoded_hits.push(Hit {
                        detector: inner.obf_detector.clone(),
                        kind: Arc::from(run.encoding.finding_type()),
                        score: 0.9,
                        start: run.start,
                        end: run.end,
                        family: FAMILY_OBFUSCATION,
                        generic: false,
                    });
                }
            }
        }
        // Map normalised offsets to the original.
        let mut mapped: Vec<Hit> = hits
            .into_iter()
            .chain(decoded_hits)
            .map(|mut h| {
                let (s, e) = norm.to_original(text, h.start, h.end);
                h.start = s;
                h.end = e;
                h
            })
            .collect();
        self.add_normalizer_findings(text, &norm, &mut mapped);
        (resolve_overlaps(mapped), model_error)
    }

    fn add_normalizer_findings(&self, text: &str, norm: &Normalized<'_>, out: &mut Vec<Hit>) {
        let inner = &*self.inner;
        if inner.cfg.obfuscation {
            for o in &norm.obfuscations {
                out.push(Hit {
                    detector: inner.obf_detector.clone(),
                    kind: Arc::from(o.kind.as_str()),
                    score: 0.9,
                    start: o.start,
                    end: o.end,
                    family: FAMILY_OBFUSCATION,
                    generic: false,
                });
            }
        }
        // Payloads smuggled in tag characters are scanned like decoded runs.
        for (payload, s, e) in &norm.tag_payloads {
            let mut inner_hits = Vec::new();
            self.pattern_hits(payload, &mut inner_hits);
            for h in inner_hits {
                if &*h.kind == "placeholder" {
                    continue;
                }
                out.push(Hit {
                    start: *s,
                    end: (*e).min(text.len()),
                    ..h
                });
            }
        }
    }

    /// Runs every pattern set over `text` (one pass per set) and appends confirmed hits.
    pub(crate) fn pattern_hits(&self, text: &str, out: &mut Vec<Hit>) {
        let inner = &*self.inner;
        // One literal pass for all secrets sets (instead of one per set).
        let shared = match &inner.shared_prefilter {
            Some((sh, members)) if inner.prefilter => Some((sh.plans(text), members)),
            _ => None,
        };
        for (i, set) in inner.sets.iter().enumerate() {
            let plan = shared.as_ref().and_then(|(plans, members)| {
                members
                    .iter()
                    .position(|&m| m == i)
                    .and_then(|k| plans.get(k))
            });
            self.run_set(set, text, out, plan);
        }
    }

    fn run_set(
        &self,
        set: &PatternSet,
        text: &str,
        out: &mut Vec<Hit>,
        plan: Option<&crate::prefilter::Plan>,
    ) {
        let mut cache = set
            .caches
            .lock()
            .ok()
            .and_then(|mut v| v.pop())
            .unwrap_or_else(|| set.re.create_cache());
        match plan {
            Some(plan) => self.run_planned(set, text, out, &mut cache, plan),
            None => self.run_set_with(set, text, out, &mut cache),
        }
        if let Ok(mut v) = set.caches.lock()
            && v.len() < 64
        {
            v.push(cache);
        }
    }

    fn run_set_with(
        &self,
        set: &PatternSet,
        text: &str,
        out: &mut Vec<Hit>,
        cache: &mut meta::Cache,
    ) {
        match &set.prefilter {
            Some(pf) if self.inner.prefilter => {
                let plan = pf.plan(text);
                self.run_planned(set, text, out, cache, &plan);
            }
            _ => {
                self.scan_range(set, text, 0, text.len(), out, cache);
            }
        }
    }

    /// Anchored searches at the plan's candidate starts and unanchored searches of the rules
    /// without a literal prefix over its windows, in text order (a candidate before a window
    /// match at the same position), skipping what an accepted hit already covers: at every
    /// position the first match found is the one the full scan finds there.
    fn run_planned(
        &self,
        set: &PatternSet,
        text: &str,
        out: &mut Vec<Hit>,
        cache: &mut meta::Cache,
        plan: &crate::prefilter::Plan,
    ) {
        let mut wcache = match &set.window_re {
            Some((re, _)) if !plan.windows.is_empty() => Some(
                set.window_caches
                    .lock()
                    .ok()
                    .and_then(|mut v| v.pop())
                    .unwrap_or_else(|| re.create_cache()),
            ),
            _ => None,
        };
        let mut pos = 0usize;
        let (mut si, mut wi) = (0usize, 0usize);
        // The next window match at or after `pos`: (start, end, rule index).
        let mut pending: Option<(usize, usize, usize)> = None;
        loop {
            while plan.starts.get(si).is_some_and(|&c| c < pos) {
                si += 1;
            }
            let c = plan.starts.get(si).copied();
            if pending.is_some_and(|p| p.0 < pos) {
                pending = None;
            }
            if pending.is_none()
                && let (Some((wre, idx)), Some(wc)) = (&set.window_re, wcache.as_mut())
            {
                while let Some(&(ws, we)) = plan.windows.get(wi) {
                    let from = ws.max(pos);
                    if from >= we {
                        wi += 1;
                        continue;
                    }
                    let input = Input::new(text).range(from..we);
                    if let Some(m) = wre.search_with(wc, &input) {
                        let pid = idx.get(m.pattern().as_usize()).copied().unwrap_or(0);
                        pending = Some((m.start(), m.end(), pid));
                        break;
                    }
                    wi += 1;
                }
            }
            match (c, pending) {
                (None, None) => break,
                (Some(c), p) if p.is_none_or(|p| c <= p.0) => {
                    si += 1;
                    let input = Input::new(text).range(c..).anchored(Anchored::Yes);
                    if let Some(m) = set.re.search_with(cache, &input)
                        && let Some(h) = self
                            .confirm(set, text, m.pattern().as_usize(), c, m.end(), cache)
                            .or_else(|| {
                                self.generic_fallback(
                                    set,
                                    text,
                                    m.pattern().as_usize(),
                                    c,
                                    text.len(),
                                    cache,
                                )
                            })
                    {
                        let next = h.1.max(m.end().min(h.1.max(c + 1)));
                        out.push(h.0);
                        pos = next.max(c + 1);
                    }
                }
                (_, Some((s, e, pid))) => {
                    pending = None;
                    let accepted = self
                        .confirm(set, text, pid, s, e, cache)
                        .or_else(|| self.generic_fallback(set, text, pid, s, text.len(), cache));
                    match accepted {
                        Some(h) => {
                            let next = h.1.max(e.min(h.1.max(s + 1)));
                            out.push(h.0);
                            pos = next.max(s + 1);
                        }
                        None => pos = s + 1,
                    }
                    while pos < text.len() && !text.is_char_boundary(pos) {
                        pos += 1;
                    }
                }
                (Some(_), None) => break,
            }
        }
        if let (Some(wc), Ok(mut v)) = (wcache, set.window_caches.lock())
            && v.len() < 64
        {
            v.push(wc);
        }
    }

    /// Unanchored searches over `from..to` (the full scan of a set without prefilter); returns
    /// where the last accepted hit ends (`from` when none).
    fn scan_range(
        &self,
        set: &PatternSet,
        text: &str,
        from: usize,
        to: usize,
        out: &mut Vec<Hit>,
        cache: &mut meta::Cache,
    ) -> usize {
        let mut pos = from;
        let mut last_end = from;
        let len = to.min(text.len());
        while pos <= len {
            let input = Input::new(text).range(pos..len);
            let Some(m) = set.re.search_with(cache, &input) else {
                break;
            };
            let (s, e, pid) = (m.start(), m.end(), m.pattern().as_usize());
            let mut accepted = self.confirm(set, text, pid, s, e, cache);
            if accepted.is_none() && !set.fallback {
                accepted = self.generic_fallback(set, text, pid, s, len, cache);
            }
            if accepted.is_none() && set.fallback {
                for alt in pid + 1..set.rules.len() {
                    let Some(alt_pid) = regex_automata::PatternID::new(alt).ok() else {
                        break;
                    };
                    let ai = Input::new(text)
                        .range(s..len)
                        .anchored(Anchored::Pattern(alt_pid));
                    if let Some(m2) = set.re.search_with(cache, &ai)
                        && let Some(h) = self.confirm(set, text, alt, s, m2.end(), cache)
                    {
                        accepted = Some(h);
                        break;
                    }
                }
            }
            match accepted {
                Some(h) => {
                    let next = h.1.max(e.min(h.1.max(s + 1)));
                    out.push(h.0);
                    pos = next.max(s + 1);
                    last_end = pos;
                }
                None => pos = s + 1,
            }
            while pos < len && !text.is_char_boundary(pos) {
                pos += 1;
            }
        }
        last_end
    }

    /// When the keyword rule `pid` matched at `s` but its value failed confirmation (e.g. the
    /// generic rule's entropy threshold), the later keyword rules are tried anchored at the same
    /// start: `password = abcd1234xyz` is not a generic high-entropy key, but still a password
    /// assignment. Only generic rules take part, so provider rules keep their single search.
    fn generic_fallback(
        &self,
        set: &PatternSet,
        text: &str,
        pid: usize,
        s: usize,
        len: usize,
        cache: &mut meta::Cache,
    ) -> Option<(Hit, usize)> {
        if !set.rules.get(pid)?.generic {
            return None;
        }
        for alt in pid + 1..set.rules.len() {
            if !set.rules.get(alt).is_some_and(|r| r.generic) {
                continue;
            }
            let alt_pid = regex_automata::PatternID::new(alt).ok()?;
            let ai = Input::new(text)
                .range(s..len)
                .anchored(Anchored::Pattern(alt_pid));
            if let Some(m2) = set.re.search_with(cache, &ai)
                && let Some(h) = self.confirm(set, text, alt, s, m2.end(), cache)
            {
                return Some(h);
            }
        }
        None
    }

    /// Confirms the match of rule `pid` at `s..e`; returns the hit and where to resume.
    #[allow(clippy::too_many_arguments)]
    fn confirm(
        &self,
        set: &PatternSet,
        text: &str,
        pid: usize,
        s: usize,
        e: usize,
        cache: &mut meta::Cache,
    ) -> Option<(Hit, usize)> {
        let rule = set.rules.get(pid)?;
        if rule.word_start && !starts_word(text, s) {
            return None;
        }
        let (mut vs, mut ve) = (s, e);
        if rule.group > 0 {
            let re = rule
                .group_re
                .get_or_init(|| {
                    meta::Regex::builder()
                        .syntax(syntax_config())
                        .configure(meta::Config::new().nfa_size_limit(Some(64 << 20)))
                        .build(&rule.regex)
                        .ok()
                })
                .as_ref()?;
            let ci = Input::new(text).range(s..e).anchored(Anchored::Yes);
            let mut caps = re.create_captures();
            re.search_captures(&ci, &mut caps);
            let g = caps.get_group(rule.group)?;
            vs = g.start;
            ve = g.end;
        }
        if rule.validator == Validator::ReversedComparison {
            (vs, ve) = rules::quoted_value_before(text, s)?;
        }
        let value = text.get(vs..ve)?;
        if value.is_empty() {
            return None;
        }
        // Generic rule around a provider token: report the provider rule instead. The token's
        // own match may end with its boundary character, so the search reaches the end of the
        // generic match, not just of its value.
        if rule.generic {
            let reach = e.max(ve).min(text.len());
            let inner_input = Input::new(text).range(vs..reach);
            let mut p = vs;
            while p < ve {
                let Some(m) = set
                    .re
                    .search_with(cache, &inner_input.clone().range(p..reach))
                else {
                    break;
                };
                let r2 = set.rules.get(m.pattern().as_usize())?;
                if !r2.generic && m.start() >= vs && m.start() < ve {
                    return self.confirm(
                        set,
                        text,
                        m.pattern().as_usize(),
                        m.start(),
                        m.end(),
                        cache,
                    );
                }
                p = m.start() + 1;
                while p < ve && !text.is_char_boundary(p) {
                    p += 1;
                }
            }
        }
        if rule.placeholder_check
            && (rules::is_placeholder(value)
                || crate::filters::is_reference_or_template(value)
                || crate::filters::is_sequential(value))
        {
            return Some((
                Hit {
                    detector: self.inner.secrets_detector.clone(),
                    kind: self.inner.placeholder_kind.clone(),
                    score: 0.1,
                    start: vs,
                    end: ve,
                    family: set.family,
                    generic: rule.generic,
                },
                e,
            ));
        }
        if rule.generic && rules::looks_like_identifier(value) {
            return None;
        }
        if let Some(min) = rule.min_entropy
            && checksum::shannon_entropy(value) < min
        {
            return None;
        }
        let rejected = match rule.filter {
            rules::ValueFilter::Placeholder => false,
            // Key checks first: cheaper than the value's, and decisive more often.
            rules::ValueFilter::Keyword => {
                rules::key_is_not_secret(text, vs) || crate::filters::keyword_value_rejected(value)
            }
            rules::ValueFilter::Value => crate::filters::keyword_value_rejected(value),
            rules::ValueFilter::Generic => {
                (rule.kind.as_ref() == "generic-api-key" && rules::generic_key_rejected(text, vs))
                    || crate::filters::generic_value_rejected(value)
            }
        };
        if rejected || rule.allow.as_ref().is_some_and(|a| a.is_match(value)) {
            return None;
        }
        let mut score = rule.score;
        match validate(rule.validator, text, vs, ve) {
            Check::Reject => return None,
            Check::Accept => {}
            Check::Weak(sc) => score = score.min(sc),
            Check::Trim(new_end) => ve = new_end,
        }
        if !rule.ctx_ids.is_empty() {
            let has = self.has_context(text, vs, ve, &rule.ctx_ids);
            if has {
                score = (score + 0.35).min(1.0);
            } else if rule.context_required {
                return None;
            }
        }
        if score < self.inner.cfg.min_score {
            return None;
        }
        Some((
            Hit {
                detector: rule.detector.clone(),
                kind: rule.kind.clone(),
                score,
                start: vs,
                end: ve,
                family: set.family,
                generic: rule.generic,
            },
            e,
        ))
    }

    /// Whether a context word of `ids` occurs near `s..e` (64 bytes before, 32 after), as a
    /// whole word. Only the window is searched, so the cost is per match, not per text.
    fn has_context(&self, text: &str, s: usize, e: usize, ids: &[u32]) -> bool {
        let Some(ac) = &self.inner.ctx else {
            return false;
        };
        let b = text.as_bytes();
        let lo = s.saturating_sub(64);
        let hi = (e + 32).min(b.len());
        let input = aho_corasick::Input::new(b).range(lo..hi);
        ac.find_overlapping_iter(input).any(|m| {
            let before_ok = m.start() == 0 || !b[m.start() - 1].is_ascii_alphabetic();
            let after_ok = b.get(m.end()).is_none_or(|c| !c.is_ascii_alphabetic());
            before_ok
                && after_ok
                && (m.end() <= s || m.start() >= e)
                && ids.contains(&m.pattern().as_u32())
        })
    }

    fn to_detections(&self, text: &str, hits: Vec<Hit>, direction: Direction) -> Vec<Detection> {
        let mut offsets: Vec<usize> = Vec::with_capacity(hits.len() * 2);
        for h in &hits {
            offsets.push(h.start);
            offsets.push(h.end);
        }
        let chars = byte_to_char_offsets(text, &offsets);
        hits.into_iter()
            .enumerate()
            .map(|(i, h)| {
                let action = self.inner.cfg.action_for(&h.detector, &h.kind, direction);
                Detection {
                    start: chars.get(2 * i).copied().unwrap_or(0),
                    end: chars.get(2 * i + 1).copied().unwrap_or(0),
                    byte_start: h.start,
                    byte_end: h.end,
                    detector: h.detector,
                    kind: h.kind,
                    score: h.score,
                    action,
                }
            })
            .collect()
    }
}

/// Converts byte offsets (any order) into Unicode scalar offsets of `text`.
pub(crate) fn byte_to_char_offsets(text: &str, offsets: &[usize]) -> Vec<usize> {
    if text.is_ascii() {
        return offsets.iter().map(|&o| o.min(text.len())).collect();
    }
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&i| offsets[i]);
    let mut out = vec![0usize; offsets.len()];
    let mut chars = 0usize;
    let mut iter = text.char_indices().peekable();
    for i in order {
        let target = offsets[i];
        while let Some(&(b, _)) = iter.peek() {
            if b >= target {
                break;
            }
            iter.next();
            chars += 1;
        }
        out[i] = chars;
    }
    out
}

/// Outcome of a validator.
enum Check {
    Reject,
    Accept,
    Weak(f32),
    Trim(usize),
}

fn validate(v: Validator, text: &str, s: usize, e: usize) -> Check {
    let Some(m) = text.get(s..e) else {
        return Check::Reject;
    };
    let ok = |b: bool| {
        if b { Check::Accept } else { Check::Reject }
    };
    let before = text.get(..s).and_then(|t| t.chars().next_back());
    let after = text.get(e..).and_then(|t| t.chars().next());
    match v {
        Validator::None => Check::Accept,
        Validator::Email => {
            let Some((local, domain)) = m.rsplit_once('@') else {
                return Check::Reject;
            };
            ok(!local.starts_with('.')
                && !local.ends_with('.')
                && !local.contains("..")
                && !domain.contains("..")
                && !matches!(before, Some('@')))
        }
        Validator::PhoneIntl => {
            let body = m
                .trim_start_matches('+')
                .trim_start_matches([' ', '.', '-']);
            let body = body
                .strip_prefix("00")
                .or_else(|| body.strip_prefix("011"))
                .unwrap_or(body);
            let main = split_ext(body);
            let d = checksum::digits(main);
            ok((8..=15).contains(&d.len())
                && crate::phone::valid_country_code(&d)
                && !adjacent_digitish(before, after))
        }
        Validator::PhoneNanp => {
            let main = split_ext(m);
            let mut d = checksum::digits(main);
            if d.len() == 11 && d[0] == 1 {
                d.remove(0);
            }
            if d.len() != 10 || adjacent_digitish(before, after) {
                return Check::Reject;
            }
            if crate::phone::nanp_valid(&d) {
                Check::Accept
            } else {
                // Phone-shaped but outside the numbering plan: keep only with context.
                Check::Weak(0.4)
            }
        }
        Validator::PhoneTrunk => {
            let d = checksum::digits(m);
            if !(9..=12).contains(&d.len())
                || adjacent_digitish(before, after)
                || looks_like_date(m)
            {
                return Check::Reject;
            }
            Check::Accept
        }
        Validator::PhoneLocal => {
            let d = checksum::digits(m);
            ok((7..=12).contains(&d.len())
                && !adjacent_digitish(before, after)
                && !looks_like_date(m)
                && !m.contains(':'))
        }
        Validator::CreditCard => ok(checksum::credit_card(m) && !adjacent_digitish(before, after)),
        Validator::Iban => match checksum::iban_prefix_len(m) {
            Some(n) if n == m.len() => Check::Accept,
            Some(n) => Check::Trim(s + n),
            None => Check::Reject,
        },
        Validator::UsSsn => ok(checksum::us_ssn(m) && !adjacent_digitish(before, after)),
        Validator::AbaRouting => ok(checksum::aba_routing(m)),
        Validator::UkNhs => ok(checksum::uk_nhs(m)),
        Validator::UkNino => ok(checksum::uk_nino(m)),
        Validator::CaSin => ok(checksum::ca_sin(m)),
        Validator::Aadhaar => ok(checksum::aadhaar(m)),
        Validator::AuTfn => ok(checksum::au_tfn(m)),
        Validator::AuAbn => ok(checksum::au_abn(m)),
        Validator::AuMedicare => ok(checksum::au_medicare(m)),
        Validator::EsNif => ok(checksum::es_nif(m)),
        Validator::ItFiscalCode => ok(checksum::it_fiscal_code(m)),
        Validator::SgNric => ok(checksum::sg_nric(m)),
        Validator::DeTaxId => ok(checksum::de_tax_id(m)),
        Validator::Ipv4 => {
            let dotted_neighbour = |c: Option<char>, other: Option<char>| {
                matches!(c, Some('.')) && other.is_some_and(|x| x.is_ascii_digit())
            };
            let next2 = text.get(e..).and_then(|t| t.chars().nth(1));
            let prev2 = text.get(..s).and_then(|t| t.chars().rev().nth(1));
            ok(!dotted_neighbour(after, next2)
                && !dotted_neighbour(before, prev2)
                && m != "0.0.0.0")
        }
        Validator::Ipv6 => {
            let hexish =
                |c: Option<char>| c.is_some_and(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
            if hexish(before) || hexish(after) || m.matches(':').count() < 2 {
                return Check::Reject;
            }
            let parsed = m.parse::<std::net::Ipv6Addr>().is_ok();
            // "12:30:45" and "::" alone are not worth a finding.
            ok(parsed && m.len() >= 6 && m.bytes().any(|b| b.is_ascii_hexdigit()))
        }
        Validator::Mac => {
            let seps: Vec<u8> = m
                .bytes()
                .filter(|b| matches!(b, b':' | b'-' | b'.'))
                .collect();
            ok(seps.windows(2).all(|w| w[0] == w[1]))
        }
        Validator::Base58Check => ok(checksum::base58check(m)),
        Validator::Bech32 => ok(checksum::bech32(m)),
        Validator::EthAddress => match checksum::eip55(m) {
            // Mixed case: EIP-55 decides.
            Some(valid) => ok(valid),
            // One case only (no checksum): accept by shape, with lower confidence.
            None => {
                let hex = m.get(2..).unwrap_or("");
                let has_letters = hex.bytes().any(|b| b.is_ascii_alphabetic());
                if has_letters && checksum::shannon_entropy(hex) > 3.0 {
                    Check::Weak(0.6)
                } else {
                    Check::Reject
                }
            }
        },
        Validator::Date => ok(plausible_date(m)),
        Validator::GithubChecksum => {
            if checksum::github_token_checksum(m) {
                Check::Accept
            } else {
                // Token-shaped without a valid checksum: maybe mistyped or truncated; still
                // reported (fail closed) with lower confidence.
                Check::Weak(0.7)
            }
        }
        Validator::Jwt => jwt_check(m),
        Validator::KeywordValue => ok(rules::keyword_value_ok(text, s, e)),
        Validator::QuotedKeywordValue => ok(rules::quoted_keyword_value_ok(text, s, e)),
        Validator::ReversedComparison => ok(rules::reversed_value_ok(text, s, e)),
        Validator::HighEntropy => {
            ok(!public_or_encoded_text(m) && !crate::filters::has_sequence_run(m, 8))
        }
    }
}

/// Base64 that is public key material (a DER certificate `MII…CC…`, an OpenSSH public key
/// `AAAAB3NzaC1…`) or the encoding of readable text.
fn public_or_encoded_text(v: &str) -> bool {
    // Subresource-integrity and lock-file hashes (`sha512-…`).
    let lower = v.get(..7).unwrap_or("").to_ascii_lowercase();
    if ["sha1-", "sha256-", "sha384-", "sha512-", "md5-"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return true;
    }
    const SSH: &[&str] = &["AAAAB3NzaC1", "AAAAC3NzaC1", "AAAAE2VjZHNh", "AAAAD3NzaC1"];
    if SSH.iter().any(|p| v.starts_with(p)) {
        return true;
    }
    // DER: a certificate (`MII?…CC…`: a SEQUENCE that opens with a SEQUENCE) or a public key
    // (RSA, EC P-256, Ed25519 SubjectPublicKeyInfo).
    const PUBLIC_DER: &[&str] = &[
        "MIIBIjANBgkqhkiG9w0BAQEFAAOC",
        "MIICIjANBgkqhkiG9w0BAQEFAAOC",
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",
        "MCowBQYDK2VwAyEA",
    ];
    if (v.starts_with("MII") && v.get(6..8) == Some("CC"))
        || PUBLIC_DER.iter().any(|p| v.starts_with(p))
    {
        return true;
    }
    let Some(bytes) = decode::base64_decode(v.trim_end_matches('=').as_bytes()) else {
        return false;
    };
    if bytes.len() < 12 {
        return false;
    }
    let printable = bytes
        .iter()
        .filter(|b| b.is_ascii_graphic() || **b == b' ' || **b == b'\n')
        .count();
    let letters = bytes.iter().filter(|b| b.is_ascii_alphabetic()).count();
    printable * 100 >= bytes.len() * 95 && letters * 5 >= bytes.len()
}

/// Whether byte `s` of `text` starts a word: no ASCII letter before it, or a camelCase
/// boundary (a lower-case letter before an upper-case one).
fn starts_word(text: &str, s: usize) -> bool {
    let b = text.as_bytes();
    let Some(prev) = s.checked_sub(1).and_then(|i| b.get(i)) else {
        return true;
    };
    !prev.is_ascii_alphabetic()
        || (prev.is_ascii_lowercase() && b.get(s).is_some_and(u8::is_ascii_uppercase))
}

fn split_ext(s: &str) -> &str {
    let lower = s.as_bytes();
    for (i, &b) in lower.iter().enumerate() {
        if b == b'x' || b == b'X' || b == b'e' || b == b'E' {
            return &s[..i];
        }
    }
    s
}

fn adjacent_digitish(before: Option<char>, after: Option<char>) -> bool {
    let bad = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '/' || c == '_');
    let bad_after = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '_');
    bad(before) || bad_after(after)
}

fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    // ISO date at the start: 2019-05-12 ...
    let iso = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit);
    if iso {
        return true;
    }
    let parts: Vec<&str> = s.split(['.', '-', '/']).collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
        && parts.iter().any(|p| p.len() == 4)
}

fn plausible_date(s: &str) -> bool {
    let nums: Vec<u32> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect();
    nums.iter().all(|&n| n <= 2100) && nums.iter().any(|&n| (1900..=2100).contains(&n))
}

/// JWT: a header with `alg`/`typ`/`kid` or a header/payload that is a JSON object is a token;
/// another `ey….ey…` shape is kept at a lower score (fail closed: the prefix `ey` is base64 of
/// `{`, and a mangled or truncated token is still a credential).
fn jwt_check(token: &str) -> Check {
    if jwt_header_ok(token) {
        return Check::Accept;
    }
    let json_part = token.split('.').take(2).any(|p| {
        decode::base64_decode(p.as_bytes())
            .and_then(|b| String::from_utf8(b).ok())
            .is_some_and(|j| {
                let j = j.trim_start();
                j.starts_with('{') && j.contains('"')
            })
    });
    if json_part {
        Check::Accept
    } else if checksum::shannon_entropy(token) >= 3.0 {
        Check::Weak(0.65)
    } else {
        Check::Reject
    }
}

fn jwt_header_ok(token: &str) -> bool {
    let Some(header) = token.split('.').next() else {
        return false;
    };
    let Some(bytes) = decode::base64_decode(header.as_bytes()) else {
        return false;
    };
    let Ok(h) = std::str::from_utf8(&bytes) else {
        return false;
    };
    h.contains("\"alg\"") || h.contains("\"typ\"") || h.contains("\"kid\"")
}

/// Sorts hits and removes overlaps within a family: the higher score wins, then the longer span.
pub(crate) fn resolve_overlaps(mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out: Vec<Hit> = Vec::with_capacity(hits.len());
    for h in hits {
        if h.end <= h.start {
            continue;
        }
        // Find the latest kept hit of the same family that overlaps.
        let clash = out
            .iter()
            .rposition(|k| k.family == h.family && k.end > h.start && k.start < h.end);
        match clash {
            None => out.push(h),
            Some(i) => {
                let k = &out[i];
                let better = if h.generic != k.generic {
                    // A specific rule (validated PII type, provider token) beats a generic one.
                    !h.generic
                } else {
                    h.score > k.score + 1e-6
                        || ((h.score - k.score).abs() <= 1e-6
                            && (h.end - h.start) > (k.end - k.start))
                };
                if better {
                    out[i] = h;
                }
            }
        }
    }
    out.sort_by(|a, b| a.start.cmp(&b.start).then(a.end.cmp(&b.end)));
    out
}

/// Masks every run of 20+ token characters that looks random (Shannon entropy ≥ 3.5 bits per
/// character, letters and digits mixed): credentials the rule set does not name (a bare AWS
/// secret key, a random API token) must not reach a stored body either. Errs on the side of
/// masking.
fn mask_high_entropy(text: &str) -> String {
    fn is_tok(c: char) -> bool {
        c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-')
    }
    fn random_looking(t: &str) -> bool {
        if t.len() < 20 {
            return false;
        }
        let has_digit = t.bytes().any(|b| b.is_ascii_digit());
        let has_alpha = t.bytes().any(|b| b.is_ascii_alphabetic());
        if !(has_digit && has_alpha) {
            return false;
        }
        let mut counts = [0u32; 128];
        for b in t.bytes() {
            counts[usize::from(b & 0x7f)] += 1;
        }
        let n = t.len() as f64;
        let h: f64 = counts
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = f64::from(c) / n;
                -p * p.log2()
            })
            .sum();
        h >= 3.5
    }
    let mut out = String::with_capacity(text.len());
    let mut tok = String::new();
    let flush = |tok: &mut String, out: &mut String| {
        if random_looking(tok) {
            out.push_str("[SECRET]");
        } else {
            out.push_str(tok);
        }
        tok.clear();
    };
    for c in text.chars() {
        if is_tok(c) {
            tok.push(c);
        } else {
            flush(&mut tok, &mut out);
            out.push(c);
        }
    }
    flush(&mut tok, &mut out);
    out
}
