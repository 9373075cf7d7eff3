//! The one writer of a validator's bond, as pallet-staking's `StakingLedger::update` is: the
//! [`StakingLedger`] record, the funds held for it ([`HoldReason::Bond`]) and [`TotalBonded`] change
//! together here and nowhere else, so the invariants `do_try_state` checks (the hold equals the
//! ledger, the ledgers sum to `TotalBonded`) hold by construction.

use crate::*;
use frame_support::{
	ensure,
	traits::{
		fungible::{BalancedHold, MutateHold},
		tokens::{imbalance::Imbalance, Precision},
	},
};
use sp_runtime::{
	traits::{Saturating, Zero},
	DispatchError, DispatchResult,
};

/// The ledger of an account as this runtime stores it.
type LedgerOf<T> = StakingLedger<
	BalanceOf<T>,
	frame_system::pallet_prelude::BlockNumberFor<T>,
	<T as Config>::MaxUnlockingChunks,
>;

impl<T: Config> Pallet<T> {
	/// Holds `value` more of `who`'s funds as active bond.
	pub fn do_bond(who: &T::AccountId, value: BalanceOf<T>) -> DispatchResult {
		ensure!(!value.is_zero(), Error::<T>::ZeroAmount);
		T::Currency::hold(&HoldReason::Bond.into(), who, value)?;
		let mut ledger = Ledgers::<T>::get(who).unwrap_or_default();
		ledger.active = ledger.active.saturating_add(value);
		Self::commit_ledger(who, ledger);
		Self::deposit_event(Event::Bonded { who: who.clone(), amount: value });
		Ok(())
	}

	/// Moves `value` of `who`'s active bond to a chunk that unlocks at `unlock_at`: it stays
	/// held, and slashable, until then. Returns the active bond left.
	pub(crate) fn start_unlocking(
		who: &T::AccountId,
		value: BalanceOf<T>,
		unlock_at: frame_system::pallet_prelude::BlockNumberFor<T>,
	) -> Result<BalanceOf<T>, DispatchError> {
		ensure!(!value.is_zero(), Error::<T>::ZeroAmount);
		let mut ledger = Ledgers::<T>::get(who).ok_or(Error::<T>::NotBonded)?;
		ensure!(value <= ledger.active, Error::<T>::UnbondExceedsActive);
		ledger
			.unlocking
			.try_push(UnlockChunk { value, unlock_at })
			.map_err(|_| Error::<T>::TooManyUnlockingChunks)?;
		ledger.active = ledger.active.saturating_sub(value);
		let active = ledger.active;
		Self::commit_ledger(who, ledger);
		Ok(active)
	}

	/// Releases every chunk of `who`'s bond unlocked at `now`. Returns the amount released.
	pub(crate) fn withdraw_unlocked(
		who: &T::AccountId,
		now: frame_system::pallet_prelude::BlockNumberFor<T>,
	) -> Result<BalanceOf<T>, DispatchError> {
		let mut ledger = Ledgers::<T>::get(who).ok_or(Error::<T>::NotBonded)?;
		let mut amount = BalanceOf::<T>::zero();
		ledger.unlocking.retain(|chunk| {
			let unlocked = chunk.unlock_at <= now;
			if unlocked {
				amount = amount.saturating_add(chunk.value);
			}
			!unlocked
		});
		ensure!(!amount.is_zero(), Error::<T>::NothingToWithdraw);
		let released =
			T::Currency::release(&HoldReason::Bond.into(), who, amount, Precision::BestEffort)?;
		Self::commit_ledger(who, ledger);
		Ok(released)
	}

	/// Takes up to `due` of `who`'s held bond (active first, then unlocking) into the pot.
	/// Returns what was taken.
	pub(crate) fn slash_bond(who: &T::AccountId, due: BalanceOf<T>) -> BalanceOf<T> {
		let Some(mut ledger) = Ledgers::<T>::get(who) else {
			return Zero::zero();
		};
		if due.is_zero() {
			return Zero::zero();
		}
		let (credit, _) = T::Currency::slash(&HoldReason::Bond.into(), who, due);
		let amount = credit.peek();
		ledger.reduce(amount);
		Self::commit_ledger(who, ledger);
		Self::resolve_into_pot(credit);
		amount
	}

	/// Stores `ledger` as `who`'s bond, or removes it once empty, and moves [`TotalBonded`] by
	/// the change of its total. The callers above have just held, released or slashed that
	/// change: this is the only place either storage item is written (genesis bonds too).
	fn commit_ledger(who: &T::AccountId, ledger: LedgerOf<T>) {
		let before = Ledgers::<T>::get(who).map(|old| old.total()).unwrap_or_default();
		let after = ledger.total();
		TotalBonded::<T>::mutate(|total| {
			*total = total.saturating_sub(before).saturating_add(after)
		});
		if after.is_zero() {
			Ledgers::<T>::remove(who);
		} else {
			Ledgers::<T>::insert(who, ledger);
		}
	}
}
