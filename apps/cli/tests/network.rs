//! A local network of real processes on 127.0.0.1 (`--chain local`): Alice, Bob and Charlie
//! validate, each with its own node, IPFS node (peered with the others) and distiller; Dave's
//! node joins as a validator through the polkadot.js script the README gives users
//! (`tests/scripts/join-validator.mjs`), authors blocks, and his off-chain worker attests.
//! Then faults: one of four validators stopped (blocks still finalized, entries still decided;
//! it catches up when it returns), two of four stopped (finality stalls, as GRANDPA must, and
//! resumes when one returns), with no entry decided twice and no bond lost.
//!
//! Dave bonds 20,000 MEM against the others' 10,000 each: 50,000 in all, so no entry reaches
//! two thirds without his stake — a validated entry is one his worker attested.

mod common;

use std::{
	process::Command,
	time::{Duration, Instant},
};

use codec::Decode;
use membria_chain::{
	extrinsics::{account, keypair, Call, Keypair, Transactions},
	rpc::NodeRpc,
};
use membria_cli::stack::{node_binary, Member, MemberPorts, NetOptions, NetStack};
use membria_verifier::{ChainEntry, EntryStatus};
use sp_core::H256;

fn storage_key(pallet: &str, item: &str) -> Vec<u8> {
	let mut key = sp_crypto_hashing::twox_128(pallet.as_bytes()).to_vec();
	key.extend(sp_crypto_hashing::twox_128(item.as_bytes()));
	key
}

struct Chain {
	rpc: NodeRpc,
	runtime: tokio::runtime::Runtime,
}

impl Chain {
	fn new(url: &str) -> Self {
		Self { rpc: NodeRpc::new(url), runtime: tokio::runtime::Runtime::new().unwrap() }
	}

	fn header_number(&self, method: &str) -> u32 {
		self.runtime.block_on(async {
			let hash: serde_json::Value = match method {
				"finalized" => serde_json::json!([self.rpc.finalized_head().await.unwrap()]),
				_ => serde_json::json!([]),
			};
			let header: serde_json::Value = self.rpc.call("chain_getHeader", hash).await.unwrap();
			u32::from_str_radix(header["number"].as_str().unwrap().trim_start_matches("0x"), 16)
				.unwrap()
		})
	}

	fn finalized(&self) -> u32 {
		self.header_number("finalized")
	}

	fn best(&self) -> u32 {
		self.header_number("best")
	}

	/// The best block's hash (reads follow the best chain: during a finality stall too).
	async fn best_hash(&self) -> H256 {
		self.rpc.call("chain_getBlockHash", serde_json::json!([])).await.unwrap()
	}

	fn value<T: Decode>(&self, key: &[u8]) -> Option<T> {
		self.runtime.block_on(async {
			let head = self.best_hash().await;
			self.rpc
				.storage(key, head)
				.await
				.unwrap()
				.map(|raw| T::decode(&mut &raw[..]).unwrap())
		})
	}

	fn entry(&self, id: u64) -> Option<ChainEntry> {
		self.runtime.block_on(async {
			let head = self.best_hash().await;
			self.rpc
				.runtime_call::<Option<ChainEntry>>("KcgApi_entry", id, head)
				.await
				.unwrap()
		})
	}

	/// Submits `call` signed by `who` (next nonce).
	fn submit(&self, who: &Keypair, call: &Call) {
		self.runtime.block_on(async {
			let transactions = Transactions::of_node(&self.rpc).await.expect("the node's metadata");
			let nonce = self.rpc.account_next_index(&account(who)).await.unwrap();
			let extrinsic = transactions.sign(who, call, nonce.into()).expect("the call encodes");
			self.rpc
				.submit_extrinsic(&extrinsic)
				.await
				.expect("the node takes the extrinsic");
		});
	}
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
	let started = Instant::now();
	while !done() {
		assert!(started.elapsed() < timeout, "timed out: {what}");
		std::thread::sleep(Duration::from_secs(1));
	}
	println!("{what} ({:.0} s)", started.elapsed().as_secs_f64());
}

/// Distills `question` with Alice's distiller, adds the body to Alice's IPFS node, and has Bob
/// submit it; the entry id.
fn submit_entry(chain: &Chain, alice: &MemberPorts, question: &str) -> u64 {
	let body = reqwest::blocking::Client::new()
		.post(format!("http://127.0.0.1:{}/distill", alice.distiller))
		.header("content-type", "application/json")
		.body(membria_offchain::protocol::distill_request(question))
		.send()
		.and_then(|r| r.error_for_status())
		.and_then(|r| r.bytes())
		.unwrap_or_else(|e| panic!("the corpus answers {question}: {e}"))
		.to_vec();
	let ipfs = membria_ipfs::Client::new(&alice.ipfs_url(), Default::default()).unwrap();
	chain.runtime.block_on(ipfs.add(&body)).expect("added to Alice's IPFS");
	let id: u64 = chain.value(&storage_key("Kcg", "NextEntryId")).unwrap_or_default();
	// With the links the body proposes, as an agent submits it.
	let call = membria_cli::dev_chain::submit_entry_call(&body, question);
	chain.submit(&keypair("//Bob").unwrap(), &call);
	wait_until(&format!("entry {id} on chain"), Duration::from_secs(60), || {
		chain.entry(id).is_some()
	});
	id
}

fn status(chain: &Chain, id: u64) -> EntryStatus<u32> {
	chain.entry(id).expect("the entry").status
}

fn wait_validated(chain: &Chain, id: u64) {
	wait_until(&format!("entry {id} validated"), Duration::from_secs(240), || {
		matches!(status(chain, id), EntryStatus::Validated { .. })
	});
}

#[test]
fn dave_joins_and_the_network_survives_faults() {
	let dir = tempfile::tempdir().expect("a temp dir");
	let members: Vec<(Member, MemberPorts)> =
		Member::ALL.into_iter().map(|m| (m, MemberPorts::free().unwrap())).collect();
	let ports = |member: Member| members.iter().find(|(m, _)| *m == member).unwrap().1;
	let mut net = NetStack::start(NetOptions {
		dir: dir.path().to_path_buf(),
		members: members.clone(),
		membria: env!("CARGO_BIN_EXE_membria-full").into(),
		node: node_binary().expect("the node binary"),
		gateway: None,
	})
	.expect("the network starts");
	let alice = Chain::new(&ports(Member::Alice).node_url());
	wait_until("blocks finalized by Alice, Bob and Charlie", Duration::from_secs(120), || {
		alice.finalized() >= 2
	});

	// --- Dave joins with the README's polkadot.js script. ---
	let script = common::manifest_dir().join("../../tests/scripts/join-validator.mjs");
	let output = Command::new("node")
		.arg(&script)
		.args(["--node", &ports(Member::Dave).node_url()])
		.args(["--seed", "//Dave", "--bond", "20000", "--timeout", "480"])
		.output()
		.expect("node runs the script");
	let stdout = String::from_utf8_lossy(&output.stdout);
	assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
	println!("{stdout}");
	assert!(stdout.contains("authored by //Dave"), "{stdout}");
	let bonded: u128 = alice.value(&storage_key("Validators", "TotalBonded")).unwrap();

	// --- Dave's worker attests: without his stake no entry reaches two thirds. ---
	let first = submit_entry(&alice, &ports(Member::Alice), "What is Ethernet?");
	wait_validated(&alice, first);

	// --- One of four stops: finality and decisions go on; it catches up when back. ---
	net.site(Member::Charlie).unwrap().stop_node();
	let stopped_at = alice.finalized();
	wait_until("finality without Charlie", Duration::from_secs(120), || {
		alice.finalized() >= stopped_at + 3
	});
	let second = submit_entry(&alice, &ports(Member::Alice), "What is Unix?");
	wait_validated(&alice, second);
	net.site(Member::Charlie).unwrap().start_node().expect("Charlie restarts");
	let charlie = Chain::new(&ports(Member::Charlie).node_url());
	let target = alice.finalized();
	wait_until("Charlie caught up", Duration::from_secs(180), || charlie.finalized() >= target);

	// --- Two of four stop: finality stalls, nothing is decided; one returns, all resumes. ---
	net.site(Member::Bob).unwrap().stop_node();
	net.site(Member::Charlie).unwrap().stop_node();
	let dave = Chain::new(&ports(Member::Dave).node_url());
	let third = submit_entry(&dave, &ports(Member::Alice), "What is Linux?");
	// Rounds Bob and Charlie voted in before they stopped can still complete: the stall is
	// counted from when Alice's finality has stood still for 12 s (it must, within 2 minutes).
	let mut stalled = alice.finalized();
	let mut since = Instant::now();
	wait_until("finality to stand still", Duration::from_secs(120), || {
		let now = alice.finalized();
		if now != stalled {
			(stalled, since) = (now, Instant::now());
		}
		since.elapsed() >= Duration::from_secs(12)
	});
	let best = alice.best();
	std::thread::sleep(Duration::from_secs(36));
	assert!(alice.best() > best, "Alice and Dave still author blocks");
	assert!(
		alice.finalized() <= stalled + 1,
		"finality must stall with half the authorities: {stalled} → {}",
		alice.finalized()
	);
	assert!(
		matches!(status(&alice, third), EntryStatus::Pending { .. }),
		"no decision without two thirds of the stake"
	);
	net.site(Member::Bob).unwrap().start_node().expect("Bob restarts");
	wait_until("finality resumed", Duration::from_secs(180), || alice.finalized() > stalled + 2);
	wait_validated(&alice, third);

	// --- Each entry decided once; no bond lost. ---
	let decided: u64 = alice.value(&storage_key("Kcg", "ValidationLogLen")).unwrap();
	assert_eq!(decided, 3, "three validations, each logged once");
	let after: u128 = alice.value(&storage_key("Validators", "TotalBonded")).unwrap();
	assert_eq!(after, bonded, "no bond slashed or lost");
	for id in [first, second, third] {
		assert!(matches!(status(&alice, id), EntryStatus::Validated { .. }));
	}
	net.shutdown(Duration::from_secs(30));
}
