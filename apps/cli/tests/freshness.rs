//! Freshness end to end: an untrusted gateway cannot roll the device back, stall it or exhaust it.
//!
//! A dev stack (node with Aura + GRANDPA, IPFS, distiller, the real gateway) and, between the
//! gateway and `membria sync`, a tampering gateway this test starts on 127.0.0.1. Entry X answers
//! a question, entry Y supersedes it, and the device syncs both through the tampering gateway
//! while it is honest. Then it replays the older page, forges `proven_at`, repeats and runs on
//! its cursor, streams a body with no end, declares a huge one, lists more entries than asked,
//! and sends a page with a valid proof but another entry's body: each is refused with its own
//! error, and the device's trust root, sync state and cache stay byte for byte as they were. The
//! device's own rule behind the trust root's — an older answer never replaces a newer one, even
//! proven — is checked through the library. Then entry Z is validated, and the next honest sync
//! loads it.
//!
//! Needs the node binary (`$MEMBRIA_NODE`) and the embedding model (`$MEMBRIA_MODELS`), as
//! `scripts/env.sh` sets them.

mod common;

use std::{
	collections::BTreeMap,
	io::{Read, Write},
	net::{TcpListener, TcpStream},
	path::{Path, PathBuf},
	sync::{
		atomic::{AtomicBool, AtomicUsize, Ordering},
		Arc, Mutex,
	},
	time::{Duration, Instant},
};

use common::{membria, run_membria, wait_for, Run};
use membria_cli::{
	dev_chain::{attest_call, submit_entry_call, synthetic_body, DevChain},
	stack::{DevStack, StackOptions},
};
use membria_client::{
	device::DeviceOptions,
	freshness::MAX_SYNC_PAGES,
	server::SYNC_PAGE,
	wire::{HexBytes, SyncResponse},
	Device, DeviceError, FreshnessError, Trust,
};
use membria_primitives::question_key;

const QUESTION: &str = "What is the tallest mountain on Earth?";
const OTHER: &str = "Who wrote the novel Moby-Dick?";

/// How the tampering gateway answers `GET /v1/sync` (every other request is forwarded).
#[derive(Clone, Debug)]
enum Tamper {
	/// Forward to the real gateway, recording each page.
	Honest,
	/// This older genuine page, to every request.
	Replay(SyncResponse),
	/// The real gateway's page with `proven_at` rewritten.
	ForgeProvenAt(u32),
	/// This genuine page, its next cursor the one the device sent (on a first page, 1).
	RepeatCursor(SyncResponse),
	/// This genuine page, its next cursor one past the one the device sent, forever.
	EndlessCursor(SyncResponse),
	/// A body with no declared length that never ends.
	EndlessBody,
	/// A declared length past any cap.
	DeclaredHuge,
	/// This genuine page with its entries listed this many times.
	Padded(SyncResponse, usize),
	/// The real gateway's page of everything (`since=0`), entry `id`'s body replaced by `body`.
	SwapBody { id: u64, body: Vec<u8> },
}

/// A gateway in the middle, on 127.0.0.1, that forwards to the real one and tampers as told.
struct TamperingGateway {
	url: String,
	tamper: Arc<Mutex<Tamper>>,
	/// Genuine pages forwarded while honest, in order.
	pages: Arc<Mutex<Vec<SyncResponse>>>,
	/// `/v1/sync` requests answered.
	served: Arc<AtomicUsize>,
	stop: Arc<AtomicBool>,
}

impl TamperingGateway {
	fn start(upstream: String) -> Self {
		let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
		let url = format!("http://{}", listener.local_addr().expect("an address"));
		let gateway = Self {
			url,
			tamper: Arc::new(Mutex::new(Tamper::Honest)),
			pages: Arc::default(),
			served: Arc::default(),
			stop: Arc::default(),
		};
		let (tamper, pages, served, stop) = (
			gateway.tamper.clone(),
			gateway.pages.clone(),
			gateway.served.clone(),
			gateway.stop.clone(),
		);
		std::thread::spawn(move || {
			for client in listener.incoming() {
				if stop.load(Ordering::SeqCst) {
					return;
				}
				let Ok(client) = client else { continue };
				let (upstream, tamper, pages, served) = (
					upstream.clone(),
					tamper.lock().unwrap().clone(),
					pages.clone(),
					served.clone(),
				);
				std::thread::spawn(move || {
					let _ = serve(client, &upstream, tamper, &pages, &served);
				});
			}
		});
		gateway
	}

	fn set(&self, tamper: Tamper) {
		*self.tamper.lock().unwrap() = tamper;
	}

	fn last_page(&self) -> SyncResponse {
		self.pages.lock().unwrap().last().cloned().expect("a recorded page")
	}
}

impl Drop for TamperingGateway {
	fn drop(&mut self) {
		self.stop.store(true, Ordering::SeqCst);
		// Wake the accept loop so it sees the flag.
		let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
	}
}

fn http() -> reqwest::blocking::Client {
	reqwest::blocking::Client::builder()
		.timeout(Duration::from_secs(60))
		.build()
		.expect("an HTTP client")
}

/// The request target (`/v1/sync?since=…`) of the HTTP request on `client`.
fn read_target(client: &mut TcpStream) -> std::io::Result<String> {
	let mut head = Vec::new();
	let mut buffer = [0u8; 4096];
	while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
		let read = client.read(&mut buffer)?;
		if read == 0 {
			break;
		}
		head.extend_from_slice(&buffer[..read]);
	}
	let head = String::from_utf8_lossy(&head);
	Ok(head
		.lines()
		.next()
		.and_then(|line| line.split_whitespace().nth(1))
		.unwrap_or("/")
		.to_string())
}

fn query_value(target: &str, name: &str) -> Option<String> {
	let query = target.split_once('?')?.1;
	query.split('&').find_map(|pair| {
		let (key, value) = pair.split_once('=')?;
		(key == name).then(|| value.to_string())
	})
}

fn respond(client: &mut TcpStream, status: u16, body: &[u8]) -> std::io::Result<()> {
	write!(
		client,
		"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
		body.len()
	)?;
	client.write_all(body)
}

fn respond_page(client: &mut TcpStream, page: &SyncResponse) -> std::io::Result<()> {
	respond(client, 200, &serde_json::to_vec(page).expect("a page serializes"))
}

fn forward(upstream: &str, target: &str) -> (u16, String) {
	let response = http()
		.get(format!("{upstream}{target}"))
		.send()
		.expect("the real gateway answers");
	let status = response.status().as_u16();
	(status, response.text().unwrap_or_default())
}

fn genuine(body: &str) -> SyncResponse {
	serde_json::from_str(body).expect("the real gateway's page")
}

fn serve(
	mut client: TcpStream,
	upstream: &str,
	tamper: Tamper,
	pages: &Mutex<Vec<SyncResponse>>,
	served: &AtomicUsize,
) -> std::io::Result<()> {
	let target = read_target(&mut client)?;
	if !target.starts_with("/v1/sync") {
		let (status, body) = forward(upstream, &target);
		return respond(&mut client, status, body.as_bytes());
	}
	served.fetch_add(1, Ordering::SeqCst);
	let cursor: Option<u64> = query_value(&target, "cursor").and_then(|c| c.parse().ok());
	match tamper {
		Tamper::Honest => {
			let (status, body) = forward(upstream, &target);
			if status == 200 {
				pages.lock().unwrap().push(genuine(&body));
			}
			respond(&mut client, status, body.as_bytes())
		},
		Tamper::Replay(page) => respond_page(&mut client, &page),
		Tamper::ForgeProvenAt(block) => {
			let (_, body) = forward(upstream, &target);
			let mut page = genuine(&body);
			page.proven_at = block;
			respond_page(&mut client, &page)
		},
		Tamper::RepeatCursor(mut page) => {
			page.next_cursor = Some(cursor.unwrap_or(1));
			respond_page(&mut client, &page)
		},
		Tamper::EndlessCursor(mut page) => {
			page.next_cursor = Some(cursor.map_or(1, |c| c + 1));
			respond_page(&mut client, &page)
		},
		Tamper::EndlessBody => {
			client.write_all(
				b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"proven\":",
			)?;
			let chunk = vec![b' '; 1 << 20];
			// Until the device hangs up (a GiB at most, should it never).
			for _ in 0..1024 {
				client.write_all(&chunk)?;
			}
			Ok(())
		},
		Tamper::DeclaredHuge => {
			write!(
				client,
				"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{{",
				1u64 << 40
			)
		},
		Tamper::Padded(mut page, times) => {
			let entries = page.proven.entries.clone();
			page.proven.entries =
				entries.iter().cycle().take(entries.len() * times).cloned().collect();
			respond_page(&mut client, &page)
		},
		Tamper::SwapBody { id, body } => {
			let set_start = query_value(&target, "set_start").unwrap_or_else(|| "0".into());
			let (_, everything) =
				forward(upstream, &format!("/v1/sync?since=0&set_start={set_start}"));
			let mut page = genuine(&everything);
			for entry in &mut page.proven.entries {
				if entry.id == id {
					entry.body = HexBytes(body.clone());
				}
			}
			respond_page(&mut client, &page)
		},
	}
}

/// Every file under `dir` and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
	let mut files = BTreeMap::new();
	let mut pending = vec![dir.to_path_buf()];
	while let Some(dir) = pending.pop() {
		for item in std::fs::read_dir(&dir).expect("a readable dir").flatten() {
			let path = item.path();
			if path.is_dir() {
				pending.push(path);
			} else {
				files.insert(path.clone(), std::fs::read(&path).expect("a readable file"));
			}
		}
	}
	files
}

/// Adds `body` to IPFS, submits it as `//Bob` for `question` and approves it as `//Alice` (the
/// dev chain's validator); returns the entry once it is the finalized answer.
fn validate(
	runtime: &tokio::runtime::Runtime,
	chain: &DevChain,
	ipfs: &membria_ipfs::Client,
	question: &str,
	body: &[u8],
) -> u64 {
	let deadline = Instant::now() + Duration::from_secs(180);
	let pause = || tokio::time::sleep(Duration::from_millis(500));
	runtime.block_on(async {
		ipfs.add(body).await.expect("the body is added to IPFS");
		let id = chain.next_entry_id().await.expect("the next entry id");
		chain
			.submit("//Bob", &submit_entry_call(body, question))
			.await
			.expect("Kcg.submit_entry is accepted");
		while chain.next_entry_id().await.expect("the next entry id") <= id {
			assert!(Instant::now() < deadline, "entry {id} was not finalized");
			pause().await;
		}
		chain
			.submit("//Alice", &attest_call(id))
			.await
			.expect("Validators.attest is accepted");
		let key = question_key(question);
		while chain.finalized_answer(&key).await.expect("the answer") != Some(id) {
			assert!(Instant::now() < deadline, "entry {id} was not validated");
			pause().await;
		}
		id
	})
}

#[test]
fn an_untrusted_gateway_cannot_roll_back_stall_or_exhaust_the_device() {
	let started = Instant::now();
	let dir = tempfile::tempdir().expect("a temp dir");
	let stack = DevStack::start(StackOptions {
		// No worker votes: this test validates its own entries (as `//Alice`).
		offchain_services: false,
		gateway: true,
		..StackOptions::on_free_ports(dir.path(), membria()).expect("stack options")
	})
	.expect("the dev stack starts");
	let ports = stack.options.ports;
	let runtime = tokio::runtime::Runtime::new().expect("a runtime");
	let chain = runtime
		.block_on(DevChain::connect(&ports.member.node_url()))
		.expect("the dev node");
	let ipfs = membria_ipfs::Client::new(&ports.member.ipfs_url(), Default::default())
		.expect("the IPFS client");
	let gateway = TamperingGateway::start(ports.gateway_url());

	let device_dir = dir.path().join("device");
	let data_dir = device_dir.display().to_string();
	let spec = stack.chain_spec.display().to_string();
	let device = |command: &[&str]| -> Run {
		let mut args = command.to_vec();
		args.extend(["--data-dir", data_dir.as_str(), "--chain-spec", spec.as_str()]);
		if command[0] == "sync" {
			args.extend(["--gateway", gateway.url.as_str()]);
		}
		run_membria(&args)
	};
	let sync_until_new = |what: &str| {
		wait_for(Duration::from_secs(180), what, || {
			let run = device(&["sync"]);
			(run.code == 0 && run.stdout.contains(" 1 new")).then_some(run)
		})
	};

	// --- X answers the question; the device syncs it. ---
	let x_body = synthetic_body(QUESTION, "Mount Everest, 8,849 metres above sea level.", 1);
	let x = validate(&runtime, &chain, &ipfs, QUESTION, &x_body);
	sync_until_new("a sync loading X");
	let older = gateway.last_page();
	assert_eq!(older.proven.entries.iter().map(|e| e.id).collect::<Vec<_>>(), vec![x]);

	// --- Y supersedes X; the device syncs Y and drops X. ---
	let y_body = synthetic_body(QUESTION, "Mount Everest, at 8,849 metres.", 2);
	let y = validate(&runtime, &chain, &ipfs, QUESTION, &y_body);
	sync_until_new("a sync loading Y");
	let newer = gateway.last_page();
	assert_eq!(newer.proven.entries.iter().map(|e| e.id).collect::<Vec<_>>(), vec![y]);
	assert!(older.proven_at < newer.proven_at);
	let status = device(&["status"]);
	assert!(status.stdout.contains("verified entries cached: 1"), "{}", status.stdout);
	assert!(
		status
			.stdout
			.contains(&format!("newest finalized block proven: {}", newer.proven_at)),
		"{}",
		status.stdout
	);
	let answer = device(&["ask", QUESTION, "--offline"]);
	assert_eq!(answer.code, 0, "{}", answer.stdout);
	assert!(answer.stdout.contains(&format!("entry {y} ")), "{}", answer.stdout);
	println!(
		"X = entry {x} (page at block {}), Y = entry {y} (page at block {}); {:.0} s",
		older.proven_at,
		newer.proven_at,
		started.elapsed().as_secs_f64()
	);

	// --- Tampering: each refused with its own error, nothing of the device changed. ---
	let before = snapshot(&device_dir);
	let stale = format!(
		"stale: the response is proven at block {}, older than block {}",
		older.proven_at, newer.proven_at
	);
	let another_body = format!("body of entry {y}");
	let attacks: Vec<(&str, Tamper, &str)> = vec![
		("a replay of the older page", Tamper::Replay(older.clone()), stale.as_str()),
		(
			"a forged proven_at",
			Tamper::ForgeProvenAt(4_294_967_000),
			"proven_at mismatch: the server says the page is proven at block 4294967000",
		),
		(
			"a cursor that does not advance",
			Tamper::RepeatCursor(newer.clone()),
			"cursor not advancing",
		),
		("a cursor that advances forever", Tamper::EndlessCursor(newer.clone()), "too many pages"),
		("a body without end", Tamper::EndlessBody, "response size cap"),
		("a huge declared length", Tamper::DeclaredHuge, "response size cap"),
		(
			"more entries than asked for",
			Tamper::Padded(newer.clone(), SYNC_PAGE as usize + 1),
			"too many entries",
		),
		(
			"a valid proof with another entry's body",
			Tamper::SwapBody { id: y, body: x_body.clone() },
			another_body.as_str(),
		),
	];
	for (what, tamper, reason) in attacks {
		gateway.set(tamper);
		let served = gateway.served.load(Ordering::SeqCst);
		let attempt = Instant::now();
		let run = device(&["sync"]);
		let pages = gateway.served.load(Ordering::SeqCst) - served;
		assert_eq!(run.code, 1, "{what}: {}", run.stdout);
		assert!(run.stderr.contains(reason), "{what}: {}", run.stderr);
		assert!(
			snapshot(&device_dir) == before,
			"{what} changed the device's trust root, sync state or cache"
		);
		println!(
			"{what}: refused after {pages} page requests in {:.1} s: {}",
			attempt.elapsed().as_secs_f64(),
			run.stderr.trim()
		);
		if what == "a cursor that advances forever" {
			assert_eq!(pages, MAX_SYNC_PAGES, "the sync stops at the page cap");
		}
	}

	// --- The device's own rule behind the trust root's: even proven, an older answer never
	// replaces a newer one. (A trust root that proved nothing newer accepts the older page.) ---
	let mut fresh_trust =
		Trust::from_chain_spec(&dir.path().join("fresh-trust"), &stack.chain_spec)
			.expect("a trust root");
	let older_entries = fresh_trust.verify(&older.proven).expect("the older page is genuine");
	let mut library = Device::open(DeviceOptions {
		data_dir: device_dir.clone(),
		model_dir: membria_embed::default_model_dir().expect("MEMBRIA_MODELS (scripts/env.sh)"),
		chain_spec: None,
		thresholds: Default::default(),
	})
	.expect("the device");
	match library.load(&older_entries) {
		Err(DeviceError::Freshness(FreshnessError::Rollback {
			held,
			held_at,
			offered,
			offered_at,
			..
		})) => {
			assert_eq!((held, held_at), (y, newer.proven_at));
			assert_eq!((offered, offered_at), (x, older.proven_at));
		},
		other => panic!("an older answer must be refused as a rollback, got {other:?}"),
	}
	drop(library);
	assert!(snapshot(&device_dir) == before, "the refused rollback changed the device");

	// --- The next honest sync loads what is new. ---
	gateway.set(Tamper::Honest);
	let z_body = synthetic_body(OTHER, "Herman Melville wrote Moby-Dick, published in 1851.", 3);
	let z = validate(&runtime, &chain, &ipfs, OTHER, &z_body);
	sync_until_new("an honest sync loading Z");
	let last = gateway.last_page();
	assert!(last.proven.entries.iter().any(|e| e.id == z));
	let status = device(&["status"]);
	for line in [
		"verified entries cached: 2".to_string(),
		format!("newest finalized block proven: {}", last.proven_at),
		format!("next sync from block: {}", last.proven_at + 1),
	] {
		assert!(status.stdout.contains(&line), "{line} in {}", status.stdout);
	}
	println!(
		"Z = entry {z} loaded at block {}; {:.0} s in all",
		last.proven_at,
		started.elapsed().as_secs_f64()
	);
}
