//! The validator's off-chain worker: check every open entry and attest.
//!
//! On every imported block, on a node whose keystore holds `kcgv` keys of validators active in
//! an entry's session that have not voted on it yet: fetch the body by its CID from IPFS
//! (`--ipfs-api`), check it against the entry ([`membria_offchain::check_body`]: CID, size,
//! blake2-256, schema, question key), then ask the distiller (`--distiller`) whether it answers
//! the question correctly (`/verify`), and send the verdict. Each key sends the verdicts of a
//! block in one `attest_many`.
//!
//! ## What is a vote
//!
//! Only what the bytes prove of the entry. Bytes that are the content of the entry's CID, or
//! the very bytes its author committed to (size and blake2-256), yet disagree with the rest of
//! what the author committed, break the schema or answer another question are a reject with
//! that reason; otherwise `/verify`'s answer is the verdict. Bytes that are neither prove only
//! that the IPFS node that served them is faulty: like an unreachable IPFS node or distiller,
//! they are no vote — the worker tries again later, from the next IPFS endpoint when several
//! are given. A verdict, once reached, is kept in persistent offchain storage keyed by the
//! entry, so retries after a lost transaction or a restart send the same vote.
//!
//! ## Every open entry gets its turn
//!
//! A block's worker fetches at most [`FETCHES_PER_BLOCK`] bodies, each followed by at most one
//! `/verify` call: that bounds its HTTP calls. It chooses them among the open entries that need
//! a fetch; entries its keys have all voted on, whose attestation was sent recently, or that
//! wait out a backoff are passed over without taking a place:
//!
//! - entries never tried come before retries, so a new entry is fetched within a block or two
//!   as long as fewer than [`FETCHES_PER_BLOCK`] entries a block are submitted, whatever the
//!   entries before it hold;
//! - within each of the two, a rotation: the ids after the last entry fetched (a persistent
//!   cursor, [`CURSOR_KEY`]), then from the lowest id on, so no set of entries keeps the
//!   others from their turn;
//! - an entry whose check reached no verdict waits before its next try, twice as long after
//!   every failure (1, 2, 4 … up to [`MAX_RETRY_AFTER`] blocks), so entries whose bodies cannot
//!   be had take a shrinking share of the fetches.
//!
//! An entry whose body never becomes available expires undecided, and the chain takes
//! `Kcg::ExpirySlash` of its author's deposit for it.

use alloc::{collections::BTreeMap, vec::Vec};
use codec::{Decode, Encode};
use frame_support::BoundedVec;
use frame_system::{
	offchain::{Account, SendSignedTransaction, Signer},
	pallet_prelude::BlockNumberFor,
};
use membria_kcg_primitives::{BeforeVoting, EntryVoting, MaxEntryLinks, OpenEntry};
use membria_offchain::{
	check_body,
	ocw::{fetch_body, ipfs_endpoints, item_key, post, setting, with_item_lock, CallFailure},
	protocol, settings, CheckFailure, EntryFacts,
};
use membria_primitives::{unixfs::cid_to_text, EntryId, RejectReason, SessionIndex, Verdict};
use sp_runtime::{
	offchain::{storage::StorageValueRef, Duration, Timestamp},
	traits::UniqueSaturatedInto,
};

use crate::{BalanceOf, Ballots, Call, Config, SessionStakes, SessionTotalStake};

const LOG_TARGET: &str = "runtime::validators::worker";
/// Bodies fetched per block, each followed by at most one `/verify` call.
pub const FETCHES_PER_BLOCK: usize = 8;
/// Blocks after which an attestation not seen on chain is sent again.
const RESEND_AFTER: u32 = 5;
/// How long an entry waits after checks that reached no verdict (1, 2, 4 … up to
/// [`MAX_RETRY_AFTER`] blocks): the workers' one backoff rule.
pub use membria_offchain::ocw::{retry_after, MAX_RETRY_AFTER};
const IPFS_DEADLINE_MS: u64 = 10_000;
const VERIFY_DEADLINE_MS: u64 = 30_000;
/// How long the first fetch of a new entry's body waits for its agent to publish it.
const PUBLISH_WAIT_MS: u64 = 3_000;
/// Pause between two fetches while waiting for a new entry's body.
const PUBLISH_POLL_MS: u64 = 250;
/// Persistent offchain storage key of the rotation's cursor: the last entry fetched.
pub const CURSOR_KEY: &[u8] = b"membria::kcgv::cursor";

/// What this node has done for one entry (persistent offchain storage).
#[derive(Encode, Decode, Default, Debug, PartialEq, Eq)]
pub struct VoteWork {
	/// The verdict reached, reused by every retry.
	pub verdict: Option<Verdict>,
	/// Block at which the attestation was last sent.
	pub sent_at: Option<u32>,
	/// Block before which nothing is retried.
	pub retry_at: Option<u32>,
	/// Checks of the entry that reached no verdict (IPFS or the distiller failed, or IPFS
	/// served bytes that are not the body).
	pub failures: u32,
}

impl VoteWork {
	/// Nothing to do for the entry at `block`: a retry or a resend is not due yet.
	fn waiting(&self, block: u32) -> bool {
		self.retry_at.is_some_and(|at| block < at)
			|| self.sent_at.is_some_and(|at| block < at.saturating_add(RESEND_AFTER))
	}
}

/// The offchain storage key of an entry's [`VoteWork`].
pub fn work_key(entry: EntryId) -> Vec<u8> {
	item_key(b"membria::kcgv::work::", entry)
}

/// Runs the validator worker for this block.
pub fn run_validator<T: Config>(now: BlockNumberFor<T>) {
	let accounts: Vec<_> = Signer::<T, T::ValidatorAuthorityId>::keystore_accounts().collect();
	if accounts.is_empty() {
		return;
	}
	let block: u32 = sp_runtime::SaturatedConversion::saturated_into(now);
	// A DoD agent on this node publishes the bodies of its entries now on chain first: they are
	// then on IPFS for the checks below, in this block rather than the next.
	T::BeforeVoting::before_voting();
	// How long this block's worker may wait, in all, for bodies of new entries to be published.
	let wait_until = sp_io::offchain::timestamp().add(Duration::from_millis(PUBLISH_WAIT_MS));
	let open = T::Entries::open_entry_ids();
	let cursor_store = StorageValueRef::persistent(CURSOR_KEY);
	let cursor: Option<EntryId> = cursor_store.get().ok().flatten();
	// The rotation: the ids after the cursor, then from the lowest on.
	let split = cursor.map_or(0, |cursor| open.partition_point(|id| *id <= cursor));
	let rotation = open[split..].iter().chain(&open[..split]).copied();

	// The session's stake, and which local keys may vote in it with their places and stakes in
	// its snapshot, read once per session.
	let mut in_session: BTreeMap<SessionIndex, Session<T>> = BTreeMap::new();
	// The votes each local key sends in this block.
	let mut batches: BTreeMap<usize, Vec<Vote>> = BTreeMap::new();
	let mut fresh = Vec::new();
	let mut retries = Vec::new();
	for id in rotation {
		if fresh.len() >= FETCHES_PER_BLOCK {
			break;
		}
		let work: VoteWork = StorageValueRef::persistent(&work_key(id))
			.get()
			.ok()
			.flatten()
			.unwrap_or_default();
		if work.waiting(block) {
			continue;
		}
		let Some(entry) = T::Entries::open_entry(id) else {
			continue;
		};
		let session = in_session.entry(entry.session).or_insert_with(|| {
			let stakes = SessionStakes::<T>::get(entry.session);
			let members = (0..accounts.len())
				.filter_map(|i| {
					let position =
						stakes.iter().position(|(validator, _)| *validator == accounts[i].id)?;
					Some((i, u16::try_from(position).ok()?, stakes[position].1))
				})
				.collect();
			Session { total: SessionTotalStake::<T>::get(entry.session), members }
		});
		let Some(ballot) = Ballots::<T>::get(id) else {
			continue;
		};
		// Which vote would decide the entry as the ballot stands: an `attest_many` may decide
		// only so many entries.
		let decides = |position: u16, stake: BalanceOf<T>, verdict: Verdict| {
			let mut after = ballot.clone();
			after.record(position, stake, verdict) && after.tally.decision(session.total).is_some()
		};
		let voters: Vec<Voter> = session
			.members
			.iter()
			.filter(|(_, position, _)| !ballot.has_voted(*position))
			.map(|(account, position, stake)| Voter {
				account: *account,
				approval_decides: decides(*position, *stake, Verdict::Approve),
				rejection_decides: decides(
					*position,
					*stake,
					Verdict::Reject(RejectReason::Incorrect),
				),
			})
			.collect();
		if voters.is_empty() {
			continue;
		}
		if work.verdict.is_some() {
			// Checked already: send the kept verdict again, no fetch needed.
			on_entry::<T, _>(block, wait_until, &entry, &voters, false, &mut batches);
		} else if work.failures == 0 {
			fresh.push((entry, voters));
		} else if retries.len() < FETCHES_PER_BLOCK {
			retries.push((entry, voters));
		}
	}
	log::debug!(
		target: LOG_TARGET,
		"block {block}: {} keys, {} open entries, {} new and {} retries due",
		accounts.len(),
		open.len(),
		fresh.len(),
		retries.len()
	);
	for (entry, voters) in fresh.into_iter().chain(retries).take(FETCHES_PER_BLOCK) {
		on_entry::<T, _>(block, wait_until, &entry, &voters, true, &mut batches);
		cursor_store.set(&entry.entry);
	}
	for (voter, votes) in batches {
		send_votes::<T>(&accounts[voter], votes);
	}
}

/// A session as the worker reads it once: its stake, and the local keys that vote in it with
/// their places and stakes in its snapshot.
struct Session<T: Config> {
	total: BalanceOf<T>,
	members: Vec<(usize, u16, BalanceOf<T>)>,
}

/// A local key that has not voted on an entry, and whether its vote would decide the entry.
struct Voter {
	account: usize,
	approval_decides: bool,
	rejection_decides: bool,
}

/// One vote to send, and whether it would decide its entry as the ballot stood.
struct Vote {
	entry: EntryId,
	verdict: Verdict,
	decides: bool,
}

/// Splits `votes` into calls of at most `most` votes, of which at most `decisions` would
/// decide their entry: a call that decides more refuses the extra votes.
fn calls(votes: Vec<Vote>, most: usize, decisions: usize) -> Vec<Vec<(EntryId, Verdict)>> {
	let mut calls = Vec::new();
	let mut call = Vec::new();
	let mut deciding = 0;
	for vote in votes {
		if call.len() >= most || (vote.decides && deciding >= decisions) {
			calls.push(core::mem::take(&mut call));
			deciding = 0;
		}
		deciding += usize::from(vote.decides);
		call.push((vote.entry, vote.verdict));
	}
	if !call.is_empty() {
		calls.push(call);
	}
	calls
}

/// Sends `votes` signed by `voter`, in as few `attest_many` as the call's bounds allow. A call
/// that could not be sent is sent again after [`RESEND_AFTER`] blocks.
fn send_votes<T: Config>(voter: &Account<T>, votes: Vec<Vote>) {
	let most = (<T::MaxVotesPerCall as sp_core::Get<u32>>::get() as usize).max(1);
	let decisions = (<T::MaxDecisionsPerCall as sp_core::Get<u32>>::get() as usize).max(1);
	for chunk in calls(votes, most, decisions) {
		// A chunk holds at most `MaxVotesPerCall` votes: nothing is cut.
		let call = Call::attest_many { votes: BoundedVec::truncate_from(chunk.clone()) };
		let sent = Signer::<T, T::ValidatorAuthorityId>::any_account()
			.send_single_signed_transaction(voter, call);
		if sent == Some(Ok(())) {
			for (entry, verdict) in &chunk {
				log::info!(target: LOG_TARGET, "entry {entry}: attested {verdict:?}");
			}
			continue;
		}
		// Sent again once the vote is not on chain `RESEND_AFTER` blocks after this one, like a
		// vote that was sent and lost (the work record is left as the entry's lock wrote it).
		for (entry, _) in &chunk {
			log::warn!(
				target: LOG_TARGET,
				"entry {entry}: could not send the attestation; again in {RESEND_AFTER} blocks"
			);
		}
	}
}

/// Works on `entry` holding its lock, so the workers of successive blocks never act on it at
/// once.
fn on_entry<T: Config, EntryBlockNumber: Copy + UniqueSaturatedInto<u32>>(
	block: u32,
	wait_until: Timestamp,
	entry: &OpenEntry<EntryBlockNumber>,
	voters: &[Voter],
	may_fetch: bool,
	batches: &mut BTreeMap<usize, Vec<Vote>>,
) {
	let worked = with_item_lock::<frame_system::Pallet<T>, _>(
		&item_key(b"membria::kcgv::lock::", entry.entry),
		RESEND_AFTER,
		// The wait for a new body, the body, up to `MaxEntryLinks` linked bodies, and the
		// verification.
		Duration::from_millis(
			PUBLISH_WAIT_MS
				+ IPFS_DEADLINE_MS * (1 + u64::from(<MaxEntryLinks as sp_core::Get<u32>>::get()))
				+ VERIFY_DEADLINE_MS,
		),
		|| vote_on_entry(block, wait_until, entry, may_fetch),
	);
	match worked {
		None => {
			log::debug!(target: LOG_TARGET, "entry {}: another worker is still on it", entry.entry)
		},
		Some(Some(verdict)) => {
			for voter in voters {
				let decides = if verdict.approves() {
					voter.approval_decides
				} else {
					voter.rejection_decides
				};
				batches.entry(voter.account).or_default().push(Vote {
					entry: entry.entry,
					verdict,
					decides,
				});
			}
		},
		Some(None) => {},
	}
}

/// Checks `entry` (once; the verdict is kept) and returns the verdict to send now, unless one
/// was sent recently or a failed check is waiting to be retried; the send is recorded as of
/// `block`. Fetches nothing unless `may_fetch`.
fn vote_on_entry<EntryBlockNumber: Copy + UniqueSaturatedInto<u32>>(
	block: u32,
	wait_until: Timestamp,
	entry: &OpenEntry<EntryBlockNumber>,
	may_fetch: bool,
) -> Option<Verdict> {
	let key = work_key(entry.entry);
	let store = StorageValueRef::persistent(&key);
	let mut work: VoteWork = store.get().ok().flatten().unwrap_or_default();
	if work.waiting(block) {
		return None;
	}
	let verdict = match work.verdict {
		Some(verdict) => verdict,
		None if !may_fetch => return None,
		None => match evaluate(entry, work.failures, block, wait_until) {
			Ok(verdict) => verdict,
			Err(failure) => {
				work.failures = work.failures.saturating_add(1);
				let wait = retry_after(work.failures);
				log::warn!(
					target: LOG_TARGET,
					"entry {}: not checked, no vote ({failure}); retrying in {wait} blocks",
					entry.entry
				);
				work.retry_at = Some(block.saturating_add(wait));
				store.set(&work);
				return None;
			},
		},
	};
	work.verdict = Some(verdict);
	work.retry_at = None;
	work.sent_at = Some(block);
	store.set(&work);
	Some(verdict)
}

/// Checks an entry, fetching its body from the IPFS endpoint for this `attempt` (they take
/// turns, so a retry asks another one when there are several): a verdict, or why none could
/// be reached.
fn evaluate<BlockNumber: Copy + UniqueSaturatedInto<u32>>(
	entry: &OpenEntry<BlockNumber>,
	attempt: u32,
	block: u32,
	wait_until: Timestamp,
) -> Result<Verdict, CallFailure> {
	let endpoints = ipfs_endpoints();
	let turn = entry.entry.wrapping_add(u64::from(attempt)) % (endpoints.len().max(1) as u64);
	let ipfs = endpoints.get(turn as usize).ok_or(CallFailure::NotConfigured("--ipfs-api"))?;
	let distiller =
		setting(settings::DISTILLER).ok_or(CallFailure::NotConfigured("--distiller"))?;
	let url = protocol::ipfs_cat_url(ipfs, &cid_to_text(&entry.cid));
	let cat =
		|deadline_ms| post(&url, "application/octet-stream", &[], deadline_ms, entry.size as usize);
	// A DoD agent's entry of this block (or the one before) may be a moment older than its body
	// on IPFS: the agent publishes the body once the entry is on chain, on its own node. The
	// wait is shared by the block's whole worker (each fetch meanwhile given only the time
	// left), so entries whose bodies nobody publishes cannot hold it up for longer than that.
	let submitted: u32 = entry.submitted.unique_saturated_into();
	let bytes = if attempt == 0 && entry.gap.is_some() && submitted.saturating_add(1) >= block {
		loop {
			let left = wait_until.diff(&sp_io::offchain::timestamp()).millis();
			let deadline = if sp_io::offchain::timestamp() < wait_until {
				left.clamp(PUBLISH_POLL_MS, IPFS_DEADLINE_MS)
			} else {
				IPFS_DEADLINE_MS
			};
			match cat(deadline) {
				Err(CallFailure::Status(..) | CallFailure::Unreachable | CallFailure::Timeout)
					if sp_io::offchain::timestamp() < wait_until =>
				{
					sp_io::offchain::sleep_until(
						sp_io::offchain::timestamp().add(Duration::from_millis(PUBLISH_POLL_MS)),
					);
				},
				outcome => break outcome?,
			}
		}
	} else {
		cat(IPFS_DEADLINE_MS)?
	};
	let facts = EntryFacts {
		question_key: entry.question_key,
		content_hash: entry.content_hash,
		cid: entry.cid.clone(),
		size: entry.size,
	};
	let body = match check_body(&bytes, &facts) {
		Ok(body) => body,
		Err(CheckFailure::Reject(reason)) => return Ok(Verdict::Reject(reason)),
		Err(CheckFailure::NotTheContent) => {
			log::warn!(
				target: LOG_TARGET,
				"entry {}: {ipfs} served {} bytes that are not the body",
				entry.entry,
				bytes.len()
			);
			return Err(CallFailure::WrongContent);
		},
	};
	// The body's links must be the ones the entry was submitted with, in order: what the
	// author committed to on chain is what the body proposes.
	let committed: Vec<_> = entry.links.iter().map(|link| (link.entry, link.relation)).collect();
	if body.chain_links().as_ref() != Some(&committed) {
		log::info!(
			target: LOG_TARGET,
			"entry {}: its body's links are not the ones submitted with it",
			entry.entry
		);
		return Ok(Verdict::Reject(RejectReason::BadLink));
	}
	// The linked entries' bodies, from the same IPFS endpoint, each checked against its record.
	let mut linked = Vec::with_capacity(entry.links.len());
	for target in &entry.links {
		let facts = EntryFacts {
			question_key: target.question_key,
			content_hash: target.content_hash,
			cid: target.cid.clone(),
			size: target.size,
		};
		// A validated entry's body always checks: other bytes are the IPFS node's fault.
		let bytes = fetch_body(ipfs, &facts, IPFS_DEADLINE_MS).inspect_err(|failure| {
			log::warn!(
				target: LOG_TARGET,
				"entry {}: linked entry {}'s body from {ipfs}: {failure}",
				entry.entry,
				target.entry
			);
		})?;
		linked.push((target.entry, bytes));
	}
	let response = post(
		&protocol::endpoint(&distiller, "verify"),
		"application/json",
		&protocol::verify_request(&body.question, &bytes, &linked),
		VERIFY_DEADLINE_MS,
		16 * 1024,
	)?;
	protocol::parse_verify_response(&response)
		.map(|answer| answer.verdict())
		.ok_or(CallFailure::Status(200, response))
}

#[cfg(test)]
#[path = "offchain_tests.rs"]
mod tests;
