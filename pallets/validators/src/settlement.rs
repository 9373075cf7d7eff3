//! Settlement: what a decision, a wrong vote and an offence move. The losing side of a
//! decision and offenders are slashed into the pot (through [`crate::ledger`]); a decision pays
//! its winners a bounded reward from the pot.

use crate::*;
use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{Balanced, Inspect, Mutate},
		tokens::{Fortitude, Preservation},
	},
};
use frame_system::pallet_prelude::*;
use membria_kcg_primitives::EntryVoting;
use membria_primitives::{Decision, EntryId, SessionIndex};
use sp_runtime::{
	helpers_128bit::multiply_by_rational_with_rounding,
	traits::{Saturating, UniqueSaturatedFrom, UniqueSaturatedInto, Zero},
	Perbill, Rounding,
};

impl<T: Config> Pallet<T> {
	/// Records the decision in the KCG, then slashes the losing voters of `ballot` into the pot
	/// and pays the winning ones, except the entry's author, this decision's reward. `stakes`
	/// is the snapshot of the ballot's session. Returns how many votes were settled.
	pub(crate) fn decide(
		entry: EntryId,
		decision: Decision,
		ballot: &BallotOf<T>,
		total: BalanceOf<T>,
		stakes: &[(T::AccountId, BalanceOf<T>)],
	) -> Result<u32, DispatchError> {
		let author = T::Entries::decide(entry, decision)?;
		let tally = ballot.tally;
		Tallies::<T>::insert(entry, tally);
		Self::deposit_event(Event::EntryDecided {
			entry,
			decision,
			approve: tally.approve,
			reject: tally.reject,
			total,
		});

		let params = Self::params()?;
		let slash_ratio = params.wrong_vote_slash;
		let mut winners: Vec<(T::AccountId, BalanceOf<T>)> = Vec::new();
		let mut voters = 0u32;
		for (position, verdict) in &ballot.votes {
			let Some((validator, stake)) = stakes.get(usize::from(*position)) else {
				frame_support::defensive!("a ballot names a voter outside its session");
				continue;
			};
			voters.saturating_inc();
			let won = verdict.approves() == (decision == Decision::Validated);
			if won && *validator != author {
				winners.push((validator.clone(), *stake));
			} else if !won {
				Self::slash_wrong_vote(validator, entry, slash_ratio);
			}
		}
		Self::reward_decision(entry, &winners, &params);
		Ok(voters)
	}

	/// Slashes `ratio` of `who`'s bond (active first, then unlocking) into the pot.
	pub(crate) fn slash_wrong_vote(who: &T::AccountId, entry: EntryId, ratio: Perbill) {
		let Some(ledger) = Ledgers::<T>::get(who) else {
			return;
		};
		let amount = Self::slash_bond(who, ratio * ledger.total());
		if amount.is_zero() {
			return;
		}
		Self::deposit_event(Event::Slashed { who: who.clone(), entry, amount });
	}

	/// Slashes an offender of `session` up to `fraction` of its bond (counting what earlier
	/// reports of the same session took) and chills it. Returns the amount taken.
	pub(crate) fn slash_offender(
		who: &T::AccountId,
		session: SessionIndex,
		fraction: Perbill,
	) -> BalanceOf<T> {
		let (applied, taken) =
			OffenceSlashes::<T>::get(session, who).unwrap_or((Perbill::zero(), Zero::zero()));
		if fraction <= applied {
			return Zero::zero();
		}
		let held = Ledgers::<T>::get(who).map(|ledger| ledger.total()).unwrap_or_default();
		// The fraction applies to the bond as it was before this session's first slash.
		let due = (fraction * held.saturating_add(taken)).saturating_sub(taken);
		let amount = Self::slash_bond(who, due);
		OffenceSlashes::<T>::insert(session, who, (fraction, taken.saturating_add(amount)));
		if Candidates::<T>::take(who).is_some() {
			Self::deposit_event(Event::Chilled { who: who.clone() });
		}
		Self::deposit_event(Event::OffenceSlashed { who: who.clone(), session, fraction, amount });
		amount
	}

	pub(crate) fn resolve_into_pot(credit: CreditOf<T>) {
		// The pot keeps the existential deposit, so this cannot fail unless the pot was
		// reaped; the funds are then burned, which the events still show.
		if T::Currency::resolve(&Self::pot_account(), credit).is_err() {
			frame_support::defensive!("the reward pot refused a deposit: the funds are burned");
		}
	}

	/// Pays one decision's reward — at most `decision_reward`, at most `pot_share` of what
	/// the pot holds above its existential deposit — to `winners`, pro rata to stake; what
	/// rounding leaves stays in the pot.
	pub(crate) fn reward_decision(
		entry: EntryId,
		winners: &[(T::AccountId, BalanceOf<T>)],
		params: &Parameters<BalanceOf<T>, BlockNumberFor<T>>,
	) {
		let pot = Self::pot_account();
		let reducible =
			T::Currency::reducible_balance(&pot, Preservation::Preserve, Fortitude::Polite);
		let budget = (params.pot_share * reducible).min(params.decision_reward);
		let available: u128 = budget.unique_saturated_into();
		let winning_stake: u128 = winners
			.iter()
			.fold(BalanceOf::<T>::zero(), |sum, (_, stake)| sum.saturating_add(*stake))
			.unique_saturated_into();
		if available == 0 || winning_stake == 0 {
			return;
		}
		for (who, stake) in winners {
			let share = multiply_by_rational_with_rounding(
				available,
				(*stake).unique_saturated_into(),
				winning_stake,
				Rounding::Down,
			)
			.unwrap_or(0);
			let share = BalanceOf::<T>::unique_saturated_from(share);
			if share.is_zero() {
				continue;
			}
			if T::Currency::transfer(&pot, who, share, Preservation::Preserve).is_ok() {
				Self::deposit_event(Event::Rewarded { who: who.clone(), entry, amount: share });
			}
		}
	}
}
