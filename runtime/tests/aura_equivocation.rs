//! Aura equivocations cost the bond, on the real runtime (`local_testnet` genesis): two blocks
//! sealed by one validator's Aura key for one slot, reported with a key-ownership proof, are an
//! offence its stake pays for; forged, stale and repeated reports are refused and slash nothing.

mod common;

use codec::Encode;
use common::{account, local_chain, offence_slashes, run_to_session};
use frame_support::{assert_noop, assert_ok, traits::fungible::Inspect};
use membria_runtime::{
	genesis_config_presets::GENESIS_BOND, AuraEquivocation, Balances, Header, Historical, Runtime,
	RuntimeOrigin, Validators,
};
use pallet_aura_equivocation::{testing::sealed, EquivocationProof, Error, Slot, KEY_TYPE};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_core::H256;
use sp_keyring::Sr25519Keyring;
use sp_runtime::{traits::Header as _, Digest, Perbill};

/// The slot the chain is at in these tests.
const NOW: u64 = 1_000;

fn aura_key(who: Sr25519Keyring) -> AuraId {
	AuraId::from(who.public())
}

/// Block #5 on parent `parent`, sealed by `signer` for `slot`.
fn block(parent: u8, slot: u64, signer: Sr25519Keyring) -> Header {
	let header = Header::new(
		5,
		H256::repeat_byte(3),
		H256::repeat_byte(4),
		H256::repeat_byte(parent),
		Digest::default(),
	);
	sealed(header, Slot::from(slot), &aura_key(signer))
}

fn proof(
	offender: Sr25519Keyring,
	slot: u64,
	first: Header,
	second: Header,
) -> Box<EquivocationProof<Header, AuraId>> {
	Box::new(EquivocationProof {
		offender: aura_key(offender),
		slot: Slot::from(slot),
		first_header: first,
		second_header: second,
	})
}

/// Two blocks Alice sealed for `slot`.
fn alices_equivocation(slot: u64) -> Box<EquivocationProof<Header, AuraId>> {
	proof(
		Sr25519Keyring::Alice,
		slot,
		block(1, slot, Sr25519Keyring::Alice),
		block(2, slot, Sr25519Keyring::Alice),
	)
}

fn key_owner_proof(who: Sr25519Keyring) -> sp_session::MembershipProof {
	use frame_support::traits::KeyOwnerProofSystem;
	Historical::prove((KEY_TYPE, aura_key(who).encode())).expect("a session key of the set")
}

fn at_slot_now() {
	run_to_session(1);
	pallet_aura::CurrentSlot::<Runtime>::put(Slot::from(NOW));
}

#[test]
fn two_blocks_sealed_for_one_slot_are_reported_and_slashed() {
	local_chain().execute_with(|| {
		at_slot_now();
		let alice = account(Sr25519Keyring::Alice);
		let reporter = account(Sr25519Keyring::Dave);
		let pot_before = Balances::balance(&Validators::pot_account());
		let equivocation = alices_equivocation(NOW - 1);
		let reported = AuraEquivocation::report_equivocation(
			RuntimeOrigin::signed(reporter),
			equivocation.clone(),
			key_owner_proof(Sr25519Keyring::Alice),
		);
		assert_ok!(reported);
		// A true report is free to its reporter.
		assert_eq!(reported.unwrap().pays_fee, frame_support::dispatch::Pays::No);
		// One of three equal stakes: min(1, (3·1/3)²) of the bond, all of it, into the pot.
		assert_eq!(offence_slashes(), vec![(alice.clone(), Perbill::one(), GENESIS_BOND)]);
		assert!(pallet_kcg_validators::Ledgers::<Runtime>::get(&alice).is_none());
		assert!(!pallet_kcg_validators::Candidates::<Runtime>::contains_key(&alice));
		assert_eq!(Balances::balance(&Validators::pot_account()), pot_before + GENESIS_BOND);
		Validators::do_try_state().unwrap();

		// The same offence again, even through the unsigned path, takes nothing more.
		assert_noop!(
			AuraEquivocation::report_equivocation_unsigned(
				RuntimeOrigin::none(),
				equivocation,
				key_owner_proof(Sr25519Keyring::Alice),
			),
			Error::<Runtime>::DuplicateOffenceReport
		);
		assert_eq!(offence_slashes().len(), 1);
	});
}

#[test]
fn forged_stale_and_misattributed_reports_are_refused_and_slash_nothing() {
	local_chain().execute_with(|| {
		at_slot_now();
		let bonded = pallet_kcg_validators::TotalBonded::<Runtime>::get();
		let report = |equivocation, owner| {
			AuraEquivocation::report_equivocation(
				RuntimeOrigin::signed(account(Sr25519Keyring::Dave)),
				equivocation,
				key_owner_proof(owner),
			)
		};
		let slot = NOW - 1;
		let alices = block(1, slot, Sr25519Keyring::Alice);
		// Against Alice's block for the slot: Bob's honest block of the slot blamed on her, her
		// own block again, her block of another slot. None is two blocks of hers for one slot.
		for second in [
			block(2, slot, Sr25519Keyring::Bob),
			alices.clone(),
			block(2, slot - 1, Sr25519Keyring::Alice),
		] {
			assert_noop!(
				report(
					proof(Sr25519Keyring::Alice, slot, alices.clone(), second),
					Sr25519Keyring::Alice
				),
				Error::<Runtime>::InvalidEquivocationProof
			);
		}
		// A real equivocation of Alice's with Bob's key-ownership proof: Bob is not the signer.
		let real =
			proof(Sr25519Keyring::Alice, slot, alices, block(2, slot, Sr25519Keyring::Alice));
		assert_noop!(
			report(real.clone(), Sr25519Keyring::Bob),
			Error::<Runtime>::InvalidKeyOwnershipProof
		);
		// Too old (more than MaxReportAge slots ago), or a slot still to come.
		for at in [NOW - 601, NOW + 1] {
			assert_noop!(
				report(alices_equivocation(at), Sr25519Keyring::Alice),
				Error::<Runtime>::StaleEquivocation
			);
		}
		assert!(offence_slashes().is_empty());
		assert_eq!(pallet_kcg_validators::TotalBonded::<Runtime>::get(), bonded);
	});
}

#[test]
fn a_key_ownership_proof_of_an_old_session_is_refused() {
	local_chain().execute_with(|| {
		at_slot_now();
		// Proved in session 1, reported in session 3: the stake of an older session would
		// weigh the offence, one the reporter chose.
		let old_proof = key_owner_proof(Sr25519Keyring::Alice);
		common::run_to_session(3);
		assert_noop!(
			AuraEquivocation::report_equivocation(
				RuntimeOrigin::signed(account(Sr25519Keyring::Dave)),
				alices_equivocation(NOW - 1),
				old_proof,
			),
			Error::<Runtime>::StaleEquivocation
		);
		assert!(offence_slashes().is_empty());
	});
}

#[test]
fn unsigned_reports_come_only_from_the_local_node() {
	#[allow(deprecated)]
	use frame_support::unsigned::ValidateUnsigned;
	use sp_runtime::transaction_validity::TransactionSource;
	local_chain().execute_with(|| {
		at_slot_now();
		let call = pallet_aura_equivocation::Call::<Runtime>::report_equivocation_unsigned {
			equivocation_proof: alices_equivocation(NOW - 1),
			key_owner_proof: key_owner_proof(Sr25519Keyring::Alice),
		};
		#[allow(deprecated)]
		let validate = |source| AuraEquivocation::validate_unsigned(source, &call);
		assert!(validate(TransactionSource::External).is_err());
		assert!(validate(TransactionSource::Local).is_ok());
	});
}
