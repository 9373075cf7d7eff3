//! `membria` refuses bad input with one clear line and a non-zero exit; the front links no
//! libtorch and hands what it does not answer to the full CLI, exit status included.

mod common;

use std::process::Command;

use common::membria as front;

fn membria(args: &[&str]) -> (i32, String) {
	let output = Command::new(front()).args(args).output().expect("runs");
	(output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn the_front_links_no_libtorch_and_hands_the_rest_to_the_full_cli() {
	let ldd = Command::new("ldd").arg(front()).output().expect("ldd runs");
	let libraries = String::from_utf8_lossy(&ldd.stdout);
	assert!(ldd.status.success() && !libraries.contains("torch"), "{libraries}");
	// The full CLI's refusal, status and usage, under the name users type.
	let (code, stderr) = membria(&["ask"]);
	assert_eq!(code, 2, "{stderr}");
	assert!(stderr.contains("Usage: membria ask"), "{stderr}");
	// Without the full CLI beside it, the front says what is missing.
	let dir = tempfile::tempdir().unwrap();
	let alone = dir.path().join("membria");
	std::fs::copy(front(), &alone).unwrap();
	let output = Command::new(&alone).arg("status").output().unwrap();
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert_eq!(output.status.code(), Some(127), "{stderr}");
	assert!(
		stderr.contains("cannot run the full CLI") && stderr.contains("membria-full"),
		"{stderr}"
	);
}

#[test]
fn bad_flags_are_refused_by_clap() {
	let (code, stderr) = membria(&["ipfs", "--listen", "not-an-address", "--repo", "/tmp/x"]);
	assert_eq!(code, 2, "{stderr}");
	assert!(stderr.contains("--listen"), "{stderr}");
	let (code, stderr) = membria(&["distiller", "--backend", "openai"]);
	assert_eq!(code, 2, "{stderr}");
	assert!(stderr.contains("--openai-url"), "{stderr}");
	let (code, stderr) = membria(&["ipfs"]);
	assert_eq!(code, 2, "{stderr}");
	assert!(stderr.contains("--repo"), "{stderr}");
	// Generation needs a thread: 0 is refused before anything runs, for `ask` and `serve`.
	for command in ["ask", "serve"] {
		let mut args = vec![command, "--generate-threads", "0"];
		if command == "ask" {
			args.extend(["--generate", "What is carbon?"]);
		}
		let (code, stderr) = membria(&args);
		assert_eq!(code, 2, "{command}: {stderr}");
		assert!(
			stderr.contains("invalid value '0' for '--generate-threads"),
			"{command}: {stderr}"
		);
	}
}

#[test]
fn unusable_resources_are_named() {
	let (code, stderr) =
		membria(&["distiller", "--listen", "127.0.0.1:0", "--corpus", "/nonexistent/corpus"]);
	assert_eq!(code, 1, "{stderr}");
	assert!(stderr.contains("membria: error: loading the corpus /nonexistent/corpus"), "{stderr}");

	let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
	let address = taken.local_addr().unwrap().to_string();
	let repo = tempfile::tempdir().unwrap();
	let repo_path = repo.path().display().to_string();
	let (code, stderr) = membria(&["ipfs", "--listen", &address, "--repo", &repo_path]);
	assert_eq!(code, 1, "{stderr}");
	assert!(stderr.contains(&format!("cannot listen on {address}")), "{stderr}");

	let file = repo.path().join("a-file");
	std::fs::write(&file, b"not a directory").unwrap();
	let (code, stderr) =
		membria(&["ipfs", "--listen", "127.0.0.1:0", "--repo", &file.display().to_string()]);
	assert_eq!(code, 1, "{stderr}");
	assert!(stderr.contains("opening the IPFS repo"), "{stderr}");
}

/// `membria graph` refuses an entry id that is no number, and says when an entry is not in the
/// verified cache it was told to use alone.
#[test]
fn graph_refuses_bad_entries_by_name() {
	let (code, stderr) = membria(&["graph", "abc"]);
	assert_eq!(code, 2, "{stderr}");
	assert!(stderr.contains("invalid value 'abc'"), "{stderr}");
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().display().to_string();
	// No trust root yet: said so.
	let (code, stderr) = membria(&["graph", "7", "--offline", "--data-dir", &data]);
	assert_eq!(code, 1, "{stderr}");
	assert!(stderr.contains("no trust root"), "{stderr}");
	// A device that trusts the dev chain but holds nothing.
	let node = membria_cli::stack::node_binary().expect("the node binary");
	membria_cli::stack::write_dev_chain_spec(&node, &dir.path().join("chain-spec.json"))
		.expect("the dev chain spec");
	let (code, stderr) = membria(&["graph", "7", "--offline", "--data-dir", &data]);
	assert_eq!(code, 1, "{stderr}");
	assert!(
		stderr.contains("membria: error: entry 7 is not in the verified cache (run without --offline to fetch it)"),
		"{stderr}"
	);
}

/// A `membria distiller` process, stopped when dropped.
struct Distiller(std::process::Child, String);

impl Distiller {
	fn start(extra: &[&str]) -> Self {
		// Below the ephemeral range: a port the system handed out could be taken by an outgoing
		// connection before the distiller binds it.
		let port = membria_cli::stack::free_port().expect("a free port");
		let listen = format!("127.0.0.1:{port}");
		let child = Command::new(env!("CARGO_BIN_EXE_membria-full"))
			.args(["distiller", "--listen", &listen])
			.args(extra)
			.stdout(std::process::Stdio::null())
			.stderr(std::process::Stdio::null())
			.spawn()
			.expect("membria distiller starts");
		let distiller = Self(child, format!("http://{listen}"));
		let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
		while reqwest::blocking::get(format!("{}/health", distiller.1)).is_err() {
			assert!(std::time::Instant::now() < deadline, "the distiller did not start");
			std::thread::sleep(std::time::Duration::from_millis(200));
		}
		distiller
	}

	fn get(&self, path: &str) -> serde_json::Value {
		reqwest::blocking::get(format!("{}{path}", self.1)).unwrap().json().unwrap()
	}

	fn distill(&self, question: &str) -> serde_json::Value {
		reqwest::blocking::Client::new()
			.post(format!("{}/distill", self.1))
			.json(&serde_json::json!({ "question": question, "links": false }))
			.send()
			.unwrap()
			.json()
			.unwrap()
	}
}

impl Drop for Distiller {
	fn drop(&mut self) {
		let _ = self.0.kill();
		let _ = self.0.wait();
	}
}

/// `membria distiller` re-ranks the passages BM25 retrieves with the MiniLM model
/// `scripts/setup.sh` installs (found by default): for a question whose words are not the
/// answer's headword it answers from the passage closest in meaning, where BM25 alone takes the
/// document the question's other words title.
#[test]
fn the_distiller_reranks_passages_with_minilm() {
	let question = "Which protocol translates domain names into IP addresses?";
	let reranking = Distiller::start(&[]);
	assert_eq!(reranking.get("/health")["reranking"], true);
	let body = reranking.distill(question);
	let source = body["sources"][0]["uri"].as_str().unwrap_or_default().to_string();
	assert_eq!(source, "dict://foldoc/resolver", "{body}");
	assert!(body["answer"].as_str().unwrap().contains("Domain Name Server"), "{body}");
	drop(reranking);

	let bm25 = Distiller::start(&["--no-rerank"]);
	assert_eq!(bm25.get("/health")["reranking"], false);
	let body = bm25.distill(question);
	assert_eq!(body["sources"][0]["uri"], "dict://foldoc/ip%20address", "{body}");

	let (code, stderr) =
		membria(&["distiller", "--listen", "127.0.0.1:0", "--model-dir", "/nonexistent/model"]);
	assert_eq!(code, 1, "{stderr}");
	assert!(stderr.contains("loading the re-ranking model from /nonexistent/model"), "{stderr}");
}
