"""all-MiniLM-L6-v2 as a sentence embedder, in numpy: tokenizer -> 6-layer BERT -> mean -> unit length.

This is the whole network sentence-transformers runs for this model (its modules.json: Transformer, mean
Pooling, Normalize), read from the same packaged files (`tokenizer.json`, `config.json`, `model.safetensors`).
Written out here because importing sentence-transformers and transformers costs ~4 s of every command's
start-up, and in numpy rather than torch because the search server needs nothing else from torch: importing
torch alone holds ~500 MB of memory (docs/performance.md), more than a million photos' postings.
tests/unit/test_minilm.py checks the vectors equal sentence-transformers' to 1e-5.

Notation: N sentences, T tokens (the longest sentence, at most MAX_TOKENS, [CLS] and [SEP] included),
H = 384 hidden size, A = 12 attention heads of H / A = 32, F = 1536 feed-forward size.

    ids, mask        [N, T]     WordPiece ids (lower-cased, accents stripped), 1 on real tokens
    embeddings       [N, T, H]  word + position + token-type embeddings, LayerNorm
    6 x layer        [N, T, H]  x = LayerNorm(x + SelfAttention(x));  x = LayerNorm(x + W2 gelu(W1 x))
    mean over mask   [N, H]     padding tokens do not count
    normalise        [N, H]     unit length, so a dot product is a cosine
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_TOKENS = 256  # sentence_bert_config.json "max_seq_length": longer texts are cut, as sentence-transformers does


# Abramowitz & Stegun 7.1.26: erf(z) = 1 - t * poly(t) * exp(-z^2), t = 1 / (1 + P z) for z >= 0; absolute error
# below 1.5e-7. numpy has no erf (scipy's costs 28 MB to import and is 2x slower here).
P = np.float32(0.3275911)
A = [np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)]


def gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2)), computed in place on two buffers (the
    feed-forward activations are the largest array of a batch: [N * T, 1536])."""
    z = x * np.float32(1 / np.sqrt(2))
    t = np.abs(z)
    t *= P
    t += 1
    np.reciprocal(t, out=t)
    poly = t * A[0]
    for a in A[1:]:
        poly += a
        poly *= t
    np.square(z, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)
    poly *= t  # 1 - erf(|z|)
    np.subtract(1, poly, out=poly)
    np.copysign(poly, z, out=poly)  # erf(z)
    poly += 1
    poly *= x
    poly *= np.float32(0.5)
    return poly


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


@dataclass
class Layer:
    """One post-LayerNorm BERT encoder layer. Linear weights are stored transposed ([in, out]): x @ w + b."""

    qkv: np.ndarray  # [H, 3H]: query, key and value projections side by side (one product instead of three)
    qkv_bias: np.ndarray  # [3H]
    attention_out: np.ndarray  # [H, H]
    attention_out_bias: np.ndarray
    attention_norm: tuple[np.ndarray, np.ndarray]  # LayerNorm (weight, bias)
    intermediate: np.ndarray  # [H, F]
    intermediate_bias: np.ndarray
    output: np.ndarray  # [F, H]
    output_bias: np.ndarray
    output_norm: tuple[np.ndarray, np.ndarray]

    def __call__(self, x: np.ndarray, bias: np.ndarray, heads: int, eps: float) -> np.ndarray:
        """x [N, T, H], bias [N, 1, 1, T] (0 on tokens, a large negative number on padding) -> [N, T, H]."""
        n, t, h = x.shape
        x = x.reshape(n * t, h)  # every token a row: one matrix product per projection, not one per sentence
        qkv = (x @ self.qkv + self.qkv_bias).reshape(n, t, 3, heads, h // heads)  # [N, T, 3, A, H/A]
        q, k, v = qkv.transpose(2, 0, 3, 1, 4)  # each [N, A, T, H/A]
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(h // heads)) + bias  # [N, A, T, T]
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        context = (scores / scores.sum(-1, keepdims=True)) @ v  # [N, A, T, H/A]
        context = context.transpose(0, 2, 1, 3).reshape(n * t, h)  # heads side by side again
        x = layer_norm(x + context @ self.attention_out + self.attention_out_bias, *self.attention_norm, eps)
        hidden = gelu(x @ self.intermediate + self.intermediate_bias)  # [N * T, F]
        return layer_norm(x + hidden @ self.output + self.output_bias, *self.output_norm, eps).reshape(n, t, h)


class MiniLM:
    """The network, from the checkpoint's tensors (names as in model.safetensors)."""

    def __init__(self, config: dict, tensors: dict[str, np.ndarray]) -> None:
        def get(name: str) -> np.ndarray:
            return np.ascontiguousarray(tensors[name], dtype=np.float32)

        def norm(prefix: str) -> tuple[np.ndarray, np.ndarray]:
            return get(f"{prefix}.weight"), get(f"{prefix}.bias")

        self.heads, self.eps = config["num_attention_heads"], config["layer_norm_eps"]
        self.words = get("embeddings.word_embeddings.weight")  # [vocabulary, H]
        self.positions = get("embeddings.position_embeddings.weight")  # [512, H]
        self.token_type = get("embeddings.token_type_embeddings.weight")[0]  # every sentence is segment 0
        self.embedding_norm = norm("embeddings.LayerNorm")
        self.layers = []
        for i in range(config["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            attention = [f"{p}attention.self.{name}" for name in ("query", "key", "value")]
            self.layers.append(Layer(
                qkv=np.concatenate([get(f"{a}.weight").T for a in attention], 1).copy(),
                qkv_bias=np.concatenate([get(f"{a}.bias") for a in attention]),
                attention_out=get(f"{p}attention.output.dense.weight").T.copy(),
                attention_out_bias=get(f"{p}attention.output.dense.bias"),
                attention_norm=norm(f"{p}attention.output.LayerNorm"),
                intermediate=get(f"{p}intermediate.dense.weight").T.copy(),
                intermediate_bias=get(f"{p}intermediate.dense.bias"),
                output=get(f"{p}output.dense.weight").T.copy(),
                output_bias=get(f"{p}output.dense.bias"),
                output_norm=norm(f"{p}output.LayerNorm"),
            ))

    @property
    def dim(self) -> int:
        return self.words.shape[1]

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """ids, mask [N, T] -> sentence vectors float32 [N, H], unit length."""
        x = self.words[ids] + self.positions[: ids.shape[1]] + self.token_type  # [N, T, H]
        x = layer_norm(x, *self.embedding_norm, self.eps)
        bias = np.where(mask[:, None, None, :] > 0, 0.0, np.finfo(np.float32).min).astype(np.float32)  # [N,1,1,T]
        for layer in self.layers:
            x = layer(x, bias, self.heads, self.eps)
        weights = mask[:, :, None].astype(np.float32)  # [N, T, 1]
        mean = (x * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)  # [N, H]
        return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)


class SentenceEncoder:
    """Tokenizer + MiniLM from a sentence-transformers folder. `encode(texts) -> float32 [N, H]`."""

    def __init__(self, folder: Path) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one thread per request; no fork warnings
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # padded per batch below, to the batch's longest sentence
        config = json.loads((folder / "config.json").read_text())
        self.model = MiniLM(config, load_file(str(folder / "model.safetensors")))
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        # Sentences of similar length share a batch (less padding), as sentence-transformers does.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out = np.empty((len(texts), self.model.dim), np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                tokens = encodings[i].ids
                ids[r, : len(tokens)] = tokens
                mask[r, : len(tokens)] = 1
            out[rows] = self.model(ids, mask)
        return out
