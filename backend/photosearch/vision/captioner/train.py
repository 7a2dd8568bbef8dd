"""Train the Show-Attend-Tell decoder on Flickr8k over cached, frozen encoder features.

    photosearch train-captioner --data ../shared/flickr8k [--out runs/captioner] [--resume]

1. encode every photo once (vision/captioner/dataset.py caches [N, 49, 1280] float16 per split);
2. build the word map from the training captions;
3. train with teacher forcing on all 5 captions per photo, one checkpoint per epoch (`last.pt`), so a
   killed run continues with --resume where it stopped;
4. after each epoch decode the dev split greedily and compute corpus BLEU-4; the best epoch is kept
   (`best.pt`); stop after `patience` epochs without improvement (early stopping);
5. export the best decoder in half precision + word map into the package (`--export`).

On 2 CPU cores an epoch takes a few minutes; a GPU is used when present.

At export every ImageNet label noun and category word (vision/label_nouns.json) is added to the decoder
from its MiniLM word vector (vocabulary.py), so the product's captioner can use them.
`--hold-out bike,car,...` drops every training caption that mentions one of those words (the novel-object
evaluation, vision/captioner/novel.py): the decoder then never saw them and only meets them at inference.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch
from tqdm import tqdm

from photosearch.research import run_script
from photosearch.vision.captioner import version_file
from photosearch.vision.captioner.beam import beam_search
from photosearch.vision.captioner.dataset import cache_features, read_captions
from photosearch.vision.captioner.metrics import corpus_scores
from photosearch.vision.captioner.model import CaptionerConfig, DecoderWithAttention, caption_loss
from photosearch.vision.captioner.vocabulary import extend_vocabulary, label_words
from photosearch.vision.captioner.wordmap import WordMap

MAX_LEN = 30  # training captions are cut to this many words (Flickr8k: 99.5% are shorter)


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "photosearch" / "flickr8k"


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_pairs(names: list[str], captions: dict, word_map: WordMap) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One row per (photo, caption): photo index [N], caption ids [N, MAX_LEN + 2], lengths [N]."""
    photo_idx, encoded, lengths = [], [], []
    for i, name in enumerate(names):
        for words in captions.get(name, []):
            photo_idx.append(i)
            encoded.append(word_map.encode(words, MAX_LEN))
            lengths.append(min(len(words), MAX_LEN) + 2)
    return torch.tensor(photo_idx), torch.tensor(encoded), torch.tensor(lengths)


def decode_split(
    decoder: DecoderWithAttention,
    grid: torch.Tensor,
    word_map: WordMap,
    beam_size: int,
    device: torch.device,
    batch_size: int = 100,
    length_penalty: float = 1.0,
) -> list[list[str]]:
    out = []
    for start in range(0, grid.shape[0], batch_size):
        enc = grid[start : start + batch_size].to(device, torch.float32)
        for caps in beam_search(decoder, enc, word_map, beam_size=beam_size, length_penalty=length_penalty):
            out.append(caps[0].words)
    return out


def train(args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache_dir = Path(args.cache_dir or default_cache_dir())

    from photosearch.vision.encoder import EfficientNetLite0Encoder  # loads weights; only needed to cache

    encoder = EfficientNetLite0Encoder(device=device)
    train_cache = cache_features(encoder, Path(args.data), "train", cache_dir)
    dev_cache = cache_features(encoder, Path(args.data), "dev", cache_dir)
    captions = read_captions(Path(args.data))
    held_out = {w.strip() for w in (args.hold_out or "").split(",") if w.strip()}
    if held_out:
        before = sum(len(captions[n]) for n in train_cache["names"])
        captions = {n: ([c for c in cs if not held_out & set(c)] if n in set(train_cache["names"]) else cs)
                    for n, cs in captions.items()}
        after = sum(len(captions[n]) for n in train_cache["names"])
        print(f"held out {sorted(held_out)}: {before - after} of {before} training captions removed")

    word_map_path = out / "WORDMAP_flickr8k.json"
    if args.resume and word_map_path.exists():
        word_map = WordMap.load(word_map_path)
    else:
        word_map = WordMap.build((c for n in train_cache["names"] for c in captions[n]), args.min_word_freq)
        word_map.save(word_map_path)
    photo_idx, caps, lengths = make_pairs(train_cache["names"], captions, word_map)
    dev_refs = [captions[n] for n in dev_cache["names"]]
    print(f"vocabulary {len(word_map)} words, {len(caps)} training captions, device {device}")

    config = CaptionerConfig(vocab_size=len(word_map), encoder_dim=train_cache["grid"].shape[2],
                             attention_dim=args.dim, embed_dim=args.dim, decoder_dim=args.dim,
                             dropout=args.dropout)
    decoder = DecoderWithAttention(config).to(device)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=args.lr)
    state = {"epoch": 0, "best_bleu4": 0.0, "since_improvement": 0, "history": []}
    last = out / "last.pt"
    if args.resume and last.exists():
        ckpt = torch.load(last, map_location=device)
        decoder.load_state_dict(ckpt["decoder"])
        optimizer.load_state_dict(ckpt["optimizer"])
        state = ckpt["state"]
        print(f"resumed after epoch {state['epoch']} (best dev BLEU-4 {state['best_bleu4']:.4f})")

    grid = train_cache["grid"]  # [N_photos, P, E] float16, stays on CPU
    for epoch in range(state["epoch"] + 1, args.epochs + 1):
        if state["since_improvement"] >= args.patience:
            print(f"early stop: {args.patience} epochs without dev improvement")
            break
        decoder.train()
        generator = torch.Generator().manual_seed(args.seed + epoch)
        order = torch.randperm(len(caps), generator=generator)
        order = order[: max(1, int(len(order) * args.epoch_fraction))]  # a shorter "epoch" checkpoints sooner
        total, seen, started = 0.0, 0, time.time()
        bar = tqdm(range(0, len(order), args.batch_size), desc=f"epoch {epoch}", unit="batch")
        for start in bar:
            idx = order[start : start + args.batch_size]
            enc = grid[photo_idx[idx]].to(device, torch.float32)  # [b, P, E]
            batch_caps, batch_lens = caps[idx].to(device), lengths[idx].to(device)
            logits, alphas = decoder(enc, batch_caps, batch_lens)
            loss = caption_loss(logits, alphas, batch_caps, batch_lens, alpha_c=args.alpha_c)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_value_(decoder.parameters(), 5.0)
            optimizer.step()
            total += loss.item() * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{total / seen:.3f}")

        hyps = decode_split(decoder, dev_cache["grid"], word_map, beam_size=1, device=device)
        bleu4 = corpus_scores(dev_refs, hyps)["BLEU-4"]
        improved = bleu4 > state["best_bleu4"]
        state["history"].append({"epoch": epoch, "loss": total / seen, "dev_bleu4_greedy": bleu4,
                                 "minutes": (time.time() - started) / 60})
        state["epoch"] = epoch
        if improved:
            state["best_bleu4"], state["since_improvement"] = bleu4, 0
        else:
            state["since_improvement"] += 1
            for group in optimizer.param_groups:  # the seed's schedule: shrink the step when stuck
                group["lr"] *= args.lr_decay
        print(f"epoch {epoch}: loss {total / seen:.3f}  dev BLEU-4 (greedy) {bleu4:.4f}"
              f"{'  *best*' if improved else ''}  {(time.time() - started) / 60:.1f} min", flush=True)
        ckpt = {"decoder": decoder.state_dict(), "optimizer": optimizer.state_dict(), "state": state,
                "config": config.to_dict()}
        torch.save(ckpt, last.with_suffix(".tmp"))
        last.with_suffix(".tmp").replace(last)  # atomic: a kill never corrupts last.pt
        if improved:
            torch.save(ckpt, out / "best.pt")
    (out / "history.json").write_text(json.dumps(state["history"], indent=1))
    if args.export:
        export(out / "best.pt", word_map_path, Path(args.export))
    return state


VERSION = "open-vocab-1"  # stored with every description the weights write (redescribe finds older ones)


def export(best: Path, word_map_path: Path, target_dir: Path, name: str = "captioner-flickr8k",
           version: str = VERSION, open_vocabulary: bool = True) -> Path:
    """Best checkpoint -> half-precision decoder weights + word map, as the product loads them.

    The decoder leaves with every label noun and category word added (vocabulary.py), so the product's
    captioner can say "espresso" and never needs MiniLM to caption."""
    ckpt = torch.load(best, map_location="cpu")
    trained = {"epochs": ckpt["state"]["epoch"], "dev_bleu4_greedy": ckpt["state"]["best_bleu4"]}
    return save_weights(ckpt["config"], ckpt["decoder"], WordMap.load(word_map_path), target_dir, name,
                        trained, version, open_vocabulary)


def save_weights(config: dict, state: dict, word_map: WordMap, target_dir: Path, name: str, trained: dict,
                 version: str = VERSION, open_vocabulary: bool = True) -> Path:
    """A decoder state -> `<name>.pt` (half precision) + `<name>.wordmap.json`, label words added."""
    target_dir.mkdir(parents=True, exist_ok=True)
    # Checkpoints from older code may carry options this version no longer has.
    config = CaptionerConfig(**{k: v for k, v in config.items() if k in CaptionerConfig.__dataclass_fields__})
    if open_vocabulary:
        decoder = DecoderWithAttention(config)
        decoder.load_state_dict({k: v.float() for k, v in state.items()})
        added = extend_vocabulary(decoder, word_map, label_words())
        state, config = decoder.state_dict(), decoder.config
        print(f"added {len(added)} label words to the vocabulary ({len(word_map)} words)")
    weights = {k: v.half() for k, v in state.items()}
    path = target_dir / f"{name}.pt"
    torch.save({"config": config.to_dict(), "decoder": weights, "encoder": "efficientnet-lite0",
                "trained": {**trained, "version": version}}, path)
    version_file(path).write_text(version + "\n")  # read by servers that never load torch (caption_model_today)
    word_map.save(target_dir / f"{name}.wordmap.json")
    print(f"exported {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="Flickr8k folder (e.g. ../shared/flickr8k)")
    parser.add_argument("--out", default="runs/captioner", help="checkpoints and logs")
    parser.add_argument("--cache-dir", default=None, help="encoder feature cache (default ~/.cache/photosearch)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--patience", type=int, default=4, help="epochs without dev improvement before stopping")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--lr-decay", type=float, default=0.8)
    parser.add_argument("--dim", type=int, default=512, help="attention, embedding and LSTM width")
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--alpha-c", type=float, default=1.0, help="doubly stochastic attention weight")
    parser.add_argument("--min-word-freq", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    parser.add_argument("--export", default=None, help="write the best weights here when done")
    parser.add_argument("--epoch-fraction", type=float, default=1.0,
                        help="train on this random share of the captions per epoch (more, shorter epochs)")
    parser.add_argument("--hold-out", default="", help="comma-separated words: drop training captions with them")


def main(argv: list[str] | None = None) -> None:
    run_script(__doc__, add_arguments, train, argv)


if __name__ == "__main__":
    main()
