//! The device: its trust root, its verified cache with the embedding index, and the commands
//! (`sync`, `ask`, `verify`, `status`) built on them.

use std::{
	collections::HashMap,
	path::{Path, PathBuf},
};

use membria_embed::{EmbedError, Embedder, Query, Thresholds};
use membria_offchain::{body::BodyLink, Body};
use serde::{Deserialize, Serialize};

use crate::{
	cache::{CacheError, CachedEntry, NewEntry, VerifiedCache},
	freshness::{self, Admission, Answer, FreshnessError},
	server::{Server, ServerError, SYNC_PAGE},
	trust::{ProvenEntry, Trust, TrustError},
	wire::{AskRequest, DemandFiled, Proven},
};

/// How many candidates the lookup weighs.
const CANDIDATES: usize = 5;

/// Why a device command failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
	// The two refusals carry their reason in their message and are not `source`s, so that an
	// error report prints the reason once.
	#[error("refused: {0}")]
	Trust(TrustError),
	#[error("refused: {0}")]
	Freshness(FreshnessError),
	#[error(transparent)]
	Server(#[from] ServerError),
	#[error(transparent)]
	Cache(#[from] CacheError),
	#[error("embedding: {0}")]
	Embed(#[from] EmbedError),
	#[error("the cache lost entry {0} between lookup and read: {1}")]
	CacheRead(u64, String),
	#[error("device state at {path}: {reason}")]
	State { path: PathBuf, reason: String },
}

impl From<TrustError> for DeviceError {
	fn from(error: TrustError) -> Self {
		Self::Trust(error)
	}
}

impl From<FreshnessError> for DeviceError {
	fn from(error: FreshnessError) -> Self {
		Self::Freshness(error)
	}
}

/// Where the device is.
pub struct DeviceOptions {
	pub data_dir: PathBuf,
	/// The sentence-embedding model's directory.
	pub model_dir: PathBuf,
	/// A raw chain spec to take the trust root from, when the data dir has none yet.
	pub chain_spec: Option<PathBuf>,
	/// The similarities a cached entry needs to answer (see [`membria_embed::matcher`]).
	pub thresholds: Thresholds,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct SyncState {
	/// Entries validated from this block on are still to sync: the successor of the verified
	/// block the last complete sync was proven at (never a number a server wrote).
	next_since: u32,
}

/// An answer from the verified cache.
#[derive(Clone, Debug)]
pub struct LocalAnswer {
	pub entry: CachedEntry,
	pub body: Body,
	pub score: f32,
}

impl LocalAnswer {
	/// The entry as one passage of text (question, answer, facts): what generation reads.
	pub fn passage(&self) -> String {
		format!("{} {} {}", self.body.question, self.body.answer, self.body.facts.join(" "))
	}
}

/// An entry and its links, as far as the cache knows them.
#[derive(Clone, Debug)]
pub struct Neighbourhood {
	pub entry: CachedEntry,
	/// Its links, each with the linked entry's record when the cache holds it.
	pub outgoing: Vec<(BodyLink, Option<CachedEntry>)>,
	/// Cached entries that link to it: the relation, and the entry.
	pub incoming: Vec<(String, CachedEntry)>,
}

/// What a local lookup found.
#[derive(Clone, Debug)]
pub enum LocalOutcome {
	Hit(Box<LocalAnswer>),
	Miss(String),
}

/// What asking a server brought.
#[derive(Clone, Debug)]
pub enum RemoteOutcome {
	/// Entries were proven and loaded, and one answers the question.
	Hit(Box<LocalAnswer>),
	/// No answer; the reason, and the demand the server filed, if it did.
	Miss { reason: String, demand: Option<DemandFiled> },
}

/// What `sync` did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SyncReport {
	pub pages: usize,
	pub verified: usize,
	pub loaded: usize,
	/// The verified block the last page is proven at.
	pub proven_at: u32,
}

/// What a response the device accepted brought.
struct Accepted {
	verified: usize,
	loaded: usize,
	/// The verified block it is proven at.
	proven_at: u32,
	/// The blocks its entries were validated at (from their proofs).
	validated_at: Vec<u32>,
}

/// Progress of a sync: entries verified so far, and the (verified) block proven at.
#[derive(Clone, Copy, Debug)]
pub struct SyncProgress {
	pub verified: usize,
	pub proven_at: u32,
	pub more: bool,
}

/// What `status` shows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Status {
	pub data_dir: PathBuf,
	pub entries: usize,
	pub corrupted: usize,
	pub set_id: u64,
	pub authorities: usize,
	pub last_proven: u32,
	pub next_since: u32,
}

/// A device: trust root, verified cache, embedder.
pub struct Device {
	data_dir: PathBuf,
	trust: Trust,
	cache: VerifiedCache,
	embedder: Embedder,
	thresholds: Thresholds,
	sync: SyncState,
}

const SYNC_FILE: &str = "sync.json";

impl Device {
	/// Opens the device in `options.data_dir`, taking the trust root from the chain spec the
	/// first time.
	pub fn open(options: DeviceOptions) -> Result<Self, DeviceError> {
		let trust = match (Trust::open(&options.data_dir), &options.chain_spec) {
			(Ok(trust), _) => trust,
			(Err(TrustError::NoTrustRoot(_)), Some(spec)) => {
				Trust::from_chain_spec(&options.data_dir, spec)?
			},
			(Err(error), _) => return Err(error.into()),
		};
		let embedder = Embedder::load(&options.model_dir)?;
		let cache = VerifiedCache::open(&options.data_dir.join("cache"), embedder.dimension())?;
		for corruption in cache.corrupted() {
			tracing::warn!(file = %corruption.file.display(), reason = %corruption.reason, "removed a corrupted cache file; sync fetches it again");
		}
		let path = options.data_dir.join(SYNC_FILE);
		let mut sync: SyncState = match std::fs::read(&path) {
			Ok(raw) => serde_json::from_slice(&raw)
				.map_err(|e| DeviceError::State { path: path.clone(), reason: e.to_string() })?,
			Err(_) => SyncState::default(),
		};
		if !cache.corrupted().is_empty() {
			// Fetch again what was removed: sync from the start (known entries are skipped).
			sync.next_since = 0;
		}
		if sync.next_since > trust.last_proven().saturating_add(1) {
			// Every block the device keeps comes from a header it verified, and it verified none
			// this new: the state was not written by a verified sync. Sync from the start.
			tracing::warn!(
				next_since = sync.next_since,
				last_proven = trust.last_proven(),
				"the next sync block is past every block this device proved; syncing from the start"
			);
			sync.next_since = 0;
		}
		Ok(Self {
			data_dir: options.data_dir,
			trust,
			cache,
			embedder,
			thresholds: options.thresholds,
			sync,
		})
	}

	fn save_sync(&self) -> Result<(), DeviceError> {
		let path = self.data_dir.join(SYNC_FILE);
		let error = |reason: String| DeviceError::State { path: path.clone(), reason };
		let json = serde_json::to_vec(&self.sync).map_err(|e| error(e.to_string()))?;
		let tmp = path.with_extension("tmp");
		std::fs::write(&tmp, json).map_err(|e| error(e.to_string()))?;
		std::fs::rename(&tmp, &path).map_err(|e| error(e.to_string()))
	}

	pub fn data_dir(&self) -> &Path {
		&self.data_dir
	}

	pub fn trust(&self) -> &Trust {
		&self.trust
	}

	pub fn cache(&self) -> &VerifiedCache {
		&self.cache
	}

	pub fn embedder(&self) -> &Embedder {
		&self.embedder
	}

	/// Stores proven entries in the cache; how many were new. What the device holds for a
	/// question is replaced only by an answer proven at a later block: an older one refuses the
	/// whole batch ([`FreshnessError::Rollback`]) before anything changes.
	pub fn load(&mut self, entries: &[ProvenEntry]) -> Result<usize, DeviceError> {
		let admissions = self.admissions(entries)?;
		self.store(entries, admissions)
	}

	/// What to do with each of `entries`, by [`freshness::admit`] against the answers the cache
	/// holds for its question (and those earlier in `entries`).
	fn admissions(&self, entries: &[ProvenEntry]) -> Result<Vec<Admission>, DeviceError> {
		// The answers held for each question this page names: the cache's, then the page's.
		let mut held: HashMap<String, Vec<Answer>> = HashMap::new();
		let mut admissions = Vec::with_capacity(entries.len());
		for proven in entries {
			let key = hex::encode(proven.verified.entry.question_key);
			let offered =
				Answer { id: proven.verified.id, proven_at: proven.verified.proven_at.number };
			let for_key = held.entry(key.clone()).or_insert_with(|| {
				self.cache
					.answers_to(&key)
					.map(|cached| Answer { id: cached.id, proven_at: cached.proven_at_number })
					.collect()
			});
			let admission = freshness::admit(&key, for_key, offered)?;
			if let Admission::New { supersedes } = &admission {
				for_key.retain(|answer| !supersedes.contains(&answer.id));
				for_key.push(offered);
			}
			admissions.push(admission);
		}
		Ok(admissions)
	}

	/// Stores what [`Device::admissions`] admitted; how many were new.
	fn store(
		&mut self,
		entries: &[ProvenEntry],
		admissions: Vec<Admission>,
	) -> Result<usize, DeviceError> {
		let new: Vec<(&ProvenEntry, Vec<u64>)> = entries
			.iter()
			.zip(admissions)
			.filter_map(|(proven, admission)| match admission {
				Admission::New { supersedes } => Some((proven, supersedes)),
				_ => None,
			})
			.collect();
		// Every new entry's phrasings embedded together: the embedder runs them in passes of
		// texts of similar length, whatever entry they come from.
		let texts: Vec<Vec<String>> =
			new.iter().map(|(proven, _)| crate::cache::phrasings(&proven.body)).collect();
		let flat: Vec<&str> = texts.iter().flatten().map(String::as_str).collect();
		let embedded = self.embedder.embed(&flat)?.to(tch::Device::Cpu).flatten(0, -1);
		let rows = Vec::<f32>::try_from(&embedded).map_err(EmbedError::from)?;
		let mut stored = Vec::with_capacity(new.len());
		let mut at = 0;
		for ((proven, _), texts) in new.iter().zip(&texts) {
			let id = proven.verified.id;
			let width = texts.len() * self.embedder.dimension();
			let entry = &proven.verified.entry;
			stored.push(NewEntry {
				id,
				question_key: entry.question_key,
				cid: &entry.cid,
				content_hash: entry.content_hash.0,
				proven_at: (proven.verified.proven_at.number, proven.verified.proven_at.hash.0),
				approving_stake: proven.verified.approving_stake.unwrap_or_default(),
				body: &proven.bytes,
				embeddings: rows.get(at..at + width).unwrap_or_default(),
			});
			at += width;
		}
		// The new answers first, then what they supersede: a failure loses no answer.
		self.cache.insert_all(&stored)?;
		for (proven, supersedes) in &new {
			for &old in supersedes {
				self.cache.remove(old)?;
				tracing::info!(entry = old, by = proven.verified.id, "removed a superseded entry");
			}
		}
		Ok(stored.len())
	}

	/// Takes a response whole or not at all: checks it ([`Trust::check`], which refuses a block
	/// older than the newest proven), checks the server's `claimed` block against the verified
	/// header, admits every entry ([`freshness::admit`]); only then keeps the trust root's
	/// progress and loads the entries.
	fn accept(
		&mut self,
		proven: &Proven,
		claimed: Option<u32>,
		trace: &mut dyn FnMut(String),
	) -> Result<Accepted, DeviceError> {
		let checked = self.trust.check_traced(proven, trace)?;
		if let Some(claimed) = claimed {
			freshness::check_claimed_block(claimed, checked.finalized.number)?;
		}
		let admissions = self.admissions(&checked.entries)?;
		self.trust.keep(&checked)?;
		let loaded = self.store(&checked.entries, admissions)?;
		Ok(Accepted {
			verified: checked.entries.len(),
			loaded,
			proven_at: checked.finalized.number,
			validated_at: checked
				.entries
				.iter()
				.filter_map(|entry| match entry.verified.entry.status {
					membria_verifier::EntryStatus::Validated { at } => Some(at),
					_ => None,
				})
				.collect(),
		})
	}

	/// Answers from the verified cache alone (offline). A question that names no cached
	/// entry's whole subject is a miss before any embedding ([`Index::sure_miss`]).
	///
	/// [`Index::sure_miss`]: membria_embed::Index::sure_miss
	pub fn ask_local(&mut self, question: &str) -> Result<LocalOutcome, DeviceError> {
		let query = Query::new(question);
		if let Some(miss) = self.cache.index().sure_miss(&query) {
			return Ok(LocalOutcome::Miss(miss.to_string()));
		}
		let embedding = tch::Tensor::from_slice(&self.embedder.embed_one(question)?);
		match self.cache.index().lookup(&embedding, &query, &self.thresholds, CANDIDATES) {
			Ok(best) => {
				let entry = self
					.cache
					.entry(best.id)
					.cloned()
					.ok_or_else(|| DeviceError::CacheRead(best.id, "no record".into()))?;
				let bytes = self.cache.body(best.id)?;
				let body = Body::parse(&bytes)
					.map_err(|e| DeviceError::CacheRead(best.id, format!("{e:?}")))?;
				Ok(LocalOutcome::Hit(Box::new(LocalAnswer { entry, body, score: best.score })))
			},
			Err(miss) => Ok(LocalOutcome::Miss(miss.to_string())),
		}
	}

	/// The cached entries most similar to `question` that clear the threshold, best first, at
	/// most `k` (what Cache-Augmented Generation reads).
	pub fn matching(&mut self, question: &str, k: usize) -> Result<Vec<LocalAnswer>, DeviceError> {
		let query = tch::Tensor::from_slice(&self.embedder.embed_one(question)?);
		let scored = self.cache.index().search(&query, k);
		let mut out = Vec::new();
		for best in scored.into_iter().filter(|s| s.score >= self.thresholds.base) {
			let Some(entry) = self.cache.entry(best.id).cloned() else {
				continue;
			};
			let bytes = self.cache.body(best.id)?;
			let body = Body::parse(&bytes)
				.map_err(|e| DeviceError::CacheRead(best.id, format!("{e:?}")))?;
			out.push(LocalAnswer { entry, body, score: best.score });
		}
		Ok(out)
	}

	/// Pulls every entry validated since the last sync, verifies each page whole and loads it.
	///
	/// Each page is taken whole or refused whole ([`Device::accept`]), and must hold at most
	/// the entries asked for and move its cursor strictly forward; a sync follows at most
	/// [`freshness::MAX_SYNC_PAGES`] pages. The next sync starts after the verified block of the
	/// last page; a refused sync keeps what earlier pages loaded but not the next sync block
	/// (past the page cap it keeps only what its verified entries prove, [`freshness::resume_from`]).
	pub async fn sync(
		&mut self,
		server: &Server,
		mut progress: impl FnMut(SyncProgress),
	) -> Result<SyncReport, DeviceError> {
		let mut report = SyncReport::default();
		let since = self.sync.next_since;
		let mut cursor = None;
		let mut validated_at = Vec::new();
		loop {
			if let Err(refusal) = freshness::check_page_count(report.pages) {
				self.save_sync_from(freshness::resume_from(since, validated_at))?;
				return Err(refusal.into());
			}
			let page = server.sync(since, cursor, self.trust.set_start()).await?;
			freshness::check_page_len(SYNC_PAGE as usize, page.proven.entries.len())?;
			let next = freshness::advance_cursor(cursor, page.next_cursor)?;
			let accepted = self.accept(&page.proven, Some(page.proven_at), &mut |_| {})?;
			report.pages += 1;
			report.verified += accepted.verified;
			report.loaded += accepted.loaded;
			report.proven_at = accepted.proven_at;
			validated_at.extend(accepted.validated_at);
			progress(SyncProgress {
				verified: report.verified,
				proven_at: accepted.proven_at,
				more: next.is_some(),
			});
			match next {
				Some(next) => cursor = Some(next),
				None => break,
			}
		}
		self.save_sync_from(report.proven_at.saturating_add(1).max(since))?;
		Ok(report)
	}

	/// Keeps `next_since` as where the next sync starts (written only when it changes).
	fn save_sync_from(&mut self, next_since: u32) -> Result<(), DeviceError> {
		if next_since == self.sync.next_since {
			return Ok(());
		}
		self.sync.next_since = next_since;
		self.save_sync()
	}

	/// Asks a server; proven matches are verified, loaded, and looked up locally again (the
	/// device scores what it was sent itself).
	pub async fn ask_remote(
		&mut self,
		server: &Server,
		question: &str,
		file_demand: bool,
	) -> Result<RemoteOutcome, DeviceError> {
		let response = server
			.ask(&AskRequest {
				question: question.to_string(),
				k: Some(CANDIDATES as u32),
				file_demand: Some(file_demand),
				set_start: Some(self.trust.set_start()),
			})
			.await?;
		if let Some(proven) = &response.proven {
			freshness::check_page_len(CANDIDATES, proven.entries.len())?;
			self.accept(proven, None, &mut |_| {})?;
		}
		match self.ask_local(question)? {
			LocalOutcome::Hit(answer) => Ok(RemoteOutcome::Hit(answer)),
			LocalOutcome::Miss(local) => Ok(RemoteOutcome::Miss {
				reason: response.miss.unwrap_or(local),
				demand: response.demand,
			}),
		}
	}

	/// Fetches entry `id` and checks it step by step, telling `trace` each step; loads it
	/// when it verifies.
	pub async fn verify_entry(
		&mut self,
		server: &Server,
		id: u64,
		trace: &mut (dyn FnMut(String) + Send),
	) -> Result<(), DeviceError> {
		let proven = server.entry(id, self.trust.set_start()).await?;
		if !proven.entries.iter().any(|e| e.id == id) {
			return Err(ServerError::Refused {
				url: "server".into(),
				status: 404,
				reason: format!("no body for entry {id}"),
			}
			.into());
		}
		freshness::check_page_len(1, proven.entries.len())?;
		if self.accept(&proven, None, trace)?.loaded > 0 {
			trace(format!("entry {id} loaded into the verified cache"));
		}
		Ok(())
	}

	/// Entry `id`'s place in the knowledge graph as far as the cache knows it: the entries it
	/// links to (with their cached record, when cached) and the cached entries linking to it.
	pub fn neighbourhood(&self, id: u64) -> Option<Neighbourhood> {
		let entry = self.cache.entry(id)?.clone();
		let outgoing = entry
			.links
			.iter()
			.map(|link| (link.clone(), self.cache.entry(link.entry).cloned()))
			.collect();
		let incoming = self
			.cache
			.linking_to(id)
			.into_iter()
			.map(|(rel, from)| (rel.to_string(), from.clone()))
			.collect();
		Some(Neighbourhood { entry, outgoing, incoming })
	}

	/// Fetches and verifies entry `id` if the cache lacks it, then the entries it links to that
	/// the cache lacks (each with its own proof; a target that no longer verifies — superseded
	/// since — is left out); its neighbourhood.
	pub async fn fetch_neighbourhood(
		&mut self,
		server: &Server,
		id: u64,
	) -> Result<Neighbourhood, DeviceError> {
		if self.cache.entry(id).is_none() {
			self.verify_entry(server, id, &mut |_| {}).await?;
		}
		let targets: Vec<u64> = self
			.cache
			.entry(id)
			.map(|entry| entry.links.iter().map(|link| link.entry).collect())
			.unwrap_or_default();
		for target in targets {
			if self.cache.entry(target).is_none() {
				if let Err(error) = self.verify_entry(server, target, &mut |_| {}).await {
					tracing::info!(entry = target, %error, "a linked entry did not verify");
				}
			}
		}
		self.neighbourhood(id).ok_or_else(|| {
			ServerError::Refused {
				url: "server".into(),
				status: 404,
				reason: format!("entry {id} is not in the cache"),
			}
			.into()
		})
	}

	/// The cached entries `answer` links to, as passages (what `ask --generate` adds to the
	/// model's context beside the matching entries).
	pub fn linked_passages(&self, answer: &LocalAnswer) -> Vec<LocalAnswer> {
		answer
			.entry
			.links
			.iter()
			.filter_map(|link| {
				let entry = self.cache.entry(link.entry)?.clone();
				let bytes = self.cache.body(link.entry).ok()?;
				let body = Body::parse(&bytes).ok()?;
				Some(LocalAnswer { entry, body, score: 0.0 })
			})
			.collect()
	}

	pub fn status(&self) -> Status {
		Status {
			data_dir: self.data_dir.clone(),
			entries: self.cache.len(),
			corrupted: self.cache.corrupted().len(),
			set_id: self.trust.set().set_id,
			authorities: self.trust.set().authorities.len(),
			last_proven: self.trust.last_proven(),
			next_since: self.sync.next_since,
		}
	}
}
