"""Loading captioner checkpoints: ours, and the seed's (sgrvinod's a-PyTorch-Tutorial-to-Image-Captioning).

Ours: `{"config": {...}, "decoder": state_dict (fp16), "encoder": "efficientnet-lite0"}`, loaded with
`weights_only=True` (no code runs).

The seed's: `torch.save` of a dict whose "encoder" and "decoder" are *pickled modules* of classes
`models.Encoder` (ResNet-101 trunk + 14×14 adaptive pool) and `models.DecoderWithAttention`. Unpickling
them needs classes by those names; `_SeedUnpickler` maps `models.*` to the stand-ins below so the seed's
repository is not needed. Unpickling runs code from the file: only load checkpoints you trust.
The decoder's weights then move into our DecoderWithAttention (same attribute names, same maths).
"""

from __future__ import annotations

import pickle
import types
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from photosearch.errors import ModelError
from photosearch.vision.captioner.model import CaptionerConfig, DecoderWithAttention
from photosearch.vision.encoder import Features


class SeedEncoder(nn.Module):
    """Stand-in for sgrvinod's models.Encoder: its attributes (resnet, adaptive_pool) come from the pickle."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.adaptive_pool(self.resnet(images))  # [B, 2048, 14, 14]
        return out.permute(0, 2, 3, 1)  # [B, 14, 14, 2048]


class SeedAttention(nn.Module):
    pass


class SeedDecoder(nn.Module):
    pass


_STAND_INS = {"Encoder": SeedEncoder, "Attention": SeedAttention, "DecoderWithAttention": SeedDecoder}


class _SeedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        if module == "models" and name in _STAND_INS:
            return _STAND_INS[name]
        return super().find_class(module, name)


_seed_pickle = types.SimpleNamespace(Unpickler=_SeedUnpickler, load=pickle.load, __name__="seed_pickle")


class SeedResNetEncoder:
    """The seed's ResNet-101 encoder behind our ImageEncoder interface (ImageNet mean/std, 256 px)."""

    name = "resnet101-sgrvinod"
    feature_dim = 2048
    grid_size = 14
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def __init__(self, module: nn.Module, device: str | torch.device = "cpu") -> None:
        self.module = module.eval().requires_grad_(False).to(device)
        self.device = torch.device(device)

    @torch.inference_mode()
    def encode(self, images: list[Image.Image]) -> Features:
        arrays = [np.asarray(img.convert("RGB").resize((256, 256), Image.Resampling.BICUBIC)) for img in images]
        pixels = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255.0  # [B, 3, 256, 256]
        pixels = ((pixels - self.mean) / self.std).to(self.device)
        grid = self.module(pixels).flatten(1, 2)  # [B, 14, 14, 2048] -> [B, 196, 2048]
        return Features(grid=grid, pooled=grid.mean(1), logits=None)


def load_checkpoint(
    path: Path, vocab_size: int, device: str | torch.device = "cpu"
) -> tuple[DecoderWithAttention, str, SeedResNetEncoder | None, str | None]:
    """-> (decoder, encoder name, encoder object or None when the product's encoder is meant, version)."""
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
        seed = False
    except pickle.UnpicklingError:
        try:
            ckpt = torch.load(path, map_location=device, weights_only=False, pickle_module=_seed_pickle)
        except Exception as exc:  # bytes that are not a checkpoint fail to unpickle in many ways
            raise ModelError(f"cannot read captioner checkpoint {path}: {type(exc).__name__}: {exc}") from exc
        seed = True
    except (OSError, RuntimeError, EOFError) as exc:
        raise ModelError(f"cannot read captioner checkpoint {path}: {exc}") from exc
    except Exception as exc:  # e.g. KeyError from the weights-only unpickler on a file that is not a checkpoint
        raise ModelError(f"cannot read captioner checkpoint {path}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(ckpt, dict) or "decoder" not in ckpt:
        raise ModelError(f"{path} is not a captioner checkpoint (no 'decoder' entry)")

    if not seed:
        config = CaptionerConfig(**ckpt["config"])
        state = ckpt["decoder"]
        encoder_name, encoder = ckpt.get("encoder", "efficientnet-lite0"), None
        version = (ckpt.get("trained") or {}).get("version")
    else:
        seed_decoder = ckpt["decoder"]
        state = seed_decoder.state_dict()
        config = CaptionerConfig(
            vocab_size=state["fc.weight"].shape[0],
            encoder_dim=state["init_h.weight"].shape[1],
            attention_dim=state["attention.full_att.weight"].shape[1],
            embed_dim=state["embedding.weight"].shape[1],
            decoder_dim=state["init_h.weight"].shape[0],
        )
        encoder = SeedResNetEncoder(ckpt["encoder"], device) if "encoder" in ckpt else None
        encoder_name = SeedResNetEncoder.name
        version = None
    if config.vocab_size != vocab_size:
        raise ModelError(
            f"the word map has {vocab_size} words but the checkpoint was trained with {config.vocab_size}: "
            "use the word map that came with the checkpoint"
        )
    decoder = DecoderWithAttention(config)
    decoder.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return decoder.to(device).eval(), encoder_name, encoder, version
