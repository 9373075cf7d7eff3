//! Ledgers, tallies and parameters.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	traits::Get, BoundedVec, CloneNoBound, DebugNoBound, DefaultNoBound, EqNoBound,
	PartialEqNoBound,
};
use membria_primitives::{Decision, SessionIndex, Verdict};
use scale_info::TypeInfo;
use sp_runtime::{traits::AtLeast32BitUnsigned, Perbill};

/// Funds on their way out of a bond: held, and slashable, until `unlock_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct UnlockChunk<Balance, BlockNumber> {
	pub value: Balance,
	pub unlock_at: BlockNumber,
}

/// An account's bond.
#[derive(
	CloneNoBound,
	DebugNoBound,
	PartialEqNoBound,
	EqNoBound,
	DefaultNoBound,
	Encode,
	Decode,
	MaxEncodedLen,
	TypeInfo,
)]
#[scale_info(skip_type_params(MaxChunks))]
#[codec(mel_bound(Balance: MaxEncodedLen, BlockNumber: MaxEncodedLen))]
pub struct StakingLedger<Balance, BlockNumber, MaxChunks>
where
	Balance: Clone + core::fmt::Debug + PartialEq + Eq + Default,
	BlockNumber: Clone + core::fmt::Debug + PartialEq + Eq,
	MaxChunks: Get<u32>,
{
	/// What counts for selection and voting.
	pub active: Balance,
	/// What is unbonding.
	pub unlocking: BoundedVec<UnlockChunk<Balance, BlockNumber>, MaxChunks>,
}

impl<Balance, BlockNumber, MaxChunks> StakingLedger<Balance, BlockNumber, MaxChunks>
where
	Balance: AtLeast32BitUnsigned + Copy + core::fmt::Debug + Default,
	BlockNumber: Clone + core::fmt::Debug + PartialEq + Eq,
	MaxChunks: Get<u32>,
{
	/// Active and unlocking together: everything held.
	pub fn total(&self) -> Balance {
		self.unlocking
			.iter()
			.fold(self.active, |sum, chunk| sum.saturating_add(chunk.value))
	}

	/// Takes `amount` away, from the active bond first, then from the latest unlocking chunks;
	/// empty chunks are dropped.
	pub fn reduce(&mut self, mut amount: Balance) {
		let from_active = amount.min(self.active);
		self.active -= from_active;
		amount -= from_active;
		for chunk in self.unlocking.iter_mut().rev() {
			if amount.is_zero() {
				break;
			}
			let taken = amount.min(chunk.value);
			chunk.value -= taken;
			amount -= taken;
		}
		self.unlocking.retain(|chunk| !chunk.value.is_zero());
	}
}

/// The stake behind each side of a vote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct Tally<Balance> {
	pub approve: Balance,
	pub reject: Balance,
}

impl<Balance: AtLeast32BitUnsigned + Copy> Tally<Balance> {
	/// The decision this tally reaches against a session stake of `total`: validated when
	/// approving stake is at least two thirds of it, rejected when rejecting stake is more
	/// than one third. Never a decision on a session without stake.
	pub fn decision(&self, total: Balance) -> Option<Decision> {
		if total.is_zero() {
			return None;
		}
		let three = Balance::from(3u32);
		let two = Balance::from(2u32);
		if self.approve.saturating_mul(three) >= total.saturating_mul(two) {
			Some(Decision::Validated)
		} else if self.reject.saturating_mul(three) > total {
			Some(Decision::Rejected)
		} else {
			None
		}
	}
}

/// The chain's staking parameters, set at genesis and by root.
#[derive(
	Clone,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	frame_support::Serialize,
	frame_support::Deserialize,
)]
#[serde(rename_all = "camelCase", crate = "frame_support::__private::serde")]
pub struct Parameters<Balance, BlockNumber> {
	/// Blocks per session: the validator set can change at each session boundary.
	pub session_length: BlockNumber,
	/// Blocks unbonded funds stay held (and slashable) before they can be withdrawn.
	pub unbonding_period: BlockNumber,
	/// The least active bond a validator must have to be selected.
	pub min_validator_bond: Balance,
	/// The part of its bond a validator loses for voting against a decision.
	pub wrong_vote_slash: Perbill,
	/// The most one decided entry pays the validators who decided it, from the pot. Below the
	/// KCG entry deposit, so deciding an entry against its own deposit never pays.
	pub decision_reward: Balance,
	/// The most of the pot one decision may pay out (the pot's funds are spread over many
	/// decisions, never won by one).
	pub pot_share: Perbill,
}

impl<Balance: From<u32>, BlockNumber: From<u32>> Parameters<Balance, BlockNumber> {
	/// What a chain spec that sets no parameters gets: hour-long sessions and a week of
	/// unbonding at 6-second blocks, a 10% slash, a minimum bond of one unit, and decisions
	/// paid at most one unit or 1% of the pot.
	pub fn default_for_chain() -> Self {
		Self {
			session_length: 600u32.into(),
			unbonding_period: 100_800u32.into(),
			min_validator_bond: 1u32.into(),
			wrong_vote_slash: Perbill::from_percent(10),
			decision_reward: 1u32.into(),
			pot_share: Perbill::from_percent(1),
		}
	}
}

/// The vote on one entry while it is open: its session, the running tally, and who voted how.
/// One record per entry, so a vote reads and writes one storage item.
#[derive(
	CloneNoBound, DebugNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(MaxVoters))]
#[codec(mel_bound(Balance: MaxEncodedLen, BlockNumber: MaxEncodedLen))]
pub struct Ballot<Balance, BlockNumber, MaxVoters>
where
	Balance: Clone + core::fmt::Debug + PartialEq + Eq,
	BlockNumber: Clone + core::fmt::Debug + PartialEq + Eq,
	MaxVoters: Get<u32>,
{
	/// The session whose stake decides the entry.
	pub session: SessionIndex,
	/// The block the vote closes at: the entry expires at its start.
	pub deadline: BlockNumber,
	/// The stake behind each side so far.
	pub tally: Tally<Balance>,
	/// `(voter's position in the session's snapshot, verdict)`, sorted by position.
	pub votes: BoundedVec<(u16, Verdict), MaxVoters>,
}

impl<Balance, BlockNumber, MaxVoters> Ballot<Balance, BlockNumber, MaxVoters>
where
	Balance: AtLeast32BitUnsigned + Copy + core::fmt::Debug,
	BlockNumber: Clone + core::fmt::Debug + PartialEq + Eq,
	MaxVoters: Get<u32>,
{
	/// An empty ballot of `session`, closing at `deadline`.
	pub fn new(session: SessionIndex, deadline: BlockNumber) -> Self {
		Self {
			session,
			deadline,
			tally: Tally { approve: Balance::zero(), reject: Balance::zero() },
			votes: BoundedVec::new(),
		}
	}

	/// Whether the validator at `position` has voted.
	pub fn has_voted(&self, position: u16) -> bool {
		self.votes.binary_search_by_key(&position, |(voter, _)| *voter).is_ok()
	}

	/// Records the vote of the validator at `position` with `stake`: `false` (and nothing
	/// changes) if it has voted already or the ballot is full.
	pub fn record(&mut self, position: u16, stake: Balance, verdict: Verdict) -> bool {
		let Err(slot) = self.votes.binary_search_by_key(&position, |(voter, _)| *voter) else {
			return false;
		};
		if self.votes.try_insert(slot, (position, verdict)).is_err() {
			return false;
		}
		if verdict.approves() {
			self.tally.approve = self.tally.approve.saturating_add(stake);
		} else {
			self.tally.reject = self.tally.reject.saturating_add(stake);
		}
		true
	}
}
