//! # Membria off-chain library
//!
//! What the runtime's off-chain workers, the distiller sidecar and the device client agree on,
//! in one `no_std` crate:
//!
//! - [`body`]: the entry body stored on IPFS (schema v1) and its validation;
//! - [`check`]: the checks a validator runs on a fetched body against its entry on chain;
//! - [`protocol`]: the distiller's HTTP API (`/distill`, `/verify`) and the Kubo RPC calls the
//!   workers make;
//! - [`settings`]: the offchain-storage keys the node writes its flags to at start-up.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod body;
pub mod check;
#[cfg(feature = "ocw")]
pub mod ocw;
pub mod protocol;
pub mod settings;

pub use body::{Body, BodyError, BodyLink, DistillerInfo, Source};
pub use check::{check_body, CheckFailure, EntryFacts};
