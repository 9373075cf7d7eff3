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

const REJECT: Verdict = Verdict::Reject(RejectReason::Incorrect);

/// `n` entries open for votes, each with its own question; as many a block as the KCG takes.
fn open_entries<T: Config + pallet_kcg::Config>(n: u32) -> Vec<EntryId> {
	let author = funded::<T>("author", 0);
	(0..n)
		.map(|i| {
			let mut key = [0xeeu8; 32];
			key[..4].copy_from_slice(&i.to_le_bytes());
			let submit = || {
				let mut cid = alloc::vec![0x01, 0x55, 0x12, 0x20];
				cid.extend(key);
				pallet_kcg::Pallet::<T>::do_submit_entry(
					author.clone(),
					key,
					cid.try_into().expect("fits"),
					Default::default(),
					100,
					Default::default(),
					None,
				)
			};
			submit().unwrap_or_else(|_| {
				// This block's deadlines are full: the next block.
				let now = frame_system::Pallet::<T>::block_number();
				frame_system::Pallet::<T>::set_block_number(now + 1u32.into());
				submit().expect("submit")
			})
		})
		.collect()
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

	/// `n` votes on ballots that every other validator voted on: each vote reads and writes the
	/// largest ballot, and takes its first place.
	#[benchmark]
	fn attest_many(n: Linear<1, { T::MaxVotesPerCall::get() }>) {
		let max = T::MaxValidators::get().max(3);
		let validators = snapshot::<T>(0, max);
		let entries = open_entries::<T>(n);
		for entry in &entries {
			let others: Vec<_> = (1..max).map(|position| (position as u16, REJECT)).collect();
			// The ballot opened with the entry, with a tally of nothing: the vote below decides
			// no entry.
			Ballots::<T>::mutate(entry, |ballot| {
				let ballot = ballot.as_mut().expect("opened with the entry");
				ballot.votes = BoundedVec::truncate_from(others);
			});
		}
		let votes = entries.iter().map(|entry| (*entry, Verdict::Approve)).collect();
		#[extrinsic_call]
		_(RawOrigin::Signed(validators[0].clone()), BoundedVec::truncate_from(votes));
		for entry in entries {
			assert_eq!(Ballots::<T>::get(entry).map(|b| b.votes.len() as u32), Some(max));
		}
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
		let votes = (0..v - 1)
			.map(|position| {
				(position as u16, if position < rejecting { REJECT } else { Verdict::Approve })
			})
			.collect();
		let stake = params::<T>().min_validator_bond;
		let deadline = Ballots::<T>::get(entry).expect("opened with the entry").deadline;
		Ballots::<T>::insert(
			entry,
			Ballot {
				session: 0,
				deadline,
				tally: Tally {
					approve: stake * (needed - 1).into(),
					reject: stake * rejecting.into(),
				},
				votes: BoundedVec::truncate_from(votes),
			},
		);
		let last = validators[(v - 1) as usize].clone();
		#[extrinsic_call]
		attest(RawOrigin::Signed(last), entry, Verdict::Approve);
		assert!(!Ballots::<T>::contains_key(entry));
		assert!(Tallies::<T>::contains_key(entry));
	}

	#[benchmark]
	fn set_params() {
		let new = params::<T>();
		#[extrinsic_call]
		_(RawOrigin::Root, new.clone());
		assert_eq!(Params::<T>::get(), Some(new));
	}

	/// An entry with a vote from each of `MaxValidators` expires: its ballot goes.
	#[benchmark]
	fn entry_closed() {
		let max = T::MaxValidators::get().max(3);
		snapshot::<T>(0, max);
		let entry: EntryId = 1;
		let votes = (0..max).map(|position| (position as u16, REJECT)).collect();
		Ballots::<T>::insert(
			entry,
			Ballot {
				session: 0,
				deadline: frame_system::pallet_prelude::BlockNumberFor::<T>::max_value(),
				tally: Tally::default(),
				votes: BoundedVec::truncate_from(votes),
			},
		);
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
		assert!(!Ballots::<T>::contains_key(entry));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(&[]), crate::mock::Test);
}
