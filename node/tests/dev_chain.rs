//! `membria-node --dev` as users run it: Aura authors, GRANDPA finalizes, the chain survives a
//! restart; instant seal makes and finalizes a block per transaction; bad input is refused.

mod common;

use std::{process::Command, time::Duration};

use common::{h256, signed_transfer, Node, TempDir, NODE_BIN};
use serde_json::json;
use sp_keyring::Sr25519Keyring;

#[test]
fn dev_chain_finalizes_and_continues_after_restart() {
	let dir = TempDir::new("restart").expect("a scratch directory");

	let node = Node::start_dev(dir.path(), &[]);
	let finalized = node.wait_until(Duration::from_secs(120), "3 finalized blocks", |node| {
		let number = node.finalized_number();
		(number >= 3).then_some(number)
	});
	let finalized_hash = node.block_hash(finalized);
	let status = node.stop();
	assert!(status.success(), "node exited with {status} on SIGINT");

	// Same base path: the node must resume the same chain, not start a new one.
	let node = Node::start_dev(dir.path(), &[]);
	assert_eq!(
		node.block_hash(finalized),
		finalized_hash,
		"block #{finalized} changed across the restart"
	);
	assert!(node.finalized_number() >= finalized, "finality went back across the restart");
	node.wait_until(Duration::from_secs(120), "finality to move past the restart", |node| {
		(node.finalized_number() > finalized).then_some(())
	});
}

#[test]
fn instant_seal_makes_and_finalizes_a_block_per_transaction() {
	let dir = TempDir::new("instant").expect("a scratch directory");
	let node = Node::start_dev(dir.path(), &["--sealing", "instant"]);

	assert_eq!(node.best_number(), 0, "instant seal must not author empty blocks");
	let genesis = h256(&node.block_hash(0));
	let transfer =
		signed_transfer(Sr25519Keyring::Alice, Sr25519Keyring::Bob, 1_000_000, 0, genesis);
	node.rpc("author_submitExtrinsic", json!([transfer]));

	node.wait_until(Duration::from_secs(30), "block #1 to be finalized", |node| {
		(node.finalized_number() >= 1).then_some(())
	});
	let block = node.rpc("chain_getBlock", json!([node.block_hash(1)]));
	let extrinsics = block["block"]["extrinsics"].as_array().expect("extrinsics").clone();
	assert!(
		extrinsics.iter().any(|xt| xt.as_str() == Some(transfer.as_str())),
		"block #1 does not hold the transfer: {extrinsics:?}"
	);
}

#[test]
fn manual_seal_makes_blocks_on_request() {
	let dir = TempDir::new("manual").expect("a scratch directory");
	let node = Node::start_dev(dir.path(), &["--sealing", "manual"]);

	std::thread::sleep(Duration::from_secs(1));
	assert_eq!(node.best_number(), 0, "manual seal made a block nobody asked for");
	for expected in 1..=2u32 {
		let created = node.rpc("engine_createBlock", json!([true, true, null]));
		assert!(created["hash"].is_string(), "engine_createBlock answered {created}");
		assert_eq!(node.finalized_number(), expected);
	}
}

#[test]
fn garbage_extrinsic_is_refused_and_the_chain_keeps_finalizing() {
	let dir = TempDir::new("garbage").expect("a scratch directory");
	let node = Node::start_dev(dir.path(), &[]);

	for garbage in ["0xdeadbeef", "0x", "not hex at all"] {
		let refused = node.try_rpc("author_submitExtrinsic", json!([garbage]));
		assert!(refused.is_err(), "garbage extrinsic {garbage:?} was accepted: {refused:?}");
	}
	let before = node.finalized_number();
	node.wait_until(Duration::from_secs(120), "finality to move on after garbage", |node| {
		(node.finalized_number() > before).then_some(())
	});
}

/// Runs the node binary with `args` and returns (exit code, stderr).
fn run_node(args: &[&str]) -> (Option<i32>, String) {
	let output = Command::new(NODE_BIN).args(args).output().expect("run membria-node");
	(output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn unknown_chain_exits_with_one_line_reason() {
	let dir = TempDir::new("badchain").expect("a scratch directory");
	let base = dir.path().to_string_lossy().into_owned();
	let (code, stderr) = run_node(&["--chain", "no-such-chain", "--base-path", &base]);
	assert_ne!(code, Some(0), "unknown chain was accepted");
	let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
	assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
	assert!(lines[0].contains("unknown chain `no-such-chain`"), "unclear reason: {stderr}");
}

#[test]
fn malformed_flags_exit_with_one_line_reason() {
	for args in
		[&["--rpc-port", "not-a-port"][..], &["--no-such-flag"], &["--sealing", "sometimes"]]
	{
		let (code, stderr) = run_node(args);
		assert_eq!(code, Some(2), "{args:?} did not fail as a usage error: {stderr}");
		let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
		assert_eq!(lines.len(), 1, "{args:?}: expected one line, got: {stderr}");
		assert!(lines[0].starts_with("membria-node: error:"), "{args:?}: {stderr}");
	}
}

#[test]
fn build_spec_knows_both_chains() {
	for (chain, validators) in [("dev", 1), ("local", 3)] {
		let output = Command::new(NODE_BIN)
			.args(["build-spec", "--chain", chain])
			.output()
			.expect("run build-spec");
		assert!(output.status.success(), "build-spec --chain {chain} failed: {output:?}");
		let spec: serde_json::Value =
			serde_json::from_slice(&output.stdout).expect("build-spec prints JSON");
		let patch = &spec["genesis"]["runtimeGenesis"]["patch"];
		let keys = patch["session"]["keys"].as_array().expect("session keys in the preset");
		assert_eq!(keys.len(), validators, "{chain}: {patch}");
	}
}
