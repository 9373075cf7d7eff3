//! The verified cache on disk (`~/.local/share/membria` or `--data-dir`):
//!
//! - `entries/<id>.json`: what was proven of the entry ([`CachedEntry`]): its question, key, CID,
//!   content hash, size, the finalized block it was proven at, and the blake2-256 of its
//!   embedding file;
//! - `bodies/<id>.json`: the body's exact bytes;
//! - `embeddings/<id>.f32`: the embeddings of the body's question and of its other phrasings
//!   ([`Profile::phrasings`]), one row after the other, little-endian `f32`s.
//!
//! Every file is written to a temporary name and renamed (a batch of entries with one flush of
//! the filesystem before the renames and one after, [`VerifiedCache::insert_all`]). Opening the cache re-checks each entry:
//! the body against the proven size, blake2-256 and CID, the embedding against its recorded
//! hash, dimension and row count. Whatever fails is listed in [`VerifiedCache::corrupted`] (to fetch and
//! verify again) and its files are removed; the rest is loaded into the search index.
//!
//! Past its exact size the search ranks its candidates by their `f32` embeddings as they were
//! checked: copied, once checked, into one unnamed scratch file in the cache's directory that
//! only the cache can read (a file changed on disk after its check changes no ranking), one
//! positioned read per candidate.

use std::{
	collections::{BTreeMap, HashMap},
	io::Write,
	path::{Path, PathBuf},
	sync::Arc,
};

use membria_embed::{embedding_bytes, Index, Profile};

use crate::rescoring::PackedEmbeddings;
use membria_offchain::{check_body, Body, EntryFacts};
use membria_primitives::{unixfs, QuestionKey};

/// What can go wrong with the cache itself (not with its contents: see [`Corruption`]).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
	#[error("cache I/O at {path}: {source}")]
	Io { path: PathBuf, source: std::io::Error },
	#[error("the body does not match the entry it is cached as: {0:?}")]
	BodyMismatch(membria_offchain::CheckFailure),
	#[error("the embeddings hold {got} values, the cache expects {expected} ({rows} phrasings of {dimension})")]
	Dimension { expected: usize, got: usize, rows: usize, dimension: usize },
	#[error("entry {id} is stored but could not be indexed: {source}")]
	Index { id: u64, source: membria_embed::IndexError },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
	move |source| CacheError::Io { path: path.to_path_buf(), source }
}

pub use membria_ask::CachedEntry;

/// A cached entry that failed its re-check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corruption {
	pub id: Option<u64>,
	pub file: PathBuf,
	pub reason: String,
}

fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
	if text.len() != N * 2 {
		return None;
	}
	let mut out = [0u8; N];
	for (i, byte) in out.iter_mut().enumerate() {
		*byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
	}
	Some(out)
}

/// An entry to store: what was proven of it, its body's bytes and its phrasings' embeddings.
pub struct NewEntry<'a> {
	pub id: u64,
	pub question_key: QuestionKey,
	pub cid: &'a [u8],
	pub content_hash: [u8; 32],
	/// The finalized block it was proven at: number and hash.
	pub proven_at: (u32, [u8; 32]),
	pub approving_stake: u128,
	pub body: &'a [u8],
	pub embeddings: &'a [f32],
}

struct Staged {
	entry: CachedEntry,
	body: Body,
	embeddings: Vec<f32>,
	/// `(temporary path, path, bytes)`: the body, the embeddings, the record last.
	files: [(PathBuf, PathBuf, Vec<u8>); 3],
}

/// Writes the staged files under their temporary names, flushes, renames them into place and
/// flushes again.
fn write_staged(root: &Path, staged: &[Staged]) -> Result<(), CacheError> {
	let files = || staged.iter().flat_map(|s| s.files.iter());
	for (tmp, _, bytes) in files() {
		write_new(tmp, bytes)?;
	}
	flush(root)?;
	for (tmp, path, _) in files() {
		std::fs::rename(tmp, path).map_err(io(path))?;
	}
	flush(root)
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
	let mut file = std::fs::File::create(path).map_err(io(path))?;
	file.write_all(bytes).map_err(io(path))
}

/// Flushes the filesystem holding `root` to disk: one flush for a whole batch of files, where
/// a flush per file would cost a journal commit each.
fn flush(root: &Path) -> Result<(), CacheError> {
	#[cfg(any(target_os = "linux", target_os = "android"))]
	{
		let dir = std::fs::File::open(root).map_err(io(root))?;
		rustix::fs::syncfs(&dir).map_err(|e| io(root)(e.into()))
	}
	#[cfg(not(any(target_os = "linux", target_os = "android")))]
	{
		let _ = root;
		rustix::fs::sync();
		Ok(())
	}
}

/// What the matcher knows of an entry: its question's subject and attribute, the words of its
/// answer and facts, the abbreviations it spells out.
pub fn profile(body: &Body) -> Profile {
	Profile::new(&body.question, &body.answer, &body.facts)
}

/// The profiles an entry is judged by: its question's, then one for each other phrasing its
/// body gives (validators checked that the answer speaks of what each asks).
pub fn profiles(body: &Body) -> Vec<Profile> {
	std::iter::once(profile(body))
		.chain(
			body.phrasings
				.iter()
				.map(|phrasing| Profile::new(phrasing, &body.answer, &body.facts)),
		)
		.collect()
}

/// The texts embedded for an entry, one row each: its question, the question with an
/// abbreviation its body spells out written the other way, then the body's other phrasings.
pub fn phrasings(body: &Body) -> Vec<String> {
	std::iter::once(body.question.clone())
		.chain(profile(body).phrasings().iter().cloned())
		.chain(body.phrasings.iter().cloned())
		.collect()
}

/// Entries re-checked and indexed together when the cache is opened.
const LOAD_PAGE: usize = 1024;

/// The cache: verified entries on disk and their search index in memory.
pub struct VerifiedCache {
	root: PathBuf,
	dimension: usize,
	entries: BTreeMap<u64, CachedEntry>,
	/// The entries answering each question (by hex question key).
	by_question: HashMap<String, Vec<u64>>,
	index: Index,
	/// The checked embeddings the approximate search ranks its candidates by.
	exact: Arc<PackedEmbeddings>,
	corrupted: Vec<Corruption>,
}

impl VerifiedCache {
	/// Opens (creating) the cache in `root` for embeddings of `dimension`, re-checking every
	/// entry.
	pub fn open(root: &Path, dimension: usize) -> Result<Self, CacheError> {
		Self::open_sized(root, dimension, membria_embed::APPROXIMATE_FROM)
	}

	/// [`open`](Self::open), the search approximate past `approximate_from` phrasings.
	pub fn open_sized(
		root: &Path,
		dimension: usize,
		approximate_from: usize,
	) -> Result<Self, CacheError> {
		for dir in ["entries", "bodies", "embeddings"] {
			let dir = root.join(dir);
			std::fs::create_dir_all(&dir).map_err(io(&dir))?;
		}
		let exact = Arc::new(PackedEmbeddings::new(root, dimension).map_err(io(root))?);
		let mut cache = Self {
			root: root.to_path_buf(),
			dimension,
			entries: BTreeMap::new(),
			by_question: HashMap::new(),
			// Past its exact size the index ranks candidates by the checked embeddings, packed.
			index: Index::new(dimension, tch::Device::Cpu)
				.approximate_from(approximate_from)
				.rescoring_from(exact.clone()),
			exact,
			corrupted: Vec::new(),
		};
		let dir = root.join("entries");
		let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
			.map_err(io(&dir))?
			.filter_map(|item| item.ok().map(|item| item.path()))
			.filter(|path| path.extension().is_some_and(|e| e == "json"))
			.collect();
		files.sort();
		// Indexed a page at a time: once the index is approximate, a page is projected and
		// assigned to its lists in two matrix products.
		for page in files.chunks(LOAD_PAGE) {
			let mut checked = Vec::with_capacity(page.len());
			for file in page {
				match cache.recheck(file) {
					Ok(entry) => checked.push(entry),
					Err(corruption) => cache.refuse(corruption),
				}
			}
			if let Err(error) = cache.load_all(checked) {
				tracing::warn!(%error, "cache entries not indexed");
			}
		}
		Ok(cache)
	}

	/// Forgets an entry that failed its re-check, and its files.
	fn refuse(&mut self, corruption: Corruption) {
		tracing::warn!(file = %corruption.file.display(), reason = %corruption.reason, "cache entry refused");
		if let Some(id) = corruption.id {
			self.remove_files(id);
		} else {
			let _ = std::fs::remove_file(&corruption.file);
		}
		self.corrupted.push(corruption);
	}

	fn paths(&self, id: u64) -> (PathBuf, PathBuf, PathBuf) {
		(
			self.root.join("entries").join(format!("{id}.json")),
			self.root.join("bodies").join(format!("{id}.json")),
			self.root.join("embeddings").join(format!("{id}.f32")),
		)
	}

	fn remove_files(&self, id: u64) {
		let (entry, body, embedding) = self.paths(id);
		for path in [entry, body, embedding] {
			let _ = std::fs::remove_file(path);
		}
	}

	fn recheck(&self, file: &Path) -> Result<(CachedEntry, Vec<f32>, Body), Corruption> {
		let refuse = |id: Option<u64>, file: &Path, reason: String| Corruption {
			id,
			file: file.to_path_buf(),
			reason,
		};
		let text = std::fs::read(file).map_err(|e| refuse(None, file, e.to_string()))?;
		let entry: CachedEntry = serde_json::from_slice(&text)
			.map_err(|e| refuse(None, file, format!("unreadable entry record: {e}")))?;
		let id = Some(entry.id);
		let (_, body_path, embedding_path) = self.paths(entry.id);
		let facts = EntryFacts {
			question_key: unhex::<32>(&entry.question_key)
				.ok_or_else(|| refuse(id, file, "bad question key".into()))?,
			content_hash: unhex::<32>(&entry.content_hash)
				.ok_or_else(|| refuse(id, file, "bad content hash".into()))?,
			cid: unixfs::cid_from_text(&entry.cid)
				.map_err(|e| refuse(id, file, format!("bad CID: {e:?}")))?,
			size: entry.size,
		};
		let bytes = std::fs::read(&body_path).map_err(|e| refuse(id, &body_path, e.to_string()))?;
		let body = check_body(&bytes, &facts)
			.map_err(|reason| refuse(id, &body_path, format!("body does not match: {reason:?}")))?;
		let raw = std::fs::read(&embedding_path)
			.map_err(|e| refuse(id, &embedding_path, e.to_string()))?;
		if hex(&sp_crypto_hashing::blake2_256(&raw)) != entry.embedding_hash {
			return Err(refuse(id, &embedding_path, "embedding does not match its record".into()));
		}
		let rows = phrasings(&body).len();
		if raw.len() != rows * self.dimension * 4 {
			return Err(refuse(
				id,
				&embedding_path,
				format!(
					"{} bytes of embeddings, not the {rows} phrasings of {} dimensions this matcher embeds (written by another version: fetched again)",
					raw.len(),
					self.dimension
				),
			));
		}
		let embedding = membria_embed::embedding_values(&raw);
		Ok((entry, embedding, body))
	}

	/// Indexes checked entries and holds their records; on an error none of them is held.
	fn load_all(&mut self, checked: Vec<(CachedEntry, Vec<f32>, Body)>) -> Result<(), CacheError> {
		let Some(first) = checked.first().map(|(entry, _, _)| entry.id) else {
			return Ok(());
		};
		// The embeddings as checked, packed before the index ranks by them. One that cannot be
		// packed (a full disk) leaves its entry ranked by its 8-bit similarity, not unanswered.
		let mut unpacked = 0;
		let mut failure = None;
		for (entry, embeddings, _) in &checked {
			if !self.entries.contains_key(&entry.id) {
				if let Err(error) = self.exact.add(entry.id, embeddings) {
					unpacked += 1;
					failure = Some(error);
				}
			}
		}
		if let Some(error) = failure {
			tracing::warn!(%error, unpacked, "embeddings not packed: those entries are ranked by their 8-bit similarity");
		}
		let pushed = self.index.push_all(checked.iter().map(|(entry, embeddings, body)| {
			(entry.id, tch::Tensor::from_slice(embeddings), profiles(body))
		}));
		if let Err(source) = pushed {
			for (entry, _, _) in &checked {
				if !self.entries.contains_key(&entry.id) {
					self.index.remove(entry.id);
					self.exact.forget(entry.id);
				}
			}
			return Err(CacheError::Index { id: first, source });
		}
		for (mut entry, _, body) in checked {
			entry.links = body.links;
			self.by_question.entry(entry.question_key.clone()).or_default().push(entry.id);
			self.entries.insert(entry.id, entry);
		}
		Ok(())
	}

	/// Stores a verified entry, its body and the embeddings of its [`phrasings`] (the body must
	/// match the entry).
	#[allow(clippy::too_many_arguments)]
	pub fn insert(
		&mut self,
		id: u64,
		question_key: QuestionKey,
		cid: &[u8],
		content_hash: [u8; 32],
		proven_at: (u32, [u8; 32]),
		approving_stake: u128,
		body_bytes: &[u8],
		embeddings: &[f32],
	) -> Result<(), CacheError> {
		self.insert_all(&[NewEntry {
			id,
			question_key,
			cid,
			content_hash,
			proven_at,
			approving_stake,
			body: body_bytes,
			embeddings,
		}])
	}

	/// Stores verified entries (each body must match its entry) with one flush to disk for all:
	/// every file is written under a temporary name, the filesystem is flushed once, the files
	/// are renamed into place (each entry's record last: an entry is in the cache once its
	/// record is) and flushed once more. Nothing is stored if one entry is refused.
	pub fn insert_all(&mut self, new: &[NewEntry<'_>]) -> Result<(), CacheError> {
		let mut staged = Vec::with_capacity(new.len());
		let mut seen = std::collections::HashSet::new();
		for n in new {
			// An entry's body never changes: cached once is cached.
			if self.entry(n.id).is_some() || !seen.insert(n.id) {
				continue;
			}
			staged.push(self.stage(n)?);
		}
		if staged.is_empty() {
			return Ok(());
		}
		if let Err(error) = write_staged(&self.root, &staged) {
			for (tmp, _, _) in staged.iter().flat_map(|s| s.files.iter()) {
				let _ = std::fs::remove_file(tmp);
			}
			return Err(error);
		}
		// Stored: entries the index cannot take now are loaded when the cache is next opened.
		self.load_all(staged.into_iter().map(|s| (s.entry, s.embeddings, s.body)).collect())
	}

	/// An entry checked and made ready to write: its record, body and embedding files.
	fn stage(&self, n: &NewEntry<'_>) -> Result<Staged, CacheError> {
		let facts = EntryFacts {
			question_key: n.question_key,
			content_hash: n.content_hash,
			cid: n.cid.to_vec(),
			size: n.body.len() as u32,
		};
		let body = check_body(n.body, &facts).map_err(CacheError::BodyMismatch)?;
		let rows = phrasings(&body).len();
		if n.embeddings.len() != rows * self.dimension {
			return Err(CacheError::Dimension {
				expected: rows * self.dimension,
				got: n.embeddings.len(),
				rows,
				dimension: self.dimension,
			});
		}
		let raw = embedding_bytes(n.embeddings);
		let entry = CachedEntry {
			id: n.id,
			question: body.question.clone(),
			question_key: hex(&n.question_key),
			cid: unixfs::cid_to_text(n.cid),
			content_hash: hex(&n.content_hash),
			size: n.body.len() as u32,
			proven_at_number: n.proven_at.0,
			proven_at_hash: hex(&n.proven_at.1),
			approving_stake: n.approving_stake,
			embedding_hash: hex(&sp_crypto_hashing::blake2_256(&raw)),
			links: Vec::new(),
		};
		let record = serde_json::to_vec_pretty(&entry).unwrap_or_default();
		let (entry_path, body_path, embedding_path) = self.paths(n.id);
		let files = [(body_path, n.body.to_vec()), (embedding_path, raw), (entry_path, record)]
			.map(|(path, bytes)| (path.with_extension("tmp"), path, bytes));
		Ok(Staged { entry, body, embeddings: n.embeddings.to_vec(), files })
	}

	/// Removes entry `id` (superseded by a newer answer to its question): its files, its record,
	/// its row of the index. Whether it was there.
	pub fn remove(&mut self, id: u64) -> Result<bool, CacheError> {
		if !self.entries.contains_key(&id) {
			return Ok(false);
		}
		let (entry_path, body_path, embedding_path) = self.paths(id);
		// The record first: without it, the rest is never loaded again.
		for path in [entry_path, body_path, embedding_path] {
			match std::fs::remove_file(&path) {
				Ok(()) => {},
				Err(e) if e.kind() == std::io::ErrorKind::NotFound => {},
				Err(e) => return Err(io(&path)(e)),
			}
		}
		if let Some(entry) = self.entries.remove(&id) {
			if let Some(ids) = self.by_question.get_mut(&entry.question_key) {
				ids.retain(|held| *held != id);
				if ids.is_empty() {
					self.by_question.remove(&entry.question_key);
				}
			}
		}
		self.index.remove(id);
		self.exact.forget(id);
		Ok(true)
	}

	/// The entries the cache holds, by id.
	pub fn entries(&self) -> impl ExactSizeIterator<Item = &CachedEntry> + '_ {
		self.entries.values()
	}

	/// How many entries the cache holds.
	pub fn len(&self) -> usize {
		self.entries.len()
	}

	/// Whether the cache holds no entry.
	pub fn is_empty(&self) -> bool {
		self.entries.is_empty()
	}

	/// The entries the cache holds answering the question of (hex) key `question_key`.
	pub fn answers_to<'a>(
		&'a self,
		question_key: &str,
	) -> impl Iterator<Item = &'a CachedEntry> + 'a {
		self.by_question
			.get(question_key)
			.into_iter()
			.flatten()
			.filter_map(|id| self.entries.get(id))
	}

	/// Entries refused when the cache was opened (their files removed): fetch and verify again.
	pub fn corrupted(&self) -> &[Corruption] {
		&self.corrupted
	}

	/// The search index over the cached entries.
	pub fn index(&mut self) -> &mut Index {
		&mut self.index
	}

	/// The cached record of `id`.
	pub fn entry(&self, id: u64) -> Option<&CachedEntry> {
		self.entries.get(&id)
	}

	/// The cached entries that link to `id`, with the relation of each link.
	pub fn linking_to(&self, id: u64) -> Vec<(&str, &CachedEntry)> {
		self.entries
			.values()
			.flat_map(|from| {
				from.links
					.iter()
					.filter(|link| link.entry == id)
					.map(move |link| (link.rel.as_str(), from))
			})
			.collect()
	}

	/// The cached body of `id`, re-read from disk.
	pub fn body(&self, id: u64) -> Result<Vec<u8>, CacheError> {
		let (_, body_path, _) = self.paths(id);
		std::fs::read(&body_path).map_err(io(&body_path))
	}
}
