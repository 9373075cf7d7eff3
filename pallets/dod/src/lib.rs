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
//! - [`Pallet::answer_gap`]: both at once, for an agent that distilled before claiming: a gap
//!   is answered a block sooner (gap → validated in 3 blocks: the gap, the answer, the
//!   attestations). The body's CID and hash are public with the call, the body is not: the agent
//!   publishes it once its entry is on chain, so copying the call earns nothing.
//! - [`Pallet::abandon_claim`]: a claimant whose teacher cannot answer gives the claim up with a
//!   reason ([`AbandonReason`], [`Event::ClaimAbandoned`]): no slash, the gap is open to other
//!   agents at once; an agent can decline an unclaimed gap the same way; after [`MAX_ABANDONS`]
//!   give-ups (or declines) the gap closes unanswered.
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
//! agent: distill, claim and submit in one call, publish the body to IPFS once the entry is on
//! chain — idempotent across blocks, restarts and re-orgs.
//!
//! Code layout (as the validators pallet, after pallet-staking): `lib.rs` holds the config,
//! storage, events, errors and thin calls; `impls.rs` the `do_*` functions, gaps and claims and
//! the traits the KCG calls; `settlement.rs` every movement of requesters' and agents' funds.

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

mod impls;
mod settlement;

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
			OnUnbalanced,
		},
	};
	use frame_system::{offchain::CreateSignedTransaction, pallet_prelude::*};
	use membria_kcg_primitives::{EntryLinks, KnowledgeBase};

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
		/// `agent` gave its claim up before its term, for `reason`; the gap is open to other
		/// agents (or closed, when it was the last allowed give-up).
		ClaimAbandoned { gap: GapId, agent: T::AccountId, reason: AbandonReason },
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
		/// The caller gave this gap up before (or `MAX_ABANDONS` agents have).
		GaveUpGap,
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
			Self::do_request_knowledge(who, question)
		}

		/// Registers the caller as a DoD agent, holding `agent_bond`.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::register_agent())]
		pub fn register_agent(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_register_agent(who)
		}

		/// Leaves the agents, releasing the bond; refused while an entry of the agent's claims
		/// is being voted on. Unused claims are released.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::deregister_agent(T::MaxClaimsPerAgent::get()))]
		pub fn deregister_agent(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_deregister_agent(who)
		}

		/// Claims an open gap for `claim_period` blocks. The gap must be unclaimed, or its
		/// claim lapsed without an entry.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::claim_gap())]
		pub fn claim_gap(origin: OriginFor<T>, gap: GapId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_claim_gap(who, gap)
		}

		/// Submits the claimant's entry for a gap (a KCG entry for the gap's question, with the
		/// KCG's checks and deposit), with the typed links its body proposes to validated entries.
		#[pallet::call_index(4)]
		#[pallet::weight(
			T::WeightInfo::submit_answer()
				.saturating_add(T::Knowledge::links_weight(links.len() as u32))
		)]
		pub fn submit_answer(
			origin: OriginFor<T>,
			gap: GapId,
			cid: alloc::vec::Vec<u8>,
			content_hash: sp_core::H256,
			size: u32,
			links: EntryLinks,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_submit_answer(who, gap, cid, content_hash, size, links)
		}

		/// Claims an open gap and submits the caller's entry for it at once: `claim_gap` then
		/// `submit_answer`, in one transaction (all or nothing), so a gap is answered a block
		/// sooner. The call carries only the body's CID, hash and size, which say nothing of
		/// the answer; the agent publishes the body once its entry is on chain, so a copy of
		/// the call earns its sender nothing (its entry's body is never published: it expires
		/// and costs its author the deposit and `agent_slash`).
		#[pallet::call_index(7)]
		#[pallet::weight(
			T::WeightInfo::claim_gap()
				.saturating_add(T::WeightInfo::submit_answer())
				.saturating_add(T::Knowledge::links_weight(links.len() as u32))
		)]
		pub fn answer_gap(
			origin: OriginFor<T>,
			gap: GapId,
			cid: alloc::vec::Vec<u8>,
			content_hash: sp_core::H256,
			size: u32,
			links: EntryLinks,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_claim_gap(who.clone(), gap)?;
			Self::do_submit_answer(who, gap, cid, content_hash, size, links)
		}

		/// Gives the caller's claim on `gap` up before its term, with the reason (its teacher has
		/// no answer, or a service it needs is down), instead of letting it lapse: no slash, and
		/// the gap is open to other agents at once, never to the caller again. An agent may also
		/// decline a gap nobody holds a claim on (it asks its teacher before claiming, with
		/// `answer_gap`): the same record, without a claim to end. When
		/// `MAX_ABANDONS` agents have given a gap up, it closes as an expired gap does
		/// (deposits back; fees, for the agents' work, to the pot). Refused while the caller's
		/// entry for the gap is being voted on.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::abandon_claim())]
		pub fn abandon_claim(
			origin: OriginFor<T>,
			gap: GapId,
			reason: AbandonReason,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_abandon_claim(who, gap, reason)
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
