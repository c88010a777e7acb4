//! The secret rule set as a whole: every rule carries keywords and an entropy threshold, fires
//! on samples of its own regex and not on their placeholder versions; every rule id of
//! gitleaks' default configuration has a counterpart here (the list of ids and the samples are
//! written for these tests: random values of the documented shapes).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use gatehouse_core::Direction;
use gatehouse_detect::{DetectConfig, Engine};

#[path = "../examples/common/rule_sample.rs"]
mod rule_sample;

fn engine() -> Engine {
    Engine::new(&DetectConfig::default()).unwrap()
}

/// `(rule id, value)` of the secret findings (placeholders excluded) overlapping `s..e`.
fn secrets_at(e: &Engine, t: &str, s: usize, end: usize) -> Vec<(String, String)> {
    e.detect(t, Direction::Input)
        .into_iter()
        .filter(|d| {
            &*d.detector == "secrets"
                && &*d.kind != "placeholder"
                && d.byte_start < end
                && s < d.byte_end
        })
        .map(|d| {
            (
                d.kind.to_string(),
                t.get(d.byte_start..d.byte_end).unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_rule_has_keywords_and_an_entropy_threshold() {
    for r in rule_sample::rules() {
        assert!(!r.keywords.is_empty(), "{}: no keywords", r.id);
        assert!(r.entropy.is_some(), "{}: no entropy threshold", r.id);
        assert!(
            r.keywords.iter().all(|k| *k == k.to_ascii_lowercase()),
            "{}: keywords are matched lower-case",
            r.id
        );
    }
}

/// Every rule reports samples of its own regex (value random within the rule's classes and
/// bounds), and does not report them once the value is a placeholder.
#[test]
fn every_rule_fires_on_its_own_samples_and_not_on_placeholders() {
    let e = engine();
    let mut rng = rule_sample::Rng(20_240_611);
    let mut missed = Vec::new();
    let mut placeholders_reported = Vec::new();
    for r in rule_sample::rules() {
        // The reversed comparison's match is not its value; tested in `keyword_syntaxes`.
        if r.validator == Some(gatehouse_detect::Validator::ReversedComparison) {
            continue;
        }
        let sampler = rule_sample::Sampler::new(&r).unwrap();
        let mut tried = 0;
        let mut found = 0;
        for _ in 0..200 {
            if tried == 8 {
                break;
            }
            let Some((text, ph, a, b)) = sampler.minimal_with_placeholder(&mut rng) else {
                continue;
            };
            if !sampler.claims(&text, a, b) {
                continue;
            }
            tried += 1;
            if !secrets_at(&e, &text, a, b).is_empty() {
                found += 1;
            } else if std::env::var("SHOW_MISSES").is_ok() {
                eprintln!("miss {}: {text:?}", r.id);
            }
            // The same text with the value's random characters replaced by `x`.
            let got = secrets_at(&e, &ph, a, b);
            if !got.is_empty() {
                placeholders_reported.push(format!("{}: {ph:?} -> {got:?}", r.id));
            }
        }
        assert!(tried > 0, "{}: no sample", r.id);
        // Random values may fall below a rule's entropy bar or hit a value filter now and then;
        // a rule that misses more than one in four of its own samples is broken. The generic
        // rule's class is broad on purpose (`[\w.=+/~-]`) and its filter rejects by design what
        // random draws of it often are: letters only, `name=value`, a common word inside.
        let generic = r.filter == Some(gatehouse_detect::ValueFilter::Generic)
            || r.validator == Some(gatehouse_detect::Validator::KeywordValue);
        if (!generic && found * 4 < tried * 3) || (generic && found * 2 < tried) {
            missed.push(format!("{}: {found}/{tried}", r.id));
        }
    }
    assert!(
        missed.is_empty(),
        "rules missing their own samples: {missed:#?}"
    );
    assert!(
        placeholders_reported.is_empty(),
        "placeholders reported: {placeholders_reported:#?}"
    );
}

/// Deterministic random values of a given alphabet.
struct Gen(u64);
impl Gen {
    fn s(&mut self, alphabet: &str, n: usize) -> String {
        let a = alphabet.as_bytes();
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                a[(self.0 % a.len() as u64) as usize] as char
            })
            .collect()
    }
    fn hex(&mut self, n: usize) -> String {
        self.s(HEX, n)
    }
    fn b62(&mut self, n: usize) -> String {
        self.s(B62, n)
    }
    fn ld(&mut self, n: usize) -> String {
        self.s(LD, n)
    }
    fn url(&mut self, n: usize) -> String {
        self.s(URL, n)
    }
    fn uuid(&mut self) -> String {
        format!(
            "{}-{}-4{}-9{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.hex(3),
            self.hex(12)
        )
    }
}
const HEX: &str = "0123456789abcdef";
const B62: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LD: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
const URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const UD: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn b64url(data: &[u8]) -> String {
    let a = URL.as_bytes();
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..=c.len() {
            out.push(a[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Every rule id of gitleaks' default configuration (as of 2025) with the rule of ours that
/// covers it and a sample written for this test; the value is the text between `⟦` and `⟧`.
fn gitleaks_cases() -> Vec<(&'static str, &'static str, String)> {
    let mut g = Gen(0x5eed_1234_abcd_0001);
    let jwt = format!(
        "{}.{}.{}",
        b64url(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64url(br#"{"sub":"user-4417","role":"admin","iat":1717171717}"#),
        g.url(43)
    );
    let jwt_b64 = {
        const STD: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in jwt.as_bytes().chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    s.push(STD[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    };
    let pem = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n{}\n{}\n-----END RSA PRIVATE KEY-----",
        g.b62(64),
        g.b62(64),
        g.b62(40)
    );
    let c = |id: &'static str, ours: &'static str, text: String| (id, ours, text);
    vec![
        c(
            "1password-secret-key",
            "1password-secret-key",
            format!(
                "key: ⟦A3-{}-{}-{}-{}-{}⟧",
                g.s(UD, 6),
                g.s(UD, 11),
                g.s(UD, 5),
                g.s(UD, 5),
                g.s(UD, 5)
            ),
        ),
        c(
            "1password-service-account-token",
            "1password-service-account-token",
            format!("OP_SERVICE_ACCOUNT_TOKEN=⟦ops_eyJ{}⟧", g.b62(260)),
        ),
        c(
            "adafruit-api-key",
            "provider-credential",
            format!("adafruit_api_key = \"⟦{}⟧\"", g.url(32)),
        ),
        c(
            "adobe-client-id",
            "provider-credential",
            format!("adobe_client_id = \"⟦{}⟧\"", g.hex(32)),
        ),
        c(
            "adobe-client-secret",
            "adobe-client-secret",
            format!("secret: ⟦p8e-{}⟧", g.ld(32)),
        ),
        c(
            "age-secret-key",
            "age-secret-key",
            format!(
                "⟦AGE-SECRET-KEY-1{}⟧",
                g.s("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)
            ),
        ),
        c(
            "airtable-api-key",
            "airtable-api-key",
            format!("airtable_api_key = \"⟦key{}⟧\"", g.b62(14)),
        ),
        c(
            "airtable-personnal-access-token",
            "airtable-personnal-access-token",
            format!("AIRTABLE_TOKEN=⟦pat{}.{}⟧", g.b62(14), g.hex(64)),
        ),
        c(
            "algolia-api-key",
            "provider-credential",
            format!("algolia_api_key = \"⟦{}⟧\"", g.ld(32)),
        ),
        c(
            "alibaba-access-key-id",
            "alibaba-access-key-id",
            format!("access_key_id: ⟦LTAI{}⟧", g.b62(20)),
        ),
        c(
            "alibaba-secret-key",
            "provider-credential",
            format!("alibaba_secret_key = \"⟦{}⟧\"", g.ld(30)),
        ),
        c(
            "anthropic-admin-api-key",
            "anthropic-admin-api-key",
            format!("⟦sk-ant-admin01-{}AA⟧", g.url(93)),
        ),
        c(
            "anthropic-api-key",
            "anthropic-api-key",
            format!("ANTHROPIC_API_KEY=⟦sk-ant-api03-{}AA⟧", g.url(93)),
        ),
        c(
            "artifactory-api-key",
            "artifactory-api-key",
            format!("⟦AKCp{}⟧", g.b62(69)),
        ),
        c(
            "artifactory-reference-token",
            "artifactory-reference-token",
            format!("⟦cmVmdGtu{}⟧", g.b62(56)),
        ),
        c(
            "asana-client-id",
            "provider-credential",
            format!("asana_client_id = \"⟦{}⟧\"", g.s("0123456789", 16)),
        ),
        c(
            "asana-client-secret",
            "provider-credential",
            format!("asana_client_secret = \"⟦{}⟧\"", g.ld(32)),
        ),
        c(
            "atlassian-api-token",
            "provider-credential",
            format!("atlassian_api_token = \"⟦{}⟧\"", g.ld(24)),
        ),
        c(
            "authress-service-client-access-key",
            "authress-service-client-access-key",
            format!(
                "⟦sc_{}.{}.acc_{}.{}⟧",
                g.ld(10),
                g.ld(5),
                g.ld(20),
                g.b62(40)
            ),
        ),
        c(
            "aws-access-token",
            "aws-access-token",
            format!(
                "aws_access_key_id = ⟦AKIA{}⟧",
                g.s("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
            ),
        ),
        c(
            "azure-ad-client-secret",
            "azure-ad-client-secret",
            format!("client_secret=⟦{}7Q~{}⟧", g.b62(3), g.b62(34)),
        ),
        c(
            "beamer-api-token",
            "provider-credential",
            format!("beamer_api_token = \"⟦b_{}⟧\"", g.url(44)),
        ),
        c(
            "bitbucket-client-id",
            "provider-credential",
            format!("bitbucket_client_id = \"⟦{}⟧\"", g.ld(32)),
        ),
        c(
            "bitbucket-client-secret",
            "provider-credential",
            format!("bitbucket_client_secret = \"⟦{}⟧\"", g.url(64)),
        ),
        c(
            "bittrex-access-key",
            "provider-credential",
            format!("bittrex_access_key = \"⟦{}⟧\"", g.ld(32)),
        ),
        c(
            "bittrex-secret-key",
            "provider-credential",
            format!("bittrex_secret_key = \"⟦{}⟧\"", g.ld(32)),
        ),
        c(
            "cisco-meraki-api-key",
            "cisco-meraki-api-key",
            format!("meraki_api_key = \"⟦{}⟧\"", g.hex(40)),
        ),
        c(
            "clickhouse-cloud-api-secret-key",
            "clickhouse-cloud-api-secret-key",
            format!("⟦4b1d{}⟧", g.b62(38)),
        ),
        c(
            "clojars-api-token",
            "clojars-api-token",
            format!("⟦CLOJARS_{}⟧", g.ld(60)),
        ),
        c(
            "cloudflare-api-key",
            "provider-credential",
            format!("cloudflare_api_key = \"⟦{}⟧\"", g.ld(40)),
        ),
        c(
            "cloudflare-global-api-key",
            "provider-credential",
            format!("cloudflare_global_api_key = \"⟦{}⟧\"", g.hex(37)),
        ),
        c(
            "cloudflare-origin-ca-key",
            "cloudflare-origin-ca-key",
            format!("⟦v1.0-{}-{}⟧", g.hex(24), g.hex(146)),
        ),
        c(
            "codecov-access-token",
            "provider-credential",
            format!("codecov_token = \"⟦{}⟧\"", g.ld(32)),
        ),
        c(
            "cohere-api-token",
            "provider-credential",
            format!("cohere_api_key = \"⟦{}⟧\"", g.b62(40)),
        ),
        c(
            "coinbase-access-token",
            "provider-credential",
            format!("coinbase_access_token = \"⟦{}⟧\"", g.ld(64)),
        ),
        c(
            "confluent-access-token",
            "provider-credential",
            format!("confluent_access_token = \"⟦{}⟧\"", g.ld(16)),
        ),
        c(
            "confluent-secret-key",
            "provider-credential",
            format!("confluent_secret_key = \"⟦{}⟧\"", g.ld(64)),
        ),
        c(
            "contentful-delivery-api-token",
            "provider-credential",
            format!("contentful_delivery_token = \"⟦{}⟧\"", g.url(43)),
        ),
        c(
            "curl-auth-header",
            "curl-auth-header",
            format!(
                "curl -H \"Authorization: Bearer ⟦{}⟧\" https://api.example.org/v1",
                g.b62(30)
            ),
        ),
        c(
            "curl-auth-user",
            "curl-auth-user",
            format!("curl -u ⟦deploy:{}⟧ https://ci.example.org", g.b62(16)),
        ),
        c(
            "database-password",
            "password-assignment",
            format!("db_password = \"⟦{}!{}⟧\"", g.b62(8), g.b62(6)),
        ),
        c(
            "databricks-api-token",
            "databricks-api-token",
            format!("⟦dapi{}⟧", g.hex(32)),
        ),
        c(
            "datadog-access-token",
            "provider-credential",
            format!("datadog_access_token = \"⟦{}⟧\"", g.ld(40)),
        ),
        c(
            "defined-networking-api-token",
            "defined-networking-api-token",
            format!("⟦dnkey-{}-{}⟧", g.ld(26), g.ld(52)),
        ),
        c(
            "digitalocean-access-token",
            "digitalocean-access-token",
            format!("⟦doo_v1_{}⟧", g.hex(64)),
        ),
        c(
            "digitalocean-pat",
            "digitalocean-pat",
            format!("⟦dop_v1_{}⟧", g.hex(64)),
        ),
        c(
            "digitalocean-refresh-token",
            "digitalocean-refresh-token",
            format!("⟦dor_v1_{}⟧", g.hex(64)),
        ),
        c(
            "discord-api-token",
            "provider-credential",
            format!("discord_api_token = \"⟦{}⟧\"", g.hex(64)),
        ),
        c(
            "discord-client-id",
            "provider-credential",
            format!("discord_client_id = \"⟦{}⟧\"", g.s("0123456789", 18)),
        ),
        c(
            "discord-client-secret",
            "provider-credential",
            format!("discord_client_secret = \"⟦{}⟧\"", g.url(32)),
        ),
        c(
            "doppler-api-token",
            "doppler-api-token",
            format!("⟦dp.pt.{}⟧", g.b62(43)),
        ),
        c(
            "droneci-access-token",
            "provider-credential",
            format!("droneci_access_token = \"⟦{}⟧\"", g.ld(32)),
        ),
        c(
            "dropbox-api-token",
            "provider-credential",
            format!("dropbox_api_token = \"⟦{}⟧\"", g.ld(15)),
        ),
        c(
            "dropbox-long-lived-api-token",
            "dropbox-long-lived-api-token",
            format!("dropbox_token = \"⟦{}AAAAAAAAAA{}⟧\"", g.ld(11), g.url(43)),
        ),
        c(
            "dropbox-short-lived-api-token",
            "dropbox-short-lived-api-token",
            format!("⟦sl.{}⟧", g.url(135)),
        ),
        c(
            "duffel-api-token",
            "duffel-api-token",
            format!("⟦duffel_test_{}⟧", g.url(43)),
        ),
        c(
            "dynatrace-api-token",
            "dynatrace-api-token",
            format!("⟦dt0c01.{}.{}⟧", g.s(UD, 24), g.s(UD, 64)),
        ),
        c(
            "easypost-api-token",
            "easypost-api-token",
            format!("⟦EZAK{}⟧", g.ld(54)),
        ),
        c(
            "easypost-test-api-token",
            "easypost-test-api-token",
            format!("⟦EZTK{}⟧", g.ld(54)),
        ),
        c(
            "etsy-access-token",
            "provider-credential",
            format!("etsy_access_token = \"⟦{}⟧\"", g.ld(24)),
        ),
        c(
            "facebook-access-token",
            "facebook-access-token",
            format!("token=⟦{}|{}⟧", g.s("0123456789", 16), g.url(32)),
        ),
        c(
            "facebook-page-access-token",
            "facebook-page-access-token",
            format!("⟦EAAM{}⟧", g.b62(110)),
        ),
        c(
            "facebook-secret",
            "facebook-secret",
            format!("facebook_app_secret = \"⟦{}⟧\"", g.hex(32)),
        ),
        c(
            "fastly-api-token",
            "provider-credential",
            format!("fastly_api_token = \"⟦{}⟧\"", g.url(32)),
        ),
        c(
            "finicity-api-token",
            "provider-credential",
            format!("finicity_api_token = \"⟦{}⟧\"", g.hex(32)),
        ),
        c(
            "finicity-client-secret",
            "provider-credential",
            format!("finicity_client_secret = \"⟦{}⟧\"", g.ld(20)),
        ),
        c(
            "finnhub-access-token",
            "provider-credential",
            format!("finnhub_access_token = \"⟦{}⟧\"", g.ld(20)),
        ),
        c(
            "flickr-access-token",
            "provider-credential",
            format!("flickr_access_token = \"⟦{}⟧\"", g.ld(32)),
        ),
        c(
            "flutterwave-encryption-key",
            "flutterwave-encryption-key",
            format!("⟦FLWSECK_TEST-{}⟧", g.s("abcdefgh0123456789", 12)),
        ),
        c(
            "flutterwave-public-key",
            "flutterwave-public-key",
            format!("⟦FLWPUBK_TEST-{}-X⟧", g.s("abcdefgh0123456789", 32)),
        ),
        c(
            "flutterwave-secret-key",
            "flutterwave-secret-key",
            format!("⟦FLWSECK_TEST-{}-X⟧", g.s("abcdefgh0123456789", 32)),
        ),
        c(
            "flyio-access-token",
            "flyio-access-token",
            format!("FLY_API_TOKEN=⟦fo1_{}⟧", g.url(43)),
        ),
        c(
            "frameio-api-token",
            "frameio-api-token",
            format!("⟦fio-u-{}⟧", g.ld(64)),
        ),
        c(
            "freemius-secret-key",
            "freemius-secret-key",
            format!("'secret_key' => '⟦sk_{}⟧',", g.b62(29)),
        ),
        c(
            "freshbooks-access-token",
            "provider-credential",
            format!("freshbooks_access_token = \"⟦{}⟧\"", g.ld(64)),
        ),
        c("gcp-api-key", "gcp-api-key", format!("⟦AIza{}⟧", g.url(35))),
        c(
            "generic-api-key",
            "generic-api-key",
            format!("service_secret = \"⟦{}⟧\"", g.b62(24)),
        ),
        c(
            "github-app-token",
            "github-app-token",
            format!("⟦ghu_{}⟧", g.b62(36)),
        ),
        c(
            "github-fine-grained-pat",
            "github-fine-grained-pat",
            format!("⟦github_pat_{}⟧", g.b62(82)),
        ),
        c(
            "github-oauth",
            "github-oauth",
            format!("⟦gho_{}⟧", g.b62(36)),
        ),
        c("github-pat", "github-pat", format!("⟦ghp_{}⟧", g.b62(36))),
        c(
            "github-refresh-token",
            "github-refresh-token",
            format!("⟦ghr_{}⟧", g.b62(36)),
        ),
        c(
            "gitlab-cicd-job-token",
            "gitlab-cicd-job-token",
            format!("⟦glcbt-{}_{}⟧", g.b62(3), g.b62(20)),
        ),
        c(
            "gitlab-deploy-token",
            "gitlab-deploy-token",
            format!("⟦gldt-{}⟧", g.b62(20)),
        ),
        c(
            "gitlab-feature-flag-client-token",
            "gitlab-feature-flag-client-token",
            format!("⟦glffct-{}⟧", g.b62(20)),
        ),
        c(
            "gitlab-feed-token",
            "gitlab-feed-token",
            format!("⟦glft-{}⟧", g.b62(20)),
        ),
        c(
            "gitlab-incoming-mail-token",
            "gitlab-incoming-mail-token",
            format!("⟦glimt-{}⟧", g.b62(25)),
        ),
        c(
            "gitlab-kubernetes-agent-token",
            "gitlab-kubernetes-agent-token",
            format!("⟦glagent-{}⟧", g.b62(50)),
        ),
        c(
            "gitlab-oauth-app-secret",
            "gitlab-oauth-app-secret",
            format!("⟦gloas-{}⟧", g.b62(64)),
        ),
        c("gitlab-pat", "gitlab-pat", format!("⟦glpat-{}⟧", g.b62(20))),
        c(
            "gitlab-pat-routable",
            "gitlab-pat-routable",
            format!("⟦glpat-{}.01{}⟧", g.b62(27), g.ld(7)),
        ),
        c("gitlab-ptt", "gitlab-ptt", format!("⟦glptt-{}⟧", g.hex(40))),
        c(
            "gitlab-rrt",
            "gitlab-rrt",
            format!("⟦GR1348941{}⟧", g.b62(20)),
        ),
        c(
            "gitlab-runner-authentication-token",
            "gitlab-runner-authentication-token",
            format!("⟦glrt-{}⟧", g.b62(20)),
        ),
        c(
            "gitlab-runner-authentication-token-routable",
            "gitlab-runner-authentication-token-routable",
            format!("⟦glrt-t1_{}.01{}⟧", g.b62(27), g.ld(7)),
        ),
        c(
            "gitlab-scim-token",
            "gitlab-scim-token",
            format!("⟦glsoat-{}⟧", g.b62(20)),
        ),
        c(
            "gitlab-session-cookie",
            "gitlab-session-cookie",
            format!("Cookie: _gitlab_session=⟦{}⟧", g.ld(32)),
        ),
        c(
            "gitter-access-token",
            "provider-credential",
            format!("gitter_access_token = \"⟦{}⟧\"", g.ld(40)),
        ),
        c(
            "gocardless-api-token",
            "gocardless-api-token",
            format!("gocardless_token = \"⟦live_{}⟧\"", g.url(40)),
        ),
        c(
            "grafana-api-key",
            "grafana-api-key",
            format!("⟦eyJrIjoi{}⟧", g.b62(72)),
        ),
        c(
            "grafana-cloud-api-token",
            "grafana-cloud-api-token",
            format!("⟦glc_{}⟧", g.b62(40)),
        ),
        c(
            "grafana-service-account-token",
            "grafana-service-account-token",
            format!("⟦glsa_{}_{}⟧", g.b62(32), g.hex(8)),
        ),
        c(
            "harness-api-key",
            "harness-api-key",
            format!("⟦pat.{}.{}.{}⟧", g.url(22), g.b62(24), g.b62(20)),
        ),
        c(
            "hashicorp-tf-api-token",
            "hashicorp-tf-api-token",
            format!("⟦{}.atlasv1.{}⟧", g.ld(14), g.ld(65)),
        ),
        c(
            "hashicorp-tf-password",
            "password-assignment|generic-api-key",
            format!("administrator_login_password = \"⟦{}⟧\"", g.ld(16)),
        ),
        c(
            "heroku-api-key",
            "heroku-api-key",
            format!("heroku_api_key = \"⟦{}⟧\"", g.uuid()),
        ),
        c(
            "heroku-api-key-v2",
            "heroku-api-key-v2",
            format!("⟦HRKU-AA{}⟧", g.url(58)),
        ),
        c(
            "hubspot-api-key",
            "hubspot-api-key",
            format!("hubspot_api_key = \"⟦{}⟧\"", g.uuid().to_ascii_uppercase()),
        ),
        c(
            "huggingface-access-token",
            "huggingface-access-token",
            format!(
                "⟦hf_{}⟧",
                g.s("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 34)
            ),
        ),
        c(
            "huggingface-organization-api-token",
            "huggingface-organization-api-token",
            format!(
                "⟦api_org_{}⟧",
                g.s("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 34)
            ),
        ),
        c(
            "infracost-api-token",
            "infracost-api-token",
            format!("⟦ico-{}⟧", g.b62(32)),
        ),
        c(
            "intercom-api-key",
            "provider-credential",
            format!("intercom_api_key = \"⟦{}⟧\"", g.url(60)),
        ),
        c(
            "intra42-client-secret",
            "intra42-client-secret",
            format!("⟦s-s4t2ud-{}⟧", g.hex(64)),
        ),
        c(
            "jfrog-api-key",
            "provider-credential",
            format!("jfrog_api_key = \"⟦{}⟧\"", g.ld(73)),
        ),
        c(
            "jfrog-identity-token",
            "provider-credential",
            format!("artifactory_token = \"⟦{}⟧\"", g.ld(64)),
        ),
        c("jwt", "jwt", format!("Authorization: ⟦{jwt}⟧")),
        c("jwt-base64", "jwt", format!("token=⟦{jwt_b64}⟧")),
        c(
            "kraken-access-token",
            "provider-credential",
            format!("kraken_api_key = \"⟦{}⟧\"", g.url(86)),
        ),
        c(
            "kubernetes-secret-yaml",
            "kubernetes-secret-yaml",
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: ⟦{}⟧\n",
                g.b62(24)
            ),
        ),
        c(
            "kucoin-access-token",
            "kucoin-access-token",
            format!("kucoin_access_key = \"⟦{}⟧\"", g.hex(24)),
        ),
        c(
            "kucoin-secret-key",
            "kucoin-secret-key",
            format!("kucoin_secret_key = \"⟦{}⟧\"", g.uuid()),
        ),
        c(
            "launchdarkly-access-token",
            "provider-credential",
            format!("launchdarkly_access_token = \"⟦{}⟧\"", g.url(40)),
        ),
        c(
            "linear-api-key",
            "linear-api-key",
            format!("⟦lin_api_{}⟧", g.ld(40)),
        ),
        c(
            "linear-client-secret",
            "provider-credential",
            format!("linear_client_secret = \"⟦{}⟧\"", g.hex(32)),
        ),
        c(
            "linkedin-client-id",
            "provider-credential",
            format!("linkedin_client_id = \"⟦{}⟧\"", g.ld(14)),
        ),
        c(
            "linkedin-client-secret",
            "provider-credential",
            format!("linkedin_client_secret = \"⟦{}⟧\"", g.ld(16)),
        ),
        c(
            "lob-api-key",
            "lob-api-key",
            format!("lob_api_key = \"⟦test_{}⟧\"", g.hex(35)),
        ),
        c(
            "lob-pub-api-key",
            "lob-pub-api-key",
            format!("lob_pub_key = \"⟦live_pub_{}⟧\"", g.hex(31)),
        ),
        c(
            "mailchimp-api-key",
            "mailchimp-api-key",
            format!("mailchimp_api_key = \"⟦{}-us12⟧\"", g.hex(32)),
        ),
        c(
            "mailgun-private-api-token",
            "mailgun-private-api-token",
            format!("mailgun_api_key = \"⟦key-{}⟧\"", g.hex(32)),
        ),
        c(
            "mailgun-pub-key",
            "mailgun-pub-key",
            format!("mailgun_public_key = \"⟦pubkey-{}⟧\"", g.hex(32)),
        ),
        c(
            "mailgun-signing-key",
            "mailgun-signing-key",
            format!(
                "mailgun_signing_key = \"⟦{}-{}-{}⟧\"",
                g.s("abcdefgh0123456789", 32),
                g.s("abcdefgh0123456789", 8),
                g.s("abcdefgh0123456789", 8)
            ),
        ),
        c(
            "mapbox-api-token",
            "mapbox-api-token",
            format!("mapbox_token = \"⟦pk.{}.{}⟧\"", g.ld(60), g.ld(22)),
        ),
        c(
            "mattermost-access-token",
            "provider-credential",
            format!("mattermost_access_token = \"⟦{}⟧\"", g.ld(26)),
        ),
        c(
            "maxmind-license-key",
            "maxmind-license-key",
            format!("⟦{}_{}_mmk⟧", g.b62(6), g.b62(29)),
        ),
        c(
            "messagebird-api-token",
            "messagebird-api-token",
            format!("messagebird_api_key = \"⟦{}⟧\"", g.ld(25)),
        ),
        c(
            "messagebird-client-id",
            "messagebird-client-id",
            format!("messagebird_client_id = \"⟦{}⟧\"", g.uuid()),
        ),
        c(
            "microsoft-teams-webhook",
            "microsoft-teams-webhook",
            format!(
                "⟦https://acme.webhook.office.com/webhookb2/{}@{}/IncomingWebhook/{}/{}⟧",
                g.uuid(),
                g.uuid(),
                g.hex(32),
                g.uuid()
            ),
        ),
        c(
            "netlify-access-token",
            "provider-credential",
            format!("netlify_access_token = \"⟦{}⟧\"", g.url(40)),
        ),
        c(
            "new-relic-browser-api-token",
            "new-relic-browser-api-token",
            format!("⟦NRJS-{}⟧", g.hex(19)),
        ),
        c(
            "new-relic-insert-key",
            "new-relic-insert-key",
            format!("⟦NRII-{}⟧", g.b62(32)),
        ),
        c(
            "new-relic-user-api-id",
            "provider-credential",
            format!("new_relic_user_api_id = \"⟦{}⟧\"", g.ld(64)),
        ),
        c(
            "new-relic-user-api-key",
            "new-relic-user-api-key",
            format!("⟦NRAK-{}⟧", g.s(UD, 27)),
        ),
        c(
            "notion-api-token",
            "notion-api-token",
            format!("⟦ntn_{}{}⟧", g.s("0123456789", 11), g.b62(35)),
        ),
        c(
            "npm-access-token",
            "npm-access-token",
            format!("⟦npm_{}⟧", g.ld(36)),
        ),
        c(
            "nuget-config-password",
            "nuget-config-password",
            format!(
                "<add key=\"ClearTextPassword\" value=\"⟦{}⟧\" />",
                g.b62(16)
            ),
        ),
        c(
            "nytimes-access-token",
            "provider-credential",
            format!("nytimes_access_token = \"⟦{}⟧\"", g.url(32)),
        ),
        c(
            "octopus-deploy-api-key",
            "octopus-deploy-api-key",
            format!("⟦API-{}⟧", g.s(UD, 26)),
        ),
        c(
            "okta-access-token",
            "okta-access-token",
            format!("okta_api_token = \"⟦00{}⟧\"", g.url(40)),
        ),
        c(
            "openai-api-key",
            "openai-api-key",
            format!("⟦sk-proj-{}T3BlbkFJ{}⟧", g.url(74), g.url(74)),
        ),
        c(
            "openshift-user-token",
            "openshift-user-token",
            format!("⟦sha256~{}⟧", g.url(43)),
        ),
        c(
            "perplexity-api-key",
            "perplexity-api-key",
            format!("⟦pplx-{}⟧", g.b62(48)),
        ),
        c(
            "plaid-api-token",
            "plaid-api-token",
            format!("plaid_token = \"⟦access-sandbox-{}⟧\"", g.uuid()),
        ),
        c(
            "plaid-client-id",
            "provider-credential",
            format!("plaid_client_id = \"⟦{}⟧\"", g.ld(24)),
        ),
        c(
            "plaid-secret-key",
            "provider-credential",
            format!("plaid_secret_key = \"⟦{}⟧\"", g.ld(30)),
        ),
        c(
            "planetscale-api-token",
            "planetscale-api-token",
            format!("⟦pscale_tkn_{}⟧", g.url(40)),
        ),
        c(
            "planetscale-oauth-token",
            "planetscale-oauth-token",
            format!("⟦pscale_oauth_{}⟧", g.url(40)),
        ),
        c(
            "planetscale-password",
            "planetscale-password",
            format!("⟦pscale_pw_{}⟧", g.url(40)),
        ),
        c(
            "postman-api-token",
            "postman-api-token",
            format!("⟦PMAK-{}-{}⟧", g.hex(24), g.hex(34)),
        ),
        c(
            "prefect-api-token",
            "prefect-api-token",
            format!("⟦pnu_{}⟧", g.b62(36)),
        ),
        c("private-key", "private-key", format!("⟦{pem}⟧")),
        c(
            "privateai-api-token",
            "provider-credential",
            format!("private_ai_api_key = \"⟦{}⟧\"", g.ld(32)),
        ),
        c(
            "pulumi-api-token",
            "pulumi-api-token",
            format!("⟦pul-{}⟧", g.hex(40)),
        ),
        c(
            "pypi-upload-token",
            "pypi-upload-token",
            format!("⟦pypi-AgEIcHlwaS5vcmc{}⟧", g.url(60)),
        ),
        c(
            "rapidapi-access-token",
            "provider-credential",
            format!("rapidapi_key = \"⟦{}⟧\"", g.url(50)),
        ),
        c(
            "readme-api-token",
            "readme-api-token",
            format!("⟦rdme_{}⟧", g.ld(70)),
        ),
        c(
            "rubygems-api-token",
            "rubygems-api-token",
            format!("⟦rubygems_{}⟧", g.hex(48)),
        ),
        c(
            "scalingo-api-token",
            "scalingo-api-token",
            format!("⟦tk-us-{}⟧", g.url(48)),
        ),
        c(
            "sendbird-access-id",
            "sendbird-access-id",
            format!("sendbird_app_id = \"⟦{}⟧\"", g.uuid()),
        ),
        c(
            "sendbird-access-token",
            "sendbird-access-token",
            format!("sendbird_api_token = \"⟦{}⟧\"", g.hex(40)),
        ),
        c(
            "sendgrid-api-token",
            "sendgrid-api-token",
            format!("⟦SG.{}.{}⟧", g.url(22), g.url(43)),
        ),
        c(
            "sendinblue-api-token",
            "sendinblue-api-token",
            format!("⟦xkeysib-{}-{}⟧", g.hex(64), g.ld(16)),
        ),
        c(
            "sentry-access-token",
            "provider-credential",
            format!("sentry_auth_token = \"⟦{}⟧\"", g.hex(64)),
        ),
        c(
            "sentry-org-token",
            "sentry-org-token",
            format!(
                "⟦sntrys_eyJpYXQiO{}LCJyZWdpb25fdXJs{}_{}⟧",
                g.b62(20),
                g.b62(30),
                g.b62(43)
            ),
        ),
        c(
            "sentry-user-token",
            "sentry-user-token",
            format!("⟦sntryu_{}⟧", g.hex(64)),
        ),
        c(
            "settlemint-application-access-token",
            "settlemint-application-access-token",
            format!("⟦sm_aat_{}⟧", g.b62(16)),
        ),
        c(
            "settlemint-personal-access-token",
            "settlemint-personal-access-token",
            format!("⟦sm_pat_{}⟧", g.b62(16)),
        ),
        c(
            "settlemint-service-access-token",
            "settlemint-service-access-token",
            format!("⟦sm_sat_{}⟧", g.b62(16)),
        ),
        c(
            "shippo-api-token",
            "shippo-api-token",
            format!("⟦shippo_live_{}⟧", g.hex(40)),
        ),
        c(
            "shopify-access-token",
            "shopify-access-token",
            format!("⟦shpat_{}⟧", g.hex(32)),
        ),
        c(
            "shopify-custom-access-token",
            "shopify-custom-access-token",
            format!("⟦shpca_{}⟧", g.hex(32)),
        ),
        c(
            "shopify-private-app-access-token",
            "shopify-private-app-access-token",
            format!("⟦shppa_{}⟧", g.hex(32)),
        ),
        c(
            "shopify-shared-secret",
            "shopify-shared-secret",
            format!("⟦shpss_{}⟧", g.hex(32)),
        ),
        c(
            "sidekiq-secret",
            "sidekiq-secret",
            format!(
                "BUNDLE_ENTERPRISE__CONTRIBSYS__COM=⟦{}:{}⟧",
                g.hex(8),
                g.hex(8)
            ),
        ),
        c(
            "sidekiq-sensitive-url",
            "sidekiq-sensitive-url",
            format!(
                "source \"https://⟦{}:{}⟧@gems.contribsys.com/\"",
                g.hex(8),
                g.hex(8)
            ),
        ),
        c(
            "slack-app-token",
            "slack-app-token",
            format!(
                "⟦xapp-1-A{}-{}-{}⟧",
                g.s(UD, 10),
                g.s("0123456789", 13),
                g.ld(64)
            ),
        ),
        c(
            "slack-bot-token",
            "slack-bot-token",
            format!(
                "⟦xoxb-{}-{}-{}⟧",
                g.s("0123456789", 11),
                g.s("0123456789", 13),
                g.b62(24)
            ),
        ),
        c(
            "slack-config-access-token",
            "slack-config-access-token",
            format!("⟦xoxe.xoxp-1-{}⟧", g.s(UD, 166)),
        ),
        c(
            "slack-config-refresh-token",
            "slack-config-refresh-token",
            format!("⟦xoxe-1-{}⟧", g.s(UD, 146)),
        ),
        c(
            "slack-legacy-bot-token",
            "slack-legacy-bot-token",
            format!("⟦xoxb-{}-{}⟧", g.s("0123456789", 10), g.b62(24)),
        ),
        c(
            "slack-legacy-token",
            "slack-legacy-token",
            format!(
                "⟦xoxs-{}-{}-{}-{}⟧",
                g.s("0123456789", 10),
                g.s("0123456789", 10),
                g.s("0123456789", 12),
                g.hex(64)
            ),
        ),
        c(
            "slack-legacy-workspace-token",
            "slack-legacy-workspace-token",
            format!("⟦xoxa-2-{}⟧", g.b62(40)),
        ),
        c(
            "slack-user-token",
            "slack-user-token",
            format!(
                "⟦xoxp-{}-{}-{}-{}⟧",
                g.s("0123456789", 11),
                g.s("0123456789", 11),
                g.s("0123456789", 12),
                g.b62(32)
            ),
        ),
        c(
            "slack-webhook-url",
            "slack-webhook-url",
            format!("⟦https://hooks.slack.com/services/{}⟧", g.b62(44)),
        ),
        c(
            "snyk-api-token",
            "snyk-api-token",
            format!("SNYK_TOKEN=⟦{}⟧", g.uuid()),
        ),
        c(
            "sonar-api-token",
            "sonar-api-token",
            format!("sonar_token = \"⟦{}⟧\"", g.ld(40)),
        ),
        c(
            "sourcegraph-access-token",
            "sourcegraph-access-token",
            format!("⟦sgp_{}⟧", g.hex(40)),
        ),
        c(
            "square-access-token",
            "square-access-token",
            format!("⟦sq0atp-{}⟧", g.url(22)),
        ),
        c(
            "squarespace-access-token",
            "squarespace-access-token",
            format!("squarespace_access_token = \"⟦{}⟧\"", g.uuid()),
        ),
        c(
            "stripe-access-token",
            "stripe-access-token",
            format!("⟦sk_live_{}⟧", g.b62(24)),
        ),
        c(
            "sumologic-access-id",
            "sumologic-access-id",
            format!("sumo_access_id = \"⟦su{}⟧\"", g.b62(12)),
        ),
        c(
            "sumologic-access-token",
            "provider-credential",
            format!("sumo_access_token = \"⟦{}⟧\"", g.b62(64)),
        ),
        c(
            "telegram-bot-api-token",
            "telegram-bot-api-token",
            format!(
                "telegram_bot_token = \"⟦{}:A{}⟧\"",
                g.s("0123456789", 10),
                g.url(34)
            ),
        ),
        c(
            "travisci-access-token",
            "provider-credential",
            format!("travis_token = \"⟦{}⟧\"", g.ld(22)),
        ),
        c(
            "twilio-api-key",
            "twilio-api-key",
            format!("⟦SK{}⟧", g.hex(32)),
        ),
        c(
            "twitch-api-token",
            "provider-credential",
            format!("twitch_api_token = \"⟦{}⟧\"", g.ld(30)),
        ),
        c(
            "twitter-access-secret",
            "provider-credential",
            format!("twitter_access_secret = \"⟦{}⟧\"", g.ld(45)),
        ),
        c(
            "twitter-access-token",
            "provider-credential",
            format!(
                "twitter_access_token = \"⟦{}-{}⟧\"",
                g.s("0123456789", 19),
                g.b62(32)
            ),
        ),
        c(
            "twitter-api-key",
            "provider-credential",
            format!("twitter_api_key = \"⟦{}⟧\"", g.ld(25)),
        ),
        c(
            "twitter-api-secret",
            "provider-credential",
            format!("twitter_api_secret = \"⟦{}⟧\"", g.ld(50)),
        ),
        c(
            "twitter-bearer-token",
            "twitter-bearer-token",
            format!(
                "twitter_bearer_token = \"⟦AAAAAAAAAAAAAAAAAAAAAA{}⟧\"",
                g.b62(90)
            ),
        ),
        c(
            "typeform-api-token",
            "typeform-api-token",
            format!("typeform_token = \"⟦tfp_{}⟧\"", g.url(59)),
        ),
        c(
            "vault-batch-token",
            "vault-batch-token",
            format!("⟦hvb.{}⟧", g.url(150)),
        ),
        c(
            "vault-service-token",
            "vault-service-token",
            format!("⟦hvs.{}⟧", g.url(95)),
        ),
        c(
            "yandex-access-token",
            "yandex-access-token",
            format!("yandex_token = \"⟦t1.{}.{}⟧\"", g.url(20), g.url(86)),
        ),
        c(
            "yandex-api-key",
            "yandex-api-key",
            format!("yandex_api_key = \"⟦AQVN{}⟧\"", g.url(36)),
        ),
        c(
            "yandex-aws-access-token",
            "yandex-aws-access-token",
            format!("yandex_aws_key = \"⟦YC{}⟧\"", g.url(38)),
        ),
        c(
            "zendesk-secret-key",
            "provider-credential",
            format!("zendesk_secret_key = \"⟦{}⟧\"", g.ld(40)),
        ),
    ]
}

/// gitleaks rules that look at file paths, not text: a gateway scans text.
const NOT_APPLICABLE: &[&str] = &["pkcs12-file"];

#[test]
fn gitleaks_default_rules_have_a_counterpart() {
    let e = engine();
    let mut failures = Vec::new();
    let cases = gitleaks_cases();
    for (gl, ours, sample) in &cases {
        let (Some(a), Some(b)) = (sample.find('⟦'), sample.find('⟧')) else {
            panic!("{gl}: sample without a marked value");
        };
        let text = sample.replace(['⟦', '⟧'], "");
        let (vs, ve) = (a, b - '⟦'.len_utf8());
        let got = secrets_at(&e, &text, vs, ve);
        if !got.iter().any(|(k, _)| ours.split('|').any(|o| o == k)) {
            failures.push(format!("{gl} (ours: {ours}): {text:?} -> {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // The list is complete: ids are unique, and it has all the rules gitleaks documents in its
    // default configuration (222 with the path-only rule).
    let mut ids: Vec<&str> = cases.iter().map(|c| c.0).collect();
    ids.extend(NOT_APPLICABLE);
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate gitleaks ids");
    assert!(n >= 215, "{n} gitleaks ids");
}

/// Placeholders and documentation values never come out as secrets, whatever the rule.
#[test]
fn documented_placeholders_are_not_secrets() {
    let e = engine();
    for t in [
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "stripe.api_key = \"sk_test_4eC39HqLyjWDarjtT1zdp7dc\"",
        "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "OPENAI_API_KEY=<your-openai-key>",
        "api_key: ${API_KEY}",
        "password: \"{{ vault_db_password }}\"",
        "token = \"%s\" % token",
        "SLACK_BOT_TOKEN=xoxb-your-bot-token",
        "api_key = \"YOUR_API_KEY_HERE\"",
        "secret = \"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\"",
        "password = \"********\"",
        "curl -u user:password https://example.com",
        "curl -u \"$USER:$TOKEN\" https://example.com",
        "heroku_api_key = \"00000000-0000-0000-0000-000000000000\"",
    ] {
        let got: Vec<_> = e
            .detect(t, Direction::Input)
            .into_iter()
            .filter(|d| &*d.detector == "secrets" && &*d.kind != "placeholder")
            .map(|d| d.kind.to_string())
            .collect();
        assert!(got.is_empty(), "{t:?}: {got:?}");
    }
}
