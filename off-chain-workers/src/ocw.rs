//! Helpers for off-chain workers in the runtime: read the node's settings and make HTTP calls
//! with deadlines through the offchain HTTP API. (Feature `ocw`; std crates do not need it.)

use alloc::{string::String, vec, vec::Vec};
use sp_runtime::{
	offchain::{
		http,
		storage::StorageValueRef,
		storage_lock::{BlockAndTime, StorageLock},
		Duration,
	},
	traits::BlockNumberProvider,
};

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
	/// The server answered with bytes that are not what was asked for (an IPFS node serving
	/// bytes that are not a CID's content): the server is faulty; ask again, or another one.
	WrongContent,
}

/// The most of a server's answer a log line quotes.
const QUOTED_BYTES: usize = 200;

/// In words, for the node's log: a server's answer is quoted as text (at most
/// [`QUOTED_BYTES`] of it), never as a byte array.
impl core::fmt::Display for CallFailure {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			Self::NotConfigured(flag) => write!(f, "not configured (start the node with {flag})"),
			Self::Unreachable => f.write_str("the server could not be reached"),
			Self::Timeout => f.write_str("no complete answer before the deadline"),
			Self::Status(code, body) => {
				let shown = &body[..body.len().min(QUOTED_BYTES)];
				// A cut may split a character: quote the valid prefix.
				let text = match core::str::from_utf8(shown) {
					Ok(text) => text,
					Err(error) => core::str::from_utf8(&shown[..error.valid_up_to()]).unwrap_or(""),
				};
				let more = if body.len() > shown.len() { "…" } else { "" };
				write!(f, "HTTP {code}: {}{more}", text.trim())
			},
			Self::WrongContent => {
				f.write_str("the server answered with bytes that are not what was asked for")
			},
		}
	}
}

/// Blocks a worker waits before trying an item again after its first failure.
pub const RETRY_AFTER: u32 = 1;
/// The longest a worker waits between two tries of an item.
pub const MAX_RETRY_AFTER: u32 = 32;

/// How long an item waits after its `failures`-th failed try: 1, 2, 4 … up to
/// [`MAX_RETRY_AFTER`] blocks, so an item that keeps failing (an unfetchable body, a question
/// the teacher cannot answer) neither hogs a worker nor is tried every block.
pub fn retry_after(failures: u32) -> u32 {
	RETRY_AFTER
		.checked_shl(failures.saturating_sub(1))
		.unwrap_or(MAX_RETRY_AFTER)
		.min(MAX_RETRY_AFTER)
}

/// A worker's offchain storage key for one item (a gap, an entry): `prefix` then the id, little
/// endian, so records are keyed by what they are about, not by the block.
pub fn item_key(prefix: &[u8], id: u64) -> Vec<u8> {
	let mut key = prefix.to_vec();
	key.extend_from_slice(&id.to_le_bytes());
	key
}

/// How long a worker waits for the worker of an earlier block to let go of an item's lock.
///
/// A worker holds an item's lock until it has recorded what it sent, a moment after sending it.
/// With instant seal that transaction is sealed into the next block at once, and that block's
/// worker — which must act on it — can find the lock still held. Skipping would stall the item
/// until some unrelated block arrives, so the later worker waits this long first. A worker
/// still busy after it (a slow distiller or IPFS call) owns the item's next transaction; the
/// block that transaction makes runs the next worker.
pub const LOCK_PATIENCE: Duration = Duration::from_millis(5_000);

/// Pause between attempts to take a held lock.
const LOCK_RETRY_PAUSE: Duration = Duration::from_millis(20);

/// Runs `work` holding the persistent lock `key`, so that the workers of successive blocks never
/// act on the same item at once. The lock expires `expiry_blocks` blocks and `expiry_time`
/// after it is taken (both must pass), so a worker that died holding it blocks the item only
/// until then. A lock held by another worker is waited for up to [`LOCK_PATIENCE`]; `None` if
/// it was still held then, and `work` did not run.
pub fn with_item_lock<B: BlockNumberProvider, R>(
	key: &[u8],
	expiry_blocks: u32,
	expiry_time: Duration,
	work: impl FnOnce() -> R,
) -> Option<R> {
	let give_up_at = sp_io::offchain::timestamp().add(LOCK_PATIENCE);
	loop {
		let mut lock = StorageLock::<BlockAndTime<B>>::with_block_and_time_deadline(
			key,
			expiry_blocks,
			expiry_time,
		);
		if let Ok(_guard) = lock.try_lock() {
			return Some(work());
		}
		let now = sp_io::offchain::timestamp();
		if now >= give_up_at {
			return None;
		}
		sp_io::offchain::sleep_until(now.add(LOCK_RETRY_PAUSE));
	}
}

/// Reads the body of an entry whose record is `facts` from the IPFS node at `ipfs`: bytes that
/// are not its body (not its CID's content, or not what its author committed to) are the IPFS
/// node's fault, [`CallFailure::WrongContent`].
pub fn fetch_body(
	ipfs: &str,
	facts: &crate::EntryFacts,
	deadline_ms: u64,
) -> Result<Vec<u8>, CallFailure> {
	let bytes = post(
		&crate::protocol::ipfs_cat_url(ipfs, &membria_primitives::unixfs::cid_to_text(&facts.cid)),
		"application/octet-stream",
		&[],
		deadline_ms,
		facts.size as usize,
	)?;
	match crate::check_body(&bytes, facts) {
		Ok(_) => Ok(bytes),
		Err(_) => Err(CallFailure::WrongContent),
	}
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

/// The IPFS endpoints the node was given (`--ipfs-api`: one Kubo RPC URL or several, separated
/// by commas), in the order given.
pub fn ipfs_endpoints() -> Vec<String> {
	setting(crate::settings::IPFS_API)
		.map(|value| crate::settings::endpoints(&value).map(String::from).collect())
		.unwrap_or_default()
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
	let chunks: Vec<&[u8]> = if body.is_empty() { Vec::new() } else { vec![body] };
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
	let bytes: Vec<u8> = reader.by_ref().take(max_response.saturating_add(1)).collect();
	if reader.error().is_some() {
		return Err(CallFailure::Timeout);
	}
	if !(200..300).contains(&response.code) {
		return Err(CallFailure::Status(response.code, bytes));
	}
	Ok(bytes)
}

#[cfg(test)]
mod tests {
	#[test]
	fn failures_read_as_words() {
		assert_eq!(
			CallFailure::Status(422, br#"{"error":"no document answers the question"}"#.to_vec())
				.to_string(),
			r#"HTTP 422: {"error":"no document answers the question"}"#
		);
		let long = CallFailure::Status(500, "é".repeat(300).into_bytes()).to_string();
		assert!(long.starts_with("HTTP 500: éé") && long.ends_with('…'));
		assert_eq!(CallFailure::Status(500, vec![0xff, 0xfe]).to_string(), "HTTP 500: ");
		assert_eq!(
			CallFailure::NotConfigured("--distiller").to_string(),
			"not configured (start the node with --distiller)"
		);
	}

	#[test]
	fn the_wait_after_a_failure_doubles_up_to_its_cap() {
		let waits: alloc::vec::Vec<u32> = (1..=8).map(retry_after).collect();
		assert_eq!(waits, [1, 2, 4, 8, 16, 32, 32, 32]);
		assert_eq!(retry_after(0), 1);
		assert_eq!(retry_after(u32::MAX), MAX_RETRY_AFTER);
	}

	use super::*;
	use core::sync::atomic::{AtomicU32, Ordering};
	use sp_core::offchain::{
		testing::{TestOffchainExt, TestPersistentOffchainDB},
		OffchainDbExt, OffchainWorkerExt,
	};
	use sp_runtime::offchain::{storage_lock::StorageLock, Timestamp};

	/// The block the workers under test run at.
	static BLOCK: AtomicU32 = AtomicU32::new(10);

	struct TestBlocks;
	impl BlockNumberProvider for TestBlocks {
		type BlockNumber = u32;
		fn current_block_number() -> u32 {
			BLOCK.load(Ordering::SeqCst)
		}
	}

	const KEY: &[u8] = b"membria::test::lock";

	/// Runs `test` with offchain storage and a clock that `sleep_until` moves forward.
	fn with_offchain(test: impl FnOnce()) {
		let (offchain, state) = TestOffchainExt::with_offchain_db(TestPersistentOffchainDB::new());
		state.write().timestamp = Timestamp::from_unix_millis(1_000_000);
		let mut ext = sp_io::TestExternalities::default();
		ext.register_extension(OffchainDbExt::new(offchain.clone()));
		ext.register_extension(OffchainWorkerExt::new(offchain));
		ext.execute_with(test);
	}

	/// Takes the lock as another worker would and keeps it (that worker is still running).
	fn held_by_another_worker(expiry_blocks: u32, expiry_time: Duration) {
		let mut lock = StorageLock::<BlockAndTime<TestBlocks>>::with_block_and_time_deadline(
			KEY,
			expiry_blocks,
			expiry_time,
		);
		lock.try_lock().expect("the lock is free").forget();
	}

	#[test]
	fn a_free_lock_runs_the_work_and_is_free_again_after_it() {
		with_offchain(|| {
			let started = sp_io::offchain::timestamp();
			let first =
				with_item_lock::<TestBlocks, _>(KEY, 5, Duration::from_millis(60_000), || 1);
			let second =
				with_item_lock::<TestBlocks, _>(KEY, 5, Duration::from_millis(60_000), || 2);
			assert_eq!((first, second), (Some(1), Some(2)));
			assert_eq!(sp_io::offchain::timestamp(), started, "no waiting on a free lock");
		});
	}

	#[test]
	fn a_lock_still_held_is_waited_for_then_left_to_its_holder() {
		with_offchain(|| {
			held_by_another_worker(5, Duration::from_millis(60_000));
			let started = sp_io::offchain::timestamp();
			let mut ran = false;
			let outcome =
				with_item_lock::<TestBlocks, _>(KEY, 5, Duration::from_millis(60_000), || {
					ran = true
				});
			assert_eq!(outcome, None);
			assert!(!ran, "the work must not run while another worker holds the item");
			let waited = sp_io::offchain::timestamp().diff(&started).millis();
			assert!(
				(LOCK_PATIENCE.millis()..LOCK_PATIENCE.millis() + 100).contains(&waited),
				"waited {waited} ms"
			);
		});
	}

	#[test]
	fn a_lock_freed_while_waiting_is_taken() {
		with_offchain(|| {
			// The holder's lock expires after 1 s and block 11; the waiter runs at block 12.
			held_by_another_worker(1, Duration::from_millis(1_000));
			BLOCK.store(12, Ordering::SeqCst);
			let started = sp_io::offchain::timestamp();
			let outcome =
				with_item_lock::<TestBlocks, _>(KEY, 5, Duration::from_millis(60_000), || "ran");
			BLOCK.store(10, Ordering::SeqCst);
			assert_eq!(outcome, Some("ran"));
			let waited = sp_io::offchain::timestamp().diff(&started).millis();
			assert!((1_000..LOCK_PATIENCE.millis()).contains(&waited), "waited {waited} ms");
		});
	}
}
