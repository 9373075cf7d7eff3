//! # What `membria ask` prints
//!
//! The reply of a question to the device ([`AskReply`]), how the terminal shows it
//! ([`AskReply::print`]), and how a command finds and asks a `membria serve` running on the same
//! data directory ([`running`], [`ask_served`]). Both binaries use it: the full CLI, and the
//! `membria` front, which links no libtorch and so answers from a running serve in
//! milliseconds (it hands every other command to the full CLI).
//!
//! No libtorch, no chain types: whatever depends on this crate starts fast.

use std::{
	path::{Path, PathBuf},
	process::ExitCode,
	time::Duration,
};

use membria_offchain::body::BodyLink;
use serde::{Deserialize, Serialize};

/// One MEM in plancks (12 decimals).
pub const MEM: u128 = 1_000_000_000_000;

/// The exit status of `ask` when nothing verified answers the question.
pub const MISS_EXIT: u8 = 3;

/// The file a running `membria serve` announces itself in, in its device's data directory.
pub const ANNOUNCEMENT: &str = "serve.json";

/// Demand the gateway filed on chain for a question it had no answer to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemandFiled {
	/// Hex of the question key.
	pub question_key: String,
	/// Hash of the `Dod.request_knowledge` extrinsic, when the gateway submitted one now.
	pub extrinsic: Option<String>,
	/// Why no extrinsic was sent, when none was.
	pub note: Option<String>,
}

/// What was proven of a cached entry: the entry an answer comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedEntry {
	pub id: u64,
	/// The question as the body states it.
	pub question: String,
	/// Hex of the question key.
	pub question_key: String,
	/// The CID as Kubo prints it.
	pub cid: String,
	/// Hex of the body's blake2-256.
	pub content_hash: String,
	pub size: u32,
	/// The finalized block the entry was proven at.
	pub proven_at_number: u32,
	/// Its hash (hex).
	pub proven_at_hash: String,
	/// Approving stake recorded with the proof.
	pub approving_stake: u128,
	/// Hex of blake2-256 of the embedding file.
	pub embedding_hash: String,
	/// Its typed links to other entries, as its (checked) body lists them — the links the
	/// chain recorded with it. Read from the body whenever the cache is opened, never stored.
	#[serde(skip)]
	pub links: Vec<BodyLink>,
}

/// What `membria ask` prints: the same whether this process looked it up or a running
/// `membria serve` did (`POST /membria/v1/ask`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AskReply {
	/// The verified answer, if one matched.
	pub answer: Option<String>,
	pub entry: Option<CachedEntry>,
	pub similarity: f32,
	/// Where the answer came from.
	pub from: String,
	pub sources: Vec<String>,
	/// The entry's links, as lines.
	pub see_also: Vec<String>,
	/// Why nothing matched.
	pub miss: Option<String>,
	pub demand: Option<DemandFiled>,
	/// Whether demand was asked for (or could not be: offline).
	pub requested: bool,
}

impl AskReply {
	/// A miss, and the demand filed for it.
	pub fn miss(reason: String, demand: Option<DemandFiled>, requested: bool) -> Self {
		Self {
			answer: None,
			entry: None,
			similarity: 0.0,
			from: String::new(),
			sources: Vec::new(),
			see_also: Vec::new(),
			miss: Some(reason),
			demand,
			requested,
		}
	}

	/// The reply as the terminal shows it: what agents wrote (answers, sources, questions) may
	/// hold anything, so control characters but newlines and tabs are shown as `�` (no escape
	/// sequence of an entry reaches the terminal).
	pub fn text(&self) -> String {
		self.raw_text()
			.chars()
			.map(|c| if c.is_control() && c != '\n' && c != '\t' { '\u{fffd}' } else { c })
			.collect()
	}

	fn raw_text(&self) -> String {
		let mut lines = Vec::new();
		let (Some(answer), Some(entry)) = (&self.answer, &self.entry) else {
			lines.push(format!("no verified answer: {}", self.miss.as_deref().unwrap_or_default()));
			if let Some(demand) = &self.demand {
				match (&demand.extrinsic, &demand.note) {
					(Some(extrinsic), _) => lines.push(format!(
						"demand filed on chain for question key 0x{} (extrinsic {extrinsic}): sync again once it is answered",
						demand.question_key
					)),
					(None, Some(note)) => lines.push(format!("demand: {note}")),
					(None, None) => {},
				}
			} else if !self.requested {
				lines.push("(ask again with --request to file demand on chain)".into());
			}
			return lines.join("\n");
		};
		lines.push(answer.clone());
		lines.push(format!(
			"  entry {} · proven at block {} (0x{}) · CID {} · approved by {} MEM of stake · similarity {:.2} · {}",
			entry.id,
			entry.proven_at_number,
			entry.proven_at_hash,
			entry.cid,
			entry.approving_stake / MEM,
			self.similarity,
			self.from
		));
		lines.extend(self.sources.iter().map(|source| format!("  source: {source}")));
		lines.extend(self.see_also.iter().map(|line| format!("  {line}")));
		lines.join("\n")
	}

	/// Prints the reply as text, or as JSON; the exit status of `ask` ([`MISS_EXIT`] on a miss).
	pub fn print(&self, json: bool) -> ExitCode {
		if json {
			match serde_json::to_string(self) {
				Ok(text) => println!("{text}"),
				Err(error) => {
					eprintln!("membria: the reply is not JSON: {error}");
					return ExitCode::FAILURE;
				},
			}
		} else {
			println!("{}", self.text());
		}
		if self.answer.is_some() {
			ExitCode::SUCCESS
		} else {
			ExitCode::from(MISS_EXIT)
		}
	}
}

/// The device's data directory when none is given: `~/.local/share/membria`.
pub fn default_data_dir() -> Option<PathBuf> {
	std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share/membria"))
}

/// The file a `membria serve` on `data_dir` announces itself in.
pub fn announcement(data_dir: &Path) -> PathBuf {
	data_dir.join(ANNOUNCEMENT)
}

/// Announces a `membria serve` listening at `address` (its loopback URL when it listens on
/// every interface) in `data_dir`: a file only its user may write, created anew (never through
/// a link left in its place).
pub fn announce(data_dir: &Path, address: std::net::SocketAddr) -> std::io::Result<PathBuf> {
	use std::{io::Write, os::unix::fs::OpenOptionsExt};
	let mut address = address;
	if address.ip().is_unspecified() {
		address.set_ip(if address.is_ipv4() {
			std::net::Ipv4Addr::LOCALHOST.into()
		} else {
			std::net::Ipv6Addr::LOCALHOST.into()
		});
	}
	let path = announcement(data_dir);
	match std::fs::remove_file(&path) {
		Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
		_ => {},
	}
	let mut file = std::fs::OpenOptions::new()
		.write(true)
		.create_new(true)
		.mode(0o600)
		.open(&path)?;
	let text = serde_json::json!({"url": format!("http://{address}"), "pid": std::process::id()});
	file.write_all(text.to_string().as_bytes())?;
	Ok(path)
}

/// The URL of the `membria serve` running on `data_dir`, if one announced itself, its process
/// is alive, and both are this user's: the announcement a file of this user that no one else
/// may write, its process this user's `membria` binary, its URL on this machine's loopback.
/// Another local user cannot plant a serve that answers this user's questions.
pub fn running(data_dir: &Path) -> Option<String> {
	use std::os::unix::fs::MetadataExt;
	if data_dir.as_os_str().is_empty() {
		return None;
	}
	let me = std::fs::metadata("/proc/self").ok()?.uid();
	let path = announcement(data_dir);
	let file = std::fs::symlink_metadata(&path).ok()?;
	if !file.is_file() || file.uid() != me || file.mode() & 0o022 != 0 {
		tracing::info!(path = %path.display(), "ignoring a serve announcement not written by this user alone");
		return None;
	}
	let announced: serde_json::Value =
		serde_json::from_str(&std::fs::read_to_string(&path).ok()?).ok()?;
	let pid = announced["pid"].as_u64()?;
	let process = Path::new("/proc").join(pid.to_string());
	let exe = std::fs::read_link(process.join("exe")).ok()?;
	let is_membria = exe.file_name()?.to_str()?.starts_with("membria");
	if std::fs::metadata(&process).ok()?.uid() != me || !is_membria {
		return None;
	}
	let url = announced["url"].as_str()?;
	let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"];
	loopback.iter().any(|prefix| url.starts_with(prefix)).then(|| url.to_string())
}

/// Asks the `membria serve` running on `data_dir` (it holds the model and the cache in
/// memory), if there is one that answers; `None` when there is none or it fails (the caller
/// then answers by itself).
pub async fn ask_served(
	data_dir: &Path,
	question: &str,
	offline: bool,
	request: bool,
) -> Option<AskReply> {
	let url = running(data_dir)?;
	let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().ok()?;
	let response = client
		.post(format!("{url}/membria/v1/ask"))
		.json(&serde_json::json!({"question": question, "offline": offline, "request": request}))
		.send()
		.await
		.ok()?;
	if !response.status().is_success() {
		tracing::info!(status = %response.status(), "the running membria serve did not answer: asking here");
		return None;
	}
	let mut reply: AskReply = response.json().await.ok()?;
	if reply.answer.is_some() {
		reply.from = format!("{} · via membria serve at {url}", reply.from);
	}
	Some(reply)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn hit() -> AskReply {
		AskReply {
			answer: Some("Ethernet: A local area network.".into()),
			entry: Some(CachedEntry {
				id: 4,
				question: "What is Ethernet?".into(),
				question_key: "ab".into(),
				cid: "bafk".into(),
				content_hash: "cd".into(),
				size: 10,
				proven_at_number: 12,
				proven_at_hash: "ef".into(),
				approving_stake: 10_000 * MEM,
				embedding_hash: "01".into(),
				links: Vec::new(),
			}),
			similarity: 0.93,
			from: "verified cache".into(),
			sources: vec!["dict://foldoc/ethernet".into()],
			see_also: vec!["see also (related): What is a LAN? [entry 2]".into()],
			miss: None,
			demand: None,
			requested: false,
		}
	}

	#[test]
	fn a_hit_and_a_miss_read_as_the_terminal_shows_them() {
		assert_eq!(
			hit().text(),
			"Ethernet: A local area network.\n  entry 4 · proven at block 12 (0xef) · CID bafk · approved by 10000 MEM of stake · similarity 0.93 · verified cache\n  source: dict://foldoc/ethernet\n  see also (related): What is a LAN? [entry 2]"
		);
		let filed =
			DemandFiled { question_key: "aa".into(), extrinsic: Some("0x01".into()), note: None };
		assert_eq!(
			AskReply::miss("no match".into(), Some(filed), true).text(),
			"no verified answer: no match\ndemand filed on chain for question key 0xaa (extrinsic 0x01): sync again once it is answered"
		);
		assert!(AskReply::miss("no match".into(), None, false)
			.text()
			.ends_with("to file demand on chain)"));
		// An agent's escape sequences never reach the terminal.
		let mut evil = hit();
		evil.answer = Some("Fine.\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{1b}[2K\u{9b}31m".into());
		let text = evil.text();
		assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
		assert!(text.starts_with("Fine.\u{fffd}]52;c;"), "{text:?}");
	}

	#[tokio::test]
	async fn a_running_serve_is_asked_and_a_stale_announcement_ignored() {
		use axum::{routing::post, Json, Router};
		let dir = tempfile::tempdir().unwrap();
		assert_eq!(running(dir.path()), None, "no announcement");

		let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
		let url = format!("http://{}", listener.local_addr().unwrap());
		let reply = hit();
		let served = reply.clone();
		let app = Router::new().route(
			"/membria/v1/ask",
			post(move |Json(asked): Json<serde_json::Value>| async move {
				assert_eq!(asked["question"], "What is Ethernet?");
				Json(served)
			}),
		);
		tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

		// This test's process stands for the serve: its binary is `membria_ask-…`.
		let address: std::net::SocketAddr = url["http://".len()..].parse().unwrap();
		announce(dir.path(), address).unwrap();
		let got = ask_served(dir.path(), "What is Ethernet?", false, false).await.unwrap();
		assert_eq!(got.entry, reply.entry);
		assert_eq!(got.from, format!("verified cache · via membria serve at {url}"));

		let plant = |text: serde_json::Value, mode: u32| {
			use std::os::unix::fs::PermissionsExt;
			let path = announcement(dir.path());
			std::fs::write(&path, text.to_string()).unwrap();
			std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
		};
		let me = std::process::id();
		// A serve that died without withdrawing its announcement is not asked.
		plant(serde_json::json!({"url": url, "pid": u32::MAX}), 0o600);
		assert_eq!(running(dir.path()), None);
		assert!(ask_served(dir.path(), "What is Ethernet?", false, false).await.is_none());
		// A live process that is not a membria binary (pid 1: init), a URL off this machine,
		// an announcement others may write: none is asked.
		plant(serde_json::json!({"url": url, "pid": 1}), 0o600);
		assert_eq!(running(dir.path()), None);
		plant(serde_json::json!({"url": "http://203.0.113.9:8081", "pid": me}), 0o600);
		assert_eq!(running(dir.path()), None);
		plant(serde_json::json!({"url": url, "pid": me}), 0o666);
		assert_eq!(running(dir.path()), None);
		plant(serde_json::json!({"url": url, "pid": me}), 0o600);
		assert_eq!(running(dir.path()).as_deref(), Some(url.as_str()));
		assert_eq!(running(Path::new("")), None, "an empty data dir names no serve");
	}
}
