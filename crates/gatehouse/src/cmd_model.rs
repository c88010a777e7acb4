//! `gatehouse model …`: scan model files, sign and verify models (OpenSSF model-signing v1.0),
//! and emit a CycloneDX ML-BOM. Argument parsing only; the work lives in `gatehouse-supply`.
//!
//! Exit codes (DESIGN §4): `scan` and `verify` exit 0 when clean / verified, 1 on findings /
//! verification failure, 2 when the input could not be fully analysed or read (malformed bundle,
//! I/O error). `sign` and `bom` exit 0 on success and 2 on error.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gatehouse_supply::bom::{BomOptions, build_bom};
use gatehouse_supply::report::{OutputFormat, render};
use gatehouse_supply::scan::{ScanOptions, collect_files, scan_files};
use gatehouse_supply::signing::{
    self, Diff, HashOptions, Material, Method, SignError, SigningKey, Trust, VerifyingKey,
};

/// `gatehouse model` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ModelCommand {
    /// Scan model files and directories for code that would run on load.
    ///
    /// Formats are detected by content (pickle, PyTorch zip/legacy/tar, NumPy, safetensors, GGUF,
    /// Keras, HDF5, ONNX, SavedModel, zip/tar/gzip). Exit 0 clean, 1 findings, 2 incomplete.
    Scan(ScanArgs),
    /// Sign a model directory (or file) with OpenSSF model-signing v1.0.
    Sign(SignArgs),
    /// Verify a model against its model-signing signature. Exit 0 verified, 1 failed, 2 malformed.
    Verify(VerifyArgs),
    /// Print a CycloneDX 1.6 ML-BOM for a model directory.
    Bom(BomArgs),
}

/// Report formats for `model scan`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ScanFormat {
    /// Human-readable table.
    Table,
    /// JSON document.
    Json,
    /// SARIF 2.1.0 for code-scanning UIs.
    Sarif,
}

/// `model scan` arguments.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files or directories to scan (directories recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ScanFormat,
    /// Write the report to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Add `module.name` to the pickle allowlist (repeatable). Denylisted globals stay denied.
    #[arg(long = "allow-global", value_name = "MODULE.NAME")]
    pub allow_global: Vec<String>,
}

/// `model sign` arguments.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// Model directory or file.
    pub model: PathBuf,
    /// Where to write the signature bundle.
    #[arg(long, default_value = "model.sig")]
    pub signature: PathBuf,
    /// PEM private key (P-256 or P-384; PKCS#8 or SEC1).
    #[arg(long = "private-key", alias = "private_key")]
    pub private_key: PathBuf,
    /// PEM signing certificate for the key (certificate method).
    #[arg(long = "signing-certificate", alias = "signing_certificate")]
    pub signing_certificate: Option<PathBuf>,
    /// PEM certificates completing the chain (repeatable).
    #[arg(long = "certificate-chain", alias = "certificate_chain")]
    pub certificate_chain: Vec<PathBuf>,
    /// Paths (relative to the model) to leave out (repeatable).
    #[arg(long = "ignore-paths")]
    pub ignore_paths: Vec<String>,
    /// Follow symbolic links instead of refusing them.
    #[arg(long = "allow-symlinks", alias = "allow_symlinks")]
    pub allow_symlinks: bool,
    /// Hash files in shards of this many bytes instead of whole files.
    #[arg(long = "shard-size")]
    pub shard_size: Option<u64>,
}

/// `model verify` arguments.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Model directory or file.
    pub model: PathBuf,
    /// Signature bundle.
    #[arg(long, default_value = "model.sig")]
    pub signature: PathBuf,
    /// PEM public key (key method).
    #[arg(
        long = "public-key",
        alias = "public_key",
        conflicts_with = "ca_certificate"
    )]
    pub public_key: Option<PathBuf>,
    /// PEM CA certificate(s) that must anchor the bundle's chain (certificate method; repeatable).
    #[arg(long = "ca-certificate", alias = "certificate_chain")]
    pub ca_certificate: Vec<PathBuf>,
    /// Sigstore trusted root (`trusted_root.json`) for keyless bundles; needs --identity and --issuer.
    #[arg(long = "trusted-root", requires_all = ["identity", "issuer"])]
    pub trusted_root: Option<PathBuf>,
    /// Expected certificate identity (email or URI) of a keyless signer.
    #[arg(long)]
    pub identity: Option<String>,
    /// Expected OIDC issuer of a keyless signer.
    #[arg(long)]
    pub issuer: Option<String>,
    /// Do not fail on files present on disk but not in the signature.
    #[arg(long = "ignore-unsigned-files", alias = "ignore_unsigned_files")]
    pub ignore_unsigned_files: bool,
    /// Extra paths (relative to the model) to leave out.
    #[arg(long = "ignore-paths")]
    pub ignore_paths: Vec<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `model bom` arguments.
#[derive(Debug, clap::Args)]
pub struct BomArgs {
    /// Model directory.
    pub model: PathBuf,
    /// Signature bundle to reference (default: `model.sig` inside the model if present).
    #[arg(long)]
    pub signature: Option<PathBuf>,
    /// `model scan` report to reference.
    #[arg(long = "scan-report")]
    pub scan_report: Option<PathBuf>,
    /// Write the BOM to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Runs a `gatehouse model` subcommand.
pub fn run_model(cmd: ModelCommand) -> ExitCode {
    match cmd {
        ModelCommand::Scan(a) => scan(a),
        ModelCommand::Sign(a) => sign(a),
        ModelCommand::Verify(a) => verify(a),
        ModelCommand::Bom(a) => bom(a),
    }
}

fn emit(output: Option<&Path>, text: &str) -> bool {
    match output {
        Some(p) => match std::fs::write(p, text) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", p.display());
                false
            }
        },
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}").is_ok()
        }
    }
}

fn scan(a: ScanArgs) -> ExitCode {
    let mut opts = ScanOptions::default();
    for g in &a.allow_global {
        opts.policy.allow(g);
    }
    let files = collect_files(&a.paths);
    let tty = std::io::stderr().is_terminal();
    let total = files.len();
    let mut done = 0usize;
    let report = scan_files(&files, &opts, |_| {
        done += 1;
        if tty {
            eprint!("\rscanning {done}/{total}");
        }
    });
    if tty {
        eprint!("\r\x1b[K");
    }
    let format = match a.format {
        ScanFormat::Table => OutputFormat::Table,
        ScanFormat::Json => OutputFormat::Json,
        ScanFormat::Sarif => OutputFormat::Sarif,
    };
    if !emit(a.output.as_deref(), &render(&report, format)) {
        return ExitCode::from(2);
    }
    ExitCode::from(report.exit_code())
}

fn read_text(p: &Path) -> Result<String, SignError> {
    std::fs::read_to_string(p).map_err(|e| SignError::Io(p.to_path_buf(), e))
}

/// A path relative to the model root when it lies inside it.
fn inside(model: &Path, p: &Path) -> Option<String> {
    let m = model.canonicalize().ok()?;
    let abs = if p.exists() {
        p.canonicalize().ok()?
    } else {
        let parent = p
            .parent()
            .filter(|x| !x.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        parent.canonicalize().ok()?.join(p.file_name()?)
    };
    abs.strip_prefix(&m)
        .ok()
        .map(|r| r.to_string_lossy().replace('\\', "/"))
}

fn sign(a: SignArgs) -> ExitCode {
    match sign_inner(&a) {
        Ok(n) => {
            eprintln!(
                "signed {n} file(s) of {} into {}",
                a.model.display(),
                a.signature.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn sign_inner(a: &SignArgs) -> Result<usize, SignError> {
    let key = SigningKey::from_pem(&read_text(&a.private_key)?)?;
    let mut opts = HashOptions {
        allow_symlinks: a.allow_symlinks,
        method: a.shard_size.map_or(Method::Files, Method::Shards),
        ..HashOptions::default()
    };
    opts.ignore_paths.extend(a.ignore_paths.iter().cloned());
    if let Some(rel) = inside(&a.model, &a.signature) {
        opts.ignore_paths.push(rel);
    }
    let manifest = signing::hash_model(&a.model, &opts, std::slice::from_ref(&a.signature), None)?;
    let material = match &a.signing_certificate {
        None => Material::PublicKey,
        Some(cert) => {
            let mut chain = signing::x509::pem_certificates(
                &std::fs::read(cert).map_err(|e| SignError::Io(cert.clone(), e))?,
            )?;
            let leaf_key = chain
                .first()
                .map(|c| signing::x509::leaf_key(c))
                .transpose()?
                .ok_or_else(|| {
                    SignError::Certificate("no certificate in the signing certificate file".into())
                })?;
            if leaf_key != key.verifying_key() {
                return Err(SignError::Certificate(
                    "the signing certificate does not match the private key".into(),
                ));
            }
            for p in &a.certificate_chain {
                chain.extend(signing::x509::pem_certificates(
                    &std::fs::read(p).map_err(|e| SignError::Io(p.clone(), e))?,
                )?);
            }
            Material::Certificates(chain)
        }
    };
    let bundle = signing::sign(&manifest, &key, &material)?;
    std::fs::write(&a.signature, bundle).map_err(|e| SignError::Io(a.signature.clone(), e))?;
    Ok(manifest.items.len())
}

fn verify(a: VerifyArgs) -> ExitCode {
    let trust = match trust(&a) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match signing::verify_model(
        &a.model,
        &a.signature,
        &trust,
        a.ignore_unsigned_files,
        &a.ignore_paths,
    ) {
        Ok(v) => {
            if a.json {
                let j = serde_json::json!({
                    "verified": v.diffs.is_empty(),
                    "model": v.verified.manifest.model_name,
                    "signer": v.verified.signer,
                    "files": v.verified.manifest.items.len(),
                    "differences": v.diffs,
                });
                let _ = emit(None, &j.to_string());
            } else {
                for d in &v.diffs {
                    match d {
                        Diff::Added(n) => eprintln!("added (not signed): {n}"),
                        Diff::Missing(n) => eprintln!("missing: {n}"),
                        Diff::Changed(n) => eprintln!("changed: {n}"),
                    }
                }
                if v.diffs.is_empty() {
                    let who = v
                        .verified
                        .signer
                        .map(|s| format!(" by {s}"))
                        .unwrap_or_default();
                    eprintln!(
                        "verified: {} file(s) of {} signed{who}",
                        v.verified.manifest.items.len(),
                        a.model.display()
                    );
                } else {
                    eprintln!("verification FAILED: {} difference(s)", v.diffs.len());
                }
            }
            if v.diffs.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            if a.json {
                let _ = emit(
                    None,
                    &serde_json::json!({"verified": false, "error": e.to_string()}).to_string(),
                );
            }
            eprintln!("verification FAILED: {e}");
            ExitCode::from(if e.is_malformed() { 2 } else { 1 })
        }
    }
}

fn trust(a: &VerifyArgs) -> Result<Trust, SignError> {
    if let Some(p) = &a.public_key {
        return Ok(Trust::Key(VerifyingKey::from_pem(&read_text(p)?)?));
    }
    if let (Some(root), Some(identity), Some(issuer)) = (&a.trusted_root, &a.identity, &a.issuer) {
        let json = std::fs::read(root).map_err(|e| SignError::Io(root.clone(), e))?;
        let policy = signing::keyless::KeylessPolicy::from_trusted_root(&json, identity, issuer)?;
        return Ok(Trust::Keyless(policy));
    }
    if a.ca_certificate.is_empty() {
        return Err(SignError::Key(
            "give --public-key, --ca-certificate, or --trusted-root with --identity and --issuer"
                .into(),
        ));
    }
    let mut roots = Vec::new();
    for p in &a.ca_certificate {
        roots.extend(signing::x509::pem_certificates(
            &std::fs::read(p).map_err(|e| SignError::Io(p.clone(), e))?,
        )?);
    }
    Ok(Trust::Ca {
        roots,
        now: signing::unix_now(),
    })
}

fn bom(a: BomArgs) -> ExitCode {
    let opts = BomOptions {
        signature: a.signature.clone(),
        scan_report: a.scan_report.clone(),
        timestamp: None,
    };
    match build_bom(&a.model, &opts) {
        Ok(v) => {
            let text = serde_json::to_string_pretty(&v).unwrap_or_default();
            if emit(a.output.as_deref(), &text) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
