//! `membria` refuses bad input with one clear line and a non-zero exit.

use std::process::Command;

fn membria(args: &[&str]) -> (i32, String) {
	let output = Command::new(env!("CARGO_BIN_EXE_membria")).args(args).output().expect("runs");
	(output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
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
