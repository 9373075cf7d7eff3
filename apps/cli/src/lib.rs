//! The `membria` CLI's library: launching the stack's processes ([`stack`]), shared by the
//! binary, its end-to-end tests and its benchmarks, and writing knowledge to a dev chain
//! ([`dev_chain`]) for the tests and benchmarks; the distiller's re-ranking model
//! ([`similarity`]).

pub mod dev_chain;
pub mod similarity;
pub mod stack;
