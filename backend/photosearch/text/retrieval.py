"""The image–text retrieval head: photos and sentences in one vector space.

Semantic search needs a number for "how well does this photo match this query". The encoder describes
a photo as a 7×7 grid of 1280-d features; all-MiniLM-L6-v2 (text/embedder.py) describes a sentence as
a 384-d vector. Neither is in the other's space, so we learn two small towers that map both into one
joint space, where the cosine of a photo vector and a query vector is the score:

    image tower   grid [B, 49, 1280] -> LayerNorm -> pool the 49 cells (mean or attention) -> MLP -> [B, d]
    text tower    MiniLM [N, 384]    -> residual adapter (starts as the identity) -> linear -> [N, d]
    score         image_vectors @ text_vectors.T   (both L2-normalised, so cosines in [-1, 1])

Both backbones stay frozen; only the towers (~1.2 M parameters each) are trained, contrastively, on Flickr8k
(text/train_retrieval.py): in a batch of B photos with their captions, each caption must pick its own
photo among the B and each photo its own captions among the batch's (InfoNCE, both directions).
A learnable temperature sharpens the softmax as training goes.

Pooling. Mean pooling (what the ImageNet classifier reads) blurs a dog in one corner with the grass
around it. Attention pooling (`pool="attn"`) lets each of a few heads compute a query from the mean
cell, score the 49 cells against it and average them with those weights, so one head can pick "the
thing in the photo" and another "the place"; uniform weights recover mean pooling. Measured on dev,
the two were level (within one seed's spread, see the model card), so the shipped head uses the
simpler, smaller, 3x faster to train mean pooling; attention stays available.

Ensemble. Towers + temperature form a `TwoTower`, what one training run learns. The head the product
loads holds a few of them trained from different seeds and concatenates their vectors, so the score
is their mean cosine: +0.02 to 0.03 dev mean recall over one member, for 3x the (tiny) compute.

Inference is cheap: a few MFLOP per photo beyond the encoder. `RetrievalHead.load()` reads the
committed weights (half precision, < 10 MB) with `torch.load(weights_only=True)`: no network, no
pickled code.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from photosearch.errors import ModelError

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "retrieval-flickr8k.pt"
FORMAT_VERSION = 1


@dataclass
class RetrievalConfig:
    feature_dim: int = 1280  # encoder channels (EfficientNet-Lite0)
    text_dim: int = 384  # MiniLM sentence vector
    dim: int = 256  # joint space of one member (the head's vectors are members x dim)
    pool: str = "mean"  # "mean": the grid's mean; "attn": attention pooling over the grid
    heads: int = 4  # attention pooling heads
    key_dim: int = 32  # per-head query/key width
    hidden: int = 512  # image MLP width (also the pooled value width in "attn")
    text_hidden: int = 384  # text adapter width
    dropout: float = 0.2
    init_temperature: float = 0.07


class ImageTower(nn.Module):
    """grid [B, P, C] (P = 49 cells, C = 1280) -> [B, dim], not yet normalised."""

    def __init__(self, cfg: RetrievalConfig) -> None:
        super().__init__()
        self.cfg = cfg
        C, H = cfg.feature_dim, cfg.hidden
        self.norm = nn.LayerNorm(C)
        if cfg.pool == "attn":
            assert H % cfg.heads == 0, "hidden must split evenly across heads"
            self.query = nn.Linear(C, cfg.heads * cfg.key_dim)  # from the mean cell
            self.key = nn.Linear(C, cfg.heads * cfg.key_dim)  # from every cell
            self.value = nn.Linear(C, H)  # every cell -> H, split into heads of H / heads
        elif cfg.pool == "mean":
            self.value = nn.Linear(C, H)
        else:
            raise ValueError(f"unknown pooling {cfg.pool!r}")
        self.mlp = nn.Sequential(nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(H, cfg.dim))

    def forward(self, grid: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        # grid [B, P, C]; keep [B, P] bool: cells to pool over (training drops some as augmentation).
        x = self.norm(grid)  # [B, P, C]
        if keep is None:
            keep = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)  # [B, P]
        w = keep.to(x.dtype)  # [B, P]
        mean = (x * w[..., None]).sum(1) / w.sum(1, keepdim=True).clamp_min(1.0)  # [B, C]
        if self.cfg.pool == "mean":
            pooled = self.value(mean)  # [B, H]; == mean of value(cells), value is linear
        else:
            B, P, _ = x.shape
            nh, dk = self.cfg.heads, self.cfg.key_dim
            q = self.query(mean).view(B, nh, dk)  # [B, heads, dk]
            k = self.key(x).view(B, P, nh, dk)  # [B, P, heads, dk]
            scores = torch.einsum("bhd,bphd->bhp", q, k) / math.sqrt(dk)  # [B, heads, P]
            scores = scores.masked_fill(~keep[:, None, :], float("-inf"))
            attn = scores.softmax(-1)  # [B, heads, P]: where each head looks
            # Each head's values are its slice of value(cell). value is affine and the weights sum to 1, so
            # average the cells first, then project: 49x fewer multiply-adds than projecting every cell.
            z = torch.bmm(attn, x)  # [B, heads, P] @ [B, P, C] -> [B, heads, C]
            wv = self.value.weight.view(nh, -1, x.shape[-1])  # [heads, H/heads, C]
            pooled = torch.einsum("bhc,hdc->bhd", z, wv).reshape(B, -1) + self.value.bias  # [B, H]
        return self.mlp(pooled)  # [B, dim]


class TextTower(nn.Module):
    """MiniLM [N, 384] -> [N, dim], not yet normalised.

    A residual adapter whose last layer starts at zero (so at init it is the identity on MiniLM's
    space, which already knows that "puppy" ≈ "dog"), then a linear map into the joint space
    (the identity too when dim == 384; orthogonal otherwise, which keeps MiniLM's cosines).
    """

    def __init__(self, cfg: RetrievalConfig) -> None:
        super().__init__()
        D, H = cfg.text_dim, cfg.text_hidden
        self.adapter = nn.Sequential(
            nn.LayerNorm(D), nn.Linear(D, H), nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(H, D)
        )
        nn.init.zeros_(self.adapter[-1].weight)
        nn.init.zeros_(self.adapter[-1].bias)
        self.proj = nn.Linear(D, cfg.dim, bias=False)
        if cfg.dim == D:
            nn.init.eye_(self.proj.weight)
        else:
            nn.init.orthogonal_(self.proj.weight)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        # text [N, 384] (unit MiniLM vectors)
        return self.proj(text + self.adapter(text))  # [N, dim]


class TwoTower(nn.Module):
    """One image tower, one text tower and a temperature: what one training run learns."""

    def __init__(self, cfg: RetrievalConfig) -> None:
        super().__init__()
        self.image = ImageTower(cfg)
        self.text = TextTower(cfg)
        # logit_scale = log(1 / temperature); CLIP's parametrisation, clamped at 100 when used.
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / cfg.init_temperature)))

    def scale(self) -> torch.Tensor:
        return self.logit_scale.clamp(max=math.log(100.0)).exp()

    def encode_image(self, grid: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        return F.normalize(self.image(grid, keep), dim=-1)  # [B, dim]

    def encode_text(self, text: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text(text), dim=-1)  # [N, dim]


class RetrievalHead(nn.Module):
    """What the product loads: an ensemble of `members` two-towers trained from different seeds.

    Every member maps into its own joint space of cfg.dim; the head concatenates the members' unit
    vectors and divides by sqrt(members), so its vectors are unit length again and the dot product of
    an image vector and a text vector is the members' mean cosine. Averaging a few independently
    trained members cancels part of each one's overfitting (measured: +0.02 dev mean recall for 3).
    """

    def __init__(self, cfg: RetrievalConfig | None = None, members: int = 1) -> None:
        super().__init__()
        self.cfg = cfg or RetrievalConfig()
        self.members = nn.ModuleList(TwoTower(self.cfg) for _ in range(members))
        self.name = f"retrieval-flickr8k-{self.cfg.pool}-{members}x{self.cfg.dim}"
        self.metrics: dict = {}

    @classmethod
    def from_members(cls, towers: list[TwoTower], cfg: RetrievalConfig) -> RetrievalHead:
        head = cls(cfg, members=len(towers))
        for mine, trained in zip(head.members, towers, strict=True):
            mine.load_state_dict(trained.state_dict())
        return head

    @property
    def dim(self) -> int:
        return self.cfg.dim * len(self.members)

    @property
    def scale(self) -> float:
        """The members' mean learned inverse temperature: how sharply a cosine becomes a probability."""
        return float(torch.stack([m.scale().detach() for m in self.members]).mean())

    def encode_image(self, grid: torch.Tensor) -> torch.Tensor:
        # grid [B, P, C] -> [B, members * dim], unit rows
        return torch.cat([m.encode_image(grid) for m in self.members], -1) / math.sqrt(len(self.members))

    def encode_text(self, text: torch.Tensor) -> torch.Tensor:
        # text [N, 384] -> [N, members * dim], unit rows
        return torch.cat([m.encode_text(text) for m in self.members], -1) / math.sqrt(len(self.members))

    # --- inference API (numpy out, eval mode, no grad) -------------------------------------------

    @torch.inference_mode()
    def image_vectors(self, grid: torch.Tensor, batch_size: int = 256) -> np.ndarray:
        """Encoder grid [B, 49, 1280] (any float dtype) -> float32 [B, dim], unit rows."""
        if grid.ndim != 3 or grid.shape[-1] != self.cfg.feature_dim:
            raise ModelError(
                f"retrieval head expects [B, P, {self.cfg.feature_dim}] features, got {tuple(grid.shape)}"
            )
        self.eval()
        out = [
            self.encode_image(grid[i : i + batch_size].float()) for i in range(0, grid.shape[0], batch_size)
        ]
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return torch.cat(out).numpy().astype(np.float32, copy=False)

    @torch.inference_mode()
    def text_vectors(self, minilm: np.ndarray) -> np.ndarray:
        """MiniLM sentence vectors [N, 384] -> float32 [N, dim], unit rows."""
        text = torch.as_tensor(np.asarray(minilm, dtype=np.float32))
        if text.ndim != 2 or text.shape[-1] != self.cfg.text_dim:
            raise ModelError(
                f"retrieval head expects [N, {self.cfg.text_dim}] text vectors, got {tuple(text.shape)}"
            )
        self.eval()
        return self.encode_text(text).numpy().astype(np.float32, copy=False)

    # --- files -----------------------------------------------------------------------------------

    def export(self, path: Path, half: bool = True, metrics: dict | None = None) -> None:
        """Write {format, config, members, state (fp16 by default), metrics}: plain tensors and dicts only."""
        state = {
            k: (v.half() if half and v.is_floating_point() else v).clone() for k, v in self.state_dict().items()
        }
        blob = {"format": FORMAT_VERSION, "config": asdict(self.cfg), "members": len(self.members),
                "state": state, "metrics": metrics or {}}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(blob, tmp)
        tmp.replace(path)
        self.export_text(path)

    def export_text(self, path: Path) -> Path:
        """Write the text towers beside the head's file `path` as safetensors (fp16), which the search server
        reads without torch (text/query_models.py). Returns the file written."""
        from safetensors.torch import save_file

        from photosearch.text.query_models import text_weights_path

        target = text_weights_path(Path(path))
        text = {k: v.detach().half().contiguous() for k, v in self.state_dict().items() if ".text." in k}
        tmp = target.with_suffix(".tmp")
        save_file(text, str(tmp), metadata={"format": str(FORMAT_VERSION), "members": str(len(self.members))})
        tmp.replace(target)
        return target

    @classmethod
    def load(cls, path: Path | str = DEFAULT_WEIGHTS) -> RetrievalHead:
        path = Path(path)
        if not path.exists():
            raise ModelError(
                f"retrieval weights not found: {path} (train with `photosearch train-retrieval`)"
            )
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            if blob.get("format") != FORMAT_VERSION:
                raise ModelError(f"{path}: unsupported retrieval weights format {blob.get('format')!r}")
            head = cls(RetrievalConfig(**blob["config"]), members=int(blob["members"]))
            head.load_state_dict({k: v.float() for k, v in blob["state"].items()})
        except ModelError:
            raise
        except Exception as exc:  # truncated file, wrong keys or shapes
            raise ModelError(f"{path}: incompatible retrieval weights ({exc})") from exc
        head.metrics = dict(blob.get("metrics", {}))
        return head.eval().requires_grad_(False)

    @staticmethod
    def available(path: Path | str = DEFAULT_WEIGHTS) -> bool:
        return Path(path).exists()
