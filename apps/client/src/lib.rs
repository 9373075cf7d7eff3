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
//! - [`rescoring`]: the checked embeddings the approximate search ranks its candidates by;
//! - [`device`]: the commands (`sync`, `ask`, `verify`, `status`) over both, with the embedding
//!   index for offline answers;
//! - [`server`]: where knowledge comes from (a gateway, or a node and IPFS directly, the proof
//!   material then built with `membria-chain`, the chain access the gateway shares);
//! - [`wire`]: the JSON the gateway and devices exchange.

pub mod cache;
pub mod device;
pub mod freshness;
pub mod rescoring;
pub mod server;
pub mod trust;
pub mod wire;

pub use cache::{CacheError, CachedEntry, Corruption, VerifiedCache};
pub use device::{Device, DeviceError, DeviceOptions, LocalOutcome, RemoteOutcome};
pub use freshness::FreshnessError;
pub use membria_embed::{Query, Thresholds};
pub use server::{GatewayClient, NodeServer, Server, ServerError};
pub use trust::{ProvenEntry, Trust, TrustError};
