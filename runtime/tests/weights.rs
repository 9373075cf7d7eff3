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

#[test]
fn a_deciding_vote_fits_in_a_normal_extrinsic() {
	let weights = RuntimeBlockWeights::get();
	let limit = weights
		.get(DispatchClass::Normal)
		.max_extrinsic
		.expect("normal extrinsics have a limit");
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
