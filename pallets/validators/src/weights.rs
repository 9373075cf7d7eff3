//! Weights of `pallet-kcg-validators`.
//!
//! The runtime uses the weights measured by `scripts/bench-weights.sh`
//! (`runtime/src/weights/`). The `()` implementation here is a rough estimate for mock runtimes
//! in tests only.

use frame_support::weights::{constants::RocksDbWeight, Weight};

/// Weight functions of `pallet-kcg-validators`.
pub trait WeightInfo {
	fn bond() -> Weight;
	fn bond_extra() -> Weight;
	fn unbond() -> Weight;
	fn withdraw_unbonded() -> Weight;
	fn validate() -> Weight;
	fn chill() -> Weight;
	/// `n` votes of one call, none deciding, each on a ballot that `MaxValidators - 1` other
	/// validators voted on.
	fn attest_many(n: u32) -> Weight;
	/// A vote that decides its entry, settling `v` votes (slashes and rewards).
	fn attest_and_decide(v: u32) -> Weight;
	fn set_params() -> Weight;
	/// An entry expired or retracted with `MaxValidators` votes on it: its ballot dropped.
	fn entry_closed() -> Weight;
}

fn estimate(
	base: u64,
	proof: u64,
	reads: u64,
	writes: u64,
	db: frame_support::weights::RuntimeDbWeight,
) -> Weight {
	Weight::from_parts(base, proof).saturating_add(db.reads_writes(reads, writes))
}

/// For mock runtimes in tests: rough estimates at RocksDB costs.
impl WeightInfo for () {
	fn bond() -> Weight {
		estimate(45_000_000, 4_000, 5, 4, RocksDbWeight::get())
	}
	fn bond_extra() -> Weight {
		estimate(45_000_000, 4_000, 5, 4, RocksDbWeight::get())
	}
	fn unbond() -> Weight {
		estimate(35_000_000, 4_000, 4, 3, RocksDbWeight::get())
	}
	fn withdraw_unbonded() -> Weight {
		estimate(45_000_000, 4_000, 4, 4, RocksDbWeight::get())
	}
	fn validate() -> Weight {
		estimate(25_000_000, 3_500, 4, 2, RocksDbWeight::get())
	}
	fn chill() -> Weight {
		estimate(20_000_000, 3_500, 2, 2, RocksDbWeight::get())
	}
	fn attest_many(n: u32) -> Weight {
		estimate(30_000_000, 4_000, 2, 0, RocksDbWeight::get()).saturating_add(
			estimate(12_000_000, 1_500, 1, 1, RocksDbWeight::get()).saturating_mul(n.into()),
		)
	}
	fn attest_and_decide(v: u32) -> Weight {
		estimate(120_000_000, 12_000, 14, 12, RocksDbWeight::get()).saturating_add(
			estimate(60_000_000, 4_000, 5, 5, RocksDbWeight::get()).saturating_mul(v.into()),
		)
	}
	fn set_params() -> Weight {
		estimate(10_000_000, 0, 0, 1, RocksDbWeight::get())
	}
	fn entry_closed() -> Weight {
		estimate(40_000_000, 4_000, 34, 34, RocksDbWeight::get())
	}
}
