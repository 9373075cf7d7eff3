//! The lookup a semantic cache makes: one matrix product of the query's embedding with every
//! cached entry's, then the best candidates in order — and a hit only when the candidate also
//! agrees with the question on what it is about (its key terms). Plain similarity puts "atomic
//! number of carbon" next to "atomic number of nitrogen"; key terms tell them apart.

use tch::{Device, Kind, Tensor};

/// One cached item: an id, its unit embedding, and the words it speaks of.
struct Item {
	id: u64,
	vocabulary: Vec<String>,
}

/// Embeddings of cached entries, searchable with one matrix product.
pub struct Index {
	dimension: i64,
	items: Vec<Item>,
	/// `[items, dimension]`, rebuilt lazily after pushes.
	matrix: Option<Tensor>,
	pending: Vec<Tensor>,
	device: Device,
}

/// A candidate and its cosine similarity to the query.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
	pub id: u64,
	pub score: f32,
}

/// Why the best candidates are not a hit.
#[derive(Clone, Debug, PartialEq)]
pub enum Miss {
	/// The cache is empty.
	Empty,
	/// Nothing clears the similarity threshold.
	BelowThreshold { best: Scored },
	/// Similar enough, but about something else (these query terms are not in it).
	Disagrees { best: Scored, missing: Vec<String> },
}

impl Index {
	/// An empty index of `dimension`-wide unit vectors on `device`.
	pub fn new(dimension: usize, device: Device) -> Self {
		Self {
			dimension: dimension as i64,
			items: Vec::new(),
			matrix: None,
			pending: Vec::new(),
			device,
		}
	}

	/// Number of cached items.
	pub fn len(&self) -> usize {
		self.items.len()
	}

	/// Whether the index is empty.
	pub fn is_empty(&self) -> bool {
		self.items.is_empty()
	}

	/// Adds an item: its unit `embedding` (`[dimension]` or `[1, dimension]`) and the words it
	/// speaks of (its question's key terms and its answer's words).
	pub fn push(&mut self, id: u64, embedding: &Tensor, vocabulary: Vec<String>) {
		self.pending.push(
			embedding
				.view([1, self.dimension])
				.to_kind(Kind::Float)
				.to(self.device),
		);
		self.items.push(Item { id, vocabulary });
	}

	/// Removes item `id` (a superseded entry); whether it was there.
	pub fn remove(&mut self, id: u64) -> bool {
		let Some(position) = self.items.iter().position(|item| item.id == id) else {
			return false;
		};
		let Some(matrix) = self.matrix().map(|m| m.shallow_clone()) else {
			return false;
		};
		let keep: Vec<i64> = (0..self.items.len() as i64)
			.filter(|row| *row != position as i64)
			.collect();
		self.matrix = (!keep.is_empty())
			.then(|| matrix.index_select(0, &Tensor::from_slice(&keep).to(self.device)));
		self.items.remove(position);
		true
	}

	fn matrix(&mut self) -> Option<&Tensor> {
		if !self.pending.is_empty() {
			let mut parts: Vec<Tensor> = self.matrix.take().into_iter().collect();
			parts.append(&mut self.pending);
			self.matrix = Some(Tensor::cat(&parts, 0));
		}
		self.matrix.as_ref()
	}

	/// The `k` most similar items to the unit `query`, best first.
	pub fn search(&mut self, query: &Tensor, k: usize) -> Vec<Scored> {
		self.ranked(query, k)
			.into_iter()
			.map(|(position, score)| Scored {
				id: self.items[position].id,
				score,
			})
			.collect()
	}

	/// Positions and scores of the `k` most similar items, best first.
	fn ranked(&mut self, query: &Tensor, k: usize) -> Vec<(usize, f32)> {
		let dimension = self.dimension;
		let device = self.device;
		let Some(matrix) = self.matrix() else {
			return Vec::new();
		};
		let query = query.view([dimension, 1]).to_kind(Kind::Float).to(device);
		let scores = matrix.matmul(&query).squeeze_dim(1);
		let k = (k.min(self.items.len())) as i64;
		let (values, indices) = scores.topk(k, 0, true, true);
		let values = Vec::<f32>::try_from(&values.to(Device::Cpu)).unwrap_or_default();
		let indices = Vec::<i64>::try_from(&indices.to(Device::Cpu)).unwrap_or_default();
		indices
			.into_iter()
			.map(|i| i as usize)
			.zip(values)
			.collect()
	}

	/// The best item that clears `threshold` and speaks of every one of `terms` (the query's key
	/// terms), among the `k` most similar; otherwise why not.
	pub fn lookup(
		&mut self,
		query: &Tensor,
		terms: &[String],
		threshold: f32,
		k: usize,
	) -> Result<Scored, Miss> {
		let candidates = self.ranked(query, k);
		let scored = |(position, score): (usize, f32)| Scored {
			id: self.items[position].id,
			score,
		};
		let best = candidates.first().copied().map(scored).ok_or(Miss::Empty)?;
		if best.score < threshold {
			return Err(Miss::BelowThreshold { best });
		}
		let mut first_missing = None;
		for (position, score) in candidates.into_iter().take_while(|(_, s)| *s >= threshold) {
			let vocabulary = &self.items[position].vocabulary;
			let missing: Vec<String> = terms
				.iter()
				.filter(|t| !vocabulary.contains(t))
				.cloned()
				.collect();
			if missing.is_empty() {
				return Ok(scored((position, score)));
			}
			first_missing.get_or_insert(missing);
		}
		Err(Miss::Disagrees {
			best,
			missing: first_missing.unwrap_or_default(),
		})
	}
}
