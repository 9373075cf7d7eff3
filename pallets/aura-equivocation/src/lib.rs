//! # Aura equivocation reports (`AuraEquivocation`)
//!
//! An Aura authority may seal one block per slot. Two different blocks sealed by the same key for
//! the same slot are an equivocation: the author is trying to fork the chain. FRAME's Aura pallet
//! has no way to report one (BABE and GRANDPA do), so a validator running its key on two
//! machines, or forking on purpose, lost nothing. This pallet is that way:
//!
//! - [`Pallet::report_equivocation`] (signed) and [`Pallet::report_equivocation_unsigned`] (what a
//!   node submits when it sees two such headers) take an [`EquivocationProof`] — the offender's
//!   key, the slot and both headers — and a key-ownership proof (pallet-session's historical
//!   `MembershipProof`) that the key was the offender's session key.
//! - [`check_equivocation_proof`] checks the headers: different, both with an Aura pre-digest for
//!   the proof's slot, both sealed by the offender's key. Nothing else is trusted: a reporter
//!   cannot name an innocent validator without that validator's two signatures.
//! - The offence ([`AuraEquivocationOffence`], one per offender and slot) goes to
//!   pallet-offences, whose `OnOffenceHandler` (the validators pallet) slashes the bond by the
//!   offenders' share of the session's stake and chills them.
//!
//! Reports older than [`Config::MaxReportAge`] slots or for a slot still to come are refused, as
//! are key-ownership proofs of a session before the previous one and duplicates
//! (pallet-offences knows the offence).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::{boxed::Box, vec, vec::Vec};
use codec::Decode;
use frame_support::traits::{Get, KeyOwnerProofSystem};
use frame_system::pallet_prelude::HeaderFor;
use sp_consensus_aura::AURA_ENGINE_ID;
use sp_runtime::{
	traits::Header as HeaderT,
	transaction_validity::{
		InvalidTransaction, TransactionPriority, TransactionSource, TransactionValidity,
		TransactionValidityError, ValidTransaction,
	},
	DigestItem, DispatchError, KeyTypeId, Perbill, RuntimeAppPublic,
};
use sp_session::{GetSessionNumber, GetValidatorCount};
use sp_staking::{
	offence::{Kind, Offence, OffenceReportSystem, ReportOffence},
	SessionIndex,
};

pub use pallet::*;
pub use sp_consensus_slots::{EquivocationProof, Slot};

pub mod weights;
pub use weights::WeightInfo;

#[cfg(test)]
mod tests;

const LOG_TARGET: &str = "runtime::aura-equivocation";

/// The session key type of Aura authorities.
pub const KEY_TYPE: KeyTypeId = sp_core::crypto::key_types::AURA;

/// An equivocation proof as this runtime's headers and Aura keys make it.
pub type EquivocationProofOf<T> =
	EquivocationProof<HeaderFor<T>, <T as pallet_aura::Config>::AuthorityId>;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{dispatch::DispatchResultWithPostInfo, pallet_prelude::*};
	use frame_system::pallet_prelude::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config:
		frame_system::Config
		+ pallet_aura::Config
		+ pallet_authorship::Config
		+ pallet_session::Config
	{
		/// The proof that a key was an authority's session key (pallet-session's historical
		/// `MembershipProof`).
		type KeyOwnerProof: Parameter + GetSessionNumber + GetValidatorCount;

		/// Checks, reports and publishes equivocations: [`EquivocationReportSystem`] in a
		/// runtime.
		type EquivocationReportSystem: OffenceReportSystem<
			Option<Self::AccountId>,
			(EquivocationProofOf<Self>, Self::KeyOwnerProof),
		>;

		/// How many slots back an equivocation may still be reported (about the history of
		/// stake snapshots the slash is weighed against).
		#[pallet::constant]
		type MaxReportAge: Get<u64>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The headers are not an equivocation by the offender: the same header twice, another
		/// slot than the proof's, no Aura pre-digest, or a seal that is not the offender's.
		InvalidEquivocationProof,
		/// The key-ownership proof does not show the key was a session key of the offender.
		InvalidKeyOwnershipProof,
		/// The slot is still to come, or more than `MaxReportAge` slots ago; or the key-ownership
		/// proof is of a session before the previous one.
		StaleEquivocation,
		/// This offence was already reported.
		DuplicateOffenceReport,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Reports an Aura equivocation: two headers sealed by the same authority for one slot,
		/// with the proof that the key was the offender's. Free when it holds.
		#[pallet::call_index(0)]
		#[pallet::weight(<T as Config>::WeightInfo::report_equivocation(key_owner_proof.validator_count()))]
		pub fn report_equivocation(
			origin: OriginFor<T>,
			equivocation_proof: Box<EquivocationProofOf<T>>,
			key_owner_proof: T::KeyOwnerProof,
		) -> DispatchResultWithPostInfo {
			let reporter = ensure_signed(origin)?;
			T::EquivocationReportSystem::process_evidence(
				Some(reporter),
				(*equivocation_proof, key_owner_proof),
			)?;
			Ok(Pays::No.into())
		}

		/// The same report, unsigned: what a node submits through its local transaction pool
		/// when it imports two such headers (only local or in-block sources are valid). The
		/// block author is the reporter.
		#[pallet::call_index(1)]
		#[pallet::weight(<T as Config>::WeightInfo::report_equivocation(key_owner_proof.validator_count()))]
		pub fn report_equivocation_unsigned(
			origin: OriginFor<T>,
			equivocation_proof: Box<EquivocationProofOf<T>>,
			key_owner_proof: T::KeyOwnerProof,
		) -> DispatchResultWithPostInfo {
			ensure_none(origin)?;
			T::EquivocationReportSystem::process_evidence(
				None,
				(*equivocation_proof, key_owner_proof),
			)?;
			Ok(Pays::No.into())
		}
	}

	// As pallet-grandpa's and pallet-babe's reports in this release: unsigned reports are still
	// validated this way until `#[pallet::authorize]` replaces it (after April 2027).
	#[allow(deprecated)]
	#[pallet::validate_unsigned]
	impl<T: Config> ValidateUnsigned for Pallet<T> {
		type Call = Call<T>;

		fn validate_unsigned(source: TransactionSource, call: &Self::Call) -> TransactionValidity {
			let Call::report_equivocation_unsigned { equivocation_proof, key_owner_proof } = call
			else {
				return InvalidTransaction::Call.into();
			};
			// Reports come from this node's own detector, or in a block.
			if !matches!(source, TransactionSource::Local | TransactionSource::InBlock) {
				log::warn!(target: LOG_TARGET, "refusing an unsigned report from {source:?}");
				return InvalidTransaction::Call.into();
			}
			let evidence = (*equivocation_proof.clone(), key_owner_proof.clone());
			T::EquivocationReportSystem::check_evidence(evidence)?;
			let longevity =
				<T::EquivocationReportSystem as OffenceReportSystem<_, _>>::Longevity::get();
			ValidTransaction::with_tag_prefix("AuraEquivocation")
				.priority(TransactionPriority::MAX)
				.and_provides((equivocation_proof.offender.clone(), *equivocation_proof.slot))
				.longevity(longevity)
				.propagate(false)
				.build()
		}

		fn pre_dispatch(call: &Self::Call) -> Result<(), TransactionValidityError> {
			let Call::report_equivocation_unsigned { equivocation_proof, key_owner_proof } = call
			else {
				return Err(InvalidTransaction::Call.into());
			};
			T::EquivocationReportSystem::check_evidence((
				*equivocation_proof.clone(),
				key_owner_proof.clone(),
			))
		}
	}

	impl<T: Config> Pallet<T> {
		/// Submits an unsigned report through the local transaction pool (for the node's
		/// detector, through the runtime API). `None` when the pool refused it.
		pub fn submit_unsigned_equivocation_report(
			equivocation_proof: EquivocationProofOf<T>,
			key_owner_proof: T::KeyOwnerProof,
		) -> Option<()> {
			T::EquivocationReportSystem::publish_evidence((equivocation_proof, key_owner_proof))
				.ok()
		}
	}
}

/// The slot an Aura header claims (its pre-runtime digest), if any.
pub fn slot_of<H: HeaderT>(header: &H) -> Option<Slot> {
	header.digest().logs().iter().find_map(|item| match item {
		DigestItem::PreRuntime(id, data) if *id == AURA_ENGINE_ID => {
			Slot::decode(&mut &data[..]).ok()
		},
		_ => None,
	})
}

/// Whether `header`'s last digest item is an Aura seal of `signer` over the header without it.
fn sealed_by<H: HeaderT, Id: RuntimeAppPublic>(mut header: H, signer: &Id) -> bool {
	let Some(DigestItem::Seal(id, data)) = header.digest_mut().pop() else {
		return false;
	};
	if id != AURA_ENGINE_ID {
		return false;
	}
	let Ok(signature) = Id::Signature::decode(&mut &data[..]) else {
		return false;
	};
	let pre_hash = header.hash();
	signer.verify(&pre_hash.as_ref(), &signature)
}

/// Whether `proof` shows an equivocation: two different headers, both for the proof's slot, both
/// sealed by the offender's key.
pub fn check_equivocation_proof<H: HeaderT, Id: RuntimeAppPublic>(
	proof: &EquivocationProof<H, Id>,
) -> bool {
	proof.first_header.hash() != proof.second_header.hash()
		&& slot_of(&proof.first_header) == Some(proof.slot)
		&& slot_of(&proof.second_header) == Some(proof.slot)
		&& sealed_by(proof.first_header.clone(), &proof.offender)
		&& sealed_by(proof.second_header.clone(), &proof.offender)
}

/// Two blocks sealed for one slot by one authority.
pub struct AuraEquivocationOffence<Offender> {
	/// The slot both blocks claim.
	pub slot: Slot,
	/// The session of the key-ownership proof.
	pub session_index: SessionIndex,
	/// How many validators that session had.
	pub validator_set_count: u32,
	/// Who sealed both.
	pub offender: Offender,
}

impl<Offender: Clone> Offence<Offender> for AuraEquivocationOffence<Offender> {
	const ID: Kind = *b"aura:equivocatio";
	type Slot = Slot;

	fn offenders(&self) -> Vec<Offender> {
		vec![self.offender.clone()]
	}

	fn session_index(&self) -> SessionIndex {
		self.session_index
	}

	fn validator_set_count(&self) -> u32 {
		self.validator_set_count
	}

	fn slot(&self) -> Self::Slot {
		self.slot
	}

	/// By seats, as BABE's and GRANDPA's: `min(1, (3k/n)²)`. The validators pallet recomputes it
	/// from the offenders' stake.
	fn slash_fraction(&self, offenders_count: u32) -> Perbill {
		Perbill::from_rational(3 * offenders_count, self.validator_set_count).square()
	}
}

/// The runtime's [`Config::EquivocationReportSystem`]: checks proofs against the historical
/// session keys `P`, reports offences to `R` (pallet-offences), publishes unsigned reports that
/// live `L` blocks in the pool.
pub struct EquivocationReportSystem<T, R, P, L>(core::marker::PhantomData<(T, R, P, L)>);

impl<T, R, P, L>
	OffenceReportSystem<Option<T::AccountId>, (EquivocationProofOf<T>, T::KeyOwnerProof)>
	for EquivocationReportSystem<T, R, P, L>
where
	T: Config + frame_system::offchain::CreateBare<Call<T>>,
	R: ReportOffence<
		T::AccountId,
		P::IdentificationTuple,
		AuraEquivocationOffence<P::IdentificationTuple>,
	>,
	P: KeyOwnerProofSystem<(KeyTypeId, T::AuthorityId), Proof = T::KeyOwnerProof>,
	P::IdentificationTuple: Clone,
	L: Get<u64>,
{
	type Longevity = L;

	fn publish_evidence(evidence: (EquivocationProofOf<T>, T::KeyOwnerProof)) -> Result<(), ()> {
		use frame_system::offchain::SubmitTransaction;
		let (equivocation_proof, key_owner_proof) = evidence;
		let call = Call::report_equivocation_unsigned {
			equivocation_proof: Box::new(equivocation_proof),
			key_owner_proof,
		};
		let xt = T::create_bare(call.into());
		let submitted = SubmitTransaction::<T, Call<T>>::submit_transaction(xt);
		match submitted {
			Ok(()) => log::info!(target: LOG_TARGET, "submitted an Aura equivocation report"),
			Err(()) => {
				log::error!(target: LOG_TARGET, "the pool refused an Aura equivocation report")
			},
		}
		submitted
	}

	fn check_evidence(
		evidence: (EquivocationProofOf<T>, T::KeyOwnerProof),
	) -> Result<(), TransactionValidityError> {
		let (equivocation_proof, key_owner_proof) = evidence;
		let key = (KEY_TYPE, equivocation_proof.offender.clone());
		let offender = P::check_proof(key, key_owner_proof).ok_or(InvalidTransaction::BadProof)?;
		if R::is_known_offence(&[offender], &equivocation_proof.slot) {
			Err(InvalidTransaction::Stale.into())
		} else {
			Ok(())
		}
	}

	fn process_evidence(
		reporter: Option<T::AccountId>,
		evidence: (EquivocationProofOf<T>, T::KeyOwnerProof),
	) -> Result<(), DispatchError> {
		let (equivocation_proof, key_owner_proof) = evidence;
		let reporter = reporter.or_else(pallet_authorship::Pallet::<T>::author);
		let slot = equivocation_proof.slot;
		let current = pallet_aura::CurrentSlot::<T>::get();
		if slot > current
			|| u64::from(current).saturating_sub(u64::from(slot)) > T::MaxReportAge::get()
		{
			return Err(Error::<T>::StaleEquivocation.into());
		}
		if !check_equivocation_proof(&equivocation_proof) {
			return Err(Error::<T>::InvalidEquivocationProof.into());
		}
		let session_index = key_owner_proof.session();
		// The offence is weighed against the stake of the proof's session: it must be the
		// current or the previous one (a node proves ownership at its best block), so that a
		// reporter cannot pick an older session where the offender's share was larger.
		let current_session = pallet_session::CurrentIndex::<T>::get();
		if session_index.saturating_add(1) < current_session {
			return Err(Error::<T>::StaleEquivocation.into());
		}
		let validator_set_count = key_owner_proof.validator_count();
		let offender = P::check_proof((KEY_TYPE, equivocation_proof.offender), key_owner_proof)
			.ok_or(Error::<T>::InvalidKeyOwnershipProof)?;
		let offence =
			AuraEquivocationOffence { slot, session_index, validator_set_count, offender };
		R::report_offence(reporter.into_iter().collect(), offence)
			.map_err(|_| Error::<T>::DuplicateOffenceReport)?;
		Ok(())
	}
}

sp_api::decl_runtime_apis! {
	/// What a node's equivocation detector needs of the runtime.
	pub trait AuraEquivocationApi<AuthorityId>
	where
		AuthorityId: codec::Codec,
	{
		/// The proof that `authority_id` is a session key now, to go with a report.
		fn generate_key_ownership_proof(
			slot: Slot,
			authority_id: AuthorityId,
		) -> Option<sp_runtime::OpaqueValue>;

		/// Submits an unsigned report through the local pool (needs the offchain transaction
		/// pool extension). `None` when it could not.
		fn submit_report_equivocation_unsigned_extrinsic(
			equivocation_proof: EquivocationProof<Block::Header, AuthorityId>,
			key_owner_proof: sp_runtime::OpaqueValue,
		) -> Option<()>;
	}
}

/// Sealing helpers shared by this crate's tests and the runtime's.
#[cfg(feature = "std")]
pub mod testing {
	use super::*;
	use codec::Encode;

	/// `header` with an Aura pre-digest for `slot`, sealed by `signer` (which must be in the
	/// keystore of the externalities).
	pub fn sealed<H: HeaderT, Id: RuntimeAppPublic>(mut header: H, slot: Slot, signer: &Id) -> H {
		header.digest_mut().push(DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode()));
		let signature = signer.sign(&header.hash().as_ref()).expect("the signer's key is known");
		header.digest_mut().push(DigestItem::Seal(AURA_ENGINE_ID, signature.encode()));
		header
	}
}
