"""Describing in worker processes (services/describe_pool.py).

What these prove: the workers describe exactly as the models do in this process; an ingest job that keeps
several batches with the workers stores every photo once, each with its own description; a worker that dies
is replaced and its batch described again; the setting picks the workers as documented.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from photosearch.config import Settings
from photosearch.services import Services
from photosearch.services.describe import Describer, PhotoDescription
from photosearch.services.describe_pool import DescriberPool
from photosearch.storage.models import JobItem, Photo


class ColourDescriber:
    """Says which colour a photo is: enough to tell whether each photo got its own description."""

    caption_model = "colour@1"
    ahead = 1

    def __init__(self, die_once_at: Path | None = None) -> None:
        self.die_once_at = die_once_at

    def describe(self, images: list[Image.Image]) -> list[PhotoDescription]:
        out = []
        for image in images:
            r, g, b = image.convert("RGB").getpixel((0, 0))
            if (r, g, b) == (255, 0, 0) and self.die_once_at and not self.die_once_at.exists():
                self.die_once_at.touch()
                os._exit(3)  # as a worker killed for memory would end
            caption = f"colour {r} {g} {b}"
            out.append(PhotoDescription(labels=[], caption=caption, alternatives=[{"text": caption, "score": 0.0}],
                                        attention=None, image_vector=None, text_vector=None, model="colour"))
        return out


def colour_describer(die_once_at: Path | None = None) -> ColourDescriber:  # the workers import this by name
    return ColourDescriber(die_once_at)


def _photos(folder: Path, colours: list[tuple[int, int, int]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, colour in enumerate(colours):
        Image.new("RGB", (40, 30), colour).save(folder / f"{i:03d}.png")
    return folder


def _captions_by_file(services: Services, job_id: int) -> dict[str, str]:
    with services.db.session() as session:
        items = session.scalars(select(JobItem).where(JobItem.job_id == job_id)).all()
        return {Path(item.source).name: session.get(Photo, item.photo_id).description.caption for item in items}


def test_workers_describe_exactly_as_this_process_does() -> None:
    describer = Describer.default()  # every model: labels, caption, joint space, MiniLM
    rng = np.random.default_rng(7)
    images = [Image.fromarray(rng.integers(0, 255, (224, 224, 3), dtype=np.uint8)) for _ in range(3)]
    images += [Image.new("RGB", (224, 224), c) for c in ("white", "navy", "olive")]
    pool = DescriberPool(2)
    try:
        first, second = pool.submit(images[:3]), pool.submit(images[3:])  # side by side in the two workers
        in_workers = first.result(timeout=300) + second.result(timeout=300)
        assert pool.caption_model == describer.caption_model
    finally:
        pool.close()
    here = describer.describe(images[:3]) + describer.describe(images[3:])
    for a, b in zip(in_workers, here, strict=True):
        assert (a.caption, a.alternatives, a.labels, a.shown) == (b.caption, b.alternatives, b.labels, b.shown)
        np.testing.assert_allclose(a.image_vector, b.image_vector, atol=1e-5)
        np.testing.assert_allclose(a.text_vector, b.text_vector, atol=1e-5)


def test_a_job_through_the_workers_stores_each_photo_once_with_its_own_description(tmp_path: Path) -> None:
    colours = [(i * 7 % 256, i * 13 % 256, 200) for i in range(37)]
    colours += colours[3:6]  # the same photos again, in the last batch
    folder = _photos(tmp_path / "photos", colours)
    settings = Settings(data_dir=tmp_path / "data", demo=False, folder_roots=[folder], batch_size=4)
    pool = DescriberPool(2, factory=colour_describer)
    services = Services.create(settings, describer=lambda: pool)
    try:
        services.library.ensure_profile("colours")
        job_id = services.jobs.create_job("colours", "folder", {"folder": str(folder)})
        assert pool.ahead == 3  # batches in hand: one per worker and one more
        status = services.jobs.run_job(job_id)
        assert (status.status, status.done, status.already, status.failed) == ("done", 40, 3, 0)
        captions = _captions_by_file(services, job_id)
        assert captions == {f"{i:03d}.png": "colour {} {} {}".format(*c) for i, c in enumerate(colours)}
        with services.db.session() as session:
            assert len(session.scalars(select(Photo.id)).all()) == 37
        assert len(services.index.photo_ids(None)) == 37  # and indexed
    finally:
        pool.close()
        services.db.dispose()


def test_a_worker_that_dies_is_replaced_and_its_batch_described_again(tmp_path: Path) -> None:
    flag = tmp_path / "died"
    pool = DescriberPool(2, factory=partial(colour_describer, flag))
    try:
        batch = [Image.new("RGB", (8, 8), (255, 0, 0)), Image.new("RGB", (8, 8), (0, 0, 9))]
        described = pool.describe(batch)
        assert flag.exists()  # a worker did die on it
        assert [d.caption for d in described] == ["colour 255 0 0", "colour 0 0 9"]
        assert pool.describe([Image.new("RGB", (8, 8), (1, 2, 3))])[0].caption == "colour 1 2 3"
    finally:
        pool.close()


def test_a_job_survives_a_worker_dying_with_batches_in_flight(tmp_path: Path) -> None:
    colours = [(i, 90, 90) for i in range(19)]
    colours.insert(9, (255, 0, 0))  # the worker describing this photo dies once, with other batches in hand
    folder = _photos(tmp_path / "photos", colours)
    settings = Settings(data_dir=tmp_path / "data", demo=False, folder_roots=[folder], batch_size=4)
    pool = DescriberPool(2, factory=partial(colour_describer, tmp_path / "died"))
    services = Services.create(settings, describer=lambda: pool)
    try:
        services.library.ensure_profile("colours")
        job_id = services.jobs.create_job("colours", "folder", {"folder": str(folder)})
        status = services.jobs.run_job(job_id)
        assert (tmp_path / "died").exists()
        assert (status.status, status.done, status.failed) == ("done", 20, 0)
        assert _captions_by_file(services, job_id) == {
            f"{i:03d}.png": "colour {} {} {}".format(*c) for i, c in enumerate(colours)}
    finally:
        pool.close()
        services.db.dispose()


@pytest.mark.parametrize(("setting", "cores", "expected"), [(None, 2, 2), (None, 8, 2), (None, 1, 0), (0, 8, 0),
                                                             (3, 2, 3)])
def test_describe_processes_setting(monkeypatch: pytest.MonkeyPatch, setting: int | None, cores: int,
                                    expected: int) -> None:
    monkeypatch.setattr("photosearch.config.cpu_count", lambda: cores)
    assert Settings(describe_processes=setting).describers == expected
    monkeypatch.setenv("PHOTOSEARCH_DESCRIBE_PROCESSES", "0")
    assert Settings.from_env("/tmp/unused").describers == 0


def test_idle_workers_stop_and_start_again_for_the_next_batch() -> None:
    pool = DescriberPool(1, factory=colour_describer, idle_close_s=0.3)
    try:
        assert pool.describe([Image.new("RGB", (8, 8), (4, 5, 6))])[0].caption == "colour 4 5 6"
        workers = list(pool._executor._processes.values())
        deadline = time.monotonic() + 60
        while (pool._executor is not None or any(w.exitcode is None for w in workers)) and time.monotonic() < deadline:
            time.sleep(0.05)  # (the pool's own shutdown joins the workers: joining here too would race it)
        assert pool._executor is None  # stopped once idle
        assert [w.exitcode for w in workers] == [0]
        assert pool.describe([Image.new("RGB", (8, 8), (7, 8, 9))])[0].caption == "colour 7 8 9"
    finally:
        pool.close()


OWNER = """
import sys, time
sys.path[:0] = {paths!r}
from photosearch.services.describe_pool import DescriberPool
from test_describe_pool import colour_describer
if __name__ == "__main__":
    pool = DescriberPool(2, factory=colour_describer)
    pool.start(wait=True)
    print(*pool._executor._processes, flush=True)
    time.sleep(600)
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has exited; its new parent reaps it


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_exit_when_their_owner_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "owner.py"
    script.write_text(OWNER.format(paths=[str(Path(__file__).parent), *sys.path]))
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in owner.stdout.readline().split()]
        assert len(workers) == 2 and all(_running(pid) for pid in workers)
        owner.send_signal(signal.SIGKILL)  # no chance to stop its workers
        owner.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_running(pid) for pid in workers)
    finally:
        owner.kill()
        owner.wait(timeout=30)


def test_a_broken_pools_leftover_worker_is_killed() -> None:
    """A worker that a broken pool still holds (one a concurrent batch started as the pool broke, which waits for
    work forever, and the interpreter's exit with it) is killed by reap_workers."""
    import multiprocessing

    from photosearch.services.describe_pool import reap_workers

    leftover = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
    leftover.start()

    started = time.monotonic()
    reap_workers({leftover.pid: leftover}, seconds=0.5, every=0.05)  # a broken executor's {pid: process}
    leftover.join(timeout=10)
    assert not leftover.is_alive() and time.monotonic() - started < 10
