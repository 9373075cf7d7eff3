//! # Knowledge Cache Graph pallet (`Kcg`)
//!
//! The on-chain half of Membria's shared memory: what is known, by whom it was submitted, where
//! its body lives, how entries relate, and which entry is the validated answer to a question.
//!
//! ## Overview
//!
//! - [`Pallet::submit_entry`]: anyone may submit a knowledge entry — the blake2-256 of its body,
//!   the body's CID on IPFS, its size and the key of the question it answers — by holding
//!   [`Config::EntryDeposit`]. The entry is `Pending` until validators decide it, or until its
//!   voting deadline passes (`Expired`: [`ExpirySlash`] of the deposit goes to
//!   [`Config::Slashed`], the rest comes back).
//! - Validators decide entries through [`EntryVoting`], implemented here and called by the
//!   validators pallet: `Validated` returns the deposit less [`Config::ValidationFee`] (to the
//!   validators' reward pot: what deciding it earns them) and makes the entry the [`Answer`] to its
//!   question (the previous answer becomes `Superseded`); `Rejected` slashes the deposit to
//!   [`Config::Slashed`].
//! - Links: an entry is submitted with its typed links (supports, contradicts, refines, related)
//!   to entries validated at that moment, the same links its body lists, each adding
//!   [`Config::LinkDeposit`] to the deposit. Validators check them with the body (a link that
//!   does not hold rejects the entry); when the entry is validated they become the graph's
//!   edges in [`Links`] (a `Linked` event each), so a validated entry's links are as trustworthy
//!   as its body, and devices read them from the entry's record with a storage proof.
//! - [`Pallet::retract`]: the author withdraws a pending entry; the deposit comes back minus
//!   [`Config::RetractFee`].
//!
//! ### Why an expired entry costs its author
//!
//! Validators fetch every pending entry's body from IPFS before they vote. A body that never
//! becomes available (a CID nobody serves, a size that does not match it) cannot be judged, so
//! nobody votes and the entry expires. If expiry were free, such entries would cost only their
//! transaction fees while each one takes validators' fetch attempts until its deadline. So an
//! expiry takes [`ExpirySlash`] of the deposit (root sets it with [`Pallet::set_expiry_slash`];
//! never less than [`Config::RetractFee`], so withdrawing an entry its author knows cannot be
//! fetched is never dearer than leaving it to expire).
//!
//! ### Terminology
//!
//! - **Body**: the JSON document on IPFS (question, answer, facts, sources …).
//! - **Question key**: blake2-256 of the normalized question ([`membria_primitives::question_key`]).
//! - **Session**: the validator session whose stake snapshot decides an entry; fixed at submission.
//!
//! Knowledge is corrected and refreshed by newer validated entries, never silently overwritten:
//! every status change is an event, and a superseded entry keeps a pointer to its successor.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod migrations;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

/// Off-chain signing for mock runtimes (`AccountId = u64`): `UintAuthorityId` keys sign as the
/// account of the same number, and signed transactions are `TestSignature`-signed extrinsics.
/// The runtime's `Block` must be `MockBlock<Test, TestSignature, ()>`. Defines `TestAuthId`.
#[doc(hidden)]
#[macro_export]
macro_rules! impl_test_offchain_signing {
	($runtime:ty) => {
		impl frame_system::offchain::SigningTypes for $runtime {
			type Public = sp_runtime::testing::UintAuthorityId;
			type Signature = sp_runtime::testing::TestSignature;
		}

		impl<C> frame_system::offchain::CreateTransactionBase<C> for $runtime
		where
			RuntimeCall: From<C>,
		{
			type Extrinsic = frame_system::mocking::MockUncheckedExtrinsic<
				$runtime,
				sp_runtime::testing::TestSignature,
				(),
			>;
			type RuntimeCall = RuntimeCall;
		}

		impl<C> frame_system::offchain::CreateSignedTransaction<C> for $runtime
		where
			RuntimeCall: From<C>,
		{
			fn create_signed_transaction<
				A: frame_system::offchain::AppCrypto<Self::Public, Self::Signature>,
			>(
				call: RuntimeCall,
				_public: sp_runtime::testing::UintAuthorityId,
				account: u64,
				_nonce: u32,
			) -> Option<Self::Extrinsic> {
				let signature = sp_runtime::testing::TestSignature(account, Vec::new());
				Some(frame_system::mocking::MockUncheckedExtrinsic::<
					$runtime,
					sp_runtime::testing::TestSignature,
					(),
				>::new_signed(call, account, signature, ()))
			}
		}

		/// Test keys for off-chain workers.
		pub struct TestAuthId;
		impl
			frame_system::offchain::AppCrypto<
				sp_runtime::testing::UintAuthorityId,
				sp_runtime::testing::TestSignature,
			> for TestAuthId
		{
			type RuntimeAppPublic = sp_runtime::testing::UintAuthorityId;
			type GenericPublic = sp_runtime::testing::UintAuthorityId;
			type GenericSignature = sp_runtime::testing::TestSignature;
		}
	};
}

pub use membria_kcg_primitives::*;
pub use membria_primitives::{Decision, EntryId, GapId, QuestionKey, Relation, SessionIndex};
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, InspectHold, Mutate, MutateHold},
			tokens::{fungible::BalancedHold, Precision},
			Imbalance, OnUnbalanced,
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::{traits::Saturating, Perbill};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency deposits are held in.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ MutateHold<Self::AccountId>
			+ BalancedHold<Self::AccountId>;

		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;

		/// Where slashed deposits (rejected entries, retraction fees) go: the validators' reward
		/// pot.
		type Slashed: OnUnbalanced<CreditOf<Self>>;

		/// The current validator session: its stake decides the entries submitted during it.
		type Sessions: CurrentSession;

		/// Told when an entry opens for votes (its submission), so that its ballot is ready for
		/// the first vote. Its cost is in this pallet's and its callers' benchmarks, run on the
		/// runtime with the runtime's listener.
		type OnEntryOpened: EntryOpened<BlockNumberFor<Self>>;

		/// Told when an entry's vote is over (decided, expired or retracted), so that votes on
		/// it can be cleared and demand on its question answered.
		type OnEntryClosed: EntryClosed<Self::AccountId>;

		/// The knowledge gaps entries may name (the DoD pallet), `()` for none.
		type Gaps: GapClaims<Self::AccountId>;

		/// Held from the author for every entry until it is decided.
		#[pallet::constant]
		type EntryDeposit: Get<BalanceOf<Self>>;

		/// Added to an entry's deposit for each of its links (held, returned and slashed with it).
		#[pallet::constant]
		type LinkDeposit: Get<BalanceOf<Self>>;

		/// The part of the deposit a retraction costs (the least [`ExpirySlash`] may be).
		#[pallet::constant]
		type RetractFee: Get<Perbill>;

		/// The part of the deposit a validated entry pays the validators' reward pot: what
		/// deciding it earns them. A validator's reward for one decision is at most this, so
		/// submitting entries only to decide them never pays.
		#[pallet::constant]
		type ValidationFee: Get<Perbill>;

		/// The largest body, in bytes, an entry may describe.
		#[pallet::constant]
		type MaxBodySize: Get<u32>;

		/// The most entries whose vote can end in one block (bounds the expiry work of a block).
		#[pallet::constant]
		type MaxEntriesPerBlock: Get<u32>;

		/// How many blocks later an entry's deadline may move when the blocks before are full
		/// (so a busy block takes up to `MaxEntriesPerBlock × (DeadlineSpill + 1)` entries).
		#[pallet::constant]
		type DeadlineSpill: Get<u32>;

		/// The most entries one call of the `validated_since` runtime API returns.
		#[pallet::constant]
		type MaxPageSize: Get<u32>;

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The deposit of a knowledge entry (and its links), held until it is decided.
		EntryDeposit,
	}

	/// The id the next submitted entry gets.
	#[pallet::storage]
	pub type NextEntryId<T> = StorageValue<_, EntryId, ValueQuery>;

	/// Every entry ever submitted, by id.
	#[pallet::storage]
	pub type Entries<T: Config> = StorageMap<_, Blake2_128Concat, EntryId, EntryOf<T>>;

	/// The validated answer to a question: always an entry whose status is `Validated`.
	#[pallet::storage]
	pub type Answer<T> = StorageMap<_, Blake2_128Concat, QuestionKey, EntryId>;

	/// The knowledge graph's edges: the links of validated entries, `(from, to) → relation`
	/// (written when `from` is validated; the same as `Entries[from].links`).
	#[pallet::storage]
	pub type Links<T> =
		StorageDoubleMap<_, Blake2_128Concat, EntryId, Blake2_128Concat, EntryId, Relation>;

	/// How many edges leave a validated entry.
	#[pallet::storage]
	pub type LinkCount<T> = StorageMap<_, Blake2_128Concat, EntryId, u32, ValueQuery>;

	/// The pending entries whose vote ends at a block.
	#[pallet::storage]
	pub type Deadlines<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<EntryId, T::MaxEntriesPerBlock>,
		ValueQuery,
	>;

	/// Append-only log of validations, in order: `index → (entry, block validated at)`. Clients
	/// page through it to sync ("everything validated since block N").
	#[pallet::storage]
	pub type ValidationLog<T: Config> =
		StorageMap<_, Twox64Concat, u64, (EntryId, BlockNumberFor<T>)>;

	/// Length of [`ValidationLog`].
	#[pallet::storage]
	pub type ValidationLogLen<T> = StorageValue<_, u64, ValueQuery>;

	/// How many blocks validators have to decide an entry.
	#[pallet::storage]
	pub type VotingPeriod<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

	/// The default of [`ExpirySlash`]: [`DEFAULT_EXPIRY_SLASH`].
	#[pallet::type_value]
	pub fn DefaultExpirySlash() -> Perbill {
		DEFAULT_EXPIRY_SLASH
	}

	/// The part of an entry's deposit its author loses when the entry expires undecided (its
	/// body never became available to validators, or they could not agree in time); it goes to
	/// [`Config::Slashed`] like a rejected entry's deposit. At least [`Config::RetractFee`];
	/// [`DEFAULT_EXPIRY_SLASH`] until root sets it.
	#[pallet::storage]
	pub type ExpirySlash<T> = StorageValue<_, Perbill, ValueQuery, DefaultExpirySlash>;

	#[pallet::genesis_config]
	pub struct GenesisConfig<T: Config> {
		/// How many blocks validators have to decide an entry (at least 1).
		pub voting_period: BlockNumberFor<T>,
	}

	impl<T: Config> Default for GenesisConfig<T> {
		fn default() -> Self {
			Self { voting_period: DEFAULT_VOTING_PERIOD.into() }
		}
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			assert!(
				!self.voting_period.is_zero(),
				"Kcg: the voting period must be at least 1 block"
			);
			VotingPeriod::<T>::put(self.voting_period);
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An entry was submitted and waits for validators' votes until `deadline`.
		EntrySubmitted {
			entry: EntryId,
			author: T::AccountId,
			question_key: QuestionKey,
			cid: BoundedVec<u8, MaxCidLen>,
			content_hash: sp_core::H256,
			size: u32,
			gap: Option<GapId>,
			/// Its links, decided with it.
			links: EntryLinks,
			session: SessionIndex,
			deadline: BlockNumberFor<T>,
			deposit: BalanceOf<T>,
		},
		/// Validators approved an entry: it is now the answer to its question.
		EntryValidated {
			entry: EntryId,
			question_key: QuestionKey,
			/// The previous answer, now `Superseded` by this entry.
			superseded: Option<EntryId>,
			deposit_returned: BalanceOf<T>,
		},
		/// Validators rejected an entry; its deposit went to the reward pot.
		EntryRejected { entry: EntryId, deposit_slashed: BalanceOf<T> },
		/// Nobody decided an entry before its deadline: [`ExpirySlash`] of its deposit went to
		/// the reward pot (`deposit_slashed`), the rest came back to its author.
		EntryExpired {
			entry: EntryId,
			deposit_returned: BalanceOf<T>,
			deposit_slashed: BalanceOf<T>,
		},
		/// The author withdrew a pending entry.
		EntryRetracted { entry: EntryId, deposit_returned: BalanceOf<T>, fee: BalanceOf<T> },
		/// A validated entry's link became an edge of the knowledge graph.
		Linked { from: EntryId, to: EntryId, relation: Relation },
		/// Root changed the voting period.
		VotingPeriodSet { blocks: BlockNumberFor<T> },
		/// Root changed the part of the deposit an expired entry costs its author.
		ExpirySlashSet { share: Perbill },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The CID is not a binary sha2-256 CIDv0 or CIDv1.
		InvalidCid,
		/// The CID is longer than `MaxCidLen` bytes.
		CidTooLong,
		/// The body size is zero.
		EmptyBody,
		/// The body size is larger than `MaxBodySize`.
		BodyTooLarge,
		/// No entry has this id.
		UnknownEntry,
		/// Only the entry's author may do this.
		NotAuthor,
		/// The entry is no longer pending (decided, expired or retracted).
		NotPending,
		/// The entry's voting deadline has passed.
		VotingClosed,
		/// Too many entries already end their vote in this block's deadline and the
		/// `DeadlineSpill` blocks after it; submit in the next block.
		TooManyEntriesThisBlock,
		/// A link names an entry that does not exist.
		UnknownLinkTarget,
		/// A link names an entry that is not validated (only validated knowledge is linked to).
		LinkTargetNotValidated,
		/// Two links name the same entry.
		DuplicateLink,
		/// The voting period must be at least one block.
		ZeroVotingPeriod,
		/// Entry ids are exhausted.
		EntryIdOverflow,
		/// The entry names a knowledge gap that is not open.
		UnknownGap,
		/// The entry names a gap whose claim the author does not hold (or it has lapsed).
		NotGapClaimant,
		/// The entry answers another question than the gap it names.
		GapQuestionMismatch,
		/// An entry for this gap's claim is already being voted on.
		GapEntryPending,
		/// The expiry slash must be at least the retraction fee ([`Config::RetractFee`]).
		ExpirySlashBelowRetractFee,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let due = Deadlines::<T>::take(now);
			let count = due.len() as u32;
			if count > 0 {
				let share = ExpirySlash::<T>::get();
				for entry in due {
					Self::expire(entry, share);
				}
			}
			// Each expiry also tells the listeners (votes dropped, a claimant agent slashed).
			T::WeightInfo::on_initialize_expire(count).saturating_add(
				T::OnEntryClosed::entry_closed_weight(Closure::Expired)
					.saturating_mul(count.into()),
			)
		}

		fn integrity_test() {
			assert!(
				DEFAULT_EXPIRY_SLASH >= T::RetractFee::get(),
				"Kcg: the default expiry slash must be at least the retraction fee"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Submits a knowledge entry for validation, holding [`Config::EntryDeposit`].
		///
		/// - `question_key`: blake2-256 of the normalized question the body answers.
		/// - `cid`: the body's binary CID (sha2-256, v0 or v1).
		/// - `content_hash`: blake2-256 of the body's exact bytes.
		/// - `size`: the body's length in bytes, at most [`Config::MaxBodySize`].
		/// - `links`: its typed links, `(to, relation)`, to validated entries, each to another
		///   entry (the body's `links`, in the same order); each adds [`Config::LinkDeposit`].
		/// - `gap`: the knowledge gap the entry fills, if any.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::submit_entry(links.len() as u32))]
		pub fn submit_entry(
			origin: OriginFor<T>,
			question_key: QuestionKey,
			cid: alloc::vec::Vec<u8>,
			content_hash: sp_core::H256,
			size: u32,
			links: EntryLinks,
			gap: Option<GapId>,
		) -> DispatchResult {
			let author = ensure_signed(origin)?;
			let cid = Self::checked_cid(cid, size)?;
			Self::do_submit_entry(author, question_key, cid, content_hash, size, links, gap)
				.map(|_| ())
		}

		/// Withdraws a pending entry. Only its author may; the deposit comes back minus
		/// [`Config::RetractFee`], which goes to the reward pot.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::retract().saturating_add(T::OnEntryClosed::entry_closed_weight(Closure::Retracted)))]
		pub fn retract(origin: OriginFor<T>, entry: EntryId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut record = Entries::<T>::get(entry).ok_or(Error::<T>::UnknownEntry)?;
			ensure!(record.author == who, Error::<T>::NotAuthor);
			let EntryStatus::Pending { deadline } = record.status else {
				return Err(Error::<T>::NotPending.into());
			};

			let fee_due = T::RetractFee::get() * record.deposit;
			let (credit, _) = T::Currency::slash(&HoldReason::EntryDeposit.into(), &who, fee_due);
			let fee = credit.peek();
			T::Slashed::on_unbalanced(credit);
			let deposit_returned = T::Currency::release(
				&HoldReason::EntryDeposit.into(),
				&who,
				record.deposit.saturating_sub(fee),
				Precision::BestEffort,
			)?;

			Deadlines::<T>::mutate(deadline, |due| due.retain(|id| *id != entry));
			record.status = EntryStatus::Retracted;
			Entries::<T>::insert(entry, &record);
			T::OnEntryClosed::entry_closed(entry, &record.summary(), Closure::Retracted);
			Self::deposit_event(Event::EntryRetracted { entry, deposit_returned, fee });
			Ok(())
		}

		/// Sets how many blocks validators have to decide new entries. Root only.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::set_voting_period())]
		pub fn set_voting_period(
			origin: OriginFor<T>,
			blocks: BlockNumberFor<T>,
		) -> DispatchResult {
			ensure_root(origin)?;
			ensure!(!blocks.is_zero(), Error::<T>::ZeroVotingPeriod);
			VotingPeriod::<T>::put(blocks);
			Self::deposit_event(Event::VotingPeriodSet { blocks });
			Ok(())
		}

		/// Sets the part of an entry's deposit its author loses when the entry expires
		/// undecided ([`ExpirySlash`]); at least [`Config::RetractFee`]. Root only.
		///
		/// Weighs as [`Pallet::set_voting_period`]: the same check of origin and one write.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::set_voting_period())]
		pub fn set_expiry_slash(origin: OriginFor<T>, share: Perbill) -> DispatchResult {
			ensure_root(origin)?;
			ensure!(share >= T::RetractFee::get(), Error::<T>::ExpirySlashBelowRetractFee);
			ExpirySlash::<T>::put(share);
			Self::deposit_event(Event::ExpirySlashSet { share });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Checks a submitted CID and body size.
		fn checked_cid(
			cid: alloc::vec::Vec<u8>,
			size: u32,
		) -> Result<BoundedVec<u8, MaxCidLen>, Error<T>> {
			let cid: BoundedVec<u8, MaxCidLen> =
				cid.try_into().map_err(|_| Error::<T>::CidTooLong)?;
			membria_primitives::validate_cid(&cid).map_err(|_| Error::<T>::InvalidCid)?;
			ensure!(size > 0, Error::<T>::EmptyBody);
			ensure!(size <= T::MaxBodySize::get(), Error::<T>::BodyTooLarge);
			Ok(cid)
		}

		/// Stores a checked entry as pending, holds its deposit and schedules its deadline.
		pub fn do_submit_entry(
			author: T::AccountId,
			question_key: QuestionKey,
			cid: BoundedVec<u8, MaxCidLen>,
			content_hash: sp_core::H256,
			size: u32,
			links: EntryLinks,
			gap: Option<GapId>,
		) -> Result<EntryId, DispatchError> {
			let now = frame_system::Pallet::<T>::block_number();
			let earliest = now.saturating_add(VotingPeriod::<T>::get().max(One::one()));
			let id = NextEntryId::<T>::get();
			let next_id = id.checked_add(1).ok_or(Error::<T>::EntryIdOverflow)?;
			for (i, (to, _)) in links.iter().enumerate() {
				ensure!(!links[..i].iter().any(|(seen, _)| seen == to), Error::<T>::DuplicateLink);
				let target = Entries::<T>::get(to).ok_or(Error::<T>::UnknownLinkTarget)?;
				ensure!(
					matches!(target.status, EntryStatus::Validated { .. }),
					Error::<T>::LinkTargetNotValidated
				);
			}
			let deposit = T::EntryDeposit::get()
				.saturating_add(T::LinkDeposit::get().saturating_mul((links.len() as u32).into()));

			if let Some(gap) = gap {
				T::Gaps::entry_submitted(gap, &author, &question_key, id).map_err(|refusal| {
					match refusal {
						GapRefusal::UnknownGap => Error::<T>::UnknownGap,
						GapRefusal::NotClaimant => Error::<T>::NotGapClaimant,
						GapRefusal::WrongQuestion => Error::<T>::GapQuestionMismatch,
						GapRefusal::EntryPending => Error::<T>::GapEntryPending,
					}
				})?;
			}
			// The first deadline block with room, from the voting period's end on.
			let deadline = (0..=T::DeadlineSpill::get())
				.map(|later| earliest.saturating_add(later.into()))
				.find(|deadline| {
					Deadlines::<T>::try_mutate(*deadline, |due| due.try_push(id)).is_ok()
				})
				.ok_or(Error::<T>::TooManyEntriesThisBlock)?;
			T::Currency::hold(&HoldReason::EntryDeposit.into(), &author, deposit)?;

			let session = T::Sessions::current_session();
			let entry = Entry {
				question_key,
				content_hash,
				cid: cid.clone(),
				size,
				author: author.clone(),
				gap,
				links: links.clone(),
				status: EntryStatus::Pending { deadline },
				submitted_at: now,
				session,
				deposit,
			};
			Entries::<T>::insert(id, entry);
			NextEntryId::<T>::put(next_id);
			T::OnEntryOpened::entry_opened(id, session, deadline);
			Self::deposit_event(Event::EntrySubmitted {
				entry: id,
				author,
				question_key,
				cid,
				content_hash,
				size,
				gap,
				links,
				session,
				deadline,
				deposit,
			});
			Ok(id)
		}

		/// Makes a validated entry's links the graph's edges.
		pub(crate) fn write_edges(entry: EntryId, links: &EntryLinks) {
			for (to, relation) in links {
				Links::<T>::insert(entry, to, relation);
				Self::deposit_event(Event::Linked { from: entry, to: *to, relation: *relation });
			}
			if !links.is_empty() {
				LinkCount::<T>::insert(entry, links.len() as u32);
			}
		}

		/// Ends the vote of a pending entry whose deadline has come: `Expired`; `share` of the
		/// deposit ([`ExpirySlash`]) goes to [`Config::Slashed`], the rest back to the author.
		fn expire(entry: EntryId, share: Perbill) {
			let Some(mut record) = Entries::<T>::get(entry) else {
				return;
			};
			if !matches!(record.status, EntryStatus::Pending { .. }) {
				return;
			}
			let (credit, _) = T::Currency::slash(
				&HoldReason::EntryDeposit.into(),
				&record.author,
				share * record.deposit,
			);
			let deposit_slashed = credit.peek();
			T::Slashed::on_unbalanced(credit);
			let deposit_returned = T::Currency::release(
				&HoldReason::EntryDeposit.into(),
				&record.author,
				record.deposit.saturating_sub(deposit_slashed),
				Precision::BestEffort,
			)
			.unwrap_or_default();
			record.status = EntryStatus::Expired;
			Entries::<T>::insert(entry, &record);
			T::OnEntryClosed::entry_closed(entry, &record.summary(), Closure::Expired);
			Self::deposit_event(Event::EntryExpired { entry, deposit_returned, deposit_slashed });
		}

		/// Records a validators' decision on a pending entry.
		fn do_decide(entry: EntryId, decision: Decision) -> Result<T::AccountId, DispatchError> {
			let mut record = Entries::<T>::get(entry).ok_or(Error::<T>::UnknownEntry)?;
			let EntryStatus::Pending { deadline } = record.status else {
				return Err(Error::<T>::NotPending.into());
			};
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(now < deadline, Error::<T>::VotingClosed);
			Deadlines::<T>::mutate(deadline, |due| due.retain(|id| *id != entry));

			match decision {
				Decision::Validated => {
					let (fee, _) = T::Currency::slash(
						&HoldReason::EntryDeposit.into(),
						&record.author,
						T::ValidationFee::get() * record.deposit,
					);
					let fee_paid = fee.peek();
					T::Slashed::on_unbalanced(fee);
					let deposit_returned = T::Currency::release(
						&HoldReason::EntryDeposit.into(),
						&record.author,
						record.deposit.saturating_sub(fee_paid),
						Precision::BestEffort,
					)?;
					let superseded = Answer::<T>::get(record.question_key);
					if let Some(previous) = superseded {
						Entries::<T>::mutate(previous, |old| {
							if let Some(old) = old {
								old.status = EntryStatus::Superseded { by: entry };
							}
						});
					}
					Answer::<T>::insert(record.question_key, entry);
					let index = ValidationLogLen::<T>::get();
					ValidationLog::<T>::insert(index, (entry, now));
					ValidationLogLen::<T>::put(index.saturating_add(1));
					record.status = EntryStatus::Validated { at: now };
					Entries::<T>::insert(entry, &record);
					Self::write_edges(entry, &record.links);
					T::OnEntryClosed::entry_closed(
						entry,
						&record.summary(),
						Closure::Decided(Decision::Validated),
					);
					Self::deposit_event(Event::EntryValidated {
						entry,
						question_key: record.question_key,
						superseded,
						deposit_returned,
					});
				},
				Decision::Rejected => {
					let (credit, _) = T::Currency::slash(
						&HoldReason::EntryDeposit.into(),
						&record.author,
						record.deposit,
					);
					let deposit_slashed = credit.peek();
					T::Slashed::on_unbalanced(credit);
					record.status = EntryStatus::Rejected { at: now };
					Entries::<T>::insert(entry, &record);
					T::OnEntryClosed::entry_closed(
						entry,
						&record.summary(),
						Closure::Decided(Decision::Rejected),
					);
					Self::deposit_event(Event::EntryRejected { entry, deposit_slashed });
				},
			}
			Ok(record.author)
		}

		/// The validations logged at or after block `since`, from log position `cursor` on
		/// (when given), at most `limit` (capped at [`Config::MaxPageSize`]; `0` asks for the
		/// largest page, so a caller always makes progress).
		pub fn validated_since(
			since: BlockNumberFor<T>,
			cursor: Option<u64>,
			limit: u32,
		) -> ValidatedPage<BlockNumberFor<T>> {
			let len = ValidationLogLen::<T>::get();
			// The log is ordered by block: binary search for the first entry at or after `since`.
			let (mut low, mut high) = (0u64, len);
			while low < high {
				let mid = low + (high - low) / 2;
				match ValidationLog::<T>::get(mid) {
					Some((_, at)) if at < since => low = mid + 1,
					_ => high = mid,
				}
			}
			let start = cursor.map_or(low, |cursor| cursor.max(low));
			let page = T::MaxPageSize::get();
			let limit = u64::from(if limit == 0 { page } else { limit.min(page) });
			let end = start.saturating_add(limit).min(len);
			let entries =
				(start..end).filter_map(ValidationLog::<T>::get).collect::<alloc::vec::Vec<_>>();
			ValidatedPage { entries, next_cursor: (end < len).then_some(end) }
		}

		/// Checks the pallet's invariants.
		#[cfg(any(feature = "try-runtime", feature = "std"))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			use frame_support::traits::tokens::fungible::InspectHold;
			let next = NextEntryId::<T>::get();
			for (question_key, entry) in Answer::<T>::iter() {
				let record = Entries::<T>::get(entry).ok_or("Answer points to a missing entry")?;
				ensure!(
					matches!(record.status, EntryStatus::Validated { .. }),
					"Answer points to an entry that is not Validated"
				);
				ensure!(record.question_key == question_key, "Answer under the wrong question key");
			}
			for (id, record) in Entries::<T>::iter() {
				ensure!(id < next, "entry id at or above NextEntryId");
				if let EntryStatus::Pending { deadline } = record.status {
					ensure!(
						Deadlines::<T>::get(deadline).contains(&id),
						"pending entry without a scheduled deadline"
					);
				}
				if matches!(record.status, EntryStatus::Validated { .. }) {
					ensure!(
						Answer::<T>::get(record.question_key) == Some(id),
						"a Validated entry that is not its question's answer"
					);
				}
				// A validated (or since superseded) entry's links are its edges; no other
				// entry has any.
				let decided = matches!(
					record.status,
					EntryStatus::Validated { .. } | EntryStatus::Superseded { .. }
				);
				let edges = if decided { record.links.len() as u32 } else { 0 };
				ensure!(LinkCount::<T>::get(id) == edges, "an entry's edges are not its links");
			}
			for (from, _, _) in Links::<T>::iter() {
				ensure!(LinkCount::<T>::get(from) > 0, "an edge from an entry without edges");
			}
			for (from, count) in LinkCount::<T>::iter() {
				ensure!(
					Links::<T>::iter_prefix(from).count() as u32 == count,
					"LinkCount differs from the links stored"
				);
				let record = Entries::<T>::get(from).ok_or("edges from a missing entry")?;
				ensure!(
					matches!(
						record.status,
						EntryStatus::Validated { .. } | EntryStatus::Superseded { .. }
					),
					"edges from an entry that was never validated"
				);
				ensure!(record.links.len() as u32 == count, "edges differ from the entry's links");
				for (to, relation) in &record.links {
					ensure!(
						Links::<T>::get(from, to) == Some(*relation),
						"an entry's link is not an edge"
					);
				}
			}
			ensure!(
				ExpirySlash::<T>::get() >= T::RetractFee::get(),
				"the expiry slash is below the retraction fee"
			);
			let len = ValidationLogLen::<T>::get();
			let mut previous = None;
			for index in 0..len {
				let (_, at) = ValidationLog::<T>::get(index).ok_or("hole in the validation log")?;
				ensure!(previous.is_none_or(|p| p <= at), "validation log out of block order");
				previous = Some(at);
			}
			// Held deposits cover pending entries and links.
			let mut expected: alloc::collections::BTreeMap<T::AccountId, BalanceOf<T>> =
				Default::default();
			for (_, record) in Entries::<T>::iter() {
				if matches!(record.status, EntryStatus::Pending { .. }) {
					let held = expected.entry(record.author.clone()).or_default();
					*held = held.saturating_add(record.deposit);
				}
			}
			for (account, pending) in expected {
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::EntryDeposit.into(), &account)
						>= pending,
					"pending entry deposits are not all held"
				);
			}
			Ok(())
		}
	}

	impl<T: Config> KnowledgeBase<T::AccountId> for Pallet<T> {
		fn has_answer(question_key: &QuestionKey) -> bool {
			Answer::<T>::contains_key(question_key)
		}

		fn link_target(entry: EntryId, relation: Relation) -> Option<LinkTarget> {
			let record = Entries::<T>::get(entry)?;
			matches!(record.status, EntryStatus::Validated { .. }).then(|| LinkTarget {
				entry,
				relation,
				question_key: record.question_key,
				content_hash: record.content_hash.0,
				cid: record.cid.into_inner(),
				size: record.size,
			})
		}

		fn submit(
			author: T::AccountId,
			question_key: QuestionKey,
			cid: alloc::vec::Vec<u8>,
			content_hash: sp_core::H256,
			size: u32,
			links: EntryLinks,
			gap: Option<GapId>,
		) -> Result<EntryId, DispatchError> {
			let cid = Self::checked_cid(cid, size)?;
			Self::do_submit_entry(author, question_key, cid, content_hash, size, links, gap)
		}

		fn links_weight(links: u32) -> Weight {
			T::WeightInfo::submit_entry(links).saturating_sub(T::WeightInfo::submit_entry(0))
		}

		fn deadline_capacity() -> u32 {
			T::MaxEntriesPerBlock::get().saturating_mul(T::DeadlineSpill::get().saturating_add(1))
		}
	}

	impl<T: Config> EntryVoting for Pallet<T> {
		type BlockNumber = BlockNumberFor<T>;
		type AccountId = T::AccountId;

		fn open_for_votes(
			entry: EntryId,
		) -> Result<(SessionIndex, BlockNumberFor<T>), VoteRefusal> {
			let record = Entries::<T>::get(entry).ok_or(VoteRefusal::UnknownEntry)?;
			match record.status {
				EntryStatus::Pending { deadline }
					if frame_system::Pallet::<T>::block_number() < deadline =>
				{
					Ok((record.session, deadline))
				},
				EntryStatus::Pending { .. } => Err(VoteRefusal::VotingClosed),
				_ => Err(VoteRefusal::AlreadyClosed),
			}
		}

		fn decide(entry: EntryId, decision: Decision) -> Result<T::AccountId, DispatchError> {
			Self::do_decide(entry, decision)
		}

		fn decide_weight() -> Weight {
			// A validated entry's links become edges (at most `MaxEntryLinks` of them).
			T::OnEntryClosed::entry_closed_weight(Closure::Decided(Decision::Validated))
				.saturating_add(T::WeightInfo::write_edges(<MaxEntryLinks as Get<u32>>::get()))
				.max(T::OnEntryClosed::entry_closed_weight(Closure::Decided(Decision::Rejected)))
		}

		fn open_entry_ids() -> alloc::vec::Vec<EntryId> {
			let now = frame_system::Pallet::<T>::block_number();
			// Every pending entry is in the bucket of its deadline, and only pending ones are.
			let mut open: alloc::vec::Vec<EntryId> = Deadlines::<T>::iter()
				.filter(|(deadline, _)| *deadline > now)
				.flat_map(|(_, entries)| entries.into_inner())
				.collect();
			open.sort_unstable();
			open
		}

		fn open_entry(entry: EntryId) -> Option<OpenEntry<BlockNumberFor<T>>> {
			let record = Entries::<T>::get(entry)?;
			match record.status {
				EntryStatus::Pending { deadline }
					if frame_system::Pallet::<T>::block_number() < deadline =>
				{
					let links = record
						.links
						.iter()
						.filter_map(|(to, relation)| {
							let target = Entries::<T>::get(to)?;
							Some(LinkTarget {
								entry: *to,
								relation: *relation,
								question_key: target.question_key,
								content_hash: target.content_hash.0,
								cid: target.cid.into_inner(),
								size: target.size,
							})
						})
						.collect();
					Some(OpenEntry {
						entry,
						question_key: record.question_key,
						content_hash: record.content_hash.0,
						cid: record.cid.into_inner(),
						size: record.size,
						session: record.session,
						submitted: record.submitted_at,
						gap: record.gap,
						deadline,
						links,
					})
				},
				_ => None,
			}
		}
	}
}

use frame_support::traits::fungible::Inspect;
use sp_runtime::traits::{One, Zero};

/// The balance type of the currency deposits are held in.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// Negative imbalance: funds taken from an account and not yet put anywhere.
pub type CreditOf<T> = frame_support::traits::fungible::Credit<
	<T as frame_system::Config>::AccountId,
	<T as Config>::Currency,
>;

/// An entry as this runtime stores it.
pub type EntryOf<T> = Entry<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	frame_system::pallet_prelude::BlockNumberFor<T>,
>;

/// The voting period a chain spec gets when it sets none: an hour of 6-second blocks.
pub const DEFAULT_VOTING_PERIOD: u32 = 600;

/// What [`ExpirySlash`] is until root sets it: a quarter of the deposit.
pub const DEFAULT_EXPIRY_SLASH: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(25);

sp_api::decl_runtime_apis! {
	/// Read-only access to the Knowledge Cache Graph for nodes, gateways and clients.
	pub trait KcgApi<AccountId, Balance, BlockNumber>
	where
		AccountId: codec::Codec,
		Balance: codec::Codec,
		BlockNumber: codec::Codec,
	{
		/// The entry with this id.
		fn entry(id: EntryId) -> Option<Entry<AccountId, Balance, BlockNumber>>;
		/// The validated answer to a question, by question key.
		fn answer(question_key: QuestionKey) -> Option<(EntryId, Entry<AccountId, Balance, BlockNumber>)>;
		/// Entries validated at or after block `since`, a page at a time: pass the returned
		/// `next_cursor` back to continue.
		fn validated_since(since: BlockNumber, cursor: Option<u64>, limit: u32) -> ValidatedPage<BlockNumber>;
		/// The key of a question (blake2-256 of its normalized UTF-8 text), computed by the
		/// chain's own normalizer, so that clients in any language key questions the same way.
		/// `None` when the bytes are not UTF-8.
		fn question_key(question: alloc::vec::Vec<u8>) -> Option<QuestionKey>;
	}
}
