"""The demo profile: real photos that scikit-image ships (a cat, an espresso, an astronaut, a rocket...),
indexed in the background on the first start so a newcomer can search at once. Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from photosearch.storage.models import Job, Profile

DEMO_PROFILE = "demo"
# Photographs only (scikit-image's data folder also holds drawings and microscopy).
DEMO_FILES = ["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png",
              "hubble_deep_field.jpg", "camera.png", "coins.png", "moon.png", "page.png", "brick.png",
              "grass.png", "gravel.png", "color.png"]


def demo_folder() -> Path:
    import skimage.data

    return Path(skimage.data.__file__).parent


def ensure_demo(services) -> int | None:  # noqa: ANN001
    """Create and index the demo profile once; -> the job id, or None when it exists already."""
    with services.db.session() as session:
        exists = session.scalar(select(Profile.id).where(Profile.name == DEMO_PROFILE))
        if exists and session.scalar(select(Job.id).where(Job.profile_id == exists)):
            return None
    services.library.ensure_profile(DEMO_PROFILE)
    folder = demo_folder()
    files = [{"path": str(folder / name), "name": name} for name in DEMO_FILES if (folder / name).exists()]
    return services.jobs.start(DEMO_PROFILE, "upload", {"files": files}).id
