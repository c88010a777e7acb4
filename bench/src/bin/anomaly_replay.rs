//! Anomaly-detector replay: synthetic traffic for N principals over a simulated day, with
//! injected anomalies, run through `gatehouse_audit::anomaly::Detector`; prints precision and
//! recall of the alerts and the false alarms per 1,000 principal-hours, per z-threshold.
//!
//! ```sh
//! cargo run -p gatehouse-bench --bin anomaly_replay -- [--principals 1000] [--hours 24] [--seed 7]
//! ```
//!
//! Normal traffic per principal: a log-normal base rate (median 0.4 requests/minute), a diurnal
//! profile (working hours in the principal's own time zone, 5 % at night), legitimate work
//! sessions (2 % chance per active minute of a 5–30 minute session at 2–4× the base rate),
//! log-normal tokens per request, 1 % blocked requests, 1 % requests with a false-positive
//! injection score, one to three usual models and a 0.1 % chance per request of trying another.
//!
//! Anomalies, each on its own principal (10 % of principals), starting in the working day:
//! rate burst ×20 for 10 minutes; moderate burst ×5 for 15 minutes; token flood ×20 for 15
//! minutes; block storm (60 % blocked, ×3 rate) for 10 minutes; injection campaign (half the
//! requests score 0.8–1, ×2 rate) for 10 minutes; a never-used model for 10 minutes.
//!
//! An alert is a true positive when its principal has an anomaly and the alert falls in the
//! anomaly's window (plus one bucket); every other alert is a false alarm.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

use gatehouse_audit::anomaly::{Alert, Detector, DetectorConfig, Observation};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Burst20,
    Burst5,
    TokenFlood,
    BlockStorm,
    Injection,
    NewModel,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::Burst20,
        Kind::Burst5,
        Kind::TokenFlood,
        Kind::BlockStorm,
        Kind::Injection,
        Kind::NewModel,
    ];
    fn name(self) -> &'static str {
        match self {
            Kind::Burst20 => "request burst ×20, 10 min",
            Kind::Burst5 => "request burst ×5, 15 min",
            Kind::TokenFlood => "token flood ×20, 15 min",
            Kind::BlockStorm => "block storm (60 % blocked, ×3), 10 min",
            Kind::Injection => "injection campaign (½ scored 0.8–1, ×2), 10 min",
            Kind::NewModel => "never-used model, 10 min",
        }
    }
    fn minutes(self) -> u64 {
        match self {
            Kind::Burst5 | Kind::TokenFlood => 15,
            _ => 10,
        }
    }
}

struct Anomaly {
    kind: Kind,
    start_min: u64,
}

struct Principal {
    id: String,
    base: f64,
    tz_shift: f64,
    tokens_mu: f64,
    models: Vec<&'static str>,
    anomaly: Option<Anomaly>,
}

const MODELS: [&str; 8] = [
    "gpt-4o-mini",
    "gpt-4o",
    "claude-haiku",
    "claude-sonnet",
    "llama-70b",
    "mistral-large",
    "embed-small",
    "o3-mini",
];

fn normal(rng: &mut StdRng) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn poisson(rng: &mut StdRng, lambda: f64) -> u64 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda > 30.0 {
        return (lambda + lambda.sqrt() * normal(rng)).round().max(0.0) as u64;
    }
    let l = (-lambda).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.random::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

/// Activity factor at `hour` (0–24, local time): 5 % at night, a smooth working day.
fn diurnal(hour: f64) -> f64 {
    let h = hour.rem_euclid(24.0);
    if (7.0..19.0).contains(&h) {
        0.05 + 0.95 * ((std::f64::consts::PI * (h - 7.0) / 12.0).sin()).powf(1.5)
    } else {
        0.05
    }
}

fn population(n: usize, hours: u64, rng: &mut StdRng) -> Vec<Principal> {
    (0..n)
        .map(|i| {
            let k = 1 + rng.random_range(0..3);
            let mut models = Vec::new();
            while models.len() < k {
                let m = MODELS[rng.random_range(0..MODELS.len() - 1)];
                if !models.contains(&m) {
                    models.push(m);
                }
            }
            let anomaly = (i % 10 == 9).then(|| {
                let kind = Kind::ALL[(i / 10) % Kind::ALL.len()];
                // Somewhere in the (second) working day.
                let day_start = (hours.saturating_sub(24)) * 60;
                Anomaly {
                    kind,
                    start_min: day_start + rng.random_range(9 * 60..17 * 60),
                }
            });
            Principal {
                id: format!("user:{i:05}"),
                base: (0.4f64.ln() + 1.0 * normal(rng)).exp().clamp(0.01, 20.0),
                tz_shift: rng.random_range(-2.0..2.0),
                tokens_mu: rng.random_range(5.5..7.5),
                models,
                anomaly,
            }
        })
        .collect()
}

struct Outcome {
    alerts: Vec<(usize, Alert)>,
    requests: u64,
}

fn replay(pop: &[Principal], hours: u64, cfg: &DetectorConfig, seed: u64) -> Outcome {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut det = Detector::new(cfg.clone());
    let mut alerts = Vec::new();
    let mut requests = 0;
    for (pi, p) in pop.iter().enumerate() {
        let mut session_left = 0u64;
        let mut session_mult = 1.0;
        for minute in 0..hours * 60 {
            let hour = minute as f64 / 60.0 + p.tz_shift;
            let active = diurnal(hour);
            if session_left == 0 && active > 0.3 && rng.random::<f64>() < 0.02 {
                session_left = rng.random_range(5..30);
                session_mult = rng.random_range(2.0..4.0);
            }
            let mut mult = if session_left > 0 {
                session_left -= 1;
                session_mult
            } else {
                1.0
            };
            let anomalous = p
                .anomaly
                .as_ref()
                .filter(|a| minute >= a.start_min && minute < a.start_min + a.kind.minutes())
                .map(|a| a.kind);
            match anomalous {
                Some(Kind::Burst20) => mult = 20.0,
                Some(Kind::Burst5) => mult = 5.0,
                Some(Kind::BlockStorm) => mult = 3.0,
                Some(Kind::Injection) => mult = 2.0,
                _ => {}
            }
            let mut lambda = p.base * active * mult;
            if matches!(anomalous, Some(Kind::Burst20)) {
                lambda = lambda.max(30.0);
            }
            if anomalous.is_some() {
                lambda = lambda.max(2.0);
            }
            let n = poisson(&mut rng, lambda);
            let mut times: Vec<u64> = (0..n)
                .map(|_| minute * 60_000 + rng.random_range(0..60_000))
                .collect();
            times.sort_unstable();
            for at_ms in times {
                requests += 1;
                let mut tokens = (p.tokens_mu + 0.5 * normal(&mut rng)).exp();
                let mut blocked = rng.random::<f64>() < 0.01;
                let mut injection = if rng.random::<f64>() < 0.01 {
                    rng.random_range(0.2..0.7)
                } else {
                    0.0
                };
                let mut model = if rng.random::<f64>() < 0.001 {
                    MODELS[rng.random_range(0..MODELS.len())]
                } else {
                    p.models[rng.random_range(0..p.models.len())]
                };
                match anomalous {
                    Some(Kind::TokenFlood) => tokens *= 20.0,
                    Some(Kind::BlockStorm) => blocked = rng.random::<f64>() < 0.6,
                    Some(Kind::Injection) if rng.random::<bool>() => {
                        injection = rng.random_range(0.8..1.0);
                        blocked = true;
                    }
                    Some(Kind::NewModel) => model = "gpt-premium-unlisted",
                    _ => {}
                }
                let obs = Observation {
                    principal: &p.id,
                    at_ms,
                    tokens: tokens as u64,
                    blocked,
                    injection_score: injection,
                    model: Some(model),
                    tools: &[],
                };
                for a in det.observe(&obs) {
                    alerts.push((pi, a));
                }
            }
        }
    }
    Outcome { alerts, requests }
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n = arg(&args, "--principals", 1000) as usize;
    let hours = arg(&args, "--hours", 48);
    let seed = arg(&args, "--seed", 7);
    let mut rng = StdRng::seed_from_u64(seed);
    let pop = population(n, hours, &mut rng);
    let anomalous = pop.iter().filter(|p| p.anomaly.is_some()).count();
    let principal_hours = (n as u64 * hours) as f64;
    println!(
        "{n} principals, {hours} h simulated ({anomalous} with one injected anomaly each), 1-minute buckets, seed {seed}\n"
    );
    println!(
        "| z threshold | alerts | precision (all) | precision (rate alerts) | recall | false alarms / 1,000 principal-hours: rate | : new model | false alarms by kind |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut per_kind_rows = Vec::new();
    for z in [4.0, 5.0, 6.0, 8.0] {
        let cfg = DetectorConfig {
            z_threshold: z,
            ..DetectorConfig::default()
        };
        let out = replay(&pop, hours, &cfg, seed ^ 0x5eed);
        let bucket_ms = (cfg.bucket_secs * 1000.0) as u64;
        let true_positive = |pi: usize, a: &Alert| {
            pop[pi].anomaly.as_ref().is_some_and(|an| {
                let s = an.start_min * 60_000;
                let e = (an.start_min + an.kind.minutes()) * 60_000 + bucket_ms;
                a.at_ms >= s && a.at_ms < e
            })
        };
        let tp = out
            .alerts
            .iter()
            .filter(|(pi, a)| true_positive(*pi, a))
            .count();
        let fp = out.alerts.len() - tp;
        let mut fp_kinds: std::collections::BTreeMap<&str, usize> = Default::default();
        for (pi, a) in &out.alerts {
            if !true_positive(*pi, a) {
                *fp_kinds.entry(a.kind.as_str()).or_default() += 1;
            }
        }
        let detected = |pi: usize| {
            out.alerts
                .iter()
                .any(|(q, a)| *q == pi && true_positive(pi, a))
        };
        let found = pop
            .iter()
            .enumerate()
            .filter(|(pi, p)| p.anomaly.is_some() && detected(*pi))
            .count();
        let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        let is_rate = |a: &Alert| !matches!(a.kind.as_str(), "new_model" | "new_sensitive_tool");
        let rate_alerts = out.alerts.iter().filter(|(_, a)| is_rate(a)).count();
        let rate_tp = out
            .alerts
            .iter()
            .filter(|(pi, a)| is_rate(a) && true_positive(*pi, a))
            .count();
        let novelty_fp = fp - (rate_alerts - rate_tp);
        let kinds: Vec<String> = fp_kinds.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!(
            "| {z} | {} | {:.3} | {:.3} | {:.3} | {:.2} | {:.2} | {} |",
            out.alerts.len(),
            ratio(tp, out.alerts.len()),
            ratio(rate_tp, rate_alerts),
            found as f64 / anomalous.max(1) as f64,
            (rate_alerts - rate_tp) as f64 * 1000.0 / principal_hours,
            novelty_fp as f64 * 1000.0 / principal_hours,
            if kinds.is_empty() {
                "—".to_owned()
            } else {
                kinds.join(", ")
            }
        );
        let mut row = format!("| {z} |");
        for k in Kind::ALL {
            let total = pop
                .iter()
                .filter(|p| p.anomaly.as_ref().is_some_and(|a| a.kind == k))
                .count();
            let hit = pop
                .iter()
                .enumerate()
                .filter(|(pi, p)| p.anomaly.as_ref().is_some_and(|a| a.kind == k) && detected(*pi))
                .count();
            row.push_str(&format!(" {hit}/{total} |"));
        }
        per_kind_rows.push((row, out.requests));
    }
    println!("\nRecall by injected anomaly:\n");
    let mut head = "| z threshold |".to_owned();
    let mut sep = "|---:|".to_owned();
    for k in Kind::ALL {
        head.push_str(&format!(" {} |", k.name()));
        sep.push_str("---:|");
    }
    println!("{head}\n{sep}");
    for (row, _) in &per_kind_rows {
        println!("{row}");
    }
    if let Some((_, reqs)) = per_kind_rows.first() {
        println!("\n{reqs} requests replayed per run.");
    }
}
