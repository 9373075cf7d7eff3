//! `membria up` as a user runs it: it refuses a taken port and a missing node binary before
//! starting anything; it starts the dev stack with one status line per service; a first `membria
//! ask --request` against it files demand; Ctrl-C stops every service; the next `up` continues
//! the same chain.

mod common;

use std::{
	net::TcpListener,
	path::Path,
	process::{Child, Command, Stdio},
	sync::mpsc,
	time::{Duration, Instant},
};

use common::membria;
use membria_cli::stack::free_port;

struct Ports([u16; 6]);

impl Ports {
	fn args(&self) -> Vec<String> {
		let names = [
			"--ipfs-port",
			"--distiller-port",
			"--rpc-port",
			"--p2p-port",
			"--gateway-port",
			"--prometheus-port",
		];
		names
			.iter()
			.zip(self.0)
			.flat_map(|(name, port)| [name.to_string(), port.to_string()])
			.collect()
	}
}

/// `membria up` in its own process group (as a terminal would run it), its stdout lines sent
/// to a channel.
fn up(dir: &Path, ports: &Ports) -> (Child, mpsc::Receiver<String>) {
	let mut args = vec!["up".to_string(), "--data-dir".into(), dir.display().to_string()];
	args.extend(ports.args());
	let args: Vec<&str> = args.iter().map(String::as_str).collect();
	common::spawn_group(&args, Stdio::null(), false)
}

/// The lines up to one containing `marker`.
fn read_until(lines: &mpsc::Receiver<String>, marker: &str, timeout: Duration) -> Vec<String> {
	let deadline = Instant::now() + timeout;
	let mut seen = Vec::new();
	loop {
		let left = deadline.saturating_duration_since(Instant::now());
		match lines.recv_timeout(left) {
			Ok(line) => {
				let done = line.contains(marker);
				seen.push(line);
				if done {
					return seen;
				}
			},
			Err(_) => panic!("no {marker:?} within {timeout:?}; saw {seen:#?}"),
		}
	}
}

/// Ctrl-C to the whole group, as a terminal sends it; the exit status.
fn interrupt(child: &mut Child) -> std::process::ExitStatus {
	let group = format!("-{}", child.id());
	Command::new("kill").args(["-INT", "--", &group]).status().expect("kill runs");
	child.wait().expect("membria up exits")
}

/// The pid on each service's status line.
fn service_pids(seen: &[String]) -> Vec<String> {
	["ipfs", "distiller", "node", "gateway"]
		.iter()
		.map(|name| {
			let line = seen
				.iter()
				.find(|l| l.trim_start().starts_with(name) && l.contains(" ready "))
				.unwrap_or_else(|| panic!("a status line for {name}: {seen:#?}"));
			line.split("pid ")
				.nth(1)
				.unwrap()
				.split_whitespace()
				.next()
				.unwrap()
				.to_string()
		})
		.collect()
}

fn running(pid: &str) -> bool {
	Path::new(&format!("/proc/{pid}")).exists()
		&& !std::fs::read_to_string(format!("/proc/{pid}/stat"))
			.map(|stat| stat.contains(") Z "))
			.unwrap_or(false)
}

fn best_block(log: &Path) -> u32 {
	let text = std::fs::read_to_string(log).unwrap_or_default();
	text.lines()
		.filter_map(|line| line.split("best: #").nth(1))
		.filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
		.max()
		.unwrap_or(0)
}

#[test]
fn membria_up_starts_answers_stops_and_continues() {
	let dir = tempfile::tempdir().unwrap();
	let ports = Ports([(); 6].map(|_| free_port().unwrap()));

	// A taken port: refused before anything starts.
	let taken = TcpListener::bind(("127.0.0.1", ports.0[2])).unwrap();
	let output = Command::new(membria())
		.arg("up")
		.arg("--data-dir")
		.arg(dir.path())
		.args(ports.args())
		.output()
		.unwrap();
	assert_eq!(output.status.code(), Some(1));
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(stderr.contains(&format!("port {} (node RPC) is taken", ports.0[2])), "{stderr}");
	drop(taken);
	// A missing node binary: named.
	let output = Command::new(membria())
		.arg("up")
		.arg("--data-dir")
		.arg(dir.path())
		.args(ports.args())
		.env("MEMBRIA_NODE", "/nonexistent/membria-node")
		.output()
		.unwrap();
	assert_eq!(output.status.code(), Some(1));
	assert!(
		String::from_utf8_lossy(&output.stderr).contains("membria-node is missing"),
		"{}",
		String::from_utf8_lossy(&output.stderr)
	);
	assert!(!dir.path().join("node").exists(), "nothing was started");

	// Up: a status line per service, then ready.
	let (mut child, lines) = up(dir.path(), &ports);
	let seen = read_until(&lines, "ready.", Duration::from_secs(180));
	let pids = service_pids(&seen);
	assert!(pids.iter().all(|pid| running(pid)));

	// Every service exposes Prometheus metrics: the node (no longer turned off), the gateway,
	// the distiller and the IPFS node, each with request latency histograms of its own.
	let metrics = |port: u16| -> String {
		let url = format!("http://127.0.0.1:{port}/metrics");
		let response = reqwest::blocking::get(&url).unwrap_or_else(|e| panic!("{url}: {e}"));
		assert_eq!(response.status(), 200, "{url}");
		response.text().unwrap()
	};
	assert!(metrics(ports.0[5]).contains("substrate_block_height"), "the node's metrics");
	// (A histogram shows once a request was timed: one for IPFS, which nobody has asked yet.)
	let version = format!("http://127.0.0.1:{}/api/v0/version", ports.0[0]);
	assert!(reqwest::blocking::Client::new()
		.post(&version)
		.send()
		.unwrap()
		.status()
		.is_success());
	for (port, service) in
		[(ports.0[4], "gateway"), (ports.0[1], "distiller"), (ports.0[0], "ipfs")]
	{
		let text = metrics(port);
		assert!(
			text.contains(&format!("membria_{service}_http_request_duration_seconds_bucket")),
			"{service}: {text}"
		);
	}
	assert!(
		seen.iter().any(|l| l.contains(&format!("127.0.0.1:{}/metrics", ports.0[5]))),
		"{seen:#?}"
	);

	// A first ask against it: a miss that files demand.
	let output = Command::new(membria())
		.args(["ask", "--request", "What is Ethernet?", "--data-dir"])
		.arg(dir.path())
		.args(["--gateway", &format!("http://127.0.0.1:{}", ports.0[4])])
		.output()
		.unwrap();
	let stdout = String::from_utf8_lossy(&output.stdout);
	assert_eq!(output.status.code(), Some(3), "{stdout}");
	assert!(stdout.contains("demand filed on chain"), "{stdout}");
	let log = dir.path().join("logs/node.log");
	let deadline = Instant::now() + Duration::from_secs(60);
	while best_block(&log) < 2 {
		assert!(Instant::now() < deadline, "the dev chain makes no blocks");
		std::thread::sleep(Duration::from_millis(500));
	}

	// Ctrl-C: a clean stop, nothing left running.
	let status = interrupt(&mut child);
	assert!(status.success(), "{status:?}");
	let rest = read_until(&lines, "stopped", Duration::from_secs(5));
	assert!(rest.iter().any(|l| l.contains("continues the same chain")), "{rest:#?}");
	for pid in &pids {
		assert!(!running(pid), "process {pid} outlived membria up");
	}
	let before = best_block(&log);

	// Up again: the same chain goes on.
	let (mut child, lines) = up(dir.path(), &ports);
	let seen = read_until(&lines, "ready.", Duration::from_secs(180));
	let pids = service_pids(&seen);
	let deadline = Instant::now() + Duration::from_secs(60);
	while best_block(&log) <= before {
		assert!(Instant::now() < deadline, "the chain did not continue from #{before}");
		std::thread::sleep(Duration::from_millis(500));
	}
	// SIGTERM to `membria up` alone, as a service manager stops it: every service stops too.
	Command::new("kill")
		.args(["-TERM", &child.id().to_string()])
		.status()
		.expect("kill runs");
	let status = child.wait().expect("membria up exits");
	assert!(status.success(), "{status:?}");
	let rest = read_until(&lines, "stopped", Duration::from_secs(5));
	assert!(rest.iter().any(|l| l.contains("continues the same chain")), "{rest:#?}");
	for pid in &pids {
		assert!(!running(pid), "process {pid} outlived membria up");
	}
}
