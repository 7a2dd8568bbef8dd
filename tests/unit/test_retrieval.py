"""The retrieval head: committed weights load and behave; a tiny synthetic training run learns."""

import argparse

import numpy as np
import pytest
import torch
from PIL import Image

from photosearch.errors import ModelError
from photosearch.text.retrieval import RetrievalConfig, RetrievalHead, TwoTower
from photosearch.text.train_retrieval import contrastive_loss, random_crop_flip, train_steps


@pytest.fixture(scope="module")
def head() -> RetrievalHead:
    if not RetrievalHead.available():
        pytest.fail("backend/photosearch/weights/retrieval-flickr8k.pt is missing (it is committed)")
    return RetrievalHead.load()


def test_committed_head_shapes_and_norms(head: RetrievalHead) -> None:
    grid = torch.randn(3, 49, 1280).abs().half()  # encoder features are post-activation, >= ~0
    images = head.image_vectors(grid)
    texts = head.text_vectors(np.random.default_rng(0).normal(size=(5, 384)).astype(np.float32))
    assert images.shape == (3, head.dim) and texts.shape == (5, head.dim)
    assert images.dtype == texts.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-4)
    assert isinstance(head.name, str) and head.name
    assert {"dev", "test"} <= set(head.metrics)


def test_committed_head_is_deterministic(head: RetrievalHead) -> None:
    grid = torch.rand(4, 49, 1280)
    np.testing.assert_array_equal(head.image_vectors(grid), head.image_vectors(grid))
    np.testing.assert_allclose(head.image_vectors(grid[:1]), head.image_vectors(grid)[:1], atol=1e-5)
    text = np.random.default_rng(1).normal(size=(2, 384)).astype(np.float32)
    np.testing.assert_array_equal(head.text_vectors(text), head.text_vectors(text))


def test_bad_shapes_and_missing_file(head: RetrievalHead, tmp_path) -> None:
    with pytest.raises(ModelError):
        head.image_vectors(torch.zeros(2, 1280))
    with pytest.raises(ModelError):
        head.text_vectors(np.zeros((2, 512), dtype=np.float32))
    with pytest.raises(ModelError):
        RetrievalHead.load(tmp_path / "nope.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError):
        RetrievalHead.load(tmp_path / "bad.pt")


def test_loss_prefers_matching_pairs() -> None:
    image = torch.nn.functional.normalize(torch.randn(6, 16), dim=-1)
    owner = torch.arange(6).repeat_interleave(2)  # two captions per photo
    scale = torch.tensor(10.0)
    matched = contrastive_loss(image, image[owner], owner, scale)
    shuffled = contrastive_loss(image, image[owner.flip(0)], owner, scale)
    assert matched < shuffled


@pytest.mark.parametrize("pool", ["attn", "mean"])
def test_synthetic_training_lowers_loss_and_round_trips(pool: str, tmp_path) -> None:
    torch.manual_seed(0)
    n, per = 64, 5
    cfg = RetrievalConfig(feature_dim=32, text_dim=24, dim=16, pool=pool, heads=2, key_dim=8, hidden=32,
                          text_hidden=32, dropout=0.0)
    # photo i has features built from a latent z_i; its 5 "captions" are noisy linear views of z_i
    z = torch.randn(n, 8)
    grid = (z @ torch.randn(8, 32))[:, None, :] + 0.3 * torch.randn(n, 9, 32)  # [n, 9 cells, 32]
    mix = torch.randn(8, 24)
    text = torch.nn.functional.normalize((z[:, None, :] @ mix) + 0.3 * torch.randn(n, per, 24), dim=-1)
    text = text.reshape(n * per, 24)  # [n*5, 24]
    caps = torch.arange(n * per).view(n, per)  # [n, 5] caption rows of each photo
    args = argparse.Namespace(captions_per_photo=2, batch_size=16, cell_drop=0.1, text_noise=0.01,
                              ema=0.0, quiet=True)
    towers = []
    for _member in range(2):
        model = TwoTower(cfg)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
        gen = torch.Generator().manual_seed(0)
        views = [grid, grid + 0.1 * torch.randn_like(grid)]  # the original and one "augmented view"
        losses = [train_steps(model, views, caps, text, optimizer, args, gen) for _ in range(15)]
        assert losses[-1] < 0.7 * losses[0]
        towers.append(model)

    head = RetrievalHead.from_members(towers, cfg)  # an ensemble of 2: vectors of 2 x 16, still unit length
    assert head.dim == 32 and head.image_vectors(grid[:3]).shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(head.text_vectors(text[:5].numpy()), axis=1), 1.0, atol=1e-5)
    path = tmp_path / "head.pt"
    head.export(path, half=False)
    again = RetrievalHead.load(path)
    np.testing.assert_allclose(again.image_vectors(grid[:4]), head.image_vectors(grid[:4]), atol=1e-5)
    np.testing.assert_allclose(again.text_vectors(text[:3].numpy()), head.text_vectors(text[:3].numpy()),
                               atol=1e-5)


def test_random_crop_flip_is_seeded_and_in_bounds() -> None:
    img = Image.new("RGB", (500, 375))
    a = [random_crop_flip(img, torch.Generator().manual_seed(3)).size for _ in range(3)]
    assert len(set(a)) == 1  # same seed, same crop
    gen = torch.Generator().manual_seed(0)
    for _ in range(50):
        w, h = random_crop_flip(img, gen).size
        assert 0 < w <= 500 and 0 < h <= 375 and w * h >= 0.4 * 500 * 375
