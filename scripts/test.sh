#!/usr/bin/env bash
# Runs every test of Membria: formatting and lints, the Rust unit and integration tests (which
# start real nodes on 127.0.0.1), and the polkadot.js tests. Installs what is missing first.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
source scripts/env.sh

bash scripts/setup.sh

step() { printf '\n==> %s\n' "$*"; }

# Two workspaces: the chain (`.`) and the std applications (`apps/`, the `membria` CLI), one
# target dir and one profile (release) for both.
apps=(--manifest-path apps/Cargo.toml)

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --all "${apps[@]}" -- --check
cargo fmt --manifest-path verifier/fuzz/Cargo.toml -- --check

# One profile (release) for everything: the tests and the binaries they start share every
# artifact, and clippy reuses the build scripts' output (the runtime's wasm blob included).
step "cargo clippy"
cargo clippy --release --workspace --all-targets --locked -- -D warnings
cargo clippy --release --workspace --all-targets --locked "${apps[@]}" -- -D warnings

# The node binary first: the apps' end-to-end test runs it.
step "chain: build the node"
cargo build --release --workspace --locked

step "apps: IPFS, distiller, embedding, generation, device and gateway tests (real servers on 127.0.0.1)"
cargo build --release --workspace --locked "${apps[@]}"
cargo test --release --workspace --locked "${apps[@]}"

step "chain: unit tests, and integration tests that start real nodes (and membria services)"
cargo test --release --workspace --locked

# The pallets' benchmarks run as tests (each benchmark once, with its verification). They need
# the runtime-benchmarks feature, which builds FRAME a second way: kept to the pallets.
step "pallet benchmarks as tests"
bench_pallets=(-p pallet-kcg -p pallet-kcg-validators -p pallet-dod)
cargo clippy --release --locked "${bench_pallets[@]}" --features runtime-benchmarks --all-targets -- -D warnings
cargo test --release --locked "${bench_pallets[@]}" --features runtime-benchmarks benchmarking

# The runtime as the try-runtime CLI builds it (the TryRuntime API, every pallet's try_state):
# the invariants hold on the real runtime after the ledger's flows and catch a broken one. Native
# only (SKIP_WASM_BUILD): the test runs the runtime in-process.
step "runtime with try-runtime"
SKIP_WASM_BUILD=1 cargo clippy --release --locked -p membria-runtime --features try-runtime --all-targets -- -D warnings
SKIP_WASM_BUILD=1 cargo test --release --locked -p membria-runtime --features try-runtime --test try_state

step "polkadot.js tests (tests/js) against $MEMBRIA_NODE"
npm --prefix tests test

# The device's front door, fuzzed a minute per target (nightly, cargo-fuzz; built once into
# $CARGO_TARGET_DIR/fuzz, where the corpus grows from run to run). `scripts/fuzz.sh 600` is the
# long run.
step "fuzz: Proven documents, GRANDPA justifications, storage read proofs (60 s each)"
bash scripts/fuzz.sh 60

step "all tests passed"
