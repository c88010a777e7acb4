//! Integration tests of the public API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatehouse_core::{Direction, Verdict};
use gatehouse_detect::{DetectConfig, Engine, MaskStyle, Pseudonymizer};

fn engine() -> Engine {
    Engine::new(&DetectConfig::default()).unwrap()
}

fn kinds(e: &Engine, t: &str) -> Vec<(String, String)> {
    e.scan(t, Direction::Input)
        .findings
        .into_iter()
        .map(|f| {
            let s: String = t.chars().skip(f.start).take(f.end - f.start).collect();
            (f.kind, s)
        })
        .collect()
}

fn has(e: &Engine, t: &str, kind: &str, value: &str) -> bool {
    kinds(e, t).iter().any(|(k, v)| k == kind && v == value)
}

#[test]
fn pii_patterns() {
    let e = engine();
    assert!(has(
        &e,
        "mail me at jane.doe@example.org please",
        "EMAIL_ADDRESS",
        "jane.doe@example.org"
    ));
    assert!(has(
        &e,
        "card 4111 1111 1111 1111 exp 12/28",
        "CREDIT_CARD",
        "4111 1111 1111 1111"
    ));
    assert!(
        !kinds(&e, "card 4111 1111 1111 1112")
            .iter()
            .any(|(k, _)| k == "CREDIT_CARD")
    );
    assert!(has(
        &e,
        "IBAN DE89 3704 0044 0532 0130 00 thanks",
        "IBAN_CODE",
        "DE89 3704 0044 0532 0130 00"
    ));
    assert!(has(&e, "my ssn is 536-22-8726", "US_SSN", "536-22-8726"));
    assert!(
        !kinds(&e, "my ssn is 666-22-8726")
            .iter()
            .any(|(k, _)| k == "US_SSN")
    );
    assert!(has(
        &e,
        "call +44 20 7946 0958 now",
        "PHONE_NUMBER",
        "+44 20 7946 0958"
    ));
    assert!(has(
        &e,
        "call (212) 456-7890 now",
        "PHONE_NUMBER",
        "(212) 456-7890"
    ));
    assert!(has(
        &e,
        "server at 192.168.10.20.",
        "IP_ADDRESS",
        "192.168.10.20"
    ));
    assert!(has(
        &e,
        "v6 2001:db8::8a2e:370:7334 ok",
        "IP_ADDRESS",
        "2001:db8::8a2e:370:7334"
    ));
    assert!(
        !kinds(&e, "version 1.2.3.4.5")
            .iter()
            .any(|(k, _)| k == "IP_ADDRESS")
    );
    assert!(has(
        &e,
        "mac 00:1A:2B:3C:4D:5E",
        "MAC_ADDRESS",
        "00:1A:2B:3C:4D:5E"
    ));
    assert!(has(&e, "NHS number 943 476 5919", "UK_NHS", "943 476 5919"));
    assert!(has(
        &e,
        "btc 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
        "CRYPTO",
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
    ));
    // Ethereum: a valid EIP-55 checksum is an address; the same address with one letter's
    // case flipped is not; an all-lower-case address (no checksum) is accepted by shape.
    assert!(has(
        &e,
        "send to 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed now",
        "CRYPTO",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    ));
    assert!(!has(
        &e,
        "send to 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD now",
        "CRYPTO",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"
    ));
    assert!(has(
        &e,
        "send to 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed now",
        "CRYPTO",
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
    ));
    assert!(has(
        &e,
        "codice fiscale RSSMRA85T10A562S",
        "IT_FISCAL_CODE",
        "RSSMRA85T10A562S"
    ));
}

#[test]
fn secrets_and_placeholders() {
    let e = engine();
    let t = "aws_access_key_id = AKIAQYLPMN5HFIQR7XYZ";
    let out = e.scan(t, Direction::Input);
    assert_eq!(out.verdict, Verdict::Block, "{:?}", out.findings);
    assert!(out.findings.iter().any(|f| f.kind == "aws-access-token"));
    let ex = e.scan("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", Direction::Input);
    assert_ne!(ex.verdict, Verdict::Block, "{:?}", ex.findings);
    assert!(
        ex.findings
            .iter()
            .all(|f| f.detector != "secrets" || f.kind == "placeholder")
    );
    let pk = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----";
    assert!(
        e.scan(pk, Direction::Output)
            .findings
            .iter()
            .any(|f| f.kind == "private-key")
    );
    let gh = "token: ghp_R2b7rN4tZ8qL1mK9xV3cW6yH0pJ5sD2fG7aB";
    assert!(
        e.scan(gh, Direction::Input)
            .findings
            .iter()
            .any(|f| f.kind == "github-pat")
    );
    let var = "OPENAI_API_KEY=${OPENAI_API_KEY}";
    assert_ne!(e.scan(var, Direction::Input).verdict, Verdict::Block);
}

#[test]
fn redaction_placeholders_and_partial() {
    let e = engine();
    let t = "Email bob@example.com or bob@example.com, card 4111-1111-1111-1111.";
    let out = e.scan(t, Direction::Input);
    assert_eq!(out.verdict, Verdict::Redact);
    assert_eq!(
        out.redacted.as_deref(),
        Some("Email [EMAIL_ADDRESS_1] or [EMAIL_ADDRESS_1], card [CREDIT_CARD_1].")
    );
    let cfg = DetectConfig {
        mask: MaskStyle::Partial,
        ..DetectConfig::default()
    };
    let e2 = Engine::new(&cfg).unwrap();
    let out2 = e2.scan("card 4111-1111-1111-1111", Direction::Input);
    assert_eq!(out2.redacted.as_deref(), Some("card ****1111"));
}

#[test]
fn pseudonymize_and_restore() {
    let e = engine();
    let mut ps = Pseudonymizer::new();
    let out = e.pseudonymize(
        "Write to alice@example.com about card 4111111111111111",
        Direction::Input,
        &mut ps,
    );
    let red = out.redacted.unwrap();
    assert!(!red.contains("alice@example.com"));
    let answer = "I have written to [EMAIL_ADDRESS_1].";
    assert_eq!(ps.restore(answer), "I have written to alice@example.com.");
}

#[test]
fn obfuscated_email_found_with_original_offsets() {
    let e = engine();
    let t = "é contact: ｊｏｈｎ\u{200B}@example.com";
    let out = e.scan(t, Direction::Input);
    let email = out
        .findings
        .iter()
        .find(|f| f.kind == "EMAIL_ADDRESS")
        .unwrap();
    let s: String = t
        .chars()
        .skip(email.start)
        .take(email.end - email.start)
        .collect();
    assert_eq!(s, "ｊｏｈｎ\u{200B}@example.com");
    assert!(out.findings.iter().any(|f| f.detector == "obfuscation"));
}

#[test]
fn base64_hidden_email() {
    let e = engine();
    let t = "data: Y29udGFjdDogYWxpY2VAZXhhbXBsZS5jb20= end";
    let out = e.scan(t, Direction::Input);
    assert!(
        out.findings.iter().any(|f| f.kind == "EMAIL_ADDRESS"),
        "{:?}",
        out.findings
    );
}

#[test]
fn custom_pattern_limits() {
    let cfg = DetectConfig {
        custom: vec![gatehouse_detect::CustomPattern {
            id: "BIG".into(),
            regex: "a".repeat(5000),
            detector: None,
            score: None,
            context: vec![],
        }],
        ..DetectConfig::default()
    };
    assert!(Engine::new(&cfg).is_err());
    let cfg2 = DetectConfig {
        custom: vec![gatehouse_detect::CustomPattern {
            id: "EMPLOYEE_ID".into(),
            regex: r"\bEMP-\d{6}\b".into(),
            detector: None,
            score: None,
            context: vec![],
        }],
        ..DetectConfig::default()
    };
    let e = Engine::new(&cfg2).unwrap();
    assert!(has(&e, "id EMP-123456 here", "EMPLOYEE_ID", "EMP-123456"));
}

fn stream_all(e: &Engine, parts: &[&str]) -> (String, Verdict) {
    let mut s = e.stream_scanner(Direction::Output);
    let mut out = String::new();
    let mut v = Verdict::Allow;
    for p in parts {
        let o = s.push(p);
        out.push_str(&o.text);
        v = v.max(o.verdict);
    }
    let o = s.finish();
    out.push_str(&o.text);
    (out, v.max(o.verdict))
}

#[test]
fn stream_every_split_matches_whole_scan() {
    let e = engine();
    let samples = [
        "Contact jane.doe@example.org or call (212) 456-7890 today.",
        "My card is 4111 1111 1111 1111 and IBAN GB82WEST12345698765432.",
        "Hello there, nothing to see here.",
    ];
    for t in samples {
        let whole = e
            .scan(t, Direction::Output)
            .redacted
            .unwrap_or_else(|| t.to_owned());
        for i in 0..=t.len() {
            if !t.is_char_boundary(i) {
                continue;
            }
            let (got, _) = stream_all(&e, &[&t[..i], &t[i..]]);
            assert_eq!(got, whole, "split at {i} of {t:?}");
        }
    }
}

#[test]
fn stream_blocks_secret_split_across_chunks() {
    let e = engine();
    let t = "here is the key AKIAQYLPMN5HFIQR7XYZ ok";
    for i in 0..=t.len() {
        let (got, v) = stream_all(&e, &[&t[..i], &t[i..]]);
        assert_eq!(v, Verdict::Block, "split at {i}");
        assert!(!got.contains("AKIAQYLPMN5HFIQR7XYZ"), "split at {i}: {got}");
    }
}

#[test]
fn stream_releases_plain_text_immediately() {
    let e = engine();
    let mut s = e.stream_scanner(Direction::Output);
    let o = s.push("The answer is ");
    assert_eq!(o.text, "The answer is ");
    let o = s.push("forty two. ");
    assert_eq!(o.text, "forty two. ");
    assert!(s.held_back() <= e.max_pattern_len());
}

mod props {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn shared() -> &'static Engine {
        static E: OnceLock<Engine> = OnceLock::new();
        E.get_or_init(engine)
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z ,.]{0,12}",
            Just("\u{200B}".to_owned()),
            Just("\u{202E}".to_owned()),
            Just("\u{E0041}\u{E0042}".to_owned()),
            Just("é".to_owned()),
            Just("ｊ".to_owned()),
            Just("а".to_owned()),
            Just("😀".to_owned()),
            Just(" bob@example.com ".to_owned()),
            Just(" 4111 1111 1111 1111 ".to_owned()),
            Just(" AKIAQYLPMN5HFIQR7XYZ ".to_owned()),
            Just(" +44 20 7946 0958 ".to_owned()),
            Just("Y29udGFjdDogYWxpY2VAZXhhbXBsZS5jb20=".to_owned()),
            "\\PC{0,4}",
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(piece(), 0..12).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Every span maps back to the original text: char offsets agree with byte offsets,
        /// both lie on boundaries, and start <= end.
        #[test]
        fn spans_map_back_to_original(t in text()) {
            let e = shared();
            let n_chars = t.chars().count();
            for d in e.detect(&t, Direction::Input) {
                prop_assert!(d.start <= d.end && d.end <= n_chars);
                prop_assert!(d.byte_start <= d.byte_end && d.byte_end <= t.len());
                prop_assert!(t.is_char_boundary(d.byte_start) && t.is_char_boundary(d.byte_end));
                prop_assert_eq!(t[..d.byte_start].chars().count(), d.start);
                prop_assert_eq!(t[..d.byte_end].chars().count(), d.end);
                prop_assert!(d.score >= 0.0 && d.score <= 1.0);
            }
        }

        /// Redaction never leaks the inserted values, whole or streamed at a random split.
        #[test]
        fn no_leak_whole_or_streamed(t in text(), cut in 0usize..400) {
            let e = shared();
            let out = e.scan(&t, Direction::Output);
            if let Some(r) = &out.redacted {
                prop_assert!(!r.contains("bob@example.com"));
                prop_assert!(!r.contains("4111 1111 1111 1111"));
            }
            let mut c = cut.min(t.len());
            while !t.is_char_boundary(c) { c -= 1; }
            let mut s = e.stream_scanner(Direction::Output);
            let mut streamed = s.push(&t[..c]).text;
            streamed.push_str(&s.push(&t[c..]).text);
            streamed.push_str(&s.finish().text);
            prop_assert!(!streamed.contains("bob@example.com"));
            prop_assert!(!streamed.contains("AKIAQYLPMN5HFIQR7XYZ"));
        }
    }
}

#[test]
fn international_email_local_part() {
    let e = engine();
    assert!(has(
        &e,
        "Mail jöhn@example.com now",
        "EMAIL_ADDRESS",
        "jöhn@example.com"
    ));
    assert!(has(
        &e,
        "write to ana@exämple.de.",
        "EMAIL_ADDRESS",
        "ana@exämple.de"
    ));
}

mod entity_model {
    use gatehouse_core::Direction;
    use gatehouse_detect::models::{Entity, EntityModel, ModelError};
    use gatehouse_detect::{Action, DetectConfig, Engine};
    use std::sync::Arc;

    /// A stand-in for the NER model: marks every occurrence of fixed words.
    #[derive(Debug)]
    struct FakeNer {
        fail: bool,
    }

    impl EntityModel for FakeNer {
        fn describe(&self) -> String {
            "fake-ner v0".to_owned()
        }
        fn entities(&self, text: &str) -> Result<Vec<Entity>, ModelError> {
            if self.fail {
                return Err(ModelError("inference failed".to_owned()));
            }
            let mut out = Vec::new();
            for (word, ty) in [
                ("Zyxwvu Qwerty", "PERSON"),
                ("Lisbon", "LOCATION"),
                ("Acme", "ORGANIZATION"),
                ("Thing", "MISC"),
            ] {
                for (i, _) in text.match_indices(word) {
                    out.push(Entity {
                        start: i,
                        end: i + word.len(),
                        entity_type: ty.to_owned(),
                        score: 0.95,
                    });
                }
            }
            // A malformed span must be ignored, not panic.
            out.push(Entity {
                start: 5,
                end: text.len() + 10,
                entity_type: "PERSON".to_owned(),
                score: 0.9,
            });
            Ok(out)
        }
    }

    fn engine(fail: bool) -> Engine {
        Engine::new(&DetectConfig::default())
            .unwrap()
            .with_entity_model(Arc::new(FakeNer { fail }))
    }

    #[test]
    fn model_entities_join_findings_with_original_offsets() {
        let e = engine(false);
        assert_eq!(e.entity_model().as_deref(), Some("fake-ner v0"));
        assert!(
            Engine::new(&DetectConfig::default())
                .unwrap()
                .entity_model()
                .is_none()
        );
        // A zero-width space before the name: the model sees the normalised text, the span
        // must come back in original offsets.
        let t = "Met \u{200b}Zyxwvu Qwerty of Acme in Lisbon. Thing.";
        let out = e.scan(t, Direction::Input);
        assert!(!out.model_error);
        let get = |k: &str| {
            out.detections
                .iter()
                .find(|d| &*d.kind == k)
                .map(|d| (&t[d.byte_start..d.byte_end], d.action))
        };
        assert_eq!(get("PERSON"), Some(("Zyxwvu Qwerty", Action::Redact)));
        assert_eq!(get("LOCATION"), Some(("Lisbon", Action::Flag)));
        assert_eq!(get("ORGANIZATION"), Some(("Acme", Action::Flag)));
        assert!(get("MISC").is_none());
        let red = out.redacted.unwrap();
        assert!(!red.contains("Zyxwvu"), "{red}");
        assert!(red.contains("Lisbon"), "{red}");
    }

    #[test]
    fn model_error_keeps_rule_findings_and_is_flagged() {
        let e = engine(true);
        let out = e.scan("Please forward this to John Smith today.", Direction::Input);
        assert!(out.model_error);
        assert!(out.findings.iter().any(|f| f.kind == "PERSON"));
        let out = Engine::new(&DetectConfig::default())
            .unwrap()
            .scan("Please forward this to John Smith today.", Direction::Input);
        assert!(!out.model_error);
    }

    #[test]
    fn stream_uses_the_model() {
        let e = engine(false);
        let mut s = e.stream_scanner(Direction::Output);
        let mut text = String::new();
        for part in ["We met Zyx", "wvu Qwe", "rty yesterday. ", "Bye."] {
            text.push_str(&s.push(part).text);
        }
        text.push_str(&s.finish().text);
        assert!(!text.contains("Zyxwvu"), "{text}");
        assert!(text.contains("yesterday"), "{text}");
    }
}

/// Rule-based LOCATION / ORGANIZATION (no model attached) are reported and, by default, only
/// flagged; PERSON is still redacted.
#[test]
fn fallback_locations_and_organizations_are_flagged() {
    let e = engine();
    let t = "Ana Souza moved to Springfield to join Acme Widgets Ltd. at 42 Elm Road.";
    let k = kinds(&e, t);
    for want in [
        ("PERSON", "Ana Souza"),
        ("LOCATION", "Springfield"),
        ("ORGANIZATION", "Acme Widgets Ltd."),
        ("LOCATION", "42 Elm Road"),
    ] {
        assert!(
            k.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} not in {k:?}"
        );
    }
    let out = e.scan(t, Direction::Input);
    let red = out.redacted.unwrap_or_default();
    assert!(!red.contains("Ana Souza"), "{red}");
    assert!(
        red.contains("Springfield") && red.contains("Acme Widgets"),
        "{red}"
    );
    // Disabled per type.
    let mut cfg = DetectConfig::default();
    cfg.disabled_types.push("LOCATION".into());
    let e2 = Engine::new(&cfg).unwrap();
    assert!(kinds(&e2, t).iter().all(|(kind, _)| kind != "LOCATION"));
}

/// Secret findings (rule id, value) of `t`, placeholders excluded.
fn secrets_of(e: &Engine, t: &str) -> Vec<(String, String)> {
    kinds(e, t)
        .into_iter()
        .filter(|(k, _)| {
            k != "placeholder"
                && e.scan(t, Direction::Input)
                    .findings
                    .iter()
                    .any(|f| f.detector == "secrets" && &f.kind == k)
        })
        .collect()
}

/// detect-secrets KeywordDetector syntaxes (values written for these tests).
#[test]
fn keyword_syntaxes_are_secrets() {
    let e = engine();
    for (t, value) in [
        ("password = abcd1234xyz", "abcd1234xyz"),
        ("DB_PASSWORD=Zq8!rTw2vK", "Zq8!rTw2vK"),
        ("db.password=s3cr3tV4lue", "s3cr3tV4lue"),
        ("  password: hunter2hunter", "hunter2hunter"),
        ("api_key: 9f8e7d6c5b4a", "9f8e7d6c5b4a"),
        ("if password == \"Pa55word!\":", "Pa55word!"),
        ("if (secret != 'k3y-m4ter1al') {", "k3y-m4ter1al"),
        ("password := \"g0-p4ss-w0rd\"", "g0-p4ss-w0rd"),
        ("var password = @\"CSharpP4ss\";", "CSharpP4ss"),
        ("$password[0] = 'phpP4ssw0rd';", "phpP4ssw0rd"),
        ("private_key => \"r8Ut3Lq0Zm\"", "r8Ut3Lq0Zm"),
        ("The password is Tr0ub4dor&3.", "Tr0ub4dor&3"),
        ("my new password is now xK9-pass-22!", "xK9-pass-22"),
        ("[database]\npassword = MyDbP4ss2024\n", "MyDbP4ss2024"),
        ("client_secret=8a7b6c5d4e3f2a1b", "8a7b6c5d4e3f2a1b"),
    ] {
        let got = secrets_of(&e, t);
        assert!(got.iter().any(|(_, v)| v == value), "{t:?}: {got:?}");
    }
}

#[test]
fn keyword_non_secrets_are_not_reported() {
    let e = engine();
    for t in [
        "password = getPassword()",
        "password = self.password",
        "password: ${DB_PASSWORD}",
        "password = os.environ['DB_PASSWORD']",
        "password_min_length = 12345678",
        "token_url = https://auth.example.com/oauth/token",
        "password: required",
        "The password is incorrect.",
        "passport_number = X1234567",
        "bypass = cache2024",
        "token_count: 1500",
        "secret_file = /etc/app/secret.pem",
        "password = None",
        "password=<password>",
        "api_key = process.env.API_KEY",
        "password_hint: first pet 2",
        "Your password was changed on 2024-03-01.",
        "timeout = 3000000",
    ] {
        let got = secrets_of(&e, t);
        assert!(got.is_empty(), "{t:?}: {got:?}");
    }
}

/// Provider formats documented by detect-secrets' plugins (values made up, right shape).
#[test]
fn detect_secrets_provider_formats() {
    let e = engine();
    let hex64 = "4f1c9a7e2b8d3f6a0c5e9b1d7a3f8c2e6b0d4a9f1e7c3b5d8a2f6e0c4b9d7a1e";
    for t in [
        format!("softlayer_api_key = {hex64}"),
        format!("https://api.softlayer.com/soap/v3.1/{hex64}"),
        "ibm_cloud_iam_api_key: 'Qm7xZ2pR9tL4vK8nB3wH6yC1sD5fG0jA-E_rT7uYi2oP'".to_owned(),
        "cos_hmac_secret_access_key = 3f9a2c7e1b8d4f6a0c5e9b1d7a3f8c2e6b0d4a9f1e7c3b5d".to_owned(),
        format!("cloudant_password = '{hex64}'"),
        "artifactory: AKCp5bQz7Xw2Lm9Nt4Rv8Ks3".to_owned(),
        "twilio sid AC1f2e3d4c5b6a79881f2e3d4c5b6a7988".to_owned(),
        "//registry.npmjs.org/:_authToken=6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b".to_owned(),
        "MAILCHIMP=9zq8x7w6v5u4t3s2r1p0o9n8m7l6k5j4-us12".to_owned(),
    ] {
        let got = secrets_of(&e, &t);
        assert!(!got.is_empty(), "{t:?}: nothing found");
    }
    // Not credentials: short ids, words, a plain hex digest without a keyword.
    for t in [
        "softlayer is a cloud",
        "the APPLICATION failed",
        "ACCOUNTING department",
        "sha256 4f1c9a7e2b8d3f6a0c5e9b1d7a3f8c2e6b0d4a9f1e7c3b5d8a2f6e0c4b9d7a1e in the log",
    ] {
        let got = secrets_of(&e, t);
        assert!(got.is_empty(), "{t:?}: {got:?}");
    }
}

/// A JWT whose header does not decode is still reported (lower score); its JSON form at full
/// score.
#[test]
fn jwt_shapes() {
    let e = engine();
    let good = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MjQyIiwibmFtZSI6Ikdh\
                dGVob3VzZSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMTIzNDU2Nzg5MA";
    let f = e.scan(good, Direction::Input).findings;
    assert!(f.iter().any(|f| f.kind == "jwt" && f.score >= 0.9), "{f:?}");
    let mangled = "eyQx7bZ9kLm2Np4Rt6Vw8.eyTz1Xc3Vb5Nm7Kj9Hg2Fd4.Sa6Qw8Er0Ty2Ui4Op6As8";
    let f = e.scan(mangled, Direction::Input).findings;
    assert!(f.iter().any(|f| f.kind == "jwt"), "{f:?}");
}
