//! `membria net` and a device command as the README has a user type them: no ports, no flags but
//! the data directory. `build-spec` writes a bootnode of its own (a random key on 30333, where
//! Alice listens with her fixed key); the launcher drops it, else the nodes refuse the one
//! address under two peer ids and die at start. Right after "ready", a device's first question
//! is answered (a miss) rather than refused with the gateway's "catching up" 503.
//!
//! Needs the node binary (`$MEMBRIA_NODE`) and the embedding model (`scripts/setup.sh`).

mod common;

use std::{
	process::{Command, Stdio},
	time::{Duration, Instant},
};

#[test]
fn membria_net_runs_at_its_documented_defaults() {
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().join("net");
	let data_arg = data.display().to_string();
	let (mut net, receiver) =
		common::spawn_group(&["net", "--data-dir", &data_arg], Stdio::null(), false);
	let deadline = Instant::now() + Duration::from_secs(240);
	let mut seen = Vec::new();
	let ready = loop {
		match receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
			Ok(line) if line.starts_with("ready") => break true,
			Ok(line) => seen.push(line),
			Err(_) => break false,
		}
	};
	let spec = std::fs::read_to_string(data.join("chain-spec.json")).unwrap_or_default();
	let asked = ready.then(|| {
		common::run_membria(&[
			"ask",
			"What is Ethernet?",
			"--data-dir",
			&dir.path().join("device").display().to_string(),
			"--chain-spec",
			&data.join("chain-spec.json").display().to_string(),
		])
	});
	let group = format!("-{}", net.id());
	let _ = Command::new("kill").args(["-INT", "--", &group]).status();
	let stopped = net.wait().expect("membria net exits");
	assert!(ready, "membria net did not get ready; it printed {seen:#?}");
	assert!(
		seen.iter().any(|line| line.contains("alice    node ws://127.0.0.1:9944")),
		"{seen:#?}"
	);
	assert!(seen.iter().any(|line| line.contains("gateway  http://127.0.0.1:8080")), "{seen:#?}");
	let spec: serde_json::Value = serde_json::from_str(&spec).expect("the chain spec is JSON");
	assert_eq!(spec["bootNodes"], serde_json::json!([]), "the spec keeps no bootnode of its own");
	let asked = asked.unwrap();
	assert_eq!(asked.code, 3, "a miss, not a failure: {} {}", asked.stdout, asked.stderr);
	assert!(asked.stdout.contains("no verified answer"), "{}", asked.stdout);
	assert!(stopped.success(), "Ctrl-C stops it cleanly: {stopped}");
}
