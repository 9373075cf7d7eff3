//! The hooks and calls of the ledger, charged at their benchmarked worst case, fit in a block.
//!
//! A hook that may weigh more than a block stalls the chain (its weight is mandatory: no
//! extrinsic fits after it); a call heavier than the normal-class limit can never be included.

use frame_support::{dispatch::DispatchClass, traits::Get, weights::Weight};
use membria_runtime::{configs::RuntimeBlockWeights, Runtime};
use pallet_dod::WeightInfo as _;
use pallet_kcg::{Closure, EntryClosed, EntryVoting, WeightInfo as _};
use pallet_kcg_validators::WeightInfo as _;

type KcgWeights = <Runtime as pallet_kcg::Config>::WeightInfo;
type DodWeights = <Runtime as pallet_dod::Config>::WeightInfo;
type ValidatorWeights = <Runtime as pallet_kcg_validators::Config>::WeightInfo;
type Listeners = <Runtime as pallet_kcg::Config>::OnEntryClosed;

fn max_entries() -> u32 {
	<Runtime as pallet_kcg::Config>::MaxEntriesPerBlock::get()
}

#[test]
fn the_worst_block_of_expiries_leaves_room_for_extrinsics() {
	let weights = RuntimeBlockWeights::get();
	// Every entry of a full deadline block expires, each with a vote from every validator and
	// its gap's claimant to slash; the DoD hook expires its most gaps and demands at once.
	let n = max_entries();
	let kcg = KcgWeights::on_initialize_expire(n)
		.saturating_add(Listeners::entry_closed_weight(Closure::Expired).saturating_mul(n.into()));
	let most = <Runtime as pallet_dod::Config>::MaxExpiriesPerBlock::get();
	let dod = DodWeights::on_initialize_expire(most, most);
	let hooks = kcg.saturating_add(dod);
	let half = weights.max_block / 2;
	assert!(
		hooks.all_lte(half),
		"the worst expiry block weighs {hooks:?}, more than half a block ({half:?})"
	);
}

/// The most one normal-class extrinsic may weigh.
fn normal_extrinsic_limit() -> Weight {
	RuntimeBlockWeights::get()
		.get(DispatchClass::Normal)
		.max_extrinsic
		.expect("normal extrinsics have a limit")
}

#[test]
fn a_deciding_vote_fits_in_a_normal_extrinsic() {
	let limit = normal_extrinsic_limit();
	let voters = <Runtime as pallet_kcg_validators::Config>::MaxValidators::get();
	// The vote settles every voter and the KCG's listeners pay a gap's most requesters.
	let decide = ValidatorWeights::attest_and_decide(voters)
		.saturating_add(<Runtime as pallet_kcg_validators::Config>::Entries::decide_weight());
	assert!(
		decide.all_lte(limit),
		"a deciding vote weighs {decide:?}, over the normal limit {limit:?}"
	);
	// And the listeners' share is not nothing: filling a gap of 64 requesters is real work.
	assert!(
		<pallet_kcg::Pallet<Runtime> as EntryVoting>::decide_weight().ref_time()
			> Weight::from_parts(1_000_000, 0).ref_time()
	);
}

#[test]
fn a_full_attest_many_fits_in_a_normal_extrinsic() {
	// Every vote at its worst and `MaxDecisionsPerCall` of them deciding.
	let most = <Runtime as pallet_kcg_validators::Config>::MaxVotesPerCall::get();
	let call = pallet_kcg_validators::Pallet::<Runtime>::attest_many_weight(most);
	// At most a quarter of what one extrinsic may weigh: a block holds several validators'
	// full calls.
	let quarter = normal_extrinsic_limit() / 4;
	assert!(call.all_lte(quarter), "a full attest_many weighs {call:?}, over {quarter:?}");
}

/// How many attestations the normal class of one block holds, sent as full `attest_many`
/// calls and a last smaller one. A call is admitted if its declared weight (every vote at its
/// worst, `MaxDecisionsPerCall` decisions) fits what is left; the block is then charged what
/// it did: each vote `actual(n)` for `n` votes, none deciding, and the extrinsic's base weight.
fn attestations_per_block(actual: impl Fn(u32) -> Weight) -> u32 {
	let weights = RuntimeBlockWeights::get();
	let normal = weights.get(DispatchClass::Normal);
	let room = normal.max_total.expect("the normal class has a limit");
	let per_call = <Runtime as pallet_kcg_validators::Config>::MaxVotesPerCall::get();
	let declared = |n: u32| {
		normal
			.base_extrinsic
			.saturating_add(pallet_kcg_validators::Pallet::<Runtime>::attest_many_weight(n))
	};
	let fits = |used: Weight, n: u32| used.saturating_add(declared(n)).all_lte(room);
	let mut used = Weight::zero();
	let mut votes = 0u32;
	while fits(used, per_call) {
		used = used.saturating_add(normal.base_extrinsic).saturating_add(actual(per_call));
		votes += per_call;
	}
	// The last call: the most votes whose declared weight still fits.
	let (mut low, mut high) = (0u32, per_call);
	while low < high {
		let mid = (low + high).div_ceil(2);
		if fits(used, mid) {
			low = mid;
		} else {
			high = mid - 1;
		}
	}
	votes + low
}

/// Issue 15, goal 4: at least 10,000 attestations a block. A vote reads and writes its entry's
/// ballot, opened with the entry (benchmarked on ballots every other validator voted on).
/// Printed for BENCHMARKS.md ("Attestations per block").
#[test]
fn ten_thousand_attestations_fit_a_block() {
	let votes = attestations_per_block(ValidatorWeights::attest_many);
	println!("attestations per block: {votes}");
	assert!(votes >= 10_000, "only {votes} attestations fit a block");
}
