//! The validator's off-chain worker: check every open entry and attest.
//!
//! On every imported block, on a node whose keystore holds `kcgv` keys of validators active in
//! an entry's session that have not voted on it yet: fetch the body by its CID from IPFS
//! (`--ipfs-api`), check its size, blake2-256, CID, schema and question key
//! ([`membria_offchain::check_body`]), then ask the distiller (`--distiller`) whether it answers
//! the question correctly (`/verify`), and send `attest` with the verdict.
//!
//! A failed check of the bytes is a verdict (reject, with its reason). An unreachable or failing
//! IPFS or distiller is not: the worker tries again in a later block and never votes on what it
//! could not check. A verdict, once reached, is kept in persistent offchain storage keyed by the
//! entry, so retries after a lost transaction or a restart send the same vote.

use alloc::vec::Vec;
use codec::{Decode, Encode};
use frame_system::{
	offchain::{SendSignedTransaction, Signer},
	pallet_prelude::BlockNumberFor,
};
use membria_offchain::{
	check_body,
	ocw::{item_key, post, setting, with_item_lock, CallFailure},
	protocol, settings, EntryFacts,
};
use membria_primitives::{unixfs::cid_to_text, Verdict};
use pallet_kcg::{EntryVoting, OpenEntry};
use sp_runtime::offchain::{storage::StorageValueRef, Duration};

use crate::{Call, Config, SessionStakes, Votes};

const LOG_TARGET: &str = "runtime::validators::worker";
/// Entries looked at per block.
const ENTRIES_PER_BLOCK: u32 = 8;
/// Blocks after which an attestation not seen on chain is sent again.
const RESEND_AFTER: u32 = 5;
/// Blocks to wait after a failed call.
const RETRY_AFTER: u32 = 1;
const IPFS_DEADLINE_MS: u64 = 10_000;
const VERIFY_DEADLINE_MS: u64 = 30_000;

/// What this node has done for one entry (persistent offchain storage).
#[derive(Encode, Decode, Default, Debug)]
pub struct VoteWork {
	/// The verdict reached, reused by every retry.
	pub verdict: Option<Verdict>,
	/// Block at which the attestation was last sent.
	pub sent_at: Option<u32>,
	/// Block before which nothing is retried.
	pub retry_at: Option<u32>,
}

/// Runs the validator worker for this block.
pub fn run_validator<T: Config>(now: BlockNumberFor<T>) {
	let accounts: Vec<_> = Signer::<T, T::ValidatorAuthorityId>::keystore_accounts().collect();
	if accounts.is_empty() {
		return;
	}
	let block: u32 = sp_runtime::SaturatedConversion::saturated_into(now);
	let open = T::Entries::open_entries(ENTRIES_PER_BLOCK);
	log::debug!(target: LOG_TARGET, "block {block}: {} keys, {} open entries", accounts.len(), open.len());
	for entry in open {
		let stakes = SessionStakes::<T>::get(entry.session);
		log::debug!(
			target: LOG_TARGET,
			"entry {}: session {} has {} validators",
			entry.entry,
			entry.session,
			stakes.len()
		);
		let voters: Vec<_> = accounts
			.iter()
			.filter(|account| stakes.iter().any(|(validator, _)| *validator == account.id))
			.filter(|account| !Votes::<T>::contains_key(entry.entry, &account.id))
			.collect();
		if voters.is_empty() {
			continue;
		}
		let worked = with_item_lock::<frame_system::Pallet<T>, _>(
			&item_key(b"membria::kcgv::lock::", entry.entry),
			RESEND_AFTER,
			Duration::from_millis(IPFS_DEADLINE_MS + VERIFY_DEADLINE_MS),
			|| vote_on_entry::<T, _>(block, &entry, &voters),
		);
		if worked.is_none() {
			log::debug!(target: LOG_TARGET, "entry {}: another worker is still on it", entry.entry);
		}
	}
}

/// Checks `entry` (once; the verdict is kept) and sends the attestation of every local key in
/// `voters`, unless one was sent recently or a failed check is waiting to be retried.
fn vote_on_entry<T: Config, EntryBlockNumber>(
	block: u32,
	entry: &OpenEntry<EntryBlockNumber>,
	voters: &[&frame_system::offchain::Account<T>],
) {
	let work_key = item_key(b"membria::kcgv::work::", entry.entry);
	let store = StorageValueRef::persistent(&work_key);
	let mut work: VoteWork = store.get().ok().flatten().unwrap_or_default();
	if work.retry_at.is_some_and(|at| block < at)
		|| work
			.sent_at
			.is_some_and(|at| block < at.saturating_add(RESEND_AFTER))
	{
		return;
	}
	let verdict = match work.verdict {
		Some(verdict) => verdict,
		None => match evaluate(entry) {
			Ok(verdict) => verdict,
			Err(failure) => {
				log::warn!(
					target: LOG_TARGET,
					"entry {}: not checked, no vote ({failure:?}); retrying later",
					entry.entry
				);
				work.retry_at = Some(block.saturating_add(RETRY_AFTER));
				store.set(&work);
				return;
			}
		},
	};
	work.verdict = Some(verdict);
	work.retry_at = None;
	for voter in voters {
		let call = Call::attest {
			entry: entry.entry,
			verdict,
		};
		let sent = Signer::<T, T::ValidatorAuthorityId>::any_account()
			.send_single_signed_transaction(voter, call);
		if sent == Some(Ok(())) {
			log::info!(target: LOG_TARGET, "entry {}: attested {verdict:?}", entry.entry);
			work.sent_at = Some(block);
		} else {
			log::warn!(target: LOG_TARGET, "entry {}: could not send the attestation", entry.entry);
		}
	}
	store.set(&work);
}

/// Checks an entry: a verdict, or why none could be reached.
fn evaluate<BlockNumber>(entry: &OpenEntry<BlockNumber>) -> Result<Verdict, CallFailure> {
	let ipfs = setting(settings::IPFS_API).ok_or(CallFailure::NotConfigured("--ipfs-api"))?;
	let distiller =
		setting(settings::DISTILLER).ok_or(CallFailure::NotConfigured("--distiller"))?;
	let bytes = post(
		&protocol::ipfs_cat_url(&ipfs, &cid_to_text(&entry.cid)),
		"application/octet-stream",
		&[],
		IPFS_DEADLINE_MS,
		entry.size as usize,
	)?;
	let facts = EntryFacts {
		question_key: entry.question_key,
		content_hash: entry.content_hash,
		cid: entry.cid.clone(),
		size: entry.size,
	};
	let body = match check_body(&bytes, &facts) {
		Ok(body) => body,
		Err(reason) => return Ok(Verdict::Reject(reason)),
	};
	let response = post(
		&protocol::endpoint(&distiller, "verify"),
		"application/json",
		&protocol::verify_request(&body.question, &bytes),
		VERIFY_DEADLINE_MS,
		16 * 1024,
	)?;
	protocol::parse_verify_response(&response)
		.map(|answer| answer.verdict())
		.ok_or(CallFailure::Status(200, response))
}
