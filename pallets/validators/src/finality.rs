//! GRANDPA voter weights from a session's stake snapshot.
//!
//! A device believes a header when voters holding more than two thirds of the finality weight
//! signed it. If every seat weighed the same, seats bought at the minimum bond could outvote
//! the stake that secures the chain; so each voter weighs what it has at stake in the session,
//! exactly the stake its attestations on knowledge entries carry ([`crate::SessionStakes`]).
//!
//! GRANDPA weights are `u64` and their sum must fit in one, while stake is a `u128` balance:
//! stake is counted in units of `unit = ⌈total / 2^48⌉` (one planck whenever the total stake is
//! at most 2^48), rounded down, and a voter always weighs at least 1. Each voter's weight is
//! then within one unit of its stake, so for `n` voters a set holding less than a third of the
//! stake, less `4·n` units (for 32 voters under 10⁻¹² of the total), holds less than a third
//! of the weight — it can neither finalize alone nor stop the others from finalizing.

use alloc::vec::Vec;

/// The part of their bonds offenders of a session lose for equivocating together: GRANDPA's
/// `min(1, (3k/n)²)` with seats replaced by stake — `min(1, (3·offending / total)²)` — so a
/// lone equivocator holding a third of the stake loses everything however many cheap seats pad
/// the set, and one holding a thousandth loses almost nothing (its double vote cannot finalize
/// anything alone).
pub fn equivocation_slash(offending_stake: u128, total_stake: u128) -> sp_runtime::Perbill {
	if total_stake == 0 {
		return sp_runtime::Perbill::zero();
	}
	let share = sp_runtime::Perbill::from_rational(
		offending_stake.min(total_stake).saturating_mul(3).min(total_stake),
		total_stake,
	);
	share.square()
}

/// The total weight stake is scaled into, at most (before each voter's minimum of 1).
pub const MAX_TOTAL_WEIGHT: u128 = 1 << 48;

/// The planck per unit of weight for a session whose stakes sum to `total`.
pub fn weight_unit(total: u128) -> u128 {
	total.div_ceil(MAX_TOTAL_WEIGHT).max(1)
}

/// Each validator's GRANDPA weight: its stake in units of [`weight_unit`], at least 1. The order
/// of `stakes` is kept.
pub fn finality_weights<AccountId: Clone>(stakes: &[(AccountId, u128)]) -> Vec<(AccountId, u64)> {
	let total = stakes.iter().fold(0u128, |sum, (_, stake)| sum.saturating_add(*stake));
	let unit = weight_unit(total);
	stakes
		.iter()
		.map(|(who, stake)| {
			// stake / unit ≤ total / unit ≤ 2^48: always fits.
			let weight = u64::try_from(stake / unit).unwrap_or(u64::MAX).max(1);
			(who.clone(), weight)
		})
		.collect()
}

#[cfg(test)]
mod tests {
	use super::*;
	use proptest::prelude::*;

	fn sum(weights: &[(u32, u64)]) -> u128 {
		weights.iter().map(|(_, w)| u128::from(*w)).sum()
	}

	#[test]
	fn small_stakes_are_weighed_exactly() {
		let weights = finality_weights(&[(1u32, 10_000u128), (2, 10_000), (3, 10_000), (4, 1)]);
		assert_eq!(weights, vec![(1, 10_000), (2, 10_000), (3, 10_000), (4, 1)]);
	}

	/// The attack on `local`: three genesis validators at 10,000 MEM and seven seats at
	/// the minimum bond. One seat one vote, the seven hold 7/10 of the votes — more than GRANDPA's
	/// threshold of 7 — with a fifth of the stake; weighed by stake they hold a fifth.
	#[test]
	fn seven_cheap_seats_hold_the_weight_of_their_stake() {
		const MEM: u128 = 1_000_000_000_000;
		let mut stakes: Vec<(u32, u128)> = (0..3).map(|v| (v, 10_000 * MEM)).collect();
		stakes.extend((3..10).map(|v| (v, 1_000 * MEM)));
		let weights = finality_weights(&stakes);
		let total = sum(&weights);
		let cheap: u128 = weights[3..].iter().map(|(_, w)| u128::from(*w)).sum();
		// GRANDPA's threshold: total − ⌊(total − 1) / 3⌋.
		let threshold = total - (total - 1) / 3;
		assert!(cheap < threshold, "cheap seats reach the threshold");
		assert!(cheap * 3 < total, "cheap seats hold a third of the weight");
		// With one vote per seat they would have finalized alone: 7 of 10 reaches 10 − 3.
		let seats: u128 = 10;
		assert_eq!(seats - (seats - 1) / 3, 7);
	}

	#[test]
	fn equivocation_slashes_follow_stake() {
		use sp_runtime::Perbill;
		assert_eq!(equivocation_slash(1, 3), Perbill::one(), "a third loses all");
		assert_eq!(equivocation_slash(2, 3), Perbill::one());
		assert_eq!(equivocation_slash(0, 3), Perbill::zero());
		assert_eq!(equivocation_slash(5, 0), Perbill::zero());
		// A tenth of the stake: (3/10)² = 9%.
		assert_eq!(equivocation_slash(10, 100), Perbill::from_percent(9));
		// One seat of 32 (a third of the stake, padded with 31 cheap seats) still loses all.
		assert_eq!(equivocation_slash(34, 100), Perbill::one());
		assert_eq!(equivocation_slash(u128::MAX, u128::MAX), Perbill::one());
	}

	#[test]
	fn huge_stakes_fit_in_u64() {
		let stakes = vec![(1u32, u128::MAX / 4), (2, u128::MAX / 4), (3, 1)];
		let weights = finality_weights(&stakes);
		assert!(sum(&weights) <= u128::from(u64::MAX));
		assert_eq!(weights[2].1, 1, "every voter weighs at least 1");
		assert_eq!(weights[0].1, weights[1].1);
	}

	proptest! {
		/// Any set of voters holding under a third of the stake (by more than the rounding
		/// margin of 4·n units) holds under a third of the finality weight; the total always
		/// fits in a u64; no voter weighs 0.
		#[test]
		fn under_a_third_of_the_stake_is_under_a_third_of_the_weight(
			stakes in proptest::collection::vec(1u128..=1u128 << 100, 1..=32),
			members in proptest::collection::vec(any::<bool>(), 32),
		) {
			let stakes: Vec<(u32, u128)> =
				stakes.into_iter().enumerate().map(|(i, s)| (i as u32, s)).collect();
			let weights = finality_weights(&stakes);
			let total_weight = sum(&weights);
			prop_assert!(total_weight <= u128::from(u64::MAX));
			prop_assert!(weights.iter().all(|(_, w)| *w >= 1));
			let total_stake: u128 = stakes.iter().map(|(_, s)| *s).sum();
			let unit = weight_unit(total_stake);
			let n = stakes.len() as u128;
			let (set_stake, set_weight) = stakes
				.iter()
				.zip(&weights)
				.zip(&members)
				.filter(|(_, member)| **member)
				.fold((0u128, 0u128), |(s, w), (((_, stake), (_, weight)), _)| {
					(s + stake, w + u128::from(*weight))
				});
			if set_stake * 3 + 4 * n * unit < total_stake {
				prop_assert!(set_weight * 3 < total_weight,
					"{set_stake}/{total_stake} stake gave {set_weight}/{total_weight} weight");
			}
			// And a set holding over two thirds of the stake (by 5·n units) holds over two
			// thirds of the weight: the honest supermajority can always finalize.
			if set_stake * 3 > total_stake * 2 + 5 * n * unit {
				prop_assert!(set_weight * 3 > total_weight * 2);
			}
		}
	}
}
