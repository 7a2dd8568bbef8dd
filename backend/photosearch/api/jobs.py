"""Ingest jobs: progress, the jobs of a profile, cancelling."""

from __future__ import annotations

from flask import Blueprint

from photosearch.api.http import services
from photosearch.api.serialize import jsonable

bp = Blueprint("jobs", __name__)


@bp.get("/jobs/<int:job_id>")
def get_job(job_id: int):
    return jsonable(services().jobs.job_status(job_id))


@bp.post("/jobs/<int:job_id>/cancel")
def cancel_job(job_id: int):
    return jsonable(services().jobs.cancel(job_id))


@bp.get("/profiles/<name>/jobs")
def profile_jobs(name: str):
    svc = services()
    profile_id = svc.library.profile_id(name)
    return {"jobs": [jsonable(svc.jobs.job_status(i)) for i in svc.jobs.job_ids(profile_id, limit=50)]}
