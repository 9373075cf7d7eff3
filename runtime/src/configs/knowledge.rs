//! The Knowledge Cache Graph and its validators.

use frame_support::{
	parameter_types,
	traits::{ConstU128, ConstU32, Contains},
	PalletId,
};
use membria_primitives::SessionIndex;
use sp_runtime::Perbill;

use super::MAX_AUTHORITIES;
use crate::{AccountId, Balances, Dod, Kcg, Runtime, RuntimeHoldReason, Validators, UNIT};

/// Held for every knowledge entry until validators decide it.
pub const ENTRY_DEPOSIT: u128 = 10 * UNIT;
/// Held for every link between entries.
pub const LINK_DEPOSIT: u128 = UNIT;
/// The largest entry body, in bytes.
pub const MAX_BODY_SIZE: u32 = 1024 * 1024;

parameter_types! {
	pub const RetractFee: Perbill = Perbill::from_percent(10);
	/// A validated entry pays a tenth of its deposit (1 MEM) to the validators' pot: the most
	/// one decision pays them (`decision_reward` in the genesis presets).
	pub const ValidationFee: Perbill = Perbill::from_percent(10);
	pub const ValidatorsPotId: PalletId = PalletId(*b"mbr/vpot");
}

/// The current session index, from pallet-session.
pub struct SessionIndexOf;
impl pallet_kcg::CurrentSession for SessionIndexOf {
	fn current_session() -> SessionIndex {
		pallet_session::CurrentIndex::<Runtime>::get()
	}
}

/// Accounts with session keys queued in pallet-session.
pub struct HasSessionKeys;
impl Contains<AccountId> for HasSessionKeys {
	fn contains(who: &AccountId) -> bool {
		pallet_session::NextKeys::<Runtime>::contains_key(who)
	}
}

impl pallet_kcg::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Slashed = Validators;
	type Sessions = SessionIndexOf;
	// Validators clear votes and settle stakes first; then DoD fills or reopens the gap.
	type OnEntryOpened = Validators;
	type OnEntryClosed = (Validators, Dod);
	type Gaps = Dod;
	type EntryDeposit = ConstU128<ENTRY_DEPOSIT>;
	type LinkDeposit = ConstU128<LINK_DEPOSIT>;
	type RetractFee = RetractFee;
	type ValidationFee = ValidationFee;
	type MaxBodySize = ConstU32<MAX_BODY_SIZE>;
	// Every entry whose deadline is a block may expire in it, each dropping a vote from every
	// validator and slashing a claimant: at the benchmarked worst case, 64 of them and the DoD
	// hook's worst take under half a block (`runtime/tests/weights.rs`). DeadlineSpill spreads
	// a busy block's deadlines over the next 8.
	type MaxEntriesPerBlock = ConstU32<64>;
	type DeadlineSpill = ConstU32<8>;
	type MaxPageSize = ConstU32<256>;
	type WeightInfo = crate::weights::pallet_kcg::WeightInfo<Runtime>;
}

impl pallet_kcg_validators::Config for Runtime {
	type ValidatorAuthorityId = pallet_kcg_validators::crypto::ValidatorAuthId;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Entries = Kcg;
	// The DoD agent of the node publishes its entries' bodies before the validator checks them.
	type BeforeVoting = Dod;
	type HasSessionKeys = HasSessionKeys;
	type PotId = ValidatorsPotId;
	type MaxValidators = ConstU32<MAX_AUTHORITIES>;
	type MaxCandidates = ConstU32<256>;
	type MaxUnlockingChunks = ConstU32<16>;
	// Covers the voting period with room: an entry's session snapshot must outlive its vote.
	type SessionHistory = ConstU32<64>;
	// A validator's worker sends its votes of a block in one call.
	type MaxVotesPerCall = ConstU32<1024>;
	// A deciding vote settles every voter of its entry (up to ~33 ms at worst): the call's
	// declared weight allows for two, so a full call still leaves room in a block for others.
	type MaxDecisionsPerCall = ConstU32<2>;
	type WeightInfo = crate::weights::pallet_kcg_validators::WeightInfo<Runtime>;
}

/// The longest question `Dod.request_knowledge` takes, in bytes (the body schema's bound).
pub const MAX_QUESTION_LEN: u32 = membria_offchain::body::MAX_QUESTION_BYTES as u32;

impl pallet_dod::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Slashed = Validators;
	type Knowledge = Kcg;
	type AgentAuthorityId = pallet_dod::crypto::AgentAuthId;
	type MaxQuestionLen = ConstU32<MAX_QUESTION_LEN>;
	type MaxRequesters = ConstU32<64>;
	type MaxClaimsPerAgent = ConstU32<8>;
	// Each expiring gap or demand releases up to 64 requesters' holds (about 17 ms at the
	// benchmarked worst case): 12 of each per block keep this hook near 0.6 s, and with the
	// KCG's expiries under half a block (`runtime/tests/weights.rs`). It also caps how many new
	// questions (demands) and gaps a block takes: their expiry block is full past 12.
	type MaxExpiriesPerBlock = ConstU32<12>;
	type WeightInfo = crate::weights::pallet_dod::WeightInfo<Runtime>;
}
