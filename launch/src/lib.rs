//! Starting Membria's processes on one machine, for what launches them — `membria up`/`net`,
//! the end-to-end tests of both workspaces and the benchmarks: a child process with its log
//! file, stopped the way Ctrl-C stops it and killed when dropped; readiness probes (a port that
//! accepts, an HTTP status, a node's JSON-RPC); free ports; scratch directories. Std only.

use std::{
	io::{Read, Write},
	net::{SocketAddr, TcpListener, TcpStream},
	path::{Path, PathBuf},
	process::{Child, Command, ExitStatus, Stdio},
	sync::atomic::{AtomicU16, Ordering},
	time::{Duration, Instant},
};

/// Why a process could not be started or did not become ready.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
	#[error("starting {name}: {source}")]
	Spawn { name: String, source: std::io::Error },
	#[error("{name} exited before it was ready (see {log})")]
	Exited { name: String, log: PathBuf },
	#[error("{name} was not ready within {seconds} s (see {log})")]
	NotReady { name: String, seconds: u64, log: PathBuf },
	#[error(
		"{name}'s RPC port {asked} was taken as it started, so it listens on {got} instead: stop \
		 what listens on {asked}, or choose another port"
	)]
	RpcPortTaken { name: String, asked: u16, got: u16 },
	#[error("{0}")]
	Io(#[from] std::io::Error),
}

/// A child process with its log, killed when dropped.
pub struct Process {
	name: String,
	child: Child,
	log: PathBuf,
	/// Where this run's output starts in the log (a restart appends to the same file).
	log_start: u64,
}

impl Process {
	/// Starts `program args…` with stdout and stderr appended to `logs/<name>.log`.
	pub fn spawn<S: AsRef<std::ffi::OsStr>>(
		name: &str,
		program: &Path,
		args: &[S],
		logs: &Path,
	) -> Result<Self, LaunchError> {
		std::fs::create_dir_all(logs)?;
		let log = logs.join(format!("{name}.log"));
		Self::spawn_command(name, Command::new(program).args(args), log)
	}

	/// Starts `command` (its program, arguments and environment as the caller set them) with
	/// stdout and stderr appended to the file `log`.
	pub fn spawn_command(
		name: &str,
		command: &mut Command,
		log: PathBuf,
	) -> Result<Self, LaunchError> {
		let file = std::fs::OpenOptions::new().create(true).append(true).open(&log)?;
		let log_start = file.metadata()?.len();
		let program = command.get_program().to_string_lossy().into_owned();
		let child = command
			.stdin(Stdio::null())
			.stdout(file.try_clone()?)
			.stderr(file)
			.spawn()
			.map_err(|source| LaunchError::Spawn { name: format!("{name} ({program})"), source })?;
		Ok(Self { name: name.to_string(), child, log, log_start })
	}

	pub fn name(&self) -> &str {
		&self.name
	}

	/// The log file.
	pub fn log(&self) -> &Path {
		&self.log
	}

	/// What the process has logged so far, since it started (empty if the file cannot be read).
	pub fn log_text(&self) -> String {
		log_from(&self.log, self.log_start)
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
	) -> Result<(), LaunchError> {
		let started = Instant::now();
		loop {
			if ready() {
				return Ok(());
			}
			if !self.is_running() {
				return Err(LaunchError::Exited { name: self.name.clone(), log: self.log.clone() });
			}
			if started.elapsed() > timeout {
				return Err(LaunchError::NotReady {
					name: self.name.clone(),
					seconds: timeout.as_secs(),
					log: self.log.clone(),
				});
			}
			std::thread::sleep(Duration::from_millis(200));
		}
	}

	/// Waits until a `membria-node` answers JSON-RPC on 127.0.0.1:`port`, failing early if it
	/// exits or says it listens on another port: where the port asked for is taken, the node
	/// takes one the system chooses, and would never answer on `port`.
	pub fn wait_node_rpc(&mut self, port: u16, timeout: Duration) -> Result<(), LaunchError> {
		let (log, start) = (self.log.clone(), self.log_start);
		let mut elsewhere = None;
		self.wait_ready(timeout, || {
			elsewhere = node_rpc_port(&log_from(&log, start)).filter(|&p| p != port);
			elsewhere.is_some() || rpc_ready(local_addr(port))
		})?;
		match elsewhere {
			Some(got) => {
				Err(LaunchError::RpcPortTaken { name: self.name.clone(), asked: port, got })
			},
			None => Ok(()),
		}
	}

	/// Asks it to stop (SIGINT, as Ctrl-C), waits up to `grace`, then kills it; its exit status
	/// (`None` if it had already been reaped).
	pub fn stop_within(&mut self, grace: Duration) -> Option<ExitStatus> {
		if self.is_running() {
			let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
			let started = Instant::now();
			while self.is_running() && started.elapsed() < grace {
				std::thread::sleep(Duration::from_millis(50));
			}
		}
		self.stop()
	}

	/// Kills it (if it still runs) and reaps it: its exit status.
	pub fn stop(&mut self) -> Option<ExitStatus> {
		if self.is_running() {
			let _ = self.child.kill();
		}
		self.child.wait().ok()
	}
}

/// The file `log` from byte `start` on (empty if it cannot be read).
fn log_from(log: &Path, start: u64) -> String {
	let bytes = std::fs::read(log).unwrap_or_default();
	let start = usize::try_from(start).unwrap_or(usize::MAX).min(bytes.len());
	String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// The IPv4 port a `membria-node` says its JSON-RPC server listens on, from its log line
/// `Running JSON-RPC server: addr=127.0.0.1:9944,[::1]:9944` (once the line is written whole).
pub fn node_rpc_port(log: &str) -> Option<u16> {
	let (addrs, _) = log.split("Running JSON-RPC server: addr=").nth(1)?.split_once('\n')?;
	addrs
		.split(',')
		.find_map(|addr| addr.trim().strip_prefix("127.0.0.1:"))
		.and_then(|port| port.trim().parse().ok())
}

impl Drop for Process {
	fn drop(&mut self) {
		self.stop();
	}
}

/// Ports are handed out from a per-process range chosen from the process id, then checked free,
/// so launchers and tests running at the same time (threads, or other test binaries) do not
/// pick the same port between one's check and its bind. The ranges lie below the system's
/// ephemeral ports (`ip_local_port_range`), which the kernel gives to outgoing connections: a
/// port from there can be taken by any connection between our check and the server's bind (a
/// node then falls back to a random RPC port, and its launcher polls the wrong one).
static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

/// The lowest port handed out.
const FIRST_PORT: u16 = 10_000;
/// Above the last port handed out: 30333 and up are the p2p ports of `membria up` and `net`
/// at their defaults, which tests also run.
const END_PORT: u16 = 30_000;
/// Ports per process range.
const RANGE: u16 = 100;

/// The first ephemeral port of this system (Linux's `ip_local_port_range`; 32768, its default,
/// where that cannot be read).
fn first_ephemeral_port() -> u16 {
	std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
		.ok()
		.and_then(|text| text.split_whitespace().next()?.parse().ok())
		.unwrap_or(32_768)
}

/// A port on 127.0.0.1 nobody listens on now: from 10000 up to 30000 or the first ephemeral
/// port, whichever is lower (anywhere the system chooses if that leaves no room).
pub fn free_port() -> Result<u16, LaunchError> {
	let end = first_ephemeral_port().min(END_PORT);
	let ranges = end.saturating_sub(FIRST_PORT) / RANGE;
	if ranges > 0 {
		let _ = NEXT_PORT.compare_exchange(
			0,
			FIRST_PORT + (std::process::id() % u32::from(ranges)) as u16 * RANGE,
			Ordering::SeqCst,
			Ordering::SeqCst,
		);
		for _ in 0..u32::from(ranges) * u32::from(RANGE) {
			let port = NEXT_PORT.fetch_add(1, Ordering::SeqCst);
			if (FIRST_PORT..end).contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
				return Ok(port);
			}
			if port >= end {
				NEXT_PORT.store(FIRST_PORT, Ordering::SeqCst);
			}
		}
	}
	// Every port of the range taken: let the system choose one.
	Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The address of `port` on this machine, where every local service listens.
pub fn local_addr(port: u16) -> SocketAddr {
	SocketAddr::from(([127, 0, 0, 1], port))
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

/// Numbers scratch directories.
static NEXT_DIR: AtomicU16 = AtomicU16::new(0);

/// A unique scratch directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
	/// `<temp>/membria-test-<label>-<pid>-<n>`, empty.
	pub fn new(label: &str) -> Result<Self, LaunchError> {
		let path = std::env::temp_dir().join(format!(
			"membria-test-{label}-{}-{}",
			std::process::id(),
			NEXT_DIR.fetch_add(1, Ordering::SeqCst)
		));
		let _ = std::fs::remove_dir_all(&path);
		std::fs::create_dir_all(&path)?;
		Ok(Self(path))
	}

	pub fn path(&self) -> &Path {
		&self.0
	}
}

impl Drop for TempDir {
	fn drop(&mut self) {
		let _ = std::fs::remove_dir_all(&self.0);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn free_ports_are_free_and_distinct() {
		let ports: Vec<u16> = (0..20).map(|_| free_port().unwrap()).collect();
		let mut distinct = ports.clone();
		distinct.sort_unstable();
		distinct.dedup();
		assert_eq!(distinct.len(), ports.len());
		for port in ports {
			assert!(port < first_ephemeral_port().min(END_PORT), "{port} is out of the range");
			assert!(!listening(local_addr(port)));
			TcpListener::bind(local_addr(port)).expect("free");
		}
	}

	#[test]
	fn a_node_on_another_rpc_port_than_asked_is_refused_by_name() {
		assert_eq!(
			node_rpc_port("x\nRunning JSON-RPC server: addr=127.0.0.1:41707,[::1]:56200\ny"),
			Some(41707)
		);
		assert_eq!(node_rpc_port("Running JSON-RPC server: addr=[::1]:9944"), None);
		assert_eq!(node_rpc_port("no server yet"), None);
		// A line still being written is not read (its port may be cut short).
		assert_eq!(node_rpc_port("Running JSON-RPC server: addr=127.0.0.1:99"), None);

		// A node that was given the port asked for says so, and one that was not says where
		// it went: the second run appends to the first's log, and only its own line counts.
		let dir = TempDir::new("launch").unwrap();
		let says = |port: u16| {
			let line = format!("Running JSON-RPC server: addr=127.0.0.1:{port},[::1]:{port}");
			format!("echo '{line}'; exec sleep 30")
		};
		let asked = free_port().unwrap();
		let mut first =
			Process::spawn("node", Path::new("sh"), &["-c", &says(asked)], dir.path()).unwrap();
		first
			.wait_ready(Duration::from_secs(10), || !first_log_empty(dir.path()))
			.unwrap();
		first.stop();
		let mut second =
			Process::spawn("node", Path::new("sh"), &["-c", &says(41707)], dir.path()).unwrap();
		let error = second.wait_node_rpc(asked, Duration::from_secs(10)).unwrap_err();
		assert!(
			matches!(error, LaunchError::RpcPortTaken { asked: a, got: 41707, .. } if a == asked),
			"{error}"
		);
		assert!(error.to_string().contains(&format!("RPC port {asked} was taken")), "{error}");
		assert_eq!(second.log_text().matches("Running JSON-RPC server").count(), 1);
	}

	fn first_log_empty(dir: &Path) -> bool {
		std::fs::read_to_string(dir.join("node.log")).unwrap_or_default().is_empty()
	}

	#[test]
	fn a_process_that_exits_early_is_named_with_its_log() {
		let dir = TempDir::new("launch").unwrap();
		let mut process =
			Process::spawn("early", Path::new("sh"), &["-c", "echo bye; exit 3"], dir.path())
				.unwrap();
		let error = process.wait_ready(Duration::from_secs(10), || false).unwrap_err();
		assert!(
			matches!(error, LaunchError::Exited { ref name, .. } if name == "early"),
			"{error}"
		);
		assert_eq!(process.log_text(), "bye\n");
		assert_eq!(process.stop().and_then(|status| status.code()), Some(3));
	}

	#[test]
	fn a_process_is_stopped_as_ctrl_c_stops_it_and_readiness_is_probed() {
		let dir = TempDir::new("launch").unwrap();
		let port = free_port().unwrap();
		// A listener that says when it is interrupted and exits with its own code (7), so the
		// status shows its handler ran rather than a kill.
		let script = format!(
			"import signal, socket, sys, time\n\
			 def on_interrupt(*_):\n\
			 \x20   print('interrupted', flush=True)\n\
			 \x20   sys.exit(7)\n\
			 signal.signal(signal.SIGINT, on_interrupt)\n\
			 s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen()\n\
			 while True: time.sleep(0.05)\n"
		);
		let mut process =
			Process::spawn("listener", Path::new("python3"), &["-c", &script], dir.path()).unwrap();
		process
			.wait_ready(Duration::from_secs(20), || listening(local_addr(port)))
			.unwrap();
		assert!(process.is_running());
		let status = process.stop_within(Duration::from_secs(10)).expect("reaped");
		assert!(!process.is_running());
		assert_eq!(status.code(), Some(7), "{status:?}: {}", process.log_text());
		assert_eq!(process.log_text(), "interrupted\n");
		let error =
			Process::spawn("missing", Path::new("/nonexistent/program"), &["x"], dir.path())
				.err()
				.expect("no such program");
		assert!(matches!(error, LaunchError::Spawn { .. }), "{error}");
	}

	#[test]
	fn a_scratch_directory_is_removed_on_drop() {
		let dir = TempDir::new("launch").unwrap();
		let path = dir.path().to_path_buf();
		std::fs::write(path.join("file"), b"x").unwrap();
		drop(dir);
		assert!(!path.exists());
	}
}
