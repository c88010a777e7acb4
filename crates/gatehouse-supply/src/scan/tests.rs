//! Fixtures are written here byte by byte (zip and tar through the writer crates).

use std::io::Write;

use super::*;
use crate::pickle::tests::{P, benign_state_dict};

fn opts() -> ScanOptions {
    ScanOptions::default()
}

fn evil_pickle() -> Vec<u8> {
    P::default()
        .proto(2)
        .global("os", "system")
        .short_unicode("touch /tmp/pwned")
        .tuple1()
        .reduce()
        .stop()
        .bytes()
}

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in members {
        w.start_file(*name, o).ok();
        w.write_all(data).ok();
    }
    w.finish().map(|c| c.into_inner()).unwrap_or_default()
}

fn rules(r: &FileReport) -> Vec<&'static str> {
    r.findings.iter().map(|f| f.rule).collect()
}

#[test]
fn torch_zip_checkpoint_clean_and_malicious() {
    let clean = zip_of(&[
        ("archive/data.pkl", &benign_state_dict()),
        ("archive/byteorder", b"little"),
        ("archive/data/0", &[0x80, 0x04, 0xff, 0xff]),
        ("archive/version", b"3\n"),
    ]);
    let r = scan_bytes("model.pt", &clean, &opts());
    assert_eq!(r.format, Format::TorchZip);
    assert_eq!(r.status, Status::Clean, "{r:?}");
    let evil = zip_of(&[
        ("archive/data.pkl", &benign_state_dict()),
        ("archive/extra.pkl", &evil_pickle()),
    ]);
    let r = scan_bytes("model.pt", &evil, &opts());
    assert_eq!(r.status, Status::Findings);
    assert!(rules(&r).contains(&"pickle-dangerous-call"));
    assert!(r.findings.iter().any(|f| {
        f.location
            .as_deref()
            .is_some_and(|l| l.contains("archive/extra.pkl"))
    }));
}

#[test]
fn format_is_detected_by_content_not_extension() {
    let r = scan_bytes("weights.safetensors", &evil_pickle(), &opts());
    assert_eq!(r.format, Format::Pickle);
    assert_eq!(r.status, Status::Findings);
}

#[test]
fn legacy_torch_reads_five_pickles_and_ignores_raw_storage() {
    let mut f = Vec::new();
    f.extend(P::default().raw(&TORCH_LEGACY_MAGIC).stop().bytes());
    f.extend(
        P::default()
            .proto(2)
            .op(b'M')
            .raw(&1001u16.to_le_bytes())
            .stop()
            .bytes(),
    );
    f.extend(P::default().proto(2).op(b'}').stop().bytes());
    f.extend(evil_pickle());
    f.extend(P::default().proto(2).op(b']').stop().bytes());
    f.extend([0xde, 0xad, 0xbe, 0xef, 0x00, 0x13]);
    let r = scan_bytes("old.pt", &f, &opts());
    assert_eq!(r.format, Format::TorchLegacy);
    assert!(rules(&r).contains(&"pickle-dangerous-call"), "{r:?}");
    assert!(r.incomplete.is_empty(), "{r:?}");
}

fn npy(descr: &str, body: &[u8]) -> Vec<u8> {
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend((h.len() as u16).to_le_bytes());
    v.extend(h.as_bytes());
    v.extend(body);
    v
}

#[test]
fn npy_object_array_carries_a_pickle() {
    let r = scan_bytes("a.npy", &npy("|O", &evil_pickle()), &opts());
    assert_eq!(r.format, Format::Numpy);
    assert!(rules(&r).contains(&"pickle-dangerous-call"), "{r:?}");
    let r = scan_bytes("a.npy", &npy("<f4", &[0, 0, 0x80, 0x3f]), &opts());
    assert_eq!(r.status, Status::Clean, "{r:?}");
}

#[test]
fn npz_members_are_scanned() {
    let z = zip_of(&[
        ("a.npy", &npy("<f4", &[0; 4])),
        ("b.npy", &npy("|O", &evil_pickle())),
    ]);
    let r = scan_bytes("x.npz", &z, &opts());
    assert_eq!(r.format, Format::Npz);
    assert!(rules(&r).contains(&"pickle-dangerous-call"));
}

fn safetensors(header: &str, data: usize) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend(header.as_bytes());
    v.extend(std::iter::repeat_n(0u8, data));
    v
}

#[test]
fn safetensors_valid_and_invalid_headers() {
    let ok = safetensors(
        r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[16,24]}}"#,
        24,
    );
    let r = scan_bytes("m.safetensors", &ok, &opts());
    assert_eq!(r.format, Format::Safetensors);
    assert_eq!(r.status, Status::Clean, "{r:?}");

    let overlap = safetensors(
        r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#,
        16,
    );
    let r = scan_bytes("m.safetensors", &overlap, &opts());
    assert!(
        r.findings.iter().any(|f| f.message.contains("overlaps")),
        "{r:?}"
    );

    let oob = safetensors(
        r#"{"a":{"dtype":"F32","shape":[400],"data_offsets":[0,1600]}}"#,
        16,
    );
    let r = scan_bytes("m.safetensors", &oob, &opts());
    assert!(
        r.findings.iter().any(|f| f.message.contains("outside")),
        "{r:?}"
    );

    let dup = safetensors(
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
        4,
    );
    let r = scan_bytes("m.safetensors", &dup, &opts());
    assert!(
        r.findings.iter().any(|f| f.message.contains("duplicate")),
        "{r:?}"
    );

    let bad_dtype = safetensors(
        r#"{"a":{"dtype":"OBJ","shape":[1],"data_offsets":[0,4]}}"#,
        4,
    );
    let r = scan_bytes("m.safetensors", &bad_dtype, &opts());
    assert!(
        r.findings.iter().any(|f| f.message.contains("dtype")),
        "{r:?}"
    );

    // Header length pointing past the end: not even detected as safetensors, and the
    // .safetensors extension makes it incomplete rather than skipped.
    let mut huge = (1u64 << 40).to_le_bytes().to_vec();
    huge.extend(b"{}");
    let r = scan_bytes("m.safetensors", &huge, &opts());
    assert_ne!(r.status, Status::Clean);
}

fn gguf_string(v: &mut Vec<u8>, s: &str) {
    v.extend((s.len() as u64).to_le_bytes());
    v.extend(s.as_bytes());
}

fn gguf(template: &str) -> Vec<u8> {
    let mut v = b"GGUF".to_vec();
    v.extend(3u32.to_le_bytes());
    v.extend(1u64.to_le_bytes()); // tensors
    v.extend(2u64.to_le_bytes()); // kv
    gguf_string(&mut v, "general.architecture");
    v.extend(8u32.to_le_bytes());
    gguf_string(&mut v, "llama");
    gguf_string(&mut v, "tokenizer.chat_template");
    v.extend(8u32.to_le_bytes());
    gguf_string(&mut v, template);
    gguf_string(&mut v, "w");
    v.extend(1u32.to_le_bytes());
    v.extend(8u64.to_le_bytes());
    v.extend(0u32.to_le_bytes()); // F32
    v.extend(0u64.to_le_bytes());
    while !v.len().is_multiple_of(32) {
        v.push(0);
    }
    v.extend([0u8; 32]);
    v
}

#[test]
fn gguf_structure_and_template_injection() {
    let ok = gguf("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}");
    let r = scan_bytes("m.gguf", &ok, &opts());
    assert_eq!(r.format, Format::Gguf);
    assert_eq!(r.status, Status::Clean, "{r:?}");
    let evil = gguf(
        "{% for c in [].__class__.__base__.__subclasses__() %}{% if c.__name__ == 'catch_warnings' %}{{ c()._module.__builtins__['__import__']('os').popen('id').read() }}{% endif %}{% endfor %}",
    );
    let r = scan_bytes("m.gguf", &evil, &opts());
    assert!(rules(&r).contains(&"gguf-template-injection"), "{r:?}");
    // Truncated tensor data: the tensor runs past the end of the file.
    let mut cut = ok.clone();
    cut.truncate(cut.len() - 16);
    let r = scan_bytes("m.gguf", &cut, &opts());
    assert!(rules(&r).contains(&"gguf-structure"), "{r:?}");
    // A string length far beyond the file.
    let mut v = b"GGUF".to_vec();
    v.extend(3u32.to_le_bytes());
    v.extend(0u64.to_le_bytes());
    v.extend(1u64.to_le_bytes());
    v.extend(u64::MAX.to_le_bytes());
    let r = scan_bytes("m.gguf", &v, &opts());
    assert!(rules(&r).contains(&"gguf-structure"), "{r:?}");
}

#[test]
fn zip_path_traversal_is_reported() {
    let z = zip_of(&[
        ("../../etc/cron.d/x", b"* * * * * root id"),
        ("ok.txt", b"hi"),
    ]);
    let r = scan_bytes("a.zip", &z, &opts());
    assert!(rules(&r).contains(&"archive-path-traversal"), "{r:?}");
}

#[test]
fn zip_bomb_is_reported_without_inflating() {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("zeros.bin", o).ok();
    let block = vec![0u8; 1 << 20];
    for _ in 0..64 {
        w.write_all(&block).ok();
    }
    let z = w.finish().map(|c| c.into_inner()).unwrap_or_default();
    let r = scan_bytes("bomb.zip", &z, &opts());
    assert!(rules(&r).contains(&"decompression-bomb"), "{r:?}");
}

#[test]
fn tar_checkpoint_members_are_scanned() {
    let mut b = tar::Builder::new(Vec::new());
    let evil = evil_pickle();
    let mut h = tar::Header::new_gnu();
    h.set_size(evil.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "pickle", evil.as_slice()).ok();
    let data = b.into_inner().unwrap_or_default();
    let r = scan_bytes("ckpt.tar", &data, &opts());
    assert_eq!(r.format, Format::Tar);
    assert!(rules(&r).contains(&"pickle-dangerous-call"), "{r:?}");
}

#[test]
fn gzip_wrapped_pickle_is_scanned() {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&evil_pickle()).ok();
    let gz = e.finish().unwrap_or_default();
    let r = scan_bytes("m.pkl.gz", &gz, &opts());
    assert_eq!(r.format, Format::Gzip);
    assert!(rules(&r).contains(&"pickle-dangerous-call"), "{r:?}");
}

#[test]
fn keras_lambda_and_foreign_module() {
    let lambda = br#"{"class_name":"Sequential","config":{"layers":[{"module":"keras.layers","class_name":"Lambda","config":{"function":{"class_name":"__lambda__","config":{"code":"4wEAAAAAAAAA"}}}}]}}"#;
    let z = zip_of(&[
        ("config.json", lambda),
        ("metadata.json", b"{}"),
        ("model.weights.h5", b"\x89HDF\r\n\x1a\n"),
    ]);
    let r = scan_bytes("m.keras", &z, &opts());
    assert_eq!(r.format, Format::Keras);
    assert!(rules(&r).contains(&"keras-lambda"), "{r:?}");
    // CVE-2025-1550: a config entry that names an arbitrary module and function.
    let cve = br#"{"module":"keras.models","class_name":"Sequential","config":{"layers":[{"module":"builtins","class_name":"exec","config":{}},{"module":"subprocess","class_name":"run","config":{}}]}}"#;
    let z = zip_of(&[("config.json", cve), ("metadata.json", b"{}")]);
    let r = scan_bytes("m.keras", &z, &opts());
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule == "keras-foreign-module" && f.severity == Severity::Critical),
        "{r:?}"
    );
}

#[test]
fn hdf5_is_incomplete_but_lambda_is_found() {
    let mut h = b"\x89HDF\r\n\x1a\n".to_vec();
    h.extend([0u8; 100]);
    h.extend(br#"{"class_name": "Functional", "config": {"layers": [{"class_name": "Lambda", "config": {}}]}}"#);
    h.extend([0u8; 100]);
    let r = scan_bytes("m.h5", &h, &opts());
    assert_eq!(r.format, Format::Hdf5);
    assert!(rules(&r).contains(&"keras-lambda"), "{r:?}");
    assert!(!r.incomplete.is_empty());
}

fn pb_bytes(field: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![(field << 3) | 2];
    let mut n = data.len();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            v.push(b);
            break;
        }
        v.push(b | 0x80);
    }
    v.extend(data);
    v
}

#[test]
fn onnx_external_data_and_custom_domain() {
    let mut entry = pb_bytes(1, b"location");
    entry.extend(pb_bytes(2, b"../../../etc/passwd"));
    let tensor = [pb_bytes(8, b"w"), pb_bytes(13, &entry)].concat();
    let node = [pb_bytes(4, b"Evil"), pb_bytes(7, b"com.attacker")].concat();
    let graph = [pb_bytes(1, &node), pb_bytes(5, &tensor)].concat();
    let mut model = vec![0x08, 0x08];
    model.extend(pb_bytes(2, b"test"));
    model.extend(pb_bytes(7, &graph));
    let r = scan_bytes("model.onnx", &model, &opts());
    assert_eq!(r.format, Format::Onnx);
    assert!(rules(&r).contains(&"onnx-external-data-traversal"), "{r:?}");
    assert!(rules(&r).contains(&"onnx-custom-domain"), "{r:?}");
}

#[test]
fn saved_model_pyfunc() {
    let node = [pb_bytes(1, b"n"), pb_bytes(2, b"PyFunc")].concat();
    let graph = pb_bytes(1, &node);
    let r = scan_bytes("saved_model.pb", &graph, &opts());
    assert_eq!(r.format, Format::SavedModel);
    assert!(rules(&r).contains(&"tf-dangerous-op"), "{r:?}");
}

#[test]
fn protocol0_pickle_without_header_is_detected() {
    let p = b"cos\nsystem\n(S'id'\ntR.";
    let r = scan_bytes("notes.txt", p, &opts());
    assert_eq!(r.format, Format::Pickle);
    assert_eq!(r.status, Status::Findings);
    let r = scan_bytes("README.md", b"# A model card\n", &opts());
    assert_eq!(r.status, Status::Skipped);
    let r = scan_bytes("weights.bin", b"\x00\x01garbage", &opts());
    assert_eq!(r.status, Status::Incomplete);
}

#[test]
fn directory_walk_and_exit_codes() {
    let dir = tempfile::tempdir().ok();
    let Some(dir) = dir else { return };
    std::fs::write(dir.path().join("README.md"), "hello").ok();
    std::fs::write(dir.path().join("model.pkl"), benign_state_dict()).ok();
    let rep = scan_paths(&[dir.path().to_path_buf()], &opts());
    assert_eq!(rep.files.len(), 2);
    assert_eq!(rep.exit_code(), 0, "{rep:?}");
    std::fs::create_dir(dir.path().join("sub")).ok();
    std::fs::write(dir.path().join("sub/evil.bin"), evil_pickle()).ok();
    let rep = scan_paths(&[dir.path().to_path_buf()], &opts());
    assert_eq!(rep.exit_code(), 1);
    let rep = scan_paths(&[dir.path().join("missing.pt")], &opts());
    assert_eq!(rep.exit_code(), 2);
}

/// Every fixture above, truncated and with bytes flipped: the scanners must not panic, and a
/// damaged file must never come out clean when the original had findings.
#[test]
fn damaged_fixtures_never_panic() {
    let mut fixtures: Vec<(&str, Vec<u8>)> = vec![
        (
            "m.pt",
            zip_of(&[
                ("archive/data.pkl", &benign_state_dict()),
                ("archive/x.pkl", &evil_pickle()),
            ]),
        ),
        ("a.npy", npy("|O", &evil_pickle())),
        (
            "m.safetensors",
            safetensors(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                8,
            ),
        ),
        ("m.gguf", gguf("{{ messages }}")),
        ("m.pkl", evil_pickle()),
    ];
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    let evil = evil_pickle();
    h.set_size(evil.len() as u64);
    h.set_cksum();
    b.append_data(&mut h, "pickle", evil.as_slice()).ok();
    fixtures.push(("c.tar", b.into_inner().unwrap_or_default()));
    let o = opts();
    for (name, data) in &fixtures {
        let step = (data.len() / 97).max(1);
        for i in (0..data.len()).step_by(step) {
            let _ = scan_bytes(name, data.get(..i).unwrap_or(&[]), &o);
            for flip in [0x01u8, 0x80, 0xff] {
                let mut d = data.clone();
                if let Some(x) = d.get_mut(i) {
                    *x ^= flip;
                }
                let r = scan_bytes(name, &d, &o);
                if name.ends_with(".pkl") {
                    assert_ne!(
                        r.status,
                        Status::Clean,
                        "damaged malicious pickle came out clean at {i}"
                    );
                }
            }
        }
    }
}
