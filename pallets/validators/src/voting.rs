//! Voting: [`Pallet::attest`] and [`Pallet::attest_many`] record validators' verdicts in each
//! entry's [`Ballot`], and a vote that makes the tally cross a threshold decides the entry
//! ([`crate::settlement`]).
//!
//! A vote reads and writes one record, the entry's ballot, which the KCG's submission opened
//! ([`membria_kcg_primitives::EntryOpened`]). The stake snapshot of a session is read once per
//! call. That is what lets one block carry over ten thousand votes.

use crate::*;
use alloc::vec::Vec;
use frame_support::{dispatch::DispatchResultWithPostInfo, pallet_prelude::*};
use membria_kcg_primitives::{EntryVoting, VoteRefusal};
use membria_primitives::{EntryId, SessionIndex, Verdict};
use sp_runtime::traits::{Saturating, Zero};

/// A session's snapshot as a call of votes reads it once: its stake, its validators, and the
/// caller's place and stake among them.
struct SessionView<T: Config> {
	session: SessionIndex,
	total: BalanceOf<T>,
	stakes: Vec<(T::AccountId, BalanceOf<T>)>,
	caller: Option<(u16, BalanceOf<T>)>,
}

/// What one vote did.
enum Voted {
	/// Recorded.
	Recorded,
	/// Recorded, and decided its entry, settling `voters` votes.
	Decided { voters: u32 },
}

/// The session snapshots one call has read.
struct Sessions<T: Config>(Vec<SessionView<T>>);

impl<T: Config> Sessions<T> {
	/// The snapshot of `session` seen by `who`: read on first use.
	fn view(&mut self, session: SessionIndex, who: &T::AccountId) -> &SessionView<T> {
		let index = match self.0.iter().position(|view| view.session == session) {
			Some(index) => index,
			None => {
				let stakes = SessionStakes::<T>::get(session).into_inner();
				let caller = stakes
					.iter()
					.position(|(validator, _)| validator == who)
					.and_then(|position| Some((u16::try_from(position).ok()?, stakes[position].1)));
				self.0.push(SessionView {
					session,
					total: SessionTotalStake::<T>::get(session),
					stakes,
					caller,
				});
				self.0.len() - 1
			},
		};
		&self.0[index]
	}
}

impl<T: Config> Pallet<T> {
	/// What a vote that decides its entry weighs with `voters` votes to settle: the benchmark
	/// of the decision plus the worst the KCG's listeners of a closed entry can add (a gap's
	/// requesters paid), which the benchmark's entry, answering no gap, does not reach.
	pub(crate) fn attest_weight(voters: u32) -> Weight {
		T::WeightInfo::attest_and_decide(voters).saturating_add(T::Entries::decide_weight())
	}

	/// The most an `attest_many` of `votes` votes can weigh: the call, each vote, and up to
	/// [`Config::MaxDecisionsPerCall`] of them deciding an entry voted on by every validator.
	pub fn attest_many_weight(votes: u32) -> Weight {
		let decisions = votes.min(T::MaxDecisionsPerCall::get());
		// Votes on entries of other sessions than the benchmark's one read their snapshots.
		let sessions = u64::from(votes.min(T::SessionHistory::get()));
		T::WeightInfo::attest_many(votes)
			.saturating_add(
				Self::attest_weight(T::MaxValidators::get()).saturating_mul(decisions.into()),
			)
			.saturating_add(T::DbWeight::get().reads(sessions.saturating_mul(2)))
	}

	/// Records `who`'s verdict on `entry` with its stake in the entry's session, and decides
	/// the entry when the tally crosses a threshold ([`Tally::decision`]).
	pub(crate) fn do_attest(
		who: &T::AccountId,
		entry: EntryId,
		verdict: Verdict,
	) -> DispatchResultWithPostInfo {
		let mut sessions = Sessions::<T>(Vec::new());
		let weight = match Self::vote(who, entry, verdict, &mut sessions, true)? {
			Voted::Recorded => T::WeightInfo::attest_many(1),
			Voted::Decided { voters } => Self::attest_weight(voters),
		};
		Ok(Some(weight).into())
	}

	/// Records each of `votes` as [`Pallet::do_attest`] would, each in its own storage layer:
	/// a refused vote changes nothing and is reported in an event. Each vote is charged as one
	/// that reads and writes its ballot (`attest_many`); a refused one costs no more (it reads
	/// the ballot, and the entry's record to say why); a deciding one is charged its decision.
	pub(crate) fn do_attest_many(
		who: &T::AccountId,
		votes: Vec<(EntryId, Verdict)>,
	) -> DispatchResultWithPostInfo {
		let mut sessions = Sessions::<T>(Vec::new());
		let (mut undecided, mut decisions) = (0u32, 0u32);
		let mut weight = Weight::zero();
		for (entry, verdict) in votes {
			let may_decide = decisions < T::MaxDecisionsPerCall::get();
			let outcome = frame_support::storage::with_storage_layer(|| {
				Self::vote(who, entry, verdict, &mut sessions, may_decide)
			});
			match outcome {
				Ok(Voted::Recorded) => undecided.saturating_inc(),
				Ok(Voted::Decided { voters }) => {
					decisions.saturating_inc();
					weight.saturating_accrue(Self::attest_weight(voters));
				},
				Err(error) => {
					undecided.saturating_inc();
					Self::deposit_event(Event::AttestationRefused {
						entry,
						validator: who.clone(),
						error,
					});
				},
			}
		}
		// The benchmark reads one session's snapshot; each other session read costs two reads.
		let more_sessions = (sessions.0.len() as u64).saturating_sub(1);
		Ok(Some(
			weight
				.saturating_add(T::WeightInfo::attest_many(undecided))
				.saturating_add(T::DbWeight::get().reads(more_sessions.saturating_mul(2))),
		)
		.into())
	}

	/// Records one vote in its entry's ballot, and decides the entry if the tally now crosses a
	/// threshold — unless `may_decide` is false: such a vote is refused with
	/// [`Error::DecisionLimit`] before anything is settled (its ballot change is rolled back by
	/// the caller's storage layer).
	fn vote(
		who: &T::AccountId,
		entry: EntryId,
		verdict: Verdict,
		sessions: &mut Sessions<T>,
		may_decide: bool,
	) -> Result<Voted, DispatchError> {
		// Opened with its entry: no ballot is a closed or an unknown entry.
		let Some(mut ballot) = Ballots::<T>::get(entry) else {
			return Err(match T::Entries::open_for_votes(entry) {
				Err(VoteRefusal::UnknownEntry) => Error::<T>::UnknownEntry,
				Err(VoteRefusal::AlreadyClosed) => Error::<T>::EntryClosed,
				Err(VoteRefusal::VotingClosed) => Error::<T>::VotingClosed,
				Ok(_) => {
					log::error!(target: "runtime::validators", "entry {entry}: open, no ballot");
					Error::<T>::NoBallot
				},
			}
			.into());
		};
		// The KCG expires the entry at the start of its deadline block, which drops the ballot;
		// this check does not rely on it.
		ensure!(
			frame_system::Pallet::<T>::block_number() < ballot.deadline,
			Error::<T>::VotingClosed
		);
		let view = sessions.view(ballot.session, who);
		ensure!(!view.total.is_zero(), Error::<T>::NoStakeSnapshot);
		let (position, stake) = view.caller.ok_or(Error::<T>::NotActiveValidator)?;
		ensure!(ballot.record(position, stake, verdict), Error::<T>::AlreadyVoted);
		Self::deposit_event(Event::Attested { entry, validator: who.clone(), verdict, stake });

		match ballot.tally.decision(view.total) {
			None => {
				Ballots::<T>::insert(entry, ballot);
				Ok(Voted::Recorded)
			},
			Some(_) if !may_decide => Err(Error::<T>::DecisionLimit.into()),
			Some(decision) => {
				Ballots::<T>::remove(entry);
				let voters = Self::decide(entry, decision, &ballot, view.total, &view.stakes)?;
				Ok(Voted::Decided { voters })
			},
		}
	}
}
