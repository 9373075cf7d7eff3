//! Benchmarks of every call and hook of `pallet-kcg`.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Get, Hooks};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use membria_primitives::Relation;
use sp_runtime::traits::{BlakeTwo256, Bounded, Hash, One};

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	// Enough for any number of deposits the benchmarks take, whatever the runtime's unit.
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 4u32.into());
	who
}

fn cid(seed: u32) -> alloc::vec::Vec<u8> {
	let mut cid = alloc::vec![0x01, 0x55, 0x12, 0x20];
	cid.extend(BlakeTwo256::hash(&seed.to_le_bytes()).0);
	cid
}

fn submit<T: Config>(author: &T::AccountId, seed: u32) -> EntryId {
	Pallet::<T>::do_submit_entry(
		author.clone(),
		BlakeTwo256::hash(&seed.to_be_bytes()).0,
		cid(seed).try_into().expect("a sha2-256 CID fits"),
		sp_core::H256::repeat_byte(1),
		1_000,
		None,
	)
	.expect("benchmark setup submits")
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn submit_entry() {
		let author = funded::<T>("author", 0);
		// The deadline block and every block it may spill into are full but for one place in
		// the last: the worst case of the search and of the bounded list.
		let capacity = T::MaxEntriesPerBlock::get() * (T::DeadlineSpill::get() + 1);
		for seed in 1..capacity {
			submit::<T>(&author, seed);
		}
		#[extrinsic_call]
		_(
			RawOrigin::Signed(author.clone()),
			[7u8; 32],
			cid(0),
			sp_core::H256::repeat_byte(2),
			T::MaxBodySize::get(),
			None,
		);
		assert_eq!(NextEntryId::<T>::get(), EntryId::from(capacity));
	}

	#[benchmark]
	fn link() {
		let author = funded::<T>("author", 0);
		let from = submit::<T>(&author, 1);
		let to = submit::<T>(&author, 2);
		#[extrinsic_call]
		_(RawOrigin::Signed(author), from, to, Relation::Supports);
		assert_eq!(Links::<T>::get(from, to), Some(Relation::Supports));
	}

	#[benchmark]
	fn unlink() {
		let author = funded::<T>("author", 0);
		let from = submit::<T>(&author, 1);
		let to = submit::<T>(&author, 2);
		Pallet::<T>::link(RawOrigin::Signed(author.clone()).into(), from, to, Relation::Related)
			.expect("setup links");
		#[extrinsic_call]
		_(RawOrigin::Signed(author), from, to);
		assert_eq!(Links::<T>::get(from, to), None);
	}

	#[benchmark]
	fn retract() {
		let author = funded::<T>("author", 0);
		for seed in 1..T::MaxEntriesPerBlock::get() {
			submit::<T>(&author, seed);
		}
		let entry = submit::<T>(&author, 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(author), entry);
		assert!(matches!(Entries::<T>::get(entry).map(|e| e.status), Some(EntryStatus::Retracted)));
	}

	#[benchmark]
	fn set_voting_period() {
		let blocks: BlockNumberFor<T> = 100u32.into();
		#[extrinsic_call]
		_(RawOrigin::Root, blocks);
		assert_eq!(VotingPeriod::<T>::get(), blocks);
	}

	#[benchmark]
	fn on_initialize_expire(n: Linear<0, { T::MaxEntriesPerBlock::get() }>) {
		let author = funded::<T>("author", 0);
		VotingPeriod::<T>::put(BlockNumberFor::<T>::one());
		let ids: alloc::vec::Vec<EntryId> = (0..n).map(|seed| submit::<T>(&author, seed)).collect();
		let deadline = frame_system::Pallet::<T>::block_number() + One::one();
		#[block]
		{
			Pallet::<T>::on_initialize(deadline);
		}
		for id in ids {
			assert!(matches!(Entries::<T>::get(id).map(|e| e.status), Some(EntryStatus::Expired)));
		}
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
