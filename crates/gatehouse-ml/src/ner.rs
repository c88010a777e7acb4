//! Named-entity recognition (token classification) for the data-protection engine.

use std::path::Path;

use candle_core::{D, Module};
use gatehouse_detect::models::{Entity, EntityModel, ModelError};

use crate::backbone::{Encoder, ModelFiles};
use crate::error::Result;

/// Tokens per window (special tokens included), capped by `max_position_embeddings`.
const WINDOW_TOKENS: usize = 512;
/// Most windows per text (first and last half kept beyond that).
const MAX_WINDOWS: usize = 16;
/// Windows per forward pass.
const BATCH: usize = 4;

/// Where a label puts its token in an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundary {
    /// `B-`: starts an entity.
    Begin,
    /// `I-` or no prefix: continues (or starts) an entity.
    Inside,
    /// `E-` / `L-`: ends an entity.
    End,
    /// `S-` / `U-`: a one-token entity.
    Single,
}

/// Maps a label (`B-PER`, `I-LOC`, `ORG`, `PERSON`, `GPE`, …) to an entity type and boundary;
/// `None` for `O`, `MISC` and anything else.
fn parse_label(label: &str) -> Option<(&'static str, Boundary)> {
    let (boundary, tag) = match label.split_once(['-', '_']) {
        Some((p, t)) if p.len() == 1 => {
            let b = match p.to_ascii_uppercase().as_str() {
                "B" => Boundary::Begin,
                "I" => Boundary::Inside,
                "E" | "L" => Boundary::End,
                "S" | "U" => Boundary::Single,
                _ => return None,
            };
            (b, t)
        }
        _ => (Boundary::Inside, label),
    };
    let ty = match tag.to_ascii_uppercase().as_str() {
        "PER" | "PERSON" => "PERSON",
        "LOC" | "LOCATION" | "GPE" => "LOCATION",
        "ORG" | "ORGANIZATION" | "ORGANISATION" => "ORGANIZATION",
        _ => return None,
    };
    Some((ty, boundary))
}

/// A token-classification model (`…ForTokenClassification`: BERT, DeBERTa-v2, RoBERTa, XLM-R) as an
/// [`EntityModel`].
pub struct TokenClassifier {
    encoder: Encoder,
    classifier: candle_nn::Linear,
    labels: Vec<String>,
    parsed: Vec<Option<(&'static str, Boundary)>>,
    max_tokens: usize,
    model_type: &'static str,
}

impl std::fmt::Debug for TokenClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenClassifier")
            .field("model_type", &self.model_type)
            .field("labels", &self.labels)
            .field("max_tokens", &self.max_tokens)
            .finish_non_exhaustive()
    }
}

/// The label chosen for one token and its probability.
#[derive(Clone, Copy)]
struct TokenTag {
    label: usize,
    prob: f32,
    /// Distance of the token from its window's nearer edge (larger is better context).
    centrality: usize,
}

impl TokenClassifier {
    /// Loads the model from `dir`; labels come from `id2label` of `config.json`.
    pub fn load(dir: &Path) -> Result<TokenClassifier> {
        let files = ModelFiles::read(dir)?;
        let labels = files.labels()?;
        let encoder = files.encoder()?;
        let hidden = files.hidden_size()?;
        let classifier = files.classifier(hidden, labels.len())?;
        let parsed = labels.iter().map(|l| parse_label(l)).collect();
        Ok(TokenClassifier {
            max_tokens: WINDOW_TOKENS.min(files.max_positions()),
            encoder,
            classifier,
            labels,
            parsed,
            model_type: files.family.name(),
        })
    }

    /// Label names in index order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    fn find(&self, text: &str) -> Result<Vec<Entity>> {
        let content = self
            .max_tokens
            .saturating_sub(self.encoder.specials())
            .max(1);
        let w = self
            .encoder
            .windows(text, self.max_tokens, (content / 2).max(1), MAX_WINDOWS)?;
        let n = w.offsets.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        // Each token keeps the prediction of the window where it sits farthest from an edge,
        // so that an entity seen by two windows is reported once.
        let mut tags: Vec<Option<TokenTag>> = vec![None; n];
        for chunk in w.windows.chunks(BATCH) {
            let (hidden, _) = self.encoder.forward(chunk)?;
            let logits = self.classifier.forward(&hidden)?;
            let probs = candle_nn::ops::softmax(&logits, D::Minus1)?.to_vec3::<f32>()?;
            for (win, rows) in chunk.iter().zip(probs) {
                for k in 0..win.content_len {
                    let Some(row) = rows.get(win.prefix_len + k) else {
                        break;
                    };
                    let (label, prob) = row
                        .iter()
                        .copied()
                        .enumerate()
                        .fold((0, f32::MIN), |a, b| if b.1 > a.1 { b } else { a });
                    let centrality = k.min(win.content_len - 1 - k);
                    let slot = &mut tags[win.first_token + k];
                    if slot.is_none_or(|t| centrality > t.centrality) {
                        *slot = Some(TokenTag {
                            label,
                            prob,
                            centrality,
                        });
                    }
                }
            }
        }
        Ok(self.decode(text, &tags, &w.offsets, &w.word_ids))
    }

    /// Merges sub-word pieces and B/I runs into entities.
    fn decode(
        &self,
        text: &str,
        tags: &[Option<TokenTag>],
        offsets: &[(usize, usize)],
        word_ids: &[Option<u32>],
    ) -> Vec<Entity> {
        struct Open {
            ty: &'static str,
            start: usize,
            end: usize,
            probs: f32,
            count: u32,
            word: Option<u32>,
        }
        let mut out = Vec::new();
        let mut open: Option<Open> = None;
        let close = |o: Open, out: &mut Vec<Entity>| {
            if let Some(e) = make_entity(text, o.ty, o.start, o.end, o.probs / o.count as f32) {
                out.push(e);
            }
        };
        for (i, tag) in tags.iter().enumerate() {
            let (start, end) = offsets.get(i).copied().unwrap_or((0, 0));
            let word = word_ids.get(i).copied().flatten();
            let Some(tag) = tag else {
                if let Some(o) = open.take() {
                    close(o, &mut out);
                }
                continue;
            };
            let parsed = self.parsed.get(tag.label).copied().flatten();
            // A later piece of the word an entity is in extends it, whatever its label.
            if let Some(o) = open.as_mut()
                && word.is_some()
                && word == o.word
            {
                o.end = o.end.max(end);
                o.probs += tag.prob;
                o.count += 1;
                continue;
            }
            match parsed {
                None => {
                    if let Some(o) = open.take() {
                        close(o, &mut out);
                    }
                }
                Some((ty, b)) => {
                    let continues = matches!(b, Boundary::Inside | Boundary::End)
                        && open.as_ref().is_some_and(|o| o.ty == ty);
                    if continues {
                        if let Some(o) = open.as_mut() {
                            o.end = o.end.max(end);
                            o.probs += tag.prob;
                            o.count += 1;
                            o.word = word;
                        }
                    } else {
                        if let Some(o) = open.take() {
                            close(o, &mut out);
                        }
                        open = Some(Open {
                            ty,
                            start,
                            end,
                            probs: tag.prob,
                            count: 1,
                            word,
                        });
                    }
                    if matches!(b, Boundary::End | Boundary::Single) {
                        // Later pieces of the same word still join it; anything else starts
                        // anew.
                        let next_same_word =
                            word.is_some() && word_ids.get(i + 1).copied().flatten() == word;
                        if !next_same_word && let Some(o) = open.take() {
                            close(o, &mut out);
                        }
                    }
                }
            }
        }
        if let Some(o) = open.take() {
            close(o, &mut out);
        }
        out
    }
}

/// An entity over `text[start..end]` with surrounding whitespace trimmed, or `None` when the
/// span is empty or not on char boundaries.
fn make_entity(text: &str, ty: &str, start: usize, end: usize, score: f32) -> Option<Entity> {
    if start >= end
        || end > text.len()
        || !text.is_char_boundary(start)
        || !text.is_char_boundary(end)
    {
        return None;
    }
    let s = &text[start..end];
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    let (start, end) = (start + lead, end - trail);
    if start >= end {
        return None;
    }
    Some(Entity {
        start,
        end,
        entity_type: ty.to_owned(),
        score: if score.is_finite() {
            score.clamp(0.0, 1.0)
        } else {
            0.0
        },
    })
}

impl EntityModel for TokenClassifier {
    fn describe(&self) -> String {
        format!("ner:{} ({} labels)", self.model_type, self.labels.len())
    }

    fn entities(&self, text: &str) -> std::result::Result<Vec<Entity>, ModelError> {
        Ok(self.find(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_map_to_presidio_types() {
        assert_eq!(parse_label("B-PER"), Some(("PERSON", Boundary::Begin)));
        assert_eq!(parse_label("I-LOC"), Some(("LOCATION", Boundary::Inside)));
        assert_eq!(parse_label("E-ORG"), Some(("ORGANIZATION", Boundary::End)));
        assert_eq!(parse_label("S-PER"), Some(("PERSON", Boundary::Single)));
        assert_eq!(parse_label("PERSON"), Some(("PERSON", Boundary::Inside)));
        assert_eq!(parse_label("GPE"), Some(("LOCATION", Boundary::Inside)));
        assert_eq!(parse_label("ORG"), Some(("ORGANIZATION", Boundary::Inside)));
        assert_eq!(parse_label("B-MISC"), None);
        assert_eq!(parse_label("MISC"), None);
        assert_eq!(parse_label("O"), None);
    }
}
