"""Batched beam search: greedy at k=1, batching changes nothing, fallbacks, ranking and length normalisation."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from photosearch.vision.captioner.beam import Caption, beam_search
from photosearch.vision.captioner.model import CaptionerConfig, DecoderWithAttention
from photosearch.vision.captioner.wordmap import PAD, START, UNK, WordMap

CELLS, ENC, MAX_LEN = 6, 12, 12


@pytest.fixture(scope="module")
def word_map() -> WordMap:
    """20 ids: <pad>=0, w00..w15, <unk>, <start>, <end>."""
    return WordMap.build([[f"w{i:02d}" for i in range(16)]] * 6)


def tiny_decoder(vocab: int, end: int, seed: int = 0) -> DecoderWithAttention:
    """A random decoder whose <end> gets likelier with every word, so photos finish at different lengths.

    LSTM unit 0 is wired as a counter (gates open, cell += ~0.3 per step, from a photo-dependent start) and
    only it drives the <end> logit; the other units and words are random, with peaked distributions.
    """
    torch.manual_seed(seed)
    dim = 16
    config = CaptionerConfig(vocab_size=vocab, encoder_dim=ENC, attention_dim=8, embed_dim=8, decoder_dim=dim)
    decoder = DecoderWithAttention(config).eval()
    cell = decoder.decode_step
    with torch.no_grad():
        decoder.fc.weight.normal_(0, 1.5)
        rows = [0, dim, 2 * dim, 3 * dim]  # unit 0 of the input, forget, cell and output gates
        cell.weight_ih[rows] = 0
        cell.weight_hh[rows] = 0
        cell.bias_hh[rows] = 0
        cell.bias_ih[rows] = torch.tensor([10.0, 10.0, 0.3, 10.0])
        decoder.init_c.weight[0].normal_(0, 1.0)
        decoder.init_c.bias[0] = -1.0
        decoder.fc.weight[:, 0] = 0
        decoder.fc.weight[end] = 0
        decoder.fc.weight[end, 0] = 6.0
        decoder.fc.bias[end] = -1.0
    return decoder


@pytest.fixture(scope="module")
def decoder(word_map: WordMap) -> DecoderWithAttention:
    return tiny_decoder(len(word_map), word_map.end)


@pytest.fixture(scope="module")
def grids() -> torch.Tensor:
    """Five photos' encoder grids [5, P, E]."""
    return torch.randn(5, CELLS, ENC, generator=torch.Generator().manual_seed(3))


def greedy(decoder: DecoderWithAttention, grid: torch.Tensor, word_map: WordMap) -> tuple[list[str], float, list]:
    """An independent greedy decoder for one photo [1, P, E]: argmax over the real words at every step."""
    projected = decoder.attention.project(grid)
    h, c = decoder.init_state(grid)
    word, ids, total, alphas = torch.tensor([word_map.start]), [], 0.0, []
    with torch.no_grad():
        for _ in range(MAX_LEN):
            logits, alpha, h, c = decoder.step(word, grid, projected, h, c)
            logp = logits[0].log_softmax(0)
            logp[[word_map.pad, word_map.start, word_map.unk]] = -math.inf  # not words / never shown
            best = int(logp.argmax())
            total += float(logp[best])
            if best == word_map.end:
                break
            ids.append(best)
            alphas.append(alpha[0])
            word = torch.tensor([best])
    return word_map.decode(ids), total, alphas


def test_beam_one_is_greedy(decoder: DecoderWithAttention, grids: torch.Tensor, word_map: WordMap) -> None:
    """With k=1 beam search picks the same words, log-probability and attention as a plain greedy loop."""
    results = beam_search(decoder, grids, word_map, beam_size=1, max_len=MAX_LEN, no_repeat_ngram=0)
    lengths = set()
    for i, caps in enumerate(results):
        words, total, alphas = greedy(decoder, grids[i : i + 1], word_map)
        assert len(caps) == 1
        assert caps[0].words == words
        assert caps[0].logprob == pytest.approx(total, abs=1e-5)
        if words:
            torch.testing.assert_close(caps[0].alphas, torch.stack(alphas))
        lengths.add(len(words))
    assert len(lengths) > 1  # the photos end at different steps, so batching is exercised


@pytest.mark.parametrize("k", [3, 5])
def test_batched_equals_one_photo_at_a_time(
    decoder: DecoderWithAttention, grids: torch.Tensor, word_map: WordMap, k: int
) -> None:
    """Searching five photos together gives each photo the same captions and scores as searching it alone."""
    batched = beam_search(decoder, grids, word_map, beam_size=k, max_len=MAX_LEN)
    lengths = {len(caps[0].words) for caps in batched}
    assert len(lengths) >= 3 and MAX_LEN in lengths  # photos stop at different steps, one at max_len
    for i, caps in enumerate(batched):
        alone = beam_search(decoder, grids[i : i + 1], word_map, beam_size=k, max_len=MAX_LEN)[0]
        assert [c.words for c in caps] == [c.words for c in alone]
        for a, b in zip(caps, alone, strict=True):
            assert a.score == pytest.approx(b.score, abs=1e-5)
            assert a.logprob == pytest.approx(b.logprob, abs=1e-5)


def test_deterministic(decoder: DecoderWithAttention, grids: torch.Tensor, word_map: WordMap) -> None:
    """Two runs on the same input give identical captions, scores and attention."""
    first = beam_search(decoder, grids, word_map, beam_size=4, max_len=MAX_LEN)
    second = beam_search(decoder, grids, word_map, beam_size=4, max_len=MAX_LEN)
    for caps_a, caps_b in zip(first, second, strict=True):
        for a, b in zip(caps_a, caps_b, strict=True):
            assert (a.words, a.score, a.logprob) == (b.words, b.score, b.logprob)
            assert torch.equal(a.alphas, b.alphas)


def test_no_finished_beam_still_gives_max_len_captions(grids: torch.Tensor, word_map: WordMap) -> None:
    """When <end> never wins, every photo still gets k captions of exactly max_len words."""
    decoder = tiny_decoder(len(word_map), word_map.end, seed=1)
    with torch.no_grad():
        decoder.fc.bias[word_map.end] = -1e4
    max_len, k = 5, 3
    for caps in beam_search(decoder, grids, word_map, beam_size=k, max_len=max_len):
        assert len(caps) == k
        for cap in caps:
            assert len(cap.words) == max_len
            assert cap.alphas.shape == (max_len, CELLS)
            assert cap.score == pytest.approx(cap.logprob / (max_len + 1))


def test_n_best_sorted_by_score(decoder: DecoderWithAttention, grids: torch.Tensor, word_map: WordMap) -> None:
    """Each photo gets n_best captions (k by default, fewer when asked), best score first."""
    for n_best, expected in ((None, 5), (2, 2)):
        for caps in beam_search(decoder, grids, word_map, beam_size=5, max_len=MAX_LEN, n_best=n_best):
            assert len(caps) == expected
            scores = [c.score for c in caps]
            assert scores == sorted(scores, reverse=True)
            assert len({tuple(c.words) for c in caps}) == len(caps)  # distinct hypotheses


def test_attention_maps(decoder: DecoderWithAttention, grids: torch.Tensor, word_map: WordMap) -> None:
    """Every caption carries one attention row per word, each a distribution over the P grid cells."""
    for caps in beam_search(decoder, grids, word_map, beam_size=3, max_len=MAX_LEN):
        for cap in caps:
            assert isinstance(cap, Caption)
            assert cap.alphas.shape == (len(cap.words), CELLS)
            assert torch.all(cap.alphas >= 0)
            torch.testing.assert_close(cap.alphas.sum(dim=1), torch.ones(len(cap.words)))
            assert cap.text == " ".join(cap.words)


def test_only_real_words_even_when_pad_and_start_are_likely(grids: torch.Tensor, word_map: WordMap) -> None:
    """<pad> and <start> are never generated, so words and attention rows stay aligned (regression test)."""
    decoder = tiny_decoder(len(word_map), word_map.end, seed=2)
    with torch.no_grad():
        decoder.fc.bias[word_map.pad] = 3.0
        decoder.fc.bias[word_map.start] = 3.0
    for caps in beam_search(decoder, grids, word_map, beam_size=3, max_len=6):
        for cap in caps:
            assert PAD not in cap.words and START not in cap.words
            assert cap.alphas.shape == (len(cap.words), CELLS)


@pytest.mark.parametrize("length_penalty", [0.0, 0.7, 1.0])
def test_score_is_length_normalised(
    decoder: DecoderWithAttention, grids: torch.Tensor, word_map: WordMap, length_penalty: float
) -> None:
    """score == logprob / (words + 1) ** length_penalty, the +1 counting <end>."""
    for caps in beam_search(decoder, grids, word_map, beam_size=3, max_len=MAX_LEN, length_penalty=length_penalty):
        for cap in caps:
            assert cap.score == pytest.approx(cap.logprob / (len(cap.words) + 1) ** length_penalty)


class MarkovDecoder(nn.Module):
    """A stand-in decoder whose next-word logits depend only on the previous word (rows of `table`)."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = table  # [V, V]
        self.attention = SimpleNamespace(project=lambda enc: enc)

    def init_state(self, enc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = enc.new_zeros(enc.shape[0], 1)
        return zeros, zeros

    def step(
        self, words: torch.Tensor, enc: torch.Tensor, projected: torch.Tensor, h: torch.Tensor, c: torch.Tensor,
        rows_per_photo: int = 1,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        alpha = enc.new_full((words.shape[0], enc.shape[1]), 1.0 / enc.shape[1])
        return self.table[words], alpha, h, c


def test_length_normalisation_prefers_the_longer_caption() -> None:
    """The empty caption has the best raw sum, 'a b' the best per-word score: length_penalty decides."""
    word_map = WordMap({PAD: 0, "a": 1, "b": 2, UNK: 3, START: 4, "<end>": 5})
    probs = torch.full((6, 6), 1e-6)
    #        next:       pad  a     b      unk    start  end
    probs[4] = torch.tensor([0, 0.44, 0.005, 0.095, 0, 0.46])  # after <start>
    probs[1] = torch.tensor([0, 0.10, 0.80, 0.09, 0, 0.01])  # after a
    probs[2] = torch.tensor([0, 0.02, 0.02, 0.01, 0, 0.95])  # after b
    probs[3] = torch.tensor([0, 0.30, 0.30, 0.38, 0, 0.02])  # after <unk>
    table = (probs + 1e-9).log()
    decoder, grid = MarkovDecoder(table), torch.zeros(1, 3, 4)
    logp = table.log_softmax(dim=1)
    empty_raw = float(logp[4, 5])
    ab_raw = float(logp[4, 1] + logp[1, 2] + logp[2, 5])
    assert empty_raw > ab_raw and ab_raw / 3 > empty_raw  # the construction

    # (no repeat rules: with two words, banning "a a" would end the search before "a b" finishes)
    raw = beam_search(decoder, grid, word_map, beam_size=3, max_len=6, length_penalty=0.0, no_repeat_ngram=0)[0]
    normalised = beam_search(decoder, grid, word_map, beam_size=3, max_len=6, length_penalty=1.0,
                             no_repeat_ngram=0)[0]
    assert raw[0].words == [] and raw[0].score == pytest.approx(empty_raw, abs=1e-6)
    assert normalised[0].words == ["a", "b"]
    assert normalised[0].logprob == pytest.approx(ab_raw, abs=1e-6)
    assert normalised[0].score == pytest.approx(ab_raw / 3, abs=1e-6)
    # Same hypotheses either way: the penalty only changes how finished captions are ranked.
    assert sorted(c.text for c in raw) == sorted(c.text for c in normalised)


# -- the rules every caption obeys, the speed rewrite, constraints ------------------------------------------
def _no_unk_decoder(word_map: WordMap, seed: int = 0) -> DecoderWithAttention:
    decoder = tiny_decoder(len(word_map), word_map.end, seed=seed)
    with torch.no_grad():
        decoder.fc.bias[word_map.unk] = -1e4  # the reference search could pick <unk>; take that out
    return decoder


@pytest.mark.parametrize("k", [1, 3, 5])
def test_same_captions_as_the_search_before_the_speed_work(grids: torch.Tensor, word_map: WordMap, k: int) -> None:
    """One projection per photo, batched attention and dropping finished photos change no caption or score."""
    from reference_beam import beam_search as reference_search  # tests/unit is on sys.path under pytest

    for seed in (0, 1, 2):
        decoder = _no_unk_decoder(word_map, seed)
        new = beam_search(decoder, grids, word_map, beam_size=k, max_len=MAX_LEN, no_repeat_ngram=0)
        old = reference_search(decoder, grids, word_map, beam_size=k, max_len=MAX_LEN)
        for caps_new, caps_old in zip(new, old, strict=True):
            assert [c.words for c in caps_new] == [c.words for c in caps_old]
            for a, b in zip(caps_new, caps_old, strict=True):
                assert a.score == pytest.approx(b.score, abs=1e-5)
                torch.testing.assert_close(a.alphas, b.alphas)


def test_never_unk_even_when_it_is_the_likeliest_word(grids: torch.Tensor, word_map: WordMap) -> None:
    decoder = tiny_decoder(len(word_map), word_map.end, seed=2)
    with torch.no_grad():
        decoder.fc.bias[word_map.unk] = 8.0  # <unk> would win every step
    for caps in beam_search(decoder, grids, word_map, beam_size=4, max_len=8):
        for cap in caps:
            assert UNK not in cap.words and cap.words
            assert cap.alphas.shape == (len(cap.words), CELLS)


@pytest.mark.parametrize("n", [2, 3])
def test_no_ngram_occurs_twice(word_map: WordMap, n: int) -> None:
    """A decoder that loves 'w00 w01 w00 w01 ...' still never repeats an n-gram, and keeps k alternatives."""
    vocab = len(word_map)
    a, b = word_map.word_to_id["w00"], word_map.word_to_id["w01"]
    table = torch.full((vocab, vocab), -4.0)
    table[:, word_map.end] = -6.0
    table[word_map.start, a] = 3.0
    table[a, b] = 3.0
    table[b, a] = 3.0
    decoder, grid = MarkovDecoder(table), torch.zeros(2, 3, 4)
    unblocked = beam_search(decoder, grid, word_map, beam_size=3, max_len=10, no_repeat_ngram=0)
    assert unblocked[0][0].words[:4] == ["w00", "w01", "w00", "w01"]  # the construction
    for caps in beam_search(decoder, grid, word_map, beam_size=3, max_len=10, no_repeat_ngram=n):
        assert len(caps) == 3
        for cap in caps:
            grams = [tuple(cap.words[i : i + n]) for i in range(len(cap.words) - n + 1)]
            assert len(grams) == len(set(grams)), cap.words


def test_no_word_twice_in_a_row(word_map: WordMap) -> None:
    """A decoder that loves 'w00 w00 ...' says it once ("a hat hat" no more); with the rule off it repeats."""
    vocab = len(word_map)
    a = word_map.word_to_id["w00"]
    table = torch.full((vocab, vocab), -4.0)
    table[:, word_map.end] = -5.0
    table[word_map.start, a] = 3.0
    table[a, a] = 3.0
    decoder, grid = MarkovDecoder(table), torch.zeros(1, 3, 4)
    assert beam_search(decoder, grid, word_map, beam_size=2, max_len=6, no_repeat_ngram=0)[0][0].words[:2] == [
        "w00", "w00"]
    for cap in beam_search(decoder, grid, word_map, beam_size=2, max_len=6)[0]:
        assert all(x != y for x, y in zip(cap.words, cap.words[1:], strict=False)), cap.words


def test_no_word_on_both_sides_of_and() -> None:
    """A decoder that loves 'w00 and w00' ("a brown and brown dog") says another word after "and"."""
    word_map = WordMap.build([["w00", "and", "w01"]] * 6)
    vocab, ids = len(word_map), word_map.word_to_id
    table = torch.full((vocab, vocab), -4.0)
    table[:, word_map.end] = -5.0
    table[word_map.start, ids["w00"]] = 3.0
    table[ids["w00"], ids["and"]] = 3.0
    table[ids["and"], ids["w00"]] = 3.0
    table[ids["and"], ids["w01"]] = 1.0
    decoder, grid = MarkovDecoder(table), torch.zeros(1, 3, 4)
    unruled = beam_search(decoder, grid, word_map, beam_size=2, max_len=4, no_repeat_ngram=0)
    assert unruled[0][0].words[:3] == ["w00", "and", "w00"]  # the construction
    for cap in beam_search(decoder, grid, word_map, beam_size=2, max_len=4)[0]:
        assert cap.words[:3] == ["w00", "and", "w01"], cap.words


def test_constraints_put_the_word_in_every_caption(decoder: DecoderWithAttention, grids: torch.Tensor,
                                                   word_map: WordMap) -> None:
    """Each photo's required words appear in all its captions; a photo without constraints is unchanged."""
    ids = word_map.word_to_id
    plain = beam_search(decoder, grids, word_map, beam_size=3, max_len=MAX_LEN)
    # A word the unconstrained captions of photo 0 do not use, and two for photo 1.
    unused = [w for w in (f"w{i:02d}" for i in range(16)) if w not in {x for c in plain[0] for x in c.words}]
    constraints = [[[ids[unused[0]]]], [[ids["w05"]], [ids["w09"]]], [], [], []]
    constrained = beam_search(decoder, grids, word_map, beam_size=3, max_len=MAX_LEN, constraints=constraints)
    for cap in constrained[0]:
        assert unused[0] in cap.words and cap.met == 1 and cap.constraints == 1
    for cap in constrained[1]:
        assert "w05" in cap.words and "w09" in cap.words and cap.met == 2
    for i in (2, 3, 4):
        assert [c.words for c in constrained[i]] == [c.words for c in plain[i]]
        assert [c.score for c in constrained[i]] == pytest.approx([c.score for c in plain[i]], abs=1e-5)


def test_constrained_batched_equals_alone(decoder: DecoderWithAttention, grids: torch.Tensor,
                                          word_map: WordMap) -> None:
    ids = word_map.word_to_id
    constraints = [[[ids["w03"]]], [[ids["w05"], ids["w06"]], [ids["w09"]]], [[ids["w01"]]], [], [[ids["w15"]]]]
    batched = beam_search(decoder, grids, word_map, beam_size=3, max_len=MAX_LEN, constraints=constraints)
    for i, caps in enumerate(batched):
        alone = beam_search(decoder, grids[i : i + 1], word_map, beam_size=3, max_len=MAX_LEN,
                            constraints=[constraints[i]])[0]
        assert [c.words for c in caps] == [c.words for c in alone]
        assert [c.score for c in caps] == pytest.approx([c.score for c in alone], abs=1e-5)


def test_unreachable_constraint_falls_back_to_the_best_it_met(grids: torch.Tensor, word_map: WordMap) -> None:
    """If max_len comes before a constraint is met, the photo still gets captions, marked as not meeting it."""
    decoder = tiny_decoder(len(word_map), word_map.end, seed=0)
    target = word_map.unk  # never proposed, so this constraint cannot be met
    caps = beam_search(decoder, grids[:1], word_map, beam_size=2, max_len=4, constraints=[[[target]]])[0]
    assert caps and all(c.met == 0 and c.constraints == 1 and len(c.words) == 4 for c in caps)


def test_captioner_constraint_of_alternatives_is_met_by_either_word(
    decoder: DecoderWithAttention, grids: torch.Tensor, word_map: WordMap
) -> None:
    """Captioner.caption: a tuple is one constraint any of whose words satisfies it ("alp" or "mountain");
    words the decoder does not know are dropped, and a constraint with none is no constraint."""
    from photosearch.vision.captioner.captioner import Captioner

    captioner = Captioner(decoder, word_map, name="tiny", beam_size=3, max_len=MAX_LEN)
    plain = captioner.caption(grids[:2])
    unused = [w for w in (f"w{i:02d}" for i in range(16)) if w not in {x for c in plain[0] for x in c.words}]
    either = captioner.caption(grids[:2], required=[[(unused[0], unused[1], "giraffe")], [("giraffe",)]])
    assert all({unused[0], unused[1]} & set(c.words) and c.met == 1 for c in either[0])
    alone = captioner.caption(grids[:1], required=[[unused[0]]])
    assert either[0][0].score >= alone[0][0].score - 1e-6  # more ways to meet it can only score as well
    assert [c.words for c in either[1]] == [c.words for c in plain[1]]  # unknown word: no constraint


def test_a_prefix_is_scored_like_the_words_it_forces(
    decoder: DecoderWithAttention, grids: torch.Tensor, word_map: WordMap
) -> None:
    """Forcing the first two words greedy would pick anyway gives the greedy caption and log-probability;
    forcing other words puts them first, counts their log-probability, and meets a constraint they satisfy."""
    ids = word_map.word_to_id
    plain = beam_search(decoder, grids, word_map, beam_size=1, max_len=MAX_LEN, no_repeat_ngram=0)
    two = [i for i, caps in enumerate(plain) if len(caps[0].words) >= 3]
    prefix = torch.tensor([[ids[w] for w in plain[i][0].words[:2]] for i in two])
    forced = beam_search(decoder, grids[two], word_map, beam_size=1, max_len=MAX_LEN, no_repeat_ngram=0,
                         prefix=prefix)
    for i, caps in zip(two, forced, strict=True):
        assert caps[0].words == plain[i][0].words
        assert caps[0].logprob == pytest.approx(plain[i][0].logprob, abs=1e-5)
    other = torch.tensor([[ids["w07"], ids["w11"]]] * 2)
    constraints = [[[ids["w11"]], [ids["w02"]]], [[ids["w11"]]]]
    caps = beam_search(decoder, grids[:2], word_map, beam_size=3, max_len=MAX_LEN, prefix=other,
                       constraints=constraints)
    for photo, photo_caps in enumerate(caps):
        for cap in photo_caps:
            assert cap.words[:2] == ["w07", "w11"] and cap.met == len(constraints[photo])
            assert cap.alphas.shape[0] == len(cap.words)
    # max_len 2: the caption is the prefix itself, scored by the decoder's own probabilities of its words.
    only = beam_search(decoder, grids[:1], word_map, beam_size=1, max_len=2, prefix=other[:1])[0][0]
    h, c = decoder.init_state(grids[:1])
    projected = decoder.attention.project(grids[:1])
    total, word = 0.0, torch.tensor([word_map.start])
    with torch.no_grad():
        for w in ("w07", "w11"):
            logits, _, h, c = decoder.step(word, grids[:1], projected, h, c)
            total += float(logits[0].log_softmax(0)[ids[w]])
            word = torch.tensor([ids[w]])
    assert only.words == ["w07", "w11"] and only.logprob == pytest.approx(total, abs=1e-5)


def test_no_plural_alternative_right_after_an_article() -> None:
    """singular_only words never come within ARTICLE_WINDOW words after "a" ("a white flowers"), though the
    same search without the rule puts them there."""
    from photosearch.vision.captioner.beam import ARTICLE_WINDOW

    words = WordMap.build([["a", *(f"w{i:02d}" for i in range(15))]] * 6)
    decoder = tiny_decoder(len(words), words.end, seed=1)
    grids = torch.randn(8, CELLS, ENC, generator=torch.Generator().manual_seed(5))
    article = words.word_to_id["a"]

    def after_article(caps: list[list[Caption]]) -> set[int]:
        found = set()
        for photo in caps:
            for cap in photo:
                for i, word in enumerate(cap.ids):
                    if article in cap.ids[max(0, i - ARTICLE_WINDOW) : i]:
                        found.add(word)
        return found - {article}

    starts = torch.full((len(grids), 1), article)  # every caption starts with "a"
    plain = beam_search(decoder, grids, words, beam_size=3, max_len=MAX_LEN, prefix=starts)
    targets = sorted(after_article(plain))[:3]
    assert targets
    ruled = beam_search(decoder, grids, words, beam_size=3, max_len=MAX_LEN, prefix=starts, singular_only=targets)
    assert not after_article(ruled) & set(targets)


@pytest.mark.parametrize("constrained", [False, True])
def test_words_banned_for_one_photo_never_appear_in_its_captions(
    decoder: DecoderWithAttention, grids: torch.Tensor, word_map: WordMap, constrained: bool
) -> None:
    """banned_per_photo (people.py's person words) bans words for one photo; the others are unchanged."""
    ids = word_map.word_to_id
    constraints = [[[ids["w03"]]]] * len(grids) if constrained else None
    plain = beam_search(decoder, grids, word_map, beam_size=3, max_len=MAX_LEN, constraints=constraints)
    used = sorted({w for cap in plain[0] for w in cap.words} - {"w03"})  # words photo 0 says without a ban
    assert used
    banned = beam_search(decoder, grids, word_map, beam_size=3, max_len=MAX_LEN, constraints=constraints,
                         banned_per_photo=[[ids[w] for w in used], [], [], [], []])
    assert all(not set(used) & set(cap.words) for cap in banned[0]), [c.text for c in banned[0]]
    if constrained:
        assert all("w03" in cap.words for cap in banned[0])
    for i in range(1, len(grids)):
        assert [c.words for c in banned[i]] == [c.words for c in plain[i]]


def test_subject_first_searches_singular_prefixes_and_counts_the_constraint_they_meet() -> None:
    """Captioner's subject-first search starts captions "a <noun>" for each singular word of the first
    constraint, never "a <plural>"; tracking only the other constraints there gives the very captions and
    scores of a search that tracks all of them, and each caption counts the constraint its prefix met."""
    from photosearch.vision.captioner.captioner import Captioner

    words = WordMap.build([["a", "w01", "w01s", *(f"w{i:02d}" for i in range(2, 14))]] * 6)
    ids = words.word_to_id
    decoder = tiny_decoder(len(words), words.end, seed=2)
    grids = torch.randn(4, CELLS, ENC, generator=torch.Generator().manual_seed(7))
    captioner = Captioner(decoder, words, name="tiny", beam_size=3, max_len=MAX_LEN, subject_first=True)
    constraints = [[[ids["w01"], ids["w01s"]], [ids["w05"]]]] * len(grids)
    photos = list(range(len(grids)))
    caps = captioner._with_subject_first(grids, photos, constraints, [[] for _ in photos], 3, [ids["w01s"]])
    assert all(caps)
    assert all(c.words[:2] == ["a", "w01"] and c.met == c.constraints == 2 for photo in caps for c in photo)

    prefix = torch.tensor([[ids["a"], ids["w01"]]] * len(grids))
    tracked_all = beam_search(decoder, grids, words, beam_size=3, max_len=MAX_LEN, prefix=prefix,
                              constraints=constraints)
    tracked_rest = beam_search(decoder, grids, words, beam_size=3, max_len=MAX_LEN, prefix=prefix,
                               constraints=[[[ids["w05"]]]] * len(grids))
    for every, rest in zip(tracked_all, tracked_rest, strict=True):
        assert [c.words for c in every] == [c.words for c in rest]
        assert [c.score for c in every] == pytest.approx([c.score for c in rest], abs=1e-5)
        assert [c.met for c in every] == [c.met + 1 for c in rest]


@pytest.mark.parametrize("n_cons", [1, 2])
def test_group_moves_pick_what_masking_every_group_picks(n_cons: int) -> None:
    """_GroupMoves (own rows + constraint words) gives, for every group, the top 2k that a top-k over all G*k*V
    scores masked to the extensions landing there gives: the same scores, rows and words, in the same order
    (dead rows at -inf included, as in a search's first steps)."""
    from photosearch.vision.captioner.beam import _constraint_words, _GroupMoves

    gen = torch.Generator().manual_seed(n_cons)
    b, k, vocab, groups = 3, 3, 40, 1 << n_cons
    bits = torch.zeros((b, vocab), dtype=torch.long)
    bits[0, [5, 7]] = 1
    bits[1, 9] = 1
    if n_cons == 2:
        bits[0, 11] = 2
        bits[1, [12, 13, 30]] = 2
        bits[2, 14] = 3  # one word meets both
    candidates = torch.randn((b, groups, k, vocab), generator=gen)
    candidates[0, 1:, :] = -math.inf  # photo 0 has met nothing yet: only group 0 is alive
    candidates[2, :, 1:] = -math.inf  # photo 2: one live beam per group
    candidates[..., 0] = -math.inf  # <pad> (the padding of the constraint words) is never proposed
    cw, cbits = _constraint_words(bits, pad=0)
    moves = _GroupMoves(candidates.clone(), cw, cbits, torch.arange(groups))
    for g in range(groups):
        landing = (torch.arange(groups).view(1, groups, 1) | bits.unsqueeze(1)) == g  # [b, G, V]
        masked = candidates.masked_fill(~landing.unsqueeze(2), -math.inf).view(b, groups * k * vocab)
        want_scores, want_ids = masked.topk(2 * k, dim=1)
        scores, rows, words = moves.top(g, 2 * k)
        assert torch.equal(scores, want_scores)
        alive = want_scores > -math.inf
        assert torch.equal(rows[alive], (want_ids // vocab)[alive])
        assert torch.equal(words[alive], (want_ids % vocab)[alive])
