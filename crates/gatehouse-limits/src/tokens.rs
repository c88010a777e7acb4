//! Prompt token counting.
//!
//! GPT-style models are counted exactly with OpenAI's BPE (`bpe-openai`): `o200k_base` for the
//! GPT-4o / GPT-4.1 / GPT-5 / o-series families, `cl100k_base` for GPT-4, GPT-3.5 and the
//! `text-embedding-3` / `ada-002` embeddings. Every other model is **estimated** as the UTF-8
//! length in bytes divided by 3, rounded up: about 1.33× the usual four characters per token of
//! English text (a safety factor, so budgets are over- rather than under-reserved), and about one
//! token per character for CJK text. The estimate only sizes the reservation: settlement charges
//! what the upstream reports.

/// Which tokenizer counts a model's prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerKind {
    /// OpenAI `o200k_base`.
    O200k,
    /// OpenAI `cl100k_base`.
    Cl100k,
    /// `ceil(utf8_bytes / 3)`.
    Estimate,
}

/// The tokenizer for `model` (by name prefix; a `provider/` prefix is ignored).
pub fn tokenizer_for(model: &str) -> TokenizerKind {
    let m = model.rsplit('/').next().unwrap_or(model);
    let m = m.to_ascii_lowercase();
    const O200K: [&str; 9] = [
        "gpt-4o",
        "chatgpt-4o",
        "gpt-4.1",
        "gpt-4.5",
        "gpt-5",
        "o1",
        "o3",
        "o4",
        "gpt-oss",
    ];
    const CL100K: [&str; 5] = [
        "gpt-4",
        "gpt-3.5",
        "gpt-35",
        "text-embedding-3",
        "text-embedding-ada",
    ];
    if O200K.iter().any(|p| m.starts_with(p)) {
        TokenizerKind::O200k
    } else if CL100K.iter().any(|p| m.starts_with(p)) {
        TokenizerKind::Cl100k
    } else {
        TokenizerKind::Estimate
    }
}

/// Builds both OpenAI tokenizers now (about 70 ms each on first use, from data compiled into the
/// binary), so that the first request does not pay for it. Call it at start-up.
pub fn warm_up() {
    let _ = bpe_openai::o200k_base().count("warm up");
    let _ = bpe_openai::cl100k_base().count("warm up");
}

/// Loads only the tokenizers these models use (each BPE table costs tens of MiB of memory), so
/// that the first request does not pay for it.
pub fn warm_up_for<'a>(models: impl IntoIterator<Item = &'a str>) {
    let (mut o200k, mut cl100k) = (false, false);
    for m in models {
        match tokenizer_for(m) {
            TokenizerKind::O200k => o200k = true,
            TokenizerKind::Cl100k => cl100k = true,
            TokenizerKind::Estimate => {}
        }
    }
    if o200k {
        let _ = bpe_openai::o200k_base().count("warm up");
    }
    if cl100k {
        let _ = bpe_openai::cl100k_base().count("warm up");
    }
}

/// Counts (or estimates, see the module docs) the tokens of `text` for `model`.
pub fn count_tokens(model: &str, text: &str) -> u32 {
    let n = match tokenizer_for(model) {
        TokenizerKind::O200k => bpe_openai::o200k_base().count(text),
        TokenizerKind::Cl100k => bpe_openai::cl100k_base().count(text),
        TokenizerKind::Estimate => text.len().div_ceil(3),
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_family_tokenizer() {
        assert_eq!(tokenizer_for("gpt-4o-mini"), TokenizerKind::O200k);
        assert_eq!(tokenizer_for("openai/o3-mini"), TokenizerKind::O200k);
        assert_eq!(tokenizer_for("gpt-4-turbo"), TokenizerKind::Cl100k);
        assert_eq!(tokenizer_for("claude-sonnet-4"), TokenizerKind::Estimate);
    }

    #[test]
    fn counts_gpt_tokens_exactly_and_estimates_others() {
        // "hello world" is two tokens in both OpenAI encodings.
        assert_eq!(count_tokens("gpt-4o", "hello world"), 2);
        assert_eq!(count_tokens("gpt-4", "hello world"), 2);
        assert_eq!(count_tokens("claude-3-haiku", "hello world"), 4);
        assert_eq!(count_tokens("claude-3-haiku", ""), 0);
    }
}
