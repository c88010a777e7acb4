//! Tiny random BERT and DeBERTa-v2 models.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::{bert, debertav2, xlm_roberta};
use tokenizers::Tokenizer;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::template::TemplateProcessing;

pub const HIDDEN: usize = 32;
pub const MAX_POS: usize = 64;

/// Words of the test vocabulary (each one token); other words split into letters.
pub const WORDS: [&str; 24] = [
    "hello",
    "world",
    "john",
    "smith",
    "paris",
    "acme",
    "the",
    "is",
    "in",
    "at",
    "works",
    "lives",
    "ignore",
    "previous",
    "instructions",
    "and",
    "cafe",
    "a",
    "of",
    "to",
    "new",
    "york",
    "corp",
    "mary",
];

pub fn write_tokenizer(dir: &Path) {
    let mut vocab = vec![
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!", "'",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();
    for c in 'a'..='z' {
        vocab.push(c.to_string());
        vocab.push(format!("##{c}"));
    }
    vocab.extend(WORDS.iter().map(|w| w.to_string()));
    vocab.push("##son".to_owned());
    let vocab_path = dir.join("vocab.txt");
    std::fs::write(&vocab_path, vocab.join("\n")).unwrap();
    let wp = WordPiece::from_file(vocab_path.to_str().unwrap())
        .unk_token("[UNK]".to_owned())
        .build()
        .unwrap();
    let mut tok = Tokenizer::new(wp);
    tok.with_normalizer(Some(BertNormalizer::new(true, true, Some(true), true)))
        .unwrap();
    tok.with_pre_tokenizer(Some(BertPreTokenizer));
    tok.with_post_processor(Some(
        TemplateProcessing::builder()
            .try_single("[CLS] $A [SEP]")
            .unwrap()
            .special_tokens(vec![("[CLS]", 2), ("[SEP]", 3)])
            .build()
            .unwrap(),
    ));
    tok.save(dir.join("tokenizer.json"), false).unwrap();
    std::fs::remove_file(vocab_path).unwrap();
}

pub fn vocab_size() -> usize {
    9 + 52 + WORDS.len() + 1
}

fn id2label(labels: &[&str]) -> serde_json::Value {
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| (i.to_string(), serde_json::Value::from(*l)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

pub fn bert_config(labels: &[&str]) -> serde_json::Value {
    let mut v = serde_json::json!({
        "model_type": "bert",
        "vocab_size": vocab_size(),
        "hidden_size": HIDDEN,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 64,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "max_position_embeddings": MAX_POS,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0
    });
    if !labels.is_empty() {
        v["id2label"] = id2label(labels);
    }
    v
}

/// RoBERTa positions start after the padding id: 66 positions give windows of 64 tokens.
pub fn roberta_config(labels: &[&str]) -> serde_json::Value {
    let mut v = bert_config(labels);
    v["model_type"] = "xlm-roberta".into();
    v["max_position_embeddings"] = (MAX_POS + 2).into();
    v["pad_token_id"] = 1.into();
    v["type_vocab_size"] = 1.into();
    v["attention_probs_dropout_prob"] = 0.1.into();
    v["position_embedding_type"] = "absolute".into();
    v
}

pub fn config(family: &str, labels: &[&str]) -> serde_json::Value {
    match family {
        "bert" => bert_config(labels),
        "xlm-roberta" => roberta_config(labels),
        _ => deberta_config(labels),
    }
}

pub fn deberta_config(labels: &[&str]) -> serde_json::Value {
    let mut v = serde_json::json!({
        "model_type": "deberta-v2",
        "vocab_size": vocab_size(),
        "hidden_size": HIDDEN,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 64,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": MAX_POS,
        "type_vocab_size": 0,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-7,
        "relative_attention": true,
        "max_relative_positions": -1,
        "position_buckets": 16,
        "norm_rel_ebd": "layer_norm",
        "share_att_key": true,
        "pos_att_type": ["p2c", "c2p"],
        "position_biased_input": false,
        "pad_token_id": 0
    });
    if !labels.is_empty() {
        v["id2label"] = id2label(labels);
    }
    v
}

/// What head to put on the encoder.
#[derive(Clone, Copy, PartialEq)]
pub enum Head {
    /// Bare encoder, tensor names without a base prefix.
    None,
    /// Pooler + classifier (sequence classification).
    Sequence,
    /// Classifier on every token.
    Token,
}

/// Builds a random model in `dir`. `family`: "bert" or "deberta-v2". `seed` picks the weights.
/// Returns the tensors saved (to let tests overwrite some).
pub fn build(
    dir: &Path,
    family: &str,
    labels: &[&str],
    head: Head,
    seed: u64,
) -> HashMap<String, Tensor> {
    let dev = Device::Cpu;
    dev.set_seed(seed).ok();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let cfg = config(family, labels);
    let base = match (family, head) {
        (_, Head::None) => vb.clone(),
        ("bert", _) => vb.pp("bert"),
        ("xlm-roberta", _) => vb.pp("roberta"),
        _ => vb.pp("deberta"),
    };
    if family == "xlm-roberta" {
        let c: xlm_roberta::Config = serde_json::from_value(cfg.clone()).unwrap();
        xlm_roberta::XLMRobertaModel::new(&c, base.clone()).unwrap();
    } else if family == "bert" {
        let c: bert::Config = serde_json::from_value(cfg.clone()).unwrap();
        bert::BertModel::load(base.clone(), &c).unwrap();
    } else {
        let mut c = cfg.clone();
        c["pooler_hidden_size"] = HIDDEN.into();
        c["pooler_dropout"] = 0.0.into();
        c["pooler_hidden_act"] = "gelu".into();
        let c: debertav2::Config = serde_json::from_value(c).unwrap();
        debertav2::DebertaV2Model::load(base.clone(), &c).unwrap();
    }
    match head {
        Head::None => {}
        Head::Sequence if family == "xlm-roberta" => {
            candle_nn::linear(HIDDEN, HIDDEN, vb.pp("classifier").pp("dense")).unwrap();
            candle_nn::linear(HIDDEN, labels.len(), vb.pp("classifier").pp("out_proj")).unwrap();
        }
        Head::Sequence => {
            let pooler = if family == "bert" {
                base.pp("pooler").pp("dense")
            } else {
                vb.pp("pooler").pp("dense")
            };
            candle_nn::linear(HIDDEN, HIDDEN, pooler).unwrap();
            candle_nn::linear(HIDDEN, labels.len(), vb.pp("classifier")).unwrap();
        }
        Head::Token => {
            candle_nn::linear(HIDDEN, labels.len(), vb.pp("classifier")).unwrap();
        }
    }
    let tensors: HashMap<String, Tensor> = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    save(dir, &cfg, &tensors);
    write_tokenizer(dir);
    tensors
}

pub fn save(dir: &Path, cfg: &serde_json::Value, tensors: &HashMap<String, Tensor>) {
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(cfg).unwrap(),
    )
    .unwrap();
    candle_core::safetensors::save(tensors, dir.join("model.safetensors")).unwrap();
}

/// A text of `n` vocabulary words (one token each).
pub fn words(n: usize) -> String {
    (0..n)
        .map(|i| WORDS[(i * 7 + 3) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
