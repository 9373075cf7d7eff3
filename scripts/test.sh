#!/usr/bin/env bash
# Runs every test of Membria: formatting and lints, the Rust unit and integration tests (which
# start real nodes on 127.0.0.1), and the polkadot.js tests. Installs what is missing first.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
source scripts/env.sh

bash scripts/setup.sh

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

# One profile (release) for everything: the tests and the node binary they start share every
# artifact, and clippy reuses the build scripts' output (the runtime's wasm blob included).
step "cargo clippy"
cargo clippy --release --workspace --all-targets --locked -- -D warnings

step "cargo test (unit tests, and integration tests that start real nodes)"
cargo test --release --workspace --locked

# The pallets' benchmarks run as tests (each benchmark once, with its verification). They need
# the runtime-benchmarks feature, which builds FRAME a second way: kept to the two pallets.
step "pallet benchmarks as tests"
cargo clippy --release --locked -p pallet-kcg -p pallet-kcg-validators --features runtime-benchmarks --all-targets -- -D warnings
cargo test --release --locked -p pallet-kcg -p pallet-kcg-validators --features runtime-benchmarks benchmarking

step "polkadot.js tests (tests/js) against $MEMBRIA_NODE"
npm --prefix tests test

step "all tests passed"
