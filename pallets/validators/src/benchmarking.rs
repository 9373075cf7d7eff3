//! Benchmarks of every call of `pallet-kcg-validators`, at their worst cases.

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use membria_kcg_primitives::{Closure, EntryClosed, EntrySummary};
use membria_primitives::{EntryId, RejectReason, SessionIndex, Verdict};
use sp_runtime::{traits::Bounded, Perbill};

fn params<T: Config>() -> Parameters<BalanceOf<T>, frame_system::pallet_prelude::BlockNumberFor<T>>
{
	Parameters {
		session_length: 10u32.into(),
		unbonding_period: 0u32.into(),
		min_validator_bond: 1_000u32.into(),
		wrong_vote_slash: Perbill::from_percent(10),
		// The whole pot is paid out: every winner's transfer happens (the worst case).
		decision_reward: BalanceOf::<T>::max_value(),
		pot_share: Perbill::one(),
	}
}

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 1_000_000u32.into());
	who
}

fn bonded_validator<T: Config>(index: u32) -> T::AccountId {
	let who = funded::<T>("validator", index);
	Pallet::<T>::do_bond(&who, params::<T>().min_validator_bond).expect("bond");
	who
}

/// `n` validators with equal stake as the snapshot of `session`.
fn snapshot<T: Config>(session: SessionIndex, n: u32) -> Vec<T::AccountId> {
	Params::<T>::put(params::<T>());
	let pot = Pallet::<T>::pot_account();
	T::Currency::set_balance(&pot, T::Currency::minimum_balance());
	let validators: Vec<T::AccountId> = (0..n).map(bonded_validator::<T>).collect();
	let stake = params::<T>().min_validator_bond;
	let stakes: Vec<_> = validators.iter().map(|v| (v.clone(), stake)).collect();
	SessionStakes::<T>::insert(session, BoundedVec::truncate_from(stakes));
	SessionTotalStake::<T>::insert(session, stake * n.into());
	validators
}

#[benchmarks(where T: pallet_kcg::Config + Config<Entries = pallet_kcg::Pallet<T>>)]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn bond() {
		Params::<T>::put(params::<T>());
		let who = funded::<T>("caller", 0);
		let value = params::<T>().min_validator_bond;
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), value);
		assert!(Ledgers::<T>::contains_key(&who));
	}

	#[benchmark]
	fn bond_extra() {
		Params::<T>::put(params::<T>());
		let who = bonded_validator::<T>(0);
		let value = params::<T>().min_validator_bond;
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), value);
		assert_eq!(Ledgers::<T>::get(&who).map(|l| l.active), Some(value + value));
	}

	#[benchmark]
	fn unbond() {
		Params::<T>::put(params::<T>());
		let who = bonded_validator::<T>(0);
		Pallet::<T>::do_validate(&who).expect("validate");
		// The worst case: the validator falls below the minimum and is chilled.
		let value = params::<T>().min_validator_bond;
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), value);
		assert!(!Candidates::<T>::contains_key(&who));
	}

	#[benchmark]
	fn withdraw_unbonded() {
		Params::<T>::put(params::<T>());
		let who = bonded_validator::<T>(0);
		let half = params::<T>().min_validator_bond / 2u32.into();
		for _ in 0..T::MaxUnlockingChunks::get().min(2) {
			Pallet::<T>::unbond(RawOrigin::Signed(who.clone()).into(), half).expect("unbond");
		}
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(Ledgers::<T>::get(&who).is_none_or(|l| l.unlocking.is_empty()));
	}

	#[benchmark]
	fn validate() {
		Params::<T>::put(params::<T>());
		let who = bonded_validator::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(Candidates::<T>::contains_key(&who));
	}

	#[benchmark]
	fn chill() {
		Params::<T>::put(params::<T>());
		let who = bonded_validator::<T>(0);
		Pallet::<T>::do_validate(&who).expect("validate");
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!Candidates::<T>::contains_key(&who));
	}

	#[benchmark]
	fn attest() {
		let validators = snapshot::<T>(0, T::MaxValidators::get().max(3));
		let author = funded::<T>("author", 0);
		let entry = pallet_kcg::Pallet::<T>::do_submit_entry(
			author,
			[1u8; 32],
			{
				let mut cid = alloc::vec![0x01, 0x55, 0x12, 0x20];
				cid.extend([1u8; 32]);
				cid.try_into().expect("fits")
			},
			Default::default(),
			100,
			Default::default(),
			None,
		)
		.expect("submit");
		let voter = validators[0].clone();
		#[extrinsic_call]
		attest(RawOrigin::Signed(voter.clone()), entry, Verdict::Approve);
		assert!(Votes::<T>::contains_key(entry, &voter));
	}

	/// The vote that decides an entry on which `v` validators voted: all earlier voters
	/// rejected and lose, except the ones needed to reach approval.
	#[benchmark]
	fn attest_and_decide(v: Linear<3, { T::MaxValidators::get().max(3) }>) {
		let validators = snapshot::<T>(0, v);
		let author = funded::<T>("author", 0);
		let entry = pallet_kcg::Pallet::<T>::do_submit_entry(
			author,
			[2u8; 32],
			{
				let mut cid = alloc::vec![0x01, 0x55, 0x12, 0x20];
				cid.extend([2u8; 32]);
				cid.try_into().expect("fits")
			},
			Default::default(),
			100,
			Default::default(),
			None,
		)
		.expect("submit");
		// Approvals needed: ceil(2v/3). The first `v - needed` reject (and will be slashed),
		// then approvals up to one short of the threshold.
		let needed = (2 * v).div_ceil(3);
		let rejecting = v - needed;
		for validator in &validators[..rejecting as usize] {
			Votes::<T>::insert(entry, validator, Verdict::Reject(RejectReason::Incorrect));
		}
		let stake = params::<T>().min_validator_bond;
		for validator in &validators[rejecting as usize..(v - 1) as usize] {
			Votes::<T>::insert(entry, validator, Verdict::Approve);
		}
		Tallies::<T>::insert(
			entry,
			Tally { approve: stake * (needed - 1).into(), reject: stake * rejecting.into() },
		);
		let last = validators[(v - 1) as usize].clone();
		#[extrinsic_call]
		attest(RawOrigin::Signed(last), entry, Verdict::Approve);
		assert_eq!(Votes::<T>::iter_prefix(entry).count(), 0);
	}

	#[benchmark]
	fn set_params() {
		let new = params::<T>();
		#[extrinsic_call]
		_(RawOrigin::Root, new.clone());
		assert_eq!(Params::<T>::get(), Some(new));
	}

	/// An entry with a vote from each of `MaxValidators` expires: every vote and the tally go.
	#[benchmark]
	fn entry_closed() {
		let validators = snapshot::<T>(0, T::MaxValidators::get().max(3));
		let entry: EntryId = 1;
		for validator in &validators {
			Votes::<T>::insert(entry, validator, Verdict::Approve);
		}
		Tallies::<T>::insert(entry, Tally::default());
		let summary = EntrySummary {
			question_key: [0u8; 32],
			author: funded::<T>("author", 0),
			gap: None,
			session: 0,
		};
		#[block]
		{
			<Pallet<T> as EntryClosed<T::AccountId>>::entry_closed(
				entry,
				&summary,
				Closure::Expired,
			);
		}
		assert_eq!(Votes::<T>::iter_prefix(entry).count(), 0);
		assert!(!Tallies::<T>::contains_key(entry));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(&[]), crate::mock::Test);
}
