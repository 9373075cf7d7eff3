#!/usr/bin/env bash
# What `membria serve` saves a terminal question and a chat client, measured on a fresh dev stack
# at its default ports (stop any other stack first): `membria ask` alone (the front hands it to
# the full CLI, a new process loading libtorch, MiniLM and the cache) against `membria ask`
# answered by a running `membria serve` on the same data dir (the front alone: no libtorch), and
# a chat completion to `membria serve`. Medians of 7 (5 for curl).
# Usage: scripts/measure-serve.sh [WORK_DIR]   (default: a fresh temp dir)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
work="${1:-$(mktemp -d)}"
up="$work/up" dev="$work/device"
mkdir -p "$dev"
cleanup() {
	pkill -INT -f "membria serve --data-dir $dev" || true
	pkill -INT -f "membria up --data-dir $up" || true
	sleep 5
}
trap cleanup EXIT
"$MEMBRIA_CLI" up --data-dir "$up" > "$work/up.log" 2>&1 &
for _ in $(seq 1 90); do grep -q '^ready' "$work/up.log" && break; sleep 2; done
cp "$up/chain-spec.json" "$dev/"
D=(--data-dir "$dev")
q="What is Ethernet?"
"$MEMBRIA_CLI" ask --request "$q" "${D[@]}" > /dev/null 2>&1 || true
for _ in $(seq 1 60); do
	"$MEMBRIA_CLI" sync "${D[@]}" > /dev/null 2>&1 || true
	"$MEMBRIA_CLI" ask --offline "$q" "${D[@]}" > /dev/null 2>&1 && break
	sleep 5
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Wall time in seconds (from nanosecond clocks: /usr/bin/time's %e has 10 ms steps) and max RSS.
timed() {
	for _ in 1 2 3 4 5 6 7; do
		start=$(date +%s%N)
		kb=$( { /usr/bin/time -f "%M" "$MEMBRIA_CLI" ask "$q" "${D[@]}" > /dev/null; } 2>&1 | tail -1)
		echo "$(echo "($(date +%s%N) - $start) / 1000000000" | bc -l | cut -c1-6) $kb"
	done
}
alone=$(timed)
alone_s=$(echo "$alone" | cut -d' ' -f1 | median); alone_kb=$(echo "$alone" | cut -d' ' -f2 | median)
"$MEMBRIA_CLI" serve --data-dir "$dev" > "$work/serve.log" 2>&1 &
for _ in $(seq 1 60); do grep -q serving "$work/serve.log" && break; sleep 1; done
served=$(timed)
served_s=$(echo "$served" | cut -d' ' -f1 | median); served_kb=$(echo "$served" | cut -d' ' -f2 | median)
chat=$(for _ in 1 2 3 4 5; do
	curl -s -o /dev/null -w '%{time_total}\n' http://127.0.0.1:8081/v1/chat/completions \
		-H 'content-type: application/json' \
		-d '{"model":"membria-cache","messages":[{"role":"user","content":"Can you explain what Ethernet is?"}]}'
done | median)
echo "membria ask alone:              ${alone_s} s, ${alone_kb} KB max RSS"
echo "membria ask via membria serve:  ${served_s} s, ${served_kb} KB max RSS  (ratio $(echo "$alone_s / $served_s" | bc -l | cut -c1-4)x faster)"
echo "chat completion (paraphrase):   ${chat} s  (ratio $(echo "$alone_s / $chat" | bc -l | cut -c1-5)x faster than ask alone)"
