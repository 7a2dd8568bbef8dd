"""`photosearch check`: do the database, the full-text index and the photo files agree?

Problems it finds (and with --repair fixes): photos in the database missing from the index, index entries
of deleted photos, photos whose image or thumbnail file is gone (rebuilt from the other file when possible,
else reported), stray files of deleted photos, and jobs left 'running' by a killed process (resumed on the
next `serve`, or finished now with --repair by running them).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from photosearch.config import Settings
from photosearch.services.ingest import PARTIAL, index_drift, publish_files
from photosearch.vision.imageio import make_thumbnail

UNPUBLISHED_MAX_AGE_S = 3600  # a .partial file this old belongs to no ingest still running

if TYPE_CHECKING:  # the Services object is built from this module's siblings
    from photosearch.services import Services


def check(services: Services, repair: bool = False) -> dict:
    s = services.settings
    # Files first, then the database: a file listed here was named after its row's commit (see
    # ingest.publish_files), so the photo is in the snapshot below even while other processes ingest.
    files = [f for folder in (s.images_dir, s.thumbs_dir) for f in folder.glob("*.jpg")]
    partial = [f for folder in (s.images_dir, s.thumbs_dir) for f in folder.glob(f"*.jpg{PARTIAL}")]
    photo_ids, missing_index, extra_index = index_drift(services.index, services.ingestor.stored_photo_ids)
    indexed = len(photo_ids) - len(missing_index) + len(extra_index)
    # A job whose runner is alive (a server, a worker, another `ingest`) is in progress, not a problem, and
    # --repair leaves it to its runner; one whose runner was killed, or that no process claims, is unfinished.
    in_progress, unfinished = services.jobs.by_runner()
    missing_files = sorted(
        pid for pid in photo_ids
        if not (s.images_dir / f"{pid}.jpg").exists() or not (s.thumbs_dir / f"{pid}.jpg").exists()
    )
    stray_files = sorted(str(f) for f in files if not f.stem.isdigit() or int(f.stem) not in photo_ids)
    # .partial files of photos never committed: an ingest in progress elsewhere, or one that was killed.
    # Not a problem (nothing is lost or shown); --repair removes those older than an hour.
    unpublished = [f for f in partial if _photo_id(f) not in photo_ids]
    report = {
        "photos": len(photo_ids),
        "indexed": indexed,
        "missing_from_index": missing_index,
        "stale_in_index": extra_index,
        "photos_missing_files": missing_files,
        "stray_files": stray_files,
        "unfinished_jobs": unfinished,
    }
    report["problems"] = sum(len(v) for v in report.values() if isinstance(v, list))
    report["jobs_in_progress"] = in_progress
    report["unpublished_files"] = len(unpublished)
    if repair and report["problems"]:
        repaired = services.ingestor.repair_index()
        for path in stray_files:
            Path(path).unlink(missing_ok=True)
        publish_files(s, missing_files)  # committed, killed before the rename
        for pid in missing_files:
            _rebuild_files(s, pid)
        for job_id in unfinished:
            services.jobs.run_job(job_id)
        report["repaired"] = {"index": repaired, "stray_files_removed": len(stray_files),
                              "jobs_finished": unfinished}
    if repair:
        old = time.time() - UNPUBLISHED_MAX_AGE_S
        for path in unpublished:
            # Gone already: a job finished above reused its id (SQLite hands out a rolled-back id again) and
            # published its own file under that name.
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < old:
                    path.unlink(missing_ok=True)
    return report


def _photo_id(path: Path) -> int | None:
    stem = path.name.split(".", 1)[0]
    return int(stem) if stem.isdigit() else None


def _rebuild_files(settings: Settings, photo_id: int) -> None:
    image, thumb = settings.images_dir / f"{photo_id}.jpg", settings.thumbs_dir / f"{photo_id}.jpg"
    if image.exists() and not thumb.exists():
        with Image.open(image) as img:
            thumb.write_bytes(make_thumbnail(img.convert("RGB")))
