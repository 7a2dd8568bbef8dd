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

Open vocabulary (after Anderson et al. 2017, "Guided Open Vocabulary Image Captioning with Constrained Beam
Search", who fed fixed pretrained word vectors in and out): every word has a pretrained vector, all-MiniLM-L6-v2's
vector of the word alone (384-d, text/embedder.py). `add_words` teaches the trained decoder words its
training captions never had (giraffe, espresso): two linear maps, fitted by least squares over the words it
knows, send a word's vector to its input embedding row and to its output row (the output bias is copied from
the nearest known word). The known words keep the rows they were trained with, so the captions of everything
Flickr8k covers stay exactly as good, and a new word is read and written like the known words near it in
meaning. Constrained beam search (beam.py) then decides when a new word must be said.

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

    def to_dict(self) -> dict:
        return asdict(self)


class Attention(nn.Module):
    """Additive (Bahdanau) attention over the grid cells."""

    def __init__(self, encoder_dim: int, decoder_dim: int, attention_dim: int) -> None:
        super().__init__()
        self.encoder_att = nn.Linear(encoder_dim, attention_dim)  # E -> A
        self.decoder_att = nn.Linear(decoder_dim, attention_dim)  # D -> A
        self.full_att = nn.Linear(attention_dim, 1)  # A -> 1 score per cell
        self.relu = nn.ReLU(inplace=True)  # on the fresh sum below: one [rows, P, A] tensor fewer each step

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
    def __init__(self, config: CaptionerConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.attention = Attention(c.encoder_dim, c.decoder_dim, c.attention_dim)
        self.embedding = nn.Embedding(c.vocab_size, c.embed_dim)
        self.dropout = nn.Dropout(p=c.dropout)
        self.decode_step = nn.LSTMCell(c.embed_dim + c.encoder_dim, c.decoder_dim, bias=True)
        self.init_h = nn.Linear(c.encoder_dim, c.decoder_dim)
        self.init_c = nn.Linear(c.encoder_dim, c.decoder_dim)
        self.f_beta = nn.Linear(c.decoder_dim, c.encoder_dim)  # the gating scalar, one per feature
        self.fc = nn.Linear(c.decoder_dim, c.vocab_size)
        self.embedding.weight.data.uniform_(-0.1, 0.1)
        self.fc.bias.data.fill_(0)
        self.fc.weight.data.uniform_(-0.1, 0.1)

    @property
    def vocab_size(self) -> int:
        return self.fc.out_features

    @torch.no_grad()
    def add_words(self, new_vectors: torch.Tensor, known_vectors: torch.Tensor, known_ids: torch.Tensor) -> None:
        """Append words after the last id, from their pretrained vectors (unit length).

        new_vectors [N, W]; known_vectors [K, W] the vectors of K words the decoder was trained on, whose
        ids are known_ids [K]. Input and output rows of the new words come from least-squares linear maps
        vector -> row fitted on the known words; each new word's output bias is its nearest known word's."""
        new_vectors = new_vectors.float()
        known_vectors = known_vectors.float()
        ones = torch.ones(len(known_vectors), 1)
        design = torch.cat([known_vectors, ones], dim=1)  # [K, W+1]
        targets = torch.cat([self.embedding.weight[known_ids], self.fc.weight[known_ids]], dim=1)  # [K, M+D]
        # A little ridge keeps the maps smooth: K ~ 2,300 words for 385 unknowns per output column.
        gram = design.T @ design + 1e-2 * torch.eye(design.shape[1])
        maps = torch.linalg.solve(gram, design.T @ targets)  # [W+1, M+D]
        rows = torch.cat([new_vectors, torch.ones(len(new_vectors), 1)], dim=1) @ maps  # [N, M+D]
        embed_rows, out_rows = rows[:, : self.config.embed_dim], rows[:, self.config.embed_dim :]
        nearest = known_ids[(new_vectors @ known_vectors.T).argmax(dim=1)]  # [N]
        embedding = torch.cat([self.embedding.weight, embed_rows])
        weight = torch.cat([self.fc.weight, out_rows])
        bias = torch.cat([self.fc.bias, self.fc.bias[nearest]])
        self.embedding = nn.Embedding.from_pretrained(embedding, freeze=False)
        self.fc = nn.Linear(self.config.decoder_dim, len(weight))
        self.fc.weight.copy_(weight)
        self.fc.bias.copy_(bias)
        self.config.vocab_size = len(weight)

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
        h, c = self.decode_step(torch.cat([self.embedding(words), gate * context], dim=1), (h, c))  # [B, D]
        return self.fc(self.dropout(h)), alpha, h, c

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
