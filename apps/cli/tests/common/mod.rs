//! Helpers the end-to-end tests share: running the `membria` binary, and waiting for a condition.

#![allow(dead_code)]

use std::{
	io::{BufRead, BufReader},
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	sync::mpsc,
	time::{Duration, Instant},
};

/// The crate's directory as cargo gives it to the running test (the compile-time
/// `CARGO_MANIFEST_DIR` may be another checkout's when checkouts share a target dir).
pub fn manifest_dir() -> PathBuf {
	std::env::var_os("CARGO_MANIFEST_DIR")
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The `membria` binary users type: the front (`apps/front`), which answers a served `ask`
/// and hands everything else to the full CLI beside it. Built with the workspace
/// (`cargo build --release --workspace`, before the tests in `scripts/test.sh`).
pub fn membria() -> PathBuf {
	let front = PathBuf::from(env!("CARGO_BIN_EXE_membria-full")).with_file_name("membria");
	assert!(front.exists(), "the membria front at {}: build the apps workspace", front.display());
	front
}

/// What a `membria` run printed, and its exit code.
pub struct Run {
	pub code: i32,
	pub stdout: String,
	pub stderr: String,
}

/// Runs `membria args…` (warnings only in its log); the output is echoed when it fails.
pub fn run_membria(args: &[&str]) -> Run {
	let output = Command::new(membria())
		.args(args)
		.env("RUST_LOG", "warn")
		.output()
		.expect("membria runs");
	let run = Run {
		code: output.status.code().unwrap_or(-1),
		stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
		stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
	};
	if run.code != 0 {
		eprintln!("membria {args:?} → {}\n{}\n{}", run.code, run.stdout, run.stderr);
	}
	run
}

/// Polls `probe` every half second until it gives a value; fails the test after `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
	let start = Instant::now();
	loop {
		if let Some(value) = probe() {
			return value;
		}
		assert!(start.elapsed() < timeout, "timed out waiting for {what}");
		std::thread::sleep(Duration::from_millis(500));
	}
}

/// `membria args…` as a terminal runs it: in its own process group (so Ctrl-C, `kill -INT
/// -<pid>`, reaches every process it starts), with the node binary under test, its stderr to
/// `stderr`; its stdout lines are sent to the receiver (echoed when `echo`).
pub fn spawn_group(args: &[&str], stderr: Stdio, echo: bool) -> (Child, mpsc::Receiver<String>) {
	use std::os::unix::process::CommandExt;
	let mut child = Command::new(membria())
		.args(args)
		.env("MEMBRIA_NODE", membria_cli::stack::node_binary().expect("the node binary"))
		.stdout(Stdio::piped())
		.stderr(stderr)
		.process_group(0)
		.spawn()
		.expect("membria starts");
	let stdout = child.stdout.take().expect("piped stdout");
	let (lines, receiver) = mpsc::channel();
	std::thread::spawn(move || {
		for line in BufReader::new(stdout).lines().map_while(Result::ok) {
			if echo {
				println!("  | {line}");
			}
			if lines.send(line).is_err() {
				return;
			}
		}
	});
	(child, receiver)
}

/// A child process stopped (its whole group interrupted, as Ctrl-C does) when dropped.
pub struct Running(pub Child);

impl Drop for Running {
	fn drop(&mut self) {
		let group = format!("-{}", self.0.id());
		let _ = Command::new("kill").args(["-INT", "--", &group]).status();
		let deadline = Instant::now() + Duration::from_secs(30);
		while Instant::now() < deadline {
			if let Ok(Some(_)) = self.0.try_wait() {
				return;
			}
			std::thread::sleep(Duration::from_millis(200));
		}
		let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
		let _ = self.0.wait();
	}
}

/// `membria args…` in its own process group, its stdout lines (echoed) sent to a channel.
pub fn start(args: &[&str], log: &Path) -> (Running, mpsc::Receiver<String>) {
	let (child, lines) =
		spawn_group(args, std::fs::File::create(log).expect("a log file").into(), true);
	(Running(child), lines)
}

pub fn wait_line(lines: &mpsc::Receiver<String>, marker: &str, timeout: Duration) {
	let deadline = Instant::now() + timeout;
	loop {
		let left = deadline.saturating_duration_since(Instant::now());
		match lines.recv_timeout(left) {
			Ok(line) if line.contains(marker) => return,
			Ok(_) => {},
			Err(_) => panic!("no {marker:?} within {timeout:?}"),
		}
	}
}
