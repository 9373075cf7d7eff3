//! # Distillation on Demand (`Dod`)
//!
//! Questions no one can answer become demand on chain; enough demand opens a knowledge gap; a
//! DoD agent claims the gap, distills an answer off chain, stores it on IPFS and submits it as a
//! KCG entry; validators decide it. A validated entry for the gap's question fills the gap.
//!
//! - [`Pallet::request_knowledge`]: demand for a question (counted per `question_key`, distinct
//!   accounts only), holding a refundable deposit and a fee that becomes the gap's bounty.
//!   `gap_threshold` distinct requesters within `demand_window` blocks open a [`Gap`]
//!   ([`Event::GapOpened`] carries the question); lapsed demand is refunded.
//! - [`Pallet::register_agent`] / [`Pallet::deregister_agent`]: DoD agents bond `agent_bond`.
//! - [`Pallet::claim_gap`]: one agent gets the gap for `claim_period` blocks; an unused claim
//!   lapses (costing its agent `agent_slash` of its bond) and the gap can be claimed again.
//! - [`Pallet::submit_answer`]: the claimant submits the entry (a KCG entry naming the gap).
//! - When the KCG closes an entry ([`membria_kcg_primitives::EntryClosed`]): the claimant's entry for the
//!   gap validated → the gap is filled (requesters' deposits back, the bounty to its author);
//!   another entry for the gap's question validated → the question is answered, the gap closes
//!   and requesters get everything back (a bounty is earned under a claim only); the claimant's
//!   entry rejected, expired or retracted → the agent's bond is slashed `agent_slash` and the gap
//!   reopens.
//! - Gaps nobody fills within `gap_lifetime` blocks expire, refunding deposits; the fees too
//!   when no agent ever claimed the gap, else they are forfeit to the reward pot (demand that
//!   made agents work is paid for whether or not it could be answered).
//!
//! What each kind of griefing costs the one who does it: a claim left to lapse, or an entry for
//! a gap left to expire or retracted, costs the agent `agent_slash` of its bond (and the KCG
//! its expiry slash or retraction fee of the entry deposit); sniping a claimed gap's bounty
//! with an entry of one's own earns nothing; a gap opened by fresh accounts that an agent
//! worked on costs them their fees.
//!
//! The agent's off-chain worker ([`offchain`]) runs on nodes with a `dod!` key of a registered
//! agent: claim, distill, add to IPFS, submit — idempotent across blocks, restarts and re-orgs.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
pub mod offchain;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use membria_primitives::{EntryId, GapId, QuestionKey};
pub use types::*;
pub use weights::WeightInfo;

/// The `dod!` key type: the keys a node's DoD agent signs with.
pub const KEY_TYPE: sp_core::crypto::KeyTypeId = sp_core::crypto::KeyTypeId(*b"dod!");

/// The agent's signing crypto (sr25519 keys of type `dod!`).
pub mod crypto {
	use super::KEY_TYPE;
	use sp_runtime::{
		app_crypto::{app_crypto, sr25519},
		MultiSignature, MultiSigner,
	};
	app_crypto!(sr25519, KEY_TYPE);

	/// Signs the agent's transactions with its `dod!` key.
	pub struct AgentAuthId;

	impl frame_system::offchain::AppCrypto<MultiSigner, MultiSignature> for AgentAuthId {
		type RuntimeAppPublic = Public;
		type GenericSignature = sp_core::sr25519::Signature;
		type GenericPublic = sp_core::sr25519::Public;
	}
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			tokens::{Fortitude, Precision, Restriction},
			Defensive, Imbalance, OnUnbalanced,
		},
	};
	use frame_system::{offchain::CreateSignedTransaction, pallet_prelude::*};
	use membria_kcg_primitives::{
		Closure, EntryClosed, EntrySummary, GapClaims, GapRefusal, KnowledgeBase,
	};
	use membria_primitives::{normalize_question, question_key};
	use sp_runtime::{
		traits::{Saturating, Zero},
		Perbill,
	};

	/// Why funds are held.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A requester's deposit and fee, while the demand or gap is open.
		Request,
		/// A DoD agent's bond.
		AgentBond,
	}

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config:
		frame_system::Config<RuntimeEvent: From<Event<Self>>> + CreateSignedTransaction<Call<Self>>
	{
		/// The currency deposits, fees and bonds are held in.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ frame_support::traits::fungible::BalancedHold<Self::AccountId>;

		/// The runtime's hold reasons.
		type RuntimeHoldReason: From<HoldReason>;

		/// Where slashed agent bonds go (the validators' reward pot).
		type Slashed: OnUnbalanced<CreditOf<Self>>;

		/// The knowledge graph entries are submitted to and answers are looked up in.
		type Knowledge: KnowledgeBase<Self::AccountId>;

		/// The agents' signing keys (`dod!`) for the off-chain worker's transactions.
		type AgentAuthorityId: frame_system::offchain::AppCrypto<Self::Public, Self::Signature>;

		/// Longest question, in bytes.
		#[pallet::constant]
		type MaxQuestionLen: Get<u32>;

		/// Most requesters of one question (the threshold must not exceed it).
		#[pallet::constant]
		type MaxRequesters: Get<u32>;

		/// Most gaps one agent may hold claims on at once.
		#[pallet::constant]
		type MaxClaimsPerAgent: Get<u32>;

		/// Most demands or gaps that may lapse in one block.
		#[pallet::constant]
		type MaxExpiriesPerBlock: Get<u32>;

		/// Weights of this pallet's calls, measured by its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// The pallet's parameters (set at genesis and by root).
	#[pallet::storage]
	pub type Params<T: Config> = StorageValue<_, ParametersOf<T>, OptionQuery>;

	/// Demand below the threshold, per question.
	#[pallet::storage]
	pub type Demands<T: Config> = StorageMap<_, Blake2_128Concat, QuestionKey, DemandOf<T>>;

	/// Demands whose window ends at a block.
	#[pallet::storage]
	pub type DemandExpiries<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<QuestionKey, T::MaxExpiriesPerBlock>,
		ValueQuery,
	>;

	/// The id the next gap gets.
	#[pallet::storage]
	pub type NextGapId<T> = StorageValue<_, GapId, ValueQuery>;

	/// Open gaps.
	#[pallet::storage]
	pub type Gaps<T: Config> = StorageMap<_, Twox64Concat, GapId, GapOf<T>>;

	/// The open gap of a question.
	#[pallet::storage]
	pub type GapByKey<T> = StorageMap<_, Blake2_128Concat, QuestionKey, GapId>;

	/// Gaps whose lifetime ends at a block.
	#[pallet::storage]
	pub type GapExpiries<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<GapId, T::MaxExpiriesPerBlock>,
		ValueQuery,
	>;

	/// Registered DoD agents.
	#[pallet::storage]
	pub type Agents<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, AgentOf<T>>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The parameters (without them, every call fails with `NoParameters`).
		pub params: Option<ParametersOf<T>>,
		/// Accounts registered as agents at genesis, bonding `agent_bond`.
		pub agents: alloc::vec::Vec<T::AccountId>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			let Some(params) = self.params.clone() else {
				assert!(self.agents.is_empty(), "DoD genesis agents need the parameters");
				return;
			};
			assert!(Pallet::<T>::params_are_valid(&params), "invalid DoD genesis parameters");
			Params::<T>::put(&params);
			for agent in &self.agents {
				T::Currency::hold(&HoldReason::AgentBond.into(), agent, params.agent_bond)
					.expect("genesis agents can bond");
				Agents::<T>::insert(
					agent,
					AgentInfo { bond: params.agent_bond, claims: BoundedVec::default() },
				);
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// `who` asked `question_key`; it now has `requesters` distinct requesters.
		DemandRecorded {
			who: T::AccountId,
			question_key: QuestionKey,
			requesters: u32,
			held: BalanceOf<T>,
		},
		/// Demand crossed the threshold: a gap is open for agents.
		GapOpened {
			gap: GapId,
			question_key: QuestionKey,
			question: BoundedVec<u8, T::MaxQuestionLen>,
			bounty: BalanceOf<T>,
		},
		/// Demand did not reach the threshold within its window; requesters were refunded.
		DemandLapsed { question_key: QuestionKey, refunded: u32 },
		/// `agent` registered, bonding `bond`.
		AgentRegistered { agent: T::AccountId, bond: BalanceOf<T> },
		/// `agent` left; `bond` was released.
		AgentDeregistered { agent: T::AccountId, bond: BalanceOf<T> },
		/// `agent` holds the gap until block `until`.
		GapClaimed { gap: GapId, agent: T::AccountId, until: BlockNumberFor<T> },
		/// `agent`'s claim ended without an accepted entry; the gap is open again.
		ClaimReleased { gap: GapId, agent: T::AccountId },
		/// `agent`'s claim on a gap lapsed without an entry: `amount` of its bond was slashed.
		ClaimLapsed { gap: GapId, agent: T::AccountId, amount: BalanceOf<T> },
		/// An entry that was not submitted under the gap's claim answered its question: the gap
		/// is closed and its `refunded` requesters got their deposits and fees back.
		GapAnsweredElsewhere { gap: GapId, entry: EntryId, refunded: u32 },
		/// An entry was submitted for the gap under its claim.
		GapEntrySubmitted { gap: GapId, entry: EntryId, agent: T::AccountId },
		/// A validated entry answered the gap: deposits returned, `bounty` paid to `author`.
		GapFilled { gap: GapId, entry: EntryId, author: T::AccountId, bounty: BalanceOf<T> },
		/// `agent`'s entry for a gap was rejected, expired or was retracted: `amount` of its bond
		/// was slashed.
		AgentSlashed { agent: T::AccountId, gap: GapId, entry: EntryId, amount: BalanceOf<T> },
		/// Nobody answered the gap in its lifetime; `refunded` requesters got their deposits
		/// back, and their fees too unless an agent had claimed the gap (`fees_forfeited` went to
		/// the reward pot).
		GapExpired { gap: GapId, refunded: u32, fees_forfeited: BalanceOf<T> },
		/// Root set new parameters.
		ParamsSet { params: ParametersOf<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The pallet's parameters are not set.
		NoParameters,
		/// The question is empty (or only whitespace and punctuation).
		EmptyQuestion,
		/// The question is longer than `MaxQuestionLen` bytes.
		QuestionTooLong,
		/// The question is not valid UTF-8 text.
		QuestionNotUtf8,
		/// The question already has a validated answer.
		AlreadyAnswered,
		/// The caller already asked this question.
		AlreadyRequested,
		/// The question already has `MaxRequesters` requesters.
		TooManyRequesters,
		/// Too many demands or gaps already lapse in the block this one would; try next block.
		TooManyExpiries,
		/// The caller cannot afford the request's deposit and fee, or the agent bond.
		InsufficientBalance,
		/// The caller is already a registered agent.
		AlreadyAgent,
		/// The caller is not a registered agent.
		NotAgent,
		/// The agent has an entry being voted on; it can leave once it is decided.
		AgentHasPendingEntry,
		/// The agent already holds `MaxClaimsPerAgent` claims.
		TooManyClaims,
		/// No open gap has this id.
		UnknownGap,
		/// Another agent holds the gap's claim, or an entry for it is being voted on.
		AlreadyClaimed,
		/// The caller does not hold the gap's claim (or it has lapsed).
		NotClaimant,
		/// Parameters out of range (zero windows, a threshold of zero or above
		/// `MaxRequesters`).
		InvalidParameters,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let demands = DemandExpiries::<T>::take(now);
			let gaps = GapExpiries::<T>::take(now);
			if demands.is_empty() && gaps.is_empty() {
				// Most blocks: two empty reads.
				return T::DbWeight::get().reads(2);
			}
			let weight =
				T::WeightInfo::on_initialize_expire(demands.len() as u32, gaps.len() as u32);
			for key in demands {
				Self::lapse_demand(key, now);
			}
			for gap in gaps {
				Self::expire_gap(gap, now);
			}
			weight
		}

		fn integrity_test() {
			assert!(T::MaxRequesters::get() > 0, "Dod: MaxRequesters must allow one requester");
			assert!(T::MaxQuestionLen::get() > 0, "Dod: MaxQuestionLen must allow a question");
		}

		fn offchain_worker(now: BlockNumberFor<T>) {
			offchain::run_agent::<T>(now);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Asks for an answer to `question` (UTF-8, at most `MaxQuestionLen` bytes), holding
		/// `request_deposit + request_fee`. Opens a gap when the question has `gap_threshold`
		/// distinct requesters within `demand_window` blocks; asking an open gap's question
		/// adds to its requesters and bounty.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::request_knowledge())]
		pub fn request_knowledge(
			origin: OriginFor<T>,
			question: alloc::vec::Vec<u8>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let params = Self::params()?;
			let question: BoundedVec<u8, T::MaxQuestionLen> =
				question.try_into().map_err(|_| Error::<T>::QuestionTooLong)?;
			let text = core::str::from_utf8(&question).map_err(|_| Error::<T>::QuestionNotUtf8)?;
			ensure!(!normalize_question(text).is_empty(), Error::<T>::EmptyQuestion);
			let key = question_key(text);
			ensure!(!T::Knowledge::has_answer(&key), Error::<T>::AlreadyAnswered);

			let requester = Requester {
				who: who.clone(),
				deposit: params.request_deposit,
				fee: params.request_fee,
			};
			let held = requester.held();
			let now = frame_system::Pallet::<T>::block_number();

			if let Some(gap_id) = GapByKey::<T>::get(key) {
				let mut gap = Gaps::<T>::get(gap_id).ok_or(Error::<T>::UnknownGap)?;
				ensure!(!gap.requesters.iter().any(|r| r.who == who), Error::<T>::AlreadyRequested);
				gap.requesters.try_push(requester).map_err(|_| Error::<T>::TooManyRequesters)?;
				Self::hold(&HoldReason::Request, &who, held)?;
				gap.bounty = gap.bounty.saturating_add(params.request_fee);
				let requesters = gap.requesters.len() as u32;
				Gaps::<T>::insert(gap_id, gap);
				Self::deposit_event(Event::DemandRecorded {
					who,
					question_key: key,
					requesters,
					held,
				});
				return Ok(());
			}

			let (mut demand, is_new) = match Demands::<T>::get(key) {
				Some(demand) if demand.expires_at > now => (demand, false),
				stale => {
					// A window that ended without its lapse being processed: refund it first.
					if let Some(stale) = stale {
						Self::refund(&stale.requesters);
					}
					let expires_at = now.saturating_add(params.demand_window);
					let demand = Demand {
						question: question.clone(),
						requesters: BoundedVec::default(),
						expires_at,
					};
					(demand, true)
				},
			};
			ensure!(!demand.requesters.iter().any(|r| r.who == who), Error::<T>::AlreadyRequested);
			demand
				.requesters
				.try_push(requester)
				.map_err(|_| Error::<T>::TooManyRequesters)?;
			Self::hold(&HoldReason::Request, &who, held)?;
			let requesters = demand.requesters.len() as u32;
			Self::deposit_event(Event::DemandRecorded { who, question_key: key, requesters, held });

			if requesters >= params.gap_threshold {
				Demands::<T>::remove(key);
				Self::open_gap(key, demand, now, &params)?;
			} else {
				if is_new {
					DemandExpiries::<T>::try_mutate(demand.expires_at, |due| due.try_push(key))
						.map_err(|_| Error::<T>::TooManyExpiries)?;
				}
				Demands::<T>::insert(key, demand);
			}
			Ok(())
		}

		/// Registers the caller as a DoD agent, holding `agent_bond`.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::register_agent())]
		pub fn register_agent(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let params = Self::params()?;
			ensure!(!Agents::<T>::contains_key(&who), Error::<T>::AlreadyAgent);
			Self::hold(&HoldReason::AgentBond, &who, params.agent_bond)?;
			Agents::<T>::insert(
				&who,
				AgentInfo { bond: params.agent_bond, claims: BoundedVec::default() },
			);
			Self::deposit_event(Event::AgentRegistered { agent: who, bond: params.agent_bond });
			Ok(())
		}

		/// Leaves the agents, releasing the bond; refused while an entry of the agent's claims
		/// is being voted on. Unused claims are released.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::deregister_agent(T::MaxClaimsPerAgent::get()))]
		pub fn deregister_agent(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let agent = Agents::<T>::get(&who).ok_or(Error::<T>::NotAgent)?;
			let pending = agent.claims.iter().any(|gap| {
				Gaps::<T>::get(gap)
					.and_then(|g| g.claim)
					.is_some_and(|claim| claim.agent == who && claim.entry.is_some())
			});
			ensure!(!pending, Error::<T>::AgentHasPendingEntry);
			for gap in agent.claims.iter() {
				Self::release_claim(*gap, &who);
			}
			let bond = T::Currency::release(
				&HoldReason::AgentBond.into(),
				&who,
				agent.bond,
				Precision::BestEffort,
			)?;
			Agents::<T>::remove(&who);
			Self::deposit_event(Event::AgentDeregistered { agent: who, bond });
			Ok(())
		}

		/// Claims an open gap for `claim_period` blocks. The gap must be unclaimed, or its
		/// claim lapsed without an entry.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::claim_gap())]
		pub fn claim_gap(origin: OriginFor<T>, gap: GapId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let params = Self::params()?;
			let mut agent = Agents::<T>::get(&who).ok_or(Error::<T>::NotAgent)?;
			let mut record = Gaps::<T>::get(gap).ok_or(Error::<T>::UnknownGap)?;
			let now = frame_system::Pallet::<T>::block_number();
			if let Some(claim) = &record.claim {
				ensure!(claim.entry.is_none() && claim.until <= now, Error::<T>::AlreadyClaimed);
				let previous = claim.agent.clone();
				Self::forget_claim(gap, &previous);
				Self::punish_lapse(gap, &previous);
				Self::deposit_event(Event::ClaimReleased { gap, agent: previous });
				agent = Agents::<T>::get(&who).ok_or(Error::<T>::NotAgent)?;
			}
			agent.claims.try_push(gap).map_err(|_| Error::<T>::TooManyClaims)?;
			let until = now.saturating_add(params.claim_period);
			record.claim = Some(Claim { agent: who.clone(), until, entry: None });
			record.claimed = true;
			Gaps::<T>::insert(gap, record);
			Agents::<T>::insert(&who, agent);
			Self::deposit_event(Event::GapClaimed { gap, agent: who, until });
			Ok(())
		}

		/// Submits the claimant's entry for a gap (a KCG entry for the gap's question, with the
		/// KCG's checks and deposit).
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::submit_answer())]
		pub fn submit_answer(
			origin: OriginFor<T>,
			gap: GapId,
			cid: alloc::vec::Vec<u8>,
			content_hash: sp_core::H256,
			size: u32,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let record = Gaps::<T>::get(gap).ok_or(Error::<T>::UnknownGap)?;
			T::Knowledge::submit(who, record.question_key, cid, content_hash, size, Some(gap))?;
			Ok(())
		}

		/// Sets the pallet's parameters. Root only.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::set_params())]
		pub fn set_params(origin: OriginFor<T>, params: ParametersOf<T>) -> DispatchResult {
			ensure_root(origin)?;
			ensure!(Self::params_are_valid(&params), Error::<T>::InvalidParameters);
			Params::<T>::put(&params);
			Self::deposit_event(Event::ParamsSet { params });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// The parameters, or [`Error::NoParameters`].
		pub fn params() -> Result<ParametersOf<T>, Error<T>> {
			Params::<T>::get().ok_or(Error::<T>::NoParameters)
		}

		pub(crate) fn params_are_valid(params: &ParametersOf<T>) -> bool {
			params.gap_threshold > 0
				&& params.gap_threshold <= T::MaxRequesters::get()
				&& !params.demand_window.is_zero()
				&& !params.claim_period.is_zero()
				&& !params.gap_lifetime.is_zero()
		}

		fn hold(reason: &HoldReason, who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
			if amount.is_zero() {
				return Ok(());
			}
			T::Currency::hold(&(*reason).into(), who, amount)
				.map_err(|_| Error::<T>::InsufficientBalance.into())
		}

		fn open_gap(
			key: QuestionKey,
			demand: DemandOf<T>,
			now: BlockNumberFor<T>,
			params: &ParametersOf<T>,
		) -> DispatchResult {
			let id = NextGapId::<T>::get();
			let expires_at = now.saturating_add(params.gap_lifetime);
			GapExpiries::<T>::try_mutate(expires_at, |due| due.try_push(id))
				.map_err(|_| Error::<T>::TooManyExpiries)?;
			let bounty = demand
				.requesters
				.iter()
				.fold(BalanceOf::<T>::zero(), |sum, r| sum.saturating_add(r.fee));
			let gap = Gap {
				question_key: key,
				question: demand.question.clone(),
				requesters: demand.requesters,
				bounty,
				opened_at: now,
				expires_at,
				claim: None,
				claimed: false,
			};
			Gaps::<T>::insert(id, gap);
			GapByKey::<T>::insert(key, id);
			NextGapId::<T>::put(id.saturating_add(1));
			Self::deposit_event(Event::GapOpened {
				gap: id,
				question_key: key,
				question: demand.question,
				bounty,
			});
			Ok(())
		}

		/// Releases `amount` of what this pallet holds for a requester: it never holds less than
		/// its records say, so this cannot fail.
		fn release_request(who: &T::AccountId, amount: BalanceOf<T>) {
			T::Currency::release(&HoldReason::Request.into(), who, amount, Precision::BestEffort)
				.defensive_proof("a requester's hold covers what was held")
				.ok();
		}

		fn refund(requesters: &[RequesterOf<T>]) {
			for requester in requesters {
				Self::release_request(&requester.who, requester.held());
			}
		}

		fn lapse_demand(key: QuestionKey, now: BlockNumberFor<T>) {
			let Some(demand) = Demands::<T>::get(key) else {
				return;
			};
			if demand.expires_at != now {
				return;
			}
			Demands::<T>::remove(key);
			Self::refund(&demand.requesters);
			Self::deposit_event(Event::DemandLapsed {
				question_key: key,
				refunded: demand.requesters.len() as u32,
			});
		}

		fn expire_gap(id: GapId, now: BlockNumberFor<T>) {
			let Some(mut gap) = Gaps::<T>::get(id) else {
				return;
			};
			if gap.expires_at != now {
				return;
			}
			if gap.claim.as_ref().is_some_and(|claim| claim.entry.is_some()) {
				// An entry for it is being voted on: give the vote a chance to finish.
				let params = Params::<T>::get();
				let later = now.saturating_add(params.map(|p| p.claim_period).unwrap_or(now));
				if GapExpiries::<T>::try_mutate(later, |due| due.try_push(id)).is_ok() {
					gap.expires_at = later;
					Gaps::<T>::insert(id, gap);
					return;
				}
			}
			if let Some(claim) = &gap.claim {
				Self::forget_claim(id, &claim.agent);
				if claim.entry.is_none() && claim.until <= now {
					Self::punish_lapse(id, &claim.agent);
				}
			}
			Gaps::<T>::remove(id);
			GapByKey::<T>::remove(gap.question_key);
			let mut fees_forfeited = BalanceOf::<T>::zero();
			if gap.claimed {
				for requester in gap.requesters.iter() {
					let (credit, _) =
						<T::Currency as frame_support::traits::fungible::BalancedHold<_>>::slash(
							&HoldReason::Request.into(),
							&requester.who,
							requester.fee,
						);
					fees_forfeited = fees_forfeited.saturating_add(credit.peek());
					T::Slashed::on_unbalanced(credit);
					Self::release_request(&requester.who, requester.deposit);
				}
			} else {
				Self::refund(&gap.requesters);
			}
			Self::deposit_event(Event::GapExpired {
				gap: id,
				refunded: gap.requesters.len() as u32,
				fees_forfeited,
			});
		}

		/// Removes `gap` from `agent`'s claims (not from the gap).
		fn forget_claim(gap: GapId, agent: &T::AccountId) {
			Agents::<T>::mutate(agent, |info| {
				if let Some(info) = info {
					info.claims.retain(|g| *g != gap);
				}
			});
		}

		/// Ends `agent`'s claim on `gap`, leaving the gap open.
		fn release_claim(gap: GapId, agent: &T::AccountId) {
			Self::forget_claim(gap, agent);
			Gaps::<T>::mutate(gap, |record| {
				if let Some(record) = record {
					if record.claim.as_ref().is_some_and(|c| c.agent == *agent) {
						record.claim = None;
					}
				}
			});
			Self::deposit_event(Event::ClaimReleased { gap, agent: agent.clone() });
		}

		fn fill(id: GapId, entry: EntryId, author: &T::AccountId) {
			let Some(gap) = Gaps::<T>::take(id) else {
				return;
			};
			GapByKey::<T>::remove(gap.question_key);
			if let Some(claim) = &gap.claim {
				Self::forget_claim(id, &claim.agent);
			}
			let mut paid = BalanceOf::<T>::zero();
			for requester in gap.requesters.iter() {
				let fee = T::Currency::transfer_on_hold(
					&HoldReason::Request.into(),
					&requester.who,
					author,
					requester.fee,
					Precision::BestEffort,
					Restriction::Free,
					Fortitude::Force,
				)
				.unwrap_or_default();
				paid = paid.saturating_add(fee);
				Self::release_request(&requester.who, requester.deposit);
			}
			Self::deposit_event(Event::GapFilled {
				gap: id,
				entry,
				author: author.clone(),
				bounty: paid,
			});
		}

		/// Closes a gap whose question an entry not submitted under its claim answered:
		/// requesters get their deposits and fees back, the claim (if any) ends unpunished.
		fn close_answered_elsewhere(id: GapId, entry: EntryId) {
			let Some(gap) = Gaps::<T>::take(id) else {
				return;
			};
			GapByKey::<T>::remove(gap.question_key);
			if let Some(claim) = &gap.claim {
				Self::forget_claim(id, &claim.agent);
			}
			Self::refund(&gap.requesters);
			Self::deposit_event(Event::GapAnsweredElsewhere {
				gap: id,
				entry,
				refunded: gap.requesters.len() as u32,
			});
		}

		/// Takes `agent_slash` of `agent`'s bond to the reward pot; returns what was taken.
		fn slash_agent(agent: &T::AccountId) -> BalanceOf<T> {
			let Some(info) = Agents::<T>::get(agent) else {
				return Zero::zero();
			};
			let rate = Params::<T>::get().map(|p| p.agent_slash).unwrap_or_else(Perbill::zero);
			let amount = rate * info.bond;
			let (credit, missing) =
				<T::Currency as frame_support::traits::fungible::BalancedHold<_>>::slash(
					&HoldReason::AgentBond.into(),
					agent,
					amount,
				);
			let slashed = amount.saturating_sub(missing);
			T::Slashed::on_unbalanced(credit);
			Agents::<T>::mutate(agent, |info| {
				if let Some(info) = info {
					info.bond = info.bond.saturating_sub(slashed);
				}
			});
			slashed
		}

		/// `agent` let its claim on `gap` lapse without an entry.
		fn punish_lapse(gap: GapId, agent: &T::AccountId) {
			let amount = Self::slash_agent(agent);
			Self::deposit_event(Event::ClaimLapsed { gap, agent: agent.clone(), amount });
		}

		fn punish(id: GapId, entry: EntryId, agent: &T::AccountId) {
			let slashed = Self::slash_agent(agent);
			Self::deposit_event(Event::AgentSlashed {
				agent: agent.clone(),
				gap: id,
				entry,
				amount: slashed,
			});
		}

		/// Invariants: gap index and gaps agree; every claim is in its agent's list; requesters
		/// are distinct and within bounds; demand is below the threshold.
		#[cfg(any(feature = "try-runtime", feature = "std"))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let threshold = Params::<T>::get().map(|p| p.gap_threshold).unwrap_or(u32::MAX);
			for (key, id) in GapByKey::<T>::iter() {
				let gap = Gaps::<T>::get(id).ok_or("GapByKey points at a missing gap")?;
				ensure!(gap.question_key == key, "gap indexed under another question");
			}
			for (id, gap) in Gaps::<T>::iter() {
				ensure!(GapByKey::<T>::get(gap.question_key) == Some(id), "gap not indexed");
				let mut who: alloc::vec::Vec<_> = gap.requesters.iter().map(|r| &r.who).collect();
				who.sort();
				who.dedup();
				ensure!(who.len() == gap.requesters.len(), "a gap has a requester twice");
				if let Some(claim) = &gap.claim {
					let agent = Agents::<T>::get(&claim.agent).ok_or("claim by a non-agent")?;
					ensure!(agent.claims.contains(&id), "claim missing from its agent");
				}
			}
			for (_, demand) in Demands::<T>::iter() {
				ensure!(
					(demand.requesters.len() as u32) < threshold,
					"demand at the threshold without a gap"
				);
			}
			for (account, agent) in Agents::<T>::iter() {
				for gap in agent.claims.iter() {
					let claim = Gaps::<T>::get(gap).and_then(|g| g.claim);
					ensure!(
						claim.is_some_and(|c| c.agent == account),
						"agent lists a claim it does not hold"
					);
				}
			}
			Ok(())
		}
	}

	impl<T: Config> GapClaims<T::AccountId> for Pallet<T> {
		fn entry_submitted(
			gap: GapId,
			author: &T::AccountId,
			question_key: &QuestionKey,
			entry: EntryId,
		) -> Result<(), GapRefusal> {
			let now = frame_system::Pallet::<T>::block_number();
			Gaps::<T>::try_mutate(gap, |record| {
				let record = record.as_mut().ok_or(GapRefusal::UnknownGap)?;
				if record.question_key != *question_key {
					return Err(GapRefusal::WrongQuestion);
				}
				let claim = record
					.claim
					.as_mut()
					.filter(|claim| claim.agent == *author)
					.ok_or(GapRefusal::NotClaimant)?;
				if claim.entry.is_some() {
					return Err(GapRefusal::EntryPending);
				}
				if claim.until <= now {
					return Err(GapRefusal::NotClaimant);
				}
				claim.entry = Some(entry);
				Ok(())
			})?;
			Self::deposit_event(Event::GapEntrySubmitted { gap, entry, agent: author.clone() });
			Ok(())
		}
	}

	impl<T: Config> EntryClosed<T::AccountId> for Pallet<T> {
		fn entry_closed(entry: EntryId, summary: &EntrySummary<T::AccountId>, closure: Closure) {
			use membria_primitives::Decision;
			if closure == Closure::Decided(Decision::Validated) {
				if let Some(gap) = GapByKey::<T>::get(summary.question_key) {
					// Only the entry submitted under the gap's claim earns its bounty; the KCG
					// lets only the claimant submit with `gap` set.
					if summary.gap == Some(gap) {
						Self::fill(gap, entry, &summary.author);
					} else {
						Self::close_answered_elsewhere(gap, entry);
					}
				}
				return;
			}
			let Some(gap) = summary.gap else { return };
			let Some(record) = Gaps::<T>::get(gap) else {
				return;
			};
			let Some(claim) = record.claim else { return };
			if claim.entry != Some(entry) {
				return;
			}
			// Rejected, expired or retracted: the agent's entry held the gap and answered nothing.
			Self::punish(gap, entry, &claim.agent);
			Self::release_claim(gap, &claim.agent);
		}

		fn entry_closed_weight(closure: Closure) -> Weight {
			use membria_primitives::Decision;
			match closure {
				// The gap is filled (bounty paid) or closed (requesters refunded).
				Closure::Decided(Decision::Validated) => {
					T::WeightInfo::entry_closed_fill().max(T::WeightInfo::entry_closed_elsewhere())
				},
				// At most the claimant agent slashed.
				_ => T::WeightInfo::entry_closed_punish(),
			}
		}
	}
}

use frame_support::traits::fungible::Inspect;

/// The balance type of the pallet's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// Funds taken from an account and not yet put anywhere.
pub type CreditOf<T> = frame_support::traits::fungible::Credit<
	<T as frame_system::Config>::AccountId,
	<T as Config>::Currency,
>;

type BlockNumberOf<T> = frame_system::pallet_prelude::BlockNumberFor<T>;

/// Parameters as this runtime stores them.
pub type ParametersOf<T> = Parameters<BalanceOf<T>, BlockNumberOf<T>>;
/// A requester as this runtime stores it.
pub type RequesterOf<T> = Requester<<T as frame_system::Config>::AccountId, BalanceOf<T>>;
/// Demand as this runtime stores it.
pub type DemandOf<T> = Demand<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberOf<T>,
	<T as Config>::MaxQuestionLen,
	<T as Config>::MaxRequesters,
>;
/// A gap as this runtime stores it.
pub type GapOf<T> = Gap<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberOf<T>,
	<T as Config>::MaxQuestionLen,
	<T as Config>::MaxRequesters,
>;
/// An agent as this runtime stores it.
pub type AgentOf<T> = AgentInfo<BalanceOf<T>, <T as Config>::MaxClaimsPerAgent>;
