"""The job queue and job life cycle (services/jobs.py): workers, groups, cancelling."""

from __future__ import annotations

import threading
import time

from photosearch.services.jobs import InProcessQueue


def test_a_job_submitted_after_the_worker_went_idle_is_still_run() -> None:
    """Regression (old single worker): a job queued while the idle worker was ending stayed `queued`."""
    ran: list[int] = []
    jobs = InProcessQueue(ran.append, workers=1, idle_exit=0.05)
    jobs.put(1, "a")
    assert jobs.wait_idle(timeout=10)
    time.sleep(0.2)  # the worker has timed out and ended
    jobs.put(2, "a")
    assert jobs.wait_idle(timeout=10)
    assert ran == [1, 2]


def test_jobs_of_different_groups_run_side_by_side_and_of_one_group_in_order() -> None:
    started: dict[int, threading.Event] = {i: threading.Event() for i in (1, 2, 3)}
    release = threading.Event()
    order: list[int] = []

    def run(job_id: int) -> None:
        order.append(job_id)
        started[job_id].set()
        release.wait(10)

    jobs = InProcessQueue(run, workers=2, idle_exit=1)
    jobs.put(1, "profile:a")
    jobs.put(2, "profile:a")  # same profile: waits for job 1
    jobs.put(3, "profile:b")  # another profile: runs beside job 1
    assert started[1].wait(10) and started[3].wait(10)
    assert not started[2].is_set()
    release.set()
    assert jobs.wait_idle(timeout=10)
    assert order.index(2) > order.index(1)
