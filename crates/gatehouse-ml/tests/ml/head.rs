use gatehouse_detect::models::{AttackModel, FastScore};
use gatehouse_ml::{Embedder, MiniLmAttackModel, SemanticHead, sigmoid};

use crate::fixtures::{self, HIDDEN, Head};

fn head_json(dim: usize, weights: Vec<f32>, extra: &str) -> String {
    format!(
        r#"{{"version":1,"embedder":"all-minilm-l6-v2","dim":{dim},"weights":{},"margin_weight":0.5,"bias":-0.25,"band":[0.1,0.9],"threshold":0.6,"trained_on":"test"{extra}}}"#,
        serde_json::to_string(&weights).unwrap()
    )
}

#[test]
fn builtin_head_loads() {
    let h = SemanticHead::builtin().unwrap();
    assert_eq!(h.dim, 384);
    assert_eq!(h.weights.len(), 384);
}

#[test]
fn head_files_are_validated() {
    let ok = head_json(3, vec![0.1, 0.2, 0.3], "");
    let h = SemanticHead::from_json(&ok).unwrap();
    assert_eq!(h.band, [0.1, 0.9]);
    let p = h.probability(&[1.0, 0.0, 1.0], 2.0);
    assert!((p - sigmoid(0.1 + 0.3 + 0.5 * 2.0 - 0.25)).abs() < 1e-6);

    let bad = [
        head_json(4, vec![0.1, 0.2, 0.3], ""), // dim mismatch
        ok.replace("0.2,", "1e39,"),           // not finite as f32
        head_json(3, vec![0.1, 0.2, 0.3], r#","extra":1"#), // unknown field
        ok.replace(r#""version":1"#, r#""version":2"#), // version
        ok.replace("all-minilm-l6-v2", "bge-small"), // embedder
        ok.replace("[0.1,0.9]", "[0.9,0.1]"),  // band order
        ok.replace("[0.1,0.9]", "[0.1,1.5]"),  // band range
        ok.replace(r#""threshold":0.6"#, r#""threshold":-1"#), // threshold
        ok.replace(r#""bias":-0.25,"#, ""),    // missing field
        "not json".to_owned(),
    ];
    for b in bad {
        assert!(SemanticHead::from_json(&b).is_err(), "accepted: {b:.120}");
    }
}

#[test]
fn attack_model_is_the_maximum_over_windows() {
    let dir = tempfile::tempdir().unwrap();
    fixtures::build(dir.path(), "bert", &[], Head::None, 9);
    let weights: Vec<f32> = (0..HIDDEN)
        .map(|i| ((i * 37 % 11) as f32 - 5.0) / 2.0)
        .collect();
    let h = SemanticHead::from_json(&head_json(HIDDEN, weights, "")).unwrap();

    let wrong = SemanticHead::from_json(&head_json(3, vec![0.0; 3], "")).unwrap();
    let e = MiniLmAttackModel::new(Embedder::load(dir.path()).unwrap(), wrong).unwrap_err();
    assert!(e.to_string().contains("dim"), "{e}");

    let m = MiniLmAttackModel::new(Embedder::load(dir.path()).unwrap(), h.clone()).unwrap();
    assert_eq!(m.describe(), "all-minilm-l6-v2 + head v1");
    assert_eq!(m.band(), Some((0.1, 0.9)));
    let emb = Embedder::load(dir.path()).unwrap();
    let text = fixtures::words(150);
    let windows = emb.embed_windows(&text).unwrap();
    assert!(windows.len() > 1);
    let fast = FastScore {
        margin: 1.5,
        probability: 0.4,
    };
    let per_window: Vec<f32> = windows.iter().map(|w| h.probability(w, 1.5)).collect();
    let max = per_window.iter().copied().fold(0.0f32, f32::max);
    assert!(
        per_window.iter().any(|p| (p - max).abs() > 1e-6),
        "windows differ"
    );
    let got = m.score(&text, fast).unwrap();
    assert!((got - max).abs() < 1e-5);
    // The margin enters with its weight.
    let lower = m
        .score(
            &text,
            FastScore {
                margin: -1.5,
                ..fast
            },
        )
        .unwrap();
    assert!(lower < got);
}
