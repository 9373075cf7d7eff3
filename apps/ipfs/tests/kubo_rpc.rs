//! The embedded IPFS node against the unmodified `ipfs-api` client (through
//! [`membria_ipfs::Client`]) and against raw HTTP requests, on 127.0.0.1.

use std::{net::SocketAddr, path::Path, time::Duration};

use membria_ipfs::{BlockStore, Client, ClientOptions, IpfsError, ServerOptions};
use membria_primitives::{
	unixfs::{cid_from_text, file_cid},
	CidVersion,
};

struct Running {
	address: SocketAddr,
	stop: Option<tokio::sync::oneshot::Sender<()>>,
	task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
	async fn start(repo: &Path) -> Running {
		Self::start_on(repo, "127.0.0.1:0".parse().unwrap()).await
	}

	async fn start_on(repo: &Path, address: SocketAddr) -> Running {
		Self::start_with(repo, address, ServerOptions::default()).await
	}

	async fn start_with(repo: &Path, address: SocketAddr, options: ServerOptions) -> Running {
		let listener = tokio::net::TcpListener::bind(address).await.expect("bind");
		let address = listener.local_addr().unwrap();
		let store = BlockStore::open(repo).expect("repo opens");
		let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
		let task = tokio::spawn(membria_ipfs::serve(listener, store, options, async {
			let _ = stopped.await;
		}));
		Running { address, stop: Some(stop), task }
	}

	fn url(&self) -> String {
		format!("http://{}", self.address)
	}

	fn client(&self) -> Client {
		let options = ClientOptions {
			deadline: Duration::from_secs(5),
			attempts: 2,
			backoff: Duration::from_millis(50),
		};
		Client::new(&self.url(), options).expect("client")
	}

	async fn stop(mut self) {
		if let Some(stop) = self.stop.take() {
			let _ = stop.send(());
		}
		let _ = self.task.await;
	}
}

async fn post(url: String, content_type: Option<&str>, body: Vec<u8>) -> (u16, serde_json::Value) {
	let client = reqwest::Client::new();
	let mut request = client.post(url).body(body);
	if let Some(content_type) = content_type {
		request = request.header("content-type", content_type);
	}
	let response = request.send().await.expect("server answers");
	let status = response.status().as_u16();
	let text = response.text().await.unwrap();
	(status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

fn assert_kubo_error(value: &serde_json::Value, message_part: &str) {
	assert_eq!(value["Type"], "error", "{value}");
	assert_eq!(value["Code"], 0, "{value}");
	let message = value["Message"].as_str().expect("a message");
	assert!(message.contains(message_part), "{message:?} should mention {message_part:?}");
}

#[tokio::test]
async fn ipfs_api_client_adds_cats_and_pins_with_kubo_cids() {
	let repo = tempfile::tempdir().unwrap();
	let node = Running::start(repo.path()).await;
	let client = node.client();

	assert_eq!(client.version().await.unwrap(), membria_ipfs::server::KUBO_COMPATIBLE_VERSION);
	// Kubo's own CIDv1 of "hello world\n" (../primitives/tests/kubo-cid-vectors.tsv).
	let stored = client.add(b"hello world\n").await.unwrap();
	assert_eq!(stored.cid_text, "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
	assert_eq!(client.cat(&stored.cid, 1024).await.unwrap(), b"hello world\n");

	// A multi-block file comes back whole, and its CID is the one Kubo computes.
	let big: Vec<u8> = (0..700_000u32).map(|i| (i * 7 % 251) as u8).collect();
	let stored_big = client.add(&big).await.unwrap();
	assert_eq!(stored_big.cid, file_cid(&big, CidVersion::V1));
	assert_eq!(client.cat(&stored_big.cid, big.len()).await.unwrap(), big);
	assert!(matches!(client.cat(&stored_big.cid, 1000).await, Err(IpfsError::TooLarge { .. })));
	client.pin(&stored_big.cid).await.unwrap();

	// Pins are listed and removed in Kubo's format.
	let (status, pins) = post(format!("{}/api/v0/pin/ls", node.url()), None, vec![]).await;
	assert_eq!(status, 200);
	assert_eq!(pins["Keys"][&stored.cid_text]["Type"], "recursive");
	let (status, removed) =
		post(format!("{}/api/v0/pin/rm?arg={}", node.url(), stored.cid_text), None, vec![]).await;
	assert_eq!((status, removed["Pins"][0].as_str()), (200, Some(stored.cid_text.as_str())));
	let (status, error) =
		post(format!("{}/api/v0/pin/rm?arg={}", node.url(), stored.cid_text), None, vec![]).await;
	assert_eq!(status, 500);
	assert_kubo_error(&error, "not pinned");

	// block/stat and block/get of the raw leaf.
	let (status, stat) =
		post(format!("{}/api/v0/block/stat?arg={}", node.url(), stored.cid_text), None, vec![])
			.await;
	assert_eq!((status, stat["Size"].as_u64()), (200, Some(12)));
	let (status, id) = post(format!("{}/api/v0/id", node.url()), None, vec![]).await;
	assert_eq!(status, 200);
	assert!(id["ID"].as_str().unwrap().starts_with("12D3KooW"), "{id}");

	// The store survives a restart: same peer id, same content. (On a port of its own: the old
	// one, in the ephemeral range, can be taken by any connection once it is released.)
	node.stop().await;
	let node = Running::start(repo.path()).await;
	assert_eq!(node.client().cat(&stored.cid, 1024).await.unwrap(), b"hello world\n");
	let (_, id_again) = post(format!("{}/api/v0/id", node.url()), None, vec![]).await;
	assert_eq!(id_again["ID"], id["ID"]);
	node.stop().await;
}

#[tokio::test]
async fn kubo_defaults_give_cidv0() {
	let repo = tempfile::tempdir().unwrap();
	let node = Running::start(repo.path()).await;
	let form = reqwest::multipart::Form::new().part(
		"file",
		reqwest::multipart::Part::bytes(b"hello world\n".to_vec()).file_name("hello.txt"),
	);
	let response = reqwest::Client::new()
		.post(format!("{}/api/v0/add", node.url()))
		.multipart(form)
		.send()
		.await
		.unwrap();
	assert_eq!(response.status(), 200);
	let line: serde_json::Value =
		serde_json::from_str(response.text().await.unwrap().trim()).unwrap();
	assert_eq!(line["Hash"], "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
	assert_eq!(line["Name"], "hello.txt");
	assert!(line["Size"].is_string(), "Kubo prints sizes as strings: {line}");
	node.stop().await;
}

#[tokio::test]
async fn bad_requests_get_kubo_style_errors() {
	let repo = tempfile::tempdir().unwrap();
	let node = Running::start(repo.path()).await;
	let url = node.url();

	let (status, error) =
		post(format!("{url}/api/v0/add"), Some("text/plain"), b"x".to_vec()).await;
	assert_eq!(status, 400);
	assert_kubo_error(&error, "multipart");
	let (status, error) = post(
		format!("{url}/api/v0/add"),
		Some("multipart/form-data; boundary=xyz"),
		b"--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ntruncated".to_vec(),
	)
	.await;
	assert_eq!(status, 400);
	assert_kubo_error(&error, "malformed multipart");
	let (status, error) = post(
		format!("{url}/api/v0/add"),
		Some("multipart/form-data; boundary=xyz"),
		b"--xyz--\r\n".to_vec(),
	)
	.await;
	assert_eq!(status, 400);
	assert_kubo_error(&error, "file argument");
	let (status, error) = post(format!("{url}/api/v0/add?chunker=rabin"), None, vec![]).await;
	assert_eq!(status, 400);
	assert_kubo_error(&error, "chunker");

	let unknown = file_cid(b"never added", CidVersion::V1);
	let text = membria_primitives::unixfs::cid_to_text(&unknown);
	let (status, error) = post(format!("{url}/api/v0/cat?arg={text}"), None, vec![]).await;
	assert_eq!(status, 500);
	assert_kubo_error(&error, "could not find");
	let (status, error) = post(format!("{url}/api/v0/cat?arg=not-a-cid"), None, vec![]).await;
	assert_eq!(status, 400);
	assert_kubo_error(&error, "invalid path");
	let (status, error) = post(format!("{url}/api/v0/cat"), None, vec![]).await;
	assert_eq!(status, 400);
	assert_kubo_error(&error, "required");

	let get = reqwest::get(format!("{url}/api/v0/version")).await.unwrap();
	assert_eq!(get.status(), 405, "Kubo answers GET with 405");
	assert!(cid_from_text(&text).is_ok());

	// The client reports an unknown CID as the node's refusal, and a dead node as unreachable.
	let client = node.client();
	assert!(matches!(client.cat(&unknown, 100).await, Err(IpfsError::Refused { .. })));
	node.stop().await;
	assert!(matches!(client.version().await, Err(IpfsError::Unreachable { .. })));
}

#[tokio::test]
async fn a_node_fetches_missing_blocks_from_its_peers_and_checks_them() {
	let (repo_a, repo_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
	let a = Running::start(repo_a.path()).await;
	// A file of several blocks, added to A only.
	let body: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
	let stored = a.client().add(&body).await.expect("added to A");
	// A liar: answers every block/get with the wrong bytes.
	let liar = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let liar_url = format!("http://{}", liar.local_addr().unwrap());
	tokio::spawn(async move {
		let app = axum::Router::new().fallback(|| async { "not the block" });
		axum::serve(liar, app).await
	});
	let b = Running::start_with(
		repo_b.path(),
		"127.0.0.1:0".parse().unwrap(),
		ServerOptions { peers: vec![liar_url.clone(), a.url()], ..ServerOptions::default() },
	)
	.await;
	// `offline` asks B alone: it does not have it.
	let (status, error) = post(
		format!("{}/api/v0/cat?arg={}&offline=true", b.url(), stored.cid_text),
		None,
		Vec::new(),
	)
	.await;
	assert_eq!(status, 500, "{error}");
	// Online, B skips the liar, fetches every block from A, checks and keeps them.
	assert_eq!(b.client().cat(&stored.cid, 1 << 20).await.expect("via A"), body);
	a.stop().await;
	assert_eq!(b.client().cat(&stored.cid, 1 << 20).await.expect("kept by B"), body);
	// Only liars left: nothing is stored.
	let repo_c = tempfile::tempdir().unwrap();
	let c = Running::start_with(
		repo_c.path(),
		"127.0.0.1:0".parse().unwrap(),
		ServerOptions { peers: vec![liar_url], ..ServerOptions::default() },
	)
	.await;
	assert!(c.client().cat(&stored.cid, 1 << 20).await.is_err());
	c.stop().await;
	b.stop().await;
}
