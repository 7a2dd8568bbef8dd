"""The Show-Attend-Tell decoder under teacher forcing, and the caption loss: shapes, masking, order, padding."""

from __future__ import annotations

import pytest
import torch

from photosearch.vision.captioner.model import CaptionerConfig, DecoderWithAttention, caption_loss

VOCAB, CELLS, ENC = 20, 6, 12
PAD, START, END = 0, 18, 19


@pytest.fixture
def decoder() -> DecoderWithAttention:
    torch.manual_seed(0)
    config = CaptionerConfig(vocab_size=VOCAB, encoder_dim=ENC, attention_dim=8, embed_dim=8, decoder_dim=16)
    return DecoderWithAttention(config).eval()  # eval: no dropout, so runs are comparable


def make_batch(lengths: list[int], total: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random grids [B, P, E] and captions [B, total] = <start> words <end> <pad>.. with the given lengths."""
    gen = torch.Generator().manual_seed(1)
    encoder_out = torch.randn(len(lengths), CELLS, ENC, generator=gen)
    captions = torch.full((len(lengths), total), PAD)
    for i, n in enumerate(lengths):
        captions[i, 0] = START
        captions[i, 1 : n - 1] = torch.randint(1, 17, (n - 2,), generator=gen)
        captions[i, n - 1] = END
    return encoder_out, captions, torch.tensor(lengths)


LENGTHS = [4, 7, 2, 5, 7]  # unsorted, with a tie and an empty caption (<start> <end>)


def test_forward_shapes(decoder: DecoderWithAttention) -> None:
    """logits are [B, T-1, V] and alphas [B, T-1, P] for captions padded to the longest length T."""
    enc, caps, lens = make_batch(LENGTHS, total=7)
    logits, alphas = decoder(enc, caps, lens)
    assert logits.shape == (5, 6, VOCAB)
    assert alphas.shape == (5, 6, CELLS)


def test_positions_past_each_length_are_zero(decoder: DecoderWithAttention) -> None:
    """Row i has real outputs at steps < len_i - 1 (never feeding <end>) and exact zeros after."""
    enc, caps, lens = make_batch(LENGTHS, total=7)
    logits, alphas = decoder(enc, caps, lens)
    for i, n in enumerate(LENGTHS):
        assert torch.all(logits[i, n - 1 :] == 0) and torch.all(alphas[i, n - 1 :] == 0)
        assert torch.all(logits[i, : n - 1].abs().sum(dim=1) > 0)


def test_alphas_sum_to_one_on_real_steps(decoder: DecoderWithAttention) -> None:
    """Attention is a distribution over the grid at every real step."""
    enc, caps, lens = make_batch(LENGTHS, total=7)
    _, alphas = decoder(enc, caps, lens)
    for i, n in enumerate(LENGTHS):
        real = alphas[i, : n - 1]
        assert torch.all(real >= 0)
        torch.testing.assert_close(real.sum(dim=1), torch.ones(n - 1))


def test_outputs_follow_input_order(decoder: DecoderWithAttention) -> None:
    """forward sorts by length internally; row i of the output is still caption i (same as decoding it alone)."""
    enc, caps, lens = make_batch(LENGTHS, total=7)
    logits, alphas = decoder(enc, caps, lens)
    for i, n in enumerate(LENGTHS):
        alone_logits, alone_alphas = decoder(enc[i : i + 1], caps[i : i + 1, :n], lens[i : i + 1])
        torch.testing.assert_close(logits[i, : n - 1], alone_logits[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(alphas[i, : n - 1], alone_alphas[0], atol=1e-5, rtol=1e-5)


def test_extra_padding_columns_change_nothing(decoder: DecoderWithAttention) -> None:
    """Captions padded wider than the longest length give the same outputs (steps = max length - 1)."""
    enc, caps, lens = make_batch(LENGTHS, total=7)
    wide = torch.cat([caps, torch.full((5, 4), PAD)], dim=1)
    for a, b in zip(decoder(enc, caps, lens), decoder(enc, wide, lens), strict=True):
        torch.testing.assert_close(a, b)


def test_forward_matches_step_by_step_decoding(decoder: DecoderWithAttention) -> None:
    """Teacher forcing is the same as calling step() with the true previous word (what beam search uses)."""
    enc, caps, lens = make_batch([6], total=6)
    logits, alphas = decoder(enc, caps, lens)
    projected = decoder.attention.project(enc)
    h, c = decoder.init_state(enc)
    for t in range(5):
        step_logits, alpha, h, c = decoder.step(caps[:, t], enc, projected, h, c)
        torch.testing.assert_close(step_logits, logits[:, t])
        torch.testing.assert_close(alpha, alphas[:, t])


def test_caption_loss_ignores_padding(decoder: DecoderWithAttention) -> None:
    """Changing the pad tokens, or the logits at padded positions, leaves the loss unchanged."""
    enc, caps, lens = make_batch(LENGTHS, total=7)
    logits, alphas = decoder(enc, caps, lens)
    loss = caption_loss(logits, alphas, caps, lens)

    padded = torch.arange(7).unsqueeze(0) >= lens.unsqueeze(1)  # [B, T] pad positions
    other_caps = caps.masked_fill(padded, 7)  # a real word where the padding was
    other_logits, other_alphas = decoder(enc, other_caps, lens)
    torch.testing.assert_close(caption_loss(other_logits, other_alphas, other_caps, lens), loss)

    pad_steps = padded[:, 1:]  # logits[:, t] predicts captions[:, t + 1]
    noisy = logits + 50 * torch.randn_like(logits) * pad_steps.unsqueeze(2)
    torch.testing.assert_close(caption_loss(noisy, alphas, caps, lens), loss)

    # ... while a real target does matter (the test is not vacuous).
    changed = caps.clone()
    changed[1, 3] = 3 if int(caps[1, 3]) != 3 else 4
    assert not torch.isclose(caption_loss(logits, alphas, changed, lens), loss)


def test_caption_loss_value(decoder: DecoderWithAttention) -> None:
    """The loss is the mean cross-entropy over real targets (<end> included) + alpha_c × the coverage penalty."""
    enc, caps, lens = make_batch(LENGTHS, total=7)
    logits, alphas = decoder(enc, caps, lens)
    terms = [-logits[i, t].log_softmax(0)[caps[i, t + 1]] for i, n in enumerate(LENGTHS) for t in range(n - 1)]
    ce = torch.stack(terms).mean()
    coverage = ((1 - alphas.sum(dim=1)) ** 2).mean()
    torch.testing.assert_close(caption_loss(logits, alphas, caps, lens, alpha_c=0.0), ce)
    torch.testing.assert_close(caption_loss(logits, alphas, caps, lens, alpha_c=2.0), ce + 2 * coverage)


def test_no_gradient_reaches_padded_positions(decoder: DecoderWithAttention) -> None:
    """The gradient of the loss with respect to logits at padded steps is exactly zero."""
    enc, caps, lens = make_batch(LENGTHS, total=7)
    logits, alphas = decoder(enc, caps, lens)
    logits = logits.detach().requires_grad_(True)
    caption_loss(logits, alphas.detach(), caps, lens).backward()
    for i, n in enumerate(LENGTHS):
        assert torch.all(logits.grad[i, n - 1 :] == 0)
        assert logits.grad[i, : n - 1].abs().sum() > 0


def test_training_step_lowers_the_loss() -> None:
    """A few Adam steps on one batch reduce the loss: the graph is differentiable end to end."""
    torch.manual_seed(0)
    config = CaptionerConfig(vocab_size=VOCAB, encoder_dim=ENC, attention_dim=8, embed_dim=8, decoder_dim=16)
    decoder = DecoderWithAttention(config)  # train mode, dropout on
    enc, caps, lens = make_batch(LENGTHS, total=7)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        loss = caption_loss(*decoder(enc, caps, lens), caps, lens)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]
