"""all-MiniLM-L6-v2 as a sentence embedder, in plain torch: tokenizer -> 6-layer BERT -> mean -> unit length.

This is the whole network sentence-transformers runs for this model (its modules.json: Transformer, mean
Pooling, Normalize), read from the same packaged files (`tokenizer.json`, `config.json`, `model.safetensors`).
Written out here because importing sentence-transformers and transformers costs ~4 s of every command's
start-up and several ms of generic Python per query; tests/unit/test_minilm.py checks the vectors equal
sentence-transformers' to 1e-5.

Notation: N sentences, T tokens (the longest sentence, at most MAX_TOKENS, [CLS] and [SEP] included),
H = 384 hidden size, A = 12 attention heads of H / A = 32, F = 1536 feed-forward size.

    ids, mask        [N, T]     WordPiece ids (lower-cased, accents stripped), 1 on real tokens
    embeddings       [N, T, H]  word + position + token-type embeddings, LayerNorm
    6 x layer        [N, T, H]  x = LayerNorm(x + SelfAttention(x));  x = LayerNorm(x + W2 gelu(W1 x))
    mean over mask   [N, H]     padding tokens do not count
    normalise        [N, H]     unit length, so a dot product is a cosine
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 (torch's own convention)

MAX_TOKENS = 256  # sentence_bert_config.json "max_seq_length": longer texts are cut, as sentence-transformers does


class Layer(nn.Module):
    """One post-LayerNorm BERT encoder layer; parameter names follow the checkpoint's."""

    def __init__(self, hidden: int, heads: int, ffn: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))
        self.attention_out = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.Linear(hidden, ffn)
        self.output = nn.Linear(ffn, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """x [N, T, H], bias [N, 1, 1, T] (0 on tokens, -inf-like on padding) -> [N, T, H]."""
        n, t, h = x.shape

        def split(proj: nn.Linear) -> torch.Tensor:  # [N, T, H] -> [N, A, T, H/A]
            return proj(x).view(n, t, self.heads, h // self.heads).transpose(1, 2)

        context = F.scaled_dot_product_attention(split(self.query), split(self.key), split(self.value), bias)
        context = context.transpose(1, 2).reshape(n, t, h)  # heads side by side again
        x = self.attention_norm(x + self.attention_out(context))
        return self.output_norm(x + self.output(F.gelu(self.intermediate(x))))


class MiniLM(nn.Module):
    def __init__(self, config: dict) -> None:
        super().__init__()
        hidden, eps = config["hidden_size"], config["layer_norm_eps"]
        self.words = nn.Embedding(config["vocab_size"], hidden)
        self.positions = nn.Embedding(config["max_position_embeddings"], hidden)
        self.token_types = nn.Embedding(config["type_vocab_size"], hidden)
        self.embedding_norm = nn.LayerNorm(hidden, eps=eps)
        self.layers = nn.ModuleList(
            Layer(hidden, config["num_attention_heads"], config["intermediate_size"], eps)
            for _ in range(config["num_hidden_layers"])
        )

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ids, mask [N, T] -> sentence vectors [N, H], unit length."""
        positions = torch.arange(ids.shape[1], device=ids.device)
        # Every sentence is segment 0: token-type row 0 is simply added.
        x = self.words(ids) + self.positions(positions) + self.token_types.weight[0]
        x = self.embedding_norm(x)  # [N, T, H]
        keep = mask[:, None, None, :].bool()  # [N, 1, 1, T]
        bias = torch.zeros(keep.shape, dtype=x.dtype, device=x.device).masked_fill(~keep, torch.finfo(x.dtype).min)
        for layer in self.layers:
            x = layer(x, bias)
        weights = mask.unsqueeze(2).to(x.dtype)  # [N, T, 1]
        mean = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)  # [N, H]
        return F.normalize(mean, dim=1)


# checkpoint name (after "encoder.layer.{i}.") -> our parameter name (after "layers.{i}.")
LAYER_NAMES = {
    "attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
    "attention.output.dense": "attention_out", "attention.output.LayerNorm": "attention_norm",
    "intermediate.dense": "intermediate", "output.dense": "output", "output.LayerNorm": "output_norm",
}
EMBEDDING_NAMES = {
    "embeddings.word_embeddings": "words", "embeddings.position_embeddings": "positions",
    "embeddings.token_type_embeddings": "token_types", "embeddings.LayerNorm": "embedding_norm",
}


def rename(key: str) -> str | None:
    """A checkpoint key -> ours; None for what sentence embeddings do not use (the pooler, position_ids)."""
    stem, _, leaf = key.rpartition(".")
    if stem in EMBEDDING_NAMES:
        return f"{EMBEDDING_NAMES[stem]}.{leaf}"
    if stem.startswith("encoder.layer."):
        index, _, rest = stem[len("encoder.layer."):].partition(".")
        if rest in LAYER_NAMES:
            return f"layers.{index}.{LAYER_NAMES[rest]}.{leaf}"
    return None


class SentenceEncoder:
    """Tokenizer + MiniLM from a sentence-transformers folder. `encode(texts) -> float32 [N, H]` (a tensor)."""

    def __init__(self, folder: Path) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one thread per request; no fork warnings
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # padded per batch below, to the batch's longest sentence
        self.model = MiniLM(json.loads((folder / "config.json").read_text())).eval()
        state = {}
        for key, tensor in load_file(str(folder / "model.safetensors")).items():
            name = rename(key)
            if name is not None:
                state[name] = tensor.float()
        self.model.load_state_dict(state)  # strict: every parameter of ours must come from the file
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0

    @torch.inference_mode()
    def encode(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        encodings = self.tokenizer.encode_batch(texts)
        # Sentences of similar length share a batch (less padding), as sentence-transformers does.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out = torch.empty(len(texts), self.model.words.embedding_dim)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):
                tokens = encodings[i].ids
                ids[r, : len(tokens)] = torch.tensor(tokens)
                mask[r, : len(tokens)] = 1
            out[rows] = self.model(ids, mask)
        return out

