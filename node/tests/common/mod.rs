//! Test harness: real `membria-node` processes on 127.0.0.1 with free ports, a small JSON-RPC
//! client over plain HTTP, and signed extrinsics built with the runtime's own types.

#![allow(dead_code)] // Each test binary uses a different part of the harness.

use std::{
	io::{Read, Write},
	net::TcpStream,
	path::{Path, PathBuf},
	process::{Command, ExitStatus},
	time::{Duration, Instant},
};

use membria_launch::{local_addr, Process};

use codec::Encode;
use serde_json::{json, Value};

/// The node binary cargo built for these tests.
pub const NODE_BIN: &str = env!("CARGO_BIN_EXE_membria-node");

/// A port nobody listens on now (the shared launcher's: a per-process range, so concurrent test
/// binaries do not collide).
pub fn free_port() -> u16 {
	membria_launch::free_port().expect("a free port")
}

pub use membria_launch::TempDir;

/// A running `membria-node`; stopped (and waited for) on drop.
pub struct Node {
	process: Process,
	pub rpc_port: u16,
	pub log_path: PathBuf,
}

impl Node {
	/// Starts `membria-node --dev` with the given extra arguments, RPC on a free port, logs in
	/// `base/node.log`, and waits until its RPC answers.
	pub fn start_dev(base: &Path, extra_args: &[&str]) -> Node {
		let mut args = vec!["--dev"];
		args.extend(extra_args);
		Self::start(base, &base.join("chain"), &args)
	}

	/// Starts `membria-node` with `args` (the chain and the identity are the caller's), its
	/// data in `chain_dir`, RPC and p2p on free ports, logs in `base/node-<rpc port>.log`, and
	/// waits until its RPC answers.
	pub fn start(base: &Path, chain_dir: &Path, args: &[&str]) -> Node {
		let rpc_port = free_port();
		let p2p_port = free_port();
		let log_path = base.join(format!("node-{rpc_port}.log"));
		let mut command = Command::new(NODE_BIN);
		command
			.arg("--base-path")
			.arg(chain_dir)
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--port", &p2p_port.to_string()])
			.args(["--no-prometheus", "--no-telemetry", "--no-mdns"])
			.args(args)
			// Extra log targets for debugging a test, e.g. `runtime::dod=debug`.
			.args(
				std::env::var("MEMBRIA_TEST_NODE_LOG")
					.map(|l| vec!["-l".to_string(), l])
					.unwrap_or_default(),
			);
		let process = Process::spawn_command("membria-node", &mut command, log_path.clone())
			.expect("start membria-node");
		let mut node = Node { process, rpc_port, log_path };
		// The node says where its RPC listens. Where the port asked for was taken by then, it
		// listens on another the system chose: the one it names is the one to poll (the one
		// asked for if its log level hides the line).
		node.rpc_port = node.wait_until(Duration::from_secs(60), "RPC to answer", |node| {
			let port = membria_launch::node_rpc_port(&node.process.log_text()).unwrap_or(rpc_port);
			rpc_call(port, "system_health", json!([])).ok().map(|_| port)
		});
		node
	}

	/// The node's log so far, for failure messages.
	pub fn log(&self) -> String {
		std::fs::read_to_string(&self.log_path).unwrap_or_default()
	}

	/// Calls a JSON-RPC method; `Err` carries the JSON-RPC error object or the I/O error.
	pub fn try_rpc(&self, method: &str, params: Value) -> Result<Value, String> {
		rpc_call(self.rpc_port, method, params)
	}

	/// Calls a JSON-RPC method that must succeed.
	pub fn rpc(&self, method: &str, params: Value) -> Value {
		self.try_rpc(method, params.clone()).unwrap_or_else(|e| {
			panic!("{method}({params}) failed: {e}\n--- node log ---\n{}", self.log())
		})
	}

	/// Polls `check` every 200 ms until it returns `Some`, or fails the test after `timeout`.
	pub fn wait_until<T>(
		&self,
		timeout: Duration,
		what: &str,
		mut check: impl FnMut(&Node) -> Option<T>,
	) -> T {
		let deadline = Instant::now() + timeout;
		loop {
			if let Some(value) = check(self) {
				return value;
			}
			if Instant::now() > deadline {
				panic!(
					"timed out after {timeout:?} waiting for {what}\n--- node log ---\n{}",
					self.log()
				);
			}
			std::thread::sleep(Duration::from_millis(200));
		}
	}

	/// Number of the latest finalized block.
	pub fn finalized_number(&self) -> u32 {
		let hash = self.rpc("chain_getFinalizedHead", json!([]));
		let header = self.rpc("chain_getHeader", json!([hash]));
		hex_number(&header["number"])
	}

	/// Number of the best block.
	pub fn best_number(&self) -> u32 {
		let header = self.rpc("chain_getHeader", json!([]));
		hex_number(&header["number"])
	}

	/// Hash of block `number` on the best chain, as the node reports it.
	pub fn block_hash(&self, number: u32) -> Value {
		self.rpc("chain_getBlockHash", json!([number]))
	}

	/// Stops the node the way Ctrl-C does (SIGINT), waits up to 30 s for it to exit (then kills
	/// it), and gives its exit status.
	pub fn stop(mut self) -> ExitStatus {
		self.process.stop_within(Duration::from_secs(30)).expect("node was running")
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		self.process.stop_within(Duration::from_secs(30));
	}
}

pub fn hex_number(value: &Value) -> u32 {
	let text = value.as_str().unwrap_or_else(|| panic!("not a hex number: {value}"));
	u32::from_str_radix(text.trim_start_matches("0x"), 16)
		.unwrap_or_else(|e| panic!("not a hex number {text}: {e}"))
}

/// One HTTP/1.1 `POST path` to 127.0.0.1:`port`: the status and the body (de-chunked, UTF-8).
pub fn http_post(
	port: u16,
	path: &str,
	content_type: &str,
	body: &[u8],
) -> Result<(u16, String), String> {
	let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
	stream
		.set_read_timeout(Some(Duration::from_secs(30)))
		.map_err(|e| e.to_string())?;
	write!(
		stream,
		"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n\
		 Content-Length: {}\r\nConnection: close\r\n\r\n",
		body.len()
	)
	.map_err(|e| e.to_string())?;
	stream.write_all(body).map_err(|e| e.to_string())?;
	let mut response = Vec::new();
	stream.read_to_end(&mut response).map_err(|e| e.to_string())?;
	let response = String::from_utf8(response).map_err(|e| e.to_string())?;
	let (head, payload) = response
		.split_once("\r\n\r\n")
		.ok_or_else(|| format!("no HTTP body in {response:?}"))?;
	let status = head
		.split_whitespace()
		.nth(1)
		.and_then(|code| code.parse().ok())
		.ok_or_else(|| format!("no HTTP status in {head:?}"))?;
	let payload = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
		dechunk(payload)?
	} else {
		payload.to_string()
	};
	Ok((status, payload))
}

/// One JSON-RPC call over HTTP/1.1 to 127.0.0.1:`port`.
pub fn rpc_call(port: u16, method: &str, params: Value) -> Result<Value, String> {
	let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
	let (_, payload) = http_post(port, "/", "application/json", body.as_bytes())?;
	let reply: Value = serde_json::from_str(&payload)
		.map_err(|e| format!("bad JSON-RPC reply {payload:?}: {e}"))?;
	match reply.get("error") {
		Some(error) => Err(error.to_string()),
		None => Ok(reply["result"].clone()),
	}
}

fn dechunk(mut payload: &str) -> Result<String, String> {
	let mut out = String::new();
	loop {
		let (size, rest) = payload.split_once("\r\n").ok_or("truncated chunk header")?;
		let size = usize::from_str_radix(size.trim(), 16).map_err(|e| e.to_string())?;
		if size == 0 {
			return Ok(out);
		}
		out.push_str(rest.get(..size).ok_or("truncated chunk")?);
		payload = rest.get(size + 2..).ok_or("truncated chunk end")?;
	}
}

/// A `Balances::transfer_keep_alive` from `from` to `to`, signed for the chain with genesis hash
/// `genesis` at account nonce `nonce`, SCALE-encoded as `0x…` for `author_submitExtrinsic`.
pub fn signed_transfer(
	from: sp_keyring::Sr25519Keyring,
	to: sp_keyring::Sr25519Keyring,
	amount: membria_runtime::Balance,
	nonce: membria_runtime::Nonce,
	genesis: sp_core::H256,
) -> String {
	use membria_runtime::{BalancesCall, RuntimeCall};
	let call = RuntimeCall::Balances(BalancesCall::transfer_keep_alive {
		dest: to.to_account_id().into(),
		value: amount,
	});
	signed_call(from, call, nonce, genesis)
}

/// `call` signed by `from` for the chain with genesis hash `genesis` at account nonce `nonce`
/// (immortal, no tip), SCALE-encoded as `0x…` for `author_submitExtrinsic`.
pub fn signed_call(
	from: sp_keyring::Sr25519Keyring,
	call: membria_runtime::RuntimeCall,
	nonce: membria_runtime::Nonce,
	genesis: sp_core::H256,
) -> String {
	use membria_runtime::{SignedPayload, TxExtension, VERSION};
	use sp_runtime::generic::Era;

	let extension: TxExtension = (
		frame_system::CheckNonZeroSender::new(),
		frame_system::CheckSpecVersion::new(),
		frame_system::CheckTxVersion::new(),
		frame_system::CheckGenesis::new(),
		frame_system::CheckEra::from(Era::Immortal),
		frame_system::CheckNonce::from(nonce),
		frame_system::CheckWeight::new(),
		pallet_transaction_payment::ChargeTransactionPayment::from(0),
		frame_system::WeightReclaim::new(),
	);
	let implicit =
		((), VERSION.spec_version, VERSION.transaction_version, genesis, genesis, (), (), (), ());
	let payload = SignedPayload::from_raw(call.clone(), extension.clone(), implicit);
	let signature = payload.using_encoded(|bytes| from.sign(bytes));
	let extrinsic = membria_runtime::UncheckedExtrinsic::new_signed(
		call,
		from.to_account_id().into(),
		signature.into(),
		extension,
	);
	format!("0x{}", hex(&extrinsic.encode()))
}

pub fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a `0x…` 32-byte hash from JSON.
pub fn h256(value: &Value) -> sp_core::H256 {
	let text = value.as_str().unwrap_or_else(|| panic!("not a hash: {value}"));
	let bytes: Vec<u8> = (2..text.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
		.collect();
	sp_core::H256::from_slice(&bytes)
}

/// The `membria` CLI binary, built by the apps workspace into the same target dir.
pub fn membria_bin() -> PathBuf {
	let bin = Path::new(NODE_BIN).with_file_name("membria");
	assert!(
		bin.exists(),
		"{} is missing: build it first with `cargo build --release --manifest-path apps/Cargo.toml`",
		bin.display()
	);
	bin
}

/// A running `membria` service (IPFS node, distiller…); stopped on drop.
pub struct Service {
	process: Process,
	pub port: u16,
	pub log_path: PathBuf,
}

impl Service {
	/// Starts `membria <args> --listen 127.0.0.1:<port>` and waits until it accepts connections.
	pub fn start(base: &Path, name: &str, port: u16, args: &[&str]) -> Service {
		let log_path = base.join(format!("{name}-{port}.log"));
		let mut command = Command::new(membria_bin());
		command.args(args).args(["--listen", &format!("127.0.0.1:{port}")]);
		let process =
			Process::spawn_command(name, &mut command, log_path.clone()).expect("start membria");
		let mut service = Service { process, port, log_path };
		let ready = service
			.process
			.wait_ready(Duration::from_secs(180), || membria_launch::listening(local_addr(port)));
		if let Err(error) = ready {
			panic!("{name} did not start ({error}):\n{}", service.log());
		}
		service
	}

	/// The embedded IPFS node over `repo`.
	pub fn ipfs(base: &Path, port: u16, repo: &Path) -> Service {
		Service::start(base, "ipfs", port, &["ipfs", "--repo", &repo.display().to_string()])
	}

	/// The corpus distiller over `corpus` (the system's dictd databases when `None`).
	pub fn distiller(base: &Path, port: u16, corpus: Option<&Path>) -> Service {
		let mut args = vec!["distiller".to_string(), "--backend".into(), "corpus".into()];
		if let Some(corpus) = corpus {
			args.extend(["--corpus".into(), corpus.display().to_string()]);
		}
		let args: Vec<&str> = args.iter().map(String::as_str).collect();
		Service::start(base, "distiller", port, &args)
	}

	pub fn url(&self) -> String {
		format!("http://127.0.0.1:{}", self.port)
	}

	pub fn log(&self) -> String {
		std::fs::read_to_string(&self.log_path).unwrap_or_default()
	}

	/// Stops the service (SIGINT, killed after 10 s) and waits for it.
	pub fn stop(mut self) {
		self.process.stop_within(Duration::from_secs(10));
	}
}

impl Drop for Service {
	fn drop(&mut self) {
		self.process.stop_within(Duration::from_secs(10));
	}
}

/// The storage key of a plain storage value.
pub fn value_key(pallet: &str, item: &str) -> Vec<u8> {
	let mut key = sp_io::hashing::twox_128(pallet.as_bytes()).to_vec();
	key.extend(sp_io::hashing::twox_128(item.as_bytes()));
	key
}

/// The storage key of a `Blake2_128Concat` map entry.
pub fn blake2_map_key(pallet: &str, item: &str, map_key: &impl Encode) -> Vec<u8> {
	let mut key = value_key(pallet, item);
	let encoded = map_key.encode();
	key.extend(sp_io::hashing::blake2_128(&encoded));
	key.extend(encoded);
	key
}

/// The storage key of a `Twox64Concat` map entry.
pub fn twox_map_key(pallet: &str, item: &str, map_key: &impl Encode) -> Vec<u8> {
	let mut key = value_key(pallet, item);
	let encoded = map_key.encode();
	key.extend(sp_io::hashing::twox_64(&encoded));
	key.extend(encoded);
	key
}

/// Parses `0x…` hex from JSON.
pub fn bytes(value: &Value) -> Vec<u8> {
	let text = value.as_str().unwrap_or_else(|| panic!("not hex: {value}"));
	(2..text.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
		.collect()
}

impl Node {
	/// Reads and decodes a storage item at the best block (or `at`).
	pub fn storage<T: codec::Decode>(&self, key: &[u8], at: Option<&Value>) -> Option<T> {
		let params = match at {
			Some(hash) => json!([format!("0x{}", hex(key)), hash]),
			None => json!([format!("0x{}", hex(key))]),
		};
		let value = self.rpc("state_getStorage", params);
		if value.is_null() {
			return None;
		}
		Some(T::decode(&mut &bytes(&value)[..]).expect("storage decodes with the runtime's types"))
	}

	/// The runtime events of block `number`.
	pub fn events(&self, number: u32) -> Vec<membria_runtime::RuntimeEvent> {
		let hash = self.block_hash(number);
		let records: Vec<frame_system::EventRecord<membria_runtime::RuntimeEvent, sp_core::H256>> =
			self.storage(&value_key("System", "Events"), Some(&hash)).unwrap_or_default();
		records.into_iter().map(|record| record.event).collect()
	}

	/// Every runtime event of blocks 1..=best, with its block number.
	pub fn all_events(&self) -> Vec<(u32, membria_runtime::RuntimeEvent)> {
		(1..=self.best_number())
			.flat_map(|number| self.events(number).into_iter().map(move |event| (number, event)))
			.collect()
	}

	/// The genesis hash.
	pub fn genesis(&self) -> sp_core::H256 {
		h256(&self.block_hash(0))
	}

	/// The next nonce of `who` (pool included).
	pub fn nonce(&self, who: sp_keyring::Sr25519Keyring) -> u32 {
		let next = self.rpc("system_accountNextIndex", json!([who.to_account_id().to_string()]));
		next.as_u64().expect("a nonce") as u32
	}

	/// Signs `call` as `who` at its next nonce and submits it; the extrinsic hash or the error.
	/// For several transactions of one account in a row, use [`Node::submit_at`] with nonces
	/// counted by the caller: the next nonce read over RPC can lag a transaction being sealed.
	pub fn submit(
		&self,
		who: sp_keyring::Sr25519Keyring,
		call: membria_runtime::RuntimeCall,
	) -> Result<Value, String> {
		self.submit_at(who, call, self.nonce(who))
	}

	/// Signs `call` as `who` at `nonce` and submits it.
	pub fn submit_at(
		&self,
		who: sp_keyring::Sr25519Keyring,
		call: membria_runtime::RuntimeCall,
		nonce: u32,
	) -> Result<Value, String> {
		let extrinsic = signed_call(who, call, nonce, self.genesis());
		self.try_rpc("author_submitExtrinsic", json!([extrinsic]))
	}
}

/// Starts a validator's node of the chain `spec`: data in `dir/name`, the session keys of
/// `key_flag` (`--alice` …), a network identity of its own per `name`, no off-chain workers;
/// dials `bootnode` when given.
pub fn start_validator(
	dir: &Path,
	spec: &str,
	name: &str,
	key_flag: &str,
	bootnode: Option<&str>,
	extra: &[&str],
) -> Node {
	let base = dir.join(name);
	std::fs::create_dir_all(&base).unwrap();
	// A validator needs a stable network identity: one per node.
	let node_key = format!("{:064x}", name.len() * 7 + name.as_bytes()[0] as usize);
	let mut args = vec![
		"--chain",
		spec,
		key_flag,
		"--node-key",
		node_key.as_str(),
		"--offchain-worker",
		"never",
	];
	if let Some(bootnode) = bootnode {
		args.extend(["--bootnodes", bootnode]);
	}
	args.extend(extra);
	Node::start(&base, &base.join("chain"), &args)
}

/// The node's listen address for others to dial.
pub fn multiaddr(node: &Node) -> String {
	let peer = node.rpc("system_localPeerId", json!([]));
	let addresses = node.rpc("system_localListenAddresses", json!([]));
	let address = addresses
		.as_array()
		.and_then(|all| {
			all.iter()
				.filter_map(Value::as_str)
				.find(|a| a.starts_with("/ip4/127.0.0.1/tcp/"))
		})
		.unwrap_or_else(|| panic!("no local tcp address: {addresses}"));
	if address.contains("/p2p/") {
		address.to_string()
	} else {
		format!("{address}/p2p/{}", peer.as_str().unwrap())
	}
}
