//! The records the DoD pallet keeps.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	traits::{ConstU32, Get},
	BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use membria_primitives::{EntryId, GapId, QuestionKey};
use scale_info::TypeInfo;
use sp_runtime::{Perbill, Saturating};

/// The pallet's parameters: short for the development chain, realistic for networks.
#[derive(
	Clone,
	Debug,
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
	/// Distinct requesters within `demand_window` that open a gap.
	pub gap_threshold: u32,
	/// Blocks demand has to reach the threshold, from its first request.
	pub demand_window: BlockNumber,
	/// Blocks a claim gives its agent to submit an entry.
	pub claim_period: BlockNumber,
	/// Blocks a gap stays open unanswered before requesters are refunded.
	pub gap_lifetime: BlockNumber,
	/// Held from each requester and returned when the gap is answered or lapses.
	pub request_deposit: Balance,
	/// Held from each requester; paid to the author of the answer (the gap's bounty).
	pub request_fee: Balance,
	/// Held from each agent while it is registered.
	pub agent_bond: Balance,
	/// Share of the bond an agent loses when its entry for a gap is rejected, expires or is
	/// retracted, and when its claim lapses without an entry.
	pub agent_slash: Perbill,
}

/// One requester of a question and what is held from them.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct Requester<AccountId, Balance> {
	pub who: AccountId,
	pub deposit: Balance,
	pub fee: Balance,
}

impl<AccountId, Balance: Saturating + Copy> Requester<AccountId, Balance> {
	/// Everything held from the requester.
	pub fn held(&self) -> Balance {
		self.deposit.saturating_add(self.fee)
	}
}

/// Demand for a question that has not reached the threshold yet.
#[derive(
	CloneNoBound, DebugNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(MaxQuestionLen, MaxRequesters))]
pub struct Demand<
	AccountId: Clone + core::fmt::Debug + PartialEq + Eq,
	Balance: Clone + core::fmt::Debug + PartialEq + Eq,
	BlockNumber: Clone + core::fmt::Debug + PartialEq + Eq,
	MaxQuestionLen: Get<u32>,
	MaxRequesters: Get<u32>,
> {
	/// The question as first asked.
	pub question: BoundedVec<u8, MaxQuestionLen>,
	/// Distinct requesters so far.
	pub requesters: BoundedVec<Requester<AccountId, Balance>, MaxRequesters>,
	/// The block the demand lapses at unless it reaches the threshold.
	pub expires_at: BlockNumber,
}

/// An agent's exclusive window on a gap.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct Claim<AccountId, BlockNumber> {
	pub agent: AccountId,
	/// The claim lapses at this block unless an entry was submitted under it.
	pub until: BlockNumber,
	/// The entry submitted under the claim, while it is voted on.
	pub entry: Option<EntryId>,
}

/// A knowledge gap: a question with enough demand, waiting for an answer.
#[derive(
	CloneNoBound, DebugNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(MaxQuestionLen, MaxRequesters))]
pub struct Gap<
	AccountId: Clone + core::fmt::Debug + PartialEq + Eq,
	Balance: Clone + core::fmt::Debug + PartialEq + Eq,
	BlockNumber: Clone + core::fmt::Debug + PartialEq + Eq,
	MaxQuestionLen: Get<u32>,
	MaxRequesters: Get<u32>,
> {
	pub question_key: QuestionKey,
	/// The question as first asked (what the agent distills).
	pub question: BoundedVec<u8, MaxQuestionLen>,
	pub requesters: BoundedVec<Requester<AccountId, Balance>, MaxRequesters>,
	/// Sum of the requesters' fees: paid to the author of the answer.
	pub bounty: Balance,
	pub opened_at: BlockNumber,
	/// The gap lapses at this block if no answer was validated.
	pub expires_at: BlockNumber,
	pub claim: Option<Claim<AccountId, BlockNumber>>,
	/// An agent has claimed the gap: work was done for it, so if it expires unanswered its
	/// requesters' fees are forfeit (to the reward pot) rather than refunded.
	pub claimed: bool,
	/// The agents that gave the gap up ([`AbandonReason`]); none of them claims it again, and
	/// the [`MAX_ABANDONS`]-th closes it at once.
	pub abandoned_by: BoundedVec<AccountId, ConstU32<MAX_ABANDONS>>,
}

/// How many agents may give a gap up before it closes unanswered.
pub const MAX_ABANDONS: u32 = 4;

/// Why an agent gave its claim up (`abandon_claim`), for requesters and other agents to see.
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
pub enum AbandonReason {
	/// The agent's teacher has no answer to the question (its corpus does not cover it, or the
	/// LLM declined).
	NoAnswer,
	/// The agent's teacher (its distiller) did not answer.
	TeacherUnavailable,
	/// The agent could not store the body on IPFS.
	StorageUnavailable,
}

/// A registered DoD agent.
#[derive(
	CloneNoBound, DebugNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(MaxClaims))]
pub struct AgentInfo<Balance: Clone + core::fmt::Debug + PartialEq + Eq, MaxClaims: Get<u32>> {
	/// What is held from it (less what was slashed).
	pub bond: Balance,
	/// The gaps it holds claims on.
	pub claims: BoundedVec<GapId, MaxClaims>,
}
