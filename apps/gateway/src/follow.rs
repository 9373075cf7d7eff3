//! The follower: finalized blocks, the newest justified one, and the entries validated since.

use std::{
	sync::{atomic::Ordering, Arc},
	time::Duration,
};

use membria_client::{
	cache::{phrasings, profiles},
	rpc::RpcError,
	source::JustifiedBlock,
	wire::ValidatedEvent,
};
use membria_offchain::{check_body, EntryFacts};
use membria_primitives::unixfs;

use crate::{Indexed, Shared};

/// How many finalized blocks back the follower looks for a justification when it starts.
const START_WINDOW: u32 = 64;
/// Entries per `validated_since` page.
const PAGE: u32 = 200;

/// Follows the chain until the process ends; errors are logged and retried.
pub async fn follow(shared: Arc<Shared>) {
	let mut state = FollowState::default();
	loop {
		if let Err(error) = step(&shared, &mut state).await {
			shared.metrics.follower_errors.inc();
			tracing::warn!(%error, "following the chain; retrying");
			tokio::time::sleep(Duration::from_secs(1)).await;
		} else if let Err(error) = crate::explorer::advance(&shared).await {
			shared.metrics.follower_errors.inc();
			tracing::warn!(%error, "reading the chain's events for the explorer; retrying");
			tokio::time::sleep(Duration::from_secs(1)).await;
		}
		tokio::time::sleep(shared.config.poll).await;
	}
}

#[derive(Default)]
struct FollowState {
	/// The last finalized block looked at.
	finalized: Option<u32>,
	/// Entries validated from this block on are still to index.
	next_since: u32,
	/// Validated entries whose body could not be fetched yet: `(id, validated at)`.
	retry: Vec<(u64, u32)>,
}

#[derive(Debug, thiserror::Error)]
enum FollowError {
	#[error(transparent)]
	Rpc(#[from] RpcError),
}

async fn step(shared: &Arc<Shared>, state: &mut FollowState) -> Result<(), FollowError> {
	let rpc = shared.source.rpc();
	let head = rpc.finalized_head().await?;
	let (head_header, head_justification) = rpc.justified_header(head).await?;
	let number = head_header.number;
	if state.finalized == Some(number) && state.retry.is_empty() {
		return Ok(());
	}
	shared.finalized.store(number, Ordering::Relaxed);
	shared.metrics.finalized_block.set(i64::from(number));

	// The newest justified block: the head if it has one, else walk back to the last looked at.
	let mut justified = head_justification.map(|justification| JustifiedBlock {
		hash: head,
		header: head_header.clone(),
		justification,
	});
	if justified.is_none() {
		let floor = state.finalized.unwrap_or_else(|| number.saturating_sub(START_WINDOW));
		let mut hash = head_header.parent_hash;
		let mut at = number;
		while justified.is_none() && at > floor.max(1) {
			at -= 1;
			let (header, justification) = rpc.justified_header(hash).await?;
			justified = justification.map(|justification| JustifiedBlock {
				hash,
				header: header.clone(),
				justification,
			});
			hash = header.parent_hash;
		}
	}
	if let Some(justified) = justified {
		shared.metrics.justified_block.set(i64::from(justified.header.number));
		if let Ok(mut slot) = shared.justified.write() {
			*slot = Some(justified);
		}
	}

	// Entries validated since the last step.
	let mut validated = std::mem::take(&mut state.retry);
	let mut cursor = None;
	loop {
		let (page, next) =
			shared.source.validated_since(head, state.next_since, cursor, PAGE).await?;
		validated.extend(page);
		match next {
			Some(next) if Some(next) != cursor => cursor = Some(next),
			_ => break,
		}
	}
	for (id, validated_at) in validated {
		if let Err(error) = index_entry(shared, head, id, validated_at).await {
			tracing::warn!(entry = id, %error, "could not index the entry yet");
			state.retry.push((id, validated_at));
		}
	}
	state.next_since = number.saturating_add(1);
	state.finalized = Some(number);
	Ok(())
}

async fn index_entry(
	shared: &Arc<Shared>,
	at: sp_core::H256,
	id: u64,
	validated_at: u32,
) -> Result<(), String> {
	let known = shared.knowledge.lock().map(|k| k.entries.contains_key(&id)).unwrap_or(false);
	if known {
		return Ok(());
	}
	let entry = shared
		.source
		.entry(id, at)
		.await
		.map_err(|e| e.to_string())?
		.ok_or("the node shows no such entry")?;
	if !matches!(entry.status, membria_verifier::EntryStatus::Validated { .. }) {
		// Superseded (or otherwise closed) since its validation: nothing to serve.
		return Ok(());
	}
	let body = shared
		.ipfs
		.cat(&entry.cid, entry.size as usize)
		.await
		.map_err(|e| e.to_string())?;
	let facts = EntryFacts {
		question_key: entry.question_key,
		content_hash: entry.content_hash.0,
		cid: entry.cid.to_vec(),
		size: entry.size,
	};
	let parsed = check_body(&body, &facts).map_err(|reason| format!("{reason:?}"))?;
	let texts = phrasings(&parsed);
	let embedder_shared = shared.clone();
	let embeddings = tokio::task::spawn_blocking(move || {
		let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
		embedder_shared
			.embedder
			.lock()
			.map_err(|_| "the embedder is poisoned".to_string())
			.and_then(|e| e.embed(&texts).map_err(|e| e.to_string()))
			.map(|t| t.to(tch::Device::Cpu))
	})
	.await
	.map_err(|e| e.to_string())??;
	{
		let mut knowledge =
			shared.knowledge.lock().map_err(|_| "the index is poisoned".to_string())?;
		// The newest validated answer to a question supersedes the ones before it.
		let superseded: Vec<u64> = knowledge
			.entries
			.iter()
			.filter(|(_, indexed)| indexed.question_key == entry.question_key)
			.map(|(old, _)| *old)
			.collect();
		for old in superseded {
			knowledge.remove(old);
		}
		knowledge.index.push(id, &embeddings, profiles(&parsed));
		knowledge.insert(
			id,
			Indexed {
				question_key: entry.question_key,
				question: parsed.question.clone(),
				cid: unixfs::cid_to_text(&entry.cid),
				body,
				validated_at,
			},
		);
	}
	shared.metrics.entries_indexed.inc();
	tracing::info!(entry = id, validated_at, question = %parsed.question, "indexed");
	let _ = shared.events.send(ValidatedEvent {
		id,
		question: parsed.question,
		validated_at,
		cid: unixfs::cid_to_text(&entry.cid),
	});
	Ok(())
}
