//! The local network (`membria net`): a site per member — its IPFS node (peered with the
//! others'), distiller and chain node — on `--chain local`, and a gateway.

use std::{path::PathBuf, time::Duration};

use super::{
	check_port_free, free_port, gateway_args, http_status, listening, local_addr, local_node_flags,
	offchain_service_flags, spawn_distiller, spawn_ipfs, write_chain_spec, Process, StackError,
};

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
		node.wait_node_rpc(self.ports.rpc, Duration::from_secs(120))?;
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
						gateway_args(port, &first.ports),
						vec!["--demand-seed".into(), "//Ferdie".into()],
					]
					.concat(),
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
