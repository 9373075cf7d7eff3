//! A storage read proof of entries against a header (SCALE of `(header, proof nodes, entry
//! ids)`): `membria_verifier::fuzzing::check_read_proof`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| membria_verifier::fuzzing::check_read_proof(data));
