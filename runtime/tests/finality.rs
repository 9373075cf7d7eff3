//! Finality that costs stake, on the real runtime built from the `local_testnet` preset:
//! GRANDPA voters weigh their session stake (so seats bought at the minimum bond never reach a
//! third of the finality weight with under a third of the stake), and a GRANDPA equivocation,
//! reported with a key-ownership proof, slashes the offender's bond; forged reports are refused
//! and slash nothing.

mod common;

use codec::Encode;
use common::{account, join, local_chain, offence_slashes, run_to_session};
use frame_support::{
	assert_noop, assert_ok,
	traits::{fungible::Inspect, KeyOwnerProofSystem},
};
use membria_runtime::{
	genesis_config_presets::GENESIS_BOND, Balances, Grandpa, Historical, Runtime, RuntimeOrigin,
	Validators, UNIT,
};
use sp_consensus_grandpa::{
	AuthorityId as GrandpaId, Equivocation, EquivocationProof, RoundNumber, SetId, KEY_TYPE,
};
use sp_core::H256;
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};
use sp_runtime::Perbill;

fn weight_of(key: &GrandpaId) -> u64 {
	Grandpa::grandpa_authorities()
		.into_iter()
		.find(|(k, _)| k == key)
		.map(|(_, w)| w)
		.unwrap_or(0)
}

#[test]
fn genesis_voters_weigh_their_stake() {
	local_chain().execute_with(|| {
		let authorities = Grandpa::grandpa_authorities();
		assert_eq!(authorities.len(), 3);
		// 30,000 MEM fits in 2^48 units of 107 planck: each weighs 10,000 MEM / unit.
		let unit = pallet_kcg_validators::finality::weight_unit(3 * GENESIS_BOND);
		for (key, weight) in &authorities {
			assert_eq!(u128::from(*weight), GENESIS_BOND / unit, "{key:?}");
			assert!(*weight > 1, "a voter weighs its stake, not 1");
		}
		let expected: Vec<u64> =
			Validators::finality_weights(0).into_iter().map(|(_, w)| w).collect();
		assert_eq!(expected, vec![authorities[0].1; 3]);
	});
}

/// The attack: seven seats at the minimum bond (a fifth of the stake) join the three
/// genesis validators. One seat one vote, they hold 7 of 10 votes — GRANDPA's threshold — and
/// could sign a justification for any header without a genesis validator. Weighed by stake,
/// they hold under a third of the finality weight.
#[test]
fn cheap_seats_never_reach_a_third_of_finality_weight() {
	local_chain().execute_with(|| {
		let cheap = [
			(Sr25519Keyring::Dave, Ed25519Keyring::Dave),
			(Sr25519Keyring::Eve, Ed25519Keyring::Eve),
			(Sr25519Keyring::Ferdie, Ed25519Keyring::Ferdie),
			(Sr25519Keyring::CharlieStash, Ed25519Keyring::CharlieStash),
			(Sr25519Keyring::DaveStash, Ed25519Keyring::DaveStash),
			(Sr25519Keyring::AliceStash, Ed25519Keyring::AliceStash),
			(Sr25519Keyring::BobStash, Ed25519Keyring::BobStash),
		];
		let min_bond = 1_000 * UNIT;
		for (sr, ed) in cheap {
			join(sr, ed, min_bond);
		}
		let set_before = Grandpa::current_set_id();
		// Selected when session 1 ends (planning session 2), voting from session 2.
		run_to_session(2);
		let authorities = Grandpa::grandpa_authorities();
		assert_eq!(authorities.len(), 10, "all ten seats vote: {authorities:?}");
		assert!(Grandpa::current_set_id() > set_before);
		let total: u128 = authorities.iter().map(|(_, w)| u128::from(*w)).sum();
		let cheap_weight: u128 = cheap
			.iter()
			.map(|(_, ed)| u128::from(weight_of(&GrandpaId::from(ed.public()))))
			.sum();
		assert!(cheap_weight > 0);
		// A fifth of the stake is a fifth of the weight, under GRANDPA's threshold.
		let threshold = total - (total - 1) / 3;
		assert!(cheap_weight * 3 < total, "{cheap_weight}/{total}");
		assert!(cheap_weight < threshold);
		let share = cheap_weight * 37_000 / total;
		assert!(share.abs_diff(7_000) <= 1, "7,000 of 37,000 MEM weighs {share}/37,000");
		// The three genesis validators alone still pass it: 30,000 of 37,000.
		assert!(total - cheap_weight >= threshold);
	});
}

/// A bond moving by a hundredth of a percent is not worth a new authority set (each costs every
/// device a justification): the set stays until some weight moves by more than 1%.
#[test]
fn a_tiny_bond_change_keeps_the_set() {
	local_chain().execute_with(|| {
		let set_before = Grandpa::current_set_id();
		assert_ok!(Validators::bond_extra(
			RuntimeOrigin::signed(account(Sr25519Keyring::Bob)),
			UNIT
		));
		run_to_session(3);
		assert_eq!(Grandpa::current_set_id(), set_before);
	});
}

/// A change of stake alone is a new authority set: weights follow bonds from session to session.
#[test]
fn a_bond_change_reweighs_the_voters() {
	local_chain().execute_with(|| {
		let alice = GrandpaId::from(Ed25519Keyring::Alice.public());
		let bob = GrandpaId::from(Ed25519Keyring::Bob.public());
		assert_eq!(weight_of(&alice), weight_of(&bob));
		let set_before = Grandpa::current_set_id();
		assert_ok!(Validators::bond_extra(
			RuntimeOrigin::signed(account(Sr25519Keyring::Alice)),
			GENESIS_BOND
		));
		run_to_session(2);
		assert!(Grandpa::current_set_id() > set_before, "same seats, new weights: a new set");
		// Twice the bond, twice the weight, each within a unit of its stake.
		let (alice, bob) = (weight_of(&alice), weight_of(&bob));
		assert!(alice.abs_diff(2 * bob) <= 2, "{alice} vs 2 × {bob}");
	});
}

fn signed_prevote(
	signer: Ed25519Keyring,
	round: RoundNumber,
	set_id: SetId,
	target: H256,
) -> (finality_grandpa::Prevote<H256, u32>, sp_consensus_grandpa::AuthoritySignature) {
	let prevote = finality_grandpa::Prevote { target_hash: target, target_number: 1 };
	let payload = sp_consensus_grandpa::localized_payload(
		round,
		set_id,
		&finality_grandpa::Message::<H256, u32>::Prevote(prevote.clone()),
	);
	(prevote, signer.sign(&payload).into())
}

fn prevote_equivocation(
	identity: Ed25519Keyring,
	first_signer: Ed25519Keyring,
	second_signer: Ed25519Keyring,
	second_target: H256,
) -> EquivocationProof<H256, u32> {
	let set_id = Grandpa::current_set_id();
	let round = 1;
	EquivocationProof::new(
		set_id,
		Equivocation::Prevote(finality_grandpa::Equivocation {
			round_number: round,
			identity: GrandpaId::from(identity.public()),
			first: signed_prevote(first_signer, round, set_id, H256::repeat_byte(1)),
			second: signed_prevote(second_signer, round, set_id, second_target),
		}),
	)
}

fn key_owner_proof(key: Ed25519Keyring) -> sp_session::MembershipProof {
	Historical::prove((KEY_TYPE, GrandpaId::from(key.public()).encode())).unwrap()
}

#[test]
fn an_equivocation_is_reported_and_slashed() {
	local_chain().execute_with(|| {
		run_to_session(1);
		let alice = account(Sr25519Keyring::Alice);
		let pot = Validators::pot_account();
		let pot_before = Balances::balance(&pot);
		let bonded_before = pallet_kcg_validators::TotalBonded::<Runtime>::get();
		// Alice prevotes for two different blocks in the same round.
		let proof = prevote_equivocation(
			Ed25519Keyring::Alice,
			Ed25519Keyring::Alice,
			Ed25519Keyring::Alice,
			H256::repeat_byte(2),
		);
		assert_ok!(Grandpa::report_equivocation_unsigned(
			RuntimeOrigin::none(),
			Box::new(proof.clone()),
			key_owner_proof(Ed25519Keyring::Alice),
		));
		// One offender of three: GRANDPA's fraction is min(1, (3·1/3)²) = the whole bond.
		let slashes = offence_slashes();
		assert_eq!(slashes, vec![(alice.clone(), Perbill::one(), GENESIS_BOND)]);
		assert!(pallet_kcg_validators::Ledgers::<Runtime>::get(&alice).is_none());
		assert!(!pallet_kcg_validators::Candidates::<Runtime>::contains_key(&alice));
		assert_eq!(
			pallet_kcg_validators::TotalBonded::<Runtime>::get(),
			bonded_before - GENESIS_BOND
		);
		assert_eq!(Balances::balance(&pot), pot_before + GENESIS_BOND);
		Validators::do_try_state().unwrap();

		// The same report again is a duplicate and takes nothing more.
		assert!(Grandpa::report_equivocation_unsigned(
			RuntimeOrigin::none(),
			Box::new(proof),
			key_owner_proof(Ed25519Keyring::Alice),
		)
		.is_err());
		assert_eq!(offence_slashes().len(), 1);
	});
}

#[test]
fn forged_equivocation_reports_are_refused_and_slash_nothing() {
	local_chain().execute_with(|| {
		run_to_session(1);
		let bonded_before = pallet_kcg_validators::TotalBonded::<Runtime>::get();
		// A "second vote" Bob signed, claimed to be Alice's.
		let forged = prevote_equivocation(
			Ed25519Keyring::Alice,
			Ed25519Keyring::Alice,
			Ed25519Keyring::Bob,
			H256::repeat_byte(2),
		);
		assert_noop!(
			Grandpa::report_equivocation_unsigned(
				RuntimeOrigin::none(),
				Box::new(forged),
				key_owner_proof(Ed25519Keyring::Alice),
			),
			pallet_grandpa::Error::<Runtime>::InvalidEquivocationProof
		);
		// The same vote twice is no equivocation.
		let repeated = prevote_equivocation(
			Ed25519Keyring::Alice,
			Ed25519Keyring::Alice,
			Ed25519Keyring::Alice,
			H256::repeat_byte(1),
		);
		assert_noop!(
			Grandpa::report_equivocation_unsigned(
				RuntimeOrigin::none(),
				Box::new(repeated),
				key_owner_proof(Ed25519Keyring::Alice),
			),
			pallet_grandpa::Error::<Runtime>::InvalidEquivocationProof
		);
		// A real equivocation of Alice with Bob's key-ownership proof.
		let real = prevote_equivocation(
			Ed25519Keyring::Alice,
			Ed25519Keyring::Alice,
			Ed25519Keyring::Alice,
			H256::repeat_byte(2),
		);
		assert_noop!(
			Grandpa::report_equivocation_unsigned(
				RuntimeOrigin::none(),
				Box::new(real),
				key_owner_proof(Ed25519Keyring::Bob),
			),
			pallet_grandpa::Error::<Runtime>::InvalidKeyOwnershipProof
		);
		assert!(offence_slashes().is_empty());
		assert_eq!(pallet_kcg_validators::TotalBonded::<Runtime>::get(), bonded_before);
	});
}
