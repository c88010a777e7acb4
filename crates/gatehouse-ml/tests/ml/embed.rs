use gatehouse_ml::{EMBED_MAX_WINDOWS, Embedder, Error};

use crate::fixtures::{self, HIDDEN, Head, MAX_POS};

fn tiny(family: &str) -> (tempfile::TempDir, Embedder) {
    let dir = tempfile::tempdir().unwrap();
    fixtures::build(dir.path(), family, &[], Head::None, 1);
    let e = Embedder::load(dir.path()).unwrap();
    (dir, e)
}

#[test]
fn embeddings_are_unit_length_and_deterministic() {
    for family in ["bert", "deberta-v2", "xlm-roberta"] {
        let (dir, e) = tiny(family);
        assert_eq!(e.dim(), HIDDEN);
        let a = e
            .embed_windows("hello world, john smith works at acme")
            .unwrap();
        assert_eq!(a.len(), 1, "{family}");
        assert_eq!(a[0].len(), HIDDEN);
        assert!((fixtures::norm(&a[0]) - 1.0).abs() < 1e-4, "{family}");
        let b = e
            .embed_windows("hello world, john smith works at acme")
            .unwrap();
        assert_eq!(a, b, "{family}: same text, same embedding");
        let again = Embedder::load(dir.path()).unwrap();
        assert_eq!(
            a,
            again
                .embed_windows("hello world, john smith works at acme")
                .unwrap()
        );
        let other = e.embed_windows("mary lives in paris").unwrap();
        assert!(
            fixtures::max_abs_diff(&a[0], &other[0]) > 1e-3,
            "{family}: texts differ"
        );
    }
}

#[test]
fn long_text_is_embedded_in_overlapping_windows() {
    for family in ["bert", "deberta-v2", "xlm-roberta"] {
        let (_dir, e) = tiny(family);
        // The tiny models have 64 positions: windows of 62 words, a new one every 128 words
        // at most; one word = one token here.
        let content = MAX_POS - 2;
        let text = fixtures::words(content + 40);
        let w = e.embed_windows(&text).unwrap();
        assert_eq!(w.len(), 2, "{family}");
        for v in &w {
            assert!((fixtures::norm(v) - 1.0).abs() < 1e-4);
        }
        // The first window is the embedding of the first 62 words alone, and the last window
        // (padded in the batch) is the embedding of its words alone.
        let words: Vec<&str> = text.split(' ').collect();
        let first = e.embed_windows(&words[..content].join(" ")).unwrap();
        assert_eq!(first.len(), 1);
        assert!(
            fixtures::max_abs_diff(&w[0], &first[0]) < 1e-4,
            "{family}: first window"
        );
        let stride = content.min(128);
        let last = e.embed_windows(&words[stride..].join(" ")).unwrap();
        assert_eq!(last.len(), 1);
        assert!(
            fixtures::max_abs_diff(&w[1], &last[0]) < 1e-4,
            "{family}: last window"
        );
    }
}

#[test]
fn very_long_text_keeps_first_and_last_windows() {
    let (_dir, e) = tiny("bert");
    let text = fixtures::words(62 * 40);
    let w = e.embed_windows(&text).unwrap();
    assert_eq!(w.len(), EMBED_MAX_WINDOWS);
    let words: Vec<&str> = text.split(' ').collect();
    let tail = e
        .embed_windows(&words[words.len() - 62..].join(" "))
        .unwrap();
    assert!(fixtures::max_abs_diff(&w[EMBED_MAX_WINDOWS - 1], &tail[0]) < 1e-4);
}

#[test]
fn empty_and_unknown_text_embed() {
    let (_dir, e) = tiny("bert");
    for t in ["", "   ", "日本語 ☃ 🙂", "\u{0}\u{1}"] {
        let w = e.embed_windows(t).unwrap();
        assert_eq!(w.len(), 1);
        assert!((fixtures::norm(&w[0]) - 1.0).abs() < 1e-4);
    }
}

#[test]
fn load_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    fixtures::build(dir.path(), "bert", &[], Head::None, 1);
    let p = dir.path();

    // Unsupported model type.
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("config.json")).unwrap()).unwrap();
    cfg["model_type"] = "gpt2".into();
    std::fs::write(p.join("config.json"), cfg.to_string()).unwrap();
    let e = Embedder::load(p).unwrap_err().to_string();
    assert!(e.contains("config.json") && e.contains("gpt2"), "{e}");
    cfg["model_type"] = "bert".into();
    cfg["max_position_embeddings"] = 1_000_000_000_000u64.into();
    std::fs::write(p.join("config.json"), cfg.to_string()).unwrap();
    let e = Embedder::load(p).unwrap_err().to_string();
    assert!(
        e.contains("config.json") && e.contains("max_position_embeddings"),
        "{e}"
    );
    cfg["max_position_embeddings"] = fixtures::MAX_POS.into();
    std::fs::write(p.join("config.json"), cfg.to_string()).unwrap();

    // Missing tensor.
    let mut t =
        candle_core::safetensors::load(p.join("model.safetensors"), &candle_core::Device::Cpu)
            .unwrap();
    let saved = t.clone();
    t.remove("encoder.layer.1.output.dense.weight").unwrap();
    candle_core::safetensors::save(&t, p.join("model.safetensors")).unwrap();
    let e = Embedder::load(p).unwrap_err().to_string();
    assert!(
        e.contains("model.safetensors") && e.contains("encoder.layer.1.output.dense"),
        "{e}"
    );

    // Pickle checkpoints are refused by name.
    std::fs::remove_file(p.join("model.safetensors")).unwrap();
    std::fs::write(p.join("pytorch_model.bin"), b"not loaded").unwrap();
    let e = Embedder::load(p).unwrap_err().to_string();
    assert!(
        e.contains("pytorch_model.bin") && e.contains("safetensors"),
        "{e}"
    );
    std::fs::remove_file(p.join("pytorch_model.bin")).unwrap();
    let e = Embedder::load(p).unwrap_err();
    assert!(matches!(e, Error::MissingFile { .. }), "{e}");

    // Garbage weights and tokenizer.
    std::fs::write(
        p.join("model.safetensors"),
        b"\xff\xff\xff\xff\xff\xff\xff\xffjunk",
    )
    .unwrap();
    let e = Embedder::load(p).unwrap_err().to_string();
    assert!(e.contains("model.safetensors"), "{e}");
    candle_core::safetensors::save(&saved, p.join("model.safetensors")).unwrap();
    Embedder::load(p).unwrap();
    std::fs::write(p.join("tokenizer.json"), b"{}").unwrap();
    let e = Embedder::load(p).unwrap_err().to_string();
    assert!(e.contains("tokenizer.json"), "{e}");
    std::fs::remove_file(p.join("tokenizer.json")).unwrap();
    let e = Embedder::load(p).unwrap_err().to_string();
    assert!(e.contains("tokenizer.json") && e.contains("missing"), "{e}");
}
