#!/usr/bin/env bash
# Fuzzes the device's front door (`verifier/fuzz`; README "Fuzzing"): every target, one after
# the other with one worker, for the given seconds, under libFuzzer's memory limits. The build
# (release, with debug assertions and overflow checks, AddressSanitizer) and the corpus each run
# grows live in $CARGO_TARGET_DIR/fuzz, outside the checkout, so a run continues from the last;
# the committed seeds and past crashes (`verifier/fuzz/seeds`, `verifier/fuzz/regressions`) are
# read every time, so an old crash that comes back fails the run at once.
#
#   scripts/fuzz.sh [seconds per target, default 60] [target...]
#   targets: proven justification read_proof (default: all)
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
source scripts/env.sh

seconds="${1:-60}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(proven justification read_proof)

fuzz_home="$CARGO_TARGET_DIR/fuzz"
build=(-O --debug-assertions --target-dir "$fuzz_home/target")
# An input must not need more than 64 MiB in one allocation nor 2 GiB in all (the inputs are a
# few KiB: anything near these is allocation the input does not bound), nor 10 s.
limits=(-rss_limit_mb=2048 -malloc_limit_mb=64 -timeout=10 -print_final_stats=1)

cd verifier
cargo +nightly fuzz build "${build[@]}"
for target in "${targets[@]}"; do
	corpus="$fuzz_home/corpus/$target"
	mkdir -p "$corpus"
	# libFuzzer keeps every input it ever added: past 4,000, merge the corpus down to the inputs
	# that still add coverage, so runs don't slow down loading it.
	if (($(find "$corpus" -type f | wc -l) > 4000)); then
		rm -rf "$corpus.merged"
		mkdir -p "$corpus.merged"
		cargo +nightly fuzz run "${build[@]}" "$target" "$corpus.merged" "$corpus" -- \
			-merge=1 -rss_limit_mb=2048 -malloc_limit_mb=64 -timeout=10
		rm -rf "$corpus"
		mv "$corpus.merged" "$corpus"
	fi
	inputs=("$corpus" "fuzz/seeds/$target")
	[ ! -d "fuzz/regressions/$target" ] || inputs+=("fuzz/regressions/$target")
	printf '[fuzz] %s for %s s (corpus %s)\n' "$target" "$seconds" "$corpus"
	cargo +nightly fuzz run "${build[@]}" "$target" "${inputs[@]}" -- \
		-max_total_time="$seconds" "${limits[@]}"
done
