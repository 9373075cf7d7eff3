//! The dev stack (`membria up`): IPFS, the distiller, a dev node with its off-chain workers
//! pointed at both, and the gateway.

use std::{
	path::{Path, PathBuf},
	time::Duration,
};

use super::{
	check_port_free, free_port, gateway_args, http_status, listening, local_addr, local_node_flags,
	node_binary, offchain_service_flags, spawn_distiller, spawn_ipfs, write_dev_chain_spec,
	MemberPorts, Process, StackError,
};

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
		node.wait_node_rpc(ports.rpc, minute)?;
		let mut stack = Self { chain_spec, ipfs, distiller, node, gateway: None, options };
		if stack.options.gateway {
			stack.start_gateway()?;
		}
		Ok(stack)
	}

	/// Starts the gateway (again) and waits until it has a justified block to prove against.
	pub fn start_gateway(&mut self) -> Result<(), StackError> {
		let ports = self.options.ports;
		let mut args = gateway_args(ports.gateway, &ports.member);
		args.extend(["--poll-ms".into(), "300".into()]);
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
