//! Every pallet's `try_state` invariants hold on the real runtime after the ledger's flows (the
//! checks `try-runtime` runs after each block of a live chain), and they catch a broken one.
//! Built only with `--features try-runtime`, as the `try-runtime` CLI builds the runtime.
#![cfg(feature = "try-runtime")]

mod common;

use common::{account, join, local_chain, run_to_session};
use frame_support::{
	assert_ok,
	traits::{TryState, TryStateSelect},
};
use membria_primitives::{question_key, Verdict};
use membria_runtime::{
	AllPalletsWithSystem, Kcg, Runtime, RuntimeOrigin, System, Validators, UNIT,
};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

fn all_invariants_hold() -> Result<(), sp_runtime::TryRuntimeError> {
	AllPalletsWithSystem::try_state(System::block_number(), TryStateSelect::All)
}

#[test]
fn the_invariants_hold_after_bonding_voting_and_deciding_and_catch_a_broken_total() {
	local_chain().execute_with(|| {
		assert_ok!(all_invariants_hold());
		// A fourth validator joins; sessions rotate.
		join(Sr25519Keyring::Dave, Ed25519Keyring::Dave, 2_000 * UNIT);
		run_to_session(2);
		// An entry is submitted and decided by the genesis validators' stake.
		let mut cid = vec![0x01, 0x55, 0x12, 0x20];
		cid.extend([9u8; 32]);
		assert_ok!(Kcg::submit_entry(
			RuntimeOrigin::signed(account(Sr25519Keyring::Eve)),
			question_key("what does try-runtime check"),
			cid,
			sp_core::H256::repeat_byte(9),
			100,
			Default::default(),
			None,
		));
		for validator in [Sr25519Keyring::Alice, Sr25519Keyring::Bob, Sr25519Keyring::Charlie] {
			assert_ok!(Validators::attest(
				RuntimeOrigin::signed(account(validator)),
				0,
				Verdict::Approve
			));
		}
		assert!(matches!(
			pallet_kcg::Entries::<Runtime>::get(0).map(|e| e.status),
			Some(pallet_kcg::EntryStatus::Validated { .. })
		));
		assert_ok!(all_invariants_hold());

		// The checks are wired in: a bond total that no longer matches the ledgers fails them.
		pallet_kcg_validators::TotalBonded::<Runtime>::mutate(|total| *total += 1);
		assert!(all_invariants_hold().is_err());
	});
}

#[test]
fn the_migration_to_ballots_passes_its_checks_and_leaves_the_invariants_holding() {
	use frame_support::traits::{OnRuntimeUpgrade, StorageVersion};
	use pallet_kcg_validators::{migrations, Ballots};
	local_chain().execute_with(|| {
		run_to_session(1);
		let submit = |seed: u8| {
			let mut cid = vec![0x01, 0x55, 0x12, 0x20];
			cid.extend([seed; 32]);
			assert_ok!(Kcg::submit_entry(
				RuntimeOrigin::signed(account(Sr25519Keyring::Eve)),
				question_key(&format!("what does migration {seed} move")),
				cid,
				sp_core::H256::repeat_byte(seed),
				100,
				Default::default(),
				None,
			));
		};
		submit(1);
		submit(2);
		// Storage as version 0 left it: no ballots, one vote on entry 0 in `Votes`.
		StorageVersion::new(0).put::<Validators>();
		Ballots::<Runtime>::remove(0);
		Ballots::<Runtime>::remove(1);
		let alice = account(Sr25519Keyring::Alice);
		migrations::v1::Votes::<Runtime>::insert(0, &alice, Verdict::Approve);
		assert!(all_invariants_hold().is_err(), "open entries without ballots");

		assert_ok!(migrations::MigrateV0ToV1::<Runtime>::try_on_runtime_upgrade(true));

		assert_eq!(Ballots::<Runtime>::get(0).map(|b| b.votes.len()), Some(1));
		assert_eq!(Ballots::<Runtime>::get(1).map(|b| b.votes.len()), Some(0));
		assert_ok!(all_invariants_hold());
		// Alice's migrated vote counts: with Bob's, two of the three equal stakes decide.
		assert_ok!(Validators::attest(
			RuntimeOrigin::signed(account(Sr25519Keyring::Bob)),
			0,
			Verdict::Approve
		));
		assert!(matches!(
			pallet_kcg::Entries::<Runtime>::get(0).map(|e| e.status),
			Some(pallet_kcg::EntryStatus::Validated { .. })
		));
		assert_ok!(all_invariants_hold());
	});
}
