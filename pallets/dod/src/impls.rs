//! The `do_*` functions behind the pallet's calls, gaps and claims, the invariants, and the
//! traits through which the KCG calls this pallet (an entry submitted for a gap, an entry's vote
//! over). Money moves in [`crate::settlement`].

use crate::*;
use frame_support::{
	ensure,
	pallet_prelude::*,
	traits::{fungible::MutateHold, tokens::Precision},
};
use frame_system::pallet_prelude::*;
use membria_kcg_primitives::{
	Closure, EntryClosed, EntrySummary, GapClaims, GapRefusal, KnowledgeBase,
};
use membria_primitives::{normalize_question, question_key};
use sp_runtime::{
	traits::{Saturating, Zero},
	DispatchResult,
};

impl<T: Config> Pallet<T> {
	pub(crate) fn do_request_knowledge(
		who: T::AccountId,
		question: alloc::vec::Vec<u8>,
	) -> DispatchResult {
		let params = Self::params()?;
		let question: BoundedVec<u8, T::MaxQuestionLen> =
			question.try_into().map_err(|_| Error::<T>::QuestionTooLong)?;
		let text = core::str::from_utf8(&question).map_err(|_| Error::<T>::QuestionNotUtf8)?;
		ensure!(!normalize_question(text).is_empty(), Error::<T>::EmptyQuestion);
		let key = question_key(text);
		ensure!(!T::Knowledge::has_answer(&key), Error::<T>::AlreadyAnswered);

		let requester = Requester {
			who: who.clone(),
			deposit: params.request_deposit,
			fee: params.request_fee,
		};
		let held = requester.held();
		let now = frame_system::Pallet::<T>::block_number();

		if let Some(gap_id) = GapByKey::<T>::get(key) {
			let mut gap = Gaps::<T>::get(gap_id).ok_or(Error::<T>::UnknownGap)?;
			ensure!(!gap.requesters.iter().any(|r| r.who == who), Error::<T>::AlreadyRequested);
			gap.requesters.try_push(requester).map_err(|_| Error::<T>::TooManyRequesters)?;
			Self::hold(&HoldReason::Request, &who, held)?;
			gap.bounty = gap.bounty.saturating_add(params.request_fee);
			let requesters = gap.requesters.len() as u32;
			Gaps::<T>::insert(gap_id, gap);
			Self::deposit_event(Event::DemandRecorded { who, question_key: key, requesters, held });
			return Ok(());
		}

		let (mut demand, is_new) = match Demands::<T>::get(key) {
			Some(demand) if demand.expires_at > now => (demand, false),
			stale => {
				// A window that ended without its lapse being processed: refund it first.
				if let Some(stale) = stale {
					Self::refund(&stale.requesters);
				}
				let expires_at = now.saturating_add(params.demand_window);
				let demand = Demand {
					question: question.clone(),
					requesters: BoundedVec::default(),
					expires_at,
				};
				(demand, true)
			},
		};
		ensure!(!demand.requesters.iter().any(|r| r.who == who), Error::<T>::AlreadyRequested);
		demand
			.requesters
			.try_push(requester)
			.map_err(|_| Error::<T>::TooManyRequesters)?;
		Self::hold(&HoldReason::Request, &who, held)?;
		let requesters = demand.requesters.len() as u32;
		Self::deposit_event(Event::DemandRecorded { who, question_key: key, requesters, held });

		if requesters >= params.gap_threshold {
			Demands::<T>::remove(key);
			Self::open_gap(key, demand, now, &params)?;
		} else {
			if is_new {
				DemandExpiries::<T>::try_mutate(demand.expires_at, |due| due.try_push(key))
					.map_err(|_| Error::<T>::TooManyExpiries)?;
			}
			Demands::<T>::insert(key, demand);
		}
		Ok(())
	}

	pub(crate) fn do_register_agent(who: T::AccountId) -> DispatchResult {
		let params = Self::params()?;
		ensure!(!Agents::<T>::contains_key(&who), Error::<T>::AlreadyAgent);
		Self::hold(&HoldReason::AgentBond, &who, params.agent_bond)?;
		Agents::<T>::insert(
			&who,
			AgentInfo { bond: params.agent_bond, claims: BoundedVec::default() },
		);
		Self::deposit_event(Event::AgentRegistered { agent: who, bond: params.agent_bond });
		Ok(())
	}

	pub(crate) fn do_deregister_agent(who: T::AccountId) -> DispatchResult {
		let agent = Agents::<T>::get(&who).ok_or(Error::<T>::NotAgent)?;
		let pending = agent.claims.iter().any(|gap| {
			Gaps::<T>::get(gap)
				.and_then(|g| g.claim)
				.is_some_and(|claim| claim.agent == who && claim.entry.is_some())
		});
		ensure!(!pending, Error::<T>::AgentHasPendingEntry);
		for gap in agent.claims.iter() {
			Self::release_claim(*gap, &who);
		}
		let bond = T::Currency::release(
			&HoldReason::AgentBond.into(),
			&who,
			agent.bond,
			Precision::BestEffort,
		)?;
		Agents::<T>::remove(&who);
		Self::deposit_event(Event::AgentDeregistered { agent: who, bond });
		Ok(())
	}

	pub(crate) fn do_claim_gap(who: T::AccountId, gap: GapId) -> DispatchResult {
		let params = Self::params()?;
		let mut agent = Agents::<T>::get(&who).ok_or(Error::<T>::NotAgent)?;
		let mut record = Gaps::<T>::get(gap).ok_or(Error::<T>::UnknownGap)?;
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(!record.abandoned_by.contains(&who), Error::<T>::GaveUpGap);
		if let Some(claim) = &record.claim {
			ensure!(claim.entry.is_none() && claim.until <= now, Error::<T>::AlreadyClaimed);
			let previous = claim.agent.clone();
			Self::forget_claim(gap, &previous);
			Self::punish_lapse(gap, &previous);
			Self::deposit_event(Event::ClaimReleased { gap, agent: previous });
			agent = Agents::<T>::get(&who).ok_or(Error::<T>::NotAgent)?;
		}
		agent.claims.try_push(gap).map_err(|_| Error::<T>::TooManyClaims)?;
		let until = now.saturating_add(params.claim_period);
		record.claim = Some(Claim { agent: who.clone(), until, entry: None });
		record.claimed = true;
		Gaps::<T>::insert(gap, record);
		Agents::<T>::insert(&who, agent);
		Self::deposit_event(Event::GapClaimed { gap, agent: who, until });
		Ok(())
	}

	/// Submits `who`'s entry for `gap`, under its claim (the KCG checks the claim back through
	/// [`GapClaims::entry_submitted`]).
	pub(crate) fn do_submit_answer(
		who: T::AccountId,
		gap: GapId,
		cid: alloc::vec::Vec<u8>,
		content_hash: sp_core::H256,
		size: u32,
		links: membria_kcg_primitives::EntryLinks,
	) -> DispatchResult {
		let record = Gaps::<T>::get(gap).ok_or(Error::<T>::UnknownGap)?;
		T::Knowledge::submit(who, record.question_key, cid, content_hash, size, links, Some(gap))?;
		Ok(())
	}

	/// Ends `who`'s claim on `gap` before its term, without a slash: its teacher cannot answer.
	/// The gap is open to other agents at once (never to `who` again); the
	/// [`MAX_ABANDONS`]-th agent to give it up closes it as if it had expired.
	pub(crate) fn do_abandon_claim(
		who: T::AccountId,
		gap: GapId,
		reason: AbandonReason,
	) -> DispatchResult {
		let mut record = Gaps::<T>::get(gap).ok_or(Error::<T>::UnknownGap)?;
		let now = frame_system::Pallet::<T>::block_number();
		match &record.claim {
			// Declining a gap nobody claimed: only a registered agent's word counts.
			None => {
				ensure!(Agents::<T>::contains_key(&who), Error::<T>::NotAgent);
				ensure!(!record.abandoned_by.contains(&who), Error::<T>::GaveUpGap);
			},
			Some(claim) => {
				ensure!(claim.agent == who && claim.until > now, Error::<T>::NotClaimant);
				// An entry being voted on is settled by its vote (slashed if it fails), not
				// given up.
				ensure!(claim.entry.is_none(), Error::<T>::AgentHasPendingEntry);
				Self::forget_claim(gap, &who);
			},
		}
		record.abandoned_by.try_push(who.clone()).map_err(|_| Error::<T>::GaveUpGap)?;
		record.claim = None;
		// An agent worked on it: at expiry the requesters' fees go to the pot.
		record.claimed = true;
		let last = record.abandoned_by.is_full();
		Self::deposit_event(Event::ClaimAbandoned { gap, agent: who, reason });
		if last {
			Self::close_unanswered(gap, record);
		} else {
			Gaps::<T>::insert(gap, record);
		}
		Ok(())
	}

	/// The parameters, or [`Error::NoParameters`].
	pub fn params() -> Result<ParametersOf<T>, Error<T>> {
		Params::<T>::get().ok_or(Error::<T>::NoParameters)
	}

	pub(crate) fn params_are_valid(params: &ParametersOf<T>) -> bool {
		params.gap_threshold > 0
			&& params.gap_threshold <= T::MaxRequesters::get()
			&& !params.demand_window.is_zero()
			&& !params.claim_period.is_zero()
			&& !params.gap_lifetime.is_zero()
	}

	pub(crate) fn open_gap(
		key: QuestionKey,
		demand: DemandOf<T>,
		now: BlockNumberFor<T>,
		params: &ParametersOf<T>,
	) -> DispatchResult {
		let id = NextGapId::<T>::get();
		let expires_at = now.saturating_add(params.gap_lifetime);
		GapExpiries::<T>::try_mutate(expires_at, |due| due.try_push(id))
			.map_err(|_| Error::<T>::TooManyExpiries)?;
		let bounty = demand
			.requesters
			.iter()
			.fold(BalanceOf::<T>::zero(), |sum, r| sum.saturating_add(r.fee));
		let gap = Gap {
			question_key: key,
			question: demand.question.clone(),
			requesters: demand.requesters,
			bounty,
			opened_at: now,
			expires_at,
			claim: None,
			claimed: false,
			abandoned_by: BoundedVec::default(),
		};
		Gaps::<T>::insert(id, gap);
		GapByKey::<T>::insert(key, id);
		NextGapId::<T>::put(id.saturating_add(1));
		Self::deposit_event(Event::GapOpened {
			gap: id,
			question_key: key,
			question: demand.question,
			bounty,
		});
		Ok(())
	}

	/// Removes `gap` from `agent`'s claims (not from the gap).
	pub(crate) fn forget_claim(gap: GapId, agent: &T::AccountId) {
		Agents::<T>::mutate(agent, |info| {
			if let Some(info) = info {
				info.claims.retain(|g| *g != gap);
			}
		});
	}

	/// Ends `agent`'s claim on `gap`, leaving the gap open.
	pub(crate) fn release_claim(gap: GapId, agent: &T::AccountId) {
		Self::forget_claim(gap, agent);
		Gaps::<T>::mutate(gap, |record| {
			if let Some(record) = record {
				if record.claim.as_ref().is_some_and(|c| c.agent == *agent) {
					record.claim = None;
				}
			}
		});
		Self::deposit_event(Event::ClaimReleased { gap, agent: agent.clone() });
	}

	/// Invariants: gap index and gaps agree; every claim is in its agent's list; requesters
	/// are distinct and within bounds; demand is below the threshold.
	#[cfg(any(feature = "try-runtime", feature = "std"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let threshold = Params::<T>::get().map(|p| p.gap_threshold).unwrap_or(u32::MAX);
		for (key, id) in GapByKey::<T>::iter() {
			let gap = Gaps::<T>::get(id).ok_or("GapByKey points at a missing gap")?;
			ensure!(gap.question_key == key, "gap indexed under another question");
		}
		for (id, gap) in Gaps::<T>::iter() {
			ensure!(GapByKey::<T>::get(gap.question_key) == Some(id), "gap not indexed");
			let mut who: alloc::vec::Vec<_> = gap.requesters.iter().map(|r| &r.who).collect();
			who.sort();
			who.dedup();
			ensure!(who.len() == gap.requesters.len(), "a gap has a requester twice");
			ensure!(!gap.abandoned_by.is_full(), "a gap every allowed agent gave up is still open");
			if let Some(claim) = &gap.claim {
				ensure!(
					!gap.abandoned_by.contains(&claim.agent),
					"a gap is claimed by an agent that gave it up"
				);
				let agent = Agents::<T>::get(&claim.agent).ok_or("claim by a non-agent")?;
				ensure!(agent.claims.contains(&id), "claim missing from its agent");
			}
		}
		for (_, demand) in Demands::<T>::iter() {
			ensure!(
				(demand.requesters.len() as u32) < threshold,
				"demand at the threshold without a gap"
			);
		}
		for (account, agent) in Agents::<T>::iter() {
			for gap in agent.claims.iter() {
				let claim = Gaps::<T>::get(gap).and_then(|g| g.claim);
				ensure!(
					claim.is_some_and(|c| c.agent == account),
					"agent lists a claim it does not hold"
				);
			}
		}
		Ok(())
	}
}

impl<T: Config> GapClaims<T::AccountId> for Pallet<T> {
	fn entry_submitted(
		gap: GapId,
		author: &T::AccountId,
		question_key: &QuestionKey,
		entry: EntryId,
	) -> Result<(), GapRefusal> {
		let now = frame_system::Pallet::<T>::block_number();
		Gaps::<T>::try_mutate(gap, |record| {
			let record = record.as_mut().ok_or(GapRefusal::UnknownGap)?;
			if record.question_key != *question_key {
				return Err(GapRefusal::WrongQuestion);
			}
			let claim = record
				.claim
				.as_mut()
				.filter(|claim| claim.agent == *author)
				.ok_or(GapRefusal::NotClaimant)?;
			if claim.entry.is_some() {
				return Err(GapRefusal::EntryPending);
			}
			if claim.until <= now {
				return Err(GapRefusal::NotClaimant);
			}
			claim.entry = Some(entry);
			Ok(())
		})?;
		Self::deposit_event(Event::GapEntrySubmitted { gap, entry, agent: author.clone() });
		Ok(())
	}
}

impl<T: Config> EntryClosed<T::AccountId> for Pallet<T> {
	fn entry_closed(entry: EntryId, summary: &EntrySummary<T::AccountId>, closure: Closure) {
		use membria_primitives::Decision;
		if closure == Closure::Decided(Decision::Validated) {
			if let Some(gap) = GapByKey::<T>::get(summary.question_key) {
				// Only the entry submitted under the gap's claim earns its bounty; the KCG
				// lets only the claimant submit with `gap` set.
				if summary.gap == Some(gap) {
					Self::fill(gap, entry, &summary.author);
				} else {
					Self::close_answered_elsewhere(gap, entry);
				}
			}
			return;
		}
		let Some(gap) = summary.gap else { return };
		let Some(record) = Gaps::<T>::get(gap) else {
			return;
		};
		let Some(claim) = record.claim else { return };
		if claim.entry != Some(entry) {
			return;
		}
		// Rejected, expired or retracted: the agent's entry held the gap and answered nothing.
		Self::punish(gap, entry, &claim.agent);
		Self::release_claim(gap, &claim.agent);
	}

	fn entry_closed_weight(closure: Closure) -> Weight {
		use membria_primitives::Decision;
		match closure {
			// The gap is filled (bounty paid) or closed (requesters refunded).
			Closure::Decided(Decision::Validated) => {
				T::WeightInfo::entry_closed_fill().max(T::WeightInfo::entry_closed_elsewhere())
			},
			// At most the claimant agent slashed.
			_ => T::WeightInfo::entry_closed_punish(),
		}
	}
}

/// The validators' worker on the same node runs the agent's publication first, so that the
/// bodies of its entries now on chain are on IPFS when the validator checks them.
impl<T: Config> membria_kcg_primitives::BeforeVoting for Pallet<T> {
	fn before_voting() {
		offchain::publish_bodies::<T>();
	}
}
