//! The validated entries a distiller proposes links to, learnt from a gateway's
//! `GET /v1/sync?since=B&cursor=C&limit=L`:
//!
//! ```json
//! {"proven": {"entries": [{"id": 3, "body": "0x7b2276223a31…"}], …proofs…},
//!  "next_cursor": null, "proven_at": 41}
//! ```
//!
//! (`body`: the hex of the entry body's exact bytes; `next_cursor`: pass back as `cursor` for the
//! next page of the same sync; `proven_at`: sync from its successor next time.)
//!
//! The gateway is not trusted: its proofs are not checked here, because a link proposed to a
//! body the gateway made up is refused by the validators, who check every link against the body
//! the chain proves. A body that does not parse is never a candidate. Refreshed incrementally, at
//! most every [`REFRESH_EVERY`], with short timeouts; a gateway that is down or answers garbage
//! costs a warning and the links, never the distillation.

use std::{
	collections::BTreeMap,
	time::{Duration, Instant},
};

use membria_offchain::body::{Body, BodyLink};
use serde::Deserialize;

use crate::links::{self, Profile};

/// Least time between two syncs with the gateway.
pub const REFRESH_EVERY: Duration = Duration::from_secs(3);
/// Longest wait for one page.
const PAGE_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest time one refresh pages for (the rest waits for the next one).
const REFRESH_BUDGET: Duration = Duration::from_secs(5);
/// Entries asked per page.
const PAGE: u32 = 500;
/// Largest page read, in bytes.
const MAX_PAGE_BYTES: usize = 32 << 20;
/// Most entries kept (the newest, by entry id).
pub const MAX_ENTRIES: usize = 10_000;
/// Most bytes of bodies kept (the newest entries', by entry id); a body larger than
/// [`MAX_BODY_BYTES`] is no candidate.
pub const MAX_BYTES: usize = 64 << 20;
pub const MAX_BODY_BYTES: usize = 64 << 10;

/// A page of `/v1/sync`, what of it is read here.
#[derive(Deserialize)]
struct SyncPage {
	proven: ProvenPage,
	next_cursor: Option<u64>,
	proven_at: u32,
}

#[derive(Deserialize)]
struct ProvenPage {
	entries: Vec<SyncEntry>,
}

#[derive(Deserialize)]
struct SyncEntry {
	id: u64,
	/// The body's exact bytes, `0x`-prefixed hex.
	body: String,
}

/// Where the sync with the gateway is.
#[derive(Default)]
struct State {
	/// The first block the next sync asks from.
	since: u32,
	/// Within a sync of several pages: the cursor of the next page, and the lowest block the
	/// pages so far were proven at.
	cursor: Option<(u64, u32)>,
	last: Option<Instant>,
	entries: BTreeMap<u64, (Body, Profile)>,
	/// The entry each question key's answer is (a newer answer supersedes the older: only the
	/// newest is a candidate, as only it is validated).
	answers: std::collections::HashMap<membria_primitives::QuestionKey, u64>,
	/// Bytes of the bodies kept.
	bytes: usize,
}

/// The validated entries a gateway serves, as link candidates.
pub struct KnownEntries {
	url: String,
	client: reqwest::Client,
	state: tokio::sync::Mutex<State>,
}

/// What a kept body weighs, in bytes of text (its profile holds the same words again).
fn weight(body: &Body) -> usize {
	body.question.len() + body.answer.len() + body.facts.iter().map(String::len).sum::<usize>()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
	let digits = text.strip_prefix("0x").unwrap_or(text).as_bytes();
	if !digits.len().is_multiple_of(2) {
		return None;
	}
	digits
		.chunks(2)
		.map(|pair| {
			let high = char::from(pair[0]).to_digit(16)?;
			let low = char::from(pair[1]).to_digit(16)?;
			Some((high * 16 + low) as u8)
		})
		.collect()
}

impl KnownEntries {
	/// Candidates from the gateway at `url` (`http://127.0.0.1:8080`).
	pub fn new(url: &str) -> Self {
		let client = reqwest::Client::builder()
			.timeout(PAGE_TIMEOUT)
			.connect_timeout(PAGE_TIMEOUT)
			.build()
			.unwrap_or_default();
		Self {
			url: membria_offchain::protocol::endpoint(url, "v1/sync"),
			client,
			state: Default::default(),
		}
	}

	/// The links to propose for `body` (refreshing the candidates first when due), and the bodies
	/// they link to.
	pub async fn propose(&self, body: &Body) -> (Vec<BodyLink>, Vec<(u64, Body)>) {
		let mut state = self.state.lock().await;
		if state.last.is_none_or(|last| last.elapsed() >= REFRESH_EVERY) {
			self.refresh(&mut state).await;
			state.last = Some(Instant::now());
		}
		let links = links::propose_among(
			body,
			state.entries.iter().map(|(entry, (_, profile))| (*entry, profile)),
		);
		let linked = links
			.iter()
			.filter_map(|link| {
				state.entries.get(&link.entry).map(|(body, _)| (link.entry, body.clone()))
			})
			.collect();
		(links, linked)
	}

	/// Pages through what was validated since the last sync, for at most [`REFRESH_BUDGET`].
	async fn refresh(&self, state: &mut State) {
		let started = Instant::now();
		while started.elapsed() < REFRESH_BUDGET {
			let page = match self.page(state.since, state.cursor.map(|(cursor, _)| cursor)).await {
				Ok(page) => page,
				Err((error, restart)) => {
					tracing::warn!(gateway = %self.url, %error, "no link candidates from the gateway");
					if restart {
						// The gateway does not know where this sync was (a new chain, another
						// gateway): start over.
						*state = State::default();
					}
					return;
				},
			};
			let mut skipped = 0;
			for entry in page.proven.entries {
				let bytes = from_hex(&entry.body).filter(|bytes| bytes.len() <= MAX_BODY_BYTES);
				match bytes.as_deref().map(Body::parse) {
					Some(Ok(body)) => {
						let key = membria_primitives::question_key(&body.question);
						match state.answers.get(&key).copied() {
							Some(newer) if newer > entry.id => continue,
							Some(older) => {
								if let Some((old, _)) = state.entries.remove(&older) {
									state.bytes = state.bytes.saturating_sub(weight(&old));
								}
							},
							None => {},
						}
						state.answers.insert(key, entry.id);
						state.bytes = state.bytes.saturating_add(weight(&body));
						let profile = Profile::new(&body);
						if let Some((replaced, _)) = state.entries.insert(entry.id, (body, profile))
						{
							state.bytes = state.bytes.saturating_sub(weight(&replaced));
						}
					},
					_ => skipped += 1,
				}
			}
			if skipped > 0 {
				tracing::debug!(gateway = %self.url, skipped, "entries whose body is no body");
			}
			while state.entries.len() > MAX_ENTRIES || state.bytes > MAX_BYTES {
				let Some((_, (body, _))) = state.entries.pop_first() else { break };
				state.bytes = state.bytes.saturating_sub(weight(&body));
				state.answers.remove(&membria_primitives::question_key(&body.question));
			}
			let low = state.cursor.map_or(page.proven_at, |(_, low)| low.min(page.proven_at));
			match page.next_cursor {
				Some(cursor) => state.cursor = Some((cursor, low)),
				None => {
					state.since = low.saturating_add(1);
					state.cursor = None;
					return;
				},
			}
		}
	}

	/// One page of `/v1/sync`; on failure, why, and whether the sync should start over (the
	/// gateway refused the request itself).
	async fn page(&self, since: u32, cursor: Option<u64>) -> Result<SyncPage, (String, bool)> {
		let mut query = vec![("since", since.to_string()), ("limit", PAGE.to_string())];
		if let Some(cursor) = cursor {
			query.push(("cursor", cursor.to_string()));
		}
		let mut response = self
			.client
			.get(&self.url)
			.query(&query)
			.send()
			.await
			.map_err(|e| (format!("GET {}: {e}", self.url), false))?;
		let status = response.status();
		let mut bytes = Vec::new();
		while let Some(chunk) = response.chunk().await.map_err(|e| (e.to_string(), false))? {
			bytes.extend_from_slice(&chunk);
			if bytes.len() > MAX_PAGE_BYTES {
				return Err((format!("a page larger than {MAX_PAGE_BYTES} bytes"), false));
			}
		}
		if !status.is_success() {
			let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
			return Err((format!("{status}: {text}"), status == reqwest::StatusCode::BAD_REQUEST));
		}
		serde_json::from_slice(&bytes).map_err(|e| (format!("not a sync page: {e}"), false))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn hex_decodes_with_or_without_prefix() {
		assert_eq!(from_hex("0x00ff7b"), Some(vec![0, 255, 123]));
		assert_eq!(from_hex("7B"), Some(vec![123]));
		assert_eq!(from_hex("0x0"), None);
		assert_eq!(from_hex("zz"), None);
	}
}
