//! Finality weighs stake, on a real network of four nodes on 127.0.0.1: Alice bonds 10,000 MEM,
//! Bob, Charlie and Dave the minimum of 1,000 each. One seat one vote, the three cheap seats
//! hold 3 of 4 votes — GRANDPA's threshold — and would finalize without Alice; weighed by stake
//! they hold 3,000 of 13,000 and cannot. Their nodes author blocks, nothing is finalized, until
//! Alice's node joins.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use sp_core::crypto::Ss58Codec;
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

const UNIT: u128 = 1_000_000_000_000;

/// `--chain local` with Dave as a fourth genesis validator and the bonds above.
fn chain_spec(dir: &std::path::Path) -> std::path::PathBuf {
	let output = std::process::Command::new(NODE_BIN)
		.args(["build-spec", "--chain", "local"])
		.output()
		.expect("build-spec runs");
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let mut spec: Value = serde_json::from_slice(&output.stdout).expect("a JSON chain spec");
	let patch = &mut spec["genesis"]["runtimeGenesis"]["patch"];
	let members = [
		(Sr25519Keyring::Alice, Ed25519Keyring::Alice, 10_000 * UNIT),
		(Sr25519Keyring::Bob, Ed25519Keyring::Bob, 1_000 * UNIT),
		(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie, 1_000 * UNIT),
		(Sr25519Keyring::Dave, Ed25519Keyring::Dave, 1_000 * UNIT),
	];
	let account = |sr: Sr25519Keyring| sr.to_account_id().to_ss58check();
	patch["validators"]["validators"] =
		members.iter().map(|(sr, _, bond)| json!([account(*sr), bond])).collect();
	patch["session"]["keys"] = members
		.iter()
		.map(|(sr, ed, _)| {
			json!([
				account(*sr),
				account(*sr),
				{"aura": account(*sr), "grandpa": ed.public().to_ss58check()}
			])
		})
		.collect();
	let path = dir.join("weighted-spec.json");
	std::fs::write(&path, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
	path
}

#[test]
fn cheap_seats_cannot_finalize_without_the_stake() {
	let dir = TempDir::new("weighted-finality").expect("a scratch directory");
	let spec = chain_spec(dir.path());
	let spec = spec.to_str().unwrap();
	let bob = start_validator(dir.path(), spec, "bob", "--bob", None, &[]);
	let bootnode = multiaddr(&bob);
	let charlie = start_validator(dir.path(), spec, "charlie", "--charlie", Some(&bootnode), &[]);
	let dave = start_validator(dir.path(), spec, "dave", "--dave", Some(&bootnode), &[]);

	// The genesis voters weigh their bonds: Alice ten times each of the others.
	let authorities: Vec<(sp_consensus_grandpa::AuthorityId, u64)> = bob
		.storage(&value_key("Grandpa", "Authorities"), None)
		.expect("Grandpa.Authorities");
	let weight = |ed: Ed25519Keyring| {
		let key = sp_consensus_grandpa::AuthorityId::from(ed.public());
		authorities.iter().find(|(id, _)| *id == key).map(|(_, w)| *w).unwrap()
	};
	// (Each within one unit of its stake: 13,000 MEM is counted in units of 47 planck.)
	let (alice, bob_weight) = (weight(Ed25519Keyring::Alice), weight(Ed25519Keyring::Bob));
	assert!(alice.abs_diff(10 * bob_weight) <= 10, "{alice} vs 10 × {bob_weight}");

	// Bob, Charlie and Dave author their slots; with 3 of 4 seats but 3/13 of the weight they
	// finalize nothing.
	bob.wait_until(Duration::from_secs(180), "blocks from the cheap seats", |node| {
		(node.best_number() >= 6).then_some(())
	});
	let watched = Instant::now();
	while watched.elapsed() < Duration::from_secs(20) {
		for node in [&bob, &charlie, &dave] {
			assert_eq!(
				node.finalized_number(),
				0,
				"a quarter of the stake finalized a block\n--- log ---\n{}",
				node.log()
			);
		}
		std::thread::sleep(Duration::from_secs(2));
	}
	let best = bob.best_number();

	// Alice's stake joins: finality follows.
	let alice = start_validator(dir.path(), spec, "alice", "--alice", Some(&bootnode), &[]);
	bob.wait_until(Duration::from_secs(180), "finality with Alice", |node| {
		(node.finalized_number() >= best).then_some(())
	});
	assert!(alice.finalized_number() > 0 || alice.best_number() > 0);
	for node in [alice, dave, charlie, bob] {
		node.stop();
	}
}
