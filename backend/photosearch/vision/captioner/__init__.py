"""The Show, Attend and Tell captioner (captioner.py is the entry point). Its committed files are named here,
without torch, so a health check can tell whether they are installed and a search server which models describe
photos today."""

from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "captioner-flickr8k.pt"


def version_file(weights: Path) -> Path:
    """Beside `<name>.pt`, `<name>.version` holds the version the weights carry inside (train.save_weights)."""
    return Path(weights).with_suffix(".version")


def caption_model_today(weights: Path = DEFAULT_WEIGHTS) -> str | None:
    """What a description written now records as its caption_model ("captioner-flickr8k@open-vocab-1+hedged-8",
    as Describer.caption_model says), read without torch; None without the weights' version file."""
    from photosearch.vision.captioner.grounding import GROUNDING_VERSION

    try:
        version = version_file(weights).read_text().strip()
    except OSError:
        return None
    return f"{Path(weights).stem}@{version}+{GROUNDING_VERSION}" if version else None
