//! Where a device gets knowledge from: a gateway ([`GatewayClient`]) or a node and an IPFS API
//! directly ([`NodeServer`]). Both hand back [`Proven`] material the device checks itself.

use std::time::Duration;

use membria_chain::{
	proofs::ProofSource,
	rpc::{NodeRpc, RpcError},
};
use membria_primitives::question_key;
use serde::de::DeserializeOwned;

use crate::wire::{AskRequest, AskResponse, ErrorBody, Proven, SyncResponse};

/// The most entries one sync page asks for.
pub const SYNC_PAGE: u32 = 200;
/// The largest entry body the chain takes, in bytes: the runtime's `MAX_BODY_SIZE` (pallet-kcg's
/// `MaxBodySize`). A verified body's length is its entry's on-chain size, at most this.
pub const MAX_BODY_SIZE: usize = 1024 * 1024;
/// The most one entry adds to a response besides its body (hex, twice its bytes): its id and
/// JSON, and its share of the storage proof (the trie paths of its three keys, hex).
const ENTRY_OVERHEAD: usize = 64 * 1024;
/// The most a response needs whatever it carries: the justified header and up to
/// [`membria_chain::proofs::MAX_SET_CHANGES`] set changes, each a header and a justification of at most
/// 32 authorities' precommits (a few KiB), hex, and the JSON around them.
const RESPONSE_OVERHEAD: usize = 4 * 1024 * 1024;
/// The most of a refusal's body the device reads (its reason).
const ERROR_BODY_CAP: usize = 64 * 1024;

/// The most bytes a response carrying up to `entries` entries can honestly need: every body at
/// the chain's largest size, hex-encoded, with its share of the proof, and the header and set
/// changes. A sync page of [`SYNC_PAGE`] entries may need about 417 MiB; one entry about 6 MiB.
pub fn response_cap(entries: usize) -> usize {
	entries
		.saturating_mul(2 * MAX_BODY_SIZE + ENTRY_OVERHEAD)
		.saturating_add(RESPONSE_OVERHEAD)
}

/// Whether `chunk` more bytes after `read` stay within `limit`.
fn within_cap(read: usize, chunk: usize, limit: usize) -> bool {
	read.checked_add(chunk).is_some_and(|total| total <= limit)
}
/// How far back from the finalized head to look for a stored justification.
pub const JUSTIFICATION_WINDOW: u32 = 64;

/// Why a server could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
	#[error("{url} is unreachable: {reason}")]
	Unreachable { url: String, reason: String },
	#[error("{url} refused ({status}): {reason}")]
	Refused { url: String, status: u16, reason: String },
	#[error("{url} answered something malformed or truncated: {reason}")]
	Malformed { url: String, reason: String },
	#[error(transparent)]
	Node(#[from] RpcError),
	#[error("IPFS: {0}")]
	Ipfs(#[from] membria_ipfs::IpfsError),
	#[error("{url} answered more than {limit} bytes, the most a response to this request can need (response size cap)")]
	TooLarge { url: String, limit: usize },
	#[error("the node keeps no GRANDPA justification in its last {0} finalized blocks (start it with --justification-period 1)")]
	NoJustification(u32),
}

/// The most entries `POST /v1/ask` proves when the request does not say (the gateway's largest
/// `k`).
const MAX_ASK_K: u32 = 10;

/// Reads `response`'s body, refusing it as soon as it passes `limit` bytes (a declared length
/// past it is refused before anything is read).
async fn read_capped(
	mut response: reqwest::Response,
	url: &str,
	limit: usize,
) -> Result<Vec<u8>, ServerError> {
	let too_large = || ServerError::TooLarge { url: url.to_string(), limit };
	let declared = response.content_length();
	if declared.is_some_and(|length| length > limit as u64) {
		return Err(too_large());
	}
	let mut body = Vec::with_capacity(declared.map_or(0, |length| length as usize).min(1 << 20));
	while let Some(chunk) = response
		.chunk()
		.await
		.map_err(|e| ServerError::Malformed { url: url.to_string(), reason: e.to_string() })?
	{
		if !within_cap(body.len(), chunk.len(), limit) {
			return Err(too_large());
		}
		body.extend_from_slice(&chunk);
	}
	Ok(body)
}

/// A client of a Membria gateway.
pub struct GatewayClient {
	http: reqwest::Client,
	base: String,
	/// How long to wait for a gateway that is catching up.
	catching_up: Duration,
}

/// How long a device waits, by default, for a gateway that has just started (and holds no
/// justified block yet) before it reports the 503.
pub const CATCHING_UP_WAIT: Duration = Duration::from_secs(30);
/// How often it asks again meanwhile.
const CATCHING_UP_RETRY: Duration = Duration::from_millis(500);

impl GatewayClient {
	pub fn new(base: &str) -> Self {
		let http = reqwest::Client::builder()
			.timeout(Duration::from_secs(120))
			.build()
			.unwrap_or_default();
		Self { http, base: base.trim_end_matches('/').to_string(), catching_up: CATCHING_UP_WAIT }
	}

	/// The same client, waiting at most `wait` for a gateway that is catching up.
	pub fn waiting_for_catch_up(mut self, wait: Duration) -> Self {
		self.catching_up = wait;
		self
	}

	/// Sends `request` and decodes its answer, read with a running limit of `limit` bytes (a
	/// refusal's reason with one of [`ERROR_BODY_CAP`]).
	///
	/// A gateway that has just started answers 503 "catching up" until it holds a justified
	/// finalized block: that is waited for (every [`CATCHING_UP_RETRY`], up to
	/// the client's catch-up wait), not reported as a failure.
	async fn read<T: DeserializeOwned>(
		&self,
		url: String,
		request: reqwest::RequestBuilder,
		limit: usize,
	) -> Result<T, ServerError> {
		let started = std::time::Instant::now();
		let response = loop {
			let attempt = request.try_clone().ok_or_else(|| ServerError::Malformed {
				url: url.clone(),
				reason: "the request cannot be sent again".into(),
			})?;
			let response = attempt.send().await.map_err(|e| ServerError::Unreachable {
				url: url.clone(),
				reason: e.to_string(),
			})?;
			let status = response.status();
			if status.is_success() {
				break response;
			}
			let reason = match read_capped(response, &url, ERROR_BODY_CAP).await {
				Ok(bytes) => serde_json::from_slice::<ErrorBody>(&bytes)
					.map(|body| body.error)
					.unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned()),
				Err(error) => error.to_string(),
			};
			let catching_up = status == reqwest::StatusCode::SERVICE_UNAVAILABLE
				&& reason.contains("catching up");
			if catching_up && started.elapsed() + CATCHING_UP_RETRY <= self.catching_up {
				tracing::info!(%url, "the gateway is catching up: waiting");
				tokio::time::sleep(CATCHING_UP_RETRY).await;
				continue;
			}
			return Err(ServerError::Refused { url, status: status.as_u16(), reason });
		};
		let bytes = read_capped(response, &url, limit).await?;
		serde_json::from_slice(&bytes)
			.map_err(|e| ServerError::Malformed { url, reason: e.to_string() })
	}

	/// `POST /v1/ask`.
	pub async fn ask(&self, request: &AskRequest) -> Result<AskResponse, ServerError> {
		let url = format!("{}/v1/ask", self.base);
		let limit = response_cap(request.k.unwrap_or(MAX_ASK_K) as usize);
		self.read(url.clone(), self.http.post(&url).json(request), limit).await
	}

	/// `GET /v1/sync`.
	pub async fn sync(
		&self,
		since: u32,
		cursor: Option<u64>,
		set_start: u32,
	) -> Result<SyncResponse, ServerError> {
		let mut url =
			format!("{}/v1/sync?since={since}&set_start={set_start}&limit={SYNC_PAGE}", self.base);
		if let Some(cursor) = cursor {
			url.push_str(&format!("&cursor={cursor}"));
		}
		self.read(url.clone(), self.http.get(&url), response_cap(SYNC_PAGE as usize))
			.await
	}

	/// `GET /v1/entries/{id}`.
	pub async fn entry(&self, id: u64, set_start: u32) -> Result<Proven, ServerError> {
		let url = format!("{}/v1/entries/{id}?set_start={set_start}", self.base);
		self.read(url.clone(), self.http.get(&url), response_cap(1)).await
	}
}

/// A node (for chain state and proofs) and an IPFS API (for bodies), spoken to directly.
pub struct NodeServer {
	source: ProofSource,
	ipfs: membria_ipfs::Client,
}

impl NodeServer {
	pub fn new(node: &str, ipfs: &str) -> Result<Self, ServerError> {
		Ok(Self {
			source: ProofSource::new(NodeRpc::new(node)),
			ipfs: membria_ipfs::Client::new(ipfs, Default::default())?,
		})
	}

	async fn justified(&self) -> Result<membria_chain::proofs::JustifiedBlock, ServerError> {
		self.source
			.latest_justified(JUSTIFICATION_WINDOW)
			.await?
			.ok_or(ServerError::NoJustification(JUSTIFICATION_WINDOW))
	}

	async fn bodies(
		&self,
		at: sp_core::H256,
		ids: impl IntoIterator<Item = u64>,
	) -> Result<Vec<(u64, [u8; 32], Vec<u8>)>, ServerError> {
		let mut out = Vec::new();
		for id in ids {
			// An entry the node does not show is left out; the proof would not show it either.
			let Some(entry) = self.source.entry(id, at).await? else {
				continue;
			};
			let body = self.ipfs.cat(&entry.cid, entry.size as usize).await?;
			out.push((id, entry.question_key, body));
		}
		Ok(out)
	}

	/// A page of entries validated since `since`, proven at the latest justified block.
	pub async fn sync(
		&self,
		since: u32,
		cursor: Option<u64>,
		set_start: u32,
	) -> Result<SyncResponse, ServerError> {
		let at = self.justified().await?;
		let (validated, next_cursor) =
			self.source.validated_since(at.hash, since, cursor, SYNC_PAGE).await?;
		let current = self
			.source
			.still_validated(at.hash, validated.into_iter().map(|(id, _)| id))
			.await?;
		let entries = self.bodies(at.hash, current).await?;
		let proven = self.source.prove(&at, set_start, entries).await?;
		Ok(SyncResponse { proven, next_cursor, proven_at: at.header.number })
	}

	/// The proven answer to exactly this question (by question key), if the chain has one.
	pub async fn ask(&self, question: &str, set_start: u32) -> Result<AskResponse, ServerError> {
		let at = self.justified().await?;
		let key = question_key(question);
		let answer = self
			.source
			.rpc()
			.storage(&membria_verifier::answer_key(&key), at.hash)
			.await?
			.and_then(|raw| <u64 as codec::Decode>::decode(&mut &raw[..]).ok());
		let Some(id) = answer else {
			return Ok(AskResponse {
				matches: Vec::new(),
				proven: None,
				miss: Some("the chain has no validated answer to this exact question".into()),
				demand: None,
			});
		};
		let entries = self.bodies(at.hash, [id]).await?;
		let proven = self.source.prove(&at, set_start, entries).await?;
		Ok(AskResponse {
			matches: vec![crate::wire::Match { id, score: 1.0 }],
			proven: Some(proven),
			miss: None,
			demand: None,
		})
	}

	/// Entry `id`, proven at the latest justified block.
	pub async fn entry(&self, id: u64, set_start: u32) -> Result<Proven, ServerError> {
		let at = self.justified().await?;
		let entries = self.bodies(at.hash, [id]).await?;
		Ok(self.source.prove(&at, set_start, entries).await?)
	}
}

/// A gateway or a node: where a command gets knowledge from.
pub enum Server {
	Gateway(GatewayClient),
	Node(Box<NodeServer>),
}

impl Server {
	pub async fn sync(
		&self,
		since: u32,
		cursor: Option<u64>,
		set_start: u32,
	) -> Result<SyncResponse, ServerError> {
		match self {
			Self::Gateway(gateway) => gateway.sync(since, cursor, set_start).await,
			Self::Node(node) => node.sync(since, cursor, set_start).await,
		}
	}

	pub async fn ask(&self, request: &AskRequest) -> Result<AskResponse, ServerError> {
		match self {
			Self::Gateway(gateway) => gateway.ask(request).await,
			Self::Node(node) => {
				node.ask(&request.question, request.set_start.unwrap_or_default()).await
			},
		}
	}

	pub async fn entry(&self, id: u64, set_start: u32) -> Result<Proven, ServerError> {
		match self {
			Self::Gateway(gateway) => gateway.entry(id, set_start).await,
			Self::Node(node) => node.entry(id, set_start).await,
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_response_cap_grows_with_what_was_asked_for() {
		let one = response_cap(1);
		let page = response_cap(SYNC_PAGE as usize);
		// A body at the chain's largest size, hex-encoded, fits with its proof and the header.
		assert!(one > 2 * MAX_BODY_SIZE + RESPONSE_OVERHEAD);
		assert!(one < 8 * MAX_BODY_SIZE);
		assert_eq!(page - RESPONSE_OVERHEAD, SYNC_PAGE as usize * (one - RESPONSE_OVERHEAD));
		assert!(page < 450 * MAX_BODY_SIZE, "a page stays bounded: {page}");
		assert_eq!(response_cap(usize::MAX), usize::MAX, "saturates, never wraps");
	}

	/// Serves `responses` in turn, one per connection (then the last again), from a thread.
	fn canned(
		responses: Vec<(u16, &'static str)>,
	) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
		use std::io::{Read, Write};
		let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
		let address = listener.local_addr().unwrap();
		let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
		let count = served.clone();
		std::thread::spawn(move || {
			for mut stream in listener.incoming().flatten() {
				let mut request = [0u8; 4096];
				let _ = stream.read(&mut request);
				let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
				let (status, body) = responses[n.min(responses.len() - 1)];
				let head = format!(
					"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
					body.len()
				);
				let _ = stream.write_all(head.as_bytes());
				let _ = stream.write_all(body.as_bytes());
			}
		});
		(format!("http://{address}"), served)
	}

	const CATCHING_UP: &str =
		r#"{"error":"no justified finalized block yet: the gateway is catching up"}"#;

	fn ask() -> AskRequest {
		AskRequest {
			question: "What is Ethernet?".into(),
			k: Some(1),
			file_demand: Some(false),
			set_start: Some(0),
		}
	}

	#[tokio::test]
	async fn a_gateway_catching_up_is_waited_for() {
		let answer = r#"{"matches":[],"proven":null,"miss":"nothing cached","demand":null}"#;
		let (url, served) = canned(vec![(503, CATCHING_UP), (503, CATCHING_UP), (200, answer)]);
		let response = GatewayClient::new(&url).ask(&ask()).await.expect("answered once caught up");
		assert_eq!(response.miss.as_deref(), Some("nothing cached"));
		assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 3);
	}

	#[tokio::test]
	async fn a_gateway_that_never_catches_up_or_fails_otherwise_is_reported() {
		let (url, _) = canned(vec![(503, CATCHING_UP)]);
		let client = GatewayClient::new(&url).waiting_for_catch_up(Duration::from_secs(1));
		match client.ask(&ask()).await {
			Err(ServerError::Refused { status: 503, reason, .. }) => {
				assert!(reason.contains("catching up"), "{reason}")
			},
			other => panic!("{other:?}"),
		}
		// Another 503 is not waited for.
		let (url, served) = canned(vec![(503, r#"{"error":"the node is unreachable"}"#)]);
		assert!(GatewayClient::new(&url).ask(&ask()).await.is_err());
		assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 1);
	}

	#[test]
	fn the_running_limit_refuses_the_byte_past_it() {
		assert!(within_cap(0, 10, 10));
		assert!(within_cap(6, 4, 10));
		assert!(!within_cap(6, 5, 10));
		assert!(!within_cap(usize::MAX, 1, usize::MAX), "no overflow");
		// Chunk by chunk, as a streamed body arrives.
		let limit = 1000;
		let mut read = 0;
		let mut refused_at = None;
		for chunk in std::iter::repeat_n(64usize, 100) {
			if !within_cap(read, chunk, limit) {
				refused_at = Some(read);
				break;
			}
			read += chunk;
		}
		assert_eq!(refused_at, Some(960));
	}
}
