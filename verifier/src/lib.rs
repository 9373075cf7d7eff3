//! # Membria verifier
//!
//! What a device checks before it loads a knowledge entry, each step refusing with its own
//! reason ([`VerifyError`]):
//!
//! 1. [`verify_finality`]: a block is final, proven by a GRANDPA justification checked against
//!    the authority set the device trusts (from the chain spec's raw genesis storage,
//!    [`AuthoritySet::from_genesis_value`]) — never by the word of the node it talks to. The
//!    commit is validated with `finality-grandpa` and every precommit signature with
//!    `sp-consensus-grandpa`.
//! 2. [`read_proven`] / [`verify_entry`]: `Kcg.Entries(id)` and `Kcg.Answer(key)` read from a
//!    storage proof (`state_getReadProof`) against that block's state root (`sp-state-machine`),
//!    decoded with the runtime's own types; only a `Validated` entry is accepted.
//! 3. [`verify_body`]: the body's size, blake2-256 (`content_hash`) and recomputed CID, its schema
//!    and its question key.
//!
//! The trusted set moves with the chain: [`follow_set_change`] accepts the next set only from a
//! block the current set has justified whose header signals the change (pallet-grandpa's
//! `ScheduledChange`, enacted at that block). Forced changes are refused: they are for a stalled
//! chain's governance, and a device cannot tell one from an attack.
//!
//! [`proven`] is the one document a server sends a device (JSON) and its whole check
//! ([`proven::verify_proven`]): what the device runs and what the fuzz targets (`fuzz/`, their
//! harness in `fuzzing`, built with the `fuzzing` feature) run on arbitrary bytes.

#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod proven;

use std::collections::{HashMap, HashSet};

use codec::{Decode, Encode};
use finality_grandpa::voter_set::VoterSet;
pub use membria_kcg_primitives::{Entry, EntryStatus};
use membria_offchain::{check_body, Body, CheckFailure, EntryFacts};
use membria_primitives::{EntryId, QuestionKey, RejectReason};
pub use sp_consensus_grandpa::{AuthorityId, AuthorityList, SetId};
use sp_core::H256;
use sp_runtime::{
	generic,
	traits::{BlakeTwo256, Hash as HashT, Header as HeaderT},
	AccountId32,
};

/// The chain's block number.
pub type BlockNumber = u32;
/// The chain's header.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// An entry as the Membria runtime stores it.
pub type ChainEntry = Entry<AccountId32, u128, BlockNumber>;

/// Why a step of the trust chain refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
	#[error("undecodable {what}: {reason}")]
	Undecodable { what: &'static str, reason: String },
	#[error("the trusted authority set is empty or has a zero weight")]
	BadAuthoritySet,
	#[error("the header's hash {header} is not the justified block {justified}")]
	HeaderMismatch { header: H256, justified: H256 },
	#[error("the justification's commit is not valid for the trusted authority set (set {set_id}): {reason}")]
	InvalidCommit { set_id: SetId, reason: String },
	#[error("the justification carries {precommits} precommits, more than two (a vote and an equivocation) for each of the set's {authorities} authorities")]
	TooManyPrecommits { precommits: usize, authorities: usize },
	#[error("a precommit signature does not verify for set {set_id} round {round}")]
	BadSignature { set_id: SetId, round: u64 },
	#[error("a precommit's block is not in the justification's ancestry")]
	BadAncestry,
	#[error("the justification carries headers no precommit needs")]
	ExtraAncestry,
	#[error("the storage proof does not prove against the state root {root}: {reason}")]
	BadStorageProof { root: H256, reason: String },
	#[error("the proven state has no entry {0}")]
	NoSuchEntry(EntryId),
	#[error("entry {entry} is {status}, not Validated")]
	NotValidated { entry: EntryId, status: String },
	#[error(
		"entry {entry} is Validated at block {validated_at}, after block {block} it is proven at"
	)]
	ValidatedAfter { entry: EntryId, validated_at: BlockNumber, block: BlockNumber },
	#[error("the proven answer to this question is entry {proven:?}, not entry {claimed}")]
	NotTheAnswer { claimed: EntryId, proven: Option<EntryId> },
	#[error("block {0} does not signal an authority-set change")]
	NoSetChange(H256),
	#[error("block {block} signals an authority-set change a device cannot follow: {reason}")]
	UnsupportedSetChange { block: H256, reason: &'static str },
	#[error("the body does not match entry {entry}: {reason:?}")]
	BadBody { entry: EntryId, reason: RejectReason },
	#[error("the bytes served for entry {entry} are neither the content of its CID nor the bytes its author committed to")]
	NotTheContent { entry: EntryId },
}

/// The GRANDPA authorities a device trusts, and the set id they sign under.
#[derive(Clone, Debug)]
pub struct AuthoritySet {
	pub set_id: SetId,
	pub authorities: AuthorityList,
}

impl AuthoritySet {
	/// The storage key of pallet-grandpa's `Authorities` (the set in force).
	pub fn storage_key() -> Vec<u8> {
		let mut key = sp_crypto_hashing::twox_128(b"Grandpa").to_vec();
		key.extend(sp_crypto_hashing::twox_128(b"Authorities"));
		key
	}

	/// The genesis set, from the value under [`AuthoritySet::storage_key`] in the chain spec's
	/// raw genesis storage.
	pub fn from_genesis_value(value: &[u8]) -> Result<Self, VerifyError> {
		let authorities = AuthorityList::decode(&mut &value[..]).map_err(|e| {
			VerifyError::Undecodable { what: "authority list", reason: e.to_string() }
		})?;
		if authorities.is_empty() || authorities.iter().any(|(_, weight)| *weight == 0) {
			return Err(VerifyError::BadAuthoritySet);
		}
		Ok(Self { set_id: 0, authorities })
	}
}

/// What `grandpa_proveFinality` returns (SCALE): the justified block, its justification, and
/// the headers between the asked block and it.
#[derive(Clone, Debug, Encode, Decode)]
pub struct FinalityProof {
	pub block: H256,
	pub justification: Vec<u8>,
	pub unknown_headers: Vec<Header>,
}

/// A block proven final: its header is trustworthy, so is its state root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalizedHeader {
	pub hash: H256,
	pub number: BlockNumber,
	pub state_root: H256,
}

struct Ancestry(HashMap<H256, Header>);

impl finality_grandpa::Chain<H256, BlockNumber> for Ancestry {
	fn ancestry(&self, base: H256, block: H256) -> Result<Vec<H256>, finality_grandpa::Error> {
		let mut route = Vec::new();
		let mut current = block;
		while current != base {
			let header = self.0.get(&current).ok_or(finality_grandpa::Error::NotDescendent)?;
			current = *header.parent_hash();
			route.push(current);
		}
		route.pop();
		Ok(route)
	}
}

/// Checks a GRANDPA justification of `header` against the trusted `set`.
pub fn verify_finality(
	header: &Header,
	justification: &[u8],
	set: &AuthoritySet,
) -> Result<FinalizedHeader, VerifyError> {
	use finality_grandpa::Chain;
	let justification =
		sp_consensus_grandpa::GrandpaJustification::<Header>::decode(&mut &justification[..])
			.map_err(|e| VerifyError::Undecodable {
				what: "justification",
				reason: e.to_string(),
			})?;
	let hash = header.hash();
	if justification.commit.target_hash != hash
		|| justification.commit.target_number != header.number
	{
		return Err(VerifyError::HeaderMismatch {
			header: hash,
			justified: justification.commit.target_hash,
		});
	}
	// Each authority precommits once, and `finality-grandpa` counts at most one equivocation of
	// each: anything more is padding, and each precommit costs a walk through the ancestry below
	// (unbounded, the walks were quadratic in the justification's size).
	let authorities = set.authorities.len();
	let precommits = justification.commit.precommits.len();
	if precommits > authorities.saturating_mul(2) {
		return Err(VerifyError::TooManyPrecommits { precommits, authorities });
	}
	let voters =
		VoterSet::new(set.authorities.iter().cloned()).ok_or(VerifyError::BadAuthoritySet)?;
	let ancestry =
		Ancestry(justification.votes_ancestries.iter().map(|h| (h.hash(), h.clone())).collect());
	match finality_grandpa::validate_commit(&justification.commit, &voters, &ancestry) {
		Ok(result) if result.is_valid() => {},
		Ok(_) => {
			return Err(VerifyError::InvalidCommit {
				set_id: set.set_id,
				reason: "the precommits of known authorities do not reach the threshold".into(),
			})
		},
		Err(error) => {
			return Err(VerifyError::InvalidCommit {
				set_id: set.set_id,
				reason: error.to_string(),
			})
		},
	}
	let base = justification
		.commit
		.precommits
		.iter()
		.min_by_key(|signed| signed.precommit.target_number)
		.map(|signed| signed.precommit.target_hash)
		.ok_or(VerifyError::InvalidCommit { set_id: set.set_id, reason: "no precommits".into() })?;
	let mut visited = HashSet::new();
	for signed in &justification.commit.precommits {
		let known: &AuthorityId = &signed.id;
		let valid = sp_consensus_grandpa::check_message_signature(
			&finality_grandpa::Message::Precommit(signed.precommit.clone()),
			known,
			&signed.signature,
			justification.round,
			set.set_id,
		);
		if !valid.is_valid() {
			return Err(VerifyError::BadSignature {
				set_id: set.set_id,
				round: justification.round,
			});
		}
		if signed.precommit.target_hash == base {
			continue;
		}
		let route = ancestry
			.ancestry(base, signed.precommit.target_hash)
			.map_err(|_| VerifyError::BadAncestry)?;
		visited.insert(signed.precommit.target_hash);
		visited.extend(route);
	}
	if justification.votes_ancestries.iter().any(|h| !visited.contains(&h.hash())) {
		return Err(VerifyError::ExtraAncestry);
	}
	Ok(FinalizedHeader { hash, number: header.number, state_root: header.state_root })
}

/// The authorities a header's GRANDPA digest hands over to (a standard change enacted at the
/// header's block), if it signals a change; refuses delayed and forced changes.
pub fn set_change_signal(header: &Header) -> Result<Option<AuthorityList>, VerifyError> {
	let block = header.hash();
	let mut change = None;
	for log in &header.digest.logs {
		let Some(data) = log.as_consensus().and_then(|(engine, data)| {
			(engine == sp_consensus_grandpa::GRANDPA_ENGINE_ID).then_some(data)
		}) else {
			continue;
		};
		let log = sp_consensus_grandpa::ConsensusLog::<BlockNumber>::decode(&mut &data[..])
			.map_err(|e| VerifyError::Undecodable {
				what: "GRANDPA consensus log",
				reason: e.to_string(),
			})?;
		match log {
			sp_consensus_grandpa::ConsensusLog::ScheduledChange(scheduled) => {
				if scheduled.delay != 0 {
					return Err(VerifyError::UnsupportedSetChange {
						block,
						reason: "the change is delayed",
					});
				}
				change = Some(scheduled.next_authorities);
			},
			sp_consensus_grandpa::ConsensusLog::ForcedChange(..) => {
				return Err(VerifyError::UnsupportedSetChange { block, reason: "a forced change" })
			},
			_ => {},
		}
	}
	Ok(change)
}

/// The next trusted set: `header` must be justified by `set` and signal (in a GRANDPA consensus
/// digest) a standard change enacted at that block, as pallet-grandpa schedules at a session
/// change. Blocks after it are justified by the returned set.
pub fn follow_set_change(
	set: &AuthoritySet,
	header: &Header,
	justification: &[u8],
) -> Result<AuthoritySet, VerifyError> {
	let finalized = verify_finality(header, justification, set)?;
	let authorities = set_change_signal(header)?.ok_or(VerifyError::NoSetChange(finalized.hash))?;
	if authorities.is_empty() || authorities.iter().any(|(_, weight)| *weight == 0) {
		return Err(VerifyError::BadAuthoritySet);
	}
	Ok(AuthoritySet { set_id: set.set_id + 1, authorities })
}

/// Reads `keys` from a storage proof against a proven state root; `None` for a key the proof
/// shows absent.
pub fn read_proven(
	state_root: H256,
	proof: Vec<Vec<u8>>,
	keys: &[Vec<u8>],
) -> Result<HashMap<Vec<u8>, Option<Vec<u8>>>, VerifyError> {
	let proof = sp_trie::StorageProof::new(proof);
	sp_state_machine::read_proof_check::<BlakeTwo256, _>(state_root, proof, keys.iter()).map_err(
		|error| VerifyError::BadStorageProof { root: state_root, reason: format!("{error:?}") },
	)
}

fn twox_128(data: &[u8]) -> [u8; 16] {
	sp_crypto_hashing::twox_128(data)
}

fn map_key(item: &str, key: &impl Encode) -> Vec<u8> {
	let mut out = twox_128(b"Kcg").to_vec();
	out.extend(twox_128(item.as_bytes()));
	let encoded = key.encode();
	out.extend(sp_crypto_hashing::blake2_128(&encoded));
	out.extend(encoded);
	out
}

/// The storage key of `Kcg.Entries(id)`.
pub fn entry_key(id: EntryId) -> Vec<u8> {
	map_key("Entries", &id)
}

/// The storage key of `Kcg.Answer(question_key)`.
pub fn answer_key(question_key: &QuestionKey) -> Vec<u8> {
	map_key("Answer", question_key)
}

/// The storage key of `Validators.Tallies(id)`: the stake on each side of the entry's vote.
pub fn tally_key(id: EntryId) -> Vec<u8> {
	let mut out = twox_128(b"Validators").to_vec();
	out.extend(twox_128(b"Tallies"));
	let encoded = id.encode();
	out.extend(sp_crypto_hashing::twox_64(&encoded));
	out.extend(encoded);
	out
}

/// Every key [`verify_entries`] reads for an entry answering `question_key`.
pub fn entry_proof_keys(id: EntryId, question_key: &QuestionKey) -> [Vec<u8>; 3] {
	[entry_key(id), answer_key(question_key), tally_key(id)]
}

/// A validated entry read from a proof against a finalized block.
#[derive(Clone, Debug)]
pub struct VerifiedEntry {
	pub id: EntryId,
	pub entry: ChainEntry,
	/// The stake that approved it (`Validators.Tallies`), when the proof was asked for it.
	pub approving_stake: Option<u128>,
	/// The finalized block the entry was proven at.
	pub proven_at: FinalizedHeader,
}

/// Reads `Kcg.Entries(id)` (and, when `question_key` is given, `Kcg.Answer(question_key)`) from
/// `proof` against the finalized block; accepts only a validated entry that is the answer.
pub fn verify_entry(
	proven_at: &FinalizedHeader,
	proof: Vec<Vec<u8>>,
	id: EntryId,
	question_key: Option<&QuestionKey>,
) -> Result<VerifiedEntry, VerifyError> {
	let mut keys = vec![entry_key(id)];
	if let Some(question_key) = question_key {
		keys.push(answer_key(question_key));
	}
	let values = read_proven(proven_at.state_root, proof, &keys)?;
	let raw = values.get(&keys[0]).cloned().flatten().ok_or(VerifyError::NoSuchEntry(id))?;
	let entry = decode_validated(id, &raw, proven_at.number)?;
	if let Some(answer) = keys.get(1) {
		let proven = decode_answer(values.get(answer).cloned().flatten())?;
		if proven != Some(id) {
			return Err(VerifyError::NotTheAnswer { claimed: id, proven });
		}
	}
	Ok(VerifiedEntry { id, entry, approving_stake: None, proven_at: proven_at.clone() })
}

/// Reads `Kcg.Entries(id)` for every id, `Kcg.Answer` of each entry's question and the entry's
/// `Validators.Tallies`, from one `proof` against the finalized block ([`entry_proof_keys`]):
/// every entry must be validated and be its question's answer.
pub fn verify_entries(
	proven_at: &FinalizedHeader,
	proof: Vec<Vec<u8>>,
	ids: &[EntryId],
) -> Result<Vec<VerifiedEntry>, VerifyError> {
	let entry_keys: Vec<_> = ids.iter().map(|id| entry_key(*id)).collect();
	let values = read_proven(proven_at.state_root, proof.clone(), &entry_keys)?;
	let mut entries = Vec::with_capacity(ids.len());
	for (id, key) in ids.iter().zip(&entry_keys) {
		let raw = values.get(key).cloned().flatten().ok_or(VerifyError::NoSuchEntry(*id))?;
		entries.push(decode_validated(*id, &raw, proven_at.number)?);
	}
	let answer_keys: Vec<_> = entries.iter().map(|entry| answer_key(&entry.question_key)).collect();
	let tally_keys: Vec<_> = ids.iter().map(|id| tally_key(*id)).collect();
	let mut keys = answer_keys.clone();
	keys.extend(tally_keys.iter().cloned());
	let values = read_proven(proven_at.state_root, proof, &keys)?;
	ids.iter()
		.zip(entries)
		.zip(answer_keys.iter().zip(&tally_keys))
		.map(|((id, entry), (answer, tally))| {
			let proven = decode_answer(values.get(answer).cloned().flatten())?;
			if proven != Some(*id) {
				return Err(VerifyError::NotTheAnswer { claimed: *id, proven });
			}
			let approving_stake = values
				.get(tally)
				.cloned()
				.flatten()
				.map(|raw| <(u128, u128)>::decode(&mut &raw[..]))
				.transpose()
				.map_err(|e| VerifyError::Undecodable { what: "tally", reason: e.to_string() })?
				.map(|(approve, _reject)| approve);
			Ok(VerifiedEntry { id: *id, entry, approving_stake, proven_at: proven_at.clone() })
		})
		.collect()
}

/// The entry `id` from its raw value at block `at`: it must be `Validated`, at `at` or before
/// (a state that says otherwise is not the state of block `at`).
fn decode_validated(id: EntryId, raw: &[u8], at: BlockNumber) -> Result<ChainEntry, VerifyError> {
	let entry = ChainEntry::decode(&mut &raw[..])
		.map_err(|e| VerifyError::Undecodable { what: "entry", reason: e.to_string() })?;
	match entry.status {
		EntryStatus::Validated { at: validated_at } if validated_at > at => {
			Err(VerifyError::ValidatedAfter { entry: id, validated_at, block: at })
		},
		EntryStatus::Validated { .. } => Ok(entry),
		ref status => Err(VerifyError::NotValidated { entry: id, status: format!("{status:?}") }),
	}
}

fn decode_answer(raw: Option<Vec<u8>>) -> Result<Option<EntryId>, VerifyError> {
	raw.map(|raw| EntryId::decode(&mut &raw[..]))
		.transpose()
		.map_err(|e| VerifyError::Undecodable { what: "answer", reason: e.to_string() })
}

/// Checks a body against its verified entry: size, blake2-256, CID, schema, question key.
pub fn verify_body(entry: &VerifiedEntry, bytes: &[u8]) -> Result<Body, VerifyError> {
	let facts = EntryFacts {
		question_key: entry.entry.question_key,
		content_hash: entry.entry.content_hash.0,
		cid: entry.entry.cid.to_vec(),
		size: entry.entry.size,
	};
	let body = check_body(bytes, &facts).map_err(|failure| match failure {
		CheckFailure::NotTheContent => VerifyError::NotTheContent { entry: entry.id },
		CheckFailure::Reject(reason) => VerifyError::BadBody { entry: entry.id, reason },
	})?;
	// The links the body proposes are the ones the chain recorded with it (and validators
	// checked): a device shows no link the chain does not carry.
	if body.chain_links().as_deref() != Some(&entry.entry.links[..]) {
		return Err(VerifyError::BadBody { entry: entry.id, reason: RejectReason::BadLink });
	}
	Ok(body)
}

/// blake2-256 of a header, its hash on chain.
pub fn header_hash(header: &Header) -> H256 {
	BlakeTwo256::hash_of(header)
}

#[cfg(test)]
mod tests {
	use super::*;

	/// A body is accepted only with the links its entry was recorded with: a device shows no
	/// link the chain does not carry, nor hides one it does.
	#[test]
	fn a_body_must_list_its_entrys_links() {
		use membria_primitives::Relation;
		let body = |links: &[(u64, &str)]| {
			Body {
				v: 1,
				question: "What is Linux?".into(),
				phrasings: Vec::new(),
				answer: "Linux: a kernel.".into(),
				facts: Vec::new(),
				sources: vec![membria_offchain::Source {
					uri: "dict://foldoc/linux".into(),
					sha256: "0".repeat(64),
				}],
				links: links
					.iter()
					.map(|(entry, rel)| membria_offchain::body::BodyLink {
						rel: (*rel).into(),
						entry: *entry,
					})
					.collect(),
				distiller: membria_offchain::DistillerInfo {
					name: "test".into(),
					model: "corpus".into(),
				},
				created: 0,
			}
			.to_bytes()
		};
		let verified = |bytes: &[u8], links: Vec<(u64, Relation)>| VerifiedEntry {
			id: 5,
			entry: ChainEntry {
				question_key: membria_primitives::question_key("What is Linux?"),
				content_hash: H256(sp_crypto_hashing::blake2_256(bytes)),
				cid: membria_primitives::unixfs::file_cid(
					bytes,
					membria_primitives::CidVersion::V1,
				)
				.try_into()
				.unwrap(),
				size: bytes.len() as u32,
				author: sp_runtime::AccountId32::new([1; 32]),
				gap: None,
				links: links.try_into().unwrap(),
				status: EntryStatus::Validated { at: 3 },
				submitted_at: 1,
				session: 0,
				deposit: 0,
			},
			approving_stake: None,
			proven_at: FinalizedHeader { hash: H256::zero(), number: 4, state_root: H256::zero() },
		};
		let linked = body(&[(3, "related")]);
		assert!(verify_body(&verified(&linked, vec![(3, Relation::Related)]), &linked).is_ok());
		for (bytes, links) in [
			(linked.clone(), vec![]),
			(linked.clone(), vec![(3, Relation::Refines)]),
			(linked.clone(), vec![(4, Relation::Related)]),
			(body(&[]), vec![(3, Relation::Related)]),
		] {
			let entry = verified(&bytes, links);
			assert!(
				matches!(
					verify_body(&entry, &bytes),
					Err(VerifyError::BadBody { reason: RejectReason::BadLink, .. })
				),
				"{:?}",
				entry.entry.links
			);
		}
	}

	#[test]
	fn authority_sets_must_be_non_empty_with_weights() {
		let alice: AuthorityId = sp_core::ed25519::Public::from_raw([1; 32]).into();
		let good = vec![(alice.clone(), 1u64)].encode();
		assert_eq!(AuthoritySet::from_genesis_value(&good).unwrap().authorities.len(), 1);
		let empty = AuthorityList::new().encode();
		assert_eq!(
			AuthoritySet::from_genesis_value(&empty).unwrap_err(),
			VerifyError::BadAuthoritySet
		);
		let zero = vec![(alice, 0u64)].encode();
		assert_eq!(
			AuthoritySet::from_genesis_value(&zero).unwrap_err(),
			VerifyError::BadAuthoritySet
		);
		assert!(matches!(
			AuthoritySet::from_genesis_value(&[7]),
			Err(VerifyError::Undecodable { .. })
		));
	}

	fn header_with(logs: Vec<sp_consensus_grandpa::ConsensusLog<BlockNumber>>) -> Header {
		let logs = logs
			.into_iter()
			.map(|log| {
				sp_runtime::DigestItem::Consensus(
					sp_consensus_grandpa::GRANDPA_ENGINE_ID,
					log.encode(),
				)
			})
			.collect();
		Header::new(7, H256::zero(), H256::zero(), H256::zero(), sp_runtime::Digest { logs })
	}

	#[test]
	fn set_changes_are_read_from_the_grandpa_digest() {
		use sp_consensus_grandpa::{ConsensusLog, ScheduledChange};
		let bob: AuthorityId = sp_core::ed25519::Public::from_raw([2; 32]).into();
		let change = |delay| ScheduledChange { next_authorities: vec![(bob.clone(), 1)], delay };
		assert_eq!(set_change_signal(&header_with(vec![])).unwrap(), None);
		assert_eq!(
			set_change_signal(&header_with(vec![ConsensusLog::OnDisabled(0)])).unwrap(),
			None
		);
		assert_eq!(
			set_change_signal(&header_with(vec![ConsensusLog::ScheduledChange(change(0))]))
				.unwrap(),
			Some(vec![(bob.clone(), 1)])
		);
		assert!(matches!(
			set_change_signal(&header_with(vec![ConsensusLog::ScheduledChange(change(3))])),
			Err(VerifyError::UnsupportedSetChange { .. })
		));
		assert!(matches!(
			set_change_signal(&header_with(vec![ConsensusLog::ForcedChange(1, change(0))])),
			Err(VerifyError::UnsupportedSetChange { .. })
		));
	}

	/// Found reviewing the fuzz targets, and measured with the `justification` target's binary:
	/// one voter's precommit copied many times, each to the tip of a long made-up ancestry, had
	/// `finality-grandpa` walk the ancestry once per copy before any signature was checked — 12 s
	/// for 462 KiB, 54 s for 924 KiB: a gateway could stall a device with one response.
	#[test]
	fn padded_justifications_are_refused_before_any_ancestry_walk() {
		let alice: AuthorityId = sp_core::ed25519::Public::from_raw([1; 32]).into();
		let set = AuthoritySet { set_id: 0, authorities: vec![(alice.clone(), 1)] };
		let target = header_with(vec![]);
		let mut ancestries: Vec<Header> = Vec::new();
		for number in target.number + 1..target.number + 2_000 {
			let parent = ancestries.last().unwrap_or(&target).hash();
			ancestries.push(Header::new(
				number,
				H256::zero(),
				H256::zero(),
				parent,
				Default::default(),
			));
		}
		let precommit = |header: &Header| (header.hash(), header.number, [0u8; 64], alice.clone());
		let tip = ancestries.last().unwrap().clone();
		let mut precommits = vec![precommit(&target)];
		precommits.extend((1..2_000).map(|_| precommit(&tip)));
		// SCALE of `GrandpaJustification { round, commit: Commit { .. }, votes_ancestries }`.
		let justification = (1u64, (target.hash(), target.number, precommits), ancestries).encode();
		let started = std::time::Instant::now();
		assert_eq!(
			verify_finality(&target, &justification, &set).unwrap_err(),
			VerifyError::TooManyPrecommits { precommits: 2_000, authorities: 1 }
		);
		assert!(started.elapsed() < std::time::Duration::from_secs(1));
		// A vote and one equivocation per authority are still looked at (and refused here for
		// their signatures, not their number).
		let two = (
			1u64,
			(target.hash(), target.number, vec![precommit(&target), precommit(&tip)]),
			Vec::<Header>::new(),
		)
			.encode();
		assert!(!matches!(
			verify_finality(&target, &two, &set),
			Err(VerifyError::TooManyPrecommits { .. })
		));
	}

	/// A justification signed by voters of `weights` (seeds 1..), for `target`.
	fn justification_signed_by(target: &Header, signers: &[u8], set_id: u64) -> Vec<u8> {
		use sp_core::Pair;
		let round = 1u64;
		let precommit = finality_grandpa::Precommit::<H256, BlockNumber> {
			target_hash: target.hash(),
			target_number: target.number,
		};
		let payload = sp_consensus_grandpa::localized_payload(
			round,
			set_id,
			&finality_grandpa::Message::<H256, BlockNumber>::Precommit(precommit.clone()),
		);
		let precommits: Vec<_> = signers
			.iter()
			.map(|seed| {
				let pair = sp_core::ed25519::Pair::from_seed(&[*seed; 32]);
				let id: AuthorityId = pair.public().into();
				(precommit.clone(), pair.sign(&payload), id)
			})
			.collect();
		(round, (target.hash(), target.number, precommits), Vec::<Header>::new()).encode()
	}

	/// Finality weighs stake: a device accepts a header exactly when the signers hold more than
	/// two thirds of the set's weight, however many or few they are.
	#[test]
	fn justifications_need_a_weighted_supermajority() {
		use sp_core::Pair;
		// Voter 1 holds 3 of 6; voters 2, 3 and 4 one each. GRANDPA's threshold: 6 − ⌊5/3⌋ = 5.
		let voter = |seed: u8| -> AuthorityId {
			sp_core::ed25519::Pair::from_seed(&[seed; 32]).public().into()
		};
		let set = AuthoritySet {
			set_id: 4,
			authorities: vec![(voter(1), 3), (voter(2), 1), (voter(3), 1), (voter(4), 1)],
		};
		let target = header_with(vec![]);
		let refused = |signers: &[u8]| {
			matches!(
				verify_finality(&target, &justification_signed_by(&target, signers, 4), &set),
				Err(VerifyError::InvalidCommit { .. })
			)
		};
		// Three of four voters — a supermajority by count — with half the weight.
		assert!(refused(&[2, 3, 4]), "3 of 4 seats, 3 of 6 weight");
		// Four sixths is two thirds, not more.
		assert!(refused(&[1, 2]), "4 of 6 weight");
		assert!(verify_finality(&target, &justification_signed_by(&target, &[1, 2, 3], 4), &set)
			.is_ok());
		assert!(verify_finality(
			&target,
			&justification_signed_by(&target, &[1, 2, 3, 4], 4),
			&set
		)
		.is_ok());
		// Signed under another set id: no signature verifies.
		assert!(matches!(
			verify_finality(&target, &justification_signed_by(&target, &[1, 2, 3, 4], 5), &set),
			Err(VerifyError::BadSignature { set_id: 4, .. })
		));
	}

	#[test]
	fn keys_are_the_pallet_storage_keys() {
		let key = entry_key(5);
		assert_eq!(&key[..16], &sp_crypto_hashing::twox_128(b"Kcg"));
		assert_eq!(&key[16..32], &sp_crypto_hashing::twox_128(b"Entries"));
		assert_eq!(&key[48..], &5u64.encode()[..]);
		assert_eq!(answer_key(&[9; 32]).len(), 32 + 16 + 32);
	}
}
