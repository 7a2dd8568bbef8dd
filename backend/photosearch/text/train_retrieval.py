"""Train the image–text retrieval head (text/retrieval.py) on Flickr8k, contrastively.

    photosearch train-retrieval --data ../shared/flickr8k [--cache-dir DIR] [--out DIR] [--resume]

The defaults are the recipe that won on the dev split (see weights/RETRIEVAL_MODEL_CARD.md):

1. encoder features: read (or compute once) <cache>/efficientnet-lite0-{train,dev,test}.pt, the same
   cache the captioner trains on: grid float16 [N, 49, 1280] per split;
2. augmented views: the encoder is frozen, so photo augmentation must happen before it. Six random
   crops/flips of every training photo are encoded once (<cache>/efficientnet-lite0-train-aug{1..6}.pt,
   ~4 min each on one core); every step each photo is one of its 7 versions, drawn at random;
3. caption embeddings: every Flickr8k caption (tokenised as everywhere else, words joined by spaces)
   through all-MiniLM-L6-v2 once -> <cache>/minilm-flickr8k-captions.pt, float32 [40k, 384];
4. train with a symmetric InfoNCE loss. A batch is B photos with all five captions of each:

       logits = scale · text @ image.T                       [M, B]   M = B · captions_per_photo
       text->image: cross-entropy, each caption's target is its photo
       image->text: each photo's softmax over the M captions; its own captions are the positives
       loss = (text->image + image->text) / 2

   Regularisation, because 6,000 photos is little: the augmented views, dropout 0.5 in both towers,
   AdamW weight decay, "cell dropout" (each photo pools over a random ~75% of its 49 grid cells), an
   exponential moving average of the weights (what is evaluated and kept), a short cosine schedule
   (12 epochs) and early stopping on dev mean recall;
5. evaluation = text->image retrieval within a split: 5,000 caption queries, each ranking the split's
   1,000 photos; R@K = share of queries whose photo is in the top K, plus the median rank;
6. ensemble: steps 4-5 run for seeds 0, 1, 2; the head concatenates the three members (their mean
   cosine is the score) and is exported in half precision into the package: weights/retrieval-flickr8k.pt.

A checkpoint is written after every epoch (<out>/member<i>/last.pt), so --resume continues a killed run.
On 2 shared CPU cores with one thread: ~25 min to encode the views the first time, then ~4 min per member.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from photosearch.errors import InvalidInput
from photosearch.research import run_script
from photosearch.text.retrieval import DEFAULT_WEIGHTS, RetrievalConfig, RetrievalHead, TwoTower

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


def random_crop_flip(img: Image.Image, gen: torch.Generator, scale: tuple[float, float] = (0.5, 1.0)) -> Image.Image:
    """A random crop of 50-100% of the photo's area (aspect 3:4 to 4:3), mirrored half of the time."""
    def uniform(lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=gen))

    W, H = img.size
    area, ratio = W * H * uniform(*scale), math.exp(uniform(math.log(3 / 4), math.log(4 / 3)))
    w, h = min(W, round(math.sqrt(area * ratio))), min(H, round(math.sqrt(area / ratio)))
    x0, y0 = round(uniform(0, W - w)), round(uniform(0, H - h))
    img = img.crop((x0, y0, x0 + w, y0 + h))
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if uniform(0, 1) < 0.5 else img


def augmented_views(data_dir: Path, names: list[str], cache_dir: Path, views: int) -> list[torch.Tensor]:
    """Encoder grids of `views` random crops/flips of every training photo, float16 [N, 49, 1280] each.

    The encoder is frozen, so augmentation has to happen before it: each view is encoded once and
    cached (<cache>/efficientnet-lite0-train-aug<v>.pt, seeded by v); training then picks, per photo
    and step, the original or one of the views.
    """
    out, encoder = [], None
    for v in range(1, views + 1):
        path = cache_dir / f"{ENCODER_NAME}-train-aug{v}.pt"
        cached = torch.load(path, weights_only=True) if path.exists() else None
        if cached is None or cached["names"] != names:
            if encoder is None:
                from photosearch.vision.encoder import EfficientNetLite0Encoder

                encoder = EfficientNetLite0Encoder()
            gen, grids = torch.Generator().manual_seed(v), []
            for start in tqdm(range(0, len(names), 32), desc=f"encoding augmented view {v}", unit="batch"):
                batch = [random_crop_flip(Image.open(data_dir / "Images" / n).convert("RGB"), gen)
                         for n in names[start : start + 32]]
                grids.append(encoder.encode(batch).grid.to(torch.float16))  # [b, 49, 1280]
            cached = {"names": names, "grid": torch.cat(grids)}
            torch.save(cached, path.with_suffix(".tmp"))
            path.with_suffix(".tmp").replace(path)
        out.append(cached["grid"])
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
def evaluate(head: RetrievalHead | TwoTower, grid: torch.Tensor, text: torch.Tensor, owner: torch.Tensor) -> dict:
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
                           text_hidden=args.text_hidden, dropout=args.dropout, init_temperature=args.temperature)


def train_steps(
    model: TwoTower,
    grid: torch.Tensor | list[torch.Tensor],
    caps: torch.Tensor,
    text: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    args: argparse.Namespace,
    generator: torch.Generator,
    ema: TwoTower | None = None,
    schedule: Callable[[], float] | None = None,
    desc: str = "train",
) -> float:
    """One pass over the photos in random order; returns the mean loss.

    grid [N, P, C]: the photos' encoder grids, or a list of views of them (original + augmented), one
    picked per photo and step; caps [N, 5]: each photo's caption rows in `text` [M, 384].
    """
    model.train()
    views = grid if isinstance(grid, list) else [grid]
    n, k = views[0].shape[0], args.captions_per_photo
    order = torch.randperm(n, generator=generator)
    total, seen = 0.0, 0
    bar = tqdm(range(0, n, args.batch_size), desc=desc, unit="batch", leave=False, disable=args.quiet)
    for start in bar:
        idx = order[start : start + args.batch_size]  # [B] photos
        B = len(idx)
        if B < 2:
            continue
        if len(views) == 1:
            g = views[0][idx].float()  # [B, P, C]
        else:
            pick = torch.randint(len(views), (B,), generator=generator).tolist()
            g = torch.stack([views[v][i] for v, i in zip(pick, idx.tolist(), strict=True)]).float()  # [B, P, C]
        # cell dropout: pool over a random subset of the grid's cells (a cheap extra "crop")
        keep = torch.rand(g.shape[:2], generator=generator) >= args.cell_drop  # [B, P]
        keep[:, 0] |= ~keep.any(1)  # at least one cell
        # captions: k of each photo's five, a fresh random choice every step (k = 5: all of them)
        choice = torch.stack([torch.randperm(5, generator=generator)[:k] for _ in range(B)])  # [B, k]
        rows = caps[idx].gather(1, choice).reshape(-1)  # [B*k]
        t = text[rows]  # [B*k, 384]
        if args.text_noise > 0:
            t = F.normalize(t + args.text_noise * torch.randn(t.shape, generator=generator), dim=-1)
        owner = torch.arange(B).repeat_interleave(k)  # [B*k]: the photo of each caption
        if schedule is not None:
            lr = schedule()
            for group in optimizer.param_groups:
                group["lr"] = lr * group.get("lr_mult", 1.0)
        loss = contrastive_loss(model.encode_image(g, keep), model.encode_text(t), owner, model.scale())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        if ema is not None:  # ema <- decay * ema + (1 - decay) * weights
            with torch.no_grad():
                for pe, p in zip(ema.parameters(), model.parameters(), strict=True):
                    pe.lerp_(p, 1.0 - args.ema)
        total += loss.item() * B
        seen += B
        bar.set_postfix(loss=f"{total / seen:.3f}", T=f"{1 / model.scale().item():.3f}")
    return total / max(seen, 1)


def make_optimizer(model: TwoTower, args: argparse.Namespace) -> torch.optim.Optimizer:
    """AdamW; no weight decay on norms, biases and the temperature; optional per-tower lr factors."""
    groups: dict[tuple[float, float], list] = {}  # (weight decay, lr multiplier) -> parameters
    for name, p in model.named_parameters():
        mult = args.text_lr_mult if name.startswith("text.") else 1.0
        if name == "logit_scale":
            mult = args.temperature_lr_mult
        wd = args.weight_decay if p.ndim >= 2 else 0.0
        groups.setdefault((wd, mult), []).append(p)
    for (_, mult), ps in groups.items():
        if mult == 0:  # frozen at initialisation
            for p in ps:
                p.requires_grad_(False)
    return torch.optim.AdamW([{"params": ps, "weight_decay": wd, "lr_mult": mult}
                              for (wd, mult), ps in groups.items() if mult > 0], lr=args.lr)


def train_member(member: int, cfg: RetrievalConfig, data: dict, args: argparse.Namespace, out: Path) -> TwoTower:
    """Train one two-tower from seed args.seed + member; return it with its best dev weights.

    Checkpoints go to <out>/last.pt after every epoch; with --resume a finished member is reused and an
    unfinished one continues where it stopped.
    """
    seed = args.seed + member
    torch.manual_seed(seed)
    model = TwoTower(cfg)
    ema = copy.deepcopy(model).requires_grad_(False) if args.ema > 0 else None
    optimizer = make_optimizer(model, args)
    steps_per_epoch = math.ceil(data["train_caps"].shape[0] / args.batch_size)
    total_steps, warmup = args.epochs * steps_per_epoch, steps_per_epoch
    step = [0]

    def schedule() -> float:  # linear warm-up for an epoch, then cosine down to 1/20 of the peak
        step[0] += 1
        s = step[0]
        if s <= warmup:
            return args.lr * s / warmup
        progress = min(1.0, (s - warmup) / max(1, total_steps - warmup))
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))

    state = {"epoch": 0, "best": -1.0, "best_epoch": 0, "since_improvement": 0, "done": False, "history": []}
    best_state = None
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last.pt"
    if args.resume and last.exists():
        ckpt = torch.load(last, weights_only=True)
        if ckpt["config"] != asdict(cfg) or ckpt["seed"] != seed:
            raise InvalidInput(f"{last} was trained with another configuration: drop --resume or change --out")
        model.load_state_dict(ckpt["model"])
        if ema is not None and ckpt.get("ema") is not None:
            ema.load_state_dict(ckpt["ema"])
        optimizer.load_state_dict(ckpt["optimizer"])
        state, best_state, step[0] = json.loads(ckpt["state"]), ckpt["best_state"], ckpt["step"]
        print(f"member {member}: resumed after epoch {state['epoch']} (best dev mean recall {state['best']:.4f})")

    dev_grid, dev_text, dev_owner = data["dev_grid"], data["dev_text"], data["dev_owner"]
    for epoch in range(state["epoch"] + 1, args.epochs + 1):
        if state["done"]:
            break
        if state["since_improvement"] >= args.patience:
            print(f"member {member}: early stop, {args.patience} epochs without dev improvement")
            break
        started = time.time()
        generator = torch.Generator().manual_seed(seed * 1000 + epoch)
        loss = train_steps(model, data["train_grid"], data["train_caps"], data["train_text"], optimizer, args,
                           generator, ema, schedule, desc=f"member {member} epoch {epoch}")
        scored = ema if ema is not None else model
        dev = evaluate(scored, dev_grid, dev_text, dev_owner)
        improved = dev["mean_recall"] > state["best"]
        if improved:
            state.update(best=dev["mean_recall"], best_epoch=epoch, since_improvement=0)
            best_state = {k: v.clone() for k, v in scored.state_dict().items()}
        else:
            state["since_improvement"] += 1
        state["epoch"] = epoch
        state["history"].append({
            "epoch": epoch, "loss": round(loss, 4), "temperature": round(1 / model.scale().item(), 4),
            **{k: round(v, 4) for k, v in dev.items() if k.startswith(("R@", "mean"))},
            "median_rank": dev["median_rank"], "seconds": round(time.time() - started, 1)})
        print(f"member {member} epoch {epoch}: loss {loss:.3f}  dev R@1 {dev['R@1']:.3f} R@5 {dev['R@5']:.3f} "
              f"R@10 {dev['R@10']:.3f} medr {dev['median_rank']:.0f}{'  *best*' if improved else ''}"
              f"  {time.time() - started:.0f}s", flush=True)
        state["done"] = epoch == args.epochs
        save_checkpoint(last, cfg, seed, model, ema, optimizer, state, best_state, step[0])
    if best_state is None:
        raise InvalidInput("no epoch was trained")
    if not state["done"]:  # stopped early: mark it so --resume does not train it again
        state["done"] = True
        save_checkpoint(last, cfg, seed, model, ema, optimizer, state, best_state, step[0])
    (out / "history.json").write_text(json.dumps(state, indent=1))
    model.load_state_dict(best_state)
    print(f"member {member}: best epoch {state['best_epoch']}, dev mean recall {state['best']:.4f}")
    return model.eval()


def save_checkpoint(path: Path, cfg: RetrievalConfig, seed: int, model: TwoTower, ema: TwoTower | None,
                    optimizer: torch.optim.Optimizer, state: dict, best_state: dict | None, step: int) -> None:
    ckpt = {"config": asdict(cfg), "seed": seed, "model": model.state_dict(),
            "ema": ema.state_dict() if ema is not None else None, "optimizer": optimizer.state_dict(),
            "state": json.dumps(state), "best_state": best_state, "step": step}
    torch.save(ckpt, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)  # atomic: a kill never corrupts last.pt


def train(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    data_dir = Path(args.data)
    cache_dir = Path(args.cache_dir or default_cache_dir())
    out = Path(args.out or cache_dir / "retrieval-run")

    feats = load_features(data_dir, cache_dir)
    captions = caption_texts(data_dir)
    all_names = [n for s in SPLITS for n in feats[s]["names"]]
    texts, index = [], {}
    for name in all_names:
        for k, caption in enumerate(captions.get(name, [])):
            index[(name, k)] = len(texts)
            texts.append(caption)
    emb = embed_captions(texts, cache_dir)  # [M_all, 384]
    splits = {s: split_tensors(feats[s]["names"], captions, index, emb) for s in SPLITS}  # text, owner, caps
    train_grid = feats["train"]["grid"]  # [6000, 49, 1280] float16
    if args.aug_views:
        train_grid = [train_grid, *augmented_views(data_dir, feats["train"]["names"], cache_dir, args.aug_views)]
    data = {"train_grid": train_grid, "train_text": splits["train"][0], "train_caps": splits["train"][2],
            "dev_grid": feats["dev"]["grid"], "dev_text": splits["dev"][0], "dev_owner": splits["dev"][1]}
    print(f"{len(texts)} captions of {len(all_names)} photos; training on {len(feats['train']['names'])} photos"
          f" x {1 + args.aug_views} views, {args.ensemble} member(s)")

    cfg = config_from_args(args)
    members = [train_member(i, cfg, data, args, out / f"member{i}") for i in range(args.ensemble)]
    head = RetrievalHead.from_members(members, cfg).eval()

    results, per_member = {}, []
    for split in ("dev", "test"):
        text, owner, _ = splits[split]
        results[split] = evaluate(head, feats[split]["grid"], text, owner)
        per_member.append([evaluate(m, feats[split]["grid"], text, owner)["mean_recall"] for m in members])
    print(f"\nmembers' own mean recall (R@1+R@5+R@10)/3: dev {[round(x, 3) for x in per_member[0]]}, "
          f"test {[round(x, 3) for x in per_member[1]]}")
    print(f"ensemble of {len(members)} (text->image: each caption ranks its split's 1,000 photos)")
    print(format_table(results))
    plain_args = {k: v for k, v in vars(args).items() if v is None or isinstance(v, int | float | str | bool)}
    (out / "results.json").write_text(json.dumps({"config": asdict(cfg), "args": plain_args, "results": results,
                                                  "members_mean_recall": per_member}, indent=1))
    if not args.no_export:
        export_path = Path(args.export)
        metrics = {"dev": results["dev"], "test": results["test"], "encoder": ENCODER_NAME,
                   "text_model": "all-minilm-l6-v2", "args": {k: v for k, v in vars(args).items()
                                                              if isinstance(v, int | float | str | bool)}}
        head.export(export_path, half=not args.full_precision, metrics=metrics)
        print(f"exported {export_path} ({export_path.stat().st_size / 1e6:.1f} MB)")
    return {"results": results, "members_mean_recall": per_member}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="Flickr8k folder (e.g. ../shared/flickr8k)")
    parser.add_argument("--cache-dir", default=None,
                        help="encoder-feature and caption-embedding cache (default ~/.cache/photosearch/flickr8k)")
    parser.add_argument("--out", default=None, help="checkpoints and logs (default CACHE_DIR/retrieval-run)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/member*/last.pt")
    parser.add_argument("--export", default=str(DEFAULT_WEIGHTS), help="where the best weights go")
    parser.add_argument("--no-export", action="store_true", help="train and evaluate only")
    parser.add_argument("--full-precision", action="store_true", help="export float32 instead of float16")
    # what is trained
    parser.add_argument("--ensemble", type=int, default=3, help="members trained from seeds SEED, SEED+1, ...")
    parser.add_argument("--pool", choices=("attn", "mean"), default="mean", help="image pooling over the grid")
    parser.add_argument("--dim", type=int, default=256, help="joint space of one member")
    parser.add_argument("--heads", type=int, default=4, help="attention pooling heads")
    parser.add_argument("--hidden", type=int, default=512, help="image tower width")
    parser.add_argument("--text-hidden", type=int, default=384, help="text adapter width")
    parser.add_argument("--temperature", type=float, default=0.07, help="initial softmax temperature")
    # how
    parser.add_argument("--epochs", type=int, default=12, help="cosine schedule length")
    parser.add_argument("--patience", type=int, default=4, help="epochs without dev improvement before stopping")
    parser.add_argument("--batch-size", type=int, default=128, help="photos per batch")
    parser.add_argument("--captions-per-photo", type=int, default=5, choices=range(1, 6),
                        help="captions of each photo in a batch, all positives")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--aug-views", type=int, default=6,
                        help="random crops/flips of every training photo, encoded once (cached)")
    parser.add_argument("--cell-drop", type=float, default=0.25, help="share of grid cells dropped per photo")
    parser.add_argument("--text-noise", type=float, default=0.0, help="std of Gaussian noise on MiniLM inputs")
    parser.add_argument("--ema", type=float, default=0.99, help="EMA decay of the weights per step (0: off)")
    parser.add_argument("--temperature-lr-mult", type=float, default=1.0, help="learning-rate factor, temperature")
    parser.add_argument("--text-lr-mult", type=float, default=1.0,
                        help="learning-rate factor of the text tower (0: frozen at its identity-like init)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the machine is shared)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def main(argv: list[str] | None = None) -> None:
    run_script(__doc__, add_arguments, train, argv)


if __name__ == "__main__":
    main()
