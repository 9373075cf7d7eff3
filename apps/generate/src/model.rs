//! The Llama forward pass: RMSNorm, rotary embeddings in GGML's layout (adjacent pairs: the
//! GGUF converter permuted the query and key weights for it), grouped-query attention over a KV
//! cache, SwiGLU, and the output head tied to the token embeddings. The weight matrices stay
//! quantized ([`crate::quant`]); the rest is plain Rust on `f32` rows, attention heads spread
//! over the cores ([`crate::team`]). No libtorch: its OpenMP threads spin on the cores after
//! each of its operations, which a forward pass of tens of milliseconds shares with them.

use std::sync::{Mutex, PoisonError};

use safetensors::{tensor::TensorView, Dtype, SafeTensors};

use crate::{
	gguf::{Gguf, GgufError},
	quant::{lanes_dot as dot, matmul, Activations, QMatrix},
	team::team,
};

/// The shape of the model, from the GGUF metadata.
#[derive(Clone, Debug)]
pub struct Config {
	pub layers: usize,
	pub dim: i64,
	pub heads: i64,
	pub kv_heads: i64,
	pub head_dim: i64,
	pub rope_base: f64,
	pub eps: f64,
	pub context: usize,
}

impl Config {
	fn read(gguf: &Gguf) -> Result<Self, GgufError> {
		let arch = gguf.string("general.architecture")?;
		if arch != "llama" {
			return Err(GgufError::Malformed {
				what: "general.architecture".into(),
				reason: format!("{arch}, not llama"),
			});
		}
		// Sizes a file states are bounded before anything is sized by them.
		let bounded = |key: &str, most: u64| -> Result<u64, GgufError> {
			match gguf.uint(key)? {
				value @ 1.. if value <= most => Ok(value),
				value => Err(GgufError::Malformed {
					what: key.into(),
					reason: format!("{value}, not 1 to {most}"),
				}),
			}
		};
		let dim = bounded("llama.embedding_length", 1 << 16)? as i64;
		let heads = bounded("llama.attention.head_count", 1 << 10)? as i64;
		let kv_heads = bounded("llama.attention.head_count_kv", 1 << 10)? as i64;
		// Rotary embeddings turn pairs of a head's values.
		if dim % heads != 0 || heads % kv_heads != 0 || (dim / heads) % 2 != 0 {
			return Err(GgufError::Malformed {
				what: "attention heads".into(),
				reason: format!("{heads} heads, {kv_heads} key/value heads, width {dim}"),
			});
		}
		// Nine tensors a layer.
		let layers = bounded("llama.block_count", (gguf.tensors.len() / 9).max(1) as u64)?;
		Ok(Self {
			layers: layers as usize,
			dim,
			heads,
			kv_heads,
			head_dim: dim / heads,
			rope_base: gguf.float("llama.rope.freq_base").unwrap_or(10_000.0),
			eps: gguf.float("llama.attention.layer_norm_rms_epsilon").unwrap_or(1e-5),
			context: gguf.uint("llama.context_length")? as usize,
		})
	}
}

struct Layer {
	attn_norm: Vec<f32>,
	/// Projections as the file stores them (`[out, in]`).
	wq: QMatrix,
	wk: QMatrix,
	wv: QMatrix,
	wo: QMatrix,
	ffn_norm: Vec<f32>,
	w_gate: QMatrix,
	w_up: QMatrix,
	w_down: QMatrix,
}

/// Keys and values of the tokens seen so far, per layer (`[tokens, kv_heads, head_dim]`, row
/// after row).
#[derive(Clone)]
pub struct KvCache {
	keys: Vec<Vec<f32>>,
	values: Vec<Vec<f32>>,
	kv_heads: usize,
	head_dim: usize,
	len: usize,
}

impl KvCache {
	/// Writes the cache as safetensors (`k.<layer>`, `v.<layer>`, `f32`
	/// `[tokens, kv_heads, head_dim]`) to `path`.
	pub fn write(&self, path: &std::path::Path) -> Result<(), safetensors::SafeTensorError> {
		let shape = vec![self.len, self.kv_heads, self.head_dim];
		let bytes =
			|values: &[f32]| -> Vec<u8> { values.iter().flat_map(|v| v.to_le_bytes()).collect() };
		let data: Vec<(String, Vec<u8>)> = self
			.keys
			.iter()
			.zip(&self.values)
			.enumerate()
			.flat_map(|(i, (k, v))| [(format!("k.{i}"), bytes(k)), (format!("v.{i}"), bytes(v))])
			.collect();
		let mut views = Vec::with_capacity(data.len());
		for (name, bytes) in &data {
			views.push((name.as_str(), TensorView::new(Dtype::F32, shape.clone(), bytes)?));
		}
		safetensors::serialize_to_file(views, &None, path)
	}

	/// Reads a cache [`write`](Self::write) wrote, if it is one of `config`'s model holding
	/// `tokens` tokens: every layer's keys and values, `f32`, `[tokens, kv_heads, head_dim]`.
	/// Anything else (a torn file, another model's, another length) is `None`.
	pub fn read(path: &std::path::Path, config: &Config, tokens: usize) -> Option<Self> {
		// Its size first: the values' bytes plus a header of at most `HEADER` (a file of
		// another size is not read at all, whatever its header claims).
		const HEADER: u64 = 64 << 10;
		let values = (config.layers as u64 * 2)
			.checked_mul(tokens as u64)?
			.checked_mul(config.kv_heads as u64)?
			.checked_mul(config.head_dim as u64)?
			.checked_mul(4)?;
		let size = std::fs::metadata(path).ok()?.len();
		if size < values + 8 || size > values + 8 + HEADER {
			return None;
		}
		let file = std::fs::read(path).ok()?;
		let named = SafeTensors::deserialize(&file).ok()?;
		if named.len() != config.layers * 2 {
			return None;
		}
		let shape = [tokens, config.kv_heads as usize, config.head_dim as usize];
		let take = |name: String| -> Option<Vec<f32>> {
			let tensor = named.tensor(&name).ok()?;
			if tensor.dtype() != Dtype::F32 || tensor.shape() != shape {
				return None;
			}
			let values = tensor.data().chunks_exact(4);
			Some(values.map(|v| f32::from_le_bytes([v[0], v[1], v[2], v[3]])).collect())
		};
		let mut keys = Vec::with_capacity(config.layers);
		let mut values = Vec::with_capacity(config.layers);
		for i in 0..config.layers {
			keys.push(take(format!("k.{i}"))?);
			values.push(take(format!("v.{i}"))?);
		}
		Some(Self {
			keys,
			values,
			kv_heads: config.kv_heads as usize,
			head_dim: config.head_dim as usize,
			len: tokens,
		})
	}

	/// A copy with room for `tokens` more without moving (a copy of a prepared prefix grows by
	/// the question and the answer; growing a tight copy would copy it again).
	pub fn with_room(&self, tokens: usize) -> Self {
		let room = |layers: &[Vec<f32>]| -> Vec<Vec<f32>> {
			layers
				.iter()
				.map(|values| {
					let mut copy =
						Vec::with_capacity(values.len() + tokens * self.kv_heads * self.head_dim);
					copy.extend_from_slice(values);
					copy
				})
				.collect()
		};
		Self { keys: room(&self.keys), values: room(&self.values), ..*self }
	}

	/// How many tokens it holds.
	pub fn len(&self) -> usize {
		self.len
	}

	pub fn is_empty(&self) -> bool {
		self.len == 0
	}
}

/// A Llama model with its weight matrices quantized in memory.
pub struct Llama {
	pub config: Config,
	/// The token embeddings (`[vocab, dim]`), also the output head unless the file has its own.
	embeddings: QMatrix,
	output: Option<QMatrix>,
	layers: Vec<Layer>,
	norm: Vec<f32>,
}

/// Each row of `x` (rows of `weight.len()`) RMS-normalized and scaled by `weight`.
fn rms_norm(x: &[f32], weight: &[f32], eps: f64) -> Vec<f32> {
	let mut out = Vec::with_capacity(x.len());
	for row in x.chunks_exact(weight.len()) {
		let mean = dot(row, row) / row.len() as f32;
		let scale = 1.0 / (mean + eps as f32).sqrt();
		out.extend(row.iter().zip(weight).map(|(v, w)| v * scale * w));
	}
	out
}

/// `e^x` in plain arithmetic (so a loop of it vectorizes, where `f32::exp` is a library call a
/// value): `2^n · e^r` with `n = round(x / ln 2)`, `|r| ≤ ln 2 / 2` and `e^r` to its seventh
/// Taylor term (relative error under 2·10⁻⁷). Below `e^-87` it is `e^-87`, above `e^88` `e^88`.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
	let x = x.clamp(-87.0, 88.0);
	let n = (x * std::f32::consts::LOG2_E).round_ties_even();
	// ln 2 in two parts, the first with few bits, so n · ln 2 is subtracted exactly.
	let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
	let mut p = 1.0f32 / 5040.0;
	for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
		p = p * r + c;
	}
	p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// Values of a head's output summed at once over the keys (four AVX2 vectors, held in
/// registers).
const WIDE: usize = 32;

/// SwiGLU: `silu(gate) · up`, value by value.
fn swiglu(gate: &[f32], up: &[f32]) -> Vec<f32> {
	#[cfg(target_arch = "x86_64")]
	if crate::quant::simd() {
		// SAFETY: `simd()` is true only where the CPU has AVX2 and FMA.
		return unsafe { swiglu_avx2(gate, up) };
	}
	swiglu_portable(gate, up)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn swiglu_avx2(gate: &[f32], up: &[f32]) -> Vec<f32> {
	swiglu_portable(gate, up)
}

#[inline(always)]
fn swiglu_portable(gate: &[f32], up: &[f32]) -> Vec<f32> {
	// A loop over a slice, not an iterator collected: `collect` is a function of its own,
	// compiled without the caller's AVX2, where rounding is a library call.
	let mut out = vec![0f32; gate.len().min(up.len())];
	for ((o, g), u) in out.iter_mut().zip(gate).zip(up) {
		*o = g / (1.0 + exp(-g)) * u;
	}
	out
}

fn add(x: &mut [f32], y: &[f32]) {
	for (x, y) in x.iter_mut().zip(y) {
		*x += y;
	}
}

/// `rows` (tokens × `heads` × `head_dim`) rotated in place by `cos` and `sin`
/// (tokens × `head_dim / 2`), on adjacent pairs.
fn rope(rows: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
	let half = head_dim / 2;
	let per_token = rows.len() / (cos.len() / half).max(1);
	for (t, token) in rows.chunks_exact_mut(per_token).enumerate() {
		let (cos, sin) = (&cos[t * half..(t + 1) * half], &sin[t * half..(t + 1) * half]);
		for head in token.chunks_exact_mut(head_dim) {
			for (p, pair) in head.chunks_exact_mut(2).enumerate() {
				let (even, odd) = (pair[0], pair[1]);
				pair[0] = even * cos[p] - odd * sin[p];
				pair[1] = even * sin[p] + odd * cos[p];
			}
		}
	}
}

/// The attention of one token's query heads that share a key/value head, over the keys and
/// values they see.
struct Attention<'a> {
	/// The heads' query rows, one after the other.
	queries: &'a [f32],
	keys: &'a [f32],
	values: &'a [f32],
	head_dim: usize,
	/// Where their key/value head starts in a token's row, and a token's row width.
	first: usize,
	stride: usize,
	seen: usize,
	scale: f32,
}

impl Attention<'_> {
	fn run(&self, out: &mut [f32]) {
		#[cfg(target_arch = "x86_64")]
		if crate::quant::simd() {
			// SAFETY: `simd()` is true only where the CPU has AVX2 and FMA.
			return unsafe { self.run_avx2(out) };
		}
		self.run_portable(out)
	}

	#[cfg(target_arch = "x86_64")]
	#[target_feature(enable = "avx2,fma")]
	unsafe fn run_avx2(&self, out: &mut [f32]) {
		self.run_portable(out)
	}

	#[inline(always)]
	fn run_portable(&self, out: &mut [f32]) {
		let (width, seen) = (self.head_dim, self.seen);
		let heads = self.queries.len() / width;
		let row = |j: usize| self.first + j * self.stride..self.first + j * self.stride + width;
		// weights[h · seen + j]: head h's weight of key j.
		let mut weights = vec![0f32; heads * seen];
		for j in 0..seen {
			let key = &self.keys[row(j)];
			for (h, query) in self.queries.chunks_exact(width).enumerate() {
				weights[h * seen + j] = dot(query, key) * self.scale;
			}
		}
		for head in weights.chunks_exact_mut(seen) {
			let largest = head.iter().fold(f32::NEG_INFINITY, |m, w| m.max(*w));
			// Separate loops: the exponentials vectorize, a running sum would not.
			for w in head.iter_mut() {
				*w = exp(*w - largest);
			}
			let inverse = 1.0 / head.iter().sum::<f32>();
			for w in head.iter_mut() {
				*w *= inverse;
			}
		}
		// Each head's output in parts of `WIDE` values, a part's sums held in registers over
		// the keys (the rest of a head not a whole part, value by value).
		for (h, out) in out.chunks_exact_mut(width).enumerate() {
			let weights = &weights[h * seen..(h + 1) * seen];
			let whole = width / WIDE * WIDE;
			let (parts, rest) = out.split_at_mut(whole);
			for (p, out) in parts.chunks_exact_mut(WIDE).enumerate() {
				let mut sums = [0f32; WIDE];
				for (j, weight) in weights.iter().enumerate() {
					let from = self.first + j * self.stride + p * WIDE;
					let value: &[f32; WIDE] = self.values[from..from + WIDE]
						.try_into()
						.unwrap_or_else(|_| unreachable!("a slice of WIDE values"));
					for (s, v) in sums.iter_mut().zip(value) {
						*s += weight * v;
					}
				}
				for (o, s) in out.iter_mut().zip(sums) {
					*o += s;
				}
			}
			let rest_len = rest.len();
			for (j, weight) in weights.iter().enumerate() {
				let from = self.first + j * self.stride + whole;
				for (o, v) in rest.iter_mut().zip(&self.values[from..from + rest_len]) {
					*o += weight * v;
				}
			}
		}
	}
}

impl Llama {
	/// Loads the model from a GGUF file's tensors.
	pub fn load(gguf: &Gguf) -> Result<Self, GgufError> {
		let config = Config::read(gguf)?;
		let dim = config.dim as usize;
		let kv_width = (config.kv_heads * config.head_dim) as usize;
		// A matrix of `cols` inputs and, where given, `rows` outputs.
		let matrix = |name: String, rows: Option<usize>, cols: usize| {
			let m = QMatrix::from_gguf(&name, gguf.raw(&name)?)?;
			if m.cols() != cols || rows.is_some_and(|rows| m.rows() != rows) {
				return Err(GgufError::Malformed {
					reason: format!(
						"{} × {}, not {} × {cols}",
						m.rows(),
						m.cols(),
						rows.map_or("any".to_string(), |r| r.to_string())
					),
					what: name,
				});
			}
			Ok(m)
		};
		// A vector of `len` values (a norm's weights).
		let vector = |name: String, len: usize| {
			let raw = gguf.raw(&name)?;
			let values = crate::gguf::dequantize(raw.kind, raw.bytes, raw.count)
				.ok_or(GgufError::UnsupportedType { name: name.clone(), kind: raw.kind })?;
			if values.len() != len {
				return Err(GgufError::Malformed {
					reason: format!("{} values, not {len}", values.len()),
					what: name,
				});
			}
			Ok(values)
		};
		let mut layers = Vec::with_capacity(config.layers);
		for i in 0..config.layers {
			let name = |part: &str| format!("blk.{i}.{part}.weight");
			let w_gate = matrix(name("ffn_gate"), None, dim)?;
			let hidden = w_gate.rows();
			layers.push(Layer {
				attn_norm: vector(name("attn_norm"), dim)?,
				wq: matrix(name("attn_q"), Some(dim), dim)?,
				wk: matrix(name("attn_k"), Some(kv_width), dim)?,
				wv: matrix(name("attn_v"), Some(kv_width), dim)?,
				wo: matrix(name("attn_output"), Some(dim), dim)?,
				ffn_norm: vector(name("ffn_norm"), dim)?,
				w_up: matrix(name("ffn_up"), Some(hidden), dim)?,
				w_down: matrix(name("ffn_down"), Some(dim), hidden)?,
				w_gate,
			});
		}
		let embeddings = matrix("token_embd.weight".into(), None, dim)?;
		let output = match gguf.tensors.contains_key("output.weight") {
			true => Some(matrix("output.weight".into(), Some(embeddings.rows()), dim)?),
			false => None,
		};
		let model = Self {
			norm: vector("output_norm.weight".into(), dim)?,
			embeddings,
			output,
			layers,
			config,
		};
		tracing::debug!(bytes = model.weight_bytes(), "quantized weights in memory");
		Ok(model)
	}

	/// Bytes the weight matrices take in memory.
	pub fn weight_bytes(&self) -> usize {
		let layers: usize = self
			.layers
			.iter()
			.map(|l| {
				[&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down]
					.iter()
					.map(|m| m.bytes())
					.sum::<usize>()
			})
			.sum();
		layers + self.embeddings.bytes() + self.output.as_ref().map_or(0, QMatrix::bytes)
	}

	/// How many tokens the embeddings know (ids `0..vocab`).
	pub fn vocab(&self) -> usize {
		self.embeddings.rows()
	}

	/// An empty cache for this model.
	pub fn new_cache(&self) -> KvCache {
		KvCache {
			keys: vec![Vec::new(); self.config.layers],
			values: vec![Vec::new(); self.config.layers],
			kv_heads: self.config.kv_heads as usize,
			head_dim: self.config.head_dim as usize,
			len: 0,
		}
	}

	/// The rotary angles' cosines and sines for `tokens` positions from `start`
	/// (`tokens × head_dim / 2` each), shared by every layer's queries and keys.
	fn angles(&self, start: usize, tokens: usize) -> (Vec<f32>, Vec<f32>) {
		let half = self.config.head_dim as usize / 2;
		// θ_i = base^(-2i / head_dim)
		let inverse: Vec<f64> = (0..half)
			.map(|i| {
				(-2.0 * i as f64 * self.config.rope_base.ln() / self.config.head_dim as f64).exp()
			})
			.collect();
		let (mut cos, mut sin) = (Vec::new(), Vec::new());
		for position in start..start + tokens {
			for theta in &inverse {
				let angle = (position as f64 * theta) as f32;
				cos.push(angle.cos());
				sin.push(angle.sin());
			}
		}
		(cos, sin)
	}

	/// Causal attention of `queries` (the `count` new tokens × heads × head_dim, the first at
	/// position `start`) over every key and value of the layer so far: tokens × dim.
	fn attend(&self, queries: &[f32], keys: &[f32], values: &[f32], start: usize) -> Vec<f32> {
		let config = &self.config;
		let (heads, kv_heads, head_dim) =
			(config.heads as usize, config.kv_heads as usize, config.head_dim as usize);
		let group = heads / kv_heads;
		let scale = 1.0 / (head_dim as f32).sqrt();
		let mut out = vec![0f32; queries.len()];
		// One task per (token, key/value head): the rows of its `group` query heads (head h
		// reads key/value head h / group), each key row read once for all of them (each value
		// row once per query head, while that head's sums stay in registers).
		let width = group * head_dim;
		let rows: Vec<Mutex<&mut [f32]>> = out.chunks_mut(width).map(Mutex::new).collect();
		// Multiply-adds, weighed four times a product's: each comes with a share of the
		// softmax's exponentials and of scalar loops over the keys.
		let work = queries.len() * (start + queries.len() / (heads * head_dim)) * 2 * 4;
		team().for_each_sized(rows.len(), work, |index| {
			let mut out = rows[index].lock().unwrap_or_else(PoisonError::into_inner);
			let (token, kv) = (index / kv_heads, index % kv_heads);
			let rows = Attention {
				queries: &queries[index * width..(index + 1) * width],
				keys,
				values,
				head_dim,
				first: kv * head_dim,
				stride: kv_heads * head_dim,
				// Query `token` (position start + token) sees keys up to its own position.
				seen: start + token + 1,
				scale,
			};
			rows.run(&mut out);
		});
		drop(rows);
		out
	}

	/// Runs `tokens` after what `cache` holds (and adds them to it); the logits of the last
	/// token (`[vocab]`).
	pub fn forward(&self, tokens: &[i64], cache: &mut KvCache) -> Vec<f32> {
		let config = &self.config;
		let dim = config.dim as usize;
		let head_dim = config.head_dim as usize;
		let start = cache.len;
		let mut x = Vec::with_capacity(tokens.len() * dim);
		for token in tokens {
			// Ids come from the model's tokenizer, checked against the vocabulary at load; an
			// unknown one reads as zeros rather than another token's row.
			match usize::try_from(*token).ok().and_then(|t| self.embeddings.row(t)) {
				Some(row) => x.extend(row),
				None => x.extend(std::iter::repeat_n(0f32, dim)),
			}
		}
		let (cos, sin) = self.angles(start, tokens.len());
		for (i, layer) in self.layers.iter().enumerate() {
			let h = Activations::quantize(&rms_norm(&x, &layer.attn_norm, config.eps), dim);
			let [mut q, mut k, v]: [Vec<f32>; 3] = matmul(&[&layer.wq, &layer.wk, &layer.wv], &h)
				.try_into()
				.unwrap_or_else(|_| unreachable!("three matrices, three products"));
			rope(&mut q, head_dim, &cos, &sin);
			rope(&mut k, head_dim, &cos, &sin);
			cache.keys[i].extend_from_slice(&k);
			cache.values[i].extend_from_slice(&v);
			let attended = self.attend(&q, &cache.keys[i], &cache.values[i], start);
			add(&mut x, &matmul(&[&layer.wo], &Activations::quantize(&attended, dim))[0]);
			let h = Activations::quantize(&rms_norm(&x, &layer.ffn_norm, config.eps), dim);
			let [gate, up]: [Vec<f32>; 2] = matmul(&[&layer.w_gate, &layer.w_up], &h)
				.try_into()
				.unwrap_or_else(|_| unreachable!("two matrices, two products"));
			// SwiGLU: silu(gate) · up.
			let gated = swiglu(&gate, &up);
			let hidden = layer.w_down.cols();
			add(&mut x, &matmul(&[&layer.w_down], &Activations::quantize(&gated, hidden))[0]);
		}
		cache.len = start + tokens.len();
		let last = &x[x.len().saturating_sub(dim)..];
		let head = self.output.as_ref().unwrap_or(&self.embeddings);
		let logits =
			matmul(&[head], &Activations::quantize(&rms_norm(last, &self.norm, config.eps), dim));
		logits.into_iter().next().unwrap_or_default()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// A GGUF file of metadata only: `general.architecture = llama` and the `llama.*` sizes.
	fn file(sizes: &[(&str, u64)]) -> Gguf {
		let mut bytes = b"GGUF".to_vec();
		bytes.extend(3u32.to_le_bytes());
		bytes.extend(0u64.to_le_bytes()); // tensors
		bytes.extend((sizes.len() as u64 + 1).to_le_bytes());
		let key = |bytes: &mut Vec<u8>, key: &str| {
			bytes.extend((key.len() as u64).to_le_bytes());
			bytes.extend(key.as_bytes());
		};
		key(&mut bytes, "general.architecture");
		bytes.extend(8u32.to_le_bytes());
		bytes.extend(5u64.to_le_bytes());
		bytes.extend(b"llama");
		for (name, value) in sizes {
			key(&mut bytes, &format!("llama.{name}"));
			bytes.extend(10u32.to_le_bytes());
			bytes.extend(value.to_le_bytes());
		}
		Gguf::parse(bytes).unwrap()
	}

	fn sizes(dim: u64, heads: u64, kv_heads: u64, layers: u64) -> Gguf {
		file(&[
			("embedding_length", dim),
			("attention.head_count", heads),
			("attention.head_count_kv", kv_heads),
			("block_count", layers),
			("context_length", 2048),
		])
	}

	#[test]
	fn sizes_a_file_states_are_bounded_before_use() {
		// No tensors: not even one layer's nine.
		let error = Config::read(&sizes(576, 9, 3, 30)).unwrap_err().to_string();
		assert!(error.contains("block_count"), "{error}");
		for (dim, heads, kv_heads) in [
			(576, 0, 3),             // no heads
			(1 << 40, 9, 3),         // a width past any model
			(u64::MAX, u64::MAX, 1), // sizes that wrap as signed integers
			(32, 32, 32),            // heads of one value: nothing to rotate
			(96, 32, 32),            // heads of three values: an odd one left unrotated
			(576, 9, 2),             // query heads not a multiple of the key/value heads
		] {
			let error = Config::read(&sizes(dim, heads, kv_heads, 1)).unwrap_err();
			assert!(
				matches!(error, GgufError::Malformed { .. }),
				"{dim} {heads} {kv_heads}: {error}"
			);
		}
	}

	#[test]
	fn exp_is_the_library_s_to_a_few_units_in_the_last_place() {
		let mut x = -87.0f32;
		while x < 88.0 {
			let (ours, theirs) = (exp(x), x.exp());
			assert!((ours - theirs).abs() <= theirs * 3e-7, "e^{x}: {ours} vs {theirs}");
			x += 0.0137;
		}
		assert_eq!(exp(0.0), 1.0);
		assert_eq!(exp(-1000.0), (-87f32).exp());
		assert!(exp(f32::NAN).is_nan());
	}

	#[test]
	fn no_tokens_run_nothing() {
		let x = Activations::quantize(&[], 64);
		let m = QMatrix::quantize(2, 64, &[0.5; 128]);
		assert_eq!(matmul(&[&m], &x), vec![Vec::<f32>::new()]);
	}
}
