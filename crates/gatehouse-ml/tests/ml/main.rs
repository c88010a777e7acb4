//! Integration tests of gatehouse-ml: tiny random models built here, saved in the formats a
//! user ships (config.json, model.safetensors, tokenizer.json), loaded through the real paths.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod classify;
mod embed;
mod fixtures;
mod head;
mod install;
mod minilm;
mod ner;
