//! `membria up`: the dev stack in the foreground, one status line per service, a clean stop on
//! Ctrl-C.

use std::{
	path::PathBuf,
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc,
	},
	time::Duration,
};

use anyhow::Context;
use membria_cli::stack::{
	check_port_free, node_binary, DevStack, Member, MemberPorts, NetOptions, NetStack, Ports,
	Process, StackOptions,
};

/// How long each service gets to stop after Ctrl-C before it is killed.
const GRACE: Duration = Duration::from_secs(30);

pub async fn run(
	dir: PathBuf,
	ports: Ports,
	demand_seed: String,
	node_args: Vec<String>,
) -> anyhow::Result<()> {
	ports.check_free()?;
	let node = node_binary()?;
	let membria = std::env::current_exe().context("the membria executable")?;
	let interrupted = on_interrupt();
	println!("membria up: data in {}, logs in {}", dir.display(), dir.join("logs").display());
	let options = StackOptions {
		dir: dir.clone(),
		ports,
		membria,
		node,
		demand_seed: Some(demand_seed.clone()),
		gateway: true,
		offchain_services: true,
		node_flags: node_args,
		gateway_flags: Vec::new(),
	};
	let mut stack = tokio::task::spawn_blocking(move || DevStack::start(options))
		.await
		.context("starting the stack")??;
	for (process, url) in stack.services() {
		println!(
			"  {:<10} ready  {:<24} pid {:<8} log {}",
			process.name(),
			url,
			process.pid(),
			process.log().display()
		);
	}
	println!("  trust root (raw dev chain spec): {}", stack.chain_spec.display());
	println!(
		"  metrics    http://127.0.0.1:{}/metrics (node), and /metrics on the gateway, the distiller and IPFS",
		ports.member.prometheus
	);
	println!("  the dev chain: Alice validates and runs the DoD agent; the gateway files demand as {demand_seed}");
	println!("ready. try: membria ask --request \"What is Ethernet?\"   (Ctrl-C stops everything)");

	let failed =
		watch(&interrupted, || first_exited(stack.services().into_iter().map(|(p, _)| p))).await;
	println!("stopping…");
	tokio::task::spawn_blocking(move || {
		stack.shutdown(GRACE);
		stack
	})
	.await
	.context("stopping the stack")?;
	if let Some((name, log)) = failed {
		anyhow::bail!("{name} exited on its own (see {}); stopped the rest", log.display());
	}
	println!("stopped; `membria up` continues the same chain and IPFS store");
	Ok(())
}

/// A flag set by Ctrl-C or SIGTERM: either stops every service the stack started (a `kill` of
/// `membria up` alone used to leave them running, holding their ports).
fn on_interrupt() -> Arc<AtomicBool> {
	let interrupted = Arc::new(AtomicBool::new(false));
	let flag = interrupted.clone();
	tokio::spawn(async move {
		crate::stop_requested().await;
		flag.store(true, Ordering::SeqCst);
	});
	interrupted
}

/// The first of `processes` that is no longer running: its name and log.
fn first_exited<'a>(
	processes: impl IntoIterator<Item = &'a mut Process>,
) -> Option<(String, PathBuf)> {
	processes
		.into_iter()
		.find_map(|p| (!p.is_running()).then(|| (p.name().to_string(), p.log().to_path_buf())))
}

/// Waits for Ctrl-C, or for `exited` to name a service that stopped on its own (returned).
async fn watch(
	interrupted: &AtomicBool,
	mut exited: impl FnMut() -> Option<(String, PathBuf)>,
) -> Option<(String, PathBuf)> {
	while !interrupted.load(Ordering::SeqCst) {
		tokio::time::sleep(Duration::from_millis(500)).await;
		if let Some(failed) = exited() {
			// A Ctrl-C reaches the services too: their exit then is the stop, not a failure.
			tokio::time::sleep(Duration::from_millis(500)).await;
			return (!interrupted.load(Ordering::SeqCst)).then_some(failed);
		}
	}
	None
}

/// `membria net`: Alice, Bob and Charlie (and Dave's node, not yet a validator, with
/// `with_dave`), each with its own IPFS node and distiller, on `--chain local`.
pub async fn run_net(dir: PathBuf, with_dave: bool, gateway_port: u16) -> anyhow::Result<()> {
	let members: Vec<(Member, MemberPorts)> = Member::ALL
		.into_iter()
		.filter(|m| with_dave || *m != Member::Dave)
		.map(|m| (m, MemberPorts::numbered(m)))
		.collect();
	for (member, ports) in &members {
		ports.check_free().with_context(|| format!("{}'s ports", member.name()))?;
	}
	check_port_free(gateway_port, "gateway")?;
	let options = NetOptions {
		dir: dir.clone(),
		members,
		membria: std::env::current_exe().context("the membria executable")?,
		node: node_binary()?,
		gateway: Some(gateway_port),
	};
	let interrupted = on_interrupt();
	println!("membria net: data in {}, logs in {}", dir.display(), dir.join("logs").display());
	let mut net = tokio::task::spawn_blocking(move || NetStack::start(options))
		.await
		.context("starting the network")??;
	for site in &net.sites {
		println!(
			"  {:<8} node {:<22} IPFS {:<22} distiller {}",
			site.member.name(),
			site.ports.node_url(),
			site.ports.ipfs_url(),
			site.ports.distiller_url()
		);
	}
	println!("  gateway  http://127.0.0.1:{gateway_port} (on Alice's node)");
	println!("  trust root (raw local chain spec): {}", net.chain_spec.display());
	if with_dave {
		println!(
			"ready. make Dave a validator: node tests/scripts/join-validator.mjs --node {} --seed //Dave --bond 20000",
			MemberPorts::numbered(Member::Dave).node_url()
		);
	} else {
		println!("ready. (Ctrl-C stops everything)");
	}
	let failed = watch(&interrupted, || {
		let mut processes: Vec<&mut Process> = Vec::new();
		for site in net.sites.iter_mut() {
			processes.push(&mut site.ipfs);
			processes.push(&mut site.distiller);
			if let Some(node) = site.node.as_mut() {
				processes.push(node);
			}
		}
		if let Some(gateway) = net.gateway.as_mut() {
			processes.push(gateway);
		}
		first_exited(processes)
	})
	.await;
	println!("stopping…");
	tokio::task::spawn_blocking(move || {
		net.shutdown(GRACE);
		net
	})
	.await
	.context("stopping the network")?;
	if let Some((name, log)) = failed {
		anyhow::bail!("{name} exited on its own (see {}); stopped the rest", log.display());
	}
	println!("stopped; `membria net` continues the same chain");
	Ok(())
}
