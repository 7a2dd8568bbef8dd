"""The word map: the seed's min-frequency rule, encode/decode, <unk>, and the WORDMAP JSON format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from photosearch.vision.captioner.wordmap import END, PAD, START, UNK, WordMap


def corpus() -> list[list[str]]:
    """'dog' 8 times, 'a' 12, 'runs' 6 (kept: > 5), 'cat' exactly 5 and 'zebra' once (dropped)."""
    captions = [["a", "dog", "runs"]] * 6 + [["a", "dog", "cat"]] * 2 + [["a", "cat"]] * 3 + [["a", "zebra"]]
    return [list(c) for c in captions]


@pytest.fixture
def word_map() -> WordMap:
    return WordMap.build(corpus(), min_word_freq=5)


def test_build_keeps_words_seen_more_than_min_freq(word_map: WordMap) -> None:
    """A word is kept only when its count is > min_word_freq (5 occurrences is not enough)."""
    kept = set(word_map.word_to_id) - {PAD, UNK, START, END}
    assert kept == {"a", "dog", "runs"}
    assert len(word_map) == 3 + 4


def test_build_layout_matches_the_seed(word_map: WordMap) -> None:
    """<pad> is 0, words are 1..n (sorted, so every run gives the same map), then <unk>, <start>, <end>."""
    assert word_map.word_to_id == {PAD: 0, "a": 1, "dog": 2, "runs": 3, UNK: 4, START: 5, END: 6}
    assert (word_map.pad, word_map.unk, word_map.start, word_map.end) == (0, 4, 5, 6)
    assert WordMap.build(reversed(corpus())).word_to_id == word_map.word_to_id


def test_min_word_freq_is_a_parameter() -> None:
    """min_word_freq=0 keeps every word seen at least once."""
    assert {"cat", "zebra"} <= set(WordMap.build(corpus(), min_word_freq=0).word_to_id)


def test_encode_layout_and_padding(word_map: WordMap) -> None:
    """encode gives <start> w1..wn <end> then <pad> up to max_len + 2 ids."""
    ids = word_map.encode(["a", "dog", "runs"], max_len=6)
    assert ids == [5, 1, 2, 3, 6, 0, 0, 0]
    assert len(ids) == 6 + 2


def test_encode_truncates_to_max_len(word_map: WordMap) -> None:
    """Captions longer than max_len are cut to max_len words; <end> still follows."""
    ids = word_map.encode(["a", "dog", "runs", "a", "dog"], max_len=3)
    assert ids == [5, 1, 2, 3, 6]


def test_rare_and_unseen_words_become_unk(word_map: WordMap) -> None:
    """Dropped words (cat, zebra) and words never seen map to <unk> and decode as '<unk>'."""
    ids = word_map.encode(["a", "cat", "zebra", "spaceship"], max_len=5)
    assert ids[1:5] == [1, word_map.unk, word_map.unk, word_map.unk]
    assert word_map.decode(ids) == ["a", UNK, UNK, UNK]


def test_encode_decode_round_trip(word_map: WordMap) -> None:
    """decode(encode(words)) gives the words back, dropping <start> and the padding."""
    for words in (["a", "dog", "runs"], ["dog"], []):
        assert word_map.decode(word_map.encode(words, max_len=10)) == words


def test_decode_stops_at_end_and_skips_start_and_pad(word_map: WordMap) -> None:
    """Anything after <end> is ignored; <start>/<pad> inside a sequence are skipped; unknown ids are <unk>."""
    assert word_map.decode([5, 1, 0, 2, 6, 3, 3]) == ["a", "dog"]
    assert word_map.decode([1, 99]) == ["a", UNK]


def test_save_load_round_trip(word_map: WordMap, tmp_path: Path) -> None:
    """save writes the seed's WORDMAP JSON ({word: id}); load reads it back unchanged."""
    path = tmp_path / "WORDMAP.json"
    word_map.save(path)
    assert json.loads(path.read_text()) == word_map.word_to_id
    loaded = WordMap.load(path)
    assert loaded.word_to_id == word_map.word_to_id
    assert (loaded.pad, loaded.unk, loaded.start, loaded.end) == (0, 4, 5, 6)
    assert loaded.decode(loaded.encode(["a", "runs"], 4)) == ["a", "runs"]


def test_loads_a_seed_style_word_map(tmp_path: Path) -> None:
    """A map built the seed's way (insertion order, ids from 1, <pad> added last as 0) loads as is."""
    seed = {"dog": 1, "a": 2}
    seed["<unk>"] = len(seed) + 1
    seed["<start>"] = len(seed) + 1
    seed["<end>"] = len(seed) + 1
    seed["<pad>"] = 0
    path = tmp_path / "WORDMAP_coco.json"
    path.write_text(json.dumps(seed))
    loaded = WordMap.load(path)
    assert (loaded.pad, loaded.unk, loaded.start, loaded.end) == (0, 3, 4, 5)
    assert loaded.encode(["a", "dog"], 2) == [4, 2, 1, 5]


def test_missing_special_tokens_are_rejected() -> None:
    """A map without the four special tokens is not a word map."""
    with pytest.raises(ValueError, match="<start>"):
        WordMap({"<pad>": 0, "a": 1, "<unk>": 2, "<end>": 3})
