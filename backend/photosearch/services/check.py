"""`photosearch check`: do the database, the full-text index and the photo files agree?

Problems it finds (and with --repair fixes): photos in the database missing from the index, index entries
of deleted photos, photos whose image or thumbnail file is gone (rebuilt from the other file when possible,
else reported), stray files of deleted photos, and jobs left 'running' by a killed process (resumed on the
next `serve`, or finished now with --repair by running them).
"""

from __future__ import annotations

from sqlalchemy import select

from photosearch.storage.models import Job, Photo


def check(services, repair: bool = False) -> dict:  # noqa: ANN001
    s = services.settings
    with services.db.session() as session:
        photo_ids = set(session.scalars(select(Photo.id)))
        unfinished = list(session.scalars(select(Job.id).where(Job.status.in_(("queued", "running")))))
    indexed = services.index.photo_ids()
    missing_index = sorted(photo_ids - indexed)
    extra_index = sorted(indexed - photo_ids)
    missing_files = sorted(
        pid for pid in photo_ids
        if not (s.images_dir / f"{pid}.jpg").exists() or not (s.thumbs_dir / f"{pid}.jpg").exists()
    )
    stray_files = sorted(
        str(f) for folder in (s.images_dir, s.thumbs_dir) for f in folder.glob("*.jpg")
        if not f.stem.isdigit() or int(f.stem) not in photo_ids
    )
    report = {
        "photos": len(photo_ids),
        "indexed": len(indexed),
        "missing_from_index": missing_index,
        "stale_in_index": extra_index,
        "photos_missing_files": missing_files,
        "stray_files": stray_files,
        "unfinished_jobs": unfinished,
    }
    report["problems"] = sum(len(v) for v in report.values() if isinstance(v, list))
    if repair and report["problems"]:
        repaired = services.ingestor.repair_index()
        for path in stray_files:
            from pathlib import Path

            Path(path).unlink(missing_ok=True)
        for pid in missing_files:
            _rebuild_files(s, pid)
        for job_id in unfinished:
            services.ingestor.run_job(job_id)
        report["repaired"] = {"index": repaired, "stray_files_removed": len(stray_files),
                              "jobs_finished": unfinished}
    return report


def _rebuild_files(settings, photo_id: int) -> None:  # noqa: ANN001
    from PIL import Image

    from photosearch.vision.imageio import make_thumbnail

    image, thumb = settings.images_dir / f"{photo_id}.jpg", settings.thumbs_dir / f"{photo_id}.jpg"
    if image.exists() and not thumb.exists():
        with Image.open(image) as img:
            thumb.write_bytes(make_thumbnail(img.convert("RGB")))
