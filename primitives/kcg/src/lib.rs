//! # Membria KCG primitives
//!
//! What the three ledger pallets share, as `sp-staking` serves staking: the entry record and
//! its status, and the traits through which they talk to each other.
//!
//! - `pallet-kcg` implements [`EntryVoting`] (for the validators pallet) and [`KnowledgeBase`]
//!   (for the DoD pallet), and tells [`EntryClosed`] listeners when an entry's vote is over.
//! - `pallet-kcg-validators` votes through [`EntryVoting`] and listens to [`EntryClosed`].
//! - `pallet-dod` implements [`GapClaims`] and listens to [`EntryClosed`].
//!
//! No pallet depends on another's crate; the runtime wires them together. The crate pulls no
//! FRAME, so devices decode [`Entry`] records from storage proofs with it.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::{traits::ConstU32, BoundedVec, DispatchError, Weight};

pub use membria_primitives::{Decision, EntryId, GapId, QuestionKey, Relation, SessionIndex};

/// The longest binary CID the chain accepts, in bytes.
pub type MaxCidLen = ConstU32<64>;

/// The most links an entry is submitted with (a body's `links`, at most
/// `membria_offchain::body::MAX_LINKS`, the same number).
pub type MaxEntryLinks = ConstU32<8>;

/// An entry's typed links to validated entries: `(to, relation)`, proposed with the entry and
/// decided with it.
pub type EntryLinks = BoundedVec<(EntryId, Relation), MaxEntryLinks>;

/// Where an entry is in its life.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
pub enum EntryStatus<BlockNumber> {
	/// Validators vote on it until `deadline` (exclusive).
	Pending { deadline: BlockNumber },
	/// Approved by validators at block `at`; the answer to its question.
	Validated { at: BlockNumber },
	/// Rejected by validators at block `at`; the author's deposit was slashed.
	Rejected { at: BlockNumber },
	/// Not decided before its deadline; `ExpirySlash` of the deposit was slashed.
	Expired,
	/// Was the answer to its question until entry `by` was validated.
	Superseded { by: EntryId },
	/// Withdrawn by its author while pending.
	Retracted,
}

/// A knowledge entry: what the chain knows of a body stored on IPFS.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct Entry<AccountId, Balance, BlockNumber> {
	/// blake2-256 of the normalized question the body answers.
	pub question_key: QuestionKey,
	/// blake2-256 of the body's exact bytes.
	pub content_hash: sp_core::H256,
	/// The body's binary CID on IPFS (sha2-256, v0 or v1).
	pub cid: BoundedVec<u8, MaxCidLen>,
	/// The body's length in bytes.
	pub size: u32,
	/// Who submitted it and holds its deposit.
	pub author: AccountId,
	/// The knowledge gap it fills, if any.
	pub gap: Option<GapId>,
	/// Its typed links to entries validated when it was submitted; the same as its body's
	/// `links`, which validators check (a link that does not hold rejects the entry).
	pub links: EntryLinks,
	/// Where it is in its life.
	pub status: EntryStatus<BlockNumber>,
	/// The block it was submitted in.
	pub submitted_at: BlockNumber,
	/// The validator session whose stake decides it.
	pub session: SessionIndex,
	/// The deposit held from the author while it is pending.
	pub deposit: Balance,
}

/// What listeners of a closed vote need to know of the entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntrySummary<AccountId> {
	pub question_key: QuestionKey,
	pub author: AccountId,
	pub gap: Option<GapId>,
	pub session: SessionIndex,
}

impl<AccountId: Clone, Balance, BlockNumber> Entry<AccountId, Balance, BlockNumber> {
	/// The parts of the entry listeners of [`EntryClosed`] need.
	pub fn summary(&self) -> EntrySummary<AccountId> {
		EntrySummary {
			question_key: self.question_key,
			author: self.author.clone(),
			gap: self.gap,
			session: self.session,
		}
	}
}

/// How an entry's vote ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closure {
	/// Validators decided it.
	Decided(Decision),
	/// Its deadline passed undecided.
	Expired,
	/// Its author withdrew it.
	Retracted,
}

/// Told when an entry opens for votes: its submission. What a listener does here is in the
/// benchmarks of the calls that submit entries, which run on the runtime with its listeners.
pub trait EntryOpened<BlockNumber> {
	/// `entry` was submitted: the stake of `session` decides it, and its vote closes at the
	/// start of block `deadline`.
	fn entry_opened(entry: EntryId, session: SessionIndex, deadline: BlockNumber);
}

impl<BlockNumber> EntryOpened<BlockNumber> for () {
	fn entry_opened(_: EntryId, _: SessionIndex, _: BlockNumber) {}
}

/// Told when an entry's vote is over.
pub trait EntryClosed<AccountId> {
	fn entry_closed(entry: EntryId, summary: &EntrySummary<AccountId>, closure: Closure);

	/// The most one call of [`EntryClosed::entry_closed`] with `closure` can weigh, whatever the
	/// entry (from the listener's benchmarks). Whoever closes an entry charges it.
	fn entry_closed_weight(closure: Closure) -> Weight;
}

impl<AccountId> EntryClosed<AccountId> for () {
	fn entry_closed(_: EntryId, _: &EntrySummary<AccountId>, _: Closure) {}

	fn entry_closed_weight(_: Closure) -> Weight {
		Weight::zero()
	}
}

impl<AccountId, A: EntryClosed<AccountId>, B: EntryClosed<AccountId>> EntryClosed<AccountId>
	for (A, B)
{
	fn entry_closed(entry: EntryId, summary: &EntrySummary<AccountId>, closure: Closure) {
		A::entry_closed(entry, summary, closure);
		B::entry_closed(entry, summary, closure);
	}

	fn entry_closed_weight(closure: Closure) -> Weight {
		A::entry_closed_weight(closure).saturating_add(B::entry_closed_weight(closure))
	}
}

/// Why an entry may not be submitted for a knowledge gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapRefusal {
	/// No open gap has this id.
	UnknownGap,
	/// The submitter does not hold the gap's claim (or the claim has lapsed).
	NotClaimant,
	/// The entry answers another question than the gap's.
	WrongQuestion,
	/// An entry for this claim is already being voted on.
	EntryPending,
}

/// The knowledge gaps entries may be submitted for (the DoD pallet).
pub trait GapClaims<AccountId> {
	/// Checks that `author` may submit `entry` for `gap` answering `question_key`, and records
	/// it against the gap's claim.
	fn entry_submitted(
		gap: GapId,
		author: &AccountId,
		question_key: &QuestionKey,
		entry: EntryId,
	) -> Result<(), GapRefusal>;
}

/// No gaps: every submission naming a gap is refused.
impl<AccountId> GapClaims<AccountId> for () {
	fn entry_submitted(
		_: GapId,
		_: &AccountId,
		_: &QuestionKey,
		_: EntryId,
	) -> Result<(), GapRefusal> {
		Err(GapRefusal::UnknownGap)
	}
}

/// What the DoD pallet needs of the knowledge graph.
pub trait KnowledgeBase<AccountId> {
	/// Whether the question has a validated answer.
	fn has_answer(question_key: &QuestionKey) -> bool;

	/// Where the body of `entry` is and what it must hash to, as a link `relation` to it, if
	/// it is validated (an entry may link only to validated ones).
	fn link_target(entry: EntryId, relation: Relation) -> Option<LinkTarget>;

	/// Submits an entry as `author` would with `submit_entry` (same checks, same deposit).
	fn submit(
		author: AccountId,
		question_key: QuestionKey,
		cid: alloc::vec::Vec<u8>,
		content_hash: sp_core::H256,
		size: u32,
		links: EntryLinks,
		gap: Option<GapId>,
	) -> Result<EntryId, sp_runtime::DispatchError>;

	/// What `links` links add to the weight of [`KnowledgeBase::submit`] (reading each target),
	/// beyond a submission without links.
	fn links_weight(links: u32) -> Weight;

	/// How many entries submitted in one block can find a voting deadline (the deadline block
	/// and the blocks it spills into): benchmarks of callers fill all but one place, the worst
	/// case of the search.
	fn deadline_capacity() -> u32;
}

/// What a validator's off-chain worker needs of an entry another links to: where its body is
/// and what it must hash to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkTarget {
	pub entry: EntryId,
	pub relation: Relation,
	pub question_key: QuestionKey,
	pub content_hash: [u8; 32],
	pub cid: alloc::vec::Vec<u8>,
	pub size: u32,
}

/// What a validator's off-chain worker needs of an entry open for votes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenEntry<BlockNumber> {
	pub entry: EntryId,
	pub question_key: QuestionKey,
	pub content_hash: [u8; 32],
	pub cid: alloc::vec::Vec<u8>,
	pub size: u32,
	pub session: SessionIndex,
	/// The block it was submitted in: a DoD agent publishes an entry's body once the entry is
	/// on chain, so a worker looking at an entry of its very block may have to wait a moment
	/// for the body.
	pub submitted: BlockNumber,
	/// The knowledge gap it answers, if any (a DoD agent's entry).
	pub gap: Option<GapId>,
	pub deadline: BlockNumber,
	/// The entries it links to, in the order submitted (a target no longer on chain is left
	/// out; the worker then finds the body's links and the chain's differ).
	pub links: alloc::vec::Vec<LinkTarget>,
}

/// Off-chain work a validator's worker has done first, on every block: the DoD agent of the same
/// node publishes the bodies of its entries that are now on chain (it keeps them back until
/// then, so that its transaction cannot be copied), and the validator then finds them on IPFS
/// in the same block instead of a block later.
pub trait BeforeVoting {
	fn before_voting();
}

impl BeforeVoting for () {
	fn before_voting() {}
}

/// The current validator session.
pub trait CurrentSession {
	fn current_session() -> SessionIndex;
}

/// Why an entry cannot be voted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteRefusal {
	/// No entry has this id.
	UnknownEntry,
	/// The entry was already decided, expired or retracted.
	AlreadyClosed,
	/// The entry's deadline has passed (it expires at the start of the deadline block).
	VotingClosed,
}

/// What the validators pallet needs of the KCG: which entries are open for votes, and a way to
/// record its decisions.
pub trait EntryVoting {
	type BlockNumber;
	/// Who authors entries.
	type AccountId;

	/// The session whose stake decides `entry` and the block its vote closes at (it expires at
	/// the start of that block), if the entry is open for votes.
	fn open_for_votes(entry: EntryId) -> Result<(SessionIndex, Self::BlockNumber), VoteRefusal>;

	/// Records the validators' decision on a pending entry; returns the entry's author (who must
	/// not be rewarded for deciding it).
	fn decide(entry: EntryId, decision: Decision) -> Result<Self::AccountId, DispatchError>;

	/// The most [`EntryVoting::decide`] can weigh beyond what the caller's own benchmark of a
	/// decision measured: the listeners told of the closed entry at their worst (a gap's
	/// requesters paid, an agent slashed), which a benchmark of an entry without a gap misses.
	fn decide_weight() -> Weight;

	/// The ids of every entry open for votes, in increasing order (for off-chain workers, which
	/// choose among them without reading every record).
	fn open_entry_ids() -> alloc::vec::Vec<EntryId>;

	/// What an off-chain worker needs of `entry`, if it is open for votes.
	fn open_entry(entry: EntryId) -> Option<OpenEntry<Self::BlockNumber>>;
}

/// A page of the validation log.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct ValidatedPage<BlockNumber> {
	/// `(entry, block validated at)`, in validation order.
	pub entries: alloc::vec::Vec<(EntryId, BlockNumber)>,
	/// Where the next page starts, if there is more.
	pub next_cursor: Option<u64>,
}
