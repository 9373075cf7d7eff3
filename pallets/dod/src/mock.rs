//! A test runtime: System, Balances, Kcg and Dod wired as in the Membria runtime, with the KCG's
//! decisions made by the test (no validators pallet) and slashed funds counted.

use core::cell::RefCell;
use frame_support::{
	derive_impl, parameter_types,
	traits::{fungible::Credit, tokens::imbalance::Imbalance, ConstU128, ConstU32, OnUnbalanced},
};
use membria_primitives::SessionIndex;
use sp_runtime::{testing::TestSignature, BuildStorage, Perbill};

use crate::{self as pallet_dod, Parameters};

pub type AccountId = u64;
pub type Balance = u128;
type Block = frame_system::mocking::MockBlock<Test, TestSignature, ()>;

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
	pub type Kcg = pallet_kcg;
	#[runtime::pallet_index(3)]
	pub type Dod = pallet_dod;
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
	pub static SLASHED: RefCell<Balance> = const { RefCell::new(0) };
}

/// Counts slashed funds, then drops them.
pub struct CountSlashed;
impl OnUnbalanced<Credit<AccountId, Balances>> for CountSlashed {
	fn on_nonzero_unbalanced(credit: Credit<AccountId, Balances>) {
		SLASHED.with(|s| *s.borrow_mut() += credit.peek());
	}
}

pub struct SessionZero;
impl pallet_kcg::CurrentSession for SessionZero {
	fn current_session() -> SessionIndex {
		0
	}
}

parameter_types! {
	pub const RetractFee: Perbill = Perbill::from_percent(10);
	pub const ValidationFee: Perbill = Perbill::from_percent(10);
}

pub const ENTRY_DEPOSIT: Balance = 100;

impl pallet_kcg::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Slashed = CountSlashed;
	type Sessions = SessionZero;
	type OnEntryOpened = ();
	type OnEntryClosed = Dod;
	type Gaps = Dod;
	type EntryDeposit = ConstU128<ENTRY_DEPOSIT>;
	type LinkDeposit = ConstU128<10>;
	type RetractFee = RetractFee;
	type ValidationFee = ValidationFee;
	type MaxBodySize = ConstU32<{ 1 << 20 }>;
	type MaxEntriesPerBlock = ConstU32<8>;
	type DeadlineSpill = ConstU32<2>;
	type MaxPageSize = ConstU32<100>;
	type WeightInfo = ();
}

pallet_kcg::impl_test_offchain_signing!(Test);

impl pallet_dod::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Slashed = CountSlashed;
	type Knowledge = Kcg;
	type AgentAuthorityId = TestAuthId;
	type MaxQuestionLen = ConstU32<MAX_QUESTION_LEN>;
	type MaxRequesters = ConstU32<4>;
	type MaxClaimsPerAgent = ConstU32<2>;
	type MaxExpiriesPerBlock = ConstU32<3>;
	type WeightInfo = ();
}

pub const MAX_QUESTION_LEN: u32 = 64;
pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const CHARLIE: AccountId = 3;
pub const AGENT: AccountId = 10;
pub const AGENT_2: AccountId = 11;
pub const POOR: AccountId = 20;
pub const ENDOWMENT: Balance = 10_000;

pub fn params() -> Parameters<Balance, u64> {
	Parameters {
		gap_threshold: 2,
		demand_window: 10,
		claim_period: 5,
		gap_lifetime: 50,
		request_deposit: 30,
		request_fee: 20,
		agent_bond: 1_000,
		agent_slash: Perbill::from_percent(10),
	}
}

pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![
			(ALICE, ENDOWMENT),
			(BOB, ENDOWMENT),
			(CHARLIE, ENDOWMENT),
			(AGENT, ENDOWMENT),
			(AGENT_2, ENDOWMENT),
			(POOR, 40),
		],
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	pallet_kcg::GenesisConfig::<Test> { voting_period: 20 }
		.assimilate_storage(&mut storage)
		.unwrap();
	pallet_dod::GenesisConfig::<Test> { params: Some(params()), agents: vec![AGENT] }
		.assimilate_storage(&mut storage)
		.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		SLASHED.with(|s| *s.borrow_mut() = 0);
	});
	ext
}

/// Runs `test` in a fresh test runtime, then checks both pallets' invariants.
pub fn run_test(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Dod::do_try_state().expect("DoD invariants hold after the test");
		Kcg::do_try_state().expect("KCG invariants hold after the test");
	});
}

/// Moves to block `n`, running `on_initialize` of Kcg and Dod for every block on the way.
pub fn run_to_block(n: u64) {
	use frame_support::traits::Hooks;
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Kcg::on_initialize(next);
		Dod::on_initialize(next);
	}
}
