//! The gateway's rate limit as an operator runs it behind a proxy: `membria gateway
//! --trusted-proxy 127.0.0.1 --rate 1 --burst 2` (no node needed: the explorer's overview is
//! answered from memory), then clients named by the proxy's `X-Forwarded-For`: each has its own
//! allowance, a client's forged entries are not believed, and without a trusted proxy the
//! header is ignored (every local client is one).

mod common;

use std::time::Duration;

use membria_cli::stack::free_port;

fn gateway(extra: &[&str]) -> (common::Running, String) {
	let port = free_port().unwrap();
	let listen = format!("127.0.0.1:{port}");
	let dead = format!("http://127.0.0.1:{}", free_port().unwrap());
	let mut args = vec!["gateway", "--listen", &listen, "--node", &dead, "--ipfs", &dead];
	args.extend(extra);
	let log = tempfile::NamedTempFile::new().unwrap();
	let (running, _) = common::start(&args, log.path());
	let url = format!("http://{listen}");
	common::wait_for(Duration::from_secs(60), "the gateway to listen", || {
		reqwest::blocking::get(format!("{url}/health")).ok()
	});
	(running, url)
}

/// The status of `GET /v1/explorer/overview` sent as if a proxy forwarded it for `forwarded`.
fn overview(url: &str, forwarded: Option<&str>) -> u16 {
	let client = reqwest::blocking::Client::new();
	let mut request = client.get(format!("{url}/v1/explorer/overview"));
	if let Some(forwarded) = forwarded {
		request = request.header("x-forwarded-for", forwarded);
	}
	request.send().unwrap().status().as_u16()
}

#[test]
fn clients_behind_a_trusted_proxy_are_limited_one_by_one() {
	let (_gateway, url) =
		gateway(&["--rate", "0.01", "--burst", "2", "--trusted-proxy", "127.0.0.1"]);
	assert_eq!(overview(&url, Some("192.0.2.1")), 200);
	assert_eq!(overview(&url, Some("192.0.2.1")), 200);
	assert_eq!(overview(&url, Some("192.0.2.1")), 429, "alice used her burst");
	assert_eq!(overview(&url, Some("192.0.2.2")), 200, "bob is another client");
	// Alice cannot pass for someone else by writing her own entries to the left.
	assert_eq!(overview(&url, Some("198.51.100.1, 192.0.2.1")), 429);

	let (_gateway, url) = gateway(&["--rate", "0.01", "--burst", "2"]);
	assert_eq!(overview(&url, Some("192.0.2.1")), 200);
	assert_eq!(overview(&url, Some("192.0.2.2")), 200);
	assert_eq!(
		overview(&url, Some("192.0.2.3")),
		429,
		"no trusted proxy: the header is ignored, all three are this one peer"
	);

	let bad = common::run_membria(&["gateway", "--trusted-proxy", "not-a-network"]);
	assert_eq!(bad.code, 2, "{}", bad.stderr);
	assert!(bad.stderr.contains("neither an IP address nor a network"), "{}", bad.stderr);
}
