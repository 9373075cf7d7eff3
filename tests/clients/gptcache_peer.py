"""GPTCache (PyPI `gptcache`, faiss, in-memory SQLite) as the peer of the device's semantic
cache in `apps/cli/benches/semantic_cache.rs`: the same stored questions, the same queries, the
same MiniLM (`minilm_numpy.py`, from the same model files), its hit threshold at the same cosine.

Usage: gptcache_peer.py STORED_FILE QUERIES_FILE COSINE
  STORED_FILE and QUERIES_FILE: one question per line. Prints one JSON object:
  {"lookups_ms": [...], "hits": H, "embed_ms": [...], "probe": [...]} — a lookup is `gptcache.adapter.api.get`
  (embedding the query, searching faiss, evaluating the candidate), timed one by one.
"""

import json
import os
import sys
import tempfile
import time

# One thread, as the device runs: BLAS and OpenMP spinning threads only add latency on 2 cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from gptcache import Cache, Config  # noqa: E402
from gptcache.adapter.api import get, put  # noqa: E402
from gptcache.manager import CacheBase, VectorBase, get_data_manager  # noqa: E402
from gptcache.processor.pre import get_prompt  # noqa: E402
from gptcache.similarity_evaluation.distance import SearchDistanceEvaluation  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minilm_numpy import MiniLM  # noqa: E402


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def make_cache(stored, cosine, model, cache=None):
    """A GPTCache over faiss and in-memory SQLite, embedding with `model`, that hits at
    `cosine` and holds `stored` (each answered "the answer to: <question>"): `cache`, or a new
    one."""
    embed = lambda text, **_: model.encode(text)  # noqa: E731 (gptcache passes extra_param=)
    work = tempfile.mkdtemp(prefix="gptcache-peer-")
    cache = cache if cache is not None else Cache()
    cache.init(
        pre_embedding_func=get_prompt,
        embedding_func=embed,
        data_manager=get_data_manager(
            CacheBase("sqlite", sql_url="sqlite:///:memory:"),
            VectorBase("faiss", dimension=model.dimension, index_path=os.path.join(work, "faiss.index")),
            max_size=len(stored) + 1,
        ),
        similarity_evaluation=SearchDistanceEvaluation(),
        # faiss ranks by squared L2 (2 - 2 cos for unit vectors), the evaluation scores 4 - it
        # and a hit needs 4 * threshold: cos >= 2 * threshold - 1.
        config=Config(similarity_threshold=(1.0 + cosine) / 2.0, disable_report=True),
    )
    for question in stored:
        put(question, f"the answer to: {question}", cache_obj=cache)
    return cache


def main():
    stored, queries, cosine = lines(sys.argv[1]), lines(sys.argv[2]), float(sys.argv[3])
    model = MiniLM()
    embed = model.encode
    cache = make_cache(stored, cosine, model)
    get(queries[0], cache_obj=cache)  # warm-up
    lookups, embeds, hits, flags = [], [], 0, []
    for query in queries:
        start = time.perf_counter()
        answer = get(query, cache_obj=cache)
        lookups.append((time.perf_counter() - start) * 1e3)
        hits += answer is not None
        flags.append(answer is not None)
        start = time.perf_counter()
        embed(query)
        embeds.append((time.perf_counter() - start) * 1e3)
    print(json.dumps({
        "lookups_ms": lookups,
        "embed_ms": embeds,
        "hits": hits,
        "hit_flags": flags,
        "stored": len(stored),
        # The first query's embedding: the benchmark checks it is the device's.
        "probe": [float(v) for v in model.encode(queries[0])],
    }))


if __name__ == "__main__":
    main()
