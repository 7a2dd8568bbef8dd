"""The beam search as it was before the speed work (main at 416be1b), kept as the reference that the
faster search must reproduce caption for caption (tests/unit/test_beam_search.py).

Batched beam search: many photos and all their beams advance together, one decoder step per word.

Layout: row r of every [R, ...] tensor is beam (r % k) of photo (r // k); R = B * k.
At each step every live beam proposes its V next words; per photo we rank the k * V extensions by the
summed log-probability and take the best 2k. Of those, extensions ranked in the top k that end with <end>
become finished hypotheses; the best k that do not end continue. Keeping 2k candidates means a photo
always has k live beams (the seed's search shrank its beam each time one finished).

A photo stops once it has k finished hypotheses. Captions are ranked by length-normalised score
    score = sum of log-probs / (number of words + 1) ** length_penalty
(the seed ranked by the raw sum, which prefers short captions). If max_len is reached before a photo has
finished anything, its live beams are returned as they are, so there is always a caption.

With k = 1 this is exactly greedy decoding. Deterministic: torch.topk breaks ties the same way every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from photosearch.vision.captioner.model import DecoderWithAttention
from photosearch.vision.captioner.wordmap import WordMap


@dataclass
class Caption:  # noqa: D101
    words: list[str]
    score: float  # length-normalised log-probability (higher is better)
    logprob: float  # summed log-probability
    alphas: torch.Tensor  # [len(words), P] attention over the grid for each word

    @property
    def text(self) -> str:
        return " ".join(self.words)


@torch.inference_mode()
def beam_search(
    decoder: DecoderWithAttention,
    encoder_out: torch.Tensor,
    word_map: WordMap,
    beam_size: int = 5,
    max_len: int = 30,
    length_penalty: float = 1.0,
    n_best: int | None = None,
) -> list[list[Caption]]:
    """encoder_out [B, P, E] -> for each photo its n_best (default k) captions, best first."""
    decoder.eval()
    k = beam_size
    n_best = n_best or k
    batch, cells, _ = encoder_out.shape
    device = encoder_out.device
    rows = batch * k

    enc = encoder_out.repeat_interleave(k, dim=0)  # [R, P, E]
    projected = decoder.attention.project(enc)  # [R, P, A]
    h, c = decoder.init_state(enc)  # [R, D]
    words = torch.full((rows,), word_map.start, dtype=torch.long, device=device)  # [R]
    # All beams of a photo start identical: only beam 0 may propose, or the top-k would be k copies.
    scores = torch.full((batch, k), float("-inf"), device=device)
    scores[:, 0] = 0.0
    scores = scores.view(rows)  # [R]
    seqs = torch.empty((rows, 0), dtype=torch.long, device=device)  # [R, t]
    seq_alphas = torch.empty((rows, 0, cells), device=device)  # [R, t, P]

    finished: list[list[Caption]] = [[] for _ in range(batch)]
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    photo_offsets = (torch.arange(batch, device=device) * k).unsqueeze(1)  # [B, 1]

    def finish(photo: int, row: int, total: float, word_seq: list[int], alphas: torch.Tensor) -> None:
        n = len(word_seq)
        finished[photo].append(
            Caption(
                words=word_map.decode(word_seq),
                score=total / (n + 1) ** length_penalty,  # +1 counts the <end> token
                logprob=total,
                alphas=alphas[:n].cpu(),
            )
        )

    for _step in range(max_len):
        logits, alpha, h, c = decoder.step(words, enc, projected, h, c)  # [R, V], [R, P]
        vocab = logits.shape[1]
        logprobs = logits.log_softmax(dim=1)  # [R, V]
        # <pad> and <start> are never a next word (decode() would drop them and misalign words and alphas).
        logprobs[:, [word_map.pad, word_map.start]] = float("-inf")
        candidates = scores.unsqueeze(1) + logprobs  # [R, V]
        top_scores, top_ids = candidates.view(batch, k * vocab).topk(2 * k, dim=1)  # [B, 2k]
        from_beam = top_ids // vocab  # [B, 2k] which beam of the photo
        next_word = top_ids % vocab  # [B, 2k]
        is_end = next_word == word_map.end

        # Finished hypotheses: <end> within the top k of a photo still searching.
        for photo, rank in (is_end[:, :k] & ~done.unsqueeze(1)).nonzero().tolist():
            row = photo * k + int(from_beam[photo, rank])
            if top_scores[photo, rank] == float("-inf"):
                continue
            finish(photo, row, float(top_scores[photo, rank]), seqs[row].tolist(), seq_alphas[row])
        done |= torch.tensor([len(f) >= n_best for f in finished], device=device)
        if bool(done.all()):
            break

        # Live beams: the best k candidates that do not end (a stable sort keeps rank order).
        keep = (~is_end).to(torch.int8).argsort(dim=1, descending=True, stable=True)[:, :k]  # [B, k]
        src_rows = (photo_offsets + from_beam.gather(1, keep)).view(rows)  # [R]
        scores = top_scores.gather(1, keep).view(rows)
        scores[done.repeat_interleave(k)] = float("-inf")  # finished photos stop proposing
        words = next_word.gather(1, keep).view(rows)
        seqs = torch.cat([seqs[src_rows], words.unsqueeze(1)], dim=1)
        seq_alphas = torch.cat([seq_alphas[src_rows], alpha[src_rows].unsqueeze(1)], dim=1)
        h, c = h[src_rows], c[src_rows]
    else:
        # max_len reached: photos short of n_best take their live beams as they stand.
        for photo in range(batch):
            if done[photo]:
                continue
            for beam in range(k):
                row = photo * k + beam
                if scores[row] > float("-inf"):
                    finish(photo, row, float(scores[row]), seqs[row].tolist(), seq_alphas[row])

    for photo_caps in finished:
        photo_caps.sort(key=lambda cap: cap.score, reverse=True)
    return [caps[:n_best] for caps in finished]
