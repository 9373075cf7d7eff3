#!/usr/bin/env bash
# Regenerates the weights of Membria's pallets on this machine:
#  1. installs frame-omni-bencher 0.28 (frame-benchmarking-cli 64, stable2609) once, in its own
#     target dir (it brings RocksDB and jemalloc: about an hour on two cores the first time);
#  2. builds the runtime's wasm with the `runtime-benchmarks` feature, in its own target dir, so
#     that the node's runtime blob is never replaced by the benchmarking one;
#  3. runs every benchmark of pallet-kcg, pallet-kcg-validators and pallet-dod and writes their weights to
#     runtime/src/weights/<pallet>.rs, which the runtime uses.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
source scripts/env.sh
cache="${MEMBRIA_CACHE:-$HOME/.cache/membria}"
bencher="$cache/tools/bin/frame-omni-bencher"

if [ ! -x "$bencher" ]; then
	echo "[bench] installing frame-omni-bencher 0.28.0 into $cache/tools"
	CARGO_TARGET_DIR="$cache/bencher-target" cargo install frame-omni-bencher --version 0.28.0 \
		--locked --root "$cache/tools"
fi

# The wasm project substrate-wasm-builder generates, with the benchmarking feature on.
blob="$cache/bench-wasm"
mkdir -p "$blob/src"
cat >"$blob/Cargo.toml" <<TOML
[package]
name = "membria-runtime-bench-blob"
version = "1.0.0"
edition = "2021"

[lib]
crate-type = ["cdylib"]
name = "membria_runtime"

[dependencies.wasm-project]
package = "membria-runtime"
path = "$repo_root/runtime"
default-features = false
features = ["runtime-benchmarks"]

[profile.release]
lto = "thin"
panic = "abort"

[workspace]
resolver = "2"
TOML
echo '#![no_std] #![allow(unused_imports)] pub use wasm_project::*;' >"$blob/src/lib.rs"
cp Cargo.lock "$blob/Cargo.lock"
echo "[bench] building the benchmarking runtime (wasm32v1-none)"
CARGO_TARGET_DIR="$blob/target" SKIP_WASM_BUILD=1 \
	RUSTFLAGS="-C link-arg=--export-table -C link-arg=--export=__heap_base -C link-arg=--import-memory --cfg substrate_runtime" \
	cargo rustc --offline --target=wasm32v1-none --manifest-path="$blob/Cargo.toml" --profile release
wasm="$blob/target/wasm32v1-none/release/membria_runtime.wasm"

for pallet in pallet_kcg pallet_kcg_validators pallet_dod; do
	echo "[bench] $pallet -> runtime/src/weights/$pallet.rs"
	"$bencher" v1 benchmark pallet --runtime "$wasm" --genesis-builder-preset development \
		--pallet "$pallet" --extrinsic '*' --steps 20 --repeat 10 \
		--output "runtime/src/weights/$pallet.rs" --header scripts/weights-header.txt
done
cargo fmt --all
