//! Value filters of the secret rules: what a matched value must not look like to be reported.
//!
//! Written for Gatehouse after the *kinds* of false positives that public secret scanners
//! document and filter (gitleaks' global and per-rule allow-lists and stop-words,
//! detect-secrets' heuristic filters): template and variable references, printf formats,
//! system paths, sequential alphabets, code identifiers, values made of common words. The
//! lists and heuristics below are our own.
//!
//! Three strengths, by how much the rule itself already says:
//! - every secret rule: [`is_reference_or_template`] and [`is_sequential`] (a value of that
//!   shape is a placeholder, reported as such);
//! - keyword rules ([`keyword_value_rejected`]): code identifiers, indirect references,
//!   array literals;
//! - the generic high-entropy rules ([`generic_value_rejected`]): additionally no digit at
//!   letters (and `_ . -`) only, or a common word inside the value.

/// Template, variable and format references: `${VAR}`, `$var`, `$1`, `{{ var }}`,
/// `${{ secrets.X }}`, `%VAR%`, `%s`, `{0}`, `@VAR@`, `<%= … %>`. Never credentials (reported
/// as placeholders).
pub(crate) fn is_reference_or_template(v: &str) -> bool {
    let b = v.as_bytes();
    let Some(&first) = b.first() else {
        return true;
    };
    let last = b.last().copied().unwrap_or(first);
    let ident = |s: &[u8]| {
        !s.is_empty()
            && s.iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
    };
    match first {
        b'$' => {
            let rest = b.get(1..).unwrap_or(&[]);
            // `$1`, `${1}`, `$VAR`, `$var`, `${VAR}`, `${{ … }}`, `$(cmd)`.
            return rest.first() == Some(&b'{') || rest.first() == Some(&b'(') || ident(rest);
        }
        b'{' if last == b'}' => return true,
        b'<' if last == b'>' => return true,
        b'%' => {
            let rest = b.get(1..).unwrap_or(&[]);
            // `%VAR%`, `%(name)s`, `%s`, `%-10d`.
            if last == b'%' && rest.len() >= 2 && ident(rest.get(..rest.len() - 1).unwrap_or(&[])) {
                return true;
            }
            if rest.first() == Some(&b'(') {
                return true;
            }
            if rest.len() <= 3
                && rest.last().is_some_and(|c| c.is_ascii_alphabetic())
                && rest
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'#' | b' '))
            {
                return true;
            }
        }
        b'@' if last == b'@' && b.len() > 2 => {
            return ident(b.get(1..b.len() - 1).unwrap_or(&[]));
        }
        _ => {}
    }
    // `<%= ENV['X'] %>`, `{{ .Values.x }}`, printf and format fields inside a longer value
    // (`"%s:%s"`, `"{}:{}"`), a value cut short in documentation (`eyJhbGciOi...`). Each of
    // them holds one of these bytes; most values hold none.
    if !b
        .iter()
        .any(|c| matches!(c, b'{' | b'<' | b'%' | b'.' | 0xE2))
    {
        return false;
    }
    has_reference(v, "${", "}")
        || has_reference(v, "{{", "}}")
        || has_reference(v, "<%", "%>")
        || has_reference(v, "%(", ")s")
        || has_printf(v)
        || v.contains("{}")
        || v.contains("{0}")
        || v.contains("...")
        || v.contains('\u{2026}')
}

/// A printf conversion (`%s`, `%d`, `%-10s`) that ends the value or is followed by a
/// separator (`"%s:%s"`); `%dP` inside an encoded token is not one.
fn has_printf(v: &str) -> bool {
    let b = v.as_bytes();
    b.windows(2).enumerate().any(|(i, w)| {
        w[0] == b'%'
            && matches!(w[1], b's' | b'd')
            && b.get(i + 2).is_none_or(|c| !c.is_ascii_alphanumeric())
    })
}

/// Whether `v` holds a complete reference `open … close` whose inside is a name, a dotted
/// path or a short expression (`${db.password}`, `{{ .Values.token }}`, `<%= ENV['X'] %>`):
/// a `${` that is part of a random value (`p${e]n`) is not one.
fn has_reference(v: &str, open: &str, close: &str) -> bool {
    let mut rest = v;
    while let Some(i) = rest.find(open) {
        let after = rest.get(i + open.len()..).unwrap_or("");
        if let Some(j) = after.find(close) {
            let inner = after.get(..j).unwrap_or("").trim();
            if !inner.is_empty()
                && inner.bytes().all(|c| {
                    c.is_ascii_alphanumeric()
                        || matches!(
                            c,
                            b'_' | b'.'
                                | b'-'
                                | b':'
                                | b' '
                                | b'|'
                                | b'\''
                                | b'"'
                                | b'['
                                | b']'
                                | b'='
                                | b'('
                                | b')'
                        )
                })
                && inner.bytes().any(|c| c.is_ascii_alphabetic())
            {
                return true;
            }
        }
        rest = after;
    }
    false
}

/// Absolute paths under the usual system directories (`/etc/ssl/…`, `/home/ci/…`).
pub(crate) fn is_system_path(v: &str) -> bool {
    const DIRS: &[&str] = &[
        "/bin/", "/etc/", "/home/", "/opt/", "/tmp/", "/usr/", "/var/", "/users/", "/dev/",
        "/proc/", "/run/", "/srv/", "/mnt/", "/root/",
    ];
    if !v.starts_with('/') {
        return false;
    }
    let head = v.get(..v.len().min(8)).unwrap_or("").to_ascii_lowercase();
    DIRS.iter().any(|d| head.starts_with(d))
}

/// The whole value is a stretch of an alphabet, digit or keyboard sequence (`abcdefgh…`,
/// `0123456789`, `ABCDEF…XYZ0123…`, `qwertyuiop`): a test fixture or a documentation
/// placeholder. Like detect-secrets' sequential-string filter, only values that lie entirely
/// inside one sequence count (a random value never does).
pub(crate) fn is_sequential(v: &str) -> bool {
    const SEQS: &[&str] = &[
        "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "01234567890123456789012345678901234567890123456789",
        "98765432109876543210987654321098765432109876543210",
        "ZYXWVUTSRQPONMLKJIHGFEDCBAZYXWVUTSRQPONMLKJIHGFEDCBA",
        "QWERTYUIOPASDFGHJKLZXCVBNM",
        "1QAZ2WSX3EDC4RFV5TGB6YHN7UJM8IK9OL0P",
    ];
    let v = v.as_bytes();
    let Some(&first) = v.first() else {
        return false;
    };
    if v.len() < 8 {
        return false;
    }
    let first = first.to_ascii_uppercase();
    // Most values fail on their first two characters: look those up in a table of the
    // sequences' neighbouring pairs first.
    static PAIRS: std::sync::OnceLock<Box<[[bool; 128]; 128]>> = std::sync::OnceLock::new();
    let pairs = PAIRS.get_or_init(|| {
        let mut t = Box::new([[false; 128]; 128]);
        for s in SEQS {
            for w in s.as_bytes().windows(2) {
                if let Some(cell) = t
                    .get_mut(usize::from(w[0] & 0x7f))
                    .and_then(|row| row.get_mut(usize::from(w[1] & 0x7f)))
                {
                    *cell = true;
                }
            }
        }
        t
    });
    let second = v.get(1).map_or(0, u8::to_ascii_uppercase);
    if !first.is_ascii()
        || !second.is_ascii()
        || !pairs
            .get(usize::from(first))
            .and_then(|r| r.get(usize::from(second)))
            .copied()
            .unwrap_or(false)
    {
        return false;
    }
    SEQS.iter().any(|s| {
        let s = s.as_bytes();
        // Every place of the first character in the sequence (at most a few).
        s.iter().enumerate().any(|(i, &c)| {
            c == first
                && s.get(i..i + v.len())
                    .is_some_and(|w| w.iter().zip(v).all(|(a, b)| *a == b.to_ascii_uppercase()))
        })
    })
}

/// Whether `v` contains a stretch of at least `n` characters of an alphabet or digit sequence
/// (`abcdefgh`, `01234567`, `QRSTUVWX`): random values essentially never do; test alphabets,
/// fixtures and hand-typed fillers do.
pub(crate) fn has_sequence_run(v: &str, n: usize) -> bool {
    let b = v.as_bytes();
    let mut run = 1usize;
    for w in b.windows(2) {
        let (x, y) = (w[0], w[1]);
        let next = (x.is_ascii_alphanumeric() && y == x.wrapping_add(1))
            && (x.is_ascii_digit() == y.is_ascii_digit());
        if next {
            run += 1;
            if run >= n {
                return true;
            }
        } else {
            run = 1;
        }
    }
    false
}

/// Parts of an identifier: split at `_ - . / :` and at case changes (`fooBar`, `HTTPServer`);
/// digits stay with the letters before them (`Ed25519Key` → `Ed25519`, `Key`).
#[cfg(test)]
fn ident_parts(v: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    for_each_part(v, |p| parts.push(p));
    parts
}

/// A code identifier made of at least two words (`UnboundCipherKey`, `TLS13_CHACHA20_SHA256`,
/// `key_schedule_traffic`, `Ed25519KeyPair`, `token::Brace`): every letter run is a word-like
/// piece (three or more letters with a vowel, an upper-case acronym, or a two-letter piece),
/// never a stray single letter as random strings have.
pub(crate) fn is_code_identifier(v: &str) -> bool {
    if v.len() < 4
        || !v
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'/' | b':'))
    {
        return false;
    }
    let separated = v
        .bytes()
        .any(|c| matches!(c, b'_' | b'-' | b'.' | b'/' | b':'));
    let mut words = 0usize;
    let mut others = 0usize;
    let mut mixed_case = false;
    for_each_part(v, |p| {
        let pb = p.as_bytes();
        let n = pb.iter().take_while(|c| c.is_ascii_alphabetic()).count();
        if n == 0 {
            return;
        }
        let letters = pb.get(..n).unwrap_or(&[]);
        let upper = letters.iter().all(u8::is_ascii_uppercase);
        let lower_tail = letters.iter().skip(1).all(u8::is_ascii_lowercase);
        if !upper && !lower_tail {
            mixed_case = true;
            return;
        }
        let mut buf = [0u8; 24];
        let m = n.min(buf.len());
        for (d, c) in buf.iter_mut().zip(letters) {
            *d = c.to_ascii_lowercase();
        }
        if is_dictionary_word_start(buf.get(..m).unwrap_or(&[])) {
            words += 1;
        } else if !(n == 1 && p.len() > 1) {
            // A letter with a number (`P521`, `v2`) is neutral; anything else that is not a
            // word counts against.
            others += 1;
        }
    });
    !mixed_case
        && words >= 2
        && if separated {
            others <= words
        } else {
            others * 2 <= words
        }
}

/// Calls `f` with each part of an identifier (see [`ident_parts`]), without allocating.
fn for_each_part<'a>(v: &'a str, mut f: impl FnMut(&'a str)) {
    let b = v.as_bytes();
    let mut start = 0usize;
    let mut i = 0usize;
    while i < b.len() {
        let c = b.get(i).copied().unwrap_or(b'_');
        if matches!(c, b'_' | b'-' | b'.' | b'/' | b':') {
            if start < i {
                f(v.get(start..i).unwrap_or(""));
            }
            start = i + 1;
            i += 1;
            continue;
        }
        if i > start && c.is_ascii_uppercase() {
            let prev = b.get(i - 1).copied().unwrap_or(b'_');
            let next = b.get(i + 1).copied().unwrap_or(b'_');
            if prev.is_ascii_lowercase()
                || (prev.is_ascii_digit()
                    && b.get(start)
                        .is_some_and(|s| !s.is_ascii_uppercase() || i - start > 1))
                || (prev.is_ascii_uppercase() && next.is_ascii_lowercase())
            {
                f(v.get(start..i).unwrap_or(""));
                start = i;
            }
        }
        i += 1;
    }
    if start < b.len() {
        f(v.get(start..).unwrap_or(""));
    }
}

/// Whether `w` (lower case) is, or starts with, a word of [`STOPWORDS`] or [`CODE_WORDS`]
/// (three letters or more): one anchored search of an automaton of both lists.
fn is_dictionary_word_start(w: &[u8]) -> bool {
    if w.len() < 3 {
        return false;
    }
    let Some(ac) = dictionary() else {
        return false;
    };
    let input = aho_corasick::Input::new(w).anchored(aho_corasick::Anchored::Yes);
    ac.try_find(input).ok().flatten().is_some()
}

/// Words and abbreviations of identifiers (with [`STOPWORDS`]), for [`is_code_identifier`].
const CODE_WORDS: &[&str] = &[
    "abs",
    "acc",
    "ack",
    "add",
    "addr",
    "aes",
    "alg",
    "algorithm",
    "all",
    "alloc",
    "and",
    "any",
    "api",
    "app",
    "arc",
    "arg",
    "args",
    "arr",
    "asn",
    "assert",
    "attr",
    "auth",
    "avg",
    "base",
    "bearer",
    "big",
    "bin",
    "bind",
    "bit",
    "bits",
    "blob",
    "bool",
    "bound",
    "box",
    "buf",
    "bus",
    "byte",
    "call",
    "can",
    "cert",
    "cfg",
    "chacha",
    "char",
    "chunk",
    "cipher",
    "cli",
    "clock",
    "cmd",
    "cnt",
    "col",
    "compressed",
    "conn",
    "conv",
    "cookie",
    "cpu",
    "crc",
    "crypt",
    "csv",
    "ctr",
    "ctx",
    "cur",
    "curve",
    "dec",
    "decrypt",
    "def",
    "del",
    "der",
    "derive",
    "dest",
    "dev",
    "dict",
    "diff",
    "dir",
    "dispatch",
    "div",
    "doc",
    "dsa",
    "dst",
    "dup",
    "early",
    "ecdh",
    "ecdsa",
    "edge",
    "elem",
    "else",
    "enc",
    "end",
    "enum",
    "env",
    "eof",
    "err",
    "eval",
    "exec",
    "exp",
    "exporter",
    "expr",
    "ext",
    "fail",
    "fetch",
    "fin",
    "finished",
    "fixed",
    "fmt",
    "fn",
    "for",
    "free",
    "from",
    "full",
    "func",
    "gen",
    "get",
    "gpu",
    "grant",
    "grid",
    "handshake",
    "has",
    "hdr",
    "heap",
    "hex",
    "hmac",
    "hook",
    "hot",
    "html",
    "idx",
    "img",
    "impl",
    "inc",
    "inner",
    "int",
    "into",
    "iter",
    "job",
    "join",
    "jwt",
    "kdf",
    "key",
    "kind",
    "last",
    "lazy",
    "left",
    "len",
    "let",
    "lib",
    "lit",
    "load",
    "log",
    "long",
    "loop",
    "low",
    "mac",
    "make",
    "map",
    "mask",
    "max",
    "mem",
    "meta",
    "meter",
    "mgr",
    "mid",
    "min",
    "mod",
    "msg",
    "mut",
    "net",
    "new",
    "next",
    "nid",
    "nil",
    "non",
    "nonce",
    "not",
    "num",
    "obj",
    "off",
    "old",
    "once",
    "opaque",
    "open",
    "opt",
    "out",
    "own",
    "pad",
    "pair",
    "param",
    "parse",
    "part",
    "pass",
    "peer",
    "pem",
    "pkcs",
    "poly",
    "pool",
    "pop",
    "pos",
    "pre",
    "prev",
    "prime",
    "priv",
    "prod",
    "ptr",
    "pub",
    "push",
    "put",
    "raw",
    "rc",
    "recv",
    "ref",
    "reg",
    "rel",
    "rem",
    "req",
    "res",
    "resumption",
    "ret",
    "rev",
    "rhs",
    "right",
    "ring",
    "rng",
    "row",
    "rsa",
    "run",
    "rust",
    "salt",
    "scalar",
    "schedule",
    "seal",
    "seed",
    "seg",
    "send",
    "seq",
    "set",
    "sha",
    "shake",
    "shift",
    "sig",
    "sign",
    "size",
    "skip",
    "slice",
    "sock",
    "sort",
    "span",
    "spi",
    "src",
    "ssl",
    "stack",
    "stat",
    "std",
    "step",
    "str",
    "struct",
    "sub",
    "suite",
    "sum",
    "sup",
    "svc",
    "sym",
    "tag",
    "tail",
    "take",
    "tbl",
    "the",
    "tick",
    "tls",
    "tmp",
    "top",
    "traffic",
    "trait",
    "tree",
    "try",
    "tuple",
    "txn",
    "uid",
    "unbound",
    "uncompressed",
    "unparsed",
    "unsafe",
    "uri",
    "url",
    "use",
    "usize",
    "utf",
    "val",
    "var",
    "vec",
    "verify",
    "void",
    "wait",
    "want",
    "weak",
    "with",
    "word",
    "wrap",
    "xml",
    "zero",
    "ability",
    "absolute",
    "accept",
    "account",
    "activity",
    "adapter",
    "address",
    "advanced",
    "after",
    "alarm",
    "analy",
    "anim",
    "annotation",
    "architect",
    "area",
    "argument",
    "artifact",
    "assoc",
    "asym",
    "attach",
    "attempt",
    "attribute",
    "available",
    "back",
    "balance",
    "band",
    "bandwidth",
    "before",
    "behavior",
    "between",
    "board",
    "border",
    "broad",
    "brace",
    "bracket",
    "bridge",
    "broker",
    "call",
    "capab",
    "capacity",
    "catalog",
    "cell",
    "certificate",
    "chain",
    "character",
    "cidr",
    "circle",
    "claim",
    "clip",
    "code",
    "collect",
    "comma",
    "compat",
    "complete",
    "compromise",
    "condition",
    "conf",
    "connection",
    "consumer",
    "contract",
    "convert",
    "coord",
    "cost",
    "country",
    "cover",
    "credit",
    "cross",
    "crypto",
    "cube",
    "customer",
    "cycle",
    "dialect",
    "digit",
    "dimension",
    "direct",
    "disk",
    "distance",
    "distribution",
    "domain",
    "dot",
    "down",
    "duration",
    "each",
    "edit",
    "effect",
    "emission",
    "emv",
    "encrypt",
    "endpoint",
    "equal",
    "exist",
    "expect",
    "expire",
    "explicit",
    "face",
    "family",
    "field",
    "fill",
    "find",
    "fire",
    "flow",
    "focus",
    "follow",
    "frame",
    "front",
    "gain",
    "geo",
    "glob",
    "goal",
    "grade",
    "graphic",
    "half",
    "hand",
    "hard",
    "head",
    "height",
    "high",
    "hint",
    "hold",
    "horizontal",
    "host",
    "hour",
    "ident",
    "implicit",
    "include",
    "incoming",
    "initial",
    "instruction",
    "intent",
    "interface",
    "interval",
    "invoke",
    "ipv",
    "kerberos",
    "keyboard",
    "krb",
    "lambda",
    "large",
    "launch",
    "layer",
    "lease",
    "less",
    "limit",
    "listen",
    "live",
    "loop",
    "machine",
    "manual",
    "mark",
    "matrix",
    "mean",
    "measure",
    "mesh",
    "mobile",
    "modif",
    "more",
    "mount",
    "move",
    "multi",
    "mutable",
    "name",
    "near",
    "need",
    "none",
    "normal",
    "note",
    "notif",
    "open",
    "operat",
    "optim",
    "organi",
    "origin",
    "other",
    "outgoing",
    "over",
    "owner",
    "pane",
    "pattern",
    "pay",
    "peer",
    "per",
    "permit",
    "photo",
    "pin",
    "pipe",
    "pixel",
    "place",
    "plan",
    "playback",
    "point",
    "poll",
    "position",
    "power",
    "present",
    "press",
    "price",
    "prior",
    "problem",
    "progress",
    "prompt",
    "proper",
    "protect",
    "provision",
    "quarantine",
    "query",
    "quick",
    "quota",
    "range",
    "rate",
    "ratio",
    "reason",
    "receive",
    "recover",
    "reduce",
    "region",
    "relation",
    "reply",
    "request",
    "required",
    "resolution",
    "resolve",
    "restore",
    "retry",
    "rotate",
    "round",
    "rule",
    "sample",
    "scale",
    "scan",
    "scene",
    "score",
    "segment",
    "sequence",
    "serial",
    "share",
    "sheet",
    "side",
    "signal",
    "simple",
    "slot",
    "small",
    "snapshot",
    "soft",
    "sound",
    "space",
    "special",
    "speed",
    "split",
    "square",
    "stable",
    "standard",
    "sticker",
    "stop",
    "strict",
    "subnet",
    "success",
    "summary",
    "support",
    "surface",
    "symbol",
    "tab",
    "texture",
    "thing",
    "threshold",
    "tile",
    "timer",
    "touch",
    "tower",
    "trans",
    "tunnel",
    "turn",
    "under",
    "unit",
    "unknown",
    "usage",
    "vertical",
    "voice",
    "walk",
    "wall",
    "weight",
    "white",
    "width",
    "work",
    "zone",
];

/// A file or directory path: separators with a file extension at the end, or an absolute or
/// relative path prefix, or several word-like segments (`crypto/x509/x_req.c`,
/// `tests/pass/*.rs`, `C:\\Users\\me`).
pub(crate) fn is_file_path(v: &str) -> bool {
    let sep = |c: char| c == '/' || c == '\\';
    if !v.contains(sep) || v.contains(char::is_whitespace) {
        return false;
    }
    if v.starts_with("./") || v.starts_with("../") || v.starts_with("~/") {
        return true;
    }
    // `/properties/Organization`, `/api/v1/users`: segments of letters (a digit-free run of
    // base64 between slashes is rare).
    if v.starts_with('/')
        && v.split('/').filter(|s| !s.is_empty()).count() >= 2
        && v.split('/').all(|s| {
            s.bytes()
                .all(|c| c.is_ascii_alphabetic() || matches!(c, b'_' | b'-' | b'.'))
                || (s.len() <= 3 && s.bytes().all(|c| c.is_ascii_alphanumeric()))
        })
    {
        return true;
    }
    let last = v.rsplit(sep).next().unwrap_or("");
    let has_ext = last.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && (1..=5).contains(&ext.len())
            && ext.bytes().all(|c| c.is_ascii_alphanumeric())
            && ext.bytes().any(|c| c.is_ascii_lowercase())
    });
    let segs: Vec<&str> = v.split(sep).filter(|s| !s.is_empty()).collect();
    let wordish = segs
        .iter()
        .filter(|s| {
            s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'*'))
                && s.bytes().filter(u8::is_ascii_lowercase).count() * 2 >= s.len()
        })
        .count();
    (has_ext && wordish * 2 >= segs.len()) || (segs.len() >= 3 && wordish == segs.len())
}

/// Common words of code and prose that do not occur in random credentials. A generic
/// high-entropy value containing one (`my_client_secret_value`, `default-config-2024`) is a
/// name or a sentence fragment, not a key. Written for Gatehouse.
const STOPWORDS: &[&str] = &[
    "about",
    "access",
    "account",
    "action",
    "active",
    "admin",
    "agent",
    "alert",
    "alias",
    "allow",
    "alpha",
    "amazon",
    "android",
    "angular",
    "apache",
    "append",
    "apple",
    "application",
    "archive",
    "array",
    "article",
    "asset",
    "async",
    "audio",
    "audit",
    "author",
    "auto",
    "azure",
    "backend",
    "backup",
    "badge",
    "banner",
    "basic",
    "batch",
    "begin",
    "benchmark",
    "beta",
    "binary",
    "block",
    "blog",
    "body",
    "boolean",
    "bootstrap",
    "bottom",
    "branch",
    "browser",
    "bucket",
    "buffer",
    "build",
    "bundle",
    "button",
    "bytes",
    "cache",
    "calendar",
    "callback",
    "camera",
    "cancel",
    "canvas",
    "capture",
    "card",
    "category",
    "center",
    "change",
    "channel",
    "chart",
    "check",
    "child",
    "chrome",
    "class",
    "clean",
    "clear",
    "click",
    "client",
    "clone",
    "close",
    "cloud",
    "cluster",
    "code",
    "collection",
    "color",
    "column",
    "command",
    "comment",
    "commit",
    "common",
    "compile",
    "component",
    "compute",
    "config",
    "connect",
    "console",
    "constant",
    "contact",
    "container",
    "content",
    "context",
    "control",
    "cookie",
    "copy",
    "core",
    "count",
    "create",
    "credential",
    "current",
    "cursor",
    "custom",
    "daemon",
    "dashboard",
    "data",
    "database",
    "date",
    "debug",
    "decode",
    "default",
    "define",
    "delete",
    "demo",
    "deploy",
    "design",
    "detail",
    "develop",
    "device",
    "dialog",
    "digest",
    "directory",
    "disable",
    "display",
    "docker",
    "document",
    "domain",
    "double",
    "download",
    "draft",
    "driver",
    "dummy",
    "dynamic",
    "edit",
    "element",
    "email",
    "embed",
    "empty",
    "enable",
    "encode",
    "encrypt",
    "engine",
    "entity",
    "entry",
    "environment",
    "error",
    "event",
    "example",
    "exception",
    "exchange",
    "execute",
    "export",
    "extension",
    "external",
    "factory",
    "false",
    "feature",
    "field",
    "file",
    "filter",
    "final",
    "first",
    "flag",
    "float",
    "folder",
    "font",
    "footer",
    "force",
    "form",
    "format",
    "frame",
    "function",
    "gateway",
    "general",
    "generate",
    "github",
    "gitlab",
    "global",
    "google",
    "graph",
    "group",
    "guest",
    "handle",
    "hash",
    "header",
    "health",
    "hello",
    "helper",
    "hidden",
    "history",
    "home",
    "hook",
    "host",
    "html",
    "http",
    "icon",
    "image",
    "import",
    "index",
    "info",
    "init",
    "inline",
    "input",
    "insert",
    "install",
    "instance",
    "integer",
    "internal",
    "invalid",
    "issue",
    "item",
    "java",
    "json",
    "kernel",
    "label",
    "language",
    "layout",
    "length",
    "level",
    "library",
    "license",
    "light",
    "limit",
    "line",
    "link",
    "linux",
    "list",
    "loader",
    "local",
    "location",
    "lock",
    "logger",
    "login",
    "logout",
    "lookup",
    "main",
    "manage",
    "manager",
    "manifest",
    "mapping",
    "market",
    "master",
    "match",
    "media",
    "member",
    "memory",
    "menu",
    "merge",
    "message",
    "metadata",
    "method",
    "metric",
    "middleware",
    "migration",
    "mobile",
    "mock",
    "mode",
    "model",
    "module",
    "monitor",
    "mysql",
    "name",
    "native",
    "network",
    "node",
    "none",
    "notification",
    "null",
    "number",
    "object",
    "offset",
    "option",
    "order",
    "origin",
    "output",
    "owner",
    "package",
    "page",
    "panel",
    "param",
    "parent",
    "parse",
    "partner",
    "password",
    "patch",
    "path",
    "pattern",
    "payload",
    "payment",
    "pending",
    "permission",
    "phone",
    "picture",
    "pipeline",
    "placeholder",
    "platform",
    "player",
    "plugin",
    "policy",
    "port",
    "post",
    "prefix",
    "preview",
    "primary",
    "print",
    "private",
    "process",
    "product",
    "production",
    "profile",
    "program",
    "project",
    "prompt",
    "property",
    "protocol",
    "provider",
    "proxy",
    "public",
    "publish",
    "query",
    "queue",
    "random",
    "react",
    "read",
    "ready",
    "record",
    "redirect",
    "redis",
    "refresh",
    "region",
    "register",
    "release",
    "remote",
    "remove",
    "render",
    "replace",
    "report",
    "repository",
    "request",
    "require",
    "reset",
    "resource",
    "response",
    "result",
    "return",
    "review",
    "role",
    "root",
    "route",
    "router",
    "runner",
    "runtime",
    "sample",
    "sandbox",
    "save",
    "schema",
    "scope",
    "screen",
    "script",
    "search",
    "second",
    "secret",
    "section",
    "secure",
    "security",
    "select",
    "sender",
    "server",
    "service",
    "session",
    "setting",
    "setup",
    "shared",
    "shell",
    "short",
    "signature",
    "simple",
    "single",
    "size",
    "slack",
    "socket",
    "source",
    "space",
    "spec",
    "stage",
    "staging",
    "standard",
    "start",
    "state",
    "static",
    "status",
    "storage",
    "store",
    "stream",
    "string",
    "style",
    "submit",
    "subscription",
    "success",
    "support",
    "switch",
    "sync",
    "system",
    "table",
    "target",
    "task",
    "team",
    "template",
    "temp",
    "tenant",
    "test",
    "text",
    "theme",
    "thread",
    "time",
    "title",
    "token",
    "tool",
    "topic",
    "total",
    "trace",
    "track",
    "transaction",
    "transfer",
    "tree",
    "trigger",
    "true",
    "type",
    "update",
    "upload",
    "user",
    "util",
    "valid",
    "value",
    "variable",
    "vendor",
    "version",
    "video",
    "view",
    "visible",
    "volume",
    "warning",
    "watch",
    "webhook",
    "website",
    "widget",
    "window",
    "worker",
    "workflow",
    "wrapper",
    "write",
    "yaml",
];

/// Whether `v` contains one of the [`STOPWORDS`] (ASCII case-insensitive): one pass of an
/// automaton of the list.
pub(crate) fn contains_stopword(v: &str) -> bool {
    stopwords().is_some_and(|ac| ac.is_match(v))
}

/// The automaton of [`STOPWORDS`] (any position, ASCII case-insensitive).
fn stopwords() -> Option<&'static aho_corasick::AhoCorasick> {
    static WORDS: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> =
        std::sync::OnceLock::new();
    WORDS
        .get_or_init(|| {
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(STOPWORDS)
                .ok()
        })
        .as_ref()
}

/// The automaton of [`STOPWORDS`] and [`CODE_WORDS`] of three letters or more (anchored).
fn dictionary() -> Option<&'static aho_corasick::AhoCorasick> {
    static DICT: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> =
        std::sync::OnceLock::new();
    DICT.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .start_kind(aho_corasick::StartKind::Anchored)
            .build(STOPWORDS.iter().chain(CODE_WORDS).filter(|d| d.len() >= 3))
            .ok()
    })
    .as_ref()
}

/// Builds the word automata now (engine construction) instead of on the first value checked.
pub(crate) fn warm_up() {
    let _ = stopwords();
    let _ = dictionary();
    let _ = crate::rules::is_placeholder("warm-up");
    let _ = is_sequential("abcdefgh");
}

/// Indirect references: calls, indexing and member paths (`get_secret()`,
/// `request.headers['apikey']`, `config[:token]`, `Token::Brace`).
pub(crate) fn is_indirect_reference(v: &str) -> bool {
    let open_before_close = |o: char, c: char| match (v.find(o), v.find(c)) {
        (Some(a), Some(b)) => a < b,
        _ => false,
    };
    open_before_close('(', ')')
        || open_before_close('[', ']')
        || v.contains("::")
        || v.contains("->")
}

/// Value check of the keyword rules (a credential word assigned a value): references,
/// identifiers, array literals.
pub(crate) fn keyword_value_rejected(v: &str) -> bool {
    value_rejected(v, false)
}

/// [`keyword_value_rejected`]; `name_ok` keeps identifier-shaped values (the caller knows
/// them to be possible passwords: `Hunter2Hunter2` or a quoted `"CorrectHorseBattery"` assigned
/// to a password key).
pub(crate) fn value_rejected(v: &str, name_ok: bool) -> bool {
    let b = v.as_bytes();
    let identifier = !name_ok && is_code_identifier(v);
    is_reference_or_template(v)
        || is_system_path(v)
        || is_file_path(v)
        || is_indirect_reference(v)
        || identifier
        || (b.first() == Some(&b'_') && is_underscore_name(v))
        || b.first() == Some(&b':')
        || (b.first() == Some(&b'[') && b.last() == Some(&b']'))
        || is_color_or_anchor(v)
}

/// `__u32`, `_bindgen_ty_7`, `_PRIVATE_KEY`: a private or generated name (a random base64url
/// value that happens to start with `_` has upper and lower case mixed).
fn is_underscore_name(v: &str) -> bool {
    let rest = v.trim_start_matches('_');
    rest.len() <= 12
        || is_code_identifier(rest)
        || !rest.bytes().any(|c| c.is_ascii_uppercase())
        || !rest.bytes().any(|c| c.is_ascii_lowercase())
}

/// `#976806`, `#fff`, `#section-name`: a colour or an anchor.
fn is_color_or_anchor(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('#') else {
        return false;
    };
    let hex = matches!(rest.len(), 3 | 4 | 6 | 8) && rest.bytes().all(|c| c.is_ascii_hexdigit());
    let word = !rest.is_empty()
        && rest
            .bytes()
            .all(|c| c.is_ascii_alphabetic() || c == b'-' || c == b'_');
    hex || word
}

/// A dotted path of identifiers (`t.Any`, `tokenize.OP`, `settings.SECRET_KEY`): an
/// attribute or module reference when it stands unquoted after a credential key.
pub(crate) fn is_dotted_reference(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            p.bytes()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
                && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        })
        && parts.iter().any(|p| p.len() >= 3)
}

/// Value check of the generic high-entropy rules (`generic-api-key`, the quoted high-entropy
/// string): the keyword checks, and a value of letters and `_ . -` only (a word, a name, a
/// dotted path is not worth a generic finding) or with a common word inside.
pub(crate) fn generic_value_rejected(v: &str) -> bool {
    let v = v.trim_end_matches('=');
    keyword_value_rejected(v)
        || has_sequence_run(v, 8)
        // `name=value` pairs (cookies, query strings): `=` inside, not base64 padding.
        || v.trim_end_matches('=').contains('=')
        || v
            .bytes()
            .all(|c| c.is_ascii_alphabetic() || matches!(c, b'_' | b'.' | b'-'))
        || contains_stopword(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_templates() {
        for v in [
            "${API_KEY}",
            "$api_key",
            "$1",
            "${{ secrets.TOKEN }}",
            "{{ .Values.token }}",
            "%DB_PASSWORD%",
            "%s",
            "%(password)s",
            "{0}",
            "@DB_PASS@",
            "<your-token>",
            "<%= ENV['SECRET'] %>",
            "$(cat /run/secrets/db)",
        ] {
            assert!(is_reference_or_template(v), "{v}");
        }
        for v in [
            "Zq8!rTw2vK",
            "hunter2hunter",
            "%Tr0ub4dor&3",
            "a$b%c{d}",
            "9f8e7d6c5b4a",
            "x{{y}z)q${w]k(",
        ] {
            assert!(!is_reference_or_template(v), "{v}");
        }
    }

    #[test]
    fn system_paths() {
        assert!(is_system_path("/etc/ssl/private/server.key"));
        assert!(is_system_path("/home/ci/.ssh/id_ed25519"));
        assert!(!is_system_path("/9f8e7d6c5b4a"));
        assert!(keyword_value_rejected("/etc/app/secret.pem"));
        assert!(keyword_value_rejected("token::Brace"));
    }

    #[test]
    fn sequences() {
        for v in [
            "abcdefghijklmnopqrstuvwxyz",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            "qwertyuiop",
            "1234567890",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        ] {
            assert!(is_sequential(v), "{v}");
        }
        for v in [
            "q8Xz2LmN4vR7tY1wK9pB3sD6",
            "3f9a2c7e1b8d4f6a",
            "hunter2hunter2",
            "abcdefgh12345678xyz",
        ] {
            assert!(!is_sequential(v), "{v}");
        }
    }

    #[test]
    fn sequence_runs() {
        assert!(has_sequence_run("xx-abcdefgh-yy", 8));
        assert!(has_sequence_run(
            "ABCDEFGHIJKLMNOPQRSTUVWXZYabcdefghijklmnop",
            8
        ));
        assert!(!has_sequence_run("q8Xz2LmN4vR7tY1wK9pB3sD6abc", 8));
    }

    #[test]
    fn identifiers() {
        assert_eq!(
            ident_parts("HTTPServer2Config"),
            ["HTTP", "Server2", "Config"]
        );
        assert_eq!(ident_parts("Ed25519KeyPair"), ["Ed25519", "Key", "Pair"]);
        for v in [
            "UnboundCipherKey",
            "Ed25519KeyPair",
            "Tls13CipherSuite",
            "TLS13_CHACHA20_POLY1305_SHA256_INTERNAL",
            "xxh3_128_long_with_seed",
            "KeyScheduleTrafficWithClientFinishedPending",
            "EXPORTER_SECRET",
            "getPassword",
            "Curve25519SeedBin",
            "ECDSA_P521_SHA512_FIXED",
            "kbkdf_ctr_hmac_sha256",
            "wycheproof_chacha20poly1305_pass",
        ] {
            assert!(is_code_identifier(v), "{v}");
        }
        for v in [
            "hQxZpLmWvRtKsNbY",
            "6489d8ce0c4facf18b872705a05d5ee4",
            "AKIAQYLPMN5HFIQR7XYZ",
            "Summer2024",
            "hunter2hunter",
            "MyDbP4ss2024",
            "sk_live_9aK2mQ7vLx3PzR8tW1yB5nC0",
            "q8Xz2LmN4vR7tY1wK9pB3sD6",
            "Zq8rTw2vK",
            "RM2uqjfDJC9XIAklQF",
        ] {
            assert!(!is_code_identifier(v), "{v}");
        }
    }

    /// The allocating versions these functions replaced (reference for the equivalence
    /// tests below).
    fn reference_is_code_identifier(v: &str) -> bool {
        if v.len() < 4
            || !v
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'/' | b':'))
        {
            return false;
        }
        let separated = v
            .bytes()
            .any(|c| matches!(c, b'_' | b'-' | b'.' | b'/' | b':'));
        let mut words = 0usize;
        let mut others = 0usize;
        for p in ident_parts(v) {
            let letters: Vec<u8> = p.bytes().take_while(u8::is_ascii_alphabetic).collect();
            let n = letters.len();
            if n == 0 {
                continue;
            }
            let upper = letters.iter().all(u8::is_ascii_uppercase);
            let lower_tail = letters.iter().skip(1).all(u8::is_ascii_lowercase);
            if !upper && !lower_tail {
                return false;
            }
            let lower: Vec<u8> = letters.iter().map(u8::to_ascii_lowercase).collect();
            let w = String::from_utf8(lower).unwrap_or_default();
            let dict = w.len() >= 3
                && STOPWORDS
                    .iter()
                    .chain(CODE_WORDS)
                    .any(|d| d.len() >= 3 && w.starts_with(d));
            if dict {
                words += 1;
            } else if !(n == 1 && p.len() > 1) {
                others += 1;
            }
        }
        words >= 2
            && if separated {
                others <= words
            } else {
                others * 2 <= words
            }
    }

    fn reference_is_sequential(v: &str) -> bool {
        const SEQS: &[&str] = &[
            "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "01234567890123456789012345678901234567890123456789",
            "98765432109876543210987654321098765432109876543210",
            "ZYXWVUTSRQPONMLKJIHGFEDCBAZYXWVUTSRQPONMLKJIHGFEDCBA",
            "QWERTYUIOPASDFGHJKLZXCVBNM",
            "1QAZ2WSX3EDC4RFV5TGB6YHN7UJM8IK9OL0P",
        ];
        v.len() >= 8
            && SEQS
                .iter()
                .any(|s| s.contains(v.to_ascii_uppercase().as_str()))
    }

    proptest::proptest! {
        /// The allocation-free identifier check and the sequence check with its quick reject
        /// decide exactly as the versions they replaced.
        #[test]
        fn rewritten_checks_equal_reference(
            v in "[A-Za-z0-9_./:-]{0,40}|(ABCDEFGHIJKLMNOPQRSTUVWXYZ|0123456789|qwertyuiop){1,2}[a-z0-9]{0,3}|[A-Z][a-z]{2,8}([A-Z][a-z]{1,8}|_[a-z]{2,8}|[0-9]{1,3}){1,4}"
        ) {
            proptest::prop_assert_eq!(is_code_identifier(&v), reference_is_code_identifier(&v), "{}", v);
            proptest::prop_assert_eq!(is_sequential(&v), reference_is_sequential(&v), "{}", v);
        }
    }

    /// Random strings are (almost) never taken for identifiers.
    #[test]
    fn random_strings_are_not_identifiers() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        const B62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        const URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        let mut hits = 0;
        let mut seen = Vec::new();
        let n = 20_000;
        for i in 0..n {
            let alphabet = if i % 2 == 0 { B62 } else { URL };
            let len = 12 + (next() % 40) as usize;
            let s: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char)
                .collect();
            if is_code_identifier(&s) {
                hits += 1;
                if seen.len() < 12 {
                    seen.push(s);
                }
            }
        }
        assert!(
            hits * 1000 < n,
            "{hits} of {n} random strings look like identifiers: {seen:?}"
        );
    }

    #[test]
    fn file_paths() {
        for v in [
            "crypto/x509/x_req.c",
            "tests/pass/*.rs",
            "./keys/id_rsa",
            "/project/target/x86_64-unknown-linux-gnu/debug/build/project-0147aca016480b9d/out",
            "src\\main\\resources\\app.properties",
        ] {
            assert!(is_file_path(v), "{v}");
        }
        for v in [
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
            "q8Xz2LmN4vR7tY1wK9pB3sD6",
            "z3Uuv7+Xsn+acg0ZNRsw1/ZEl1FJEMw3kV0N0Ma",
        ] {
            assert!(!is_file_path(v), "{v}");
        }
    }

    #[test]
    fn generic_values() {
        for v in [
            "my_client_secret_value_1",
            "defaultconfig2024",
            "get_token()",
            "request.headers['apikey']",
            "Dispatch",
            "[62,70,27,163]",
            "OnceLockValue",
        ] {
            assert!(generic_value_rejected(v), "{v}");
        }
        for v in [
            "q8Xz2LmN4vR7tY1wK9pB3sD6",
            "3f9a2c7e1b8d4f6a0c5e9b1d",
            "Zq8!rTw2vK",
        ] {
            assert!(!generic_value_rejected(v), "{v}");
        }
    }
}
