"""Collect the real-photo set listed in docs/real-photos.json into a folder (default ~/.cache/photosearch/real-photos).

    python scripts/collect_real_photos.py [--out DIR]

Each photo comes from a package the project can reach: scikit-image and scikit-learn (already installed)
or a Debian package, fetched with `apt-get download` (run `apt-get update` once first) and unpacked with
`dpkg -x` into a temporary folder; nothing is installed. The photos stay out of the repository: the manifest
says where each comes from, its license, and the nouns a correct caption may use for its subject.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "docs" / "real-photos.json"


def default_out() -> Path:
    return Path.home() / ".cache" / "photosearch" / "real-photos"


def collect(out: Path, manifest: Path = MANIFEST) -> list[Path]:
    photos = json.loads(manifest.read_text())["photos"]
    out.mkdir(parents=True, exist_ok=True)
    debs = sorted({p["from"]["debian"] for p in photos if "debian" in p["from"]})
    done: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        unpacked = Path(tmp) / "root"
        missing = [p for p in photos if not (out / p["name"]).exists()]
        if any("debian" in p["from"] for p in missing):
            subprocess.run(["apt-get", "download", *debs], cwd=tmp, check=True)
            for deb in Path(tmp).glob("*.deb"):
                subprocess.run(["dpkg", "-x", str(deb), str(unpacked)], check=True)
        for photo in photos:
            target = out / photo["name"]
            if not target.exists():
                source = photo["from"]
                if "python" in source:
                    package = importlib.import_module(source["python"])
                    path = Path(package.__file__).parent / source["path"]
                else:
                    path = unpacked / source["path"]
                shutil.copyfile(path, target)
            done.append(target)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(default_out()))
    args = parser.parse_args()
    paths = collect(Path(args.out))
    print(f"{len(paths)} photos in {args.out}")


if __name__ == "__main__":
    main()
