"""Teaching a trained decoder new words from word vectors (model.add_words, vocabulary.extend_vocabulary)."""

from __future__ import annotations

import numpy as np
import torch

from photosearch.vision.captioner.beam import beam_search
from photosearch.vision.captioner.model import CaptionerConfig, DecoderWithAttention
from photosearch.vision.captioner.vocabulary import extend_vocabulary
from photosearch.vision.captioner.wordmap import WordMap

WORDS = [f"w{i:02d}" for i in range(12)]


def _vectors(words: list[str]) -> np.ndarray:
    """Deterministic stand-in word vectors: new word 'near_wNN' lies next to wNN."""
    out = []
    for word in words:
        base = word.removeprefix("near_")
        seed = int(base[1:]) if base[1:].isdigit() else 99
        vec = np.random.default_rng(seed).normal(size=8)
        if word.startswith("near_"):
            vec = vec + 0.05 * np.random.default_rng(seed + 100).normal(size=8)
        out.append(vec / np.linalg.norm(vec))
    return np.stack(out).astype(np.float32)


def test_new_words_get_rows_from_their_vectors_and_known_rows_stay() -> None:
    torch.manual_seed(0)
    word_map = WordMap.build([WORDS] * 6)
    config = CaptionerConfig(vocab_size=len(word_map), encoder_dim=12, attention_dim=8, embed_dim=8, decoder_dim=16)
    decoder = DecoderWithAttention(config).eval()
    # Make the output rows a linear function of the word vectors, so the fitted map can recover them.
    known = [(w, i) for w, i in word_map.word_to_id.items() if i not in word_map.special_ids()]
    with torch.no_grad():
        mix = torch.randn(8, 16)
        for word, i in known:
            decoder.fc.weight[i] = torch.from_numpy(_vectors([word])[0]) @ mix
    old_fc, old_embedding = decoder.fc.weight.clone(), decoder.embedding.weight.clone()
    grid = torch.randn(2, 6, 12)
    before = beam_search(decoder, grid, word_map, beam_size=3, max_len=6)

    added = extend_vocabulary(decoder, word_map, ["near_w03", "w05", "near_w07"], vectors=_vectors)

    assert added == ["near_w03", "near_w07"]  # w05 was known
    assert decoder.vocab_size == len(word_map) == config.vocab_size
    torch.testing.assert_close(decoder.fc.weight[: len(old_fc)], old_fc)  # known words untouched
    torch.testing.assert_close(decoder.embedding.weight[: len(old_embedding)], old_embedding)
    new_row = decoder.fc.weight[word_map.word_to_id["near_w03"]]
    near_row = old_fc[word_map.word_to_id["w03"]]
    assert torch.nn.functional.cosine_similarity(new_row, near_row, dim=0) > 0.9
    assert decoder.fc.bias[word_map.word_to_id["near_w03"]] == decoder.fc.bias[word_map.word_to_id["w03"]]
    # The decoder can be made to say the new word, and says it like a word.
    forced = beam_search(decoder, grid, word_map, beam_size=3, max_len=6,
                         constraints=[[[word_map.word_to_id["near_w07"]]], []])
    assert all("near_w07" in c.words for c in forced[0])
    assert all("near_w07" not in c.words for c in forced[1]) and before[1]
