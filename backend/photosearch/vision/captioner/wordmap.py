"""The word map: words <-> integer ids, saved as JSON beside the weights (the seed's WORDMAP format).

Built from the training captions: a word is kept when it appears more than `min_word_freq` times
(the seed's rule, min 5); the rest map to <unk>. <pad> is 0 so padded positions embed to a fixed row.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

PAD, UNK, START, END = "<pad>", "<unk>", "<start>", "<end>"
SPECIAL = (PAD, UNK, START, END)


class WordMap:
    def __init__(self, word_to_id: dict[str, int]) -> None:
        missing = [w for w in (UNK, START, END, PAD) if w not in word_to_id]
        if missing:
            raise ValueError(f"word map lacks {missing}")
        self.word_to_id = word_to_id
        self.id_to_word = {i: w for w, i in word_to_id.items()}
        self.pad, self.unk = word_to_id[PAD], word_to_id[UNK]
        self.start, self.end = word_to_id[START], word_to_id[END]

    def __len__(self) -> int:
        return len(self.word_to_id)

    @classmethod
    def build(cls, captions: Iterable[list[str]], min_word_freq: int = 5) -> WordMap:
        counts = Counter(word for caption in captions for word in caption)
        words = sorted(w for w, n in counts.items() if n > min_word_freq)  # sorted: same map every run
        word_to_id = {PAD: 0}
        for word in words:
            word_to_id[word] = len(word_to_id)
        for special in (UNK, START, END):
            word_to_id[special] = len(word_to_id)
        return cls(word_to_id)

    def special_ids(self) -> tuple[int, ...]:
        return tuple(self.word_to_id[w] for w in SPECIAL)

    def add(self, words: Iterable[str]) -> list[str]:
        """Append words not yet in the map (new ids after the last); returns those added, in order."""
        added = []
        for word in words:
            if word not in self.word_to_id:
                self.word_to_id[word] = len(self.word_to_id)
                self.id_to_word[self.word_to_id[word]] = word
                added.append(word)
        return added

    def encode(self, words: list[str], max_len: int) -> list[int]:
        """<start> w1..wn <end> <pad>..., length max_len + 2."""
        ids = [self.word_to_id.get(w, self.unk) for w in words[:max_len]]
        return [self.start, *ids, self.end] + [self.pad] * (max_len - len(ids))

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids -> words, dropping <start>, <pad> and stopping at <end>."""
        words = []
        for i in ids:
            if i == self.end:
                break
            if i in (self.start, self.pad):
                continue
            words.append(self.id_to_word.get(int(i), UNK))
        return words

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.word_to_id, indent=0, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> WordMap:
        return cls(json.loads(Path(path).read_text()))
