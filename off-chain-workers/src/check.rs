//! What a validator checks of a body before it votes, in order: the bytes are the ones the
//! entry committed to (CID, size, blake2-256), they are a body (schema), and the body answers
//! the entry's question (its question has the entry's key). Relevance and correctness are the
//! distiller's `/verify`, which runs after these.
//!
//! ## Whose fault a mismatch is
//!
//! The bytes come from an IPFS node, which may be faulty or lying; only what the bytes prove
//! may become a vote. The CID and the blake2-256 each bind one byte string:
//!
//! | the bytes are the CID's content | they have the committed size and blake2-256 | so |
//! | --- | --- | --- |
//! | yes | yes | go on: schema, question, `/verify` |
//! | yes | no | the author committed a size or hash that is not its CID's: reject (`SizeMismatch`, `HashMismatch`) |
//! | no | yes | the author's own bytes, under a CID that is not theirs: reject (`CidMismatch`) |
//! | no | no | proves nothing of the entry — a faulty IPFS node, a cut-short read: [`CheckFailure::NotTheContent`], no vote, fetch again |
//!
//! No IPFS node can produce the second or third row for bytes other than the author's (that
//! would take a sha2-256 or blake2-256 collision), so a node that lies makes a validator retry,
//! never vote against the others.

use alloc::vec::Vec;
use membria_primitives::{question_key, unixfs::file_cid, validate_cid, QuestionKey, RejectReason};

use crate::body::Body;

/// What the chain says of an entry's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryFacts {
	pub question_key: QuestionKey,
	pub content_hash: [u8; 32],
	pub cid: Vec<u8>,
	pub size: u32,
}

/// Why fetched bytes are not a body the validator may go on to verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckFailure {
	/// The bytes are neither the content of the entry's CID nor the bytes its author committed
	/// to: whoever served them is faulty (or the read was cut short). They say nothing of the
	/// entry — not a vote; fetch again (from another IPFS node when there is one).
	NotTheContent,
	/// The entry is at fault, provably from the bytes: a reject vote with this reason.
	Reject(RejectReason),
}

/// Checks fetched `bytes` against the entry; the parsed body when they match.
pub fn check_body(bytes: &[u8], entry: &EntryFacts) -> Result<Body, CheckFailure> {
	// The chain checked the CID at submission; one it holds that is not valid is the author's.
	let (version, _, _) =
		validate_cid(&entry.cid).map_err(|_| CheckFailure::Reject(RejectReason::CidMismatch))?;
	let is_cid_content = file_cid(bytes, version) == entry.cid;
	let size_matches = bytes.len() as u64 == u64::from(entry.size);
	let is_committed = size_matches && sp_crypto_hashing::blake2_256(bytes) == entry.content_hash;
	match (is_cid_content, is_committed) {
		(false, false) => return Err(CheckFailure::NotTheContent),
		(true, false) if !size_matches => {
			return Err(CheckFailure::Reject(RejectReason::SizeMismatch))
		},
		(true, false) => return Err(CheckFailure::Reject(RejectReason::HashMismatch)),
		(false, true) => return Err(CheckFailure::Reject(RejectReason::CidMismatch)),
		(true, true) => {},
	}
	let body = Body::parse(bytes).map_err(|_| CheckFailure::Reject(RejectReason::BadSchema))?;
	if question_key(&body.question) != entry.question_key {
		return Err(CheckFailure::Reject(RejectReason::Irrelevant));
	}
	Ok(body)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::body::{DistillerInfo, Source};
	use membria_primitives::CidVersion;

	fn entry_for(bytes: &[u8], question: &str) -> EntryFacts {
		EntryFacts {
			question_key: question_key(question),
			content_hash: sp_crypto_hashing::blake2_256(bytes),
			cid: file_cid(bytes, CidVersion::V1),
			size: bytes.len() as u32,
		}
	}

	fn body_bytes(question: &str) -> Vec<u8> {
		Body {
			v: 1,
			question: question.into(),
			phrasings: Vec::new(),
			answer: "Ethernet is a local area network.".into(),
			facts: Vec::new(),
			sources: alloc::vec![Source {
				uri: "dict://foldoc/ethernet".into(),
				sha256: "0".repeat(64)
			}],
			links: Vec::new(),
			distiller: DistillerInfo { name: "test".into(), model: "corpus".into() },
			created: 0,
		}
		.to_bytes()
	}

	#[test]
	fn accepts_the_committed_body() {
		let bytes = body_bytes("What is Ethernet?");
		let entry = entry_for(&bytes, "what is ethernet");
		assert_eq!(check_body(&bytes, &entry).unwrap().question, "What is Ethernet?");
	}

	#[test]
	fn names_what_the_author_got_wrong() {
		let bytes = body_bytes("What is Ethernet?");
		let entry = entry_for(&bytes, "What is Ethernet?");
		let reject = |reason| Err(CheckFailure::Reject(reason));
		// The CID's content, but the author committed another size or hash.
		let shorter = EntryFacts { size: entry.size - 1, ..entry.clone() };
		assert_eq!(check_body(&bytes, &shorter), reject(RejectReason::SizeMismatch));
		let other_hash = EntryFacts { content_hash: [7; 32], ..entry.clone() };
		assert_eq!(check_body(&bytes, &other_hash), reject(RejectReason::HashMismatch));
		// The author's committed bytes, under a CID that is not theirs.
		let other_cid = EntryFacts { cid: file_cid(b"other", CidVersion::V1), ..entry.clone() };
		assert_eq!(check_body(&bytes, &other_cid), reject(RejectReason::CidMismatch));
		let not_a_body = b"{\"v\":1}".to_vec();
		assert_eq!(
			check_body(&not_a_body, &entry_for(&not_a_body, "q")),
			reject(RejectReason::BadSchema)
		);
		let elsewhere = entry_for(&bytes, "What is Token Ring?");
		assert_eq!(check_body(&bytes, &elsewhere), reject(RejectReason::Irrelevant));
	}

	#[test]
	fn bytes_that_are_not_the_content_are_no_verdict() {
		let bytes = body_bytes("What is Ethernet?");
		let entry = entry_for(&bytes, "What is Ethernet?");
		// What a faulty IPFS node may serve: other bytes, a flipped bit, a cut-short or
		// padded read. None is the CID's content nor the committed bytes.
		let mut flipped = bytes.clone();
		flipped[10] ^= 1;
		let mut longer = bytes.clone();
		longer.push(b' ');
		let other = body_bytes("What is Token Ring?");
		for served in [flipped, longer, bytes[..bytes.len() - 1].to_vec(), other, Vec::new()] {
			assert_eq!(check_body(&served, &entry), Err(CheckFailure::NotTheContent));
		}
		// The same holds for a CIDv0 entry.
		let v0 = EntryFacts { cid: file_cid(&bytes, CidVersion::V0), ..entry.clone() };
		assert!(check_body(&bytes, &v0).is_ok());
		assert_eq!(check_body(b"other", &v0), Err(CheckFailure::NotTheContent));
	}
}
