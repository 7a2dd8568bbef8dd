"""ImageNet labels as plain nouns (vision/labels.py + the committed label_nouns.json) and their place in
the index: "cat", "animal", "bird", "food" find photos whose labels sit under those words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from photosearch.errors import InvalidInput
from photosearch.services.ingest import index_doc
from photosearch.storage.index import PhotoIndex
from photosearch.storage.models import Description, Photo
from photosearch.vision.labels import (
    IMAGENET_CLASSES,
    NOUNS_FILE,
    LabelNouns,
    class_index,
    label_nouns,
    search_terms,
    top_labels,
)


@pytest.mark.parametrize(
    ("name", "noun", "category"),
    [
        ("Egyptian cat", "cat", "animal"),
        ("tabby", "cat", "feline"),
        ("bald eagle", "eagle", "bird"),
        ("sorrel", "horse", "animal"),
        ("espresso", "espresso", "coffee"),
        ("golden retriever", "dog", "animal"),
        ("mountain bike", "bike", "bicycle"),
        ("sports car", "car", "vehicle"),
        ("pizza", "pizza", "food"),
        ("daisy", "daisy", "flower"),
    ],
)
def test_label_nouns_name_the_subject_plainly(name: str, noun: str, category: str) -> None:
    nouns = label_nouns(IMAGENET_CLASSES.index(name))
    assert nouns.noun == noun
    assert category in nouns.hypernyms


def test_every_class_has_a_noun_and_no_abstract_category() -> None:
    table = json.loads(Path(NOUNS_FILE).read_text())
    assert sorted(map(int, table)) == list(range(1000))
    abstract = {"entity", "physical entity", "object", "whole", "artifact", "organism", "abstraction",
                "instrumentality", "instrumentation"}  # a CD player was "instrumentation" until round 7
    for index in range(1000):
        nouns = label_nouns(index)
        assert isinstance(nouns, LabelNouns) and nouns.noun
        assert len(nouns.hypernyms) <= 4
        assert not abstract & {nouns.noun, *nouns.hypernyms}, (IMAGENET_CLASSES[index], nouns)
        assert nouns.noun not in nouns.hypernyms


def test_class_names_are_torchvisions_in_the_weights_order() -> None:
    """The names are copied into label_nouns.json (the app no longer imports torchvision for them)."""
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    assert list(IMAGENET_CLASSES) == list(_IMAGENET_CATEGORIES)


def test_unknown_class_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput, match="0-999"):
        label_nouns(1000)


def test_top_labels_keep_the_class_index_and_old_labels_resolve_by_name() -> None:
    logits = torch.full((1, 1000), -10.0)
    logits[0, 285] = 5.0  # Egyptian cat
    best = top_labels(logits)[0][0]
    assert best["label"] == "Egyptian cat" and best["index"] == 285 and best["score"] > 0.9
    assert class_index({"label": "Egyptian cat", "score": 0.8}) == 285  # stored before "index" existed
    assert class_index({"label": "no such class", "score": 0.8}) is None


def test_search_terms_add_nouns_and_categories_only_for_sure_labels() -> None:
    labels = [
        {"label": "espresso", "score": 0.9, "index": 967},
        {"label": "Madagascar cat", "score": 0.01, "index": 383},  # a lemur, barely
    ]
    terms = search_terms(labels)
    assert terms[:2] == ["espresso", "coffee"] and "drink" in terms
    assert "Madagascar cat" in terms  # the class name itself is always there, as before
    assert "animal" not in terms  # but a 1 % guess does not make the espresso an animal


def test_index_finds_photos_by_category_words(tmp_path: Path) -> None:
    index = PhotoIndex(tmp_path / "index")
    photos = {
        1: [{"label": "Egyptian cat", "score": 0.79, "index": 285}],
        2: [{"label": "bald eagle", "score": 0.95, "index": 22}],
        3: [{"label": "espresso", "score": 0.9, "index": 967}],
        4: [{"label": "sports car", "score": 0.6, "index": 817}],
    }
    docs = []
    for photo_id, labels in photos.items():
        photo = Photo(id=photo_id, profile_id=1, source=f"p{photo_id}.jpg", hashtags=[])
        docs.append(index_doc(photo, Description(caption="", alternatives=[], labels=labels)))
    index.add(docs)

    def found(text: str) -> set[int]:
        return {hit.photo_id for hit in index.search(1, text)}

    assert found("animal") == {1, 2}
    assert found("cat") == {1}
    assert found("bird") == {2}
    assert found("food") == {3}
    assert found("coffee") == {3}
    assert found("vehicle") == {4}
