//! # Membria client
//!
//! The device side of Membria. This crate holds the on-disk cache of verified knowledge
//! ([`VerifiedCache`]): what the device proved (entry metadata with the finalized block it was
//! proven at), the bodies, and their embeddings — kept across restarts, and re-checked when
//! opened: a file that does not match what was proven is reported and removed, never trusted.

pub mod cache;

pub use cache::{CacheError, CachedEntry, Corruption, VerifiedCache};
