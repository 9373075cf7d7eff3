//! Weights of `pallet-aura-equivocation`.
//!
//! A report costs what the same report costs BABE and GRANDPA (their `report_equivocation`
//! weights, from their benchmarks): the key-ownership proof (a walk of the session's historical
//! trie, linear in the validator count), two sr25519 seal checks and the offence's reporting and
//! slash. There is no benchmark of this pallet yet; the runtime uses these.

use frame_support::weights::{
	constants::{RocksDbWeight, WEIGHT_REF_TIME_PER_MICROS, WEIGHT_REF_TIME_PER_NANOS},
	Weight,
};

/// Weight functions of `pallet-aura-equivocation`.
pub trait WeightInfo {
	/// A report against a session of `validator_count` validators.
	fn report_equivocation(validator_count: u32) -> Weight;
}

impl WeightInfo for () {
	fn report_equivocation(validator_count: u32) -> Weight {
		let db = RocksDbWeight::get();
		// The key-ownership proof against the historical session root.
		Weight::from_parts(35 * WEIGHT_REF_TIME_PER_MICROS, 0)
			.saturating_add(
				Weight::from_parts(175 * WEIGHT_REF_TIME_PER_NANOS, 0)
					.saturating_mul(validator_count.into()),
			)
			.saturating_add(db.reads(5))
			// Two header hashes and two sr25519 verifications.
			.saturating_add(Weight::from_parts(95 * WEIGHT_REF_TIME_PER_MICROS, 0))
			// pallet-offences' records and the validators pallet's slash: the hold, the ledger,
			// the bond total, the pot, the candidate and the slash record.
			.saturating_add(Weight::from_parts(110 * WEIGHT_REF_TIME_PER_MICROS, 0))
			.saturating_add(db.reads_writes(10, 14))
			// Proof size: the historical trie nodes and the records read.
			.saturating_add(Weight::from_parts(0, 16_000))
	}
}
