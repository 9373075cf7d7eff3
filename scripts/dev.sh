#!/usr/bin/env bash
# Builds Membria, then runs the dev stack with `membria up` in the foreground:
#  - the embedded IPFS node (`membria ipfs`) on 127.0.0.1:5001, repo in $MEMBRIA_DATA/ipfs;
#  - the corpus distiller (`membria distiller`) on 127.0.0.1:8090, over /usr/share/dictd;
#  - membria-node --dev: Alice validates (Aura + GRANDPA), her DoD agent and validator off-chain
#    workers use the two services; JSON-RPC/WebSocket on 127.0.0.1:9944; chain in
#    $MEMBRIA_DATA/node; a GRANDPA justification kept for every finalized block;
#  - the gateway (`membria gateway`) on 127.0.0.1:8080, filing demand as //Dave;
#  - the dev chain spec in $MEMBRIA_DATA/chain-spec.json: the trust root of `membria sync|ask`.
# $MEMBRIA_DATA defaults to ~/.local/share/membria, so a restart continues the same chain and
# the same IPFS store. Logs go to $MEMBRIA_DATA/logs. Ctrl-C stops everything. A taken port or
# a missing binary stops it before anything starts. Extra arguments go to membria-node.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
source scripts/env.sh

bash scripts/setup.sh
cargo build --release --locked --workspace
cargo build --release --locked --workspace --manifest-path apps/Cargo.toml

# `membria up` runs and watches the services; Ctrl-C stops them all.
exec "$MEMBRIA_CLI" up ${MEMBRIA_DATA:+--data-dir "$MEMBRIA_DATA"} -- "$@"
