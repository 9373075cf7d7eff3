//! The lookup a semantic cache makes: one matrix product of the query's embedding with every
//! cached phrasing, the best entries in order, then the [matcher](crate::matcher) decides
//! whether the closest ones answer the question.

use std::collections::HashMap;

use tch::{Device, Kind, Tensor};

use crate::matcher::{Profile, Query, Refusal, Thresholds};

/// Embeddings of cached entries (one row per phrasing), searchable with one matrix product.
pub struct Index {
	dimension: i64,
	/// The entry each row embeds.
	rows: Vec<u64>,
	/// What each entry answers: its question's profile first, then one per other phrasing its
	/// body gives.
	profiles: HashMap<u64, Vec<Profile>>,
	/// `[rows, dimension]`, rebuilt lazily after pushes.
	matrix: Option<Tensor>,
	pending: Vec<Tensor>,
	device: Device,
}

/// A candidate and its cosine similarity to the query (its closest phrasing's).
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
	BelowThreshold { best: Scored, threshold: f32 },
	/// Similar enough, but the closest entry does not answer the question.
	Refused { best: Scored, refusal: Refusal },
}

impl std::fmt::Display for Miss {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Empty => write!(f, "the verified cache is empty"),
			Self::BelowThreshold { best, threshold } => write!(
				f,
				"no cached entry is similar enough (best: entry {} at {:.2}, threshold {threshold:.2})",
				best.id, best.score
			),
			Self::Refused { best, refusal } => {
				write!(f, "the closest cached entry ({} at {:.2}) {refusal}", best.id, best.score)
			},
		}
	}
}

impl Index {
	/// An empty index of `dimension`-wide unit vectors on `device`.
	pub fn new(dimension: usize, device: Device) -> Self {
		Self {
			dimension: dimension as i64,
			rows: Vec::new(),
			profiles: HashMap::new(),
			matrix: None,
			pending: Vec::new(),
			device,
		}
	}

	/// Number of cached entries.
	pub fn len(&self) -> usize {
		self.profiles.len()
	}

	/// Whether the index is empty.
	pub fn is_empty(&self) -> bool {
		self.profiles.is_empty()
	}

	/// Adds entry `id`: the unit embeddings of its phrasings (`[phrasings, dimension]`, its
	/// question first, or one `[dimension]` row) and its profiles (its question's first; the
	/// entry answers a query any of them accepts). An entry already there is replaced.
	pub fn push(&mut self, id: u64, embeddings: &Tensor, profiles: Vec<Profile>) {
		self.remove(id);
		let rows = embeddings.view([-1, self.dimension]).to_kind(Kind::Float).to(self.device);
		let count = rows.size()[0] as usize;
		self.pending.push(rows);
		self.rows.extend(std::iter::repeat_n(id, count));
		self.profiles.insert(id, profiles);
	}

	/// Removes entry `id` (a superseded entry); whether it was there.
	pub fn remove(&mut self, id: u64) -> bool {
		if self.profiles.remove(&id).is_none() {
			return false;
		}
		if let Some(matrix) = self.matrix().map(|m| m.shallow_clone()) {
			let keep: Vec<i64> = (0..self.rows.len() as i64)
				.filter(|row| self.rows[*row as usize] != id)
				.collect();
			self.matrix = (!keep.is_empty())
				.then(|| matrix.index_select(0, &Tensor::from_slice(&keep).to(self.device)));
		}
		self.rows.retain(|row| *row != id);
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

	/// The `k` entries most similar to the unit `query`, best first.
	pub fn search(&mut self, query: &Tensor, k: usize) -> Vec<Scored> {
		let dimension = self.dimension;
		let device = self.device;
		let Some(matrix) = self.matrix() else {
			return Vec::new();
		};
		let query = query.view([dimension, 1]).to_kind(Kind::Float).to(device);
		let scores = matrix.matmul(&query).squeeze_dim(1);
		// Enough rows that `k` distinct entries are among them (an entry has a few phrasings).
		let take = (k.saturating_mul(4)).min(self.rows.len()) as i64;
		let (values, indices) = scores.topk(take, 0, true, true);
		let values = Vec::<f32>::try_from(&values.to(Device::Cpu)).unwrap_or_default();
		let indices = Vec::<i64>::try_from(&indices.to(Device::Cpu)).unwrap_or_default();
		let mut out: Vec<Scored> = Vec::with_capacity(k);
		for (row, score) in indices.into_iter().zip(values) {
			let id = self.rows[row as usize];
			if out.len() < k && !out.iter().any(|s| s.id == id) {
				out.push(Scored { id, score });
			}
		}
		out
	}

	/// The best entry among the `k` most similar to `query` (its unit `embedding`) that the
	/// matcher accepts; otherwise why the closest does not answer.
	pub fn lookup(
		&mut self,
		embedding: &Tensor,
		query: &Query,
		thresholds: &Thresholds,
		k: usize,
	) -> Result<Scored, Miss> {
		let candidates = self.search(embedding, k);
		let best = candidates.first().cloned().ok_or(Miss::Empty)?;
		if best.score < thresholds.base {
			return Err(Miss::BelowThreshold { best, threshold: thresholds.base });
		}
		let mut first_refusal = None;
		for candidate in candidates.into_iter().take_while(|c| c.score >= thresholds.base) {
			let Some(profiles) = self.profiles.get(&candidate.id) else {
				continue;
			};
			// The question's own refusal explains a miss best: it is judged first.
			for profile in profiles {
				match profile.judge(query, candidate.score, thresholds) {
					Ok(()) => return Ok(candidate),
					Err(refusal) => {
						first_refusal.get_or_insert(refusal);
					},
				}
			}
		}
		match first_refusal {
			Some(refusal) => Err(Miss::Refused { best, refusal }),
			None => Err(Miss::BelowThreshold { best, threshold: thresholds.base }),
		}
	}
}
