//! Where a device gets knowledge from: a gateway ([`GatewayClient`]) or a node and an IPFS API
//! directly ([`NodeServer`]). Both hand back [`Proven`] material the device checks itself.

use std::time::Duration;

use membria_primitives::question_key;
use serde::de::DeserializeOwned;

use crate::{
	rpc::{NodeRpc, RpcError},
	source::ProofSource,
	wire::{AskRequest, AskResponse, ErrorBody, Proven, SyncResponse},
};

/// The most entries one sync page asks for.
pub const SYNC_PAGE: u32 = 200;
/// How far back from the finalized head to look for a stored justification.
pub const JUSTIFICATION_WINDOW: u32 = 64;

/// Why a server could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
	#[error("{url} is unreachable: {reason}")]
	Unreachable { url: String, reason: String },
	#[error("{url} refused ({status}): {reason}")]
	Refused {
		url: String,
		status: u16,
		reason: String,
	},
	#[error("{url} answered something malformed or truncated: {reason}")]
	Malformed { url: String, reason: String },
	#[error(transparent)]
	Node(#[from] RpcError),
	#[error("IPFS: {0}")]
	Ipfs(#[from] membria_ipfs::IpfsError),
	#[error("the node keeps no GRANDPA justification in its last {0} finalized blocks (start it with --justification-period 1)")]
	NoJustification(u32),
}

/// A client of a Membria gateway.
pub struct GatewayClient {
	http: reqwest::Client,
	base: String,
}

impl GatewayClient {
	pub fn new(base: &str) -> Self {
		let http = reqwest::Client::builder()
			.timeout(Duration::from_secs(120))
			.build()
			.unwrap_or_default();
		Self {
			http,
			base: base.trim_end_matches('/').to_string(),
		}
	}

	async fn read<T: DeserializeOwned>(
		&self,
		url: String,
		request: reqwest::RequestBuilder,
	) -> Result<T, ServerError> {
		let response = request.send().await.map_err(|e| ServerError::Unreachable {
			url: url.clone(),
			reason: e.to_string(),
		})?;
		let status = response.status();
		let bytes = response.bytes().await.map_err(|e| ServerError::Malformed {
			url: url.clone(),
			reason: e.to_string(),
		})?;
		if !status.is_success() {
			let reason = serde_json::from_slice::<ErrorBody>(&bytes)
				.map(|body| body.error)
				.unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
			return Err(ServerError::Refused {
				url,
				status: status.as_u16(),
				reason,
			});
		}
		serde_json::from_slice(&bytes).map_err(|e| ServerError::Malformed {
			url,
			reason: e.to_string(),
		})
	}

	/// `POST /v1/ask`.
	pub async fn ask(&self, request: &AskRequest) -> Result<AskResponse, ServerError> {
		let url = format!("{}/v1/ask", self.base);
		self.read(url.clone(), self.http.post(&url).json(request))
			.await
	}

	/// `GET /v1/sync`.
	pub async fn sync(
		&self,
		since: u32,
		cursor: Option<u64>,
		set_start: u32,
	) -> Result<SyncResponse, ServerError> {
		let mut url = format!(
			"{}/v1/sync?since={since}&set_start={set_start}&limit={SYNC_PAGE}",
			self.base
		);
		if let Some(cursor) = cursor {
			url.push_str(&format!("&cursor={cursor}"));
		}
		self.read(url.clone(), self.http.get(&url)).await
	}

	/// `GET /v1/entries/{id}`.
	pub async fn entry(&self, id: u64, set_start: u32) -> Result<Proven, ServerError> {
		let url = format!("{}/v1/entries/{id}?set_start={set_start}", self.base);
		self.read(url.clone(), self.http.get(&url)).await
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

	async fn justified(&self) -> Result<crate::source::JustifiedBlock, ServerError> {
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
		let (validated, next_cursor) = self
			.source
			.validated_since(at.hash, since, cursor, SYNC_PAGE)
			.await?;
		let current = self
			.source
			.still_validated(at.hash, validated.into_iter().map(|(id, _)| id))
			.await?;
		let entries = self.bodies(at.hash, current).await?;
		let proven = self.source.prove(&at, set_start, entries).await?;
		Ok(SyncResponse {
			proven,
			next_cursor,
			proven_at: at.header.number,
		})
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
				node.ask(&request.question, request.set_start.unwrap_or_default())
					.await
			}
		}
	}

	pub async fn entry(&self, id: u64, set_start: u32) -> Result<Proven, ServerError> {
		match self {
			Self::Gateway(gateway) => gateway.entry(id, set_start).await,
			Self::Node(node) => node.entry(id, set_start).await,
		}
	}
}
