"""The Show, Attend and Tell captioner (captioner.py is the entry point). Its committed files are named here,
without torch, so a health check can tell whether they are installed."""

from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "captioner-flickr8k.pt"
