//! `model bom`: a CycloneDX 1.6 ML-BOM for a model directory.
//!
//! One `machine-learning-model` component carries the model-signing root digest (the same
//! SHA-256 a model-signing v1.0 signature's subject holds) and one `file` sub-component per file
//! with its SHA-256. The `modelCard` is filled from what the directory says about itself: the
//! README's YAML front matter (Hugging Face model cards: `pipeline_tag`, `datasets`, `license`,
//! `base_model`) and `config.json` (`architectures`, `model_type`), plus a "Limitations" section of
//! the README. Named datasets become `data` components the model depends on.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::signing::{HashOptions, SignError, hash_model};

/// Inputs besides the model directory.
#[derive(Debug, Clone, Default)]
pub struct BomOptions {
    /// A model-signing bundle to reference (defaults to `model.sig` in the directory if present).
    pub signature: Option<PathBuf>,
    /// A `model scan` report to reference.
    pub scan_report: Option<PathBuf>,
    /// Fixed timestamp (RFC 3339) for reproducible output; now when `None`.
    pub timestamp: Option<String>,
}

/// What the README front matter and config.json say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CardFacts {
    /// Task (`pipeline_tag`, `task`).
    pub task: Option<String>,
    /// Architecture (`architectures[0]`).
    pub architecture: Option<String>,
    /// Architecture family (`model_type`).
    pub family: Option<String>,
    /// Datasets named.
    pub datasets: Vec<String>,
    /// License.
    pub license: Option<String>,
    /// Base model.
    pub base_model: Option<String>,
    /// Limitations stated in the README.
    pub limitations: Vec<String>,
}

/// Parses the scalar and list entries of a YAML front matter block (the subset model cards use).
fn front_matter(readme: &str) -> Vec<(String, Vec<String>)> {
    let mut lines = readme.lines();
    if lines.next().map(str::trim) != Some("---") {
        return Vec::new();
    }
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in lines {
        if line.trim() == "---" {
            break;
        }
        let unquote = |s: &str| s.trim().trim_matches(['"', '\'']).to_string();
        if let Some(item) = line.trim_start().strip_prefix("- ") {
            if line.starts_with([' ', '-'])
                && let Some(last) = out.last_mut()
            {
                last.1.push(unquote(item));
            }
        } else if !line.starts_with(' ')
            && let Some((k, v)) = line.split_once(':')
        {
            let v = v.trim();
            let values = if v.starts_with('[') && v.ends_with(']') {
                v.trim_matches(['[', ']'])
                    .split(',')
                    .map(unquote)
                    .filter(|s| !s.is_empty())
                    .collect()
            } else if v.is_empty() {
                Vec::new()
            } else {
                vec![unquote(v)]
            };
            out.push((k.trim().to_string(), values));
        }
    }
    out
}

fn limitations(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in readme.lines() {
        if line.starts_with('#') {
            inside = line.to_ascii_lowercase().contains("limitation");
            continue;
        }
        let t = line.trim().trim_start_matches(['-', '*']).trim();
        if inside && !t.is_empty() && out.len() < 20 {
            out.push(t.chars().take(500).collect());
        }
    }
    out
}

/// Reads what a model directory says about itself.
pub fn card_facts(dir: &Path) -> CardFacts {
    let mut f = CardFacts::default();
    let read = |name: &str| -> Option<String> {
        let p = dir.join(name);
        let meta = std::fs::metadata(&p).ok()?;
        if meta.len() > 16 * 1024 * 1024 {
            return None;
        }
        std::fs::read_to_string(p).ok()
    };
    if let Some(readme) = read("README.md") {
        for (k, v) in front_matter(&readme) {
            match k.as_str() {
                "pipeline_tag" => f.task = v.into_iter().next(),
                "datasets" => f.datasets.extend(v),
                "license" => f.license = v.into_iter().next(),
                "base_model" => f.base_model = v.into_iter().next(),
                _ => {}
            }
        }
        f.limitations = limitations(&readme);
    }
    if let Some(cfg) = read("config.json").and_then(|s| serde_json::from_str::<Value>(&s).ok()) {
        f.architecture = cfg
            .get("architectures")
            .and_then(|a| a.get(0))
            .and_then(Value::as_str)
            .map(str::to_string);
        f.family = cfg
            .get("model_type")
            .and_then(Value::as_str)
            .map(str::to_string);
        if f.task.is_none() {
            f.task = cfg.get("task").and_then(Value::as_str).map(str::to_string);
        }
        if let Some(ds) = cfg.get("datasets").and_then(Value::as_array) {
            f.datasets
                .extend(ds.iter().filter_map(Value::as_str).map(str::to_string));
        }
    }
    f.datasets.sort();
    f.datasets.dedup();
    f
}

/// A UUID-shaped serial number derived from the root digest (same model, same serial number).
fn serial(digest: &[u8; 32]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
    if let Some(x) = b.get_mut(6) {
        *x = (*x & 0x0f) | 0x40;
    }
    if let Some(x) = b.get_mut(8) {
        *x = (*x & 0x3f) | 0x80;
    }
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        h.get(0..8).unwrap_or(""),
        h.get(8..12).unwrap_or(""),
        h.get(12..16).unwrap_or(""),
        h.get(16..20).unwrap_or(""),
        h.get(20..32).unwrap_or("")
    )
}

fn bom_ref_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._/:".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Builds the CycloneDX 1.6 document.
pub fn build_bom(model: &Path, opts: &BomOptions) -> Result<Value, SignError> {
    let mut hash = HashOptions::default();
    if let Some(sig) = &opts.signature {
        hash.ignore_paths.push(sig.to_string_lossy().into_owned());
    }
    let dir_sig = model.join("model.sig");
    let signature = opts
        .signature
        .clone()
        .or_else(|| dir_sig.is_file().then_some(dir_sig.clone()));
    let manifest = hash_model(model, &hash, &[dir_sig], None)?;
    let root = manifest.root_digest();
    let facts = if model.is_dir() {
        card_facts(model)
    } else {
        CardFacts::default()
    };
    let model_ref = format!("model:{}", bom_ref_safe(&manifest.model_name));
    let files: Vec<Value> = manifest
        .items
        .iter()
        .map(|i| {
            json!({
                "type": "file",
                "bom-ref": format!("file:{}", bom_ref_safe(&i.name)),
                "name": i.name,
                "hashes": [{"alg": "SHA-256", "content": hex::encode(&i.digest)}],
            })
        })
        .collect();
    let dataset_refs: Vec<String> = facts
        .datasets
        .iter()
        .map(|d| format!("dataset:{}", bom_ref_safe(d)))
        .collect();
    let mut params = serde_json::Map::new();
    if let Some(t) = &facts.task {
        params.insert("task".into(), json!(t));
    }
    if let Some(a) = &facts.family {
        params.insert("architectureFamily".into(), json!(a));
    }
    if let Some(a) = &facts.architecture {
        params.insert("modelArchitecture".into(), json!(a));
    }
    if !dataset_refs.is_empty() {
        params.insert(
            "datasets".into(),
            json!(
                dataset_refs
                    .iter()
                    .map(|r| json!({"ref": r}))
                    .collect::<Vec<_>>()
            ),
        );
    }
    let mut card = serde_json::Map::new();
    if !params.is_empty() {
        card.insert("modelParameters".into(), Value::Object(params));
    }
    if !facts.limitations.is_empty() {
        card.insert(
            "considerations".into(),
            json!({"technicalLimitations": facts.limitations}),
        );
    }
    let mut ext = Vec::new();
    if let Some(sig) = &signature {
        ext.push(json!({"type": "attestation", "url": sig.display().to_string(), "comment": "OpenSSF model-signing v1.0 Sigstore bundle"}));
    }
    if let Some(rep) = &opts.scan_report {
        ext.push(json!({"type": "static-analysis-report", "url": rep.display().to_string(), "comment": "gatehouse model scan result"}));
    }
    let mut props = vec![
        json!({"name": "gatehouse:model-signing:root-digest", "value": format!("sha256:{}", hex::encode(root))}),
        json!({"name": "gatehouse:model-signing:serialization", "value": manifest.serialization.to_string()}),
    ];
    if let Some(b) = &facts.base_model {
        props.push(json!({"name": "huggingface:base_model", "value": b}));
    }
    let mut component = json!({
        "type": "machine-learning-model",
        "bom-ref": model_ref,
        "name": manifest.model_name,
        "hashes": [{"alg": "SHA-256", "content": hex::encode(root)}],
        "properties": props,
        "components": files,
    });
    if let Some(l) = &facts.license {
        component["licenses"] = json!([{"license": {"name": l}}]);
    }
    if !card.is_empty() {
        component["modelCard"] = Value::Object(card);
    }
    if !ext.is_empty() {
        component["externalReferences"] = json!(ext);
    }
    let mut components = vec![component];
    for (d, r) in facts.datasets.iter().zip(&dataset_refs) {
        components.push(json!({
            "type": "data",
            "bom-ref": r,
            "name": d,
            "data": [{"type": "dataset", "name": d}],
        }));
    }
    let timestamp = opts.timestamp.clone().unwrap_or_else(|| {
        time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    });
    let mut deps = vec![json!({"ref": model_ref, "dependsOn": dataset_refs})];
    for r in &dataset_refs {
        deps.push(json!({"ref": r, "dependsOn": []}));
    }
    Ok(json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial(&root),
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {"components": [{"type": "application", "name": "gatehouse", "version": env!("CARGO_PKG_VERSION")}]},
            "component": {"type": "machine-learning-model", "bom-ref": format!("{model_ref}#root"), "name": manifest.model_name},
        },
        "components": components,
        "dependencies": deps,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_from_model_card_and_config() {
        let Ok(d) = tempfile::tempdir() else { return };
        std::fs::write(
            d.path().join("README.md"),
            "---\nlicense: apache-2.0\npipeline_tag: text-classification\ndatasets:\n- imdb\n- glue\nbase_model: bert-base-uncased\n---\n# Model\n\n## Limitations\n\n- English only\n- Not for medical use\n",
        )
        .ok();
        std::fs::write(
            d.path().join("config.json"),
            r#"{"architectures":["BertForSequenceClassification"],"model_type":"bert"}"#,
        )
        .ok();
        std::fs::write(d.path().join("model.safetensors"), [0u8; 16]).ok();
        let opts = BomOptions {
            timestamp: Some("2026-01-01T00:00:00Z".into()),
            ..BomOptions::default()
        };
        let bom = build_bom(d.path(), &opts).unwrap_or_default();
        assert_eq!(bom["specVersion"], "1.6");
        let m = &bom["components"][0];
        assert_eq!(m["type"], "machine-learning-model");
        assert_eq!(
            m["modelCard"]["modelParameters"]["task"],
            "text-classification"
        );
        assert_eq!(
            m["modelCard"]["modelParameters"]["modelArchitecture"],
            "BertForSequenceClassification"
        );
        assert_eq!(
            m["modelCard"]["considerations"]["technicalLimitations"][0],
            "English only"
        );
        assert_eq!(m["components"].as_array().map(Vec::len), Some(3));
        assert_eq!(bom["components"][1]["type"], "data");
        assert_eq!(bom["components"][2]["name"], "imdb");
        // The BOM's model hash is the model-signing subject digest.
        let manifest = hash_model(d.path(), &HashOptions::default(), &[], None).ok();
        assert_eq!(
            m["hashes"][0]["content"],
            json!(manifest.map(|m| hex::encode(m.root_digest())))
        );
        let s = bom["serialNumber"].as_str().unwrap_or("");
        assert!(s.starts_with("urn:uuid:") && s.len() == 45, "{s}");
    }
}
