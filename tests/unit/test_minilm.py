"""text/minilm.py is all-MiniLM-L6-v2 as sentence-transformers runs it, without the Hugging Face model code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from photosearch.errors import ModelError
from photosearch.text.embedder import TextEmbedder, model_dir
from photosearch.text.minilm import MAX_TOKENS, SentenceEncoder

BACKEND = Path(__file__).resolve().parents[2] / "backend"
TEXTS = [
    "a dog runs along the beach",
    "Espresso",
    "",
    "naïve café crème brûlée",  # accents are stripped, as the uncased tokenizer does
    "ÜBER COOL!!",
    "two children play in the snow near a red house with a black and white dog",
    "word " * 400,  # longer than MAX_TOKENS: cut, as sentence-transformers cuts it
]


def test_vectors_equal_sentence_transformers() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    sentence_transformers = pytest.importorskip("sentence_transformers")
    reference = sentence_transformers.SentenceTransformer(str(model_dir()), device="cpu")
    want = reference.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    got = TextEmbedder().embed(TEXTS)
    assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert reference.max_seq_length == MAX_TOKENS


def test_batches_do_not_change_a_sentence() -> None:
    """Padding to the batch's longest sentence is masked out: a sentence's vector is the same alone."""
    encoder = SentenceEncoder(model_dir())
    together = encoder.encode(TEXTS, batch_size=3)
    alone = np.stack([encoder.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_embedding_does_not_import_hugging_face_model_code() -> None:
    """transformers + sentence-transformers cost ~4 s of start-up; a fresh process must not import them."""
    code = ("import sys; from photosearch.text.embedder import TextEmbedder; TextEmbedder().embed(['a cat']); "
            "print(sorted(m for m in ('transformers', 'sentence_transformers', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(BACKEND)))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_onnx_runtime_and_numpy_give_the_same_vectors(monkeypatch, tmp_path) -> None:
    """The default runtime runs the graph built from the weights (onnx_graph); numpy is the reference. The graph
    is kept on disk, and a damaged cached graph is built again."""
    monkeypatch.setenv("PHOTOSEARCH_CACHE_DIR", str(tmp_path))
    onnx_runtime = SentenceEncoder(model_dir())
    assert onnx_runtime.session is not None and onnx_runtime.model is None  # onnxruntime is a dependency
    reference = SentenceEncoder(model_dir(), runtime="numpy")
    assert reference.session is None
    want = reference.encode(TEXTS, batch_size=3)
    np.testing.assert_allclose(onnx_runtime.encode(TEXTS, batch_size=3), want, atol=1e-5)
    (cached,) = (tmp_path / "models").glob("all-minilm-l6-v2-*.onnx")
    cached.write_bytes(b"not a graph")  # a disk error, a killed writer
    again = SentenceEncoder(model_dir())
    np.testing.assert_allclose(again.encode(TEXTS[:2]), want[:2], atol=1e-5)
    assert cached.stat().st_size > 80_000_000  # built anew


def test_the_text_runtime_can_be_chosen_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("PHOTOSEARCH_TEXT_RUNTIME", "numpy")
    assert SentenceEncoder(model_dir()).session is None
    monkeypatch.setenv("PHOTOSEARCH_TEXT_RUNTIME", "torch")
    with pytest.raises(ModelError, match="unknown text runtime 'torch'"):
        TextEmbedder().embed(["a cat"])
