//! The pallets whose weights this runtime benchmarks (`runtime-benchmarks` feature), for
//! `frame-omni-bencher v1 benchmark pallet --runtime <membria_runtime wasm>`.

frame_benchmarking::define_benchmarks!(
	[pallet_kcg, Kcg]
	[pallet_kcg_validators, Validators]
	[pallet_dod, Dod]
);
