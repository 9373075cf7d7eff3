//! A test runtime: System, Balances, Kcg and Validators wired as in the Membria runtime, with
//! session keys simulated by a settable set.

use core::cell::RefCell;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU128, ConstU32, Contains},
	PalletId,
};
use membria_primitives::SessionIndex;
use sp_runtime::{BuildStorage, Perbill};

use crate::{self as pallet_kcg_validators, Parameters};

type Block = frame_system::mocking::MockBlock<Test, sp_runtime::testing::TestSignature, ()>;
pub type AccountId = u64;
pub type Balance = u128;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(2)]
	pub type Validators = pallet_kcg_validators;
	#[runtime::pallet_index(3)]
	pub type Kcg = pallet_kcg;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type AccountStore = System;
	type ExistentialDeposit = ConstU128<1>;
	type RuntimeHoldReason = RuntimeHoldReason;
}

thread_local! {
	pub static SESSION: RefCell<SessionIndex> = const { RefCell::new(0) };
	pub static WITH_KEYS: RefCell<Vec<AccountId>> = const { RefCell::new(Vec::new()) };
}

pub struct TestSessions;
impl pallet_kcg::CurrentSession for TestSessions {
	fn current_session() -> SessionIndex {
		SESSION.with(|s| *s.borrow())
	}
}

pub struct TestKeys;
impl Contains<AccountId> for TestKeys {
	fn contains(who: &AccountId) -> bool {
		WITH_KEYS.with(|k| k.borrow().contains(who))
	}
}

pub fn set_keys(who: AccountId) {
	WITH_KEYS.with(|k| k.borrow_mut().push(who));
}

pub const ENTRY_DEPOSIT: Balance = 100;
pub const VOTING_PERIOD: u64 = 20;
pub const MAX_VALIDATORS: u32 = 4;
pub const MAX_CANDIDATES: u32 = 6;
pub const MAX_CHUNKS: u32 = 2;
pub const SESSION_HISTORY: u32 = 3;

parameter_types! {
	pub const RetractFee: Perbill = Perbill::from_percent(10);
	pub const ValidationFee: Perbill = Perbill::from_percent(10);
	pub const PotId: PalletId = PalletId(*b"mbr/vpot");
}

impl pallet_kcg::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Slashed = Validators;
	type Sessions = TestSessions;
	type OnEntryOpened = Validators;
	type OnEntryClosed = Validators;
	type Gaps = AnyGap;
	type EntryDeposit = ConstU128<ENTRY_DEPOSIT>;
	type LinkDeposit = ConstU128<10>;
	type RetractFee = RetractFee;
	type ValidationFee = ValidationFee;
	type MaxBodySize = ConstU32<{ 1 << 20 }>;
	type MaxEntriesPerBlock = ConstU32<16>;
	type DeadlineSpill = ConstU32<2>;
	type MaxPageSize = ConstU32<100>;
	type WeightInfo = ();
}

pallet_kcg::impl_test_offchain_signing!(Test);

impl pallet_kcg_validators::Config for Test {
	type ValidatorAuthorityId = TestAuthId;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Entries = Kcg;
	type BeforeVoting = ();
	type HasSessionKeys = TestKeys;
	type PotId = PotId;
	type MaxValidators = ConstU32<MAX_VALIDATORS>;
	type MaxCandidates = ConstU32<MAX_CANDIDATES>;
	type MaxUnlockingChunks = ConstU32<MAX_CHUNKS>;
	type SessionHistory = ConstU32<SESSION_HISTORY>;
	type MaxVotesPerCall = ConstU32<MAX_VOTES_PER_CALL>;
	type MaxDecisionsPerCall = ConstU32<MAX_DECISIONS_PER_CALL>;
	type WeightInfo = ();
}

pub const MAX_VOTES_PER_CALL: u32 = 64;
pub const MAX_DECISIONS_PER_CALL: u32 = 2;

pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const CHARLIE: AccountId = 3;
pub const DAVE: AccountId = 4;
pub const EVE: AccountId = 5;
pub const AUTHOR: AccountId = 10;
pub const ENDOWMENT: Balance = 1_000_000;
pub const MIN_BOND: Balance = 1_000;
pub const UNBONDING: u64 = 20;
pub const SESSION_LENGTH: u64 = 10;
/// The most one decision pays: the KCG's validation fee (10% of the 100 deposit).
pub const DECISION_REWARD: Balance = 10;

pub fn params() -> Parameters<Balance, u64> {
	Parameters {
		session_length: SESSION_LENGTH,
		unbonding_period: UNBONDING,
		min_validator_bond: MIN_BOND,
		wrong_vote_slash: Perbill::from_percent(10),
		decision_reward: DECISION_REWARD,
		pot_share: Perbill::from_percent(50),
	}
}

/// A chain whose genesis bonds `validators` (with keys set) and plans sessions 0 and 1.
pub fn new_test_ext(validators: &[(AccountId, Balance)]) -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: [ALICE, BOB, CHARLIE, DAVE, EVE, AUTHOR]
			.iter()
			.map(|a| (*a, ENDOWMENT))
			.collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	pallet_kcg_validators::GenesisConfig::<Test> {
		validators: validators.to_vec(),
		params: params(),
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	pallet_kcg::GenesisConfig::<Test> { voting_period: VOTING_PERIOD }
		.assimilate_storage(&mut storage)
		.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	let with_keys: Vec<AccountId> = validators.iter().map(|(v, _)| *v).collect();
	ext.execute_with(|| {
		System::set_block_number(1);
		SESSION.with(|s| *s.borrow_mut() = 0);
		WITH_KEYS.with(|k| *k.borrow_mut() = with_keys);
		// What pallet-session's genesis does: plan sessions 0 and 1.
		use pallet_session::SessionManager;
		Validators::new_session_genesis(0);
		Validators::new_session_genesis(1);
		Validators::start_session(0);
	});
	ext
}

/// Runs `test` on a chain with the given genesis validators, then checks both pallets'
/// invariants.
pub fn run_test(validators: &[(AccountId, Balance)], test: impl FnOnce()) {
	new_test_ext(validators).execute_with(|| {
		test();
		Validators::do_try_state().expect("validators invariants hold");
		Kcg::do_try_state().expect("kcg invariants hold");
	});
}

/// Moves to block `n`, running Kcg's expiry hook on the way.
pub fn run_to_block(n: u64) {
	use frame_support::traits::Hooks;
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Kcg::on_initialize(next);
	}
}

/// Rotates to session `index` the way pallet-session does: plans `index + 1`, starts `index`.
pub fn rotate_to_session(index: SessionIndex) -> Option<Vec<AccountId>> {
	use pallet_session::SessionManager;
	let planned = Validators::new_session(index + 1);
	Validators::start_session(index);
	SESSION.with(|s| *s.borrow_mut() = index);
	planned
}

/// Every gap an entry names is open to its author (the DoD pallet's checks are its own tests').
pub struct AnyGap;

impl membria_kcg_primitives::GapClaims<AccountId> for AnyGap {
	fn entry_submitted(
		_: membria_primitives::GapId,
		_: &AccountId,
		_: &membria_primitives::QuestionKey,
		_: membria_primitives::EntryId,
	) -> Result<(), membria_kcg_primitives::GapRefusal> {
		Ok(())
	}
}
