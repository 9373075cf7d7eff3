//! Storage migrations of `pallet-kcg`.

use frame_support::{
	migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
};
use frame_system::pallet_prelude::BlockNumberFor;

use crate::{BalanceOf, Config, Entries, EntryStatus, Pallet};

/// Version 0 → 1: entries gain their `links` (none for an entry submitted before links were
/// decided with the entry). Every record is rewritten: one read and one write each.
pub type MigrateV0ToV1<T> = VersionedMigration<
	0,
	1,
	v1::AddEntryLinks<T>,
	Pallet<T>,
	<T as frame_system::Config>::DbWeight,
>;

pub mod v1 {
	use super::*;
	use membria_kcg_primitives::{EntryLinks, GapId, MaxCidLen, QuestionKey, SessionIndex};

	/// An entry as version 0 stored it.
	#[derive(Encode, Decode)]
	pub struct EntryV0<AccountId, Balance, BlockNumber> {
		pub question_key: QuestionKey,
		pub content_hash: sp_core::H256,
		pub cid: BoundedVec<u8, MaxCidLen>,
		pub size: u32,
		pub author: AccountId,
		pub gap: Option<GapId>,
		pub status: EntryStatus<BlockNumber>,
		pub submitted_at: BlockNumber,
		pub session: SessionIndex,
		pub deposit: Balance,
	}

	/// Rewrites every version 0 entry with no links.
	pub struct AddEntryLinks<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for AddEntryLinks<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut count = 0u64;
			Entries::<T>::translate::<EntryV0<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>, _>(
				|_, old| {
					count += 1;
					Some(membria_kcg_primitives::Entry {
						question_key: old.question_key,
						content_hash: old.content_hash,
						cid: old.cid,
						size: old.size,
						author: old.author,
						gap: old.gap,
						links: EntryLinks::default(),
						status: old.status,
						submitted_at: old.submitted_at,
						session: old.session,
						deposit: old.deposit,
					})
				},
			);
			T::DbWeight::get().reads_writes(count, count)
		}

		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, sp_runtime::TryRuntimeError> {
			Ok((Entries::<T>::iter_keys().count() as u64).encode())
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(state: alloc::vec::Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
			let before = u64::decode(&mut &state[..]).map_err(|_| "pre_upgrade state")?;
			let after = Entries::<T>::iter().count() as u64;
			ensure!(before == after, "an entry did not decode after the migration");
			Ok(())
		}
	}
}
