"""Ingest job progress."""

from __future__ import annotations

from flask import Blueprint, current_app

bp = Blueprint("jobs", __name__)


@bp.get("/jobs/<int:job_id>")
def get_job(job_id: int):
    return current_app.extensions["photosearch"].ingestor.job_status(job_id)


@bp.get("/profiles/<name>/jobs")
def profile_jobs(name: str):
    services = current_app.extensions["photosearch"]
    return {"jobs": [services.ingestor.job_status(i) for i in services.library.jobs(name)[:50]]}
