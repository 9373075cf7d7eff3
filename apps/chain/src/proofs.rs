//! Builds the proof material of [`Proven`] from a node: the gateway serves it, and a device
//! talking to a node directly (`--node`) builds it itself. Nothing here is trusted: it is what
//! the device's `Trust::verify` (`membria-client`) checks.

use codec::Encode;
use membria_primitives::QuestionKey;
use membria_verifier::{
	entry_proof_keys,
	proven::{HexBytes, Justified, Proven, ProvenBody},
	set_change_signal, ChainEntry, Header,
};
use sp_core::H256;

use crate::rpc::{NodeRpc, RpcError};

/// The most authority-set changes one response carries.
pub const MAX_SET_CHANGES: usize = 64;

/// A justified block: its header and GRANDPA justification.
#[derive(Clone, Debug)]
pub struct JustifiedBlock {
	pub hash: H256,
	pub header: Header,
	pub justification: Vec<u8>,
}

impl JustifiedBlock {
	/// Its wire form.
	pub fn to_wire(&self) -> Justified {
		Justified {
			header: HexBytes(self.header.encode()),
			justification: HexBytes(self.justification.clone()),
		}
	}
}

/// A page of `KcgApi_validated_since`: `(entry, validated at)` and where the next page starts.
pub type ValidatedPage = (Vec<(u64, u32)>, Option<u64>);

/// The storage key of pallet-grandpa's `CurrentSetId`.
fn current_set_id_key() -> Vec<u8> {
	let mut key = sp_crypto_hashing::twox_128(b"Grandpa").to_vec();
	key.extend(sp_crypto_hashing::twox_128(b"CurrentSetId"));
	key
}

/// Reads what proofs are made of from one node.
pub struct ProofSource {
	rpc: NodeRpc,
}

impl ProofSource {
	pub fn new(rpc: NodeRpc) -> Self {
		Self { rpc }
	}

	pub fn rpc(&self) -> &NodeRpc {
		&self.rpc
	}

	/// The newest finalized block the node keeps a GRANDPA justification for, looking back at
	/// most `window` blocks from the finalized head (the node's `--justification-period`).
	pub async fn latest_justified(&self, window: u32) -> Result<Option<JustifiedBlock>, RpcError> {
		let mut hash = self.rpc.finalized_head().await?;
		for _ in 0..=window {
			let (header, justification) = self.rpc.justified_header(hash).await?;
			if let Some(justification) = justification {
				return Ok(Some(JustifiedBlock { hash, header, justification }));
			}
			if header.number == 0 {
				break;
			}
			hash = header.parent_hash;
		}
		Ok(None)
	}

	/// The justified blocks that changed the authority set after block `set_start` (the start of
	/// the set a device trusts), in order, as the node's `grandpa_proveFinality` finds them.
	pub async fn set_changes(&self, set_start: u32) -> Result<Vec<JustifiedBlock>, RpcError> {
		let mut changes = Vec::new();
		// A chain still on its genesis set has no change to prove (and the node would refuse).
		let head = self.rpc.finalized_head().await?;
		let set_id = self
			.rpc
			.storage(&current_set_id_key(), head)
			.await?
			.and_then(|raw| <u64 as codec::Decode>::decode(&mut &raw[..]).ok())
			.unwrap_or_default();
		if set_id == 0 {
			return Ok(changes);
		}
		let mut from = set_start.saturating_add(1);
		while changes.len() < MAX_SET_CHANGES {
			let Some(proof) = self.rpc.prove_finality(from).await? else {
				break;
			};
			let header = self.rpc.header(proof.block).await?;
			// In the current set the node proves its latest finalized block instead: no change.
			if !matches!(set_change_signal(&header), Ok(Some(_))) {
				break;
			}
			from = header.number.saturating_add(1);
			changes.push(JustifiedBlock {
				hash: proof.block,
				header,
				justification: proof.justification,
			});
		}
		Ok(changes)
	}

	/// Entries validated at or after block `since`, read at block `at`.
	pub async fn validated_since(
		&self,
		at: H256,
		since: u32,
		cursor: Option<u64>,
		limit: u32,
	) -> Result<ValidatedPage, RpcError> {
		self.rpc
			.runtime_call("KcgApi_validated_since", (since, cursor, limit), at)
			.await
	}

	/// An entry as the node reads it at `at` (unproven: for indexing, not for trusting).
	pub async fn entry(&self, id: u64, at: H256) -> Result<Option<ChainEntry>, RpcError> {
		let key = membria_verifier::entry_key(id);
		let Some(raw) = self.rpc.storage(&key, at).await? else {
			return Ok(None);
		};
		codec::Decode::decode(&mut &raw[..]).map(Some).map_err(|e| RpcError::Malformed {
			method: "state_getStorage".into(),
			reason: format!("entry {id}: {e}"),
		})
	}

	/// Those of `ids` still validated at `at` (the validation log also lists entries since
	/// superseded by a newer answer to their question; a proof of them would not verify), read
	/// in one call.
	pub async fn still_validated(
		&self,
		at: H256,
		ids: impl IntoIterator<Item = u64>,
	) -> Result<Vec<u64>, RpcError> {
		let ids: Vec<u64> = ids.into_iter().collect();
		let keys: Vec<Vec<u8>> = ids.iter().map(|id| membria_verifier::entry_key(*id)).collect();
		let records = self.rpc.storage_many(&keys, at).await?;
		let mut out = Vec::new();
		for (id, raw) in ids.into_iter().zip(records) {
			let Some(raw) = raw else {
				continue;
			};
			let entry: ChainEntry =
				codec::Decode::decode(&mut &raw[..]).map_err(|e| RpcError::Malformed {
					method: "state_queryStorageAt".into(),
					reason: format!("entry {id}: {e}"),
				})?;
			if matches!(entry.status, membria_verifier::EntryStatus::Validated { .. }) {
				out.push(id);
			}
		}
		Ok(out)
	}

	/// The proof material for `entries` (`(id, question key, body bytes)`) at `at`, with the
	/// set changes after `set_start`.
	pub async fn prove(
		&self,
		at: &JustifiedBlock,
		set_start: u32,
		entries: Vec<(u64, QuestionKey, Vec<u8>)>,
	) -> Result<Proven, RpcError> {
		let set_changes =
			self.set_changes(set_start).await?.iter().map(JustifiedBlock::to_wire).collect();
		let keys: Vec<Vec<u8>> = entries
			.iter()
			.flat_map(|(id, question_key, _)| entry_proof_keys(*id, question_key))
			.collect();
		let proof = if keys.is_empty() {
			Vec::new()
		} else {
			self.rpc.read_proof(&keys, at.hash).await?.into_iter().map(HexBytes).collect()
		};
		Ok(Proven {
			set_changes,
			finality: at.to_wire(),
			proof,
			entries: entries
				.into_iter()
				.map(|(id, _, body)| ProvenBody { id, body: HexBytes(body) })
				.collect(),
		})
	}
}
