"""How sizes are shown to people: one formatter, so every limit reads the same everywhere."""

from __future__ import annotations


def megabytes(size: int | float) -> str:
    """Decimal megabytes, one decimal only where it matters: 50_000_000 -> "50 MB", 524_288 -> "0.5 MB"."""
    return f"{size / 1e6:.1f}".removesuffix(".0") + " MB"
