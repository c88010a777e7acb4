//! Throughput of `model scan` and of model hashing (the work behind `model sign`/`verify`).
//!
//! ```text
//! cargo run --release -p gatehouse-supply --example scan_throughput [SIZE_MIB]
//! ```
//!
//! Builds its fixtures in a temporary directory (default 512 MiB each), then times:
//! * a raw pickle checkpoint whose tensors are inline `BINBYTES8` arrays (every byte streamed
//!   through the interpreter),
//! * an opcode-dense pickle (millions of small opcodes: the interpreter's per-opcode cost),
//! * a PyTorch zip checkpoint (the pickle is interpreted; stored tensors are not read),
//! * SHA-256 hashing of a model directory on one thread and on all cores.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use gatehouse_supply::scan::{ScanOptions, Status, scan_file};
use gatehouse_supply::signing::{HashOptions, hash_model};

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// CPU seconds (user + system) this process has used, from /proc (Linux); 0 elsewhere.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Prints wall-clock throughput and CPU-time throughput (what the work costs per core, which
/// stays meaningful on a machine shared with other jobs).
fn report(what: &str, bytes: u64, secs: f64, cpu: f64) {
    let per_cpu = if cpu > 0.0 {
        format!("{:>8.1} MB/s per CPU-second", bytes as f64 / cpu / 1e6)
    } else {
        String::new()
    };
    println!(
        "{what:<44} {:>7.1} MiB in {secs:>6.3} s = {:>8.1} MB/s wall, {per_cpu}",
        mib(bytes),
        bytes as f64 / secs / 1e6
    );
}

/// A state dict pickle: OrderedDict of `n` arrays rebuilt by numpy, each carrying `chunk` bytes.
fn write_array_pickle(path: &Path, n: usize, chunk: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let data = vec![0x3fu8; chunk];
    f.write_all(b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00")
        .unwrap();
    f.write_all(b"\x8c\x0bcollections\x8c\x0bOrderedDict\x93)R")
        .unwrap();
    f.write_all(b"\x8c\x15numpy.core.multiarray\x8c\x0c_reconstruct\x93\x94")
        .unwrap();
    for i in 0..n {
        let key = format!("layer.{i}.weight");
        f.write_all(&[0x8c, key.len() as u8]).unwrap();
        f.write_all(key.as_bytes()).unwrap();
        // _reconstruct(ndarray, (0,), b'b') then BUILD with the raw bytes as state
        f.write_all(b"h\x00\x8c\x05numpy\x8c\x07ndarray\x93K\x00\x85C\x01b\x87R")
            .unwrap();
        f.write_all(b"\x8e").unwrap();
        f.write_all(&(chunk as u64).to_le_bytes()).unwrap();
        f.write_all(&data).unwrap();
        f.write_all(b"bs").unwrap();
    }
    f.write_all(b".").unwrap();
}

/// A pickle made of `n` small ints appended to a list in batches of 1000.
fn write_dense_pickle(path: &Path, n: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(b"\x80\x04]").unwrap();
    let mut left = n;
    while left > 0 {
        let k = left.min(1000);
        f.write_all(b"(").unwrap();
        for i in 0..k {
            f.write_all(&[b'K', (i % 251) as u8]).unwrap();
        }
        f.write_all(b"e").unwrap();
        left -= k;
    }
    f.write_all(b".").unwrap();
}

fn write_torch_zip(path: &Path, tensors: usize, bytes_each: usize) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let mut pkl = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01".to_vec();
    for i in 0..tensors {
        let key = format!("l{i}");
        pkl.extend([b'X']);
        pkl.extend((key.len() as u32).to_le_bytes());
        pkl.extend(key.as_bytes());
        pkl.extend(
            b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n",
        );
        let id = i.to_string();
        pkl.extend([b'X']);
        pkl.extend((id.len() as u32).to_le_bytes());
        pkl.extend(id.as_bytes());
        pkl.extend(b"X\x03\x00\x00\x00cpuJ\x00\x01\x00\x00tQK\x00J\x00\x01\x00\x00\x85K\x01\x85\x89h\x01tRs");
    }
    pkl.extend(b".");
    w.start_file("archive/data.pkl", o).unwrap();
    w.write_all(&pkl).unwrap();
    let data = vec![1u8; bytes_each];
    for i in 0..tensors {
        w.start_file(format!("archive/data/{i}"), o).unwrap();
        w.write_all(&data).unwrap();
    }
    w.finish().unwrap();
}

fn time_scan(what: &str, path: &Path) {
    let opts = ScanOptions::default();
    let (t, c) = (Instant::now(), cpu_secs());
    let r = scan_file(path, &opts);
    let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_secs() - c);
    assert_eq!(r.status, Status::Clean, "{r:?}");
    report(what, r.bytes, secs, cpu);
}

fn main() {
    let size_mib: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(512);
    let dir = tempfile::tempdir().unwrap();
    let bytes = size_mib * 1024 * 1024;
    println!("fixtures: {size_mib} MiB each, in {}", dir.path().display());

    let p = dir.path().join("arrays.pkl");
    write_array_pickle(&p, bytes / (1 << 20), 1 << 20);
    time_scan("scan: raw pickle, 1 MiB inline arrays", &p);

    let p = dir.path().join("dense.pkl");
    write_dense_pickle(&p, bytes / 16 / 2);
    time_scan("scan: opcode-dense pickle (2-byte opcodes)", &p);

    let p = dir.path().join("torch.pt");
    write_torch_zip(&p, 512, bytes / 512);
    time_scan("scan: torch zip checkpoint (512 tensors)", &p);

    let m = dir.path().join("model");
    std::fs::create_dir(&m).unwrap();
    let chunk = vec![0xa5u8; 1 << 20];
    for shard in 0..4 {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(m.join(format!("shard-{shard}.bin"))).unwrap(),
        );
        for _ in 0..size_mib / 4 {
            f.write_all(&chunk).unwrap();
        }
    }
    {
        use sha2::Digest as _;
        let buf = vec![0x5au8; 256 << 20];
        let (t, c) = (Instant::now(), cpu_secs());
        let d = sha2::Sha256::digest(&buf);
        report(
            "sha256 in memory (no I/O), 1 thread",
            buf.len() as u64,
            t.elapsed().as_secs_f64(),
            cpu_secs() - c,
        );
        assert_eq!(d.len(), 32);
    }
    for threads in [1, 0] {
        let opts = HashOptions {
            threads,
            ..HashOptions::default()
        };
        let (t, c) = (Instant::now(), cpu_secs());
        let man = hash_model(&m, &opts, &[], None).unwrap();
        let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_secs() - c);
        let label = if threads == 1 {
            "hash: 4 files, 1 thread".to_string()
        } else {
            "hash: 4 files, all cores".to_string()
        };
        assert_eq!(man.items.len(), 4);
        report(&label, (size_mib / 4 * 4 * (1 << 20)) as u64, secs, cpu);
    }
}
