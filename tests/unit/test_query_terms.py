"""Typos, unusable queries, plain-word reasons and label meaning, as pure functions."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from photosearch.services.relevance import is_keyword, plan_query, reasons
from photosearch.text.label_meaning import LabelMeaning, label_arrays
from photosearch.text.query_terms import correct, correct_word, english_words, has_usable_words

VOCAB = Counter({"astronaut": 1, "rocket": 2, "espresso": 1, "cat": 3, "coffee": 2, "helmet": 1, "montmartre": 1,
                 "horse": 4, "house": 1})


@pytest.mark.parametrize("query,expected", [
    ("astronot", "astronaut"),
    ("an astronot in a spacesuit", "an astronaut in a spacesuit"),
    ("expresso", "espresso"),
    ("rockett launch", "rocket launch"),
    ("Montmatre", "montmartre"),
    ("car", None),  # an English word that the collection lacks is an answer, not a typo
    ("astronaut", None),
    ("dgo", None),  # under 4 letters: too many neighbours to guess
    ("zzzzzzzz", None),  # nothing close
    ("cafés", None),  # accented: not an English typo
])
def test_corrections(query: str, expected: str | None) -> None:
    assert correct(query, VOCAB) == expected


def test_ties_prefer_the_word_more_photos_use() -> None:
    assert correct_word("hoxse", {"horse": 4, "house": 1}, frozenset()) == "horse"
    assert correct_word("hoxse", {"horse": 1, "house": 4}, frozenset()) == "house"


def test_english_words_come_from_minilm_vocabulary() -> None:
    known = english_words()
    if not known:
        pytest.skip("MiniLM package not installed")
    assert {"astronaut", "cat", "coffee"} <= known and "astronot" not in known


@pytest.mark.parametrize("query,usable", [("猫", False), ("🚀", False), ("🚀 !!", False), ("猫 cat", True),
                                          ("café", True), ("2019", True), ("   ", False)])
def test_usable_words(query: str, usable: bool) -> None:
    assert has_usable_words(query) is usable


def test_query_plan() -> None:
    plan = plan_query("猫", VOCAB)
    assert plan.search_text is None and "No usable English words" in plan.notice and "猫" in plan.notice
    plan = plan_query("astronot", VOCAB)
    assert (plan.search_text, plan.did_you_mean, plan.notice) == ("astronaut", "astronaut", None)
    plan = plan_query("a cat", VOCAB)
    assert (plan.search_text, plan.did_you_mean) == ("a cat", None)


def test_reasons_in_plain_words() -> None:
    labels = [{"label": "espresso", "score": 0.9}, {"label": "cup", "score": 0.05}]
    out = reasons("espresso", {"labels": {"espresso"}}, labels, "", [], semantic=0.1, label_meaning=None)
    assert out == [{"text": "espresso (in labels, 90 %)", "kind": "label"}]
    # a word is credited to the likeliest label that holds it, by name, noun or category, not to a 1 % one
    mandrill = [{"label": "baboon", "score": 0.74}, {"label": "guenon", "score": 0.1},
                {"label": "proboscis monkey", "score": 0.01}]
    out = reasons("a monkey", {"labels": {"monkey"}}, mandrill, "", [], semantic=0.5, label_meaning=None)
    assert out[0] == {"text": "monkey (label baboon, 74 %)", "kind": "label"}
    assert not any("proboscis" in r["text"] for r in out)
    out = reasons("a cup of espresso", {"labels": {"espresso", "cup"}}, labels, "", [], semantic=0.5,
                  label_meaning=None)
    assert out[:2] == [{"text": "espresso (in labels, 90 %)", "kind": "label"},
                       {"text": "cup (in labels, 5 %)", "kind": "label"}]
    out = reasons("a dog on the beach", {"caption": {"dog", "beach"}}, [], "", [], semantic=0.6,
                  label_meaning=None)
    assert out == [{"text": "“dog”, “beach” in the description", "kind": "caption"},
                   {"text": "looks like your words", "kind": "semantic"}]
    # words only the captioner's other sentences say (an unsure caption among them) are not "the description"
    out = reasons("a person on a bench", {"caption": {"bench"}, "alternatives": {"person", "bench"}}, [], "", [],
                  semantic=0.2, label_meaning=None)
    assert out == [{"text": "“bench” in the description", "kind": "caption"},
                   {"text": "“person” in the captioner's other sentences", "kind": "caption"}]
    out = reasons("paris", {"hashtags": {"paris"}}, [], "", ["paris"], semantic=None, label_meaning=None)
    assert out == [{"text": "#paris in the poster's text", "kind": "text"}]
    out = reasons("a large bird", {}, [{"label": "crane", "score": 0.62}], "", [], semantic=0.2,
                  label_meaning=("bird", "crane", 0.62))
    assert out == [{"text": "looks like a bird (crane, 62 %)", "kind": "label"}]
    assert reasons("x", {}, [], "", [], None, None) == [
        {"text": "a loose match: nothing more similar in this collection", "kind": "semantic"}]
    # a match that no single signal explains is not called loose
    assert reasons("fog", {}, [], "", [], 0.4, None, strong=True) == [
        {"text": "close to your words overall", "kind": "semantic"}]


def test_label_meaning_weights_labels_by_probability() -> None:
    # three classes' words embedded as unit vectors; the query is close to class 1's noun
    meaning = LabelMeaning(lambda texts: np.eye(len(texts), 5, dtype=np.float32))
    from photosearch.text.label_meaning import ClassWords

    # class 0: name "tabby", noun "cat", category "animal"; class 1: name "crane", noun "bird", category "animal"
    meaning._words = ClassWords(["cat", "animal", "bird", "tabby", "crane"], np.array([3, 4]), np.array([0, 2]),
                                np.array([[1], [1]]))
    meaning._matrix = np.eye(5, 5, dtype=np.float32)
    meaning._ready = True
    query = np.array([0.0, 0.0, 1.0, 0.0, 0.0], np.float32)  # "bird"
    classes = meaning.class_scores(query)
    assert classes.tolist() == [0.0, 1.0]
    index = np.array([[1, 0], [0, -1]])
    prob = np.array([[0.8, 0.2], [0.9, 0.0]], np.float32)
    assert meaning.photo_scores(classes, index, prob).tolist() == pytest.approx([0.8, 0.0])
    assert meaning.best_words(query, 1) == ("bird", 1.0)
    # the class's own name counts like its noun: "tabby" (whose WordNet noun is "cat") meets class 0
    tabby = np.array([0.0, 0.0, 0.0, 1.0, 0.0], np.float32)
    assert meaning.class_scores(tabby).tolist() == [1.0, 0.0]
    assert meaning.best_words(tabby, 0) == ("tabby", 1.0)
    animal = np.array([0.0, 1.0, 0.0, 0.0, 0.0], np.float32)  # a category counts a little less
    assert meaning.class_scores(animal).tolist() == pytest.approx([0.9, 0.9])


def test_label_arrays_from_stored_labels() -> None:
    index, prob = label_arrays([[{"label": "tabby", "score": 0.6}, {"label": "nonsense", "score": 0.1}],
                                [{"label": "x", "score": 0.5, "index": 7}], []])
    assert index[0, 0] == 281 and index[0, 1] == -1 and index[1, 0] == 7 and (index[2] == -1).all()
    assert prob[0, 0] == pytest.approx(0.6) and prob[0, 1] == 0


def test_a_keyword_is_one_word_as_the_index_reads_it() -> None:
    assert is_keyword("espresso") and is_keyword("a dog") and is_keyword("Dogs!")
    assert not is_keyword("a dog on the beach") and not is_keyword("the") and not is_keyword("egyptian cat")
