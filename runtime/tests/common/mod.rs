//! The real runtime at genesis of the `local_testnet` preset, and the steps tests take on it.
#![allow(dead_code)]

use codec::Encode;
use frame_support::{assert_ok, traits::Hooks};
use membria_runtime::{
	genesis_config_presets::get_preset, AccountId, Grandpa, RuntimeEvent, RuntimeGenesisConfig,
	RuntimeOrigin, Session, SessionKeys, System, Validators, LOCAL_TESTNET_PRESET,
};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::{AuthorityId as GrandpaId, KEY_TYPE};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};
use sp_runtime::{Perbill, RuntimeAppPublic};

/// Merges a genesis patch into the default genesis config, as the chain spec builder does.
pub fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
	match (base, patch) {
		(serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
			for (key, value) in patch {
				merge(base.entry(key).or_insert(serde_json::Value::Null), value);
			}
		},
		(base, patch) => *base = patch,
	}
}

/// The `local_testnet` chain at genesis: Alice, Bob and Charlie bond 10,000 MEM each.
pub fn local_chain() -> sp_io::TestExternalities {
	let patch: serde_json::Value =
		serde_json::from_slice(&get_preset(&LOCAL_TESTNET_PRESET.into()).unwrap()).unwrap();
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
	merge(&mut config, patch);
	let mut ext = sp_io::TestExternalities::new_empty();
	// The well-known keys, for the ownership proofs of `Session.set_keys`.
	let keystore = sp_keystore::testing::MemoryKeystore::new();
	{
		use sp_keystore::Keystore;
		for sr in Sr25519Keyring::iter() {
			keystore
				.sr25519_generate_new(AuraId::ID, Some(&format!("//{}", <&str>::from(sr))))
				.unwrap();
		}
		for ed in Ed25519Keyring::iter() {
			keystore
				.ed25519_generate_new(KEY_TYPE, Some(&format!("//{}", <&str>::from(ed))))
				.unwrap();
		}
	}
	ext.register_extension(sp_keystore::KeystoreExt::new(keystore));
	ext.execute_with(|| {
		frame_support::genesis_builder_helper::build_state::<RuntimeGenesisConfig>(
			serde_json::to_vec(&config).unwrap(),
		)
		.unwrap();
		System::set_block_number(1);
	});
	ext
}

/// Runs blocks (session rotation and GRANDPA's end of block) until `session` starts.
pub fn run_to_session(session: u32) {
	while Session::current_index() < session {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Session::on_initialize(next);
		Grandpa::on_finalize(next);
	}
}

pub fn account(k: Sr25519Keyring) -> AccountId {
	k.to_account_id()
}

/// A validator that joins with `bond`: bonds, asks to validate, sets its session keys.
pub fn join(sr: Sr25519Keyring, ed: Ed25519Keyring, bond: u128) {
	let who = account(sr);
	assert_ok!(Validators::bond(RuntimeOrigin::signed(who.clone()), bond));
	assert_ok!(Validators::validate(RuntimeOrigin::signed(who.clone())));
	let mut keys =
		SessionKeys { aura: AuraId::from(sr.public()), grandpa: GrandpaId::from(ed.public()) };
	// Each key signs its owner, as `author_rotateKeysWithOwner` has the node do.
	let proof = keys
		.create_ownership_proof(&who.encode())
		.unwrap_or_else(|()| panic!("no ownership proof for {sr:?}/{ed:?} ({keys:?})"));
	assert_ok!(Session::set_keys(RuntimeOrigin::signed(who), keys, proof.encode()));
}

/// Every `Validators.OffenceSlashed` so far: (offender, fraction, amount).
pub fn offence_slashes() -> Vec<(AccountId, Perbill, u128)> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::Validators(pallet_kcg_validators::Event::OffenceSlashed {
				who,
				fraction,
				amount,
				..
			}) => Some((who, fraction, amount)),
			_ => None,
		})
		.collect()
}
