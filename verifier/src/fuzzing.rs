//! What the fuzz targets (`verifier/fuzz`) run, one function per target, each asserting the
//! invariants of the device's front door on arbitrary bytes:
//!
//! - nothing panics (and, under libFuzzer's `-rss_limit_mb`/`-malloc_limit_mb`, nothing
//!   allocates out of proportion to the input);
//! - an accepted justification carries valid precommits, for the justified block or its
//!   descendants, of distinct authorities with more than two thirds of the set's weight (counted
//!   here again, apart from `finality-grandpa`); an accepted set change is the next set id and a
//!   non-empty set without zero weights;
//! - every accepted entry is the one asked for, `Validated` no later than the block it is proven
//!   at, read again from the same proof, and the answer to its question; every accepted body
//!   hashes to its entry's content hash; a decoded document re-encodes to itself.
//!
//! Compiled for the verifier's tests and with the `fuzzing` feature only; the regression tests
//! below run the committed seeds and every input a fuzzer ever crashed on through the same
//! functions.

use std::collections::{BTreeMap, HashMap, HashSet};

use codec::Decode;
use sp_core::H256;
use sp_runtime::{traits::Header as HeaderT, RuntimeAppPublic};

use crate::{
	answer_key, entry_key, follow_set_change, proven, read_proven, verify_entries, verify_finality,
	AuthorityId, AuthorityList, AuthoritySet, ChainEntry, EntryStatus, FinalizedHeader, Header,
	SetId, VerifiedEntry,
};

/// Alice's GRANDPA key (ed25519 `//Alice`): the dev chain's genesis authority set, the trusted
/// set of the `proven` target (its seeds come from a dev chain).
pub const DEV_ALICE_GRANDPA: [u8; 32] = [
	0x88, 0xdc, 0x34, 0x17, 0xd5, 0x05, 0x8e, 0xc4, 0xb4, 0x50, 0x3e, 0x0c, 0x12, 0xea, 0x1a, 0x0a,
	0x89, 0xbe, 0x20, 0x0f, 0xe9, 0x89, 0x22, 0x42, 0x3d, 0x43, 0x34, 0x01, 0x4f, 0xa6, 0xb0, 0xee,
];

/// The dev chain's genesis set (set 0: Alice, weight 1), fixed for the `proven` target.
pub fn dev_genesis_set() -> AuthoritySet {
	AuthoritySet {
		set_id: 0,
		authorities: vec![(sp_core::ed25519::Public::from_raw(DEV_ALICE_GRANDPA).into(), 1)],
	}
}

/// The input of the `justification` target (SCALE): a trusted set, a header and its
/// justification (both as the raw bytes a server sends).
pub type JustificationCase = (SetId, AuthorityList, Vec<u8>, Vec<u8>);

/// The input of the `read_proof` target (SCALE): a header (its state root is the root the
/// proof is checked against), the proof's nodes and the entry ids asked for.
pub type ReadProofCase = (Vec<u8>, Vec<Vec<u8>>, Vec<u64>);

/// The total weight of distinct authorities of `set` that signed a valid precommit (for
/// `round` and the set's id) of `header` or a descendant of it (through the justification's
/// `votes_ancestries`), and the set's total weight; counted apart from `finality-grandpa`.
pub fn signed_weight(header: &Header, justification: &[u8], set: &AuthoritySet) -> (u128, u128) {
	let Ok(justification) =
		sp_consensus_grandpa::GrandpaJustification::<Header>::decode(&mut &justification[..])
	else {
		return (0, total_weight(set));
	};
	let mut weights: BTreeMap<&AuthorityId, u128> = BTreeMap::new();
	for (id, weight) in &set.authorities {
		*weights.entry(id).or_default() += u128::from(*weight);
	}
	let parents: HashMap<H256, H256> = justification
		.votes_ancestries
		.iter()
		.map(|ancestor| (ancestor.hash(), *ancestor.parent_hash()))
		.collect();
	let target = header.hash();
	let descends = |mut block: H256| {
		// Every step is a distinct header: no walk is longer than the ancestry.
		for _ in 0..=parents.len() {
			if block == target {
				return true;
			}
			match parents.get(&block) {
				Some(parent) => block = *parent,
				None => return false,
			}
		}
		false
	};
	let mut signers = HashSet::new();
	for signed in &justification.commit.precommits {
		if !weights.contains_key(&signed.id) || !descends(signed.precommit.target_hash) {
			continue;
		}
		let payload = sp_consensus_grandpa::localized_payload(
			justification.round,
			set.set_id,
			&finality_grandpa::Message::Precommit(signed.precommit.clone()),
		);
		if signed.id.verify(&payload, &signed.signature) {
			signers.insert(&signed.id);
		}
	}
	let signed = signers.iter().map(|id| weights[id]).sum();
	(signed, total_weight(set))
}

fn total_weight(set: &AuthoritySet) -> u128 {
	set.authorities.iter().map(|(_, weight)| u128::from(*weight)).sum()
}

/// Asserts that `justification` of `header` carries signers of more than two thirds of `set`.
pub fn assert_supermajority(header: &Header, justification: &[u8], set: &AuthoritySet) {
	let (signed, total) = signed_weight(header, justification, set);
	assert!(
		3 * signed > 2 * total,
		"accepted a justification of block {} signed by {signed} of {total} weight of set {}",
		header.number,
		set.set_id
	);
}

/// Asserts what an accepted entry must be: `id`, validated no later than the block it is proven
/// at, the same entry read again from `proof`, and the answer to its question there.
pub fn assert_entry(entry: &VerifiedEntry, id: u64, at: &FinalizedHeader, proof: &[Vec<u8>]) {
	assert_eq!(entry.id, id, "accepted another entry than asked for");
	assert_eq!(&entry.proven_at, at, "proven at another block");
	match entry.entry.status {
		EntryStatus::Validated { at: validated } => assert!(
			validated <= at.number,
			"entry {id} validated at {validated}, after the block {} it is proven at",
			at.number
		),
		ref other => panic!("accepted entry {id} with status {other:?}"),
	}
	let keys = [entry_key(id), answer_key(&entry.entry.question_key)];
	let values = read_proven(at.state_root, proof.to_vec(), &keys)
		.expect("a proof that proved the entry reads again");
	let raw = values[&keys[0]].clone().expect("the entry is in the proof");
	assert_eq!(
		ChainEntry::decode(&mut &raw[..]).ok().as_ref(),
		Some(&entry.entry),
		"the accepted entry is not what the proof holds"
	);
	let answer = values[&keys[1]].clone().expect("the answer is in the proof");
	assert_eq!(
		u64::decode(&mut &answer[..]).ok(),
		Some(id),
		"entry {id} is not its question's answer"
	);
}

/// The `proven` target: a JSON [`proven::Proven`] as a server sends it, checked whole against
/// the dev chain's genesis set (what `Trust::check` runs).
pub fn check_proven(data: &[u8]) {
	let Ok(document) = serde_json::from_slice::<proven::Proven>(data) else {
		return;
	};
	// What decodes re-encodes to the same document.
	let again = serde_json::to_vec(&document).expect("a decoded document encodes");
	assert_eq!(
		serde_json::from_slice::<proven::Proven>(&again).ok().as_ref(),
		Some(&document),
		"the wire form does not round-trip"
	);
	let trusted = dev_genesis_set();
	let Ok(checked) = proven::verify_proven(&trusted, 0, &document, &mut |_| {}) else {
		return;
	};
	// Every set change was justified by the set before it; the final block by the last set.
	let mut set = trusted;
	for change in &document.set_changes {
		let header = proven::decode_header(&change.header).expect("an accepted header decodes");
		assert_supermajority(&header, &change.justification.0, &set);
		set = follow_set_change(&set, &header, &change.justification.0)
			.expect("an accepted set change is followed again");
	}
	assert_eq!(set.set_id, checked.set.set_id);
	assert_eq!(set.authorities, checked.set.authorities);
	let header =
		proven::decode_header(&document.finality.header).expect("an accepted header decodes");
	assert_eq!(checked.finalized.hash, header.hash());
	assert_eq!(checked.finalized.number, header.number);
	assert_eq!(checked.finalized.state_root, header.state_root);
	assert_supermajority(&header, &document.finality.justification.0, &checked.set);
	// Every entry asked for, in order, validated at that block, with its own body.
	assert_eq!(checked.entries.len(), document.entries.len());
	let proof: Vec<Vec<u8>> = document.proof.iter().map(|node| node.0.clone()).collect();
	for (entry, sent) in checked.entries.iter().zip(&document.entries) {
		assert_entry(&entry.verified, sent.id, &checked.finalized, &proof);
		assert_eq!(entry.bytes, sent.body.0);
		assert_eq!(
			sp_crypto_hashing::blake2_256(&entry.bytes),
			entry.verified.entry.content_hash.0,
			"an accepted body does not hash to its entry's content hash"
		);
	}
}

/// The `justification` target: a header and a GRANDPA justification against a set
/// ([`JustificationCase`]), through [`verify_finality`] and [`follow_set_change`].
pub fn check_justification(data: &[u8]) {
	let Ok((set_id, authorities, header, justification)) =
		JustificationCase::decode(&mut &data[..])
	else {
		return;
	};
	let Ok(header) = Header::decode(&mut &header[..]) else {
		return;
	};
	let set = AuthoritySet { set_id, authorities };
	let finalized = verify_finality(&header, &justification, &set);
	if let Ok(finalized) = &finalized {
		assert_supermajority(&header, &justification, &set);
		assert_eq!(finalized.hash, header.hash());
		assert_eq!(finalized.number, header.number);
		assert_eq!(finalized.state_root, header.state_root);
	}
	if let Ok(next) = follow_set_change(&set, &header, &justification) {
		assert!(finalized.is_ok(), "a set change followed from an unproven block");
		assert_eq!(Some(next.set_id), set.set_id.checked_add(1));
		assert!(!next.authorities.is_empty());
		assert!(next.authorities.iter().all(|(_, weight)| *weight > 0));
	}
}

/// The `read_proof` target: a storage proof of entries against a header's state root
/// ([`ReadProofCase`]), through [`verify_entries`].
pub fn check_read_proof(data: &[u8]) {
	let Ok((header, proof, ids)) = ReadProofCase::decode(&mut &data[..]) else {
		return;
	};
	let Ok(header) = Header::decode(&mut &header[..]) else {
		return;
	};
	let at = FinalizedHeader {
		hash: header.hash(),
		number: header.number,
		state_root: header.state_root,
	};
	let Ok(entries) = verify_entries(&at, proof.clone(), &ids) else {
		return;
	};
	assert_eq!(entries.len(), ids.len(), "accepted another number of entries");
	for (entry, id) in entries.iter().zip(&ids) {
		assert_entry(entry, *id, &at, &proof);
	}
}

#[cfg(test)]
mod tests {
	use std::path::PathBuf;

	use super::*;

	fn files(dir: &str) -> Vec<(PathBuf, Vec<u8>)> {
		// The crate's directory as cargo gives it to the running test (the compile-time one
		// may be another checkout's when checkouts share a target dir).
		let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
			.map(PathBuf::from)
			.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
		let dir = manifest.join("fuzz").join(dir);
		let Ok(listing) = std::fs::read_dir(&dir) else {
			return Vec::new();
		};
		let mut files: Vec<_> = listing
			.map(|entry| entry.expect("a directory entry").path())
			.filter(|path| path.is_file())
			.map(|path| {
				let bytes = std::fs::read(&path).expect("a readable file");
				(path, bytes)
			})
			.collect();
		files.sort();
		files
	}

	/// A fuzz target's function.
	type Target = fn(&[u8]);

	/// Every committed seed and every input a fuzzer crashed on, through its target.
	#[test]
	fn seeds_and_past_crashes_hold_the_invariants() {
		let targets: [(&str, Target); 3] = [
			("proven", check_proven),
			("justification", check_justification),
			("read_proof", check_read_proof),
		];
		for (target, check) in targets {
			for dir in ["seeds", "regressions"] {
				for (path, bytes) in files(&format!("{dir}/{target}")) {
					eprintln!("{}", path.display());
					check(&bytes);
				}
			}
		}
	}

	/// Found by the `read_proof` target in its first 10-minute run
	/// (`regressions/read_proof/validated-after-its-block-*`): a real proof with the header's
	/// number lowered below the entry's validation block still proved the entry `Validated`
	/// "at" a block before it was. A justified header cannot do that, but `verify_entries` now
	/// refuses such a state whatever the header.
	#[test]
	fn an_entry_validated_after_the_block_it_is_proven_at_is_refused() {
		let (_, bytes) = files("seeds/read_proof")
			.into_iter()
			.find(|(path, _)| path.ends_with("dev-two-entries.scale"))
			.expect("the seed");
		let (header, proof, ids) = ReadProofCase::decode(&mut &bytes[..]).expect("a case");
		let mut header = Header::decode(&mut &header[..]).expect("a header");
		let at = |header: &Header| FinalizedHeader {
			hash: header.hash(),
			number: header.number,
			state_root: header.state_root,
		};
		let entries = verify_entries(&at(&header), proof.clone(), &ids).expect("the seed verifies");
		let EntryStatus::Validated { at: validated_at } = entries[0].entry.status else {
			panic!("a validated entry");
		};
		header.number = validated_at - 1;
		assert_eq!(
			verify_entries(&at(&header), proof.clone(), &ids).unwrap_err(),
			crate::VerifyError::ValidatedAfter {
				entry: ids[0],
				validated_at,
				block: validated_at - 1,
			}
		);
		assert!(matches!(
			crate::verify_entry(&at(&header), proof.clone(), ids[0], None),
			Err(crate::VerifyError::ValidatedAfter { .. })
		));
		// The same state at the block of the validation is fine.
		header.number = validated_at;
		verify_entries(&at(&header), proof, &ids).expect("validated at that block");
	}

	/// The seeds from a real dev chain are accepted: the targets start from documents that pass
	/// every check, so the fuzzers reach the invariants (and the fixed set is the dev chain's).
	#[test]
	fn the_dev_chain_seeds_are_accepted() {
		let proven_seeds = files("seeds/proven");
		assert!(!proven_seeds.is_empty(), "no proven seeds");
		let mut with_entries = 0;
		let mut with_set_changes = 0;
		for (path, bytes) in proven_seeds {
			let document: proven::Proven = serde_json::from_slice(&bytes).expect("a document");
			let checked = proven::verify_proven(&dev_genesis_set(), 0, &document, &mut |_| {})
				.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
			with_entries += usize::from(!checked.entries.is_empty());
			with_set_changes += usize::from(!document.set_changes.is_empty());
		}
		assert!(with_entries > 0 && with_set_changes > 0);
		let justifications = files("seeds/justification");
		assert!(!justifications.is_empty(), "no justification seeds");
		for (path, bytes) in justifications {
			let (set_id, authorities, header, justification) =
				JustificationCase::decode(&mut &bytes[..]).expect("a case");
			let header = Header::decode(&mut &header[..]).expect("a header");
			let set = AuthoritySet { set_id, authorities };
			let name = path.file_name().unwrap().to_string_lossy().into_owned();
			let result = verify_finality(&header, &justification, &set);
			// Seeds named `refused-*` are below the threshold on purpose.
			assert_eq!(result.is_ok(), !name.starts_with("refused-"), "{name}: {result:?}");
		}
		let proofs = files("seeds/read_proof");
		assert!(!proofs.is_empty(), "no read-proof seeds");
		for (path, bytes) in proofs {
			let (header, proof, ids) = ReadProofCase::decode(&mut &bytes[..]).expect("a case");
			let header = Header::decode(&mut &header[..]).expect("a header");
			let at = FinalizedHeader {
				hash: header.hash(),
				number: header.number,
				state_root: header.state_root,
			};
			let entries = verify_entries(&at, proof, &ids)
				.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
			assert_eq!(entries.len(), ids.len());
		}
	}
}
