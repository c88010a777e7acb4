use candle_core::Tensor;
use gatehouse_detect::models::EntityModel;
use gatehouse_ml::TokenClassifier;

use crate::fixtures::{self, HIDDEN, Head};

const LABELS: [&str; 9] = [
    "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC",
];

/// A model whose classifier always predicts `label` (zero weights, one large bias).
fn always(family: &str, labels: &[&str], label: usize) -> (tempfile::TempDir, TokenClassifier) {
    let dir = tempfile::tempdir().unwrap();
    let mut t = fixtures::build(dir.path(), family, labels, Head::Token, 7);
    let n = labels.len();
    t.insert(
        "classifier.weight".to_owned(),
        Tensor::zeros(
            (n, HIDDEN),
            candle_core::DType::F32,
            &candle_core::Device::Cpu,
        )
        .unwrap(),
    );
    let bias: Vec<f32> = (0..n).map(|i| if i == label { 8.0 } else { 0.0 }).collect();
    t.insert(
        "classifier.bias".to_owned(),
        Tensor::new(bias, &candle_core::Device::Cpu).unwrap(),
    );
    let cfg = fixtures::config(family, labels);
    fixtures::save(dir.path(), &cfg, &t);
    let m = TokenClassifier::load(dir.path()).unwrap();
    (dir, m)
}

fn spans<'a>(text: &'a str, m: &TokenClassifier) -> Vec<(&'a str, String)> {
    m.entities(text)
        .unwrap()
        .into_iter()
        .map(|e| {
            assert!(text.is_char_boundary(e.start) && text.is_char_boundary(e.end));
            assert!(e.start < e.end && e.end <= text.len());
            assert!((0.0..=1.0).contains(&e.score));
            (&text[e.start..e.end], e.entity_type)
        })
        .collect()
}

#[test]
fn random_model_spans_are_well_formed() {
    for family in ["bert", "deberta-v2", "xlm-roberta"] {
        let dir = tempfile::tempdir().unwrap();
        fixtures::build(dir.path(), family, &LABELS, Head::Token, 8);
        let m = TokenClassifier::load(dir.path()).unwrap();
        assert_eq!(m.describe(), format!("ner:{family} (9 labels)"));
        let text = format!(
            "Café 🙂 John Smithson — Ünïcode at ACME, {}",
            fixtures::words(150)
        );
        let mut last_end = 0;
        for e in m.entities(&text).unwrap() {
            assert!(text.is_char_boundary(e.start) && text.is_char_boundary(e.end));
            assert!(e.start < e.end && e.end <= text.len());
            assert!(e.start >= last_end, "{family}: entities do not overlap");
            last_end = e.end;
            assert!(["PERSON", "LOCATION", "ORGANIZATION"].contains(&e.entity_type.as_str()));
            let s = &text[e.start..e.end];
            assert_eq!(s, s.trim());
        }
    }
}

#[test]
fn inside_labels_merge_into_one_entity() {
    let (_d, m) = always("bert", &LABELS, 2); // I-PER everywhere
    let text = "  John Smithson lives in Paris. ";
    let got = m.entities(text).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        &text[got[0].start..got[0].end],
        "John Smithson lives in Paris."
    );
    assert_eq!(got[0].entity_type, "PERSON");
    assert!(got[0].score > 0.9);
}

#[test]
fn begin_labels_split_words_and_subwords_stay_together() {
    for family in ["bert", "deberta-v2", "xlm-roberta"] {
        let (_d, m) = always(family, &LABELS, 3); // B-LOC everywhere
        // "smithson" is "smith" + "##son", "xyz" is three pieces, "é" is normalised to "e".
        let text = "New York, smithson xyz café";
        let got = spans(text, &m);
        let expect = ["New", "York", ",", "smithson", "xyz", "café"];
        assert_eq!(
            got.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            expect,
            "{family}"
        );
        assert!(got.iter().all(|(_, t)| t == "LOCATION"));
    }
}

#[test]
fn entities_in_overlapping_windows_are_reported_once() {
    let (_d, m) = always("bert", &LABELS, 5); // B-ORG everywhere
    // 64 positions → windows of 62 tokens every 31: every word is in two windows.
    let text = fixtures::words(200);
    let got = spans(&text, &m);
    assert_eq!(got.len(), 200);
    let words: Vec<&str> = text.split(' ').collect();
    assert_eq!(got.iter().map(|(s, _)| *s).collect::<Vec<_>>(), words);
    assert!(got.iter().all(|(_, t)| t == "ORGANIZATION"));
}

#[test]
fn ignored_labels_give_nothing_and_plain_labels_map() {
    let (_d, m) = always("bert", &LABELS, 7); // B-MISC
    assert!(m.entities("John lives in Paris").unwrap().is_empty());
    let (_d, m) = always("bert", &LABELS, 0); // O
    assert!(m.entities("John lives in Paris").unwrap().is_empty());
    let plain = ["O", "PERSON", "GPE", "ORG"];
    let (_d, m) = always("bert", &plain, 2); // GPE
    let got = spans("John lives in Paris", &m);
    assert_eq!(got, vec![("John lives in Paris", "LOCATION".to_owned())]);
    let bioes = ["O", "B-PER", "I-PER", "E-PER", "S-PER"];
    let (_d, m) = always("bert", &bioes, 4); // S-PER: one entity per word
    assert_eq!(spans("John Smith", &m).len(), 2);
}
