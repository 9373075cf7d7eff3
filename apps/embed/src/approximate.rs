//! The search a large cache needs: an HNSW graph over 8-bit embeddings ([usearch]) finds the
//! candidates, the exact `f32` embeddings of those few rank them.
//!
//! Each row is stored as 384 signed bytes instead of 1,536 (about 800 bytes with its links in
//! the graph), and a query visits a few thousand rows instead of every one. The graph's order is approximate twice over (the walk, the rounding); the exact
//! similarities of its best candidates are what the [matcher](crate::matcher) judges, so a
//! score near a threshold decides the same way as the exact search would.

use std::{collections::HashMap, sync::Arc};

use usearch::{IndexOptions, MetricKind, ScalarKind};

use crate::index::{IndexError, Scored};

/// Where the exact embeddings of a cached entry are read back from when the graph holds only
/// their 8-bit form (on a device, the cache's own embedding files).
pub trait Embeddings: Send + Sync {
	/// Entry `id`'s unit embeddings, one row per phrasing one after the other; `None` when they
	/// cannot be read (the candidate is then ranked by its 8-bit similarity).
	fn embeddings(&self, id: u64) -> Option<Vec<f32>>;
}

/// Candidates the graph returns for exact ranking: enough that the exact best is among them
/// (an entry has a few phrasings).
const CANDIDATES: usize = 32;

/// Neighbours per node in the graph (usearch's `connectivity`, HNSW's M).
const CONNECTIVITY: usize = 16;

/// Candidates kept while inserting (usearch's `expansion_add`).
const EXPANSION_ADD: usize = 128;

/// Candidates kept while searching (usearch's `expansion_search`; see BENCHMARKS.md "Search at
/// a million phrasings" for what it buys).
const EXPANSION_SEARCH: usize = 64;

pub(crate) struct Approximate {
	graph: usearch::Index,
	dimension: usize,
	/// The exact embeddings: in memory unless a store outside holds them.
	exact: Exact,
}

enum Exact {
	Memory(HashMap<u64, Vec<f32>>),
	Store(Arc<dyn Embeddings>),
}

impl Approximate {
	/// An empty graph for `capacity` rows; exact embeddings kept in memory unless `store` holds
	/// them.
	pub(crate) fn new(
		dimension: usize,
		capacity: usize,
		store: Option<Arc<dyn Embeddings>>,
	) -> Result<Self, IndexError> {
		let options = IndexOptions {
			dimensions: dimension,
			metric: MetricKind::Cos,
			quantization: ScalarKind::I8,
			connectivity: CONNECTIVITY,
			expansion_add: EXPANSION_ADD,
			expansion_search: EXPANSION_SEARCH,
			multi: true,
		};
		let graph = usearch::Index::new(&options).map_err(|e| IndexError::Graph(e.to_string()))?;
		let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
		graph
			.reserve_capacity_and_threads(capacity.max(1024), threads)
			.map_err(|e| IndexError::Graph(e.to_string()))?;
		let exact = match store {
			Some(store) => Exact::Store(store),
			None => Exact::Memory(HashMap::new()),
		};
		Ok(Self { graph, dimension, exact })
	}

	/// Room for `more` rows, a quarter more than needed when it runs out.
	fn make_room(&self, more: usize) -> Result<(), IndexError> {
		let needed = self.graph.size() + more;
		if needed > self.graph.capacity() {
			let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
			self.graph
				.reserve_capacity_and_threads(needed + needed / 4, threads)
				.map_err(|e| IndexError::Graph(e.to_string()))?;
		}
		Ok(())
	}

	/// Adds entry `id`'s unit embeddings (`rows` × dimension values).
	pub(crate) fn add(&mut self, id: u64, rows: &[f32]) -> Result<(), IndexError> {
		self.add_all(&[(id, rows)])
	}

	/// Adds entries' unit embeddings, on every core.
	pub(crate) fn add_all(&mut self, entries: &[(u64, &[f32])]) -> Result<(), IndexError> {
		let dimension = self.dimension;
		let total: usize = entries.iter().map(|(_, rows)| rows.len() / dimension).sum();
		self.make_room(total)?;
		let work: Vec<(u64, Vec<i8>)> = entries
			.iter()
			.flat_map(|(id, rows)| {
				rows.chunks_exact(dimension).map(move |row| (*id, quantize(row)))
			})
			.collect();
		let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(work.len());
		let graph = &self.graph;
		let failed = if threads <= 1 {
			work.iter().find_map(|(id, row)| graph.add(*id, row.as_slice()).err())
		} else {
			let chunk = work.len().div_ceil(threads);
			std::thread::scope(|scope| {
				let handles: Vec<_> = work
					.chunks(chunk)
					.map(|part| {
						scope.spawn(move || {
							part.iter().find_map(|(id, row)| graph.add(*id, row.as_slice()).err())
						})
					})
					.collect();
				handles.into_iter().find_map(|handle| handle.join().ok().flatten())
			})
		};
		if let Some(error) = failed {
			for (id, _) in entries {
				let _ = self.graph.remove(*id);
			}
			return Err(IndexError::Graph(error.to_string()));
		}
		if let Exact::Memory(memory) = &mut self.exact {
			for (id, rows) in entries {
				memory.insert(*id, rows.to_vec());
			}
		}
		Ok(())
	}

	/// Removes entry `id`'s rows.
	pub(crate) fn remove(&mut self, id: u64) {
		let _ = self.graph.remove(id);
		if let Exact::Memory(memory) = &mut self.exact {
			memory.remove(&id);
		}
	}

	/// The `k` entries most similar to the unit `query`, best first, by exact similarity.
	pub(crate) fn search(&self, query: &[f32], k: usize) -> Vec<Scored> {
		let Ok(matches) = self.graph.search(quantize(query).as_slice(), (k * 4).max(CANDIDATES))
		else {
			return Vec::new();
		};
		let mut scored: Vec<Scored> = Vec::with_capacity(matches.keys.len());
		for (id, distance) in matches.keys.into_iter().zip(matches.distances) {
			if scored.iter().any(|s| s.id == id) {
				continue;
			}
			let exact = match &self.exact {
				Exact::Memory(memory) => memory.get(&id).and_then(|rows| best_row(query, rows)),
				Exact::Store(store) => store.embeddings(id).and_then(|rows| best_row(query, &rows)),
			};
			// The cosine distance is 1 - similarity.
			scored.push(Scored { id, score: exact.unwrap_or(1.0 - distance) });
		}
		scored.sort_by(|a, b| b.score.total_cmp(&a.score));
		scored.truncate(k);
		scored
	}

	/// Bytes held for searching: the graph with its 8-bit rows, and the exact rows kept in
	/// memory (none when a store holds them).
	pub(crate) fn memory(&self) -> usize {
		let exact = match &self.exact {
			Exact::Memory(memory) => memory.values().map(|rows| rows.len() * 4 + 32).sum(),
			Exact::Store(_) => 0,
		};
		self.graph.memory_usage() + exact
	}
}

/// A row in 8 bits, its largest value at ±127 (the cosine does not see the scale; usearch's
/// own cast scales by the norm and truncates, leaving a unit row of 384 about ±6 of 127).
fn quantize(row: &[f32]) -> Vec<i8> {
	let largest = row.iter().fold(0f32, |m, x| m.max(x.abs()));
	if !largest.is_finite() || largest <= 0.0 {
		return vec![0; row.len()];
	}
	row.iter()
		.map(|x| (x * 127.0 / largest).round().clamp(-127.0, 127.0) as i8)
		.collect()
}

/// The highest similarity of `query` with any of `rows` (unit vectors one after the other);
/// `None` unless `rows` are whole rows of the query's width.
fn best_row(query: &[f32], rows: &[f32]) -> Option<f32> {
	if query.is_empty() || rows.is_empty() || !rows.len().is_multiple_of(query.len()) {
		return None;
	}
	rows.chunks_exact(query.len())
		.map(|row| row.iter().zip(query).map(|(a, b)| a * b).sum::<f32>())
		.reduce(f32::max)
}
