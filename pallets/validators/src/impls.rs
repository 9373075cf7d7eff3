//! The pallet's `do_*` functions behind its calls, the active set (selection and session
//! planning), the invariants, and the traits through which the runtime's other pallets call it
//! (pallet-session, pallet-offences, the KCG's closed entries, slashed funds into the pot).
//! Bond movements are in [`crate::ledger`], decisions and slashes in [`crate::settlement`].

use crate::*;
use alloc::vec::Vec;
use frame_support::{
	ensure,
	pallet_prelude::*,
	traits::{Contains, EstimateNextSessionRotation, Imbalance, OnUnbalanced},
};
use frame_system::pallet_prelude::*;
use membria_kcg_primitives::{Closure, EntryClosed, EntryOpened, EntrySummary};
use membria_primitives::{EntryId, SessionIndex};
use sp_runtime::{
	traits::{AccountIdConversion, Saturating, UniqueSaturatedInto, Zero},
	Perbill, Permill,
};

impl<T: Config> Pallet<T> {
	/// Moves `value` of `who`'s active bond to unlocking; chills it below the minimum bond.
	pub(crate) fn do_unbond(who: &T::AccountId, value: BalanceOf<T>) -> DispatchResult {
		let params = Self::params()?;
		let unlock_at =
			frame_system::Pallet::<T>::block_number().saturating_add(params.unbonding_period);
		let active = Self::start_unlocking(who, value, unlock_at)?;
		Self::deposit_event(Event::Unbonded { who: who.clone(), amount: value, unlock_at });
		if active < params.min_validator_bond && Candidates::<T>::take(who).is_some() {
			Self::deposit_event(Event::Chilled { who: who.clone() });
		}
		Ok(())
	}

	/// Releases every chunk of `who`'s bond whose block has come.
	pub(crate) fn do_withdraw_unbonded(who: &T::AccountId) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let amount = Self::withdraw_unlocked(who, now)?;
		Self::deposit_event(Event::Withdrawn { who: who.clone(), amount });
		Ok(())
	}

	/// Removes `who` from the candidates.
	pub(crate) fn do_chill(who: &T::AccountId) -> DispatchResult {
		ensure!(Candidates::<T>::take(who).is_some(), Error::<T>::NotValidating);
		Self::deposit_event(Event::Chilled { who: who.clone() });
		Ok(())
	}

	/// The account of the reward pot.
	pub fn pot_account() -> T::AccountId {
		T::PotId::get().into_account_truncating()
	}

	pub(crate) fn params() -> Result<Parameters<BalanceOf<T>, BlockNumberFor<T>>, Error<T>> {
		Params::<T>::get().ok_or(Error::<T>::ParamsMissing)
	}

	pub(crate) fn check_params(
		params: &Parameters<BalanceOf<T>, BlockNumberFor<T>>,
	) -> DispatchResult {
		ensure!(
			!params.session_length.is_zero() && !params.min_validator_bond.is_zero(),
			Error::<T>::InvalidParams
		);
		Ok(())
	}

	/// Adds `who` to the candidates.
	pub fn do_validate(who: &T::AccountId) -> DispatchResult {
		let ledger = Ledgers::<T>::get(who).ok_or(Error::<T>::NotBonded)?;
		ensure!(ledger.active >= Self::params()?.min_validator_bond, Error::<T>::InsufficientBond);
		ensure!(!Candidates::<T>::contains_key(who), Error::<T>::AlreadyValidating);
		ensure!(Candidates::<T>::count() < T::MaxCandidates::get(), Error::<T>::TooManyCandidates);
		Candidates::<T>::insert(who, ());
		Self::deposit_event(Event::Validating { who: who.clone() });
		Ok(())
	}

	/// The GRANDPA voters of `session` with their weights: each validator's stake in the
	/// session's snapshot, scaled by [`finality::finality_weights`]. In the snapshot's
	/// (account) order.
	pub fn finality_weights(session: SessionIndex) -> Vec<(T::AccountId, u64)> {
		let stakes: Vec<(T::AccountId, u128)> = SessionStakes::<T>::get(session)
			.into_iter()
			.map(|(who, stake)| (who, stake.unique_saturated_into()))
			.collect();
		finality::finality_weights(&stakes)
	}

	/// The validators a new session should have: the top `MaxValidators` candidates by
	/// active bond with session keys, sorted by account for a stable authority order.
	pub(crate) fn select_validators() -> Vec<(T::AccountId, BalanceOf<T>)> {
		let Ok(params) = Self::params() else {
			return Vec::new();
		};
		let mut candidates: Vec<(T::AccountId, BalanceOf<T>)> = Candidates::<T>::iter_keys()
			.filter(T::HasSessionKeys::contains)
			.filter_map(|who| {
				let active = Ledgers::<T>::get(&who)?.active;
				(active >= params.min_validator_bond).then_some((who, active))
			})
			.collect();
		// Highest bond first; ties broken by account so every node agrees.
		candidates.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
		candidates.truncate(T::MaxValidators::get() as usize);
		candidates.sort_by(|a, b| a.0.cmp(&b.0));
		candidates
	}

	/// Plans session `index`: snapshots the selected validators' stake. Returns the new
	/// authority list when it differs from the previous session's.
	pub(crate) fn plan_session(index: SessionIndex, genesis: bool) -> Option<Vec<T::AccountId>> {
		if let Some(expired) = index.checked_sub(T::SessionHistory::get()) {
			SessionStakes::<T>::remove(expired);
			SessionTotalStake::<T>::remove(expired);
			// At most one record per validator of that session.
			let _ = OffenceSlashes::<T>::clear_prefix(expired, T::MaxValidators::get(), None);
		}
		let selected = Self::select_validators();
		let previous = index.checked_sub(1).map(SessionStakes::<T>::get).unwrap_or_default();
		let (snapshot, change) = if selected.is_empty() {
			// Nobody can be selected: the current validators carry on, with their old stake.
			(previous.clone(), None)
		} else {
			let accounts: Vec<T::AccountId> = selected.iter().map(|(v, _)| v.clone()).collect();
			let unchanged = !genesis
				&& previous.len() == accounts.len()
				&& previous.iter().zip(&accounts).all(|((p, _), a)| p == a);
			let snapshot = BoundedVec::truncate_from(selected);
			(snapshot, (!unchanged).then_some(accounts))
		};
		let total = snapshot
			.iter()
			.fold(BalanceOf::<T>::zero(), |sum, (_, stake)| sum.saturating_add(*stake));
		let validators = snapshot.len() as u32;
		SessionStakes::<T>::insert(index, snapshot);
		SessionTotalStake::<T>::insert(index, total);
		Self::deposit_event(Event::SessionPlanned {
			session: index,
			validators,
			total_stake: total,
		});
		change
	}

	/// Checks the pallet's invariants.
	#[cfg(any(feature = "try-runtime", feature = "std"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let mut sum = BalanceOf::<T>::zero();
		for (who, ledger) in Ledgers::<T>::iter() {
			ensure!(!ledger.total().is_zero(), "an empty ledger is stored");
			ensure!(
				<T::Currency as frame_support::traits::fungible::InspectHold<_>>::balance_on_hold(
					&HoldReason::Bond.into(),
					&who
				) == ledger.total(),
				"held bond differs from the ledger"
			);
			sum = sum.saturating_add(ledger.total());
		}
		ensure!(sum == TotalBonded::<T>::get(), "TotalBonded differs from the sum of ledgers");
		ensure!(
			Candidates::<T>::count() <= T::MaxCandidates::get(),
			"more candidates than MaxCandidates"
		);
		for who in Candidates::<T>::iter_keys() {
			ensure!(Ledgers::<T>::contains_key(&who), "a candidate without a bond");
		}
		for entry in <T::Entries as membria_kcg_primitives::EntryVoting>::open_entry_ids() {
			ensure!(Ballots::<T>::contains_key(entry), "an entry open for votes has no ballot");
		}
		for (entry, ballot) in Ballots::<T>::iter() {
			ensure!(
				<T::Entries as membria_kcg_primitives::EntryVoting>::open_for_votes(entry)
					== Ok((ballot.session, ballot.deadline)),
				"a ballot of an entry that is not open for votes, or of another session or deadline"
			);
			ensure!(!Tallies::<T>::contains_key(entry), "an open entry has a final tally");
			let stakes = SessionStakes::<T>::get(ballot.session);
			let mut tally = Tally::<BalanceOf<T>>::default();
			let mut previous: Option<u16> = None;
			for (position, verdict) in &ballot.votes {
				ensure!(previous < Some(*position), "a ballot's voters are not sorted and unique");
				previous = Some(*position);
				let (_, stake) = stakes
					.get(usize::from(*position))
					.ok_or("a ballot names a voter outside its session")?;
				if verdict.approves() {
					tally.approve = tally.approve.saturating_add(*stake);
				} else {
					tally.reject = tally.reject.saturating_add(*stake);
				}
			}
			ensure!(tally == ballot.tally, "a ballot's tally differs from its votes");
			ensure!(
				tally.decision(SessionTotalStake::<T>::get(ballot.session)).is_none(),
				"a ballot's tally decides its entry, which is still open"
			);
		}
		for (session, stakes) in SessionStakes::<T>::iter() {
			let total =
				stakes.iter().fold(BalanceOf::<T>::zero(), |s, (_, v)| s.saturating_add(*v));
			ensure!(total == SessionTotalStake::<T>::get(session), "session total differs");
		}
		Ok(())
	}
}

impl<T: Config> pallet_session::SessionManager<T::AccountId> for Pallet<T> {
	fn new_session(new_index: SessionIndex) -> Option<Vec<T::AccountId>> {
		Self::plan_session(new_index, false)
	}

	fn new_session_genesis(new_index: SessionIndex) -> Option<Vec<T::AccountId>> {
		Self::plan_session(new_index, true)
	}

	fn start_session(_start_index: SessionIndex) {
		SessionStart::<T>::put(frame_system::Pallet::<T>::block_number());
	}

	fn end_session(_end_index: SessionIndex) {}
}

/// The same sessions for pallet-session's historical proofs (key ownership at a past
/// session, which equivocation reports carry); validators have no identification beyond
/// their account.
impl<T: Config> pallet_session::historical::SessionManager<T::AccountId, ()> for Pallet<T> {
	fn new_session(new_index: SessionIndex) -> Option<Vec<(T::AccountId, ())>> {
		Self::plan_session(new_index, false).map(|v| v.into_iter().map(|a| (a, ())).collect())
	}

	fn new_session_genesis(new_index: SessionIndex) -> Option<Vec<(T::AccountId, ())>> {
		Self::plan_session(new_index, true).map(|v| v.into_iter().map(|a| (a, ())).collect())
	}

	fn start_session(start_index: SessionIndex) {
		<Self as pallet_session::SessionManager<_>>::start_session(start_index)
	}

	fn end_session(end_index: SessionIndex) {
		<Self as pallet_session::SessionManager<_>>::end_session(end_index)
	}
}

/// Offences (GRANDPA equivocations, through pallet-offences) slash the offender's bond.
impl<T: Config, Identification>
	sp_staking::offence::OnOffenceHandler<T::AccountId, (T::AccountId, Identification), Weight>
	for Pallet<T>
{
	/// The fraction pallet-offences passes counts seats (`(3k/n)²`); with stake-weighted
	/// finality it is stake that equivocates, so the fraction is recomputed from the
	/// offenders' stake in the session ([`finality::equivocation_slash`]). Every report
	/// passes all offenders of its time slot again, so the fraction only grows. Offences of
	/// a session whose stake snapshot is gone (older than [`Config::SessionHistory`]) are
	/// ignored: their slash records are gone with it, and a late report must not slash a
	/// second time.
	fn on_offence(
		offenders: &[sp_staking::offence::OffenceDetails<
			T::AccountId,
			(T::AccountId, Identification),
		>],
		_slash_fraction: &[Perbill],
		session: SessionIndex,
	) -> Weight {
		let reads = T::DbWeight::get().reads(2);
		let total: u128 = SessionTotalStake::<T>::get(session).unique_saturated_into();
		if total == 0 {
			return reads;
		}
		let stakes = SessionStakes::<T>::get(session);
		let mut distinct: Vec<&T::AccountId> = Vec::new();
		for details in offenders {
			if !distinct.contains(&&details.offender.0) {
				distinct.push(&details.offender.0);
			}
		}
		let offending = distinct
			.iter()
			.filter_map(|who| stakes.iter().find(|(v, _)| v == *who))
			.fold(0u128, |sum, (_, stake)| sum.saturating_add((*stake).unique_saturated_into()));
		let fraction = finality::equivocation_slash(offending, total);
		for who in distinct {
			Self::slash_offender(who, session, fraction);
		}
		// Per offender: the offence record, the ledger, the candidate, the hold and the
		// pot's and the offender's accounts read; the same written, `TotalBonded` too.
		reads.saturating_add(
			T::DbWeight::get().reads_writes(6, 7).saturating_mul(offenders.len() as u64),
		)
	}
}

impl<T: Config> pallet_session::ShouldEndSession<BlockNumberFor<T>> for Pallet<T> {
	fn should_end_session(now: BlockNumberFor<T>) -> bool {
		let Ok(params) = Self::params() else {
			return false;
		};
		now.saturating_sub(SessionStart::<T>::get()) >= params.session_length
	}
}

impl<T: Config> EstimateNextSessionRotation<BlockNumberFor<T>> for Pallet<T> {
	fn average_session_length() -> BlockNumberFor<T> {
		Self::params().map(|p| p.session_length).unwrap_or_default()
	}

	fn estimate_current_session_progress(now: BlockNumberFor<T>) -> (Option<Permill>, Weight) {
		let weight = T::DbWeight::get().reads(2);
		let Ok(params) = Self::params() else {
			return (None, weight);
		};
		let elapsed = now.saturating_sub(SessionStart::<T>::get());
		(Some(Permill::from_rational(elapsed, params.session_length)), weight)
	}

	fn estimate_next_session_rotation(
		_now: BlockNumberFor<T>,
	) -> (Option<BlockNumberFor<T>>, Weight) {
		let weight = T::DbWeight::get().reads(2);
		let Ok(params) = Self::params() else {
			return (None, weight);
		};
		(Some(SessionStart::<T>::get().saturating_add(params.session_length)), weight)
	}
}

impl<T: Config> EntryOpened<BlockNumberFor<T>> for Pallet<T> {
	fn entry_opened(entry: EntryId, session: SessionIndex, deadline: BlockNumberFor<T>) {
		// The ballot is there before the first vote, so every vote reads and writes one record.
		Ballots::<T>::insert(entry, Ballot::new(session, deadline));
	}
}

impl<T: Config> EntryClosed<T::AccountId> for Pallet<T> {
	fn entry_closed(entry: EntryId, _: &EntrySummary<T::AccountId>, closure: Closure) {
		// Decided entries are settled by `decide`; the others only drop their ballot.
		if matches!(closure, Closure::Expired | Closure::Retracted) {
			Ballots::<T>::remove(entry);
		}
	}

	fn entry_closed_weight(closure: Closure) -> Weight {
		match closure {
			Closure::Expired | Closure::Retracted => T::WeightInfo::entry_closed(),
			// `decide` settles the votes; its benchmark measures that.
			Closure::Decided(_) => Weight::zero(),
		}
	}
}

impl<T: Config> OnUnbalanced<CreditOf<T>> for Pallet<T> {
	fn on_nonzero_unbalanced(credit: CreditOf<T>) {
		let amount = credit.peek();
		Self::resolve_into_pot(credit);
		Self::deposit_event(Event::PotDeposited { amount });
	}
}
