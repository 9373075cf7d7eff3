//! Weights of `pallet-kcg`.
//!
//! The runtime uses the weights measured by `scripts/bench-weights.sh`
//! (`runtime/src/weights/`). The `()` implementation here is a rough estimate for mock runtimes
//! in tests only.

use frame_support::weights::{constants::RocksDbWeight, Weight};

/// Weight functions of `pallet-kcg`.
pub trait WeightInfo {
	fn submit_entry(l: u32) -> Weight;
	fn write_edges(l: u32) -> Weight;
	fn retract() -> Weight;
	fn set_voting_period() -> Weight;
	fn on_initialize_expire(n: u32) -> Weight;
}

/// For mock runtimes in tests: rough estimates at RocksDB costs.
impl WeightInfo for () {
	fn submit_entry(l: u32) -> Weight {
		// Per link: the target's record.
		Weight::from_parts(40_000_000, 4_000)
			.saturating_add(RocksDbWeight::get().reads_writes(5, 5))
			.saturating_add(
				Weight::from_parts(5_000_000, 2_700)
					.saturating_add(RocksDbWeight::get().reads(1))
					.saturating_mul(l.into()),
			)
	}
	fn write_edges(l: u32) -> Weight {
		// Per link: its edge; once: the count.
		RocksDbWeight::get()
			.writes(1)
			.saturating_add(RocksDbWeight::get().writes(1).saturating_mul(l.into()))
	}
	fn retract() -> Weight {
		Weight::from_parts(50_000_000, 4_000)
			.saturating_add(RocksDbWeight::get().reads_writes(6, 6))
	}
	fn set_voting_period() -> Weight {
		Weight::from_parts(8_000_000, 0).saturating_add(RocksDbWeight::get().writes(1))
	}
	fn on_initialize_expire(n: u32) -> Weight {
		// Per entry: its record, the hold, the author's account, the slash into the pot and the
		// release of the rest; once: the deadline bucket and `ExpirySlash`.
		Weight::from_parts(5_000_000, 1_000)
			.saturating_add(RocksDbWeight::get().reads_writes(2, 1))
			.saturating_add(
				Weight::from_parts(60_000_000, 4_000)
					.saturating_add(RocksDbWeight::get().reads_writes(5, 5))
					.saturating_mul(n.into()),
			)
	}
}
