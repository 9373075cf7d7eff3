//! Named genesis presets, built from code: `development` (Alice validates alone) and
//! `local_testnet` (Alice, Bob and Charlie validate).
//!
//! Each validator's `//Name//stash` account is registered as a DoD agent: a dev node started as
//! `--alice` (or `--dev`) puts `//Alice` into its keystore as `kcgv` (attesting as the
//! validator) and `//Alice//stash` as `dod!` (distilling as the agent), so the two workers never
//! race for one account's nonce.

use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

use pallet_kcg_validators::Parameters;
use sp_runtime::Perbill;

use crate::{
	AccountId, Balance, BalancesConfig, BlockNumber, DodConfig, KcgConfig, RuntimeGenesisConfig,
	SessionConfig, SessionKeys, SudoConfig, ValidatorsConfig, MINUTES, UNIT,
};

/// The preset `--dev` and `--chain dev` use.
pub const DEVELOPMENT_PRESET: &str = sp_genesis_builder::DEV_RUNTIME_PRESET;
/// The preset `--chain local` uses.
pub const LOCAL_TESTNET_PRESET: &str = sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET;

/// What every well-known development account (Alice … Ferdie and their `//stash`) starts with.
pub const ENDOWMENT: u128 = 1_000_000 * UNIT;

/// The bond each genesis validator starts with.
pub const GENESIS_BOND: u128 = 10_000 * UNIT;

/// A genesis validator: its account and the session keys it starts with.
struct GenesisValidator {
	account: AccountId,
	keys: SessionKeys,
}

/// The chain's timing and staking parameters, which differ between presets.
struct ChainParams {
	staking: Parameters<Balance, BlockNumber>,
	voting_period: BlockNumber,
	dod: pallet_dod::Parameters<Balance, BlockNumber>,
}

/// Deposits and bonds of Distillation on Demand, the same on both presets.
fn dod_params(
	gap_threshold: u32,
	demand_window: BlockNumber,
	claim_period: BlockNumber,
	gap_lifetime: BlockNumber,
) -> pallet_dod::Parameters<Balance, BlockNumber> {
	pallet_dod::Parameters {
		gap_threshold,
		demand_window,
		claim_period,
		gap_lifetime,
		request_deposit: UNIT,
		request_fee: UNIT,
		agent_bond: 100 * UNIT,
		agent_slash: Perbill::from_percent(10),
	}
}

/// Development: short everything, so that tests see sessions turn and entries expire quickly.
fn development_params() -> ChainParams {
	ChainParams {
		staking: Parameters {
			session_length: 10,
			unbonding_period: 20,
			min_validator_bond: 1_000 * UNIT,
			wrong_vote_slash: Perbill::from_percent(10),
			// The KCG's validation fee (a tenth of the 10 MEM deposit): deciding an entry
			// never pays more than the entry paid, and no decision takes more than 1% of the
			// pot.
			decision_reward: UNIT,
			pot_share: Perbill::from_percent(1),
		},
		voting_period: 20,
		// One request opens a gap; claims and demand last 20 blocks, gaps 200.
		dod: dod_params(1, 20, 20, 200),
	}
}

/// Local testnet: realistic timings at 6-second blocks (an hour to vote, a day to unbond), but
/// one-minute sessions, so that a validator who joins on a laptop is in the set within two.
fn local_testnet_params() -> ChainParams {
	ChainParams {
		staking: Parameters {
			session_length: MINUTES,
			unbonding_period: 24 * 60 * MINUTES,
			min_validator_bond: 1_000 * UNIT,
			wrong_vote_slash: Perbill::from_percent(10),
			// The KCG's validation fee (a tenth of the 10 MEM deposit): deciding an entry
			// never pays more than the entry paid, and no decision takes more than 1% of the
			// pot.
			decision_reward: UNIT,
			pot_share: Perbill::from_percent(1),
		},
		voting_period: 60 * MINUTES,
		// Three distinct requesters within 10 minutes open a gap; an agent has 5 minutes per
		// claim; a gap waits a day for its answer.
		dod: dod_params(3, 10 * MINUTES, 5 * MINUTES, 24 * 60 * MINUTES),
	}
}

/// The validator of a well-known development key: sr25519 for the account and Aura, ed25519 for
/// GRANDPA, all derived from the same `//Name` seed.
fn well_known_validator(sr: Sr25519Keyring, ed: Ed25519Keyring) -> GenesisValidator {
	GenesisValidator {
		account: sr.to_account_id(),
		keys: SessionKeys {
			aura: AuraId::from(sr.public()),
			grandpa: GrandpaId::from(ed.public()),
		},
	}
}

fn genesis(
	validators: Vec<GenesisValidator>,
	agents: Vec<AccountId>,
	endowed: Vec<AccountId>,
	root: AccountId,
	params: ChainParams,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed.into_iter().map(|account| (account, ENDOWMENT)).collect::<Vec<_>>(),
		},
		validators: ValidatorsConfig {
			validators: validators
				.iter()
				.map(|v| (v.account.clone(), GENESIS_BOND))
				.collect::<Vec<_>>(),
			params: params.staking,
		},
		kcg: KcgConfig { voting_period: params.voting_period },
		dod: DodConfig { params: Some(params.dod), agents },
		session: SessionConfig {
			keys: validators
				.into_iter()
				.map(|v| (v.account.clone(), v.account, v.keys))
				.collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
	})
}

/// Every well-known development account, endowed on both presets.
fn well_known_accounts() -> Vec<AccountId> {
	Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect()
}

/// `development`: Alice is the one validator and the sudo key.
pub fn development_config_genesis() -> Value {
	genesis(
		vec![well_known_validator(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
		vec![Sr25519Keyring::AliceStash.to_account_id()],
		well_known_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		development_params(),
	)
}

/// `local_testnet`: Alice, Bob and Charlie validate; Alice is the sudo key.
pub fn local_testnet_genesis() -> Value {
	genesis(
		vec![
			well_known_validator(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			well_known_validator(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
			well_known_validator(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
		],
		vec![
			Sr25519Keyring::AliceStash.to_account_id(),
			Sr25519Keyring::BobStash.to_account_id(),
			Sr25519Keyring::CharlieStash.to_account_id(),
		],
		well_known_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		local_testnet_params(),
	)
}

/// The JSON of the preset called `id`, if there is one.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		DEVELOPMENT_PRESET => development_config_genesis(),
		LOCAL_TESTNET_PRESET => local_testnet_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// The presets this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
	vec![PresetId::from(DEVELOPMENT_PRESET), PresetId::from(LOCAL_TESTNET_PRESET)]
}
