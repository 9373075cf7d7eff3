"""GPTCache's own HTTP server as the peer of the gateway under load
(`apps/cli/benches/device.rs`): `gptcache_server`'s FastAPI app, run by uvicorn as its CLI runs
it, over the cache `gptcache_peer.make_cache` builds — faiss, in-memory SQLite, the same MiniLM
(`minilm_numpy.py`) — holding the same questions as the gateway, hitting at the same cosine.
`POST /get {"prompt": q}` answers `{"prompt": q, "answer": a}`, `answer` null on a miss.

Usage: gptcache_server_peer.py PORT STORED_FILE COSINE
  STORED_FILE: one question per line. Serves on 127.0.0.1:PORT until killed; `GET /` answers
  once it is ready.
"""

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import types  # noqa: E402

import gptcache  # noqa: E402
import uvicorn  # noqa: E402

# The server module imports GPTCache's OpenAI adapter, written for openai < 1 (the venv has the
# openai 3 the serve tests use), only for its `/v1/chat/completions` proxy, which stays off
# here: an empty module stands in for the adapter. `/get` is untouched.
sys.modules["gptcache.adapter.openai"] = types.ModuleType("gptcache.adapter.openai")
from gptcache_server import server  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gptcache_peer import lines, make_cache  # noqa: E402
from minilm_numpy import MiniLM  # noqa: E402


def main():
    port, stored, cosine = int(sys.argv[1]), lines(sys.argv[2]), float(sys.argv[3])
    # The server's endpoints use GPTCache's global cache.
    make_cache(stored, cosine, MiniLM(), cache=gptcache.cache)
    uvicorn.run(server.app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
