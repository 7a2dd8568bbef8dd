"""Train the image–text retrieval head (text/retrieval.py) on Flickr8k, contrastively.

    photosearch train-retrieval --data ../shared/flickr8k [--cache-dir DIR] [--out DIR] [--resume]

1. encoder features: read (or compute once) <cache>/efficientnet-lite0-{train,dev,test}.pt, the same
   cache the captioner trains on: grid float16 [N, 49, 1280] per split;
2. caption embeddings: every Flickr8k caption (tokenised as everywhere else, words joined by spaces)
   through all-MiniLM-L6-v2 once -> <cache>/minilm-flickr8k-captions.pt, float32 [40k, 384];
3. train both towers with a symmetric InfoNCE loss. A batch is B photos with their captions:

       logits = scale · text @ image.T                       [M, B]   M = B · captions_per_photo
       text->image: cross-entropy, each caption's target is its photo
       image->text: each photo's softmax over the M captions; its own captions are the positives
       loss = (text->image + image->text) / 2

   Regularisation, because 6,000 photos is little: dropout in both towers, AdamW weight decay,
   "cell dropout" (each photo pools over a random ~75% of its 49 grid cells, like a random crop),
   Gaussian noise on the MiniLM input, a fresh choice among the five captions every epoch, an
   exponential moving average of the weights, and early stopping on dev mean recall;
4. evaluation = text->image retrieval within a split: 5,000 caption queries, each ranking the split's
   1,000 photos; R@K = share of queries whose photo is in the top K, plus the median rank;
5. export the best (dev) weights in half precision into the package: weights/retrieval-flickr8k.pt.

A checkpoint is written after every epoch (<out>/last.pt), so --resume continues a killed run.
On 2 CPU cores (1 thread) an epoch takes well under a minute; the whole run a few minutes.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from photosearch.errors import InvalidInput
from photosearch.text.retrieval import DEFAULT_WEIGHTS, RetrievalConfig, RetrievalHead

ENCODER_NAME = "efficientnet-lite0"
SPLITS = ("train", "dev", "test")


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "photosearch" / "flickr8k"


# --- data ----------------------------------------------------------------------------------------


def load_features(data_dir: Path, cache_dir: Path) -> dict[str, dict]:
    """{split: {"names": [N], "grid": float16 [N, 49, 1280]}}; computes missing caches with the encoder."""
    from photosearch.vision.captioner.dataset import cache_features, read_split

    out, encoder = {}, None
    for split in SPLITS:
        path = cache_dir / f"{ENCODER_NAME}-{split}.pt"
        names = read_split(data_dir, split)
        cached = torch.load(path, weights_only=True) if path.exists() else None
        if cached is None or cached["names"] != names:
            if encoder is None:
                from photosearch.vision.encoder import EfficientNetLite0Encoder

                encoder = EfficientNetLite0Encoder()
            cached = cache_features(encoder, data_dir, split, cache_dir)
        out[split] = cached
    return out


def caption_texts(data_dir: Path) -> dict[str, list[str]]:
    """{photo name: its captions as the project tokenises them, words joined by single spaces}."""
    from photosearch.vision.captioner.dataset import read_captions

    return {name: [" ".join(words) for words in caps] for name, caps in read_captions(data_dir).items()}


def embed_captions(texts: list[str], cache_dir: Path, batch_size: int = 128) -> torch.Tensor:
    """MiniLM vectors of `texts`, float32 [M, 384], cached in <cache>/minilm-flickr8k-captions.pt."""
    from photosearch.text.embedder import TextEmbedder

    path = cache_dir / "minilm-flickr8k-captions.pt"
    if path.exists():
        cached = torch.load(path, weights_only=True)
        if cached["texts"] == texts:
            return cached["emb"]
    embedder = TextEmbedder()
    chunks = []
    for start in tqdm(range(0, len(texts), batch_size), desc="embedding captions", unit="batch"):
        batch = texts[start : start + batch_size]
        chunks.append(torch.from_numpy(embedder.embed(batch, batch_size=batch_size)))  # [b, 384]
    emb = torch.cat(chunks)  # [M, 384]
    cache_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"model": embedder.name, "texts": texts, "emb": emb}, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)
    return emb


def split_tensors(names: list[str], captions: dict[str, list[str]], index: dict[str, int], emb: torch.Tensor):
    """Caption rows of one split: text [M, 384], owner [M] (photo index in the split), caps [N, 5] rows."""
    rows, owner, per_photo = [], [], []
    for i, name in enumerate(names):
        mine = [index[(name, k)] for k in range(len(captions.get(name, [])))]
        if not mine:
            raise InvalidInput(f"photo {name} has no captions")
        per_photo.append((mine * 5)[:5])  # pad the rare photo with fewer than 5 by repeating
        rows += mine
        owner += [i] * len(mine)
    return emb[rows], torch.tensor(owner), torch.tensor(per_photo)


# --- loss and evaluation -------------------------------------------------------------------------


def contrastive_loss(
    image: torch.Tensor, text: torch.Tensor, owner: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """Symmetric InfoNCE. image [B, d], text [M, d] (unit rows), owner [M]: each caption's photo (0..B-1)."""
    logits = scale * text @ image.T  # [M, B]
    t2i = F.cross_entropy(logits, owner)  # each caption -> its photo among B
    logp = logits.T.log_softmax(-1)  # [B, M]: each photo over all M captions
    positive = owner[None, :] == torch.arange(image.shape[0], device=owner.device)[:, None]  # [B, M]
    i2t = -(logp * positive).sum(1) / positive.sum(1).clamp_min(1)  # mean log-prob of its own captions
    return (t2i + i2t.mean()) / 2


@torch.no_grad()
def evaluate(head: RetrievalHead, grid: torch.Tensor, text: torch.Tensor, owner: torch.Tensor) -> dict:
    """Text->image within a split. grid [N, 49, 1280], text [M, 384], owner [M] -> R@1/5/10, median rank."""
    head.eval()
    images = torch.cat([head.encode_image(grid[i : i + 250].float()) for i in range(0, len(grid), 250)])
    # images [N, d]
    texts = head.encode_text(text)  # [M, d]
    sims = texts @ images.T  # [M, N]
    correct = sims.gather(1, owner[:, None])  # [M, 1]
    ranks = (sims > correct).sum(1) + 1  # [M], 1 = the right photo is first
    out = {f"R@{k}": float((ranks <= k).float().mean()) for k in (1, 5, 10)}
    out["median_rank"] = float(ranks.float().median())
    out["mean_recall"] = (out["R@1"] + out["R@5"] + out["R@10"]) / 3
    out["photos"], out["queries"] = int(grid.shape[0]), int(text.shape[0])
    return out


def format_table(results: dict[str, dict]) -> str:
    lines = ["split  photos  queries   R@1    R@5    R@10   median rank",
             "-----  ------  -------  -----  -----  -----  -----------"]
    for split, m in results.items():
        lines.append(f"{split:<5}  {m['photos']:>6}  {m['queries']:>7}  {m['R@1']:.3f}  {m['R@5']:.3f}  "
                     f"{m['R@10']:.3f}  {m['median_rank']:>11.0f}")
    return "\n".join(lines)


# --- training ------------------------------------------------------------------------------------


def config_from_args(args: argparse.Namespace) -> RetrievalConfig:
    return RetrievalConfig(dim=args.dim, pool=args.pool, heads=args.heads, hidden=args.hidden,
                           text_hidden=args.text_hidden, dropout=args.dropout)


def train_steps(
    head: RetrievalHead,
    grid: torch.Tensor,
    caps: torch.Tensor,
    text: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    args: argparse.Namespace,
    generator: torch.Generator,
    ema: RetrievalHead | None = None,
    schedule=None,
    desc: str = "train",
) -> float:
    """One pass over the photos in random order. grid [N, P, C] photos, caps [N, 5] caption rows of
    `text` [M, 384]. Returns the mean loss."""
    head.train()
    n, k = grid.shape[0], args.captions_per_photo
    order = torch.randperm(n, generator=generator)
    total, seen = 0.0, 0
    bar = tqdm(range(0, n, args.batch_size), desc=desc, unit="batch", leave=False, disable=args.quiet)
    for start in bar:
        idx = order[start : start + args.batch_size]  # [B] photos
        B = len(idx)
        if B < 2:
            continue
        g = grid[idx].float()  # [B, P, C]
        # cell dropout: pool over a random subset of the grid (never fewer than half the cells)
        keep = torch.rand(g.shape[:2], generator=generator) >= args.cell_drop  # [B, P]
        keep[:, 0] |= ~keep.any(1)  # at least one cell
        # captions: k of each photo's five, a fresh random choice every step
        choice = torch.stack([torch.randperm(5, generator=generator)[:k] for _ in range(B)])  # [B, k]
        rows = caps[idx].gather(1, choice).reshape(-1)  # [B * k]
        t = text[rows]  # [B*k, 384]
        if args.text_noise > 0:
            t = F.normalize(t + args.text_noise * torch.randn(t.shape, generator=generator), dim=-1)
        owner = torch.arange(B).repeat_interleave(k)  # [B*k]
        if schedule is not None:
            for group in optimizer.param_groups:
                group["lr"] = schedule()
        loss = contrastive_loss(head.encode_image(g, keep), head.encode_text(t), owner, head.scale())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(head.parameters(), 5.0)
        optimizer.step()
        if ema is not None:
            with torch.no_grad():
                for pe, p in zip(ema.parameters(), head.parameters(), strict=True):
                    pe.lerp_(p, 1.0 - args.ema)
        total += loss.item() * B
        seen += B
        bar.set_postfix(loss=f"{total / seen:.3f}", T=f"{1 / head.scale().item():.3f}")
    return total / max(seen, 1)


def train(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    data_dir = Path(args.data)
    cache_dir = Path(args.cache_dir or default_cache_dir())
    out = Path(args.out or cache_dir / "retrieval-run")
    out.mkdir(parents=True, exist_ok=True)

    feats = load_features(data_dir, cache_dir)
    captions = caption_texts(data_dir)
    all_names = [n for s in SPLITS for n in feats[s]["names"]]
    texts, index = [], {}
    for name in all_names:
        for k, caption in enumerate(captions.get(name, [])):
            index[(name, k)] = len(texts)
            texts.append(caption)
    emb = embed_captions(texts, cache_dir)  # [M_all, 384]
    data = {s: split_tensors(feats[s]["names"], captions, index, emb) for s in SPLITS}  # text, owner, caps
    print(f"{len(texts)} captions of {len(all_names)} photos; train {len(feats['train']['names'])} photos")

    cfg = config_from_args(args)
    head = RetrievalHead(cfg)
    ema = copy.deepcopy(head).requires_grad_(False) if args.ema > 0 else None
    decay, no_decay = [], []
    for p in head.parameters():  # no weight decay on norms, biases and the temperature
        (decay if p.ndim >= 2 else no_decay).append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    steps_per_epoch = math.ceil(len(feats["train"]["names"]) / args.batch_size)
    total_steps, warmup = args.epochs * steps_per_epoch, steps_per_epoch
    step = [0]

    def schedule() -> float:  # linear warm-up for an epoch, then cosine to 1/20 of the peak
        step[0] += 1
        s = step[0]
        if s <= warmup:
            return args.lr * s / warmup
        progress = min(1.0, (s - warmup) / max(1, total_steps - warmup))
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))

    state = {"epoch": 0, "best": -1.0, "best_epoch": 0, "since_improvement": 0, "history": []}
    best_state = None
    last = out / "last.pt"
    if args.resume and last.exists():
        ckpt = torch.load(last, weights_only=True)
        if ckpt["config"] != asdict(cfg):
            raise InvalidInput(f"{last} was trained with another configuration: drop --resume or change --out")
        head.load_state_dict(ckpt["head"])
        if ema is not None and ckpt.get("ema") is not None:
            ema.load_state_dict(ckpt["ema"])
        optimizer.load_state_dict(ckpt["optimizer"])
        state, best_state, step[0] = json.loads(ckpt["state"]), ckpt["best_state"], ckpt["step"]
        print(f"resumed after epoch {state['epoch']} (best dev mean recall {state['best']:.4f})")

    train_grid = feats["train"]["grid"]  # [6000, 49, 1280] float16
    train_text, _, train_caps = data["train"]
    dev_grid, (dev_text, dev_owner, _) = feats["dev"]["grid"], data["dev"]
    for epoch in range(state["epoch"] + 1, args.epochs + 1):
        if state["since_improvement"] >= args.patience:
            print(f"early stop: {args.patience} epochs without dev improvement")
            break
        started = time.time()
        generator = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        loss = train_steps(head, train_grid, train_caps, train_text, optimizer, args, generator, ema,
                           schedule, desc=f"epoch {epoch}")
        scored = ema if ema is not None else head
        dev = evaluate(scored, dev_grid, dev_text, dev_owner)
        improved = dev["mean_recall"] > state["best"]
        if improved:
            state.update(best=dev["mean_recall"], best_epoch=epoch, since_improvement=0)
            best_state = {k: v.clone() for k, v in scored.state_dict().items()}
        else:
            state["since_improvement"] += 1
        state["epoch"] = epoch
        state["history"].append({
            "epoch": epoch, "loss": round(loss, 4), "temperature": round(1 / head.scale().item(), 4),
            **{k: round(v, 4) for k, v in dev.items() if k.startswith(("R@", "mean"))},
            "median_rank": dev["median_rank"], "seconds": round(time.time() - started, 1)})
        print(f"epoch {epoch}: loss {loss:.3f}  dev R@1 {dev['R@1']:.3f} R@5 {dev['R@5']:.3f} "
              f"R@10 {dev['R@10']:.3f} medr {dev['median_rank']:.0f}{'  *best*' if improved else ''}"
              f"  {time.time() - started:.0f}s",
              flush=True)
        ckpt = {"config": asdict(cfg), "head": head.state_dict(), "ema": ema.state_dict() if ema else None,
                "optimizer": optimizer.state_dict(), "state": json.dumps(state), "best_state": best_state,
                "step": step[0]}
        torch.save(ckpt, last.with_suffix(".tmp"))
        last.with_suffix(".tmp").replace(last)  # atomic: a kill never corrupts last.pt

    if best_state is None:
        raise InvalidInput("no epoch was trained")
    head.load_state_dict(best_state)
    results = {}
    for split in ("dev", "test"):
        text, owner, _ = data[split]
        results[split] = evaluate(head, feats[split]["grid"], text, owner)
    print(f"\nbest epoch {state['best_epoch']} of {state['epoch']} "
          "(text->image: each caption ranks its split's photos)")
    print(format_table(results))
    (out / "history.json").write_text(json.dumps({"config": asdict(cfg), "args": vars(args),
                                                  "history": state["history"], "results": results}, indent=1))
    if not args.no_export:
        export_path = Path(args.export)
        metrics = {"dev": results["dev"], "test": results["test"], "best_epoch": state["best_epoch"],
                   "encoder": ENCODER_NAME, "text_model": "all-minilm-l6-v2"}
        head.export(export_path, half=not args.full_precision, metrics=metrics)
        print(f"exported {export_path} ({export_path.stat().st_size / 1e6:.1f} MB)")
    return {"results": results, "state": state}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="Flickr8k folder (e.g. ../shared/flickr8k)")
    parser.add_argument("--cache-dir", default=None, help="feature + caption-embedding cache "
                        "(default ~/.cache/photosearch/flickr8k)")
    parser.add_argument("--out", default=None,
                        help="checkpoints and history (default CACHE_DIR/retrieval-run)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--export", default=str(DEFAULT_WEIGHTS), help="where the best weights go")
    parser.add_argument("--no-export", action="store_true", help="train and evaluate only")
    parser.add_argument("--full-precision", action="store_true", help="export float32 instead of float16")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=5,
                        help="epochs without dev improvement before stopping")
    parser.add_argument("--batch-size", type=int, default=128, help="photos per batch")
    parser.add_argument("--captions-per-photo", type=int, default=1, choices=range(1, 6),
                        help="captions of each photo in a batch (all are positives)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--pool", choices=("attn", "mean"), default="attn")
    parser.add_argument("--dim", type=int, default=256, help="joint space")
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--text-hidden", type=int, default=768)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--cell-drop", type=float, default=0.25, help="share of grid cells dropped per photo")
    parser.add_argument("--text-noise", type=float, default=0.0,
                        help="std of Gaussian noise on the MiniLM inputs")
    parser.add_argument("--ema", type=float, default=0.0, help="EMA decay of the weights (0: off)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the machine is shared)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    train(parser.parse_args(argv))


if __name__ == "__main__":
    main()
