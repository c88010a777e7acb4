//! The linear model's binary format and scoring.
//!
//! Layout (little-endian):
//!
//! ```text
//! magic   b"GHINJLR1"
//! u32     log2 of the main table size D
//! u32     log2 of the kind-head table size K
//! f32 × 8 bias, main scale, platt a, platt b, threshold, kind scale, floor gate, reserved
//! f32 × 3 kind-head biases (injection, jailbreak, extraction)
//! i16 × D main weights (weight = q × main scale)
//! i16 × 3K kind-head weights
//! ```
//!
//! Feature `(hash, value)` adds `sign(hash) × w[hash mod D] × value`; the sign is bit 63.

/// Errors reading a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelError(pub &'static str);

const MAGIC: &[u8; 8] = b"GHINJLR1";

/// A trained linear model (float form, used by training and for encoding).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearWeights {
    /// log2 of the main table size.
    pub log2_dim: u32,
    /// log2 of each kind head's table size.
    pub log2_kind_dim: u32,
    /// Main head bias.
    pub bias: f32,
    /// Main head weights (`1 << log2_dim`).
    pub weights: Vec<f32>,
    /// Platt scaling: p = sigmoid(a × margin + b).
    pub platt_a: f32,
    /// Platt scaling offset.
    pub platt_b: f32,
    /// Recommended decision threshold on the calibrated score.
    pub threshold: f32,
    /// Recommended floor gate (see `InjectionConfig::floor_gate`).
    pub floor_gate: f32,
    /// Kind heads (injection, jailbreak, extraction): biases.
    pub kind_bias: [f32; 3],
    /// Kind heads: weights, `3 << log2_kind_dim`, head-major.
    pub kind_weights: Vec<f32>,
}

/// Quantised model as loaded at start-up.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    mask: u64,
    kmask: u64,
    kdim: usize,
    bias: f32,
    scale: f32,
    pub platt_a: f32,
    pub platt_b: f32,
    pub threshold: f32,
    pub floor_gate: f32,
    kscale: f32,
    kind_bias: [f32; 3],
    w: Vec<i16>,
    kw: Vec<i16>,
}

#[inline]
fn signed(h: u64, v: f32) -> f32 {
    if h >> 63 == 1 { -v } else { v }
}

impl Model {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, ModelError> {
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or(ModelError("bad magic"))?;
        let mut pos = 0usize;
        let u32_at = |pos: &mut usize| -> Result<u32, ModelError> {
            let b = rest
                .get(*pos..*pos + 4)
                .ok_or(ModelError("truncated header"))?;
            *pos += 4;
            Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let log2_dim = u32_at(&mut pos)?;
        let log2_kdim = u32_at(&mut pos)?;
        if !(4..=24).contains(&log2_dim) || !(4..=24).contains(&log2_kdim) {
            return Err(ModelError("table size out of range"));
        }
        let mut f = [0f32; 11];
        for v in f.iter_mut() {
            *v = f32::from_bits(u32_at(&mut pos)?);
        }
        if f.iter().any(|v| !v.is_finite()) {
            return Err(ModelError("non-finite parameter"));
        }
        let dim = 1usize << log2_dim;
        let kdim = 1usize << log2_kdim;
        let need = pos + 2 * (dim + 3 * kdim);
        if rest.len() != need {
            return Err(ModelError("wrong length"));
        }
        let read_i16 = |s: &[u8]| -> Vec<i16> {
            s.chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect()
        };
        let w = read_i16(rest.get(pos..pos + 2 * dim).unwrap_or_default());
        let kw = read_i16(rest.get(pos + 2 * dim..need).unwrap_or_default());
        Ok(Model {
            mask: (dim as u64) - 1,
            kmask: (kdim as u64) - 1,
            kdim,
            bias: f[0],
            scale: f[1],
            platt_a: f[2],
            platt_b: f[3],
            threshold: f[4],
            floor_gate: f[6],
            kscale: f[5],
            kind_bias: [f[8], f[9], f[10]],
            w,
            kw,
        })
    }

    /// Accumulates one feature into the main margin.
    #[inline]
    pub(crate) fn weight(&self, h: u64) -> f32 {
        let q = self.w.get((h & self.mask) as usize).copied().unwrap_or(0);
        signed(h, f32::from(q))
    }

    /// Finishes a margin accumulated with [`Model::weight`].
    pub(crate) fn margin(&self, acc: f32) -> f32 {
        acc * self.scale + self.bias
    }

    /// Kind-head contribution for one feature, added into `acc`.
    #[inline]
    pub(crate) fn kind_weights(&self, h: u64, v: f32, acc: &mut [f32; 3]) {
        let i = ((h >> 24) & self.kmask) as usize;
        for (k, a) in acc.iter_mut().enumerate() {
            let q = self.kw.get(k * self.kdim + i).copied().unwrap_or(0);
            *a += signed(h, f32::from(q)) * v;
        }
    }

    pub(crate) fn kind_margins(&self, acc: [f32; 3]) -> [f32; 3] {
        let mut out = [0f32; 3];
        for (k, o) in out.iter_mut().enumerate() {
            *o = acc.get(k).copied().unwrap_or(0.0) * self.kscale
                + self.kind_bias.get(k).copied().unwrap_or(0.0);
        }
        out
    }
}

/// Index of a feature hash in a table of `1 << log2` (main head).
pub fn main_index(h: u64, log2: u32) -> usize {
    (h & ((1u64 << log2) - 1)) as usize
}

/// Index of a feature hash in a kind head of `1 << log2`.
pub fn kind_index(h: u64, log2: u32) -> usize {
    ((h >> 24) & ((1u64 << log2) - 1)) as usize
}

/// Sign of a feature hash (signed feature hashing).
pub fn hash_sign(h: u64) -> f32 {
    signed(h, 1.0)
}

fn quantise(w: &[f32]) -> (f32, Vec<i16>) {
    let max = w.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 { max / 32767.0 } else { 1.0 };
    let q = w
        .iter()
        .map(|v| (v / scale).round().clamp(-32767.0, 32767.0) as i16)
        .collect();
    (scale, q)
}

impl LinearWeights {
    /// Serialises into the committed binary format (weights quantised to i16).
    pub fn encode(&self) -> Vec<u8> {
        let (scale, q) = quantise(&self.weights);
        let (kscale, kq) = quantise(&self.kind_weights);
        let mut out = Vec::with_capacity(64 + 2 * (q.len() + kq.len()));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.log2_dim.to_le_bytes());
        out.extend_from_slice(&self.log2_kind_dim.to_le_bytes());
        for f in [
            self.bias,
            scale,
            self.platt_a,
            self.platt_b,
            self.threshold,
            kscale,
            self.floor_gate,
            0.0,
            self.kind_bias[0],
            self.kind_bias[1],
            self.kind_bias[2],
        ] {
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        for v in q.iter().chain(kq.iter()) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_rejects_garbage() {
        let lw = LinearWeights {
            log2_dim: 4,
            log2_kind_dim: 4,
            bias: 0.5,
            weights: (0..16).map(|i| i as f32 / 10.0).collect(),
            platt_a: 1.0,
            platt_b: 0.0,
            threshold: 0.5,
            floor_gate: 0.1,
            kind_bias: [0.1, 0.2, 0.3],
            kind_weights: vec![0.25; 48],
        };
        let bytes = lw.encode();
        let m = Model::parse(&bytes).unwrap();
        let w3 = m.weight(3) * m.scale;
        assert!((w3 - 0.3).abs() < 1e-3);
        assert!((m.margin(0.0) - 0.5).abs() < 1e-6);
        assert!(Model::parse(&bytes[..bytes.len() - 1]).is_err());
        assert!(Model::parse(b"nope").is_err());
        assert!(Model::parse(&[]).is_err());
    }
}
