//! The device against the real dev stack (node with Aura + GRANDPA, embedded IPFS, corpus
//! distiller, gateway), measured in one run:
//!
//! - the chain: `Kcg.submit_entry` and `Validators.attest` — N of each submitted to the dev
//!   node — per block and per second;
//! - `membria sync` of N entries (fetch, verify whole, embed, store), entries per second;
//! - the gateway under load (`POST /v1/ask` from 16 and 64 concurrent clients, half stored
//!   questions answered with proofs, half misses), beside GPTCache's own server holding the
//!   same questions under the same load (`tests/clients/gptcache_server_peer.py`), as ratios;
//! - proof verifications per second (one entry; one page of entries);
//! - the same question answered by the verified cache, by `--generate` (SmolLM2 on the cached
//!   entry) and by the distiller's teacher, as ratios; tokens per second of generation.
//!
//! `cargo bench --manifest-path apps/Cargo.toml -p membria-cli --bench device`
//! (`MEMBRIA_BENCH_ENTRIES`, default 1000; needs `$MEMBRIA_NODE` and `scripts/setup.sh`).

use std::time::{Duration, Instant};

use membria_chain::{
	extrinsics::{keypair, Call, Keypair, Transactions},
	rpc::NodeRpc,
};
use membria_cli::{
	dev_chain::{attest_call, storage_key, submit_entry_call, synthetic_body},
	stack::{free_port, listening, DevStack, Process, StackOptions},
};
use membria_client::{device::DeviceOptions, Device, GatewayClient, LocalOutcome, Server, Trust};
use membria_offchain::Body;

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

/// Calls per batch, each batch once the last is counted: what one block takes, sustained. New
/// entries: `Kcg::MaxEntriesPerBlock` = 64, one deadline bucket (a single block may take 9
/// buckets' worth by spilling into the next 8 blocks' deadlines, but then those blocks take
/// almost none: a second batch that size fails at dispatch). Deciding attestations: 63 by
/// weight (each is charged a gap's payout up front).
const BATCH: usize = 60;

/// Submits `calls` from `signer` with consecutive nonces, a batch at a time, each batch once the
/// previous one is counted by `progress_key` (a `u64` storage value); returns (seconds, blocks)
/// from the first submission to the block that counted the last call.
async fn submit_all(
	rpc: &NodeRpc,
	transactions: &Transactions,
	signer: &Keypair,
	calls: Vec<Call>,
	batch: usize,
	progress_key: &[u8],
	what: &str,
) -> (f64, u32) {
	let nonce = rpc
		.account_next_index(&membria_chain::extrinsics::account(signer))
		.await
		.expect("a nonce");
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
			let extrinsic = transactions
				.sign(signer, call, u64::from(nonce + index))
				.expect("the call encodes");
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
	/// Of the questions asked that are stored, how many were answered (with proofs, for the
	/// gateway).
	hits: usize,
	stored_asked: usize,
	/// Misses answered anyway (should be none).
	misses_answered: usize,
	/// Answers slower than [`SLOW_MS`], by the second of the run they were asked in.
	slow_by_second: std::collections::BTreeMap<u64, usize>,
	p50_ms: f64,
	p99_ms: f64,
}

/// What the load calls a slow answer, to show when the tail happens.
const SLOW_MS: f64 = 100.0;

impl Load {
	fn slow(&self) -> String {
		let seconds: Vec<String> = self
			.slow_by_second
			.iter()
			.map(|(second, count)| format!("{second}s:{count}"))
			.collect();
		format!("answers over {SLOW_MS} ms by second of the run: [{}]", seconds.join(" "))
	}

	fn per_second(&self) -> f64 {
		self.requests as f64 / self.seconds
	}

	fn line(&self) -> String {
		format!(
			"{} clients, {:.0} s: {} requests, {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, {} failed, stored questions answered {}/{}, misses answered {}",
			self.clients,
			self.seconds,
			self.requests,
			self.per_second(),
			self.p50_ms,
			self.p99_ms,
			self.failed,
			self.hits,
			self.stored_asked,
			self.misses_answered
		)
	}
}

/// `n` in letters (base 26, `a` for 0): a unique word with no digit in it.
fn letters(mut n: usize) -> String {
	let mut word = Vec::new();
	loop {
		word.push(b'a' + (n % 26) as u8);
		n /= 26;
		if n == 0 {
			break;
		}
	}
	word.reverse();
	String::from_utf8(word).unwrap_or_default()
}

/// Who is under load: the gateway (`POST /v1/ask`, a hit carries its proofs) or GPTCache's own
/// server (`POST /get`, a hit carries the stored answer).
#[derive(Clone, Copy, PartialEq)]
enum Target {
	Gateway,
	GptCache,
}

/// What the misses ask: questions about nothing stored (the issue's mix: "How heavy is the moon
/// of planet qd-bax?", which names no stored subject, so the gateway knows it a miss without
/// an embedding); questions worded like a stored one about a topic nobody stored ("What is
/// benchmark topic number 1000042?": they name part of stored subjects, all of none, so they
/// are sure misses from their words too); or questions asking a stored topic something its
/// entry does not answer ("Who first described benchmark topic number 17 in study 1000042?":
/// the whole subject named, so each must be embedded and judged).
#[derive(Clone, Copy, PartialEq)]
enum Misses {
	Unrelated,
	OtherTopic,
	Near,
}

/// `clients` concurrent clients asking `target` for `duration`, alternating a stored question
/// (900 of them, each asked again and again) and a miss never asked before.
async fn load(
	target: Target,
	base: &str,
	clients: usize,
	misses: Misses,
	duration: Duration,
) -> Load {
	let http = reqwest::Client::new();
	let url = match target {
		Target::Gateway => format!("{base}/v1/ask"),
		Target::GptCache => format!("{base}/get"),
	};
	let started = Instant::now();
	let mut tasks = Vec::new();
	for client in 0..clients {
		let (http, url) = (http.clone(), url.clone());
		tasks.push(tokio::spawn(async move {
			let (mut latencies, mut failed, mut hits, mut wrong) = (Vec::new(), 0, 0, 0);
			let mut slow = Vec::new();
			let mut i = 0usize;
			while started.elapsed() < duration {
				let stored = i.is_multiple_of(2);
				let question = match (stored, misses) {
					(true, _) => {
						format!("What is benchmark topic number {}?", 1 + (client * 31 + i) % 900)
					},
					// Letters, not digits: a number is a stored subject's word ("benchmark
					// topic number 7"), and a miss naming one must be embedded.
					(false, Misses::Unrelated) => {
						format!(
							"How heavy is the moon of planet {}-{}?",
							letters(client),
							letters(i)
						)
					},
					(false, Misses::OtherTopic) => {
						format!(
							"What is benchmark topic number {}?",
							1_000_000 + client * 100_000 + i
						)
					},
					(false, Misses::Near) => {
						format!(
							"Who first described benchmark topic number {} in study {}?",
							1 + (client * 31 + i) % 900,
							1_000_000 + client * 100_000 + i
						)
					},
				};
				let body = match target {
					Target::Gateway => {
						serde_json::json!({"question": question, "file_demand": false})
					},
					Target::GptCache => serde_json::json!({"prompt": question}),
				};
				let sent = Instant::now();
				let answer = match http.post(&url).json(&body).send().await {
					Ok(response) if response.status().is_success() => {
						response.json::<serde_json::Value>().await.ok()
					},
					_ => None,
				};
				let latency = sent.elapsed().as_secs_f64() * 1e3;
				latencies.push(latency);
				if latency > SLOW_MS {
					slow.push((sent - started).as_secs());
				}
				let hit = answer.as_ref().is_some_and(|a| match target {
					Target::Gateway => a["proven"].is_object(),
					Target::GptCache => a["answer"].is_string(),
				});
				failed += usize::from(answer.is_none());
				hits += usize::from(stored && hit);
				wrong += usize::from(!stored && hit);
				i += 1;
			}
			(latencies, failed, hits, i.div_ceil(2), wrong, slow)
		}));
	}
	let (mut latencies, mut failed, mut hits, mut stored_asked, mut misses_answered) =
		(Vec::new(), 0, 0, 0, 0);
	let mut slow_by_second = std::collections::BTreeMap::new();
	for task in tasks {
		let (l, f, h, s, w, slow) = task.await.expect("a load client");
		misses_answered += w;
		for second in slow {
			*slow_by_second.entry(second).or_insert(0) += 1;
		}
		latencies.extend(l);
		failed += f;
		hits += h;
		stored_asked += s;
	}
	let seconds = started.elapsed().as_secs_f64();
	Load {
		clients,
		seconds,
		requests: latencies.len(),
		failed,
		hits,
		stored_asked,
		misses_answered,
		slow_by_second,
		p50_ms: percentile(&mut latencies, 0.5),
		p99_ms: percentile(&mut latencies, 0.99),
	}
}

/// The gateway's first answers to the 900 stored questions the load asks, 64 at a time (each
/// question new to it: embedded, in batches of whatever is waiting): answers per second.
async fn first_asks(base: &str) -> f64 {
	use futures::StreamExt;
	let http = reqwest::Client::new();
	let url = format!("{base}/v1/ask");
	let started = Instant::now();
	let answered: usize = futures::stream::iter(1..=900)
		.map(|topic| {
			let body = serde_json::json!({
				"question": format!("What is benchmark topic number {topic}?"),
				"file_demand": false,
			});
			let request = http.post(&url).json(&body).send();
			async move {
				let answer = request.await.ok()?.json::<serde_json::Value>().await.ok()?;
				answer["proven"].is_object().then_some(())
			}
		})
		.buffer_unordered(64)
		.filter_map(|answered| async move { answered })
		.count()
		.await;
	assert_eq!(answered, 900, "every stored question answered with proofs");
	900.0 / started.elapsed().as_secs_f64()
}

/// GPTCache's own server (`tests/clients/gptcache_server_peer.py`, in the venv `setup.sh`
/// installs) holding `questions`, on a free port: the process and its URL.
fn gptcache_server(dir: &std::path::Path, questions: &[String]) -> (Process, String) {
	let prefix = std::env::var_os("MEMBRIA_CLIENTS")
		.map(std::path::PathBuf::from)
		.unwrap_or_else(|| {
			std::path::PathBuf::from(std::env::var("HOME").expect("HOME"))
				.join(".cache/membria/clients")
		});
	let python = prefix.join("venv/bin/python");
	let stored = dir.join("gptcache-stored.txt");
	std::fs::write(&stored, questions.join("\n")).expect("the stored questions");
	let script =
		concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/clients/gptcache_server_peer.py");
	let port = free_port().expect("a port");
	let mut peer = Process::spawn(
		"gptcache-server",
		&python,
		&[
			script.into(),
			port.to_string(),
			stored.display().to_string(),
			// The gateway's base threshold (`Thresholds::default().base`) as a cosine.
			"0.5".into(),
		],
		&dir.join("logs"),
	)
	.expect("GPTCache's server");
	peer.wait_ready(Duration::from_secs(300), || listening(([127, 0, 0, 1], port).into()))
		.expect("GPTCache's server starts");
	(peer, format!("http://127.0.0.1:{port}"))
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
	let transactions = runtime
		.block_on(Transactions::of_node(&rpc))
		.expect("the node's runtime metadata");

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

	let bob = keypair("//Bob").unwrap();
	let alice = keypair("//Alice").unwrap();
	let n = bodies.len() as u64;
	// A batch of entries, then their attestations, in turn: a vote needs its entry's session
	// stake snapshot, which the chain keeps for a few sessions only, so attesting everything
	// after submitting everything would leave the first entries unvotable.
	let (mut submit_seconds, mut submit_blocks) = (0.0, 0);
	let (mut attest_seconds, mut attest_blocks) = (0.0, 0);
	// One batch of calls from `signer`, counted by the `Kcg` item `progress`.
	let batch = |signer: &Keypair, calls: Vec<Call>, progress: &str, what: &str| {
		runtime.block_on(submit_all(
			&rpc,
			&transactions,
			signer,
			calls,
			BATCH,
			&storage_key("Kcg", progress),
			what,
		))
	};
	for (number, chunk) in bodies.chunks(BATCH).enumerate() {
		let submits = chunk.iter().map(|(q, b)| submit_entry_call(b, q)).collect();
		let (seconds, blocks) = batch(&bob, submits, "NextEntryId", "Kcg.submit_entry");
		submit_seconds += seconds;
		submit_blocks += blocks;
		let first = (number * BATCH) as u64;
		let attests = (first..first + chunk.len() as u64).map(attest_call).collect();
		let (seconds, blocks) = batch(&alice, attests, "ValidationLogLen", "Validators.attest");
		attest_seconds += seconds;
		attest_blocks += blocks;
	}

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
	let mut device = Device::open(DeviceOptions {
		data_dir: dir.path().join("device"),
		model_dir: membria_embed::default_model_dir().expect("MEMBRIA_MODELS (scripts/env.sh)"),
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

	// The gateway under load: concurrent clients, hits and misses, for a bounded time; then
	// GPTCache's server holding the same questions under the same load.
	eprintln!("gateway under load");
	let seconds = Duration::from_secs(15);
	let gateway_url = ports.gateway_url();
	let first_per_second = runtime.block_on(first_asks(&gateway_url));
	let gateway_loads: Vec<Load> = [
		(16, Misses::Unrelated),
		(64, Misses::Unrelated),
		(16, Misses::Near),
		(64, Misses::Near),
		(64, Misses::OtherTopic),
	]
	.into_iter()
	.map(|(clients, misses)| {
		runtime.block_on(load(Target::Gateway, &gateway_url, clients, misses, seconds))
	})
	.collect();
	eprintln!("GPTCache's server under the same load");
	let questions: Vec<String> = bodies.iter().map(|(q, _)| q.clone()).collect();
	let (mut peer, peer_url) = gptcache_server(dir.path(), &questions);
	let peer_loads: Vec<Load> = [16, 64]
		.into_iter()
		.map(|clients| {
			runtime.block_on(load(Target::GptCache, &peer_url, clients, Misses::Unrelated, seconds))
		})
		.collect();
	peer.stop();

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
		"  Kcg.submit_entry (in batches of {BATCH}, each once the last is in): {n} in {submit_seconds:.1} s over {submit_blocks} blocks ({:.0}/block, {:.1}/s)",
		n as f64 / submit_blocks.max(1) as f64,
		calls_per_second(n, submit_seconds)
	);
	println!(
		"  Validators.attest (each one deciding; a batch after each batch of entries): {n} in {attest_seconds:.1} s over {attest_blocks} blocks ({:.0}/block, {:.1}/s)",
		n as f64 / attest_blocks.max(1) as f64,
		calls_per_second(n, attest_seconds)
	);
	println!("  gateway indexing of {n} entries: {index_seconds:.1} s");
	println!(
		"  membria sync of {n} entries: {sync_seconds:.1} s ({:.0} entries/s, {} pages)",
		n as f64 / sync_seconds,
		report.pages
	);
	let [unrelated_16, unrelated_64, near_16, near_64, other_64] = &gateway_loads[..] else {
		unreachable!()
	};
	let [peer_16, peer_64] = &peer_loads[..] else { unreachable!() };
	println!(
		"  gateway POST /v1/ask, the 900 stored questions each asked a first time (64 at once, embedded in batches): {first_per_second:.0} answers/s"
	);
	println!("  gateway POST /v1/ask, then half stored questions (answered with proofs), half misses never asked before:");
	println!("    misses about nothing stored, {}", unrelated_16.line());
	println!("      {}", unrelated_16.slow());
	println!("    misses about nothing stored, {}", unrelated_64.line());
	println!("      {}", unrelated_64.slow());
	println!(
		"    misses naming a topic nobody stored (known from their words), {}",
		other_64.line()
	);
	println!("      {}", other_64.slow());
	println!("    misses asking a stored topic something else (each embedded), {}", near_16.line());
	println!("      {}", near_16.slow());
	println!("    misses asking a stored topic something else (each embedded), {}", near_64.line());
	println!("      {}", near_64.slow());
	println!("  GPTCache's server (gptcache_server, faiss, the same MiniLM in numpy), POST /get, the same questions:");
	println!("    misses about nothing stored, {}", peer_16.line());
	println!("    misses about nothing stored, {}", peer_64.line());
	println!(
		"  ratios, gateway to GPTCache's server: {:.1}x the answers/s at 16 clients, {:.1}x at 64 ({:.1}x with every miss embedded); p99 {:.2}x and {:.2}x",
		unrelated_16.per_second() / peer_16.per_second(),
		unrelated_64.per_second() / peer_64.per_second(),
		near_64.per_second() / peer_64.per_second(),
		unrelated_16.p99_ms / peer_16.p99_ms,
		unrelated_64.p99_ms / peer_64.p99_ms,
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
