//! The explorer: a web page at `/` (HTML, script and style built into the binary; nothing
//! loaded from elsewhere, and a Content-Security-Policy that allows nothing else) and the
//! read-only API it uses, `GET /v1/explorer/…`, answered from what [`crate::explorer`] read.
//!
//! Entry bodies are written by agents: the page shows them as text, never as markup.

use std::{
	convert::Infallible,
	sync::{atomic::Ordering, Arc},
};

use axum::{
	extract::{rejection::PathRejection, rejection::QueryRejection, Path, Query, State},
	http::{header, HeaderValue},
	response::{
		sse::{Event, Sse},
		IntoResponse, Response,
	},
	routing::get,
	Json, Router,
};
use codec::Encode;
use futures::Stream;
use membria_chain::metadata::ChainMetadata;
use membria_client::server::MAX_BODY_SIZE;
use membria_offchain::{check_body, EntryFacts};
use membria_primitives::unixfs;
use membria_verifier::EntryStatus;
use serde::Deserialize;
use serde_json::{json, Value};
use sp_core::crypto::Ss58Codec;

use crate::{api::ApiError, Shared};

/// Default and largest page of `/v1/explorer/entries`.
const DEFAULT_ENTRIES: usize = 20;
const MAX_ENTRIES: usize = 100;
/// Recent events in the overview.
const OVERVIEW_EVENTS: usize = 50;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const EXPLORER_JS: &str = include_str!("../assets/explorer.js");
const EXPLORER_CSS: &str = include_str!("../assets/explorer.css");
/// Only the gateway's own script, style and API: an entry's text that slipped through as
/// markup could still run nothing and send nothing anywhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The explorer's API (rate-limited with the rest of `/v1`).
pub(crate) fn api() -> Router<Arc<Shared>> {
	Router::new()
		.route("/v1/explorer/overview", get(overview))
		.route("/v1/explorer/entries", get(entries))
		.route("/v1/explorer/entries/{id}", get(entry))
		.route("/v1/explorer/validators", get(validators))
		.route("/v1/explorer/demand", get(demand))
		.route("/v1/explorer/events", get(events))
}

/// The page and its assets.
pub(crate) fn assets() -> Router<Arc<Shared>> {
	Router::new()
		.route("/", get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }))
		.route(
			"/explorer.js",
			get(|| async { asset("text/javascript; charset=utf-8", EXPLORER_JS) }),
		)
		.route("/explorer.css", get(|| async { asset("text/css; charset=utf-8", EXPLORER_CSS) }))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
	let mut response = body.into_response();
	let headers = response.headers_mut();
	headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
	headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
	headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
	headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
	response
}

async fn overview(State(shared): State<Arc<Shared>>) -> ApiResult<Value> {
	let explorer = &shared.explorer;
	let (justified, entries) = (shared.justified_number(), shared.indexed());
	let (scanned, first, recent) = explorer
		.trails
		.lock()
		.map(|t| (t.scanned, t.first, t.recent.iter().take(OVERVIEW_EVENTS).cloned().collect()))
		.unwrap_or((None, None, Vec::new()));
	let snapshot = explorer.snapshot.read().map(|s| s.clone()).unwrap_or_default();
	Ok(Json(json!({
		"finalized": shared.finalized.load(Ordering::Relaxed),
		"justified": justified,
		"spec_version": explorer.spec_version(),
		"entries": entries,
		"validators": snapshot.validators.iter().filter(|v| v.session_stake.is_some()).count(),
		"session": snapshot.session,
		"session_stake": snapshot.session_stake.to_string(),
		"demand": snapshot.demand.len(),
		"gaps": snapshot.gaps.len(),
		"events_from": first,
		"events_to": scanned,
		"recent": recent,
	})))
}

#[derive(Deserialize)]
struct Limit {
	limit: Option<usize>,
}

/// The validated entries the gateway serves, newest first.
async fn entries(
	State(shared): State<Arc<Shared>>,
	query: Result<Query<Limit>, QueryRejection>,
) -> ApiResult<Value> {
	let Query(query) = query.map_err(|e| ApiError::bad(e.body_text()))?;
	let limit = query.limit.unwrap_or(DEFAULT_ENTRIES);
	if !(1..=MAX_ENTRIES).contains(&limit) {
		return Err(ApiError::bad(format!("limit must be between 1 and {MAX_ENTRIES}")));
	}
	let knowledge =
		shared.knowledge.lock().map_err(|_| ApiError::unavailable("the index failed"))?;
	let listed: Vec<Value> = knowledge
		.newest
		.iter()
		.rev()
		.take(limit)
		.filter_map(|(_, id)| Some((id, knowledge.entries.get(id)?)))
		.map(|(id, indexed)| {
			json!({
				"id": id,
				"question": indexed.question,
				"validated_at": indexed.validated_at,
				"cid": indexed.cid,
			})
		})
		.collect();
	Ok(Json(json!({ "total": knowledge.entries.len(), "entries": listed })))
}

/// One entry as the chain holds it at the finalized head, its body (checked against the
/// record), the stake on each side, every vote and event the explorer read.
async fn entry(
	State(shared): State<Arc<Shared>>,
	id: Result<Path<u64>, PathRejection>,
) -> ApiResult<Value> {
	let Path(id) = id.map_err(|_| ApiError::bad("the entry id must be a non-negative integer"))?;
	let rpc = shared.source.rpc();
	let head = rpc.finalized_head().await.map_err(ApiError::upstream)?;
	let record = shared
		.source
		.entry(id, head)
		.await
		.map_err(ApiError::upstream)?
		.ok_or_else(|| ApiError::not_found(format!("no entry {id} at the finalized block")))?;
	let indexed = shared.knowledge.lock().ok().and_then(|k| k.entries.get(&id).cloned());
	let body = match indexed {
		Some(indexed) => Ok(indexed.body),
		None if record.size as usize > MAX_BODY_SIZE => {
			Err(format!("its size, {} bytes, is over the chain's bound", record.size))
		},
		None => fetch_body(&shared, id, &record.cid, record.size).await,
	};
	let facts = EntryFacts {
		question_key: record.question_key,
		content_hash: record.content_hash.0,
		cid: record.cid.to_vec(),
		size: record.size,
	};
	let (body, body_error) =
		match body.and_then(|bytes| check_body(&bytes, &facts).map_err(|r| format!("{r:?}"))) {
			Ok(body) => (serde_json::to_value(body).unwrap_or_default(), None),
			Err(reason) => (Value::Null, Some(format!("the body could not be shown: {reason}"))),
		};
	let tally = match shared.explorer.metadata(&shared, head, false).await {
		Ok(metadata) => tally(&shared, &metadata, head, id).await,
		Err(error) => {
			tracing::debug!(%error, "no metadata for the tally");
			Value::Null
		},
	};
	let (trail, events_from) = shared
		.explorer
		.trails
		.lock()
		.map(|t| (t.entries.get(&id).cloned().unwrap_or_default(), t.first))
		.unwrap_or_default();
	let (status, status_block) = status(&record.status);
	Ok(Json(json!({
		"id": id,
		"status": status,
		"status_block": status_block,
		"author": record.author.to_ss58check(),
		"question_key": format!("0x{}", hex::encode(record.question_key)),
		"content_hash": format!("{:?}", record.content_hash),
		"cid": unixfs::cid_to_text(&record.cid),
		"size": record.size,
		"gap": record.gap,
		"links": record.links.iter().map(|(to, relation)| json!({
			"to": to,
			"relation": format!("{relation:?}").to_lowercase(),
		})).collect::<Vec<_>>(),
		"submitted_at": record.submitted_at,
		"session": record.session,
		"deposit": record.deposit.to_string(),
		"tally": tally,
		"body": body,
		"body_error": body_error,
		"votes": trail.votes,
		"truncated": trail.truncated,
		"history": trail.history,
		"events_from": events_from,
		"read_at": format!("{head:?}"),
	})))
}

/// The body of an entry the index does not hold (pending, decided against, superseded…),
/// from IPFS: a few fetches at once, each within [`FETCH_TIMEOUT`], kept (a failure for
/// [`FAILED_FETCH_STANDS`]), so that page views cannot make the gateway fetch without bound.
async fn fetch_body(shared: &Shared, id: u64, cid: &[u8], size: u32) -> Result<Vec<u8>, String> {
	use crate::explorer::{FAILED_FETCH_STANDS, FETCH_TIMEOUT, MAX_BODIES};
	let explorer = &shared.explorer;
	if let Some((at, kept)) = explorer.bodies.lock().ok().and_then(|b| b.get(&id).cloned()) {
		if kept.is_ok() || at.elapsed() < FAILED_FETCH_STANDS {
			return kept;
		}
	}
	let Ok(_permit) = explorer.fetches.try_acquire() else {
		return Err("the gateway is fetching other bodies: retry shortly".into());
	};
	let fetched =
		match tokio::time::timeout(FETCH_TIMEOUT, shared.ipfs.cat(cid, size as usize)).await {
			Ok(Ok(body)) => Ok(body),
			Ok(Err(error)) => {
				tracing::debug!(entry = id, %error, "IPFS did not serve an entry's body");
				Err("IPFS does not serve it".to_string())
			},
			Err(_) => Err(format!("IPFS did not serve it within {} s", FETCH_TIMEOUT.as_secs())),
		};
	if let Ok(mut bodies) = explorer.bodies.lock() {
		bodies.insert(id, (std::time::Instant::now(), fetched.clone()));
		while bodies.len() > MAX_BODIES {
			bodies.pop_first();
		}
	}
	fetched
}

fn status(status: &EntryStatus<u32>) -> (&'static str, Value) {
	match status {
		EntryStatus::Pending { deadline } => ("pending", json!({ "deadline": deadline })),
		EntryStatus::Validated { at } => ("validated", json!({ "at": at })),
		EntryStatus::Rejected { at } => ("rejected", json!({ "at": at })),
		EntryStatus::Expired => ("expired", Value::Null),
		EntryStatus::Superseded { by } => ("superseded", json!({ "by": by })),
		EntryStatus::Retracted => ("retracted", Value::Null),
	}
}

async fn tally(shared: &Shared, metadata: &ChainMetadata, at: sp_core::H256, id: u64) -> Value {
	let Ok(key) = metadata.map_key("Validators.Tallies", &id.encode()) else {
		return Value::Null;
	};
	match shared.source.rpc().storage(&key, at).await {
		Ok(Some(raw)) => metadata.decode_value("Validators.Tallies", &raw).unwrap_or_default(),
		_ => Value::Null,
	}
}

async fn validators(State(shared): State<Arc<Shared>>) -> ApiResult<Value> {
	let snapshot = shared.explorer.snapshot.read().map(|s| s.clone()).unwrap_or_default();
	let trails = shared
		.explorer
		.trails
		.lock()
		.map_err(|_| ApiError::unavailable("the explorer failed"))?;
	let listed: Vec<Value> = snapshot
		.validators
		.iter()
		.map(|state| {
			let mut value = serde_json::to_value(state).unwrap_or_default();
			let record = trails.validators.get(&state.account).cloned().unwrap_or_default();
			if let (Value::Object(map), Ok(Value::Object(record))) =
				(&mut value, serde_json::to_value(record))
			{
				map.extend(record);
			}
			value
		})
		.collect();
	Ok(Json(json!({
		"block": snapshot.block,
		"session": snapshot.session,
		"session_stake": snapshot.session_stake.to_string(),
		"validators": listed,
		"events_from": trails.first,
		"truncated": snapshot.truncated,
	})))
}

async fn demand(State(shared): State<Arc<Shared>>) -> ApiResult<Value> {
	let snapshot = shared.explorer.snapshot.read().map(|s| s.clone()).unwrap_or_default();
	Ok(Json(json!({
		"block": snapshot.block,
		"demand": snapshot.demand,
		"gaps": snapshot.gaps,
		"truncated": snapshot.truncated,
	})))
}

/// Each finalized block as it is read: its number and the explorer's events in it.
async fn events(
	State(shared): State<Arc<Shared>>,
	client: Option<axum::Extension<crate::api::Client>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
	crate::api::broadcast_events(
		&shared.streams,
		client.map(|axum::Extension(client)| client),
		shared.explorer.news.subscribe(),
		"block",
		|news| news.number,
		"blocks missed",
	)
}
