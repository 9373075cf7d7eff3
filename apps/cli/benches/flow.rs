//! The Distillation-on-Demand flow end to end, measured: from the demand that opens a gap to the
//! validated answer (`Kcg.Answer(question_key)` on chain), in blocks and seconds, on a dev node
//! with instant seal (one requester opens a gap) and on the local network of three validators
//! with 6 s blocks (three requesters open a gap; agents and validators on their own nodes).
//!
//! `cargo bench --manifest-path apps/Cargo.toml -p membria-cli --bench flow`

use std::time::{Duration, Instant};

use membria_chain::{
	extrinsics::{account, keypair, request_knowledge_call, Transactions},
	rpc::NodeRpc,
};
use membria_cli::stack::{
	node_binary, DevStack, Member, MemberPorts, NetOptions, NetStack, StackOptions,
};
use membria_primitives::question_key;

const QUESTION: &str = "What is Ethernet?";

async fn best(rpc: &NodeRpc) -> (u32, sp_core::H256) {
	let header: serde_json::Value = rpc
		.call("chain_getHeader", serde_json::json!([]))
		.await
		.expect("the best header");
	let number = u32::from_str_radix(
		header["number"].as_str().unwrap_or("0x0").trim_start_matches("0x"),
		16,
	)
	.unwrap_or_default();
	let hash = rpc.block_hash(number).await.ok().flatten().unwrap_or_default();
	(number, hash)
}

/// Files demand from each of `requesters`; waits for the validated answer. (blocks, seconds).
async fn gap_to_validated(url: &str, requesters: &[&str]) -> (u32, f64) {
	let rpc = NodeRpc::new(url);
	let transactions = Transactions::of_node(&rpc).await.expect("the node's runtime metadata");
	let answer = membria_verifier::answer_key(&question_key(QUESTION));
	let (start, _) = best(&rpc).await;
	let started = Instant::now();
	for seed in requesters {
		let who = keypair(seed).unwrap();
		let nonce = rpc.account_next_index(&account(&who)).await.unwrap();
		let extrinsic = transactions
			.sign(&who, &request_knowledge_call(QUESTION), nonce.into())
			.expect("the call encodes");
		rpc.submit_extrinsic(&extrinsic).await.expect("the demand is accepted");
	}
	loop {
		let (number, hash) = best(&rpc).await;
		if rpc.storage(&answer, hash).await.ok().flatten().is_some() {
			return (number - start, started.elapsed().as_secs_f64());
		}
		assert!(started.elapsed() < Duration::from_secs(600), "no answer in 10 minutes");
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
}

fn main() {
	let runtime = tokio::runtime::Runtime::new().unwrap();
	let membria = std::path::PathBuf::from(env!("CARGO_BIN_EXE_membria-full"));
	let node = node_binary().expect("the node binary");

	eprintln!("dev node, instant seal");
	let dev_dir = tempfile::tempdir().unwrap();
	let dev = DevStack::start(StackOptions {
		node_flags: vec!["--sealing".into(), "instant".into()],
		..StackOptions::on_free_ports(dev_dir.path(), membria.clone()).unwrap()
	})
	.expect("the dev stack");
	let (dev_blocks, dev_seconds) =
		runtime.block_on(gap_to_validated(&dev.options.ports.member.node_url(), &["//Bob"]));
	drop(dev);

	eprintln!("local network: Alice, Bob, Charlie");
	let net_dir = tempfile::tempdir().unwrap();
	let members: Vec<(Member, MemberPorts)> = [Member::Alice, Member::Bob, Member::Charlie]
		.into_iter()
		.map(|m| (m, MemberPorts::free().unwrap()))
		.collect();
	let alice_url = members[0].1.node_url();
	let mut net = NetStack::start(NetOptions {
		dir: net_dir.path().to_path_buf(),
		members,
		membria,
		node,
		gateway: None,
	})
	.expect("the local network");
	// Let the three connect and finalize before the clock starts.
	runtime.block_on(async {
		let rpc = NodeRpc::new(&alice_url);
		while best(&rpc).await.0 < 3 {
			tokio::time::sleep(Duration::from_secs(1)).await;
		}
	});
	let (net_blocks, net_seconds) =
		runtime.block_on(gap_to_validated(&alice_url, &["//Dave", "//Eve", "//Ferdie"]));
	net.shutdown(Duration::from_secs(30));

	println!("gap → Validated (Dod.request_knowledge to Kcg.Answer on the best chain)");
	println!(
		"  dev node, instant seal, 1 requester:            {dev_blocks} blocks, {dev_seconds:.2} s"
	);
	println!(
		"  local network, 3 validators, 6 s blocks, 3 requesters: {net_blocks} blocks, {net_seconds:.1} s"
	);
	println!("  ratio local / instant: {:.0}x in time", net_seconds / dev_seconds.max(1e-3));
}
