//! # Membria primitives
//!
//! The rules every Membria crate must apply the same way — the runtime, the off-chain workers,
//! the gateway and the client — in one place:
//!
//! - [`question`]: how a question is normalized and keyed (`question_key`), so that "What is
//!   Rust?" and "  what is rust " are the same demand and the same answer.
//! - [`cid`]: which content identifiers the chain accepts (CIDv0 and CIDv1, sha2-256), in their
//!   binary form.
//! - [`unixfs`]: the UnixFS DAG and CID `ipfs add` gives a body (Kubo's, byte for byte), and
//!   the text forms of CIDs.
//! - [`types`]: entry ids, relations between entries, and validators' verdicts.
//!
//! `no_std`: it compiles into the runtime.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod cid;
pub mod question;
pub mod types;
pub mod unixfs;

pub use cid::{validate_cid, CidError, CidVersion, ContentCodec};
pub use question::{answer_kind, key_terms, normalize_question, question_key, AnswerKind};
pub use types::*;
