//! Reports Aura equivocations: an authority's node watches every imported block, and when one
//! Aura authority has sealed two different blocks for the same slot, it submits the two headers
//! (with the proof that the key is the offender's session key) to its own transaction pool as an
//! unsigned `AuraEquivocation.report_equivocation_unsigned`; the runtime checks both seals and
//! slashes the offender's bond. The import queue only logs such blocks.

use std::{collections::BTreeMap, sync::Arc};

use futures::StreamExt;
use membria_runtime::opaque::Block;
use pallet_aura_equivocation::{AuraEquivocationApi, EquivocationProof, Slot};
use sc_client_api::BlockchainEvents;
use sc_transaction_pool_api::OffchainTransactionPoolFactory;
use sp_api::{ApiExt, ProvideRuntimeApi};
use sp_blockchain::HeaderBackend;
use sp_consensus_aura::{sr25519::AuthorityId as AuraId, AuraApi};
use sp_runtime::traits::{Block as BlockT, Header as HeaderT};

use crate::service::FullClient;

type Header = <Block as BlockT>::Header;

/// Slots of headers kept to compare against: about an hour of 6-second slots. The runtime takes
/// reports of the last 600 slots (`MaxAuraReportAge`).
pub const HORIZON: u64 = 600;

/// The first header each authority sealed for each recent slot.
pub struct Detector {
	seen: BTreeMap<(Slot, AuraId), Header>,
	horizon: u64,
	newest: Slot,
}

impl Detector {
	pub fn new(horizon: u64) -> Self {
		Self { seen: BTreeMap::new(), horizon, newest: Slot::from(0) }
	}

	/// Notes that `author` sealed `header` for `slot`. Returns the proof of an equivocation when
	/// the author had sealed another header for that slot (once: later headers of the same slot
	/// add nothing the first report lacks).
	pub fn observe(
		&mut self,
		slot: Slot,
		author: AuraId,
		header: Header,
	) -> Option<EquivocationProof<Header, AuraId>> {
		self.newest = self.newest.max(slot);
		let oldest = Slot::from(u64::from(self.newest).saturating_sub(self.horizon));
		if slot < oldest {
			return None;
		}
		let lowest_key = AuraId::from(sp_core::sr25519::Public::from_raw([0; 32]));
		self.seen = self.seen.split_off(&(oldest, lowest_key));
		let key = (slot, author.clone());
		match self.seen.get(&key) {
			None => {
				self.seen.insert(key, header);
				None
			},
			Some(first) if first.hash() == header.hash() => None,
			Some(first) => {
				let first = first.clone();
				// Reported: from now on this header stands for the slot, so seeing it again is
				// no news.
				self.seen.insert(key, header.clone());
				Some(EquivocationProof {
					offender: author,
					slot,
					first_header: first,
					second_header: header,
				})
			},
		}
	}
}

/// Watches imported blocks until the node stops.
pub async fn run(client: Arc<FullClient>, pool: OffchainTransactionPoolFactory<Block>) {
	let mut imports = client.import_notification_stream();
	let mut detector = Detector::new(HORIZON);
	while let Some(imported) = imports.next().await {
		let header = imported.header;
		let Some(slot) = pallet_aura_equivocation::slot_of(&header) else { continue };
		// The author is the slot's authority in the set of the parent block (as Aura's import
		// queue checked the seal against).
		let authorities = match client.runtime_api().authorities(*header.parent_hash()) {
			Ok(authorities) if !authorities.is_empty() => authorities,
			_ => continue,
		};
		let author = authorities[(u64::from(slot) % authorities.len() as u64) as usize].clone();
		let Some(proof) = detector.observe(slot, author, header) else { continue };
		match report(&client, &pool, proof) {
			Ok(()) => tracing::warn!(
				target: "aura-equivocation",
				"reported an equivocation at slot {slot}: two blocks sealed by one authority"
			),
			Err(why) => tracing::error!(
				target: "aura-equivocation",
				"could not report the equivocation at slot {slot}: {why}"
			),
		}
	}
}

fn report(
	client: &FullClient,
	pool: &OffchainTransactionPoolFactory<Block>,
	proof: EquivocationProof<Header, AuraId>,
) -> Result<(), String> {
	let best = client.info().best_hash;
	let mut api = client.runtime_api();
	api.register_extension(pool.offchain_transaction_pool(best));
	let key_owner_proof = api
		.generate_key_ownership_proof(best, proof.slot, proof.offender.clone())
		.map_err(|e| format!("the runtime could not prove key ownership: {e}"))?
		.ok_or("the offender's key is not a session key of the current set")?;
	api.submit_report_equivocation_unsigned_extrinsic(best, proof, key_owner_proof)
		.map_err(|e| format!("the runtime could not submit the report: {e}"))?
		.ok_or_else(|| "the transaction pool refused the report".to_string())
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::H256;
	use sp_runtime::Digest;

	fn header(parent: u8) -> Header {
		Header::new(5, H256::zero(), H256::zero(), H256::repeat_byte(parent), Digest::default())
	}

	fn key(byte: u8) -> AuraId {
		AuraId::from(sp_core::sr25519::Public::from_raw([byte; 32]))
	}

	#[test]
	fn a_second_block_of_an_authority_for_a_slot_is_reported_once() {
		let mut detector = Detector::new(HORIZON);
		let slot = Slot::from(1_000);
		assert!(detector.observe(slot, key(1), header(1)).is_none());
		// The same block again (re-imported), or another authority's block: nothing.
		assert!(detector.observe(slot, key(1), header(1)).is_none());
		assert!(detector.observe(slot, key(2), header(2)).is_none());
		// Another block of the same authority for the same slot: the proof, with both headers.
		let proof = detector.observe(slot, key(1), header(3)).expect("an equivocation");
		assert_eq!(proof.offender, key(1));
		assert_eq!(proof.slot, slot);
		assert_eq!(proof.first_header, header(1));
		assert_eq!(proof.second_header, header(3));
		assert!(detector.observe(slot, key(1), header(3)).is_none());
	}

	#[test]
	fn the_detector_forgets_slots_beyond_its_horizon() {
		let mut detector = Detector::new(10);
		assert!(detector.observe(Slot::from(100), key(1), header(1)).is_none());
		assert!(detector.observe(Slot::from(200), key(1), header(2)).is_none());
		assert_eq!(detector.seen.len(), 1);
		// Slot 100's header is gone: a late second block of it is not compared.
		assert!(detector.observe(Slot::from(100), key(1), header(3)).is_none());
	}
}
