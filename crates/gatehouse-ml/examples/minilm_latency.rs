//! Measures the embedder's latency on a 1 KB English text.
//!
//! ```text
//! cargo run --release -p gatehouse-ml --example minilm_latency -- DIR [RUNS]
//! RAYON_NUM_THREADS=1 cargo run --release -p gatehouse-ml --example minilm_latency -- DIR
//! ```
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::time::Instant;

use gatehouse_ml::Embedder;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: minilm_latency DIR [RUNS]")?;
    let runs: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(30);
    let emb = Embedder::load(std::path::Path::new(&dir))?;
    let para = "Please summarise the attached quarterly report for the board and list the three \
                main risks, the open actions and who owns each of them. ";
    let text: String = para
        .repeat(1024 / para.len() + 1)
        .chars()
        .take(1024)
        .collect();
    emb.embed_windows(&text)?; // warm-up
    let mut t: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let s = Instant::now();
            emb.embed_windows(&text)
                .map(|_| s.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<Result<_, _>>()?;
    t.sort_by(f64::total_cmp);
    println!(
        "1 KB text ({} bytes): median {:.1} ms, p90 {:.1} ms, min {:.1} ms over {} runs (RAYON_NUM_THREADS={})",
        text.len(),
        t[t.len() / 2],
        t[(t.len() - 1) * 9 / 10],
        t[0],
        t.len(),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".to_owned())
    );
    Ok(())
}
