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
	/// How many profiles each stem anchors (see [`Profile::anchors`]), and how many profiles
	/// have no anchor (any question may match them): what [`Index::may_answer`] reads.
	anchors: HashMap<String, u32>,
	open: u32,
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
	/// The question names nothing any cached entry is about (see [`Index::may_answer`]): no
	/// similarity could make one answer it.
	Unnamed,
	/// Nothing clears the similarity threshold.
	BelowThreshold { best: Scored, threshold: f32 },
	/// Similar enough, but the closest entry does not answer the question.
	Refused { best: Scored, refusal: Refusal },
}

impl std::fmt::Display for Miss {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Empty => write!(f, "the verified cache is empty"),
			Self::Unnamed => {
				write!(f, "no cached entry is about anything the question names")
			},
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
			anchors: HashMap::new(),
			open: 0,
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
		self.count_anchors(&profiles, true);
		self.profiles.insert(id, profiles);
	}

	fn count_anchors(&mut self, profiles: &[Profile], add: bool) {
		for profile in profiles {
			match profile.anchors() {
				None if add => self.open += 1,
				None => self.open = self.open.saturating_sub(1),
				Some(anchors) => {
					for stem in anchors {
						if add {
							*self.anchors.entry(stem.to_string()).or_default() += 1;
						} else if let Some(count) = self.anchors.get_mut(stem) {
							*count = count.saturating_sub(1);
							if *count == 0 {
								self.anchors.remove(stem);
							}
						}
					}
				},
			}
		}
	}

	/// Whether any cached entry could answer `query`, from its words alone: a profile accepts
	/// only a question that names one of its [anchors](Profile::anchors). `false` is a sure
	/// miss ([`Miss::Unnamed`]) with no embedding computed; `true` says nothing yet.
	pub fn may_answer(&self, query: &Query) -> bool {
		self.open > 0 || query.named().any(|stem| self.anchors.contains_key(stem))
	}

	/// Removes entry `id` (a superseded entry); whether it was there.
	pub fn remove(&mut self, id: u64) -> bool {
		let Some(profiles) = self.profiles.remove(&id) else {
			return false;
		};
		self.count_anchors(&profiles, false);
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

#[cfg(test)]
mod tests {
	use super::*;

	fn unit(values: &[f32]) -> Tensor {
		let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
		Tensor::from_slice(&values.iter().map(|v| v / norm).collect::<Vec<_>>())
	}

	#[test]
	fn may_answer_follows_what_is_cached() {
		let mut index = Index::new(3, Device::Cpu);
		let carbon = Query::new("What is the atomic number of carbon?");
		assert!(!index.may_answer(&carbon), "an empty index answers nothing");
		index.push(
			7,
			&unit(&[1.0, 0.0, 0.0]),
			vec![Profile::new("What is the atomic number of carbon?", "Carbon: 6", &[])],
		);
		index.push(
			8,
			&unit(&[0.0, 1.0, 0.0]),
			vec![Profile::new("What is UDP?", "UDP: User Datagram Protocol (UDP).", &[])],
		);
		assert!(index.may_answer(&carbon));
		assert!(index.may_answer(&Query::new("What is the User Datagram Protocol?")));
		let moon = Query::new("How heavy is the moon of planet 7?");
		assert!(!index.may_answer(&moon));
		// The sure miss agrees with the lookup, however similar the embedding.
		let lookup = index.lookup(&unit(&[1.0, 0.0, 0.0]), &moon, &Thresholds::default(), 3);
		assert!(matches!(lookup, Err(Miss::Refused { .. })), "{lookup:?}");
		// Removing an entry withdraws its anchors; replacing one counts them once.
		assert!(index.remove(7));
		assert!(!index.may_answer(&carbon));
		index.push(8, &unit(&[0.0, 0.0, 1.0]), vec![Profile::new("What is UDP?", "UDP.", &[])]);
		index.remove(8);
		assert!(index.anchors.is_empty() && index.open == 0);
		// An entry without a subject may answer anything.
		index.push(9, &unit(&[0.0, 0.0, 1.0]), vec![Profile::new("What is it?", "It.", &[])]);
		assert!(index.may_answer(&moon));
	}
}
