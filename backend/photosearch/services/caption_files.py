"""The seed's `caption_photosearch.py`, kept as `photosearch caption`: caption every photo of a list and
write `{url_or_path: caption}` as JSON. Entries may be URLs (fetched safely) or local file paths.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from photosearch.config import Settings
from photosearch.errors import InvalidInput, PhotosearchError
from photosearch.sources.fetch import Fetcher
from photosearch.vision.captioner.captioner import Captioner
from photosearch.vision.encoder import EfficientNetLite0Encoder
from photosearch.vision.imageio import decode_image


@dataclass
class CaptionOptions:
    imglist: Path  # JSON list of URLs/paths, or an object {id: url}
    dict_path: Path  # where {entry: caption} is written
    model: Path | None = None  # a checkpoint (ours or the seed's); None: the committed weights
    word_map: Path | None = None  # its WORDMAP json (needed with `model`)
    beam_size: int = 5


def caption_list(options: CaptionOptions, settings: Settings) -> dict:
    if bool(options.model) != bool(options.word_map):
        raise InvalidInput("give both --model and --word_map, or neither (to use the committed weights)")
    captioner = Captioner.load(options.model, options.word_map, beam_size=options.beam_size)
    encoder = captioner.encoder if captioner.encoder is not None else EfficientNetLite0Encoder()
    entries = _read_list(Path(options.imglist))
    fetcher = Fetcher(settings)
    out: dict[str, str] = {}
    for entry in tqdm(entries, desc="captioning", unit="photo"):
        try:
            if entry.startswith(("http://", "https://")):
                data = fetcher.fetch(entry)
            else:
                path = Path(entry).expanduser()
                if not path.is_file():
                    raise InvalidInput(f"no such file: {path}")
                data = path.read_bytes()
            image = decode_image(data, settings.max_image_pixels, max_side=1024)
            grid = encoder.encode([image]).grid
            out[entry] = captioner.caption(grid, beam_size=options.beam_size)[0][0].text
        except PhotosearchError as exc:
            tqdm.write(f"skipping {entry}: {exc.message}")
    Path(options.dict_path).write_text(json.dumps(out, indent=1, ensure_ascii=False))
    print(f"wrote {len(out)} captions to {options.dict_path}")
    return out


def _read_list(path: Path) -> list[str]:
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not valid JSON: {exc}") from exc
    values = list(data.values()) if isinstance(data, dict) else data
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidInput(f"{path} must hold a JSON list of URLs/paths or an object mapping ids to them")
    return values
