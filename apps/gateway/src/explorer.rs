//! The explorer's view of the chain: what happened to each entry (submission, every
//! validator's vote with its stake, the decision, slashes, links), each validator's record, and
//! the open demand and gaps — read from the gateway's node through the runtime's metadata
//! ([`membria_chain::metadata`]), so no runtime type is copied here.
//!
//! Events are read block by block as blocks are finalized (the last `history` blocks when the
//! gateway starts), and kept within bounds: the newest [`MAX_ENTRY_TRAILS`] entries, at most
//! [`MAX_HISTORY`] events and [`MAX_VOTES`] votes each, [`MAX_VALIDATORS`] validators,
//! [`MAX_RECENT`] recent events. The current state (validators' bonds, demand, gaps) is read
//! once per finalized block, at most [`MAX_LISTED`] of each. Requests are answered from memory:
//! a page view costs the node nothing.
//!
//! This is the node's word as the gateway reads it, for people to look at; devices prove
//! what they use (`/v1/ask`, `/v1/sync`).

use std::{
	collections::{BTreeMap, VecDeque},
	sync::{atomic::Ordering, Arc, Mutex, RwLock},
};

use membria_chain::{
	metadata::{json_bytes, json_u128, ChainEvent, ChainMetadata, MetadataError},
	rpc::RpcError,
};
use membria_primitives::unixfs;
use serde::Serialize;
use serde_json::{Map, Value as Json};
use sp_core::{crypto::Ss58Codec, H256};
use tokio::sync::broadcast;

use crate::Shared;

/// Entries whose trail is kept (the newest ids).
pub const MAX_ENTRY_TRAILS: usize = 2_048;
/// Events kept per entry besides its votes (the first ones: submission and decision come
/// before the rewards and slashes that follow them), and votes (the runtime's
/// `MaxValidators` is 32: a vote each, and room for a session change).
pub const MAX_HISTORY: usize = 48;
pub const MAX_VOTES: usize = 64;
/// Validators (and other accounts in validators' events) whose record is kept.
pub const MAX_VALIDATORS: usize = 1_024;
/// Slashes kept per validator.
pub const MAX_SLASHES: usize = 16;
/// Recent events kept for the overview.
pub const MAX_RECENT: usize = 200;
/// Demands, gaps and validators read per finalized block.
pub const MAX_LISTED: u32 = 256;
/// Bodies the entry page keeps, IPFS fetches it makes at once, how long one may take, and how
/// long a failed one stands.
pub const MAX_BODIES: usize = 128;
pub const MAX_FETCHES: usize = 4;
pub const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
pub const FAILED_FETCH_STANDS: std::time::Duration = std::time::Duration::from_secs(60);
/// Blocks whose events are read per follower step while catching up.
const SCAN_PER_STEP: u32 = 256;
/// Events of one block sent to live pages.
const MAX_NEWS: usize = 64;
/// The pallets whose events the explorer keeps.
const PALLETS: [&str; 3] = ["Kcg", "Validators", "Dod"];
/// Fields that hold an account, shown in SS58.
const ACCOUNT_FIELDS: [&str; 5] = ["who", "validator", "author", "agent", "requester"];

/// One event as the explorer shows it: accounts in SS58, questions as text, CIDs as text.
#[derive(Clone, Debug, Serialize)]
pub struct Happening {
	pub block: u32,
	pub pallet: String,
	pub event: String,
	pub fields: Json,
}

/// A validator's vote on an entry.
#[derive(Clone, Debug, Serialize)]
pub struct Vote {
	pub validator: String,
	pub verdict: Json,
	/// Planck, as a decimal string.
	pub stake: String,
	pub block: u32,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct EntryTrail {
	/// Its events but the votes, in order.
	pub history: Vec<Happening>,
	pub votes: Vec<Vote>,
	/// Whether events or votes past the bounds were left out.
	pub truncated: bool,
}

impl EntryTrail {
	fn add(&mut self, happening: &Happening) {
		if self.history.len() < MAX_HISTORY {
			self.history.push(happening.clone());
		} else {
			self.truncated = true;
		}
	}
}

/// What the events say of one account of the validators' pallet.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ValidatorTrail {
	pub votes: u64,
	pub approved: u64,
	pub rejected: u64,
	pub last_vote: Option<u32>,
	#[serde(serialize_with = "decimal")]
	pub slashed: u128,
	#[serde(serialize_with = "decimal")]
	pub rewarded: u128,
	/// The newest slashes (entry and offence slashes).
	pub slashes: VecDeque<Happening>,
}

fn decimal<S: serde::Serializer>(value: &u128, serializer: S) -> Result<S::Ok, S::Error> {
	serializer.serialize_str(&value.to_string())
}

#[derive(Default)]
pub struct Trails {
	/// The last block whose events were read, and the first.
	pub scanned: Option<u32>,
	pub first: Option<u32>,
	pub entries: BTreeMap<u64, EntryTrail>,
	pub validators: BTreeMap<String, ValidatorTrail>,
	pub recent: VecDeque<Happening>,
	/// Blocks whose events could not be read (pruned state, undecodable).
	pub skipped: u32,
}

/// The chain's current state as of one finalized block.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Snapshot {
	pub block: u32,
	pub session: Option<u32>,
	#[serde(serialize_with = "decimal")]
	pub session_stake: u128,
	pub validators: Vec<ValidatorState>,
	pub demand: Vec<DemandState>,
	pub gaps: Vec<GapState>,
	/// Whether a list stopped at [`MAX_LISTED`].
	pub truncated: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ValidatorState {
	pub account: String,
	/// Its stake in the current session's vote (planck), when it is in the session.
	pub session_stake: Option<String>,
	pub active: Option<String>,
	pub unlocking: Option<String>,
	pub candidate: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct DemandState {
	pub question: String,
	pub question_key: String,
	pub requesters: usize,
	pub held: String,
	pub expires_at: Json,
}

#[derive(Clone, Debug, Serialize)]
pub struct GapState {
	pub id: Json,
	pub question: String,
	pub bounty: String,
	pub opened_at: Json,
	pub expires_at: Json,
	pub claim: Json,
}

/// A finalized block's news for live pages.
#[derive(Clone, Debug, Serialize)]
pub struct BlockNews {
	pub number: u32,
	pub events: Vec<Happening>,
}

/// A body fetched for the entry page, when, or why it could not be.
pub type FetchedBody = (std::time::Instant, Result<Vec<u8>, String>);

pub struct Explorer {
	pub history: u32,
	/// Bodies the entry page fetched from IPFS (entries the index does not hold), or why not.
	pub bodies: Mutex<BTreeMap<u64, FetchedBody>>,
	/// IPFS fetches for entry pages at once.
	pub fetches: tokio::sync::Semaphore,
	pub trails: Mutex<Trails>,
	pub snapshot: RwLock<Snapshot>,
	metadata: tokio::sync::Mutex<Option<Arc<ChainMetadata>>>,
	pub news: broadcast::Sender<BlockNews>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExplorerError {
	#[error(transparent)]
	Rpc(#[from] RpcError),
	#[error(transparent)]
	Metadata(#[from] MetadataError),
	#[error("the node has no block {0} on its best chain")]
	NoBlock(u32),
}

impl Explorer {
	pub fn new(history: u32) -> Self {
		Self {
			history,
			bodies: Mutex::new(BTreeMap::new()),
			fetches: tokio::sync::Semaphore::new(MAX_FETCHES),
			trails: Mutex::new(Trails::default()),
			snapshot: RwLock::new(Snapshot::default()),
			metadata: tokio::sync::Mutex::new(None),
			news: broadcast::channel(256).0,
		}
	}

	/// The metadata of the runtime at `at`, fetched again when `refresh` (a runtime upgrade, or
	/// a block its events would not decode with).
	pub async fn metadata(
		&self,
		shared: &Shared,
		at: H256,
		refresh: bool,
	) -> Result<Arc<ChainMetadata>, ExplorerError> {
		let mut slot = self.metadata.lock().await;
		if let (Some(metadata), false) = (slot.as_ref(), refresh) {
			return Ok(metadata.clone());
		}
		let metadata = Arc::new(ChainMetadata::fetch(shared.source.rpc(), at).await?);
		tracing::info!(spec_version = metadata.spec_version(), "read the runtime's metadata");
		*slot = Some(metadata.clone());
		Ok(metadata)
	}

	pub fn spec_version(&self) -> Option<u32> {
		self.metadata.try_lock().ok().and_then(|m| m.as_ref().map(|m| m.spec_version()))
	}
}

/// Reads the events of the blocks finalized since the last call (a bounded number per call)
/// and, once caught up, the current state.
pub async fn advance(shared: &Arc<Shared>) -> Result<(), ExplorerError> {
	let explorer = &shared.explorer;
	let finalized = shared.finalized.load(Ordering::Relaxed);
	if finalized == 0 {
		return Ok(());
	}
	let scanned = explorer.trails.lock().map(|t| t.scanned).unwrap_or_default();
	let snapshot_block = explorer.snapshot.read().map(|s| s.block).unwrap_or_default();
	if scanned == Some(finalized) && snapshot_block == finalized {
		return Ok(());
	}
	let from = match scanned {
		Some(scanned) => scanned + 1,
		None => finalized.saturating_sub(explorer.history).max(1),
	};
	let to = finalized.min(from.saturating_add(SCAN_PER_STEP - 1));
	let rpc = shared.source.rpc();
	let mut upgraded = false;
	let mut last_hash = None;
	let mut skipped = 0u32;
	for number in from..=to {
		let hash = rpc.block_hash(number).await?.ok_or(ExplorerError::NoBlock(number))?;
		let events = match read_events(explorer, shared, hash, upgraded).await {
			Ok(events) => events,
			// The node is away: try again later from the same block.
			Err(error @ ExplorerError::Rpc(RpcError::Unreachable { .. })) => return Err(error),
			// Its state pruned by the node (a non-archive node keeps the last 256 blocks), or
			// undecodable even with its own runtime's metadata: nothing to read, go on.
			Err(error) => {
				tracing::debug!(block = number, %error, "skipping a block's events");
				skipped += 1;
				Vec::new()
			},
		};
		upgraded = events.iter().any(|e| e.pallet == "System" && e.event == "CodeUpdated");
		let news = record(explorer, number, events);
		if number + 2 >= finalized && !news.is_empty() || number == finalized {
			let _ = explorer.news.send(BlockNews { number, events: news });
		}
		last_hash = Some(hash);
	}
	if skipped > 0 {
		tracing::warn!(
			skipped,
			from,
			to,
			"blocks whose events could not be read (state pruned by the node, or undecodable)"
		);
		if let Ok(mut trails) = explorer.trails.lock() {
			trails.skipped = trails.skipped.saturating_add(skipped);
		}
	}
	// The current state at the finalized head, also while the events are still being caught up.
	let stale = explorer.snapshot.read().map(|s| s.block != finalized).unwrap_or(true);
	if stale {
		let hash = match last_hash.filter(|_| to == finalized) {
			Some(hash) => hash,
			None => rpc.block_hash(finalized).await?.ok_or(ExplorerError::NoBlock(finalized))?,
		};
		let metadata = explorer.metadata(shared, hash, false).await?;
		let snapshot = read_snapshot(shared, &metadata, hash, finalized).await?;
		if let Ok(mut trails) = explorer.trails.lock() {
			// Records of accounts that left: dropped once half the room is taken, so that new
			// validators always find room.
			if trails.validators.len() > MAX_VALIDATORS / 2 {
				let current: std::collections::BTreeSet<&str> =
					snapshot.validators.iter().map(|v| v.account.as_str()).collect();
				trails.validators.retain(|account, _| current.contains(account.as_str()));
			}
		}
		if let Ok(mut slot) = explorer.snapshot.write() {
			*slot = snapshot;
		}
	}
	Ok(())
}

/// The events of block `hash`, decoded with its runtime's metadata (fetched again after an
/// upgrade, or when the held metadata does not decode them).
async fn read_events(
	explorer: &Explorer,
	shared: &Shared,
	hash: H256,
	upgraded: bool,
) -> Result<Vec<ChainEvent>, ExplorerError> {
	let rpc = shared.source.rpc();
	let metadata = explorer.metadata(shared, hash, upgraded).await?;
	let raw = rpc.storage(&metadata.prefix("System.Events")?, hash).await?.unwrap_or_default();
	match metadata.decode_events(&raw) {
		Ok(events) => Ok(events),
		Err(_) => Ok(explorer.metadata(shared, hash, true).await?.decode_events(&raw)?),
	}
}

/// Keeps a block's events in the trails; the ones the explorer shows.
fn record(explorer: &Explorer, block: u32, events: Vec<ChainEvent>) -> Vec<Happening> {
	let Ok(mut trails) = explorer.trails.lock() else { return Vec::new() };
	trails.first.get_or_insert(block);
	trails.scanned = Some(block);
	let mut news = Vec::new();
	for event in events.into_iter().filter(|e| PALLETS.contains(&e.pallet.as_str())) {
		let happening = Happening {
			block,
			pallet: event.pallet,
			event: event.event,
			fields: readable(event.fields),
		};
		keep(&mut trails, &happening);
		trails.recent.push_front(happening.clone());
		trails.recent.truncate(MAX_RECENT);
		if news.len() < MAX_NEWS {
			news.push(happening);
		}
	}
	news
}

fn keep(trails: &mut Trails, happening: &Happening) {
	let fields = &happening.fields;
	let entry = fields.get("entry").or_else(|| fields.get("from")).and_then(Json::as_u64);
	if let Some(entry) = entry {
		let oldest = trails.entries.keys().next().copied();
		let full = trails.entries.len() >= MAX_ENTRY_TRAILS;
		if !full || trails.entries.contains_key(&entry) || oldest.is_some_and(|o| entry > o) {
			let trail = trails.entries.entry(entry).or_default();
			if happening.event != "Attested" {
				trail.add(happening);
			} else if trail.votes.len() < MAX_VOTES {
				trail.votes.push(Vote {
					validator: text(fields.get("validator")),
					verdict: fields.get("verdict").cloned().unwrap_or_default(),
					stake: fields.get("stake").and_then(json_u128).unwrap_or_default().to_string(),
					block: happening.block,
				});
			} else {
				trail.truncated = true;
			}
			if trails.entries.len() > MAX_ENTRY_TRAILS {
				trails.entries.pop_first();
			}
		}
	}
	// Linked: the target's trail shows it too.
	if happening.event == "Linked" {
		if let Some(trail) = fields
			.get("to")
			.and_then(Json::as_u64)
			.and_then(|to| trails.entries.get_mut(&to))
		{
			trail.add(happening);
		}
	}
	if happening.pallet != "Validators" {
		return;
	}
	let Some(account) =
		fields.get("validator").or_else(|| fields.get("who")).and_then(Json::as_str)
	else {
		return;
	};
	if !trails.validators.contains_key(account) && trails.validators.len() >= MAX_VALIDATORS {
		return;
	}
	let trail = trails.validators.entry(account.to_string()).or_default();
	let amount = fields.get("amount").and_then(json_u128).unwrap_or_default();
	match happening.event.as_str() {
		"Attested" => {
			trail.votes += 1;
			trail.last_vote = Some(happening.block);
			if fields.get("verdict").and_then(Json::as_str) == Some("Approve") {
				trail.approved += 1;
			} else {
				trail.rejected += 1;
			}
		},
		"Slashed" | "OffenceSlashed" => {
			trail.slashed = trail.slashed.saturating_add(amount);
			trail.slashes.push_front(happening.clone());
			trail.slashes.truncate(MAX_SLASHES);
		},
		"Rewarded" => trail.rewarded = trail.rewarded.saturating_add(amount),
		_ => {},
	}
}

fn text(value: Option<&Json>) -> String {
	value.and_then(Json::as_str).unwrap_or_default().to_string()
}

/// Accounts as SS58, questions as text, CIDs in their text form.
fn readable(fields: Json) -> Json {
	let Json::Object(fields) = fields else { return fields };
	let mut out = Map::new();
	for (name, value) in fields {
		let value = match name.as_str() {
			name if ACCOUNT_FIELDS.contains(&name) => account(&value).map(Json::String),
			"question" => json_bytes(&value)
				.map(|bytes| Json::String(String::from_utf8_lossy(&bytes).into_owned())),
			"cid" => json_bytes(&value).map(|bytes| Json::String(unixfs::cid_to_text(&bytes))),
			_ => None,
		}
		.unwrap_or(value);
		out.insert(name, value);
	}
	Json::Object(out)
}

/// An account (32 bytes of hex) in SS58.
fn account(value: &Json) -> Option<String> {
	let bytes: [u8; 32] = json_bytes(value)?.try_into().ok()?;
	Some(sp_core::crypto::AccountId32::from(bytes).to_ss58check())
}

/// Every `(key, value)` of map `name` at `at`, at most [`MAX_LISTED`]; whether there are more.
async fn list(
	shared: &Shared,
	metadata: &ChainMetadata,
	name: &str,
	at: H256,
) -> Result<(Vec<(Vec<Json>, Json)>, bool), ExplorerError> {
	let rpc = shared.source.rpc();
	let keys = rpc.keys_paged(&metadata.prefix(name)?, MAX_LISTED + 1, None, at).await?;
	let more = keys.len() > MAX_LISTED as usize;
	let keys = &keys[..keys.len().min(MAX_LISTED as usize)];
	let values = rpc.storage_many(keys, at).await?;
	let mut out = Vec::with_capacity(keys.len());
	for (key, value) in keys.iter().zip(values) {
		let Some(value) = value else { continue };
		out.push((metadata.decode_key(name, key)?, metadata.decode_value(name, &value)?));
	}
	Ok((out, more))
}

async fn read_snapshot(
	shared: &Shared,
	metadata: &ChainMetadata,
	at: H256,
	block: u32,
) -> Result<Snapshot, ExplorerError> {
	let rpc = shared.source.rpc();
	let mut snapshot = Snapshot { block, ..Default::default() };

	let session = match rpc.storage(&metadata.prefix("Session.CurrentIndex")?, at).await? {
		Some(raw) => metadata.decode_value("Session.CurrentIndex", &raw)?.as_u64(),
		None => Some(0),
	}
	.and_then(|s| u32::try_from(s).ok());
	snapshot.session = session;
	let mut stakes = BTreeMap::new();
	if let Some(session) = session {
		use codec::Encode;
		let key = metadata.map_key("Validators.SessionStakes", &session.encode())?;
		if let Some(raw) = rpc.storage(&key, at).await? {
			let value = metadata.decode_value("Validators.SessionStakes", &raw)?;
			for pair in value.as_array().into_iter().flatten() {
				if let (Some(who), Some(stake)) =
					(pair.get(0).and_then(account), pair.get(1).and_then(json_u128))
				{
					snapshot.session_stake = snapshot.session_stake.saturating_add(stake);
					stakes.insert(who, stake);
				}
			}
		}
	}
	let (candidates, more_candidates) = list(shared, metadata, "Validators.Candidates", at).await?;
	let candidates: Vec<String> =
		candidates.iter().filter_map(|(key, _)| key.first().and_then(account)).collect();
	let (ledgers, more_ledgers) = list(shared, metadata, "Validators.Ledgers", at).await?;
	let mut validators: BTreeMap<String, ValidatorState> = BTreeMap::new();
	for (key, ledger) in ledgers {
		let Some(who) = key.first().and_then(account) else { continue };
		let unlocking: u128 = ledger["unlocking"]
			.as_array()
			.into_iter()
			.flatten()
			.filter_map(|chunk| json_u128(&chunk["value"]))
			.sum();
		validators.insert(
			who.clone(),
			ValidatorState {
				account: who,
				session_stake: None,
				active: json_u128(&ledger["active"]).map(|a| a.to_string()),
				unlocking: Some(unlocking.to_string()),
				candidate: false,
			},
		);
	}
	let blank = |who: &String| ValidatorState {
		account: who.clone(),
		session_stake: None,
		active: None,
		unlocking: None,
		candidate: false,
	};
	for who in &candidates {
		validators.entry(who.clone()).or_insert_with(|| blank(who)).candidate = true;
	}
	for (who, stake) in &stakes {
		validators.entry(who.clone()).or_insert_with(|| blank(who)).session_stake =
			Some(stake.to_string());
	}
	snapshot.validators = validators.into_values().collect();

	let (demands, more_demand) = list(shared, metadata, "Dod.Demands", at).await?;
	snapshot.demand = demands
		.into_iter()
		.map(|(key, demand)| {
			let requesters = demand["requesters"].as_array().cloned().unwrap_or_default();
			let held: u128 = requesters
				.iter()
				.map(|r| {
					json_u128(&r["deposit"])
						.unwrap_or_default()
						.saturating_add(json_u128(&r["fee"]).unwrap_or_default())
				})
				.sum();
			DemandState {
				question: question_text(&demand["question"]),
				question_key: text(key.first()),
				requesters: requesters.len(),
				held: held.to_string(),
				expires_at: demand["expires_at"].clone(),
			}
		})
		.collect();
	let (gaps, more_gaps) = list(shared, metadata, "Dod.Gaps", at).await?;
	snapshot.gaps = gaps
		.into_iter()
		.map(|(key, gap)| GapState {
			id: key.first().cloned().unwrap_or_default(),
			question: question_text(&gap["question"]),
			bounty: json_u128(&gap["bounty"]).unwrap_or_default().to_string(),
			opened_at: gap["opened_at"].clone(),
			expires_at: gap["expires_at"].clone(),
			claim: readable_claim(&gap["claim"]),
		})
		.collect();
	snapshot.gaps.sort_by_key(|gap| std::cmp::Reverse(gap.id.as_u64()));
	snapshot.truncated = more_candidates || more_ledgers || more_demand || more_gaps;
	Ok(snapshot)
}

fn question_text(value: &Json) -> String {
	json_bytes(value)
		.map(|b| String::from_utf8_lossy(&b).into_owned())
		.unwrap_or_default()
}

fn readable_claim(claim: &Json) -> Json {
	match claim {
		Json::Object(_) => readable(claim.clone()),
		_ => Json::Null,
	}
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;

	fn happening(block: u32, pallet: &str, event: &str, fields: Json) -> Happening {
		Happening { block, pallet: pallet.into(), event: event.into(), fields: readable(fields) }
	}

	#[test]
	fn fields_read_as_people_read_them() {
		let fields = readable(json!({
			"who": format!("0x{}", "d4".repeat(32)),
			"question": format!("0x{}", hex::encode("What is Rust?")),
			"amount": "10000000000000000",
			"validator": "0x1234",
		}));
		assert!(fields["who"].as_str().unwrap().starts_with('5'), "{fields}");
		assert_eq!(fields["question"], "What is Rust?");
		assert_eq!(fields["amount"], "10000000000000000");
		assert_eq!(fields["validator"], "0x1234", "not an account: left as it is");
	}

	#[test]
	fn votes_decisions_and_slashes_land_in_their_trails_within_bounds() {
		let mut trails = Trails::default();
		let alice = format!("0x{}", "01".repeat(32));
		keep(
			&mut trails,
			&happening(
				5,
				"Validators",
				"Attested",
				json!({"entry": 3, "validator": alice, "verdict": "Approve", "stake": "7"}),
			),
		);
		keep(
			&mut trails,
			&happening(
				6,
				"Validators",
				"Attested",
				json!({"entry": 3, "validator": alice, "verdict": {"Reject": "Incorrect"}, "stake": 7}),
			),
		);
		keep(
			&mut trails,
			&happening(7, "Validators", "Slashed", json!({"who": alice, "entry": 3, "amount": 4})),
		);
		keep(&mut trails, &happening(7, "Kcg", "Linked", json!({"from": 4, "to": 3})));
		let trail = &trails.entries[&3];
		assert_eq!(trail.votes.len(), 2);
		assert_eq!(trail.votes[0].stake, "7");
		assert_eq!(trail.history.len(), 2, "the slash and the link to it (votes apart)");
		let record = trails.validators.values().next().unwrap();
		assert_eq!((record.votes, record.approved, record.rejected), (2, 1, 1));
		assert_eq!(record.slashed, 4);
		assert_eq!(record.last_vote, Some(6));

		for id in 0..(MAX_ENTRY_TRAILS as u64 + 10) {
			keep(&mut trails, &happening(8, "Kcg", "EntryExpired", json!({"entry": id})));
		}
		assert_eq!(trails.entries.len(), MAX_ENTRY_TRAILS);
		assert!(trails.entries.contains_key(&(MAX_ENTRY_TRAILS as u64 + 9)), "newest kept");
		for _ in 0..(MAX_HISTORY + 5) {
			keep(&mut trails, &happening(9, "Kcg", "EntryExpired", json!({"entry": 5000})));
		}
		assert_eq!(trails.entries[&5000].history.len(), MAX_HISTORY);
		assert!(trails.entries[&5000].truncated, "what was left out is said");
	}
}
