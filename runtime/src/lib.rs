//! # Membria runtime
//!
//! The FRAME runtime of the Membria chain, the ledger of the Knowledge Cache Graph (KCG).
//!
//! ## Overview
//!
//! - The Knowledge Cache Graph (`Kcg`: entries, links, answers) and its validators
//!   (`Validators`: bonds, attestations, slashing, rewards).
//! - Block production by Aura and finality by GRANDPA; the authority set comes from
//!   `pallet-session`, whose session manager is `Validators`: the staked set produces blocks,
//!   and each GRANDPA voter weighs its stake (`configs::finality`). GRANDPA equivocations are
//!   reported with historical key-ownership proofs (`Historical`) — GRANDPA's by pallet-grandpa,
//!   Aura's (two blocks sealed for one slot) by `AuraEquivocation` — become offences
//!   (`Offences`, reporters found by `Authorship`) and slash the offender's bond (`Validators`).
//! - Balances with holds and freezes (`fungible` traits), transaction fees by
//!   `pallet-transaction-payment`, and `pallet-sudo` for development chains.
//! - Genesis presets `development` (Alice alone) and `local_testnet` (Alice, Bob, Charlie),
//!   built from code in [`genesis_config_presets`].
//!
//! The crate is `no_std`: the node executes the wasm blob built from it ([`WASM_BINARY`]).

#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime`-style macros expand to deep recursion.
#![recursion_limit = "256"]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

// Declared before `apis`: its macros (`list_benchmarks!`, `add_benchmarks!`) are used there.
#[cfg(feature = "runtime-benchmarks")]
#[macro_use]
mod benchmarks;
pub mod apis;
pub mod configs;
pub mod genesis_config_presets;
pub mod weights;

// The runtime macros expand to code that names `Vec`.
use alloc::vec::Vec;
use sp_runtime::{
	generic, impl_opaque_keys,
	traits::{BlakeTwo256, IdentifyAccount, Verify},
	MultiAddress, MultiSignature,
};
use sp_version::RuntimeVersion;

pub use frame_system::Call as SystemCall;
pub use pallet_balances::Call as BalancesCall;
pub use pallet_timestamp::Call as TimestampCall;

/// Opaque types: what the node needs to know of blocks without knowing the runtime's
/// extrinsic format.
pub mod opaque {
	use super::*;
	use sp_runtime::traits::Hash as HashT;

	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header type.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block type.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// Opaque block identifier type.
	pub type BlockId = generic::BlockId<Block>;
	/// Opaque block hash type.
	pub type Hash = <BlakeTwo256 as HashT>::Output;

	impl_opaque_keys! {
		/// The session keys of a Membria validator: one for authoring (Aura), one for
		/// finality voting (GRANDPA).
		pub struct SessionKeys {
			pub aura: Aura,
			pub grandpa: crate::configs::finality::StakeWeightedGrandpa,
		}
	}
}

pub use opaque::SessionKeys;

/// The runtime's identity. `spec_version` must grow with every change of runtime logic.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("membria"),
	impl_name: alloc::borrow::Cow::Borrowed("membria-node"),
	authoring_version: 1,
	spec_version: 104,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 2,
	system_version: 1,
};

/// Aura slot length, in milliseconds: the target block time.
pub const MILLI_SECS_PER_BLOCK: u64 = 6000;
/// Aura slot duration. Changing it after genesis breaks block production.
pub const SLOT_DURATION: u64 = MILLI_SECS_PER_BLOCK;

/// Time in blocks.
pub const MINUTES: BlockNumber = 60_000 / (MILLI_SECS_PER_BLOCK as BlockNumber);
pub const HOURS: BlockNumber = MINUTES * 60;
pub const DAYS: BlockNumber = HOURS * 24;

/// The smallest unit of the token has 12 decimals: one MEM is `UNIT`.
pub const UNIT: Balance = 1_000_000_000_000;
pub const MILLI_UNIT: Balance = UNIT / 1_000;
pub const MICRO_UNIT: Balance = UNIT / 1_000_000;
/// The token's symbol, as chain specs and wallets show it.
pub const TOKEN_SYMBOL: &str = "MEM";
/// The token's decimals.
pub const TOKEN_DECIMALS: u32 = 12;
/// The SS58 address prefix (42: the generic Substrate prefix).
pub const SS58_PREFIX: u16 = 42;

/// Below this balance an account is reaped.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

/// Signature of transactions.
pub type Signature = MultiSignature;
/// An account on chain: the public key behind a [`Signature`].
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// Balance of an account.
pub type Balance = u128;
/// Transaction index of an account.
pub type Nonce = u32;
/// Hash of a block or an extrinsic.
pub type Hash = sp_core::H256;
/// Block number.
pub type BlockNumber = u32;
/// How the runtime addresses accounts in calls.
pub type Address = MultiAddress<AccountId, ()>;
/// Block header.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// Block.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;
/// A block with its justifications.
pub type SignedBlock = generic::SignedBlock<Block>;
/// Block identifier.
pub type BlockId = generic::BlockId<Block>;

/// The transaction extensions every signed transaction carries, checked in this order.
pub type TxExtension = (
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);

/// Unchecked extrinsic, as it travels over the network.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
/// The payload that is signed.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Migrations to run on runtime upgrade: KCG entries gain their links, and open entries' votes
/// move into ballots (both storage version 1).
type Migrations = (
	pallet_kcg::migrations::MigrateV0ToV1<Runtime>,
	pallet_kcg_validators::migrations::MigrateV0ToV1<Runtime>,
);

/// Dispatches extrinsics to the pallets.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	// Genesis is built in this order: balances before the bonds that hold them, validators
	// before the session that asks them for its first validator set.
	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;
	#[runtime::pallet_index(2)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(3)]
	pub type TransactionPayment = pallet_transaction_payment;
	#[runtime::pallet_index(4)]
	pub type Sudo = pallet_sudo;
	#[runtime::pallet_index(10)]
	pub type Validators = pallet_kcg_validators;
	#[runtime::pallet_index(11)]
	pub type Session = pallet_session;
	#[runtime::pallet_index(12)]
	pub type Aura = pallet_aura;
	#[runtime::pallet_index(13)]
	pub type Grandpa = pallet_grandpa;
	#[runtime::pallet_index(14)]
	pub type Authorship = pallet_authorship;
	#[runtime::pallet_index(15)]
	pub type Offences = pallet_offences;
	#[runtime::pallet_index(16)]
	pub type Historical = pallet_session::historical;
	#[runtime::pallet_index(17)]
	pub type AuraEquivocation = pallet_aura_equivocation;
	#[runtime::pallet_index(20)]
	pub type Kcg = pallet_kcg;
	#[runtime::pallet_index(21)]
	pub type Dod = pallet_dod;
}

/// Re-exported so the node's chain spec and tests can name the preset ids.
pub use genesis_config_presets::{DEVELOPMENT_PRESET, LOCAL_TESTNET_PRESET};
