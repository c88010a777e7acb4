//! Loading a model directory and running its encoder over token windows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{bert, debertav2, xlm_roberta};
use tokenizers::Tokenizer;

use crate::error::{Error, Result};

/// Largest `model.safetensors` accepted (bounded memory: the file is read into memory).
const MAX_WEIGHTS_BYTES: u64 = 2 << 30;
/// Largest `config.json` / `tokenizer.json` accepted.
const MAX_SMALL_FILE_BYTES: u64 = 64 << 20;

/// The encoder families this crate runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// `bert` (BERT, MiniLM, …).
    Bert,
    /// `deberta-v2` (DeBERTa v2 and v3).
    DebertaV2,
    /// `roberta`.
    Roberta,
    /// `xlm-roberta`.
    XlmRoberta,
}

impl Family {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Family::Bert => "bert",
            Family::DebertaV2 => "deberta-v2",
            Family::Roberta => "roberta",
            Family::XlmRoberta => "xlm-roberta",
        }
    }

    fn is_roberta(self) -> bool {
        matches!(self, Family::Roberta | Family::XlmRoberta)
    }
}

/// The files of a model directory, read and checked.
pub(crate) struct ModelFiles {
    pub(crate) dir: PathBuf,
    pub(crate) family: Family,
    pub(crate) config: serde_json::Value,
    pub(crate) tokenizer: Tokenizer,
    pub(crate) weights: HashMap<String, Tensor>,
}

fn read_capped(path: &Path, cap: u64, what: &'static str) -> Result<Vec<u8>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::MissingFile {
                path: path.to_path_buf(),
                what,
            });
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    if meta.len() > cap {
        return Err(Error::invalid(
            path,
            format!("{} bytes, more than the {cap} accepted", meta.len()),
        ));
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Base-model prefixes that checkpoints put in front of the encoder's tensor names
/// (`bert.embeddings…` in `BertFor…` heads, none in a bare `BertModel`).
fn base_prefixes(family: Family) -> &'static [&'static str] {
    match family {
        Family::Bert => &["bert."],
        Family::DebertaV2 => &["deberta."],
        Family::Roberta | Family::XlmRoberta => &["roberta."],
    }
}

impl ModelFiles {
    /// Reads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    pub(crate) fn read(dir: &Path) -> Result<Self> {
        let config_path = dir.join("config.json");
        let config_bytes = read_capped(&config_path, MAX_SMALL_FILE_BYTES, "model configuration")?;
        let config: serde_json::Value = serde_json::from_slice(&config_bytes)
            .map_err(|e| Error::invalid(&config_path, format!("not JSON: {e}")))?;
        let model_type = config
            .get("model_type")
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::invalid(&config_path, "no \"model_type\""))?;
        let family = match model_type {
            "bert" => Family::Bert,
            "deberta-v2" => Family::DebertaV2,
            "roberta" => Family::Roberta,
            "xlm-roberta" => Family::XlmRoberta,
            other => {
                return Err(Error::invalid(
                    &config_path,
                    format!(
                        "unsupported model_type {other:?} (supported: bert, deberta-v2, \
                         roberta, xlm-roberta)"
                    ),
                ));
            }
        };

        // Sizes that the loaders allocate from the configuration alone (position tables)
        // are bounded; everything else is checked against the tensors in the file.
        for (key, max) in [
            ("max_position_embeddings", 65_536u64),
            ("num_hidden_layers", 256),
            ("num_attention_heads", 1024),
        ] {
            if let Some(v) = config.get(key)
                && v.as_u64().is_none_or(|v| v > max)
            {
                return Err(Error::invalid(
                    &config_path,
                    format!("{key} must be an integer of at most {max}"),
                ));
            }
        }
        let tok_path = dir.join("tokenizer.json");
        let tok_bytes = read_capped(&tok_path, MAX_SMALL_FILE_BYTES, "tokenizer")?;
        let mut tokenizer = Tokenizer::from_bytes(&tok_bytes)
            .map_err(|e| Error::invalid(&tok_path, format!("not a tokenizer: {e}")))?;
        // This crate windows long inputs itself: the tokenizer must return every token.
        tokenizer
            .with_truncation(None)
            .map_err(|e| Error::invalid(&tok_path, e))?;
        tokenizer.with_padding(None);

        let weights_path = dir.join("model.safetensors");
        if !weights_path.exists() && dir.join("pytorch_model.bin").exists() {
            return Err(Error::invalid(
                dir.join("pytorch_model.bin"),
                "only model.safetensors is supported (pickle checkpoints are never loaded); \
                 convert the checkpoint to safetensors",
            ));
        }
        let bytes = read_capped(&weights_path, MAX_WEIGHTS_BYTES, "weights (safetensors)")?;
        let raw = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
            .map_err(|e| Error::invalid(&weights_path, format!("not safetensors: {e}")))?;
        drop(bytes);
        let prefixes = base_prefixes(family);
        let mut weights = HashMap::with_capacity(raw.len());
        for (name, t) in raw {
            let name = prefixes
                .iter()
                .find_map(|p| name.strip_prefix(p))
                .map(str::to_owned)
                .unwrap_or(name);
            weights.insert(name, t);
        }
        Ok(ModelFiles {
            dir: dir.to_path_buf(),
            family,
            config,
            tokenizer,
            weights,
        })
    }

    pub(crate) fn weights_path(&self) -> PathBuf {
        self.dir.join("model.safetensors")
    }

    pub(crate) fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    pub(crate) fn var_builder(&self) -> VarBuilder<'static> {
        VarBuilder::from_tensors(self.weights.clone(), DType::F32, &Device::Cpu)
    }

    fn usize_field(&self, key: &str) -> Option<usize> {
        self.config
            .get(key)
            .and_then(|v| v.as_u64())
            .and_then(|v| usize::try_from(v).ok())
    }

    /// `id2label` of the configuration, in label-index order.
    pub(crate) fn labels(&self) -> Result<Vec<String>> {
        let map = self
            .config
            .get("id2label")
            .and_then(|v| v.as_object())
            .ok_or_else(|| Error::invalid(self.config_path(), "no \"id2label\""))?;
        let mut labels = vec![None; map.len()];
        for (k, v) in map {
            let i: usize = k
                .parse()
                .ok()
                .filter(|i| *i < labels.len())
                .ok_or_else(|| Error::invalid(self.config_path(), "id2label: bad label index"))?;
            let name = v.as_str().ok_or_else(|| {
                Error::invalid(self.config_path(), "id2label: label not a string")
            })?;
            labels[i] = Some(name.to_owned());
        }
        let labels: Option<Vec<String>> = labels.into_iter().collect();
        match labels {
            Some(l) if !l.is_empty() => Ok(l),
            _ => Err(Error::invalid(
                self.config_path(),
                "id2label: indices are not 0..n",
            )),
        }
    }

    /// Deserialises the configuration for `family`, filling the defaults that `transformers`
    /// applies but candle requires explicitly.
    fn encoder_config<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        let mut v = self.config.clone();
        if let Some(obj) = v.as_object_mut() {
            let hidden = obj.get("hidden_size").cloned();
            let pad_default: serde_json::Value = if self.family.is_roberta() {
                1.into()
            } else {
                0.into()
            };
            obj.entry("pad_token_id").or_insert(pad_default);
            obj.entry("position_embedding_type")
                .or_insert("absolute".into());
            let defaults: [(&str, serde_json::Value); 7] = [
                ("hidden_dropout_prob", 0.1.into()),
                ("attention_probs_dropout_prob", 0.1.into()),
                ("initializer_range", 0.02.into()),
                ("type_vocab_size", 2.into()),
                ("layer_norm_eps", 1e-12.into()),
                ("pooler_dropout", 0.0.into()),
                ("pooler_hidden_act", "gelu".into()),
            ];
            for (k, d) in defaults {
                obj.entry(k).or_insert(d);
            }
            if let Some(h) = hidden {
                obj.entry("pooler_hidden_size").or_insert(h);
            }
            if self.family == Family::DebertaV2 {
                obj.entry("relative_attention").or_insert(false.into());
                obj.entry("max_relative_positions").or_insert((-1).into());
                obj.entry("position_biased_input").or_insert(true.into());
                obj.entry("pos_att_type").or_insert(serde_json::json!([]));
                obj.entry("layer_norm_eps").or_insert(1e-7.into());
            }
            // candle's BERT loader retries under "<model_type>." on failure; prefixes are
            // already stripped here.
            if self.family == Family::Bert {
                obj.remove("model_type");
            }
        }
        serde_json::from_value(v).map_err(|e| Error::invalid(self.config_path(), e))
    }

    pub(crate) fn hidden_size(&self) -> Result<usize> {
        self.usize_field("hidden_size")
            .filter(|h| *h > 0)
            .ok_or_else(|| Error::invalid(self.config_path(), "no \"hidden_size\""))
    }

    /// Tokens a window may hold: `max_position_embeddings`, less the offset RoBERTa models
    /// give positions (`pad_token_id + 1`).
    pub(crate) fn max_positions(&self) -> usize {
        let max = self.usize_field("max_position_embeddings").unwrap_or(512);
        if self.family.is_roberta() {
            max.saturating_sub(self.pad_id() as usize + 1)
        } else {
            max
        }
    }

    fn pad_id(&self) -> u32 {
        let default = if self.family.is_roberta() { 1 } else { 0 };
        self.usize_field("pad_token_id")
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(default)
    }

    /// Builds the encoder.
    pub(crate) fn encoder(&self) -> Result<Encoder> {
        let vb = self.var_builder();
        let wp = self.weights_path();
        let inner = match self.family {
            Family::Bert => {
                let cfg: bert::Config = self.encoder_config()?;
                EncoderInner::Bert(Box::new(
                    bert::BertModel::load(vb, &cfg).map_err(|e| Error::invalid(&wp, e))?,
                ))
            }
            Family::DebertaV2 => {
                let cfg: debertav2::Config = self.encoder_config()?;
                EncoderInner::Deberta(Box::new(
                    debertav2::DebertaV2Model::load(vb, &cfg)
                        .map_err(|e| Error::invalid(&wp, e))?,
                ))
            }
            Family::Roberta | Family::XlmRoberta => {
                let cfg: xlm_roberta::Config = self.encoder_config()?;
                EncoderInner::Roberta(Box::new(
                    xlm_roberta::XLMRobertaModel::new(&cfg, vb)
                        .map_err(|e| Error::invalid(&wp, e))?,
                ))
            }
        };
        let pad_id = self.pad_id();
        let (prefix, suffix) = special_tokens(&self.tokenizer)
            .map_err(|e| Error::invalid(self.dir.join("tokenizer.json"), e))?;
        Ok(Encoder {
            inner,
            tokenizer: self.tokenizer.clone(),
            pad_id,
            prefix,
            suffix,
            max_positions: self.max_positions(),
        })
    }

    /// The pooled-output head of a sequence classifier: BERT's `pooler.dense` + tanh, or
    /// DeBERTa's context pooler (first token, `pooler.dense`, activation).
    pub(crate) fn pooler(&self) -> Result<Pooler> {
        let vb = self.var_builder();
        let wp = self.weights_path();
        match self.family {
            Family::Bert => {
                let h = self.hidden_size()?;
                let dense = candle_nn::linear(h, h, vb.pp("pooler").pp("dense"))
                    .map_err(|e| Error::invalid(&wp, e))?;
                Ok(Pooler::Bert(dense))
            }
            Family::Roberta | Family::XlmRoberta => {
                // RobertaClassificationHead: dense + tanh on the first token, then out_proj.
                let h = self.hidden_size()?;
                let dense = candle_nn::linear(h, h, vb.pp("classifier").pp("dense"))
                    .map_err(|e| Error::invalid(&wp, e))?;
                Ok(Pooler::Bert(dense))
            }
            Family::DebertaV2 => {
                let cfg: debertav2::Config = self.encoder_config()?;
                let p = debertav2::DebertaV2ContextPooler::load(vb, &cfg)
                    .map_err(|e| Error::invalid(&wp, e))?;
                let dim = p.output_dim().map_err(|e| Error::invalid(&wp, e))?;
                Ok(Pooler::Deberta(Box::new(p), dim))
            }
        }
    }

    /// The token-classification `classifier` linear layer (with bias) from `input` features
    /// to `labels` outputs.
    pub(crate) fn classifier(&self, input: usize, labels: usize) -> Result<candle_nn::Linear> {
        candle_nn::linear(input, labels, self.var_builder().pp("classifier"))
            .map_err(|e| Error::invalid(self.weights_path(), e))
    }

    /// The sequence-classification output layer after the pooler (`classifier`, or
    /// `classifier.out_proj` for RoBERTa models).
    pub(crate) fn seq_classifier(&self, input: usize, labels: usize) -> Result<candle_nn::Linear> {
        let vb = self.var_builder().pp("classifier");
        let vb = if self.family.is_roberta() {
            vb.pp("out_proj")
        } else {
            vb
        };
        candle_nn::linear(input, labels, vb).map_err(|e| Error::invalid(self.weights_path(), e))
    }
}

/// Sequence-classification pooling.
pub(crate) enum Pooler {
    Bert(candle_nn::Linear),
    Deberta(Box<debertav2::DebertaV2ContextPooler>, usize),
}

impl Pooler {
    pub(crate) fn output_dim(&self) -> usize {
        match self {
            Pooler::Bert(l) => l.weight().dims().first().copied().unwrap_or(0),
            Pooler::Deberta(_, d) => *d,
        }
    }

    /// `[batch, tokens, hidden]` → `[batch, output_dim]`.
    pub(crate) fn forward(&self, hidden: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Pooler::Bert(dense) => {
                let cls = hidden.narrow(1, 0, 1)?.squeeze(1)?.contiguous()?;
                dense.forward(&cls)?.tanh()?
            }
            Pooler::Deberta(p, _) => p.forward(hidden)?,
        })
    }
}

/// The special tokens the tokenizer's post-processor puts before and after one sequence
/// (`[CLS]` … `[SEP]` for BERT and DeBERTa).
fn special_tokens(tok: &Tokenizer) -> std::result::Result<(Vec<u32>, Vec<u32>), String> {
    let enc = tok.encode("a", true).map_err(|e| e.to_string())?;
    let ids = enc.get_ids();
    let special = enc.get_special_tokens_mask();
    let first = special.iter().position(|s| *s == 0);
    let last = special.iter().rposition(|s| *s == 0);
    match (first, last) {
        (Some(f), Some(l)) => Ok((ids[..f].to_vec(), ids[l + 1..].to_vec())),
        _ => Err("tokenizer produced no token for \"a\"".to_owned()),
    }
}

enum EncoderInner {
    Bert(Box<bert::BertModel>),
    Deberta(Box<debertav2::DebertaV2Model>),
    Roberta(Box<xlm_roberta::XLMRobertaModel>),
}

/// One window of a tokenized text, special tokens included.
pub(crate) struct Window {
    pub(crate) ids: Vec<u32>,
    /// Index in the text's token sequence of the first content token.
    pub(crate) first_token: usize,
    /// Number of content tokens (the window's tokens minus the special ones).
    pub(crate) content_len: usize,
    /// Number of special tokens before the content.
    pub(crate) prefix_len: usize,
}

/// A tokenized text cut into windows.
pub(crate) struct Windowed {
    pub(crate) windows: Vec<Window>,
    /// Byte offsets in the text of every content token.
    pub(crate) offsets: Vec<(usize, usize)>,
    /// Word index of every content token (sub-word pieces of one word share it).
    pub(crate) word_ids: Vec<Option<u32>>,
}

/// A loaded encoder with its tokenizer.
pub(crate) struct Encoder {
    inner: EncoderInner,
    tokenizer: Tokenizer,
    pad_id: u32,
    prefix: Vec<u32>,
    suffix: Vec<u32>,
    pub(crate) max_positions: usize,
}

impl Encoder {
    /// Number of special tokens around each window.
    pub(crate) fn specials(&self) -> usize {
        self.prefix.len() + self.suffix.len()
    }

    /// Tokenizes `text` (no truncation) and cuts it into windows of at most `max_tokens`
    /// tokens (special tokens included) starting every `stride` content tokens. When more than
    /// `max_windows` windows would be needed, the first and the last `max_windows / 2` are kept.
    pub(crate) fn windows(
        &self,
        text: &str,
        max_tokens: usize,
        stride: usize,
        max_windows: usize,
    ) -> Result<Windowed> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| Error::Inference(format!("tokenizer: {e}")))?;
        let n = enc.get_ids().len();
        let cap = max_tokens.saturating_sub(self.specials()).max(1);
        let stride = stride.clamp(1, cap);
        let mut starts = vec![0usize];
        let mut s = 0usize;
        while s + cap < n {
            s += stride;
            starts.push(s);
        }
        if starts.len() > max_windows.max(2) {
            let half = max_windows.max(2) / 2;
            let tail = starts.split_off(starts.len() - half);
            starts.truncate(half);
            starts.extend(tail);
        }
        let ids = enc.get_ids();
        let windows = starts
            .into_iter()
            .map(|start| {
                let end = (start + cap).min(n);
                let mut w = Vec::with_capacity(end - start + self.specials());
                w.extend_from_slice(&self.prefix);
                w.extend_from_slice(&ids[start..end]);
                w.extend_from_slice(&self.suffix);
                Window {
                    ids: w,
                    first_token: start,
                    content_len: end - start,
                    prefix_len: self.prefix.len(),
                }
            })
            .collect();
        Ok(Windowed {
            windows,
            offsets: enc.get_offsets().to_vec(),
            word_ids: enc.get_word_ids().to_vec(),
        })
    }

    /// Runs the encoder over `windows` in one batch (padded to the longest). Returns the last
    /// hidden state `[batch, tokens, hidden]` and the attention mask `[batch, tokens]` (f32).
    pub(crate) fn forward(&self, windows: &[Window]) -> Result<(Tensor, Tensor)> {
        let len = windows.iter().map(|w| w.ids.len()).max().unwrap_or(0);
        if windows.is_empty() || len == 0 {
            return Err(Error::Inference("no tokens".to_owned()));
        }
        if len > self.max_positions {
            return Err(Error::Inference(format!(
                "window of {len} tokens exceeds max_position_embeddings {}",
                self.max_positions
            )));
        }
        let b = windows.len();
        let mut ids = Vec::with_capacity(b * len);
        let mut mask = Vec::with_capacity(b * len);
        for w in windows {
            ids.extend_from_slice(&w.ids);
            ids.extend(std::iter::repeat_n(self.pad_id, len - w.ids.len()));
            mask.extend(std::iter::repeat_n(1u32, w.ids.len()));
            mask.extend(std::iter::repeat_n(0u32, len - w.ids.len()));
        }
        let dev = Device::Cpu;
        let ids = Tensor::from_vec(ids, (b, len), &dev)?;
        let mask = Tensor::from_vec(mask, (b, len), &dev)?;
        let types = ids.zeros_like()?;
        let hidden = match &self.inner {
            EncoderInner::Bert(m) => m.forward(&ids, &types, Some(&mask))?,
            EncoderInner::Deberta(m) => {
                m.forward(&ids, Some(types), Some(mask.to_dtype(DType::I64)?))?
            }
            EncoderInner::Roberta(m) => m.forward(&ids, &mask, &types, None, None, None)?,
        };
        Ok((hidden, mask.to_dtype(DType::F32)?))
    }
}
