"""Teaching a trained captioner new words: every ImageNet label noun, from pretrained word vectors.

    added = extend_vocabulary(decoder, word_map, label_words())   # at export; the product loads the result

Words come from MiniLM (text/embedder.py, `word_vectors`), so any English word can be added; the decoder's
`add_words` (model.py) maps vectors to rows. Done once when the weights are exported: the product's captioner
already knows every label noun and never loads MiniLM to caption.
"""

from __future__ import annotations

import numpy as np
import torch

from photosearch.vision.captioner.model import DecoderWithAttention
from photosearch.vision.captioner.wordmap import WordMap


def label_words() -> list[str]:
    """Every plain noun and category word of the ImageNet labels (vision/label_nouns.json), each once."""
    from photosearch.vision.labels import label_nouns

    words: list[str] = []
    for index in range(1000):
        nouns = label_nouns(index)
        for word in (nouns.noun, *nouns.hypernyms):
            if word.isalpha() and word not in words:
                words.append(word)
    return words


def word_vectors(words: list[str]) -> np.ndarray:
    from photosearch.text.embedder import TextEmbedder

    return TextEmbedder.shared().word_vectors(words)  # the same weights the describer embeds captions with


def extend_vocabulary(
    decoder: DecoderWithAttention, word_map: WordMap, words: list[str], vectors=word_vectors  # noqa: ANN001
) -> list[str]:
    """Add the words the decoder lacks (in place, decoder and word map); -> the words added."""
    special = set(word_map.special_ids())
    known = [(w, i) for w, i in word_map.word_to_id.items() if i not in special]
    added = word_map.add(words)
    if not added:
        return []
    known_vectors = torch.from_numpy(np.asarray(vectors([w for w, _ in known]), dtype=np.float32))
    new_vectors = torch.from_numpy(np.asarray(vectors(added), dtype=np.float32))
    decoder.add_words(new_vectors, known_vectors, torch.tensor([i for _, i in known]))
    return added
