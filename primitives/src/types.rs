//! Identifiers and vocabulary shared by the pallets, the off-chain workers and the clients.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// Identifier of a knowledge entry, assigned by the chain in submission order.
pub type EntryId = u64;

/// Identifier of a knowledge gap (a question with enough demand and no answer).
pub type GapId = u64;

/// A session of the validator set.
pub type SessionIndex = u32;

/// blake2-256 of a question's normalized text (see [`crate::question_key`]).
pub type QuestionKey = [u8; 32];

/// How one entry relates to another in the knowledge graph.
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
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum Relation {
	/// The entry gives evidence for the other.
	Supports,
	/// The entry disputes the other.
	Contradicts,
	/// The entry makes the other more precise.
	Refines,
	/// The entries are about related questions.
	Related,
}

/// Why a validator rejects an entry. The codes are stable: off-chain workers and clients decode
/// them.
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
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum RejectReason {
	/// The body's blake2-256 is not the entry's `content_hash`.
	HashMismatch,
	/// The body does not recompute to the entry's CID.
	CidMismatch,
	/// The body's length is not the entry's `size`.
	SizeMismatch,
	/// The body is not a valid Membria body document.
	BadSchema,
	/// The body does not answer the entry's question.
	Irrelevant,
	/// The answer is wrong, or its sources do not support it.
	Incorrect,
	/// A link it proposes does not hold, or does not match the links submitted with it.
	BadLink,
}

/// A validator's vote on an entry.
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
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum Verdict {
	/// The entry is correct and answers its question.
	Approve,
	/// The entry must not enter the graph, for the given reason.
	Reject(RejectReason),
}

impl Verdict {
	/// Whether the verdict approves.
	pub fn approves(&self) -> bool {
		matches!(self, Verdict::Approve)
	}
}

/// How the validators decided an entry.
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
pub enum Decision {
	/// Approving stake reached the approval threshold.
	Validated,
	/// Rejecting stake passed the rejection threshold.
	Rejected,
}
