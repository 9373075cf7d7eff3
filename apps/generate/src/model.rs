//! The Llama forward pass in tch: RMSNorm, rotary embeddings in GGML's layout (adjacent pairs:
//! the GGUF converter permuted the query and key weights for it), grouped-query attention over
//! a KV cache, SwiGLU, and the output head tied to the token embeddings.

use tch::{Kind, Tensor};

use crate::gguf::{Gguf, GgufError};

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
		let dim = gguf.uint("llama.embedding_length")? as i64;
		let heads = gguf.uint("llama.attention.head_count")? as i64;
		let kv_heads = gguf.uint("llama.attention.head_count_kv")? as i64;
		if heads == 0 || kv_heads == 0 || dim % heads != 0 || heads % kv_heads != 0 {
			return Err(GgufError::Malformed {
				what: "attention heads".into(),
				reason: format!("{heads} heads, {kv_heads} key/value heads, width {dim}"),
			});
		}
		Ok(Self {
			layers: gguf.uint("llama.block_count")? as usize,
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
	attn_norm: Tensor,
	/// Projections stored transposed (`[in, out]`), so a forward is `x.matmul(w)`.
	wq: Tensor,
	wk: Tensor,
	wv: Tensor,
	wo: Tensor,
	ffn_norm: Tensor,
	w_gate: Tensor,
	w_up: Tensor,
	w_down: Tensor,
}

/// Keys and values of the tokens seen so far, per layer (`[tokens, kv_heads, head_dim]`).
pub struct KvCache {
	keys: Vec<Option<Tensor>>,
	values: Vec<Option<Tensor>>,
	len: usize,
}

impl KvCache {
	/// Writes the cache as safetensors (`k.<layer>`, `v.<layer>`) to `path`.
	pub fn write(&self, path: &std::path::Path) -> Result<(), tch::TchError> {
		let mut named: Vec<(String, Tensor)> = Vec::new();
		for (i, (k, v)) in self.keys.iter().zip(&self.values).enumerate() {
			if let (Some(k), Some(v)) = (k, v) {
				named.push((format!("k.{i}"), k.contiguous()));
				named.push((format!("v.{i}"), v.contiguous()));
			}
		}
		Tensor::write_safetensors(&named, path)
	}

	/// Reads a cache [`write`](Self::write) wrote, if it is one of `config`'s model holding
	/// `tokens` tokens: every layer's keys and values, `f32`, `[tokens, kv_heads, head_dim]`.
	/// Anything else (a torn file, another model's, another length) is `None`.
	pub fn read(path: &std::path::Path, config: &Config, tokens: usize) -> Option<Self> {
		let named: std::collections::HashMap<String, Tensor> =
			Tensor::read_safetensors(path).ok()?.into_iter().collect();
		if named.len() != config.layers * 2 {
			return None;
		}
		let shape = [tokens as i64, config.kv_heads, config.head_dim];
		let take = |name: String| -> Option<Tensor> {
			let tensor = named.get(&name)?;
			(tensor.kind() == Kind::Float && tensor.size() == shape).then(|| tensor.shallow_clone())
		};
		let mut keys = Vec::with_capacity(config.layers);
		let mut values = Vec::with_capacity(config.layers);
		for i in 0..config.layers {
			keys.push(Some(take(format!("k.{i}"))?));
			values.push(Some(take(format!("v.{i}"))?));
		}
		Some(Self { keys, values, len: tokens })
	}

	/// How many tokens it holds.
	pub fn len(&self) -> usize {
		self.len
	}

	pub fn is_empty(&self) -> bool {
		self.len == 0
	}
}

impl Clone for KvCache {
	fn clone(&self) -> Self {
		let copy = |t: &Option<Tensor>| t.as_ref().map(|t| t.copy());
		Self {
			keys: self.keys.iter().map(copy).collect(),
			values: self.values.iter().map(copy).collect(),
			len: self.len,
		}
	}
}

/// A Llama model with its weights in memory as `f32`.
pub struct Llama {
	pub config: Config,
	embeddings: Tensor,
	embeddings_t: Tensor,
	layers: Vec<Layer>,
	norm: Tensor,
}

fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Tensor {
	let variance = x.pow_tensor_scalar(2).mean_dim(-1, true, Kind::Float);
	x * (variance + eps).rsqrt() * weight
}

impl Llama {
	/// Loads the model from a GGUF file's tensors.
	pub fn load(gguf: &Gguf) -> Result<Self, GgufError> {
		let config = Config::read(gguf)?;
		let matrix = |name: String| -> Result<Tensor, GgufError> {
			Ok(gguf.tensor(&name)?.tr().contiguous())
		};
		let mut layers = Vec::with_capacity(config.layers);
		for i in 0..config.layers {
			let name = |part: &str| format!("blk.{i}.{part}.weight");
			layers.push(Layer {
				attn_norm: gguf.tensor(&name("attn_norm"))?,
				wq: matrix(name("attn_q"))?,
				wk: matrix(name("attn_k"))?,
				wv: matrix(name("attn_v"))?,
				wo: matrix(name("attn_output"))?,
				ffn_norm: gguf.tensor(&name("ffn_norm"))?,
				w_gate: matrix(name("ffn_gate"))?,
				w_up: matrix(name("ffn_up"))?,
				w_down: matrix(name("ffn_down"))?,
			});
		}
		let embeddings = gguf.tensor("token_embd.weight")?;
		let embeddings_t = match gguf.tensors.contains_key("output.weight") {
			true => matrix("output.weight".into())?,
			false => embeddings.tr().contiguous(),
		};
		Ok(Self {
			norm: gguf.tensor("output_norm.weight")?,
			embeddings,
			embeddings_t,
			layers,
			config,
		})
	}

	/// An empty cache for this model.
	pub fn new_cache(&self) -> KvCache {
		KvCache {
			keys: (0..self.config.layers).map(|_| None).collect(),
			values: (0..self.config.layers).map(|_| None).collect(),
			len: 0,
		}
	}

	/// Rotary embedding of `x` (`[tokens, heads, head_dim]`) for positions from `start`, on
	/// adjacent pairs.
	fn rope(&self, x: &Tensor, start: usize) -> Tensor {
		let (tokens, heads, head_dim) = x.size3().unwrap_or((0, 0, 0));
		let half = head_dim / 2;
		// θ_i = base^(-2i / head_dim)
		let inverse = Tensor::arange(half, (Kind::Float, x.device()))
			.multiply_scalar(-2.0 * self.config.rope_base.ln() / head_dim as f64)
			.exp();
		let positions =
			Tensor::arange_start(start as i64, start as i64 + tokens, (Kind::Float, x.device()));
		let angles = positions.unsqueeze(1).matmul(&inverse.unsqueeze(0));
		let (cos, sin) = (angles.cos().unsqueeze(1), angles.sin().unsqueeze(1));
		let pairs = x.reshape([tokens, heads, half, 2]);
		let even = pairs.select(3, 0);
		let odd = pairs.select(3, 1);
		let rotated_even = &even * &cos - &odd * &sin;
		let rotated_odd = &even * &sin + &odd * &cos;
		Tensor::stack(&[rotated_even, rotated_odd], 3).reshape([tokens, heads, head_dim])
	}

	/// Runs `tokens` after what `cache` holds (and adds them to it); the logits of the last
	/// token (`[vocab]`).
	pub fn forward(&self, tokens: &[i64], cache: &mut KvCache) -> Tensor {
		let _guard = tch::no_grad_guard();
		let config = &self.config;
		let count = tokens.len() as i64;
		let start = cache.len;
		let ids = Tensor::from_slice(tokens);
		let mut x = self.embeddings.index_select(0, &ids);
		let total = start as i64 + count;
		// Query i (at position start + i) sees keys up to start + i.
		let mask = Tensor::ones([count, total], (Kind::Bool, x.device()))
			.triu(start as i64 + 1)
			.unsqueeze(0);
		let group = config.heads / config.kv_heads;
		for (i, layer) in self.layers.iter().enumerate() {
			let h = rms_norm(&x, &layer.attn_norm, config.eps);
			let q = h.matmul(&layer.wq).reshape([count, config.heads, config.head_dim]);
			let k = h.matmul(&layer.wk).reshape([count, config.kv_heads, config.head_dim]);
			let v = h.matmul(&layer.wv).reshape([count, config.kv_heads, config.head_dim]);
			let q = self.rope(&q, start);
			let k = self.rope(&k, start);
			let k = match &cache.keys[i] {
				Some(past) => Tensor::cat(&[past, &k], 0),
				None => k,
			};
			let v = match &cache.values[i] {
				Some(past) => Tensor::cat(&[past, &v], 0),
				None => v,
			};
			let keys = k.repeat_interleave_self_int(group, 1, None).permute([1, 2, 0]);
			let values = v.repeat_interleave_self_int(group, 1, None).transpose(0, 1);
			cache.keys[i] = Some(k);
			cache.values[i] = Some(v);
			let scores = q.transpose(0, 1).matmul(&keys) / (config.head_dim as f64).sqrt();
			let weights = scores.masked_fill(&mask, f64::NEG_INFINITY).softmax(-1, Kind::Float);
			let attended = weights.matmul(&values).transpose(0, 1).reshape([count, config.dim]);
			x += attended.matmul(&layer.wo);
			let h = rms_norm(&x, &layer.ffn_norm, config.eps);
			let gated = h.matmul(&layer.w_gate).silu() * h.matmul(&layer.w_up);
			x += gated.matmul(&layer.w_down);
		}
		cache.len = start + tokens.len();
		let last = x.select(0, count - 1);
		rms_norm(&last, &self.norm, config.eps).matmul(&self.embeddings_t)
	}
}
