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
use membria_cli::stack::{node_binary, DevStack, Ports, StackOptions};

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
	let interrupted = Arc::new(AtomicBool::new(false));
	{
		let interrupted = interrupted.clone();
		tokio::spawn(async move {
			if tokio::signal::ctrl_c().await.is_ok() {
				interrupted.store(true, Ordering::SeqCst);
			}
		});
	}
	println!(
		"membria up: data in {}, logs in {}",
		dir.display(),
		dir.join("logs").display()
	);
	let options = StackOptions {
		dir: dir.clone(),
		ports,
		membria,
		node,
		demand_seed: Some(demand_seed.clone()),
		gateway: true,
		offchain_services: true,
		node_flags: node_args,
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
	println!(
		"  trust root (raw dev chain spec): {}",
		stack.chain_spec.display()
	);
	println!("  the dev chain: Alice validates and runs the DoD agent; the gateway files demand as {demand_seed}");
	println!("ready. try: membria ask --request \"What is Ethernet?\"   (Ctrl-C stops everything)");

	let mut failed = None;
	while !interrupted.load(Ordering::SeqCst) {
		tokio::time::sleep(Duration::from_millis(500)).await;
		for (process, _) in stack.services() {
			if !process.is_running() {
				failed = Some((process.name().to_string(), process.log().to_path_buf()));
				break;
			}
		}
		if failed.is_some() {
			// A Ctrl-C reaches the services too: their exit then is the stop, not a failure.
			tokio::time::sleep(Duration::from_millis(500)).await;
			if interrupted.load(Ordering::SeqCst) {
				failed = None;
			}
			break;
		}
	}
	println!("stopping…");
	tokio::task::spawn_blocking(move || {
		stack.shutdown(GRACE);
		stack
	})
	.await
	.context("stopping the stack")?;
	if let Some((name, log)) = failed {
		anyhow::bail!(
			"{name} exited on its own (see {}); stopped the rest",
			log.display()
		);
	}
	println!("stopped; `membria up` continues the same chain and IPFS store");
	Ok(())
}
