//! A header and a GRANDPA justification against an authority set (SCALE of
//! `(set id, authorities, header, justification)`): `membria_verifier::fuzzing::check_justification`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| membria_verifier::fuzzing::check_justification(data));
