//! The lookup a semantic cache makes: the cached phrasings most similar to the query's
//! embedding, the best entries in order, then the [matcher](crate::matcher) decides whether the
//! closest ones answer the question.
//!
//! Up to [`APPROXIMATE_FROM`] phrasings the search is exact: one matrix product with every one.
//! Past that, short 8-bit rows scanned in the lists nearest the query find the candidates and
//! their exact embeddings rank them ([`crate::approximate`]): a million phrasings searched in
//! under a millisecond instead of 165, in a sixth of the memory (BENCHMARKS.md "Search at a
//! million phrasings").

use std::{
	collections::{BTreeMap, BTreeSet, HashMap},
	sync::Arc,
};

use tch::{Device, Kind, Tensor};

use crate::{
	approximate::{Approximate, Embeddings},
	matcher::{Profile, Query, Refusal, Thresholds},
};

/// Phrasings searched exactly (one matrix product: about 10 ms and 100 MB at this size on one
/// core, where the approximate search takes a fraction of a millisecond); an index that grows
/// past them moves to the approximate search and stays there.
pub const APPROXIMATE_FROM: usize = 65_536;

/// Embeddings of cached entries (one row per phrasing) and what each entry answers.
pub struct Index {
	dimension: usize,
	/// What each entry answers: its question's profile first, then one per other phrasing its
	/// body gives.
	profiles: HashMap<u64, Vec<Profile>>,
	/// How many profiles each stem anchors (see [`Profile::anchors`]), and how many profiles
	/// have no anchor (any question may match them): what [`Index::may_answer`] reads.
	anchors: HashMap<String, u32>,
	open: u32,
	/// The anchors of profiles with abbreviations (no [`Profile::whole_subject`]): one named
	/// may be enough.
	loose: HashMap<String, u32>,
	/// How many profiles have each whole subject (its stems in order, a space apart), and how
	/// many subjects of each size: what [`Index::sure_miss`] looks the question's up in.
	subjects: HashMap<String, u32>,
	subject_sizes: BTreeMap<usize, u32>,
	search: Search,
	/// Rows past which the search is approximate.
	approximate_from: usize,
	/// Where the approximate search reads exact embeddings back (in memory without one).
	store: Option<Arc<dyn Embeddings>>,
	/// Changes made so far (pushes and removals): a search's result holds while it stays.
	version: u64,
}

enum Search {
	Exact(Exact),
	Approximate(Box<Approximate>),
}

/// Every row in one `[rows, dimension]` matrix, rebuilt lazily after pushes.
struct Exact {
	/// The entry each row embeds.
	rows: Vec<u64>,
	matrix: Option<Tensor>,
	pending: Vec<Tensor>,
	device: Device,
}

/// Why an entry could not be indexed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
	/// The embeddings are not whole rows of the index's width.
	#[error("{values} embedding values are not rows of {dimension}")]
	Shape { values: usize, dimension: usize },
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
	/// The question names part of some cached entries' subjects but all of none's (see
	/// [`Index::sure_miss`]): the matcher would refuse each.
	NoWholeSubject,
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
			Self::NoWholeSubject => {
				write!(f, "no cached entry's subject is named in full by the question")
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
	/// An empty index of `dimension`-wide unit vectors, searched exactly on `device` until it
	/// holds [`APPROXIMATE_FROM`] rows.
	pub fn new(dimension: usize, device: Device) -> Self {
		Self {
			dimension,
			profiles: HashMap::new(),
			anchors: HashMap::new(),
			open: 0,
			loose: HashMap::new(),
			subjects: HashMap::new(),
			subject_sizes: BTreeMap::new(),
			search: Search::Exact(Exact {
				rows: Vec::new(),
				matrix: None,
				pending: Vec::new(),
				device,
			}),
			approximate_from: APPROXIMATE_FROM,
			store: None,
			version: 0,
		}
	}

	/// The same index, approximate past `rows` rows instead of [`APPROXIMATE_FROM`].
	pub fn approximate_from(mut self, rows: usize) -> Self {
		self.approximate_from = rows;
		self
	}

	/// The same index, its approximate search reading exact embeddings from `store` (which must
	/// hold every pushed entry's) instead of keeping them in memory.
	pub fn rescoring_from(mut self, store: Arc<dyn Embeddings>) -> Self {
		self.store = Some(store);
		self
	}

	/// Number of cached entries.
	pub fn len(&self) -> usize {
		self.profiles.len()
	}

	/// Whether the index is empty.
	pub fn is_empty(&self) -> bool {
		self.profiles.is_empty()
	}

	/// A number that changes whenever an entry is pushed or removed: what [`search`] and
	/// [`lookup`] return for a query holds while it stays the same (a server may cache it).
	///
	/// [`search`]: Self::search
	/// [`lookup`]: Self::lookup
	pub fn version(&self) -> u64 {
		self.version
	}

	/// Whether the search is approximate (the index grew past its exact size).
	pub fn is_approximate(&self) -> bool {
		matches!(self.search, Search::Approximate(_))
	}

	/// Values of a row the approximate search holds (fewer than the embedding's when the rows
	/// it started with were projected; see [`crate::approximate`]); `None` while exact.
	pub fn approximate_width(&self) -> Option<usize> {
		match &self.search {
			Search::Approximate(approximate) => Some(approximate.width()),
			Search::Exact(_) => None,
		}
	}

	/// Of a row's [`Self::approximate_width`] values, how many the approximate search's scan
	/// reads (the leading ones; the rest rank only the rows it keeps); `None` while exact.
	pub fn approximate_head(&self) -> Option<usize> {
		match &self.search {
			Search::Approximate(approximate) => Some(approximate.head()),
			Search::Exact(_) => None,
		}
	}

	/// Lists the approximate search scans ([`crate::approximate::PROBES`] by default): more
	/// find the exact best more often, in proportionally more time. No effect while the search
	/// is exact.
	pub fn set_search_probes(&mut self, lists: usize) {
		if let Search::Approximate(approximate) = &mut self.search {
			approximate.set_probes(lists);
		}
	}

	/// Bytes held for the search: the exact matrix and its row map, or the lists of 8-bit rows
	/// (and the exact rows when no store holds them).
	pub fn search_memory(&self) -> usize {
		match &self.search {
			Search::Exact(exact) => {
				exact.rows.len() * (self.dimension * 4 + std::mem::size_of::<u64>())
			},
			Search::Approximate(approximate) => approximate.memory(),
		}
	}

	/// Adds entry `id`: the unit embeddings of its phrasings (`[phrasings, dimension]`, its
	/// question first, or one `[dimension]` row) and its profiles (its question's first; the
	/// entry answers a query any of them accepts). An entry already there is replaced; on an
	/// error (values that are not whole rows) the index is as before.
	pub fn push(
		&mut self,
		id: u64,
		embeddings: &Tensor,
		profiles: Vec<Profile>,
	) -> Result<(), IndexError> {
		let values = embeddings.numel();
		if values == 0 || !values.is_multiple_of(self.dimension) {
			return Err(IndexError::Shape { values, dimension: self.dimension });
		}
		self.remove(id);
		self.version += 1;
		let rows = embeddings.view([-1, self.dimension as i64]).to_kind(Kind::Float);
		let count = rows.size()[0] as usize;
		if let Search::Exact(exact) = &self.search {
			if exact.rows.len() + count > self.approximate_from {
				self.become_approximate()?;
			}
		}
		match &mut self.search {
			Search::Exact(exact) => {
				exact.pending.push(rows.to(exact.device));
				exact.rows.extend(std::iter::repeat_n(id, count));
			},
			Search::Approximate(approximate) => {
				let values = rows_of(&rows);
				approximate.add(id, &values)?;
			},
		}
		self.count_anchors(&profiles, true);
		self.profiles.insert(id, profiles);
		Ok(())
	}

	/// Adds entries as [`push`](Self::push) does; once the search is approximate, the rest go
	/// into its lists together, in one projection and assignment (the last of an id pushed
	/// twice wins). On an error the entries not yet indexed are left out.
	pub fn push_all(
		&mut self,
		entries: impl IntoIterator<Item = (u64, Tensor, Vec<Profile>)>,
	) -> Result<(), IndexError> {
		let mut entries = entries.into_iter();
		self.version += 1;
		while !self.is_approximate() {
			let Some((id, embeddings, profiles)) = entries.next() else {
				return Ok(());
			};
			self.push(id, &embeddings, profiles)?;
		}
		let mut seen = std::collections::HashSet::new();
		let mut rest: Vec<(u64, Vec<f32>, Vec<Profile>)> = entries
			.collect::<Vec<_>>()
			.into_iter()
			.rev()
			.filter(|(id, _, _)| seen.insert(*id))
			.map(|(id, embeddings, profiles)| (id, rows_of(&embeddings), profiles))
			.filter(|(_, rows, _)| !rows.is_empty() && rows.len().is_multiple_of(self.dimension))
			.collect();
		rest.reverse();
		for (id, _, _) in &rest {
			self.remove(*id);
		}
		if let Search::Approximate(approximate) = &mut self.search {
			let rows: Vec<(u64, &[f32])> =
				rest.iter().map(|(id, rows, _)| (*id, rows.as_slice())).collect();
			approximate.add_all(&rows)?;
		}
		for (id, _, profiles) in rest {
			self.count_anchors(&profiles, true);
			self.profiles.insert(id, profiles);
		}
		Ok(())
	}

	/// Moves every row from the matrix into the approximate search, its projection and lists
	/// fitted on them.
	fn become_approximate(&mut self) -> Result<(), IndexError> {
		let Search::Exact(exact) = &mut self.search else {
			return Ok(());
		};
		let values = exact.matrix().map(rows_of).unwrap_or_default();
		let mut approximate = Approximate::new(self.dimension, &values, self.store.clone())?;
		// One entry's rows are adjacent unless it was replaced in between: group them by entry.
		let mut by_entry: HashMap<u64, Vec<f32>> = HashMap::new();
		for (row, id) in exact.rows.iter().enumerate() {
			let at = row * self.dimension;
			if let Some(values) = values.get(at..at + self.dimension) {
				by_entry.entry(*id).or_default().extend_from_slice(values);
			}
		}
		let entries: Vec<(u64, &[f32])> =
			by_entry.iter().map(|(id, rows)| (*id, rows.as_slice())).collect();
		approximate.add_all(&entries)?;
		self.search = Search::Approximate(Box::new(approximate));
		Ok(())
	}

	fn count_anchors(&mut self, profiles: &[Profile], add: bool) {
		for profile in profiles {
			let Some(anchors) = profile.anchors() else {
				if add {
					self.open += 1;
				} else {
					self.open = self.open.saturating_sub(1);
				}
				continue;
			};
			let whole = profile.whole_subject();
			for stem in anchors {
				self.anchors.change(stem.to_string(), add);
				if whole.is_none() {
					self.loose.change(stem.to_string(), add);
				}
			}
			if let Some(subject) = whole {
				self.subject_sizes.change(subject.len(), add);
				self.subjects.change(subject.into_iter().collect::<Vec<_>>().join(" "), add);
			}
		}
	}

	/// Whether any cached entry could answer `query`, from its words alone: a profile accepts
	/// only a question that names one of its [anchors](Profile::anchors). `false` is a sure
	/// miss ([`Miss::Unnamed`]) with no embedding computed; `true` says nothing yet (see
	/// [`sure_miss`](Self::sure_miss), which tells more).
	pub fn may_answer(&self, query: &Query) -> bool {
		self.open > 0 || query.named().any(|stem| self.anchors.contains_key(stem))
	}

	/// Why no cached entry can answer `query`, from its words alone, before any embedding:
	/// there is none ([`Miss::Empty`]), it names none of their [anchors](Profile::anchors) ([`Miss::Unnamed`]), or not every
	/// word of any one's [subject](Profile::whole_subject) ([`Miss::NoWholeSubject`]: "What is
	/// the atomic number of fluorine?" of a cache about carbon and oxygen, "What is a tree?" of
	/// one about binary trees). `None`: some entry may answer; only the matcher can tell.
	///
	/// Exact for every profile: [`Profile::judge`] refuses a question that does not name its
	/// whole subject, so a sure miss here is a miss of any lookup. The question's subsets of
	/// each stored subject size are looked up; past [`MAX_SUBSETS`] of them the answer is
	/// `None` (no verdict, not a wrong one).
	pub fn sure_miss(&self, query: &Query) -> Option<Miss> {
		if self.profiles.is_empty() {
			return Some(Miss::Empty);
		}
		if self.open > 0 {
			return None;
		}
		if !self.may_answer(query) {
			return Some(Miss::Unnamed);
		}
		if query.named().any(|stem| self.loose.contains_key(stem)) {
			return None;
		}
		let named: Vec<&str> = query.named().collect::<BTreeSet<_>>().into_iter().collect();
		let sizes: Vec<usize> =
			self.subject_sizes.keys().copied().filter(|&size| size <= named.len()).collect();
		// Saturating: a long question against a long subject must stop here, not wrap around.
		let work = sizes
			.iter()
			.fold(0u64, |work, &size| work.saturating_add(choose(named.len(), size)));
		if work > MAX_SUBSETS {
			return None;
		}
		let mut picked = Vec::new();
		let named_whole = sizes.into_iter().any(|size| {
			any_subset(&named, size, &mut picked, &|key| self.subjects.contains_key(key))
		});
		(!named_whole).then_some(Miss::NoWholeSubject)
	}

	/// Removes entry `id` (a superseded entry); whether it was there.
	pub fn remove(&mut self, id: u64) -> bool {
		let Some(profiles) = self.profiles.remove(&id) else {
			return false;
		};
		self.version += 1;
		self.count_anchors(&profiles, false);
		match &mut self.search {
			Search::Exact(exact) => exact.remove(id),
			Search::Approximate(approximate) => approximate.remove(id),
		}
		true
	}

	/// The `k` entries most similar to the unit `query`, best first.
	pub fn search(&mut self, query: &Tensor, k: usize) -> Vec<Scored> {
		match &mut self.search {
			Search::Exact(exact) => exact.search(query, self.dimension, k),
			Search::Approximate(approximate) => approximate.search(&rows_of(query), k),
		}
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
		self.judge(&candidates, query, thresholds)
	}

	/// The best of `candidates` (a [`search`](Self::search)'s, best first) that the matcher
	/// accepts for `query`; otherwise why the closest does not answer.
	pub fn judge(
		&self,
		candidates: &[Scored],
		query: &Query,
		thresholds: &Thresholds,
	) -> Result<Scored, Miss> {
		let best = candidates.first().cloned().ok_or(Miss::Empty)?;
		if best.score < thresholds.base {
			return Err(Miss::BelowThreshold { best, threshold: thresholds.base });
		}
		let mut first_refusal = None;
		for candidate in candidates.iter().take_while(|c| c.score >= thresholds.base) {
			let Some(profiles) = self.profiles.get(&candidate.id) else {
				continue;
			};
			// The question's own refusal explains a miss best: it is judged first.
			for profile in profiles {
				match profile.judge(query, candidate.score, thresholds) {
					Ok(()) => return Ok(candidate.clone()),
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

impl Exact {
	fn matrix(&mut self) -> Option<&Tensor> {
		if !self.pending.is_empty() {
			let mut parts: Vec<Tensor> = self.matrix.take().into_iter().collect();
			parts.append(&mut self.pending);
			self.matrix = Some(Tensor::cat(&parts, 0));
		}
		self.matrix.as_ref()
	}

	fn remove(&mut self, id: u64) {
		if let Some(matrix) = self.matrix().map(|m| m.shallow_clone()) {
			let keep: Vec<i64> = (0..self.rows.len() as i64)
				.filter(|row| self.rows[*row as usize] != id)
				.collect();
			self.matrix = (!keep.is_empty())
				.then(|| matrix.index_select(0, &Tensor::from_slice(&keep).to(self.device)));
		}
		self.rows.retain(|row| *row != id);
	}

	fn search(&mut self, query: &Tensor, dimension: usize, k: usize) -> Vec<Scored> {
		let device = self.device;
		let Some(matrix) = self.matrix() else {
			return Vec::new();
		};
		let query = query.view([dimension as i64, 1]).to_kind(Kind::Float).to(device);
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
}

/// The most subsets of a question's stems [`Index::sure_miss`] looks up (a question naming 16
/// stems has 1,820 of four).
pub const MAX_SUBSETS: u64 = 4_096;

/// Counts kept per key, the key gone at zero.
trait CountMap<K> {
	fn change(&mut self, key: K, add: bool);
}

impl<K: std::hash::Hash + Eq> CountMap<K> for HashMap<K, u32> {
	fn change(&mut self, key: K, add: bool) {
		if add {
			*self.entry(key).or_default() += 1;
		} else if let Some(count) = self.get_mut(&key) {
			*count = count.saturating_sub(1);
			if *count == 0 {
				self.remove(&key);
			}
		}
	}
}

impl<K: Ord> CountMap<K> for BTreeMap<K, u32> {
	fn change(&mut self, key: K, add: bool) {
		if add {
			*self.entry(key).or_default() += 1;
		} else if let Some(count) = self.get_mut(&key) {
			*count = count.saturating_sub(1);
			if *count == 0 {
				self.remove(&key);
			}
		}
	}
}

/// `n` choose `k`, saturating.
fn choose(n: usize, k: usize) -> u64 {
	(0..k.min(n)).fold(1u64, |acc, i| acc.saturating_mul((n - i) as u64) / (i as u64 + 1))
}

/// Whether some `size`-subset of `stems` (in order), joined with spaces after `picked`, is a
/// key `known` knows.
fn any_subset<'a>(
	stems: &[&'a str],
	size: usize,
	picked: &mut Vec<&'a str>,
	known: &dyn Fn(&str) -> bool,
) -> bool {
	if size == 0 {
		return known(&picked.join(" "));
	}
	for (at, stem) in stems.iter().enumerate() {
		if stems.len() - at < size {
			break;
		}
		picked.push(stem);
		let found = any_subset(&stems[at + 1..], size - 1, picked, known);
		picked.pop();
		if found {
			return true;
		}
	}
	false
}

/// A tensor's values on the CPU, row after row.
fn rows_of(tensor: &Tensor) -> Vec<f32> {
	Vec::<f32>::try_from(&tensor.to_kind(Kind::Float).to(Device::Cpu).flatten(0, -1))
		.unwrap_or_default()
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
		index
			.push(
				7,
				&unit(&[1.0, 0.0, 0.0]),
				vec![Profile::new("What is the atomic number of carbon?", "Carbon: 6", &[])],
			)
			.unwrap();
		index
			.push(
				8,
				&unit(&[0.0, 1.0, 0.0]),
				vec![Profile::new("What is UDP?", "UDP: User Datagram Protocol (UDP).", &[])],
			)
			.unwrap();
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
		index
			.push(8, &unit(&[0.0, 0.0, 1.0]), vec![Profile::new("What is UDP?", "UDP.", &[])])
			.unwrap();
		index.remove(8);
		assert!(index.anchors.is_empty() && index.open == 0);
		assert!(index.loose.is_empty() && index.subjects.is_empty());
		assert!(index.subject_sizes.is_empty());
		// An entry without a subject may answer anything.
		index
			.push(9, &unit(&[0.0, 0.0, 1.0]), vec![Profile::new("What is it?", "It.", &[])])
			.unwrap();
		assert!(index.may_answer(&moon));
	}

	#[test]
	fn a_sure_miss_names_no_whole_subject_and_agrees_with_the_lookup() {
		let mut index = Index::new(3, Device::Cpu);
		let entries = [
			(1, "What is the atomic number of carbon?", "Carbon: 6"),
			(2, "What is a binary tree?", "A tree whose nodes have at most two children."),
			(3, "What is benchmark topic number 17?", "A synthetic entry."),
		];
		for (id, question, answer) in entries {
			let mut row = [0.0; 3];
			row[id as usize - 1] = 1.0;
			index.push(id, &unit(&row), vec![Profile::new(question, answer, &[])]).unwrap();
		}
		let misses = [
			("How heavy is the moon of planet qd-bax?", Miss::Unnamed),
			("What is the atomic number of fluorine?", Miss::NoWholeSubject),
			("What is a tree?", Miss::NoWholeSubject),
			("What is benchmark topic number 1000042?", Miss::NoWholeSubject),
		];
		for (question, expected) in misses {
			let query = Query::new(question);
			assert_eq!(index.sure_miss(&query), Some(expected.clone()), "{question}");
			// However close its embedding to any entry's, the matcher refuses it too.
			for row in [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]] {
				let lookup = index.lookup(&unit(&row), &query, &Thresholds::default(), 3);
				assert!(lookup.is_err(), "{question}: {lookup:?}");
			}
		}
		assert_eq!(
			Miss::NoWholeSubject.to_string(),
			"no cached entry's subject is named in full by the question"
		);
		// What may be a hit is left to the matcher: the whole subject named, in any order or
		// among other words.
		for question in [
			"Carbon has which atomic number?",
			"Define a binary tree.",
			"Which tree is binary, and what is it?",
			"Is benchmark topic number 17 a real topic?",
		] {
			assert_eq!(index.sure_miss(&Query::new(question)), None, "{question}");
		}
		let hit = index.lookup(
			&unit(&[1.0, 0.0, 0.0]),
			&Query::new("Carbon has which atomic number?"),
			&Thresholds::default(),
			3,
		);
		assert_eq!(hit.expect("carbon answers").id, 1);
		// An entry with an abbreviation may be named by either form: one anchor is enough.
		index
			.push(
				4,
				&unit(&[1.0, 1.0, 0.0]),
				vec![Profile::new("What is UDP?", "UDP: User Datagram Protocol (UDP).", &[])],
			)
			.unwrap();
		assert_eq!(index.sure_miss(&Query::new("What is the datagram protocol?")), None);
		// A question naming too many words to try their subsets gets no verdict.
		let long: Vec<String> = (0..40).map(|i| format!("word{i}")).collect();
		let long = Query::new(&format!("What is carbon {}?", long.join(" ")));
		assert_eq!(index.sure_miss(&long), None);
		// Nor does a long question against long subjects, however many subsets they make
		// (here more than a u64 holds): the work is capped before any is done.
		let words: Vec<String> = (0..120).map(|i| format!("term{i}")).collect();
		for (id, size) in (5u64..).zip(20..=110) {
			let question = format!("What is {}?", words[..size].join(" "));
			index
				.push(id, &unit(&[0.0, 1.0, 1.0]), vec![Profile::new(&question, "Long.", &[])])
				.unwrap();
		}
		let many = Query::new(&format!("What is {} carbon?", words.join(" ")));
		let started = std::time::Instant::now();
		assert_eq!(index.sure_miss(&many), None);
		assert!(started.elapsed().as_secs() < 1, "bounded work");
		for id in 5..=95 {
			assert!(index.remove(id));
		}
		assert!(choose(120, 60) > MAX_SUBSETS && choose(16, 4) == 1_820);
		// Removing the entries takes their subjects away.
		for id in 1..=4 {
			assert!(index.remove(id));
		}
		assert!(index.subjects.is_empty() && index.subject_sizes.is_empty());
		assert_eq!(index.sure_miss(&Query::new("What is a binary tree?")), Some(Miss::Empty));
	}

	#[test]
	fn no_sure_miss_is_a_question_the_matcher_accepts() {
		let cached = [
			("What is the chemical symbol for sodium?", "Sodium: Na"),
			("How many protons does helium have?", "Two."),
			("Who discovered penicillin?", "Alexander Fleming, in 1928."),
			("When was the World Wide Web invented?", "In 1989, by Tim Berners-Lee."),
			("What is a read-only memory chip?", "A chip whose contents are fixed."),
			("What is the boiling point of water?", "100 degrees Celsius at sea level."),
			("What is HTTP?", "Hypertext Transfer Protocol (HTTP): the web's protocol."),
			("Where is the Great Barrier Reef?", "Off the coast of Queensland, Australia."),
		];
		let asked = [
			"Sodium's chemical symbol is what?",
			"What is the symbol for sodium?",
			"What is the chemical symbol for potassium?",
			"How many protons are in helium?",
			"Helium has how many protons?",
			"Who found penicillin?",
			"Penicillin was discovered by whom?",
			"When was the web invented?",
			"In what year was the World Wide Web invented?",
			"What is a read only memory chip?",
			"What is a memory chip?",
			"What is the boiling point of salt water?",
			"At what temperature does water boil?",
			"What is the Hypertext Transfer Protocol?",
			"What does HTTP stand for?",
			"Where is the Great Barrier Reef located?",
			"Where is the reef?",
			"",
		];
		let mut index = Index::new(3, Device::Cpu);
		let mut profiles = Vec::new();
		for (id, (question, answer)) in cached.iter().enumerate() {
			let profile = Profile::new(question, answer, &[]);
			profiles.push(profile.clone());
			index.push(id as u64, &unit(&[1.0, 0.0, 0.0]), vec![profile]).unwrap();
		}
		let (mut sure, mut accepted) = (0, 0);
		for question in asked {
			let query = Query::new(question);
			let accepts = profiles
				.iter()
				.filter(|p| p.judge(&query, 1.0, &Thresholds::default()).is_ok())
				.count();
			accepted += accepts;
			if let Some(miss) = index.sure_miss(&query) {
				sure += 1;
				assert_eq!(accepts, 0, "{question:?} is a sure miss ({miss}) yet accepted");
			}
		}
		assert!(sure >= 4 && accepted >= 8, "{sure} sure misses, {accepted} acceptances");
	}

	#[test]
	fn the_version_changes_with_every_push_and_removal_and_judging_matches_the_lookup() {
		let mut index = Index::new(3, Device::Cpu);
		let carbon = Query::new("What is the atomic number of carbon?");
		let carbon_profile =
			|| vec![Profile::new("What is the atomic number of carbon?", "Carbon: 6", &[])];
		let mut seen = vec![index.version()];
		let mut changed = |index: &Index| {
			assert!(!seen.contains(&index.version()), "a change keeps version {}", index.version());
			seen.push(index.version());
		};
		index.push(7, &unit(&[1.0, 0.0, 0.0]), carbon_profile()).unwrap();
		changed(&index);
		let query = unit(&[1.0, 0.1, 0.0]);
		let candidates = index.search(&query, 3);
		let judged = index.judge(&candidates, &carbon, &Thresholds::default());
		assert_eq!(judged, index.lookup(&query, &carbon, &Thresholds::default(), 3));
		assert_eq!(judged.expect("entry 7 answers").id, 7);
		// Replacing an entry is a change even with the same rows.
		index.push(7, &unit(&[1.0, 0.0, 0.0]), carbon_profile()).unwrap();
		changed(&index);
		index.push_all([(8, unit(&[0.0, 1.0, 0.0]), open_profile())]).unwrap();
		changed(&index);
		assert!(index.remove(7));
		changed(&index);
		let version = index.version();
		assert!(!index.remove(7), "nothing to remove");
		assert_eq!(index.version(), version, "nothing changed");
		let candidates = index.search(&query, 3);
		assert_eq!(candidates.iter().map(|c| c.id).collect::<Vec<_>>(), vec![8]);
		assert_eq!(index.judge(&[], &carbon, &Thresholds::default()), Err(Miss::Empty));
	}

	/// `count` random unit rows of `dimension`, seeded.
	fn random_rows(count: i64, dimension: i64, seed: i64) -> Tensor {
		tch::manual_seed(seed);
		let rows = Tensor::randn([count, dimension], (Kind::Float, Device::Cpu));
		&rows / rows.norm_scalaropt_dim(2, [-1], true)
	}

	fn open_profile() -> Vec<Profile> {
		vec![Profile::new("What is it?", "It.", &[])]
	}

	#[test]
	fn approximate_search_ranks_like_the_exact_one() {
		let (count, dimension) = (3_000, 64);
		let rows = random_rows(count, dimension, 11);
		let mut exact = Index::new(dimension as usize, Device::Cpu).approximate_from(usize::MAX);
		let mut approximate = Index::new(dimension as usize, Device::Cpu).approximate_from(1_000);
		// Two phrasings for the first entries, one for the rest.
		let mut id = 0u64;
		let mut row = 0i64;
		while row < count {
			let take = if id < 100 { 2 } else { 1 };
			let phrasings = rows.narrow(0, row, take.min(count - row));
			exact.push(id, &phrasings, open_profile()).unwrap();
			approximate.push(id, &phrasings, open_profile()).unwrap();
			if id == 500 {
				assert!(!approximate.is_approximate(), "exact up to its size");
			}
			row += take;
			id += 1;
		}
		assert!(approximate.is_approximate() && !exact.is_approximate());
		assert_eq!(approximate.len(), exact.len());
		approximate.set_search_probes(PROBED);
		// Queries near stored rows (a paraphrase: similarity about 0.9), and each row itself:
		// rows pushed before the move to the lists are found as well as those after.
		let noise = random_rows(300, dimension, 12);
		let mut agree = 0;
		for q in 0..300i64 {
			let stored = rows.get(q * 10);
			let query = &stored * 0.9 + &noise.get(q) * 0.45;
			let query = &query / query.norm();
			let want = exact.search(&query, 3);
			let got = approximate.search(&query, 3);
			assert_eq!(got.len(), 3);
			if want[0].id == got[0].id {
				agree += 1;
				// The candidates are ranked by their exact similarity, not the 8-bit one.
				assert!((want[0].score - got[0].score).abs() < 1e-4, "{want:?} {got:?}");
			}
			assert!(got.windows(2).all(|w| w[0].score >= w[1].score), "best first: {got:?}");
		}
		assert!(agree >= 297, "recall@1 {agree}/300");
	}

	#[test]
	fn approximate_search_forgets_removed_and_replaced_entries() {
		let dimension = 32;
		let rows = random_rows(400, dimension, 21);
		let mut index = Index::new(dimension as usize, Device::Cpu).approximate_from(100);
		for id in 0..300 {
			index.push(id, &rows.get(id as i64), open_profile()).unwrap();
		}
		assert!(index.is_approximate());
		assert!(index.remove(7));
		assert!(!index.remove(7));
		let found = index.search(&rows.get(7), 5);
		assert!(found.iter().all(|s| s.id != 7), "{found:?}");
		// Entry 8 now embeds row 350: found there, not at its old row.
		index.push(8, &rows.get(350), open_profile()).unwrap();
		assert_eq!(index.search(&rows.get(350), 1)[0].id, 8);
		assert!(index.search(&rows.get(8), 5).iter().all(|s| s.id != 8 || s.score < 0.9));
		assert_eq!(index.len(), 299);
		// Values that are not whole rows are refused, and the entry there stays.
		let torn = Tensor::zeros([dimension + 5], (Kind::Float, Device::Cpu));
		let refused = index.push(8, &torn, open_profile());
		assert!(matches!(refused, Err(IndexError::Shape { values: 37, dimension: 32 })));
		assert_eq!(index.search(&rows.get(350), 1)[0].id, 8);
		// A batch: the last of an id pushed twice wins.
		index
			.push_all([
				(500, rows.get(360), open_profile()),
				(501, rows.get(361), open_profile()),
				(500, rows.get(362), open_profile()),
			])
			.unwrap();
		assert_eq!(index.search(&rows.get(362), 1)[0].id, 500);
		assert_eq!(index.search(&rows.get(361), 1)[0].id, 501);
		assert!(index.search(&rows.get(360), 3).iter().all(|s| s.id != 500 || s.score < 0.9));
		assert_eq!(index.len(), 301);
	}

	/// `count` unit rows of `dimension` shaped like sentence embeddings: a shared direction,
	/// one of 64 topics and a part of their own, each drawn over a spectrum decaying with the
	/// dimension (so most of the energy is in the leading directions).
	fn embedding_like_rows(count: i64, dimension: i64, seed: i64) -> Tensor {
		tch::manual_seed(seed);
		let options = (Kind::Float, Device::Cpu);
		let spectrum = Tensor::arange(dimension, options).g_add_scalar(1.0).pow_tensor_scalar(-0.5);
		let unit = |rows: Tensor| &rows / rows.norm_scalaropt_dim(2, [-1], true);
		let shared = unit(Tensor::randn([1, dimension], options) * &spectrum);
		let topics = unit(Tensor::randn([64, dimension], options) * &spectrum);
		let topic = Tensor::randint(64, [count], (Kind::Int64, Device::Cpu));
		let own = unit(Tensor::randn([count, dimension], options) * &spectrum);
		unit(shared * 0.35 + topics.index_select(0, &topic) + own * 0.8)
	}

	#[test]
	fn projected_rows_rank_like_the_exact_search() {
		let (count, dimension) = (12_000, 384);
		let rows = embedding_like_rows(count, dimension, 41);
		let mut exact = Index::new(dimension as usize, Device::Cpu).approximate_from(usize::MAX);
		let mut approximate = Index::new(dimension as usize, Device::Cpu).approximate_from(9_000);
		for id in 0..count {
			exact.push(id as u64, &rows.get(id), open_profile()).unwrap();
			approximate.push(id as u64, &rows.get(id), open_profile()).unwrap();
		}
		let width = approximate.approximate_width().expect("approximate");
		assert!(
			width.is_multiple_of(16) && width < 250,
			"a scanned row keeps {width} of 384 values"
		);
		// The default lists scanned: a fraction of the 562.
		// Reworded stored rows and fresh rows of known topics: the exact best is found.
		let noise = embedding_like_rows(200, dimension, 42);
		let fresh = embedding_like_rows(200, dimension, 43);
		let (mut agree, mut asked) = (0, 0);
		for q in 0..200i64 {
			let reworded = &rows.get(q * 17) * 0.9 + &noise.get(q) * 0.45;
			for query in [&reworded / reworded.norm(), fresh.get(q)] {
				let want = exact.search(&query, 3);
				let got = approximate.search(&query, 3);
				asked += 1;
				if want[0].id == got[0].id {
					agree += 1;
					assert!((want[0].score - got[0].score).abs() < 1e-4, "{want:?} {got:?}");
				}
			}
		}
		assert!(agree * 100 >= asked * 99, "recall@1 {agree}/{asked}");
	}

	/// Lists the approximate searches of these tests scan: a fraction of the lists (1,000 rows
	/// make 62 centres), as at a million rows.
	const PROBED: usize = 16;

	#[test]
	fn scanning_fewer_lists_finds_less_and_rows_of_any_width_are_scanned() {
		// 40 values: not the vector kernel's multiple of 16.
		let (count, dimension) = (3_000, 40);
		let rows = random_rows(count, dimension, 51);
		let mut index = Index::new(dimension as usize, Device::Cpu).approximate_from(1_000);
		for id in 0..count {
			index.push(id as u64, &rows.get(id), open_profile()).unwrap();
		}
		assert_eq!(index.approximate_width(), Some(40), "isotropic rows are not projected");
		let noise = random_rows(200, dimension, 52);
		let found = |index: &mut Index| {
			(0..200i64)
				.filter(|q| {
					let query = &rows.get(q * 13) * 0.9 + &noise.get(*q) * 0.45;
					index.search(&(&query / query.norm()), 1)[0].id == (q * 13) as u64
				})
				.count()
		};
		let all = found(&mut index);
		index.set_search_probes(1);
		let one = found(&mut index);
		assert!(all >= 198, "every list scanned: {all}/200");
		assert!(one < all, "one list scanned finds less: {one} of {all}");
	}

	/// Exact rows from outside the index (a device's packed embeddings), counting reads; rows it
	/// no longer has are ranked by their 8-bit similarity.
	struct Store {
		rows: std::sync::Mutex<HashMap<u64, Vec<f32>>>,
		reads: std::sync::atomic::AtomicUsize,
	}

	impl Embeddings for Store {
		fn embeddings(&self, id: u64) -> Option<Vec<f32>> {
			self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
			self.rows.lock().unwrap().get(&id).cloned()
		}
	}

	#[test]
	fn approximate_search_reads_exact_rows_from_a_store() {
		let dimension = 48;
		let rows = random_rows(600, dimension, 31);
		let store = Arc::new(Store {
			rows: std::sync::Mutex::new(
				(0..600u64).map(|id| (id, rows_of(&rows.get(id as i64)))).collect(),
			),
			reads: Default::default(),
		});
		let mut index = Index::new(dimension as usize, Device::Cpu)
			.approximate_from(200)
			.rescoring_from(store.clone());
		for id in 0..600 {
			index.push(id, &rows.get(id as i64), open_profile()).unwrap();
		}
		assert!(index.is_approximate());
		let before = index.search_memory();
		let best = index.search(&rows.get(42), 1);
		assert_eq!(best[0].id, 42);
		assert!((best[0].score - 1.0).abs() < 1e-5, "exact: {best:?}");
		assert!(store.reads.load(std::sync::atomic::Ordering::Relaxed) > 0);
		// Without its exact rows an entry is still found, at about its similarity.
		store.rows.lock().unwrap().remove(&43);
		let best = index.search(&rows.get(43), 1);
		assert_eq!(best[0].id, 43);
		assert!((best[0].score - 1.0).abs() < 0.05, "8-bit: {best:?}");
		// Nor with rows torn short (a store that lies about their width).
		store.rows.lock().unwrap().insert(44, vec![1.0; 5]);
		let best = index.search(&rows.get(44), 1);
		assert_eq!(best[0].id, 44);
		assert!((best[0].score - 1.0).abs() < 0.05, "8-bit: {best:?}");
		// The index keeps no exact rows of its own, unlike one without a store.
		let mut in_memory = Index::new(dimension as usize, Device::Cpu).approximate_from(200);
		for id in 0..600 {
			in_memory.push(id, &rows.get(id as i64), open_profile()).unwrap();
		}
		let exact_rows = 600 * dimension as usize * 4;
		assert!(in_memory.search_memory() >= before + exact_rows, "{before} bytes");
	}
}
