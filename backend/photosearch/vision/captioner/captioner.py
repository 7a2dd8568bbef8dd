"""The captioner as the product uses it: committed weights in, sentences (with attention) out.

    captioner = Captioner.load()                     # the package's weights, no download
    captions = captioner.caption(features.grid)      # [B, P, E] -> per photo, k captions best first

`Captioner.load(path, word_map)` also takes the seed's sgrvinod checkpoints (see compat.py); those come
with their own ResNet-101 encoder, available as `captioner.encoder`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from photosearch.errors import ModelError
from photosearch.vision.captioner.beam import Caption, beam_search
from photosearch.vision.captioner.model import CaptionerConfig, DecoderWithAttention
from photosearch.vision.captioner.wordmap import WordMap

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "captioner-flickr8k.pt"
DEFAULT_WORD_MAP = WEIGHTS_DIR / "captioner-flickr8k.wordmap.json"
# Chosen on the Flickr8k dev split (BLEU-4, beam 3: 0.2002 at 1.0, 0.2055 at 0.5, 0.2033 at 0.0).
LENGTH_PENALTY = 0.5


class Captioner:
    def __init__(
        self,
        decoder: DecoderWithAttention,
        word_map: WordMap,
        name: str,
        encoder_name: str = "efficientnet-lite0",
        encoder: object | None = None,
        beam_size: int = 5,
        length_penalty: float = LENGTH_PENALTY,
        max_len: int = 30,
    ) -> None:
        self.decoder = decoder.eval()
        self.word_map = word_map
        self.name = name
        self.encoder_name = encoder_name
        self.encoder = encoder  # set when the checkpoint brings its own encoder (sgrvinod format)
        self.beam_size = beam_size
        self.length_penalty = length_penalty
        self.max_len = max_len

    @staticmethod
    def available(path: Path = DEFAULT_WEIGHTS) -> bool:
        return Path(path).exists()

    @classmethod
    def load(
        cls, path: Path | None = None, word_map: Path | None = None, device: str = "cpu", **options: object
    ) -> Captioner:
        path = Path(path or DEFAULT_WEIGHTS)
        # Our exports keep the word map beside the weights; seed checkpoints need --word_map.
        word_map_path = Path(word_map) if word_map else path.with_suffix(".wordmap.json")
        if not path.exists():
            raise ModelError(f"captioner weights not found at {path}")
        if not word_map_path.exists():
            raise ModelError(f"word map not found at {word_map_path} (give the WORDMAP json)")
        words = WordMap.load(word_map_path)
        from photosearch.vision.captioner.compat import load_checkpoint

        decoder, encoder_name, encoder = load_checkpoint(path, len(words), device)
        return cls(decoder, words, name=path.stem, encoder_name=encoder_name, encoder=encoder, **options)

    @classmethod
    def from_config(cls, config: CaptionerConfig, state: dict, word_map: WordMap, name: str) -> Captioner:
        special = tuple(state["special_ids"].tolist()) if config.word_dim else ()
        decoder = DecoderWithAttention(config, special_ids=special)
        decoder.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
        return cls(decoder, word_map, name=name)

    def caption(self, grid: torch.Tensor, beam_size: int | None = None) -> list[list[Caption]]:
        """grid [B, P, E] encoder features -> for each photo its beam_size captions, best first."""
        device = next(self.decoder.parameters()).device
        return beam_search(
            self.decoder,
            grid.to(device, torch.float32),
            self.word_map,
            beam_size=beam_size or self.beam_size,
            max_len=self.max_len,
            length_penalty=self.length_penalty,
        )
