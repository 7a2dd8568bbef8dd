"""How sizes and counts are shown to people: one formatter each, so they read the same everywhere."""

from __future__ import annotations


def megabytes(size: int | float) -> str:
    """Decimal megabytes, one decimal only where it matters: 50_000_000 -> "50 MB", 524_288 -> "0.5 MB"."""
    return f"{size / 1e6:.1f}".removesuffix(".0") + " MB"


def photos(n: int) -> str:
    """"1 photo", "3 photos", "0 photos"."""
    return f"{n} photo" if n == 1 else f"{n} photos"
