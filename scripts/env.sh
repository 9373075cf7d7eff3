# Sourced by the other scripts: the one target dir shared by every build, test and CI run.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/membria/target}"
export MEMBRIA_NODE="${MEMBRIA_NODE:-$CARGO_TARGET_DIR/release/membria-node}"
export MEMBRIA_CLI="${MEMBRIA_CLI:-$CARGO_TARGET_DIR/release/membria}"
# Where setup.sh installs the OpenAI-compatible test server (llama-cpp-python + SmolLM2-135M).
export MEMBRIA_LLM="${MEMBRIA_LLM:-$HOME/.cache/membria/llm}"
