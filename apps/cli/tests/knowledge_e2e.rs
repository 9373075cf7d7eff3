//! The knowledge itself, end to end on the dev stack (what `membria up` runs, on free ports):
//! devices ask, the gateway files demand, the DoD agent distills, validators verify, the device
//! syncs and answers.
//!
//! - An answer says what was asked in its first sentence (a definition for "What is Unix?").
//! - A new entry is linked to a validated one its teacher finds related ("What is Linux?" →
//!   "What is Unix?"), the validators check the link with the two bodies, and the device prints
//!   the pair: "see also" under the answer, and both directions in `membria graph`.
//! - A body copied from the corpus with one fact changed (a year) is rejected by the validators
//!   (`/verify` names the changed number).
//! - A question the teacher cannot answer is given up on chain with its reason (the
//!   `Dod.ClaimAbandoned` event), not left to lapse.
//!
//! Needs the node binary (`$MEMBRIA_NODE`) and the embedding model (`$MEMBRIA_MODELS`).

mod common;

use std::time::Duration;

use common::{membria, run_membria, wait_for};
use membria_chain::metadata::ChainMetadata;
use membria_cli::{
	dev_chain::{storage_key, submit_entry_call, DevChain},
	stack::{DevStack, StackOptions},
};
use membria_verifier::{ChainEntry, EntryStatus};

fn first_line(out: &str) -> &str {
	out.lines().next().unwrap_or_default()
}

#[test]
fn answers_say_what_was_asked_links_are_checked_and_shown_lies_and_give_ups_are_on_chain() {
	let dir = tempfile::tempdir().expect("a temp dir");
	let stack = DevStack::start(StackOptions {
		demand_seed: Some("//Dave".into()),
		gateway: true,
		..StackOptions::on_free_ports(dir.path(), membria()).expect("stack options")
	})
	.expect("the dev stack starts");
	let gateway = stack.options.ports.gateway_url();
	let member = stack.options.ports.member;
	let spec = stack.chain_spec.display().to_string();
	let data = dir.path().join("device").display().to_string();
	let device = |command: &[&str]| -> (i32, String) {
		let mut args: Vec<&str> = command.to_vec();
		args.extend(["--gateway", &gateway, "--data-dir", &data, "--chain-spec", &spec]);
		let run = run_membria(&args);
		(run.code, run.stdout)
	};
	let request = |question: &str| {
		// A gateway still catching up answers 503 for its first seconds.
		wait_for(Duration::from_secs(60), "the gateway to file demand", || {
			let (code, out) = device(&["ask", question, "--request"]);
			(code == 3 && out.contains("demand")).then_some(())
		});
	};
	let runtime = tokio::runtime::Runtime::new().unwrap();
	let chain = runtime.block_on(DevChain::connect(&member.node_url())).expect("the node");
	let entry = |id: u64| -> Option<ChainEntry> {
		runtime.block_on(async {
			let head = chain.rpc.finalized_head().await.ok()?;
			chain
				.rpc
				.runtime_call::<Option<ChainEntry>>("KcgApi_entry", id, head)
				.await
				.ok()?
		})
	};
	let answer_to = |question: &str| -> Option<u64> {
		runtime
			.block_on(chain.finalized_answer(&membria_primitives::question_key(question)))
			.ok()?
	};

	// --- Demand: one question the corpus answers, one it cannot. ---
	request("What is Unix?");
	request("What is the capital of Peru?");

	// --- A lie: Priestley's year changed in a body otherwise copied from the corpus. ---
	let distilled = reqwest::blocking::Client::new()
		.post(format!("{}/distill", member.distiller_url()))
		.header("content-type", "application/json")
		.body(r#"{"question":"When was oxygen discovered?"}"#)
		.send()
		.and_then(|r| r.error_for_status())
		.and_then(|r| r.text())
		.expect("the distiller answers");
	assert!(distilled.contains("1774"), "{distilled}");
	let tampered = distilled.replace("1774", "1775").into_bytes();
	let ipfs = membria_ipfs::Client::new(&member.ipfs_url(), Default::default()).unwrap();
	runtime.block_on(ipfs.add(&tampered)).expect("added to IPFS");
	let first = runtime.block_on(chain.next_entry_id()).unwrap();
	runtime
		.block_on(
			chain.submit("//Bob", &submit_entry_call(&tampered, "When was oxygen discovered?")),
		)
		.expect("submitted");
	// Its id, found by its body's hash: the agent's entries for the demand above can land in
	// the same block or before it, so the next id at the finalized head is not necessarily it.
	let tampered_hash = sp_core::H256(sp_crypto_hashing::blake2_256(&tampered));
	let lie = wait_for(Duration::from_secs(120), "the tampered entry on chain", || {
		(first..first + 16).find(|id| entry(*id).is_some_and(|e| e.content_hash == tampered_hash))
	});

	// --- The answer: definition first, then synced and asked. ---
	let unix = wait_for(Duration::from_secs(300), "Unix validated", || answer_to("What is Unix?"));
	wait_for(Duration::from_secs(120), "a sync with the Unix entry", || {
		let (code, out) = device(&["sync"]);
		(code == 0 && !out.contains(" 0 new")).then_some(())
	});
	let (code, out) = device(&["ask", "What is Unix?", "--offline"]);
	assert_eq!(code, 0, "{out}");
	let opening = first_line(&out);
	assert!(opening.starts_with("Unix: "), "{out}");
	// What kind of thing Unix is, in a whole sentence, with no markup.
	assert!(opening.contains("operating system"), "{out}");
	assert!(!opening.contains(['<', '{', '}']), "{out}");

	// --- A linked pair: Linux's entry links to Unix's, checked by the validators. ---
	request("What is Linux?");
	let linux =
		wait_for(Duration::from_secs(300), "Linux validated", || answer_to("What is Linux?"));
	let linux_entry = entry(linux).expect("Linux's entry");
	assert!(
		linux_entry.links.iter().any(|(to, _)| *to == unix),
		"Linux's entry links to Unix's ({unix}): {:?}",
		linux_entry.links
	);
	wait_for(Duration::from_secs(120), "a sync with the Linux entry", || {
		let (code, out) = device(&["sync"]);
		(code == 0 && !out.contains(" 0 new")).then_some(())
	});
	let (code, out) = device(&["ask", "What is Linux?", "--offline"]);
	assert_eq!(code, 0, "{out}");
	assert!(first_line(&out).starts_with("Linux: "), "{out}");
	assert!(out.contains(&format!("see also (related): What is Unix? [entry {unix}]")), "{out}");
	let (code, out) = device(&["graph", &linux.to_string(), "--offline"]);
	assert_eq!(code, 0, "{out}");
	assert!(out.contains(&format!("entry {linux}: What is Linux?")), "{out}");
	assert!(out.contains(&format!("→ related         entry {unix}: What is Unix?")), "{out}");
	let (code, out) = device(&["graph", &unix.to_string()]);
	assert_eq!(code, 0, "{out}");
	assert!(out.contains(&format!("← related         entry {linux}: What is Linux?")), "{out}");

	// --- The lie was rejected, the distiller saying which fact changed. ---
	let status = wait_for(Duration::from_secs(120), "the tampered entry decided", || {
		entry(lie)
			.map(|e| e.status)
			.filter(|s| !matches!(s, EntryStatus::Pending { .. }))
	});
	assert!(matches!(status, EntryStatus::Rejected { .. }), "{status:?}");
	let log = std::fs::read_to_string(stack.distiller.log()).unwrap();
	assert!(log.contains("the number 1775 is not the source's"), "the distiller log says why");

	// --- The question nobody can answer: the agent gave its claim up on chain. ---
	let abandoned = wait_for(Duration::from_secs(300), "a ClaimAbandoned event", || {
		runtime.block_on(async {
			let head = chain.rpc.finalized_head().await.ok()?;
			let header: serde_json::Value =
				chain.rpc.call("chain_getHeader", serde_json::json!([head])).await.ok()?;
			let number = header["number"].as_str()?.trim_start_matches("0x");
			let number = u32::from_str_radix(number, 16).ok()?;
			// The events read by the runtime's own metadata: no pallet or variant index here.
			let metadata = ChainMetadata::fetch(&chain.rpc, head).await.ok()?;
			for block in (1..=number).rev() {
				let hash = chain.rpc.block_hash(block).await.ok()??;
				let events =
					chain.rpc.storage(&storage_key("System", "Events"), hash).await.ok()??;
				if let Some(gap) = abandoned_gap(&metadata, &events) {
					return Some(gap);
				}
			}
			None
		})
	});
	println!("gap {abandoned} was given up: the teacher has no answer");
	let node_log = std::fs::read_to_string(stack.node.log()).unwrap();
	assert!(
		node_log.contains(&format!(
			"gap {abandoned}: giving the gap up (the teacher has no answer to the question)"
		)),
		"the node log says why, in words"
	);
	drop(stack);
}

/// The gap of a `Dod.ClaimAbandoned { gap, agent, reason: NoAnswer }` among a block's raw
/// `System.Events`, decoded with the runtime's metadata.
fn abandoned_gap(metadata: &ChainMetadata, raw: &[u8]) -> Option<u64> {
	let events = metadata.decode_events(raw).expect("the block's events decode");
	events.into_iter().find_map(|event| {
		(event.pallet == "Dod"
			&& event.event == "ClaimAbandoned"
			&& event.fields["reason"] == "NoAnswer")
			.then(|| event.fields["gap"].as_u64())
			.flatten()
	})
}
