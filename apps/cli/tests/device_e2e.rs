//! End to end with real processes on 127.0.0.1: a dev node (Aura + GRANDPA, off-chain workers),
//! the embedded IPFS node, the corpus distiller, the gateway, and the `membria` device commands.
//!
//! A question misses, the gateway files demand, the DoD flow distills and validates an entry,
//! `membria sync` proves and loads it, and the question — and a paraphrase — then hit in the
//! verified cache with the gateway stopped. On the way: the gateway's bad-input refusals, its
//! events, metrics and OpenAPI document, and every kind of tampering with its responses refused
//! by the device with its own reason.
//!
//! Needs the node binary (`$MEMBRIA_NODE`, set by `scripts/env.sh`; the chain workspace builds
//! it) and the embedding model (`$MEMBRIA_MODELS`, installed by `scripts/setup.sh`).

mod common;

use std::{
	io::{BufRead, BufReader, Read, Write},
	net::TcpListener,
	path::Path,
	process::Command,
	time::Duration,
};

use common::{membria, run_membria, wait_for};

use membria_cli::stack::{DevStack, StackOptions};
use membria_client::{
	trust::TrustError,
	wire::{AskResponse, HexBytes, SyncResponse},
	Trust,
};
use membria_verifier::VerifyError;
use serde_json::{json, Value};

const QUESTION: &str = "What is Ethernet?";
const PARAPHRASE: &str = "Can you explain what Ethernet is?";

/// Runs `membria args…`: exit code and stdout (the output echoed on failure).
fn run(args: &[&str]) -> (i32, String) {
	let run = run_membria(args);
	(run.code, run.stdout)
}

fn http() -> reqwest::blocking::Client {
	reqwest::blocking::Client::builder()
		.timeout(Duration::from_secs(60))
		.build()
		.expect("an HTTP client")
}

fn get(url: &str) -> Option<(u16, String)> {
	let response = http().get(url).send().ok()?;
	Some((response.status().as_u16(), response.text().ok()?))
}

fn post(url: &str, body: &str) -> (u16, Value) {
	let response = http()
		.post(url)
		.header("content-type", "application/json")
		.body(body.to_string())
		.send()
		.expect("the gateway answers");
	let status = response.status().as_u16();
	(status, response.json().unwrap_or(Value::Null))
}

/// Serves one canned HTTP response to every connection, from a thread.
fn serve_canned(body: Vec<u8>) -> String {
	let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
	let address = listener.local_addr().expect("an address");
	std::thread::spawn(move || {
		for stream in listener.incoming().flatten() {
			let mut stream = stream;
			let mut request = [0u8; 4096];
			let _ = stream.read(&mut request);
			let head = format!(
				"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
				body.len()
			);
			let _ = stream.write_all(head.as_bytes());
			let _ = stream.write_all(&body);
		}
	});
	format!("http://{address}")
}

#[test]
fn a_missed_question_is_demanded_validated_synced_and_answered_offline() {
	let dir = tempfile::tempdir().expect("a temp dir");
	let mut stack = DevStack::start(StackOptions {
		demand_seed: Some("//Dave".into()),
		gateway: true,
		..StackOptions::on_free_ports(dir.path(), membria()).expect("stack options")
	})
	.expect("the dev stack starts");
	let gateway_url = stack.options.ports.gateway_url();
	let spec = stack.chain_spec.clone();

	// --- Bad input: 4xx with a reason. ---
	let ask_url = format!("{gateway_url}/v1/ask");
	for (body, needle) in [
		("{not json", "JSON"),
		(r#"{"k": 2}"#, "question"),
		(r#"{"question": "   "}"#, "empty"),
		(r#"{"question": "What is Ethernet?", "k": 0}"#, "k must be"),
	] {
		let (status, reply) = post(&ask_url, body);
		assert_eq!(status, 400, "{body} → {reply}");
		let reason = reply["error"].as_str().unwrap_or_default();
		assert!(reason.contains(needle), "{body} → {reason}");
	}
	let oversize = json!({"question": "x".repeat(513)}).to_string();
	let (status, reply) = post(&ask_url, &oversize);
	assert_eq!(status, 400);
	assert!(reply["error"].as_str().unwrap().contains("more than 512"));
	for (path, status, needle) in [
		("/v1/entries/999999", 404, "no entry 999999"),
		("/v1/entries/abc", 400, "non-negative integer"),
		("/v1/sync", 400, "since"),
		("/v1/sync?since=4000000000", 400, "beyond the finalized head"),
		("/v1/sync?since=0&limit=0", 400, "limit"),
		("/v2/nothing", 404, "no such endpoint"),
	] {
		let (got, body) = get(&format!("{gateway_url}{path}")).expect("the gateway answers");
		assert_eq!(got, status, "{path} → {body}");
		assert!(body.contains(needle), "{path} → {body}");
	}
	let (_, openapi) = get(&format!("{gateway_url}/openapi.json")).unwrap();
	let openapi: Value = serde_json::from_str(&openapi).unwrap();
	assert_eq!(openapi["openapi"], "3.1.0");
	assert!(openapi["paths"]["/v1/sync"]["get"].is_object());

	// Events: listen before the entry exists.
	let (events_tx, events_rx) = std::sync::mpsc::channel();
	let events_url = format!("{gateway_url}/v1/events");
	std::thread::spawn(move || {
		let client = reqwest::blocking::Client::builder().timeout(None).build().unwrap();
		let Ok(response) = client.get(&events_url).send() else {
			return;
		};
		let mut event = String::new();
		for line in BufReader::new(response).lines() {
			let Ok(line) = line else { return };
			if let Some(name) = line.strip_prefix("event: ") {
				event = name.to_string();
			} else if let Some(data) = line.strip_prefix("data: ") {
				if event == "validated" {
					let _ = events_tx.send(data.to_string());
					return;
				}
			}
		}
	});

	// --- A miss files demand. ---
	let data = dir.path().join("device");
	let data_dir = data.display().to_string();
	let spec_path = spec.display().to_string();
	let device = |extra: &[&str]| -> Vec<String> {
		let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
		args.extend(
			[
				"--gateway",
				gateway_url.as_str(),
				"--data-dir",
				&data_dir,
				"--chain-spec",
				&spec_path,
			]
			.map(String::from),
		);
		args
	};
	let call = |args: Vec<String>| {
		let refs: Vec<&str> = args.iter().map(String::as_str).collect();
		run(&refs)
	};
	let (code, out) = call(device(&["ask", QUESTION]));
	assert_eq!(code, 3, "{out}");
	assert!(out.contains("--request"), "{out}");
	let (code, out) = call(device(&["ask", QUESTION, "--request"]));
	assert_eq!(code, 3, "{out}");
	assert!(out.contains("demand filed on chain"), "{out}");
	let (code, out) = call(device(&["ask", QUESTION, "--request"]));
	assert_eq!(code, 3, "{out}");
	assert!(out.contains("already filed"), "{out}");

	// --- The DoD flow answers it; the gateway indexes it and tells listeners. ---
	let event = events_rx.recv_timeout(Duration::from_secs(300)).expect("a validated event");
	let event: Value = serde_json::from_str(&event).unwrap();
	assert_eq!(event["question"], QUESTION);
	let id = event["id"].as_u64().unwrap();

	// --- Sync proves and loads it. ---
	let (code, out) = wait_for(Duration::from_secs(120), "a sync with the entry", || {
		let (code, out) = call(device(&["sync"]));
		(code == 0 && out.contains("1 new")).then_some((code, out))
	});
	assert_eq!(code, 0);
	println!("{out}");
	let (code, out) = call(device(&["status"]));
	assert_eq!(code, 0);
	assert!(out.contains("verified entries cached: 1"), "{out}");
	let (code, out) = call(device(&["verify", &id.to_string()]));
	assert_eq!(code, 0, "{out}");
	for step in ["is final", "storage proof", "Validated", "CID"] {
		assert!(out.contains(step), "{step} in {out}");
	}

	// --- The gateway answers from its caches (the question's embedding, the entry's proof at
	// the justified block): every answer still proves whole; a question naming nothing it
	// holds is a miss before any embedding. ---
	let mut trust = Trust::from_chain_spec(&dir.path().join("ask-trust"), &spec).unwrap();
	let asked = json!({"question": QUESTION, "file_demand": false, "k": 3}).to_string();
	for _ in 0..3 {
		let (status, reply) = post(&ask_url, &asked);
		assert_eq!(status, 200, "{reply}");
		let response: AskResponse = serde_json::from_value(reply).unwrap();
		let proven = response.proven.expect("the answer's proofs");
		let entries = trust.verify(&proven).expect("the gateway's cached proof checks");
		assert!(entries.iter().any(|e| e.verified.id == id), "entry {id} proven");
	}
	let unrelated = json!({"question": "How heavy is the moon of planet 7?", "file_demand": false});
	let (status, reply) = post(&ask_url, &unrelated.to_string());
	assert_eq!(status, 200, "{reply}");
	assert_eq!(reply["miss"], "no cached entry is about anything the question names");
	assert!(reply["demand"].is_null());
	let (_, metrics) = get(&format!("{gateway_url}/metrics")).unwrap();
	let metric = |name: &str| -> u64 {
		metrics
			.lines()
			.find_map(|line| line.strip_prefix(&format!("membria_gateway_{name} ")))
			.and_then(|value| value.parse().ok())
			.unwrap_or_else(|| panic!("{name} in {metrics}"))
	};
	// The same question three times: embedded and searched once, then its lookup reused while
	// the index is unchanged (or, had an entry come in between, its embedding); its proof read
	// once per justified block (three asks within milliseconds span at most two).
	assert_eq!(metric("question_embeddings_computed_total"), 1, "{metrics}");
	assert_eq!(
		metric("lookups_cached_total") + metric("question_embeddings_cached_total"),
		2,
		"{metrics}"
	);
	assert!(metric("lookups_cached_total") >= 1, "{metrics}");
	assert_eq!(
		metric("lookups_searched_total"),
		1 + metric("question_embeddings_cached_total"),
		"{metrics}"
	);
	assert!(metric("entry_proofs_cached_total") >= 1, "{metrics}");
	assert!(metric("ask_unnamed_total") >= 1, "{metrics}");
	assert_eq!(metric("head_subscription"), 1, "the follower is subscribed: {metrics}");

	// --- Without a gateway: the device builds the same proofs from a node and IPFS itself. ---
	let direct = dir.path().join("direct-device").display().to_string();
	let (node_url, ipfs_url) =
		(stack.options.ports.member.node_url(), stack.options.ports.member.ipfs_url());
	let direct_args = |command: &[&str]| -> Vec<String> {
		let mut args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
		args.extend(
			[
				"--node",
				node_url.as_str(),
				"--ipfs",
				ipfs_url.as_str(),
				"--data-dir",
				&direct,
				"--chain-spec",
				&spec_path,
			]
			.map(String::from),
		);
		args
	};
	let (code, out) = call(direct_args(&["sync"]));
	assert_eq!(code, 0, "{out}");
	assert!(out.contains("1 new"), "{out}");
	let (code, out) = call(direct_args(&["verify", &id.to_string()]));
	assert_eq!(code, 0, "{out}");
	assert!(out.contains("is final"), "{out}");
	let (code, out) = call(direct_args(&["ask", "What is the capital of Peru?"]));
	assert_eq!(code, 3, "{out}");
	assert!(out.contains("no validated answer to this exact question"), "{out}");

	// --- Tampered responses, each refused with its own reason, nothing trusted. ---
	let sync_url = format!("{gateway_url}/v1/sync?since=0");
	let (_, raw) = get(&sync_url).unwrap();
	let proven_at = serde_json::from_str::<SyncResponse>(&raw).unwrap().proven_at;
	let later = wait_for(Duration::from_secs(60), "a later justified block", || {
		get(&sync_url).and_then(|(_, later)| {
			let page: SyncResponse = serde_json::from_str(&later).ok()?;
			(page.proven_at > proven_at).then_some(page)
		})
	});
	refuses_tampering(&raw, &later, &spec, dir.path());
	// A truncated response: the device says so and loads nothing.
	let truncated = serve_canned(raw.as_bytes()[..raw.len() / 2].to_vec());
	let fresh = dir.path().join("fresh-device").display().to_string();
	let (code, _) =
		run(&["sync", "--gateway", &truncated, "--data-dir", &fresh, "--chain-spec", &spec_path]);
	assert_eq!(code, 1);
	let output = Command::new(membria())
		.args(["sync", "--gateway", &truncated, "--data-dir", &fresh])
		.output()
		.unwrap();
	assert!(
		String::from_utf8_lossy(&output.stderr).contains("malformed or truncated"),
		"{}",
		String::from_utf8_lossy(&output.stderr)
	);
	let (_, out) = run(&["status", "--data-dir", &fresh]);
	assert!(out.contains("verified entries cached: 0"), "{out}");

	let (_, metrics) = get(&format!("{gateway_url}/metrics")).unwrap();
	for line in ["membria_gateway_demand_filed_total 1", "membria_gateway_entries_indexed_total 1"]
	{
		assert!(metrics.contains(line), "{line} in {metrics}");
	}
	assert!(!metrics.contains("membria_gateway_bad_requests_total 0\n"));
	// Blocks were justified since the question was asked: its proof was read ahead at them.
	assert!(
		!metrics.contains("membria_gateway_entry_proofs_warmed_total 0\n"),
		"the asked entry's proof warmed at a later block: {metrics}"
	);

	// --- Offline: the gateway stops; the question and a paraphrase hit the verified cache. ---
	stack.stop_gateway();
	assert!(get(&format!("{gateway_url}/health")).is_none(), "the gateway is down");
	for question in [QUESTION, PARAPHRASE, "What does Ethernet do?"] {
		let (code, out) = call(device(&["ask", question]));
		assert_eq!(code, 0, "{question}: {out}");
		assert!(out.contains("verified cache (offline)"), "{out}");
		assert!(out.contains(&format!("entry {id} ")), "{out}");
		assert!(out.to_lowercase().contains("ethernet"), "{out}");
	}
	// Near misses, worded like the question, are refused, each saying why: another network,
	// and a narrower one the entry does not speak of.
	let (code, out) = call(device(&["ask", "What is a LAN?", "--offline"]));
	assert_eq!(code, 3, "{out}");
	assert!(out.contains("no verified answer"), "{out}");
	let (code, out) = call(device(&["ask", "What is Fast Ethernet?", "--offline"]));
	assert_eq!(code, 3, "{out}");
	assert!(out.contains("is about ethernet; the question names fast beside it"), "{out}");
	let (code, out) = call(device(&["ask", "What is the capital of France?", "--offline"]));
	assert_eq!(code, 3, "{out}");
	// Reopening re-checks the cache: a corrupted body is removed and reported, never answered.
	let bodies = data.join("cache/bodies");
	let body = std::fs::read_dir(&bodies)
		.unwrap()
		.flatten()
		.next()
		.expect("a cached body")
		.path();
	std::fs::write(&body, b"{\"v\":1}").unwrap();
	let (code, out) = call(device(&["ask", QUESTION, "--offline"]));
	assert_eq!(code, 3, "{out}");
	let (_, out) = call(device(&["status"]));
	assert!(out.contains("verified entries cached: 0"), "{out}");
}

/// Every kind of tampering with a genuine sync response is refused with its own reason, and the
/// trust root is left as it was; the genuine response then verifies.
fn refuses_tampering(raw: &str, later: &SyncResponse, spec: &Path, dir: &Path) {
	let genuine: SyncResponse = serde_json::from_str(raw).expect("a sync response");
	assert_eq!(genuine.proven.entries.len(), 1);
	let root = dir.join("tamper-trust");
	let mut trust = Trust::from_chain_spec(&root, spec).expect("the trust root");

	let mut body_changed = genuine.proven.clone();
	let last = body_changed.entries[0].body.0.len() - 2;
	body_changed.entries[0].body.0[last] ^= 0x20;
	assert!(matches!(
		trust.verify(&body_changed),
		Err(TrustError::Body { source: VerifyError::NotTheContent { .. }, .. })
	));

	let mut body_swapped = genuine.proven.clone();
	body_swapped.entries[0].body = HexBytes(
		br#"{"v":1,"question":"What is Ethernet?","answer":"A cable.","facts":[],"sources":[],"links":[],"distiller":{"name":"x","model":"y"},"created":0}"#
			.to_vec(),
	);
	assert!(matches!(trust.verify(&body_swapped), Err(TrustError::Body { .. })));

	let mut node_altered = genuine.proven.clone();
	let biggest = node_altered.proof.iter_mut().max_by_key(|node| node.0.len()).unwrap();
	let middle = biggest.0.len() / 2;
	biggest.0[middle] ^= 0x01;
	assert!(matches!(
		trust.verify(&node_altered),
		Err(TrustError::State(VerifyError::BadStorageProof { .. }))
	));

	let mut node_missing = genuine.proven.clone();
	node_missing.proof.pop();
	assert!(matches!(trust.verify(&node_missing), Err(TrustError::State(_))));

	let mut other_block = genuine.proven.clone();
	other_block.finality = later.proven.finality.clone();
	assert!(matches!(
		trust.verify(&other_block),
		Err(TrustError::State(VerifyError::BadStorageProof { .. }))
	));

	let mut signature_forged = genuine.proven.clone();
	// round (8) + target hash (32) + target number (4) + precommit count (1) + precommit
	// target (36): the first precommit's signature follows.
	signature_forged.finality.justification.0[8 + 32 + 4 + 1 + 36 + 10] ^= 0x01;
	assert!(matches!(
		trust.verify(&signature_forged),
		Err(TrustError::Finality(VerifyError::BadSignature { .. }))
	));

	let mut no_precommits = genuine.proven.clone();
	let justification = &mut no_precommits.finality.justification.0;
	justification.truncate(8 + 32 + 4);
	justification.extend([0u8, 0u8]);
	assert!(matches!(
		trust.verify(&no_precommits),
		Err(TrustError::Finality(VerifyError::InvalidCommit { .. }))
	));

	let mut header_swapped = genuine.proven.clone();
	header_swapped.finality.header.0[33] ^= 0x01;
	assert!(matches!(
		trust.verify(&header_swapped),
		Err(TrustError::Finality(_)) | Err(TrustError::Undecodable { .. })
	));

	let mut duplicated = genuine.proven.clone();
	duplicated.entries.push(duplicated.entries[0].clone());
	assert!(matches!(trust.verify(&duplicated), Err(TrustError::DuplicateEntry(_))));

	let mut bogus_change = genuine.proven.clone();
	bogus_change.set_changes.push(genuine.proven.finality.clone());
	assert!(matches!(
		trust.verify(&bogus_change),
		Err(TrustError::SetChange { index: 0, source: VerifyError::NoSetChange(_) })
	));

	assert_eq!(trust.last_proven(), 0, "nothing refused moved the trust root");
	let entries = trust.verify(&genuine.proven).expect("the genuine response verifies");
	assert_eq!(entries.len(), 1);
	assert_eq!(entries[0].body.question, QUESTION);
	assert!(entries[0].verified.approving_stake.unwrap_or_default() > 0);
	assert_eq!(trust.last_proven(), genuine.proven_at);
}
