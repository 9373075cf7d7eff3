//! Benchmarks of every call and hook of `pallet-kcg`.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Get, Hooks};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use membria_primitives::Relation;
use sp_runtime::traits::{BlakeTwo256, Bounded, Hash, One, Zero};

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
	submit_linked::<T>(author, seed, EntryLinks::default())
}

fn submit_linked<T: Config>(author: &T::AccountId, seed: u32, links: EntryLinks) -> EntryId {
	Pallet::<T>::do_submit_entry(
		author.clone(),
		BlakeTwo256::hash(&seed.to_be_bytes()).0,
		cid(seed).try_into().expect("a sha2-256 CID fits"),
		sp_core::H256::repeat_byte(1),
		1_000,
		links,
		None,
	)
	.expect("benchmark setup submits")
}

/// `count` validated entries to link to, `(to, Related)` each.
fn validated_targets<T: Config>(author: &T::AccountId, count: u32) -> EntryLinks {
	let links: alloc::vec::Vec<(EntryId, Relation)> = (0..count)
		.map(|i| {
			let id = submit::<T>(author, 1_000_000 + i);
			Entries::<T>::mutate(id, |entry| {
				if let Some(entry) = entry {
					entry.status = EntryStatus::Validated { at: Zero::zero() };
				}
			});
			(id, Relation::Related)
		})
		.collect();
	links.try_into().expect("at most MaxEntryLinks")
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn submit_entry(l: Linear<0, { MaxEntryLinks::get() }>) {
		let author = funded::<T>("author", 0);
		let links = validated_targets::<T>(&author, l);
		// The deadline block and every block it may spill into are full but for one place in
		// the last: the worst case of the search and of the bounded list. (The link targets'
		// own deadlines are elsewhere: they were submitted first.)
		let capacity = T::MaxEntriesPerBlock::get() * (T::DeadlineSpill::get() + 1);
		frame_system::Pallet::<T>::set_block_number(
			frame_system::Pallet::<T>::block_number() + 100u32.into(),
		);
		for seed in 1..capacity {
			submit::<T>(&author, seed);
		}
		let before = NextEntryId::<T>::get();
		#[extrinsic_call]
		_(
			RawOrigin::Signed(author.clone()),
			[7u8; 32],
			cid(0),
			sp_core::H256::repeat_byte(2),
			T::MaxBodySize::get(),
			links,
			None,
		);
		assert_eq!(NextEntryId::<T>::get(), before + 1);
		assert_eq!(Entries::<T>::get(before).map(|e| e.links.len() as u32), Some(l));
	}

	#[benchmark]
	fn write_edges(l: Linear<0, { MaxEntryLinks::get() }>) {
		let author = funded::<T>("author", 0);
		let links = validated_targets::<T>(&author, l);
		let entry = submit_linked::<T>(&author, 1, links.clone());
		#[block]
		{
			Pallet::<T>::write_edges(entry, &links);
		}
		assert_eq!(LinkCount::<T>::get(entry), l);
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
