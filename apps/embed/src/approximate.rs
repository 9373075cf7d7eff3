//! The search a large cache needs: the rows in lists by the nearest of a few thousand centres
//! (an inverted file, as FAISS's IVF), short 8-bit rows scanned in the lists nearest the query
//! find the candidates, and the exact `f32` embeddings of those few rank them.
//!
//! A row in the lists is not the embedding: it is the embedding's coordinates along the
//! leading principal directions of the rows the search starts with ([`Projection`]), as many as
//! hold [`ENERGY`] of their energy — a sentence embedding's variance sits in its first
//! components (112 of 384 values on the benchmark's synthetic rows, 96 on real questions) —
//! rounded to 8 bits. A million rows take 263 MB instead of 1.5 GB, and a query compares
//! itself with the centres and the rows of [`PROBES`] lists (about 78,000 of a million rows)
//! instead of every row, in two steps: a scan reads each row's first [`HEAD`] values (the
//! leading directions', which hold most of a row's similarity; the lists keep them apart from
//! the rest), the rows it keeps ([`SHORTLIST`]) are scored by all their values, and the
//! [`CANDIDATES`] best by their exact embeddings. The scan is bound by memory bandwidth, so
//! the bytes it reads a row are what a search costs. The order of the candidates is
//! approximate four times over (the lists not scanned, the head, the projection, the
//! rounding); the exact similarities of the best are what the [matcher](crate::matcher)
//! judges, so a score near a threshold decides the same way as the exact search would.
//!
//! The centres are fitted once (spherical k-means on the projected rows the search starts
//! with, [`ROUNDS`] rounds); rows added later go to the nearest. A search costs what its lists
//! hold: with rows far from what the centres were fitted on, lists grow unevenly and the
//! search slows towards a scan of every 8-bit row. The scores it returns are the exact ones
//! (but for an entry whose exact rows cannot be read: its best 8-bit estimate).

use std::{collections::HashMap, sync::Arc};

use tch::{Device, Kind, Tensor};

use crate::index::{IndexError, Scored};

/// Where the exact embeddings of a cached entry are read back from when the search holds only
/// their 8-bit form (on a device, the cache's checked embeddings packed in one file).
pub trait Embeddings: Send + Sync {
	/// Entry `id`'s unit embeddings, one row per phrasing one after the other; `None` when they
	/// cannot be read (the candidate is then ranked by its 8-bit similarity).
	fn embeddings(&self, id: u64) -> Option<Vec<f32>>;
}

/// Candidates the scan keeps for exact ranking: enough that the exact best is among them (an
/// entry has a few phrasings, and the projection and rounding reorder close rows).
const CANDIDATES: usize = 48;

/// The share of the rows' energy (their squared length, summed) a scanned row keeps: the
/// projection keeps the fewest leading directions that hold it.
pub const ENERGY: f64 = 0.8;

/// Fewest rows a projection is fitted on: with fewer the lists keep whole rows. A small sample
/// overstates how much its leading directions hold (1,000 real question embeddings put 80% of
/// their energy in 48 directions, 20,000 in 96, and the 48 found the exact best of 40,000 rows
/// 90% of the time where the 96 found it always); an index fits at 65,536.
const FIT_FROM: usize = 8_192;

/// Rows per list when the centres are fitted (lists grow as the index does: a million rows
/// over centres fitted on 65,536 hold about 250 each).
const ROWS_PER_LIST: usize = 16;

/// Most lists.
const MAX_LISTS: usize = 4_096;

/// Lists a search scans unless told otherwise ([`Approximate::set_probes`]; BENCHMARKS.md
/// "Search at a million phrasings" for what more buy).
pub const PROBES: usize = 320;

/// Most values of a row a scan reads (the leading directions'); the rest of a row is read only
/// for the [`SHORTLIST`] rows the scan keeps.
const HEAD: usize = 48;

/// Rows a scan keeps for their whole values to rank ([`HEAD`]).
const SHORTLIST: usize = 512;

/// Rounds of k-means fitting the centres.
const ROUNDS: usize = 10;

pub(crate) struct Approximate {
	dimension: usize,
	/// What a row becomes in the lists (whole rows without one).
	projection: Option<Projection>,
	/// Values of a row in the lists.
	width: usize,
	/// Of which a scan reads the first ([`HEAD`] at most).
	head: usize,
	/// The lists' unit centres in 8 bits, each's "entry" its list: what a search scans.
	centres: List,
	/// The same in `f32`, one after the other: what new rows are assigned by.
	fitted: Vec<f32>,
	lists: Vec<List>,
	/// Where each entry's rows are: `(list, slot)`.
	places: HashMap<u64, Vec<(u32, u32)>>,
	/// Lists a search scans.
	probes: usize,
	/// The exact embeddings: in memory unless a store outside holds them.
	exact: Exact,
}

/// The rows nearest one centre: their entries, 8-bit values and scales. A row's values are in
/// two parts: its first values (the leading directions') with the other rows' first values,
/// what a scan reads, and the rest with the others' rest, read only for the rows the scan
/// keeps.
#[derive(Default)]
struct List {
	ids: Vec<u64>,
	/// The first values of each row, one row after the other.
	heads: Vec<i8>,
	/// The rest of each row, one row after the other.
	tails: Vec<i8>,
	/// What turns a row's 8-bit dot product with a query into a cosine (with the query's own
	/// scale): its largest value over 127, over its length.
	scales: Vec<f32>,
}

impl List {
	/// Appends entry `id`'s (projected) `row` in 8 bits, its first `head` values with the
	/// heads; `length` the length of the row it was projected from (see [`quantize`]).
	fn push(&mut self, id: u64, row: &[f32], length: f32, head: usize) {
		let (values, scale) = quantize(row, length);
		let (first, rest) = values.split_at(head.min(values.len()));
		self.ids.push(id);
		self.heads.extend_from_slice(first);
		self.tails.extend_from_slice(rest);
		self.scales.push(scale);
	}

	/// Removes the row in `slot` (of `head` values, then `tail`), the last row taking its place.
	fn swap_remove(&mut self, slot: usize, head: usize, tail: usize) {
		let last = self.ids.len() - 1;
		self.ids.swap_remove(slot);
		self.scales.swap_remove(slot);
		if slot != last {
			self.heads.copy_within(last * head..(last + 1) * head, slot * head);
			self.tails.copy_within(last * tail..(last + 1) * tail, slot * tail);
		}
		self.heads.truncate(last * head);
		self.tails.truncate(last * tail);
	}

	/// Bytes held.
	fn memory(&self) -> usize {
		self.heads.capacity()
			+ self.tails.capacity()
			+ self.ids.capacity() * 8
			+ self.scales.capacity() * 4
	}
}

enum Exact {
	Memory(HashMap<u64, Vec<f32>>),
	Store(Arc<dyn Embeddings>),
}

/// The leading principal directions of a sample of unit rows (uncentred: the cosine the scan
/// measures must keep the direction the rows share), as many as hold [`ENERGY`] of the
/// sample's energy, rounded up to a multiple of 16 (what the scan's vector kernel takes).
pub(crate) struct Projection {
	/// Unit directions of `dimension` values, one after the other, the leading one first.
	directions: Vec<f32>,
	dimension: usize,
}

impl Projection {
	/// The directions of `sample` (rows of `dimension` values); `None` when it holds fewer than
	/// [`FIT_FROM`] rows or when the directions needed are more than three quarters of them.
	pub(crate) fn fit(sample: &[f32], dimension: usize) -> Option<Self> {
		let rows = sample.len() / dimension.max(1);
		if rows < FIT_FROM || dimension < 16 {
			return None;
		}
		let rows = Tensor::from_slice(&sample[..rows * dimension])
			.view([rows as i64, dimension as i64])
			.to_kind(Kind::Double);
		// The second moment's eigenvectors, by ascending eigenvalue.
		let (values, vectors) = rows.tr().matmul(&rows).f_linalg_eigh("L").ok()?;
		let values = Vec::<f64>::try_from(&values.flip([0])).ok()?;
		let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
		if total.is_nan() || total <= 0.0 {
			return None;
		}
		let mut held = 0.0;
		let needed = values
			.iter()
			.position(|v| {
				held += v.max(0.0);
				held >= ENERGY * total
			})
			.map_or(dimension, |at| at + 1);
		let kept = needed.next_multiple_of(16);
		// Saving less than a quarter of the values is not worth the approximation.
		if kept * 4 > dimension * 3 {
			return None;
		}
		let leading = vectors.flip([1]).narrow(1, 0, kept as i64).tr().contiguous();
		let directions = Vec::<f32>::try_from(&leading.to_kind(Kind::Float).flatten(0, -1)).ok()?;
		Some(Self { directions, dimension })
	}

	/// Values of a projected row.
	pub(crate) fn width(&self) -> usize {
		self.directions.len() / self.dimension
	}

	/// `row`'s coordinates along the directions.
	pub(crate) fn apply(&self, row: &[f32]) -> Vec<f32> {
		self.apply_all(row)
	}

	/// The coordinates of `rows` (whole rows of `dimension` values, one after the other), in
	/// one matrix product.
	fn apply_all(&self, rows: &[f32]) -> Vec<f32> {
		if rows.is_empty() {
			return Vec::new();
		}
		let (dimension, width) = (self.dimension as i64, self.width() as i64);
		let rows = Tensor::from_slice(rows).view([-1, dimension]);
		let directions = Tensor::from_slice(&self.directions).view([width, dimension]);
		let projected = rows.matmul(&directions.tr()).to(Device::Cpu);
		Vec::<f32>::try_from(&projected.flatten(0, -1)).unwrap_or_default()
	}
}

/// The dot product of two rows of the same width (lengths and tests: the hot products are
/// matrix products and the 8-bit scan).
fn dot(a: &[f32], b: &[f32]) -> f32 {
	a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl Approximate {
	/// An empty search whose projection and centres are fitted on `sample` (rows of
	/// `dimension`: the rows it is about to hold); exact embeddings kept in memory unless
	/// `store` holds them.
	pub(crate) fn new(
		dimension: usize,
		sample: &[f32],
		store: Option<Arc<dyn Embeddings>>,
	) -> Result<Self, IndexError> {
		if dimension == 0 {
			return Err(IndexError::Shape { values: sample.len(), dimension });
		}
		// Rows with a value that is not finite would wreck the fit (and a NaN centre would
		// take every row).
		let sample: Vec<f32> = sample
			.chunks_exact(dimension)
			.filter(|row| row.iter().all(|v| v.is_finite()))
			.flatten()
			.copied()
			.collect();
		let sample = sample.as_slice();
		let projection = Projection::fit(sample, dimension);
		let width = projection.as_ref().map_or(dimension, Projection::width);
		let projected = match &projection {
			Some(projection) => projection.apply_all(sample),
			None => sample.to_vec(),
		};
		let fitted = fit_centres(&projected, width);
		let lists = (0..fitted.len() / width).map(|_| List::default()).collect();
		// A centre is scanned whole.
		let mut centres = List::default();
		for (list, centre) in fitted.chunks_exact(width).enumerate() {
			centres.push(list as u64, centre, dot(centre, centre).sqrt(), width);
		}
		let exact = match store {
			Some(store) => Exact::Store(store),
			None => Exact::Memory(HashMap::new()),
		};
		Ok(Self {
			dimension,
			projection,
			width,
			head: width.min(HEAD),
			centres,
			fitted,
			lists,
			places: HashMap::new(),
			probes: PROBES,
			exact,
		})
	}

	/// Values of a row in the lists (fewer than an embedding's when projected).
	pub(crate) fn width(&self) -> usize {
		self.width
	}

	/// Of which a scan reads the first ([`HEAD`] at most); the rest only for its shortlist.
	pub(crate) fn head(&self) -> usize {
		self.head
	}

	/// Lists a search scans: more find the exact best more often, in proportionally more time.
	pub(crate) fn set_probes(&mut self, lists: usize) {
		self.probes = lists.clamp(1, self.lists.len().max(1));
	}

	/// The rows for the lists of `rows` (whole rows, one after the other).
	fn projected(&self, rows: &[f32]) -> Vec<f32> {
		match &self.projection {
			Some(projection) => projection.apply_all(rows),
			None => rows.to_vec(),
		}
	}

	/// Adds entry `id`'s unit embeddings (`rows` × dimension values).
	pub(crate) fn add(&mut self, id: u64, rows: &[f32]) -> Result<(), IndexError> {
		self.add_all(&[(id, rows)])
	}

	/// Adds entries' unit embeddings (each replacing the rows of an entry already there), in
	/// one projection and one assignment to the lists.
	pub(crate) fn add_all(&mut self, entries: &[(u64, &[f32])]) -> Result<(), IndexError> {
		let dimension = self.dimension;
		if let Some((_, rows)) =
			entries.iter().find(|(_, rows)| !rows.len().is_multiple_of(dimension))
		{
			return Err(IndexError::Shape { values: rows.len(), dimension });
		}
		for (id, _) in entries {
			self.remove(*id);
		}
		let whole: Vec<f32> = entries.iter().flat_map(|(_, rows)| rows.iter().copied()).collect();
		let projected = self.projected(&whole);
		let nearest = nearest_centres(&projected, &self.fitted, self.width);
		let ids = entries
			.iter()
			.flat_map(|(id, rows)| std::iter::repeat_n(*id, rows.len() / dimension));
		let lengths = whole.chunks_exact(dimension).map(|row| dot(row, row).sqrt());
		let rows = projected.chunks_exact(self.width).zip(lengths);
		for ((id, (row, length)), list) in ids.zip(rows).zip(nearest) {
			let at = &mut self.lists[list];
			self.places.entry(id).or_default().push((list as u32, at.ids.len() as u32));
			at.push(id, row, length, self.head);
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
		if let Some(mut places) = self.places.remove(&id) {
			// The last row of a list takes the place of the one removed: from the highest slot
			// down, none of this entry's rows is moved before it is removed.
			places.sort_unstable_by(|a, b| b.cmp(a));
			for (list, slot) in places {
				let (head, tail) = (self.head, self.width - self.head);
				let at = &mut self.lists[list as usize];
				let (slot, last) = (slot as usize, at.ids.len() - 1);
				at.swap_remove(slot, head, tail);
				if slot != last {
					let moved = at.ids[slot];
					if let Some(place) = self
						.places
						.get_mut(&moved)
						.and_then(|places| places.iter_mut().find(|p| **p == (list, last as u32)))
					{
						place.1 = slot as u32;
					}
				}
			}
		}
		if let Exact::Memory(memory) = &mut self.exact {
			memory.remove(&id);
		}
	}

	/// The `k` entries most similar to the unit `query`, best first, by exact similarity.
	pub(crate) fn search(&self, query: &[f32], k: usize) -> Vec<Scored> {
		if query.len() != self.dimension || k == 0 {
			return Vec::new();
		}
		let row = match &self.projection {
			Some(projection) => projection.apply(query),
			None => query.to_vec(),
		};
		let wanted = k.saturating_mul(4).max(CANDIDATES);
		let length = dot(query, query).sqrt();
		let mut scanned = self.candidates(&row, length, wanted);

		// Best first: an entry without exact rows keeps its best phrasing's 8-bit score.
		scanned.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
		let mut scored: Vec<Scored> = Vec::with_capacity(scanned.len());
		for (rough, id) in scanned {
			if scored.iter().any(|s| s.id == id) {
				continue;
			}
			let exact = match &self.exact {
				Exact::Memory(memory) => memory.get(&id).and_then(|rows| best_row(query, rows)),
				Exact::Store(store) => store.embeddings(id).and_then(|rows| best_row(query, &rows)),
			};
			let exact = exact.filter(|score| score.is_finite());
			scored.push(Scored { id, score: exact.unwrap_or(rough) });
		}
		scored.sort_by(|a, b| b.score.total_cmp(&a.score));
		scored.truncate(k);
		scored
	}

	/// Bytes held for searching: the lists' 8-bit rows, entries and scales, where each entry's
	/// rows are, the centres and projection, and the exact rows kept in memory (none when a
	/// store holds them).
	pub(crate) fn memory(&self) -> usize {
		let exact = match &self.exact {
			Exact::Memory(memory) => memory.values().map(|rows| rows.len() * 4 + 32).sum(),
			Exact::Store(_) => 0,
		};
		let lists: usize = self.lists.iter().map(List::memory).sum();
		let places: usize =
			self.places.values().map(|places| 48 + places.capacity() * 8).sum::<usize>();
		let projection = self.projection.as_ref().map_or(0, |p| p.directions.len() * 4);
		let centres = self.centres.memory() + self.fitted.len() * 4;
		lists + places + centres + projection + exact
	}
}

/// Unit centres for `rows` (`width` values each): spherical k-means over them, one centre per
/// [`ROWS_PER_LIST`] rows up to [`MAX_LISTS`], started from rows spread through the sample.
/// With no rows, one zero centre (every row in one list: a scan of all).
fn fit_centres(rows: &[f32], width: usize) -> Vec<f32> {
	let count = rows.len() / width;
	if count == 0 {
		return vec![0.0; width];
	}
	let lists = (count / ROWS_PER_LIST).clamp(1, MAX_LISTS);
	let rows = Tensor::from_slice(rows).view([count as i64, width as i64]);
	let rows = &rows / rows.norm_scalaropt_dim(2, [-1], true).clamp_min(1e-12);
	let starts: Vec<i64> = (0..lists).map(|i| (i * count / lists) as i64).collect();
	let mut centres = rows.index_select(0, &Tensor::from_slice(&starts));
	for _ in 0..ROUNDS {
		let nearest = nearest_of(&rows, &centres);
		let sums = Tensor::zeros([lists as i64, width as i64], (Kind::Float, Device::Cpu))
			.index_add(0, &nearest, &rows);
		let lengths = sums.norm_scalaropt_dim(2, [-1], true);
		// A centre nothing is nearest keeps its place.
		centres = (&sums / lengths.clamp_min(1e-12)).where_self(&lengths.gt(1e-12), &centres);
	}
	Vec::<f32>::try_from(&centres.contiguous().flatten(0, -1)).unwrap_or_else(|_| vec![0.0; width])
}

/// Rows whose similarities with every centre are computed at once: 8,192 rows by 4,096
/// centres is 128 MB of scores.
const ASSIGNED_AT_ONCE: i64 = 8_192;

/// The index of the centre most similar to each of `rows` (`[rows, width]`, centres
/// `[centres, width]`), a slice of rows at a time.
fn nearest_of(rows: &Tensor, centres: &Tensor) -> Tensor {
	let count = rows.size()[0];
	let parts: Vec<Tensor> = (0..count)
		.step_by(ASSIGNED_AT_ONCE as usize)
		.map(|start| {
			let part = rows.narrow(0, start, ASSIGNED_AT_ONCE.min(count - start));
			part.matmul(&centres.tr()).argmax(1, false)
		})
		.collect();
	Tensor::cat(&parts, 0)
}

/// The nearest centre of each of `rows` (`width` values each), in matrix products.
fn nearest_centres(rows: &[f32], centres: &[f32], width: usize) -> Vec<usize> {
	let count = rows.len() / width;
	if count == 0 {
		return Vec::new();
	}
	let rows = Tensor::from_slice(rows).view([count as i64, width as i64]);
	let centres = Tensor::from_slice(centres).view([-1, width as i64]);
	let nearest = nearest_of(&rows, &centres);
	Vec::<i64>::try_from(&nearest)
		.map_or_else(|_| vec![0; count], |n| n.into_iter().map(|c| c as usize).collect())
}

impl Approximate {
	/// The `wanted` rows most similar to the projected `row` (of a row `length` long) among the
	/// lists of the [`probes`](Self::set_probes) centres nearest it, by 8-bit cosine:
	/// `(cosine, entry)`, in no order.
	///
	/// In two steps: the scan keeps the [`SHORTLIST`] rows whose first values (the head, the
	/// leading directions') are most similar to the query's, then the rest of those rows ranks
	/// them.
	fn candidates(&self, row: &[f32], length: f32, wanted: usize) -> Vec<(f32, u64)> {
		#[cfg(target_arch = "x86_64")]
		if std::is_x86_feature_detected!("avx2") {
			// SAFETY: the CPU has AVX2, checked just above.
			return unsafe { self.candidates_avx2(row, length, wanted) };
		}
		self.candidates_on_any_cpu::<false>(row, length, wanted)
	}

	#[cfg(target_arch = "x86_64")]
	#[target_feature(enable = "avx2")]
	unsafe fn candidates_avx2(&self, row: &[f32], length: f32, wanted: usize) -> Vec<(f32, u64)> {
		self.candidates_on_any_cpu::<true>(row, length, wanted)
	}

	/// [`Self::candidates`], inlined into each caller so that each is vectorized for its CPU
	/// (`AVX2`: the caller has it, and rows of a multiple of 16 values take [`scan_avx2`]).
	#[inline(always)]
	fn candidates_on_any_cpu<const AVX2: bool>(
		&self,
		row: &[f32],
		length: f32,
		wanted: usize,
	) -> Vec<(f32, u64)> {
		let (width, head) = (self.width, self.head);
		if row.len() != width {
			return Vec::new();
		}
		let (query, scale) = quantize(row, length);
		#[cfg(target_arch = "x86_64")]
		// SAFETY: the caller has AVX2 (`AVX2`).
		let parts = (AVX2 && width.is_multiple_of(16)).then(|| unsafe { widen(&query) });
		// The first `values` of rows `rows` (`values` each) offered to `best` as `tag | slot`.
		let scan = |rows: &[i8], scales: &[f32], values: usize, tag: u64, best: &mut Best| {
			#[cfg(target_arch = "x86_64")]
			if let Some(parts) = parts.as_ref().filter(|_| values.is_multiple_of(16)) {
				// SAFETY: the caller has AVX2, and `parts` are the query's values, 16 a part.
				unsafe { scan_avx2(&parts[..values / 16], scale, rows, scales, tag, best) };
				return;
			}
			scan(&query[..values], scale, rows, scales, tag, best)
		};
		// The nearest centres (a centre's slot is its list), nearest first: the best rows come
		// early and few later ones displace them.
		let mut nearest = Best::new(self.probes.max(1));
		scan(&self.centres.heads, &self.centres.scales, width, 0, &mut nearest);
		let mut nearest = nearest.into_rows();
		nearest.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
		let order: Vec<(u64, &List)> = nearest
			.iter()
			.filter_map(|(_, list)| Some((*list, self.lists.get(*list as usize)?)))
			.collect();
		let mut short = Best::new(SHORTLIST.max(wanted));
		for (at, (list, rows)) in order.iter().enumerate() {
			if let Some((_, next)) = order.get(at + 1) {
				prefetch(next);
			}
			scan(&rows.heads, &rows.scales, head, list << 32, &mut short);
		}
		// The kept rows by their whole values: the head's score and the rest's.
		let (tail, rest) = (width - head, &query[head..]);
		let mut best = Best::new(wanted);
		for (score, tag) in short.into_rows() {
			let (list, slot) = (&self.lists[(tag >> 32) as usize], (tag & 0xffff_ffff) as usize);
			let values = &list.tails[slot * tail..(slot + 1) * tail];
			let dot: i32 =
				values.iter().zip(rest).map(|(a, b)| i32::from(*a) * i32::from(*b)).sum();
			best.offer(score + dot as f32 * scale * list.scales[slot], list.ids[slot]);
		}
		best.into_rows()
	}
}

/// Asks for `list`'s first kilobyte of row heads from memory (scanned next: the hardware's
/// prefetcher takes a while to follow a short run of rows).
#[inline(always)]
fn prefetch(list: &List) {
	#[cfg(target_arch = "x86_64")]
	for line in (0..list.heads.len().min(1_024)).step_by(64) {
		// SAFETY: a prefetch changes nothing a program sees, and `line` is within the heads.
		unsafe {
			use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
			_mm_prefetch::<_MM_HINT_T0>(list.heads.as_ptr().add(line).cast());
		}
	}
	#[cfg(not(target_arch = "x86_64"))]
	let _ = list;
}

/// An 8-bit query of a multiple of 16 values, 16 at a time widened to 16 bits: what
/// [`scan_avx2`] multiplies rows by.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn widen(query: &[i8]) -> Vec<std::arch::x86_64::__m256i> {
	use std::arch::x86_64::*;
	query
		.chunks_exact(16)
		.map(|part| _mm256_cvtepi8_epi16(_mm_loadu_si128(part.as_ptr().cast())))
		.collect()
}

/// [`scan`] for rows of a multiple of 16 values (16 × `parts.len()`) against a [`widen`]ed
/// query: 16 values at a time widened to 16 bits, multiplied and added in pairs
/// (`vpmaddwd`), four rows at once so that one horizontal sum and one comparison with the
/// lowest score kept serve four rows (a row rarely beats it: only those are offered).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scan_avx2(
	parts: &[std::arch::x86_64::__m256i],
	scale: f32,
	rows: &[i8],
	scales: &[f32],
	tag: u64,
	best: &mut Best,
) {
	use std::arch::x86_64::*;
	let width = parts.len() * 16;
	let count = scales.len();
	assert!(rows.len() == count * width);
	let values = rows.as_ptr();
	// In bounds below: row `at + r` (`r` < 4, `at + 3` < `count`) holds `width` values from
	// `(at + r) × width`, and `part × 16 + 16` ≤ `width`.
	let row = |at: usize, part: usize| {
		_mm256_cvtepi8_epi16(_mm_loadu_si128(values.add(at * width + part * 16).cast()))
	};
	let mut at = 0;
	while at + 4 <= count {
		// The rows two steps on, from memory while these are summed (a list is a short run the
		// hardware's prefetcher takes a while to follow).
		let ahead = values.wrapping_add((at + 8) * width);
		for line in (0..4 * width).step_by(64) {
			_mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(line).cast());
		}
		let mut sums = [_mm256_setzero_si256(); 4];
		for (part, query) in parts.iter().enumerate() {
			for (r, sum) in sums.iter_mut().enumerate() {
				*sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(row(at + r, part), *query));
			}
		}
		// Each lane's four sums of each row, then the rows' own: `[row 0, …, row 3]`.
		let pairs = _mm256_hadd_epi32(
			_mm256_hadd_epi32(sums[0], sums[1]),
			_mm256_hadd_epi32(sums[2], sums[3]),
		);
		let dots = _mm_add_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
		let scores = _mm_mul_ps(
			_mm_mul_ps(_mm_cvtepi32_ps(dots), _mm_set1_ps(scale)),
			_mm_loadu_ps(scales.as_ptr().add(at)),
		);
		if _mm_movemask_ps(_mm_cmpgt_ps(scores, _mm_set1_ps(best.floor()))) != 0 {
			let mut each = [0f32; 4];
			_mm_storeu_ps(each.as_mut_ptr(), scores);
			for (r, score) in each.into_iter().enumerate() {
				best.offer(score, tag | (at + r) as u64);
			}
		}
		at += 4;
	}
	for (at, row_scale) in scales.iter().enumerate().skip(at) {
		let mut sum = _mm256_setzero_si256();
		for (part, query) in parts.iter().enumerate() {
			sum = _mm256_add_epi32(sum, _mm256_madd_epi16(row(at, part), *query));
		}
		let halves = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
		let pairs = _mm_hadd_epi32(halves, halves);
		let dot = _mm_cvtsi128_si32(_mm_hadd_epi32(pairs, pairs));
		best.offer(dot as f32 * scale * row_scale, tag | at as u64);
	}
}

/// Offers every row of `rows` (`query.len()` values each) to `best` with its 8-bit cosine to
/// `query` (`scale`: the query's [`quantize`] scale, `scales` the rows'), as `tag | slot`.
#[inline(always)]
fn scan(query: &[i8], scale: f32, rows: &[i8], scales: &[f32], tag: u64, best: &mut Best) {
	for (slot, (values, row_scale)) in rows.chunks_exact(query.len()).zip(scales).enumerate() {
		let dot: i32 = values.iter().zip(query).map(|(a, b)| i32::from(*a) * i32::from(*b)).sum();
		best.offer(dot as f32 * scale * row_scale, tag | slot as u64);
	}
}

/// The highest-scoring rows offered, up to a number: those above the lowest score kept are
/// gathered, and when twice as many as wanted are, the best half kept (a selection, linear in
/// the rows, where a heap would cost a logarithm every row).
struct Best {
	rows: Vec<(f32, u64)>,
	wanted: usize,
	/// The score a row must beat: the lowest kept at the last selection.
	floor: f32,
}

impl Best {
	fn new(wanted: usize) -> Self {
		let wanted = wanted.max(1);
		Self { rows: Vec::with_capacity(2 * wanted.min(4_096)), wanted, floor: f32::NEG_INFINITY }
	}

	/// The score a row must beat to be kept.
	#[inline(always)]
	fn floor(&self) -> f32 {
		self.floor
	}

	#[inline(always)]
	fn offer(&mut self, score: f32, id: u64) {
		if score > self.floor {
			self.rows.push((score, id));
			if self.rows.len() >= 2 * self.wanted {
				self.keep_best();
			}
		}
	}

	/// Keeps the `wanted` best rows; the lowest of them is the new floor.
	fn keep_best(&mut self) {
		if self.rows.len() > self.wanted {
			let at = self.wanted - 1;
			self.rows
				.select_nth_unstable_by(at, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
			self.rows.truncate(self.wanted);
			self.floor = self.rows[at].0;
		}
	}

	/// The best rows, in no order.
	fn into_rows(mut self) -> Vec<(f32, u64)> {
		self.keep_best();
		self.rows
	}
}

/// A (projected) row in 8 bits, its largest value at ±127, and the scale that makes the dot
/// product of two such rows the cosine of the rows they were projected from: the largest value
/// over 127, over `length`, the length of the row before its projection (the projected row is
/// shorter by what the projection left out; dividing by its own length would score rows with
/// little in the leading directions too high).
fn quantize(row: &[f32], length: f32) -> (Vec<i8>, f32) {
	let largest = row.iter().fold(0f32, |m, x| m.max(x.abs()));
	if !largest.is_finite() || largest <= 0.0 || !length.is_finite() || length <= 0.0 {
		return (vec![0; row.len()], 0.0);
	}
	let values = row
		.iter()
		.map(|x| (x * 127.0 / largest).round().clamp(-127.0, 127.0) as i8)
		.collect();
	(values, largest / 127.0 / length)
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

#[cfg(test)]
mod tests {
	use super::*;

	fn values(rows: &Tensor) -> Vec<f32> {
		Vec::<f32>::try_from(&rows.flatten(0, -1)).unwrap()
	}

	/// `count` unit rows of 64 values in a random 5-dimensional subspace.
	fn subspace_rows(count: i64) -> Vec<f32> {
		let options = (Kind::Float, Device::Cpu);
		let basis = Tensor::linalg_qr(&Tensor::randn([64, 5], options), "reduced").0.tr();
		let rows = Tensor::randn([count, 5], options).matmul(&basis);
		values(&(&rows / rows.norm_scalaropt_dim(2, [-1], true)))
	}

	#[test]
	fn a_projection_keeps_the_directions_the_rows_span_and_their_dot_products() {
		tch::manual_seed(5);
		let sample = subspace_rows(FIT_FROM as i64);
		let projection = Projection::fit(&sample, 64).expect("a projection");
		assert_eq!(projection.width(), 16, "5 directions hold everything, rounded up to 16");
		// Unit directions, orthogonal to each other.
		let directions: Vec<&[f32]> = projection.directions.chunks_exact(64).collect();
		for (i, a) in directions.iter().enumerate() {
			for (j, b) in directions.iter().enumerate() {
				let want = if i == j { 1.0 } else { 0.0 };
				assert!((dot(a, b) - want).abs() < 1e-4, "directions {i} and {j}: {}", dot(a, b));
			}
		}
		// Dot products of rows in the subspace survive the projection, one by one or together.
		let all = projection.apply_all(&sample[..64 * 10]);
		for i in 0..10 {
			let (a, b) = (&sample[i * 64..(i + 1) * 64], &sample[(i + 1) * 64..(i + 2) * 64]);
			let (pa, pb) = (projection.apply(a), projection.apply(b));
			assert!((dot(&pa, &pb) - dot(a, b)).abs() < 1e-4);
			assert!(pa.iter().zip(&all[i * 16..(i + 1) * 16]).all(|(x, y)| (x - y).abs() < 1e-5));
		}
	}

	#[test]
	fn the_vector_scan_scores_as_the_plain_one_and_keeps_the_best() {
		tch::manual_seed(7);
		let width = 48;
		// Not a multiple of four: the vector scan's last rows are taken one at a time.
		let rows = values(&Tensor::randn([302, width as i64], (Kind::Float, Device::Cpu)));
		let mut list = List::default();
		for (id, row) in rows.chunks_exact(width).enumerate() {
			list.push(id as u64, row, dot(row, row).sqrt(), width);
		}
		let query_row = &rows[5 * width..6 * width];
		let (query, scale) = quantize(query_row, dot(query_row, query_row).sqrt());
		let mut plain = Best::new(10);
		scan(&query, scale, &list.heads, &list.scales, 0, &mut plain);
		let mut plain = plain.into_rows();
		plain.sort_by(|a, b| b.0.total_cmp(&a.0));
		assert_eq!(plain.len(), 10);
		assert_eq!(plain[0].1, 5, "a row is its own best match");
		assert!((plain[0].0 - 1.0).abs() < 0.01, "the 8-bit cosine of a row with itself");
		// The ten best by exact cosine are the ten kept, but for near ties.
		let mut exact: Vec<(f32, u64)> = rows
			.chunks_exact(width)
			.zip(0..)
			.map(|(row, id)| {
				(dot(row, query_row) / dot(row, row).sqrt() / dot(query_row, query_row).sqrt(), id)
			})
			.collect();
		exact.sort_by(|a, b| b.0.total_cmp(&a.0));
		for (kept, want) in plain.iter().zip(&exact) {
			assert!((kept.0 - want.0).abs() < 0.02, "{kept:?} against {want:?}");
		}
		#[cfg(target_arch = "x86_64")]
		if std::is_x86_feature_detected!("avx2") {
			let mut vector = Best::new(10);
			// SAFETY: the CPU has AVX2; 48 is a multiple of 16.
			unsafe { scan_avx2(&widen(&query), scale, &list.heads, &list.scales, 0, &mut vector) };
			let mut vector = vector.into_rows();
			vector.sort_by(|a, b| b.0.total_cmp(&a.0));
			assert_eq!(vector, plain);
		}
	}

	/// Unit rows of 64 values whose energy decays along them (as projected rows' does).
	fn decaying_rows(count: i64) -> Vec<f32> {
		let options = (Kind::Float, Device::Cpu);
		let decay = (Tensor::arange(64, options) / 8.0 + 1.0).reciprocal();
		let rows = Tensor::randn([count, 64], options) * decay;
		values(&(&rows / rows.norm_scalaropt_dim(2, [-1], true)))
	}

	#[test]
	fn the_rows_kept_by_their_heads_rank_by_their_whole_values() {
		tch::manual_seed(9);
		for count in [200, 3_000] {
			let rows = decaying_rows(count);
			// No sample: one list, no projection; the first `HEAD` (48) of each row's 64 values
			// are its head, the last 16 its tail.
			let mut search = Approximate::new(64, &[], None).unwrap();
			let entries: Vec<(u64, &[f32])> =
				rows.chunks_exact(64).zip(0..).map(|(row, id)| (id, row)).collect();
			search.add_all(&entries).unwrap();
			assert_eq!((search.head, search.width), (HEAD, 64));
			const { assert!(HEAD < 64, "the rows have a tail") };
			let query = &rows[7 * 64..8 * 64];
			let mut found = search.candidates(query, 1.0, 10);
			found.sort_by(|a, b| b.0.total_cmp(&a.0));
			// The same scores as a scan of whole rows.
			let mut list = List::default();
			for (id, row) in entries {
				list.push(id, row, 1.0, 64);
			}
			let (values, scale) = quantize(query, 1.0);
			let mut whole = Best::new(10);
			scan(&values, scale, &list.heads, &list.scales, 0, &mut whole);
			let mut whole = whole.into_rows();
			whole.sort_by(|a, b| b.0.total_cmp(&a.0));
			assert_eq!(found.len(), 10);
			assert_eq!(found[0].1, 7, "a row is its own best match");
			for (kept, want) in found.iter().zip(&whole) {
				assert_eq!(kept.1, want.1, "{count} rows: {found:?} against {whole:?}");
				assert!((kept.0 - want.0).abs() < 1e-5, "{kept:?} against {want:?}");
			}
		}
	}

	/// Every place points at its entry's row, and the lists' parts agree in length.
	fn assert_consistent(search: &Approximate) {
		for list in &search.lists {
			assert_eq!(list.heads.len(), list.ids.len() * search.head);
			assert_eq!(list.tails.len(), list.ids.len() * (search.width - search.head));
			assert_eq!(list.scales.len(), list.ids.len());
		}
		let rows: usize = search.lists.iter().map(|list| list.ids.len()).sum();
		assert_eq!(rows, search.places.values().map(Vec::len).sum::<usize>());
		for (id, places) in &search.places {
			for (list, slot) in places {
				assert_eq!(search.lists[*list as usize].ids[*slot as usize], *id);
			}
		}
	}

	#[test]
	fn entries_of_several_rows_are_replaced_and_removed_from_one_list() {
		tch::manual_seed(8);
		let width = 24;
		// No sample: one list holds every row, so removals move rows around within it.
		let mut search = Approximate::new(width, &[], None).unwrap();
		assert_eq!(search.lists.len(), 1);
		let rows = |seed: i64, count: i64| {
			tch::manual_seed(seed);
			let rows = Tensor::randn([count, width as i64], (Kind::Float, Device::Cpu));
			values(&(&rows / rows.norm_scalaropt_dim(2, [-1], true)))
		};
		let entries: Vec<(u64, Vec<f32>)> = (1..=6).map(|id| (id, rows(id as i64, 3))).collect();
		let borrowed: Vec<(u64, &[f32])> =
			entries.iter().map(|(id, rows)| (*id, rows.as_slice())).collect();
		search.add_all(&borrowed).unwrap();
		assert_consistent(&search);
		assert_eq!(search.lists[0].ids.len(), 18);
		search.remove(2);
		search.remove(5);
		assert_consistent(&search);
		let replaced = rows(30, 2);
		search.add(3, &replaced).unwrap();
		assert_consistent(&search);
		assert_eq!(search.lists[0].ids.len(), 11);
		// Each remaining row finds its entry; removed and replaced rows find nothing of theirs.
		for (id, rows) in &entries {
			for row in rows.chunks_exact(width) {
				let found = search.search(row, 1);
				match id {
					2 | 5 => assert!(found[0].id != *id && found[0].score < 0.99),
					3 => assert!(found[0].id != 3 || found[0].score < 0.99, "{found:?}"),
					_ => assert_eq!((found[0].id, (found[0].score * 1e4).round()), (*id, 1e4)),
				}
			}
		}
		for row in replaced.chunks_exact(width) {
			assert_eq!(search.search(row, 1)[0].id, 3);
		}
		// Bad input: torn rows, k = 0, a query of another width.
		assert!(matches!(search.add(9, &[0.5; 25]), Err(IndexError::Shape { values: 25, .. })));
		assert_consistent(&search);
		assert!(search.search(&replaced[..width], 0).is_empty());
		assert!(search.search(&replaced[..width - 1], 3).is_empty());
		for id in 1..=6 {
			search.remove(id);
		}
		assert_consistent(&search);
		assert!(search.search(&replaced[..width], 3).is_empty(), "nothing left");
	}

	#[test]
	fn rows_without_leading_directions_or_too_few_are_not_projected() {
		tch::manual_seed(6);
		let options = (Kind::Float, Device::Cpu);
		// Isotropic rows: 80% of the energy needs about 80% of the directions.
		let isotropic = Tensor::randn([20_000, 64], options);
		assert!(Projection::fit(&values(&isotropic), 64).is_none());
		assert!(Projection::fit(&subspace_rows(FIT_FROM as i64 - 1), 64).is_none(), "too few rows");
		assert!(Projection::fit(&subspace_rows(FIT_FROM as i64), 64).is_some());
		assert!(Projection::fit(&vec![0.0; 64 * FIT_FROM], 64).is_none(), "no energy");
	}
}
