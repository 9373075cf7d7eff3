//! The embedded IPFS node: the Kubo RPC subset Membria uses, over a [`BlockStore`].
//!
//! Endpoints (all `POST`, as in Kubo; other methods get 405): `/api/v0/add`, `cat`, `block/get`,
//! `block/stat`, `pin/add`, `pin/ls`, `pin/rm`, `version`, `id`. Requests and responses use
//! Kubo's formats (arguments in `?arg=`, NDJSON from `add` with sizes as strings, errors as
//! `{"Message","Code","Type"}`), so an unmodified Kubo client works against it and the same
//! client works against a real Kubo. With `peers` (other such nodes, or Kubo), a block it lacks
//! is fetched from them with `block/get` (asked with `offline=true`, so requests do not bounce
//! between peers), checked against its CID and stored: enough for the validators of a local
//! network, each with its own node, to read the bodies one of them added.

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use axum::{
	extract::{multipart::MultipartRejection, DefaultBodyLimit, Multipart, Query, State},
	http::{header, StatusCode},
	response::{IntoResponse, Response},
	routing::post,
	Json, Router,
};
use base64::Engine as _;
use membria_primitives::{
	unixfs::{cid_from_text, cid_to_text, decode_node},
	validate_cid, CidVersion, ContentCodec,
};
use serde_json::json;
use sp_core::Pair as _;

use crate::blockstore::{BlockStore, StoreError};

/// The Kubo RPC version this server mirrors in `version`.
pub const KUBO_COMPATIBLE_VERSION: &str = "0.22.0";

/// How the embedded node is run.
#[derive(Clone, Debug)]
pub struct ServerOptions {
	/// The largest request body `add` accepts, in bytes.
	pub max_add_bytes: usize,
	/// The largest file `cat` assembles, in bytes.
	pub max_cat_bytes: u64,
	/// Kubo RPC roots (`http://host:port`) missing blocks are fetched from.
	pub peers: Vec<String>,
}

impl Default for ServerOptions {
	fn default() -> Self {
		Self { max_add_bytes: 64 << 20, max_cat_bytes: 256 << 20, peers: Vec::new() }
	}
}

/// The most blocks one request fetches from peers (a 256 MiB file is ~1,000 blocks).
const MAX_FETCHED_BLOCKS: usize = 4_096;

struct Node {
	store: BlockStore,
	http: reqwest::Client,
	options: ServerOptions,
	peer_id: String,
	public_key: String,
}

type Shared = State<Arc<Node>>;
type Args = Query<Vec<(String, String)>>;

/// A Kubo-style error: JSON `{"Message","Code":0,"Type":"error"}` with a status.
#[derive(Debug)]
pub struct KuboError {
	status: StatusCode,
	message: String,
}

impl KuboError {
	fn bad_request(message: impl Into<String>) -> Self {
		Self { status: StatusCode::BAD_REQUEST, message: message.into() }
	}
	fn internal(message: impl Into<String>) -> Self {
		Self { status: StatusCode::INTERNAL_SERVER_ERROR, message: message.into() }
	}
}

impl From<StoreError> for KuboError {
	fn from(error: StoreError) -> Self {
		match error {
			StoreError::TooLarge { .. } => Self::bad_request(error.to_string()),
			_ => Self::internal(error.to_string()),
		}
	}
}

impl IntoResponse for KuboError {
	fn into_response(self) -> Response {
		let body = Json(json!({ "Message": self.message, "Code": 0, "Type": "error" }));
		(self.status, body).into_response()
	}
}

/// The query arguments of one request.
struct Arguments(HashMap<String, Vec<String>>);

impl Arguments {
	fn new(pairs: Vec<(String, String)>) -> Self {
		let mut map: HashMap<String, Vec<String>> = HashMap::new();
		for (key, value) in pairs {
			map.entry(key).or_default().push(value);
		}
		Self(map)
	}

	fn first(&self, key: &str) -> Option<&str> {
		self.0.get(key).and_then(|values| values.first()).map(String::as_str)
	}

	fn flag(&self, key: &str, default: bool) -> Result<bool, KuboError> {
		match self.first(key) {
			None | Some("") => Ok(default),
			Some("true" | "1") => Ok(true),
			Some("false" | "0") => Ok(false),
			Some(other) => Err(KuboError::bad_request(format!(
				"invalid value {other:?} for option {key:?}: expected true or false"
			))),
		}
	}

	fn number(&self, key: &str) -> Result<Option<u64>, KuboError> {
		self.first(key)
			.map(|value| {
				value.parse().map_err(|_| {
					KuboError::bad_request(format!("invalid value {value:?} for option {key:?}"))
				})
			})
			.transpose()
	}

	/// The `arg` values as binary CIDs (`/ipfs/<cid>` paths are accepted).
	fn cids(&self) -> Result<Vec<Vec<u8>>, KuboError> {
		let args = self.0.get("arg").map(Vec::as_slice).unwrap_or_default();
		if args.is_empty() {
			return Err(KuboError::bad_request("argument \"ipfs-path\" is required"));
		}
		args.iter().map(|arg| parse_path(arg)).collect()
	}

	fn cid(&self) -> Result<Vec<u8>, KuboError> {
		self.cids()?
			.into_iter()
			.next()
			.ok_or_else(|| KuboError::bad_request("argument \"ipfs-path\" is required"))
	}
}

fn parse_path(arg: &str) -> Result<Vec<u8>, KuboError> {
	let text = arg.strip_prefix("/ipfs/").unwrap_or(arg);
	if text.contains('/') {
		return Err(KuboError::bad_request(format!(
			"invalid path {arg:?}: paths inside a DAG are not supported by this node"
		)));
	}
	cid_from_text(text)
		.map_err(|error| KuboError::bad_request(format!("invalid path {arg:?}: {error:?}")))
}

async fn blocking<T: Send + 'static>(
	work: impl FnOnce() -> Result<T, KuboError> + Send + 'static,
) -> Result<T, KuboError> {
	tokio::task::spawn_blocking(work)
		.await
		.map_err(|error| KuboError::internal(format!("worker failed: {error}")))?
}

/// Builds the router of the embedded node over `store`.
pub fn router(store: BlockStore, options: ServerOptions) -> Result<Router, StoreError> {
	let seed = store.identity_seed()?;
	let public = sp_core::ed25519::Pair::from_seed(&seed).public();
	// libp2p's protobuf PublicKey { Type: Ed25519, Data: key } and its identity-multihash peer id.
	let mut key = vec![0x08, 0x01, 0x12, 0x20];
	key.extend_from_slice(public.as_ref());
	let mut peer = vec![0x00, key.len() as u8];
	peer.extend_from_slice(&key);
	let node = Arc::new(Node {
		peer_id: bs58::encode(peer).into_string(),
		public_key: base64::engine::general_purpose::STANDARD.encode(&key),
		store,
		http: reqwest::Client::builder()
			.timeout(std::time::Duration::from_secs(10))
			.build()
			.unwrap_or_default(),
		options,
	});
	let limit = node.options.max_add_bytes;
	let metrics = membria_metrics::HttpMetrics::new("ipfs");
	Ok(metrics
		.layer(
			Router::new()
				.route("/api/v0/add", post(add))
				.route("/api/v0/cat", post(cat))
				.route("/api/v0/block/get", post(block_get))
				.route("/api/v0/block/stat", post(block_stat))
				.route("/api/v0/pin/add", post(pin_add))
				.route("/api/v0/pin/ls", post(pin_ls))
				.route("/api/v0/pin/rm", post(pin_rm))
				.route("/api/v0/version", post(version))
				.route("/api/v0/id", post(id))
				.layer(DefaultBodyLimit::max(limit)),
		)
		.with_state(node))
}

/// Serves the embedded node on `listener` until `shutdown` completes.
pub async fn serve(
	listener: tokio::net::TcpListener,
	store: BlockStore,
	options: ServerOptions,
	shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
	let app = router(store, options).map_err(std::io::Error::other)?;
	let address: SocketAddr = listener.local_addr()?;
	tracing::info!(%address, "embedded IPFS node (Kubo RPC) listening");
	axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

async fn add(
	State(node): Shared,
	Query(args): Args,
	multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, KuboError> {
	let args = Arguments::new(args);
	let version = match args.number("cid-version")? {
		None | Some(0) => CidVersion::V0,
		Some(1) => CidVersion::V1,
		Some(other) => return Err(KuboError::bad_request(format!("unknown CID version: {other}"))),
	};
	let raw_leaves = args.flag("raw-leaves", version == CidVersion::V1)?;
	if raw_leaves != (version == CidVersion::V1) {
		return Err(KuboError::bad_request(
			"this node builds CIDv0 with dag-pb leaves and CIDv1 with raw leaves only",
		));
	}
	if let Some(chunker) = args.first("chunker").filter(|c| *c != "size-262144") {
		return Err(KuboError::bad_request(format!(
			"unsupported chunker {chunker:?}: only size-262144 is served"
		)));
	}
	if let Some(hash) = args.first("hash").filter(|h| *h != "sha2-256") {
		return Err(KuboError::bad_request(format!(
			"unsupported hash {hash:?}: only sha2-256 is served"
		)));
	}
	let pin = args.flag("pin", true)?;
	let only_hash = args.flag("only-hash", false)?;
	let mut multipart = multipart.map_err(|rejection| {
		KuboError::bad_request(format!("malformed multipart request: {}", rejection.body_text()))
	})?;
	let mut files = Vec::new();
	while let Some(field) = multipart
		.next_field()
		.await
		.map_err(|error| KuboError::bad_request(format!("malformed multipart request: {error}")))?
	{
		if field.content_type() == Some("application/x-directory") {
			return Err(KuboError::bad_request("directories are not supported by this node"));
		}
		let name = field.file_name().map(str::to_string);
		let data = field.bytes().await.map_err(|error| {
			KuboError::bad_request(format!("malformed multipart request: {error}"))
		})?;
		files.push((name, data));
	}
	if files.is_empty() {
		return Err(KuboError::bad_request("file argument 'path' is required"));
	}
	let lines = blocking(move || {
		let mut lines = String::new();
		for (name, data) in files {
			let (root, dag_size) = if only_hash {
				let mut size = 0u64;
				let root = membria_primitives::unixfs::add_file(&data, version, |block| {
					size += block.data.len() as u64
				});
				(root, size)
			} else {
				node.store.add_file(&data, version)?
			};
			if pin && !only_hash {
				node.store.pin(&root)?;
			}
			let hash = cid_to_text(&root);
			let name = name.filter(|name| !name.is_empty()).unwrap_or_else(|| hash.clone());
			let line = json!({ "Name": name, "Hash": hash, "Size": dag_size.to_string() });
			lines.push_str(&line.to_string());
			lines.push('\n');
		}
		Ok(lines)
	})
	.await?;
	Ok((
		[
			(header::CONTENT_TYPE, "application/json"),
			(header::HeaderName::from_static("x-chunked-output"), "1"),
		],
		lines,
	)
		.into_response())
}

/// Fetches the blocks of the DAG under `cid` this store lacks from the peers (unless `offline`),
/// each checked against its CID before it is stored.
async fn fetch_missing(node: &Arc<Node>, cid: &[u8], offline: bool) -> Result<(), KuboError> {
	if offline || node.options.peers.is_empty() {
		return Ok(());
	}
	let mut pending = vec![cid.to_vec()];
	let mut fetched = 0;
	while let Some(cid) = pending.pop() {
		let data = if node.store.has(&cid) {
			let store = node.clone();
			let wanted = cid.clone();
			blocking(move || Ok(store.store.get(&wanted)?)).await?
		} else {
			fetched += 1;
			if fetched > MAX_FETCHED_BLOCKS {
				return Err(KuboError::bad_request("the DAG has too many blocks to fetch"));
			}
			let data = fetch_block(node, &cid).await?;
			node.store
				.put(&membria_primitives::unixfs::Block { cid: cid.clone(), data: data.clone() })
				.map_err(KuboError::from)?;
			data
		};
		if validate_cid(&cid).map(|(_, codec, _)| codec) == Ok(ContentCodec::DagPb) {
			if let Ok(decoded) = decode_node(&data) {
				pending.extend(decoded.links);
			}
		}
	}
	Ok(())
}

/// One block from the first peer that has it and sends the right bytes.
async fn fetch_block(node: &Node, cid: &[u8]) -> Result<Vec<u8>, KuboError> {
	let text = cid_to_text(cid);
	let (_, _, digest) =
		validate_cid(cid).map_err(|_| KuboError::bad_request(format!("invalid CID {text}")))?;
	for peer in &node.options.peers {
		let url =
			format!("{}/api/v0/block/get?arg={text}&offline=true", peer.trim_end_matches('/'));
		let Ok(response) = node.http.post(&url).send().await else {
			continue;
		};
		if !response.status().is_success() {
			continue;
		}
		let Ok(data) = response.bytes().await else {
			continue;
		};
		if sp_crypto_hashing::sha2_256(&data) == digest {
			tracing::debug!(cid = %text, %peer, "fetched a block from a peer");
			return Ok(data.to_vec());
		}
		tracing::warn!(cid = %text, %peer, "a peer sent a block that does not match its CID");
	}
	Err(KuboError::from(StoreError::NotFound(text)))
}

async fn cat(State(node): Shared, Query(args): Args) -> Result<Response, KuboError> {
	let args = Arguments::new(args);
	let cid = args.cid()?;
	fetch_missing(&node, &cid, args.flag("offline", false)?).await?;
	let offset = args.number("offset")?.unwrap_or(0);
	let length = args.number("length")?;
	let data = blocking(move || Ok(node.store.cat(&cid, node.options.max_cat_bytes)?)).await?;
	let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
	let end = match length {
		Some(length) => start.saturating_add(usize::try_from(length).unwrap_or(usize::MAX)),
		None => data.len(),
	}
	.min(data.len());
	Ok(([(header::CONTENT_TYPE, "text/plain")], data[start..end].to_vec()).into_response())
}

async fn block_get(State(node): Shared, Query(args): Args) -> Result<Response, KuboError> {
	let args = Arguments::new(args);
	let cid = args.cid()?;
	if !node.store.has(&cid) && !args.flag("offline", false)? && !node.options.peers.is_empty() {
		let data = fetch_block(&node, &cid).await?;
		node.store
			.put(&membria_primitives::unixfs::Block { cid: cid.clone(), data })
			.map_err(KuboError::from)?;
	}
	let data = blocking(move || Ok(node.store.get(&cid)?)).await?;
	Ok(([(header::CONTENT_TYPE, "text/plain")], data).into_response())
}

async fn block_stat(State(node): Shared, Query(args): Args) -> Result<Response, KuboError> {
	let cid = Arguments::new(args).cid()?;
	let text = cid_to_text(&cid);
	let size = blocking(move || Ok(node.store.get(&cid)?.len())).await?;
	Ok(Json(json!({ "Key": text, "Size": size })).into_response())
}

async fn pin_add(State(node): Shared, Query(args): Args) -> Result<Response, KuboError> {
	let args = Arguments::new(args);
	if !args.flag("recursive", true)? {
		return Err(KuboError::bad_request("only recursive pins are supported by this node"));
	}
	let cids = args.cids()?;
	let pins = blocking(move || {
		cids.iter()
			.map(|cid| {
				node.store.pin(cid)?;
				Ok(cid_to_text(cid))
			})
			.collect::<Result<Vec<_>, KuboError>>()
	})
	.await?;
	Ok(Json(json!({ "Pins": pins })).into_response())
}

async fn pin_ls(State(node): Shared, Query(args): Args) -> Result<Response, KuboError> {
	let args = Arguments::new(args);
	if let Some(kind) = args.first("type").filter(|t| !matches!(*t, "all" | "recursive")) {
		if !matches!(kind, "direct" | "indirect") {
			return Err(KuboError::bad_request(format!("invalid type {kind:?}")));
		}
		return Ok(Json(json!({ "Keys": {} })).into_response());
	}
	let wanted = if args.0.contains_key("arg") { Some(args.cids()?) } else { None };
	let keys = blocking(move || {
		let mut keys = serde_json::Map::new();
		match wanted {
			Some(cids) => {
				for cid in cids {
					if !node.store.is_pinned(&cid) {
						return Err(KuboError::internal(format!(
							"path '{}' is not pinned",
							cid_to_text(&cid)
						)));
					}
					keys.insert(cid_to_text(&cid), json!({ "Type": "recursive" }));
				}
			},
			None => {
				for pin in node.store.pins()? {
					keys.insert(pin, json!({ "Type": "recursive" }));
				}
			},
		}
		Ok(keys)
	})
	.await?;
	Ok(Json(json!({ "Keys": keys })).into_response())
}

async fn pin_rm(State(node): Shared, Query(args): Args) -> Result<Response, KuboError> {
	let cids = Arguments::new(args).cids()?;
	let pins = blocking(move || {
		cids.iter()
			.map(|cid| {
				node.store.unpin(cid)?;
				Ok(cid_to_text(cid))
			})
			.collect::<Result<Vec<_>, KuboError>>()
	})
	.await?;
	Ok(Json(json!({ "Pins": pins })).into_response())
}

async fn version() -> Json<serde_json::Value> {
	Json(json!({
		"Version": KUBO_COMPATIBLE_VERSION,
		"Commit": concat!("membria-ipfs-", env!("CARGO_PKG_VERSION")),
		"Repo": "15",
		"System": format!("{}/{}", std::env::consts::ARCH, std::env::consts::OS),
		"Golang": "none (Rust)",
	}))
}

async fn id(State(node): Shared) -> Json<serde_json::Value> {
	Json(json!({
		"ID": node.peer_id,
		"PublicKey": node.public_key,
		"Addresses": [],
		"AgentVersion": concat!("membria-ipfs/", env!("CARGO_PKG_VERSION")),
		"ProtocolVersion": "ipfs/0.1.0",
		"Protocols": [],
	}))
}
