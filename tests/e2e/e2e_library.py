"""A small photo library for the browser tests: real photos that scikit-image ships, written as JPEGs
with the EXIF a phone would write (capture date, camera, sometimes a GPS position), spread over months
so the timeline has month headers and the date filter has something to cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
MAKE, MODEL, DATE_TIME_ORIGINAL = 0x010F, 0x0110, 0x9003


@dataclass(frozen=True)
class LibraryPhoto:
    name: str  # skimage.data function
    taken: str  # EXIF "YYYY:MM:DD HH:MM:SS"
    camera: tuple[str, str] | None = None  # (make, model)
    gps: bool = False


# newest first, as the timeline shows them
LIBRARY = (
    LibraryPhoto("astronaut", "2024:06:20 14:30:00", ("Apple", "iPhone 15 Pro"), gps=True),
    LibraryPhoto("rocket", "2024:06:02 09:00:00", ("Apple", "iPhone 15 Pro")),
    LibraryPhoto("coffee", "2024:03:15 08:10:00", ("Google", "Pixel 8")),
    LibraryPhoto("chelsea", "2024:03:01 18:45:00", ("Google", "Pixel 8")),
    LibraryPhoto("hubble_deep_field", "2023:11:05 22:00:00"),
    LibraryPhoto("clock", "2023:08:09 12:00:00", ("Canon", "Canon EOS R6")),
    LibraryPhoto("coins", "2023:08:01 12:00:00"),
)


def write_photo(photo: LibraryPhoto, folder: Path) -> Path:
    from skimage import data

    image = Image.fromarray(getattr(data, photo.name)()).convert("RGB")
    exif = Image.Exif()
    if photo.camera:
        exif[MAKE], exif[MODEL] = photo.camera
    exif.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] = photo.taken
    if photo.gps:
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    path = folder / f"{photo.name}.jpg"
    image.save(path, quality=90, exif=exif)
    return path


def write_library(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {p.name: write_photo(p, folder) for p in LIBRARY}
