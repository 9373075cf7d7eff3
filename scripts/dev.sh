#!/usr/bin/env bash
# Builds and runs the Membria dev stack on this machine:
#  - the embedded IPFS node (`membria ipfs`) on 127.0.0.1:5001, repo in $MEMBRIA_DATA/ipfs;
#  - the corpus distiller (`membria distiller`) on 127.0.0.1:8090, over /usr/share/dictd;
#  - membria-node --dev: Alice validates (Aura + GRANDPA), her DoD agent and validator off-chain
#    workers use the two services; JSON-RPC/WebSocket on 127.0.0.1:9944; chain in
#    $MEMBRIA_DATA/node.
# $MEMBRIA_DATA defaults to ~/.local/share/membria, so a restart continues the same chain and
# the same IPFS store. Logs of the two services go to $MEMBRIA_DATA/logs. Ctrl-C stops all
# three. Extra arguments go to membria-node.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
source scripts/env.sh

bash scripts/setup.sh
cargo build --release --locked --workspace
cargo build --release --locked --workspace --manifest-path apps/Cargo.toml

data_dir="${MEMBRIA_DATA:-$HOME/.local/share/membria}"
mkdir -p "$data_dir/logs"
pids=()
stop() {
	for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap stop EXIT INT TERM

"$MEMBRIA_CLI" ipfs --listen 127.0.0.1:5001 --repo "$data_dir/ipfs" >>"$data_dir/logs/ipfs.log" 2>&1 &
pids+=($!)
"$MEMBRIA_CLI" distiller --listen 127.0.0.1:8090 --backend corpus >>"$data_dir/logs/distiller.log" 2>&1 &
pids+=($!)
echo "[dev] IPFS http://127.0.0.1:5001, distiller http://127.0.0.1:8090 (logs in $data_dir/logs)"
echo "[dev] membria-node --dev, chain data in $data_dir/node, RPC ws://127.0.0.1:9944 (Ctrl-C stops)"
"$MEMBRIA_NODE" --dev --base-path "$data_dir/node" \
	--ipfs-api http://127.0.0.1:5001 --distiller http://127.0.0.1:8090 "$@" &
pids+=($!)
wait "${pids[-1]}"
