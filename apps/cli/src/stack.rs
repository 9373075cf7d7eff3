//! Starting Membria's processes on one machine — the dev node, the embedded IPFS node, the
//! distiller and the gateway — on 127.0.0.1, each with its log file, health-checked, and stopped
//! when dropped. The end-to-end tests and the benchmarks run the real stack with it.

use std::{
	io::{Read, Write},
	net::{SocketAddr, TcpListener, TcpStream},
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

/// Why the stack could not start.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
	#[error("{what} is missing at {path}: {hint}")]
	Missing { what: &'static str, path: PathBuf, hint: &'static str },
	#[error("starting {name}: {source}")]
	Spawn { name: String, source: std::io::Error },
	#[error("{name} exited before it was ready (see {log})")]
	Exited { name: String, log: PathBuf },
	#[error("{name} was not ready within {seconds} s (see {log})")]
	NotReady { name: String, seconds: u64, log: PathBuf },
	#[error("{0}")]
	Io(#[from] std::io::Error),
	#[error("membria-node build-spec: {0}")]
	ChainSpec(String),
	#[error("port {port} ({what}) is taken: stop what listens there, or choose another port")]
	PortTaken { port: u16, what: &'static str },
}

/// A child process with its log, killed when dropped.
pub struct Process {
	name: String,
	child: Child,
	log: PathBuf,
}

impl Process {
	/// Starts `program args…` with stdout and stderr appended to `logs/<name>.log`.
	pub fn spawn(
		name: &str,
		program: &Path,
		args: &[String],
		logs: &Path,
	) -> Result<Self, StackError> {
		std::fs::create_dir_all(logs)?;
		let log = logs.join(format!("{name}.log"));
		let file = std::fs::OpenOptions::new().create(true).append(true).open(&log)?;
		let child = Command::new(program)
			.args(args)
			.stdin(Stdio::null())
			.stdout(file.try_clone()?)
			.stderr(file)
			.spawn()
			.map_err(|source| StackError::Spawn {
				name: format!("{name} ({})", program.display()),
				source,
			})?;
		Ok(Self { name: name.to_string(), child, log })
	}

	pub fn name(&self) -> &str {
		&self.name
	}

	pub fn log(&self) -> &Path {
		&self.log
	}

	pub fn pid(&self) -> u32 {
		self.child.id()
	}

	/// Whether it still runs.
	pub fn is_running(&mut self) -> bool {
		matches!(self.child.try_wait(), Ok(None))
	}

	/// Waits until `ready` holds, failing early if the process exits.
	pub fn wait_ready(
		&mut self,
		timeout: Duration,
		mut ready: impl FnMut() -> bool,
	) -> Result<(), StackError> {
		let started = Instant::now();
		loop {
			if ready() {
				return Ok(());
			}
			if !self.is_running() {
				return Err(StackError::Exited { name: self.name.clone(), log: self.log.clone() });
			}
			if started.elapsed() > timeout {
				return Err(StackError::NotReady {
					name: self.name.clone(),
					seconds: timeout.as_secs(),
					log: self.log.clone(),
				});
			}
			std::thread::sleep(Duration::from_millis(200));
		}
	}

	/// Asks it to stop (SIGINT, as Ctrl-C), then kills it after `grace`.
	pub fn stop_within(&mut self, grace: Duration) {
		if !self.is_running() {
			return;
		}
		let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
		let started = Instant::now();
		while self.is_running() && started.elapsed() < grace {
			std::thread::sleep(Duration::from_millis(50));
		}
		self.stop();
	}

	/// Kills it and reaps it.
	pub fn stop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

impl Drop for Process {
	fn drop(&mut self) {
		self.stop();
	}
}

/// A port nobody listens on now.
pub fn free_port() -> Result<u16, StackError> {
	Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether something accepts connections at `addr`.
pub fn listening(addr: SocketAddr) -> bool {
	TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// The status code of `GET path` at `addr` (plain HTTP/1.0), if it answers.
pub fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
	let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
	stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
	write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
	let mut head = [0u8; 16];
	stream.read_exact(&mut head).ok()?;
	std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// `POST /` of a JSON-RPC request to a node at `addr`: whether it answers with a result.
pub fn rpc_ready(addr: SocketAddr) -> bool {
	let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
		return false;
	};
	let body = r#"{"jsonrpc":"2.0","id":1,"method":"chain_getFinalizedHead","params":[]}"#;
	let request = format!(
		"POST / HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
		body.len()
	);
	let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
	if stream.write_all(request.as_bytes()).is_err() {
		return false;
	}
	let mut response = String::new();
	let _ = stream.read_to_string(&mut response);
	response.contains("\"result\"")
}

/// The `membria-node` binary: `$MEMBRIA_NODE`, else beside the running executable.
pub fn node_binary() -> Result<PathBuf, StackError> {
	let path = match std::env::var_os("MEMBRIA_NODE") {
		Some(path) => PathBuf::from(path),
		None => std::env::current_exe()?
			.parent()
			.map(|dir| dir.join("membria-node"))
			.unwrap_or_else(|| PathBuf::from("membria-node")),
	};
	if !path.exists() {
		return Err(StackError::Missing {
			what: "membria-node",
			path,
			hint:
				"build the chain workspace (cargo build --release --workspace) or set MEMBRIA_NODE",
		});
	}
	Ok(path)
}

/// Writes the raw dev chain spec (`membria-node build-spec --chain dev --raw`) to `path`: the
/// trust root devices take the genesis authorities from.
pub fn write_dev_chain_spec(node: &Path, path: &Path) -> Result<(), StackError> {
	write_chain_spec(node, "dev", path)
}

/// Writes the raw spec of `chain` (`dev`, `local`) to `path`.
pub fn write_chain_spec(node: &Path, chain: &str, path: &Path) -> Result<(), StackError> {
	let output = Command::new(node)
		.args(["build-spec", "--chain", chain, "--raw"])
		.stderr(Stdio::piped())
		.output()?;
	if !output.status.success() {
		return Err(StackError::ChainSpec(String::from_utf8_lossy(&output.stderr).into_owned()));
	}
	// `build-spec` lists a bootnode of its own (a fresh random key on port 30333); the stack
	// names its own bootnode (Alice's fixed key on the same port), and a node refuses one
	// address under two peer ids. The spec goes without it.
	let mut spec: serde_json::Value = serde_json::from_slice(&output.stdout)
		.map_err(|error| StackError::ChainSpec(format!("not JSON: {error}")))?;
	if let Some(boot_nodes) = spec.get_mut("bootNodes") {
		*boot_nodes = serde_json::Value::Array(Vec::new());
	}
	std::fs::write(path, serde_json::to_vec_pretty(&spec).map_err(std::io::Error::other)?)?;
	Ok(())
}

/// Starts `membria ipfs` on `port` over `repo`, fetching missing blocks from `peers`.
fn spawn_ipfs(
	name: &str,
	membria: &Path,
	port: u16,
	repo: &Path,
	peers: &[String],
	logs: &Path,
) -> Result<Process, StackError> {
	let mut args = vec![
		"ipfs".into(),
		"--listen".into(),
		format!("127.0.0.1:{port}"),
		"--repo".into(),
		repo.display().to_string(),
	];
	for peer in peers {
		args.extend(["--peer".into(), peer.clone()]);
	}
	Process::spawn(name, membria, &args, logs)
}

/// Starts the corpus distiller (`membria distiller`) on `port`, proposing links to the entries
/// `gateway` (its URL) serves, if any.
fn spawn_distiller(
	name: &str,
	membria: &Path,
	port: u16,
	gateway: Option<String>,
	logs: &Path,
) -> Result<Process, StackError> {
	let mut args = vec!["distiller".into(), "--listen".into(), format!("127.0.0.1:{port}")];
	if let Some(gateway) = gateway {
		args.extend(["--gateway".into(), gateway]);
	}
	Process::spawn(name, membria, &args, logs)
}

/// The flags of every node a stack starts: its data under `base`, its RPC and p2p ports, nothing
/// announced beyond this machine, and a justification stored for every finalized block (devices
/// and gateways prove against justified blocks, so a fresh one must exist at all times).
fn local_node_flags(base: &Path, ports: &MemberPorts) -> Vec<String> {
	vec![
		"--base-path".into(),
		base.display().to_string(),
		"--rpc-port".into(),
		ports.rpc.to_string(),
		"--port".into(),
		ports.p2p.to_string(),
		"--prometheus-port".into(),
		ports.prometheus.to_string(),
		"--no-telemetry".into(),
		"--no-mdns".into(),
		"--justification-period".into(),
		"1".into(),
	]
}

/// The flags that point a node's off-chain workers at its IPFS node and distiller.
fn offchain_service_flags(ipfs_url: &str, distiller_url: &str) -> [String; 4] {
	["--ipfs-api".into(), ipfs_url.into(), "--distiller".into(), distiller_url.into()]
}

/// Where the dev stack listens: one chain member's services, and the gateway.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
	pub member: MemberPorts,
	pub gateway: u16,
}

impl Ports {
	/// Ports nobody listens on now.
	pub fn free() -> Result<Self, StackError> {
		Ok(Self { member: MemberPorts::free()?, gateway: free_port()? })
	}

	pub fn gateway_url(&self) -> String {
		format!("http://127.0.0.1:{}", self.gateway)
	}

	/// Fails with the first port something already listens on.
	pub fn check_free(&self) -> Result<(), StackError> {
		self.member.check_free()?;
		check_port_free(self.gateway, "gateway")
	}
}

/// The address of `port` on this machine, where every service of a stack listens.
fn local_addr(port: u16) -> SocketAddr {
	SocketAddr::from(([127, 0, 0, 1], port))
}

/// Fails if something already listens on `port` (`what` names the service meant to).
pub fn check_port_free(port: u16, what: &'static str) -> Result<(), StackError> {
	match TcpListener::bind(local_addr(port)) {
		Ok(_) => Ok(()),
		Err(_) => Err(StackError::PortTaken { port, what }),
	}
}

/// What to start.
#[derive(Clone, Debug)]
pub struct StackOptions {
	/// Data (chain, IPFS repo, logs, chain spec) lives here.
	pub dir: PathBuf,
	pub ports: Ports,
	/// The `membria` binary.
	pub membria: PathBuf,
	pub node: PathBuf,
	/// Secret URI the gateway files demand with (none: no demand).
	pub demand_seed: Option<String>,
	/// Start the gateway.
	pub gateway: bool,
	/// Point the node's off-chain workers at IPFS and the distiller (validators then attest
	/// and agents distill on their own).
	pub offchain_services: bool,
	/// Extra flags for the node.
	pub node_flags: Vec<String>,
	/// Extra flags for the gateway.
	pub gateway_flags: Vec<String>,
}

impl StackOptions {
	/// A stack in `dir` on free ports, started from the `membria` binary `membria` and the
	/// node binary [`node_binary`] finds: node, IPFS and distiller, the node's off-chain workers
	/// pointed at both, no gateway, no extra flags. Set the fields to change any of it.
	pub fn on_free_ports(dir: &Path, membria: PathBuf) -> Result<Self, StackError> {
		Ok(Self {
			dir: dir.to_path_buf(),
			ports: Ports::free()?,
			membria,
			node: node_binary()?,
			demand_seed: None,
			gateway: false,
			offchain_services: true,
			node_flags: Vec::new(),
			gateway_flags: Vec::new(),
		})
	}
}

/// The dev stack, running.
pub struct DevStack {
	pub options: StackOptions,
	pub chain_spec: PathBuf,
	pub ipfs: Process,
	pub distiller: Process,
	pub node: Process,
	pub gateway: Option<Process>,
}

impl DevStack {
	/// Starts IPFS, the distiller, the dev node (off-chain workers pointed at both, a
	/// justification stored for every finalized block) and, if asked, the gateway; returns once
	/// each answers.
	pub fn start(options: StackOptions) -> Result<Self, StackError> {
		let dir = &options.dir;
		let logs = dir.join("logs");
		std::fs::create_dir_all(&logs)?;
		let chain_spec = dir.join("chain-spec.json");
		write_dev_chain_spec(&options.node, &chain_spec)?;
		let ports = options.ports.member;
		let mut ipfs =
			spawn_ipfs("ipfs", &options.membria, ports.ipfs, &dir.join("ipfs"), &[], &logs)?;
		let gateway = options.gateway.then(|| options.ports.gateway_url());
		let mut distiller =
			spawn_distiller("distiller", &options.membria, ports.distiller, gateway, &logs)?;
		let mut node_args = vec!["--dev".to_string()];
		node_args.extend(local_node_flags(&dir.join("node"), &ports));
		if options.offchain_services {
			node_args.extend(offchain_service_flags(&ports.ipfs_url(), &ports.distiller_url()));
		}
		node_args.extend(options.node_flags.iter().cloned());
		let mut node = Process::spawn("node", &options.node, &node_args, &logs)?;
		let minute = Duration::from_secs(60);
		ipfs.wait_ready(minute, || listening(local_addr(ports.ipfs)))?;
		distiller.wait_ready(Duration::from_secs(120), || {
			http_status(local_addr(ports.distiller), "/health") == Some(200)
		})?;
		node.wait_ready(minute, || rpc_ready(local_addr(ports.rpc)))?;
		let mut stack = Self { chain_spec, ipfs, distiller, node, gateway: None, options };
		if stack.options.gateway {
			stack.start_gateway()?;
		}
		Ok(stack)
	}

	/// Starts the gateway (again) and waits until it has a justified block to prove against.
	pub fn start_gateway(&mut self) -> Result<(), StackError> {
		let ports = self.options.ports;
		let mut args = vec![
			"gateway".into(),
			"--listen".into(),
			format!("127.0.0.1:{}", ports.gateway),
			"--node".into(),
			ports.member.node_url(),
			"--ipfs".into(),
			ports.member.ipfs_url(),
			"--poll-ms".into(),
			"300".into(),
		];
		if let Some(seed) = &self.options.demand_seed {
			args.extend(["--demand-seed".into(), seed.clone()]);
		}
		args.extend(self.options.gateway_flags.iter().cloned());
		let mut gateway = Process::spawn(
			"gateway",
			&self.options.membria,
			&args,
			&self.options.dir.join("logs"),
		)?;
		gateway.wait_ready(Duration::from_secs(120), || {
			http_status(local_addr(ports.gateway), "/health") == Some(200)
		})?;
		self.gateway = Some(gateway);
		Ok(())
	}

	/// Stops the gateway.
	pub fn stop_gateway(&mut self) {
		if let Some(mut gateway) = self.gateway.take() {
			gateway.stop();
		}
	}

	/// Every process, in start order, with the URL it serves.
	pub fn services(&mut self) -> Vec<(&mut Process, String)> {
		let ports = self.options.ports;
		let mut out = vec![
			(&mut self.ipfs, ports.member.ipfs_url()),
			(&mut self.distiller, ports.member.distiller_url()),
			(&mut self.node, ports.member.node_url()),
		];
		if let Some(gateway) = self.gateway.as_mut() {
			out.push((gateway, ports.gateway_url()));
		}
		out
	}

	/// Stops every process, the gateway first and IPFS last, each asked to stop (SIGINT) and
	/// given `grace` to close its databases before it is killed.
	pub fn shutdown(&mut self, grace: Duration) {
		if let Some(gateway) = self.gateway.as_mut() {
			gateway.stop_within(grace);
		}
		self.node.stop_within(grace);
		self.distiller.stop_within(grace);
		self.ipfs.stop_within(grace);
	}
}

/// A member of the local network: the well-known validators of `--chain local`, and Dave, who
/// joins by staking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member {
	Alice,
	Bob,
	Charlie,
	Dave,
}

impl Member {
	pub const ALL: [Member; 4] = [Member::Alice, Member::Bob, Member::Charlie, Member::Dave];

	pub fn name(self) -> &'static str {
		match self {
			Member::Alice => "alice",
			Member::Bob => "bob",
			Member::Charlie => "charlie",
			Member::Dave => "dave",
		}
	}

	fn index(self) -> u8 {
		self as u8
	}

	/// A fixed network key, so Alice's peer id (the bootnode) is known in advance.
	fn node_key(self) -> String {
		format!("{:064x}", self.index() + 1)
	}

	/// The node flags that make it this member: the genesis validators get their well-known
	/// keys (`--alice`…); Dave starts as a plain validator node with an empty keystore.
	fn identity_flags(self) -> Vec<String> {
		match self {
			Member::Dave => vec!["--validator".into(), "--name".into(), "Dave".into()],
			other => vec![format!("--{}", other.name())],
		}
	}
}

/// Alice's libp2p peer id for the network key `…01`.
const ALICE_PEER_ID: &str = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp";

/// Where one chain member's services listen: its IPFS node, its distiller, its chain node.
#[derive(Clone, Copy, Debug)]
pub struct MemberPorts {
	pub ipfs: u16,
	pub distiller: u16,
	pub rpc: u16,
	pub p2p: u16,
	/// The node's Prometheus metrics (`http://127.0.0.1:PORT/metrics`).
	pub prometheus: u16,
}

impl MemberPorts {
	pub fn free() -> Result<Self, StackError> {
		Ok(Self {
			ipfs: free_port()?,
			distiller: free_port()?,
			rpc: free_port()?,
			p2p: free_port()?,
			prometheus: free_port()?,
		})
	}

	/// The defaults of `membria net`: member `i` on 5001+i, 8090+i, 9944+i, 30333+i, and its
	/// node's metrics on 9615+i.
	pub fn numbered(member: Member) -> Self {
		let i = u16::from(member.index());
		Self {
			ipfs: 5001 + i,
			distiller: 8090 + i,
			rpc: 9944 + i,
			p2p: 30333 + i,
			prometheus: 9615 + i,
		}
	}

	pub fn node_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc)
	}

	pub fn ipfs_url(&self) -> String {
		format!("http://127.0.0.1:{}", self.ipfs)
	}

	pub fn distiller_url(&self) -> String {
		format!("http://127.0.0.1:{}", self.distiller)
	}

	/// Fails with the first port something already listens on.
	pub fn check_free(&self) -> Result<(), StackError> {
		for (port, what) in [
			(self.ipfs, "IPFS API"),
			(self.distiller, "distiller"),
			(self.rpc, "node RPC"),
			(self.p2p, "node p2p"),
			(self.prometheus, "node metrics"),
		] {
			check_port_free(port, what)?;
		}
		Ok(())
	}
}

/// One member's processes: its IPFS node, its distiller, its chain node.
pub struct Site {
	pub member: Member,
	pub ports: MemberPorts,
	pub ipfs: Process,
	pub distiller: Process,
	pub node: Option<Process>,
	node_args: Vec<String>,
	logs: PathBuf,
	program: PathBuf,
}

impl Site {
	/// Starts the member's node (again, after [`Site::stop_node`]): the same chain data, so it
	/// catches up.
	pub fn start_node(&mut self) -> Result<(), StackError> {
		if self.node.is_some() {
			return Ok(());
		}
		let mut node = Process::spawn(
			&format!("{}-node", self.member.name()),
			&self.program,
			&self.node_args,
			&self.logs,
		)?;
		let rpc = local_addr(self.ports.rpc);
		node.wait_ready(Duration::from_secs(120), || rpc_ready(rpc))?;
		self.node = Some(node);
		Ok(())
	}

	/// Stops the member's node (SIGINT, then kill after 30 s).
	pub fn stop_node(&mut self) {
		if let Some(mut node) = self.node.take() {
			node.stop_within(Duration::from_secs(30));
		}
	}
}

/// What `NetStack::start` runs.
#[derive(Clone, Debug)]
pub struct NetOptions {
	pub dir: PathBuf,
	pub members: Vec<(Member, MemberPorts)>,
	pub membria: PathBuf,
	pub node: PathBuf,
	/// A gateway on the first member's node, at this port.
	pub gateway: Option<u16>,
}

/// A local network: every member with its own IPFS node (peered with the others), distiller and
/// chain node, on 127.0.0.1; `--chain local`.
pub struct NetStack {
	pub chain_spec: PathBuf,
	pub sites: Vec<Site>,
	pub gateway: Option<Process>,
}

impl NetStack {
	pub fn start(options: NetOptions) -> Result<Self, StackError> {
		let logs = options.dir.join("logs");
		std::fs::create_dir_all(&logs)?;
		let chain_spec = options.dir.join("chain-spec.json");
		write_chain_spec(&options.node, "local", &chain_spec)?;
		let first = options.members.first().map(|(_, ports)| ports.p2p);
		let mut sites = Vec::new();
		for (member, ports) in &options.members {
			let dir = options.dir.join(member.name());
			let peers: Vec<String> = options
				.members
				.iter()
				.filter(|(other, _)| other != member)
				.map(|(_, other)| other.ipfs_url())
				.collect();
			let name = member.name();
			let ipfs = spawn_ipfs(
				&format!("{name}-ipfs"),
				&options.membria,
				ports.ipfs,
				&dir.join("ipfs"),
				&peers,
				&logs,
			)?;
			let distiller = spawn_distiller(
				&format!("{name}-distiller"),
				&options.membria,
				ports.distiller,
				options.gateway.map(|port| format!("http://127.0.0.1:{port}")),
				&logs,
			)?;
			let mut node_args = vec![
				"--chain".into(),
				options.dir.join("chain-spec.json").display().to_string(),
				"--node-key".into(),
				member.node_key(),
			];
			node_args.extend(local_node_flags(&dir.join("node"), ports));
			node_args.extend(offchain_service_flags(&ports.ipfs_url(), &ports.distiller_url()));
			node_args.extend(member.identity_flags());
			if let Some(first) = first.filter(|p| *p != ports.p2p) {
				node_args.extend([
					"--bootnodes".into(),
					format!("/ip4/127.0.0.1/tcp/{first}/p2p/{ALICE_PEER_ID}"),
				]);
			}
			sites.push(Site {
				member: *member,
				ports: *ports,
				ipfs,
				distiller,
				node: None,
				node_args,
				logs: logs.clone(),
				program: options.node.clone(),
			});
		}
		for site in &mut sites {
			let ipfs = local_addr(site.ports.ipfs);
			site.ipfs.wait_ready(Duration::from_secs(60), || listening(ipfs))?;
			let distiller = local_addr(site.ports.distiller);
			site.distiller.wait_ready(Duration::from_secs(120), || {
				http_status(distiller, "/health") == Some(200)
			})?;
			site.start_node()?;
		}
		let gateway = match (options.gateway, sites.first()) {
			(Some(port), Some(first)) => {
				let mut gateway = Process::spawn(
					"gateway",
					&options.membria,
					&[
						"gateway".into(),
						"--listen".into(),
						format!("127.0.0.1:{port}"),
						"--node".into(),
						first.ports.node_url(),
						"--ipfs".into(),
						first.ports.ipfs_url(),
						"--demand-seed".into(),
						"//Ferdie".into(),
					],
					&logs,
				)?;
				gateway.wait_ready(Duration::from_secs(120), || {
					http_status(local_addr(port), "/health") == Some(200)
				})?;
				Some(gateway)
			},
			_ => None,
		};
		Ok(Self { chain_spec, sites, gateway })
	}

	pub fn site(&mut self, member: Member) -> Option<&mut Site> {
		self.sites.iter_mut().find(|s| s.member == member)
	}

	/// Stops everything: the gateway, then each member's node, distiller and IPFS.
	pub fn shutdown(&mut self, grace: Duration) {
		if let Some(gateway) = self.gateway.as_mut() {
			gateway.stop_within(grace);
		}
		for site in &mut self.sites {
			if let Some(node) = site.node.as_mut() {
				node.stop_within(grace);
			}
			site.distiller.stop_within(grace);
			site.ipfs.stop_within(grace);
		}
	}
}
