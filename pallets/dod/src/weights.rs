//! Weights of `pallet-dod`.
//!
//! The runtime uses the weights measured by `scripts/bench-weights.sh`
//! (`runtime/src/weights/`). The `()` implementation here is a rough estimate for mock runtimes
//! in tests only.

use frame_support::weights::{constants::RocksDbWeight, Weight};

/// Weight functions of `pallet-dod`.
pub trait WeightInfo {
	fn request_knowledge() -> Weight;
	fn register_agent() -> Weight;
	fn deregister_agent(c: u32) -> Weight;
	fn claim_gap() -> Weight;
	fn submit_answer() -> Weight;
	fn set_params() -> Weight;
	/// The last allowed give-up: the gap closes, `MaxRequesters` released.
	fn abandon_claim() -> Weight;
	fn on_initialize_expire(d: u32, g: u32) -> Weight;
	/// The claimant's entry validated: a gap of `MaxRequesters` pays its bounty.
	fn entry_closed_fill() -> Weight;
	/// Another entry answered the gap's question: `MaxRequesters` refunded in full.
	fn entry_closed_elsewhere() -> Weight;
	/// The claimant's entry rejected, expired or retracted: the agent slashed, the claim ended.
	fn entry_closed_punish() -> Weight;
}

/// For mock runtimes in tests: rough estimates at RocksDB costs.
impl WeightInfo for () {
	fn request_knowledge() -> Weight {
		Weight::from_parts(60_000_000, 8_000)
			.saturating_add(RocksDbWeight::get().reads_writes(7, 7))
	}
	fn register_agent() -> Weight {
		Weight::from_parts(30_000_000, 3_600)
			.saturating_add(RocksDbWeight::get().reads_writes(3, 3))
	}
	fn deregister_agent(c: u32) -> Weight {
		Weight::from_parts(30_000_000, 3_600)
			.saturating_add(RocksDbWeight::get().reads_writes(3, 3))
			.saturating_add(RocksDbWeight::get().reads_writes(2, 2).saturating_mul(c.into()))
	}
	fn claim_gap() -> Weight {
		Weight::from_parts(30_000_000, 8_000)
			.saturating_add(RocksDbWeight::get().reads_writes(4, 3))
	}
	fn submit_answer() -> Weight {
		Weight::from_parts(60_000_000, 8_000)
			.saturating_add(RocksDbWeight::get().reads_writes(8, 7))
	}
	fn set_params() -> Weight {
		Weight::from_parts(8_000_000, 0).saturating_add(RocksDbWeight::get().writes(1))
	}
	fn abandon_claim() -> Weight {
		Weight::from_parts(400_000_000, 30_000)
			.saturating_add(RocksDbWeight::get().reads_writes(70, 70))
	}
	fn on_initialize_expire(d: u32, g: u32) -> Weight {
		Weight::from_parts(5_000_000, 1_000).saturating_add(
			Weight::from_parts(400_000_000, 30_000)
				.saturating_add(RocksDbWeight::get().reads_writes(66, 66))
				.saturating_mul(d.saturating_add(g).into()),
		)
	}
	fn entry_closed_fill() -> Weight {
		Weight::from_parts(400_000_000, 30_000)
			.saturating_add(RocksDbWeight::get().reads_writes(70, 70))
	}
	fn entry_closed_elsewhere() -> Weight {
		Weight::from_parts(400_000_000, 30_000)
			.saturating_add(RocksDbWeight::get().reads_writes(70, 70))
	}
	fn entry_closed_punish() -> Weight {
		Weight::from_parts(40_000_000, 8_000)
			.saturating_add(RocksDbWeight::get().reads_writes(5, 5))
	}
}
