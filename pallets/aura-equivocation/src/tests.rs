//! The proof check on its own: what makes two headers an equivocation of one key.

use super::{check_equivocation_proof, testing::sealed, EquivocationProof, Slot};
use sp_consensus_aura::sr25519::AuthorityId;
use sp_core::{crypto::key_types::AURA, H256};
use sp_keystore::{testing::MemoryKeystore, Keystore, KeystoreExt};
use sp_runtime::{testing::Header, traits::Header as _, Digest};

fn header(number: u64, parent: u8) -> Header {
	Header::new(
		number,
		H256::repeat_byte(7),
		H256::repeat_byte(8),
		H256::repeat_byte(parent),
		Digest::default(),
	)
}

/// Alice's and Bob's Aura keys, in the keystore of the externalities.
fn with_keys(test: impl FnOnce(AuthorityId, AuthorityId)) {
	let keystore = MemoryKeystore::new();
	let alice = keystore.sr25519_generate_new(AURA, Some("//Alice")).unwrap();
	let bob = keystore.sr25519_generate_new(AURA, Some("//Bob")).unwrap();
	let mut ext = sp_io::TestExternalities::default();
	ext.register_extension(KeystoreExt::new(keystore));
	ext.execute_with(|| test(alice.into(), bob.into()));
}

fn proof(
	offender: &AuthorityId,
	slot: u64,
	first: Header,
	second: Header,
) -> EquivocationProof<Header, AuthorityId> {
	EquivocationProof {
		offender: offender.clone(),
		slot: Slot::from(slot),
		first_header: first,
		second_header: second,
	}
}

#[test]
fn two_blocks_sealed_for_one_slot_by_one_key_are_an_equivocation() {
	with_keys(|alice, _| {
		let slot = Slot::from(42);
		let first = sealed(header(5, 1), slot, &alice);
		let second = sealed(header(5, 2), slot, &alice);
		assert!(check_equivocation_proof(&proof(&alice, 42, first, second)));
	});
}

#[test]
fn a_liar_cannot_make_an_equivocation_out_of_less() {
	with_keys(|alice, bob| {
		let slot = Slot::from(42);
		let first = sealed(header(5, 1), slot, &alice);
		// The same block twice.
		assert!(!check_equivocation_proof(&proof(&alice, 42, first.clone(), first.clone())));
		// Two honest blocks of two slots.
		let next_slot = sealed(header(6, 1), Slot::from(43), &alice);
		assert!(!check_equivocation_proof(&proof(&alice, 42, first.clone(), next_slot.clone())));
		assert!(!check_equivocation_proof(&proof(&alice, 43, first.clone(), next_slot)));
		// Bob's block for the slot, blamed on Alice; and Alice's two blocks blamed on Bob.
		let bobs = sealed(header(5, 2), slot, &bob);
		assert!(!check_equivocation_proof(&proof(&alice, 42, first.clone(), bobs)));
		let seconds = sealed(header(5, 2), slot, &alice);
		assert!(!check_equivocation_proof(&proof(&bob, 42, first.clone(), seconds.clone())));
		// A header without a seal, or without the slot's pre-digest.
		assert!(!check_equivocation_proof(&proof(&alice, 42, first.clone(), header(5, 2))));
		let mut unsealed = seconds;
		unsealed.digest_mut().pop();
		assert!(!check_equivocation_proof(&proof(&alice, 42, first, unsealed)));
	});
}
