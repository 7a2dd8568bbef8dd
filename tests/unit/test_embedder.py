"""all-MiniLM-L6-v2 from the local package: normalised 384-d vectors that know a puppy is a dog."""

import numpy as np
import pytest

from photosearch.text.embedder import TextEmbedder


@pytest.fixture(scope="module")
def embedder() -> TextEmbedder:
    return TextEmbedder()


def test_shape_dtype_and_unit_norm(embedder: TextEmbedder) -> None:
    vectors = embedder.embed(["a dog runs on the beach", "two children play football", "sunset"])
    assert vectors.shape == (3, 384) == (3, embedder.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_paraphrase_is_closer_than_unrelated(embedder: TextEmbedder) -> None:
    dog, puppy, pasta = embedder.embed(
        ["a dog runs on the beach", "a puppy running along the shore", "a plate of pasta"]
    )
    assert dog @ puppy > dog @ pasta + 0.3


def test_empty_and_deterministic(embedder: TextEmbedder) -> None:
    assert embedder.embed([]).shape == (0, 384)
    a = embedder.embed(["a man climbs a rock"])
    b = embedder.embed(["a man climbs a rock", "a cat"])[:1]
    np.testing.assert_allclose(a, b, atol=1e-5)
