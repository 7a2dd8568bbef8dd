"""ImageNet labels from the encoder's classifier head: the top-5 class names with probabilities.

Class names are torchvision's list of the 1,000 ImageNet-1k categories (shipped inside torchvision, no
download), in the standard index order the EfficientNet-Lite0 weights were trained with.
"""

from __future__ import annotations

import torch
from torchvision.models._meta import _IMAGENET_CATEGORIES as IMAGENET_CLASSES


def top_labels(logits: torch.Tensor, k: int = 5) -> list[list[dict]]:
    """logits [B, 1000] -> per photo [{"label": "tabby", "score": 0.62}, ...], most probable first."""
    probs = logits.float().softmax(dim=1)  # [B, 1000]
    values, indices = probs.topk(k, dim=1)  # [B, k]
    return [
        [{"label": IMAGENET_CLASSES[int(i)], "score": round(float(v), 4)} for v, i in zip(row_v, row_i, strict=True)]
        for row_v, row_i in zip(values, indices, strict=True)
    ]
