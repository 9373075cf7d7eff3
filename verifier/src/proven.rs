//! The one document a server sends a device ([`Proven`], JSON with `0x` hex bytes) and its whole
//! check against a trusted authority set ([`verify_proven`]): set changes, finality, one storage
//! proof for every entry, every body. Pure: no file or network I/O, so the device
//! (`membria-client`'s `Trust::check`) and the fuzz targets (`verifier/fuzz`) run the same code.

use std::collections::HashSet;

use codec::Decode;
use membria_offchain::Body;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{
	follow_set_change, verify_body, verify_entries, verify_finality, AuthoritySet, FinalizedHeader,
	Header, VerifiedEntry, VerifyError,
};

/// Bytes as `0x`-prefixed hex in JSON (the prefix is optional when reading).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HexBytes(pub Vec<u8>);

/// Lowercase `0x`-prefixed hex.
pub fn to_hex(bytes: &[u8]) -> String {
	const DIGITS: &[u8; 16] = b"0123456789abcdef";
	let mut out = String::with_capacity(2 + bytes.len() * 2);
	out.push_str("0x");
	for byte in bytes {
		out.push(DIGITS[usize::from(byte >> 4)] as char);
		out.push(DIGITS[usize::from(byte & 0xf)] as char);
	}
	out
}

/// Bytes from `0x`-prefixed (or bare) hex: an even number of hex digits, nothing else.
pub fn from_hex(text: &str) -> Result<Vec<u8>, String> {
	let digits = text.strip_prefix("0x").unwrap_or(text).as_bytes();
	if !digits.len().is_multiple_of(2) {
		return Err(format!("odd number of hex digits ({})", digits.len()));
	}
	let nibble = |index: usize| -> Result<u8, String> {
		let digit = digits[index];
		(digit as char)
			.to_digit(16)
			.map(|value| value as u8)
			.ok_or_else(|| format!("invalid hex character {:?} at {index}", digit as char))
	};
	(0..digits.len() / 2)
		.map(|i| Ok(nibble(2 * i)? << 4 | nibble(2 * i + 1)?))
		.collect()
}

impl Serialize for HexBytes {
	fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
		serializer.serialize_str(&to_hex(&self.0))
	}
}

impl<'de> Deserialize<'de> for HexBytes {
	fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
		let text = String::deserialize(deserializer)?;
		from_hex(&text).map(HexBytes).map_err(serde::de::Error::custom)
	}
}

/// A header (SCALE) and its GRANDPA justification (SCALE).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Justified {
	pub header: HexBytes,
	pub justification: HexBytes,
}

/// A body and the entry it claims to be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenBody {
	pub id: u64,
	/// The body's exact bytes.
	pub body: HexBytes,
}

/// Entries with everything a device needs to prove them itself: the authority-set changes from
/// the set it trusts, a justified header, one storage proof (against that header's state root)
/// of every entry's `Kcg.Entries`, `Kcg.Answer` and `Validators.Tallies`, and the bodies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proven {
	/// Blocks that changed the authority set, in order, each justified by the set before it.
	pub set_changes: Vec<Justified>,
	pub finality: Justified,
	pub proof: Vec<HexBytes>,
	pub entries: Vec<ProvenBody>,
}

/// Why a [`Proven`] document was refused: the first step that failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProvenError {
	#[error("authority-set change {index}: {source}")]
	SetChange { index: usize, source: VerifyError },
	#[error("finality: {0}")]
	Finality(VerifyError),
	#[error("storage proof: {0}")]
	State(VerifyError),
	#[error("body of entry {id}: {source}")]
	Body { id: u64, source: VerifyError },
	#[error("undecodable {what}: {reason}")]
	Undecodable { what: &'static str, reason: String },
	#[error("entry {0} is listed twice")]
	DuplicateEntry(u64),
}

/// A verified entry with its verified body.
#[derive(Clone, Debug)]
pub struct ProvenEntry {
	pub verified: VerifiedEntry,
	pub body: Body,
	/// The body's exact bytes.
	pub bytes: Vec<u8>,
}

/// What a verified [`Proven`] establishes.
#[derive(Clone, Debug)]
pub struct Checked {
	/// The trusted set after the document's set changes (the given set when it has none).
	pub set: AuthoritySet,
	/// The block that handed over to [`Checked::set`] (the given `set_start` when unchanged).
	pub set_start: u32,
	/// The justified block everything is proven at.
	pub finalized: FinalizedHeader,
	/// Every entry, in the document's order, validated at [`Checked::finalized`], with its body.
	pub entries: Vec<ProvenEntry>,
}

/// A header from its SCALE bytes.
pub fn decode_header(raw: &HexBytes) -> Result<Header, ProvenError> {
	Header::decode(&mut &raw.0[..])
		.map_err(|e| ProvenError::Undecodable { what: "header", reason: e.to_string() })
}

/// Checks `proven` whole against the trusted `set` (which started at block `set_start`): its set
/// changes from `set` on, its justified header, its storage proof for every entry, every body;
/// refuses with the first step that failed. `trace` is told what each step established.
pub fn verify_proven(
	set: &AuthoritySet,
	set_start: u32,
	proven: &Proven,
	trace: &mut dyn FnMut(String),
) -> Result<Checked, ProvenError> {
	let mut set = set.clone();
	let mut set_start = set_start;
	trace(format!(
		"trusted authority set {} ({} authorities, from block {})",
		set.set_id,
		set.authorities.len(),
		set_start
	));
	for (index, change) in proven.set_changes.iter().enumerate() {
		let header = decode_header(&change.header)?;
		set = follow_set_change(&set, &header, &change.justification.0)
			.map_err(|source| ProvenError::SetChange { index, source })?;
		set_start = header.number;
		trace(format!(
			"block {} justified by the trusted set hands over to set {} ({} authorities)",
			header.number,
			set.set_id,
			set.authorities.len()
		));
	}
	let header = decode_header(&proven.finality.header)?;
	let finalized = verify_finality(&header, &proven.finality.justification.0, &set)
		.map_err(ProvenError::Finality)?;
	trace(format!(
		"block {} ({:?}) is final: its GRANDPA justification carries precommits of more than two thirds of set {}",
		finalized.number, finalized.hash, set.set_id
	));
	let mut seen = HashSet::with_capacity(proven.entries.len());
	let mut ids = Vec::with_capacity(proven.entries.len());
	for body in &proven.entries {
		if !seen.insert(body.id) {
			return Err(ProvenError::DuplicateEntry(body.id));
		}
		ids.push(body.id);
	}
	let proof = proven.proof.iter().map(|node| node.0.clone()).collect();
	let verified = if ids.is_empty() {
		Vec::new()
	} else {
		verify_entries(&finalized, proof, &ids).map_err(ProvenError::State)?
	};
	for entry in &verified {
		trace(format!(
			"entry {}: the storage proof against state root {:?} shows it Validated ({:?}), the answer to its question, approved by {} stake",
			entry.id,
			finalized.state_root,
			entry.entry.status,
			entry.approving_stake.map_or("unrecorded".into(), |s| s.to_string())
		));
	}
	let entries = verified
		.into_iter()
		.zip(&proven.entries)
		.map(|(verified, body)| {
			let parsed = verify_body(&verified, &body.body.0).map_err(|source| {
				ProvenError::Body {
					id: body.id,
					source,
				}
			})?;
			trace(format!(
				"entry {}: the body's {} bytes hash to its content hash and its CID {}; schema and question key hold",
				body.id,
				body.body.0.len(),
				membria_primitives::unixfs::cid_to_text(&verified.entry.cid)
			));
			Ok(ProvenEntry {
				verified,
				body: parsed,
				bytes: body.body.0.clone(),
			})
		})
		.collect::<Result<Vec<_>, ProvenError>>()?;
	Ok(Checked { set, set_start, finalized, entries })
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn hex_is_strict_and_round_trips() {
		assert_eq!(to_hex(&[0, 255, 16]), "0x00ff10");
		assert_eq!(from_hex("0x00ff10").unwrap(), vec![0, 255, 16]);
		assert_eq!(from_hex("00FF").unwrap(), vec![0, 255]);
		assert_eq!(from_hex("0x").unwrap(), Vec::<u8>::new());
		assert!(from_hex("0x0").is_err());
		assert!(from_hex("0xzz").is_err());
		assert!(from_hex("0x 0").is_err());
		assert!(from_hex("0x+1").is_err());
		assert!(from_hex("0xé0").is_err());
	}
}
