# Sourced by the other scripts: the one target dir shared by every build, test and CI run.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/membria/target}"
export MEMBRIA_NODE="${MEMBRIA_NODE:-$CARGO_TARGET_DIR/release/membria-node}"
export MEMBRIA_CLI="${MEMBRIA_CLI:-$CARGO_TARGET_DIR/release/membria}"
# Where setup.sh installs the OpenAI-compatible test server (llama-cpp-python + SmolLM2-135M).
export MEMBRIA_LLM="${MEMBRIA_LLM:-$HOME/.cache/membria/llm}"
# The official `openai` and `mcp` Python packages the serve and MCP tests drive Membria with.
export MEMBRIA_CLIENTS="${MEMBRIA_CLIENTS:-$HOME/.cache/membria/clients}"
# libtorch for tch 0.26 (PyTorch 2.13's CPU libraries from PyPI) and the sentence-embedding model,
# installed by setup.sh outside the checkout.
export MEMBRIA_TCH="${MEMBRIA_TCH:-$HOME/.cache/membria/tch}"
export LIBTORCH="${LIBTORCH:-$MEMBRIA_TCH/torch-site/torch}"
export MEMBRIA_MODELS="${MEMBRIA_MODELS:-$MEMBRIA_TCH/models}"
