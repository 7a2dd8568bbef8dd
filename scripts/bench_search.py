"""Search latency, throughput and server memory at a given collection size, through the real HTTP server.

    python scripts/bench_search.py --sizes 1000,100000 --json            # p50/p95/RSS per size
    python scripts/bench_search.py --sizes 100000 --clients 8 --json     # + throughput with 8 clients
    python scripts/bench_search.py --sizes 100000 --clients 8 --processes 2 --json   # `serve --processes 2`
    python scripts/bench_search.py --sizes 1000000 --json                # the 1M point (builds for many minutes)

For each size N:
1. A synthetic profile of N photos is written through the project's own storage code (the ORM rows the
   ingestor writes: Photo + Description with caption, 5 alternatives, 5 labels, an attention map and both
   vectors at their real sizes) and indexed with the project's PhotoIndex, as `photosearch reindex` would.
   Captions are Flickr8k's human captions when --captions points at Flickr8k.token.txt (default: the shared
   copy if present), else sentences from a small built-in grammar. Vectors are random unit vectors.
2. `photosearch serve` is started on 127.0.0.1 (a subprocess: its RSS is the server's alone; with
   --processes K, `serve --processes K`, and RSS is the sum over the parent and its K children).
3. The time to the first answer, then >= 200 varied queries (sentences, short phrases, single words, a few
   with a date range) one at a time from this process; then, with --clients K, the same queries from K
   threads at once for throughput.
4. One JSON object on stdout: {"1000": {"p50_ms", "p95_ms", "rss_mb", ...}, ...}; progress goes to stderr.

Built collections are cached under --work-dir/<N> (reused when their photo count matches), so a second run
only measures. Nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))

from photosearch.config import Settings  # noqa: E402
from photosearch.services.ingest import index_doc  # noqa: E402
from photosearch.storage.db import Database  # noqa: E402
from photosearch.storage.index import PhotoIndex  # noqa: E402
from photosearch.storage.models import Description, Photo, Profile  # noqa: E402

PROFILE = "bench"
DEFAULT_CAPTIONS = ROOT.parent / "shared" / "flickr8k" / "Flickr8k.token.txt"
FALLBACK_CAPTIONS = Path("/work/shared/flickr8k/Flickr8k.token.txt")
CHUNK = 10_000  # photos per transaction and per index commit


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


# -- the synthetic collection -------------------------------------------------------------------------
def caption_pool(path: Path | None, rng: random.Random) -> list[str]:
    if path and path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        return [line.split("\t", 1)[1].strip() for line in lines if "\t" in line]
    subjects = ["a dog", "two children", "a man", "a woman", "a girl", "a boy", "a group of people", "a cat",
                "a cyclist", "a brown horse", "three friends", "a surfer", "an old man", "a black dog"]
    verbs = ["runs", "jumps", "sits", "plays", "walks", "rides a bike", "climbs a rock", "swims", "stands",
             "eats an ice cream", "throws a ball", "smiles"]
    places = ["on the beach", "in the snow", "in a park", "on a city street", "near a lake", "in the grass",
              "on a mountain", "at a market", "in front of a building", "in the water", "on a wooden bridge"]
    return [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(places)} ." for _ in range(40_000)]


def label_pool() -> list[str]:
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    return list(_IMAGENET_CATEGORIES)


def vector_dims() -> tuple[int, int]:
    """(image vector width, text vector width) as the shipped models write them."""
    from photosearch.text.embedder import DIM
    from photosearch.text.retrieval import RetrievalHead

    image_dim = RetrievalHead.load().dim if RetrievalHead.available() else 768
    return image_dim, DIM


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    rows = rng.standard_normal((n, dim), dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def build_collection(data_dir: Path, size: int, captions: list[str], labels: list[str], seed: int) -> None:
    """N photos written with the ORM rows and PhotoIndex documents the ingestor writes."""
    settings = Settings(data_dir=data_dir, demo=False)
    if data_dir.exists():
        shutil.rmtree(data_dir)
    settings.ensure_dirs()
    db = Database(settings.database)
    index = PhotoIndex(settings.index_dir)
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    image_dim, text_dim = vector_dims()
    with db.session() as session:
        profile = Profile(name=PROFILE)
        session.add(profile)
        session.flush()
        profile_id = profile.id
    start = datetime(2015, 1, 1, tzinfo=UTC)
    t0 = time.perf_counter()
    for first in range(0, size, CHUNK):
        n = min(CHUNK, size - first)
        image_vectors = unit_rows(nrng, n, image_dim)
        text_vectors = unit_rows(nrng, n, text_dim)
        with db.session() as session:
            photos = []
            for i in range(n):
                texts = rng.sample(captions, 5)
                words = texts[0].split()
                photo = Photo(
                    profile_id=profile_id, source=f"bench:{first + i}.jpg", kind="upload",
                    content_hash=f"{first + i:064x}", width=224, height=224,
                    hashtags=[], taken_at=start + timedelta(hours=rng.randrange(24 * 365 * 10)),
                )
                photo.description = Description(
                    caption=texts[0],
                    alternatives=[{"text": t, "score": round(-1.0 - j * 0.3, 4)} for j, t in enumerate(texts)],
                    attention={"grid": [7, 7], "words": words,
                               "maps": np.round(nrng.random((len(words), 49)) / 49, 4).tolist()},
                    labels=[{"label": lab, "score": round(rng.random(), 4)} for lab in rng.sample(labels, 5)],
                    model="bench-synthetic",
                    image_vector=image_vectors[i].tobytes(),
                    text_vector=text_vectors[i].tobytes(),
                )
                photos.append(photo)
            session.add_all(photos)
            session.flush()
            docs = [index_doc(p, p.description) for p in photos]
        index.add(docs)
        log(f"  built {first + n}/{size} photos ({time.perf_counter() - t0:.0f} s)")
    db.dispose()


def collection_size(data_dir: Path) -> int:
    db_file = data_dir / "photosearch.db"
    if not db_file.exists():
        return -1
    import sqlite3

    with sqlite3.connect(db_file) as conn:
        try:
            return conn.execute("SELECT count(*) FROM photos").fetchone()[0]
        except sqlite3.Error:
            return -1


# -- queries ----------------------------------------------------------------------------------------
def make_queries(captions: list[str], labels: list[str], count: int, seed: int) -> list[dict]:
    """Sentences, short phrases and single words; one in ten with a date range."""
    rng = random.Random(seed + 1)
    queries = []
    for i in range(count):
        kind = i % 5
        caption = rng.choice(captions).rstrip(" .")
        words = [w for w in caption.split() if len(w) > 3] or caption.split()
        if kind in (0, 1):
            q = caption
        elif kind == 2:
            q = " ".join(words[:3])
        elif kind == 3:
            q = rng.choice(words)
        else:
            q = rng.choice(labels)
        params = {"profile": PROFILE, "q": q, "limit": "20"}
        if i % 10 == 7:
            year = rng.randrange(2015, 2024)
            params.update(after=f"{year}-01-01", before=f"{year + 1}-06-30")
        queries.append(params)
    return queries


class Client:
    """One keep-alive HTTP connection to the server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def get(self, path: str) -> tuple[int, bytes]:
        for attempt in range(2):
            try:
                self.conn.request("GET", path)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def search(self, params: dict) -> float:
        t0 = time.perf_counter()
        status, body = self.get("/api/search?" + urllib.parse.urlencode(params))
        elapsed = time.perf_counter() - t0
        if status != 200:
            raise RuntimeError(f"search {params} -> {status}: {body[:300]!r}")
        return elapsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    """The process and its descendants."""
    out = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            out += process_tree(int(child))
    return out


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process and its children (`serve --processes`), MB; the peak is the
    sum of each process's own peak."""
    rss = peak = 0.0
    for member in process_tree(pid):
        fields = {}
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value
        rss += int(fields["VmRSS"].split()[0]) / 1024
        peak += int(fields["VmHWM"].split()[0]) / 1024
    return rss, peak


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values) * 1000, p))


def start_server(data_dir: Path, port: int, processes: int = 1) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "backend"), PHOTOSEARCH_DEMO="0")
    # The server logs every request: to a file (an unread pipe fills up and stops the server).
    log_file = (data_dir / "server.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "photosearch.cli", "serve", "--data-dir", str(data_dir), "--port", str(port),
         "--no-demo", "--processes", str(processes)],
        env=env, stdout=log_file, stderr=subprocess.STDOUT, text=True,
    )


def wait_ready(server: subprocess.Popen, port: int, timeout: float = 600) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited: {Path(server.args[5], 'server.log').read_text()[-2000:]}")
        try:
            status, _ = Client(port).get("/api/health")
            if status == 200:
                return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not answer /api/health")


def measure(data_dir: Path, queries: list[dict], clients: int, processes: int = 1) -> dict:
    port = free_port()
    t_start = time.perf_counter()
    server = start_server(data_dir, port, processes)
    try:
        ready_s = wait_ready(server, port)
        client = Client(port)
        first_s = client.search(queries[0])
        first_answer_s = time.perf_counter() - t_start
        latencies = [client.search(q) for q in queries]
        rss, peak = rss_mb(server.pid)
        result = {
            "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1),
            "max_ms": round(percentile(latencies, 100), 1),
            "rss_mb": round(rss),
            "peak_rss_mb": round(peak),
            "queries": len(latencies),
            "server_ready_s": round(ready_s, 2),
            "first_query_ms": round(first_s * 1000, 1),
            "start_to_first_answer_s": round(first_answer_s, 2),
            "processes": processes,
        }
        if clients > 1:
            result.update(throughput(port, queries, clients))
            rss, peak = rss_mb(server.pid)
            result["rss_mb_after_clients"] = round(rss)
            result["peak_rss_mb"] = round(peak)
        return result
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def throughput(port: int, queries: list[dict], clients: int) -> dict:
    """Every client sends all the queries (rotated so they differ at any moment); queries per second overall."""
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def run(offset: int) -> None:
        client = Client(port)
        mine = []
        try:
            for q in queries[offset:] + queries[:offset]:
                mine.append(client.search(q))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(i * len(queries) // clients,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed: {errors[0]}")
    return {
        "clients": clients,
        "qps": round(len(latencies) / wall, 1),
        "clients_p50_ms": round(percentile(latencies, 50), 1),
        "clients_p95_ms": round(percentile(latencies, 95), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,100000", help="collection sizes, comma separated")
    parser.add_argument("--queries", type=int, default=200, help="queries per size (at least 200)")
    parser.add_argument("--clients", type=int, default=1, help="also measure throughput with this many clients")
    parser.add_argument("--processes", type=int, default=1, help="server processes (`serve --processes`)")
    parser.add_argument("--captions", type=Path, default=None, help="Flickr8k.token.txt (default: shared copy)")
    parser.add_argument("--work-dir", type=Path, default=Path.home() / ".cache" / "photosearch" / "bench-search")
    parser.add_argument("--rebuild", action="store_true", help="build the collections again even if cached")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print only the JSON object on stdout")
    args = parser.parse_args()
    if args.queries < 200:
        parser.error("--queries must be at least 200")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    captions_file = args.captions or next((p for p in (DEFAULT_CAPTIONS, FALLBACK_CAPTIONS) if p.is_file()), None)
    rng = random.Random(args.seed)
    captions = caption_pool(captions_file, rng)
    labels = label_pool()
    queries = make_queries(captions, labels, args.queries, args.seed)
    out: dict[str, dict] = {}
    for size in sizes:
        data_dir = args.work_dir / str(size)
        if args.rebuild or collection_size(data_dir) != size:
            log(f"building {size} photos in {data_dir}")
            t0 = time.perf_counter()
            build_collection(data_dir, size, captions, labels, args.seed)
            log(f"  built in {time.perf_counter() - t0:.0f} s")
        log(f"measuring {size} photos, {len(queries)} queries" + (f", {args.clients} clients" if args.clients > 1
                                                                   else ""))
        out[str(size)] = measure(data_dir, queries, args.clients, args.processes)
        log(f"  {json.dumps(out[str(size)])}")
    print(json.dumps(out) if args.json else json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
