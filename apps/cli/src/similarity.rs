//! The distiller's re-ranking model: all-MiniLM-L6-v2 (the model devices match with), behind
//! [`membria_distiller::Similarity`].

use std::{
	path::{Path, PathBuf},
	sync::Mutex,
};

use anyhow::Context;

use membria_distiller::Similarity;
use membria_embed::{cosine, Embedder};

/// The sentence-embedding model, one question at a time.
pub struct MiniLm(Mutex<Embedder>);

impl MiniLm {
	/// Loads the model from `dir` (safetensors, tokenizer, config) (the CPU here).
	pub fn load(dir: &Path) -> anyhow::Result<Self> {
		Ok(Self(Mutex::new(Embedder::load(dir)?)))
	}
}

impl Similarity for MiniLm {
	fn similarities(&self, question: &str, passages: &[String]) -> Result<Vec<f32>, String> {
		let model = self.0.lock().map_err(|_| "the model's lock is poisoned".to_string())?;
		let mut texts: Vec<&str> = vec![question];
		texts.extend(passages.iter().map(String::as_str));
		let rows = model.embed_rows(&texts).map_err(|error| error.to_string())?;
		let (question, passages) = rows.split_first().ok_or("no embedding")?;
		Ok(passages.iter().map(|passage| cosine(question, passage)).collect())
	}
}

/// Where `scripts/setup.sh` installs the model ([`membria_embed::default_model_dir`]).
pub fn default_model_dir() -> anyhow::Result<PathBuf> {
	membria_embed::default_model_dir()
		.context("neither MEMBRIA_MODELS nor HOME is set: pass --model-dir")
}

/// The re-ranking model for a distiller: the one in `dir` (an error if it does not load), or
/// the installed one if there is one (`None`, with a warning, if not); none if `off`.
pub fn reranker(dir: Option<&Path>, off: bool) -> anyhow::Result<Option<MiniLm>> {
	if off {
		return Ok(None);
	}
	if let Some(dir) = dir {
		let model = MiniLm::load(dir)
			.with_context(|| format!("loading the re-ranking model from {}", dir.display()))?;
		return Ok(Some(model));
	}
	let dir = default_model_dir()?;
	match MiniLm::load(&dir) {
		Ok(model) => Ok(Some(model)),
		Err(error) => {
			tracing::warn!(dir = %dir.display(), %error, "no re-ranking model: passages are ranked by BM25 alone");
			Ok(None)
		},
	}
}
