//! Storage migrations of `pallet-kcg-validators`.

use frame_support::{
	migrations::VersionedMigration, pallet_prelude::*, storage_alias,
	traits::UncheckedOnRuntimeUpgrade,
};

use crate::{Ballot, Ballots, Config, Pallet, SessionStakes, Tallies};

/// Version 0 → 1: each entry open for votes gets its [`Ballot`], into which its votes move from
/// one record per vote (`Votes`) and its running tally (`Tallies`); `Tallies` keeps only decided
/// entries. Every old vote and tally is read and removed once. One block: what it reads is
/// bounded by the open entries (`Kcg::MaxEntriesPerBlock` a deadline block over the voting
/// period) times `MaxValidators` votes each; a chain with more than a block's worth of open
/// votes would need it stepped (pallet-migrations).
pub type MigrateV0ToV1<T> =
	VersionedMigration<0, 1, v1::IntoBallots<T>, Pallet<T>, <T as frame_system::Config>::DbWeight>;

pub mod v1 {
	use super::*;
	use alloc::{collections::BTreeMap, vec::Vec};
	use membria_kcg_primitives::EntryVoting;
	use membria_primitives::{EntryId, Verdict};
	use sp_runtime::Saturating;

	/// Version 0's verdicts on entries being voted on: `(entry, validator) → verdict`.
	#[storage_alias]
	pub type Votes<T: Config> = StorageDoubleMap<
		Pallet<T>,
		Twox64Concat,
		EntryId,
		Blake2_128Concat,
		<T as frame_system::Config>::AccountId,
		Verdict,
	>;

	/// Moves every open entry's votes into its ballot.
	pub struct IntoBallots<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for IntoBallots<T> {
		fn on_runtime_upgrade() -> Weight {
			let (mut reads, mut writes) = (0u64, 0u64);
			let mut votes: BTreeMap<EntryId, Vec<(T::AccountId, Verdict)>> = BTreeMap::new();
			for (entry, validator, verdict) in Votes::<T>::drain() {
				reads.saturating_inc();
				writes.saturating_inc();
				votes.entry(entry).or_default().push((validator, verdict));
			}
			let open = T::Entries::open_entry_ids();
			reads.saturating_accrue(open.len() as u64);
			for entry in open {
				reads.saturating_inc();
				let Ok((session, deadline)) = T::Entries::open_for_votes(entry) else {
					continue;
				};
				let voters = votes.remove(&entry).unwrap_or_default();
				// An open entry's running tally moves into its ballot (a decided entry's final
				// tally stays: devices prove it).
				writes.saturating_inc();
				Tallies::<T>::remove(entry);
				reads.saturating_inc();
				let stakes = SessionStakes::<T>::get(session);
				let mut ballot = Ballot::new(session, deadline);
				for (validator, verdict) in voters {
					let Some(position) = stakes.iter().position(|(v, _)| *v == validator) else {
						continue;
					};
					let Ok(position) = u16::try_from(position) else {
						continue;
					};
					ballot.record(position, stakes[usize::from(position)].1, verdict);
				}
				writes.saturating_inc();
				Ballots::<T>::insert(entry, ballot);
			}
			T::DbWeight::get().reads_writes(reads, writes)
		}

		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<Vec<u8>, sp_runtime::TryRuntimeError> {
			Ok((Votes::<T>::iter().count() as u64).encode())
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(state: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
			let before = u64::decode(&mut &state[..]).map_err(|_| "pre_upgrade state")?;
			let after: u64 =
				Ballots::<T>::iter().map(|(_, ballot)| ballot.votes.len() as u64).sum();
			ensure!(after <= before, "the ballots hold more votes than there were");
			for entry in T::Entries::open_entry_ids() {
				ensure!(Ballots::<T>::contains_key(entry), "an open entry has no ballot");
			}
			ensure!(Votes::<T>::iter().next().is_none(), "a version 0 vote is left");
			Ok(())
		}
	}
}
