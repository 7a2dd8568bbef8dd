"""text/query_models.py: the search's models in numpy equal the torch head's, and searching never imports torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from photosearch.text.embedder import TextEmbedder
from photosearch.text.query_models import DEFAULT_TEXT_WEIGHTS, TextTower, text_weights_path
from photosearch.text.retrieval import DEFAULT_WEIGHTS, RetrievalConfig, RetrievalHead

BACKEND = Path(__file__).resolve().parents[2] / "backend"
SENTENCES = ["a dog runs along the beach", "espresso", "two children play in the snow", ""]


def test_committed_text_tower_equals_the_trained_head() -> None:
    """The safetensors file the server reads holds the committed head's text towers (not a stale copy)."""
    minilm = TextEmbedder.shared().embed(SENTENCES)
    want = RetrievalHead.load(DEFAULT_WEIGHTS).text_vectors(minilm)
    got = TextTower.load(DEFAULT_TEXT_WEIGHTS).text_vectors(minilm)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_export_writes_a_text_tower_the_numpy_side_reads(tmp_path: Path) -> None:
    torch.manual_seed(0)
    head = RetrievalHead(RetrievalConfig(dim=32, text_hidden=48), members=2)
    for member in head.members:  # trained-looking towers: the adapter's last layer is no longer zero
        torch.nn.init.normal_(member.text.adapter[-1].weight, std=0.1)
    head.export(tmp_path / "head.pt")
    tower = TextTower.load(text_weights_path(tmp_path / "head.pt"))
    minilm = np.random.default_rng(0).standard_normal((5, 384)).astype(np.float32)
    minilm /= np.linalg.norm(minilm, axis=1, keepdims=True)
    reloaded = RetrievalHead.load(tmp_path / "head.pt")  # fp16 on disk, as the numpy side reads it
    np.testing.assert_allclose(tower.text_vectors(minilm), reloaded.text_vectors(minilm), atol=1e-5)
    assert tower.dim == 64


def test_a_server_that_only_searches_never_imports_torch(tmp_path: Path) -> None:
    """torch holds ~500 MB once imported; warming up and answering a search must not pull it in."""
    code = f"""
import sys
from pathlib import Path
from photosearch.config import Settings
from photosearch.services import Services
from photosearch.services.search import serving_threads
from photosearch.storage.models import Profile
services = Services.create(Settings(data_dir=Path({str(tmp_path)!r}), demo=False))
with services.db.session() as session:
    session.add(Profile(name="empty"))
serving_threads()
services.searcher.warm()
services.searcher.search("empty", "a dog on the beach")
print("torch" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(BACKEND)))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_bad_text_tower_file_is_a_clear_error(tmp_path: Path) -> None:
    from photosearch.errors import ModelError

    broken = tmp_path / "broken.text.safetensors"
    broken.write_bytes(b"not safetensors")
    with pytest.raises(ModelError, match="incompatible retrieval text weights"):
        TextTower.load(broken)
    with pytest.raises(ModelError, match="not found"):
        TextTower.load(tmp_path / "missing.text.safetensors")
