//! The device: its trust root, its verified cache with the embedding index, and the commands
//! (`sync`, `ask`, `verify`, `status`) built on them.

use std::path::{Path, PathBuf};

use membria_embed::{EmbedError, Embedder, Miss};
use membria_offchain::Body;
use membria_primitives::key_terms;
use serde::{Deserialize, Serialize};

use crate::{
	cache::{CacheError, CachedEntry, VerifiedCache},
	server::{Server, ServerError},
	trust::{ProvenEntry, Trust, TrustError},
	wire::{AskRequest, DemandFiled},
};

/// The similarity a cached entry needs to answer a question (with key-term agreement).
pub const DEFAULT_THRESHOLD: f32 = 0.6;
/// How many candidates the lookup weighs.
const CANDIDATES: usize = 5;

/// Why a device command failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
	#[error("refused: {0}")]
	Trust(#[from] TrustError),
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

/// Where the device is.
pub struct DeviceOptions {
	pub data_dir: PathBuf,
	/// The sentence-embedding model's directory.
	pub model_dir: PathBuf,
	/// A raw chain spec to take the trust root from, when the data dir has none yet.
	pub chain_spec: Option<PathBuf>,
	pub threshold: f32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct SyncState {
	/// Entries validated from this block on are still to sync.
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
		format!(
			"{} {} {}",
			self.body.question,
			self.body.answer,
			self.body.facts.join(" ")
		)
	}
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
	Miss {
		reason: String,
		demand: Option<DemandFiled>,
	},
}

/// What `sync` did.
#[derive(Clone, Debug, Default)]
pub struct SyncReport {
	pub pages: usize,
	pub verified: usize,
	pub loaded: usize,
	pub proven_at: u32,
}

/// Progress of a sync: entries verified so far, and the block proven at.
#[derive(Clone, Copy, Debug)]
pub struct SyncProgress {
	pub verified: usize,
	pub proven_at: u32,
	pub more: bool,
}

/// What `status` shows.
#[derive(Clone, Debug)]
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
	threshold: f32,
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
			}
			(Err(error), _) => return Err(error.into()),
		};
		let embedder = Embedder::load(&options.model_dir)?;
		let cache = VerifiedCache::open(&options.data_dir.join("cache"), embedder.dimension())?;
		for corruption in cache.corrupted() {
			tracing::warn!(file = %corruption.file.display(), reason = %corruption.reason, "removed a corrupted cache file; sync fetches it again");
		}
		let path = options.data_dir.join(SYNC_FILE);
		let mut sync: SyncState = match std::fs::read(&path) {
			Ok(raw) => serde_json::from_slice(&raw).map_err(|e| DeviceError::State {
				path: path.clone(),
				reason: e.to_string(),
			})?,
			Err(_) => SyncState::default(),
		};
		if !cache.corrupted().is_empty() {
			// Fetch again what was removed: sync from the start (known entries are skipped).
			sync.next_since = 0;
		}
		Ok(Self {
			data_dir: options.data_dir,
			trust,
			cache,
			embedder,
			threshold: options.threshold,
			sync,
		})
	}

	fn save_sync(&self) -> Result<(), DeviceError> {
		let path = self.data_dir.join(SYNC_FILE);
		let error = |reason: String| DeviceError::State {
			path: path.clone(),
			reason,
		};
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

	/// Stores proven entries in the cache; how many were new.
	pub fn load(&mut self, entries: &[ProvenEntry]) -> Result<usize, DeviceError> {
		let mut loaded = 0;
		for proven in entries {
			let id = proven.verified.id;
			if self.cache.entry(id).is_some() {
				continue;
			}
			let embedding = self.embedder.embed_one(&proven.body.question)?;
			let entry = &proven.verified.entry;
			// A validated entry is its question's answer: older answers to the same question
			// were superseded by it.
			let key = hex::encode(entry.question_key);
			let superseded: Vec<u64> = self
				.cache
				.entries()
				.iter()
				.filter(|cached| cached.question_key == key && cached.id != id)
				.map(|cached| cached.id)
				.collect();
			for old in superseded {
				self.cache.remove(old)?;
				tracing::info!(entry = old, by = id, "removed a superseded entry");
			}
			self.cache.insert(
				id,
				entry.question_key,
				&entry.cid,
				entry.content_hash.0,
				(
					proven.verified.proven_at.number,
					proven.verified.proven_at.hash.0,
				),
				proven.verified.approving_stake.unwrap_or_default(),
				&proven.bytes,
				&embedding,
			)?;
			loaded += 1;
		}
		Ok(loaded)
	}

	/// Answers from the verified cache alone (offline).
	pub fn ask_local(&mut self, question: &str) -> Result<LocalOutcome, DeviceError> {
		let query = tch::Tensor::from_slice(&self.embedder.embed_one(question)?);
		let terms = key_terms(question);
		match self
			.cache
			.index()
			.lookup(&query, &terms, self.threshold, CANDIDATES)
		{
			Ok(best) => {
				let entry = self
					.cache
					.entry(best.id)
					.cloned()
					.ok_or_else(|| DeviceError::CacheRead(best.id, "no record".into()))?;
				let bytes = self.cache.body(best.id)?;
				let body = Body::parse(&bytes)
					.map_err(|e| DeviceError::CacheRead(best.id, format!("{e:?}")))?;
				Ok(LocalOutcome::Hit(Box::new(LocalAnswer {
					entry,
					body,
					score: best.score,
				})))
			}
			Err(Miss::Empty) => Ok(LocalOutcome::Miss("the verified cache is empty".into())),
			Err(Miss::BelowThreshold { best }) => Ok(LocalOutcome::Miss(format!(
				"no cached entry is similar enough (best: entry {} at {:.2}, threshold {:.2})",
				best.id, best.score, self.threshold
			))),
			Err(Miss::Disagrees { best, missing }) => Ok(LocalOutcome::Miss(format!(
				"the closest cached entry ({} at {:.2}) is not about {}",
				best.id,
				best.score,
				missing.join(", ")
			))),
		}
	}

	/// The cached entries most similar to `question` that clear the threshold, best first, at
	/// most `k` (what Cache-Augmented Generation reads).
	pub fn matching(&mut self, question: &str, k: usize) -> Result<Vec<LocalAnswer>, DeviceError> {
		let query = tch::Tensor::from_slice(&self.embedder.embed_one(question)?);
		let scored = self.cache.index().search(&query, k);
		let mut out = Vec::new();
		for best in scored.into_iter().filter(|s| s.score >= self.threshold) {
			let Some(entry) = self.cache.entry(best.id).cloned() else {
				continue;
			};
			let bytes = self.cache.body(best.id)?;
			let body = Body::parse(&bytes)
				.map_err(|e| DeviceError::CacheRead(best.id, format!("{e:?}")))?;
			out.push(LocalAnswer {
				entry,
				body,
				score: best.score,
			});
		}
		Ok(out)
	}

	/// Pulls every entry validated since the last sync, verifies each page whole and loads it.
	pub async fn sync(
		&mut self,
		server: &Server,
		mut progress: impl FnMut(SyncProgress),
	) -> Result<SyncReport, DeviceError> {
		let mut report = SyncReport::default();
		let since = self.sync.next_since;
		let mut cursor = None;
		loop {
			let page = server.sync(since, cursor, self.trust.set_start()).await?;
			let entries = self.trust.verify(&page.proven)?;
			report.pages += 1;
			report.verified += entries.len();
			report.loaded += self.load(&entries)?;
			report.proven_at = page.proven_at;
			progress(SyncProgress {
				verified: report.verified,
				proven_at: page.proven_at,
				more: page.next_cursor.is_some(),
			});
			match page.next_cursor {
				Some(next) if Some(next) != cursor => cursor = Some(next),
				_ => break,
			}
		}
		self.sync.next_since = report.proven_at.saturating_add(1).max(since);
		self.save_sync()?;
		Ok(report)
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
			let entries = self.trust.verify(proven)?;
			self.load(&entries)?;
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
		trace: &mut dyn FnMut(String),
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
		let entries = self.trust.verify_traced(&proven, trace)?;
		if self.load(&entries)? > 0 {
			trace(format!("entry {id} loaded into the verified cache"));
		}
		Ok(())
	}

	pub fn status(&self) -> Status {
		Status {
			data_dir: self.data_dir.clone(),
			entries: self.cache.entries().len(),
			corrupted: self.cache.corrupted().len(),
			set_id: self.trust.set().set_id,
			authorities: self.trust.set().authorities.len(),
			last_proven: self.trust.last_proven(),
			next_since: self.sync.next_since,
		}
	}
}
