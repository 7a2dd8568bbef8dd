"""Regenerate backend/photosearch/vision/captioner/joint_nouns.json: the nouns the joint space can recognise.

    apt-get install wordnet-base          # WordNet 3.0 under /usr/share/wordnet
    PYTHONPATH=backend python scripts/make_joint_nouns.py --data ../shared/flickr8k [--min-captions 50] [--out PATH]

The joint image-text space (text/retrieval.py) learned from Flickr8k's training captions, so it can only tell
apart the things those captions talk about: places (beach, lake, street), nature (flower, tree, sky, snow) and
what people hold or ride. This script lists them, for vision/captioner/joint_nouns.py, as the words of those
captions that are
  - a WordNet noun (plural folded to singular: "flowers" -> flower, "leaves" -> leaf), whose most frequent
    sense is a thing, a place, a plant, an animal, a food, a substance or a natural phenomenon
    (not "front", "group", "female": WordNet's first sense of those is a location, a group, a person),
  - used as a noun at least as often as a verb, adjective or adverb in WordNet's tagged corpus ("swing",
    "open", "outside" are not),
  - not a person word (people.py decides about people) and not in NOT_SUBJECTS below,
  - in at least `--min-captions` training captions: a word seen 50 times is one the joint space has learned.
Each noun is {"forms": the forms the captions write (at least MIN_FORM_USES times), the most used first,
"article": what the captions most often put right before it}: {"forms": ["flowers", "flower"], "article": ""},
{"forms": ["sky"], "article": "the"}, {"forms": ["dog", "dogs"], "article": "a"}. The first form names it; a
caption that uses any of them mentions it.
Only the words are written, never a caption; nothing here is a Flickr8k photo or sentence.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from photosearch.vision.captioner.dataset import read_captions, read_split
from photosearch.vision.captioner.grounding import plural
from photosearch.vision.captioner.people import PERSON_WORDS

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "backend" / "photosearch" / "vision" / "captioner" / "joint_nouns.json"
MIN_CAPTIONS = 50
MIN_FORM_USES = 5  # a singular or plural form written fewer times is left out of a noun's forms
# What comes right before a noun in the captions: "a dog", "the sky", "in water" (a preposition, no article).
DETERMINERS = {"a": "a", "an": "a", "the": "the", **dict.fromkeys(
    ("in", "on", "through", "into", "across", "over", "under", "near", "by", "with", "of", "onto", "from", "at",
     "along", "around"), "")}
# WordNet lexicographer files of things one can photograph: animal, artifact, food, location, natural object,
# natural phenomenon, plant, substance.
CONCRETE = {"05", "06", "13", "15", "17", "19", "20", "27"}
# Nouns of that kind that name no subject of a photo: words about the photo, the position or a wide class.
NOT_SUBJECTS = {"photo", "picture", "piece", "area", "setting", "structure", "equipment", "gear", "clothing",
                "vehicle", "female", "male", "pet", "top", "end", "edge", "side", "front", "middle", "left",
                "hanging", "light", "orange", "silver", "metal", "plastic", "stand", "air", "midair", "inside",
                "upside"}


def read_index(wordnet: Path, pos: str) -> dict[str, tuple[int, list[str]]]:
    """index.<pos> -> {lemma: (tagged sense count, synset offsets most frequent first)}."""
    out = {}
    for line in (wordnet / f"index.{pos}").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):  # the licence header
            continue
        fields = line.split()
        pointers = int(fields[3])
        out[fields[0]] = (int(fields[5 + pointers]), fields[6 + pointers :])
    return out


def lexicographer_files(wordnet: Path) -> dict[str, str]:
    """data.noun -> {synset offset: lexicographer file number ("05" = noun.animal)}."""
    files = {}
    for line in (wordnet / "data.noun").read_text(encoding="latin-1").splitlines():
        if not line.startswith(" "):
            offset, lexfile = line.split()[:2]
            files[offset] = lexfile
    return files


def singular(word: str, nouns: dict, exceptions: dict[str, str]) -> str:
    """A plural folded to its WordNet singular ("flowers" -> flower, "leaves" -> leaf); other words as they are."""
    if word in exceptions:
        return exceptions[word]
    for suffix, replacement in (("ies", "y"), ("es", ""), ("s", "")):
        stem = word[: -len(suffix)] + replacement
        if word.endswith(suffix) and stem in nouns and plural(stem) == word:
            return stem
    return word


def build(data: Path, wordnet: Path, min_captions: int = MIN_CAPTIONS) -> list[dict]:
    nouns = read_index(wordnet, "noun")
    others = [read_index(wordnet, pos) for pos in ("verb", "adj", "adv")]
    lexfiles = lexicographer_files(wordnet)
    exceptions = dict(line.split()[:2] for line in (wordnet / "noun.exc").read_text().splitlines() if line.strip())
    captions = read_captions(data)
    counts: Counter[str] = Counter()  # singular -> training captions that use it
    forms: Counter[tuple[str, str]] = Counter()  # (word as written, singular) -> uses
    determiners: Counter[tuple[str, str]] = Counter()  # (word as written, "a" / "the" / "") -> uses
    for name in read_split(data, "train"):
        for tokens in captions.get(name, []):
            folded = {word: singular(word, nouns, exceptions) for word in tokens}
            counts.update(set(folded.values()))
            forms.update(folded.items())
            determiners.update((word, DETERMINERS[before]) for before, word in zip(tokens, tokens[1:], strict=False)
                               if before in DETERMINERS)
    people = {*PERSON_WORDS, *(singular(w, nouns, exceptions) for w in PERSON_WORDS)}
    kept = []
    for word, count in counts.items():
        if count < min_captions or len(word) < 3 or word not in nouns or word in people or word in NOT_SUBJECTS:
            continue
        tagged, offsets = nouns[word]
        if lexfiles.get(offsets[0]) not in CONCRETE:
            continue
        if any(tagged < index.get(word, (0, []))[0] for index in others):
            continue
        # as people write it ("jeans", "graffiti" rather than WordNet's "jean", "graffito"), then its other forms
        written = sorted(((n, form) for (form, stem), n in forms.items() if stem == word and n >= MIN_FORM_USES),
                         reverse=True)
        spelled = [form for _, form in written]
        article = max(("a", "the", ""), key=lambda d: determiners[spelled[0], d])
        kept.append({"forms": spelled, "article": article})
    return sorted(kept, key=lambda noun: noun["forms"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the Flickr8k folder (Flickr8k.token.txt, the split files)")
    parser.add_argument("--wordnet", default="/usr/share/wordnet")
    parser.add_argument("--min-captions", type=int, default=MIN_CAPTIONS)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    words = build(Path(args.data), Path(args.wordnet), args.min_captions)
    about = (f"Nouns of at least {args.min_captions} Flickr8k training captions that name a thing, a place or "
             "nature (WordNet 3.0); what the joint space can recognise. Made by scripts/make_joint_nouns.py.")
    Path(args.out).write_text(json.dumps({"about": about, "nouns": words}) + "\n")
    print(f"{len(words)} nouns -> {args.out}")


if __name__ == "__main__":
    main()
