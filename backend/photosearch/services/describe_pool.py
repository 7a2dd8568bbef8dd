"""Describing in worker processes: each core describes its own batch.

Why processes. One describer with two torch threads keeps two cores only partly busy: the encoder and MiniLM
split their work over threads well, but beam search is many small steps (an int8 LSTM step over a few dozen
rows, then top-k and bookkeeping in Python) that a second thread barely shortens, and Python holds the GIL
between them, so two describer threads in one process do not help either. Two processes with one thread each
describe two batches at once, each at the speed of one core (Flickr8k photos, describing alone, this project's
2-core machine: 82-92 photos/s in one process with two threads, 124 with two processes; docs/performance.md).

    ingest job ──batch 1──> worker 1: Describer (encoder, captioner, retrieval head, MiniLM; 1 thread)
               ──batch 2──> worker 2: Describer                                     (1 thread)
               <──descriptions, in order── the job stores batch 1 while batch 2 (and 3) are described

The workers are started with `spawn` (a fresh interpreter: no copied locks or thread pools) and load the models
once, as they start (~2-3 s, side by side). The process that owns the pool never loads torch for describing. A
worker that dies (killed, out of memory) breaks the pool: a fresh one starts and the batch is described again
there, once. Workers idle for IDLE_CLOSE_S stop, as Immich's ML service unloads idle models: a server that
ingested this morning does not hold the models' memory all day; the next batch starts them again.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from PIL import Image

from photosearch.config import cpu_count
from photosearch.errors import ModelError
from photosearch.services.describe import Describer, PhotoDescription

log = logging.getLogger(__name__)

IDLE_CLOSE_S = 300.0  # workers with no batch for this long stop (and free the models' memory)
REAP_S = 10.0  # how long a broken pool's leftover workers are looked for (and killed) after it is dropped
OWNER_CHECK_S = 1.0  # how often a worker checks that the process that started it is still there

_describer: Describer | None = None  # in a worker: its models


def _start_worker(factory: Callable[[], Describer], threads: int) -> None:
    """Runs first in every worker: its thread count (before any model makes a thread pool), then the models."""
    global _describer
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the owner, which then stops its workers
    threading.Thread(target=_exit_with_owner, args=(os.getppid(),), name="photosearch-owner-watch", daemon=True).start()
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read by the ONNX Runtime sessions (text/minilm.py)
    import torch

    torch.set_num_threads(threads)  # and by the encoder's session (vision/encoder.py)
    _describer = factory()
    _describer.describe([Image.new("RGB", (224, 224), "gray")])  # first call allocates: not a photo's time


def _exit_with_owner(owner: int) -> None:
    """A worker whose owner died without stopping it (kill -9, out of memory) would hold the models' memory for
    good, waiting for batches that never come: once the owner is gone (this process is handed to another parent),
    it exits."""
    while os.getppid() == owner:
        time.sleep(OWNER_CHECK_S)
    os._exit(0)


def _describe(images: list[Image.Image]) -> list[PhotoDescription]:
    return _describer.describe(images)


def _caption_model() -> str | None:
    return _describer.caption_model


def _worker_id() -> int:
    time.sleep(0.05)  # long enough that the other workers, once started, take the next ones
    return os.getpid()


class DescriberPool:
    """`describe(images)` and `submit(images)` as a Describer has them, run by `processes` worker processes of
    `threads` torch threads each. Thread-safe; batches submitted together are described side by side."""

    def __init__(self, processes: int, threads: int = 1, factory: Callable[[], Describer] = Describer.default,
                 idle_close_s: float = IDLE_CLOSE_S) -> None:
        if processes < 1:
            raise ValueError("a describer pool needs at least one process")
        self.processes = processes
        self.threads = threads
        self.idle_close_s = idle_close_s
        self._factory = factory  # a module-level function: the workers import it by name
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._caption_model: str | None = None
        self._busy = 0  # batches submitted and not yet settled
        self._last_settled = time.monotonic()

    @property
    def ahead(self) -> int:
        """Batches an ingest job keeps submitted: one per worker, and one more so that a worker never waits for
        the job to store the batch before."""
        return self.processes + 1

    def start(self, wait: bool = False) -> None:
        """Start the workers now (they load the models as they start) rather than at the first batch; with `wait`,
        return once every worker has its models (benchmarks time the models at work, not loading)."""
        executor = self._running()
        started = [executor.submit(_worker_id) for _ in range(self.processes)]  # each finds no idle worker: one more
        ready = {f.result() for f in started} if wait else set()
        while wait and len(ready) < self.processes:
            ready.add(executor.submit(_worker_id).result())

    def submit(self, images: list[Image.Image]) -> Future[list[PhotoDescription]]:
        """Describe `images` in a worker; a worker that died on the way is replaced and the batch tried once more."""
        result: Future[list[PhotoDescription]] = Future()
        with self._lock:
            self._busy += 1
        result.add_done_callback(self._settled)

        def settle(done: Future) -> None:
            try:
                result.set_result(done.result())
                return
            except BrokenProcessPool:
                log.warning("a describing process stopped; starting new ones and describing its batch again")
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the batch
                result.set_exception(exc)
                return
            try:
                again = self._fresh_submit(images)
            except BaseException as exc:  # noqa: BLE001 - never leave the batch's waiter waiting
                result.set_exception(exc)
                return
            again.add_done_callback(lambda retried: _copy_outcome(retried, result))

        try:
            try:
                first = self._running().submit(_describe, images)
            except BrokenProcessPool:  # a worker died since the last batch, and no batch has reported it yet
                first = self._fresh_submit(images)
        except BaseException as exc:  # noqa: BLE001 - the batch fails, and the pool's count of busy batches holds
            result.set_exception(exc)
            return result
        first.add_done_callback(settle)
        return result

    def _fresh_submit(self, images: list[Image.Image]) -> Future[list[PhotoDescription]]:
        """Submit to new workers, the broken ones dropped."""
        self._restart()
        return self._running().submit(_describe, images)

    def describe(self, images: list[Image.Image]) -> list[PhotoDescription]:
        return self.submit(images).result() if images else []

    @property
    def caption_model(self) -> str | None:
        """The workers' captioner version (services/redescribe.py compares it with each photo's)."""
        if self._caption_model is None:
            self._caption_model = self._running().submit(_caption_model).result()
        return self._caption_model

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            if getattr(executor, "_broken", False):  # its manager thread may wait for a leftover worker
                _reap_in_background(executor)
            executor.shutdown(wait=True, cancel_futures=True)

    def _settled(self, _: Future) -> None:
        with self._lock:
            self._busy -= 1
            self._last_settled = time.monotonic()
            idle = self._busy == 0
        if idle:
            timer = threading.Timer(self.idle_close_s, self._close_if_idle)
            timer.daemon = True
            timer.start()

    def _close_if_idle(self) -> None:
        with self._lock:
            if self._busy or time.monotonic() - self._last_settled < self.idle_close_s:
                return  # busy again, or a later batch has its own timer
            executor, self._executor = self._executor, None
        if executor is not None:
            log.info("describing processes idle for %.0f s: stopping them", self.idle_close_s)
            executor.shutdown(wait=True)

    def _running(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.processes, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker, initargs=(self._factory, self.threads),
                )
            return self._executor

    def _restart(self) -> None:
        """Drop a broken executor (only once, however many of its batches report it)."""
        with self._lock:
            executor = self._executor
            if executor is None or not getattr(executor, "_broken", False):
                return
            self._executor = None
        _reap_in_background(executor)  # before shutdown, which drops the executor's worker dict
        executor.shutdown(wait=False, cancel_futures=True)


def _reap_in_background(executor: ProcessPoolExecutor) -> None:
    """reap_workers on a broken executor's workers, in a daemon thread. Takes the manager thread's own
    {pid: process} dict now: shutdown drops the executor's attribute, and a racing submit adds to the dict."""
    workers = getattr(executor, "_processes", None)
    threading.Thread(target=reap_workers, args=(workers,), name="photosearch-reap-workers", daemon=True).start()


def reap_workers(workers: dict[int, multiprocessing.process.BaseProcess] | None, seconds: float = REAP_S,
                 every: float = 0.2) -> None:
    """Kill whatever workers of a broken pool are still alive, for `seconds`. Its manager thread terminates the
    workers it knows of, but one that a batch submitted in the same instant started (a race in CPython's
    ProcessPoolExecutor) waits for work forever, and the manager thread waits for it: then `photosearch ingest`
    never exits (seen once in CI: the test run hung after its last test until that worker was killed).
    `workers` is the executor's {pid: process} dict, which the racing submit adds to."""
    deadline = time.monotonic() + seconds
    while workers is not None and time.monotonic() < deadline:
        for process in list(workers.values()):
            if process.is_alive():
                process.kill()
        time.sleep(every)


def _copy_outcome(source: Future, target: Future) -> None:
    try:
        target.set_result(source.result())
    except BrokenProcessPool:
        target.set_exception(ModelError("the describing process stopped twice on this batch (out of memory?)"))
    except BaseException as exc:  # noqa: BLE001
        target.set_exception(exc)


def describer_for(processes: int) -> Describer | DescriberPool:
    """The product's describer: `processes` workers sharing this process's cores (0: the models in this process).
    The workers start loading the models at once."""
    if processes <= 0:
        return Describer.default()
    pool = DescriberPool(processes, threads=max(1, cpu_count() // processes))
    pool.start()
    return pool
