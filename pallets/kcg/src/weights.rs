//! Weights of `pallet-kcg`.
//!
//! The runtime uses the weights measured by `scripts/bench-weights.sh`
//! (`runtime/src/weights/`). The `()` implementation here is a rough estimate for mock runtimes
//! in tests only.

use frame_support::weights::{constants::RocksDbWeight, Weight};

/// Weight functions of `pallet-kcg`.
pub trait WeightInfo {
	fn submit_entry() -> Weight;
	fn link() -> Weight;
	fn unlink() -> Weight;
	fn retract() -> Weight;
	fn set_voting_period() -> Weight;
	fn on_initialize_expire(n: u32) -> Weight;
}

/// For mock runtimes in tests: rough estimates at RocksDB costs.
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
