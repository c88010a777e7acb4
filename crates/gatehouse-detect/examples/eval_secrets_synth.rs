//! Secrets recall and precision on text generated here (seeded, reproducible), without
//! touching any data set:
//!
//! - **positives**: for every rule of `src/secrets.toml`, values sampled from the rule's own
//!   capture group (random characters of its classes, random lengths within its bounds),
//!   written into code and configuration syntaxes (assignments in several languages, YAML,
//!   JSON, XML, `.env`, shell exports, prose); a rule whose match needs a key (`okta_… = …`)
//!   gets the key its own regex needs. A row is kept only when the rule's own regex matches
//!   it with the sampled value as its group, so every row is a claim the rule makes;
//! - **negatives**: lines written for Gatehouse that look like credentials and are not
//!   (identifiers, references, paths, versions, hashes, documentation placeholders, public
//!   keys, calls and type annotations) filled with random parts.
//!
//! Optimistic for recall (values come from our own regexes); its use is to catch value
//! filters that reject real secrets, and false positives on ordinary code.
//!
//! `cargo run --release -p gatehouse-detect --example eval_secrets_synth [PER_RULE] [SEED]`
//! (`ERRORS=N` lists misses and false positives).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use gatehouse_detect::eval_spans::{Row, Span, Task, evaluate};
use gatehouse_detect::{DetectConfig, Engine};

#[path = "common/rule_sample.rs"]
mod rule_sample;
use rule_sample::{Rng, Sampler};

const TEMPLATES: &[&str] = &[
    "{k} = \"{v}\"",
    "{k}: {v}",
    "{k}={v}",
    "  \"{k}\": \"{v}\",",
    "export {K}={v}",
    "<{k}>{v}</{k}>",
    "{k} := \"{v}\"",
    "const {k} = '{v}';",
    "{K}: \"{v}\"",
    "config.{k} = \"{v}\"",
    "set {K}={v}",
    "{k}:\n  {v}",
];

const PROSE: &[&str] = &[
    "here is the token: {v}",
    "Use {v} for the staging deploy.",
    "my key is {v} (do not share)",
    "{v}",
    "Authorization failed with {v} yesterday",
];

const GENERIC_KEYS: &[&str] = &[
    "token",
    "api_key",
    "secret",
    "auth_token",
    "API_KEY",
    "access_token",
];

struct Gen {
    rows: Vec<Row>,
    unsampled: Vec<String>,
}

fn push_row(rows: &mut Vec<Row>, text: String, span: Option<(usize, usize, String)>) {
    let spans = span
        .map(|(s, e, k)| {
            vec![Span {
                start: text.get(..s).map_or(0, |t| t.chars().count()),
                end: text.get(..e).map_or(0, |t| t.chars().count()),
                kind: k,
            }]
        })
        .unwrap_or_default();
    let label = if spans.is_empty() { "none" } else { "secret" };
    rows.push(Row {
        text: Some(text),
        spans,
        label: Some(label.to_owned()),
    });
}

fn positives(per_rule: usize, rng: &mut Rng, g: &mut Gen) {
    for r in rule_sample::rules() {
        // The match of a reversed comparison is not the value (the validator finds it).
        if r.validator == Some(gatehouse_detect::Validator::ReversedComparison) {
            continue;
        }
        let Some(sampler) = Sampler::new(&r) else {
            g.unsampled.push(format!("{} (regex)", r.id));
            continue;
        };
        let mut made = 0;
        for _ in 0..per_rule * 20 {
            if made >= per_rule {
                break;
            }
            let Some((raw, a, b)) = sampler.minimal(rng) else {
                continue;
            };
            let value = raw.get(a..b).unwrap_or("").to_owned();
            // The key the rule's regex needs: what the minimal sample has before the value,
            // without the assignment.
            let key: String = raw
                .get(..a)
                .unwrap_or("")
                .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let key = if key.len() >= 3 {
                key
            } else {
                rng.pick(GENERIC_KEYS).to_string()
            };
            let t = if sampler.group == 0 || rng.below(4) > 0 {
                *rng.pick(TEMPLATES)
            } else {
                *rng.pick(PROSE)
            };
            let text = t
                .replace("{k}", &key)
                .replace("{K}", &key.to_ascii_uppercase())
                .replace("{v}", &value);
            let Some(vs) = text.find(&value) else {
                continue;
            };
            let ve = vs + value.len();
            // Keep the row only when the rule itself claims it.
            if sampler.claims(&text, vs, ve) {
                push_row(&mut g.rows, text, Some((vs, ve, r.id.clone())));
                made += 1;
            } else if made == 0 && sampler.claims(&raw, a, b) && rng.below(4) == 0 {
                // The rule's own minimal syntax.
                push_row(&mut g.rows, raw.clone(), Some((a, b, r.id.clone())));
                made += 1;
            }
        }
        if made == 0 {
            g.unsampled.push(r.id.clone());
        }
    }
}

fn rand_of(rng: &mut Rng, alphabet: &[u8], n: usize) -> String {
    (0..n).map(|_| *rng.pick(alphabet) as char).collect()
}

/// Non-secrets written for Gatehouse; `{h}` random hex, `{w}` a word, `{W}` a CamelCase type,
/// `{n}` a number, `{u}` a UUID.
const NEGATIVES: &[&str] = &[
    "password_min_length = {n}",
    "token_url = \"https://auth.example.com/oauth/{w}/token\"",
    "api_version = \"2023-{n}-01\"",
    "let token: {W} = parser.next_token()?;",
    "secret_name = \"prod/{w}/credentials\"",
    "key_id = \"{u}\"",
    "request_id: {u}",
    "sha256 = \"{h64}\"",
    "commit {h40} fixed the token refresh",
    "password = os.environ[\"DB_PASSWORD\"]",
    "api_key = process.env.{W}_API_KEY",
    "token: ${{ secrets.GITHUB_TOKEN }}",
    "password: ${DB_PASSWORD}",
    "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "OPENAI_API_KEY=<your-api-key>",
    "api_key = \"YOUR_API_KEY_HERE\"",
    "stripe_key = \"sk_test_xxxxxxxxxxxxxxxxxxxxxxxx\"",
    "password = \"changeme\"",
    "token_type: \"bearer\"",
    "auth_method = \"client_secret_post\"",
    "public_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{h40} user@host\"",
    "key_file = \"/etc/ssl/private/{w}.key\"",
    "secret_store = vault",
    "keyboard_layout = \"en-US\"",
    "tokenizer = AutoTokenizer.from_pretrained(\"{w}-base-uncased\")",
    "private_key_path: ./keys/{w}.pem",
    "if token == {W}:",
    "password = get_password(user)",
    "decrypting_key: {W}{W}Key,",
    "use crate::token::{W}{W};",
    "passport_number = X{n}{n}",
    "max_tokens = {n}",
    "session_timeout = {n}",
    "csrf_token = \"{{ csrf_token }}\"",
    "client_id = \"{n}{n}.apps.googleusercontent.com\"",
    "The password must be at least {n} characters long.",
    "Your API key was rotated on 2024-03-0{d}.",
    "\"integrity\": \"sha512-{b64}\"",
    "cache_key = f\"{w}:{{user_id}}\"",
    "const ALPHABET = \"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\";",
    "TOKEN_{W}_{W} = \"TOKEN_{W}_{W}\"",
    "secret: {W}Secret",
    "password_hint: \"first pet\"",
    "keyId: {w}-{w}-{n}",
];

const WORDS: &[&str] = &[
    "billing", "orders", "users", "reports", "search", "gateway", "cache", "metrics", "inbox",
    "payments", "invoices", "profile", "session", "upload", "export",
];
const TYPES: &[&str] = &[
    "Stream", "Parser", "Token", "Cipher", "Handle", "Builder", "Config", "Client", "Secret",
    "Signing", "Unbound", "Session", "Request", "Buffer", "Frame",
];

fn negatives(n: usize, rng: &mut Rng, g: &mut Gen) {
    const HEX: &[u8] = b"0123456789abcdef";
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for _ in 0..n {
        let mut t = (*rng.pick(NEGATIVES)).to_owned();
        while let Some(i) = t.find('{') {
            let Some(j) = t.get(i..).and_then(|s| s.find('}')).map(|j| i + j) else {
                break;
            };
            let tag = t.get(i + 1..j).unwrap_or("").to_owned();
            let fill = match tag.as_str() {
                "h64" => rand_of(rng, HEX, 64),
                "h40" => rand_of(rng, HEX, 40),
                "b64" => rand_of(rng, B64, 86),
                "w" => (*rng.pick(WORDS)).to_owned(),
                "W" => (*rng.pick(TYPES)).to_owned(),
                "n" => (10 + rng.below(990)).to_string(),
                "d" => (1 + rng.below(9)).to_string(),
                "u" => format!(
                    "{}-{}-4{}-a{}-{}",
                    rand_of(rng, HEX, 8),
                    rand_of(rng, HEX, 4),
                    rand_of(rng, HEX, 3),
                    rand_of(rng, HEX, 3),
                    rand_of(rng, HEX, 12)
                ),
                // Not a tag (`${{ … }}`, `{{ csrf_token }}`): keep it, marked so the loop
                // moves on.
                _ => {
                    t.replace_range(i..=i, "\u{1}");
                    continue;
                }
            };
            t.replace_range(i..=j, &fill);
        }
        push_row(&mut g.rows, t.replace('\u{1}', "{"), None);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let per_rule: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(6);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(11);
    let mut rng = Rng(seed);
    let mut g = Gen {
        rows: Vec::new(),
        unsampled: Vec::new(),
    };
    positives(per_rule, &mut rng, &mut g);
    let n_pos = g.rows.len();
    negatives(n_pos / 2, &mut rng, &mut g);
    // DUMP=FILE writes the generated rows as JSONL (the data set's format).
    if let Ok(path) = std::env::var("DUMP") {
        let mut out = String::new();
        for r in &g.rows {
            let spans: Vec<serde_json::Value> = r
                .spans
                .iter()
                .map(|s| serde_json::json!({"start": s.start, "end": s.end, "rule": s.kind}))
                .collect();
            let v = serde_json::json!({"text": r.text, "spans": spans, "label": r.label});
            out.push_str(&v.to_string());
            out.push('\n');
        }
        std::fs::write(path, out).expect("write");
    }
    let engine = Engine::new(&DetectConfig::default()).expect("engine");
    let errors = std::env::var("ERRORS")
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    let rep = evaluate(&engine, Task::Secrets, &g.rows, errors);
    print!("{rep}");
    println!(
        "{} positive rows, {} negative rows; rules without a sample: {}",
        n_pos,
        g.rows.len() - n_pos,
        if g.unsampled.is_empty() {
            "none".to_owned()
        } else {
            g.unsampled.join(", ")
        }
    );
}
