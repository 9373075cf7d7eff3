//! # Membria client
//!
//! The device side of Membria:
//!
//! - [`trust`]: the trust root (the GRANDPA authority set from the chain spec, followed through
//!   set changes) and the whole check of what a server sends ([`wire::Proven`]): finality,
//!   storage proofs, bodies — refused whole, with the step that failed;
//! - [`freshness`]: what the device refuses beyond the proofs — an older answer than the one it
//!   holds (rollback), a block number it did not verify (stall), pages, cursors and responses
//!   without bound (exhaustion);
//! - [`cache`]: the on-disk cache of verified knowledge, re-checked when opened;
//! - [`device`]: the commands (`sync`, `ask`, `verify`, `status`) over both, with the embedding
//!   index for offline answers;
//! - [`server`], [`rpc`], [`source`]: where knowledge comes from (a gateway, or a node and IPFS
//!   directly) and how proof material is built from a node (shared with the gateway);
//!   [`heads`]: the node's finalized-head announcements, what the gateway wakes on;
//! - [`metadata`]: the runtime's metadata, to read storage and events by name (unproven: for
//!   views such as the gateway's explorer);
//! - [`demand`]: signed `Dod.request_knowledge` extrinsics;
//! - [`wire`]: the JSON the gateway and devices exchange.

pub mod cache;
pub mod demand;
pub mod device;
pub mod freshness;
pub mod heads;
pub mod metadata;
pub mod rpc;
pub mod server;
pub mod source;
pub mod trust;
pub mod wire;

pub use cache::{CacheError, CachedEntry, Corruption, VerifiedCache};
pub use device::{Device, DeviceError, DeviceOptions, LocalOutcome, RemoteOutcome};
pub use freshness::FreshnessError;
pub use membria_embed::{Query, Thresholds};
pub use server::{GatewayClient, NodeServer, Server, ServerError};
pub use trust::{ProvenEntry, Trust, TrustError};
