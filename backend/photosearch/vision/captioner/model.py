"""Show, Attend and Tell (Xu et al., 2015): an LSTM that looks at a different part of the photo per word.

The encoder (frozen, see vision/encoder.py) turns a photo into a grid of P = 7×7 = 49 feature vectors of
size E = 1280. At every step t the decoder
    1. scores each grid cell against its hidden state h (soft attention) -> alpha_t  [B, P], sums to 1
    2. takes the attention-weighted feature  z_t = gate(h) * sum_p alpha_tp * grid_p   [B, E]
       (the "gating scalar" beta = sigmoid(f_beta(h)) lets it ignore the photo for words like "a")
    3. feeds [embedding(previous word); z_t] to an LSTMCell and predicts the next word from h.
The first hidden state comes from the mean feature. Training uses teacher forcing (the true previous word)
and the "doubly stochastic" penalty lambda * sum_p (1 - sum_t alpha_tp)² that pushes the model to look at
every part of the photo over the sentence.

Open vocabulary (Anderson et al. 2017, "Guided Open Vocabulary Image Captioning with Constrained Beam
Search"): with `word_dim > 0` the decoder owns no word table of its own. Every word is a FIXED pretrained
vector (all-MiniLM-L6-v2's vector of the word alone, 384-d, unit length; text/embedder.py), held in the
buffer `word_vectors` [V, W]. The input embedding is a learned linear map of that vector, and the output
score of word w is  <out_proj(h), v_w> + bias_w.  So a word the training captions never had (giraffe,
espresso) is added after training by appending its vector (`add_words`): the decoder can read and
write it at once. Only <pad>, <unk>, <start> and <end> have learned vectors (they mean nothing to MiniLM).
A new word's bias is copied from its nearest known word (cosine of the vectors).

Attribute names follow sgrvinod's a-PyTorch-Tutorial-to-Image-Captioning, so its checkpoints' decoder
weights load into this class unchanged (see compat.py).

Notation: B batch, P grid cells, E encoder dim, A attention dim, D decoder dim, M embedding dim,
V vocabulary, T caption length.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class CaptionerConfig:
    vocab_size: int
    encoder_dim: int = 1280
    attention_dim: int = 512
    embed_dim: int = 512
    decoder_dim: int = 512
    dropout: float = 0.5
    word_dim: int = 0  # > 0: fixed pretrained word vectors of this size (open vocabulary); 0: learned table

    def to_dict(self) -> dict:
        return asdict(self)


class Attention(nn.Module):
    """Additive (Bahdanau) attention over the grid cells."""

    def __init__(self, encoder_dim: int, decoder_dim: int, attention_dim: int) -> None:
        super().__init__()
        self.encoder_att = nn.Linear(encoder_dim, attention_dim)  # E -> A
        self.decoder_att = nn.Linear(decoder_dim, attention_dim)  # D -> A
        self.full_att = nn.Linear(attention_dim, 1)  # A -> 1 score per cell
        self.relu = nn.ReLU()

    def project(self, encoder_out: torch.Tensor) -> torch.Tensor:
        """[B, P, E] -> [B, P, A]. Done once per caption, not once per word: it does not depend on h."""
        return self.encoder_att(encoder_out)

    def forward(
        self, encoder_out: torch.Tensor, projected: torch.Tensor, hidden: torch.Tensor, rows_per_photo: int = 1
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """hidden [R, D] with R = B * rows_per_photo (rows of a photo adjacent) -> context [R, E], alpha [R, P].

        encoder_out [B, P, E] and projected [B, P, A] hold each photo ONCE; its rows (beam search's
        hypotheses) share them, so the photo is never copied per row and the weighted sum is one batched
        matrix product per photo."""
        batch, cells, _ = encoder_out.shape
        query = self.decoder_att(hidden).view(batch, rows_per_photo, 1, -1)  # [B, m, 1, A]
        scores = self.full_att(self.relu(projected.unsqueeze(1) + query)).squeeze(3)  # [B, m, P]
        alpha = scores.softmax(dim=2)  # [B, m, P]
        context = torch.bmm(alpha, encoder_out)  # [B, m, E]
        return context.view(-1, encoder_out.shape[2]), alpha.view(-1, cells)


class DecoderWithAttention(nn.Module):
    def __init__(self, config: CaptionerConfig, special_ids: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.config = config
        c = config
        self.attention = Attention(c.encoder_dim, c.decoder_dim, c.attention_dim)
        self.dropout = nn.Dropout(p=c.dropout)
        self.decode_step = nn.LSTMCell(c.embed_dim + c.encoder_dim, c.decoder_dim, bias=True)
        self.init_h = nn.Linear(c.encoder_dim, c.decoder_dim)
        self.init_c = nn.Linear(c.encoder_dim, c.decoder_dim)
        self.f_beta = nn.Linear(c.decoder_dim, c.encoder_dim)  # the gating scalar, one per feature
        self.open_vocabulary = c.word_dim > 0
        if self.open_vocabulary:
            self.register_buffer("word_vectors", torch.zeros(c.vocab_size, c.word_dim))  # fixed, [V, W]
            self.register_buffer("special_ids", torch.tensor(special_ids or [0], dtype=torch.long))
            self.special_vectors = nn.Parameter(torch.randn(len(self.special_ids), c.word_dim) * 0.05)
            self.in_proj = nn.Linear(c.word_dim, c.embed_dim)  # W -> M
            self.out_proj = nn.Linear(c.decoder_dim, c.word_dim)  # D -> W
            self.out_bias = nn.Parameter(torch.zeros(c.vocab_size))  # [V]
            self._table: torch.Tensor | None = None  # word vectors with the special rows, cached in eval
        else:
            self.embedding = nn.Embedding(c.vocab_size, c.embed_dim)
            self.fc = nn.Linear(c.decoder_dim, c.vocab_size)
            self.embedding.weight.data.uniform_(-0.1, 0.1)
            self.fc.bias.data.fill_(0)
            self.fc.weight.data.uniform_(-0.1, 0.1)

    # -- words ---------------------------------------------------------------------------------------
    def vector_table(self) -> torch.Tensor:
        """[V, W]: the fixed vectors with the learned special-token rows put in."""
        if self._table is not None and not self.training:
            return self._table
        table = self.word_vectors.index_copy(0, self.special_ids, self.special_vectors)
        self._table = None if self.training else table.detach()
        return table

    def train(self, mode: bool = True) -> DecoderWithAttention:
        if self.open_vocabulary:
            self._table = None
        return super().train(mode)

    def embed(self, words: torch.Tensor) -> torch.Tensor:
        """word ids [...] -> input embeddings [..., M]."""
        if not self.open_vocabulary:
            return self.embedding(words)
        return self.in_proj(self.vector_table()[words])

    def word_logits(self, h: torch.Tensor) -> torch.Tensor:
        """decoder states [B, D] -> scores of every word [B, V]."""
        if not self.open_vocabulary:
            return self.fc(h)
        return self.out_proj(h) @ self.vector_table().T + self.out_bias

    @property
    def vocab_size(self) -> int:
        return self.word_vectors.shape[0] if self.open_vocabulary else self.fc.out_features

    @torch.no_grad()
    def add_words(self, vectors: torch.Tensor) -> None:
        """Append words (their fixed vectors [N, W], unit length) after the last id; open vocabulary only.

        Their output bias is the bias of the nearest known non-special word, so a new word starts as likely
        as the word that means most nearly the same."""
        if not self.open_vocabulary:
            raise ValueError("only an open-vocabulary decoder (word_dim > 0) can learn words after training")
        vectors = vectors.to(self.word_vectors)
        known = self.word_vectors.clone()
        known[self.special_ids] = 0.0  # specials are never a neighbour
        nearest = (vectors @ known.T).argmax(dim=1)  # [N]
        self.word_vectors = torch.cat([self.word_vectors, vectors])
        self.out_bias = nn.Parameter(torch.cat([self.out_bias.data, self.out_bias.data[nearest]]))
        self.config.vocab_size = self.word_vectors.shape[0]
        self._table = None

    def init_state(self, encoder_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = encoder_out.mean(dim=1)  # [B, E]
        return self.init_h(mean), self.init_c(mean)  # [B, D] each

    def step(
        self,
        words: torch.Tensor,
        encoder_out: torch.Tensor,
        projected: torch.Tensor,
        h: torch.Tensor,
        c: torch.Tensor,
        rows_per_photo: int = 1,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One word for every row: words [R] -> (logits [R, V], alpha [R, P], h, c), R = B * rows_per_photo."""
        context, alpha = self.attention(encoder_out, projected, h, rows_per_photo)  # [R, E], [R, P]
        gate = torch.sigmoid(self.f_beta(h))  # [B, E]
        h, c = self.decode_step(torch.cat([self.embed(words), gate * context], dim=1), (h, c))  # [B, D]
        return self.word_logits(self.dropout(h)), alpha, h, c

    def forward(
        self, encoder_out: torch.Tensor, captions: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing.

        encoder_out [B, P, E]; captions [B, T] = <start> w1 .. wn <end> <pad>..; lengths [B] count
        <start> through <end>. Returns logits [B, T-1, V] predicting captions[:, 1:] and alphas [B, T-1, P];
        positions at or past a caption's length are left zero (mask them in the loss).
        """
        batch, cells, _ = encoder_out.shape
        steps = int(lengths.max().item()) - 1  # we never feed <end>
        # Sort by length so the rows still decoding at step t are a prefix [:active] (no wasted work).
        lengths, order = lengths.sort(descending=True)
        encoder_out, captions = encoder_out[order], captions[order]
        projected = self.attention.project(encoder_out)  # [B, P, A]
        h, c = self.init_state(encoder_out)
        logits = encoder_out.new_zeros(batch, steps, self.vocab_size)
        alphas = encoder_out.new_zeros(batch, steps, cells)
        decode_lengths = (lengths - 1).tolist()
        for t in range(steps):
            active = sum(n > t for n in decode_lengths)
            step_logits, alpha, h_new, c_new = self.step(
                captions[:active, t], encoder_out[:active], projected[:active], h[:active], c[:active]
            )
            logits[:active, t] = step_logits
            alphas[:active, t] = alpha
            h, c = h_new, c_new
        # Undo the sort so outputs line up with the inputs.
        inverse = order.argsort()
        return logits[inverse], alphas[inverse]


def caption_loss(
    logits: torch.Tensor,
    alphas: torch.Tensor,
    captions: torch.Tensor,
    lengths: torch.Tensor,
    alpha_c: float = 1.0,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Cross-entropy over real words + the doubly stochastic attention penalty."""
    targets = captions[:, 1 : logits.shape[1] + 1]  # [B, T-1]
    steps = torch.arange(logits.shape[1], device=logits.device)
    mask = steps.unsqueeze(0) < (lengths - 1).unsqueeze(1)  # [B, T-1] True on real targets
    ce = nn.functional.cross_entropy(logits[mask], targets[mask], label_smoothing=label_smoothing)
    coverage = ((1.0 - alphas.sum(dim=1)) ** 2).mean()  # alphas are 0 on padding, so sums are over real steps
    return ce + alpha_c * coverage
