//! The explorer as a person uses it: `membria up` at the README's defaults, then a real browser
//! (Debian's chromium, driven by playwright-core from `tests/node_modules`, both installed by
//! `scripts/setup.sh`) on `http://127.0.0.1:8080/` — the page, an ask that files demand, the
//! entry appearing once validated with no reload, its provenance, votes and history, and text
//! from a lying agent shown as text (`tests/clients/explorer.mjs` holds the checks). Before the
//! browser, the explorer's API is checked for bad input.
//!
//! Needs the node binary (`$MEMBRIA_NODE`), the models, chromium and the npm packages.

mod common;

use std::{process::Command, time::Duration};

const GATEWAY: &str = "http://127.0.0.1:8080";
/// A question nobody has asked this chain.
const QUESTION: &str = "What is a tarball?";

fn get(path: &str) -> (u16, serde_json::Value) {
	let response = reqwest::blocking::get(format!("{GATEWAY}{path}")).expect("the gateway answers");
	let status = response.status().as_u16();
	(status, response.json().unwrap_or_default())
}

#[test]
fn a_browser_shows_the_explorer_live() {
	let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
	assert!(std::path::Path::new(&chromium).exists(), "chromium, installed by scripts/setup.sh");
	let tests = common::manifest_dir().join("../../tests");
	assert!(
		tests.join("node_modules/playwright-core").exists(),
		"playwright-core, installed by scripts/setup.sh (npm ci in tests/)"
	);

	let dir = tempfile::tempdir().unwrap();
	let stack = dir.path().join("stack").display().to_string();
	let (_up, up_lines) = common::start(&["up", "--data-dir", &stack], &dir.path().join("up.log"));
	common::wait_line(&up_lines, "ready", Duration::from_secs(180));

	// The explorer's API refuses bad input with a reason; an unknown entry is a 404.
	let (status, body) = get("/v1/explorer/entries/abc");
	assert_eq!(status, 400, "{body}");
	assert!(body["error"].as_str().unwrap().contains("non-negative integer"), "{body}");
	let (status, body) = get("/v1/explorer/entries?limit=0");
	assert_eq!(status, 400, "{body}");
	assert!(body["error"].as_str().unwrap().contains("limit must be between 1 and 100"), "{body}");
	let (status, body) = get("/v1/explorer/entries/4000000000");
	assert_eq!(status, 404, "{body}");
	// The explorer reads the chain through its metadata: the validators and the runtime.
	let overview = common::wait_for(Duration::from_secs(60), "the explorer's first read", || {
		let (status, body) = get("/v1/explorer/overview");
		(status == 200 && body["spec_version"].is_u64() && body["validators"] == 1).then_some(body)
	});
	assert!(overview["finalized"].as_u64().unwrap() >= 1, "{overview}");
	let (_, doc) = get("/openapi.json");
	for path in ["/", "/v1/explorer/overview", "/v1/explorer/entries/{id}", "/v1/explorer/events"] {
		assert!(doc["paths"][path]["get"].is_object(), "{path} is documented");
	}
	let (_, validators) = get("/v1/explorer/validators");
	assert_eq!(validators["validators"][0]["session_stake"], "10000000000000000", "{validators}");

	let output = Command::new("node")
		.arg(tests.join("clients/explorer.mjs"))
		.args([GATEWAY, QUESTION, "300"])
		.env("CHROMIUM", &chromium)
		.output()
		.expect("node runs");
	println!(
		"{}{}",
		String::from_utf8_lossy(&output.stdout),
		String::from_utf8_lossy(&output.stderr)
	);
	assert!(output.status.success(), "the browser's checks failed");
	assert!(String::from_utf8_lossy(&output.stdout).contains("all checks passed"));
}
