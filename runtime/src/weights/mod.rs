//! Weights of Membria's pallets, measured on this project's machines by
//! `scripts/bench-weights.sh` (frame-omni-bencher over the `runtime-benchmarks` wasm).

pub mod pallet_dod;
pub mod pallet_kcg;
pub mod pallet_kcg_validators;
