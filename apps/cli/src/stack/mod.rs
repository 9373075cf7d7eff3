//! Starting Membria's processes on one machine — the dev node, the embedded IPFS node, the
//! distiller and the gateway — on 127.0.0.1, each with its log file, health-checked, and stopped
//! when dropped. The end-to-end tests and the benchmarks run the real stack with it.
//!
//! - [`dev`]: the dev stack `membria up` runs (one node, its services, the gateway);
//! - [`network`]: the local network `membria net` runs (a site per member, a gateway);
//! - what both start here; a process, its log and the readiness probes come from
//!   `membria-launch`, which the node's end-to-end tests share.

use std::{
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Command, Stdio},
};

pub use membria_launch::{http_status, listening, local_addr, rpc_ready, LaunchError, Process};

mod dev;
mod network;

pub use dev::{DevStack, Ports, StackOptions};
pub use network::{Member, MemberPorts, NetOptions, NetStack, Site};

/// Why the stack could not start.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
	#[error("{what} is missing at {path}: {hint}")]
	Missing { what: &'static str, path: PathBuf, hint: &'static str },
	#[error(transparent)]
	Launch(#[from] LaunchError),
	#[error("{0}")]
	Io(#[from] std::io::Error),
	#[error("membria-node build-spec: {0}")]
	ChainSpec(String),
	#[error("port {port} ({what}) is taken: stop what listens there, or choose another port")]
	PortTaken { port: u16, what: &'static str },
}

/// A port nobody listens on now.
pub fn free_port() -> Result<u16, StackError> {
	Ok(membria_launch::free_port()?)
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
pub(crate) fn spawn_ipfs(
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
	Ok(Process::spawn(name, membria, &args, logs)?)
}

/// Starts the corpus distiller (`membria distiller`) on `port`, proposing links to the entries
/// `gateway` (its URL) serves, if any.
pub(crate) fn spawn_distiller(
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
	Ok(Process::spawn(name, membria, &args, logs)?)
}

/// The flags of every node a stack starts: its data under `base`, its RPC and p2p ports, nothing
/// announced beyond this machine, and a justification stored for every finalized block (devices
/// and gateways prove against justified blocks, so a fresh one must exist at all times).
pub(crate) fn local_node_flags(base: &Path, ports: &MemberPorts) -> Vec<String> {
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

/// `membria gateway` listening on `port`, reading the chain and IPFS of the member at `member`:
/// the arguments every stack starts its gateway with (each adds its own after them).
pub(crate) fn gateway_args(port: u16, member: &MemberPorts) -> Vec<String> {
	vec![
		"gateway".into(),
		"--listen".into(),
		format!("127.0.0.1:{port}"),
		"--node".into(),
		member.node_url(),
		"--ipfs".into(),
		member.ipfs_url(),
	]
}

/// The flags that point a node's off-chain workers at its IPFS node and distiller.
pub(crate) fn offchain_service_flags(ipfs_url: &str, distiller_url: &str) -> [String; 4] {
	["--ipfs-api".into(), ipfs_url.into(), "--distiller".into(), distiller_url.into()]
}

/// Fails if something already listens on `port` (`what` names the service meant to).
pub fn check_port_free(port: u16, what: &'static str) -> Result<(), StackError> {
	match TcpListener::bind(local_addr(port)) {
		Ok(_) => Ok(()),
		Err(_) => Err(StackError::PortTaken { port, what }),
	}
}
