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
//!   entry, weighted by its stake in the entry's session. Approving stake of at least two thirds
//!   validates the entry; rejecting stake of more than one third rejects it.
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
			tokens::{fungible::BalancedHold, Fortitude, Precision, Preservation},
			Contains, EstimateNextSessionRotation, Imbalance, OnUnbalanced,
		},
		PalletId,
	};
	use frame_system::pallet_prelude::*;
	use membria_kcg_primitives::{Closure, EntryClosed, EntrySummary, EntryVoting, VoteRefusal};
	use membria_primitives::{Decision, EntryId, SessionIndex, Verdict};
	use sp_runtime::{
		helpers_128bit::multiply_by_rational_with_rounding,
		traits::{AccountIdConversion, Saturating, UniqueSaturatedFrom, UniqueSaturatedInto, Zero},
		Perbill, Permill, Rounding,
	};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

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
		type Entries: EntryVoting<AccountId = Self::AccountId>;

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

	/// Verdicts on entries still being voted on: `(entry, validator) → verdict`.
	#[pallet::storage]
	pub type Votes<T: Config> =
		StorageDoubleMap<_, Twox64Concat, EntryId, Blake2_128Concat, T::AccountId, Verdict>;

	/// The stake behind each side of an entry's vote: the running tally while it is voted on,
	/// the final one once it is decided (kept as its record: a device proves the stake that
	/// approved an entry with it).
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
			Self {
				validators: Vec::new(),
				params: Parameters::default_for_chain(),
			}
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
		Bonded {
			who: T::AccountId,
			amount: BalanceOf<T>,
		},
		/// An account started unbonding funds; they unlock at `unlock_at`.
		Unbonded {
			who: T::AccountId,
			amount: BalanceOf<T>,
			unlock_at: BlockNumberFor<T>,
		},
		/// Unlocked funds were released to an account.
		Withdrawn {
			who: T::AccountId,
			amount: BalanceOf<T>,
		},
		/// An account asked to validate.
		Validating { who: T::AccountId },
		/// An account stopped asking to validate (by itself, or because its bond fell below the
		/// minimum).
		Chilled { who: T::AccountId },
		/// The validators of a planned session, and their total stake.
		SessionPlanned {
			session: SessionIndex,
			validators: u32,
			total_stake: BalanceOf<T>,
		},
		/// A validator voted on an entry with the stake it had in the entry's session.
		Attested {
			entry: EntryId,
			validator: T::AccountId,
			verdict: Verdict,
			stake: BalanceOf<T>,
		},
		/// An entry was decided by its tally.
		EntryDecided {
			entry: EntryId,
			decision: Decision,
			approve: BalanceOf<T>,
			reject: BalanceOf<T>,
			total: BalanceOf<T>,
		},
		/// A validator that voted against a decision lost part of its bond to the pot.
		Slashed {
			who: T::AccountId,
			entry: EntryId,
			amount: BalanceOf<T>,
		},
		/// A validator that voted with a decision received its share of the pot.
		Rewarded {
			who: T::AccountId,
			entry: EntryId,
			amount: BalanceOf<T>,
		},
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
		ParamsSet {
			params: Parameters<BalanceOf<T>, BlockNumberFor<T>>,
		},
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
			ensure!(
				value >= Self::params()?.min_validator_bond,
				Error::<T>::InsufficientBond
			);
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
			ensure!(!value.is_zero(), Error::<T>::ZeroAmount);
			let params = Self::params()?;
			let mut ledger = Ledgers::<T>::get(&who).ok_or(Error::<T>::NotBonded)?;
			ensure!(value <= ledger.active, Error::<T>::UnbondExceedsActive);
			let unlock_at =
				frame_system::Pallet::<T>::block_number().saturating_add(params.unbonding_period);
			ledger
				.unlocking
				.try_push(UnlockChunk { value, unlock_at })
				.map_err(|_| Error::<T>::TooManyUnlockingChunks)?;
			ledger.active = ledger.active.saturating_sub(value);
			let below_minimum = ledger.active < params.min_validator_bond;
			Ledgers::<T>::insert(&who, ledger);
			Self::deposit_event(Event::Unbonded {
				who: who.clone(),
				amount: value,
				unlock_at,
			});
			if below_minimum && Candidates::<T>::contains_key(&who) {
				Candidates::<T>::remove(&who);
				Self::deposit_event(Event::Chilled { who });
			}
			Ok(())
		}

		/// Releases every unlocking chunk whose block has come.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::withdraw_unbonded())]
		pub fn withdraw_unbonded(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut ledger = Ledgers::<T>::get(&who).ok_or(Error::<T>::NotBonded)?;
			let now = frame_system::Pallet::<T>::block_number();
			let mut amount = BalanceOf::<T>::zero();
			ledger.unlocking.retain(|chunk| {
				let unlocked = chunk.unlock_at <= now;
				if unlocked {
					amount = amount.saturating_add(chunk.value);
				}
				!unlocked
			});
			ensure!(!amount.is_zero(), Error::<T>::NothingToWithdraw);
			let released = T::Currency::release(
				&HoldReason::Bond.into(),
				&who,
				amount,
				Precision::BestEffort,
			)?;
			TotalBonded::<T>::mutate(|total| *total = total.saturating_sub(released));
			if ledger.total().is_zero() {
				Ledgers::<T>::remove(&who);
			} else {
				Ledgers::<T>::insert(&who, ledger);
			}
			Self::deposit_event(Event::Withdrawn {
				who,
				amount: released,
			});
			Ok(())
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
			ensure!(
				Candidates::<T>::contains_key(&who),
				Error::<T>::NotValidating
			);
			Candidates::<T>::remove(&who);
			Self::deposit_event(Event::Chilled { who });
			Ok(())
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
			let session = T::Entries::open_for_votes(entry).map_err(|refusal| match refusal {
				VoteRefusal::UnknownEntry => Error::<T>::UnknownEntry,
				VoteRefusal::AlreadyClosed => Error::<T>::EntryClosed,
				VoteRefusal::VotingClosed => Error::<T>::VotingClosed,
			})?;
			let total = SessionTotalStake::<T>::get(session);
			ensure!(!total.is_zero(), Error::<T>::NoStakeSnapshot);
			let stakes = SessionStakes::<T>::get(session);
			let stake = stakes
				.iter()
				.find(|(validator, _)| *validator == who)
				.map(|(_, stake)| *stake)
				.ok_or(Error::<T>::NotActiveValidator)?;
			ensure!(
				!Votes::<T>::contains_key(entry, &who),
				Error::<T>::AlreadyVoted
			);

			Votes::<T>::insert(entry, &who, verdict);
			let mut tally = Tallies::<T>::get(entry).unwrap_or_default();
			if verdict.approves() {
				tally.approve = tally.approve.saturating_add(stake);
			} else {
				tally.reject = tally.reject.saturating_add(stake);
			}
			Self::deposit_event(Event::Attested {
				entry,
				validator: who,
				verdict,
				stake,
			});

			match tally.decision(total) {
				None => {
					Tallies::<T>::insert(entry, tally);
					Ok(Some(T::WeightInfo::attest()).into())
				}
				Some(decision) => {
					let voters = Self::decide(entry, decision, tally, total, &stakes)?;
					Ok(Some(Self::attest_weight(voters)).into())
				}
			}
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

	impl<T: Config> Pallet<T> {
		/// The account of the reward pot.
		pub fn pot_account() -> T::AccountId {
			T::PotId::get().into_account_truncating()
		}

		fn params() -> Result<Parameters<BalanceOf<T>, BlockNumberFor<T>>, Error<T>> {
			Params::<T>::get().ok_or(Error::<T>::ParamsMissing)
		}

		fn check_params(params: &Parameters<BalanceOf<T>, BlockNumberFor<T>>) -> DispatchResult {
			ensure!(
				!params.session_length.is_zero() && !params.min_validator_bond.is_zero(),
				Error::<T>::InvalidParams
			);
			Ok(())
		}

		/// Holds `value` more of `who`'s funds as active bond.
		pub fn do_bond(who: &T::AccountId, value: BalanceOf<T>) -> DispatchResult {
			ensure!(!value.is_zero(), Error::<T>::ZeroAmount);
			T::Currency::hold(&HoldReason::Bond.into(), who, value)?;
			let mut ledger = Ledgers::<T>::get(who).unwrap_or_default();
			ledger.active = ledger.active.saturating_add(value);
			Ledgers::<T>::insert(who, ledger);
			TotalBonded::<T>::mutate(|total| *total = total.saturating_add(value));
			Self::deposit_event(Event::Bonded {
				who: who.clone(),
				amount: value,
			});
			Ok(())
		}

		/// Adds `who` to the candidates.
		pub fn do_validate(who: &T::AccountId) -> DispatchResult {
			let ledger = Ledgers::<T>::get(who).ok_or(Error::<T>::NotBonded)?;
			ensure!(
				ledger.active >= Self::params()?.min_validator_bond,
				Error::<T>::InsufficientBond
			);
			ensure!(
				!Candidates::<T>::contains_key(who),
				Error::<T>::AlreadyValidating
			);
			ensure!(
				Candidates::<T>::count() < T::MaxCandidates::get(),
				Error::<T>::TooManyCandidates
			);
			Candidates::<T>::insert(who, ());
			Self::deposit_event(Event::Validating { who: who.clone() });
			Ok(())
		}

		/// What a vote that decides its entry weighs with `voters` votes to settle: the benchmark
		/// of the decision plus the worst the KCG's listeners of a closed entry can add (a gap's
		/// requesters paid), which the benchmark's entry, answering no gap, does not reach.
		pub(crate) fn attest_weight(voters: u32) -> Weight {
			T::WeightInfo::attest_and_decide(voters).saturating_add(T::Entries::decide_weight())
		}

		/// Records the decision in the KCG, then slashes the losing voters into the pot and pays
		/// the winning ones, except the entry's author, this decision's reward. Returns how many
		/// votes were settled.
		fn decide(
			entry: EntryId,
			decision: Decision,
			tally: Tally<BalanceOf<T>>,
			total: BalanceOf<T>,
			stakes: &[(T::AccountId, BalanceOf<T>)],
		) -> Result<u32, DispatchError> {
			let author = T::Entries::decide(entry, decision)?;
			Tallies::<T>::insert(entry, tally);
			Self::deposit_event(Event::EntryDecided {
				entry,
				decision,
				approve: tally.approve,
				reject: tally.reject,
				total,
			});

			let params = Self::params()?;
			let slash_ratio = params.wrong_vote_slash;
			let mut winners: Vec<(T::AccountId, BalanceOf<T>)> = Vec::new();
			let mut voters = 0u32;
			for (validator, verdict) in Votes::<T>::drain_prefix(entry) {
				voters.saturating_inc();
				let won = verdict.approves() == (decision == Decision::Validated);
				if won && validator != author {
					let stake = stakes
						.iter()
						.find(|(v, _)| *v == validator)
						.map(|(_, s)| *s)
						.unwrap_or_default();
					winners.push((validator, stake));
				} else if !won {
					Self::slash_wrong_vote(&validator, entry, slash_ratio);
				}
			}
			Self::reward_decision(entry, &winners, &params);
			Ok(voters)
		}

		/// Slashes `ratio` of `who`'s bond (active first, then unlocking) into the pot.
		fn slash_wrong_vote(who: &T::AccountId, entry: EntryId, ratio: Perbill) {
			let Some(ledger) = Ledgers::<T>::get(who) else {
				return;
			};
			let amount = Self::slash_bond(who, ratio * ledger.total());
			if amount.is_zero() {
				return;
			}
			Self::deposit_event(Event::Slashed {
				who: who.clone(),
				entry,
				amount,
			});
		}

		/// Takes up to `due` of `who`'s held bond (active first, then unlocking) into the pot,
		/// keeping its ledger and `TotalBonded` in step with the hold. Returns what was taken.
		fn slash_bond(who: &T::AccountId, due: BalanceOf<T>) -> BalanceOf<T> {
			let Some(mut ledger) = Ledgers::<T>::get(who) else {
				return Zero::zero();
			};
			if due.is_zero() {
				return Zero::zero();
			}
			let (credit, _) = T::Currency::slash(&HoldReason::Bond.into(), who, due);
			let amount = credit.peek();
			ledger.reduce(amount);
			TotalBonded::<T>::mutate(|total| *total = total.saturating_sub(amount));
			if ledger.total().is_zero() {
				Ledgers::<T>::remove(who);
			} else {
				Ledgers::<T>::insert(who, ledger);
			}
			Self::resolve_into_pot(credit);
			amount
		}

		/// Slashes an offender of `session` up to `fraction` of its bond (counting what earlier
		/// reports of the same session took) and chills it. Returns the amount taken.
		fn slash_offender(
			who: &T::AccountId,
			session: SessionIndex,
			fraction: Perbill,
		) -> BalanceOf<T> {
			let (applied, taken) =
				OffenceSlashes::<T>::get(session, who).unwrap_or((Perbill::zero(), Zero::zero()));
			if fraction <= applied {
				return Zero::zero();
			}
			let held = Ledgers::<T>::get(who)
				.map(|ledger| ledger.total())
				.unwrap_or_default();
			// The fraction applies to the bond as it was before this session's first slash.
			let due = (fraction * held.saturating_add(taken)).saturating_sub(taken);
			let amount = Self::slash_bond(who, due);
			OffenceSlashes::<T>::insert(session, who, (fraction, taken.saturating_add(amount)));
			if Candidates::<T>::take(who).is_some() {
				Self::deposit_event(Event::Chilled { who: who.clone() });
			}
			Self::deposit_event(Event::OffenceSlashed {
				who: who.clone(),
				session,
				fraction,
				amount,
			});
			amount
		}

		/// The GRANDPA voters of `session` with their weights: each validator's stake in the
		/// session's snapshot, scaled by [`finality::finality_weights`]. In the snapshot's
		/// (account) order.
		pub fn finality_weights(session: SessionIndex) -> Vec<(T::AccountId, u64)> {
			let stakes: Vec<(T::AccountId, u128)> = SessionStakes::<T>::get(session)
				.into_iter()
				.map(|(who, stake)| (who, stake.unique_saturated_into()))
				.collect();
			finality::finality_weights(&stakes)
		}

		fn resolve_into_pot(credit: CreditOf<T>) {
			// The pot keeps the existential deposit, so this cannot fail unless the pot was
			// reaped; the funds are then burned, which the events still show.
			if T::Currency::resolve(&Self::pot_account(), credit).is_err() {
				frame_support::defensive!("the reward pot refused a deposit: the funds are burned");
			}
		}

		/// Pays one decision's reward — at most `decision_reward`, at most `pot_share` of what
		/// the pot holds above its existential deposit — to `winners`, pro rata to stake; what
		/// rounding leaves stays in the pot.
		fn reward_decision(
			entry: EntryId,
			winners: &[(T::AccountId, BalanceOf<T>)],
			params: &Parameters<BalanceOf<T>, BlockNumberFor<T>>,
		) {
			let pot = Self::pot_account();
			let reducible =
				T::Currency::reducible_balance(&pot, Preservation::Preserve, Fortitude::Polite);
			let budget = (params.pot_share * reducible).min(params.decision_reward);
			let available: u128 = budget.unique_saturated_into();
			let winning_stake: u128 = winners
				.iter()
				.fold(BalanceOf::<T>::zero(), |sum, (_, stake)| {
					sum.saturating_add(*stake)
				})
				.unique_saturated_into();
			if available == 0 || winning_stake == 0 {
				return;
			}
			for (who, stake) in winners {
				let share = multiply_by_rational_with_rounding(
					available,
					(*stake).unique_saturated_into(),
					winning_stake,
					Rounding::Down,
				)
				.unwrap_or(0);
				let share = BalanceOf::<T>::unique_saturated_from(share);
				if share.is_zero() {
					continue;
				}
				if T::Currency::transfer(&pot, who, share, Preservation::Preserve).is_ok() {
					Self::deposit_event(Event::Rewarded {
						who: who.clone(),
						entry,
						amount: share,
					});
				}
			}
		}

		/// The validators a new session should have: the top `MaxValidators` candidates by
		/// active bond with session keys, sorted by account for a stable authority order.
		fn select_validators() -> Vec<(T::AccountId, BalanceOf<T>)> {
			let Ok(params) = Self::params() else {
				return Vec::new();
			};
			let mut candidates: Vec<(T::AccountId, BalanceOf<T>)> = Candidates::<T>::iter_keys()
				.filter(T::HasSessionKeys::contains)
				.filter_map(|who| {
					let active = Ledgers::<T>::get(&who)?.active;
					(active >= params.min_validator_bond).then_some((who, active))
				})
				.collect();
			// Highest bond first; ties broken by account so every node agrees.
			candidates.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
			candidates.truncate(T::MaxValidators::get() as usize);
			candidates.sort_by(|a, b| a.0.cmp(&b.0));
			candidates
		}

		/// Plans session `index`: snapshots the selected validators' stake. Returns the new
		/// authority list when it differs from the previous session's.
		fn plan_session(index: SessionIndex, genesis: bool) -> Option<Vec<T::AccountId>> {
			if let Some(expired) = index.checked_sub(T::SessionHistory::get()) {
				SessionStakes::<T>::remove(expired);
				SessionTotalStake::<T>::remove(expired);
				// At most one record per validator of that session.
				let _ = OffenceSlashes::<T>::clear_prefix(expired, T::MaxValidators::get(), None);
			}
			let selected = Self::select_validators();
			let previous = index
				.checked_sub(1)
				.map(SessionStakes::<T>::get)
				.unwrap_or_default();
			let (snapshot, change) = if selected.is_empty() {
				// Nobody can be selected: the current validators carry on, with their old stake.
				(previous.clone(), None)
			} else {
				let accounts: Vec<T::AccountId> = selected.iter().map(|(v, _)| v.clone()).collect();
				let unchanged = !genesis
					&& previous.len() == accounts.len()
					&& previous.iter().zip(&accounts).all(|((p, _), a)| p == a);
				let snapshot = BoundedVec::truncate_from(selected);
				(snapshot, (!unchanged).then_some(accounts))
			};
			let total = snapshot
				.iter()
				.fold(BalanceOf::<T>::zero(), |sum, (_, stake)| {
					sum.saturating_add(*stake)
				});
			let validators = snapshot.len() as u32;
			SessionStakes::<T>::insert(index, snapshot);
			SessionTotalStake::<T>::insert(index, total);
			Self::deposit_event(Event::SessionPlanned {
				session: index,
				validators,
				total_stake: total,
			});
			change
		}

		/// Checks the pallet's invariants.
		#[cfg(any(feature = "try-runtime", feature = "std"))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let mut sum = BalanceOf::<T>::zero();
			for (who, ledger) in Ledgers::<T>::iter() {
				ensure!(!ledger.total().is_zero(), "an empty ledger is stored");
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::Bond.into(), &who) == ledger.total(),
					"held bond differs from the ledger"
				);
				sum = sum.saturating_add(ledger.total());
			}
			ensure!(
				sum == TotalBonded::<T>::get(),
				"TotalBonded differs from the sum of ledgers"
			);
			ensure!(
				Candidates::<T>::count() <= T::MaxCandidates::get(),
				"more candidates than MaxCandidates"
			);
			for who in Candidates::<T>::iter_keys() {
				ensure!(
					Ledgers::<T>::contains_key(&who),
					"a candidate without a bond"
				);
			}
			for (entry, tally) in Tallies::<T>::iter() {
				let session = T::Entries::open_for_votes(entry);
				if let Ok(session) = session {
					let total = SessionTotalStake::<T>::get(session);
					ensure!(
						tally.approve.saturating_add(tally.reject) <= total,
						"an entry's tally exceeds its session's stake"
					);
				}
			}
			for (session, stakes) in SessionStakes::<T>::iter() {
				let total = stakes
					.iter()
					.fold(BalanceOf::<T>::zero(), |s, (_, v)| s.saturating_add(*v));
				ensure!(
					total == SessionTotalStake::<T>::get(session),
					"session total differs"
				);
			}
			Ok(())
		}
	}

	impl<T: Config> pallet_session::SessionManager<T::AccountId> for Pallet<T> {
		fn new_session(new_index: SessionIndex) -> Option<Vec<T::AccountId>> {
			Self::plan_session(new_index, false)
		}

		fn new_session_genesis(new_index: SessionIndex) -> Option<Vec<T::AccountId>> {
			Self::plan_session(new_index, true)
		}

		fn start_session(_start_index: SessionIndex) {
			SessionStart::<T>::put(frame_system::Pallet::<T>::block_number());
		}

		fn end_session(_end_index: SessionIndex) {}
	}

	/// The same sessions for pallet-session's historical proofs (key ownership at a past
	/// session, which equivocation reports carry); validators have no identification beyond
	/// their account.
	impl<T: Config> pallet_session::historical::SessionManager<T::AccountId, ()> for Pallet<T> {
		fn new_session(new_index: SessionIndex) -> Option<Vec<(T::AccountId, ())>> {
			Self::plan_session(new_index, false).map(|v| v.into_iter().map(|a| (a, ())).collect())
		}

		fn new_session_genesis(new_index: SessionIndex) -> Option<Vec<(T::AccountId, ())>> {
			Self::plan_session(new_index, true).map(|v| v.into_iter().map(|a| (a, ())).collect())
		}

		fn start_session(start_index: SessionIndex) {
			<Self as pallet_session::SessionManager<_>>::start_session(start_index)
		}

		fn end_session(end_index: SessionIndex) {
			<Self as pallet_session::SessionManager<_>>::end_session(end_index)
		}
	}

	/// Offences (GRANDPA equivocations, through pallet-offences) slash the offender's bond.
	impl<T: Config, Identification>
		sp_staking::offence::OnOffenceHandler<T::AccountId, (T::AccountId, Identification), Weight>
		for Pallet<T>
	{
		/// The fraction pallet-offences passes counts seats (`(3k/n)²`); with stake-weighted
		/// finality it is stake that equivocates, so the fraction is recomputed from the
		/// offenders' stake in the session ([`finality::equivocation_slash`]). Every report
		/// passes all offenders of its time slot again, so the fraction only grows. Offences of
		/// a session whose stake snapshot is gone (older than [`Config::SessionHistory`]) are
		/// ignored: their slash records are gone with it, and a late report must not slash a
		/// second time.
		fn on_offence(
			offenders: &[sp_staking::offence::OffenceDetails<
				T::AccountId,
				(T::AccountId, Identification),
			>],
			_slash_fraction: &[Perbill],
			session: SessionIndex,
		) -> Weight {
			let reads = T::DbWeight::get().reads(2);
			let total: u128 = SessionTotalStake::<T>::get(session).unique_saturated_into();
			if total == 0 {
				return reads;
			}
			let stakes = SessionStakes::<T>::get(session);
			let mut distinct: Vec<&T::AccountId> = Vec::new();
			for details in offenders {
				if !distinct.contains(&&details.offender.0) {
					distinct.push(&details.offender.0);
				}
			}
			let offending = distinct
				.iter()
				.filter_map(|who| stakes.iter().find(|(v, _)| v == *who))
				.fold(0u128, |sum, (_, stake)| {
					sum.saturating_add((*stake).unique_saturated_into())
				});
			let fraction = finality::equivocation_slash(offending, total);
			for who in distinct {
				Self::slash_offender(who, session, fraction);
			}
			// Per offender: the offence record, the ledger, the candidate, the hold and the
			// pot's and the offender's accounts read; the same written, `TotalBonded` too.
			reads.saturating_add(
				T::DbWeight::get()
					.reads_writes(6, 7)
					.saturating_mul(offenders.len() as u64),
			)
		}
	}

	impl<T: Config> pallet_session::ShouldEndSession<BlockNumberFor<T>> for Pallet<T> {
		fn should_end_session(now: BlockNumberFor<T>) -> bool {
			let Ok(params) = Self::params() else {
				return false;
			};
			now.saturating_sub(SessionStart::<T>::get()) >= params.session_length
		}
	}

	impl<T: Config> EstimateNextSessionRotation<BlockNumberFor<T>> for Pallet<T> {
		fn average_session_length() -> BlockNumberFor<T> {
			Self::params().map(|p| p.session_length).unwrap_or_default()
		}

		fn estimate_current_session_progress(now: BlockNumberFor<T>) -> (Option<Permill>, Weight) {
			let weight = T::DbWeight::get().reads(2);
			let Ok(params) = Self::params() else {
				return (None, weight);
			};
			let elapsed = now.saturating_sub(SessionStart::<T>::get());
			(
				Some(Permill::from_rational(elapsed, params.session_length)),
				weight,
			)
		}

		fn estimate_next_session_rotation(
			_now: BlockNumberFor<T>,
		) -> (Option<BlockNumberFor<T>>, Weight) {
			let weight = T::DbWeight::get().reads(2);
			let Ok(params) = Self::params() else {
				return (None, weight);
			};
			(
				Some(SessionStart::<T>::get().saturating_add(params.session_length)),
				weight,
			)
		}
	}

	impl<T: Config> EntryClosed<T::AccountId> for Pallet<T> {
		fn entry_closed(entry: EntryId, _: &EntrySummary<T::AccountId>, closure: Closure) {
			// Decided entries are settled by `decide`; the others only drop their votes.
			if matches!(closure, Closure::Expired | Closure::Retracted) {
				let _ = Votes::<T>::clear_prefix(entry, T::MaxValidators::get(), None);
				Tallies::<T>::remove(entry);
			}
		}

		fn entry_closed_weight(closure: Closure) -> Weight {
			match closure {
				Closure::Expired | Closure::Retracted => T::WeightInfo::entry_closed(),
				// `decide` settles the votes; its benchmark measures that.
				Closure::Decided(_) => Weight::zero(),
			}
		}
	}

	impl<T: Config> OnUnbalanced<CreditOf<T>> for Pallet<T> {
		fn on_nonzero_unbalanced(credit: CreditOf<T>) {
			let amount = credit.peek();
			Self::resolve_into_pot(credit);
			Self::deposit_event(Event::PotDeposited { amount });
		}
	}
}

use frame_support::traits::fungible::Inspect;

/// The balance type of the currency bonds are held in.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// Funds taken from an account and not yet put anywhere.
pub type CreditOf<T> = frame_support::traits::fungible::Credit<
	<T as frame_system::Config>::AccountId,
	<T as Config>::Currency,
>;
