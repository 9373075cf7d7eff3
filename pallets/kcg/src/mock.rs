//! A test runtime: System, Balances and Kcg, with a settable session index and a recorder of
//! closed votes and slashed funds.

use core::cell::RefCell;
use frame_support::{
	derive_impl, parameter_types,
	traits::{fungible::Credit, tokens::imbalance::Imbalance, ConstU32, OnUnbalanced},
	weights::Weight,
};
use membria_primitives::{Decision, EntryId, GapId, QuestionKey, SessionIndex};
use sp_runtime::{BuildStorage, Perbill};

use crate::{
	self as pallet_kcg, Closure, CurrentSession, EntryClosed, EntrySummary, GapClaims, GapRefusal,
};

type Block = frame_system::mocking::MockBlock<Test>;
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

use frame_support::traits::ConstU128;

pub const ENTRY_DEPOSIT: Balance = 100;
pub const LINK_DEPOSIT: Balance = 10;
pub const MAX_BODY_SIZE: u32 = 1 << 20;
pub const MAX_ENTRIES_PER_BLOCK: u32 = 8;
pub const DEADLINE_SPILL: u32 = 2;
pub const VOTING_PERIOD: u64 = 20;

thread_local! {
	pub static SESSION: RefCell<SessionIndex> = const { RefCell::new(0) };
	pub static CLOSED: RefCell<Vec<(EntryId, Closure)>> = const { RefCell::new(Vec::new()) };
	pub static SLASHED: RefCell<Balance> = const { RefCell::new(0) };
}

pub struct TestSessions;
impl CurrentSession for TestSessions {
	fn current_session() -> SessionIndex {
		SESSION.with(|s| *s.borrow())
	}
}

pub struct RecordClosed;
impl EntryClosed<AccountId> for RecordClosed {
	fn entry_closed(entry: EntryId, _: &EntrySummary<AccountId>, closure: Closure) {
		CLOSED.with(|c| c.borrow_mut().push((entry, closure)));
	}

	fn entry_closed_weight(closure: Closure) -> Weight {
		match closure {
			Closure::Decided(Decision::Validated) => DECIDED_LISTENER_WEIGHT,
			_ => LISTENER_WEIGHT,
		}
	}
}

/// What the mock's listener of closed entries says one call weighs.
pub const LISTENER_WEIGHT: Weight = Weight::from_parts(7_000_000, 700);
/// ... and when the entry was validated (a gap's requesters paid, in the runtime).
pub const DECIDED_LISTENER_WEIGHT: Weight = Weight::from_parts(90_000_000, 9_000);

/// Gaps 0..=9 are open and claimed by ALICE for any question; others do not exist.
pub struct TestGaps;
impl GapClaims<AccountId> for TestGaps {
	fn entry_submitted(
		gap: GapId,
		author: &AccountId,
		_: &QuestionKey,
		_: EntryId,
	) -> Result<(), GapRefusal> {
		match gap {
			0..=9 if *author == ALICE => Ok(()),
			0..=9 => Err(GapRefusal::NotClaimant),
			_ => Err(GapRefusal::UnknownGap),
		}
	}
}

/// Counts slashed funds, then drops them (burns).
pub struct CountSlashed;
impl OnUnbalanced<Credit<AccountId, Balances>> for CountSlashed {
	fn on_nonzero_unbalanced(credit: Credit<AccountId, Balances>) {
		SLASHED.with(|s| *s.borrow_mut() += credit.peek());
	}
}

parameter_types! {
	pub const RetractFee: Perbill = Perbill::from_percent(10);
	pub const ValidationFee: Perbill = Perbill::from_percent(10);
}

impl pallet_kcg::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Slashed = CountSlashed;
	type Sessions = TestSessions;
	type OnEntryOpened = ();
	type OnEntryClosed = RecordClosed;
	type Gaps = TestGaps;
	type EntryDeposit = ConstU128<ENTRY_DEPOSIT>;
	type LinkDeposit = ConstU128<LINK_DEPOSIT>;
	type RetractFee = RetractFee;
	type ValidationFee = ValidationFee;
	type MaxBodySize = ConstU32<MAX_BODY_SIZE>;
	type MaxEntriesPerBlock = ConstU32<MAX_ENTRIES_PER_BLOCK>;
	type DeadlineSpill = ConstU32<DEADLINE_SPILL>;
	type MaxPageSize = ConstU32<100>;
	type WeightInfo = ();
}

pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const POOR: AccountId = 3;
pub const ENDOWMENT: Balance = 10_000;

pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![(ALICE, ENDOWMENT), (BOB, ENDOWMENT), (POOR, 50)],
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	pallet_kcg::GenesisConfig::<Test> { voting_period: VOTING_PERIOD }
		.assimilate_storage(&mut storage)
		.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		SESSION.with(|s| *s.borrow_mut() = 0);
		CLOSED.with(|c| c.borrow_mut().clear());
		SLASHED.with(|s| *s.borrow_mut() = 0);
	});
	ext
}

/// Runs `test` in a fresh test runtime, then checks the pallet's invariants.
pub fn run_test(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Kcg::do_try_state().expect("invariants hold after the test");
	});
}

/// Moves to block `n`, running Kcg's `on_initialize` for every block on the way.
pub fn run_to_block(n: u64) {
	use frame_support::traits::Hooks;
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Kcg::on_initialize(next);
	}
}
