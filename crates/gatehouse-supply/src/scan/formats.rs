//! Structural validators for the non-pickle formats: NumPy, safetensors, GGUF, Keras, HDF5,
//! ONNX and TensorFlow SavedModel. Each reads only what it needs, from a stream.

use std::collections::HashSet;
use std::io::{BufRead, Read};
use std::path::Path;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

use super::{Ctx, run_pickle};
use crate::finding::{Finding, Severity};
use crate::pickle::Pickles;

/// The safetensors reference loader refuses headers above 100 MB.
const SAFETENSORS_MAX_HEADER: u64 = 100_000_000;

pub(crate) fn looks_like_safetensors(head: &[u8], len: Option<u64>) -> bool {
    let Some(n) = head.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
        return false;
    };
    let n = u64::from_le_bytes(n);
    let first = head
        .get(8..)
        .and_then(|rest| rest.iter().find(|b| !b.is_ascii_whitespace()));
    (2..=SAFETENSORS_MAX_HEADER).contains(&n)
        && len.is_none_or(|l| n + 8 <= l)
        && first == Some(&b'{')
}

pub(crate) fn looks_like_onnx(head: &[u8]) -> bool {
    // ModelProto starts with ir_version (field 1, varint) followed by producer/graph/opset fields.
    matches!(head, [0x08, v, t, ..] if (3..=20).contains(v) && matches!(t, 0x12 | 0x1a | 0x22 | 0x28 | 0x32 | 0x3a | 0x42))
}

// ---------------------------------------------------------------------------------------------
// NumPy

pub(crate) fn scan_npy(ctx: &mut Ctx<'_>, label: &str, r: &mut dyn BufRead) {
    let mut pre = [0u8; 8];
    if r.read_exact(&mut pre).is_err() {
        ctx.incomplete(label, "truncated .npy preamble");
        return;
    }
    let hlen: u64 = match pre.get(6) {
        Some(1) => {
            let mut b = [0u8; 2];
            if r.read_exact(&mut b).is_err() {
                ctx.incomplete(label, "truncated .npy header length");
                return;
            }
            u64::from(u16::from_le_bytes(b))
        }
        Some(2 | 3) => {
            let mut b = [0u8; 4];
            if r.read_exact(&mut b).is_err() {
                ctx.incomplete(label, "truncated .npy header length");
                return;
            }
            u64::from(u32::from_le_bytes(b))
        }
        other => {
            ctx.incomplete(label, format!("unsupported .npy version {other:?}"));
            return;
        }
    };
    if hlen > 1_000_000 {
        ctx.find(
            Finding::new(
                "npy-header",
                Severity::Medium,
                format!(".npy header of {hlen} bytes"),
            )
            .at(label),
        );
        ctx.incomplete(label, "oversized .npy header");
        return;
    }
    let mut header = Vec::new();
    if r.take(hlen).read_to_end(&mut header).map(|n| n as u64).ok() != Some(hlen) {
        ctx.incomplete(label, "truncated .npy header");
        return;
    }
    let header = String::from_utf8_lossy(&header);
    if !header.contains("descr") {
        ctx.incomplete(label, "malformed .npy header");
        return;
    }
    if npy_has_object_dtype(&header) {
        // numpy.load(allow_pickle=True) unpickles the whole payload.
        run_pickle(
            ctx,
            &format!("{label}[object array]"),
            r,
            Pickles::Exactly(1),
        );
    }
}

/// True if any quoted dtype string in the header is an object type (`|O`, `O`, `<O8` …).
fn npy_has_object_dtype(header: &str) -> bool {
    let mut rest = header;
    while let Some(start) = rest.find(['\'', '"']) {
        let q = rest.as_bytes().get(start).copied().unwrap_or(b'\'') as char;
        let after = rest.get(start + 1..).unwrap_or("");
        let Some(end) = after.find(q) else { break };
        let token = after.get(..end).unwrap_or("");
        let t = token.trim_start_matches(['<', '>', '|', '=']);
        if t.starts_with('O')
            && t.get(1..)
                .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
        {
            return true;
        }
        rest = after.get(end + 1..).unwrap_or("");
    }
    false
}

// ---------------------------------------------------------------------------------------------
// safetensors

/// Collects top-level keys, rejecting duplicates (parsers disagree on which one wins).
struct Keys(bool);

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Keys, A::Error> {
                let mut seen = HashSet::new();
                let mut dup = false;
                while let Some(k) = m.next_key::<String>()? {
                    let _ = m.next_value::<IgnoredAny>()?;
                    if !seen.insert(k) {
                        dup = true;
                    }
                }
                Ok(Keys(dup))
            }
        }
        d.deserialize_map(V)
    }
}

fn dtype_size(d: &str) -> Option<u64> {
    Some(match d {
        "BOOL" | "U8" | "I8" | "F8_E4M3" | "F8_E5M2" | "F8_E8M0" => 1,
        "I16" | "U16" | "F16" | "BF16" => 2,
        "I32" | "U32" | "F32" => 4,
        "I64" | "U64" | "F64" | "C64" => 8,
        _ => return None,
    })
}

pub(crate) fn scan_safetensors(
    ctx: &mut Ctx<'_>,
    label: &str,
    r: &mut dyn BufRead,
    len: Option<u64>,
) {
    let mut n = [0u8; 8];
    if r.read_exact(&mut n).is_err() {
        ctx.incomplete(label, "truncated safetensors header length");
        return;
    }
    let n = u64::from_le_bytes(n);
    let mut header = Vec::new();
    if r.take(n).read_to_end(&mut header).map(|g| g as u64).ok() != Some(n) {
        ctx.find(
            Finding::new(
                "safetensors-header",
                Severity::High,
                "header length exceeds the file",
            )
            .at(label),
        );
        return;
    }
    let bad = |ctx: &mut Ctx<'_>, msg: String| {
        ctx.find(Finding::new("safetensors-header", Severity::High, msg).at(label));
    };
    match serde_json::from_slice::<Keys>(&header) {
        Err(e) => {
            bad(ctx, format!("header is not a JSON object: {e}"));
            return;
        }
        Ok(Keys(true)) => bad(ctx, "duplicate keys in header".into()),
        Ok(_) => {}
    }
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(&header)
    else {
        bad(ctx, "header is not a JSON object".into());
        return;
    };
    // Without a known length (a gzip member) count the data stream to check offsets.
    let data_len = match len {
        Some(l) => l.saturating_sub(8 + n),
        None => std::io::copy(r, &mut std::io::sink()).unwrap_or(0),
    };
    let mut spans: Vec<(u64, u64, String)> = Vec::new();
    for (name, v) in &map {
        if name == "__metadata__" {
            let ok = v
                .as_object()
                .is_some_and(|m| m.values().all(|x| x.is_string()));
            if !ok {
                bad(ctx, "__metadata__ must map strings to strings".into());
            }
            continue;
        }
        let Some(t) = v.as_object() else {
            bad(ctx, format!("tensor `{name}` is not an object"));
            continue;
        };
        if let Some(extra) = t
            .keys()
            .find(|k| !matches!(k.as_str(), "dtype" | "shape" | "data_offsets"))
        {
            bad(ctx, format!("tensor `{name}` has unknown field `{extra}`"));
        }
        let Some(size) = t.get("dtype").and_then(|d| d.as_str()).and_then(dtype_size) else {
            bad(
                ctx,
                format!("tensor `{name}` has a missing or unknown dtype"),
            );
            continue;
        };
        let shape: Option<Vec<u64>> = t
            .get("shape")
            .and_then(|s| s.as_array())
            .and_then(|a| a.iter().map(|x| x.as_u64()).collect());
        let Some(shape) = shape else {
            bad(ctx, format!("tensor `{name}` has an invalid shape"));
            continue;
        };
        let offs: Option<Vec<u64>> = t
            .get("data_offsets")
            .and_then(|s| s.as_array())
            .and_then(|a| a.iter().map(|x| x.as_u64()).collect());
        let Some([begin, end]) = offs.as_deref().and_then(|o| <[u64; 2]>::try_from(o).ok()) else {
            bad(ctx, format!("tensor `{name}` has invalid data_offsets"));
            continue;
        };
        if end < begin || end > data_len {
            bad(
                ctx,
                format!(
                    "tensor `{name}` offsets [{begin}, {end}) outside the {data_len}-byte data section"
                ),
            );
            continue;
        }
        let expected = shape.iter().try_fold(size, |acc, d| acc.checked_mul(*d));
        if expected != Some(end - begin) {
            bad(
                ctx,
                format!(
                    "tensor `{name}` spans {} bytes but its dtype and shape need {expected:?}",
                    end - begin
                ),
            );
        }
        spans.push((begin, end, name.clone()));
    }
    spans.sort();
    let mut cursor = 0u64;
    for (b, e, name) in &spans {
        if *b < cursor {
            bad(ctx, format!("tensor `{name}` overlaps the previous tensor"));
        } else if *b > cursor {
            ctx.find(
                Finding::new(
                    "safetensors-gap",
                    Severity::Low,
                    format!("{} unindexed bytes before tensor `{name}`", b - cursor),
                )
                .at(label),
            );
        }
        cursor = cursor.max(*e);
    }
    if cursor < data_len {
        ctx.find(
            Finding::new(
                "safetensors-gap",
                Severity::Low,
                format!(
                    "{} unindexed bytes after the last tensor",
                    data_len - cursor
                ),
            )
            .at(label),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// GGUF

struct Gguf<'r> {
    r: &'r mut dyn BufRead,
    pos: u64,
    len: Option<u64>,
}

#[derive(Debug)]
struct GgufErr(String);

impl Gguf<'_> {
    fn remaining(&self) -> u64 {
        self.len.map_or(u64::MAX, |l| l.saturating_sub(self.pos))
    }
    fn exact<const N: usize>(&mut self) -> Result<[u8; N], GgufErr> {
        let mut b = [0u8; N];
        self.r
            .read_exact(&mut b)
            .map_err(|_| GgufErr(format!("truncated at byte {}", self.pos)))?;
        self.pos += N as u64;
        Ok(b)
    }
    fn u32(&mut self) -> Result<u32, GgufErr> {
        Ok(u32::from_le_bytes(self.exact::<4>()?))
    }
    fn u64(&mut self) -> Result<u64, GgufErr> {
        Ok(u64::from_le_bytes(self.exact::<8>()?))
    }
    /// Reads a string, keeping at most `keep` bytes of it.
    fn string(&mut self, keep: u64) -> Result<Option<String>, GgufErr> {
        let n = self.u64()?;
        if n > self.remaining() {
            return Err(GgufErr(format!(
                "string of {n} bytes at byte {} runs past the end",
                self.pos
            )));
        }
        if n <= keep {
            let mut v = Vec::new();
            let got = (&mut *self.r)
                .take(n)
                .read_to_end(&mut v)
                .map_err(|e| GgufErr(e.to_string()))? as u64;
            self.pos += got;
            if got != n {
                return Err(GgufErr("truncated string".into()));
            }
            Ok(Some(String::from_utf8_lossy(&v).into_owned()))
        } else {
            let got = std::io::copy(&mut (&mut *self.r).take(n), &mut std::io::sink())
                .map_err(|e| GgufErr(e.to_string()))?;
            self.pos += got;
            if got != n {
                return Err(GgufErr("truncated string".into()));
            }
            Ok(None)
        }
    }
    fn skip(&mut self, n: u64) -> Result<(), GgufErr> {
        if n > self.remaining() {
            return Err(GgufErr(format!("value of {n} bytes runs past the end")));
        }
        let got = std::io::copy(&mut (&mut *self.r).take(n), &mut std::io::sink())
            .map_err(|e| GgufErr(e.to_string()))?;
        self.pos += got;
        if got != n {
            return Err(GgufErr("truncated value".into()));
        }
        Ok(())
    }
}

fn gguf_scalar_size(t: u32) -> Option<u64> {
    Some(match t {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        10..=12 => 8,
        _ => return None,
    })
}

/// Reads a metadata value; returns a string value when it is one and short enough to keep.
fn gguf_value(g: &mut Gguf<'_>, t: u32, keep: u64, depth: u8) -> Result<Option<String>, GgufErr> {
    if let Some(s) = gguf_scalar_size(t) {
        g.skip(s)?;
        return Ok(None);
    }
    match t {
        8 => g.string(keep),
        9 => {
            if depth > 2 {
                return Err(GgufErr("arrays nested too deeply".into()));
            }
            let et = g.u32()?;
            let count = g.u64()?;
            if let Some(s) = gguf_scalar_size(et) {
                let total = count
                    .checked_mul(s)
                    .ok_or_else(|| GgufErr("array size overflows".into()))?;
                g.skip(total)?;
            } else {
                // Every string or array element needs at least 8 bytes.
                if count.saturating_mul(8) > g.remaining() {
                    return Err(GgufErr(format!(
                        "array of {count} elements runs past the end"
                    )));
                }
                for _ in 0..count {
                    gguf_value(g, et, 0, depth + 1)?;
                }
            }
            Ok(None)
        }
        other => Err(GgufErr(format!("unknown metadata value type {other}"))),
    }
}

/// (block size in elements, bytes per block) for the ggml tensor types whose layout is fixed.
fn ggml_block(t: u32) -> Option<(u64, u64)> {
    Some(match t {
        0 => (1, 4),
        1 => (1, 2),
        2 => (32, 18),
        3 => (32, 20),
        6 => (32, 22),
        7 => (32, 24),
        8 => (32, 34),
        9 => (32, 36),
        10 => (256, 84),
        11 => (256, 110),
        12 => (256, 144),
        13 => (256, 176),
        14 => (256, 210),
        15 => (256, 292),
        24 => (1, 1),
        25 => (1, 2),
        26 => (1, 4),
        27 => (1, 8),
        28 => (1, 8),
        30 => (1, 2),
        _ => return None,
    })
}

pub(crate) fn scan_gguf(ctx: &mut Ctx<'_>, label: &str, r: &mut dyn BufRead, len: Option<u64>) {
    let mut g = Gguf { r, pos: 0, len };
    match gguf_inner(ctx, label, &mut g) {
        Ok(()) => {}
        Err(GgufErr(why)) => {
            ctx.find(
                Finding::new(
                    "gguf-structure",
                    Severity::High,
                    format!("malformed GGUF: {why}"),
                )
                .at(label),
            );
        }
    }
}

fn gguf_inner(ctx: &mut Ctx<'_>, label: &str, g: &mut Gguf<'_>) -> Result<(), GgufErr> {
    let _magic = g.exact::<4>()?;
    let version = g.u32()?;
    if !(2..=3).contains(&version) {
        ctx.incomplete(label, format!("GGUF version {version} not supported"));
        return Ok(());
    }
    let n_tensors = g.u64()?;
    let n_kv = g.u64()?;
    // Each key-value pair needs at least 13 bytes, each tensor info at least 24.
    if n_kv.saturating_mul(13) > g.remaining() || n_tensors.saturating_mul(24) > g.remaining() {
        return Err(GgufErr(format!(
            "{n_kv} metadata entries / {n_tensors} tensors cannot fit in the file"
        )));
    }
    let mut alignment: u64 = 32;
    for _ in 0..n_kv {
        let key = g
            .string(65_535)?
            .ok_or_else(|| GgufErr("metadata key longer than 65535 bytes".into()))?;
        let t = g.u32()?;
        if key == "general.alignment" && t == 4 {
            alignment = u64::from(g.u32()?);
            if alignment == 0 || !alignment.is_power_of_two() {
                return Err(GgufErr(format!(
                    "general.alignment {alignment} is not a power of two"
                )));
            }
            continue;
        }
        let keep = if key.starts_with("tokenizer.chat_template") {
            4 * 1024 * 1024
        } else {
            0
        };
        let v = gguf_value(g, t, keep, 0)?;
        if keep > 0 {
            match v {
                Some(template) => check_jinja(ctx, &format!("{label}[{key}]"), &template),
                None if t == 8 => {
                    ctx.incomplete(label, format!("{key}: template too large to analyse"))
                }
                None => {}
            }
        }
    }
    let mut tensors = Vec::new();
    for _ in 0..n_tensors {
        let name = g.string(1024)?.unwrap_or_default();
        let n_dims = g.u32()?;
        if n_dims > 4 {
            return Err(GgufErr(format!(
                "tensor `{name}` has {n_dims} dimensions (max 4)"
            )));
        }
        let mut elems: u64 = 1;
        for _ in 0..n_dims {
            let d = g.u64()?;
            elems = elems
                .checked_mul(d)
                .ok_or_else(|| GgufErr(format!("tensor `{name}` element count overflows")))?;
        }
        let ty = g.u32()?;
        let offset = g.u64()?;
        if offset % alignment != 0 {
            return Err(GgufErr(format!(
                "tensor `{name}` offset {offset} not aligned to {alignment}"
            )));
        }
        let size = ggml_block(ty).map(|(blk, bytes)| elems.div_ceil(blk).saturating_mul(bytes));
        tensors.push((offset, size, name, ty));
    }
    let data_start = g.pos.div_ceil(alignment).saturating_mul(alignment);
    let data_len = g.len.map(|l| l.saturating_sub(data_start));
    tensors.sort();
    let mut end_prev = 0u64;
    let mut unknown_types = 0usize;
    for (offset, size, name, _ty) in &tensors {
        if *offset < end_prev {
            return Err(GgufErr(format!(
                "tensor `{name}` overlaps the previous tensor"
            )));
        }
        let Some(size) = size else {
            unknown_types += 1;
            end_prev = *offset;
            continue;
        };
        let end = offset.saturating_add(*size);
        if let Some(dl) = data_len
            && end > dl
        {
            return Err(GgufErr(format!(
                "tensor `{name}` [{offset}, {end}) runs past the {dl}-byte data section"
            )));
        }
        end_prev = end;
    }
    if unknown_types > 0 {
        ctx.incomplete(
            label,
            format!("{unknown_types} tensor(s) of ggml types whose size is not checked"),
        );
    }
    Ok(())
}

/// Flags Jinja templates that reach for Python attributes or globals: the llama-cpp-python
/// server-side template injection (CVE-2024-34359) rendered GGUF chat templates in a non-sandboxed
/// environment, where `{{ ''.__class__.__mro__[1].__subclasses__() }}` leads to `os.popen`.
pub(crate) fn check_jinja(ctx: &mut Ctx<'_>, label: &str, template: &str) {
    let compact: String = template.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = compact.to_ascii_lowercase();
    let dunder = lower.match_indices("__").count() >= 2
        && [
            "__class__",
            "__mro__",
            "__subclasses__",
            "__globals__",
            "__builtins__",
            "__init__",
            "__import__",
            "__base__",
            "__bases__",
            "__dict__",
            "__getattribute__",
            "__reduce",
            "__code__",
            "__self__",
            "__func__",
            "__module__",
        ]
        .iter()
        .any(|d| lower.contains(d));
    if dunder {
        ctx.find(Finding::new(
            "gguf-template-injection",
            Severity::Critical,
            "chat template accesses Python dunder attributes (server-side template injection, CVE-2024-34359)",
        ).at(label));
    }
    if lower.contains("|attr(") || lower.contains("|attr") && lower.contains("attr(") {
        ctx.find(
            Finding::new(
                "gguf-template-injection",
                Severity::High,
                "chat template uses the `attr` filter to reach object attributes",
            )
            .at(label),
        );
    }
    for g in [
        "lipsum",
        "cycler",
        "joiner",
        "namespace.__",
        "self.",
        "config.",
        "request.",
        "url_for",
        "get_flashed_messages",
        "import",
        "popen",
        "os.",
        "subprocess",
        "eval(",
        "exec(",
    ] {
        if lower.contains(g) {
            ctx.find(
                Finding::new(
                    "gguf-template-suspicious",
                    Severity::High,
                    format!("chat template refers to `{g}`, which chat templates never need"),
                )
                .at(label),
            );
            break;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keras

/// Modules a Keras v3 config may name without a custom-object review.
fn keras_module_ok(m: &str) -> bool {
    ["keras", "keras_hub", "keras_nlp", "keras_cv", "tf_keras"]
        .iter()
        .any(|root| m == *root || m.strip_prefix(root).is_some_and(|r| r.starts_with('.')))
}

pub(crate) fn scan_keras_config(ctx: &mut Ctx<'_>, label: &str, r: &mut dyn Read) {
    let mut buf = Vec::new();
    if r.take(64 * 1024 * 1024).read_to_end(&mut buf).is_err() {
        ctx.incomplete(label, "cannot read Keras config");
        return;
    }
    match serde_json::from_slice::<serde_json::Value>(&buf) {
        Ok(v) => keras_walk(ctx, label, &v, 0),
        Err(e) => ctx.incomplete(label, format!("Keras config is not JSON: {e}")),
    }
}

/// Walks a Keras model config (Keras v3 `config.json` or the legacy H5 `model_config`).
pub(crate) fn keras_walk(ctx: &mut Ctx<'_>, label: &str, v: &serde_json::Value, depth: usize) {
    if depth > 256 {
        ctx.incomplete(label, "Keras config nested too deeply");
        return;
    }
    match v {
        serde_json::Value::Object(m) => {
            let class = m.get("class_name").and_then(|c| c.as_str()).unwrap_or("");
            if class == "Lambda"
                || class == "__lambda__"
                || m.get("function_type").and_then(|f| f.as_str()) == Some("lambda")
            {
                ctx.find(
                    Finding::new(
                        "keras-lambda",
                        Severity::High,
                        "Lambda layer: Keras deserialises its Python bytecode and runs it",
                    )
                    .at(label),
                );
            }
            if let Some(module) = m.get("module").and_then(|x| x.as_str())
                && !keras_module_ok(module)
            {
                let sev = if crate::pickle::policy::Policy::new().judge(module, class)
                    == crate::pickle::policy::Verdict::Unknown
                {
                    Severity::High
                } else {
                    Severity::Critical
                };
                ctx.find(
                    Finding::new(
                        "keras-foreign-module",
                        sev,
                        format!(
                            "config imports `{module}.{class}` outside keras.* (CVE-2025-1550)"
                        ),
                    )
                    .at(label),
                );
            }
            if let Some(reg) = m.get("registered_name").and_then(|x| x.as_str())
                && reg.contains('>')
            {
                ctx.find(
                    Finding::new(
                        "keras-custom-object",
                        Severity::Medium,
                        format!("custom registered object `{reg}` requires code outside the model"),
                    )
                    .at(label),
                );
            }
            for x in m.values() {
                keras_walk(ctx, label, x, depth + 1);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                keras_walk(ctx, label, x, depth + 1);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// HDF5 (legacy Keras .h5)

/// We do not parse HDF5; the Keras `model_config` attribute is a JSON string stored contiguously,
/// so we look for it in the raw bytes and analyse what we find. The file stays *incomplete*.
pub(crate) fn scan_hdf5(ctx: &mut Ctx<'_>, label: &str, r: &mut dyn BufRead) {
    let needle = b"{\"class_name\"";
    let mut carry: Vec<u8> = Vec::new();
    let mut found = 0usize;
    let mut raw_lambda = false;
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                ctx.incomplete(label, format!("read error: {e}"));
                return;
            }
        };
        carry.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        // A config we could not parse as JSON may still name a Lambda layer in plain bytes.
        raw_lambda |= [
            &b"\"class_name\": \"Lambda\""[..],
            b"\"class_name\":\"Lambda\"",
        ]
        .iter()
        .any(|m| carry.windows(m.len()).any(|w| w == *m));
        while let Some(pos) = carry.windows(needle.len()).position(|w| w == needle) {
            let rest = carry.get(pos..).unwrap_or(&[]);
            let mut de =
                serde_json::Deserializer::from_slice(rest).into_iter::<serde_json::Value>();
            match de.next() {
                Some(Ok(v)) => {
                    found += 1;
                    keras_walk(ctx, label, &v, 0);
                    let used = de.byte_offset();
                    carry.drain(..pos + used.max(1));
                }
                Some(Err(e)) if e.is_eof() && rest.len() < 64 * 1024 * 1024 => break,
                _ => {
                    carry.drain(..pos + 1);
                }
            }
        }
        if carry.len() > 64 * 1024 * 1024 || !carry.windows(needle.len()).any(|w| w == needle) {
            // Keep a tail so that a needle or marker split across reads is still seen.
            let keep = carry.len().saturating_sub(64);
            carry.drain(..keep);
        }
    }
    if raw_lambda {
        ctx.find(
            Finding::new(
                "keras-lambda",
                Severity::High,
                "Lambda layer in HDF5 model config",
            )
            .at(label),
        );
    }
    ctx.incomplete(
        label,
        format!("HDF5 is not parsed; {found} embedded Keras config(s) analysed from raw bytes"),
    );
}

// ---------------------------------------------------------------------------------------------
// Protobuf (ONNX, SavedModel)

struct Pb<'a> {
    b: &'a [u8],
    i: usize,
}

enum Field<'a> {
    Varint,
    Bytes(&'a [u8]),
    Fixed,
}

impl<'a> Pb<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self.b.get(self.i)?;
            self.i += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    /// Next field, or `Some(Err)` on malformed input.
    fn next(&mut self) -> Option<Result<(u64, Field<'a>), ()>> {
        if self.i >= self.b.len() {
            return None;
        }
        let Some(key) = self.varint() else {
            return Some(Err(()));
        };
        let field = key >> 3;
        let f = match key & 7 {
            0 => match self.varint() {
                Some(_) => Field::Varint,
                None => return Some(Err(())),
            },
            1 => {
                self.i += 8;
                Field::Fixed
            }
            5 => {
                self.i += 4;
                Field::Fixed
            }
            2 => {
                let Some(n) = self.varint().and_then(|n| usize::try_from(n).ok()) else {
                    return Some(Err(()));
                };
                let end = self.i.checked_add(n);
                let Some(s) = end.and_then(|e| self.b.get(self.i..e)) else {
                    return Some(Err(()));
                };
                self.i += n;
                Field::Bytes(s)
            }
            _ => return Some(Err(())),
        };
        if self.i > self.b.len() {
            return Some(Err(()));
        }
        Some(Ok((field, f)))
    }
}

const ONNX_STANDARD_DOMAINS: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview.training",
];

pub(crate) fn scan_onnx(ctx: &mut Ctx<'_>, label: &str, b: &[u8], dir: Option<&Path>) {
    let mut p = Pb { b, i: 0 };
    let mut saw_graph = false;
    while let Some(f) = p.next() {
        match f {
            Err(()) => {
                ctx.incomplete(label, "malformed ONNX protobuf");
                return;
            }
            Ok((7, Field::Bytes(g))) => {
                saw_graph = true;
                onnx_graph(ctx, label, g, dir, 0);
            }
            Ok((8, Field::Bytes(opset))) => {
                let mut q = Pb { b: opset, i: 0 };
                while let Some(Ok((field, v))) = q.next() {
                    if let (1, Field::Bytes(d)) = (field, v) {
                        onnx_domain(ctx, label, &String::from_utf8_lossy(d));
                    }
                }
            }
            Ok(_) => {}
        }
    }
    if !saw_graph {
        ctx.incomplete(label, "no ONNX graph found");
    }
}

fn onnx_domain(ctx: &mut Ctx<'_>, label: &str, d: &str) {
    if !ONNX_STANDARD_DOMAINS.contains(&d) {
        ctx.find(
            Finding::new(
                "onnx-custom-domain",
                Severity::Medium,
                format!("operator domain `{d}` needs a custom operator library (native code)"),
            )
            .at(label),
        );
    }
}

fn onnx_graph(ctx: &mut Ctx<'_>, label: &str, g: &[u8], dir: Option<&Path>, depth: usize) {
    if depth > 32 {
        ctx.incomplete(label, "ONNX subgraphs nested too deeply");
        return;
    }
    let mut p = Pb { b: g, i: 0 };
    while let Some(f) = p.next() {
        match f {
            Err(()) => {
                ctx.incomplete(label, "malformed ONNX graph");
                return;
            }
            // node
            Ok((1, Field::Bytes(node))) => {
                let mut q = Pb { b: node, i: 0 };
                while let Some(Ok((field, v))) = q.next() {
                    match (field, v) {
                        (7, Field::Bytes(d)) => {
                            onnx_domain(ctx, label, &String::from_utf8_lossy(d))
                        }
                        (5, Field::Bytes(attr)) => {
                            let mut a = Pb { b: attr, i: 0 };
                            while let Some(Ok((af, av))) = a.next() {
                                match (af, av) {
                                    (6 | 11, Field::Bytes(sub)) => {
                                        onnx_graph(ctx, label, sub, dir, depth + 1)
                                    }
                                    (5 | 10, Field::Bytes(t)) => onnx_tensor(ctx, label, t, dir),
                                    _ => {}
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            // initializer
            Ok((5, Field::Bytes(t))) => onnx_tensor(ctx, label, t, dir),
            Ok(_) => {}
        }
    }
}

fn onnx_tensor(ctx: &mut Ctx<'_>, label: &str, t: &[u8], _dir: Option<&Path>) {
    let mut p = Pb { b: t, i: 0 };
    while let Some(Ok((field, v))) = p.next() {
        if let (13, Field::Bytes(entry)) = (field, v) {
            let mut q = Pb { b: entry, i: 0 };
            let (mut key, mut value) = (String::new(), String::new());
            while let Some(Ok((f, x))) = q.next() {
                match (f, x) {
                    (1, Field::Bytes(k)) => key = String::from_utf8_lossy(k).into_owned(),
                    (2, Field::Bytes(v)) => value = String::from_utf8_lossy(v).into_owned(),
                    _ => {}
                }
            }
            if key == "location" && escapes_dir(&value) {
                ctx.find(
                    Finding::new(
                        "onnx-external-data-traversal",
                        Severity::High,
                        format!("external data location `{value}` escapes the model directory"),
                    )
                    .at(label),
                );
            }
        }
    }
}

fn escapes_dir(p: &str) -> bool {
    let n = p.replace('\\', "/");
    n.starts_with('/') || n.as_bytes().get(1) == Some(&b':') || n.split('/').any(|c| c == "..")
}

/// TensorFlow ops that read or write files or run Python when a graph executes.
const TF_DANGEROUS_OPS: &[(&str, Severity)] = &[
    ("PyFunc", Severity::Critical),
    ("PyFuncStateless", Severity::Critical),
    ("EagerPyFunc", Severity::Critical),
    ("ReadFile", Severity::High),
    ("WriteFile", Severity::High),
    ("MatchingFiles", Severity::Medium),
    ("MergeV2Checkpoints", Severity::Medium),
    ("Save", Severity::Medium),
    ("SaveSlices", Severity::Medium),
    ("DebugIdentityV3", Severity::Medium),
    ("DecodeProtoV2", Severity::Medium),
    ("ImmutableConst", Severity::Medium),
];

/// NodeDef.op is field 2 (tag 0x12), so every node with a given op carries the bytes
/// `0x12, len, name` verbatim wherever it sits in the graph or its function library.
pub(crate) fn scan_saved_model(ctx: &mut Ctx<'_>, label: &str, r: &mut dyn BufRead) {
    let patterns: Vec<(Vec<u8>, &str, Severity)> = TF_DANGEROUS_OPS
        .iter()
        .map(|(op, sev)| {
            let mut pat = vec![0x12u8, op.len() as u8];
            pat.extend_from_slice(op.as_bytes());
            (pat, *op, *sev)
        })
        .collect();
    let mut hits = vec![false; patterns.len()];
    let mut lambda = false;
    // Streamed in chunks; the tail of each chunk is kept so a pattern split across reads is seen.
    let mut window: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                ctx.incomplete(label, format!("read error: {e}"));
                return;
            }
        };
        window.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        for ((pat, _, _), hit) in patterns.iter().zip(hits.iter_mut()) {
            *hit |= window.windows(pat.len()).any(|w| w == pat.as_slice());
        }
        lambda |= window.windows(8).any(|w| w == b"\"Lambda\"");
        let keep = window.len().saturating_sub(32);
        window.drain(..keep);
    }
    for ((_, op, sev), hit) in patterns.iter().zip(&hits) {
        if *hit {
            ctx.find(
                Finding::new("tf-dangerous-op", *sev, format!("graph uses the `{op}` op"))
                    .at(label),
            );
        }
    }
    // Lambda layers of Keras models saved as SavedModel are kept in keras_metadata.pb as JSON.
    if lambda {
        ctx.find(
            Finding::new(
                "keras-lambda",
                Severity::High,
                "Lambda layer in SavedModel metadata",
            )
            .at(label),
        );
    }
}
