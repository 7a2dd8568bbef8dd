"""Batched beam search, optionally constrained: many photos advance together, one decoder step per word.

Plain search. Each photo keeps k live hypotheses ("beams"). At each step every beam proposes its V next
words; per photo we rank the k * V extensions by summed log-probability and take the best 2k. Of those,
extensions ranked in the top k that end with <end> become finished hypotheses; the best k that do not end
continue (so a photo always has k live beams). A photo stops once it has n_best finished hypotheses and
leaves the batch. Captions are ranked by the length-normalised score
    score = sum of log-probs / (number of words + 1) ** length_penalty
If max_len comes first, the live beams are returned as they are, so there is always a caption.
With k = 1 this is greedy decoding. Deterministic: torch.topk breaks ties the same way every run.

Rules every hypothesis obeys: <unk> is never proposed (the product never shows "a <unk> <unk>"), nor
<pad>/<start>; no n-gram of `no_repeat_ngram` words occurs twice ("a white shirt and white shirt and"), nor a word
twice in a row ("a hat hat") or on both sides of "and" ("a brown and brown dog").

Constrained search (Anderson et al. 2017, "Guided Open Vocabulary Image Captioning with Constrained Beam
Search"). A photo may come with up to a few constraints, each a set of word ids of which the caption must
use one (e.g. {"giraffe"}). Its hypotheses are kept in 2^c groups, one per subset of constraints met so far,
k beams each. An extension moves a beam to the group of the constraints it has met after the new word; each
group keeps the best k extensions that land in it, and only the group that has met every constraint may
end a caption. So the search looks for the likeliest sentence that uses the word, rather than pasting the
word into the likeliest sentence. If no hypothesis meets them all by max_len, the captions come from the
group that met the most (the caller can tell from `Caption.met`).

Layout: rows of the per-step tensors are (photo, group, beam) in that order; a photo's grid and its
attention projection are stored once and shared by its G * k rows (model.Attention).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from photosearch.vision.captioner.model import DecoderWithAttention
from photosearch.vision.captioner.wordmap import WordMap

NO_REPEAT_NGRAM = 3


@dataclass
class Caption:
    words: list[str]
    score: float  # length-normalised log-probability (higher is better)
    logprob: float  # summed log-probability
    alphas: torch.Tensor  # [len(words), P] attention over the grid for each word
    met: int = 0  # how many of the photo's constraints the caption uses
    constraints: int = 0  # how many constraints the photo had
    ids: list[int] = field(default_factory=list, repr=False)

    @property
    def text(self) -> str:
        return " ".join(self.words)


ARTICLE_WINDOW = 3  # words after "a"/"an" in which no plural may follow ("a white flowers")


def _ban_plurals_after_articles(logprobs: torch.Tensor, seqs: torch.Tensor, articles: torch.Tensor,
                                plurals: torch.Tensor) -> None:
    """In place: -inf for the `plurals` in rows with "a"/"an" among their last ARTICLE_WINDOW words."""
    if not seqs.shape[1] or not plurals.numel():
        return
    rows = torch.isin(seqs[:, -ARTICLE_WINDOW:], articles).any(dim=1).nonzero().squeeze(1)
    if rows.numel():
        logprobs[rows.unsqueeze(1), plurals.unsqueeze(0)] = float("-inf")


def _ban_repeats(logprobs: torch.Tensor, seqs: torch.Tensor, n: int, conjunction: int | None = None) -> None:
    """In place: -inf for every word that would complete an n-gram the row already contains, for the row's
    last word ("a greyhound greyhound is running", "a hat hat": 3 of 1,000 Flickr8k dev captions did), and for
    the word before a closing `conjunction` ("a brown and brown dog", "sunglasses and sunglasses": 11 of 1,000
    dev captions, none of the 5,000 references).

    logprobs [R, V]; seqs [R, t] the words so far."""
    t = seqs.shape[1]
    if n > 0 and t:
        logprobs.scatter_(1, seqs[:, -1:], float("-inf"))
    if n > 0 and conjunction is not None and t >= 2:
        rows = (seqs[:, -1] == conjunction).nonzero().squeeze(1)  # rows whose last word is "and"
        if rows.numel():
            logprobs[rows, seqs[rows, -2]] = float("-inf")
    if n <= 0 or t < n:
        return
    windows = seqs.unfold(1, n, 1)  # [R, t - n + 1, n]
    tail = seqs[:, t - n + 1 :]  # [R, n - 1] the last n-1 words
    match = (windows[:, :, : n - 1] == tail.unsqueeze(1)).all(dim=2)  # [R, W]
    rows, cols = match.nonzero(as_tuple=True)
    if rows.numel():
        logprobs[rows, windows[rows, cols, n - 1]] = float("-inf")


def _constraint_words(bits: torch.Tensor, pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """bits [B, V] (which constraints each word meets, per photo) -> (cw [B, W], cbits [B, W]): each photo's
    constraint words and their bits, padded to the longest list with `pad` (a word never proposed; bits 0)."""
    lists = [row.nonzero().squeeze(1) for row in bits]
    width = max(1, max(len(ids) for ids in lists))
    cw = torch.full((len(lists), width), pad, dtype=torch.long, device=bits.device)
    for b, ids in enumerate(lists):
        cw[b, : len(ids)] = ids
    return cw, bits.gather(1, cw)


class _GroupMoves:
    """The best extensions landing in each group of a constrained search, without scanning every group's rows
    once per group. An extension of a hypothesis in group s by word w lands in group s | bits(w). Most words
    meet no constraint, so a group's extensions are its own rows with those words (one top-k over k * V), plus
    the few constraint words from every group (a top-k over G * k * W scores gathered once per step); the two
    short lists are merged. The same top-k as one over all G * k * V masked scores, in the same order.

    candidates [b, G, k, V] (summed log-probabilities; constraint words are set to -inf in place, after their
    scores are gathered); cw, cbits [b, W] from _constraint_words; group_ids [G]."""

    def __init__(self, candidates: torch.Tensor, cw: torch.Tensor, cbits: torch.Tensor,
                 group_ids: torch.Tensor) -> None:
        b, groups, k, vocab = candidates.shape
        width = cw.shape[1]
        index = cw.view(b, 1, 1, width).expand(b, groups, k, width)
        self.moved = candidates.gather(3, index)  # [b, G, k, W] every group's scores of the constraint words
        candidates.scatter_(3, index, float("-inf"))  # ... which reach their groups through `moved` only
        self.candidates = candidates
        self.lands = (group_ids.view(1, groups, 1) | cbits.unsqueeze(1)).unsqueeze(2)  # [b, G, 1, W]
        self.cw = cw
        self.shape = (b, groups, k, vocab, width)

    def top(self, g: int, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The n best extensions landing in group g: (scores, source row within the photo, word), each [b, n]."""
        b, groups, k, vocab, width = self.shape
        own_scores, own_ids = self.candidates[:, g].reshape(b, k * vocab).topk(n, dim=1)  # rows of group g
        moved = self.moved.masked_fill(self.lands != g, float("-inf")).view(b, groups * k * width)
        moved_scores, moved_ids = moved.topk(min(n, moved.shape[1]), dim=1)
        scores, pick = torch.cat([own_scores, moved_scores], dim=1).topk(n, dim=1)
        own_rows, own_words = g * k + own_ids // vocab, own_ids % vocab
        moved_rows = moved_ids // width  # (group, beam) = row within the photo
        moved_words = self.cw.gather(1, moved_ids % width)
        rows = torch.cat([own_rows, moved_rows], dim=1).gather(1, pick)
        words = torch.cat([own_words, moved_words], dim=1).gather(1, pick)
        return scores, rows, words


def _force_prefix(  # noqa: PLR0913 (the search state, handed over and back)
    decoder: DecoderWithAttention, prefix: torch.Tensor, words: torch.Tensor, enc: torch.Tensor,
    projected: torch.Tensor, h: torch.Tensor, c: torch.Tensor, scores: torch.Tensor, seqs: torch.Tensor,
    seq_alphas: torch.Tensor, bits: torch.Tensor | None, start_group: torch.Tensor, k: int,
) -> tuple[torch.Tensor, ...]:
    """Feed each photo's prefix words to its one live beam (beam 0 of its starting group), adding their
    log-probabilities and moving the beam to the group of the constraints the prefix meets."""
    batch, m = scores.shape
    device = scores.device
    rows = torch.arange(batch, device=device)
    group = start_group.clone()  # [batch] the live beam's group
    for t in range(prefix.shape[1]):
        logits, alpha, h, c = decoder.step(words, enc, projected, h, c, rows_per_photo=m)
        forced = prefix[:, t]  # [batch]
        live = group * k
        total = scores[rows, live] + logits.float().log_softmax(dim=1).view(batch, m, -1)[rows, live, forced]
        if bits is not None:
            group = group | bits[rows, forced]
        moved = group * k
        # The live row moves to its new group's beam 0: swap rows live <-> moved (the other one is dead).
        order = torch.arange(batch * m, device=device).view(batch, m)
        order[rows, moved], order[rows, live] = rows * m + live, rows * m + moved
        order = order.view(-1)
        scores = torch.full_like(scores, float("-inf"))
        scores[rows, moved] = total
        words = forced.repeat_interleave(m)
        seqs = torch.cat([seqs[order], words.unsqueeze(1)], dim=1)
        seq_alphas = torch.cat([seq_alphas[order], alpha[order].unsqueeze(1)], dim=1)
        h, c = h[order], c[order]
    return h, c, scores, seqs, seq_alphas, words


@torch.inference_mode()
def beam_search(
    decoder: DecoderWithAttention,
    encoder_out: torch.Tensor,
    word_map: WordMap,
    beam_size: int = 5,
    max_len: int = 30,
    length_penalty: float = 1.0,
    n_best: int | None = None,
    no_repeat_ngram: int = NO_REPEAT_NGRAM,
    constraints: Sequence[Sequence[Sequence[int]]] | None = None,
    prefix: torch.Tensor | None = None,
    singular_only: Sequence[int] = (),
    banned_per_photo: Sequence[Sequence[int]] | None = None,
) -> list[list[Caption]]:
    """encoder_out [B, P, E] -> for each photo its n_best (default k) captions, best first.

    constraints[b] = the constraints of photo b, each a list of word ids (any one satisfies it).
    Photos with fewer constraints than others in the batch treat the missing ones as met.
    prefix [B, L] = word ids every caption of photo b starts with ("a", "giraffe"): fed to the decoder and
    scored like any other words (so the captions compare with unforced ones), then the search goes on.
    singular_only = word ids (the plural forms a constraint allows) never proposed within ARTICLE_WINDOW words
    after "a"/"an": "two dogs" and "a dog", not "a brown dogs".
    banned_per_photo[b] = word ids photo b's captions never use (people.py: person words in a photo without
    people)."""
    decoder.eval()
    k = beam_size
    n_best = n_best or k
    batch, cells, _ = encoder_out.shape
    device = encoder_out.device
    inf = float("-inf")

    n_cons = max((len(c) for c in constraints), default=0) if constraints else 0
    groups = 1 << n_cons  # G
    full = groups - 1  # the group that has met every constraint
    m = groups * k  # rows per photo
    # bits[b, w] = which constraints of photo b word w meets; start[b] = the constraints photo b lacks.
    vocab = decoder.vocab_size if hasattr(decoder, "vocab_size") else len(word_map)
    bits = torch.zeros((batch, vocab), dtype=torch.long, device=device) if n_cons else None
    start_group = torch.zeros(batch, dtype=torch.long, device=device)
    for b in range(batch if n_cons else 0):
        photo_cons = list(constraints[b])
        for j in range(n_cons):
            if j < len(photo_cons) and photo_cons[j]:
                bits[b, torch.tensor(list(photo_cons[j]), device=device)] |= 1 << j
            else:
                start_group[b] |= 1 << j
    group_of_row = torch.arange(groups, device=device).repeat_interleave(k)  # [m]
    # The words that move a hypothesis to another group, per photo: cw[b] their ids (padded with <pad>, which is
    # never proposed), cbits[b] the constraints each meets. Every other word keeps a hypothesis in its group.
    cw, cbits = _constraint_words(bits, word_map.pad) if n_cons else (None, None)
    group_ids = torch.arange(groups, device=device)

    enc = encoder_out  # [b, P, E], one per active photo
    projected = decoder.attention.project(enc)  # [b, P, A]
    h, c = decoder.init_state(enc)  # [b, D]
    h, c = h.repeat_interleave(m, dim=0), c.repeat_interleave(m, dim=0)  # [b*m, D]
    words = torch.full((batch * m,), word_map.start, dtype=torch.long, device=device)
    # Only beam 0 of each photo's starting group is alive: otherwise the top-k would be k copies.
    scores = torch.full((batch, m), inf, device=device)
    scores[torch.arange(batch, device=device), start_group * k] = 0.0
    seqs = torch.empty((batch * m, 0), dtype=torch.long, device=device)
    seq_alphas = torch.empty((batch * m, 0, cells), device=device)
    active = torch.arange(batch, device=device)  # photo of each active slot
    finished: list[list[Caption]] = [[] for _ in range(batch)]
    banned = [word_map.pad, word_map.start, word_map.unk]
    conjunction = word_map.word_to_id.get("and")
    articles = torch.tensor([word_map.word_to_id[a] for a in ("a", "an") if a in word_map.word_to_id],
                            dtype=torch.long, device=device)
    plurals = torch.tensor(sorted(set(singular_only)), dtype=torch.long, device=device)
    # photo_bans[b, w]: True where photo b may not use word w (the words no caption uses, and its own bans)
    photo_bans = torch.zeros((batch, vocab), dtype=torch.bool, device=device)
    photo_bans[:, banned] = True
    for b, ids in enumerate(banned_per_photo or []):
        if ids:
            photo_bans[b, torch.tensor(list(ids), dtype=torch.long, device=device)] = True
    bans_of_active = None  # photo_bans of the active photos, [b, 1, V]; None after the batch changes

    if prefix is not None and prefix.shape[1]:
        h, c, scores, seqs, seq_alphas, words = _force_prefix(
            decoder, prefix.to(device), words, enc, projected, h, c, scores, seqs, seq_alphas, bits, start_group, k
        )

    def met_count(group: int, photo: int) -> int:
        return bin(group & ~int(start_group[photo])).count("1")

    def finish(photo: int, total: float, word_seq: list[int], alphas: torch.Tensor, group: int) -> None:
        n = len(word_seq)
        finished[photo].append(
            Caption(
                words=word_map.decode(word_seq),
                score=total / (n + 1) ** length_penalty,  # +1 counts the <end> token
                logprob=total,
                alphas=alphas[:n].cpu(),
                met=met_count(group, photo),
                constraints=len(constraints[photo]) if constraints else 0,
                ids=word_seq,
            )
        )

    for _step in range(max_len - seqs.shape[1]):  # a prefix counts towards max_len
        b = active.shape[0]
        logits, alpha, h, c = decoder.step(words, enc, projected, h, c, rows_per_photo=m)  # [b*m, V], [b*m, P]
        logprobs = logits.float().log_softmax(dim=1)  # [b*m, V]
        vocab = logprobs.shape[1]
        if bans_of_active is None:  # the batch's photos changed
            bans_of_active = photo_bans[active].unsqueeze(1)  # [b, 1, V]
        logprobs.view(b, m, vocab).masked_fill_(bans_of_active, inf)
        _ban_repeats(logprobs, seqs, no_repeat_ngram, conjunction)
        _ban_plurals_after_articles(logprobs, seqs, articles, plurals)
        if groups > 1:  # only a hypothesis that met every constraint may end
            logprobs[(group_of_row != full).repeat(b), word_map.end] = inf
        candidates = (scores.view(b * m, 1) + logprobs).view(b, groups, k * vocab)  # [b, G, k*V]

        new_scores, src_rows, new_words = [], [], []
        if groups > 1:
            moves = _GroupMoves(candidates.view(b, groups, k, vocab), cw[active], cbits[active], group_ids)
        for g in range(groups):
            if groups > 1:
                top_scores, from_row, next_word = moves.top(g, 2 * k)  # [b, 2k] each
            else:
                top_scores, top_ids = candidates.view(b, m * vocab).topk(2 * k, dim=1)  # [b, 2k]
                from_row = top_ids // vocab  # row within the photo
                next_word = top_ids % vocab
            is_end = next_word == word_map.end
            if g == full:
                for slot, rank in is_end[:, :k].nonzero().tolist():
                    if top_scores[slot, rank] == inf:
                        continue
                    row = slot * m + int(from_row[slot, rank])
                    finish(int(active[slot]), float(top_scores[slot, rank]), seqs[row].tolist(), seq_alphas[row], g)
            keep = (~is_end).to(torch.int8).argsort(dim=1, descending=True, stable=True)[:, :k]  # [b, k]
            new_scores.append(top_scores.gather(1, keep))
            src_rows.append(from_row.gather(1, keep))
            new_words.append(next_word.gather(1, keep))

        done = torch.tensor([len(finished[int(p)]) >= n_best for p in active], device=device)
        if bool(done.all()):
            active = active[:0]
            break
        scores = torch.stack(new_scores, dim=1).view(b, m)
        src = (torch.arange(b, device=device).unsqueeze(1) * m + torch.stack(src_rows, dim=1).view(b, m))  # [b, m]
        words_next = torch.stack(new_words, dim=1).view(b, m)
        # Photos with all their captions leave the batch; the rest carry their rows forward.
        if bool(done.any()):
            still = (~done).nonzero().squeeze(1)
            src, scores, words_next = src[still], scores[still], words_next[still]
            enc, projected, active = enc[still], projected[still], active[still]  # [b', P, E] ... (copies)
            bans_of_active = None
        src, words = src.view(-1), words_next.view(-1)
        seqs = torch.cat([seqs[src], words.unsqueeze(1)], dim=1)
        seq_alphas = torch.cat([seq_alphas[src], alpha[src].unsqueeze(1)], dim=1)
        h, c = h[src], c[src]

    # max_len reached: photos short of n_best take their live beams, from the group that met the most.
    for slot, photo in enumerate(active.tolist()):
        if len(finished[photo]) >= n_best:
            continue
        order = sorted(range(groups), key=lambda g: (bin(g).count("1"), g), reverse=True)
        for g in order:
            rows = [slot * m + g * k + beam for beam in range(k) if scores[slot, g * k + beam] > inf]
            if not rows:
                continue
            for row in rows:
                finish(photo, float(scores.view(-1)[row]), seqs[row].tolist(), seq_alphas[row], g)
            break

    for photo_caps in finished:
        photo_caps.sort(key=lambda cap: cap.score, reverse=True)
    return [caps[:n_best] for caps in finished]
