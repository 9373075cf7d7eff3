//! A `Proven` document (JSON) as a server sends it, decoded and checked whole against the dev
//! chain's genesis set: `membria_verifier::fuzzing::check_proven`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| membria_verifier::fuzzing::check_proven(data));
