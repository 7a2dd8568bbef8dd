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
            logp[[word_map.pad, word_map.start]] = -math.inf  # not words
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
    results = beam_search(decoder, grids, word_map, beam_size=1, max_len=MAX_LEN)
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
        self, words: torch.Tensor, enc: torch.Tensor, projected: torch.Tensor, h: torch.Tensor, c: torch.Tensor
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

    raw = beam_search(decoder, grid, word_map, beam_size=3, max_len=6, length_penalty=0.0)[0]
    normalised = beam_search(decoder, grid, word_map, beam_size=3, max_len=6, length_penalty=1.0)[0]
    assert raw[0].words == [] and raw[0].score == pytest.approx(empty_raw, abs=1e-6)
    assert normalised[0].words == ["a", "b"]
    assert normalised[0].logprob == pytest.approx(ab_raw, abs=1e-6)
    assert normalised[0].score == pytest.approx(ab_raw / 3, abs=1e-6)
    # Same hypotheses either way: the penalty only changes how finished captions are ranked.
    assert sorted(c.text for c in raw) == sorted(c.text for c in normalised)
