//! The `membria` CLI's library: launching the stack's processes ([`stack`]), shared by the
//! binary, its end-to-end tests and its benchmarks.

pub mod stack;
