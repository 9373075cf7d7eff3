//! The entry body: one JSON document per entry, stored on IPFS, hashed on chain.
//!
//! ```json
//! {"v":2,"question":"…","phrasings":["…"],"answer":"…","facts":["…"],
//!  "sources":[{"uri":"…","sha256":"<64 hex>"}],"links":[{"rel":"supports","entry":7}],
//!  "distiller":{"name":"…","model":"…"},"created":1700000000}
//! ```
//!
//! Versions: `2` adds `phrasings` (other ways to ask the question the body answers, at most
//! [`MAX_PHRASINGS`]); a `1` body has none and still reads and verifies as it did.
//!
//! The chain keeps blake2-256 of the exact bytes, so a body is never re-serialised between the
//! distiller and IPFS; [`Body::parse`] is for reading and checking, [`Body::to_bytes`] for
//! writing a new one.

use alloc::{string::String, vec::Vec};
use serde::{Deserialize, Serialize};

/// The schema version this crate writes; it reads every version from [`FIRST_SCHEMA_VERSION`].
pub const SCHEMA_VERSION: u32 = 2;
/// The oldest schema version this crate reads.
pub const FIRST_SCHEMA_VERSION: u32 = 1;
/// Most other phrasings of the question per body (version 2 on).
pub const MAX_PHRASINGS: usize = 4;
/// Longest question, in bytes (the chain's `MaxQuestionLen` is the same).
pub const MAX_QUESTION_BYTES: usize = 512;
/// Longest answer, in bytes.
pub const MAX_ANSWER_BYTES: usize = 8 * 1024;
/// Most facts per body, and the longest fact.
pub const MAX_FACTS: usize = 32;
pub const MAX_FACT_BYTES: usize = 2 * 1024;
/// Most sources per body (at least one is required), and the longest URI.
pub const MAX_SOURCES: usize = 16;
pub const MAX_URI_BYTES: usize = 1024;
/// Most links per body (the chain's `MaxEntryLinks`).
pub const MAX_LINKS: usize = 8;

/// A distilled answer with its sources.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
	/// Schema version ([`SCHEMA_VERSION`]).
	pub v: u32,
	/// The question, as asked.
	pub question: String,
	/// Other ways to ask the same question (version 2 on; validators check that the answer
	/// speaks of what each asks), so devices match more of what people ask.
	#[serde(default, skip_serializing_if = "Vec::is_empty")]
	pub phrasings: Vec<String>,
	/// The answer, in a few sentences.
	pub answer: String,
	/// The statements the answer rests on, each taken from a source.
	pub facts: Vec<String>,
	/// Where the facts come from.
	pub sources: Vec<Source>,
	/// Typed links to other entries.
	#[serde(default)]
	pub links: Vec<BodyLink>,
	/// Who distilled it.
	pub distiller: DistillerInfo,
	/// Unix time (seconds) it was distilled.
	pub created: u64,
}

/// A source document: where it is and the sha256 (hex) of the text that was used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
	pub uri: String,
	pub sha256: String,
}

/// A typed link to another entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyLink {
	/// `supports`, `contradicts`, `refines` or `related`.
	pub rel: String,
	pub entry: u64,
}

/// The distiller that wrote the body and the teacher behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistillerInfo {
	pub name: String,
	pub model: String,
}

/// Why bytes are not a valid body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyError {
	/// Not JSON, or not this schema's fields (unknown or missing fields, wrong types).
	NotJson(String),
	/// A schema version this crate does not read.
	UnsupportedVersion(u32),
	/// A required text field is empty (the field's name).
	Empty(&'static str),
	/// A field is longer or has more items than the schema allows (the field's name).
	TooLong(&'static str),
	/// A source's `sha256` is not 64 lowercase hex digits.
	BadSourceHash,
	/// A link's relation is not one of the four.
	BadRelation(String),
	/// A field the body's version does not have (the field's name, the version).
	NotInVersion(&'static str, u32),
}

impl core::fmt::Display for BodyError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			Self::NotJson(reason) => write!(f, "not a body document: {reason}"),
			Self::UnsupportedVersion(v) => write!(f, "unsupported body version {v}"),
			Self::Empty(field) => write!(f, "`{field}` is empty"),
			Self::TooLong(field) => write!(f, "`{field}` is too long"),
			Self::BadSourceHash => write!(f, "a source's sha256 is not 64 lowercase hex digits"),
			Self::BadRelation(rel) => write!(f, "unknown link relation {rel:?}"),
			Self::NotInVersion(field, v) => write!(f, "`{field}` is not a field of version {v}"),
		}
	}
}

const RELATIONS: [&str; 4] = ["supports", "contradicts", "refines", "related"];

impl BodyLink {
	/// The link's relation as the chain writes it.
	pub fn relation(&self) -> Option<membria_primitives::Relation> {
		use membria_primitives::Relation;
		match self.rel.as_str() {
			"supports" => Some(Relation::Supports),
			"contradicts" => Some(Relation::Contradicts),
			"refines" => Some(Relation::Refines),
			"related" => Some(Relation::Related),
			_ => None,
		}
	}
}

impl Body {
	/// The body's links as the chain records them, `(to, relation)` in order (`None` if one
	/// names no relation: not a valid body).
	pub fn chain_links(
		&self,
	) -> Option<Vec<(membria_primitives::EntryId, membria_primitives::Relation)>> {
		self.links.iter().map(|link| Some((link.entry, link.relation()?))).collect()
	}
}

fn bounded(field: &'static str, text: &str, max: usize) -> Result<(), BodyError> {
	if text.trim().is_empty() {
		Err(BodyError::Empty(field))
	} else if text.len() > max {
		Err(BodyError::TooLong(field))
	} else {
		Ok(())
	}
}

impl Body {
	/// Reads and validates a body.
	pub fn parse(bytes: &[u8]) -> Result<Self, BodyError> {
		let body: Body = serde_json::from_slice(bytes)
			.map_err(|error| BodyError::NotJson(alloc::format!("{error}")))?;
		body.validate()?;
		Ok(body)
	}

	/// Checks every rule of the schema.
	pub fn validate(&self) -> Result<(), BodyError> {
		if !(FIRST_SCHEMA_VERSION..=SCHEMA_VERSION).contains(&self.v) {
			return Err(BodyError::UnsupportedVersion(self.v));
		}
		bounded("question", &self.question, MAX_QUESTION_BYTES)?;
		if self.v < 2 && !self.phrasings.is_empty() {
			return Err(BodyError::NotInVersion("phrasings", self.v));
		}
		if self.phrasings.len() > MAX_PHRASINGS {
			return Err(BodyError::TooLong("phrasings"));
		}
		for phrasing in &self.phrasings {
			bounded("phrasings", phrasing, MAX_QUESTION_BYTES)?;
		}
		bounded("answer", &self.answer, MAX_ANSWER_BYTES)?;
		if self.facts.len() > MAX_FACTS {
			return Err(BodyError::TooLong("facts"));
		}
		for fact in &self.facts {
			bounded("facts", fact, MAX_FACT_BYTES)?;
		}
		if self.sources.is_empty() {
			return Err(BodyError::Empty("sources"));
		}
		if self.sources.len() > MAX_SOURCES {
			return Err(BodyError::TooLong("sources"));
		}
		for source in &self.sources {
			bounded("sources.uri", &source.uri, MAX_URI_BYTES)?;
			let hex = source.sha256.as_bytes();
			if hex.len() != 64 || !hex.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
				return Err(BodyError::BadSourceHash);
			}
		}
		if self.links.len() > MAX_LINKS {
			return Err(BodyError::TooLong("links"));
		}
		if let Some(link) = self.links.iter().find(|l| !RELATIONS.contains(&l.rel.as_str())) {
			return Err(BodyError::BadRelation(link.rel.clone()));
		}
		bounded("distiller.name", &self.distiller.name, 128)?;
		if self.distiller.model.len() > 256 {
			return Err(BodyError::TooLong("distiller.model"));
		}
		Ok(())
	}

	/// The body's bytes as stored (compact JSON).
	pub fn to_bytes(&self) -> Vec<u8> {
		// Serialising plain strings, numbers and vectors cannot fail.
		serde_json::to_vec(self).unwrap_or_default()
	}
}

/// Lowercase hex of sha256, the form sources cite documents by.
pub fn sha256_hex(bytes: &[u8]) -> String {
	let digest = sp_crypto_hashing::sha2_256(bytes);
	let mut out = String::with_capacity(64);
	for byte in digest {
		out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
		out.push(char::from_digit(u32::from(byte & 15), 16).unwrap_or('0'));
	}
	out
}

#[cfg(test)]
mod tests {
	use super::*;

	pub(crate) fn sample() -> Body {
		Body {
			v: 1,
			question: "What is the atomic number of carbon?".into(),
			phrasings: Vec::new(),
			answer: "Carbon has atomic number 6.".into(),
			facts: alloc::vec!["Carbon: atomic number 6.".into()],
			sources: alloc::vec![Source {
				uri: "dict://elements/carbon".into(),
				sha256: sha256_hex(b"carbon"),
			}],
			links: Vec::new(),
			distiller: DistillerInfo { name: "membria-distiller".into(), model: "corpus".into() },
			created: 1_700_000_000,
		}
	}

	#[test]
	fn round_trips() {
		let body = sample();
		assert_eq!(Body::parse(&body.to_bytes()), Ok(body));
		let mut v2 = sample();
		v2.v = 2;
		v2.phrasings = alloc::vec!["What is carbon's atomic number?".into()];
		assert_eq!(Body::parse(&v2.to_bytes()), Ok(v2));
	}

	/// A version 1 body, as stored on IPFS before version 2, reads as it did: same fields, and
	/// written again, the same bytes (no `phrasings` appears).
	#[test]
	fn version_1_bodies_still_read() {
		let stored = br#"{"v":1,"question":"What is the atomic number of carbon?","answer":"Carbon: Atomic number: 6","facts":["Atomic number: 6"],"sources":[{"uri":"dict://elements/carbon","sha256":"a16f18d3eaca7327fabe25c3a69e285b6b9c08e59648fca0652c54c3fe47362e"}],"links":[],"distiller":{"name":"test","model":"corpus"},"created":0}"#;
		let body = Body::parse(stored).expect("a version 1 body");
		assert!(body.phrasings.is_empty());
		assert_eq!(body.to_bytes(), stored.to_vec());
	}

	#[test]
	fn refuses_what_breaks_the_schema() {
		assert!(matches!(Body::parse(b"not json"), Err(BodyError::NotJson(_))));
		let mut extra = serde_json::to_value(sample()).unwrap();
		extra["surprise"] = serde_json::Value::Bool(true);
		let bytes = serde_json::to_vec(&extra).unwrap();
		assert!(matches!(Body::parse(&bytes), Err(BodyError::NotJson(_))));

		let check = |change: fn(&mut Body), expected: BodyError| {
			let mut body = sample();
			change(&mut body);
			assert_eq!(Body::parse(&body.to_bytes()), Err(expected));
		};
		check(|b| b.v = 3, BodyError::UnsupportedVersion(3));
		check(|b| b.v = 0, BodyError::UnsupportedVersion(0));
		check(
			|b| b.phrasings = alloc::vec!["What is carbon's atomic number?".into()],
			BodyError::NotInVersion("phrasings", 1),
		);
		check(
			|b| {
				b.v = 2;
				b.phrasings = alloc::vec!["q?".into(); MAX_PHRASINGS + 1];
			},
			BodyError::TooLong("phrasings"),
		);
		check(
			|b| {
				b.v = 2;
				b.phrasings = alloc::vec![" ".into()];
			},
			BodyError::Empty("phrasings"),
		);
		check(|b| b.answer = "  ".into(), BodyError::Empty("answer"));
		check(|b| b.question = "q".repeat(MAX_QUESTION_BYTES + 1), BodyError::TooLong("question"));
		check(|b| b.sources.clear(), BodyError::Empty("sources"));
		check(|b| b.sources[0].sha256 = "ABC".into(), BodyError::BadSourceHash);
		check(
			|b| b.links.push(BodyLink { rel: "likes".into(), entry: 1 }),
			BodyError::BadRelation("likes".into()),
		);
	}
}
