//! `[ml]`: learned models for the detectors — layer 3 of the prompt-attack cascade (the
//! all-MiniLM-L6-v2 embedder with Gatehouse's head, or a bring-your-own sequence classifier)
//! and a named-entity model for PII. Inference runs in-process with candle (`gatehouse-ml`,
//! cargo feature `ml`, on by default).
//!
//! `semantic = "auto"` (the default) uses MiniLM when it is installed (`gatehouse models
//! install`) and otherwise runs the fast layers only and says so on `/readyz`; `"required"`
//! refuses to start without it; `"off"` never loads it. A configured `classifier` or `ner`
//! directory must load, or the gateway does not start.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gatehouse_detect::models::{AttackModel, EntityModel};

/// `[ml]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlConfig {
    /// Where `gatehouse models install` put the models; default `$GATEHOUSE_MODELS_DIR`, else
    /// `$XDG_DATA_HOME/gatehouse/models`, else `~/.local/share/gatehouse/models`.
    pub models_dir: Option<PathBuf>,
    /// Layer 3 with the MiniLM embedder: `auto`, `required` or `off`.
    pub semantic: SemanticMode,
    /// Bring your own prompt-attack classifier (BERT family or DeBERTa-v2/v3 sequence
    /// classification, from a local directory); it takes layer 3's place in the cascade.
    pub classifier: Option<ClassifierConfig>,
    /// A named-entity model (BERT family or DeBERTa-v2/v3 token classification) for PERSON,
    /// LOCATION and ORGANIZATION.
    pub ner: Option<NerConfig>,
}

/// `[ml].semantic`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SemanticMode {
    /// Use MiniLM when installed; otherwise run without layer 3 and report it.
    #[default]
    Auto,
    /// Refuse to start without MiniLM.
    Required,
    /// Never load it.
    Off,
}

/// `[ml.classifier]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierConfig {
    /// Directory with `config.json`, `model.safetensors`, `tokenizer.json`.
    pub dir: PathBuf,
    /// Labels (from the model's `id2label`) that mean "attack"; default: the labels whose name
    /// says injection / jailbreak / malicious / unsafe / attack.
    #[serde(default)]
    pub attack_labels: Vec<String>,
    /// Tokens per window (default 512); longer inputs are scored in overlapping windows and
    /// the highest probability counts.
    #[serde(default)]
    pub max_tokens: Option<usize>,
}

/// `[ml.ner]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NerConfig {
    /// Directory with `config.json`, `model.safetensors`, `tokenizer.json`.
    pub dir: PathBuf,
}

/// What was loaded, for `/readyz`, `scan` and the start-up log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MlStatus {
    /// The layer-3 model in use, if any.
    pub semantic: Option<String>,
    /// Why layer 3 is not in use (`off`, not installed, …), with paths: for the log.
    pub semantic_unavailable: Option<String>,
    /// The same without paths, for the unauthenticated `/readyz`.
    pub semantic_hint: Option<&'static str>,
    /// The NER model in use, if any.
    pub ner: Option<String>,
}

/// Loaded models.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Layer 3 of the prompt-attack cascade.
    pub attack: Option<Arc<dyn AttackModel>>,
    /// NER for the data-protection engine.
    pub entity: Option<Arc<dyn EntityModel>>,
    /// What is in use and what is not.
    pub status: MlStatus,
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// The models directory in effect.
pub fn models_dir(cfg: &MlConfig, base: &Path) -> Option<PathBuf> {
    match &cfg.models_dir {
        Some(d) => Some(resolve(base, d)),
        None => default_models_dir(),
    }
}

#[cfg(feature = "ml")]
fn default_models_dir() -> Option<PathBuf> {
    Some(gatehouse_ml::install::default_models_dir())
}

#[cfg(not(feature = "ml"))]
fn default_models_dir() -> Option<PathBuf> {
    None
}

/// Loads what `[ml]` asks for. `want_semantic` is false when the injection detector is off
/// (nothing would consult layer 3).
#[cfg(feature = "ml")]
pub fn load(cfg: &MlConfig, base: &Path, want_semantic: bool) -> Result<Loaded, String> {
    let mut out = Loaded::default();
    if want_semantic {
        if let Some(c) = &cfg.classifier {
            let dir = resolve(base, &c.dir);
            let opts = gatehouse_ml::SequenceClassifierOptions {
                attack_labels: c.attack_labels.clone(),
                max_tokens: c.max_tokens,
                ..gatehouse_ml::SequenceClassifierOptions::new(&dir)
            };
            let m = gatehouse_ml::SequenceClassifier::load(&opts)
                .map_err(|e| format!("ml.classifier: {}: {e}", dir.display()))?;
            out.status.semantic = Some(m.describe());
            out.attack = Some(Arc::new(m));
        } else if cfg.semantic == SemanticMode::Off {
            out.status.semantic_unavailable = Some("off (ml.semantic = \"off\")".to_owned());
            out.status.semantic_hint = Some("off in the configuration (ml.semantic = \"off\")");
        } else {
            let dir = models_dir(cfg, base);
            match dir.as_deref().and_then(gatehouse_ml::install::find_minilm) {
                Some(d) => {
                    let head = gatehouse_ml::SemanticHead::builtin()
                        .map_err(|e| format!("ml: built-in semantic head: {e}"))?;
                    gatehouse_ml::install::verify_minilm(&d).map_err(|e| format!("ml: {e}"))?;
                    let m = gatehouse_ml::Embedder::load(&d)
                        .and_then(|e| gatehouse_ml::MiniLmAttackModel::new(e, head))
                        .map_err(|e| format!("ml: {}: {e}", d.display()))?;
                    out.status.semantic = Some(m.describe());
                    out.attack = Some(Arc::new(m));
                }
                None => {
                    let why = format!(
                        "all-minilm-l6-v2 is not installed in {} (run `gatehouse models install`)",
                        dir.map(|d| d.display().to_string())
                            .unwrap_or_else(|| "the models directory".into())
                    );
                    if cfg.semantic == SemanticMode::Required {
                        return Err(format!("ml.semantic = \"required\": {why}"));
                    }
                    out.status.semantic_unavailable = Some(why);
                    out.status.semantic_hint =
                        Some("all-minilm-l6-v2 is not installed: run `gatehouse models install`");
                }
            }
        }
    }
    if let Some(n) = &cfg.ner {
        let dir = resolve(base, &n.dir);
        let m = gatehouse_ml::TokenClassifier::load(&dir)
            .map_err(|e| format!("ml.ner: {}: {e}", dir.display()))?;
        out.status.ner = Some(m.describe());
        out.entity = Some(Arc::new(m));
    }
    Ok(out)
}

/// Loads what `[ml]` asks for (this build has no `ml` feature: only "nothing" succeeds).
#[cfg(not(feature = "ml"))]
pub fn load(cfg: &MlConfig, _base: &Path, want_semantic: bool) -> Result<Loaded, String> {
    if cfg.classifier.is_some() || cfg.ner.is_some() || cfg.semantic == SemanticMode::Required {
        return Err("[ml]: this gatehouse was built without the `ml` feature".to_owned());
    }
    let mut out = Loaded::default();
    if want_semantic {
        out.status.semantic_unavailable =
            Some("this build has no `ml` feature (no in-process models)".to_owned());
        out.status.semantic_hint = Some("this build has no `ml` feature");
    }
    Ok(out)
}

/// Runs `f` (model inference, milliseconds) without stalling the async runtime: on a
/// multi-threaded tokio runtime the worker hands its other tasks off first
/// (`block_in_place`); elsewhere `f` simply runs.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}
