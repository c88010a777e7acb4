//! Model-free entity recognizer: PERSON from capitalised-word runs scored with embedded name
//! lists and context (titles, "my name is", greetings, sign-offs, "X said", possessives, lists of
//! names, name particles and shapes), plus conservative rule-based LOCATION (known places, street
//! addresses, "lives in X") and ORGANIZATION (company suffixes, "University of X", "X Bank").
//!
//! It is a fallback for when no named-entity model is configured: it catches common names of
//! many languages, and multi-word names with one known given or family name, but not rare
//! single names without context.

use crate::names_data::{
    FIRST_NAMES, MORE_FIRST_NAMES, MORE_SURNAMES, NAME_PARTICLES, NOT_NAMES, PLACES, SURNAMES,
    WORLD_FIRST_NAMES, WORLD_SURNAMES,
};
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

/// Flags of a lower-cased word in the lists, found with one hash lookup per token.
const F_FIRST: u8 = 1;
const F_SUR: u8 = 2;
const F_STOP: u8 = 4;
const F_PLACE_FIRST: u8 = 8;
const F_AMBIGUOUS: u8 = 16;
const F_PLACE_PREFIX: u8 = 32;

type FlagMap = std::collections::HashMap<&'static str, u8, BuildHasherDefault<Fnv>>;

/// Longest key kept inline (no allocation); longer or non-ASCII words use a `String`.
const INLINE_KEY: usize = 32;

/// A token's lookup key and its list flags.
struct Key {
    inline: [u8; INLINE_KEY],
    len: usize,
    /// The key when it does not fit `inline` (or is not ASCII).
    heap: Option<String>,
    f: u8,
}

impl Key {
    fn new(word: &str) -> Key {
        let mut k = Key {
            inline: [0; INLINE_KEY],
            len: 0,
            heap: None,
            f: 0,
        };
        let b = word.as_bytes();
        if word.is_ascii() && b.len() <= INLINE_KEY {
            // Same folding as `fold_into` on ASCII: lower-cased, apostrophes dropped.
            for &x in b {
                if x != b'\'' {
                    k.inline[k.len] = x.to_ascii_lowercase();
                    k.len += 1;
                }
            }
        } else {
            let mut s = String::new();
            fold_into(word, &mut s);
            k.heap = Some(s);
        }
        let l = lists();
        let s = k.as_str();
        let mut f = l.flags.get(s).copied().unwrap_or(0);
        // Hyphenated names: a part of three or more letters counts as a given/family name.
        if s.bytes().any(|b| b == b'-') {
            for part in s.split('-').filter(|p| p.len() >= 3) {
                f |= l.flags.get(part).copied().unwrap_or(0) & (F_FIRST | F_SUR);
            }
        }
        k.f = f;
        k
    }
    fn as_str(&self) -> &str {
        match &self.heap {
            Some(s) => s,
            None => std::str::from_utf8(self.inline.get(..self.len).unwrap_or(&[])).unwrap_or(""),
        }
    }
    fn is(&self, flag: u8) -> bool {
        self.f & flag != 0
    }
}

struct Lists {
    flags: FlagMap,
    places: WordSet,
    org_suffixes: WordSet,
    org_heads: WordSet,
    triggers: WordSet,
    strong: WordSet,
    place_preps: WordSet,
    place_context: WordSet,
}

fn lists() -> &'static Lists {
    static L: OnceLock<Lists> = OnceLock::new();
    L.get_or_init(build_lists)
}

fn build_lists() -> Lists {
    let mut flags = FlagMap::default();
    let mut add = |w: &'static str, f: u8| *flags.entry(w).or_insert(0) |= f;
    FIRST_NAMES
        .iter()
        .copied()
        .chain(MORE_FIRST_NAMES.split_whitespace())
        .chain(WORLD_FIRST_NAMES.split_whitespace())
        .for_each(|w| add(w, F_FIRST));
    SURNAMES
        .iter()
        .copied()
        .chain(MORE_SURNAMES.split_whitespace())
        .chain(WORLD_SURNAMES.split_whitespace())
        .for_each(|w| add(w, F_SUR));
    NOT_NAMES
        .iter()
        .chain(MORE_NOT_NAMES)
        .for_each(|w| add(w, F_STOP));
    PLACES
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .for_each(|w| add(w, F_PLACE_FIRST));
    AMBIGUOUS.iter().for_each(|w| add(w, F_AMBIGUOUS));
    PLACE_PREFIXES.iter().for_each(|w| add(w, F_PLACE_PREFIX));
    Lists {
        flags,
        org_suffixes: ORG_SUFFIXES.iter().copied().collect(),
        org_heads: ORG_HEADS.iter().copied().collect(),
        triggers: TRIGGERS.iter().copied().collect(),
        strong: STRONG.iter().copied().collect(),
        place_preps: PLACE_PREPS.iter().copied().collect(),
        place_context: PLACE_CONTEXT.iter().copied().collect(),
        places: PLACES
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect(),
    }
}

/// Title-case words that are never names (headings, products, departments).
#[rustfmt::skip]
const MORE_NOT_NAMES: &[&str] = &[
    "project", "report", "policy", "office", "center", "centre", "data", "system", "systems",
    "security", "privacy", "protection", "management", "meeting", "conference", "hotel",
    "restaurant", "church", "airport", "station", "museum", "library", "club", "foundation",
    "institute", "college", "academy", "river", "lake", "mountain", "mount", "island", "beach",
    "valley", "airlines", "international", "national", "global", "online", "digital", "health",
    "medical", "insurance", "finance", "financial", "technology", "technologies", "software", "app",
    "api", "product", "products", "sales", "marketing", "engineering", "research", "development",
    "hr", "dept", "re", "fw", "fwd", "subject", "note", "notes", "update", "summary", "agenda",
    "minutes", "invoice", "order", "payment", "receipt", "ticket", "request", "issue", "task",
    "action", "item", "items", "total", "amount", "status", "level", "plan", "premium", "platinum",
    "free", "pro", "plus", "basic", "standard", "avenue", "boulevard", "ministry", "department",
    "agency", "association", "society", "council", "committee", "government", "federal", "republic",
    "kingdom", "united", "states", "group", "holdings", "corporation", "limited", "partners",
    "hospital", "clinic", "school", "university", "bank", "mr", "mrs", "ms", "miss", "dr", "prof",
    "professor", "doctor", "captain", "judge", "senator", "sergeant", "officer", "agent",
    "detective", "reverend", "rev", "sr", "sra", "srta", "jr", "phd", "md", "esq", "herr", "frau",
    "mme", "mlle", "dear", "hello", "hi", "hey", "best", "kind", "warm", "yours", "truly",
    "faithfully", "welcome", "congratulations", "happy", "birthday", "good", "morning", "afternoon",
    "evening", "night", "day", "week", "month", "year", "new", "old", "big", "small", "great",
    "little", "high", "low", "open", "close", "closed", "private", "public", "personal",
    "confidential", "urgent", "important", "final", "draft", "version", "page", "section",
    "chapter", "table", "figure", "appendix", "step", "phase", "part", "question", "answer",
    "error", "warning", "info", "debug", "true", "false", "null", "none", "user", "users", "admin",
    "guest", "client", "server", "database", "password", "login", "username", "id", "key", "token",
    "file", "folder", "document", "form", "field", "value", "type", "class", "object", "list",
    "string", "json", "xml", "html", "http", "https", "url", "web", "site", "website", "blog",
    "post", "news", "media", "video", "photo", "image", "music", "movie", "book", "game", "sport",
    "world", "cup", "league", "championship", "olympics", "award", "prize", "festival", "holiday",
    "weekend", "season", "spring", "autumn", "fall", "winter", "morning", "north", "south", "east",
    "west", "central", "upper", "lower", "greater", "street", "road", "lane", "drive", "court",
    "place", "square", "apartment", "building", "floor", "room", "suite", "yes", "no", "maybe",
    "sure", "ok", "note", "ps", "nb", "fyi", "asap", "eta", "faq", "tbd", "n/a", "covid", "ai",
    "ml", "llm", "gpt", "chatgpt", "openai", "google", "microsoft", "apple", "amazon", "facebook",
    "meta", "twitter", "linkedin", "youtube", "instagram", "whatsapp", "slack", "zoom", "teams",
    "github", "gitlab", "windows", "linux", "android", "iphone", "ios", "excel", "word",
    "powerpoint", "outlook", "gmail", "python", "java", "javascript", "rust", "go", "ruby",
    "christian", "muslim", "jewish", "hindu", "buddhist", "catholic", "protestant", "orthodox",
    "african", "asian", "chinese", "japanese", "korean", "indian", "arab", "arabic", "russian",
    "italian", "portuguese", "dutch", "swedish", "polish", "turkish", "greek", "mexican",
    "canadian", "australian", "irish", "scottish", "welsh", "latin", "hispanic", "islamic", "lord",
    "lady", "king", "queen", "prince", "princess", "saint", "st", "holy", "bible", "ask", "call",
    "tell", "send", "contact", "invite", "meet", "thank", "ping", "forward", "reply", "message",
    "notify", "remind", "get", "give", "see", "talk", "speak", "check", "inform", "email", "visit",
    "welcome", "congrats", "sorry", "attendees", "participants", "signed", "regards", "sincerely",
    "patient", "referred", "according", "per", "via",
];

/// Given names that are also common English words: not names when alone.
#[rustfmt::skip]
const AMBIGUOUS: &[&str] = &[
    "will", "mark", "grace", "rose", "may", "june", "bill", "frank", "joy", "hope", "faith", "long",
    "young", "white", "green", "black", "brown", "king", "bell", "hill", "wood", "rice", "price",
    "cook", "ward", "hunt", "stone", "west", "gray", "park", "lane", "ray", "max", "jack", "sun",
    "ma", "li", "he", "do", "le", "ho", "ng", "lim", "art", "guy", "sandy", "penny", "amber",
    "summer", "august", "eve", "sky", "jordan", "paris", "victoria", "florence", "georgia",
    "virginia", "chase", "miles", "wells", "walker", "hunter", "cole", "fox", "ford", "grant",
    "carter", "mason", "cooper", "turner", "baker", "parker", "marshall", "hall", "ali", "han",
    "jung", "shin", "long", "hu", "xu", "wu", "yu", "min", "jun", "lei", "yan", "an", "anh", "tan",
    "das", "shah", "rao", "bruno", "dean", "drew", "ivy", "iris", "lily", "ruby", "pearl", "daisy",
    "crystal", "dawn", "april", "autumn", "harmony", "melody", "honey", "ginger", "holly",
    "heather", "hazel", "olive", "violet", "jade", "sterling", "major", "sage", "rich", "hart",
    "moss", "key", "case", "page", "chance", "sunny", "gene", "carol", "christian", "dallas",
    "houston", "austin", "phoenix", "orlando", "charlotte", "sofia", "lima", "nice", "chad", "mali",
    "niger", "lincoln", "washington", "kingston", "chelsea", "brooklyn", "madison", "jackson",
    "cameron", "india", "china", "israel", "salvador", "santiago", "alexandria", "medina",
    "valencia", "florida", "carolina", "york", "paul", "thomas", "lee", "ben", "bo", "na", "ha",
    "nam", "son", "song", "oh", "ji", "ju", "mo", "ye", "du", "su", "fan", "fu", "gu", "lu", "ren",
    "ding", "bach", "ly", "to", "ta", "vo", "mai", "my", "van", "tam", "thi", "bin", "ai", "bao",
    "chi", "may", "man", "gang", "hong", "kong", "long", "ping", "ting", "win", "ken", "don", "ron",
    "sam", "pat", "tom", "ted", "nick", "sue", "kim", "love", "storm", "star", "angel", "dove",
    "reed", "bond", "gill", "wolf", "marks", "banks", "brooks", "sharp", "small", "short", "strong",
    "swift", "little", "golden", "gold", "silver", "best", "hardy", "noble", "sweet", "joyce",
    "early", "friend", "lamb", "bishop", "pope", "sexton", "mann", "day", "english", "french",
    "street", "church", "buck", "bud", "buddy", "chance", "clay", "cliff", "cole", "curt", "dee",
    "del", "dick", "earnest", "ed", "forrest", "foster", "griffin", "hal", "ike", "kent", "les",
    "lou", "mack", "marlin", "merle", "palmer", "pete", "porter", "rex", "rick", "rocky", "rod",
    "royal", "rusty", "sol", "sonny", "tanner", "trey", "tucker", "atlas", "beau", "knox", "ryder",
    "sawyer", "maverick", "zion", "remington", "hudson", "easton", "fields", "powers", "person",
    "rivers", "branch", "cherry", "rush", "bean", "shields", "spears", "frost", "snow", "house",
    "good", "golden", "hyde", "lyon", "booker", "potts", "winters", "summers", "waters", "woods",
    "mills", "hope", "joy", "august", "junior", "prince",
];

/// Words after which a capitalised word is a place when the place word is ambiguous, and after
/// which an unknown capitalised word is a place ("lives in Springfield").
#[rustfmt::skip]
const PLACE_CONTEXT: &[&str] = &[
    "live in", "lives in", "lived in", "living in", "based in", "located in", "born in", "moved to",
    "move to", "moving to", "relocated to", "resides in", "reside in", "resident of",
    "headquartered in", "city of", "town of", "village of", "suburb of", "province of", "state of",
    "capital of", "travel to", "travelled to", "traveled to", "flew to", "flight to", "trip to",
    "visit to", "visiting", "visited",
];

/// Prepositions that make an ambiguous known place ("Jordan", "Georgia") a place.
#[rustfmt::skip]
const PLACE_PREPS: &[&str] = &[
    "in", "at", "near", "across", "around", "outside", "inside", "throughout", "from", "to", "via",
    "towards", "toward",
];

/// Street types after a house number ("123 Main Street"): the usual English ones and the
/// street suffixes of US postal addressing ("Crossing", "Pike", "Knolls", "Stravenue").
#[rustfmt::skip]
const STREET_TYPES: &[&str] = &[
    "street", "st", "avenue", "ave", "road", "rd", "boulevard", "blvd", "lane", "ln", "drive", "dr",
    "court", "ct", "place", "pl", "way", "terrace", "square", "sq", "parkway", "pkwy", "highway",
    "hwy", "circle", "cir", "plaza", "trail", "alley", "row", "crescent", "close", "gardens",
    "walk", "grove", "hill", "park", "view", "heights", "route", "streets", "roads", "drives",
    "courts", "ways", "walks", "views", "squares", "circles", "parks", "parkways", "plains",
    "branch", "bridge", "brook", "brooks", "burg", "burgs", "bypass", "camp", "canyon", "cape",
    "causeway", "center", "centers", "cliff", "cliffs", "club", "common", "commons", "corner",
    "corners", "course", "cove", "coves", "creek", "crest", "crossing", "crossroad", "curve",
    "dale", "dam", "divide", "estate", "estates", "expressway", "extension", "extensions", "fall",
    "falls", "ferry", "field", "fields", "flat", "flats", "ford", "fords", "forest", "forge",
    "forges", "fork", "forks", "fort", "freeway", "garden", "gateway", "glen", "glens", "green",
    "greens", "groves", "harbor", "harbors", "haven", "hills", "hollow", "inlet", "island",
    "islands", "isle", "junction", "junctions", "key", "keys", "knoll", "knolls", "lake", "lakes",
    "land", "landing", "light", "lights", "loaf", "lock", "locks", "lodge", "loop", "mall",
    "manor", "manors", "meadow", "meadows", "mews", "mill", "mills", "mission", "motorway",
    "mount", "mountain", "mountains", "neck", "orchard", "oval", "overpass", "pass", "passage",
    "path", "pike", "pine", "pines", "plain", "point", "points", "port", "ports", "prairie",
    "radial", "ramp", "ranch", "rapid", "rapids", "rest", "ridge", "ridges", "river", "rue", "run",
    "shoal", "shoals", "shore", "shores", "skyway", "spring", "springs", "spur", "spurs",
    "station", "stravenue", "stream", "summit", "throughway", "trace", "track", "trafficway",
    "tunnel", "turnpike", "underpass", "union", "unions", "valley", "valleys", "via", "viaduct",
    "village", "villages", "ville", "vista", "wall", "well", "wells", "expy", "fwy", "tpke",
];

/// Words that open a place name before another capitalised word ("Lake Charles", "Port
/// Elizabeth", "Fort William", "North Brianmouth", "New Haven").
#[rustfmt::skip]
const PLACE_PREFIXES: &[&str] = &[
    "lake", "port", "fort", "mount", "mt", "cape", "point", "glen", "north", "south", "east",
    "west", "new", "upper", "lower", "saint", "san", "santa", "sainte", "bay",
];

/// Endings of town names ("Jacksonville", "Williamsburg", "Sarahborough", "Portsmouth").
#[rustfmt::skip]
const TOWN_SUFFIXES: &[&str] = &[
    "ville", "burg", "burgh", "borough", "boro", "bury", "chester", "mouth", "port", "haven",
    "stad", "furt", "fort", "shire", "side", "view", "town", "land", "field", "ford", "berg",
    "polis", "dale", "mont",
];

/// Street words that start an address in several languages ("Calle Mayor", "Rua Augusta").
#[rustfmt::skip]
const STREET_HEADS: &[&str] = &[
    "calle", "avenida", "rua", "rue", "avenue", "piazza", "viale", "carrer", "paseo", "plaza",
    "praça", "praca", "boulevard", "ulica", "ul",
];

/// German/Dutch/Nordic street-name endings ("Hauptstraße 5", "Keizersgracht").
#[rustfmt::skip]
const STREET_ENDINGS: &[&str] = &[
    "strasse", "straße", "str.", "gasse", "allee", "platz", "straat", "gracht", "laan", "plein",
    "vej", "gatan", "gata", "veien", "katu", "utca",
];

/// Words that end an organisation name (compared case-sensitively after a trailing `.` is
/// removed; the abbreviations keep their usual spelling).
#[rustfmt::skip]
const ORG_SUFFIXES: &[&str] = &[
    "Inc", "Incorporated", "Ltd", "Limited", "LLC", "LLP", "LP", "GmbH", "AG", "KG", "SpA", "SpA",
    "Srl", "SRL", "SA", "SAS", "SARL", "NV", "BV", "AB", "ASA", "Oy", "Oyj", "PLC", "Plc", "Corp",
    "Corporation", "Co", "Company", "Group", "Holdings", "Pty", "Bhd", "KK", "Technologies",
    "Partners", "Associates", "Bank", "Foundation", "Institute", "University", "College",
    "Hospital", "Clinic", "Airlines", "Airways", "Pharmaceuticals", "Laboratories", "Labs",
    "Industries", "Enterprises", "Agency", "Association", "Society", "Council", "Committee",
    "Authority", "Commission", "Bureau", "Federation", "Insurance", "Ventures", "Consulting",
    "Motors", "Systems", "Solutions", "Software", "Networks", "Logistics", "Capital", "Trust",
    "Academy", "School", "Ministry", "Department", "Organization", "Organisation", "Fund",
];

/// Heads of "X of Y" organisation names.
#[rustfmt::skip]
const ORG_HEADS: &[&str] = &[
    "University", "Bank", "Ministry", "Department", "Institute", "College", "School", "Academy",
    "Museum", "Bureau", "Office", "Board", "Council", "Federation", "Association", "Society",
    "Church", "Court", "Chamber", "Commission", "Agency", "Hospital", "Faculty", "Embassy",
    "Consulate", "Government", "Republic", "Kingdom", "Order", "League", "Union",
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

/// Bytes that make up words: ASCII letters and every byte of a multi-byte scalar.
static WORD_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphabetic() || i >= 0x80;
        i += 1;
    }
    t
};

/// Bytes that can start a token: ASCII capitals and bytes of multi-byte scalars.
static CAP_OR_HIGH: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_uppercase() || i >= 0x80;
        i += 1;
    }
    t
};

#[derive(Debug, Clone)]
struct Token {
    start: usize,
    end: usize,
    cap: bool,
    initial: bool,
    /// The word carried a possessive `'s` (not part of the span).
    poss: bool,
}

/// Capitalised words of `text` (lowercase words are skipped without decoding: a lowercase word
/// between two capitalised ones breaks a run anyway, which the gap check sees).
fn tokens(text: &str) -> Vec<Token> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let n = b.len();
    let mut i = 0;
    let is_word_byte = |x: u8| WORD_BYTE[usize::from(x)];
    while i < n {
        // Only words that start with an ASCII capital or a non-ASCII scalar become tokens, so
        // the scan jumps from one such byte to the next instead of walking every word.
        while i < n && !CAP_OR_HIGH[usize::from(b[i])] {
            i += 1;
        }
        if i >= n {
            break;
        }
        // Inside a word ("McDonald", the second byte of "é", "well-Known"): the word that
        // holds it started earlier and did not start with a capital.
        let inside = (i >= 1 && is_word_byte(b[i - 1]))
            || (i >= 2 && matches!(b[i - 1], b'\'' | b'-') && is_word_byte(b[i - 2]));
        if inside {
            i += 1;
            continue;
        }
        let c = b[i];
        // Start of a word: find its end (letters, non-ASCII, inner ' or - before a letter).
        let start = i;
        let mut end = i;
        while end < n {
            let x = b[end];
            if is_word_byte(x)
                || ((x == b'\'' || x == b'-') && b.get(end + 1).is_some_and(|&y| is_word_byte(y)))
            {
                end += 1;
            } else {
                break;
            }
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
        let mut poss = false;
        if word[..end_trim].ends_with("'s") && end_trim > 3 {
            end_trim -= 2;
            n -= 2;
            poss = true;
        } else if word[end_trim..].starts_with('\u{2019}') {
            poss = true;
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
            poss,
        });
    }
    out
}

/// How two neighbouring capitalised tokens are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gap {
    /// One space.
    Space,
    /// After an initial: "J. Smith", "J.Smith".
    Initial,
    /// Lower-case name particles: "van der", "da", "bin".
    Particle,
    /// "of", "of the", "and", "&", "for", "de": only inside organisation and place names.
    Connector,
    /// Anything else breaks a run.
    Break,
}

fn gap(text: &str, a: &Token, b: &Token) -> Gap {
    // Gaps longer than two particles ("van der", "bin") break a run: checked first, since
    // the gap between two capitalised words of prose can be a whole sentence.
    if a.poss || b.start.saturating_sub(a.end) > 12 {
        return Gap::Break;
    }
    let Some(g) = text.get(a.end..b.start) else {
        return Gap::Break;
    };
    if a.poss {
        return Gap::Break;
    }
    match g {
        " " => Gap::Space,
        ". " | "." if a.initial => Gap::Initial,
        " & " | " and " | " of " | " of the " | " for " | " de " | " del " | " es " | " upon "
        | " on " => Gap::Connector,
        _ => {
            let inner = g.strip_prefix(' ').and_then(|x| x.strip_suffix(' '));
            match inner {
                Some(w) if !w.is_empty() && w.split(' ').count() <= 2 => {
                    if w.split(' ').all(|p| NAME_PARTICLES.contains(&p)) {
                        Gap::Particle
                    } else {
                        Gap::Break
                    }
                }
                _ => Gap::Break,
            }
        }
    }
}

fn sentence_start(text: &str, pos: usize) -> bool {
    let before = text
        .get(..pos)
        .unwrap_or("")
        .trim_end_matches([' ', '"', '\'', '(', '*', '-']);
    before.is_empty() || before.ends_with(['.', '!', '?', '\n', ':', ';', '>'])
}

/// The last `max` bytes before `pos` (widened to a char boundary), lower-cased, trailing spaces
/// trimmed, on the stack.
fn tail_lower(text: &str, pos: usize, max: usize, buf: &mut [u8; 40]) -> usize {
    let before = text.get(..pos).unwrap_or("");
    let mut s = before.len().saturating_sub(max.min(buf.len()));
    while s < before.len() && !before.is_char_boundary(s) {
        s += 1;
    }
    let src = before.as_bytes().get(s..).unwrap_or(&[]);
    let n = src.len().min(buf.len());
    buf[..n].copy_from_slice(&src[src.len() - n..]);
    buf[..n].make_ascii_lowercase();
    let mut m = n;
    while m > 0 && matches!(buf[m - 1], b' ' | b'\t' | b'\n' | b'\r') {
        m -= 1;
    }
    m
}

/// Whether the text before `pos` ends with one of `words` (as whole words).
fn ends_with_any(text: &str, pos: usize, words: &[&str]) -> bool {
    let mut buf = [0u8; 40];
    let n = tail_lower(text, pos, 32, &mut buf);
    let t = &buf[..n];
    words.iter().any(|w| {
        let w = w.as_bytes();
        t.ends_with(w) && {
            let pre = &t[..t.len() - w.len()];
            pre.is_empty() || is_phrase_boundary(pre[pre.len() - 1])
        }
    })
}

fn is_phrase_boundary(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'(' | b',' | b'"' | b'\t')
}

/// [`ends_with_any`] for a phrase list compiled into a set: the last few whole-word suffixes of
/// the text before `pos` are looked up (a few hash lookups instead of one comparison per
/// phrase).
fn ends_with_phrase(text: &str, pos: usize, set: &WordSet) -> bool {
    let mut buf = [0u8; 40];
    let n = tail_lower(text, pos, 32, &mut buf);
    let Ok(t) = std::str::from_utf8(&buf[..n]) else {
        return false;
    };
    if set.contains(t) {
        return true;
    }
    let b = t.as_bytes();
    let mut seen = 0;
    for p in (0..b.len()).rev() {
        if is_phrase_boundary(b[p]) {
            if let Some(c) = t.get(p + 1..)
                && !c.is_empty()
                && set.contains(c)
            {
                return true;
            }
            seen += 1;
            if seen >= 4 {
                break;
            }
        }
    }
    false
}

#[rustfmt::skip]
const TRIGGERS: &[&str] = &[
    "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "miss", "dr", "dr.", "prof", "prof.", "sir", "mx",
    "mx.", "name is", "named", "called", "i am", "i'm", "this is", "signed", "signed,", "dear",
    "hi", "hi,", "hello", "hello,", "hey", "thanks", "thanks,", "regards,", "name:", "attn:",
    "attn", "cc:", "contact", "ask", "by", "with", "from", "to", "met", "told", "and", "wife",
    "husband", "son", "daughter", "brother", "sister", "mother", "father", "friend", "colleague",
    "patient", "client", "customer", "employee", "author", "written by", "authored by", "per",
    "according to", "thank", "congratulate", "call", "email", "emailed", "e-mail", "text", "ping",
    "meet", "invite", "invited", "hired", "manager", "boss", "assistant", "nurse", "coach",
    "teacher", "student", "neighbor", "neighbour", "partner", "cousin", "uncle", "aunt",
    "grandmother", "grandfather", "nephew", "niece", "fiance", "fiancee", "spouse", "tenant",
    "landlord", "applicant", "candidate", "owner", "holder", "cardholder", "recipient", "sender",
    "beneficiary", "guardian", "user", "member", "visitor", "guest", "officer", "lawyer",
    "attorney", "director", "ceo", "cto", "cfo", "founder", "president", "chairman", "chair",
    "minister", "senator", "governor", "mayor", "actor", "actress", "singer", "writer", "artist",
    "player", "dear mr", "for", "about", "between", "among", "cc", "bcc", "to:", "from:",
];

fn preceding_trigger(text: &str, pos: usize) -> bool {
    ends_with_phrase(text, pos, &lists().triggers)
}

/// Prepositions and conjunctions among [`TRIGGERS`]: context enough for a known name, not for
/// two unknown capitalised words ("and Faster Search").
#[rustfmt::skip]
const GENERIC_TRIGGERS: &[&str] = &[
    "and", "by", "with", "from", "to", "for", "about", "between", "among", "per", "ask", "call",
    "text", "ping", "meet",
];

/// A preceding trigger that is about people (not a bare preposition).
fn personal_trigger(text: &str, pos: usize) -> bool {
    let mut buf = [0u8; 40];
    let n = tail_lower(text, pos, 32, &mut buf);
    let last_word = buf[..n]
        .rsplit(|&c| c == b' ' || c == b'\n')
        .next()
        .unwrap_or(&[]);
    preceding_trigger(text, pos) && !GENERIC_TRIGGERS.iter().any(|w| w.as_bytes() == last_word)
}

/// A greeting directly before a single word that is followed by `,` or `!` ("Hi Wirote,").
fn greeting(text: &str, start: usize, end: usize) -> bool {
    ends_with_any(
        text,
        start,
        &["hi", "hello", "hey", "good morning", "good afternoon"],
    ) && matches!(text.as_bytes().get(end), Some(b',' | b'!' | b'\n'))
}

/// Strong triggers make even an unknown capitalised word a name.
#[rustfmt::skip]
const STRONG: &[&str] = &[
    "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "miss", "dr", "dr.", "prof", "prof.", "mx", "mx.",
    "name is", "named", "called", "i am", "i'm", "signed", "signed,", "dear", "name:", "professor",
    "doctor", "capt.", "captain", "sgt.", "sergeant", "lt.", "lieutenant", "col.", "gen.", "judge",
    "justice", "senator", "sen.", "rep.", "rev.", "reverend", "fr.", "sr.", "sra.", "srta.", "sig.",
    "sig.ra", "dott.", "dott.ssa", "ing.", "avv.", "herr", "frau", "mme", "mme.", "mlle", "mlle.",
    "m.", "mister", "madam", "madame", "monsieur", "señor", "señora", "senhor", "senhora", "dona",
    "don", "sheikh", "regards,", "sincerely,", "best,", "cheers,", "thanks,", "thank you,",
    "yours,", "wishes,", "respectfully,", "cordially,", "full name:", "patient:", "name :",
    "contact:", "from:", "to:", "attn:", "attention:", "my name's", "i am dr.", "by:", "author:",
    "cc:", "signature:", "employee:", "customer:", "client:", "applicant:", "recipient:", "sender:",
    "agent:", "user:", "owner:", "holder:", "named after", "known as", "aka", "attendees:",
    "participants:", "present:", "members:", "speakers:", "guests:", "invitees:", "team:", "owner:",
    "reviewer:", "reviewers:", "assignee:", "approved by", "reviewed by", "prepared by",
    "submitted by", "signed by", "witness:", "emergency contact:", "next of kin:",
    "account holder:", "name of",
];

fn strong_trigger(text: &str, pos: usize) -> bool {
    ends_with_phrase(text, pos, &lists().strong)
}

/// Words after a run that mark it as a person ("Ana Souza said", "Okafor's").
fn following_trigger(text: &str, end: usize) -> bool {
    let after = text.get(end..).unwrap_or("");
    let mut buf = [0u8; 16];
    let n = after.len().min(buf.len());
    buf[..n].copy_from_slice(&after.as_bytes()[..n]);
    buf[..n].make_ascii_lowercase();
    let t = &buf[..n];
    const AFTER: &[&str] = &[
        " said",
        " says",
        " told",
        " wrote",
        " asked",
        " replied",
        " added",
        " explained",
        " noted",
        " stated",
        " argued",
        " answered",
        ", who ",
        " who ",
        " (born",
        ", aged",
        " was born",
        " is a ",
        " was a ",
        " joined",
        " signed",
        " called",
        " emailed",
        " texted",
        " thinks",
        " thought",
        " wants",
        " wanted",
        " lives",
        " lived",
        " works",
        " worked",
        " sent",
        " and his ",
        " and her ",
        ", his ",
        ", her ",
        " himself",
        " herself",
        "'s ",
        "\u{2019}s ",
        ", phd",
        ", md",
        ", jr",
        ", sr",
    ];
    AFTER.iter().any(|w| t.starts_with(w.as_bytes()))
}

/// Surname shape: "McAllister", "O'Neill", or a family-name ending of many languages.
fn surname_shape(word: &str, key: &str) -> bool {
    let b = word.as_bytes();
    if (b.len() >= 4 && b.starts_with(b"Mc") && b[2].is_ascii_uppercase())
        || (b.len() >= 4 && b.starts_with(b"O'") && b[2].is_ascii_uppercase())
    {
        return true;
    }
    if key.len() < 6 {
        return false;
    }
    const ENDINGS: &[&str] = &[
        "ov", "ova", "ev", "eva", "enko", "ovic", "evic", "ovich", "evich", "sky", "ski", "ska",
        "wicz", "czyk", "escu", "oglu", "poulos", "opoulou", "akis", "idis", "iadis", "shvili",
        "dze", "sson", "ssen", "strom", "zadeh", "pour", "nejad", "uddin", "ullah", "wala", "appa",
        "swamy", "murthy", "moto", "mura", "yama", "kawa", "shita", "zaki", "saki", "uchi",
        "guchi", "ez", "ini", "elli", "etti", "ucci", "otti", "yan", "yev", "yeva", "chuk", "enko",
        "iuk", "ishvili", "ardt", "mann", "aitis", "auskas", "avicius", "onen", "anen", "inen",
        "ainen", "dottir", "aj", "illo", "edo", "eira", "inho",
    ];
    ENDINGS.iter().any(|e| key.ends_with(e))
}

/// Kind of an entity found without a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntityKind {
    /// A person's name.
    Person,
    /// A place or address.
    Location,
    /// A company, institution or public body.
    Organization,
}

/// One entity: byte span in the scanned text, score and kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Entity {
    pub start: usize,
    pub end: usize,
    pub score: f32,
    pub kind: EntityKind,
}

fn tok_str<'a>(text: &'a str, t: &Token) -> &'a str {
    text.get(t.start..t.end).unwrap_or("")
}

fn org_suffix(text: &str, t: &Token) -> bool {
    lists().org_suffixes.contains(tok_str(text, t))
}

/// Extends an organisation span over a trailing "." of an abbreviated suffix.
fn with_dot(text: &str, t: &Token) -> usize {
    let w = tok_str(text, t);
    let abbrev = matches!(w, "Inc" | "Ltd" | "Corp" | "Co" | "Bhd");
    if abbrev && text.as_bytes().get(t.end) == Some(&b'.') {
        t.end + 1
    } else {
        t.end
    }
}

/// Whether token `i` stands alone: no capitalised word directly before or after it (a run of
/// one).
fn standalone(text: &str, toks: &[Token], i: usize) -> bool {
    let before = i > 0 && gap(text, &toks[i - 1], &toks[i]) != Gap::Break;
    let after = i + 1 < toks.len() && gap(text, &toks[i], &toks[i + 1]) != Gap::Break;
    !before && !after
}

/// Whether the lower-cased word is a family name of the lists (or shaped like one).
fn is_surname(text: &str, t: &Token, key: &Key) -> bool {
    key.is(F_SUR) || surname_shape(tok_str(text, t), key.as_str())
}

/// Firms named after people, a common pattern of law, accounting and trading firms:
/// "Miller, Davis and Wilson" (three family names, commas and a final "and"/"&"), "Smith and
/// Sons", "Brown & Co", and a lone hyphenated pair of family names ("Moore-Jackson") with no
/// given name, title or personal context around it. Marks the tokens used.
fn find_firms(text: &str, toks: &[Token], used: &mut [bool], keys: &[Key], out: &mut Vec<Entity>) {
    let sep = |a: &Token, b: &Token| text.get(a.end..b.start).unwrap_or("");
    // Every pattern below joins a token to the next with ", ", " and " or " & " (or is one
    // hyphenated token): a byte check rules out most tokens before any string comparison.
    let joined = |a: &Token, b: &Token| {
        let n = b.start.saturating_sub(a.end);
        (2..=6).contains(&n) && matches!(text.as_bytes().get(a.end), Some(b',' | b' '))
    };
    let mut i = 0;
    while i < toks.len() {
        if used[i] || !toks[i].cap || toks[i].initial {
            i += 1;
            continue;
        }
        let next_joined = i + 1 < toks.len() && joined(&toks[i], &toks[i + 1]);
        let hyphen = text
            .as_bytes()
            .get(toks[i].start..toks[i].end)
            .is_some_and(|w| w.contains(&b'-'));
        if !next_joined && !hyphen {
            i += 1;
            continue;
        }
        // "A, B and C" / "A, B, and C" / "A, B & C".
        if i + 2 < toks.len()
            && !used[i + 1]
            && !used[i + 2]
            && sep(&toks[i], &toks[i + 1]) == ", "
            && matches!(sep(&toks[i + 1], &toks[i + 2]), " and " | ", and " | " & ")
            && (i == 0 || gap(text, &toks[i - 1], &toks[i]) == Gap::Break)
            && (i + 3 >= toks.len() || gap(text, &toks[i + 2], &toks[i + 3]) == Gap::Break)
            && (i..i + 3).all(|j| {
                !toks[j].poss && !keys[j].is(F_STOP) && is_surname(text, &toks[j], &keys[j])
            })
            && !(i..i + 3).all(|j| keys[j].is(F_FIRST))
        {
            out.push(Entity {
                start: toks[i].start,
                end: toks[i + 2].end,
                score: 0.65,
                kind: EntityKind::Organization,
            });
            for u in &mut used[i..i + 3] {
                *u = true;
            }
            i += 3;
            continue;
        }
        // "Smith and Sons", "Brown & Co".
        if i + 1 < toks.len()
            && !used[i + 1]
            && matches!(sep(&toks[i], &toks[i + 1]), " and " | " & ")
            && matches!(
                tok_str(text, &toks[i + 1]),
                "Sons" | "Son" | "Daughters" | "Co"
            )
            && is_surname(text, &toks[i], &keys[i])
        {
            out.push(Entity {
                start: toks[i].start,
                end: with_dot(text, &toks[i + 1]),
                score: 0.7,
                kind: EntityKind::Organization,
            });
            used[i] = true;
            used[i + 1] = true;
            i += 2;
            continue;
        }
        // "Moore-Jackson" alone.
        let w = tok_str(text, &toks[i]);
        if let Some((x, y)) = w.split_once('-')
            && !y.contains('-')
            && standalone(text, toks, i)
            && !toks[i].poss
            && !strong_trigger(text, toks[i].start)
            && !greeting(text, toks[i].start, toks[i].end)
            && !following_trigger(text, toks[i].end)
            && !personal_trigger(text, toks[i].start)
        {
            let (kx, ky) = (Key::new(x), Key::new(y));
            let cap = |p: &str| p.chars().next().is_some_and(char::is_uppercase);
            if cap(x) && cap(y) && kx.is(F_SUR) && ky.is(F_SUR) {
                out.push(Entity {
                    start: toks[i].start,
                    end: toks[i].end,
                    score: 0.6,
                    kind: EntityKind::Organization,
                });
                used[i] = true;
            }
        }
        i += 1;
    }
}

/// Organisations: capitalised runs ending in a suffix ("Acme Widgets Ltd.", "Deutsche Bank",
/// "Stanford University") and "X of Y" names ("University of Lagos", "Bank of America",
/// "Ministry of Health"). Marks the tokens used.
fn find_orgs(text: &str, toks: &[Token], used: &mut [bool], keys: &[Key], out: &mut Vec<Entity>) {
    let l = lists();
    // "Acme plc", "Ferro S.p.A.": suffixes that are lower case or dotted, so not one token.
    const AFTER_SUFFIXES: &[&str] = &[
        " plc",
        " & Co.",
        " S.p.A.",
        " S.A.",
        " N.V.",
        " B.V.",
        " S.r.l.",
        " S.L.",
        " S.A.S.",
        " Ltda.",
        " A/S",
        " e.V.",
        " K.K.",
        " Co., Ltd.",
        " Sdn. Bhd.",
        " Pty. Ltd.",
    ];
    let mut k = 0;
    while k < toks.len() {
        let after = text.get(toks[k].end..).unwrap_or("");
        let ab = after.as_bytes();
        if !(ab.len() > 3
            && ab[0] == b' '
            && matches!(
                ab[1],
                b'p' | b'&' | b'S' | b'N' | b'B' | b'L' | b'A' | b'e' | b'K' | b'C'
            ))
        {
            k += 1;
            continue;
        }
        let suffix = AFTER_SUFFIXES.iter().find(|s| {
            after.starts_with(**s)
                && after
                    .as_bytes()
                    .get(s.len())
                    .is_none_or(|c| !c.is_ascii_alphanumeric())
        });
        if let (Some(suffix), false) = (suffix, used[k]) {
            let mut a = k;
            while a > 0
                && k - a < 3
                && gap(text, &toks[a - 1], &toks[a]) == Gap::Space
                && !used[a - 1]
            {
                a -= 1;
            }
            while a < k && keys[a].is(F_STOP) {
                a += 1;
            }
            let end = toks[k].end + suffix.len();
            out.push(Entity {
                start: toks[a].start,
                end,
                score: 0.7,
                kind: EntityKind::Organization,
            });
            // The suffix's own initials ("S", "A") are used too.
            let mut m = k;
            while m < toks.len() && toks[m].start < end {
                used[m] = true;
                m += 1;
            }
            for u in &mut used[a..=k] {
                *u = true;
            }
            k = m;
            continue;
        }
        k += 1;
    }
    let mut i = 0;
    while i < toks.len() {
        if used[i] {
            i += 1;
            continue;
        }
        let w = tok_str(text, &toks[i]);
        // "X of Y": head, " of " / " of the ", then 1-3 capitalised tokens.
        if i + 1 < toks.len() && l.org_heads.contains(w) {
            let g = text.get(toks[i].end..toks[i + 1].start).unwrap_or("");
            if matches!(g, " of " | " of the " | " for ") {
                let mut j = i + 1;
                while j + 1 < toks.len()
                    && j - i < 4
                    && matches!(
                        gap(text, &toks[j], &toks[j + 1]),
                        Gap::Space | Gap::Connector
                    )
                    && !keys[j + 1].is(F_STOP)
                {
                    j += 1;
                }
                // Capitalised words before the head ("Royal Bank of Canada").
                let mut a = i;
                while a > 0
                    && i - a < 3
                    && gap(text, &toks[a - 1], &toks[a]) == Gap::Space
                    && !keys[a - 1].is(F_STOP)
                    && !used[a - 1]
                {
                    a -= 1;
                }
                out.push(Entity {
                    start: toks[a].start,
                    end: toks[j].end,
                    score: 0.75,
                    kind: EntityKind::Organization,
                });
                for u in &mut used[a..=j] {
                    *u = true;
                }
                i = j + 1;
                continue;
            }
        }
        // Suffix: capitalised words before it (joined by spaces, "&", "and").
        let comma_suffix = i > 0
            && text.get(toks[i - 1].end..toks[i].start) == Some(", ")
            && matches!(
                w,
                "Inc" | "Ltd" | "LLC" | "LLP" | "GmbH" | "AG" | "SA" | "Corp" | "PLC"
            );
        if org_suffix(text, &toks[i]) && i > 0 && !used[i - 1] {
            let joined = |a: usize| {
                matches!(gap(text, &toks[a - 1], &toks[a]), Gap::Space)
                    || matches!(
                        text.get(toks[a - 1].end..toks[a].start),
                        Some(" & " | " and ")
                    )
                    || (a == i && comma_suffix)
            };
            let mut a = i;
            while a > 0 && i - a < 4 && joined(a) && !used[a - 1] {
                a -= 1;
            }
            // Leading stop words ("The", "Our") are not part of the name.
            while a < i && keys[a].is(F_STOP) && !org_suffix(text, &toks[a]) {
                a += 1;
            }
            // Stacked suffixes: "Brightline Software GmbH", "Acme Holdings Ltd".
            let mut e = i;
            while e + 1 < toks.len()
                && e - i < 2
                && gap(text, &toks[e], &toks[e + 1]) == Gap::Space
                && org_suffix(text, &toks[e + 1])
            {
                e += 1;
            }
            if a < i {
                out.push(Entity {
                    start: toks[a].start,
                    end: with_dot(text, &toks[e]),
                    score: 0.7,
                    kind: EntityKind::Organization,
                });
                for u in &mut used[a..=e] {
                    *u = true;
                }
                i = e + 1;
                continue;
            }
        }
        // Lower-case "plc" after a capitalised run.
        i += 1;
    }
}

/// Cheap pre-check for [`PLACE_CONTEXT`]: the word before `pos` is one those phrases end with.
fn place_context_word(text: &str, pos: usize) -> bool {
    let before = text.get(..pos).unwrap_or("").as_bytes();
    let mut end = before.len();
    while end > 0 && before[end - 1] == b' ' {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && end - start < 9 && before[start - 1].is_ascii_alphabetic() {
        start -= 1;
    }
    let w = std::str::from_utf8(&before[start..end]).unwrap_or("");
    ["in", "to", "of", "visiting", "visited"]
        .iter()
        .any(|p| w.eq_ignore_ascii_case(p))
}

/// House number (1–6 digits, optional letter) directly before byte `pos` ("123 ", "12b ").
fn house_number_before(text: &str, pos: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut p = pos;
    if p == 0 || b[p - 1] != b' ' {
        return None;
    }
    p -= 1;
    if p > 0 && b[p - 1].is_ascii_alphabetic() && p >= 2 && b[p - 2].is_ascii_digit() {
        p -= 1;
    }
    let end = p;
    while p > 0 && b[p - 1].is_ascii_digit() && end - p < 6 {
        p -= 1;
    }
    if p == end || (p > 0 && (b[p - 1].is_ascii_alphanumeric() || b[p - 1] == b'.')) {
        return None;
    }
    Some(p)
}

/// Locations: street addresses, known places, unknown places after "lives in" and before
/// ", <known place>". Marks the tokens used.
fn find_places(text: &str, toks: &[Token], used: &mut [bool], keys: &[Key], out: &mut Vec<Entity>) {
    let l = lists();
    let mut phrase = String::new();
    let mut i = 0;
    while i < toks.len() {
        if used[i] {
            i += 1;
            continue;
        }
        let key = keys[i].as_str();
        // Street address: number, 1-3 capitalised words, street type.
        if let Some(num) = house_number_before(text, toks[i].start) {
            let mut j = i;
            let mut found = None;
            while j < toks.len() && j - i < 4 && !used[j] {
                if j > i && STREET_TYPES.contains(&keys[j].as_str()) {
                    found = Some(j);
                }
                if j + 1 < toks.len() && gap(text, &toks[j], &toks[j + 1]) != Gap::Space {
                    break;
                }
                j += 1;
            }
            if let Some(j) = found {
                let mut end = toks[j].end;
                if text.as_bytes().get(end) == Some(&b'.')
                    && matches!(
                        keys[j].as_str(),
                        "st" | "rd"
                            | "ave"
                            | "blvd"
                            | "ln"
                            | "dr"
                            | "ct"
                            | "pl"
                            | "sq"
                            | "pkwy"
                            | "hwy"
                            | "cir"
                    )
                {
                    end += 1;
                }
                out.push(Entity {
                    start: num,
                    end,
                    score: 0.8,
                    kind: EntityKind::Location,
                });
                for u in &mut used[i..=j] {
                    *u = true;
                }
                i = j + 1;
                continue;
            }
        }
        // "Calle Mayor", "Rua Augusta 12".
        if STREET_HEADS.contains(&key) && i + 1 < toks.len() && !used[i + 1] {
            let g = gap(text, &toks[i], &toks[i + 1]);
            if matches!(g, Gap::Space | Gap::Particle | Gap::Connector) {
                let mut j = i + 1;
                while j + 1 < toks.len()
                    && j - i < 4
                    && matches!(
                        gap(text, &toks[j], &toks[j + 1]),
                        Gap::Space | Gap::Particle
                    )
                {
                    j += 1;
                }
                out.push(Entity {
                    start: toks[i].start,
                    end: toks[j].end,
                    score: 0.75,
                    kind: EntityKind::Location,
                });
                for u in &mut used[i..=j] {
                    *u = true;
                }
                i = j + 1;
                continue;
            }
        }
        // "Hauptstraße 5", "Keizersgracht".
        if key.len() > 7 && STREET_ENDINGS.iter().any(|e| key.ends_with(e)) {
            out.push(Entity {
                start: toks[i].start,
                end: toks[i].end,
                score: 0.7,
                kind: EntityKind::Location,
            });
            used[i] = true;
            i += 1;
            continue;
        }
        // "Lake Charles", "Port Elizabeth", "North Brianmouth": a place prefix before a name,
        // an unknown word or a town name (not a known place: those come next).
        if keys[i].is(F_PLACE_PREFIX)
            && !toks[i].poss
            && i + 1 < toks.len()
            && !used[i + 1]
            && gap(text, &toks[i], &toks[i + 1]) == Gap::Space
            && !keys[i + 1].is(F_STOP)
            && !toks[i + 1].initial
            && !(keys[i].is(F_PLACE_FIRST) && known_place_at(text, toks, keys, i))
        {
            let compass = matches!(
                key,
                "north" | "south" | "east" | "west" | "new" | "upper" | "lower"
            );
            let next = &keys[i + 1];
            let name_like = next.is(F_FIRST | F_SUR)
                || town_word(next.as_str())
                || !next.is(F_AMBIGUOUS | F_PLACE_FIRST);
            // "North Brianmouth" yes; "West Smith said" (a person after a compass word at a
            // sentence start) stays a person unless the word is a town name.
            if name_like
                && (!compass || town_word(next.as_str()) || !sentence_start(text, toks[i].start))
            {
                out.push(Entity {
                    start: toks[i].start,
                    end: toks[i + 1].end,
                    score: 0.6,
                    kind: EntityKind::Location,
                });
                used[i] = true;
                used[i + 1] = true;
                i += 2;
                continue;
            }
        }
        // "Jacksonville", "Brianmouth": a given or family name with a town ending, not itself
        // a name of the lists.
        if !keys[i].is(F_FIRST | F_SUR | F_STOP) && town_word(key) && !toks[i].poss {
            out.push(Entity {
                start: toks[i].start,
                end: toks[i].end,
                score: 0.6,
                kind: EntityKind::Location,
            });
            used[i] = true;
            i += 1;
            continue;
        }
        // Known places, longest first (up to 5 tokens, joined by spaces or lower-case words of
        // the name: "Rio de Janeiro", "Bosnia and Herzegovina").
        let mut best = None;
        if keys[i].is(F_PLACE_FIRST) {
            phrase.clear();
            phrase.push_str(key);
            let mut j = i;
            loop {
                if l.places.contains(phrase.as_str()) {
                    best = Some(j);
                }
                if j + 1 >= toks.len()
                    || j - i >= 4
                    || used[j + 1]
                    || matches!(gap(text, &toks[j], &toks[j + 1]), Gap::Break | Gap::Initial)
                {
                    break;
                }
                let g = text.get(toks[j].end..toks[j + 1].start).unwrap_or("");
                phrase.extend(g.chars().map(|c| c.to_ascii_lowercase()));
                phrase.push_str(keys[j + 1].as_str());
                j += 1;
            }
        }
        if let Some(j) = best {
            let single = j == i;
            let ambiguous = single
                && (keys[i].is(F_AMBIGUOUS | F_FIRST | F_SUR) || key == "nice" || key == "reading");
            let ctx = || {
                ends_with_phrase(text, toks[i].start, &l.place_preps)
                    || ends_with_phrase(text, toks[i].start, &l.place_context)
                    || text
                        .get(..toks[i].start)
                        .is_some_and(|b| b.trim_end().ends_with(','))
            };
            // A name followed by its surname is a person ("Georgia Smith").
            let then_name = single
                && i + 1 < toks.len()
                && gap(text, &toks[i], &toks[i + 1]) == Gap::Space
                && keys[i + 1].is(F_SUR);
            if !then_name && (!ambiguous || ctx()) {
                out.push(Entity {
                    start: toks[i].start,
                    end: toks[j].end,
                    score: if single { 0.7 } else { 0.8 },
                    kind: EntityKind::Location,
                });
                for u in &mut used[i..=j] {
                    *u = true;
                }
                i = j + 1;
                continue;
            }
        }
        // Unknown capitalised run after "lives in" / "based in": a place.
        if place_context_word(text, toks[i].start)
            && !keys[i].is(F_STOP)
            && ends_with_phrase(text, toks[i].start, &l.place_context)
        {
            let mut j = i;
            while j + 1 < toks.len()
                && j - i < 2
                && gap(text, &toks[j], &toks[j + 1]) == Gap::Space
                && !used[j + 1]
            {
                j += 1;
            }
            if !keys[i].is(F_FIRST) || j > i {
                out.push(Entity {
                    start: toks[i].start,
                    end: toks[j].end,
                    score: 0.65,
                    kind: EntityKind::Location,
                });
                for u in &mut used[i..=j] {
                    *u = true;
                }
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    // "Springfield, Illinois": an unknown capitalised word before ", <place>".
    for i in 1..toks.len() {
        if !used[i]
            || used[i - 1]
            || text
                .get(toks[i - 1].end..toks[i].start)
                .is_none_or(|g| g != ", ")
        {
            continue;
        }
        let is_place = out
            .iter()
            .any(|e| e.kind == EntityKind::Location && e.start == toks[i].start);
        if is_place
            && !keys[i - 1].is(F_STOP | F_FIRST | F_SUR)
            && !toks[i - 1].initial
            && (i < 2 || gap(text, &toks[i - 2], &toks[i - 1]) == Gap::Break)
        {
            out.push(Entity {
                start: toks[i - 1].start,
                end: toks[i - 1].end,
                score: 0.6,
                kind: EntityKind::Location,
            });
            used[i - 1] = true;
        }
    }
}

/// A town name built from a given or family name and a town ending ("jacksonville",
/// "brianmouth", "williamsburg").
fn town_word(key: &str) -> bool {
    // Every ending's last two letters; most words end otherwise and stop here.
    const ENDS: &[&[u8; 2]] = &[
        b"le", b"rg", b"gh", b"ro", b"ry", b"er", b"th", b"rt", b"en", b"ad", b"re", b"de", b"ew",
        b"wn", b"nd", b"ld", b"rd", b"is", b"nt",
    ];
    let kb = key.as_bytes();
    let Some(last2) = kb.get(kb.len().saturating_sub(2)..) else {
        return false;
    };
    if kb.len() < 6 || !ENDS.iter().any(|e| e.as_slice() == last2) {
        return false;
    }
    TOWN_SUFFIXES.iter().any(|suf| {
        key.len() >= suf.len() + 3
            && key.ends_with(suf)
            && key.get(..key.len() - suf.len()).is_some_and(|stem| {
                let k = Key::new(stem);
                k.is(F_FIRST | F_SUR)
                    || stem
                        .strip_suffix('s')
                        .is_some_and(|st| st.len() >= 3 && Key::new(st).is(F_FIRST | F_SUR))
            })
    })
}

/// Whether a known multi-word place starts at token `i` ("North Carolina", "New York").
fn known_place_at(text: &str, toks: &[Token], keys: &[Key], i: usize) -> bool {
    let l = lists();
    let mut phrase = String::from(keys[i].as_str());
    let mut j = i;
    while j + 1 < toks.len() && j - i < 4 {
        if !matches!(
            gap(text, &toks[j], &toks[j + 1]),
            Gap::Space | Gap::Connector | Gap::Particle
        ) {
            break;
        }
        let g = text.get(toks[j].end..toks[j + 1].start).unwrap_or("");
        phrase.extend(g.chars().map(|c| c.to_ascii_lowercase()));
        phrase.push_str(keys[j + 1].as_str());
        j += 1;
        if l.places.contains(phrase.as_str()) {
            return true;
        }
    }
    false
}

/// PERSON / LOCATION / ORGANIZATION spans in `text` (byte offsets).
pub(crate) fn find_entities(text: &str) -> Vec<Entity> {
    let toks = tokens(text);
    let keys: Vec<Key> = toks.iter().map(|t| Key::new(tok_str(text, t))).collect();
    let mut used = vec![false; toks.len()];
    let mut out = Vec::new();
    find_orgs(text, &toks, &mut used, &keys, &mut out);
    find_firms(text, &toks, &mut used, &keys, &mut out);
    find_places(text, &toks, &mut used, &keys, &mut out);
    // Candidate person runs: (first token, last token, score).
    let mut runs: Vec<(usize, usize, f32)> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if !toks[i].cap || used[i] {
            i += 1;
            continue;
        }
        // Maximal run of capitalised tokens (at most 4) joined by spaces, initials' dots or
        // name particles.
        let mut j = i;
        while j + 1 < toks.len()
            && j + 1 - i < 4
            && toks[j + 1].cap
            && !used[j + 1]
            && matches!(
                gap(text, &toks[j], &toks[j + 1]),
                Gap::Space | Gap::Initial | Gap::Particle
            )
        {
            j += 1;
        }
        let keys_run = &keys[i..=j];
        // Trim leading/trailing stop words.
        let mut a = 0;
        let mut b = keys_run.len();
        while a < b && keys_run[a].is(F_STOP) {
            a += 1;
        }
        while b > a && keys_run[b - 1].is(F_STOP) {
            b -= 1;
        }
        // A particle may not start or end a name.
        if a < b {
            let score = score_run(text, &toks[i + a..i + b], &keys_run[a..b]);
            runs.push((i + a, i + b - 1, score));
        }
        i = j + 1;
    }
    // Lists of names: an unscored two/three-word run next to a name ("Ana Lima, Joon Park and
    // Tomasz Wrona") is a name too.
    for r in 0..runs.len() {
        let (a, b, s) = runs[r];
        if s > 0.0 || b == a || toks[a..=b].iter().any(|t| t.initial) {
            continue;
        }
        let sep = |x: usize, y: usize| {
            matches!(
                text.get(toks[x].end..toks[y].start),
                Some(", " | " and " | ", and " | " & " | " or " | "; ")
            )
        };
        let prev = r > 0 && runs[r - 1].2 >= 0.7 && runs[r - 1].1 + 1 == a && sep(runs[r - 1].1, a);
        let next = r + 1 < runs.len()
            && runs[r + 1].2 >= 0.7
            && runs[r + 1].0 == b + 1
            && sep(b, runs[r + 1].0);
        if prev || next {
            runs[r].2 = 0.6;
        }
    }
    for (a, b, s) in runs {
        if s > 0.0 {
            out.push(Entity {
                start: toks[a].start,
                end: toks[b].end,
                score: s,
                kind: EntityKind::Person,
            });
        }
    }
    out.sort_by_key(|e| (e.start, e.end));
    out
}

/// Score of one trimmed capitalised run as a person's name (0 = not a name).
fn score_run(text: &str, r: &[Token], k: &[Key]) -> f32 {
    let n = r.len();
    let first_first = k[0].is(F_FIRST);
    let any_first = k.iter().any(|w| w.is(F_FIRST));
    let last_word = tok_str(text, &r[n - 1]);
    // A family name that is also a common word ("Young", "Park", "Street") makes a run a
    // name only next to a given name.
    let last_sur_list = k[n - 1].is(F_SUR) && !k[n - 1].is(F_AMBIGUOUS);
    let last_sur = last_sur_list || surname_shape(last_word, k[n - 1].as_str());
    let any_sur = k.iter().any(|w| w.is(F_SUR) && !w.is(F_AMBIGUOUS));
    let initials = r.iter().filter(|t| t.initial).count();
    let ambiguous_first = k[0].is(F_AMBIGUOUS);
    // Context checks are evaluated only where a rule needs them.
    let at_start = || sentence_start(text, r[0].start);
    let strong = || strong_trigger(text, r[0].start);
    let weak_ctx = || preceding_trigger(text, r[0].start);
    let personal_ctx = || personal_trigger(text, r[0].start);
    let after = || r[n - 1].poss || following_trigger(text, r[n - 1].end);
    if n >= 2 && initials < n {
        if r[0].initial && initials == 1 && !(last_sur || any_first) && !strong() {
            // "A Guide", "I Think": a lone capital letter before a word is rarely a name.
            return if after() { 0.6 } else { 0.0 };
        }
        if first_first && last_sur {
            return 0.9;
        }
        if first_first && !ambiguous_first {
            return 0.85;
        }
        if last_sur_list && initials > 0 {
            return 0.8;
        }
        // A given name and a family name on two different words ("Grant" alone being both
        // does not make "Grant Proposal" a name).
        let first_and_sur = (0..n).any(|a| {
            k[a].is(F_FIRST)
                && (0..n).any(|b| {
                    b != a
                        && ((k[b].is(F_SUR) && (b > a || !k[b].is(F_AMBIGUOUS)))
                            || (b == n - 1 && last_sur))
                })
        });
        if first_and_sur || (first_first && (strong() || weak_ctx())) {
            return 0.8;
        }
        if strong() {
            return 0.8;
        }
        if (any_first && !ambiguous_first) || last_sur_list {
            return 0.7;
        }
        if last_sur && (!at_start() || after() || weak_ctx()) {
            return 0.65;
        }
        if initials > 0 && !r[0].initial && !r[n - 1].initial && n >= 3 {
            // "Janka M. Szász", "Ravil G Yefimov": a middle initial marks a name.
            return 0.8;
        }
        if after() && n <= 3 {
            return 0.65;
        }
        if personal_ctx() && !at_start() {
            return 0.55;
        }
        if (any_first || any_sur) && !at_start() {
            return 0.55;
        }
        0.0
    } else if n == 1 && !r[0].initial {
        let ambiguous = k[0].is(F_AMBIGUOUS);
        if strong() || greeting(text, r[0].start, r[0].end) {
            0.8
        } else if k[0].is(F_FIRST) && !ambiguous {
            if weak_ctx() || after() {
                0.75
            } else if at_start() {
                0.55
            } else {
                0.65
            }
        } else if k[0].is(F_SUR) && !ambiguous && !at_start() {
            if weak_ctx() || after() { 0.65 } else { 0.55 }
        } else if !ambiguous
            && !k[0].is(F_STOP | F_PLACE_FIRST)
            && !r[0].poss
            && r[0].end - r[0].start >= 3
            && !at_start()
            && following_trigger(text, r[0].end)
            && personal_ctx()
        {
            // An unknown word between a personal context and a personal predicate ("my friend
            // Xochitl said", "the patient Imre lives").
            0.6
        } else {
            0.0
        }
    } else {
        0.0
    }
}

/// PERSON spans in `text` as (start byte, end byte, score).
#[cfg(test)]
pub(crate) fn find_persons(text: &str) -> Vec<(usize, usize, f32)> {
    find_entities(text)
        .into_iter()
        .filter(|e| e.kind == EntityKind::Person)
        .map(|e| (e.start, e.end, e.score))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tokenizer before it jumped between capitals: every word walked byte by byte.
    fn reference_tokens(text: &str) -> Vec<Token> {
        let b = text.as_bytes();
        let mut out = Vec::new();
        let n = b.len();
        let mut i = 0;
        let is_word_byte = |x: u8| WORD_BYTE[usize::from(x)];
        while i < n {
            // Skip to the start of a word.
            while i < n && !is_word_byte(b[i]) {
                i += 1;
            }
            if i >= n {
                break;
            }
            let c = b[i];
            // Start of a word: find its end (letters, non-ASCII, inner ' or - before a letter).
            let start = i;
            let mut end = i;
            while end < n {
                let x = b[end];
                if is_word_byte(x)
                    || ((x == b'\'' || x == b'-')
                        && b.get(end + 1).is_some_and(|&y| is_word_byte(y)))
                {
                    end += 1;
                } else {
                    break;
                }
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
            let mut poss = false;
            if word[..end_trim].ends_with("'s") && end_trim > 3 {
                end_trim -= 2;
                n -= 2;
                poss = true;
            } else if word[end_trim..].starts_with('\u{2019}') {
                poss = true;
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
                poss,
            });
        }
        out
    }

    fn token_tuples(t: &[Token]) -> Vec<(usize, usize, bool, bool, bool)> {
        t.iter()
            .map(|t| (t.start, t.end, t.cap, t.initial, t.poss))
            .collect()
    }

    proptest::proptest! {
        /// Jumping between capitals yields exactly the tokens of the word-by-word scan.
        #[test]
        fn tokens_equal_reference(text in "[a-zA-Z '\\-.,é\u{2019}ÉßŁ0-9]{0,200}") {
            proptest::prop_assert_eq!(
                token_tuples(&tokens(&text)),
                token_tuples(&reference_tokens(&text))
            );
        }
    }

    #[test]
    fn tokens_equal_reference_on_joined_words() {
        for t in [
            "McDonald well-Known O'Neill rock'n'Roll a''B a'-B -B 'B x-Y-z Émile caféÉ São-Paulo",
            "Mary-Jane's Ana\u{2019}s dad's L'Oréal d'Artagnan ab--Cd ab-'Cd Ab' Cd'",
        ] {
            assert_eq!(
                token_tuples(&tokens(t)),
                token_tuples(&reference_tokens(t)),
                "{t}"
            );
        }
    }

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

    /// Names of many origins without any context word: both parts come from the lists.
    #[test]
    fn names_of_many_origins() {
        for (text, want) in [
            (
                "Forward the invoice to Oluwaseun Adeyemi today.",
                "Oluwaseun Adeyemi",
            ),
            (
                "Forward the invoice to Wojciech Kowalczyk today.",
                "Wojciech Kowalczyk",
            ),
            (
                "Forward the invoice to Anushka Srivastava today.",
                "Anushka Srivastava",
            ),
            (
                "Forward the invoice to Hiroshi Hashimoto today.",
                "Hiroshi Hashimoto",
            ),
            (
                "Forward the invoice to Zeynep Yildirim today.",
                "Zeynep Yildirim",
            ),
            (
                "Forward the invoice to Thabo Dlamini today.",
                "Thabo Dlamini",
            ),
        ] {
            assert_eq!(spans(text), vec![want], "{text}");
        }
        for given in [
            "Anushka",
            "Ikenna",
            "Guilherme",
            "Hatice",
            "Bohdan",
            "Xiaoli",
        ] {
            assert!(Key::new(given).is(F_FIRST), "{given}");
        }
        for family in [
            "Srivastava",
            "Wroblewski",
            "Kebede",
            "Akter",
            "Karakaya",
            "Najjar",
        ] {
            assert!(Key::new(family).is(F_SUR), "{family}");
        }
    }

    #[test]
    fn not_names() {
        assert!(spans("The Monday meeting is in New York.").is_empty());
        assert!(spans("I will mark it.").is_empty());
    }

    fn ents(t: &str, kind: EntityKind) -> Vec<&str> {
        find_entities(t)
            .into_iter()
            .filter(|e| e.kind == kind)
            .map(|e| &t[e.start..e.end])
            .collect()
    }

    #[test]
    fn name_shapes_and_particles() {
        assert_eq!(
            spans("The sonata by Ludwig van Beethoven is long."),
            vec!["Ludwig van Beethoven"]
        );
        assert_eq!(
            spans("Ask Siobhan O'Connor first."),
            vec!["Siobhan O'Connor"]
        );
        assert_eq!(spans("I met Jean-Luc Moreau."), vec!["Jean-Luc Moreau"]);
        // Unknown given name, family name of a known shape.
        assert_eq!(
            spans("The form was signed by Zdravko Kostadinov."),
            vec!["Zdravko Kostadinov"]
        );
        // Possessive: the name without "'s".
        assert_eq!(spans("Anna Kowalski's car is red."), vec!["Anna Kowalski"]);
    }

    #[test]
    fn context_rules() {
        // Neither word is in the lists: context alone decides.
        assert_eq!(
            spans("Tavita Leausa said the invoice was paid."),
            vec!["Tavita Leausa"]
        );
        assert_eq!(
            spans("Best regards,\nKamaka Kealoha"),
            vec!["Kamaka Kealoha"]
        );
        assert_eq!(spans("Hi Wirote, the file is attached."), vec!["Wirote"]);
        assert_eq!(
            spans("Reviewed by Kieron Trethewey."),
            vec!["Kieron Trethewey"]
        );
        assert_eq!(
            spans("Attendees: Priya Sharma, Taini Yazzie and Wei Zhang."),
            vec!["Priya Sharma", "Taini Yazzie", "Wei Zhang"]
        );
    }

    /// Firms named after people, places named after people: organisations and locations, not
    /// persons.
    #[test]
    fn names_inside_firm_and_place_names() {
        fn org(t: &str) -> Vec<&str> {
            ents(t, EntityKind::Organization)
        }
        fn loc(t: &str) -> Vec<&str> {
            ents(t, EntityKind::Location)
        }
        for (t, want) in [
            (
                "She works at Miller, Davis and Wilson.",
                "Miller, Davis and Wilson",
            ),
            (
                "Our supplier is Hernandez, Lopez & Gonzalez.",
                "Hernandez, Lopez & Gonzalez",
            ),
            ("Smith and Sons shipped the parts.", "Smith and Sons"),
            ("The invoice from Brown-Garcia is overdue.", "Brown-Garcia"),
        ] {
            assert_eq!(org(t), [want], "{t}");
            assert!(spans(t).is_empty(), "{t}: {:?}", spans(t));
        }
        for (t, want) in [
            ("I live in Lake Jessica.", "Lake Jessica"),
            ("He grew up in Fort William.", "Fort William"),
            ("The office is in East Sarahborough.", "East Sarahborough"),
            ("Jasonville is a small town.", "Jasonville"),
            (
                "Ship it to 123 Garcia Crossing today.",
                "123 Garcia Crossing",
            ),
        ] {
            assert_eq!(loc(t), [want], "{t}");
            assert!(spans(t).is_empty(), "{t}: {:?}", spans(t));
        }
        // People stay people.
        assert_eq!(
            spans("Dr. Anna Brown-Garcia will see you."),
            ["Anna Brown-Garcia"]
        );
        assert_eq!(
            spans("Ana Lima, Joon Park and Tomasz Wrona joined."),
            ["Ana Lima", "Joon Park", "Tomasz Wrona"]
        );
        assert_eq!(spans("Clayton Kershaw pitched."), ["Clayton Kershaw"]);
        assert_eq!(spans("North Carolina hired Jane Miller."), ["Jane Miller"]);
    }

    /// A family name that is also a common word needs a given name; an unknown word between a
    /// personal context and a personal predicate is a name.
    #[test]
    fn ambiguous_family_names_and_unknown_names_in_context() {
        assert!(spans("Quick Sample results are in.").is_empty());
        assert_eq!(spans("Ask Jane Young about it."), ["Jane Young"]);
        assert_eq!(
            spans("My colleague Imre said the build is green."),
            ["Imre"]
        );
        assert_eq!(spans("The customer Zhaklina wrote to us."), ["Zhaklina"]);
        assert!(spans("The report Summary said nothing.").is_empty());
    }

    /// The two-letter quick reject of `town_word` covers every town ending.
    #[test]
    fn town_word_endings_are_all_checked() {
        for suf in TOWN_SUFFIXES {
            assert!(town_word(&format!("jason{suf}")), "{suf}");
        }
        assert!(!town_word("jasonxyz"));
    }

    #[test]
    fn title_case_phrases_are_not_names() {
        for t in [
            "New Features: Dark Mode and Faster Search.",
            "Grant Proposal Deadline is Friday.",
            "Click Save Changes to continue.",
            "Release Notes: Bug Fixes and Performance Improvements.",
            "May I ask why the Build Server is down?",
            "Grant Proposal Deadline is Friday.",
        ] {
            assert!(spans(t).is_empty(), "{t}: {:?}", spans(t));
        }
    }

    #[test]
    fn locations() {
        assert_eq!(
            ents("Offices in Buenos Aires and Lagos.", EntityKind::Location),
            vec!["Buenos Aires", "Lagos"]
        );
        assert_eq!(
            ents(
                "I live at 221 Baker Street in Rio de Janeiro.",
                EntityKind::Location
            ),
            vec!["221 Baker Street", "Rio de Janeiro"]
        );
        assert_eq!(
            ents("We moved to Springfield last year.", EntityKind::Location),
            vec!["Springfield"]
        );
        assert_eq!(
            ents("Her office is in Georgia.", EntityKind::Location),
            vec!["Georgia"]
        );
        // An ambiguous place word used as a name is a person.
        assert!(ents("Georgia Smith called.", EntityKind::Location).is_empty());
        assert_eq!(spans("Georgia Smith called."), vec!["Georgia Smith"]);
        assert_eq!(
            ents("Send it to Calle Mayor 5, Madrid.", EntityKind::Location),
            vec!["Calle Mayor", "Madrid"]
        );
        assert!(ents("Nice to meet you.", EntityKind::Location).is_empty());
    }

    #[test]
    fn organizations() {
        for (t, want) in [
            ("She joined Acme Widgets Ltd. in May.", "Acme Widgets Ltd."),
            (
                "He studied at the University of Lagos.",
                "University of Lagos",
            ),
            (
                "Invoice from Ferro Logistics S.p.A. attached.",
                "Ferro Logistics S.p.A.",
            ),
            (
                "Brightline Software GmbH hired her.",
                "Brightline Software GmbH",
            ),
            (
                "A letter from the Ministry of Health arrived.",
                "Ministry of Health",
            ),
            ("Riverside Bank approved it.", "Riverside Bank"),
            ("Shares of Tesco plc fell.", "Tesco plc"),
        ] {
            assert_eq!(ents(t, EntityKind::Organization), vec![want], "{t}");
        }
        assert!(ents("The Company will reply.", EntityKind::Organization).is_empty());
        assert!(ents("Bank holidays are closed.", EntityKind::Organization).is_empty());
    }

    #[test]
    fn arbitrary_bytes_do_not_panic() {
        for t in [
            "",
            "A",
            "'s",
            "Mc",
            "O'",
            " de ",
            "1 A St",
            "\u{2019}s",
            "É'ś 9 Ñ Rd.",
        ] {
            let _ = find_entities(t);
        }
    }
}

#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        /// Any text: no panic, spans on char boundaries, in order, inside the text.
        #[test]
        fn entities_are_well_formed(
            words in proptest::collection::vec(
                prop_oneof![
                    Just("Dr.".to_owned()), Just("van".to_owned()), Just("O'".to_owned()),
                    Just("'s".to_owned()), Just("Inc.".to_owned()), Just("S.p.A.".to_owned()),
                    Just("12".to_owned()), Just("Street".to_owned()), Just("in".to_owned()),
                    Just(", ".to_owned()), Just("\n".to_owned()), Just("Ünïcødé".to_owned()),
                    "[A-Za-zÀ-ÿ'\\-. ,]{0,12}",
                ],
                0..40,
            )
        ) {
            let t = words.join(" ");
            for e in find_entities(&t) {
                prop_assert!(e.start < e.end && e.end <= t.len());
                prop_assert!(t.is_char_boundary(e.start) && t.is_char_boundary(e.end));
            }
        }
    }
}
