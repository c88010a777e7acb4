//! Pattern rules: the built-in PII recognizers (in code, because their validators are code) and
//! the secret rules (data: `secrets.toml`, compiled in).
//!
//! A [`Rule`] is one regular expression plus what confirms a match: a validator (checksum,
//! numbering plan, entropy), context words that raise its score, and the capture group that holds
//! the sensitive value. All rules of one detector are compiled into a single multi-pattern
//! automaton by the engine; rules here never run one by one over a text.

use serde::Deserialize;

/// How a match is confirmed beyond the regex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validator {
    /// The regex is enough.
    None,
    /// E-mail structure (dots, TLD).
    Email,
    /// International phone number with a real country code and E.164 length.
    PhoneIntl,
    /// North American Numbering Plan rules.
    PhoneNanp,
    /// National number with a trunk prefix.
    PhoneTrunk,
    /// Local number without country or trunk prefix (7–12 digits; context required).
    PhoneLocal,
    /// Luhn + issuer prefix.
    CreditCard,
    /// Country length + mod-97 (may trim the match).
    Iban,
    /// SSA rules.
    UsSsn,
    /// ABA checksum.
    AbaRouting,
    /// NHS mod 11.
    UkNhs,
    /// NINO prefixes.
    UkNino,
    /// SIN Luhn.
    CaSin,
    /// Verhoeff.
    Aadhaar,
    /// TFN mod 11.
    AuTfn,
    /// ABN mod 89.
    AuAbn,
    /// Medicare check digit.
    AuMedicare,
    /// Control letter.
    EsNif,
    /// Check character.
    ItFiscalCode,
    /// Check letter.
    SgNric,
    /// MOD 11,10.
    DeTaxId,
    /// Dotted quad, not part of a longer dotted number.
    Ipv4,
    /// Parses as an IPv6 address.
    Ipv6,
    /// Consistent separators.
    Mac,
    /// Base58Check.
    Base58Check,
    /// Bech32/Bech32m.
    Bech32,
    /// Ethereum address: EIP-55 checksum (Keccak-256) when mixed-case; by shape, with a lower
    /// score, when all one case.
    EthAddress,
    /// Calendar date with plausible parts.
    Date,
    /// GitHub token CRC32 checksum.
    GithubChecksum,
    /// JWT whose header decodes to a JSON object with `alg`/`typ`/`kid` (or whose header or
    /// payload decodes to a JSON object: accepted); other `ey….ey…` shapes are reported with a
    /// lower score.
    Jwt,
    /// Value of a keyword assignment (`password = …`, `db_pass: …`, "the password is …"):
    /// rejects numbers, plain words, paths, URLs, variables and function calls, and keys that
    /// name a property of the secret rather than the secret (`password_min_length`,
    /// `token_url`) or only contain a keyword inside another word (`bypass`, `passport`).
    KeywordValue,
    /// [`Validator::KeywordValue`] for a quoted value (`password = "…"`): symbols and brackets
    /// belong to the value, and a plain word assigned to a password key is a (weak) password.
    QuotedKeywordValue,
    /// Reversed comparison (`"value" == password`): the match is the closing quote, the
    /// operator and the key; the value is the quoted string before it.
    ReversedComparison,
    /// A quoted high-entropy string: not a certificate or an SSH public key (public data), not
    /// base64 of readable text (an encoded payload, decoded and scanned separately).
    HighEntropy,
}

/// One pattern rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Detector family (`pii`, `secrets`, or a custom family).
    pub detector: String,
    /// Entity type or rule id.
    pub kind: String,
    /// Regular expression (regex-automata syntax).
    pub regex: String,
    /// Capture group holding the sensitive value (0 = whole match).
    pub group: usize,
    /// Validator.
    pub validator: Validator,
    /// Score without context.
    pub score: f32,
    /// Context words (ASCII, matched case-insensitively near the match).
    pub context: Vec<String>,
    /// Drop the match unless a context word is near.
    pub context_required: bool,
    /// Minimum Shannon entropy (bits/char) of the value.
    pub min_entropy: Option<f32>,
    /// Whether documented placeholders are filtered (secrets).
    pub placeholder_check: bool,
    /// Automaton the rule belongs to.
    pub pass: u8,
    /// Every match contains a run of at least this many token bytes (prefilter hint for
    /// rules without a literal prefix).
    pub token_run: Option<usize>,
    /// How far before that run a match may start.
    pub token_run_back: usize,
    /// Value filter (secrets): what the value must not look like.
    pub filter: ValueFilter,
    /// Allow-list: regexes that, found in the value, make it not a secret.
    pub allow: Vec<String>,
    /// The match must start a word: the byte before it is not a letter, or the match starts a
    /// camelCase word (`myOktaToken`).
    pub word_start: bool,
}

/// The value filter of a secret rule (see `filters.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueFilter {
    /// Placeholders, references and sequences only (every secret rule).
    #[default]
    Placeholder,
    /// Also code identifiers, indirect references, array literals, and the key checks of
    /// [`Validator::KeywordValue`] (keyword rules whose value has no format of its own).
    Keyword,
    /// Also values of letters only and values containing a common word (generic high-entropy
    /// rules).
    Generic,
    /// The value checks of [`ValueFilter::Keyword`] without its key checks (a rule whose regex
    /// already pins the key: `asana_client_id`).
    Value,
}

impl Rule {
    fn pii(kind: &str, regex: &str, validator: Validator, score: f32, context: &[&str]) -> Rule {
        Rule {
            detector: "pii".to_owned(),
            kind: kind.to_owned(),
            regex: regex.to_owned(),
            group: 0,
            validator,
            score,
            context: context.iter().map(|s| (*s).to_owned()).collect(),
            context_required: false,
            min_entropy: None,
            placeholder_check: false,
            pass: 1,
            token_run: None,
            token_run_back: 2,
            filter: ValueFilter::Placeholder,
            allow: Vec::new(),
            word_start: false,
        }
    }

    fn needs_context(mut self) -> Rule {
        self.context_required = true;
        self
    }
}

const B: &str = r"(?-u:\b)";

const PHONE_CTX: &[&str] = &[
    "phone",
    "call",
    "tel",
    "fax",
    "mobile",
    "cell",
    "contact",
    "number",
    "reach",
    "dial",
    "text me",
    "whatsapp",
    "telephone",
    "ph.",
    "mob",
];

/// Built-in PII rules, in priority order (earlier wins when two match at the same place).
pub(crate) fn pii_rules() -> Vec<Rule> {
    use Validator as V;
    let ext = r"(?:[ ]?(?:x|ext\.?|extension)[ ]?\d{1,6})?";
    vec![
        Rule::pii(
            "EMAIL_ADDRESS",
            &format!(
                r"[A-Za-z0-9\x80-\xFF](?:[A-Za-z0-9._%+\-\x80-\xFF]{{0,63}})@(?:[A-Za-z0-9\x80-\xFF](?:[A-Za-z0-9\-\x80-\xFF]{{0,61}}[A-Za-z0-9\x80-\xFF])?\.){{1,8}}[A-Za-z]{{2,24}}{B}"
            ),
            V::Email,
            1.0,
            &["email", "e-mail", "mail"],
        ),
        Rule::pii(
            "IBAN_CODE",
            &format!(r"(?i){B}[A-Z]{{2}}\d{{2}}(?:[ \-]?[A-Z0-9]{{4}}){{2,7}}(?:[ \-]?[A-Z0-9]{{1,4}})?{B}"),
            V::Iban,
            1.0,
            &["iban", "bank", "account"],
        ),
        Rule::pii(
            "CREDIT_CARD",
            &format!(
                r"{B}(?:\d{{4}}[ \-]?\d{{6}}[ \-]?\d{{4,5}}|(?:\d{{4}}[ \-]?){{2}}\d{{4}}(?:[ \-]?\d{{1,7}})?|\d{{12,19}}){B}"
            ),
            V::CreditCard,
            1.0,
            &["card", "credit", "visa", "mastercard", "amex", "cc", "payment"],
        ),
        Rule::pii(
            "US_SSN",
            &format!(r"{B}(?:\d{{3}}-\d{{2}}-\d{{4}}|\d{{3}} \d{{2}} \d{{4}}|\d{{3}}\.\d{{2}}\.\d{{4}}){B}"),
            V::UsSsn,
            0.85,
            &["ssn", "social security", "social sec", "ss#", "ss #"],
        ),
        Rule::pii(
            "US_ITIN",
            &format!(r"{B}9\d{{2}}[- ]?(?:5\d|6[0-5]|7\d|8[0-8]|9[0-2]|9[4-9])[- ]?\d{{4}}{B}"),
            V::None,
            0.5,
            &["itin", "taxpayer", "tax id", "individual taxpayer"],
        ),
        Rule::pii(
            "UK_NHS",
            &format!(r"{B}\d{{3}}[- ]?\d{{3}}[- ]?\d{{4}}{B}"),
            V::UkNhs,
            0.5,
            &["nhs", "national health", "health service"],
        )
        .needs_context(),
        Rule::pii(
            "PHONE_NUMBER",
            &format!(
                r"(?:\+|{B}00|{B}011)[ .\-]?[1-9]\d{{0,2}}(?:[ .\-]?\(?\d{{1,5}}\)?){{2,6}}{ext}{B}"
            ),
            V::PhoneIntl,
            0.75,
            PHONE_CTX,
        ),
        Rule::pii(
            "PHONE_NUMBER",
            &format!(
                r"(?:{B}1[ .\-]?)?(?:\(\d{{3}}\)[ .\-]?|{B}\d{{3}}[ .\-])\d{{3}}[ .\-]\d{{4}}{ext}{B}"
            ),
            V::PhoneNanp,
            0.7,
            PHONE_CTX,
        ),
        Rule::pii(
            "PHONE_NUMBER",
            &format!(
                r"(?:\(0\d{{1,4}}\)[ ]?|{B}0\d{{1,4}}[ .\-/])\d{{2,4}}(?:[ .\-]\d{{2,4}}){{0,3}}{B}"
            ),
            V::PhoneTrunk,
            0.6,
            PHONE_CTX,
        ),
        Rule::pii(
            "PHONE_NUMBER",
            &format!(r"(?:\(\d{{2,4}}\)[ ]?|{B}\d{{2,4}}[ .\-])\d{{2,4}}(?:[ .\-]\d{{2,4}}){{0,3}}{B}"),
            V::PhoneLocal,
            0.4,
            PHONE_CTX,
        )
        .needs_context(),
        Rule::pii(
            "PHONE_NUMBER",
            &format!(r"{B}\d{{10}}{B}"),
            V::PhoneNanp,
            0.3,
            PHONE_CTX,
        )
        .needs_context(),
        Rule::pii("US_SSN", &format!(r"{B}\d{{9}}{B}"), V::UsSsn, 0.5, &["ssn", "social security"])
            .needs_context(),
        Rule::pii(
            "ABA_ROUTING_NUMBER",
            &format!(r"{B}\d{{4}}-?\d{{4}}-?\d{{1}}{B}"),
            V::AbaRouting,
            0.5,
            &["routing", "aba", "transit number", "rtn"],
        )
        .needs_context(),
        Rule::pii(
            "CA_SIN",
            &format!(r"{B}\d{{3}}[- ]?\d{{3}}[- ]?\d{{3}}{B}"),
            V::CaSin,
            0.5,
            &["sin", "social insurance"],
        )
        .needs_context(),
        Rule::pii(
            "AU_TFN",
            &format!(r"{B}\d{{3}} ?\d{{3}} ?\d{{2,3}}{B}"),
            V::AuTfn,
            0.5,
            &["tfn", "tax file"],
        )
        .needs_context(),
        Rule::pii(
            "IN_AADHAAR",
            &format!(r"{B}[2-9]\d{{3}}[ \-]?\d{{4}}[ \-]?\d{{4}}{B}"),
            V::Aadhaar,
            0.45,
            &["aadhaar", "aadhar", "uidai", "uid"],
        ),
        Rule::pii(
            "AU_ABN",
            &format!(r"{B}\d{{2}} ?\d{{3}} ?\d{{3}} ?\d{{3}}{B}"),
            V::AuAbn,
            0.55,
            &["abn", "australian business"],
        ),
        Rule::pii(
            "AU_MEDICARE",
            &format!(r"{B}[2-6]\d{{3}} ?\d{{5}} ?\d{{1,2}}{B}"),
            V::AuMedicare,
            0.5,
            &["medicare"],
        )
        .needs_context(),
        Rule::pii(
            "DE_TAX_ID",
            &format!(r"{B}[1-9]\d{{10}}{B}"),
            V::DeTaxId,
            0.5,
            &["steuer", "steuerliche", "identifikationsnummer", "idnr", "tax id", "tin"],
        )
        .needs_context(),
        Rule::pii(
            "IP_ADDRESS",
            &format!(
                r"{B}(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){{3}}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d){B}"
            ),
            V::Ipv4,
            0.9,
            &["ip", "address", "host", "server"],
        ),
        Rule::pii(
            "IP_ADDRESS",
            r"(?i)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})?",
            V::Ipv6,
            0.9,
            &["ip", "ipv6", "address"],
        ),
        Rule::pii(
            "MAC_ADDRESS",
            &format!(r"(?i){B}(?:[0-9a-f]{{2}}(?:[:\-][0-9a-f]{{2}}){{5}}|[0-9a-f]{{4}}\.[0-9a-f]{{4}}\.[0-9a-f]{{4}}){B}"),
            V::Mac,
            0.8,
            &["mac", "ethernet", "wifi", "hardware address"],
        ),
        Rule::pii(
            "CRYPTO",
            &format!(r"{B}(?:[13][1-9A-HJ-NP-Za-km-z]{{25,34}}|(?:bc|tb)1[02-9ac-hj-np-z]{{11,71}}){B}"),
            V::Base58Check,
            1.0,
            &["bitcoin", "btc", "wallet", "address"],
        ),
        Rule::pii(
            "CRYPTO",
            &format!(r"{B}(?:bc|tb)1[02-9ac-hj-np-z]{{11,71}}{B}"),
            V::Bech32,
            1.0,
            &["bitcoin", "btc", "wallet"],
        ),
        Rule::pii(
            "CRYPTO",
            &format!(r"{B}0x[0-9a-fA-F]{{40}}{B}"),
            V::EthAddress,
            0.8,
            &["ethereum", "eth", "wallet", "address"],
        ),
        Rule::pii(
            "IN_PAN",
            &format!(r"{B}[A-Z]{{3}}[ABCFGHLJPT][A-Z]\d{{4}}[A-Z]{B}"),
            V::None,
            0.6,
            &["pan", "permanent account", "income tax"],
        ),
        Rule::pii(
            "UK_NINO",
            &format!(r"{B}[A-CEGHJ-PR-TW-Z]{{2}} ?\d{{2}} ?\d{{2}} ?\d{{2}} ?[A-D]{B}"),
            V::UkNino,
            0.7,
            &["national insurance", "nino", "ni number"],
        ),
        Rule::pii(
            "ES_NIF",
            &format!(r"{B}(?:\d{{8}}|[XYZ]\d{{7}})-?[A-Z]{B}"),
            V::EsNif,
            0.7,
            &["nif", "nie", "dni", "documento"],
        ),
        Rule::pii(
            "IT_FISCAL_CODE",
            &format!(
                r"(?i){B}[A-Z]{{6}}\d{{2}}[ABCDEHLMPRST]\d{{2}}[A-Z]\d{{3}}[A-Z]{B}"
            ),
            V::ItFiscalCode,
            0.9,
            &["codice fiscale", "fiscal code", "cf"],
        ),
        Rule::pii(
            "SG_NRIC_FIN",
            &format!(r"(?i){B}[STFGM]\d{{7}}[A-Z]{B}"),
            V::SgNric,
            0.8,
            &["nric", "fin", "singapore"],
        ),
        Rule::pii(
            "US_PASSPORT",
            &format!(r"{B}[A-Z]?\d{{8,9}}{B}"),
            V::None,
            0.5,
            &["passport"],
        )
        .needs_context(),
        Rule::pii(
            "US_DRIVER_LICENSE",
            &format!(r"{B}(?:[A-Z]\d{{3,14}}|[A-Z]{{2}}\d{{5,12}}|\d{{7,12}}|[A-Z]\d{{2}}-\d{{3}}-\d{{3}}){B}"),
            V::None,
            0.5,
            &["driver", "driving", "licence", "license", "dl#", "dl #", "dl:"],
        )
        .needs_context(),
        Rule::pii(
            "DATE_TIME",
            &format!(
                r"(?i){B}(?:\d{{1,2}}[/.\-]\d{{1,2}}[/.\-](?:19|20)\d{{2}}|(?:19|20)\d{{2}}-\d{{2}}-\d{{2}}|\d{{1,2}} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? (?:19|20)\d{{2}}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{{1,2}},? (?:19|20)\d{{2}}){B}"
            ),
            V::Date,
            0.5,
            &["born", "birth", "dob", "d.o.b", "birthday"],
        )
        .needs_context(),
    ]
}

/// The secret rule file as data.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleFile {
    pub rule: Vec<RuleDef>,
}

/// One secret rule as written in `secrets.toml` (or user config).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Rule id (the finding `type`).
    pub id: String,
    /// Regular expression.
    pub regex: String,
    /// Capture group of the secret value (default 0 = whole match; 1 if the regex has groups).
    #[serde(default)]
    pub group: Option<usize>,
    /// Keywords (documentation; context words).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Minimum Shannon entropy of the value.
    #[serde(default)]
    pub entropy: Option<f32>,
    /// Validator.
    #[serde(default)]
    pub validator: Option<Validator>,
    /// Score (default 0.9).
    #[serde(default)]
    pub score: Option<f32>,
    /// Optional free-text description.
    #[serde(default)]
    pub description: Option<String>,
    /// Which automaton the rule is compiled into (default 1). Rules without a literal prefix
    /// (keyword assignments, bare token shapes) go into pass 2: kept apart, each automaton stays
    /// small enough for the lazy DFA to run from its cache instead of re-determinizing.
    #[serde(default)]
    pub pass: Option<u8>,
    /// For a rule whose matches do not start with a literal: every match contains a run of at
    /// least this many token bytes (`[A-Za-z0-9+/=_\-.~:%\\]`). Lets the engine skip text
    /// without such runs (the literal prefilter); see `prefilter.rs`.
    #[serde(default)]
    pub token_run: Option<usize>,
    /// With `token_run`: how many bytes before the run a match may start (default 2).
    #[serde(default)]
    pub token_run_back: Option<usize>,
    /// Value filter (default: placeholders and references only).
    #[serde(default)]
    pub filter: Option<ValueFilter>,
    /// Allow-list regexes: a value in which one of them is found is not a secret.
    #[serde(default)]
    pub allow: Vec<String>,
    /// The match must start a word (see [`Rule::word_start`]).
    #[serde(default)]
    pub word_start: bool,
}

pub(crate) const SECRETS_TOML: &str = include_str!("secrets.toml");

impl RuleDef {
    pub(crate) fn into_rule(self, detector: &str) -> Rule {
        Rule {
            detector: detector.to_owned(),
            kind: self.id,
            group: self.group.unwrap_or(0),
            regex: self.regex,
            validator: self.validator.unwrap_or(Validator::None),
            score: self.score.unwrap_or(0.9).clamp(0.0, 1.0),
            context: self.keywords,
            context_required: false,
            min_entropy: self.entropy,
            placeholder_check: true,
            pass: self.pass.unwrap_or(1),
            token_run: self.token_run,
            token_run_back: self.token_run_back.unwrap_or(2),
            filter: self.filter.unwrap_or_default(),
            allow: self.allow,
            word_start: self.word_start,
        }
    }
}

/// Documented example credentials and obvious placeholders: never secrets (README placeholder
/// policy). `value` is the matched secret value.
pub(crate) fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c: char| c == '"' || c == '\'' || c == '`');
    if v.is_empty() {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "example",
        "placeholder",
        "your_",
        "your-",
        "yourkey",
        "your key",
        "<your",
        "changeme",
        "change_me",
        "redacted",
        "dummy",
        "xxxx",
        "****",
        "zzzz",
        "replace_me",
        "replaceme",
        "insert_",
        "todo",
        "fixme",
        "sample_",
        "notarealkey",
        "not_a_real",
        "fake_key",
        "fakekey",
    ];
    // Published documentation values (Stripe's docs key, the jwt.io sample signature).
    const DOCS: &[&str] = &[
        "4ec39hqlyjwdarjtt1zdp7dc",
        "sflkxwrjsmekkf2qt4fwpmejf36pok6yjv_adqssw5c",
    ];
    // One automaton for both lists (a value is checked once, not once per word).
    static MARKERS: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> =
        std::sync::OnceLock::new();
    let markers = MARKERS.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .build(WORDS.iter().chain(DOCS))
            .ok()
    });
    match markers {
        Some(ac) => {
            if ac.is_match(&lower) {
                return true;
            }
        }
        None => {
            if WORDS.iter().chain(DOCS).any(|w| lower.contains(w)) {
                return true;
            }
        }
    }
    const WHOLE: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "token",
        "none",
        "null",
        "true",
        "false",
        "string",
        "undefined",
    ];
    if WHOLE.contains(&lower.as_str()) {
        return true;
    }
    if v.starts_with("${")
        || v.starts_with("{{")
        || v.starts_with('<')
        || v.starts_with("%(")
        || (v.starts_with('$')
            && v[1..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()))
    {
        return true;
    }
    // Almost no distinct characters ("aaaaaaaa", "00000000", "abababab"), or one character
    // making up half of a long value (`FLWPUBK_TEST-0000000000000000-X`).
    let mut counts = [0usize; 128];
    for b in v.bytes() {
        if let Some(c) = counts.get_mut(usize::from(b)) {
            *c += 1;
        }
    }
    let distinct = counts.iter().filter(|c| **c > 0).count();
    // A filler character (`x`, `z`, `0`, `*`, `#`, `.`, `-`, `_`) making up half of a long
    // value, or a run of it taking two fifths (`FLWSECK_TEST-000000000000`). Other letters do
    // not count: a Twitter bearer token opens with 22 `A`s, and a key of repeated `Q`s is still
    // key-shaped.
    const FILLERS: &[u8] = b"xXzZ0*#.-_";
    let most = FILLERS
        .iter()
        .map(|&f| counts.get(usize::from(f)).copied().unwrap_or(0))
        .max()
        .unwrap_or(0);
    let mut run = 0usize;
    let mut longest = 0usize;
    let mut prev = None;
    for b in v.bytes() {
        run = if prev == Some(b) { run + 1 } else { 1 };
        prev = Some(b);
        if FILLERS.contains(&b) {
            longest = longest.max(run);
        }
    }
    (v.len() >= 8 && distinct <= 3)
        || (v.len() >= 16 && most * 2 >= v.len())
        || (longest >= 8 && longest * 5 >= v.len() * 2)
}

/// Values that generic (keyword-anchored) rules must not report: code identifiers, dotted
/// names, version strings and UUIDs are not credentials.
pub(crate) fn looks_like_identifier(value: &str) -> bool {
    let v = value.trim_matches(|c: char| c == '"' || c == '\'' || c == '`');
    // Dotted identifier path: `Ed25519.KeyPair`, `config.api.key`.
    let parts: Vec<&str> = v.split('.').collect();
    if parts.len() >= 2
        && parts.iter().all(|p| {
            p.len() >= 2
                && p.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    {
        return true;
    }
    // snake_case / kebab-case words without digits: `telegram_api_token`.
    if v.contains(['_', '-'])
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '-')
    {
        return true;
    }
    // Version strings: `jjwt-jackson-0.11.2`, `rc0.13.0_2023`.
    let b = v.as_bytes();
    let has_semver = b.windows(5).any(|w| {
        w[0].is_ascii_digit()
            && w[1] == b'.'
            && w[2].is_ascii_digit()
            && (w[3] == b'.' || w[3].is_ascii_digit())
            && (w[4].is_ascii_digit() || w[4] == b'.')
    });
    if has_semver {
        return true;
    }
    // UUID.
    let hex_groups: Vec<&str> = v.split('-').collect();
    if hex_groups.len() == 5
        && hex_groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && hex_groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return true;
    }
    false
}

/// Parts of a key that name a property of a credential, not the credential.
const NON_SECRET_KEY_PARTS: &[&str] = &[
    "len",
    "length",
    "count",
    "size",
    "min",
    "max",
    "timeout",
    "expiry",
    "expires",
    "expiration",
    "expire",
    "expired",
    "ttl",
    "type",
    "file",
    "filename",
    "path",
    "dir",
    "field",
    "hint",
    "policy",
    "regex",
    "pattern",
    "rotation",
    "age",
    "format",
    "prompt",
    "label",
    "name",
    "enabled",
    "enable",
    "disabled",
    "required",
    "reset",
    "changed",
    "strength",
    "header",
    "param",
    "params",
    "env",
    "var",
    "input",
    "placeholder",
    "column",
    "mode",
    "endpoint",
    "uri",
    "url",
    "id",
    "number",
    "port",
    "location",
    "provider",
    "manager",
    "algorithm",
    "algo",
    "method",
    "version",
    "validator",
    "validation",
    "error",
    "message",
    "msg",
    "text",
    "title",
    "description",
    "desc",
    "prefix",
    "suffix",
    "limit",
    "attempts",
    "retries",
    "interval",
    "duration",
    "lifetime",
    "schema",
    "scope",
    "scopes",
    "usage",
    "server",
    "host",
    "ref",
    "reference",
    "source",
    "class",
    "key_id",
    "kind",
    "style",
    "color",
    "icon",
    "button",
    "link",
    "route",
    "view",
    "page",
    "template",
    "component",
    "widget",
    "handler",
    "callback",
    "service_name",
    "lookup",
    "getter",
    "setter",
    "hash_algorithm",
    "encoding",
    "charset",
    "salt_rounds",
    "rounds",
    "cost",
    "iterations",
    "complexity",
    "visible",
    "visibility",
    "show",
    "hide",
    "toggle",
    "sent",
    "verified",
    "valid",
    "invalid",
    "status",
    "state",
    "flag",
    "public",
    "pub",
    "publishable",
    "primary",
    "foreign",
    "natural",
    "partition",
    "sequence",
    "csrf",
    "xsrf",
    "alias",
    "aliases",
    "fingerprint",
    "thumbprint",
    "checksum",
    "digest",
    "index",
    "store",
    "event",
    "events",
    "by",
    "range",
    "count",
    "counts",
    "websocket",
];

/// Keywords of the keyword rules (lower case); a key must have a part starting with one.
const SECRET_KEYWORDS: &[&str] = &[
    "password",
    "passwd",
    "passcode",
    "passphrase",
    "pwd",
    "pass",
    "secret",
    "apikey",
    "api",
    "auth",
    "key",
    "token",
    "credential",
    "creds",
    "priv",
    "private",
    "contrasena",
];

/// Parts that contain a keyword without being about a credential.
const NOT_KEYWORD_PARTS: &[&str] = &[
    "passport",
    "passage",
    "passenger",
    "passive",
    "passthrough",
    "passthru",
    "passing",
    "passed",
    "passes",
    "passover",
    "passable",
    "tokenizer",
    "tokenize",
    "tokenized",
    "tokenization",
    "secretary",
    "secretariat",
    "keyboard",
    "keyword",
    "keywords",
    "keynote",
    "keystroke",
    "keyframe",
    "keyframes",
    "monkey",
    "turkey",
    "hockey",
    "jockey",
    "whiskey",
    "authority",
    "author",
    "authors",
    "authored",
    "apiversion",
    "compass",
    "bypass",
    "keys",
    "accessibility",
    "accessible",
    "accessor",
    "accessory",
    "accessories",
    "keying",
    "keyed",
    "keypad",
    "donkey",
    "passwordless",
    "tokens",
    "secrets",
    "trespass",
    "surpass",
    "overpass",
    "underpass",
    "encompass",
    "impass",
    "impasse",
    "wellpass",
];

/// Splits an identifier into lower-case parts at `_`, `-`, `.` and camelCase boundaries.
fn key_parts(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if matches!(c, '_' | '-' | '.') {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            parts.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
}

/// The identifier just before the assignment operator that precedes byte `vs` of `text`
/// (`DB_PASSWORD` in `DB_PASSWORD = "x"`), if any.
fn key_before(text: &str, vs: usize) -> &str {
    let b = text.as_bytes();
    let mut p = vs.min(b.len());
    let stop = vs.saturating_sub(64);
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    // Quotes, spaces, operators, brackets and YAML block markers (`key: |-`) between the key
    // and the value.
    while p > stop {
        let c = at(p - 1);
        let skip = matches!(
            c,
            b' ' | b'\t'
                | b'\n'
                | b'\r'
                | b'\''
                | b'"'
                | b'`'
                | b'@'
                | b'='
                | b':'
                | b'>'
                | b'!'
                | b'<'
                | b','
                | b'['
                | b']'
                | b'\\'
                | b'|'
                | b'('
                | b'+'
                | b'?'
        ) || (c == b'.' && at(p - 2) == b' ')
            || (matches!(c, b'-' | b'+') && matches!(at(p - 2), b'|' | b'>'));
        if !skip {
            break;
        }
        p -= 1;
    }
    let end = p;
    while p > stop && (at(p - 1).is_ascii_alphanumeric() || matches!(at(p - 1), b'_' | b'-' | b'.'))
    {
        p -= 1;
    }
    text.get(p..end).unwrap_or("")
}

/// The operator byte before the value at `vs` (skipping quotes, spaces and `@`).
fn operator_before(text: &str, vs: usize) -> Option<u8> {
    let b = text.as_bytes();
    let mut p = vs.min(b.len());
    while p > 0 {
        let c = *b.get(p - 1)?;
        if !matches!(c, b' ' | b'\t' | b'\'' | b'"' | b'`' | b'@' | b'\\') {
            return Some(c);
        }
        p -= 1;
    }
    None
}

/// Whether the key before `vs` is the last segment of a namespaced type name
/// (`"AWS::SecretsManager::Secret": …`): a schema entry, not an assignment.
fn key_is_type_path(text: &str, vs: usize) -> bool {
    let key = key_before(text, vs);
    let Some(ks) = (key.as_ptr() as usize).checked_sub(text.as_ptr() as usize) else {
        return false;
    };
    ks >= 2 && text.get(ks - 2..ks) == Some("::")
}

/// Keywords of the generic high-entropy rule; a part of its key must start with one.
const GENERIC_KEYWORDS: &[&str] = &[
    "access",
    "auth",
    "api",
    "key",
    "pass",
    "pwd",
    "secret",
    "token",
    "credential",
    "creds",
    "client",
    "bearer",
    "private",
    "priv",
    "signing",
    "webhook",
    "license",
    "session",
    "cookie",
    "encryption",
    "salt",
    "hmac",
    "sid",
];

/// Key check of the generic rule: the key before `vs` has a part that starts with one of its
/// keywords (`residue` is not a `sid`, `monkey` not a `key`) and no part naming a property of
/// the credential.
pub(crate) fn generic_key_rejected(text: &str, vs: usize) -> bool {
    if key_is_type_path(text, vs) {
        return true;
    }
    let parts = key_parts(key_before(text, vs));
    parts
        .iter()
        .any(|p| NON_SECRET_KEY_PARTS.contains(&p.as_str()))
        || !parts.iter().any(|p| keyword_part(p, GENERIC_KEYWORDS))
}

/// Whether the identifier before the value at `vs` names a property of a credential
/// (`password_min_length`, `token_url`, `public_key`) or contains a keyword only inside another
/// word (`bypass`, `passport`, `tokenizer`). An identifier without any keyword passes.
pub(crate) fn key_is_not_secret(text: &str, vs: usize) -> bool {
    if key_is_type_path(text, vs) {
        return true;
    }
    let key = key_before(text, vs);
    let lower_key = key.to_ascii_lowercase();
    if !SECRET_KEYWORDS.iter().any(|k| lower_key.contains(k)) {
        return false;
    }
    let parts = key_parts(key);
    if parts
        .iter()
        .any(|p| NON_SECRET_KEY_PARTS.contains(&p.as_str()))
    {
        return true;
    }
    !parts.iter().any(|p| keyword_part(p, SECRET_KEYWORDS))
}

/// Whether the key part `p` is about one of `keywords`: it starts or ends with one
/// (`password`, `dbpassword`, `apitoken`, `oauth`), and is not a word that only contains it
/// (`bypass`, `passport`, `monkey`).
fn keyword_part(p: &str, keywords: &[&str]) -> bool {
    !NOT_KEYWORD_PARTS.contains(&p)
        && keywords
            .iter()
            .any(|k| p.starts_with(k) || (p.len() > k.len() + 1 && p.ends_with(k)))
}

/// The quoted string that ends at the closing quote at byte `close` of `text` (`"value" ==
/// password`): the value's span, when it is 4..=200 bytes without whitespace and the opening
/// quote is not glued to a word.
pub(crate) fn quoted_value_before(text: &str, close: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let q = *b.get(close)?;
    if q != b'"' && q != b'\'' {
        return None;
    }
    let mut p = close;
    let stop = close.saturating_sub(201);
    while p > stop {
        p -= 1;
        let c = *b.get(p)?;
        if c == q {
            let glued = p
                .checked_sub(1)
                .and_then(|i| b.get(i))
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
            let len = close - p - 1;
            return (!glued && len >= 4 && text.is_char_boundary(p + 1)).then_some((p + 1, close));
        }
        if c.is_ascii_whitespace() {
            return None;
        }
    }
    None
}

/// Whether the key before `vs` is a password key (`db_password`, `userPwd`, `passphrase`):
/// plain words are then possible values.
fn is_password_key(text: &str, vs: usize) -> bool {
    const PASSWORD_WORDS: &[&str] = &[
        "password",
        "passwd",
        "passcode",
        "passphrase",
        "pwd",
        "pass",
        "contrasena",
        "passwort",
        "motdepasse",
    ];
    key_parts(key_before(text, vs))
        .iter()
        .any(|p| PASSWORD_WORDS.contains(&p.as_str()))
}

/// Values that configuration and code assign to credential keys without being credentials
/// (lower case; compared with the whole value).
const NOT_A_VALUE: &[&str] = &[
    "pass",
    "passwd",
    "password",
    "secret",
    "token",
    "test",
    "testing",
    "todo",
    "tbd",
    "string",
    "str",
    "none",
    "null",
    "nil",
    "true",
    "false",
    "undefined",
    "disable",
    "disabled",
    "enabled",
    "prompt",
    "required",
    "optional",
    "hidden",
    "redacted",
    "dummy",
    "sample",
    "default",
    "changeit",
    "changeme",
    "unknown",
    "empty",
    "value",
    "secret_value",
    "not_set",
    "notset",
    "unset",
    "missing",
    "invalid",
    "error",
    "warn",
    "deny",
    "allow",
    "forbid",
    "ignore",
    "dummy_secret",
    "dummy_value",
    "login_password",
    "account_password",
    "nopasswd",
    "not_real_key",
    "notreal",
    "some_key",
    "str_to_sign",
    "test-access-key",
    "thisisnottherealsecret",
    "api_key",
    "undef",
    "mypassword",
    "yourpassword",
];

/// See [`Validator::KeywordValue`]: whether the unquoted value at `vs..ve` of `text` may be a
/// secret.
pub(crate) fn keyword_value_ok(text: &str, vs: usize, ve: usize) -> bool {
    keyword_value_check(text, vs, ve, false, true)
}

/// See [`Validator::QuotedKeywordValue`]: the same for a quoted value (`password = "…"`),
/// where symbols and brackets belong to the value and a plain word is a possible password.
pub(crate) fn quoted_keyword_value_ok(text: &str, vs: usize, ve: usize) -> bool {
    keyword_value_check(text, vs, ve, true, true)
}

/// [`quoted_keyword_value_ok`] for a reversed comparison: the key follows the value, so the
/// checks of the key before the value do not apply.
pub(crate) fn reversed_value_ok(text: &str, vs: usize, ve: usize) -> bool {
    keyword_value_check(text, vs, ve, true, false)
}

fn keyword_value_check(text: &str, vs: usize, ve: usize, quoted: bool, key_checks: bool) -> bool {
    let Some(v) = text.get(vs..ve) else {
        return false;
    };
    // Every check below only rejects, so the cheap and decisive ones come first: the key, the
    // length, the stand-in words; the value's shape last.
    if key_checks && key_is_not_secret(text, vs) {
        return false;
    }
    let trimmed = if quoted {
        v
    } else {
        v.trim_end_matches(['.', ',', ';', '!', '?', ')'])
    };
    if trimmed.len() < if quoted { 4 } else { 5 } {
        return false;
    }
    let lower = trimmed.to_ascii_lowercase();
    // Values that announce themselves as stand-ins (`dummy…`, `replace…`, `this…`).
    if NOT_A_VALUE.contains(&lower.as_str())
        || ["dummy", "replace", "this_", "thisis", "your"]
            .iter()
            .any(|p| lower.starts_with(p))
    {
        return false;
    }
    let password_key = !key_checks || is_password_key(text, vs);
    // A quoted value of a password key may look like a name (`"CorrectHorseBattery"`), unless
    // it names the credential itself (`"userPassword"`, `"DB_PASSWORD"`): a field or lookup
    // key.
    let names_credential = {
        let l = v.to_ascii_lowercase();
        ["pass", "pwd", "secret", "token", "key", "cred"]
            .iter()
            .any(|k| l.contains(k))
            || (v.contains('_') && !v.bytes().any(|c| c.is_ascii_lowercase()))
    };
    let name_ok =
        password_key && (quoted && !names_credential || v.bytes().any(|c| c.is_ascii_digit()));
    if crate::filters::value_rejected(v, name_ok)
        || (trimmed.len() != v.len() && crate::filters::value_rejected(trimmed, name_ok))
    {
        return false;
    }
    let v = trimmed;
    let key = if key_checks { key_before(text, vs) } else { "" };
    let parts = key_parts(key);
    // The value repeats the key (`context: "context"`): an enum or a name table.
    if (!key.is_empty() && key.eq_ignore_ascii_case(v)) || parts.contains(&lower) {
        return false;
    }
    // A call (`setPassword("…")`) only when the function is named after the credential
    // (`should_pass(…)`, `pwd.getpwnam(…)` are not).
    if key_checks && operator_before(text, vs) == Some(b'(') {
        const STRONG: &[&str] = &[
            "password",
            "passwd",
            "pwd",
            "passphrase",
            "secret",
            "token",
            "apikey",
            "credential",
            "credentials",
            "key",
        ];
        if !parts.last().is_some_and(|p| STRONG.contains(&p.as_str())) {
            return false;
        }
    }
    if !quoted
        && (v.ends_with(':')
            || v.trim_end_matches('=').contains('=')
            || lower.starts_with("0x")
            || crate::filters::is_dotted_reference(v))
    {
        return false;
    }
    let b = v.as_bytes();
    let has_digit = b.iter().any(u8::is_ascii_digit);
    let has_alpha = b.iter().any(u8::is_ascii_alphabetic);
    let has_symbol = b.iter().any(|c| !c.is_ascii_alphanumeric());
    // Numbers, times, versions, dates.
    if !has_alpha {
        if b.iter().all(u8::is_ascii_digit) {
            // A bare number only when it is long and not all one digit (PIN-like secrets
            // are kept; counts and durations are short or round).
            let distinct = b.iter().collect::<std::collections::BTreeSet<_>>().len();
            return b.len() >= 8 && distinct >= 4;
        }
        // Digits and symbols: a password in quotes (`"1234!@#$"`), a time or a version
        // unquoted.
        return quoted && has_digit && b.len() >= 6;
    }
    // Plain words and identifiers ("required", "getPassword", "my_secret_name").
    if !has_digit && !has_symbol {
        let upper = b.iter().filter(|c| c.is_ascii_uppercase()).count();
        let lower_n = b.iter().filter(|c| c.is_ascii_lowercase()).count();
        // Long mixed-case random letters are kept ("hQxZpLmWvRtKsNbY").
        let camel_words = b
            .windows(2)
            .filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
            .count();
        let random_letters = b.len() >= 16 && upper >= 4 && lower_n >= 4 && camel_words >= 4;
        // A quoted word assigned to a password key is a (weak) password.
        let password_word = quoted && password_key;
        if !(random_letters || password_word) {
            return false;
        }
    }
    if v.contains("://") || v.contains("->") || (v.contains('\\') && !quoted) {
        return false;
    }
    if !quoted
        && (b.first().is_some_and(|c| {
            matches!(
                c,
                b'$' | b'%' | b'&' | b'*' | b'#' | b'/' | b'~' | b'.' | b'@'
            )
        }) || v.starts_with("os.")
            || v.starts_with("process.")
            || v.starts_with("self.")
            || v.starts_with("this."))
    {
        return false;
    }
    if quoted && (v.starts_with('/') || v.starts_with("./") || v.starts_with("~/")) {
        return false;
    }
    // File names: `id_rsa.pem`, `secrets.yaml`.
    const EXT: &[&str] = &[
        ".txt",
        ".pem",
        ".key",
        ".json",
        ".yaml",
        ".yml",
        ".env",
        ".p12",
        ".pfx",
        ".jks",
        ".crt",
        ".conf",
        ".cfg",
        ".ini",
        ".xml",
        ".properties",
        ".toml",
        ".py",
        ".js",
        ".ts",
        ".rb",
        ".go",
        ".java",
        ".sh",
        ".html",
        ".md",
        ".csv",
        ".log",
        ".gpg",
        ".asc",
        ".der",
        ".cer",
    ];
    if EXT.iter().any(|e| lower.ends_with(e)) {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_not_secrets() {
        assert!(looks_like_identifier("Ed25519.BlindKeySignatures"));
        assert!(looks_like_identifier("telegram_api_token"));
        assert!(looks_like_identifier("jjwt-jackson-0.11.2"));
        assert!(looks_like_identifier(
            "743b294a-cd03-11ec-9d64-0242ac120002"
        ));
        assert!(!looks_like_identifier("q8Xz2LmN4vR7tY1wK9pB3sD6"));
    }

    #[test]
    fn keyword_values() {
        let ok = |t: &str| {
            let vs = t.rfind(' ').map_or(0, |i| i + 1);
            keyword_value_ok(t, vs, t.len())
        };
        assert_eq!(
            key_parts("dbPassword_MIN-len.x"),
            ["db", "password", "min", "len", "x"]
        );
        assert!(ok("password = abcd1234"));
        assert!(ok("DB_PASS= Zq8!rTw2"));
        assert!(ok("the password is Tr0ub4dor&3."));
        assert!(!ok("password = required"));
        assert!(!ok("password = 1234"));
        assert!(!ok("password_length = 16"));
        assert!(!ok("token_url = https://a.b/c"));
        assert!(!ok("bypass = abc12345"));
        assert!(!ok("key_file = ./keys/id_rsa.pem"));
        assert!(!ok("password = $PASSWORD1"));
        assert!(ok("userPassword = hQxZpLmWvRtKsNbYcDfG"));
    }

    #[test]
    fn secret_rules_parse() {
        let f: RuleFile = toml::from_str(SECRETS_TOML).unwrap();
        assert!(f.rule.len() > 50);
        let mut ids: Vec<_> = f.rule.iter().map(|r| r.id.clone()).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        // Several regexes may share an id, but not too many.
        assert!(ids.len() * 10 >= n * 8);
    }

    #[test]
    fn placeholders() {
        assert!(is_placeholder("AKIAIOSFODNN7EXAMPLE"));
        assert!(is_placeholder("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
        assert!(is_placeholder("${API_KEY}"));
        assert!(is_placeholder("<your-key>"));
        assert!(is_placeholder("xxxxxxxxxxxxxxxxxxxx"));
        assert!(is_placeholder("$OPENAI_API_KEY"));
        assert!(is_placeholder("sk_test_4eC39HqLyjWDarjtT1zdp7dc"));
        assert!(!is_placeholder("sk_live_9aK2mQ7vLx3PzR8tW1yB5nC0"));
        assert!(!is_placeholder("ghp_R2b7rN4tZ8qL1mK9xV3cW6yH0pJ5sD2fG7a"));
    }
}
