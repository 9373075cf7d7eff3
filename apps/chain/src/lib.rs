//! # Membria chain access
//!
//! What the gateway and the device both need of a node, and nothing of the device's model or
//! cache (no libtorch here):
//!
//! - [`rpc`]: the node's JSON-RPC over HTTP (nothing read is trusted by itself);
//! - [`proofs`]: the proof material of [`membria_verifier::proven::Proven`] built from a node —
//!   what the gateway serves and a device talking to a node builds itself;
//! - [`heads`]: the node's finalized-head announcements over its WebSocket, what followers
//!   wake on;
//! - [`metadata`]: the runtime's metadata, to read storage and events by name (unproven: for
//!   views such as the gateway's explorer);
//! - [`extrinsics`]: signed `Dod.request_knowledge` extrinsics (demand).

pub mod extrinsics;
pub mod heads;
pub mod metadata;
pub mod proofs;
pub mod rpc;
