#!/usr/bin/env python3
"""Stress run on loopback: concurrent searches against the real server while it ingests a URL list that
also points at a hostile server.

    python scripts/stress.py [--photos 200] [--searchers 8] [--search-seconds 60] [--hostile 2]

What it does, all on 127.0.0.1 (nothing else is ever contacted):
1. generates M distinct JPEGs (crops of scikit-image's bundled photos, tinted, 320×240) and serves them from
   memory with a small threaded HTTP server;
2. starts the real server, `photosearch serve --data-dir TMP --port P --no-demo`, with
   PHOTOSEARCH_FETCH_ALLOW=127.0.0.1 and PHOTOSEARCH_FOLDER_ROOTS=TMP, and waits for /api/health;
3. creates a profile and posts the M URLs as one source (one ingest job);
4. runs N threads searching without pause (varied queries, some with Whoosh syntax) for as long as the job
   runs, capped at --search-seconds;
5. waits for the job, stops the server, runs `photosearch check` on the data directory, and prints requests,
   errors, latency percentiles, photos ingested and photos lost (expected - stored; must be 0).

The hostile server (`--hostile N`, also on 127.0.0.1) answers each of N URLs per behaviour: the status line
a byte at a time (`slow-status`), a header that never ends (`slow-headers`), a body a byte at a time
(`slow-body`), a body that never ends (`endless-body`, as fast as it can), and nothing at all after
accepting (`silent`). Those URLs are mixed into the photo list, and each behaviour also gets a job of its
own in a second profile. The server runs with PHOTOSEARCH_FETCH_DEADLINE=`--fetch-deadline`: every job
must end (its hostile items failed with a reason), none may hang.

Exit status 1 when a search failed, a photo was lost, a job hung or check found a problem.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import shutil
import signal
import socket
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image

QUERIES = ["cat", "a cat on a sofa", "astronaut", "coffee cup", "rocket launch", "coins", "horse", "dog", "person",
           "red", "\"unbalanced", "AND OR", "*", "title:x", "(((", "sunset 😀", "window", "street", "face"]
SAMPLES = ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "horse", "page", "hubble_deep_field",
           "retina", "immunohistochemistry", "logo")


# ------------------------------------------------------------------------------------------------ photos


def make_photos(count: int, size: tuple[int, int] = (320, 240)) -> list[bytes]:
    """`count` distinct JPEGs: crops of the bundled sample photos at varying offsets, each tinted differently."""
    from skimage import data

    bases = []
    for name in SAMPLES:
        array = np.asarray(getattr(data, name)())
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        bases.append(Image.fromarray(array).convert("RGB"))
    photos = []
    for i in range(count):
        base = bases[i % len(bases)]
        w, h = base.size
        step = i // len(bases)
        left, top = (step * 37) % max(1, w // 3), (step * 23) % max(1, h // 3)
        crop = base.crop((left, top, left + 2 * w // 3, top + 2 * h // 3)).resize(size)
        tint = np.array([(i * 7) % 31, (i * 13) % 29, (i * 3) % 23], dtype=np.int16)
        pixels = np.clip(np.asarray(crop, dtype=np.int16) + tint, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=85)
        photos.append(buffer.getvalue())
    return photos


def serve_photos(photos: list[bytes]) -> tuple[ThreadingHTTPServer, list[int]]:
    """/photo_<i>.jpg -> photos[i] on 127.0.0.1; returns the server and a one-item hit counter."""
    hits = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            with lock:
                hits[0] += 1
            name = self.path.lstrip("/")
            body = None
            if name.startswith("photo_") and name.endswith(".jpg") and name[6:-4].isdigit():
                i = int(name[6:-4])
                body = photos[i] if i < len(photos) else None
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, hits


# ------------------------------------------------------------------------------------------------ hostile

HOSTILE_KINDS = ("slow-status", "slow-headers", "slow-body", "endless-body", "silent")
HOSTILE_MAX_SECONDS = 600.0  # a hostile connection gives up by itself after this (so the script ends)


class _Hostile(socketserver.BaseRequestHandler):
    """Raw sockets, so the status line and headers themselves can be dripped."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        try:
            request = sock.recv(4096).decode("latin-1")
            kind = request.split(" ", 2)[1].lstrip("/").split("?")[0] if " " in request else ""
            stop = time.monotonic() + HOSTILE_MAX_SECONDS
            if kind == "slow-status":
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\xff\xd8\xff\xe0":
                    sock.sendall(bytes([byte]))
                    time.sleep(1.0)
            elif kind == "slow-headers":
                sock.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
                while time.monotonic() < stop:
                    sock.sendall(b"a")
                    time.sleep(1.0)
            elif kind == "slow-body":
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n\xff\xd8\xff")
                while time.monotonic() < stop:
                    sock.sendall(b"\x00")
                    time.sleep(1.0)
            elif kind == "endless-body":
                sock.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n\xff\xd8\xff")
                chunk = bytes(64 * 1024)
                while time.monotonic() < stop:
                    sock.sendall(chunk)
            elif kind == "silent":
                time.sleep(HOSTILE_MAX_SECONDS)
        except OSError:  # the client gave up: that is the point
            pass


class _HostileServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve_hostile() -> _HostileServer:
    server = _HostileServer(("127.0.0.1", 0), _Hostile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ------------------------------------------------------------------------------------------------ server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def photosearch_cmd() -> list[str]:
    """The `photosearch` command of this Python (the venv's), else the one on PATH."""
    exe = Path(sys.executable).parent / "photosearch"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("photosearch")
    return [found] if found else [sys.executable, "-m", "photosearch.cli"]


def call(base: str, method: str, path: str, body: object = None, timeout: float = 30) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_healthy(base: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if call(base, "GET", "/api/health", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer /api/health within {timeout:.0f} s")


# ------------------------------------------------------------------------------------------------ search


class Searchers:
    """N threads searching without pause until stopped; they record (latency, ok) per request."""

    def __init__(self, base: str, profile: str, n: int) -> None:
        self.base, self.profile = base, profile
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(n)]
        self.started = self.stopped = 0.0

    def start(self) -> None:
        self.started = time.monotonic()
        for t in self.threads:
            t.start()

    def join(self) -> None:
        if not self.stop.is_set():
            self.stop.set()
            self.stopped = time.monotonic()
        for t in self.threads:
            t.join(timeout=60)

    @property
    def seconds(self) -> float:
        return max((self.stopped or time.monotonic()) - self.started, 1e-3)

    def _run(self, seed: int) -> None:
        i = seed
        while not self.stop.is_set():
            q = QUERIES[i % len(QUERIES)]
            i += 1
            path = "/api/search?" + urllib.parse.urlencode({"profile": self.profile, "q": q, "limit": 20})
            started = time.perf_counter()
            try:
                status, body = call(self.base, "GET", path, timeout=30)
                error = None if status == 200 and isinstance(body, dict) and "results" in body else f"{status} {body}"
            except Exception as exc:  # noqa: BLE001 - any failure is counted, the run goes on
                error = f"{type(exc).__name__}: {exc}"
            elapsed = time.perf_counter() - started
            with self.lock:
                self.latencies.append(elapsed)
                if error:
                    self.errors.append(f"{q!r}: {error}"[:300])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# -------------------------------------------------------------------------------------------------- main


def _job_seconds(status: dict) -> float:
    if not status.get("finished_at"):
        return float("nan")
    start, end = (dt.datetime.fromisoformat(status[k]) for k in ("created_at", "finished_at"))
    return (end - start).total_seconds()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=200, help="photos in the URL list (default 200)")
    parser.add_argument("--searchers", type=int, default=8, help="concurrent search threads (default 8)")
    parser.add_argument("--search-seconds", type=float, default=60, help="cap on the search phase (default 60)")
    parser.add_argument("--job-timeout", type=float, default=900, help="give up on the ingest after this long")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--hostile", type=int, default=2, help="hostile URLs per behaviour (default 2; 0: none)")
    parser.add_argument("--fetch-deadline", type=float, default=15, help="the server's whole-fetch deadline (s)")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="photosearch-stress-"))
    data_dir, log = tmp / "data", tmp / "server.log"
    print(f"stress: {args.photos} photos, {args.searchers} searchers, data in {tmp}", flush=True)
    photos = make_photos(args.photos)
    httpd, hits = serve_photos(photos)
    photo_port = httpd.server_address[1]
    urls = [f"http://127.0.0.1:{photo_port}/photo_{i}.jpg" for i in range(args.photos)]
    hostile = serve_hostile()
    hostile_base = f"http://127.0.0.1:{hostile.server_address[1]}"
    hostile_urls = [f"{hostile_base}/{kind}?n={n}" for n in range(args.hostile) for kind in HOSTILE_KINDS]
    for i, url in enumerate(hostile_urls):  # spread through the list, not all at its end
        urls.insert((i + 1) * len(urls) // (len(hostile_urls) + 1), url)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSEARCH_")}
    env.update(PHOTOSEARCH_FETCH_ALLOW="127.0.0.1", PHOTOSEARCH_FOLDER_ROOTS=str(tmp), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", PHOTOSEARCH_FETCH_DEADLINE=str(args.fetch_deadline))
    with log.open("wb") as out:
        proc = subprocess.Popen([*photosearch_cmd(), "serve", "--data-dir", str(data_dir), "--port", str(port),
                                 "--no-demo"], stdout=out, stderr=subprocess.STDOUT, env=env)
    searchers = Searchers(base, "stress", args.searchers)
    try:
        started = time.monotonic()
        wait_healthy(base, proc, log, timeout=180)
        startup_s = time.monotonic() - started
        status, body = call(base, "POST", "/api/profiles", {"name": "stress"})
        assert status == 201, (status, body)
        hostile_jobs = []
        if args.hostile:  # one job per hostile behaviour, in a profile of its own
            assert call(base, "POST", "/api/profiles", {"name": "hostile"})[0] == 201
            for kind in HOSTILE_KINDS:
                kind_urls = [f"{hostile_base}/{kind}?job={n}" for n in range(args.hostile)]
                status, hjob = call(base, "POST", "/api/profiles/hostile/sources", {"urls": kind_urls})
                assert status == 202, (status, hjob)
                hostile_jobs.append((kind, hjob["id"]))

        t0 = time.monotonic()
        status, job = call(base, "POST", "/api/profiles/stress/sources", {"urls": urls})
        accept_s = time.monotonic() - t0
        assert status == 202, (status, job)
        searchers.start()
        last = job
        while time.monotonic() - t0 < args.job_timeout:
            if time.monotonic() - searchers.started > args.search_seconds:
                searchers.join()  # the search phase is capped; the ingest goes on
            status, last = call(base, "GET", f"/api/jobs/{job['id']}")
            if last["status"] in ("done", "failed"):
                break
            time.sleep(0.5)
        ingest_s = time.monotonic() - t0
        hostile_status = {}
        for kind, job_id in hostile_jobs:  # by now they have had the whole ingest's time
            while True:
                _, hostile_status[kind] = call(base, "GET", f"/api/jobs/{job_id}")
                if hostile_status[kind]["status"] in ("done", "failed") or time.monotonic() - t0 > args.job_timeout:
                    break
                time.sleep(0.5)
        searchers.join()
        search_s = searchers.seconds
        _, profile = call(base, "GET", "/api/profiles/stress")
    finally:
        searchers.join()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        httpd.shutdown()
        hostile.shutdown()

    check = subprocess.run([*photosearch_cmd(), "check", "--data-dir", str(data_dir)], env=env,
                           capture_output=True, text=True, timeout=300)
    report = json.loads(check.stdout) if check.stdout.strip().startswith("{") else {"problems": "?"}

    lat = searchers.latencies
    stored = profile["photo_count"]
    lost = args.photos - stored
    jobs = [("stress", last)] + [(f"hostile {kind}", s) for kind, s in hostile_status.items()]
    hung = [name for name, s in jobs if s["status"] not in ("done", "failed")]
    hostile_failures = [f for f in last.get("failures", []) if f["source"].startswith(hostile_base)]
    for s in hostile_status.values():
        hostile_failures += s.get("failures", [])
    reasons: dict[str, int] = {}
    for failure in hostile_failures:
        reason = failure["error"].split(" (")[0]
        reasons[reason] = reasons.get(reason, 0) + 1
    lines = [
        f"date                {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"machine             {os.cpu_count()} CPUs ({cpu_model()}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average before {load_before:.2f}",
        f"server start-up     {startup_s:.1f} s (until /api/health answers)",
        f"URL list accepted   {accept_s * 1000:.0f} ms ({len(urls)} URLs, HTTP 202)",
        f"ingest job          {last['status']} in {ingest_s:.1f} s: {last['done']} done, {last['failed']} failed, "
        f"{last['skipped']} skipped ({args.photos / ingest_s:.1f} photos/s); photo server hits {hits[0]}",
        f"searches            {len(lat)} requests from {args.searchers} threads over {search_s:.1f} s "
        f"({len(lat) / search_s:.1f}/s), errors {len(searchers.errors)}",
        f"search latency      p50 {percentile(lat, 50) * 1000:.0f} ms, p95 {percentile(lat, 95) * 1000:.0f} ms, "
        f"max {max(lat, default=float('nan')) * 1000:.0f} ms"
        + (f", mean {statistics.fmean(lat) * 1000:.0f} ms" if lat else ""),
        f"photos              expected {args.photos}, stored {stored}, lost {lost}",
        f"hostile server      {len(HOSTILE_KINDS)} behaviours x {args.hostile} URLs in the list + one job each; "
        f"fetch deadline {args.fetch_deadline:g} s",
        f"jobs                {len(jobs)}, hung {len(hung)}" + (f" ({', '.join(hung)})" if hung else "")
        + "; " + ", ".join(f"{name}: {s['status']} {s['done']}/{s['failed']} failed in "
                           f"{_job_seconds(s):.0f} s" for name, s in jobs[1:]),
        f"hostile URLs        {len(hostile_failures)} of {2 * len(HOSTILE_KINDS) * args.hostile} failed with a "
        f"reason: " + "; ".join(f"{n} x {r}" for r, n in sorted(reasons.items())),
        f"photosearch check   problems {report['problems']} (photos {report.get('photos')}, "
        f"indexed {report.get('indexed')}, unfinished jobs {report.get('unfinished_jobs')})",
    ]
    print("\n".join(lines))
    for error in searchers.errors[:10]:
        print(f"  search error: {error}")
    for failure in [f for f in last.get("failures", []) if not f["source"].startswith(hostile_base)][:10]:
        print(f"  ingest failure: {failure['source']}: {failure['error']}")
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    ok = (not searchers.errors and lost == 0 and last["status"] == "done" and report["problems"] == 0
          and not hung and len(hostile_failures) == 2 * len(HOSTILE_KINDS) * args.hostile)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
