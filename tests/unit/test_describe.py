"""services/describe.py: what a description stores, apart from the models."""

from __future__ import annotations

import torch

from photosearch.services.describe import attention_maps


def test_attention_maps_round_as_python_does() -> None:
    """The stored maps are each weight rounded to 4 places, exactly as round(float(w), 4) gives them."""
    alphas = torch.rand(300, 49, generator=torch.Generator().manual_seed(0))
    alphas[0, :4] = torch.tensor([0.00005, 0.99995, 0.0, 1.0])
    maps = attention_maps(alphas)
    assert maps == [[round(float(w), 4) for w in row] for row in alphas]
    assert all(type(w) is float for w in maps[0])
