//! Finality that costs stake: GRANDPA voters weighted by their session stake, and equivocations
//! reported, proven against the session's key ownership (pallet-session's historical proofs),
//! and slashed through the validators pallet (pallet-offences).

use alloc::vec::Vec;
use frame_support::{
	parameter_types,
	traits::{ConstU32, ConstU64, OneSessionHandler},
	WeakBoundedVec,
};
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_runtime::traits::Convert;

use super::MAX_AUTHORITIES;
use crate::{
	AccountId, Aura, BlockNumber, Historical, Offences, Runtime, RuntimeEvent, UncheckedExtrinsic,
	Validators,
};

/// How many GRANDPA set ids keep the session they belong to: an equivocation can be reported
/// for that many authority-set changes back. Sessions change the set at most once each, so this
/// covers at least as many sessions as the validators pallet keeps stake snapshots for.
pub const SET_ID_SESSION_ENTRIES: u64 = 336;

parameter_types! {
	/// An equivocation report stays valid in the pool for about an hour of blocks.
	pub const ReportLongevity: u64 = 600;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<MAX_AUTHORITIES>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<SET_ID_SESSION_ENTRIES>;
	type KeyOwnerProof = sp_session::MembershipProof;
	type EquivocationReportSystem =
		pallet_grandpa::EquivocationReportSystem<Self, Offences, Historical, ReportLongevity>;
}

/// Validators are identified by their account alone.
pub struct AccountIsIdentity;
impl Convert<AccountId, Option<()>> for AccountIsIdentity {
	fn convert(_: AccountId) -> Option<()> {
		Some(())
	}
}

parameter_types! {
	/// An Aura equivocation may be reported for an hour of slots after it.
	pub const MaxAuraReportAge: u64 = 600;
}

impl pallet_aura_equivocation::Config for Runtime {
	type KeyOwnerProof = sp_session::MembershipProof;
	type EquivocationReportSystem = pallet_aura_equivocation::EquivocationReportSystem<
		Self,
		Offences,
		Historical,
		ReportLongevity,
	>;
	type MaxReportAge = MaxAuraReportAge;
	type WeightInfo = ();
}

impl pallet_session::historical::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type FullIdentification = ();
	type FullIdentificationOf = AccountIsIdentity;
}

impl pallet_offences::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type IdentificationTuple = pallet_session::historical::IdentificationTuple<Self>;
	type OnOffenceHandler = Validators;
}

/// The author of a block (the reporter of an offence included in it): the Aura authority of the
/// block's slot, as an account.
impl pallet_authorship::Config for Runtime {
	type FindAuthor = pallet_session::FindAccountFromAuthorIndex<Self, Aura>;
	type EventHandler = ();
}

/// Equivocation reports are unsigned transactions built by the node's GRANDPA voter.
impl<LocalCall> frame_system::offchain::CreateBare<LocalCall> for Runtime
where
	crate::RuntimeCall: From<LocalCall>,
{
	fn create_bare(call: crate::RuntimeCall) -> UncheckedExtrinsic {
		UncheckedExtrinsic::new_bare(call)
	}
}

/// pallet-grandpa's session handler with one change: each voter weighs its stake in the
/// session's snapshot (the validators pallet's `finality_weights`) instead of 1, and a change of
/// weights alone is a new authority set too. Everything else — set ids, the set id → session
/// map equivocation proofs are checked against, stalls, disabling — is pallet-grandpa's own.
pub struct StakeWeightedGrandpa;

impl sp_runtime::BoundToRuntimeAppPublic for StakeWeightedGrandpa {
	type Public = GrandpaId;
}

impl StakeWeightedGrandpa {
	/// The weighted voters for `keys` (the accounts of a session and their GRANDPA keys),
	/// weighed by `session`'s stake snapshot. A validator missing from the snapshot (never the
	/// case: the session's validators are the snapshot's accounts) weighs 1.
	fn weighted(
		session: u32,
		keys: &[(&AccountId, GrandpaId)],
	) -> Vec<(GrandpaId, sp_consensus_grandpa::AuthorityWeight)> {
		let weights = Validators::finality_weights(session);
		keys.iter()
			.map(|(who, key)| {
				let weight = weights
					.iter()
					.find(|(account, _)| account == *who)
					.map(|(_, weight)| *weight)
					.unwrap_or(1);
				(key.clone(), weight)
			})
			.collect()
	}
}

/// Whether `next` is another authority set than `current`: other voters, or a voter whose
/// weight moved by more than 1%. Smaller moves (a planck bonded, rounding) are not worth a set
/// change — each costs every device a justification to check — and they cannot accumulate
/// unseen: each session compares with the set in force, not with the last session's.
fn reweighs(
	current: &[(GrandpaId, sp_consensus_grandpa::AuthorityWeight)],
	next: &[(GrandpaId, sp_consensus_grandpa::AuthorityWeight)],
) -> bool {
	current.len() != next.len()
		|| current.iter().zip(next).any(|((a, wa), (b, wb))| {
			a != b || wa.abs_diff(*wb).saturating_mul(100) > (*wa).max(*wb)
		})
}

/// A session handler's item again, from a collected one.
fn owned<'a>(item: &(&'a AccountId, GrandpaId)) -> (&'a AccountId, GrandpaId) {
	(item.0, item.1.clone())
}

impl OneSessionHandler<AccountId> for StakeWeightedGrandpa {
	type Key = GrandpaId;

	fn on_genesis_session<'a, I>(validators: I)
	where
		I: Iterator<Item = (&'a AccountId, GrandpaId)> + 'a,
	{
		let keys: Vec<_> = validators.collect();
		<pallet_grandpa::Pallet<Runtime> as OneSessionHandler<AccountId>>::on_genesis_session(
			keys.iter().map(owned),
		);
		let weighted = Self::weighted(0, &keys);
		pallet_grandpa::Authorities::<Runtime>::put(WeakBoundedVec::force_from(weighted, None));
	}

	fn on_new_session<'a, I>(changed: bool, validators: I, queued_validators: I)
	where
		I: Iterator<Item = (&'a AccountId, GrandpaId)> + 'a,
	{
		let keys: Vec<_> = validators.collect();
		let session = pallet_session::Pallet::<Runtime>::current_index();
		let weighted = Self::weighted(session, &keys);
		let reweighted = reweighs(&pallet_grandpa::Authorities::<Runtime>::get(), &weighted);
		let now: BlockNumber = frame_system::Pallet::<Runtime>::block_number();
		// Both iterators must have one type: pallet-grandpa ignores the queued one anyway.
		let queued: Vec<(&AccountId, GrandpaId)> = queued_validators.collect();
		<pallet_grandpa::Pallet<Runtime> as OneSessionHandler<AccountId>>::on_new_session(
			changed || reweighted,
			keys.iter().map(owned),
			queued.iter().map(owned),
		);
		// pallet-grandpa scheduled the change with one vote per voter; its digest is deposited
		// at the end of this block, so the weights written here are the ones signalled.
		pallet_grandpa::PendingChange::<Runtime>::mutate(|pending| {
			if let Some(pending) = pending.as_mut().filter(|p| p.scheduled_at == now) {
				pending.next_authorities = WeakBoundedVec::force_from(weighted, None);
			}
		});
	}

	fn on_disabled(validator_index: u32) {
		<pallet_grandpa::Pallet<Runtime> as OneSessionHandler<AccountId>>::on_disabled(
			validator_index,
		)
	}
}
