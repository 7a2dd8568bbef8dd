"""Loading captioner checkpoints: our fp16 export, the seed's sgrvinod checkpoints, the caption CLI, the
committed weights.

The seed checkpoint is built here with a re-creation of sgrvinod's `models.py` (tests/fixtures) imported as
`models`, saved exactly like the tutorial, and loaded after `models` is gone again. Its ResNet-101 has
random weights (about 170 MB on disk), so it is made once per test module.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from photosearch import cli
from photosearch.errors import ModelError
from photosearch.vision.captioner.beam import beam_search
from photosearch.vision.captioner.captioner import DEFAULT_WEIGHTS, Captioner
from photosearch.vision.captioner.compat import SeedEncoder, SeedResNetEncoder
from photosearch.vision.captioner.model import CaptionerConfig, DecoderWithAttention
from photosearch.vision.captioner.train import export
from photosearch.vision.captioner.wordmap import END, PAD, START, WordMap

SEED_MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "sgrvinod_models.py"
WORDS = ["a", "cat", "dog", "on", "the", "sofa", "sits", "grass", "red", "ball", "with", "is", "lying", "brown"]


def chelsea() -> Image.Image:
    """A real photo of a cat, bundled with scikit-image (read from disk)."""
    from skimage import data

    return Image.fromarray(np.asarray(data.chelsea())).convert("RGB")


# ----------------------------------------------------------------------------------------- our export


def tiny_word_map() -> WordMap:
    return WordMap.build([[f"w{i:02d}" for i in range(16)]] * 6)


def tiny_decoder(vocab: int) -> DecoderWithAttention:
    torch.manual_seed(0)
    config = CaptionerConfig(vocab_size=vocab, encoder_dim=12, attention_dim=8, embed_dim=8, decoder_dim=16)
    decoder = DecoderWithAttention(config).eval()
    with torch.no_grad():
        decoder.fc.weight.normal_(0, 1.5)  # peaked word distributions
    return decoder


def write_best(run: Path, decoder: DecoderWithAttention, word_map: WordMap) -> tuple[Path, Path]:
    """A `best.pt` and word map as train.train writes them."""
    run.mkdir()
    word_map_path = run / "WORDMAP_flickr8k.json"
    word_map.save(word_map_path)
    state = {"epoch": 3, "best_bleu4": 0.12, "since_improvement": 0, "history": []}
    optimizer = torch.optim.Adam(decoder.parameters())
    ckpt = {"decoder": decoder.state_dict(), "optimizer": optimizer.state_dict(), "state": state,
            "config": decoder.config.to_dict()}  # fmt: skip
    torch.save(ckpt, run / "best.pt")
    return run / "best.pt", word_map_path


def test_export_round_trip(tmp_path: Path) -> None:
    """train.export -> Captioner.load gives the decoder's captions (exactly, from the same fp16 weights)."""
    word_map, decoder = tiny_word_map(), tiny_decoder(20)
    best, word_map_path = write_best(tmp_path / "run", decoder, word_map)
    path = export(best, word_map_path, tmp_path / "weights", open_vocabulary=False)

    saved = torch.load(path, weights_only=True)
    assert saved["encoder"] == "efficientnet-lite0"
    assert saved["config"] == decoder.config.to_dict()
    assert all(t.dtype == torch.float16 for t in saved["decoder"].values())
    assert (tmp_path / "weights" / "captioner-flickr8k.wordmap.json").read_text() == word_map_path.read_text()

    captioner = Captioner.load(path, int8=False)  # the word map is found beside the weights; float32 maths
    assert captioner.encoder is None and captioner.encoder_name == "efficientnet-lite0"
    assert captioner.name == "captioner-flickr8k@open-vocab-1"  # the version is part of the name
    assert captioner.word_map.word_to_id == word_map.word_to_id

    grids = torch.randn(4, 6, 12, generator=torch.Generator().manual_seed(5))
    got = captioner.caption(grids, beam_size=3)
    rounded = DecoderWithAttention(decoder.config)
    rounded.load_state_dict({k: v.half().float() for k, v in decoder.state_dict().items()})
    want = beam_search(rounded.eval(), grids, word_map, beam_size=3, max_len=captioner.max_len,
                       length_penalty=captioner.length_penalty)
    assert [[c.words for c in caps] for caps in got] == [[c.words for c in caps] for caps in want]
    assert [[c.score for c in caps] for caps in got] == [[c.score for c in caps] for caps in want]

    # fp16 rounding does not flip a word of this tiny model: same captions as the fp32 original.
    original = beam_search(decoder, grids, word_map, beam_size=3, max_len=captioner.max_len,
                           length_penalty=captioner.length_penalty)
    assert [caps[0].words for caps in got] == [caps[0].words for caps in original]
    for a, b in zip(got, original, strict=True):
        assert a[0].score == pytest.approx(b[0].score, abs=1e-2)


def test_load_errors_are_model_errors(tmp_path: Path) -> None:
    """Missing files, a word map of the wrong size and files that aren't checkpoints raise ModelError."""
    word_map, decoder = tiny_word_map(), tiny_decoder(20)
    best, word_map_path = write_best(tmp_path / "run", decoder, word_map)
    path = export(best, word_map_path, tmp_path / "weights", open_vocabulary=False)

    with pytest.raises(ModelError, match="not found"):
        Captioner.load(tmp_path / "nothing.pt")
    with pytest.raises(ModelError, match="word map not found"):
        Captioner.load(best)  # best.pt has no best.wordmap.json beside it
    small = tmp_path / "small.json"
    WordMap.build([["a"]] * 6).save(small)
    with pytest.raises(ModelError, match="trained with 20"):
        Captioner.load(path, small)
    not_captioner = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, not_captioner)
    with pytest.raises(ModelError, match="no 'decoder' entry"):
        Captioner.load(not_captioner, word_map_path)
    for name, data in (("garbage.pt", b"hello, not a checkpoint at all"), ("empty.pt", b"")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelError, match="cannot read"):
            Captioner.load(tmp_path / name, word_map_path)


# ------------------------------------------------------------------------------------ seed checkpoints


@contextmanager
def seed_models_module() -> Iterator[ModuleType]:
    """tests/fixtures/sgrvinod_models.py importable as `models`, as the tutorial's scripts see it; removed after."""
    before = sys.modules.pop("models", None)
    spec = importlib.util.spec_from_file_location("models", SEED_MODELS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["models"] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["models"]
        if before is not None:
            sys.modules["models"] = before


@dataclass
class SeedCheckpoint:
    path: Path
    word_map_path: Path
    word_map: dict[str, int]
    encoder: nn.Module  # the original modules, kept to compare against
    decoder: nn.Module


def seed_word_map(words: list[str]) -> dict[str, int]:
    """The tutorial's create_input_files: words from 1, then <unk>, <start>, <end>, and <pad> = 0."""
    word_map = {word: i + 1 for i, word in enumerate(words)}
    word_map["<unk>"] = len(word_map) + 1
    word_map["<start>"] = len(word_map) + 1
    word_map["<end>"] = len(word_map) + 1
    word_map["<pad>"] = 0
    return word_map


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedCheckpoint]:
    """A checkpoint saved like the tutorial's train.py save_checkpoint (pickled modules), with its WORDMAP.
    Deleted afterwards (170 MB)."""
    tmp = tmp_path_factory.mktemp("seed")
    word_map = seed_word_map(WORDS)
    torch.manual_seed(0)
    with seed_models_module() as models:
        encoder = models.Encoder()
        decoder = models.DecoderWithAttention(
            attention_dim=16, embed_dim=16, decoder_dim=32, vocab_size=len(word_map), dropout=0.5
        )
        decoder_optimizer = torch.optim.Adam(params=filter(lambda p: p.requires_grad, decoder.parameters()), lr=4e-4)
        state = {
            "epoch": 0,
            "epochs_since_improvement": 0,
            "bleu-4": 0.0,
            "encoder": encoder,
            "decoder": decoder,
            "encoder_optimizer": None,
            "decoder_optimizer": decoder_optimizer,
        }
        path = tmp / "BEST_checkpoint_coco_5_cap_per_img_5_min_word_freq.pth.tar"
        torch.save(state, path)
    word_map_path = tmp / "WORDMAP_coco_5_cap_per_img_5_min_word_freq.json"
    word_map_path.write_text(json.dumps(word_map))
    yield SeedCheckpoint(path, word_map_path, word_map, encoder.eval(), decoder.eval())
    path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def seed_captioner(seed: SeedCheckpoint) -> Captioner:
    assert "models" not in sys.modules  # the seed's code is gone: only photosearch's stand-ins can load it
    return Captioner.load(seed.path, seed.word_map_path, beam_size=3, int8=False)  # float32, like the seed


@pytest.fixture(scope="module")
def chelsea_grid(seed_captioner: Captioner) -> torch.Tensor:
    """The seed encoder's grid for the cat photo, computed once."""
    return seed_captioner.encoder.encode([chelsea()]).grid


def test_seed_checkpoint_loads_without_the_seed_code(seed: SeedCheckpoint, seed_captioner: Captioner) -> None:
    """The pickled models.* classes load through photosearch's stand-ins; the decoder weights move over intact."""
    assert seed_captioner.encoder_name == "resnet101-sgrvinod"
    assert isinstance(seed_captioner.encoder, SeedResNetEncoder)
    assert type(seed_captioner.encoder.module) is SeedEncoder
    assert not seed_captioner.encoder.module.training
    config = seed_captioner.decoder.config
    dims = (config.vocab_size, config.encoder_dim, config.attention_dim, config.embed_dim, config.decoder_dim)
    assert dims == (len(seed.word_map), 2048, 16, 16, 32)
    ours, theirs = seed_captioner.decoder.state_dict(), seed.decoder.state_dict()
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert torch.equal(ours[key], value), key
    assert seed_captioner.word_map.pad == 0 and len(seed_captioner.word_map) == len(seed.word_map)


def test_seed_encoder_matches_the_seed_module(seed: SeedCheckpoint, seed_captioner: Captioner) -> None:
    """The stand-in Encoder.forward (ResNet trunk, 14x14 pool, channels last) equals the seed's."""
    pixels = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = seed.encoder(pixels)
        got = seed_captioner.encoder.module(pixels)
    assert want.shape == (1, 14, 14, 2048)
    torch.testing.assert_close(got, want)


def test_seed_decoder_matches_the_seed_maths(seed: SeedCheckpoint, seed_captioner: Captioner) -> None:
    """Teacher-forced logits and attention of our decoder equal the seed decoder's forward on the same input."""
    gen = torch.Generator().manual_seed(1)
    lengths = torch.tensor([5, 7, 3])  # unsorted: the seed's forward returns rows sorted by length
    captions = torch.zeros(3, 7, dtype=torch.long)
    for i, n in enumerate(lengths.tolist()):
        captions[i, 0], captions[i, n - 1] = seed.word_map["<start>"], seed.word_map["<end>"]
        captions[i, 1 : n - 1] = torch.randint(1, len(WORDS) + 1, (n - 2,), generator=gen)
    encoder_out = torch.randn(3, 14, 14, 2048, generator=gen)  # the seed encoder's output layout
    with torch.no_grad():
        predictions, _, decode_lengths, seed_alphas, sort_ind = seed.decoder(
            encoder_out, captions, lengths.unsqueeze(1)
        )
        logits, alphas = seed_captioner.decoder(encoder_out.flatten(1, 2), captions, lengths)
    assert decode_lengths == [6, 4, 2]
    torch.testing.assert_close(logits[sort_ind], predictions, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(alphas[sort_ind], seed_alphas, atol=1e-6, rtol=1e-5)


def test_seed_checkpoint_captions_a_real_photo(
    seed: SeedCheckpoint, seed_captioner: Captioner, chelsea_grid: torch.Tensor
) -> None:
    """Photo -> seed ResNet grid [1, 196, 2048] -> beam search: captions made of the word map's words."""
    assert chelsea_grid.shape == (1, 196, 2048) and torch.isfinite(chelsea_grid).all()
    captions = seed_captioner.caption(chelsea_grid)[0]
    assert len(captions) == 3
    allowed = set(seed.word_map) - {PAD, START, END}
    for cap in captions:
        assert set(cap.words) <= allowed
        assert cap.alphas.shape == (len(cap.words), 196)


def test_caption_cli_with_a_seed_checkpoint(
    seed: SeedCheckpoint, seed_captioner: Captioner, chelsea_grid: torch.Tensor, tmp_path: Path
) -> None:
    """`photosearch caption --model --word_map --imglist --dict_path` writes {path: best caption}; a missing
    file is skipped."""
    photo, missing = tmp_path / "chelsea.png", tmp_path / "missing.jpg"
    chelsea().save(photo)
    imglist, out = tmp_path / "list.json", tmp_path / "out.json"
    imglist.write_text(json.dumps([str(photo), str(missing)]))
    cli.main(
        ["caption", "--data-dir", str(tmp_path / "data"), "--model", str(seed.path),
         "--word_map", str(seed.word_map_path), "--beam_size", "3", "--imglist", str(imglist),
         "--dict_path", str(out)]
    )  # fmt: skip
    as_the_app = Captioner.load(seed.path, seed.word_map_path, beam_size=3)  # int8, as `caption` loads it
    expected = as_the_app.caption(chelsea_grid, beam_size=3)[0][0].text
    assert json.loads(out.read_text()) == {str(photo): expected}


# ---------------------------------------------------------------------------------- committed weights


@pytest.mark.skipif(
    not DEFAULT_WEIGHTS.exists(), reason="captioner-flickr8k.pt is not committed yet (it is being trained)"
)
def test_committed_weights_caption_a_person() -> None:
    """The shipped captioner describes skimage's astronaut portrait as a person. (Its cat photo is beyond the
    Flickr8k world the captioner knows — see the model card — which is why the test uses the portrait.)"""
    from skimage import data

    from photosearch.vision.encoder import EfficientNetLite0Encoder

    captioner = Captioner.load()
    assert captioner.encoder_name == "efficientnet-lite0"
    grid = EfficientNetLite0Encoder().encode([Image.fromarray(data.astronaut())]).grid
    captions = captioner.caption(grid)[0]
    assert len(captions) == captioner.beam_size
    best = captions[0]
    assert set(best.words) & {"man", "woman", "person", "girl", "boy", "lady"}, best.text


@pytest.mark.skipif(not DEFAULT_WEIGHTS.exists(), reason="captioner-flickr8k.pt is not committed")
def test_int8_decoder_writes_the_float_captions() -> None:
    """The app's decoder runs its matrices as int8 (INT8): quantized layers, and on skimage's sample photos the
    same best captions as the float32 decoder (dev BLEU-4 0.2135 vs 0.2134, docs/captioner-eval.md)."""
    from skimage import data

    from photosearch.vision.encoder import EfficientNetLite0Encoder

    int8, float32 = Captioner.load(), Captioner.load(int8=False)
    assert type(int8.decoder.fc).__module__.startswith("torch.ao.nn.quantized")
    assert type(float32.decoder.fc) is torch.nn.Linear
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.camera(), data.hubble_deep_field()]
    grid = EfficientNetLite0Encoder().encode([Image.fromarray(p).convert("RGB") for p in photos]).grid
    same = sum(a[0].text == b[0].text for a, b in zip(int8.caption(grid), float32.caption(grid), strict=True))
    assert same >= 5, f"int8 wrote other best captions than float32 for {len(photos) - same} of {len(photos)} photos"
