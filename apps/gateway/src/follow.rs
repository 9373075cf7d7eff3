//! The follower: finalized blocks, the newest justified one, and the entries validated since.

use std::{
	sync::{atomic::Ordering, Arc},
	time::Duration,
};

use futures::StreamExt;

use membria_chain::{proofs::JustifiedBlock, rpc::RpcError};
use membria_client::{
	cache::{phrasings, profiles},
	wire::ValidatedEvent,
};
use membria_offchain::{check_body, EntryFacts};
use membria_primitives::unixfs;

use crate::{Indexed, Shared};

/// How many finalized blocks back the follower looks for a justification when it starts.
const START_WINDOW: u32 = 64;
/// Entries per `validated_since` page.
const PAGE: u32 = 200;
/// Entries indexed at once.
const INDEXING: usize = 16;
/// The least time between two steps.
const MIN_STEP: Duration = Duration::from_millis(250);
/// How long the follower waits for an announced finalized head before it polls anyway.
const FALLBACK_POLL: Duration = Duration::from_secs(30);

/// Follows the chain until the process ends; errors are logged and retried.
pub async fn follow(shared: Arc<Shared>) {
	let mut state = FollowState::default();
	let mut heads = membria_chain::heads::FinalizedHeads::new(&shared.config.node);
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
		// The next finalized head the node announces. Without a subscription (or with entries
		// whose body could not be fetched yet, retried each time) the poll interval at most.
		let wait = if heads.is_live() && state.retry.is_empty() {
			FALLBACK_POLL.max(shared.config.poll)
		} else {
			shared.config.poll
		};
		let stepped = std::time::Instant::now();
		heads.next(wait).await;
		shared.metrics.head_subscription.set(i64::from(heads.is_live()));
		// A node announcing heads without pause costs a step per MIN_STEP at most.
		tokio::time::sleep(MIN_STEP.saturating_sub(stepped.elapsed())).await;
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
		// The proofs answers needed at the current block, read at the new one before answers
		// switch to it.
		let current = shared.justified.read().ok().and_then(|slot| slot.clone());
		let warmed = shared.proofs.warm(&shared.source, current.as_ref(), &justified).await;
		shared.metrics.proofs_warmed.inc_by(warmed as u64);
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
	// Several at once: their node reads and IPFS fetches overlap, and their phrasings share the
	// embedding model's batches.
	let failed: Vec<(u64, u32)> = futures::stream::iter(validated)
		.map(|(id, validated_at)| async move {
			let error = index_entry(shared, head, id, validated_at).await.err()?;
			tracing::warn!(entry = id, %error, "could not index the entry yet");
			Some((id, validated_at))
		})
		.buffer_unordered(INDEXING)
		.filter_map(|failed| async move { failed })
		.collect()
		.await;
	state.retry.extend(failed);
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
	// The node's word for the size, never more than the chain takes.
	let size = (entry.size as usize).min(membria_client::server::MAX_BODY_SIZE);
	let body = shared.ipfs.cat(&entry.cid, size).await.map_err(|e| e.to_string())?;
	let facts = EntryFacts {
		question_key: entry.question_key,
		content_hash: entry.content_hash.0,
		cid: entry.cid.to_vec(),
		size: entry.size,
	};
	let parsed = check_body(&body, &facts).map_err(|reason| format!("{reason:?}"))?;
	let rows = shared.embeddings.texts(phrasings(&parsed)).await.map_err(|e| e.to_string())?;
	let flat: Vec<f32> = rows.concat();
	let embeddings = tch::Tensor::from_slice(&flat)
		.view([rows.len() as i64, shared.embeddings.dimension() as i64]);
	{
		let mut knowledge =
			shared.knowledge.lock().map_err(|_| "the index is poisoned".to_string())?;
		// The newest validated answer to a question supersedes the one before it (indexed at
		// once, an older entry may finish last: it does not replace the newer one).
		let old = knowledge.by_question.get(&entry.question_key).copied();
		if let Some(old) = old {
			let newer = knowledge
				.entries
				.get(&old)
				.is_some_and(|indexed| (indexed.validated_at, old) > (validated_at, id));
			if newer {
				return Ok(());
			}
		}
		// Indexed before the old answer goes: if the index cannot grow, the old one stays.
		knowledge
			.index
			.push(id, &embeddings, profiles(&parsed))
			.map_err(|e| e.to_string())?;
		if let Some(old) = old {
			knowledge.remove(old);
		}
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
