//! `membria serve` as an AI app uses it, at the README's defaults: `membria up` (the dev stack on
//! its default ports), then `membria serve --request` (on 127.0.0.1:8081) on a fresh device,
//! and the official `openai` Python package (installed by `scripts/setup.sh` in the venv under
//! `$MEMBRIA_CLIENTS`) as the chat client: models, a miss that files demand, the answer served
//! as soon as the network validates it (serve follows the gateway's events — no `membria sync`),
//! plain and streamed, with citations; generation on the verified entry; OpenAI-style errors;
//! and a second `membria serve --upstream …` whose misses an OpenAI-compatible upstream answers,
//! marked unverified (`tests/clients/openai_serve.py` holds the checks); then `membria sync
//! --follow` on a third device; and an agent's MCP client (the official `mcp` SDK) calling
//! `membria mcp`'s tools over stdio (`tests/clients/mcp_tools.py`).
//!
//! Needs the node binary (`$MEMBRIA_NODE`), the models and the clients venv (`scripts/setup.sh`).

mod common;

use std::{
	path::{Path, PathBuf},
	process::Command,
	time::Duration,
};

use membria_cli::stack::free_port;

const QUESTION: &str = "What is Ethernet?";
/// A question nobody has asked the chain yet.
const UNKNOWN: &str = "What is a tarball?";

/// An OpenAI-compatible upstream that answers "UPSTREAM SAYS: <the last user message>" when the
/// conversation it is sent keeps its system message, on its own thread.
fn scripted_upstream() -> String {
	use axum::{routing::post, Json, Router};
	use serde_json::{json, Value};
	let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
	let address = listener.local_addr().unwrap();
	listener.set_nonblocking(true).unwrap();
	std::thread::spawn(move || {
		let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
		runtime.block_on(async move {
			let app = Router::new().route(
				"/v1/chat/completions",
				post(|Json(request): Json<Value>| async move {
					let messages = request["messages"].as_array().cloned().unwrap_or_default();
					let system = messages.iter().any(|m| m["role"] == "system");
					let last = messages.last().and_then(|m| m["content"].as_str()).unwrap_or("");
					let reply = if system {
						format!("UPSTREAM SAYS: {last}")
					} else {
						"the system message was lost".into()
					};
					Json(json!({
						"id": "up-1", "object": "chat.completion", "created": 0, "model": request["model"],
						"choices": [{"index": 0, "finish_reason": "stop",
							"message": {"role": "assistant", "content": reply}}],
					}))
				}),
			);
			let listener = tokio::net::TcpListener::from_std(listener).unwrap();
			axum::serve(listener, app).await.unwrap();
		});
	});
	format!("http://{address}/v1")
}

fn clients_python() -> PathBuf {
	let prefix = std::env::var_os("MEMBRIA_CLIENTS").map(PathBuf::from).unwrap_or_else(|| {
		PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/membria/clients")
	});
	let python = prefix.join("venv/bin/python");
	assert!(
		python.exists(),
		"the openai and mcp packages, installed by scripts/setup.sh at {}",
		python.display()
	);
	python
}

#[test]
fn openai_and_mcp_clients_get_verified_answers_with_citations() {
	let python = clients_python();
	let dir = tempfile::tempdir().unwrap();
	let stack = dir.path().join("stack");
	let stack_arg = stack.display().to_string();
	// The dev stack at its default ports, as the README starts it.
	let (_up, up_lines) =
		common::start(&["up", "--data-dir", &stack_arg], &dir.path().join("up.log"));
	common::wait_line(&up_lines, "ready", Duration::from_secs(180));
	let spec = stack.join("chain-spec.json").display().to_string();

	let device = dir.path().join("device").display().to_string();
	let (_serve, serve_lines) = common::start(
		&["serve", "--request", "--data-dir", &device, "--chain-spec", &spec],
		&dir.path().join("serve.log"),
	);
	common::wait_line(
		&serve_lines,
		"serving verified answers at http://127.0.0.1:8081/v1",
		Duration::from_secs(60),
	);

	let upstream = scripted_upstream();
	let other = dir.path().join("other").display().to_string();
	let port = free_port().unwrap().to_string();
	let listen = format!("127.0.0.1:{port}");
	let (_proxied, proxied_lines) = common::start(
		&[
			"serve",
			"--listen",
			&listen,
			"--upstream",
			&upstream,
			"--upstream-model",
			"scripted",
			"--no-follow",
			"--data-dir",
			&other,
			"--chain-spec",
			&spec,
		],
		&dir.path().join("serve-upstream.log"),
	);
	common::wait_line(&proxied_lines, "serving verified answers", Duration::from_secs(60));

	let script = common::manifest_dir().join("../../tests/clients/openai_serve.py");
	let output = Command::new(python)
		.arg(script)
		.args(["http://127.0.0.1:8081/v1", &format!("http://{listen}/v1"), QUESTION, "300"])
		.output()
		.expect("python runs");
	let stdout = String::from_utf8_lossy(&output.stdout);
	println!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
	if !output.status.success() {
		for log in ["serve.log", "serve-upstream.log"] {
			let text = std::fs::read_to_string(dir.path().join(log)).unwrap_or_default();
			let tail: Vec<&str> = text.lines().rev().take(30).collect();
			println!("--- {log} (last lines, newest first)\n{}", tail.join("\n"));
		}
	}
	assert!(output.status.success(), "the openai client's checks failed");
	assert!(stdout.contains("all checks passed"));

	// `membria ask` on the served data directory asks the running serve (model and cache in
	// memory); once serve stops, it answers by itself from the cache serve kept.
	let ask = |extra: &[&str]| {
		let mut args = vec!["ask", QUESTION, "--data-dir", &device, "--chain-spec", &spec];
		args.extend(extra);
		common::run_membria(&args)
	};
	let served = ask(&[]);
	assert_eq!(served.code, 0, "{}", served.stderr);
	assert!(
		served.stdout.contains("via membria serve at http://127.0.0.1:8081"),
		"{}",
		served.stdout
	);
	assert!(served.stdout.contains("Ethernet"), "{}", served.stdout);
	// `ask --generate` too: the serve's loaded model writes it, citing the verified entry.
	let generated = ask(&["--generate", "--max-tokens", "24"]);
	assert_eq!(generated.code, 0, "{}", generated.stderr);
	assert!(
		generated.stdout.contains("generated by membria serve at http://127.0.0.1:8081"),
		"{}",
		generated.stdout
	);
	assert!(generated.stdout.contains("Verified by Membria: [entry"), "{}", generated.stdout);
	drop(_serve);
	assert!(!Path::new(&device).join("serve.json").exists(), "serve withdraws its announcement");
	let alone = ask(&["--offline"]);
	assert_eq!(alone.code, 0, "{}", alone.stderr);
	assert!(alone.stdout.contains("verified cache (offline)"), "{}", alone.stdout);
	assert!(!alone.stdout.contains("via membria serve"), "{}", alone.stdout);
	// The same, and the device's status, as JSON for scripts.
	let json = ask(&["--offline", "--json"]);
	let reply: serde_json::Value = serde_json::from_str(&json.stdout).expect("ask --json is JSON");
	assert!(reply["answer"].as_str().unwrap_or_default().contains("Ethernet"), "{reply}");
	assert!(reply["entry"]["cid"].as_str().unwrap_or_default().starts_with("baf"), "{reply}");
	let status = common::run_membria(&["status", "--json", "--data-dir", &device]);
	let status: serde_json::Value = serde_json::from_str(&status.stdout).expect("status --json");
	assert!(status["entries"].as_u64().unwrap_or_default() >= 1, "{status}");
	let missed = common::run_membria(&[
		"ask",
		"What is Fast Ethernet?",
		"--offline",
		"--json",
		"--data-dir",
		&device,
	]);
	assert_eq!(missed.code, 3);
	let missed: serde_json::Value = serde_json::from_str(&missed.stdout).expect("a miss as JSON");
	assert!(missed["answer"].is_null() && missed["miss"].is_string(), "{missed}");

	// An agent's MCP client: the official `mcp` SDK starts `membria mcp` on stdio.
	let agent = dir.path().join("agent").display().to_string();
	let script = common::manifest_dir().join("../../tests/clients/mcp_tools.py");
	let output = Command::new(clients_python())
		.arg(script)
		.arg(common::membria())
		.args([&agent, &spec, QUESTION, UNKNOWN])
		.output()
		.expect("python runs");
	let stdout = String::from_utf8_lossy(&output.stdout);
	println!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
	assert!(output.status.success(), "the MCP client's checks failed");
	assert!(stdout.contains("all checks passed"));

	// `membria sync --follow` on another device: it syncs what is validated, then keeps
	// following until Ctrl-C.
	let third = dir.path().join("third").display().to_string();
	let (follower, follow_lines) = common::start(
		&["sync", "--follow", "--data-dir", &third, "--chain-spec", &spec],
		&dir.path().join("follow.log"),
	);
	common::wait_line(&follow_lines, "following http://127.0.0.1:8080", Duration::from_secs(60));
	common::wait_line(&follow_lines, "1 new, proven at finalized block", Duration::from_secs(60));
	drop(follower);
	common::wait_line(&follow_lines, "1 entries in the cache", Duration::from_secs(5));
}
