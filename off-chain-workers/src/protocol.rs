//! The HTTP calls the off-chain workers make, as bytes in and bytes out (`no_std`: the runtime
//! sends them through the offchain HTTP API).
//!
//! Distiller (the sidecar in `apps/distiller`):
//! - `POST /distill` with [`DistillRequest`] → `200` and the body document itself (its bytes
//!   are the ones to store and hash), `404` when the teacher has no answer, `4xx` with
//!   [`ErrorResponse`] for a bad request;
//! - `POST /verify` with `{"question": …, "body": <body document>, "linked": [{"entry": N,
//!   "body": <body document>}…]}` → [`VerifyResponse`]. `linked` holds the body of every entry
//!   the body links to (read from the chain's CID and hash-checked by the caller), so the
//!   distiller can check each link's relation; it may be omitted when the body has no links.
//!
//! Kubo RPC: `POST /api/v0/add` (multipart, CIDv1 raw leaves, pinned) and `POST /api/v0/cat`.

use alloc::{format, string::String, vec::Vec};
use membria_primitives::{RejectReason, Verdict};
use serde::{Deserialize, Serialize};

/// `POST /distill` request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistillRequest {
	pub question: String,
	/// Whether the body may propose links (default yes); an agent whose check of the proposed
	/// links against the chain's bodies failed asks again without.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub links: Option<bool>,
}

/// A refused request: why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
	pub error: String,
}

/// The verdict words of `/verify`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictWord {
	Approve,
	Reject,
}

/// Why `/verify` rejects a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectWord {
	/// The body breaks the schema.
	BadSchema,
	/// It does not answer the question asked.
	Irrelevant,
	/// It answers, but what it says is not supported by the verifier's teacher.
	Incorrect,
	/// A link it proposes does not hold (the relation is not what the two bodies say), or the
	/// linked entry's body was not supplied.
	BadLink,
}

/// `POST /verify` response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyResponse {
	pub verdict: VerdictWord,
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub reason: Option<RejectWord>,
	/// Human-readable findings, for logs.
	#[serde(default)]
	pub reasons: Vec<String>,
}

impl VerifyResponse {
	/// The on-chain verdict.
	pub fn verdict(&self) -> Verdict {
		match (self.verdict, self.reason) {
			(VerdictWord::Approve, _) => Verdict::Approve,
			(VerdictWord::Reject, Some(RejectWord::BadSchema)) => {
				Verdict::Reject(RejectReason::BadSchema)
			},
			(VerdictWord::Reject, Some(RejectWord::Irrelevant)) => {
				Verdict::Reject(RejectReason::Irrelevant)
			},
			(VerdictWord::Reject, Some(RejectWord::BadLink)) => {
				Verdict::Reject(RejectReason::BadLink)
			},
			(VerdictWord::Reject, _) => Verdict::Reject(RejectReason::Incorrect),
		}
	}
}

/// Reads a `/verify` response.
pub fn parse_verify_response(bytes: &[u8]) -> Option<VerifyResponse> {
	serde_json::from_slice(bytes).ok()
}

/// The `/verify` request for a body whose exact bytes are `body`, and the bodies of the entries
/// it links to (`(entry, exact bytes)`), all already checked to be JSON.
pub fn verify_request(question: &str, body: &[u8], linked: &[(u64, Vec<u8>)]) -> Vec<u8> {
	let question = serde_json::to_string(question).unwrap_or_default();
	let linked_bytes: usize = linked.iter().map(|(_, body)| body.len() + 32).sum();
	let mut out = Vec::with_capacity(body.len() + question.len() + linked_bytes + 40);
	out.extend_from_slice(b"{\"question\":");
	out.extend_from_slice(question.as_bytes());
	out.extend_from_slice(b",\"body\":");
	out.extend_from_slice(body);
	if !linked.is_empty() {
		out.extend_from_slice(b",\"linked\":[");
		for (i, (entry, body)) in linked.iter().enumerate() {
			if i > 0 {
				out.push(b',');
			}
			out.extend_from_slice(format!("{{\"entry\":{entry},\"body\":").as_bytes());
			out.extend_from_slice(body);
			out.push(b'}');
		}
		out.push(b']');
	}
	out.push(b'}');
	out
}

/// The `/distill` request for `question`.
pub fn distill_request(question: &str) -> Vec<u8> {
	distill_request_linking(question, true)
}

/// The `/distill` request for `question`, asking for a body without links unless `links`.
pub fn distill_request_linking(question: &str, links: bool) -> Vec<u8> {
	let links = (!links).then_some(false);
	serde_json::to_vec(&DistillRequest { question: question.into(), links }).unwrap_or_default()
}

/// `{base}/distill`, `{base}/verify`, without doubled slashes.
pub fn endpoint(base: &str, path: &str) -> String {
	format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}

/// The Kubo RPC URL that adds one file pinned, as CIDv1 with raw leaves.
pub fn ipfs_add_url(base: &str) -> String {
	endpoint(base, "api/v0/add?cid-version=1&raw-leaves=true&pin=true")
}

/// The Kubo RPC URL that reads the file under a text CID.
pub fn ipfs_cat_url(base: &str, cid_text: &str) -> String {
	endpoint(base, &format!("api/v0/cat?arg={cid_text}"))
}

/// Boundary of the multipart bodies this crate writes.
pub const MULTIPART_BOUNDARY: &str = "membria-body-8c3f2a91";

/// `Content-Type` of [`ipfs_add_body`].
pub fn ipfs_add_content_type() -> String {
	format!("multipart/form-data; boundary={MULTIPART_BOUNDARY}")
}

/// The multipart form Kubo's `add` takes for one file.
pub fn ipfs_add_body(file: &[u8]) -> Vec<u8> {
	let mut out = Vec::with_capacity(file.len() + 200);
	out.extend_from_slice(format!("--{MULTIPART_BOUNDARY}\r\n").as_bytes());
	out.extend_from_slice(
		b"Content-Disposition: form-data; name=\"file\"; filename=\"body.json\"\r\n\
		  Content-Type: application/octet-stream\r\n\r\n",
	);
	out.extend_from_slice(file);
	out.extend_from_slice(format!("\r\n--{MULTIPART_BOUNDARY}--\r\n").as_bytes());
	out
}

/// One line of Kubo's `add` response.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AddResponse {
	#[serde(rename = "Name")]
	pub name: String,
	#[serde(rename = "Hash")]
	pub hash: String,
	#[serde(rename = "Size")]
	pub size: String,
}

/// The last `add` response line (the root, when a directory wraps files).
pub fn parse_add_response(bytes: &[u8]) -> Option<AddResponse> {
	bytes
		.split(|b| *b == b'\n')
		.filter(|line| !line.is_empty())
		.rev()
		.find_map(|line| serde_json::from_slice::<AddResponse>(line).ok())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn verify_requests_carry_the_linked_bodies() {
		let body = br#"{"v":1,"links":[{"rel":"related","entry":7}]}"#;
		let linked = br#"{"v":1,"answer":"seven"}"#.to_vec();
		let request = verify_request("q?", body, &[(7, linked.clone())]);
		let value: serde_json::Value = serde_json::from_slice(&request).unwrap();
		assert_eq!(value["linked"][0]["entry"], 7);
		assert_eq!(value["linked"][0]["body"]["answer"], "seven");
		assert!(request.windows(linked.len()).any(|w| w == &linked[..]), "the exact bytes");
		let plain: serde_json::Value =
			serde_json::from_slice(&verify_request("q?", body, &[])).unwrap();
		assert!(plain.get("linked").is_none());
	}

	#[test]
	fn verify_requests_embed_the_exact_body() {
		let body = br#"{"v":1,"answer":"a \"quoted\" word"}"#;
		let request = verify_request("what is \"x\"?", body, &[]);
		let value: serde_json::Value = serde_json::from_slice(&request).unwrap();
		assert_eq!(value["question"], "what is \"x\"?");
		let expected: serde_json::Value = serde_json::from_slice(body).unwrap();
		assert_eq!(value["body"], expected);
		let start = request.windows(body.len()).position(|w| w == body);
		assert!(start.is_some(), "the body's bytes are embedded as they are");
	}

	#[test]
	fn verdicts_map_to_chain_verdicts() {
		let parse = |json: &str| serde_json::from_str::<VerifyResponse>(json).unwrap().verdict();
		assert_eq!(parse(r#"{"verdict":"approve"}"#), Verdict::Approve);
		assert_eq!(
			parse(r#"{"verdict":"reject","reason":"irrelevant","reasons":["x"]}"#),
			Verdict::Reject(RejectReason::Irrelevant)
		);
		assert_eq!(parse(r#"{"verdict":"reject"}"#), Verdict::Reject(RejectReason::Incorrect));
	}

	#[test]
	fn add_responses_and_urls() {
		let lines = b"{\"Name\":\"a\",\"Hash\":\"bafkreia\",\"Size\":\"3\"}\n{\"Name\":\"b\",\"Hash\":\"bafkreib\",\"Size\":\"4\"}\n";
		assert_eq!(parse_add_response(lines).unwrap().hash, "bafkreib");
		assert_eq!(parse_add_response(b"garbage"), None);
		assert_eq!(endpoint("http://h:1/", "/distill"), "http://h:1/distill");
		assert_eq!(ipfs_cat_url("http://h:1", "bafy"), "http://h:1/api/v0/cat?arg=bafy");
	}
}
