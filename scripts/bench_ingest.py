"""Ingest speed: the project's pipeline against the seed's, in one run, on the same photos.

    python scripts/bench_ingest.py --photos /work/shared/flickr8k/Images --count 200 [--json]
    python scripts/bench_ingest.py --photos /work/shared/flickr8k/Images --count 100 --upscale 1600 [--json]

project   `photosearch ingest NAME --folder DIR` as a person runs it (a subprocess, so imports and model
          loading are in the figure: "end to end"), and the same job again in-process with the models already
          loaded ("steady state").
seed      the seed's pipeline rebuilt as it ran (sgrvinod's "Show, Attend and Tell" tutorial + AlexNet labels):
          for each photo, one at a time: decode, resize to 256x256, ImageNet-normalise, ResNet-101 encoder
          (14x14x2048 grid), beam search with beam 5 over the 512-wide LSTM decoder with attention (the
          tutorial's `caption_image_beam_search`, up to 50 steps), then AlexNet at 224 px for top-5 labels.
          Weights are random (timing only; torchvision constructors with weights=None, nothing downloaded);
          the vocabulary has the project's size. Random weights rarely emit <end>, so the seed's beam would
          always run its 50 steps: by default it is held to the project's mean caption length instead
          (`--seed-steps`), which flatters the seed.
--upscale S re-encodes the photos as S-pixel-wide JPEGs (quality 90) first, to measure full-size photos.

Prints photos/s of each and the ratio (one JSON object with --json). Model loading is excluded from the seed's
figure (it is included in the project's end-to-end figure and reported separately).

--runs N repeats the three measurements N times, one after another (project end to end, project steady, seed,
then again), and reports the median of each figure and of the ratios, with every run under "runs". On a shared
machine one run's ratio moves by +-10 % with the load of the moment; the median of 5 is the figure to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# Both pipelines get the same torch threads: by default all cores, as `photosearch ingest` and the seed's
# scripts run (torch's default); --threads 1 measures them on one core each.
THREADS = os.cpu_count() or 1
os.environ.setdefault("GOMP_SPINCOUNT", "2000")  # before torch loads, as the `photosearch` command sets it

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def prepare_photos(source: Path, count: int, upscale: int | None, work: Path) -> Path:
    """A folder with `count` photos (copied, or re-encoded at `upscale` px wide)."""
    files = sorted(p for p in source.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:count]
    if len(files) < count:
        raise SystemExit(f"only {len(files)} photos in {source}")
    folder = work / "photos"
    folder.mkdir(parents=True)
    for f in files:
        if upscale:
            with Image.open(f) as img:
                rgb = img.convert("RGB")
                size = (upscale, round(upscale * rgb.height / rgb.width))
                rgb.resize(size, Image.Resampling.BICUBIC).save(folder / (f.stem + ".jpg"), quality=90)
        else:
            shutil.copy(f, folder / f.name)
    return folder


# -- the project ----------------------------------------------------------------------------------
def project_end_to_end(folder: Path, work: Path, run: int = 0) -> dict:
    """`photosearch ingest` in a subprocess: its wall time, and the peak memory of it and its describing workers
    together (RSS summed over the process tree, sampled every 0.2 s where /proc lists children)."""
    data = work / f"data-cli-{run}"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "backend"), PHOTOSEARCH_DEMO="0")
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "photosearch.cli", "ingest", "bench", "--folder", str(folder), "--quiet",
             "--data-dir", str(data)], env=env, stdout=out, stderr=err, text=True,
        )
        peak = [0.0]
        sampler = threading.Thread(target=_sample_peak, args=(proc, peak), daemon=True)
        sampler.start()
        proc.wait()  # the wall time ends when the command does, not at the next sample
        wall = time.perf_counter() - t0
        sampler.join()
        peak_mb = peak[0]
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"photosearch ingest failed: {stderr[-2000:]}")
    log("  " + stdout.strip().splitlines()[-1])
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(peak_mb) if peak_mb else None}


def _sample_peak(proc: subprocess.Popen, peak: list[float]) -> None:
    while proc.poll() is None:
        peak[0] = max(peak[0], tree_rss_mb(proc.pid))
        time.sleep(0.2)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB (0 where /proc does not list children)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for children in Path(f"/proc/{current}/task").glob("*/children"):
                todo += [int(child) for child in children.read_text().split()]
        except OSError:  # exited meanwhile
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0) / 1024
    return total


def project_steady(folder: Path, work: Path, run: int = 0) -> tuple[dict, list[str]]:
    """The same job in-process, models loaded and warmed first: the pipeline's own speed."""
    from photosearch.config import Settings
    from photosearch.services import Services
    from photosearch.services.describe_pool import DescriberPool, describer_for

    settings = Settings.from_env(work / f"data-steady-{run}", demo=False, folder_roots=[folder])  # PHOTOSEARCH_* apply
    t0 = time.perf_counter()
    describer = describer_for(settings.describers)  # as `photosearch ingest` makes it: worker processes or not
    if isinstance(describer, DescriberPool):
        describer.start(wait=True)  # every worker has loaded and warmed its models
    else:
        describer.describe([Image.new("RGB", (224, 224), "gray")])  # first call allocates; not a photo
    load_s = time.perf_counter() - t0
    services = Services.create(settings, describer=lambda: describer)
    services.library.create_profile("bench")
    job = services.jobs.create_job("bench", "folder", {"folder": str(folder)})
    t0 = time.perf_counter()
    status = services.jobs.run_job(job)
    wall = time.perf_counter() - t0
    if status.done == 0:
        raise SystemExit(f"the in-process job stored nothing: {status}")
    from sqlalchemy import select

    from photosearch.storage.models import Description

    with services.db.session() as session:
        captions = [c or "" for c in session.scalars(select(Description.caption))]
    if isinstance(describer, DescriberPool):
        describer.close()
    return {"photos": status.done, "wall_s": round(wall, 2), "model_load_s": round(load_s, 2),
            "describe_processes": settings.describers}, captions


# -- the seed, as it ran ------------------------------------------------------------------------------
class SeedPipeline:
    def __init__(self, vocab_size: int) -> None:
        import torchvision
        from sgrvinod_models import DecoderWithAttention, Encoder

        self.encoder = Encoder().eval()
        self.decoder = DecoderWithAttention(attention_dim=512, embed_dim=512, decoder_dim=512,
                                            vocab_size=vocab_size).eval()
        self.alexnet = torchvision.models.alexnet(weights=None).eval()
        self.vocab_size = vocab_size
        self.start, self.end = 1, 2  # <start>, <end> indices (any two fixed tokens)

    @torch.inference_mode()
    def describe(self, path: Path, max_steps: int, beam_size: int = 5) -> None:
        with Image.open(path) as img:  # the tutorial: imread + imresize(256, 256), one photo at a time
            rgb = img.convert("RGB")
        pixels = torch.from_numpy(np.asarray(rgb.resize((256, 256), Image.Resampling.BILINEAR), np.float32))
        image = ((pixels.permute(2, 0, 1) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD).unsqueeze(0)
        self.beam_search(self.encoder(image), beam_size, max_steps)
        small = torch.from_numpy(np.asarray(rgb.resize((224, 224), Image.Resampling.BILINEAR), np.float32))
        logits = self.alexnet(((small.permute(2, 0, 1) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD).unsqueeze(0))
        logits.softmax(1).topk(5)

    def beam_search(self, encoder_out: torch.Tensor, k: int, max_steps: int) -> list[int]:
        """sgrvinod's caption_image_beam_search, step for step (one photo, beam k)."""
        decoder = self.decoder
        enc_dim = encoder_out.size(3)
        encoder_out = encoder_out.view(1, -1, enc_dim).expand(k, -1, enc_dim)  # [k, 196, 2048]
        prev_words = torch.full((k, 1), self.start, dtype=torch.long)
        seqs = prev_words
        top_k_scores = torch.zeros(k, 1)
        complete_seqs, complete_scores = [], []
        step = 1
        h, c = decoder.init_hidden_state(encoder_out)
        while True:
            embeddings = decoder.embedding(prev_words).squeeze(1)
            awe, _alpha = decoder.attention(encoder_out, h)
            gate = decoder.sigmoid(decoder.f_beta(h))
            h, c = decoder.decode_step(torch.cat([embeddings, gate * awe], dim=1), (h, c))
            scores = torch.log_softmax(decoder.fc(h), dim=1)
            scores = top_k_scores.expand_as(scores) + scores
            if step == 1:
                top_k_scores, top_k_words = scores[0].topk(k, 0, True, True)
            else:
                top_k_scores, top_k_words = scores.view(-1).topk(k, 0, True, True)
            prev_inds = torch.div(top_k_words, self.vocab_size, rounding_mode="floor")
            next_inds = top_k_words % self.vocab_size
            seqs = torch.cat([seqs[prev_inds], next_inds.unsqueeze(1)], dim=1)
            incomplete = [i for i, w in enumerate(next_inds) if w != self.end]
            complete = list(set(range(len(next_inds))) - set(incomplete))
            if complete:
                complete_seqs.extend(seqs[complete].tolist())
                complete_scores.extend(top_k_scores[complete])
            k -= len(complete)
            if k == 0 or step >= max_steps:
                break
            seqs = seqs[incomplete]
            h, c = h[prev_inds[incomplete]], c[prev_inds[incomplete]]
            encoder_out = encoder_out[prev_inds[incomplete]]
            top_k_scores = top_k_scores[incomplete].unsqueeze(1)
            prev_words = next_inds[incomplete].unsqueeze(1)
            step += 1
        return complete_seqs[0] if complete_seqs else seqs[0].tolist()


def seed_run(folder: Path, vocab_size: int, max_steps: int) -> dict:
    t0 = time.perf_counter()
    seed = SeedPipeline(vocab_size)
    load_s = time.perf_counter() - t0
    files = sorted(folder.iterdir())
    seed.describe(files[0], max_steps)  # warm-up, as the project's models are warmed
    t0 = time.perf_counter()
    for f in files:
        seed.describe(f, max_steps)
    wall = time.perf_counter() - t0
    return {"photos": len(files), "wall_s": round(wall, 2), "model_load_s": round(load_s, 2),
            "beam_steps": max_steps}


def measure(args: argparse.Namespace, folder: Path, work: Path, run: int) -> dict:
    """One run of the three measurements: the project end to end and steady, then the seed."""
    result: dict = {}
    if not args.skip_cli:
        log("project, end to end (photosearch ingest --folder, models loaded in the run)")
        e2e = project_end_to_end(folder, work, run)
        result["project_end_to_end"] = {**e2e, "photos_per_s": round(args.count / e2e["wall_s"], 2)}
    log("project, steady state (models loaded)")
    steady, captions = project_steady(folder, work, run)
    result["project_steady"] = {**steady, "photos_per_s": round(steady["photos"] / steady["wall_s"], 2)}
    mean_words = float(np.mean([len(c.split()) for c in captions if c])) if any(captions) else 10.0
    steps = args.seed_steps or int(round(mean_words)) + 1

    vocab = len(json.loads((ROOT / "backend/photosearch/weights/captioner-flickr8k.wordmap.json").read_text()))
    log(f"seed (ResNet-101 256 px, LSTM 512, beam 5 for {steps} steps, AlexNet), one photo at a time")
    seed = seed_run(folder, vocab, steps)
    result["seed"] = {**seed, "photos_per_s": round(seed["photos"] / seed["wall_s"], 2)}
    result["ratio_steady"] = round(result["project_steady"]["photos_per_s"] / result["seed"]["photos_per_s"], 2)
    if "project_end_to_end" in result:
        result["ratio_end_to_end"] = round(
            result["project_end_to_end"]["photos_per_s"] / result["seed"]["photos_per_s"], 2)
    return result


def medians(runs: list[dict]) -> dict:
    """The runs' figures, each replaced by its median over the runs (nested dicts alike)."""
    out: dict = {}
    for key, value in runs[0].items():
        if isinstance(value, dict):
            out[key] = medians([run[key] for run in runs])
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = round(float(np.median([run[key] for run in runs])), 2)
        else:
            out[key] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=Path, default=Path("/work/shared/flickr8k/Images"))
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--upscale", type=int, default=None, help="re-encode the photos this many pixels wide")
    parser.add_argument("--seed-steps", type=int, default=None,
                        help="beam steps of the seed (default: the project's mean caption length + 1 for <end>)")
    parser.add_argument("--skip-cli", action="store_true", help="skip the end-to-end subprocess run")
    parser.add_argument("--threads", type=int, default=THREADS,
                        help="torch threads of both pipelines (default: all cores, torch's default)")
    parser.add_argument("--runs", type=int, default=1, help="repeat every measurement; report the medians")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs is 1 or more")
    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the end-to-end subprocess
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        folder = prepare_photos(args.photos, args.count, args.upscale, work)
        result: dict = {"photos": args.count, "photo_size": f"{args.upscale}px wide" if args.upscale else "as given",
                        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                        "torch_threads": torch.get_num_threads()}
        runs = []
        for run in range(args.runs):
            if args.runs > 1:
                log(f"run {run + 1} of {args.runs}")
            runs.append(measure(args, folder, work, run))
        result.update(medians(runs))
        if args.runs > 1:
            result["runs"] = runs
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
