//! What a validator checks of a body before it votes, in order: the bytes are the ones the
//! entry committed to (size, blake2-256, CID), they are a body (schema), and the body answers
//! the entry's question (its question has the entry's key). Relevance and correctness are the
//! distiller's `/verify`, which runs after these.

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

/// Checks fetched `bytes` against the entry; the parsed body when they match.
pub fn check_body(bytes: &[u8], entry: &EntryFacts) -> Result<Body, RejectReason> {
	if bytes.len() as u64 != u64::from(entry.size) {
		return Err(RejectReason::SizeMismatch);
	}
	if sp_crypto_hashing::blake2_256(bytes) != entry.content_hash {
		return Err(RejectReason::HashMismatch);
	}
	let (version, _, _) = validate_cid(&entry.cid).map_err(|_| RejectReason::CidMismatch)?;
	if file_cid(bytes, version) != entry.cid {
		return Err(RejectReason::CidMismatch);
	}
	let body = Body::parse(bytes).map_err(|_| RejectReason::BadSchema)?;
	if question_key(&body.question) != entry.question_key {
		return Err(RejectReason::Irrelevant);
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
			answer: "Ethernet is a local area network.".into(),
			facts: Vec::new(),
			sources: alloc::vec![Source {
				uri: "dict://foldoc/ethernet".into(),
				sha256: "0".repeat(64)
			}],
			links: Vec::new(),
			distiller: DistillerInfo {
				name: "test".into(),
				model: "corpus".into(),
			},
			created: 0,
		}
		.to_bytes()
	}

	#[test]
	fn accepts_the_committed_body() {
		let bytes = body_bytes("What is Ethernet?");
		let entry = entry_for(&bytes, "what is ethernet");
		assert_eq!(
			check_body(&bytes, &entry).unwrap().question,
			"What is Ethernet?"
		);
	}

	#[test]
	fn names_what_does_not_match() {
		let bytes = body_bytes("What is Ethernet?");
		let entry = entry_for(&bytes, "What is Ethernet?");
		let mut longer = bytes.clone();
		longer.push(b' ');
		assert_eq!(check_body(&longer, &entry), Err(RejectReason::SizeMismatch));
		let mut flipped = bytes.clone();
		flipped[10] ^= 1;
		assert_eq!(
			check_body(&flipped, &entry),
			Err(RejectReason::HashMismatch)
		);
		let other_cid = EntryFacts {
			cid: file_cid(b"other", CidVersion::V1),
			..entry.clone()
		};
		assert_eq!(
			check_body(&bytes, &other_cid),
			Err(RejectReason::CidMismatch)
		);
		let not_a_body = b"{\"v\":1}".to_vec();
		assert_eq!(
			check_body(&not_a_body, &entry_for(&not_a_body, "q")),
			Err(RejectReason::BadSchema)
		);
		let elsewhere = entry_for(&bytes, "What is Token Ring?");
		assert_eq!(
			check_body(&bytes, &elsewhere),
			Err(RejectReason::Irrelevant)
		);
	}
}
