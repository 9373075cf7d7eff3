//! The DoD agent's off-chain worker.
//!
//! On every imported block, for each open gap (a few per block), on a node whose keystore holds
//! a `dod!` key of a registered agent:
//!
//! 1. open (unclaimed, or the claim lapsed), or claimed by this node's agent without an entry:
//!    ask the distiller (`--dod-distiller`, else `--distiller`) for a body, check it is a body
//!    for the gap's question (and its links), check an IPFS node answers, and send `answer_gap`
//!    (claim and entry in one call; `submit_answer` under a claim already held) with the body's
//!    CID, blake2-256 and size, computed here;
//! 2. once the entry is on chain: add the body to IPFS (`--ipfs-api`; the next endpoint when
//!    there are several and one fails), checking the CID IPFS returns against our own (another
//!    CID is a faulty IPFS node: a failed call). The validators' worker on the same node does
//!    this first ([`publish_bodies`]), so it finds the body in the same block.
//!
//! The body stays off IPFS until its entry is on chain: the transaction in the pool shows only
//! the CID and hash, so another agent copying it gets an entry whose body nobody publishes
//! (it expires, at its author's cost), never the bounty. A teacher's "no" three times in a row
//! gives the gap up on chain (`abandon_claim`), with or without a claim.
//!
//! Idempotent across blocks, restarts and re-orgs: each gap has an offchain storage lock and a
//! persistent work record keyed by the gap id (not the block): what was sent at which block, and
//! the distilled body, so a retry after a restart or a lost transaction stores the same bytes
//! under the same CID. An entry sent under a claim and not seen on chain `RESEND_AFTER` blocks
//! later is sent again; an `answer_gap` not seen by then (lost, or beaten by another agent's) is
//! distilled afresh after a pause. A failed HTTP call changes nothing on chain; it is retried in a later block.

use alloc::vec::Vec;
use codec::{Decode, Encode};
use frame_system::{
	offchain::{SendSignedTransaction, Signer},
	pallet_prelude::BlockNumberFor,
};
use membria_offchain::{
	ocw::{
		fetch_body, ipfs_endpoints, item_key, post, retry_after, setting, with_item_lock,
		CallFailure,
	},
	protocol, settings, Body, EntryFacts,
};
use membria_primitives::{question_key, unixfs, CidVersion};
use sp_runtime::offchain::{storage::StorageValueRef, Duration};

use crate::{AbandonReason, Agents, Call, Config, GapId, GapOf, Gaps};
use membria_kcg_primitives::{EntryId, EntryLinks, KnowledgeBase, LinkTarget};

const LOG_TARGET: &str = "runtime::dod::agent";
/// Gaps looked at per block.
const GAPS_PER_BLOCK: usize = 4;
/// Blocks after which a transaction not seen on chain is sent again.
const RESEND_AFTER: u32 = 5;
/// Blocks to wait before claiming a gap again, per entry of ours that was not accepted.
const BACKOFF_AFTER_FAILURE: u32 = 20;
/// Deadline of a distiller call (a teacher LLM can be slow).
const DISTILL_DEADLINE_MS: u64 = 60_000;
/// Deadline of an IPFS call.
const IPFS_DEADLINE_MS: u64 = 10_000;
/// IPFS endpoints an attempt adds the body to at most, one after the other while they fail (the
/// gap's lock covers this many IPFS calls).
const ADD_TRIES: usize = 2;
/// Tries in a row (1, 2, 4 blocks apart) the teacher answered "no" to, after which the agent
/// gives its claim up on chain (`abandon_claim`) instead of letting it lapse. A teacher or an
/// IPFS node that does not answer at all is retried for as long as the claim lasts, and the
/// claim given up only when the next try would come after it lapsed.
pub const GIVE_UP_AFTER: u32 = 3;
/// Largest body the worker accepts from the distiller.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// What this node has done for one gap (persistent offchain storage).
#[derive(Encode, Decode, Default, Debug)]
pub struct GapWork<BlockNumber> {
	/// Block at which the entry (`answer_gap`, or `submit_answer` under a claim) was last sent.
	pub submit_sent: Option<BlockNumber>,
	/// Block before which nothing is retried (after a failed HTTP call).
	pub retry_at: Option<BlockNumber>,
	/// The body distilled for the gap, reused by every retry; kept off IPFS until its entry is
	/// on chain.
	pub body: Option<Vec<u8>>,
	/// The body is on IPFS: its entry is on chain and [`publish_bodies`] added it.
	pub published: bool,
	/// Block before which the body is not offered to IPFS again (after failed adds: 1, 2, 4 …
	/// blocks), so an IPFS node that is down does not hold up every block's workers.
	pub publish_at: Option<BlockNumber>,
	/// Failed adds of the body in a row.
	pub publish_failures: u32,
	/// Entries of this node for the gap that were not accepted.
	pub attempts: u32,
	/// Failed tries in a row (the distiller or IPFS): each doubles the wait before the next,
	/// up to `MAX_RETRY_AFTER` blocks, instead of asking again every block.
	pub failures: u32,
	/// The links a body proposed did not hold against the chain's own bodies of the linked
	/// entries (the distiller learned them from a gateway that lied): ask for bodies without.
	pub no_links: bool,
}

impl GapWork<u32> {
	/// Records a failed try at `block`: the wait before the next doubles (the workers' one
	/// backoff rule, [`retry_after`]). Returns the wait, in blocks.
	fn failed(&mut self, block: u32) -> u32 {
		self.failures = self.failures.saturating_add(1);
		let wait = retry_after(self.failures);
		self.retry_at = Some(block.saturating_add(wait));
		wait
	}
}

/// The offchain storage key of a gap's work record. (Records of the agent that claimed before
/// distilling were kept under `membria::dod::work::`; their entries' bodies were on IPFS before
/// the entries were sent, so nothing is lost by leaving them.)
pub fn work_key(gap: GapId) -> Vec<u8> {
	item_key(b"membria::dod::answer::", gap)
}

fn lock_key(gap: GapId) -> Vec<u8> {
	item_key(b"membria::dod::lock::", gap)
}

/// Runs the agent for this block.
pub fn run_agent<T: Config>(now: BlockNumberFor<T>) {
	let agents = local_agents::<T>();
	if agents.is_empty() {
		return;
	}
	// On a node that also validates, the validator's worker has done this already.
	publish_bodies_of::<T>(&agents);
	let gaps: Vec<(GapId, GapOf<T>)> = Gaps::<T>::iter()
		// A gap this node's agent gave up is left to others.
		.filter(|(_, gap)| !gap.abandoned_by.iter().any(|who| agents.iter().any(|a| a.id == *who)))
		.filter(|(_, gap)| match &gap.claim {
			None => true,
			Some(claim) => {
				claim.entry.is_none()
					&& (claim.until <= now || agents.iter().any(|a| a.id == claim.agent))
			},
		})
		.take(GAPS_PER_BLOCK)
		.collect();
	for (id, gap) in gaps {
		let worked = with_item_lock::<frame_system::Pallet<T>, _>(
			&lock_key(id),
			RESEND_AFTER,
			Duration::from_millis(DISTILL_DEADLINE_MS + ADD_TRIES as u64 * IPFS_DEADLINE_MS),
			|| work_on_gap::<T>(now, id, gap, &agents),
		);
		if worked.is_none() {
			log::debug!(target: LOG_TARGET, "gap {id}: another worker is still on it");
		}
	}
}

/// The registered agents whose `dod!` keys this node holds.
fn local_agents<T: Config>() -> Vec<frame_system::offchain::Account<T>> {
	Signer::<T, T::AgentAuthorityId>::keystore_accounts()
		.filter(|account| Agents::<T>::contains_key(&account.id))
		.collect()
}

/// Publishes to IPFS the body of every entry of this node's agents that is now on chain and not
/// published yet (the validators' worker runs this first: [`crate::Pallet`]'s `BeforeVoting`).
pub fn publish_bodies<T: Config>() {
	let agents = local_agents::<T>();
	if !agents.is_empty() {
		publish_bodies_of::<T>(&agents);
	}
}

fn publish_bodies_of<T: Config>(agents: &[frame_system::offchain::Account<T>]) {
	let block: u32 =
		sp_runtime::SaturatedConversion::saturated_into(frame_system::Pallet::<T>::block_number());
	for (id, gap) in Gaps::<T>::iter() {
		let Some(entry) = gap
			.claim
			.as_ref()
			.filter(|claim| agents.iter().any(|a| a.id == claim.agent))
			.and_then(|claim| claim.entry)
		else {
			continue;
		};
		let pending = |work: &GapWork<u32>| {
			!work.published && work.body.is_some() && !recently(block, work.publish_at, 0)
		};
		let key = work_key(id);
		let store = StorageValueRef::persistent(&key);
		if !store.get::<GapWork<u32>>().ok().flatten().is_some_and(|work| pending(&work)) {
			continue;
		}
		with_item_lock::<frame_system::Pallet<T>, _>(
			&lock_key(id),
			RESEND_AFTER,
			Duration::from_millis(ADD_TRIES as u64 * IPFS_DEADLINE_MS),
			|| {
				let mut work: GapWork<u32> = store.get().ok().flatten().unwrap_or_default();
				let Some(body) = work.body.clone().filter(|_| pending(&work)) else { return };
				match add_to_ipfs(&body) {
					Ok(_) => {
						log::info!(
							target: LOG_TARGET,
							"gap {id}: entry {entry} is on chain; its body is published"
						);
						work.published = true;
						work.publish_at = None;
						work.publish_failures = 0;
					},
					Err(failure) => {
						work.publish_failures = work.publish_failures.saturating_add(1);
						let wait = retry_after(work.publish_failures);
						work.publish_at = Some(block.saturating_add(wait));
						log::warn!(
							target: LOG_TARGET,
							"gap {id}: IPFS add failed ({failure}); entry {entry}'s body is offered again in {wait} blocks"
						);
					},
				}
				store.set(&work);
			},
		);
	}
}

fn recently(now: u32, at: Option<u32>, blocks: u32) -> bool {
	at.is_some_and(|at| now < at.saturating_add(blocks))
}

fn work_on_gap<T: Config>(
	now: BlockNumberFor<T>,
	id: GapId,
	gap: GapOf<T>,
	agents: &[frame_system::offchain::Account<T>],
) {
	let key = work_key(id);
	let store = StorageValueRef::persistent(&key);
	let mut work: GapWork<u32> = store.get().ok().flatten().unwrap_or_default();
	let block: u32 = sp_runtime::SaturatedConversion::saturated_into(now);
	if recently(block, work.retry_at, 0) || recently(block, work.submit_sent, RESEND_AFTER) {
		return;
	}
	// This node's agent's claim on the gap, if it holds one (without an entry: see `run_agent`).
	let claim = gap.claim.as_ref().filter(|claim| claim.until > now);
	let claimant = claim.and_then(|claim| agents.iter().find(|a| a.id == claim.agent));
	if claimant.is_none() && work.submit_sent.is_some() {
		if work.published {
			// Our entry made it on chain (its body was published) and the gap is open again: it
			// was rejected, expired or retracted. Distill afresh, after a pause that grows with
			// every failed attempt (a bad teacher must not burn the bond block after block).
			work.attempts = work.attempts.saturating_add(1);
			work.retry_at =
				Some(block.saturating_add(BACKOFF_AFTER_FAILURE.saturating_mul(work.attempts)));
			work.body = None;
			work.published = false;
			log::warn!(target: LOG_TARGET, "gap {id}: our entry was not accepted; retrying after a pause");
		} else {
			// Our answer never made it on chain (lost, or another agent's landed first and
			// failed since). The same body is sent again: should the first transaction still
			// land, the body published for it is the one it names.
			work.retry_at = Some(block.saturating_add(retry_after(1)));
			log::warn!(target: LOG_TARGET, "gap {id}: our answer is not on chain; sending it again");
		}
		work.submit_sent = None;
		store.set(&work);
		return;
	}
	// Someone's claim lapsed on the gap: it cannot be given up (its slash stands), only taken
	// over by an answer.
	let lapsed = gap.claim.is_some() && claim.is_none();
	let Some(agent) = claimant.or_else(|| agents.first()) else { return };
	let claim_until: Option<u32> = claimant
		.and(claim)
		.map(|claim| sp_runtime::SaturatedConversion::saturated_into(claim.until));
	// Whether to give up after a failed try: a "no" from the teacher, `GIVE_UP_AFTER` times;
	// anything else only under a claim, once the next try would come too late for it (without a
	// claim, waiting costs nothing).
	let give_up_now = |reason: AbandonReason, failures: u32, wait: u32| match reason {
		AbandonReason::NoAnswer => failures >= GIVE_UP_AFTER && !lapsed,
		_ => claim_until.is_some_and(|until| block.saturating_add(wait) >= until),
	};
	// A failed try (`what` failed, `reason` what it says of the question): wait longer before the
	// next, or give the gap up now; the record is kept either way.
	let failed = |work: &mut GapWork<u32>,
	              reason: AbandonReason,
	              failure: &dyn core::fmt::Display,
	              what: &str| {
		let wait = work.failed(block);
		if give_up_now(reason, work.failures, wait) {
			give_up::<T>(agent, id, reason, failure, work.failures);
		} else {
			log::warn!(
				target: LOG_TARGET,
				"gap {id}: {what} ({failure}); trying again in {wait} blocks"
			);
		}
		store.set(work);
	};
	let question = core::str::from_utf8(&gap.question).unwrap_or_default();
	let body = match work.body.clone() {
		Some(body) => body,
		None => match distill(question, !work.no_links) {
			Ok(body) => {
				work.body = Some(body.clone());
				store.set(&work);
				body
			},
			Err(failure) => {
				failed(&mut work, failure.reason(), &failure, "no body from the distiller");
				return;
			},
		},
	};
	// The links the body proposes, as the chain records them; each must name an entry that is
	// validated now (the chain refuses the submission otherwise): a body whose link went stale
	// is a "no" from the teacher (three make the agent give the gap up).
	let targets = match link_targets::<T>(&body) {
		Ok(targets) => targets,
		Err(stale) => {
			work.body = None;
			let failure = DistillFailure::StaleLink(stale);
			failed(&mut work, failure.reason(), &failure, "the body is distilled again");
			return;
		},
	};
	// The distiller chose links among the entries a gateway told it of; validators check them
	// against the chain's own bodies of the linked entries, and so does the agent first: links
	// that do not hold would cost the whole deposit. Then the body is distilled without links.
	if !targets.is_empty() {
		match links_hold(question, &body, &targets) {
			Ok(true) => {},
			Ok(false) => {
				log::warn!(
					target: LOG_TARGET,
					"gap {id}: the links the distiller proposed do not hold against the linked entries' bodies; distilling without links"
				);
				work.no_links = true;
				work.body = None;
				store.set(&work);
				return;
			},
			Err(failure) => {
				let what = "the linked entries' bodies could not be checked";
				failed(&mut work, AbandonReason::StorageUnavailable, &failure, what);
				return;
			},
		}
	}
	// The body goes to IPFS once its entry is on chain ([`publish_bodies`]); an IPFS node that
	// is down now would leave the entry unpublished, so none is sent until one answers.
	if let Err(failure) = ipfs_answers() {
		failed(&mut work, AbandonReason::StorageUnavailable, &failure, "IPFS add failed");
		return;
	}
	let links = EntryLinks::truncate_from(
		targets.iter().map(|target| (target.entry, target.relation)).collect::<Vec<_>>(),
	);
	let cid = unixfs::file_cid(&body, CidVersion::V1);
	let content_hash = sp_core::H256(sp_io::hashing::blake2_256(&body));
	let size = body.len() as u32;
	// Under a claim of ours, the entry alone; else the claim and the entry in one call.
	let call = match claimant {
		Some(_) => Call::submit_answer { gap: id, cid, content_hash, size, links },
		None => Call::answer_gap { gap: id, cid, content_hash, size, links },
	};
	let sent =
		Signer::<T, T::AgentAuthorityId>::any_account().send_single_signed_transaction(agent, call);
	if sent == Some(Ok(())) {
		log::info!(target: LOG_TARGET, "gap {id}: entry sent at block {block} ({size} bytes)");
		work.submit_sent = Some(block);
		work.retry_at = None;
		work.failures = 0;
		work.published = false;
		store.set(&work);
	} else {
		log::warn!(target: LOG_TARGET, "gap {id}: could not send the entry");
	}
}

/// Gives `gap` up on chain (`abandon_claim`: the agent's claim, if it holds one, else the open
/// gap), with `reason`, after `failures` failed tries (the last one `failure`), instead of
/// letting a claim lapse and cost the bond, or the gap wait for this agent.
fn give_up<T: Config>(
	agent: &frame_system::offchain::Account<T>,
	gap: GapId,
	reason: AbandonReason,
	failure: &dyn core::fmt::Display,
	failures: u32,
) {
	let sent = Signer::<T, T::AgentAuthorityId>::any_account()
		.send_single_signed_transaction(agent, Call::abandon_claim { gap, reason });
	if sent == Some(Ok(())) {
		log::warn!(
			target: LOG_TARGET,
			"gap {gap}: giving the gap up ({}) after {failures} failed tries; the last: {failure}",
			reason_in_words(reason)
		);
	} else {
		log::warn!(target: LOG_TARGET, "gap {gap}: could not send the give-up ({failure})");
	}
}

fn reason_in_words(reason: AbandonReason) -> &'static str {
	match reason {
		AbandonReason::NoAnswer => "the teacher has no answer to the question",
		AbandonReason::TeacherUnavailable => "the distiller does not answer",
		AbandonReason::StorageUnavailable => "IPFS does not store the body",
	}
}

/// Why the worker has no body to store (logged in words).
#[derive(Debug)]
enum DistillFailure {
	Call(CallFailure),
	/// The distiller answered with something that is not a body for this question.
	NotABody,
	/// The body links to this entry, which is not validated.
	StaleLink(EntryId),
}

impl DistillFailure {
	/// What the failure says of the question: a teacher that answers "no" (a 4xx, or a body
	/// for another question) has no answer; one that does not answer at all is unavailable.
	fn reason(&self) -> AbandonReason {
		match self {
			Self::NotABody | Self::StaleLink(_) | Self::Call(CallFailure::Status(400..=499, _)) => {
				AbandonReason::NoAnswer
			},
			Self::Call(_) => AbandonReason::TeacherUnavailable,
		}
	}
}

impl core::fmt::Display for DistillFailure {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			Self::Call(failure) => failure.fmt(f),
			Self::NotABody => f.write_str("the answer is not a body for this question"),
			Self::StaleLink(entry) => {
				write!(f, "the body links to entry {entry}, which is not validated")
			},
		}
	}
}

fn distill(question: &str, links: bool) -> Result<Vec<u8>, DistillFailure> {
	let base = setting(settings::DOD_DISTILLER)
		.or_else(|| setting(settings::DISTILLER))
		.ok_or(DistillFailure::Call(CallFailure::NotConfigured("--distiller")))?;
	let body = post(
		&protocol::endpoint(&base, "distill"),
		"application/json",
		&protocol::distill_request_linking(question, links),
		DISTILL_DEADLINE_MS,
		MAX_BODY_BYTES,
	)
	.map_err(DistillFailure::Call)?;
	match Body::parse(&body) {
		Ok(parsed) if question_key(&parsed.question) == question_key(question) => Ok(body),
		_ => Err(DistillFailure::NotABody),
	}
}

/// The entries `body` (a body the distiller gave: it parses) links to, as the chain records
/// them, or the first that is not validated.
fn link_targets<T: Config>(body: &[u8]) -> Result<Vec<LinkTarget>, EntryId> {
	let links = Body::parse(body).ok().and_then(|body| body.chain_links()).unwrap_or_default();
	links
		.into_iter()
		// A parsed body holds at most `MAX_LINKS` (= `MaxEntryLinks`) links.
		.map(|(to, relation)| T::Knowledge::link_target(to, relation).ok_or(to))
		.collect()
}

/// Whether the links of `body` hold against the linked entries' bodies, read from IPFS by their
/// CIDs and checked against their records (the validators' check, asked of the agent's own
/// distiller); a failed call is no answer.
fn links_hold(question: &str, body: &[u8], targets: &[LinkTarget]) -> Result<bool, CallFailure> {
	let ipfs = ipfs_endpoints()
		.into_iter()
		.next()
		.ok_or(CallFailure::NotConfigured("--ipfs-api"))?;
	let mut linked = Vec::with_capacity(targets.len());
	for target in targets {
		let facts = EntryFacts {
			question_key: target.question_key,
			content_hash: target.content_hash,
			cid: target.cid.clone(),
			size: target.size,
		};
		linked.push((target.entry, fetch_body(&ipfs, &facts, IPFS_DEADLINE_MS)?));
	}
	let base = setting(settings::DOD_DISTILLER)
		.or_else(|| setting(settings::DISTILLER))
		.ok_or(CallFailure::NotConfigured("--distiller"))?;
	let response = post(
		&protocol::endpoint(&base, "verify"),
		"application/json",
		&protocol::verify_request(question, body, &linked),
		DISTILL_DEADLINE_MS,
		16 * 1024,
	)?;
	let verdict =
		protocol::parse_verify_response(&response).ok_or(CallFailure::Status(200, response))?;
	Ok(verdict.verdict().approves())
}

/// Whether an IPFS endpoint (`--ipfs-api`, the first [`ADD_TRIES`]) answers: checked before an
/// entry is sent, whose body has to be published once the entry is on chain.
fn ipfs_answers() -> Result<(), CallFailure> {
	let mut failure = CallFailure::NotConfigured("--ipfs-api");
	for base in ipfs_endpoints().into_iter().take(ADD_TRIES) {
		match post(
			&protocol::endpoint(&base, "api/v0/version"),
			"text/plain",
			&[],
			IPFS_DEADLINE_MS,
			4096,
		) {
			Ok(_) => return Ok(()),
			Err(error) => failure = error,
		}
	}
	Err(failure)
}

/// Adds the body to the first IPFS endpoint (`--ipfs-api`, up to [`ADD_TRIES`] of them) that
/// stores it under the CID we compute ourselves; one that answers with another CID is faulty
/// and the next is tried.
fn add_to_ipfs(body: &[u8]) -> Result<Vec<u8>, CallFailure> {
	let expected = unixfs::file_cid(body, CidVersion::V1);
	let mut failure = CallFailure::NotConfigured("--ipfs-api");
	for base in ipfs_endpoints().into_iter().take(ADD_TRIES) {
		match add_to(&base, body, &expected) {
			Ok(()) => return Ok(expected),
			Err(error) => {
				log::warn!(target: LOG_TARGET, "IPFS add at {base} failed: {error}");
				failure = error;
			},
		}
	}
	Err(failure)
}

fn add_to(base: &str, body: &[u8], expected: &[u8]) -> Result<(), CallFailure> {
	let response = post(
		&protocol::ipfs_add_url(base),
		&protocol::ipfs_add_content_type(),
		&protocol::ipfs_add_body(body),
		IPFS_DEADLINE_MS,
		4096,
	)?;
	let returned = protocol::parse_add_response(&response)
		.and_then(|line| unixfs::cid_from_text(&line.hash).ok());
	if returned.as_deref() != Some(expected) {
		log::warn!(target: LOG_TARGET, "IPFS stored the body under another CID: {returned:?}");
		return Err(CallFailure::WrongContent);
	}
	Ok(())
}
