//! # Membria gateway
//!
//! Serves devices validated knowledge over HTTP, untrusted by design: every entry it returns
//! comes with the material a device proves it with ([`membria_client::wire::Proven`]: a
//! GRANDPA-justified header, one storage proof, the bodies), so a lying gateway is caught, not
//! believed.
//!
//! - A follower ([`follow`]) tracks finalized blocks: the newest one the node keeps a
//!   justification for (what proofs are made against), and every entry validated since, whose
//!   body it fetches from IPFS (checked against its CID), checks against the entry, embeds with
//!   the device's model and indexes.
//! - `POST /v1/ask`: the best matching validated entries with proofs, or a miss — and demand
//!   filed on chain (`Dod.request_knowledge`) with the gateway's own account.
//! - `GET /v1/entries/{id}`, `GET /v1/sync?since=B`, `GET /v1/events` (server-sent events),
//!   `GET /metrics` (Prometheus), `GET /openapi.json`, `GET /health`.
//! - The explorer ([`pages`]): a web page at `/` (its assets built into the binary) over
//!   `GET /v1/explorer/…`, what the [`explorer`] reads of the chain's events and state through
//!   the runtime's metadata — entries' histories and votes, validators, demand and gaps — and
//!   `GET /v1/explorer/events`, each finalized block's news as server-sent events.
//! - Requests under `/v1` are rate-limited per client ([`ratelimit`]: the peer, or the client a
//!   trusted proxy names in `X-Forwarded-For`); bad input is a 4xx with `{"error": reason}`.

// The OpenAPI document is one `json!` literal, deeper than the default macro recursion.
#![recursion_limit = "256"]

mod api;
mod embedding;
mod explorer;
mod follow;
mod metrics;
mod openapi;
mod pages;
mod proofs;
mod ratelimit;

use std::{
	collections::HashMap,
	net::SocketAddr,
	path::PathBuf,
	sync::{atomic::AtomicU32, Arc, Mutex, RwLock},
	time::Duration,
};

use membria_chain::{
	extrinsics::DemandFiler,
	proofs::{JustifiedBlock, ProofSource},
	rpc::NodeRpc,
};
use membria_client::wire::ValidatedEvent;
use membria_embed::{Embedder, Index};

use crate::{embedding::Embeddings, proofs::Proofs};
use membria_primitives::QuestionKey;
use tokio::sync::broadcast;

pub use openapi::openapi;

/// How the gateway runs.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
	/// The node's RPC (`ws://` or `http://`).
	pub node: String,
	/// The IPFS (Kubo RPC) API.
	pub ipfs: String,
	/// The sentence-embedding model's directory (the device's model).
	pub model_dir: PathBuf,
	/// Secret URI of the account that files demand; none files no demand.
	pub demand_seed: Option<String>,
	/// Requests per second each client address may make under `/v1` (sustained).
	pub rate_per_second: f64,
	/// Requests a client may burst above the sustained rate.
	pub burst: f64,
	/// Proxies whose `X-Forwarded-For` names the client (none: the peer is the client).
	pub trusted_proxies: Vec<ipnet::IpNet>,
	/// How often the follower polls the node.
	pub poll: Duration,
	/// The similarities a match needs (the device's rule: [`membria_embed::matcher`]).
	pub thresholds: membria_embed::Thresholds,
	/// How many finalized blocks back the explorer reads events from when the gateway starts.
	pub explorer_history: u32,
	/// How many questions' embeddings, and lookups, are kept for when they are asked again
	/// (0: none).
	pub embedding_cache: usize,
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
	#[error("the embedding model: {0}")]
	Embed(#[from] membria_embed::EmbedError),
	#[error("IPFS client: {0}")]
	Ipfs(#[from] membria_ipfs::IpfsError),
	#[error("demand account: {0}")]
	Demand(#[from] membria_chain::extrinsics::TxError),
	#[error("starting the embedding model's thread: {0}")]
	Thread(std::io::Error),
	#[error("serving on {addr}: {source}")]
	Serve { addr: SocketAddr, source: std::io::Error },
}

/// An entry the gateway indexed.
#[derive(Clone, Debug)]
pub(crate) struct Indexed {
	pub question_key: QuestionKey,
	/// The question as its body asks it, and the CID in text form (for the explorer).
	pub question: String,
	pub cid: String,
	pub body: Vec<u8>,
	pub validated_at: u32,
}

pub(crate) struct Knowledge {
	pub index: Index,
	pub entries: HashMap<u64, Indexed>,
	/// `(validated at, id)` of every indexed entry: the explorer lists the newest first.
	pub newest: std::collections::BTreeSet<(u32, u64)>,
	/// The indexed answer to each question (the newest validated one supersedes the others).
	pub by_question: HashMap<QuestionKey, u64>,
}

impl Knowledge {
	pub fn insert(&mut self, id: u64, indexed: Indexed) {
		if let Some(old) = self.entries.get(&id) {
			self.newest.remove(&(old.validated_at, id));
		}
		self.newest.insert((indexed.validated_at, id));
		self.by_question.insert(indexed.question_key, id);
		self.entries.insert(id, indexed);
	}

	pub fn remove(&mut self, id: u64) {
		if let Some(old) = self.entries.remove(&id) {
			self.newest.remove(&(old.validated_at, id));
			if self.by_question.get(&old.question_key) == Some(&id) {
				self.by_question.remove(&old.question_key);
			}
		}
		self.index.remove(id);
	}
}

/// What the handlers and the follower share.
pub(crate) struct Shared {
	pub config: GatewayConfig,
	pub source: ProofSource,
	pub ipfs: membria_ipfs::Client,
	/// The embedding model (its own thread, batching) and the question cache.
	pub embeddings: Embeddings,
	/// Lookups of questions asked before, valid while the index is unchanged (none without an
	/// embedding cache).
	pub lookups: Option<api::Lookups>,
	pub knowledge: Mutex<Knowledge>,
	/// Entry proofs and set changes at the justified block, made once and reused.
	pub proofs: Proofs,
	/// The newest finalized block with a stored justification: what proofs are made at.
	pub justified: RwLock<Option<JustifiedBlock>>,
	pub finalized: AtomicU32,
	pub demand: Option<DemandFiler>,
	/// Question keys this gateway filed demand for, and when. A filing is not proof that the
	/// chain took it (a block opens at most 12 new demands; the rest fail at dispatch), so the
	/// same question is filed again after [`api::REFILE_AFTER`].
	pub filed: tokio::sync::Mutex<HashMap<QuestionKey, std::time::Instant>>,
	pub events: broadcast::Sender<ValidatedEvent>,
	pub metrics: metrics::Metrics,
	pub limiter: ratelimit::Limiter,
	pub explorer: explorer::Explorer,
	/// Server-sent event streams open now (devices' and explorer pages'), bounded.
	pub streams: api::Streams,
}

impl Shared {
	/// The number of the justified block proofs are made at, once there is one.
	pub fn justified_number(&self) -> Option<u32> {
		self.justified
			.read()
			.ok()
			.and_then(|slot| slot.as_ref().map(|j| j.header.number))
	}

	/// How many validated entries are indexed.
	pub fn indexed(&self) -> usize {
		self.knowledge.lock().map(|k| k.entries.len()).unwrap_or_default()
	}
}

/// Starts the follower and serves the API on `listener` until `shutdown` completes.
pub async fn run(
	config: GatewayConfig,
	listener: tokio::net::TcpListener,
	shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
	let addr = listener.local_addr().map_err(|source| GatewayError::Serve {
		addr: SocketAddr::from(([0, 0, 0, 0], 0)),
		source,
	})?;
	let shared = shared(config)?;
	let follower = tokio::spawn(follow::follow(shared.clone()));
	tracing::info!(%addr, node = %shared.config.node, "gateway serving");
	// Answers go out as soon as they are written: without TCP_NODELAY the last segment of a
	// proof-sized response waits for the client's delayed ACK (tens of milliseconds).
	let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
		if let Err(error) = stream.set_nodelay(true) {
			tracing::debug!(%error, "TCP_NODELAY on a connection");
		}
	});
	let served = axum::serve(
		listener,
		api::router(shared).into_make_service_with_connect_info::<SocketAddr>(),
	)
	.with_graceful_shutdown(shutdown)
	.await;
	follower.abort();
	served.map_err(|source| GatewayError::Serve { addr, source })
}

fn shared(config: GatewayConfig) -> Result<Arc<Shared>, GatewayError> {
	let embedder = Embedder::load(&config.model_dir)?;
	let index = Index::new(embedder.dimension(), tch::Device::Cpu);
	let embeddings =
		Embeddings::start(embedder, config.embedding_cache).map_err(GatewayError::Thread)?;
	let demand = config.demand_seed.as_deref().map(DemandFiler::new).transpose()?;
	if let Some(demand) = &demand {
		tracing::info!(account = %demand.account(), "filing demand for misses");
	}
	let (events, _) = broadcast::channel(1024);
	Ok(Arc::new(Shared {
		source: ProofSource::new(NodeRpc::new(&config.node)),
		ipfs: membria_ipfs::Client::new(&config.ipfs, Default::default())?,
		embeddings,
		lookups: (config.embedding_cache > 0).then(|| api::Lookups::new(config.embedding_cache)),
		knowledge: Mutex::new(Knowledge {
			index,
			entries: HashMap::new(),
			newest: Default::default(),
			by_question: HashMap::new(),
		}),
		proofs: Proofs::default(),
		justified: RwLock::new(None),
		finalized: AtomicU32::new(0),
		demand,
		filed: tokio::sync::Mutex::new(HashMap::new()),
		events,
		metrics: metrics::Metrics::default(),
		limiter: ratelimit::Limiter::new(
			config.rate_per_second,
			config.burst,
			config.trusted_proxies.clone(),
		),
		explorer: explorer::Explorer::new(config.explorer_history),
		streams: api::Streams::default(),
		config,
	}))
}
