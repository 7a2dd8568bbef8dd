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

Two runtimes compute the same network: `MiniLM` in numpy (the reference, a few lines per step) and, by default,
the graph `onnx_graph` builds from the same arrays, run by ONNX Runtime (onnx_graphs.py keeps it on disk). Its
fused kernels make a caption batch ~1.5x and a single query ~2x faster (docs/performance.md); the vectors agree
to 1e-6. PHOTOSEARCH_TEXT_RUNTIME=numpy keeps to numpy.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photosearch.config import cpu_count
from photosearch.onnx_graphs import graph_file, open_session

RUNTIMES = ("auto", "numpy")
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


def onnx_graph(model: MiniLM) -> bytes:
    """`model` as an ONNX graph (opset 20), step for step the network `MiniLM.__call__` computes.
    Inputs ids, mask int64 [N, T]; output vectors float32 [N, H], unit rows."""
    from onnx import TensorProto, helper, numpy_helper

    h, heads = model.dim, model.heads
    nodes, weights = [], []

    def const(array: np.ndarray | float | list[int]) -> str:
        array = np.asarray(array, np.int64 if isinstance(array, list) else np.float32)
        weights.append(numpy_helper.from_array(array, f"w{len(weights)}"))
        return weights[-1].name

    def op(kind: str, *inputs: str, out: str | None = None, **attributes: object) -> str:
        nodes.append(helper.make_node(kind, list(inputs), [out or f"t{len(nodes)}"], **attributes))
        return nodes[-1].output[0]

    def linear(x: str, w: np.ndarray, b: np.ndarray) -> str:
        return op("Add", op("MatMul", x, const(w)), const(b))

    def norm(x: str, weight_bias: tuple[np.ndarray, np.ndarray]) -> str:
        return op("LayerNormalization", x, const(weight_bias[0]), const(weight_bias[1]), axis=-1,
                  epsilon=model.eps)

    def split_heads(x: str) -> str:  # [N, T, H] -> [N, A, T, H/A]
        return op("Transpose", op("Reshape", x, const([0, 0, heads, h // heads])), perm=[0, 2, 1, 3])

    length = op("Shape", "ids", start=1, end=2)  # [1] = T
    positions = op("Slice", const(model.positions), const([0]), length, const([0]))  # [T, H]
    x = op("Add", op("Add", op("Gather", const(model.words), "ids"), positions), const(model.token_type))
    x = norm(x, model.embedding_norm)  # [N, T, H]
    on = op("Cast", "mask", to=TensorProto.FLOAT)  # [N, T] 1 on tokens
    # [N, 1, 1, T]: 0 on tokens, the most negative float on padding (as MiniLM.__call__)
    bias = op("Unsqueeze", op("Mul", op("Sub", on, const(1.0)), const(-np.finfo(np.float32).min)), const([1, 2]))
    for layer in model.layers:
        q, k, v = (f"q{len(nodes)}", f"k{len(nodes)}", f"v{len(nodes)}")
        nodes.append(helper.make_node("Split", [linear(x, layer.qkv, layer.qkv_bias), const([h, h, h])], [q, k, v],
                                      axis=-1))
        scores = op("MatMul", split_heads(q), op("Transpose", split_heads(k), perm=[0, 1, 3, 2]))  # [N, A, T, T]
        scores = op("Add", op("Mul", scores, const(1 / np.sqrt(h // heads))), bias)
        context = op("MatMul", op("Softmax", scores, axis=-1), split_heads(v))  # [N, A, T, H/A]
        context = op("Reshape", op("Transpose", context, perm=[0, 2, 1, 3]), const([0, 0, h]))  # [N, T, H]
        x = norm(op("Add", x, linear(context, layer.attention_out, layer.attention_out_bias)), layer.attention_norm)
        hidden = op("Gelu", linear(x, layer.intermediate, layer.intermediate_bias))  # exact (erf) GELU
        x = norm(op("Add", x, linear(hidden, layer.output, layer.output_bias)), layer.output_norm)
    weight = op("Unsqueeze", on, const([2]))  # [N, T, 1]
    total = op("ReduceSum", op("Mul", x, weight), const([1]), keepdims=0)  # [N, H]
    mean = op("Div", total, op("Max", op("ReduceSum", weight, const([1]), keepdims=0), const(1e-9)))
    length_ = op("Max", op("ReduceL2", mean, const([-1]), keepdims=1), const(1e-12))
    op("Div", mean, length_, out="vectors")
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(name, TensorProto.INT64, ["N", "T"]) for name in ("ids", "mask")],
        [helper.make_tensor_value_info("vectors", TensorProto.FLOAT, ["N", h])], weights,
    )
    # IR version 10 (onnx 1.16's): what ONNX Runtime 1.31 reads; onnx itself would write a newer one
    return helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 20)]).SerializeToString()


def _threads() -> int:
    """OMP_NUM_THREADS where it is set (the search server sets 1: one thread per request, see
    services/search.py's serving_threads), else every core this process may use."""
    with contextlib.suppress(ValueError):
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    return cpu_count()


class SentenceEncoder:
    """Tokenizer + MiniLM from a sentence-transformers folder. `encode(texts) -> float32 [N, H]`."""

    def __init__(self, folder: Path, runtime: str | None = None) -> None:
        """runtime: "auto" (ONNX Runtime when installed, else numpy) or "numpy"; None reads
        PHOTOSEARCH_TEXT_RUNTIME (default "auto")."""
        runtime = runtime or os.environ.get("PHOTOSEARCH_TEXT_RUNTIME") or "auto"
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown text runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one thread per request; no fork warnings
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # padded per batch below, to the batch's longest sentence
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0
        config_bytes = (folder / "config.json").read_bytes()
        config = json.loads(config_bytes)
        self.dim = config["hidden_size"]
        weights = folder / "model.safetensors"
        self.model: MiniLM | None = None
        self.session = None
        if runtime == "auto":  # the cached graph is keyed by the weights file (size, time), config and this file
            stat = weights.stat()
            path = graph_file("all-minilm-l6-v2", config_bytes, f"{stat.st_size}:{stat.st_mtime_ns}".encode(),
                              Path(__file__).read_bytes())
            with contextlib.suppress(ImportError):
                self.session = open_session(path, lambda: onnx_graph(self._numpy_model(config, weights)),
                                            _threads())
        if self.session is None:
            self.model = self._numpy_model(config, weights)

    @staticmethod
    def _numpy_model(config: dict, weights: Path) -> MiniLM:
        from safetensors.numpy import load_file

        return MiniLM(config, load_file(str(weights)))

    def vectors(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """ids, mask int64 [N, T] -> float32 [N, H], unit rows, from whichever runtime runs the network."""
        if self.session is not None:
            return self.session.run(None, {"ids": ids, "mask": mask})[0]
        return self.model(ids, mask)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        # Sentences of similar length share a batch (less padding), as sentence-transformers does.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out = np.empty((len(texts), self.dim), np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                tokens = encodings[i].ids
                ids[r, : len(tokens)] = tokens
                mask[r, : len(tokens)] = 1
            out[rows] = self.vectors(ids, mask)
        return out
