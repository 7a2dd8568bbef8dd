"""What a query's words are: usable at all, English, or a typo of a word the collection knows.

Search understands English descriptions. Two things go wrong with the words people type:

- **No usable words**: "猫" or "🚀" has no word our models or the index can read (everything is English and the
  index splits Latin-script words). Rather than rank the collection by noise, search says so
  (`has_usable_words`).
- **Typos**: "astronot" is no English word and no word of the collection; the closest word the collection uses
  within a small edit distance ("astronaut") is offered as "Did you mean" (`correct`). A word that *is* English
  ("cat" in a collection without cats) is never "corrected" into another one ("car"): knowing the word and not
  finding it is an answer, not a typo. English = a whole-word token of MiniLM's WordPiece vocabulary (30,522
  entries, the vocabulary the semantic search reads).

Edit distance is Damerau-Levenshtein (a swap of two letters is one edit) from rapidfuzz. Allowed: 1 edit for
words of 4-5 letters, 2 from 6 letters; words under 4 letters are never corrected (too many neighbours), nor
words with letters beyond ASCII ("café", "Zürich": not English, so not an English typo).
Among candidates at the smallest distance the word used by more photos wins, then the alphabetically first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from rapidfuzz.distance import DamerauLevenshtein
from rapidfuzz.process import extract

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_LATIN_OR_DIGIT = re.compile(r"[A-Za-z0-9\u00C0-\u024F]")  # ASCII, Latin-1 and Latin Extended letters
MIN_CORRECTABLE = 4


def words(text: str) -> list[str]:
    """Lowercased words of a text (letters and digits; punctuation, emoji and spaces separate)."""
    return [w.lower() for w in _WORD.findall(text or "")]


def has_usable_words(query: str) -> bool:
    """True when the query has at least one word in Latin script or digits ("café", "dog", "2019")."""
    return any(_LATIN_OR_DIGIT.search(w) for w in words(query))


@cache
def english_words() -> frozenset[str]:
    """Whole-word entries of MiniLM's WordPiece vocabulary (lowercase letters only); empty when the model
    package is missing (then nothing is ever called a typo)."""
    try:
        from photosearch.text.embedder import model_dir

        lines = (model_dir() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    except Exception:  # noqa: BLE001 - no vocabulary: no corrections, search still works
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and w.isascii() and w.islower())


def max_edits(word: str) -> int:
    if len(word) < MIN_CORRECTABLE:
        return 0
    return 1 if len(word) < 6 else 2


def correct_word(word: str, vocabulary: Mapping[str, int], known: frozenset[str] | set[str]) -> str | None:
    """The collection's word `word` was probably meant to be, or None (it is fine, or nothing is close)."""
    word = word.lower()
    edits = max_edits(word)
    if not edits or not (word.isalpha() and word.isascii()) or word in vocabulary or word in known:
        return None
    found = extract(word, list(vocabulary), scorer=DamerauLevenshtein.distance, score_cutoff=edits, limit=None)
    if not found:
        return None
    best = min(found, key=lambda m: (m[1], -vocabulary[m[0]], m[0]))
    return best[0]


def correct(query: str, vocabulary: Mapping[str, int], known: frozenset[str] | set[str] | None = None) -> str | None:
    """The query with its typos replaced by the collection's words ("an astronot" -> "an astronaut"), or None
    when no word needed correcting."""
    known = english_words() if known is None else known
    changed = False

    def replace(match: re.Match) -> str:
        nonlocal changed
        fixed = correct_word(match.group(0), vocabulary, known)
        if fixed is None:
            return match.group(0)
        changed = True
        return fixed

    corrected = _WORD.sub(replace, query)
    return corrected if changed else None
