//! Where requesters' and agents' money goes: holds and their release, refunds of a lapsed
//! demand or an expired gap, a filled gap's bounty, an agent's slash. Every amount moved is in
//! an event.

use crate::*;
use frame_support::traits::{
	fungible::MutateHold,
	tokens::{Fortitude, Precision, Restriction},
	Defensive, Imbalance, OnUnbalanced,
};
use frame_system::pallet_prelude::*;
use sp_runtime::{
	traits::{Saturating, Zero},
	DispatchResult, Perbill,
};

impl<T: Config> Pallet<T> {
	pub(crate) fn hold(
		reason: &HoldReason,
		who: &T::AccountId,
		amount: BalanceOf<T>,
	) -> DispatchResult {
		if amount.is_zero() {
			return Ok(());
		}
		T::Currency::hold(&(*reason).into(), who, amount)
			.map_err(|_| Error::<T>::InsufficientBalance.into())
	}

	/// Releases `amount` of what this pallet holds for a requester: it never holds less than
	/// its records say, so this cannot fail.
	pub(crate) fn release_request(who: &T::AccountId, amount: BalanceOf<T>) {
		T::Currency::release(&HoldReason::Request.into(), who, amount, Precision::BestEffort)
			.defensive_proof("a requester's hold covers what was held")
			.ok();
	}

	pub(crate) fn refund(requesters: &[RequesterOf<T>]) {
		for requester in requesters {
			Self::release_request(&requester.who, requester.held());
		}
	}

	pub(crate) fn lapse_demand(key: QuestionKey, now: BlockNumberFor<T>) {
		let Some(demand) = Demands::<T>::get(key) else {
			return;
		};
		if demand.expires_at != now {
			return;
		}
		Demands::<T>::remove(key);
		Self::refund(&demand.requesters);
		Self::deposit_event(Event::DemandLapsed {
			question_key: key,
			refunded: demand.requesters.len() as u32,
		});
	}

	pub(crate) fn expire_gap(id: GapId, now: BlockNumberFor<T>) {
		let Some(mut gap) = Gaps::<T>::get(id) else {
			return;
		};
		if gap.expires_at != now {
			return;
		}
		if gap.claim.as_ref().is_some_and(|claim| claim.entry.is_some()) {
			// An entry for it is being voted on: give the vote a chance to finish.
			let params = Params::<T>::get();
			let later = now.saturating_add(params.map(|p| p.claim_period).unwrap_or(now));
			if GapExpiries::<T>::try_mutate(later, |due| due.try_push(id)).is_ok() {
				gap.expires_at = later;
				Gaps::<T>::insert(id, gap);
				return;
			}
		}
		if let Some(claim) = &gap.claim {
			Self::forget_claim(id, &claim.agent);
			if claim.entry.is_none() && claim.until <= now {
				Self::punish_lapse(id, &claim.agent);
			}
		}
		Self::close_unanswered(id, gap);
	}

	/// Closes a gap nobody answered: deposits back; fees back too unless an agent claimed it
	/// (they paid for its work: forfeit to the pot).
	pub(crate) fn close_unanswered(id: GapId, gap: GapOf<T>) {
		Gaps::<T>::remove(id);
		GapByKey::<T>::remove(gap.question_key);
		let mut fees_forfeited = BalanceOf::<T>::zero();
		if gap.claimed {
			for requester in gap.requesters.iter() {
				let (credit, _) = <T::Currency as frame_support::traits::fungible::BalancedHold<
					_,
				>>::slash(
					&HoldReason::Request.into(), &requester.who, requester.fee
				);
				fees_forfeited = fees_forfeited.saturating_add(credit.peek());
				T::Slashed::on_unbalanced(credit);
				Self::release_request(&requester.who, requester.deposit);
			}
		} else {
			Self::refund(&gap.requesters);
		}
		Self::deposit_event(Event::GapExpired {
			gap: id,
			refunded: gap.requesters.len() as u32,
			fees_forfeited,
		});
	}

	pub(crate) fn fill(id: GapId, entry: EntryId, author: &T::AccountId) {
		let Some(gap) = Gaps::<T>::take(id) else {
			return;
		};
		GapByKey::<T>::remove(gap.question_key);
		if let Some(claim) = &gap.claim {
			Self::forget_claim(id, &claim.agent);
		}
		let mut paid = BalanceOf::<T>::zero();
		for requester in gap.requesters.iter() {
			let fee = T::Currency::transfer_on_hold(
				&HoldReason::Request.into(),
				&requester.who,
				author,
				requester.fee,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			)
			.unwrap_or_default();
			paid = paid.saturating_add(fee);
			Self::release_request(&requester.who, requester.deposit);
		}
		Self::deposit_event(Event::GapFilled {
			gap: id,
			entry,
			author: author.clone(),
			bounty: paid,
		});
	}

	/// Closes a gap whose question an entry not submitted under its claim answered:
	/// requesters get their deposits and fees back, the claim (if any) ends unpunished.
	pub(crate) fn close_answered_elsewhere(id: GapId, entry: EntryId) {
		let Some(gap) = Gaps::<T>::take(id) else {
			return;
		};
		GapByKey::<T>::remove(gap.question_key);
		if let Some(claim) = &gap.claim {
			Self::forget_claim(id, &claim.agent);
		}
		Self::refund(&gap.requesters);
		Self::deposit_event(Event::GapAnsweredElsewhere {
			gap: id,
			entry,
			refunded: gap.requesters.len() as u32,
		});
	}

	/// Takes `agent_slash` of `agent`'s bond to the reward pot; returns what was taken.
	pub(crate) fn slash_agent(agent: &T::AccountId) -> BalanceOf<T> {
		let Some(info) = Agents::<T>::get(agent) else {
			return Zero::zero();
		};
		let rate = Params::<T>::get().map(|p| p.agent_slash).unwrap_or_else(Perbill::zero);
		let amount = rate * info.bond;
		let (credit, missing) =
			<T::Currency as frame_support::traits::fungible::BalancedHold<_>>::slash(
				&HoldReason::AgentBond.into(),
				agent,
				amount,
			);
		let slashed = amount.saturating_sub(missing);
		T::Slashed::on_unbalanced(credit);
		Agents::<T>::mutate(agent, |info| {
			if let Some(info) = info {
				info.bond = info.bond.saturating_sub(slashed);
			}
		});
		slashed
	}

	/// `agent` let its claim on `gap` lapse without an entry.
	pub(crate) fn punish_lapse(gap: GapId, agent: &T::AccountId) {
		let amount = Self::slash_agent(agent);
		Self::deposit_event(Event::ClaimLapsed { gap, agent: agent.clone(), amount });
	}

	pub(crate) fn punish(id: GapId, entry: EntryId, agent: &T::AccountId) {
		let slashed = Self::slash_agent(agent);
		Self::deposit_event(Event::AgentSlashed {
			agent: agent.clone(),
			gap: id,
			entry,
			amount: slashed,
		});
	}
}
