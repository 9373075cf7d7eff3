#!/usr/bin/env bash
# Builds and runs the Membria dev chain: one validator (Alice) that authors and finalizes blocks,
# JSON-RPC/WebSocket on 127.0.0.1:9944. The chain is kept in $MEMBRIA_DATA (default
# ~/.local/share/membria), so a restart continues it. Extra arguments go to membria-node.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
source scripts/env.sh

bash scripts/setup.sh
cargo build --release --locked --workspace

data_dir="${MEMBRIA_DATA:-$HOME/.local/share/membria}"
mkdir -p "$data_dir"
echo "[dev] membria-node --dev, chain data in $data_dir/node, RPC ws://127.0.0.1:9944 (Ctrl-C stops)"
exec "$MEMBRIA_NODE" --dev --base-path "$data_dir/node" "$@"
