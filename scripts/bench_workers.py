"""Ingest throughput with 1 and 2 queue workers: PostgreSQL + Redis + 1 API + n `photosearch worker`s.

    PYTHONPATH=backend OMP_NUM_THREADS=1 .venv/bin/python scripts/bench_workers.py --photos 400 --workers 1 2

For each worker count: a fresh cluster (tests/distributed/cluster.py), a warm-up job per worker (the
models load on a worker's first job), then `--photos` generated photos (96x72 JPEG/PNG, as in the tests)
in `--jobs` folder jobs through the API, timed from the first submission to the last job done.
Prints photos/s per worker count. The product's models (captioner, retrieval head, MiniLM).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "distributed"))

from cluster import Cluster  # noqa: E402

from conftest import photo_bytes, varied_photo  # noqa: E402


def write_photos(folder: Path, start: int, n: int, images: list) -> None:  # noqa: ANN001
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        fmt, ext = ("PNG", "png") if i % 3 == 2 else ("JPEG", "jpg")
        (folder / f"photo_{i:05d}.{ext}").write_bytes(photo_bytes(varied_photo(images, i), fmt))


def run(workers: int, photos: int, jobs: int, images: list) -> float:  # noqa: ANN001
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp, \
            Cluster(Path(tmp), apis=1, workers=workers) as cluster:
        root = Path(tmp) / "photos"
        cluster.post(0, "/api/profiles", {"name": "bench"})
        warm = []
        for w in range(workers):  # one small job per worker: each loads its models before the clock starts
            write_photos(root / f"warm{w}", 100_000 + w * 10, 2, images)
            warm.append(cluster.post(0, "/api/profiles/bench/sources", {"folder": str(root / f"warm{w}")})["id"])
        cluster.wait_jobs(warm, timeout=600)
        per_job = photos // jobs
        for j in range(jobs):
            write_photos(root / f"job{j}", j * per_job, per_job, images)
        started = time.monotonic()
        ids = [cluster.post(0, "/api/profiles/bench/sources", {"folder": str(root / f"job{j}")})["id"]
               for j in range(jobs)]
        statuses = cluster.wait_jobs(ids, timeout=3600)
        elapsed = time.monotonic() - started
        done = sum(s["done"] for s in statuses)
        assert done == per_job * jobs, statuses
        return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=400)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    import numpy as np
    from PIL import Image
    from skimage import data

    images = []
    for name in ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "horse", "page"):
        array = np.asarray(getattr(data, name)())
        images.append(Image.fromarray(array.astype(np.uint8) * 255 if array.dtype == bool else array).convert("RGB"))
    for workers in args.workers:
        rate = run(workers, args.photos, args.jobs, images)
        print(f"{workers} worker(s): {args.photos} photos in {args.jobs} jobs, {rate:.1f} photos/s", flush=True)


if __name__ == "__main__":
    main()
