//! `gatehouse scan` and `gatehouse eval`: the detection engine on files, stdin and datasets.
//!
//! `scan --jsonl` implements the machine contract of DESIGN.md §4: one JSON object per input
//! line, offsets in Unicode scalars of the original text. `eval` measures a detector on a labelled
//! JSONL dataset (formats of `shared/datasets/README.md`); each task is one [`EvalTask`] variant,
//! so a new task (e.g. `injection`) is one more variant and one more function.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use gatehouse_core::{Direction, Finding, Verdict};
use gatehouse_detect::injection::exfil::{ExfilConfig, ExfilDetector};
use gatehouse_detect::injection::{InjectionConfig, InjectionDetector};
use gatehouse_detect::{DetectConfig, Engine, ScanOutcome};
use serde_json::{Value, json};
use std::io::{BufRead, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Direction argument.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DirectionArg {
    /// Text sent towards a model or tool.
    Input,
    /// Text a model or tool returns.
    Output,
    /// Tool results and retrieved documents inside a request.
    ToolResult,
}

impl From<DirectionArg> for Direction {
    fn from(d: DirectionArg) -> Direction {
        match d {
            DirectionArg::Input => Direction::Input,
            DirectionArg::Output => Direction::Output,
            DirectionArg::ToolResult => Direction::ToolResult,
        }
    }
}

/// Output format of `scan` for people.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object.
    Json,
}

/// Arguments of `gatehouse scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Read JSON lines `{"id","text","direction"}` from stdin and write one verdict line per
    /// input (DESIGN.md §4).
    #[arg(long)]
    pub jsonl: bool,
    /// File to scan, or `-` for stdin (default).
    pub file: Option<PathBuf>,
    /// Which way the text flows.
    #[arg(long, value_enum, default_value = "input")]
    pub direction: DirectionArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
    /// Detection config (TOML, the `[detect]` table's fields). Default: built-in defaults.
    #[arg(long)]
    pub detect_config: Option<PathBuf>,
    /// Learned models (layer 3 of the prompt-attack cascade, NER).
    #[command(flatten)]
    pub models: ModelArgs,
}

/// Which learned models `scan` and `eval` load (as `[ml]` does for `serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// Layer 3 (all-MiniLM-L6-v2 + head): use when installed (`auto`), insist (`required`),
    /// or run the fast layers only (`off`).
    #[arg(long, value_enum, default_value = "auto")]
    pub semantic: SemanticArg,
    /// Models directory (default as for `gatehouse models install`).
    #[arg(long)]
    pub models_dir: Option<PathBuf>,
    /// A bring-your-own prompt-attack classifier directory (BERT / DeBERTa-v2/v3 sequence
    /// classification); takes layer 3's place.
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Labels of `--classifier` that mean "attack" (default: guessed from `id2label`).
    #[arg(long, value_delimiter = ',')]
    pub attack_labels: Vec<String>,
    /// A named-entity model directory (BERT / DeBERTa-v2/v3 token classification).
    #[arg(long)]
    pub ner: Option<PathBuf>,
}

/// `--semantic`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SemanticArg {
    /// Use MiniLM when installed.
    Auto,
    /// Fail without it.
    Required,
    /// Fast layers only.
    Off,
}

impl ModelArgs {
    fn config(&self) -> gatehouse_server::ml::MlConfig {
        use gatehouse_server::ml::{ClassifierConfig, MlConfig, NerConfig, SemanticMode};
        MlConfig {
            models_dir: self.models_dir.clone(),
            semantic: match self.semantic {
                SemanticArg::Auto => SemanticMode::Auto,
                SemanticArg::Required => SemanticMode::Required,
                SemanticArg::Off => SemanticMode::Off,
            },
            classifier: self.classifier.clone().map(|dir| ClassifierConfig {
                dir,
                attack_labels: self.attack_labels.clone(),
                max_tokens: None,
            }),
            ner: self.ner.clone().map(|dir| NerConfig { dir }),
        }
    }

    /// Loads the models and reports on stderr what is in use (and what is not).
    fn load(&self) -> Result<gatehouse_server::ml::Loaded, String> {
        let l = gatehouse_server::ml::load(&self.config(), std::path::Path::new("."), true)?;
        match (&l.status.semantic, &l.status.semantic_unavailable) {
            (Some(m), _) => eprintln!("prompt-attack layers: signatures + classifier + {m}"),
            (None, Some(why)) => eprintln!(
                "prompt-attack layers: signatures + classifier (layer 3 unavailable: {why})"
            ),
            (None, None) => {}
        }
        if let Some(n) = &l.status.ner {
            eprintln!("NER: {n}");
        }
        Ok(l)
    }
}

/// Arguments of `gatehouse eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// pii | secrets
    #[arg(long)]
    pub task: String,
    /// JSONL dataset file.
    #[arg(long)]
    pub data: PathBuf,
    /// Print up to N missed and N spurious spans (for debugging the detector, not for tuning).
    #[arg(long, default_value_t = 0)]
    pub errors: usize,
    /// Learned models (layer 3 of the prompt-attack cascade, NER).
    #[command(flatten)]
    pub models: ModelArgs,
}

fn load_config(path: Option<&PathBuf>) -> Result<DetectConfig, String> {
    let Some(p) = path else {
        return Ok(DetectConfig::default());
    };
    let s = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
    toml::from_str(&s).map_err(|e| format!("{}: {e}", p.display()))
}

fn build_engine(path: Option<&PathBuf>, models: &ModelArgs) -> Result<Scanner, String> {
    let cfg = load_config(path)?;
    let loaded = models.load()?;
    let mut engine = Engine::new(&cfg).map_err(|e| e.to_string())?;
    if let Some(m) = loaded.entity {
        engine = engine.with_entity_model(m);
    }
    let mut injection =
        InjectionDetector::new(&InjectionConfig::default()).map_err(|e| e.to_string())?;
    if let Some(m) = loaded.attack {
        injection = injection.with_attack_model(m);
    }
    let exfil = ExfilDetector::new(&ExfilConfig::default()).map_err(|e| e.to_string())?;
    Ok(Scanner {
        engine,
        injection,
        exfil,
    })
}

/// Every detector `scan` reports: PII and secrets (the engine), prompt attacks on input and
/// tool results, and exfiltration / active content on output.
struct Scanner {
    engine: Engine,
    injection: InjectionDetector,
    exfil: ExfilDetector,
}

impl Scanner {
    fn scan(&self, text: &str, dir: Direction) -> ScanOutcome {
        let mut out = self.engine.scan(text, dir);
        match dir {
            Direction::Input | Direction::ToolResult => {
                let r = self.injection.score(text, dir);
                if r.is_attack {
                    out.verdict = Verdict::Block;
                }
                out.findings.extend(r.findings);
            }
            Direction::Output => {
                let base = out.redacted.clone().unwrap_or_else(|| text.to_owned());
                let found = self.exfil.scan(text);
                if !found.is_empty() {
                    out.verdict = out.verdict.max(Verdict::Redact);
                    out.redacted = Some(self.exfil.sanitize(&base).0);
                    out.findings.extend(found);
                }
            }
        }
        out.findings.sort_by_key(|f| (f.start, f.end));
        out
    }
}

fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow => "allow",
        Verdict::Redact => "redact",
        Verdict::Block => "block",
    }
}

fn finding_json(f: &Finding) -> Value {
    json!({
        "detector": f.detector,
        "type": f.kind,
        "score": (f64::from(f.score) * 1000.0).round() / 1000.0,
        "start": f.start,
        "end": f.end,
    })
}

/// Whether a finding makes `scan` exit 1 (documented placeholders do not).
fn counts(f: &Finding) -> bool {
    f.kind != "placeholder"
}

/// Runs `gatehouse scan`.
pub fn run_scan(args: ScanArgs) -> ExitCode {
    let engine = match build_engine(args.detect_config.as_ref(), &args.models) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("scan: {e}");
            return ExitCode::from(2);
        }
    };
    if args.jsonl {
        return scan_jsonl(&engine, Direction::from(args.direction));
    }
    let mut text = String::new();
    let read = match args.file.as_ref() {
        Some(p) if p.as_os_str() != "-" => std::fs::read_to_string(p).map(|s| text = s),
        _ => std::io::stdin().read_to_string(&mut text).map(|_| ()),
    };
    if let Err(e) = read {
        eprintln!("scan: cannot read input: {e}");
        return ExitCode::from(2);
    }
    let out = engine.scan(&text, Direction::from(args.direction));
    let mut stdout = std::io::stdout().lock();
    let res = match args.format {
        FormatArg::Json => writeln!(stdout, "{}", outcome_json(None, &out)),
        FormatArg::Text => print_text(&mut stdout, &text, &out),
    };
    if res.is_err() {
        return ExitCode::from(2);
    }
    if out.findings.iter().any(counts) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn outcome_json(id: Option<&Value>, out: &ScanOutcome) -> Value {
    let findings: Vec<Value> = out.findings.iter().map(finding_json).collect();
    let mut v = json!({
        "verdict": verdict_str(out.verdict),
        "findings": findings,
        "redacted": out.redacted,
    });
    if let (Some(id), Some(obj)) = (id, v.as_object_mut()) {
        obj.insert("id".to_owned(), id.clone());
    }
    v
}

fn print_text(w: &mut impl Write, text: &str, out: &ScanOutcome) -> std::io::Result<()> {
    writeln!(w, "verdict: {}", verdict_str(out.verdict))?;
    if out.findings.is_empty() {
        writeln!(w, "no findings")?;
    }
    for f in &out.findings {
        // Locate by line/column; the value itself is never printed.
        let before: String = text.chars().take(f.start).collect();
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        writeln!(
            w,
            "{line}:{col}\t{}\t{}\tscore {:.2}\tchars {}..{}",
            f.detector, f.kind, f.score, f.start, f.end
        )?;
    }
    if let Some(r) = &out.redacted {
        writeln!(w, "--- redacted ---\n{r}")?;
    }
    Ok(())
}

fn parse_direction(v: Option<&Value>, default: Direction) -> Result<Direction, String> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(Value::String(s)) => match s.as_str() {
            "input" => Ok(Direction::Input),
            "output" => Ok(Direction::Output),
            "tool_result" => Ok(Direction::ToolResult),
            other => Err(format!("unknown direction {other:?}")),
        },
        Some(_) => Err("direction must be a string".to_owned()),
    }
}

fn scan_jsonl(engine: &Scanner, default_dir: Direction) -> ExitCode {
    let stdin = std::io::stdin();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut any_findings = false;
    let mut any_error = false;
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("scan: line {}: {e}", n + 1);
                return ExitCode::from(2);
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Result<(Value, String, Direction), String> =
            serde_json::from_str::<Value>(&line)
                .map_err(|e| e.to_string())
                .and_then(|v| {
                    let id = v.get("id").cloned().unwrap_or(Value::Null);
                    let text = v
                        .get("text")
                        .and_then(Value::as_str)
                        .ok_or_else(|| "missing string field \"text\"".to_owned())?
                        .to_owned();
                    let dir = parse_direction(v.get("direction"), default_dir)?;
                    Ok((id, text, dir))
                });
        let written = match parsed {
            Ok((id, text, dir)) => {
                let o = engine.scan(&text, dir);
                any_findings |= o.findings.iter().any(counts);
                writeln!(out, "{}", outcome_json(Some(&id), &o))
            }
            Err(e) => {
                any_error = true;
                eprintln!("scan: line {}: {e}", n + 1);
                let id = serde_json::from_str::<Value>(&line)
                    .ok()
                    .and_then(|v| v.get("id").cloned())
                    .unwrap_or(Value::Null);
                writeln!(out, "{}", json!({"id": id, "error": e}))
            }
        };
        if written.is_err() {
            return ExitCode::from(2);
        }
    }
    if out.flush().is_err() || any_error {
        return ExitCode::from(2);
    }
    if any_findings {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The evaluation tasks. To add one (e.g. `injection`, a row-classification task), add a
/// variant, parse it in [`EvalTask::parse`] and dispatch it in [`run_eval`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalTask {
    /// Span task on `pii/*.jsonl` (`spans[].type`).
    Pii,
    /// Span task on `secrets/*.jsonl` (`spans[].rule`, `label`).
    Secrets,
    /// Row classification on `injection/*.jsonl` (`label`, `kind`).
    Injection,
}

impl EvalTask {
    /// Parses `--task`.
    pub fn parse(s: &str) -> Option<EvalTask> {
        match s {
            "pii" => Some(EvalTask::Pii),
            "secrets" => Some(EvalTask::Secrets),
            "injection" => Some(EvalTask::Injection),
            _ => None,
        }
    }
}

/// Runs `gatehouse eval`.
pub fn run_eval(args: EvalArgs) -> ExitCode {
    let Some(task) = EvalTask::parse(&args.task) else {
        eprintln!(
            "eval: unknown task {:?} (known: pii, secrets, injection)",
            args.task
        );
        return ExitCode::from(2);
    };
    if task == EvalTask::Injection {
        return eval_injection(&args.data, &args.models);
    }
    let rows = match std::fs::read_to_string(&args.data)
        .map_err(|e| e.to_string())
        .and_then(|d| gatehouse_detect::eval_spans::parse_jsonl(&d))
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("eval: {}: {e}", args.data.display());
            return ExitCode::from(2);
        }
    };
    let engine = match Engine::new(&DetectConfig::default()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("eval: {e}");
            return ExitCode::from(2);
        }
    };
    let engine = if task == EvalTask::Pii && args.models.ner.is_some() {
        let mut m = args.models.clone();
        m.semantic = SemanticArg::Off;
        match m.load() {
            Ok(l) => match l.entity {
                Some(n) => engine.with_entity_model(n),
                None => engine,
            },
            Err(e) => {
                eprintln!("eval: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        engine
    };
    match task {
        EvalTask::Pii | EvalTask::Secrets => {
            let t = if task == EvalTask::Pii {
                gatehouse_detect::eval_spans::Task::Pii
            } else {
                gatehouse_detect::eval_spans::Task::Secrets
            };
            let report = gatehouse_detect::eval_spans::evaluate(&engine, t, &rows, args.errors);
            println!("{report}");
            ExitCode::SUCCESS
        }
        EvalTask::Injection => ExitCode::from(2),
    }
}

/// `eval --task injection`: precision, recall, F1, ROC AUC, TPR at 1% FPR, per-kind recall,
/// false positives on `benign_trigger`, and throughput.
fn eval_injection(path: &PathBuf, models: &ModelArgs) -> ExitCode {
    let data = match std::fs::read_to_string(path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("eval: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let rows = match gatehouse_detect::injection::eval::parse_jsonl(&data) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("eval: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let loaded = match models.load() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("eval: {e}");
            return ExitCode::from(2);
        }
    };
    let det = match InjectionDetector::new(&InjectionConfig::default()) {
        Ok(d) => match loaded.attack {
            Some(m) => d.with_attack_model(m),
            None => d,
        },
        Err(e) => {
            eprintln!("eval: {e}");
            return ExitCode::from(2);
        }
    };
    let report = gatehouse_detect::injection::eval::evaluate(&det, &rows);
    println!("{report}");
    ExitCode::SUCCESS
}
