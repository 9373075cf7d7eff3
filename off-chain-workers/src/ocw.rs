//! Helpers for off-chain workers in the runtime: read the node's settings and make HTTP calls
//! with deadlines through the offchain HTTP API. (Feature `ocw`; std crates do not need it.)

use alloc::{string::String, vec, vec::Vec};
use sp_runtime::offchain::{http, storage::StorageValueRef, Duration};

/// Why an HTTP call did not give an answer to act on. None of these may turn into a vote: the
/// worker tries again in a later block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallFailure {
	/// The node has no value for this setting (the flag was not given).
	NotConfigured(&'static str),
	/// The request could not be sent, or the connection failed.
	Unreachable,
	/// No complete answer before the deadline.
	Timeout,
	/// The server answered with this status.
	Status(u16, Vec<u8>),
}

/// A worker's offchain storage key for one item (a gap, an entry): `prefix` then the id, little
/// endian, so records are keyed by what they are about, not by the block.
pub fn item_key(prefix: &[u8], id: u64) -> Vec<u8> {
	let mut key = prefix.to_vec();
	key.extend_from_slice(&id.to_le_bytes());
	key
}

/// A setting the node wrote at start-up (see [`crate::settings`]).
pub fn setting(key: &'static [u8]) -> Option<String> {
	StorageValueRef::persistent(key)
		.get::<Vec<u8>>()
		.ok()
		.flatten()
		.and_then(|bytes| String::from_utf8(bytes).ok())
		.filter(|value| !value.is_empty())
}

/// POSTs `body` to `url` and returns the status and body of a 2xx answer, all within
/// `deadline_ms`.
pub fn post(
	url: &str,
	content_type: &str,
	body: &[u8],
	deadline_ms: u64,
	max_response: usize,
) -> Result<Vec<u8>, CallFailure> {
	let deadline = sp_io::offchain::timestamp().add(Duration::from_millis(deadline_ms));
	// An empty chunk would end the body early: send none for an empty body.
	let chunks: Vec<&[u8]> = if body.is_empty() {
		Vec::new()
	} else {
		vec![body]
	};
	let pending = http::Request::post(url, chunks)
		.add_header("Content-Type", content_type)
		.deadline(deadline)
		.send()
		.map_err(|_| CallFailure::Unreachable)?;
	let response = match pending.try_wait(deadline) {
		Ok(Ok(response)) => response,
		Ok(Err(http::Error::DeadlineReached)) | Err(_) => return Err(CallFailure::Timeout),
		Ok(Err(_)) => return Err(CallFailure::Unreachable),
	};
	let mut reader = response.body();
	reader.deadline(deadline);
	let bytes: Vec<u8> = reader
		.by_ref()
		.take(max_response.saturating_add(1))
		.collect();
	if reader.error().is_some() {
		return Err(CallFailure::Timeout);
	}
	if !(200..300).contains(&response.code) {
		return Err(CallFailure::Status(response.code, bytes));
	}
	Ok(bytes)
}
