//! Distillation on Demand end to end, with real processes on 127.0.0.1: `membria-node --dev
//! --sealing instant` with off-chain workers, the embedded IPFS node (`membria ipfs`) and the
//! corpus distiller (`membria distiller`) over Debian's dict-foldoc and dict-elements.
//!
//! request_knowledge → gap → agent worker (claim, distill, IPFS add, submit) → validator worker
//! (cat, hash/CID/size/schema, /verify, attest) → Validated → Answer(question_key).

mod common;

use std::time::{Duration, Instant};

use common::*;
use membria_offchain::Body;
use membria_primitives::{question_key, unixfs, CidVersion, RejectReason, Verdict};
use membria_runtime::{Runtime, RuntimeCall, RuntimeEvent};
use pallet_kcg::EntryStatus;
use sp_keyring::Sr25519Keyring::{AliceStash, Bob, Charlie, Dave, One};

const QUESTION: &str = "What is Ethernet?";
const FLOW_TIMEOUT: Duration = Duration::from_secs(120);

fn request(question: &str) -> RuntimeCall {
	RuntimeCall::Dod(pallet_dod::Call::request_knowledge { question: question.as_bytes().to_vec() })
}

fn answer_of(node: &Node, question: &str) -> Option<u64> {
	node.storage(&blake2_map_key("Kcg", "Answer", &question_key(question)), None)
}

fn try_entry(node: &Node, id: u64) -> Option<pallet_kcg::EntryOf<Runtime>> {
	node.storage(&blake2_map_key("Kcg", "Entries", &id), None)
}

fn entry(node: &Node, id: u64) -> pallet_kcg::EntryOf<Runtime> {
	try_entry(node, id).expect("the entry exists")
}

fn next_entry_id(node: &Node) -> u64 {
	node.storage(&value_key("Kcg", "NextEntryId"), None).unwrap_or_default()
}

fn count(events: &[(u32, RuntimeEvent)], wanted: impl Fn(&RuntimeEvent) -> bool) -> usize {
	events.iter().filter(|(_, event)| wanted(event)).count()
}

/// The names of the DoD errors of every failed extrinsic so far, in order.
fn dod_errors(node: &Node) -> Vec<String> {
	use codec::Decode;
	node.all_events()
		.into_iter()
		.filter_map(|(_, event)| match event {
			RuntimeEvent::System(frame_system::Event::ExtrinsicFailed {
				dispatch_error: sp_runtime::DispatchError::Module(error),
				..
			}) => {
				let error = pallet_dod::Error::<Runtime>::decode(&mut &error.error[..])
					.expect("a DoD error");
				Some(format!("{error:?}"))
			},
			_ => None,
		})
		.collect()
}

fn cat(ipfs: &Service, cid: &[u8]) -> Vec<u8> {
	let path = format!("/api/v0/cat?arg={}", unixfs::cid_to_text(cid));
	let (status, body) = http_post(ipfs.port, &path, "text/plain", b"").expect("IPFS answers");
	assert_eq!(status, 200, "cat {}: {body}", unixfs::cid_to_text(cid));
	body.into_bytes()
}

fn node_args<'a>(ipfs: &'a str, distiller: &'a str) -> Vec<&'a str> {
	vec!["--sealing", "instant", "--ipfs-api", ipfs, "--distiller", distiller]
}

/// Makes the instant-seal chain produce a block (a small transfer), so workers run again.
fn poke(node: &Node) {
	let call = RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
		dest: Dave.to_account_id().into(),
		value: membria_runtime::UNIT,
	});
	node.submit(Charlie, call).expect("a transfer is accepted");
}

#[test]
fn demand_becomes_a_validated_answer_unattended() {
	let dir = TempDir::new("dod-flow").expect("a scratch directory");
	let ipfs = Service::ipfs(dir.path(), free_port(), &dir.path().join("ipfs"));
	let distiller = Service::distiller(dir.path(), free_port(), None);
	let node = Node::start_dev(dir.path(), &node_args(&ipfs.url(), &distiller.url()));

	// Bad input is refused by name, and nothing is held.
	let too_long = "x".repeat(membria_offchain::body::MAX_QUESTION_BYTES + 1);
	let non_utf8 =
		RuntimeCall::Dod(pallet_dod::Call::request_knowledge { question: vec![0xff, 0xfe] });
	let first_nonce = node.nonce(Bob);
	for (nonce, call) in
		(first_nonce..).zip([request(""), request("  ?! "), request(&too_long), non_utf8])
	{
		node.submit_at(Bob, call, nonce).expect("the pool accepts; the pallet refuses");
	}
	let unfunded = node.submit(One, request(QUESTION)).expect_err("an account without funds");
	assert!(unfunded.contains("1010"), "refused as unable to pay fees: {unfunded}");
	let refusals = node.wait_until(Duration::from_secs(30), "four refusals", |node| {
		let errors = dod_errors(node);
		if errors.len() < 4 {
			eprintln!(
				"refusals so far: {errors:?}; pool: {}",
				node.rpc("author_pendingExtrinsics", serde_json::json!([]))
			);
		}
		(errors.len() == 4).then_some(errors)
	});
	assert_eq!(refusals, ["EmptyQuestion", "EmptyQuestion", "QuestionTooLong", "QuestionNotUtf8"]);
	// Holds are (reason, amount) pairs.
	let held: Option<Vec<(membria_runtime::RuntimeHoldReason, u128)>> =
		node.storage(&blake2_map_key("Balances", "Holds", &Bob.to_account_id()), None);
	assert!(held.unwrap_or_default().is_empty(), "nothing held from Bob");

	// The flow.
	let started = Instant::now();
	let first_block = node.best_number();
	node.submit_at(Bob, request(QUESTION), first_nonce + 4)
		.expect("request accepted");
	let id =
		node.wait_until(FLOW_TIMEOUT, "the validated answer", |node| answer_of(node, QUESTION));
	let blocks = node.best_number() - first_block;
	let elapsed = started.elapsed();
	println!("gap to validated answer: {blocks} blocks, {:.2} s", elapsed.as_secs_f64());
	// The gap, the answer (claim and entry in one call), the attestation that decides it.
	assert!(blocks <= 3, "gap to validated answer in {blocks} blocks");

	let entry = entry(&node, id);
	assert!(matches!(entry.status, EntryStatus::Validated { .. }), "{:?}", entry.status);
	assert_eq!(entry.author, AliceStash.to_account_id(), "the dev agent wrote it");
	assert_eq!(entry.gap, Some(0));
	assert_eq!(entry.question_key, question_key(QUESTION));

	// The body on IPFS is the one the chain committed to.
	let body = cat(&ipfs, &entry.cid);
	assert_eq!(body.len() as u32, entry.size);
	assert_eq!(sp_io::hashing::blake2_256(&body), entry.content_hash.0);
	assert_eq!(unixfs::file_cid(&body, CidVersion::V1), entry.cid.to_vec());
	let parsed = Body::parse(&body).expect("a schema-valid body");
	assert_eq!(parsed.question, QUESTION);
	assert!(parsed.answer.to_lowercase().contains("local area network"), "{}", parsed.answer);
	assert_eq!(parsed.sources[0].uri, "dict://foldoc/ethernet");

	let events = node.all_events();
	assert_eq!(
		count(&events, |e| matches!(e, RuntimeEvent::Dod(pallet_dod::Event::GapOpened { .. }))),
		1
	);
	assert_eq!(
		count(&events, |e| matches!(e, RuntimeEvent::Dod(pallet_dod::Event::GapClaimed { .. }))),
		1
	);
	assert_eq!(
		count(&events, |e| matches!(
			e,
			RuntimeEvent::Validators(pallet_kcg_validators::Event::Attested {
				verdict: Verdict::Approve,
				..
			})
		)),
		1
	);
	assert_eq!(
		count(&events, |e| matches!(
			e,
			RuntimeEvent::Dod(pallet_dod::Event::GapFilled { gap: 0, .. })
		)),
		1
	);
	// Asking again is refused: the question is answered.
	node.submit(Charlie, request("what is ethernet")).expect("pool accepts");
	let errors = node.wait_until(Duration::from_secs(30), "AlreadyAnswered", |node| {
		let errors = dod_errors(node);
		(errors.len() == 5).then_some(errors)
	});
	assert_eq!(errors[4], "AlreadyAnswered");
}

#[test]
fn a_body_that_does_not_answer_is_rejected_and_its_agent_slashed() {
	let dir = TempDir::new("dod-wrong").expect("a scratch directory");
	// A teacher that is wrong about Ethernet (the validators' corpus is Debian's FOLDOC).
	let wrong = dir.path().join("wrong-corpus");
	std::fs::create_dir_all(&wrong).unwrap();
	std::fs::write(
		wrong.join("ethernet.txt"),
		"Ethernet is a breed of mountain goat raised in the Alps for its wool.",
	)
	.unwrap();
	let ipfs = Service::ipfs(dir.path(), free_port(), &dir.path().join("ipfs"));
	let distiller = Service::distiller(dir.path(), free_port(), None);
	let wrong_distiller = Service::distiller(dir.path(), free_port(), Some(&wrong));
	let (ipfs_url, distiller_url, wrong_url) = (ipfs.url(), distiller.url(), wrong_distiller.url());
	let mut args = node_args(&ipfs_url, &distiller_url);
	args.extend(["--dod-distiller", &wrong_url]);
	let node = Node::start_dev(dir.path(), &args);

	node.submit(Bob, request(QUESTION)).expect("request accepted");
	let slashed = node.wait_until(FLOW_TIMEOUT, "the agent to be slashed", |node| {
		node.all_events().into_iter().find_map(|(_, e)| match e {
			RuntimeEvent::Dod(pallet_dod::Event::AgentSlashed { agent, amount, .. }) => {
				Some((agent, amount))
			},
			_ => None,
		})
	});
	assert_eq!(slashed.0, AliceStash.to_account_id());
	assert_eq!(slashed.1, 10 * membria_runtime::UNIT, "10% of a 100 MEM bond");
	let rejected = entry(&node, 0);
	assert!(matches!(rejected.status, EntryStatus::Rejected { .. }), "{:?}", rejected.status);
	let events = node.all_events();
	assert_eq!(
		count(&events, |e| matches!(
			e,
			RuntimeEvent::Validators(pallet_kcg_validators::Event::Attested {
				verdict: Verdict::Reject(RejectReason::Incorrect),
				..
			})
		)),
		1
	);
	assert_eq!(answer_of(&node, QUESTION), None);
	let gap: Option<pallet_dod::GapOf<Runtime>> =
		node.storage(&twox_map_key("Dod", "Gaps", &0u64), None);
	assert!(gap.expect("the gap stays open").claim.is_none(), "and can be claimed again");
}

#[test]
fn an_entry_whose_bytes_do_not_match_its_hash_is_rejected() {
	let dir = TempDir::new("dod-hash").expect("a scratch directory");
	let ipfs = Service::ipfs(dir.path(), free_port(), &dir.path().join("ipfs"));
	let distiller = Service::distiller(dir.path(), free_port(), None);
	let node = Node::start_dev(dir.path(), &node_args(&ipfs.url(), &distiller.url()));

	// Charlie stores one body and commits to the hash of another.
	let stored = br#"{"v":1,"question":"What is Ethernet?","answer":"Ethernet: a local area network.","facts":[],"sources":[{"uri":"dict://foldoc/ethernet","sha256":"0000000000000000000000000000000000000000000000000000000000000000"}],"distiller":{"name":"charlie","model":"hand"},"created":0}"#;
	let multipart = membria_offchain::protocol::ipfs_add_body(stored);
	let (status, added) = http_post(
		ipfs.port,
		"/api/v0/add?cid-version=1",
		&membria_offchain::protocol::ipfs_add_content_type(),
		&multipart,
	)
	.expect("IPFS answers");
	assert_eq!(status, 200, "{added}");
	let cid = unixfs::file_cid(stored, CidVersion::V1);
	let mut claimed = stored.to_vec();
	claimed[10] ^= 1;
	let call = RuntimeCall::Kcg(pallet_kcg::Call::submit_entry {
		question_key: question_key(QUESTION),
		cid,
		content_hash: sp_core::H256(sp_io::hashing::blake2_256(&claimed)),
		size: stored.len() as u32,
		links: Default::default(),
		gap: None,
	});
	node.submit(Charlie, call).expect("submitted");
	node.wait_until(FLOW_TIMEOUT, "the entry to be rejected", |node| {
		try_entry(node, 0).filter(|e| matches!(e.status, EntryStatus::Rejected { .. }))
	});
	let events = node.all_events();
	assert_eq!(
		count(&events, |e| matches!(
			e,
			RuntimeEvent::Validators(pallet_kcg_validators::Event::Attested {
				verdict: Verdict::Reject(RejectReason::HashMismatch),
				..
			})
		)),
		1
	);
}

#[test]
fn ipfs_down_and_a_restart_mid_flow_neither_vote_nor_duplicate() {
	let dir = TempDir::new("dod-outage").expect("a scratch directory");
	let ipfs_port = free_port();
	let ipfs_url = format!("http://127.0.0.1:{ipfs_port}");
	let distiller = Service::distiller(dir.path(), free_port(), None);
	let node = Node::start_dev(dir.path(), &node_args(&ipfs_url, &distiller.url()));

	// IPFS is down: the agent distills, finds no IPFS node to publish the body with once its
	// entry would be on chain, and sends nothing: no claim, no entry.
	node.submit(Bob, request(QUESTION)).expect("request accepted");
	node.wait_until(Duration::from_secs(60), "the failed IPFS add", |node| {
		node.log().contains("IPFS add failed").then_some(())
	});
	assert_eq!(next_entry_id(&node), 0, "no entry without IPFS");
	let claimed = |node: &Node| {
		count(&node.all_events(), |e| {
			matches!(e, RuntimeEvent::Dod(pallet_dod::Event::GapClaimed { .. }))
		})
	};
	assert_eq!(claimed(&node), 0, "no claim without IPFS");
	let attested = |node: &Node| {
		count(&node.all_events(), |e| {
			matches!(e, RuntimeEvent::Validators(pallet_kcg_validators::Event::Attested { .. }))
		})
	};
	assert_eq!(attested(&node), 0, "no vote");

	// The node restarts mid-flow; IPFS comes back.
	assert!(node.stop().success());
	let ipfs = Service::ipfs(dir.path(), ipfs_port, &dir.path().join("ipfs"));
	let node = Node::start_dev(dir.path(), &node_args(&ipfs.url(), &distiller.url()));
	// Blocks come only with transactions: poke every few seconds until the agent's backoff
	// (1, 2, 4 … blocks after each failed try) lets it try again.
	let mut poked = Instant::now() - Duration::from_secs(10);
	let id = node.wait_until(FLOW_TIMEOUT, "the validated answer", |node| {
		let answer = answer_of(node, QUESTION);
		if answer.is_none() && poked.elapsed() > Duration::from_secs(3) {
			poke(node);
			poked = Instant::now();
		}
		answer
	});
	let events = node.all_events();
	assert_eq!(
		count(&events, |e| matches!(e, RuntimeEvent::Dod(pallet_dod::Event::GapClaimed { .. }))),
		1
	);
	assert_eq!(
		count(&events, |e| matches!(
			e,
			RuntimeEvent::Dod(pallet_dod::Event::GapEntrySubmitted { .. })
		)),
		1
	);
	assert_eq!(next_entry_id(&node), 1, "one entry");
	assert_eq!(id, 0);
	assert_eq!(attested(&node), 1);
	let body = cat(&ipfs, &entry(&node, id).cid);
	assert_eq!(Body::parse(&body).expect("a body").question, QUESTION);
}

/// Issue 13: a question the teacher has no answer to. The agent asked the distiller at every
/// block for as long as the gap lived, then let its claim lapse (and paid for it). Now it asks
/// three times (1, 2, 4 blocks apart), then gives the gap up on chain with the reason (it asks
/// before it claims, so it declines the open gap), and loses nothing; the gap waits for another
/// agent.
#[test]
fn a_question_the_teacher_cannot_answer_is_given_up_with_its_reason() {
	let dir = TempDir::new("dod-give-up").expect("a scratch directory");
	let ipfs = Service::ipfs(dir.path(), free_port(), &dir.path().join("ipfs"));
	let distiller = Service::distiller(dir.path(), free_port(), None);
	let node = Node::start_dev(dir.path(), &node_args(&ipfs.url(), &distiller.url()));
	let question = "What is a zorblaxian frobnicator?";
	node.submit(Bob, request(question)).expect("request accepted");
	let mut poked = Instant::now();
	let (gap, agent, reason) = node.wait_until(FLOW_TIMEOUT, "the claim given up", |node| {
		let given_up = node.all_events().into_iter().find_map(|(_, event)| match event {
			RuntimeEvent::Dod(pallet_dod::Event::ClaimAbandoned { gap, agent, reason }) => {
				Some((gap, agent, reason))
			},
			_ => None,
		});
		if given_up.is_none() && poked.elapsed() > Duration::from_secs(2) {
			poke(node);
			poked = Instant::now();
		}
		given_up
	});
	assert_eq!(reason, pallet_dod::AbandonReason::NoAnswer);
	let events = node.all_events();
	let slashed = count(&events, |e| {
		matches!(
			e,
			RuntimeEvent::Dod(
				pallet_dod::Event::ClaimLapsed { .. } | pallet_dod::Event::AgentSlashed { .. }
			)
		)
	});
	assert_eq!(slashed, 0, "giving up costs nothing");
	// The gap is open, unclaimed, and closed to this agent.
	let record: pallet_dod::GapOf<Runtime> =
		node.storage(&twox_map_key("Dod", "Gaps", &gap), None).expect("the gap is open");
	assert_eq!(record.claim, None);
	assert_eq!(record.abandoned_by.to_vec(), vec![agent]);
	// The node says why, in words (written once the give-up is sent, which its block can beat).
	let log = node.wait_until(Duration::from_secs(10), "the give-up in the log", |node| {
		let log = node.log();
		log.contains("giving the gap up (the teacher has no answer to the question)")
			.then_some(log)
	});
	let asked = log.matches("no body from the distiller").count();
	assert_eq!(asked, 2, "two retries before the give-up:\n{log}");
	drop(ipfs);
}
