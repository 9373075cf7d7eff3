//! The HTTP API.

use std::{
	convert::Infallible,
	net::SocketAddr,
	sync::{atomic::Ordering, Arc},
	time::Duration,
};

use axum::{
	extract::{rejection::JsonRejection, ConnectInfo, Path, Query, Request, State},
	http::{header, StatusCode},
	middleware::{self, Next},
	response::{
		sse::{Event, KeepAlive, Sse},
		IntoResponse, Response,
	},
	routing::{get, post},
	Json, Router,
};
use futures::Stream;
use membria_chain::proofs::JustifiedBlock;
use membria_client::wire::{
	AskRequest, AskResponse, DemandFiled, ErrorBody, HexBytes, Match, Proven, ProvenBody,
	SyncResponse,
};
use membria_embed::{Miss, Scored};
use membria_offchain::body::MAX_QUESTION_BYTES;
use membria_primitives::{question_key, QuestionKey};
use membria_verifier::EntryStatus;
use serde::Deserialize;

use crate::{embedding::EmbedFailure, proofs::Reader, Shared};

/// Default and largest `k` of `/v1/ask`.
const DEFAULT_K: u32 = 3;
const MAX_K: u32 = 10;
/// Default and largest page of `/v1/sync`.
const DEFAULT_PAGE: u32 = 200;
const MAX_PAGE: u32 = 1_000;

/// A refusal: a status and a reason, as `{"error": reason}`.
pub struct ApiError {
	status: StatusCode,
	reason: String,
}

impl ApiError {
	pub(crate) fn bad(reason: impl Into<String>) -> Self {
		Self { status: StatusCode::BAD_REQUEST, reason: reason.into() }
	}

	pub(crate) fn not_found(reason: impl Into<String>) -> Self {
		Self { status: StatusCode::NOT_FOUND, reason: reason.into() }
	}

	pub(crate) fn unavailable(reason: impl Into<String>) -> Self {
		Self { status: StatusCode::SERVICE_UNAVAILABLE, reason: reason.into() }
	}

	pub(crate) fn upstream(reason: impl ToString) -> Self {
		Self { status: StatusCode::BAD_GATEWAY, reason: reason.to_string() }
	}
}

impl IntoResponse for ApiError {
	fn into_response(self) -> Response {
		(self.status, Json(ErrorBody { error: self.reason })).into_response()
	}
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The gateway's routes over its shared state.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
	let v1 = Router::new()
		.route("/v1/ask", post(ask))
		.route("/v1/entries/{id}", get(entry))
		.route("/v1/sync", get(sync))
		.route("/v1/events", get(events))
		.merge(crate::pages::api())
		.route_layer(middleware::from_fn_with_state(shared.clone(), rate_limit));
	let routes = Router::new()
		.merge(v1)
		.route("/openapi.json", get(|| async { Json(crate::openapi()) }))
		.route("/health", get(health))
		.merge(crate::pages::assets());
	shared
		.metrics
		.http
		.layer(routes)
		.fallback(|| async { ApiError::not_found("no such endpoint (see /openapi.json)") })
		.layer(middleware::from_fn_with_state(shared.clone(), count_refusals))
		.with_state(shared)
}

async fn rate_limit(
	State(shared): State<Arc<Shared>>,
	ConnectInfo(client): ConnectInfo<SocketAddr>,
	request: Request,
	next: Next,
) -> Response {
	let client = shared.limiter.client(client.ip(), request.headers());
	match shared.limiter.take(client) {
		Ok(()) => {
			let mut request = request;
			request.extensions_mut().insert(Client(client));
			next.run(request).await
		},
		Err(wait) => {
			shared.metrics.rate_limited.inc();
			let seconds = wait.ceil().clamp(1.0, 3600.0) as u64;
			let mut response = ApiError {
				status: StatusCode::TOO_MANY_REQUESTS,
				reason: format!("rate limit: retry in {seconds} s"),
			}
			.into_response();
			if let Ok(value) = seconds.to_string().parse() {
				response.headers_mut().insert(header::RETRY_AFTER, value);
			}
			response
		},
	}
}

async fn count_refusals(
	State(shared): State<Arc<Shared>>,
	request: Request,
	next: Next,
) -> Response {
	let response = next.run(request).await;
	let status = response.status();
	if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
		shared.metrics.bad_requests.inc();
	} else if status.is_server_error() {
		shared.metrics.server_errors.inc();
	}
	response
}

fn justified(shared: &Shared) -> Result<JustifiedBlock, ApiError> {
	shared.justified.read().ok().and_then(|slot| slot.clone()).ok_or_else(|| {
		ApiError::unavailable("no justified finalized block yet: the gateway is catching up")
	})
}

/// Bodies of `ids` (from the index, else read from the chain and IPFS) that are provable at
/// `at`, as `(id, question key, body)`.
async fn bodies(
	shared: &Shared,
	at: &JustifiedBlock,
	ids: &[u64],
) -> Result<Vec<(u64, QuestionKey, Vec<u8>)>, ApiError> {
	let mut out = Vec::with_capacity(ids.len());
	for &id in ids {
		let known = shared.knowledge.lock().ok().and_then(|k| k.entries.get(&id).cloned());
		match known {
			Some(indexed) if indexed.validated_at <= at.header.number => {
				out.push((id, indexed.question_key, indexed.body))
			},
			Some(_) => {},
			None => {
				let Some(entry) =
					shared.source.entry(id, at.hash).await.map_err(ApiError::upstream)?
				else {
					continue;
				};
				let body = shared
					.ipfs
					.cat(&entry.cid, entry.size as usize)
					.await
					.map_err(ApiError::upstream)?;
				out.push((id, entry.question_key, body));
			},
		}
	}
	Ok(out)
}

async fn prove(
	shared: &Shared,
	at: &JustifiedBlock,
	set_start: u32,
	entries: Vec<(u64, QuestionKey, Vec<u8>)>,
) -> Result<Proven, ApiError> {
	shared.source.prove(at, set_start, entries).await.map_err(ApiError::upstream)
}

/// The question's embedding (cached for questions asked before).
async fn embed(shared: &Shared, question: &str) -> Result<Arc<[f32]>, ApiError> {
	match shared.embeddings.question(question).await {
		Ok((embedding, cached)) => {
			if cached {
				shared.metrics.embeddings_cached.inc();
			} else {
				shared.metrics.embeddings_computed.inc();
			}
			Ok(embedding)
		},
		Err(EmbedFailure::Text(reason)) => {
			Err(ApiError::bad(format!("cannot embed the question: {reason}")))
		},
		Err(EmbedFailure::Stopped) => Err(ApiError::unavailable("the embedding model stopped")),
	}
}

/// A question's lookup: the best match, or why there is none, and the `k` candidates.
#[derive(Clone)]
pub(crate) struct Lookup {
	/// The index version it was made at ([`membria_embed::Index::version`]): it holds while the
	/// index stays at it.
	version: u64,
	best: Result<Scored, Miss>,
	candidates: Vec<Scored>,
}

/// Lookups of questions asked before, by question and `k`, each valid at its index version.
pub(crate) type Lookups = quick_cache::sync::Cache<(String, u32), Arc<Lookup>>;

/// The best match and the other candidates, or why there is none. A question that names no
/// entry's whole subject is a sure miss before any embedding ([`Index::sure_miss`]); a
/// question asked before while the index has not changed is answered from the lookup cache
/// (no search).
///
/// [`Index::sure_miss`]: membria_embed::Index::sure_miss
async fn lookup(
	shared: &Shared,
	question: &str,
	k: u32,
) -> Result<(Result<Scored, Miss>, Vec<Scored>), ApiError> {
	let query = membria_embed::Query::new(question);
	let unindexed = |_| ApiError::unavailable("the index failed");
	let key = (question.to_string(), k);
	{
		let knowledge = shared.knowledge.lock().map_err(unindexed)?;
		if knowledge.index.is_empty() {
			return Ok((Err(Miss::Empty), Vec::new()));
		}
		if let Some(miss) = knowledge.index.sure_miss(&query) {
			shared.metrics.ask_unnamed.inc();
			return Ok((Err(miss), Vec::new()));
		}
		let version = knowledge.index.version();
		let cached = shared.lookups.as_ref().and_then(|lookups| lookups.get(&key));
		if let Some(cached) = cached.filter(|cached| cached.version == version) {
			shared.metrics.lookups_cached.inc();
			return Ok((cached.best.clone(), cached.candidates.clone()));
		}
	}
	let embedding = tch::Tensor::from_slice(&embed(shared, question).await?);
	let looked = {
		let mut knowledge = shared.knowledge.lock().map_err(unindexed)?;
		let candidates = knowledge.index.search(&embedding, k as usize);
		let best = knowledge.index.judge(&candidates, &query, &shared.config.thresholds);
		Lookup { version: knowledge.index.version(), best, candidates }
	};
	shared.metrics.lookups_searched.inc();
	let (best, candidates) = (looked.best.clone(), looked.candidates.clone());
	if let Some(lookups) = &shared.lookups {
		lookups.insert(key, Arc::new(looked));
	}
	Ok((best, candidates))
}

/// The proof material for the `matches` still validated at `at`, from the block's cache.
async fn prove_matches(
	shared: &Shared,
	at: &JustifiedBlock,
	set_start: u32,
	matches: &[Match],
) -> Result<Option<Proven>, ApiError> {
	let mut proofs = Vec::with_capacity(matches.len());
	let mut entries = Vec::with_capacity(matches.len());
	for m in matches {
		let (proof, cached) = shared
			.proofs
			.entry(&shared.source, at, m.id, Reader::Answer)
			.await
			.map_err(ApiError::upstream)?;
		if cached {
			shared.metrics.proofs_cached.inc();
		} else {
			shared.metrics.proofs_read.inc();
		}
		// Not validated at `at` (superseded since it was indexed): not an answer.
		let Some(proof) = proof else {
			continue;
		};
		let body = shared
			.knowledge
			.lock()
			.ok()
			.and_then(|k| k.entries.get(&m.id).map(|indexed| indexed.body.clone()));
		let Some(body) = body else {
			continue;
		};
		proofs.push(proof);
		entries.push(ProvenBody { id: m.id, body: HexBytes(body) });
	}
	if entries.is_empty() {
		return Ok(None);
	}
	let set_changes = shared
		.proofs
		.set_changes(&shared.source, at, set_start, Reader::Answer)
		.await
		.map_err(ApiError::upstream)?;
	Ok(Some(Proven {
		set_changes: set_changes.as_ref().clone(),
		finality: shared.proofs.finality(at).as_ref().clone(),
		proof: crate::proofs::union(proofs.iter().map(|p| p.as_ref())),
		entries,
	}))
}

async fn ask(
	State(shared): State<Arc<Shared>>,
	request: Result<Json<AskRequest>, JsonRejection>,
) -> ApiResult<AskResponse> {
	let Json(request) = request.map_err(|e| ApiError::bad(e.body_text()))?;
	let question = request.question.trim().to_string();
	if question.is_empty() {
		return Err(ApiError::bad("the question is empty"));
	}
	if question.len() > MAX_QUESTION_BYTES {
		return Err(ApiError::bad(format!(
			"the question is {} bytes, more than {MAX_QUESTION_BYTES}",
			question.len()
		)));
	}
	let k = request.k.unwrap_or(DEFAULT_K);
	if !(1..=MAX_K).contains(&k) {
		return Err(ApiError::bad(format!("k must be between 1 and {MAX_K}")));
	}
	shared.metrics.asks.inc();
	let thresholds = shared.config.thresholds;
	let (best, others) = lookup(&shared, &question, k).await?;
	let at = justified(&shared)?;
	let (matches, miss) = match best {
		Ok(best) => {
			let mut matches = vec![Match { id: best.id, score: best.score }];
			matches.extend(
				others
					.into_iter()
					.filter(|s| s.id != best.id && s.score >= thresholds.base)
					.map(|s| Match { id: s.id, score: s.score }),
			);
			matches.truncate(k as usize);
			(matches, None)
		},
		Err(miss) => (Vec::new(), Some(describe_miss(&miss))),
	};
	let set_start = request.set_start.unwrap_or_default();
	if let Some(proven) = prove_matches(&shared, &at, set_start, &matches).await? {
		shared.metrics.ask_hits.inc();
		let provable: Vec<u64> = proven.entries.iter().map(|e| e.id).collect();
		return Ok(Json(AskResponse {
			matches: matches.into_iter().filter(|m| provable.contains(&m.id)).collect(),
			proven: Some(proven),
			miss: None,
			demand: None,
		}));
	}
	shared.metrics.ask_misses.inc();
	let ids: Vec<u64> = matches.iter().map(|m| m.id).collect();
	let miss = if ids.is_empty() {
		miss.unwrap_or_else(|| "no match".into())
	} else {
		// Indexed from a newer finalized block than the justified one: provable shortly.
		"the matching entry is not provable at the justified block yet: retry shortly".into()
	};
	let demand = if ids.is_empty() && request.file_demand.unwrap_or(true) {
		Some(file_demand(&shared, &question).await)
	} else {
		None
	};
	Ok(Json(AskResponse { matches: Vec::new(), proven: None, miss: Some(miss), demand }))
}

/// How long a filing stands before the same question may be filed again: a block or more, so a
/// demand the chain refused (a full block) is not lost, and the same question asked again and
/// again is filed once a minute at most.
pub(crate) const REFILE_AFTER: Duration = Duration::from_secs(60);
/// Filings remembered before the stale ones are dropped.
const MAX_FILED: usize = 10_000;

fn describe_miss(miss: &membria_embed::Miss) -> String {
	match miss {
		membria_embed::Miss::Empty => "the gateway knows no validated entry yet".into(),
		miss => miss.to_string(),
	}
}

async fn file_demand(shared: &Shared, question: &str) -> DemandFiled {
	let key = question_key(question);
	let question_key = hex::encode(key);
	let Some(filer) = &shared.demand else {
		return DemandFiled {
			question_key,
			extrinsic: None,
			note: Some("this gateway files no demand (started without --demand-seed)".into()),
		};
	};
	let mut filed = shared.filed.lock().await;
	if filed.get(&key).is_some_and(|at| at.elapsed() < REFILE_AFTER) {
		return DemandFiled {
			question_key,
			extrinsic: None,
			note: Some("already filed by this gateway".into()),
		};
	}
	match filer.file(shared.source.rpc(), question).await {
		Ok(hash) => {
			// Filings past REFILE_AFTER mean nothing more: dropped, so the map stays bounded
			// by what one minute of filing can hold.
			if filed.len() >= MAX_FILED {
				filed.retain(|_, at| at.elapsed() < REFILE_AFTER);
			}
			filed.insert(key, std::time::Instant::now());
			shared.metrics.demand_filed.inc();
			tracing::info!(question, extrinsic = ?hash, "filed demand");
			DemandFiled { question_key, extrinsic: Some(format!("{hash:?}")), note: None }
		},
		Err(error) => {
			shared.metrics.demand_failed.inc();
			tracing::warn!(question, %error, "could not file demand");
			DemandFiled { question_key, extrinsic: None, note: Some(format!("not filed: {error}")) }
		},
	}
}

#[derive(Deserialize)]
struct SetStart {
	set_start: Option<u32>,
}

async fn entry(
	State(shared): State<Arc<Shared>>,
	id: Result<Path<u64>, axum::extract::rejection::PathRejection>,
	query: Result<Query<SetStart>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Proven> {
	let Path(id) = id.map_err(|_| ApiError::bad("the entry id must be a non-negative integer"))?;
	let Query(query) = query.map_err(|e| ApiError::bad(e.body_text()))?;
	shared.metrics.entry_reads.inc();
	let at = justified(&shared)?;
	let chain_entry = shared
		.source
		.entry(id, at.hash)
		.await
		.map_err(ApiError::upstream)?
		.ok_or_else(|| ApiError::not_found(format!("no entry {id} at the justified block")))?;
	if !matches!(chain_entry.status, EntryStatus::Validated { .. }) {
		return Err(ApiError::not_found(format!(
			"entry {id} is {:?}, not validated",
			chain_entry.status
		)));
	}
	let entries = bodies(&shared, &at, &[id]).await?;
	Ok(Json(prove(&shared, &at, query.set_start.unwrap_or_default(), entries).await?))
}

#[derive(Deserialize)]
struct SyncQuery {
	since: u32,
	cursor: Option<u64>,
	limit: Option<u32>,
	set_start: Option<u32>,
}

async fn sync(
	State(shared): State<Arc<Shared>>,
	query: Result<Query<SyncQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<SyncResponse> {
	let Query(query) = query.map_err(|e| {
		ApiError::bad(format!(
			"{} (since is a block number; cursor, limit and set_start are optional integers)",
			e.body_text()
		))
	})?;
	let finalized = shared.finalized.load(Ordering::Relaxed);
	if query.since > finalized.saturating_add(1) {
		return Err(ApiError::bad(format!(
			"since {} is beyond the finalized head {finalized}",
			query.since
		)));
	}
	let limit = query.limit.unwrap_or(DEFAULT_PAGE);
	if !(1..=MAX_PAGE).contains(&limit) {
		return Err(ApiError::bad(format!("limit must be between 1 and {MAX_PAGE}")));
	}
	shared.metrics.syncs.inc();
	let at = justified(&shared)?;
	let (validated, next_cursor) = shared
		.source
		.validated_since(at.hash, query.since, query.cursor, limit)
		.await
		.map_err(ApiError::upstream)?;
	let ids: Vec<u64> = shared
		.source
		.still_validated(at.hash, validated.into_iter().map(|(id, _)| id))
		.await
		.map_err(ApiError::upstream)?;
	let entries = bodies(&shared, &at, &ids).await?;
	let proven = prove(&shared, &at, query.set_start.unwrap_or_default(), entries).await?;
	Ok(Json(SyncResponse { proven, next_cursor, proven_at: at.header.number }))
}

async fn events(
	State(shared): State<Arc<Shared>>,
	client: Option<axum::Extension<Client>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
	broadcast_events(
		&shared.streams,
		client.map(|axum::Extension(client)| client),
		shared.events.subscribe(),
		"validated",
		|event| event.id,
		"events missed: sync to catch up",
	)
}

/// Most server-sent event streams open at once (devices following, explorer pages), and per
/// client (a few tabs and a device).
pub(crate) const MAX_STREAMS: usize = 512;
pub(crate) const MAX_STREAMS_PER_CLIENT: usize = 8;
/// How long one stream stays open: clients reconnect (an `EventSource` does by itself, and so
/// does the device), so a connection cannot be held for ever.
pub(crate) const STREAM_LIFETIME: Duration = Duration::from_secs(600);

/// The client a request under `/v1` comes from, as the rate limit found it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Client(pub std::net::IpAddr);

#[derive(Default)]
struct OpenStreams {
	total: usize,
	by_client: std::collections::HashMap<std::net::IpAddr, usize>,
}

/// The event streams open now.
#[derive(Default)]
pub(crate) struct Streams {
	open: Arc<std::sync::Mutex<OpenStreams>>,
}

/// One open stream's slot, given back when the stream ends.
pub(crate) struct StreamSlot {
	open: Arc<std::sync::Mutex<OpenStreams>>,
	client: std::net::IpAddr,
}

impl Streams {
	/// A slot for one more stream of `client`'s, or why there is none.
	fn take(&self, client: std::net::IpAddr) -> Result<StreamSlot, String> {
		let mut open = self.open.lock().map_err(|_| "the stream count failed".to_string())?;
		if open.total >= MAX_STREAMS {
			return Err(format!("{MAX_STREAMS} event streams are open: retry later"));
		}
		let mine = open.by_client.entry(client).or_default();
		if *mine >= MAX_STREAMS_PER_CLIENT {
			return Err(format!(
				"this client has {MAX_STREAMS_PER_CLIENT} event streams open already"
			));
		}
		*mine += 1;
		open.total += 1;
		Ok(StreamSlot { open: self.open.clone(), client })
	}
}

impl Drop for StreamSlot {
	fn drop(&mut self) {
		if let Ok(mut open) = self.open.lock() {
			open.total = open.total.saturating_sub(1);
			if let Some(mine) = open.by_client.get_mut(&self.client) {
				*mine = mine.saturating_sub(1);
				if *mine == 0 {
					open.by_client.remove(&self.client);
				}
			}
		}
	}
}

/// What a broadcast channel carries, as server-sent events named `name` with `id(item)` as the
/// event id and the item as JSON data; `lagged` (with the count and `lagged_note`) when a slow
/// reader missed some. Kept alive every 15 s, closed after [`STREAM_LIFETIME`]; refused (429)
/// when [`MAX_STREAMS`] are open, or [`MAX_STREAMS_PER_CLIENT`] of `client`'s.
pub(crate) fn broadcast_events<T, Id>(
	streams: &Streams,
	client: Option<Client>,
	receiver: tokio::sync::broadcast::Receiver<T>,
	name: &'static str,
	id: fn(&T) -> Id,
	lagged_note: &'static str,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError>
where
	T: Clone + serde::Serialize + Send + 'static,
	Id: ToString + 'static,
{
	let client = client.map_or(std::net::IpAddr::from([0, 0, 0, 0]), |Client(ip)| ip);
	let slot = streams
		.take(client)
		.map_err(|reason| ApiError { status: StatusCode::TOO_MANY_REQUESTS, reason })?;
	let stream =
		futures::stream::unfold((receiver, slot), move |(mut receiver, slot)| async move {
			let sse = match receiver.recv().await {
				Ok(item) => Event::default()
					.event(name)
					.id(id(&item).to_string())
					.json_data(&item)
					.unwrap_or_default(),
				Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
					Event::default().event("lagged").data(format!("{missed} {lagged_note}"))
				},
				Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
			};
			Some((Ok(sse), (receiver, slot)))
		});
	let stream = futures::StreamExt::take_until(stream, tokio::time::sleep(STREAM_LIFETIME));
	Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

async fn health(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
	let (justified, entries) = (shared.justified_number(), shared.indexed());
	let body = serde_json::json!({
		"finalized": shared.finalized.load(Ordering::Relaxed),
		"justified": justified,
		"entries": entries,
	});
	let status = if justified.is_some() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
	(status, Json(body))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn event_streams_are_bounded_per_client_and_given_back() {
		let streams = Streams::default();
		let (alice, bob): (std::net::IpAddr, std::net::IpAddr) =
			("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
		let mut held: Vec<StreamSlot> =
			(0..MAX_STREAMS_PER_CLIENT).map(|_| streams.take(alice).unwrap()).collect();
		let refused = streams.take(alice).err().unwrap();
		assert!(refused.contains("event streams open already"), "{refused}");
		assert!(streams.take(bob).is_ok(), "another client is not refused");
		held.pop();
		assert!(streams.take(alice).is_ok(), "a closed stream gives its slot back");
		drop(held);
		assert_eq!(streams.open.lock().unwrap().by_client.get(&alice), None);
	}
}
