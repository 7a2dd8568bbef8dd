"""What the camera wrote into a photo: when it was taken, with which camera, and whether it carries a position.

Read from the EXIF block with Pillow (HEIC/HEIF through pillow-heif's opener, registered by `imageio`), from
the bytes exactly as they came from the source; pixels are never decoded here (`Image.open` is lazy).

- **When**: `DateTimeOriginal` (the shutter), else `DateTimeDigitized`, else the file's `DateTime`. EXIF dates
  are wall-clock times without a zone; when the camera also wrote `OffsetTimeOriginal` ("+02:00") the time is
  converted to UTC, otherwise it is kept as written and labelled UTC (the zone is unknown; a timeline sorted by
  it is what the person saw on their camera). Dates before 1900 or in the future are dropped: they are
  unset clocks ("0000:00:00 00:00:00", "1970:01:01 ...") more often than real dates.
- **Camera**: `Make` + `Model`, without the make twice ("Canon Canon EOS 5D" -> "Canon EOS 5D").
- **GPS**: only *whether* a latitude/longitude is present. The position itself is not stored or served, and the
  served copies of photos carry no EXIF at all (see `imageio`).

A broken or hostile EXIF block never costs the photo: any failure means "nothing known".
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from PIL import Image

log = logging.getLogger(__name__)

# EXIF tag numbers (Exif 2.32)
_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 0x9003, 0x9004
_OFFSET_TIME, _OFFSET_TIME_ORIGINAL, _OFFSET_TIME_DIGITIZED = 0x9010, 0x9011, 0x9012
_GPS_LATITUDE, _GPS_LONGITUDE = 0x0002, 0x0004

_DATE_RE = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET_RE = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PhotoMetadata:
    taken_at: datetime | None = None  # UTC
    camera: str | None = None
    has_gps: bool = False


def read_photo_metadata(data: bytes) -> PhotoMetadata:
    """EXIF date, camera and GPS presence of an encoded photo; empty metadata when there is none."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            exif = img.getexif()
            if not exif:
                return PhotoMetadata()
            sub = exif.get_ifd(_EXIF_IFD)
            gps = exif.get_ifd(_GPS_IFD)
    except Exception as exc:  # noqa: BLE001 - any broken EXIF means "nothing known", never a lost photo
        log.debug("no EXIF read: %r", exc)
        return PhotoMetadata()
    return PhotoMetadata(taken_at=_taken_at(exif, sub), camera=_camera(exif), has_gps=_has_gps(gps))


def _taken_at(exif: Image.Exif, sub: dict) -> datetime | None:
    for date_tag, offset_tag, ifd in ((_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL, sub),
                                      (_DATETIME_DIGITIZED, _OFFSET_TIME_DIGITIZED, sub),
                                      (_DATETIME, _OFFSET_TIME, exif)):
        value = parse_exif_date(ifd.get(date_tag), sub.get(offset_tag))
        if value is not None:
            return value
    return None


def parse_exif_date(raw: object, offset: object = None) -> datetime | None:
    """'2024:05:31 18:42:07' (+ '+02:00') -> 2024-05-31 16:42:07 UTC; None for empty or implausible dates."""
    text = _text(raw)
    match = _DATE_RE.match(text or "")
    if not match:
        return None
    try:
        naive = datetime(*(int(g) for g in match.groups()))  # type: ignore[misc]
    except ValueError:  # "0000:00:00 00:00:00", month 13, ...
        return None
    zone = UTC
    offset_match = _OFFSET_RE.match(_text(offset) or "")
    if offset_match:
        sign, hours, minutes = offset_match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        if delta < timedelta(hours=15):
            zone = timezone(-delta if sign == "-" else delta)
    value = naive.replace(tzinfo=zone).astimezone(UTC)
    if value < _EARLIEST or value > datetime.now(UTC) + timedelta(days=2):
        return None
    return value


def _camera(exif: Image.Exif) -> str | None:
    make, model = _text(exif.get(_MAKE)), _text(exif.get(_MODEL))
    if make and model and model.lower().startswith(make.split()[0].lower()):
        make = None  # "Canon" + "Canon EOS 5D": the model already says it
    camera = " ".join(part for part in (make, model) if part)
    return camera[:128] or None


def _has_gps(gps: dict) -> bool:
    return bool(gps) and _present(gps.get(_GPS_LATITUDE)) and _present(gps.get(_GPS_LONGITUDE))


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, tuple | list):
        return len(value) > 0
    return True


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).replace("\x00", "").strip()
    return text or None
