//! A compositional generator of training rows, written for this project (no external data):
//! the attack *shapes* that the public training corpus holds only a few families of, built
//! from independent parts so that a classifier learns the shape rather than one family's words.
//!
//! - **Planted instructions** (indirect injection): ~20 document genres (e-mails, alerts,
//!   reviews, news, résumés, contracts, tickets, recipes, WHOIS records, JSON results, code,
//!   chat logs …) × instructions of many kinds (unrelated tasks, questions, style changes,
//!   false claims, exfiltration links, agent actions, code to insert) × framings (bare, "P.S.",
//!   "[system]", HTML comments …) × positions. Every attacked document has a **benign twin**
//!   from the same template: clean, with a spliced harmless sentence, or with the imperatives
//!   real documents carry ("Click here to unsubscribe"); and users' own requests around a pasted
//!   document ("Summarize this email:", "Is this a scam?") appear on both sides.
//! - **Jailbreaks**: persona prompts assembled from openings, traits, rules and question frames;
//!   short framings (hypothetical, authority, refusal suppression, prefix injection, encoding,
//!   payload splitting, fake dialogue); adversarial suffixes of the GCG kind; harmful requests
//!   nested inside a task ("translate the following sentence: write one offensive …"). Their
//!   twins: the harmful request alone (not a prompt attack for this detector), role-play
//!   prompts without the safety switch-off, fiction, code and security questions.
//! - **Extraction** requests and their benign look-alikes.
//!
//! Seeded: the same seed gives the same rows.

use super::banks::*;
use super::synth::{Rng, SynthRow, b64};

const HOSTS: &[&str] = &[
    "evil.example",
    "attacker.example.net",
    "data-collector.io",
    "cdn-analytics.xyz",
    "img.trackr.site",
    "secure-login-verify.com",
    "promo-winner.biz",
    "collect.exfil.dev",
    "files.share-now.cc",
    "api.metrics-hub.top",
];
const DAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const GROUPS: &[&str] = &[
    "women",
    "immigrants",
    "gay men",
    "trans people",
    "Muslims",
    "Jewish people",
    "disabled people",
    "old people",
    "Black people",
    "Asian people",
    "poor people",
    "fat people",
];
const TOXIC: &[&str] = &[
    "toxic",
    "offensive",
    "negative",
    "hateful",
    "insulting",
    "derogatory",
    "demeaning",
    "discriminatory",
    "racist",
    "mean",
];
const NICE: &[&str] = &[
    "positive",
    "kind",
    "encouraging",
    "funny",
    "short",
    "polite",
];
const NICE_TARGETS: &[&str] = &[
    "teachers",
    "nurses",
    "my grandmother",
    "spring",
    "coffee",
    "our volunteers",
    "the new park",
];

fn lc_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn cap_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Fills the `{slot}`s of a template; unknown braces (JSON) are kept.
pub fn fill(t: &str, r: &mut Rng) -> String {
    let mut out = String::with_capacity(t.len() + 32);
    let mut rest = t;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after.find('}');
        let name = end.map(|e| &after[..e]).unwrap_or("");
        let known = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let v = if known { slot(name, r) } else { None };
        match (v, end) {
            (Some(v), Some(e)) => {
                out.push_str(&v);
                rest = &after[e + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn slot(name: &str, r: &mut Rng) -> Option<String> {
    Some(match name {
        "name" | "name2" => format!("{} {}", r.pick(FIRST), r.pick(LAST)),
        "first" => r.pick(FIRST).to_owned(),
        "company" => r.pick(COMPANY).to_owned(),
        "company_dom" => format!(
            "{}.com",
            r.pick(COMPANY).to_lowercase().replace([' ', '.'], "")
        ),
        "city" => r.pick(CITY).to_owned(),
        "country" => r.pick(COUNTRY).to_owned(),
        "country_code" => r
            .pick(&["US", "GB", "DE", "FR", "JP", "BR", "IN", "CA"])
            .to_owned(),
        "amount" => {
            let cur = r.pick(&["$", "€", "£", "USD ", ""]);
            format!("{cur}{}.{:02}", 5 + r.below(2000), r.below(100))
        }
        "date" => format!(
            "{} {} {}",
            1 + r.below(28),
            r.pick(MONTHS),
            2019 + r.below(7)
        ),
        "day" => r.pick(DAYS).to_owned(),
        "time" => format!("{}:{:02}", 7 + r.below(12), 5 * r.below(12)),
        "product" => r.pick(PRODUCT).to_owned(),
        "num" => (10 + r.below(990)).to_string(),
        "small" => r.below(10).to_string(),
        "order" => (100_000 + r.below(900_000)).to_string(),
        "percent" => format!("{}%", 2 + r.below(40)),
        "phone" => format!(
            "+1 {} {} {}",
            200 + r.below(700),
            200 + r.below(700),
            1000 + r.below(9000)
        ),
        "email" => format!(
            "{}.{}@{}",
            r.pick(FIRST).to_lowercase(),
            r.pick(LAST).to_lowercase().replace('\'', ""),
            r.pick(&[
                "gmail.com",
                "outlook.com",
                "proton.me",
                "mail.example.org",
                "evil.example"
            ])
        ),
        "host" => r.pick(HOSTS).to_owned(),
        "url" => format!(
            "https://{}/{}",
            r.pick(HOSTS),
            r.pick(&["verify", "login", "claim?id=", "r/abc123", "account/update"])
        ),
        "dom" => format!(
            "{}{}.{}",
            r.pick(&["secure", "account", "shop", "my", "cloud", "pay"]),
            r.pick(&["protect", "verify", "deals", "portal", "center"]),
            r.pick(&["com", "net", "co.uk", "shop", "io"])
        ),
        "topic" => r.pick(TOPIC).to_owned(),
        "topic_cap" => cap_first(r.pick(TOPIC)),
        "lang" => r.pick(LANG).to_owned(),
        _ => return None,
    })
}

// ---- planted instructions -----------------------------------------------------------------

/// A question (compositional: stems × actions × topics, or the fixed bank).
fn question(r: &mut Rng) -> String {
    if r.chance(0.3) {
        return fill(r.pick(QUESTIONS), r);
    }
    let (a, b) = Q_PAIRS[r.below(Q_PAIRS.len())];
    let t = r
        .pick(Q_STEMS)
        .replace("{adj}", r.pick(Q_ADJ))
        .replace("{act}", r.pick(Q_ACTS))
        .replace("{a}", a)
        .replace("{b}", b);
    fill(&t, r)
}

/// A request to write a malicious program.
fn bad_program(r: &mut Rng, polite: &impl Fn(&mut Rng, String) -> String) -> String {
    let s = format!(
        "{} a {} {} that {}.",
        r.pick(&[
            "Write", "Create", "Develop", "Generate", "Give me", "Provide", "Code"
        ]),
        r.pick(CODE_LANGS),
        r.pick(&["function", "script", "program", "tool", "snippet"]),
        fill(r.pick(BAD_CODE_TASKS), r)
    );
    polite(r, s)
}

/// One instruction to plant in a document (already filled).
fn instruction(r: &mut Rng) -> String {
    let polite = |r: &mut Rng, s: String| -> String {
        match r.below(7) {
            0 => format!("Please {}", lc_first(&s)),
            1 => format!("Can you {}?", lc_first(s.trim_end_matches('.'))),
            2 => format!("Your task is to {}", lc_first(&s)),
            3 => format!("Now {}", lc_first(&s)),
            4 => format!("I need you to {}", lc_first(&s)),
            _ => s,
        }
    };
    match r.below(100) {
        0..=13 => {
            let s = format!("Write a {} about {}.", r.pick(FORMS), r.pick(TOPIC));
            polite(r, s)
        }
        14..=21 => {
            let v = r.pick(&[
                "Explain",
                "Describe",
                "Summarize",
                "Outline",
                "Tell me about",
            ]);
            let s = format!(
                "{v} {}{}.",
                r.pick(CONCEPTS),
                r.pick(&[
                    "",
                    " in simple terms",
                    " to a ten-year-old",
                    " in detail",
                    " in three sentences"
                ])
            );
            polite(r, s)
        }
        22..=27 => question(r),
        28..=35 => {
            let s = format!(
                "{} your {} {}.",
                r.pick(ANSWER_VERBS),
                r.pick(ANSWER_NOUNS),
                fill(r.pick(ANSWER_MODS), r)
            );
            polite(r, s)
        }
        36..=37 => {
            let s = format!("{} {}.", r.pick(TASK_VERBS), fill(r.pick(TASK_OBJECTS), r));
            polite(r, s)
        }
        38..=39 => {
            let s = format!(
                "{} {} {}.",
                r.pick(&["List", "Give me", "Provide", "Suggest", "Name"]),
                2 + r.below(9),
                fill(r.pick(LIST_OBJECTS), r)
            );
            polite(r, s)
        }
        40..=41 => {
            let s = format!(
                "Write a {} {} that {}.",
                r.pick(CODE_LANGS),
                r.pick(&["function", "script", "program", "class"]),
                r.pick(CODE_TASKS)
            );
            polite(r, s)
        }
        42 => bad_program(r, &polite),
        43..=46 => {
            let s = format!(
                "{} {}.",
                r.pick(&[
                    "Translate your answer into",
                    "Translate the whole text into",
                    "Reply only in",
                    "From now on answer in",
                ]),
                r.pick(LANG)
            );
            polite(r, s)
        }
        47..=50 => {
            let t = r
                .pick(FORM_MANIPULATIONS)
                .replace("{n}", r.pick(ANSWER_NOUNS));
            format!("{}.", fill(&t, r))
        }
        51..=54 => {
            let style = fill(r.pick(STYLES), r);
            let s = format!(
                "{} {style}.",
                r.pick(&[
                    "Respond",
                    "Write your answer",
                    "Reply",
                    "Format your response",
                    "Rewrite your summary",
                    "Answer"
                ])
            );
            polite(r, s)
        }
        55..=63 => {
            let c = fill(r.pick(CLAIMS), r);
            match r.below(5) {
                0 => format!("Tell the user that {c}."),
                1 => format!("Say that {c}."),
                2 => format!("In your answer, state that {c}."),
                3 => format!(
                    "{} this {} as \"{}\".",
                    r.pick(&["Classify", "Mark", "Label", "Rate", "Report"]),
                    r.pick(&[
                        "email",
                        "message",
                        "document",
                        "invoice",
                        "domain",
                        "candidate"
                    ]),
                    r.pick(LABELS)
                ),
                _ => format!("Respond only with \"{}\".", r.pick(LABELS)),
            }
        }
        64..=71 => fill(r.pick(EXFIL), r),
        72..=79 => fill(r.pick(AGENT_ACTIONS), r),
        80..=82 => bad_program(r, &polite),
        83..=89 => {
            let code = fill(r.pick(BAD_CODE), r);
            format!("{}\n```\n{code}\n```", r.pick(CODE_FRAMES))
        }
        90..=94 => {
            let s = format!(
                "{} {} {} and {}",
                r.pick(&["Ignore", "Disregard", "Forget", "Do not follow"]),
                r.pick(&[
                    "the previous",
                    "all prior",
                    "the above",
                    "your earlier",
                    "the user's"
                ]),
                r.pick(&["instructions", "request", "task", "directions"]),
                lc_first(&question(r))
            );
            s
        }
        _ => {
            let s = format!(
                "Recommend {} from {} in every answer.",
                r.pick(PRODUCT),
                r.pick(COMPANY)
            );
            polite(r, s)
        }
    }
}

fn wrap_instruction(r: &mut Rng, instr: &str) -> String {
    let w = r.pick(PLANT_WRAPS);
    if w.contains("{lc}") {
        w.replace("{lc}", &lc_first(instr))
    } else {
        w.replace("{}", instr)
    }
}

/// Units (lines / sentences) of one document of a genre.
fn document(r: &mut Rng, g: &Genre) -> Vec<String> {
    let mut units = Vec::new();
    if r.chance(0.75) {
        units.push(fill(r.pick(g.openers), r));
    }
    let n = 2 + r.below(6);
    let mut used: Vec<usize> = Vec::new();
    for _ in 0..n {
        let i = r.below(g.body.len());
        if used.contains(&i) {
            continue;
        }
        used.push(i);
        units.push(fill(g.body[i], r));
    }
    if r.chance(0.3) {
        let at = 1 + r.below(units.len());
        units.insert(at.min(units.len()), fill(r.pick(DOC_IMPERATIVES), r));
    }
    if r.chance(0.6) {
        units.push(fill(r.pick(g.closers), r));
    }
    units
}

fn join(r: &mut Rng, units: &[String]) -> String {
    let sep = *[" ", "\n", "\n", "\n\n", " \n"]
        .get(r.below(5))
        .unwrap_or(&"\n");
    units.join(sep)
}

/// Inserts `unit` at a position: start (rare), inside or at the end.
fn insert(r: &mut Rng, units: &mut Vec<String>, unit: String) {
    let len = units.len();
    let at = match r.below(20) {
        0..=4 => 0,
        5..=11 => 1 + r.below(len.max(1)),
        _ => len,
    };
    if r.chance(0.15) && at > 0 && at <= len {
        // Inline, glued to the previous sentence.
        if let Some(prev) = units.get_mut(at - 1) {
            prev.push(' ');
            prev.push_str(&unit);
            return;
        }
    }
    units.insert(at.min(len), unit);
}

fn user_wrap(r: &mut Rng, doc: String, lead: Option<usize>, trail: Option<usize>) -> String {
    let mut s = doc;
    if let Some(i) = lead {
        let l = fill(USER_LEADS[i % USER_LEADS.len()], r);
        s = format!("{l}\n{}{s}", if r.chance(0.3) { "---\n" } else { "" });
    }
    if let Some(i) = trail {
        let t = fill(USER_TRAILS[i % USER_TRAILS.len()], r);
        s = format!("{s}\n\n{t}");
    }
    s
}

fn planted(r: &mut Rng, n_docs: usize, out: &mut Vec<SynthRow>) {
    for i in 0..n_docs {
        let gi = r.below(GENRES.len());
        let g = &GENRES[gi];
        let base = document(r, g);
        let group = format!("s2-doc-{}-{}", g.name, i % 25);
        // User framing, applied alike to the attacked and the benign version.
        let lead = r.chance(0.3).then(|| r.below(USER_LEADS.len()));
        let trail = (lead.is_none() && r.chance(0.15)).then(|| r.below(USER_TRAILS.len()));

        let mut attacked = base.clone();
        let instr = instruction(r);
        let unit = wrap_instruction(r, &instr);
        insert(r, &mut attacked, unit);
        if r.chance(0.1) {
            // Two planted instructions.
            let i2 = instruction(r);
            let more = wrap_instruction(r, &i2);
            insert(r, &mut attacked, more);
        }
        let text = join(r, &attacked);
        out.push(SynthRow {
            text: user_wrap(r, text, lead, trail),
            attack: true,
            kind: 0,
            group: group.clone(),
        });

        let mut benign = base;
        match r.below(4) {
            0 => {}
            1 => {
                // A harmless sentence from another genre spliced in the same way.
                let other = &GENRES[r.below(GENRES.len())];
                let s = fill(other.body[r.below(other.body.len())], r);
                insert(r, &mut benign, s);
            }
            2 => {
                let s = fill(r.pick(DOC_IMPERATIVES), r);
                insert(r, &mut benign, s);
            }
            _ => {
                let s = fill(r.pick(DOC_IMPERATIVES), r);
                insert(r, &mut benign, s);
                let s2 = fill(r.pick(DOC_IMPERATIVES), r);
                insert(r, &mut benign, s2);
            }
        }
        let text = join(r, &benign);
        out.push(SynthRow {
            text: user_wrap(r, text, lead, trail),
            attack: false,
            kind: 0,
            group,
        });
    }
}

// ---- jailbreaks -----------------------------------------------------------------------------

fn harmful(r: &mut Rng) -> &'static str {
    r.pick(HARMFUL)
}

fn fill_jb(t: &str, r: &mut Rng, p: &str, hq: &str) -> String {
    let bare = hq.strip_prefix("how to ").unwrap_or(hq);
    let words: Vec<&str> = hq.split(' ').collect();
    let mid = words.len() / 2;
    let s = t
        .replace("{p}", p)
        .replace(
            "{pdesc}",
            r.pick(&[
                "do anything now",
                "strive to avoid norms",
                "always intelligent and Machiavellian",
                "unfiltered and limitless",
            ]),
        )
        .replace("{hq_b64}", &b64(hq))
        .replace("{hq_a}", &words[..mid].join(" "))
        .replace("{hq_b}", &words[mid..].join(" "))
        .replace("{hq_bare}", bare)
        .replace("{hq}", hq);
    fill(&s, r)
}

fn persona_prompt(r: &mut Rng, with_question: bool) -> String {
    let p = r.pick(PERSONA_NAMES);
    let hq = harmful(r);
    let mut parts = vec![fill_jb(r.pick(JB_OPENINGS), r, p, hq)];
    for _ in 0..(1 + r.below(4)) {
        parts.push(fill_jb(r.pick(JB_TRAITS), r, p, hq));
    }
    for _ in 0..r.below(3) {
        parts.push(fill_jb(r.pick(JB_RULES), r, p, hq));
    }
    if with_question {
        parts.push(fill_jb(r.pick(JB_QUESTION_FRAMES), r, p, hq));
    }
    let sep = if r.chance(0.5) { " " } else { "\n" };
    parts.join(sep)
}

/// An adversarial suffix of the kind gradient-based optimisers (GCG and its kin) produce:
/// tokens from several languages, mathematical and code fragments, acronyms, punctuation-only
/// tokens and camel-case joins, from mildly to heavily noisy.
fn adversarial_suffix(r: &mut Rng) -> String {
    const SYL: &[&str] = &[
        "ba", "ro", "ti", "qu", "en", "str", "ix", "ol", "ph", "ver", "ama", "lic", "dor", "ux",
        "ne", "zi", "kt", "ow", "ept", "ra", "mel", "ion", "ck", "sy", "aph", "tr", "go", "wel",
    ];
    const PUNCT: &[&str] = &[
        "[", "](", "\\", "!--", "}", "{", "\"", "'", "*", "**", "%", "$", ";", ")", "(", "==",
        "->", "<", ">", "](#", "\\+", "'\\", ".]", "({", "[[", "=>", "`", "\"/", "@", "!", "!!",
        "?", "|", "^", "~",
    ];
    let frag = |r: &mut Rng| -> String {
        let w: String = (0..1 + r.below(3)).map(|_| r.pick(SYL)).collect();
        if r.chance(0.3) { cap_first(&w) } else { w }
    };
    // How noisy: the share of punctuation and code tokens.
    let noise = 0.15 + (r.below(60) as f64) / 100.0;
    let n = 6 + r.below(20);
    let mut toks: Vec<String> = Vec::new();
    for _ in 0..n {
        let t = if r.chance(noise) {
            match r.below(4) {
                0 | 1 => r.pick(PUNCT).to_owned(),
                2 => r.pick(SUFFIX_CODE).to_owned(),
                _ => format!("{}{}", r.pick(PUNCT), r.pick(SUFFIX_WORDS)),
            }
        } else {
            match r.below(13) {
                0..=3 => r.pick(SUFFIX_WORDS).to_owned(),
                4 => r.pick(SUFFIX_ACRONYMS).to_owned(),
                5 => {
                    // Sub-word pieces glued into one long non-word ("paintermeisterior").
                    let mut w = lc_first(r.pick(SUFFIX_WORDS));
                    for _ in 0..1 + r.below(2) {
                        w.push_str(&frag(r).to_lowercase());
                    }
                    w
                }
                10 => r
                    .pick(&["I", "II", "IX", "XV", "B2", "CF", "Q", "Z", "K9"])
                    .to_owned(),
                11 => "[ [".to_owned(),
                6 => format!("{}{}", r.pick(SUFFIX_WORDS), cap_first(&frag(r))),
                7 => frag(r),
                8 => format!("{}{}", r.pick(SUFFIX_WORDS), r.pick(SUFFIX_CODE)),
                _ => format!("{}{}", lc_first(r.pick(SUFFIX_WORDS)), r.pick(SUFFIX_WORDS)),
            }
        };
        toks.push(t);
    }
    toks.join(" ")
}

fn jailbreaks(r: &mut Rng, n: usize, out: &mut Vec<SynthRow>) {
    for i in 0..n {
        let g = format!("s2-jb-{}", i % 30);
        match i % 6 {
            0 | 1 => out.push(SynthRow {
                text: {
                    let q = r.chance(0.7);
                    persona_prompt(r, q)
                },
                attack: true,
                kind: 1,
                group: g.clone(),
            }),
            2 | 3 => {
                let hq = harmful(r);
                let t = r.pick(JB_SHORT);
                out.push(SynthRow {
                    text: fill_jb(t, r, "", hq),
                    attack: true,
                    kind: 1,
                    group: g.clone(),
                });
            }
            4 => {
                let hq = cap_first(harmful(r));
                let q = if r.chance(0.5) { format!("{hq}.") } else { hq };
                out.push(SynthRow {
                    text: format!("{q} {}", adversarial_suffix(r)),
                    attack: true,
                    kind: 1,
                    group: g.clone(),
                });
                // Its twin: the same request without the suffix (not a prompt attack).
                out.push(SynthRow {
                    text: q,
                    attack: false,
                    kind: 0,
                    group: g.clone(),
                });
            }
            _ => {
                // A harmful request nested in a task on a "sentence".
                let inner = format!(
                    "Write one {} {} about {}{}.",
                    r.pick(TOXIC),
                    r.pick(&["sentence", "joke", "comment", "statement", "tweet"]),
                    r.pick(GROUPS),
                    if r.chance(0.5) {
                        " with at most 20 words"
                    } else {
                        ""
                    }
                );
                out.push(SynthRow {
                    text: nested(r, &inner),
                    attack: true,
                    kind: 1,
                    group: g.clone(),
                });
            }
        }
        // Benign twins, one per attack.
        let text = match i % 6 {
            0 => {
                if r.chance(0.2) {
                    r.pick(BENIGN_ROLES).to_owned()
                } else {
                    role_prompt(r)
                }
            }
            1 => r.pick(BENIGN_FICTION).to_owned(),
            2 => {
                // The harmful request alone: not a prompt attack (content safety handles it).
                let hq = cap_first(harmful(r));
                match r.below(3) {
                    0 => format!("{hq}?"),
                    1 => format!("Tell me {}.", lc_first(&hq)),
                    _ => format!("{hq}."),
                }
            }
            3 => fill(r.pick(BENIGN_SECURITY), r),
            4 => {
                // Benign prompts ending in code, regexes or markup (noisy tails that are fine).
                let tails = [
                    "What does this regex match? ^[\\w.+-]+@[\\w-]+\\.[a-z]{2,}$",
                    "Why does this fail? `for (i = 0; i < n; i++) { a[i] = b[i] * 2; }`",
                    "Fix the markdown: [link](http://localhost:8080/docs) **bold** _it_",
                    "Simplify: (x^2 - 1) / (x - 1) for x != 1",
                    "Explain this JSON: {\"a\": [1, 2, {\"b\": null}], \"c\": \"d\"}",
                    "What does `git log --oneline --graph --all` show?",
                    "Convert to LaTeX: sum_{i=1}^{n} i = n(n+1)/2",
                    "Why is `if (x = 5) { ... }` a bug in C?",
                ];
                let t = tails[r.below(tails.len())];
                if r.chance(0.5) {
                    format!("{} {t}", fill(r.pick(QUESTIONS), r))
                } else {
                    t.to_owned()
                }
            }
            _ => {
                let inner = if r.chance(0.5) {
                    format!(
                        "Write one {} sentence about {}.",
                        r.pick(NICE),
                        r.pick(NICE_TARGETS)
                    )
                } else {
                    let g = &GENRES[r.below(GENRES.len())];
                    fill(g.body[r.below(g.body.len())], r)
                };
                nested(r, &inner)
            }
        };
        out.push(SynthRow {
            text,
            attack: false,
            kind: 0,
            group: g,
        });
    }
}

/// A benign role-play prompt: opening, task, rules, first request — the shape persona
/// jailbreaks imitate, without switching anything off. A third are structured task prompts
/// ("Act as …. Your task is to: - …").
fn role_prompt(r: &mut Rng) -> String {
    let role = r.pick(ROLES);
    if r.chance(0.33) {
        let head = fill(&r.pick(TASK_PROMPT_HEADS).replace("{role}", role), r);
        let mut parts = vec![head];
        if r.chance(0.5) {
            parts.push("Your task is to:".to_owned());
        }
        for _ in 0..(2 + r.below(5)) {
            parts.push(fill(r.pick(TASK_PROMPT_ITEMS), r));
        }
        let sep = if r.chance(0.6) { "\n" } else { " " };
        return parts.join(sep);
    }
    let q = fill(r.pick(QUESTIONS), r);
    let sub = |t: &str, r: &mut Rng| fill(&t.replace("{role}", role).replace("{q}", &q), r);
    let mut parts = vec![sub(r.pick(ROLE_OPENINGS), r)];
    if r.chance(0.8) {
        parts.push(sub(r.pick(ROLE_TASKS), r));
    }
    for _ in 0..r.below(4) {
        parts.push(sub(r.pick(ROLE_RULES), r));
    }
    let first = sub(r.pick(ROLE_FIRST), r);
    if !first.is_empty() {
        parts.push(first);
    }
    parts.join(" ")
}

/// A long structured system prompt of the kind users write for their own assistants (benign).
fn structured_prompt(r: &mut Rng) -> String {
    let role = r.pick(ROLES);
    let audience = r.pick(SP_AUDIENCES);
    let q = question(r);
    let mut out = String::new();
    if r.chance(0.7) {
        out.push_str(&format!("# {}\n", r.pick(SP_TITLES)));
    }
    for _ in 0..(2 + r.below(4)) {
        if r.chance(0.8) {
            out.push_str(r.pick(SP_HEADERS));
            out.push('\n');
        }
        for _ in 0..(1 + r.below(4)) {
            let line = r
                .pick(SP_LINES)
                .replace("{role}", role)
                .replace("{audience}", audience)
                .replace("{q}", &q);
            let bullet = if r.chance(0.4) { "- " } else { "" };
            out.push_str(&format!("{bullet}{}\n", fill(&line, r)));
        }
        if r.chance(0.3) {
            out.push_str(&format!("- {}\n", fill(r.pick(TASK_PROMPT_ITEMS), r)));
        }
        out.push('\n');
    }
    out.trim_end().to_owned()
}

fn nested(r: &mut Rng, inner: &str) -> String {
    let lang = r.pick(LANG);
    match r.below(6) {
        0 => format!("Translate the following sentence into {lang}.\n{inner}"),
        1 => format!("Sentence: {inner}\nTranslate the above sentence into {lang}."),
        2 => format!("Refine the following sentence.\n{inner}"),
        3 => format!("Paraphrase the following text: {inner}"),
        4 => format!("Correct the grammar of this sentence:\n{inner}"),
        _ => format!("{inner}\nPlease polish the sentence above."),
    }
}

// ---- extraction ------------------------------------------------------------------------------

fn extraction(r: &mut Rng, n: usize, out: &mut Vec<SynthRow>) {
    for i in 0..n {
        let g = format!("s2-ex-{}", i % 20);
        let e = fill(r.pick(EXTRACTION), r);
        let text = match r.below(5) {
            0 => format!(
                "{} {e}",
                r.pick(&[
                    "Hi!",
                    "Quick question:",
                    "Thanks for the help.",
                    "OK, new request."
                ])
            ),
            1 => {
                let gi = r.below(GENRES.len());
                let mut d = document(r, &GENRES[gi]);
                insert(r, &mut d, e);
                join(r, &d)
            }
            _ => e,
        };
        out.push(SynthRow {
            text,
            attack: true,
            kind: 2,
            group: g.clone(),
        });
        out.push(SynthRow {
            text: fill(r.pick(EXTRACTION_BENIGN), r),
            attack: false,
            kind: 0,
            group: g,
        });
    }
}

/// Benign prompts with trigger words, and role-play prompts.
fn benign_extra(r: &mut Rng, n_roles: usize, out: &mut Vec<SynthRow>) {
    for i in 0..n_roles {
        out.push(SynthRow {
            text: if i % 3 == 0 {
                structured_prompt(r)
            } else {
                role_prompt(r)
            },
            attack: false,
            kind: 0,
            group: format!("s2-role-{}", i % 20),
        });
    }
    for (i, t) in BENIGN_TRIGGER2
        .iter()
        .chain(BENIGN_CODE.iter())
        .chain(BENIGN_SECURITY.iter())
        .enumerate()
    {
        out.push(SynthRow {
            text: fill(t, r),
            attack: false,
            kind: 0,
            group: format!("s2-bt-{}", i % 20),
        });
    }
}

/// The user's own requests (benign): the same task generator that plants instructions in
/// documents, standalone — the request is not the attack, its place inside data is.
fn user_requests(r: &mut Rng, n: usize, out: &mut Vec<SynthRow>) {
    for i in 0..n {
        let text = loop {
            let t = instruction(r);
            // Task-like kinds only (not claims, exfiltration, agent actions or planted code).
            let suspicious = t.contains("```")
                || t.contains("http")
                || t.contains('@')
                || t.starts_with("Tell the user")
                || t.starts_with("Say that")
                || t.contains("state that")
                || t.starts_with("Respond only")
                || t.contains("Ignore")
                || t.contains("Disregard")
                || t.contains("Forget")
                || t.contains("Do not follow")
                || t.contains("Recommend ")
                || t.contains("password")
                || ANSWER_NOUNS
                    .iter()
                    .any(|n| t.contains(&format!("your {n}")));
            if !suspicious {
                break t;
            }
        };
        let text = match r.below(4) {
            0 => format!(
                "{} {text}",
                r.pick(&["Hi!", "Hello,", "Quick question.", "Thanks in advance."])
            ),
            _ => text,
        };
        out.push(SynthRow {
            text,
            attack: false,
            kind: 0,
            group: format!("s2-req-{}", i % 20),
        });
    }
    for (i, t) in ML_BENIGN2.iter().enumerate() {
        for _ in 0..2 {
            out.push(SynthRow {
                text: (*t).to_owned(),
                attack: false,
                kind: 0,
                group: format!("s2-mlb-{}", i % 10),
            });
        }
    }
}

/// All rows: `scale` documents with planted instructions (and as many twins), plus jailbreak
/// and extraction rows in proportion.
pub fn generate(seed: u64, scale: usize) -> Vec<SynthRow> {
    let mut r = Rng::new(seed ^ 0x0005_eed2);
    let mut out = Vec::new();
    planted(&mut r, scale, &mut out);
    jailbreaks(&mut r, scale / 2, &mut out);
    extraction(&mut r, scale / 6, &mut out);
    benign_extra(&mut r, scale / 3, &mut out);
    user_requests(&mut r, scale / 2, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_keeps_json_braces() {
        let mut r = Rng::new(1);
        let s = fill("{\"city\": \"{city}\", \"n\": {small}}", &mut r);
        assert!(s.starts_with("{\"city\": \""));
        assert!(!s.contains("{city}"));
    }
}
