//! Renders a [`ScanReport`] for people (a table), for programs (JSON) and for code-scanning UIs
//! (SARIF 2.1.0).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::finding::Severity;
use crate::scan::{ScanReport, Status};

/// Output formats of `model scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human table.
    Table,
    /// JSON document.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// Renders the report.
pub fn render(report: &ScanReport, format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => table(report),
        OutputFormat::Json => serde_json::to_string_pretty(&json_value(report)).unwrap_or_default(),
        OutputFormat::Sarif => serde_json::to_string_pretty(&sarif(report)).unwrap_or_default(),
    }
}

fn status_str(s: Status) -> &'static str {
    match s {
        Status::Clean => "clean",
        Status::Findings => "FINDINGS",
        Status::Incomplete => "INCOMPLETE",
        Status::Skipped => "skipped",
    }
}

fn human_size(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS.get(u).copied().unwrap_or("B"))
    }
}

fn table(r: &ScanReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<11} {:<13} {:>10}  PATH",
        "STATUS", "FORMAT", "SIZE"
    );
    for f in &r.files {
        let _ = writeln!(
            out,
            "{:<11} {:<13} {:>10}  {}",
            status_str(f.status),
            f.format.as_str(),
            human_size(f.bytes),
            f.path
        );
        for x in &f.findings {
            let _ = writeln!(
                out,
                "    {:<8} {:<28} {}",
                x.severity.as_str(),
                x.rule,
                x.message
            );
            if let Some(loc) = &x.location {
                let _ = writeln!(out, "    {:<8} {:<28} at {loc}", "", "");
            }
        }
        for why in &f.incomplete {
            let _ = writeln!(out, "    {:<8} {:<28} {why}", "-", "incomplete");
        }
    }
    let _ = writeln!(
        out,
        "\n{} file(s): {} clean, {} with findings ({} critical, {} high), {} incomplete, {} skipped",
        r.files.len(),
        r.files.iter().filter(|f| f.status == Status::Clean).count(),
        r.files
            .iter()
            .filter(|f| f.status == Status::Findings)
            .count(),
        r.files
            .iter()
            .flat_map(|f| &f.findings)
            .filter(|x| x.severity == Severity::Critical)
            .count(),
        r.files
            .iter()
            .flat_map(|f| &f.findings)
            .filter(|x| x.severity == Severity::High)
            .count(),
        r.files
            .iter()
            .filter(|f| f.status == Status::Incomplete)
            .count(),
        r.files
            .iter()
            .filter(|f| f.status == Status::Skipped)
            .count(),
    );
    out
}

/// The JSON document (`--format json`).
pub fn json_value(r: &ScanReport) -> Value {
    json!({
        "tool": "gatehouse",
        "version": env!("CARGO_PKG_VERSION"),
        "exit_code": r.exit_code(),
        "summary": {
            "files": r.files.len(),
            "clean": r.files.iter().filter(|f| f.status == Status::Clean).count(),
            "findings": r.files.iter().map(|f| f.findings.len()).sum::<usize>(),
            "incomplete": r.files.iter().filter(|f| f.status == Status::Incomplete).count(),
            "skipped": r.files.iter().filter(|f| f.status == Status::Skipped).count(),
        },
        "files": r.files,
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// A relative URI reference for a path (forward slashes, percent-encoded where needed).
fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn rule_text(rule: &str) -> &'static str {
    match rule {
        "pickle-dangerous-call" => "Pickle calls a denylisted callable when loaded",
        "pickle-dangerous-global" => "Pickle imports a denylisted global",
        "pickle-unknown-call" => "Pickle calls a callable outside the allowlist",
        "pickle-unknown-global" => "Pickle imports a global outside the allowlist",
        "pickle-computed-call" => "Pickle calls a value computed at load time",
        "pickle-build-on-global" => "Pickle overwrites attributes of a module or class",
        "pickle-extension-code" => "Pickle loads a global through a copyreg extension code",
        "pickle-unresolved-global" => "Pickle imports a global that cannot be resolved",
        "scan-incomplete" => "The file could not be fully analysed",
        r if r.starts_with("safetensors") => "safetensors structure violation",
        r if r.starts_with("gguf-template") => "GGUF chat template reaches for Python internals",
        r if r.starts_with("gguf") => "GGUF structure violation",
        r if r.starts_with("keras") => "Keras model loads code",
        r if r.starts_with("onnx") => "ONNX model reaches outside the model",
        r if r.starts_with("tf-") => "TensorFlow graph uses a dangerous op",
        r if r.starts_with("archive") || r.starts_with("zip") => "Archive structure attack",
        "decompression-bomb" => "Decompression bomb",
        "torchscript-code" => "TorchScript archive carries code",
        _ => "Model supply-chain finding",
    }
}

/// SARIF 2.1.0 log.
pub fn sarif(r: &ScanReport) -> Value {
    let mut rules: BTreeMap<&str, Severity> = BTreeMap::new();
    let mut results = Vec::new();
    let mut notes = Vec::new();
    for f in &r.files {
        for x in &f.findings {
            let e = rules.entry(x.rule).or_insert(x.severity);
            *e = (*e).max(x.severity);
            let mut loc = json!({"physicalLocation": {"artifactLocation": {"uri": uri(&f.path)}}});
            if let Some(l) = &x.location {
                loc["logicalLocations"] = json!([{"fullyQualifiedName": l, "kind": "member"}]);
            }
            results.push(json!({
                "ruleId": x.rule,
                "level": level(x.severity),
                "message": {"text": x.message},
                "locations": [loc],
                "properties": {"severity": x.severity.as_str(), "format": f.format.as_str()},
            }));
        }
        if f.status == Status::Incomplete {
            rules.entry("scan-incomplete").or_insert(Severity::Medium);
            let text = f.incomplete.join("; ");
            results.push(json!({
                "ruleId": "scan-incomplete",
                "level": "warning",
                "message": {"text": format!("not fully analysed: {text}")},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri(&f.path)}}}],
            }));
            notes.push(
                json!({"level": "warning", "message": {"text": format!("{}: {text}", f.path)}}),
            );
        }
    }
    let rules: Vec<Value> = rules
        .iter()
        .map(|(id, sev)| {
            json!({
                "id": id,
                "shortDescription": {"text": rule_text(id)},
                "defaultConfiguration": {"level": level(*sev)},
                "properties": {"security-severity": match sev {
                    Severity::Critical => "9.5",
                    Severity::High => "8.0",
                    Severity::Medium => "5.0",
                    Severity::Low => "2.0",
                }},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "gatehouse",
                "informationUri": "https://example.invalid/gatehouse",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": r.exit_code() != 2,
                "toolExecutionNotifications": notes,
            }],
            "artifacts": r.files.iter().map(|f| json!({"location": {"uri": uri(&f.path)}, "length": f.bytes})).collect::<Vec<_>>(),
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{ScanOptions, scan_bytes};

    fn report() -> ScanReport {
        let evil = b"cos\nsystem\n(S'id'\ntR.";
        ScanReport {
            files: vec![
                scan_bytes("dir/evil model.pkl", evil, &ScanOptions::default()),
                scan_bytes("w.bin", b"\x00junk", &ScanOptions::default()),
            ],
        }
    }

    #[test]
    fn sarif_has_required_shape() {
        let s = sarif(&report());
        assert_eq!(s["version"], "2.1.0");
        let results = s["runs"][0]["results"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            results
                .iter()
                .any(|r| r["ruleId"] == "pickle-dangerous-call" && r["level"] == "error")
        );
        assert!(results.iter().any(|r| r["ruleId"] == "scan-incomplete"));
        assert_eq!(
            results
                .first()
                .map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].clone()),
            Some(json!("dir/evil%20model.pkl"))
        );
    }

    #[test]
    fn json_and_table_carry_the_verdict() {
        let r = report();
        let j = json_value(&r);
        assert_eq!(j["exit_code"], 1);
        assert_eq!(j["files"][0]["status"], "findings");
        let t = table(&r);
        assert!(t.contains("FINDINGS") && t.contains("os.system") && t.contains("INCOMPLETE"));
    }
}
