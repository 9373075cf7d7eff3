//! Weights of `pallet-kcg`.
//!
//! PROVISIONAL: hand-estimated from the storage each call touches (reads and writes at
//! `RocksDbWeight`, plus a base per call), until `frame-benchmarking` results from this
//! machine replace them (see `benchmarking.rs`).

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions of `pallet-kcg`.
pub trait WeightInfo {
	fn submit_entry() -> Weight;
	fn link() -> Weight;
	fn unlink() -> Weight;
	fn retract() -> Weight;
	fn set_voting_period() -> Weight;
	fn on_initialize_expire(n: u32) -> Weight;
}

/// Weights for `pallet-kcg` on the Membria runtime.
pub struct SubstrateWeight<T>(PhantomData<T>);

impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn submit_entry() -> Weight {
		// NextEntryId, Deadlines, hold (account + holds), Session index; writes the same + Entries.
		Weight::from_parts(40_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(5))
			.saturating_add(T::DbWeight::get().writes(5))
	}
	fn link() -> Weight {
		Weight::from_parts(30_000_000, 3_600)
			.saturating_add(T::DbWeight::get().reads(6))
			.saturating_add(T::DbWeight::get().writes(4))
	}
	fn unlink() -> Weight {
		Weight::from_parts(30_000_000, 3_600)
			.saturating_add(T::DbWeight::get().reads(5))
			.saturating_add(T::DbWeight::get().writes(4))
	}
	fn retract() -> Weight {
		Weight::from_parts(50_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(6))
			.saturating_add(T::DbWeight::get().writes(6))
	}
	fn set_voting_period() -> Weight {
		Weight::from_parts(8_000_000, 0).saturating_add(T::DbWeight::get().writes(1))
	}
	fn on_initialize_expire(n: u32) -> Weight {
		Weight::from_parts(5_000_000, 1_000)
			.saturating_add(T::DbWeight::get().reads_writes(1, 1))
			.saturating_add(
				Weight::from_parts(45_000_000, 4_000)
					.saturating_add(T::DbWeight::get().reads_writes(4, 4))
					.saturating_mul(n.into()),
			)
	}
}

/// For tests: the same estimates, at RocksDB costs.
impl WeightInfo for () {
	fn submit_entry() -> Weight {
		Weight::from_parts(40_000_000, 4_000)
			.saturating_add(RocksDbWeight::get().reads_writes(5, 5))
	}
	fn link() -> Weight {
		Weight::from_parts(30_000_000, 3_600)
			.saturating_add(RocksDbWeight::get().reads_writes(6, 4))
	}
	fn unlink() -> Weight {
		Weight::from_parts(30_000_000, 3_600)
			.saturating_add(RocksDbWeight::get().reads_writes(5, 4))
	}
	fn retract() -> Weight {
		Weight::from_parts(50_000_000, 4_000)
			.saturating_add(RocksDbWeight::get().reads_writes(6, 6))
	}
	fn set_voting_period() -> Weight {
		Weight::from_parts(8_000_000, 0).saturating_add(RocksDbWeight::get().writes(1))
	}
	fn on_initialize_expire(n: u32) -> Weight {
		Weight::from_parts(5_000_000, 1_000).saturating_add(
			Weight::from_parts(45_000_000, 4_000)
				.saturating_add(RocksDbWeight::get().reads_writes(4, 4))
				.saturating_mul(n.into()),
		)
	}
}
