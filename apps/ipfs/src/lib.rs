//! # Membria IPFS
//!
//! Entry bodies live on IPFS. This crate holds everything std-side that touches it:
//!
//! - [`client`]: a Kubo RPC client (over the `ipfs-api` crates) with deadlines and retries that
//!   verifies every body it reads against its CID and every CID the node returns on `add`;
//! - [`blockstore`]: a persistent on-disk block store with recursive pins;
//! - [`server`]: the embedded dev node, serving the Kubo RPC subset Membria uses over that store.
//!
//! CIDs themselves are computed by [`membria_primitives::unixfs`], the one implementation every
//! crate (the runtime's off-chain workers included) shares.

pub mod blockstore;
pub mod client;
pub mod server;

pub use blockstore::{BlockStore, StoreError};
pub use client::{Client, ClientOptions, IpfsError, Stored};
pub use server::{router, serve, ServerOptions};
