//! A validator that runs its key on two machines seals two blocks at each of its slots. On a real
//! network on 127.0.0.1 (`--chain local`: Alice, Bob and Charlie bond 10,000 MEM each), Alice's
//! key runs on two nodes (the second without GRANDPA, so the offence is Aura's alone). The other
//! validators' nodes see two blocks sealed by Alice for one slot, report it, and the runtime
//! slashes her whole bond (one third of the stake: `min(1, (3·⅓)²)`) and chills her.

mod common;

use std::time::Duration;

use common::*;
use membria_runtime::RuntimeEvent;
use sp_keyring::Sr25519Keyring;

#[test]
fn a_validator_sealing_two_blocks_for_one_slot_loses_its_bond() {
	let dir = TempDir::new("aura-equivocation").expect("a scratch directory");
	let bob = start_validator(dir.path(), "local", "bob", "--bob", None, &[]);
	let bootnode = multiaddr(&bob);
	let charlie =
		start_validator(dir.path(), "local", "charlie", "--charlie", Some(&bootnode), &[]);
	let alice = start_validator(dir.path(), "local", "alice", "--alice", Some(&bootnode), &[]);
	let twin = start_validator(
		dir.path(),
		"local",
		"alice-twin",
		"--alice",
		Some(&bootnode),
		// Without GRANDPA the offence is Aura's alone. (litep2p drops every connection of a node
		// whose GRANDPA protocol is unregistered, so this one speaks libp2p.)
		&["--no-grandpa", "--network-backend", "libp2p"],
	);

	let offender = Sr25519Keyring::Alice.to_account_id();
	let ledger_key = format!("0x{}", hex(&blake2_map_key("Validators", "Ledgers", &offender)));
	// Alice's bond goes once a report is in a block; her ledger is then removed. Read at the
	// finalized head, and the events of finalized blocks only: the twin's blocks fork the best
	// chain at every one of Alice's slots, so what is best can change while it is read.
	let finalized = bob.wait_until(Duration::from_secs(300), "Alice's slash finalized", |node| {
		let head = node.rpc("chain_getFinalizedHead", serde_json::json!([]));
		node.rpc("state_getStorage", serde_json::json!([ledger_key, head]))
			.is_null()
			.then(|| node.finalized_number())
	});
	let events: Vec<(u32, RuntimeEvent)> = (1..=finalized)
		.flat_map(|number| bob.events(number).into_iter().map(move |event| (number, event)))
		.collect();
	let slashed: Vec<(u32, u128)> = events
		.iter()
		.filter_map(|(number, event)| match event {
			RuntimeEvent::Validators(pallet_kcg_validators::Event::OffenceSlashed {
				who,
				amount,
				..
			}) if *who == offender => Some((*number, *amount)),
			_ => None,
		})
		.collect();
	// The first report takes the whole bond; reports of her later slots find nothing left.
	let (number, amount) = *slashed.first().expect("Alice's slash");
	assert_eq!(amount, 10_000 * 1_000_000_000_000, "the whole bond");
	assert_eq!(slashed.iter().map(|(_, amount)| amount).sum::<u128>(), amount, "{slashed:?}");
	// The offence was Aura's: two blocks for one slot, reported by a node that imported both.
	let kinds: Vec<[u8; 16]> = events
		.iter()
		.filter_map(|(at, event)| match event {
			RuntimeEvent::Offences(pallet_offences::Event::Offence { kind, .. })
				if *at == number =>
			{
				Some(*kind)
			},
			_ => None,
		})
		.collect();
	assert!(!kinds.is_empty() && kinds.iter().all(|kind| kind == b"aura:equivocatio"), "{kinds:?}");
	let reported = [&bob, &charlie, &alice]
		.iter()
		.any(|node| node.log().contains("reported an equivocation at slot"));
	assert!(reported, "no node logged its report\n--- bob ---\n{}", bob.log());
	for node in [twin, alice, charlie, bob] {
		node.stop();
	}
}
