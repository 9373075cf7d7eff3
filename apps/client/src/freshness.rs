//! What a device refuses of an untrusted server beyond its proofs.
//!
//! A proof shows that an entry was its question's validated answer at a finalized block; it does
//! not show that the block is the newest, nor that the server's own numbers and cursors are
//! honest. A server in the middle could replay an older page that still verifies (rolling the
//! device back to a superseded answer), write a block number the device would sync from (stalling
//! it), or page and stream forever (exhausting it). The rules here close those doors:
//!
//! - **Rollback.** What the device holds for a question key is replaced only by an answer proven
//!   at a later block ([`admit`]); a response proven at a block older than the newest the device
//!   proved is refused whole by the trust root ([`crate::trust::TrustError::Stale`]).
//! - **Stall.** Every block number the device keeps comes from a header it verified; the server's
//!   `proven_at` is a hint, and a hint that disagrees with the verified header is refused
//!   ([`check_claimed_block`]).
//! - **Exhaustion.** A page holds at most the entries asked for ([`check_page_len`]), a sync
//!   follows at most [`MAX_SYNC_PAGES`] pages ([`check_page_count`]), every cursor strictly
//!   advances ([`advance_cursor`]), and responses are read with a running size limit
//!   ([`crate::server::response_cap`]).
//!
//! Each refusal is its own [`FreshnessError`], raised before anything is kept.

/// The most pages one sync follows (with [`crate::server::SYNC_PAGE`] entries a page, 200,000
/// entries). A longer sync stops with [`FreshnessError::TooManyPages`], keeping only the progress
/// its verified entries prove ([`resume_from`]), so the next sync continues.
pub const MAX_SYNC_PAGES: usize = 1_000;

/// A refusal of the device's own rules, over and above the proofs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FreshnessError {
	#[error("rollback: entry {offered} is proven at block {offered_at}, not after block {held_at} at which this device proved entry {held} as the answer to the same question (key {key}); the device keeps the newer answer")]
	Rollback { key: String, held: u64, held_at: u32, offered: u64, offered_at: u32 },
	#[error("proven_at mismatch: the server says the page is proven at block {claimed}, the header it sent (and the device verified) is block {verified}")]
	ProvenAtMismatch { claimed: u32, verified: u32 },
	#[error("cursor not advancing: the device sent cursor {sent:?} and the server's next cursor is {next}, not after it")]
	CursorNotAdvancing { sent: Option<u64>, next: u64 },
	#[error("too many pages: a sync follows at most {limit} pages and the server had more (run sync again to continue)")]
	TooManyPages { limit: usize },
	#[error("too many entries: the device asked for at most {asked}, the response has {got}")]
	TooManyEntries { asked: usize, got: usize },
}

/// An answer to one question: its entry and the finalized block it was proven at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
	pub id: u64,
	pub proven_at: u32,
}

/// What to do with an offered answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
	/// The device holds this entry already.
	Known,
	/// A newer answer: load it, and remove the answers it supersedes.
	New { supersedes: Vec<u64> },
}

/// Whether the device takes `offered` as the answer to the question (key `key`) for which it
/// holds `held`: only an answer proven at a later block than every held one replaces them. (At
/// one block a question has one answer, so an equal block with another entry is refused too.)
pub fn admit(key: &str, held: &[Answer], offered: Answer) -> Result<Admission, FreshnessError> {
	if held.iter().any(|answer| answer.id == offered.id) {
		return Ok(Admission::Known);
	}
	if let Some(newer) = held
		.iter()
		.filter(|answer| answer.proven_at >= offered.proven_at)
		.max_by_key(|answer| answer.proven_at)
	{
		return Err(FreshnessError::Rollback {
			key: key.to_string(),
			held: newer.id,
			held_at: newer.proven_at,
			offered: offered.id,
			offered_at: offered.proven_at,
		});
	}
	Ok(Admission::New { supersedes: held.iter().map(|answer| answer.id).collect() })
}

/// The server's `proven_at` must be the block of the header the device verified.
pub fn check_claimed_block(claimed: u32, verified: u32) -> Result<(), FreshnessError> {
	if claimed == verified {
		Ok(())
	} else {
		Err(FreshnessError::ProvenAtMismatch { claimed, verified })
	}
}

/// The cursor to send next: the server's `next`, which must come strictly after the cursor
/// `sent` (a first page, sent none, must not answer 0: a page holds at least one log position).
pub fn advance_cursor(sent: Option<u64>, next: Option<u64>) -> Result<Option<u64>, FreshnessError> {
	match next {
		Some(next) if next <= sent.unwrap_or(0) => {
			Err(FreshnessError::CursorNotAdvancing { sent, next })
		},
		next => Ok(next),
	}
}

/// A response may hold at most the entries asked for.
pub fn check_page_len(asked: usize, got: usize) -> Result<(), FreshnessError> {
	if got > asked {
		Err(FreshnessError::TooManyEntries { asked, got })
	} else {
		Ok(())
	}
}

/// Whether a sync that has followed `pages` pages may fetch another.
pub fn check_page_count(pages: usize) -> Result<(), FreshnessError> {
	if pages >= MAX_SYNC_PAGES {
		Err(FreshnessError::TooManyPages { limit: MAX_SYNC_PAGES })
	} else {
		Ok(())
	}
}

/// Where an unfinished sync from block `since` may continue, from the blocks at which the entries
/// it verified were validated (read from their proofs): the validation log is in block order, so
/// every entry validated before the newest of them was on an earlier page; entries of that very
/// block may not all have been, so it is synced again. Never before `since`.
pub fn resume_from(since: u32, validated_at: impl IntoIterator<Item = u32>) -> u32 {
	validated_at.into_iter().fold(since, u32::max)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn answer(id: u64, proven_at: u32) -> Answer {
		Answer { id, proven_at }
	}

	#[test]
	fn only_a_later_answer_replaces_what_is_held() {
		// Nothing held: a new answer.
		assert_eq!(admit("k", &[], answer(1, 10)), Ok(Admission::New { supersedes: vec![] }));
		// The same entry again, at any block: known.
		assert_eq!(admit("k", &[answer(1, 10)], answer(1, 5)), Ok(Admission::Known));
		assert_eq!(admit("k", &[answer(1, 10)], answer(1, 20)), Ok(Admission::Known));
		// A later answer supersedes.
		assert_eq!(
			admit("k", &[answer(1, 10)], answer(2, 11)),
			Ok(Admission::New { supersedes: vec![1] })
		);
		// An older one is a rollback, naming both.
		assert_eq!(
			admit("k", &[answer(2, 20)], answer(1, 10)),
			Err(FreshnessError::Rollback {
				key: "k".into(),
				held: 2,
				held_at: 20,
				offered: 1,
				offered_at: 10,
			})
		);
		// Another entry at the same block cannot also be the answer.
		assert!(matches!(
			admit("k", &[answer(2, 20)], answer(3, 20)),
			Err(FreshnessError::Rollback { held: 2, .. })
		));
		// Against several held answers, the newest decides and is named.
		assert!(matches!(
			admit("k", &[answer(1, 5), answer(2, 30)], answer(3, 10)),
			Err(FreshnessError::Rollback { held: 2, held_at: 30, .. })
		));
	}

	#[test]
	fn the_server_block_number_must_be_the_verified_one() {
		assert_eq!(check_claimed_block(42, 42), Ok(()));
		let forged = check_claimed_block(4_294_967_000, 42).unwrap_err();
		assert_eq!(
			forged,
			FreshnessError::ProvenAtMismatch { claimed: 4_294_967_000, verified: 42 }
		);
		assert!(forged.to_string().contains("proven_at mismatch"));
	}

	#[test]
	fn cursors_strictly_advance() {
		assert_eq!(advance_cursor(None, None), Ok(None));
		assert_eq!(advance_cursor(None, Some(200)), Ok(Some(200)));
		assert_eq!(advance_cursor(Some(200), Some(400)), Ok(Some(400)));
		assert_eq!(advance_cursor(Some(200), None), Ok(None));
		for (sent, next) in [(Some(200), 200), (Some(200), 199), (None, 0), (Some(5), 0)] {
			let error = advance_cursor(sent, Some(next)).unwrap_err();
			assert_eq!(error, FreshnessError::CursorNotAdvancing { sent, next });
			assert!(error.to_string().contains("cursor not advancing"));
		}
	}

	#[test]
	fn pages_and_entries_are_bounded() {
		assert_eq!(check_page_len(200, 0), Ok(()));
		assert_eq!(check_page_len(200, 200), Ok(()));
		assert_eq!(
			check_page_len(200, 201),
			Err(FreshnessError::TooManyEntries { asked: 200, got: 201 })
		);
		assert_eq!(check_page_count(0), Ok(()));
		assert_eq!(check_page_count(MAX_SYNC_PAGES - 1), Ok(()));
		assert_eq!(
			check_page_count(MAX_SYNC_PAGES),
			Err(FreshnessError::TooManyPages { limit: MAX_SYNC_PAGES })
		);
	}

	#[test]
	fn an_unfinished_sync_resumes_from_the_newest_verified_validation_never_before() {
		assert_eq!(resume_from(10, []), 10);
		assert_eq!(resume_from(10, [12, 17, 15]), 17);
		// Entries validated before `since` (a replay) never move it back.
		assert_eq!(resume_from(10, [3, 7]), 10);
	}
}
