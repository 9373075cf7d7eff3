//! # KCG validators pallet (`Validators`)
//!
//! Membria's validators bond stake, produce blocks, and vote on knowledge entries with that
//! stake. One staked set does both jobs: the validators who attest to knowledge are the Aura
//! authors and GRANDPA voters of the same session.
//!
//! ## Overview
//!
//! - **Bonding**: [`Pallet::bond`], [`Pallet::bond_extra`], [`Pallet::unbond`] (funds stay held,
//!   and slashable, for the unbonding period), [`Pallet::withdraw_unbonded`].
//! - **Intent**: [`Pallet::validate`] asks to validate, [`Pallet::chill`] stops asking.
//! - **Active set**: this pallet is pallet-session's `SessionManager` and `ShouldEndSession`.
//!   At each session the top [`Config::MaxValidators`] candidates by active bond that have
//!   session keys become the authorities, and their bonds are snapshotted as that session's
//!   voting stake ([`SessionStakes`]).
//! - **Attestation**: [`Pallet::attest`] records an active validator's verdict on a pending
//!   entry, weighted by its stake in the entry's session; [`Pallet::attest_many`] records many
//!   (a refused one is reported and changes nothing). Approving stake of at least two thirds
//!   validates the entry; rejecting stake of more than one third rejects it. An open entry's
//!   votes and running tally are one record, its [`Ballot`] ([`Ballots`]), so a vote reads and
//!   writes one item.
//! - **Finality weight**: each GRANDPA voter weighs its stake in the session snapshot
//!   ([`finality`], [`Pallet::finality_weights`]), so seats bought at the minimum bond hold the
//!   finality weight of their stake, not of their number.
//! - **Offences**: this pallet is pallet-offences' `OnOffenceHandler`. A GRANDPA equivocation
//!   (two votes in one round) reported with a key-ownership proof slashes the offender's bond by
//!   the offence's fraction into the pot and chills it ([`Event::OffenceSlashed`]).
//! - **Slashing and rewards**: when an entry is decided, those who voted against the decision
//!   lose [`Parameters::wrong_vote_slash`] of their bond to the reward pot. The pot collects
//!   slashed bonds, rejected entries' deposits, expired entries' slashes and retraction fees;
//!   each decision pays those who voted with it, pro rata to their stake, at most
//!   [`Parameters::decision_reward`] and at most [`Parameters::pot_share`] of the pot. Validators
//!   who did not vote on an entry earn nothing for it, and the entry's author earns nothing for
//!   deciding its own entry. Every amount moved is in an event.
//!
//! ### Terminology
//!
//! - **Ledger**: an account's bond: `active` (counts for selection and voting) and `unlocking`
//!   chunks (held until their block, still slashable).
//! - **Snapshot**: the stake of each validator of a session, fixed when the session is planned.
//! - **Pot**: the account of this pallet that collects slashed funds until a decision shares them.
//!
//! ### Code layout (as pallet-staking's)
//!
//! `lib.rs` holds the config, storage, events, errors and thin calls; `ledger.rs` is the one
//! writer of a bond (ledger, hold and `TotalBonded` together); `voting.rs` records votes in
//! ballots; `settlement.rs` decides, slashes and rewards; `migrations.rs` the storage
//! migrations; `impls.rs` holds the `do_*` functions, session planning, invariants and the
//! traits other pallets call; `finality.rs` the stake-to-weight arithmetic of GRANDPA voters.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod finality;
#[cfg(test)]
mod mock;
pub mod offchain;
#[cfg(test)]
mod tests;
mod types;

mod impls;
mod ledger;
pub mod migrations;
mod settlement;
mod voting;
pub mod weights;

/// The `kcgv` key type: the validator account's key its node's off-chain worker attests with.
pub const KEY_TYPE: sp_core::crypto::KeyTypeId = sp_core::crypto::KeyTypeId(*b"kcgv");

/// The validator worker's signing crypto (sr25519 keys of type `kcgv`).
pub mod crypto {
	use super::KEY_TYPE;
	use sp_runtime::{
		app_crypto::{app_crypto, sr25519},
		MultiSignature, MultiSigner,
	};
	app_crypto!(sr25519, KEY_TYPE);

	/// Signs a validator's attestations with its `kcgv` key.
	pub struct ValidatorAuthId;

	impl frame_system::offchain::AppCrypto<MultiSigner, MultiSignature> for ValidatorAuthId {
		type RuntimeAppPublic = Public;
		type GenericSignature = sp_core::sr25519::Signature;
		type GenericPublic = sp_core::sr25519::Public;
	}
}

pub use types::*;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Balanced, Inspect, InspectHold, Mutate, MutateHold},
			tokens::fungible::BalancedHold,
			Contains,
		},
		PalletId,
	};
	use frame_system::pallet_prelude::*;
	use membria_kcg_primitives::EntryVoting;
	use membria_primitives::{Decision, EntryId, SessionIndex, Verdict};
	use sp_runtime::Perbill;

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config:
		frame_system::Config<RuntimeEvent: From<Event<Self>>>
		+ frame_system::offchain::CreateSignedTransaction<Call<Self>>
	{
		/// The validators' signing keys (`kcgv`) for the off-chain worker's attestations.
		type ValidatorAuthorityId: frame_system::offchain::AppCrypto<Self::Public, Self::Signature>;

		/// The currency bonds are held in and rewards paid in.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ Balanced<Self::AccountId>
			+ InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ MutateHold<Self::AccountId>
			+ BalancedHold<Self::AccountId>;

		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;

		/// The knowledge entries validators vote on (pallet-kcg).
		type Entries: EntryVoting<AccountId = Self::AccountId, BlockNumber = BlockNumberFor<Self>>;

		/// Off-chain work the validator's worker has done before it checks entries: the DoD
		/// agent of the same node publishes the bodies of its entries now on chain (`Dod`).
		type BeforeVoting: membria_kcg_primitives::BeforeVoting;

		/// Accounts that have session keys set (pallet-session's `NextKeys`): only they can be
		/// selected as authorities.
		type HasSessionKeys: Contains<Self::AccountId>;

		/// The id of the reward pot's account.
		#[pallet::constant]
		type PotId: Get<PalletId>;

		/// The most validators a session can have.
		#[pallet::constant]
		type MaxValidators: Get<u32>;

		/// The most accounts that can ask to validate at once.
		#[pallet::constant]
		type MaxCandidates: Get<u32>;

		/// The most unlocking chunks a ledger can have.
		#[pallet::constant]
		type MaxUnlockingChunks: Get<u32>;

		/// How many sessions' stake snapshots are kept: an entry must be decided before its
		/// session's snapshot is dropped, so this must cover the KCG voting period.
		#[pallet::constant]
		type SessionHistory: Get<u32>;

		/// The most votes one `attest_many` carries.
		#[pallet::constant]
		type MaxVotesPerCall: Get<u32>;

		/// The most entries one `attest_many` may decide: each decision settles every vote on
		/// its entry, so the call's weight allows for this many at their worst. A vote that
		/// would decide one more is refused ([`Error::DecisionLimit`]) and can be sent again.
		#[pallet::constant]
		type MaxDecisionsPerCall: Get<u32>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A validator's bond (active and unlocking).
		Bond,
	}

	/// The chain's staking parameters.
	#[pallet::storage]
	pub type Params<T: Config> = StorageValue<_, Parameters<BalanceOf<T>, BlockNumberFor<T>>>;

	/// Each bonded account's ledger.
	#[pallet::storage]
	pub type Ledgers<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		StakingLedger<BalanceOf<T>, BlockNumberFor<T>, T::MaxUnlockingChunks>,
	>;

	/// The sum of every ledger's total (active and unlocking).
	#[pallet::storage]
	pub type TotalBonded<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

	/// Accounts that asked to validate.
	#[pallet::storage]
	pub type Candidates<T: Config> = CountedStorageMap<_, Blake2_128Concat, T::AccountId, ()>;

	/// The validators of a session and their voting stake, fixed when the session was planned.
	#[pallet::storage]
	pub type SessionStakes<T: Config> = StorageMap<
		_,
		Twox64Concat,
		SessionIndex,
		BoundedVec<(T::AccountId, BalanceOf<T>), T::MaxValidators>,
		ValueQuery,
	>;

	/// The total voting stake of a session.
	#[pallet::storage]
	pub type SessionTotalStake<T: Config> =
		StorageMap<_, Twox64Concat, SessionIndex, BalanceOf<T>, ValueQuery>;

	/// What offences in a session already took from a validator: the largest fraction applied
	/// and the amount slashed for it. A later report of the same session slashes only what a
	/// larger fraction adds. Dropped with the session's stake snapshot.
	#[pallet::storage]
	pub type OffenceSlashes<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		SessionIndex,
		Blake2_128Concat,
		T::AccountId,
		(Perbill, BalanceOf<T>),
	>;

	/// The block the current session started in.
	#[pallet::storage]
	pub type SessionStart<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

	/// The vote on each entry open for votes: its session, deadline, running tally and voters,
	/// in one record (a vote reads and writes only this). Opened with the entry (the KCG's
	/// `OnEntryOpened`); gone when the entry is decided, expires or is retracted.
	#[pallet::storage]
	pub type Ballots<T: Config> = StorageMap<_, Twox64Concat, EntryId, BallotOf<T>>;

	/// The final tally of each decided entry: the stake behind each side (kept as its record: a
	/// device proves the stake that approved an entry with it).
	#[pallet::storage]
	pub type Tallies<T: Config> = StorageMap<_, Twox64Concat, EntryId, Tally<BalanceOf<T>>>;

	#[pallet::genesis_config]
	pub struct GenesisConfig<T: Config> {
		/// Accounts bonded, and asking to validate, at genesis; with their bonds.
		pub validators: Vec<(T::AccountId, BalanceOf<T>)>,
		/// The staking parameters.
		pub params: Parameters<BalanceOf<T>, BlockNumberFor<T>>,
	}

	impl<T: Config> Default for GenesisConfig<T> {
		fn default() -> Self {
			Self { validators: Vec::new(), params: Parameters::default_for_chain() }
		}
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			Pallet::<T>::check_params(&self.params)
				.expect("Validators: invalid genesis parameters");
			Params::<T>::put(&self.params);
			// The pot keeps the existential deposit so that any slash can be paid into it.
			let pot = Pallet::<T>::pot_account();
			let minimum = T::Currency::minimum_balance();
			if T::Currency::balance(&pot) < minimum {
				T::Currency::set_balance(&pot, minimum);
			}
			for (who, bond) in &self.validators {
				Pallet::<T>::do_bond(who, *bond).expect("Validators: genesis bond failed");
				Pallet::<T>::do_validate(who).expect("Validators: genesis validator refused");
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An account bonded funds (first bond or extra).
		Bonded { who: T::AccountId, amount: BalanceOf<T> },
		/// An account started unbonding funds; they unlock at `unlock_at`.
		Unbonded { who: T::AccountId, amount: BalanceOf<T>, unlock_at: BlockNumberFor<T> },
		/// Unlocked funds were released to an account.
		Withdrawn { who: T::AccountId, amount: BalanceOf<T> },
		/// An account asked to validate.
		Validating { who: T::AccountId },
		/// An account stopped asking to validate (by itself, or because its bond fell below the
		/// minimum).
		Chilled { who: T::AccountId },
		/// The validators of a planned session, and their total stake.
		SessionPlanned { session: SessionIndex, validators: u32, total_stake: BalanceOf<T> },
		/// A validator voted on an entry with the stake it had in the entry's session.
		Attested { entry: EntryId, validator: T::AccountId, verdict: Verdict, stake: BalanceOf<T> },
		/// A vote of an `attest_many` was refused, for `error`; the call's other votes stand.
		AttestationRefused { entry: EntryId, validator: T::AccountId, error: DispatchError },
		/// An entry was decided by its tally.
		EntryDecided {
			entry: EntryId,
			decision: Decision,
			approve: BalanceOf<T>,
			reject: BalanceOf<T>,
			total: BalanceOf<T>,
		},
		/// A validator that voted against a decision lost part of its bond to the pot.
		Slashed { who: T::AccountId, entry: EntryId, amount: BalanceOf<T> },
		/// A validator that voted with a decision received its share of the pot.
		Rewarded { who: T::AccountId, entry: EntryId, amount: BalanceOf<T> },
		/// A validator reported for an offence in `session` (a GRANDPA equivocation) lost
		/// `amount` of its bond to the pot (up to `fraction` of it in all) and was chilled.
		OffenceSlashed {
			who: T::AccountId,
			session: SessionIndex,
			fraction: Perbill,
			amount: BalanceOf<T>,
		},
		/// Funds were paid into the reward pot (slashed deposits and fees from the KCG).
		PotDeposited { amount: BalanceOf<T> },
		/// Root changed the staking parameters.
		ParamsSet { params: Parameters<BalanceOf<T>, BlockNumberFor<T>> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account has already bonded; use `bond_extra`.
		AlreadyBonded,
		/// The account has not bonded.
		NotBonded,
		/// The amount is zero.
		ZeroAmount,
		/// The active bond would be below `min_validator_bond`.
		InsufficientBond,
		/// More than the active bond was asked to unbond.
		UnbondExceedsActive,
		/// The ledger has `MaxUnlockingChunks` chunks; withdraw some first.
		TooManyUnlockingChunks,
		/// No unlocking chunk has reached its block yet.
		NothingToWithdraw,
		/// The account already asked to validate.
		AlreadyValidating,
		/// The account is not asking to validate.
		NotValidating,
		/// `MaxCandidates` accounts already ask to validate.
		TooManyCandidates,
		/// No entry has this id.
		UnknownEntry,
		/// The entry was already decided, expired or retracted.
		EntryClosed,
		/// The entry's voting deadline has passed.
		VotingClosed,
		/// The caller was not a validator of the entry's session.
		NotActiveValidator,
		/// The caller already voted on this entry.
		AlreadyVoted,
		/// The entry's session has no stake snapshot (too old, or no validators).
		NoStakeSnapshot,
		/// The parameters are invalid: zero session length or minimum bond.
		InvalidParams,
		/// The staking parameters were never set.
		ParamsMissing,
		/// `attest_many` was given no votes.
		NoVotes,
		/// The entry is open for votes but has no ballot: an invariant is broken (`try_state`
		/// reports it).
		NoBallot,
		/// The `attest_many` already decided `MaxDecisionsPerCall` entries: this vote would
		/// decide one more. Send it again in another call.
		DecisionLimit,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn offchain_worker(now: BlockNumberFor<T>) {
			crate::offchain::run_validator::<T>(now);
		}

		fn integrity_test() {
			assert!(
				T::MaxValidators::get() > 0,
				"Validators: MaxValidators must allow one validator"
			);
			assert!(
				T::MaxCandidates::get() >= T::MaxValidators::get(),
				"Validators: MaxCandidates must cover a full validator set"
			);
			assert!(
				T::MaxValidators::get() <= u32::from(u16::MAX),
				"Validators: a ballot numbers voters with u16"
			);
			assert!(
				T::MaxVotesPerCall::get() > 0 && T::MaxDecisionsPerCall::get() > 0,
				"Validators: attest_many must carry a vote and may decide an entry"
			);
			assert!(
				T::SessionHistory::get() > 1,
				"Validators: SessionHistory must keep the planned and the current session"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Bonds `value` from the caller's free balance: held until unbonded and withdrawn.
		/// The first bond must reach `min_validator_bond`.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::bond())]
		pub fn bond(
			origin: OriginFor<T>,
			#[pallet::compact] value: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!Ledgers::<T>::contains_key(&who), Error::<T>::AlreadyBonded);
			ensure!(value >= Self::params()?.min_validator_bond, Error::<T>::InsufficientBond);
			Self::do_bond(&who, value)
		}

		/// Adds `value` to the caller's active bond.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::bond_extra())]
		pub fn bond_extra(
			origin: OriginFor<T>,
			#[pallet::compact] value: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(Ledgers::<T>::contains_key(&who), Error::<T>::NotBonded);
			Self::do_bond(&who, value)
		}

		/// Moves `value` of the active bond to unlocking: it stays held, and slashable, for
		/// `unbonding_period` blocks, then `withdraw_unbonded` releases it. A validator whose
		/// active bond falls below `min_validator_bond` stops validating.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::unbond())]
		pub fn unbond(
			origin: OriginFor<T>,
			#[pallet::compact] value: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_unbond(&who, value)
		}

		/// Releases every unlocking chunk whose block has come.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::withdraw_unbonded())]
		pub fn withdraw_unbonded(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_withdraw_unbonded(&who)
		}

		/// Asks to validate from the next session on. Needs an active bond of at least
		/// `min_validator_bond`, and session keys (`Session.set_keys`) by the time the session
		/// is planned.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::validate())]
		pub fn validate(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_validate(&who)
		}

		/// Stops asking to validate, from the next session on.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::chill())]
		pub fn chill(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_chill(&who)
		}

		/// Votes on a pending entry, with the stake the caller had in the entry's session.
		/// Decides the entry when the tally crosses a threshold, which slashes the losing side
		/// and shares the pot among the winning side.
		#[pallet::call_index(6)]
		#[pallet::weight(Pallet::<T>::attest_weight(T::MaxValidators::get()))]
		pub fn attest(
			origin: OriginFor<T>,
			entry: EntryId,
			verdict: Verdict,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_attest(&who, entry, verdict)
		}

		/// Votes on many pending entries at once, each as [`Pallet::attest`] would. Votes are
		/// taken one by one: a refused one (already voted, entry closed, not a validator of its
		/// session, or one decision more than [`Config::MaxDecisionsPerCall`]) changes nothing
		/// and is reported in [`Event::AttestationRefused`]; the others stand. Pays for the votes
		/// and decisions it made.
		#[pallet::call_index(8)]
		#[pallet::weight(Pallet::<T>::attest_many_weight(votes.len() as u32))]
		pub fn attest_many(
			origin: OriginFor<T>,
			votes: BoundedVec<(EntryId, Verdict), T::MaxVotesPerCall>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			ensure!(!votes.is_empty(), Error::<T>::NoVotes);
			Self::do_attest_many(&who, votes.into_inner())
		}

		/// Sets the staking parameters. Root only.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::set_params())]
		pub fn set_params(
			origin: OriginFor<T>,
			params: Parameters<BalanceOf<T>, BlockNumberFor<T>>,
		) -> DispatchResult {
			ensure_root(origin)?;
			Self::check_params(&params)?;
			Params::<T>::put(&params);
			Self::deposit_event(Event::ParamsSet { params });
			Ok(())
		}
	}
}

use frame_support::traits::fungible::Inspect;

/// An entry's ballot in this runtime.
pub type BallotOf<T> = Ballot<
	BalanceOf<T>,
	frame_system::pallet_prelude::BlockNumberFor<T>,
	<T as Config>::MaxValidators,
>;

/// The balance type of the currency bonds are held in.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// Funds taken from an account and not yet put anywhere.
pub type CreditOf<T> = frame_support::traits::fungible::Credit<
	<T as frame_system::Config>::AccountId,
	<T as Config>::Currency,
>;
