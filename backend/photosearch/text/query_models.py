"""The models a search runs, without torch: the query's MiniLM vector (ONNX Runtime) and the retrieval head's text
tower (numpy).

A query needs two vectors (services/search.py): MiniLM's (text/minilm.py) for caption and label similarity,
and the joint-space one the retrieval head's text tower makes of it, to compare with the photos' image vectors.
Neither needs torch, and torch is what made the search server large: importing it holds ~500 MB, half of a
server's memory at 100K photos (docs/performance.md). So the server searches with `QueryModels` and imports
torch only when it describes photos (an upload, a job).

The text tower's weights are the trained head's (text/retrieval.py, `TextTower`), written by
`RetrievalHead.export` beside the head's file as safetensors: weights/retrieval-flickr8k.text.safetensors.
For each of the M ensemble members (D = 384, K = the member's joint width, 256):

    minilm     [N, D]    unit MiniLM vectors
    adapted    [N, D]    x + W2 gelu(W1 LayerNorm(x) + b1) + b2       (the residual adapter)
    joint      [N, K]    adapted @ proj.T, unit length
    head       [N, M*K]  the members side by side / sqrt(M): a dot product is the members' mean cosine

tests/unit/test_query_models.py checks the vectors equal the torch head's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photosearch.errors import ModelError
from photosearch.text.embedder import TextEmbedder
from photosearch.text.minilm import gelu, layer_norm

LAYER_NORM_EPS = 1e-5  # torch.nn.LayerNorm's default, which the tower was trained with


def text_weights_path(head_path: Path) -> Path:
    """Where the text tower of the head saved at `head_path` lives: retrieval-X.pt -> retrieval-X.text.safetensors."""
    return head_path.with_suffix(".text.safetensors")


# Beside the committed head (text/retrieval.py's DEFAULT_WEIGHTS, named here without importing torch).
DEFAULT_TEXT_WEIGHTS = text_weights_path(Path(__file__).resolve().parent.parent / "weights" / "retrieval-flickr8k.pt")


@dataclass
class _Member:
    norm: tuple[np.ndarray, np.ndarray]  # LayerNorm (weight, bias) [D]
    w1: np.ndarray  # [D, H] (transposed: x @ w1)
    b1: np.ndarray
    w2: np.ndarray  # [H, D]
    b2: np.ndarray
    proj: np.ndarray  # [D, K]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        adapted = x + gelu(layer_norm(x, *self.norm, LAYER_NORM_EPS) @ self.w1 + self.b1) @ self.w2 + self.b2
        joint = adapted @ self.proj  # [N, K]
        return joint / np.maximum(np.linalg.norm(joint, axis=1, keepdims=True), 1e-12)


class TextTower:
    """The retrieval head's text side. `text_vectors(minilm [N, 384]) -> float32 [N, M*K]`, unit rows."""

    def __init__(self, tensors: dict[str, np.ndarray], name: str = "retrieval-text") -> None:
        def get(key: str) -> np.ndarray:
            return np.ascontiguousarray(tensors[key], dtype=np.float32)

        members = sorted({int(key.split(".")[1]) for key in tensors if key.startswith("members.")})
        self.members = [
            _Member(
                norm=(get(f"members.{i}.text.adapter.0.weight"), get(f"members.{i}.text.adapter.0.bias")),
                w1=get(f"members.{i}.text.adapter.1.weight").T.copy(), b1=get(f"members.{i}.text.adapter.1.bias"),
                w2=get(f"members.{i}.text.adapter.4.weight").T.copy(), b2=get(f"members.{i}.text.adapter.4.bias"),
                proj=get(f"members.{i}.text.proj.weight").T.copy(),
            )
            for i in members
        ]
        if not self.members:
            raise ModelError("the retrieval text tower file holds no members")
        self.text_dim = self.members[0].w1.shape[0]
        self.dim = sum(m.proj.shape[1] for m in self.members)
        self.name = name

    @classmethod
    def load(cls, path: Path | str = DEFAULT_TEXT_WEIGHTS) -> TextTower:
        from safetensors.numpy import load_file

        path = Path(path)
        if not path.exists():
            raise ModelError(f"retrieval text weights not found: {path} (written by `photosearch train-retrieval`)")
        try:
            return cls(load_file(str(path)), name=path.name.removesuffix(".text.safetensors"))
        except ModelError:
            raise
        except Exception as exc:  # truncated file, wrong keys or shapes
            raise ModelError(f"{path}: incompatible retrieval text weights ({exc})") from exc

    @staticmethod
    def available(path: Path | str = DEFAULT_TEXT_WEIGHTS) -> bool:
        return Path(path).exists()

    def text_vectors(self, minilm: np.ndarray) -> np.ndarray:
        """MiniLM sentence vectors [N, 384] -> float32 [N, M*K], unit rows."""
        text = np.asarray(minilm, dtype=np.float32)
        if text.ndim != 2 or text.shape[-1] != self.text_dim:
            raise ModelError(f"retrieval head expects [N, {self.text_dim}] text vectors, got {tuple(text.shape)}")
        joint = np.concatenate([member(text) for member in self.members], axis=1)
        return (joint / np.float32(np.sqrt(len(self.members)))).astype(np.float32, copy=False)


@dataclass
class QueryModels:
    """What `Searcher` calls: `text_embedder.embed(texts)` and `retrieval.text_vectors(minilm)`."""

    text_embedder: TextEmbedder | None
    retrieval: TextTower | None

    @classmethod
    def default(cls) -> QueryModels:
        """The packaged MiniLM and the committed text tower (no tower: search runs on text and captions)."""
        return cls(TextEmbedder.shared(), TextTower.load() if TextTower.available() else None)
