"""The captioner as the product uses it: committed weights in, sentences (with attention) out.

    captioner = Captioner.load()                     # the package's weights, no download
    captions = captioner.caption(features.grid)      # [B, P, E] -> per photo, k captions best first
    captions = captioner.caption(features.grid, required=[["giraffe"], []])   # photo 0 must say giraffe
    captions = captioner.caption(grid, required=[[("alp", "mountain")]])     # ... alp or mountain

`required` words (the classifier's confident label nouns, grounding.py) become constraints of the beam
search (beam.py), each a word or a tuple of words any one of which satisfies it; words the decoder does not
know are skipped (an open-vocabulary decoder knows every label
noun). `captioner.name` carries the weights' version, stored with every description.

`Captioner.load(path, word_map)` also takes the seed's sgrvinod checkpoints (see compat.py); those come
with their own ResNet-101 encoder, available as `captioner.encoder`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from photosearch.errors import ModelError
from photosearch.vision.captioner import DEFAULT_WEIGHTS
from photosearch.vision.captioner.beam import Caption, beam_search
from photosearch.vision.captioner.model import CaptionerConfig, DecoderWithAttention
from photosearch.vision.captioner.wordmap import WordMap

# Chosen on the Flickr8k dev split (BLEU-4, beam 3: 0.2002 at 1.0, 0.2055 at 0.5, 0.2033 at 0.0).
LENGTH_PENALTY = 0.5
# Also search captions that start "a/an <required noun>" and keep whichever scores best (_with_subject_first).
# Off: measured on the real photos (docs/real-photos-eval.md) the prefix captions never outscored the
# constrained search's ("a clock is sitting in the air" -7.6 vs "a man is sitting on a clock" -5.1).
SUBJECT_FIRST = False
# The decoder's matrices (LSTM cell, attention and output layers) run as int8 with dynamic activation scales
# on CPU: beam search 1.7x faster on Flickr8k dev (12 s vs 20 s for 1,000 photos), BLEU-4 0.2135 vs 0.2134
# (docs/captioner-eval.md). `Captioner.load(..., int8=False)` keeps float32 (training, exactness tests).
INT8 = True


def quantize_decoder(decoder: DecoderWithAttention) -> DecoderWithAttention:
    """The decoder with its nn.Linear and nn.LSTMCell layers swapped for int8 dynamic-quantized ones (weights
    int8, activations quantized per call). Embedding and every tensor shape stay as they were."""
    import warnings

    with warnings.catch_warnings():  # torch.ao.quantization warns of its planned move to torchao
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_.* deprecated", category=UserWarning)
        from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

        # Per output row scales for the linear layers: per tensor lost 0.002 dev BLEU-4, per row none.
        spec = {torch.nn.Linear: per_channel_dynamic_qconfig, torch.nn.LSTMCell: default_dynamic_qconfig}
        return quantize_dynamic(decoder, spec, dtype=torch.qint8)


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
        subject_first: bool = SUBJECT_FIRST,
    ) -> None:
        self.decoder = decoder.eval()
        self.word_map = word_map
        self.name = name
        self.encoder_name = encoder_name
        self.encoder = encoder  # set when the checkpoint brings its own encoder (sgrvinod format)
        self.beam_size = beam_size
        self.length_penalty = length_penalty
        self.max_len = max_len
        self.subject_first = subject_first

    @staticmethod
    def available(path: Path = DEFAULT_WEIGHTS) -> bool:
        return Path(path).exists()

    @classmethod
    def load(
        cls, path: Path | None = None, word_map: Path | None = None, device: str = "cpu", int8: bool = INT8,
        **options: object,
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
        if int8 and device == "cpu":
            decoder = quantize_decoder(decoder.eval())
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
        self,
        grid: torch.Tensor,
        beam_size: int | None = None,
        required: Sequence[Sequence[str | Sequence[str]]] | None = None,
        banned: Sequence[Sequence[str]] | None = None,
    ) -> list[list[Caption]]:
        """grid [B, P, E] encoder features -> for each photo its beam_size captions, best first.

        required[b]: the constraints of photo b's captions, each a word or a tuple of alternative words
        (unknown words are dropped, and a constraint with no known word). banned[b]: words photo b's captions
        never use (people.py). Photos are searched
        in groups of equal constraint count, so photos without any pay nothing for the others'."""
        device = next(self.decoder.parameters()).device
        grid = grid.to(device, torch.float32)
        ids = [[alts for alts in (self._ids(c) for c in constraints) if alts] for constraints in (required or [])]
        ids += [[] for _ in range(grid.shape[0] - len(ids))]
        plurals = self._plural_ids(required or [])
        # A word the photo's constraints ask for is never banned ("a helmet" where the classifier is sure of one
        # and the people check sees no wearer): the constraint could not be met.
        wanted = [{i for alts in constraints for i in alts} for constraints in ids]
        ban_ids = [[i for i in (self.word_map.word_to_id.get(w) for w in words) if i is not None and i not in wanted[b]]
                   for b, words in enumerate(banned or [])]
        ban_ids += [[] for _ in range(grid.shape[0] - len(ban_ids))]
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
                singular_only=plurals,
                banned_per_photo=[ban_ids[i] for i in photos],
            )
            if count and self.subject_first:
                results = self._with_subject_first(grid, photos, ids, results, beam_size or self.beam_size, plurals)
            for photo, caps in zip(photos, results, strict=True):
                out[photo] = caps
        return out

    def _with_subject_first(
        self, grid: torch.Tensor, photos: list[int], ids: list[list[list[int]]], results: list[list[Caption]],
        beam_size: int, plurals: list[int],
    ) -> list[list[Caption]]:
        """The constrained search tends to put a forced noun into a Flickr8k people-sentence ("a man is
        sitting on a clock"). Searching also from the prefix "a/an <noun>" (each singular word of the photo's
        first constraint: "a dogs" is never said, beam.py's rule) offers the sentence about the thing itself;
        all candidates are ranked by the same length-normalised log-probability, so the prefix wins only where
        the decoder finds it likelier. The prefix meets the first constraint, so that search tracks only the
        others: half the rows, the same captions (the rows of groups without it could never come alive)."""
        never_first = set(plurals)
        rows, prefixes = [], []
        for slot, photo in enumerate(photos):
            for word_id in ids[photo][0]:
                word = self.word_map.id_to_word[word_id]
                article = "an" if word[0] in "aeiou" else "a"
                if word_id not in never_first and self.known(article):
                    rows.append((slot, photo))
                    prefixes.append([self.word_map.word_to_id[article], word_id])
        if not rows:
            return results
        rest = [ids[photo][1:] for _, photo in rows]
        extra = beam_search(
            self.decoder,
            grid[[photo for _, photo in rows]],
            self.word_map,
            beam_size=beam_size,
            max_len=self.max_len,
            length_penalty=self.length_penalty,
            constraints=rest if any(rest) else None,
            prefix=torch.tensor(prefixes),
            singular_only=plurals,
        )
        merged = [list(caps) for caps in results]
        for (slot, _), caps in zip(rows, extra, strict=True):
            for cap in caps:  # count the constraint the prefix met
                cap.met += 1
                cap.constraints += 1
            merged[slot] += caps
        out = []
        for caps in merged:
            ranked = sorted(caps, key=lambda cap: (cap.met, cap.score), reverse=True)  # all constraints met first
            unique = {tuple(c.words): c for c in reversed(ranked)}  # one per text, the best
            out.append(sorted(unique.values(), key=lambda cap: (cap.met, cap.score), reverse=True)[:beam_size])
        return out

    def _plural_ids(self, required: Sequence[Sequence[str | Sequence[str]]]) -> list[int]:
        """The alternatives that are another alternative's plural ("dogs" of "dog"): not after "a"/"an"."""
        from photosearch.vision.captioner.grounding import plural

        out = []
        for constraints in required:
            for constraint in constraints:
                words = [] if isinstance(constraint, str) else list(constraint)
                out += [self.word_map.word_to_id[plural(w)] for w in words
                        if plural(w) in words and self.known(plural(w))]
        return out

    def _ids(self, constraint: str | Sequence[str]) -> list[int]:
        words = [constraint] if isinstance(constraint, str) else list(constraint)
        return [self.word_map.word_to_id[w] for w in dict.fromkeys(words) if self.known(w)]
