//! What the gateway and the device exchange (JSON). Everything that carries knowledge carries the
//! material to prove it ([`Proven`]); the device checks it all ([`crate::trust`]) and trusts none
//! of the gateway's own words (scores, ranks, labels are hints). [`Proven`] and its parts are
//! `membria-verifier`'s (`proven`), beside their check, which the fuzz targets run too.

pub use membria_verifier::proven::{HexBytes, Justified, Proven, ProvenBody};
use serde::{Deserialize, Serialize};

/// `POST /v1/ask`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AskRequest {
	pub question: String,
	/// How many matching entries at most (default 3).
	#[serde(default)]
	pub k: Option<u32>,
	/// Whether the gateway files on-chain demand when it has no answer (default yes).
	#[serde(default)]
	pub file_demand: Option<bool>,
	/// The first block of the authority set the device trusts (0: genesis set).
	#[serde(default)]
	pub set_start: Option<u32>,
}

/// A match the gateway found (its score is a hint: the device scores again).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Match {
	pub id: u64,
	pub score: f32,
}

/// Demand the gateway filed on chain (shared with what `membria ask` prints).
pub use membria_ask::DemandFiled;

/// The answer to `POST /v1/ask`: matches with their proofs, or a miss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AskResponse {
	pub matches: Vec<Match>,
	pub proven: Option<Proven>,
	/// Why there is no match, when there is none.
	pub miss: Option<String>,
	pub demand: Option<DemandFiled>,
}

/// The answer to `GET /v1/sync?since=B`: entries validated at or after block `B`, proven
/// against one justified header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
	pub proven: Proven,
	/// Pass back as `cursor` for the next page of the same sync.
	pub next_cursor: Option<u64>,
	/// The justified block the page is proven at: sync from its successor next time.
	pub proven_at: u32,
}

/// An event of `GET /v1/events`: an entry the gateway indexed after its validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatedEvent {
	pub id: u64,
	pub question: String,
	pub validated_at: u32,
	pub cid: String,
}

/// Every refusal of the gateway: `{"error": reason}` with a 4xx or 5xx status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
	pub error: String,
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn hex_bytes_round_trip_and_refuse_non_hex() {
		let json = serde_json::to_string(&HexBytes(vec![0, 255])).unwrap();
		assert_eq!(json, "\"0x00ff\"");
		assert_eq!(serde_json::from_str::<HexBytes>(&json).unwrap(), HexBytes(vec![0, 255]));
		assert!(serde_json::from_str::<HexBytes>("\"0xzz\"").is_err());
		assert!(serde_json::from_str::<HexBytes>("12").is_err());
	}
}
