//! Proof material made once per justified block and reused by every answer until the next one:
//! each entry's status and storage proof, and the authority-set changes after each set start
//! devices name. The first answer that needs one reads it from the node (concurrent answers
//! wait for that one read); the cache is dropped whole when a newer block is justified.
//!
//! Reusing is sound because a storage proof is a set of trie nodes under one state root: the
//! union of entries' proofs at the same block proves them all (the device's check reads the
//! keys it needs from whatever nodes it is given). Nothing here is trusted more than the node's
//! word was before: the device checks it all.

use std::{
	collections::{HashMap, HashSet},
	sync::{Arc, Mutex},
};

use codec::Decode;
use membria_chain::{
	proofs::{JustifiedBlock, ProofSource},
	rpc::RpcError,
};
use membria_client::wire::{HexBytes, Justified};
use membria_verifier::{entry_proof_keys, ChainEntry, EntryStatus};
use sp_core::H256;
use tokio::sync::OnceCell;

/// The most entries' proofs kept for one block (beyond it, answers read their own).
const MAX_ENTRIES: usize = 16_384;
/// The most set starts whose changes are kept for one block.
const MAX_SET_STARTS: usize = 64;

/// An entry's proof nodes at the block, or `None`: not validated there (superseded, say).
pub(crate) type EntryProof = Option<Arc<Vec<Vec<u8>>>>;

type Cell<T> = Arc<OnceCell<T>>;

#[derive(Default)]
struct Slot {
	block: H256,
	number: u32,
	entries: HashMap<u64, Cell<EntryProof>>,
	set_changes: HashMap<u32, Cell<Arc<Vec<Justified>>>>,
	/// What answers asked for at this block (not what was warmed): what the next block warms.
	asked: HashSet<u64>,
	asked_set_starts: HashSet<u32>,
	finality: Option<Arc<Justified>>,
}

/// What answers at the justified block share: the current block's slot, and the next one's
/// while the follower warms it (or the last one's, for answers begun before the switch).
#[derive(Default)]
pub(crate) struct Proofs {
	slots: Mutex<Vec<Slot>>,
}

/// Blocks whose proofs are kept at once.
const SLOTS: usize = 2;
/// Proofs read at once when warming a block, and the most entries and set starts warmed.
const WARMING: usize = 2;
const MAX_WARMED: usize = 4_096;
const MAX_WARMED_SET_STARTS: usize = 8;

/// Who reads a proof: an answer (what the next block warms) or the warming itself.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Reader {
	Answer,
	Warming,
}

impl Proofs {
	/// The slot of block `at`, made in place of the lowest block's if there is none — unless
	/// `at` is lower than every block held (an answer begun long ago): then a slot of its own,
	/// kept by no one, so a late answer never evicts the current block's proofs.
	fn with_slot<T>(&self, at: &JustifiedBlock, f: impl FnOnce(&mut Slot) -> T) -> T {
		let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
		if let Some(slot) = slots.iter_mut().find(|slot| slot.block == at.hash) {
			return f(slot);
		}
		let fresh = Slot { block: at.hash, number: at.header.number, ..Slot::default() };
		if slots.len() >= SLOTS {
			let lowest = (0..slots.len()).min_by_key(|&i| slots[i].number).unwrap_or_default();
			if slots[lowest].number > at.header.number {
				return f(&mut { fresh });
			}
			slots.remove(lowest);
		}
		slots.push(fresh);
		let last = slots.len() - 1;
		f(&mut slots[last])
	}

	/// Reads at `next` the proofs answers asked for at `current` (entries and set starts, at
	/// most [`MAX_WARMED`]), before the follower makes `next` the block answers are proven at:
	/// popular answers never wait for the node when a block is justified. A failed read is
	/// left for the first answer that needs it; how many were warmed.
	pub async fn warm(
		&self,
		source: &ProofSource,
		current: Option<&JustifiedBlock>,
		next: &JustifiedBlock,
	) -> usize {
		use futures::StreamExt;
		let Some(current) = current.filter(|current| current.hash != next.hash) else {
			return 0;
		};
		let (ids, set_starts) = self.with_slot(current, |slot| {
			let ids: Vec<u64> = slot.asked.iter().copied().take(MAX_WARMED).collect();
			let set_starts: Vec<u32> =
				slot.asked_set_starts.iter().copied().take(MAX_WARMED_SET_STARTS).collect();
			(ids, set_starts)
		});
		self.finality(next);
		for set_start in set_starts {
			if let Err(error) = self.set_changes(source, next, set_start, Reader::Warming).await {
				tracing::debug!(set_start, %error, "warming set changes");
			}
		}
		// Their records in one call, then the proofs of those still validated a few at a time:
		// the node answers the warming on the cores the answers run on, so it is spread out.
		let keys: Vec<Vec<u8>> = ids.iter().map(|id| membria_verifier::entry_key(*id)).collect();
		let records = match source.rpc().storage_many(&keys, next.hash).await {
			Ok(records) => records,
			Err(error) => {
				tracing::debug!(%error, "warming: reading the entries' records");
				return 0;
			},
		};
		let mut validated = Vec::with_capacity(ids.len());
		for (id, raw) in ids.into_iter().zip(records) {
			let entry = raw.and_then(|raw| ChainEntry::decode(&mut &raw[..]).ok());
			match entry {
				Some(entry) if matches!(entry.status, EntryStatus::Validated { .. }) => {
					validated.push((id, entry.question_key))
				},
				// Not validated there (or unreadable: left for an answer to read).
				Some(_) => self.fill(next, id, None),
				None => {},
			}
		}
		futures::stream::iter(validated)
			.map(|(id, question_key)| async move {
				let keys = entry_proof_keys(id, &question_key);
				let nodes = source.rpc().read_proof(&keys, next.hash).await.ok()?;
				self.fill(next, id, Some(Arc::new(nodes)));
				Some(())
			})
			.buffer_unordered(WARMING)
			.filter(|read| std::future::ready(read.is_some()))
			.count()
			.await
	}

	/// Sets entry `id`'s proof at `at`, unless an answer read it first.
	fn fill(&self, at: &JustifiedBlock, id: u64, proof: EntryProof) {
		let _ = self.with_slot(at, |slot| cell(&mut slot.entries, id, MAX_ENTRIES)).set(proof);
	}

	/// Entry `id`'s proof at `at` (its record, the answer to its question and its tally), if
	/// it is validated there; and whether the cache had it already.
	pub async fn entry(
		&self,
		source: &ProofSource,
		at: &JustifiedBlock,
		id: u64,
		reader: Reader,
	) -> Result<(EntryProof, bool), RpcError> {
		let cell = self.with_slot(at, |slot| {
			if reader == Reader::Answer && slot.asked.len() < MAX_ENTRIES {
				slot.asked.insert(id);
			}
			cell(&mut slot.entries, id, MAX_ENTRIES)
		});
		if let Some(proof) = cell.get() {
			return Ok((proof.clone(), true));
		}
		let proof = cell
			.get_or_try_init(|| async {
				let Some(entry) = source.entry(id, at.hash).await? else {
					return Ok(None);
				};
				if !matches!(entry.status, EntryStatus::Validated { .. }) {
					return Ok(None);
				}
				let keys = entry_proof_keys(id, &entry.question_key);
				let nodes = source.rpc().read_proof(&keys, at.hash).await?;
				Ok::<_, RpcError>(Some(Arc::new(nodes)))
			})
			.await?;
		Ok((proof.clone(), false))
	}

	/// The justified blocks that changed the authority set after `set_start`, as of `at`.
	pub async fn set_changes(
		&self,
		source: &ProofSource,
		at: &JustifiedBlock,
		set_start: u32,
		reader: Reader,
	) -> Result<Arc<Vec<Justified>>, RpcError> {
		let cell = self.with_slot(at, |slot| {
			if reader == Reader::Answer && slot.asked_set_starts.len() < MAX_SET_STARTS {
				slot.asked_set_starts.insert(set_start);
			}
			cell(&mut slot.set_changes, set_start, MAX_SET_STARTS)
		});
		cell.get_or_try_init(|| async {
			let changes = source.set_changes(set_start).await?;
			Ok::<_, RpcError>(Arc::new(changes.iter().map(JustifiedBlock::to_wire).collect()))
		})
		.await
		.cloned()
	}

	/// `at`'s header and justification in wire form.
	pub fn finality(&self, at: &JustifiedBlock) -> Arc<Justified> {
		self.with_slot(at, |slot| {
			slot.finality.get_or_insert_with(|| Arc::new(at.to_wire())).clone()
		})
	}
}

/// The cell of `key` in `cells`, made if there is room for it (else one no one keeps).
fn cell<K: Eq + std::hash::Hash + Copy, T>(
	cells: &mut HashMap<K, Cell<T>>,
	key: K,
	max: usize,
) -> Cell<T> {
	match cells.get(&key) {
		Some(cell) => cell.clone(),
		None if cells.len() >= max => Cell::default(),
		None => cells.entry(key).or_default().clone(),
	}
}

/// The union of proofs, each node once.
pub(crate) fn union<'a>(proofs: impl IntoIterator<Item = &'a Vec<Vec<u8>>>) -> Vec<HexBytes> {
	let mut seen: HashSet<&[u8]> = HashSet::new();
	let mut out = Vec::new();
	for node in proofs.into_iter().flatten() {
		if seen.insert(node.as_slice()) {
			out.push(HexBytes(node.clone()));
		}
	}
	out
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_union_keeps_each_node_once_in_order() {
		let a = vec![vec![1, 2], vec![3]];
		let b = vec![vec![3], vec![4], vec![1, 2]];
		assert_eq!(
			union([&a, &b]),
			vec![HexBytes(vec![1, 2]), HexBytes(vec![3]), HexBytes(vec![4])]
		);
		assert!(union(std::iter::empty()).is_empty());
	}

	/// What answering from cached per-entry proofs rests on: proofs of different keys read
	/// apart at one state root, united, prove all their keys — checked by the device's own
	/// check (`membria_verifier::read_proven`).
	#[test]
	fn proofs_read_apart_at_one_root_prove_together() {
		use sp_runtime::traits::BlakeTwo256;
		use sp_state_machine::{prove_read, InMemoryBackend};

		let storage: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = (0u32..500)
			.map(|i| (format!("entry-{i:03}").into_bytes(), vec![i as u8; 40]))
			.collect();
		let backend = || {
			InMemoryBackend::<BlakeTwo256>::from((
				storage.clone(),
				sp_core::storage::StateVersion::V1,
			))
		};
		let root = *backend().root();
		let keys: Vec<Vec<u8>> = storage.keys().cloned().collect();
		let (a, b) = (&keys[..3], &keys[250..253]);
		let nodes =
			|keys: &[Vec<u8>]| prove_read(backend(), keys).unwrap().into_iter_nodes().collect();
		let (proof_a, proof_b): (Vec<Vec<u8>>, Vec<Vec<u8>>) = (nodes(a), nodes(b));
		let united: Vec<Vec<u8>> = union([&proof_a, &proof_b]).into_iter().map(|n| n.0).collect();
		assert!(united.len() < proof_a.len() + proof_b.len(), "shared nodes once");
		let both: Vec<Vec<u8>> = a.iter().chain(b).cloned().collect();
		let read = membria_verifier::read_proven(root, united, &both).expect("the union proves");
		for key in &both {
			assert_eq!(read[key].as_ref(), storage.get(key), "the value under {key:?}");
		}
		// One entry's proof alone does not prove another's keys.
		assert!(membria_verifier::read_proven(root, proof_a, b).is_err());
	}
}
