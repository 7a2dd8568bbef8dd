"""The captioner as the product uses it: committed weights in, sentences (with attention) out.

    captioner = Captioner.load()                     # the package's weights, no download
    captions = captioner.caption(features.grid)      # [B, P, E] -> per photo, k captions best first
    captions = captioner.caption(features.grid, required=[["giraffe"], []])   # photo 0 must say giraffe

`required` words (the classifier's confident label nouns, grounding.py) become constraints of the beam
search (beam.py); words the decoder does not know are skipped (an open-vocabulary decoder knows every label
noun). `captioner.name` carries the weights' version, stored with every description.

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

        decoder, encoder_name, encoder, version = load_checkpoint(path, len(words), device)
        name = f"{path.stem}@{version}" if version else path.stem
        return cls(decoder, words, name=name, encoder_name=encoder_name, encoder=encoder, **options)

    @classmethod
    def from_config(cls, config: CaptionerConfig, state: dict, word_map: WordMap, name: str) -> Captioner:
        decoder = DecoderWithAttention(config)
        decoder.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
        return cls(decoder, word_map, name=name)

    def known(self, word: str) -> bool:
        return word in self.word_map.word_to_id

    def caption(
        self, grid: torch.Tensor, beam_size: int | None = None, required: list[list[str]] | None = None
    ) -> list[list[Caption]]:
        """grid [B, P, E] encoder features -> for each photo its beam_size captions, best first.

        required[b]: words photo b's captions must each use (unknown words are dropped). Photos are searched
        in groups of equal constraint count, so photos without any pay nothing for the others'."""
        device = next(self.decoder.parameters()).device
        grid = grid.to(device, torch.float32)
        ids = [[[self.word_map.word_to_id[w]] for w in words if self.known(w)] for words in (required or [])]
        ids += [[] for _ in range(grid.shape[0] - len(ids))]
        out: list[list[Caption]] = [[] for _ in range(grid.shape[0])]
        for count in sorted({len(c) for c in ids}):
            photos = [i for i, c in enumerate(ids) if len(c) == count]
            results = beam_search(
                self.decoder,
                grid[photos],
                self.word_map,
                beam_size=beam_size or self.beam_size,
                max_len=self.max_len,
                length_penalty=self.length_penalty,
                constraints=[ids[i] for i in photos] if count else None,
            )
            for photo, caps in zip(photos, results, strict=True):
                out[photo] = caps
        return out
