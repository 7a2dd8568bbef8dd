"""Regenerate backend/photosearch/vision/label_nouns.json: each ImageNet class as a plain noun + categories.

    apt-get install wordnet-base          # WordNet 3.0 under /usr/share/wordnet
    pip install wordfreq==3.1.1           # word frequencies (dev-time only, never at run time)
    python scripts/make_label_nouns.py [--wordnet /usr/share/wordnet] [--out PATH]

ImageNet-1k's classes are WordNet 3.0 noun synsets. scripts/data/imagenet_synsets.txt lists their ids
("n02124075" = offset 02124075 in data.noun) in the classifier's index order; it is timm's
data/_info/imagenet_synsets.txt (Apache-2.0), copied so this script runs offline.

For each class we write {"wnid", "name", "noun", "hypernyms"} ("name": torchvision's class name, which the app
shows as the label, so the app need not import torchvision):
  noun       what a person would call the subject: the class's own word when people use it
             (espresso, zebra, eagle), its head word when that is also a broader class above it
             ('Egyptian cat' -> cat, 'bald eagle' -> eagle, 'sports car' -> car), otherwise the nearest
             broader class that is an everyday word ('sorrel' -> horse, 'tabby' -> cat, 'tench' -> fish).
             Every dog breed is "dog": the breed stays in the label, the sentence says dog.
  hypernyms  up to 4 everyday category words above it, nearest first (EVERYDAY below), never WordNet's
             abstract tops (entity, physical entity, object, whole, artifact).
"Everyday word" = Zipf frequency >= 2.8 in wordfreq's English list (espresso 3.4, tabby 2.8, sorrel 2.6).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYNSETS = ROOT / "scripts" / "data" / "imagenet_synsets.txt"
OUT = ROOT / "backend" / "photosearch" / "vision" / "label_nouns.json"
COMMON_ZIPF = 2.8
RARE_ZIPF = 2.3  # below this a class's own word is jargon even when the broader word is vague
# Broader words too vague to stand for a subject when the class has a name of its own.
TOO_BROAD = {"vehicle", "animal", "mammal", "bird", "fish", "plant", "food", "machine", "device", "toy",
             "seat", "furniture", "instrument", "container", "dish", "craft"}
MAX_HYPERNYMS = 4
DOG = "02084071"  # dog, domestic dog, Canis familiaris

# Category words worth searching for. A class's hypernyms are the ancestors' lemmas found here.
EVERYDAY = {
    "animal", "mammal", "bird", "fish", "shark", "ray", "reptile", "snake", "lizard", "turtle", "crocodile",
    "frog", "amphibian", "insect", "spider", "butterfly", "beetle", "crab", "shellfish", "snail", "worm",
    "dog", "cat", "wolf", "fox", "bear", "monkey", "ape", "primate", "horse", "cattle", "sheep", "goat",
    "pig", "deer", "antelope", "rodent", "rabbit", "squirrel", "bat", "whale", "seal", "elephant", "feline",
    "canine", "parrot", "owl", "eagle", "duck", "goose", "swan", "chicken", "penguin", "songbird",
    "vehicle", "car", "truck", "bus", "train", "boat", "ship", "aircraft", "airplane", "bicycle",
    "motorcycle", "locomotive", "tractor", "wagon",
    "food", "fruit", "vegetable", "drink", "beverage", "coffee", "dessert", "bread", "sandwich", "meat",
    "dish", "soup", "cheese", "mushroom", "fungus",
    "plant", "flower", "tree", "building", "house", "church", "tower", "bridge", "monument", "shop",
    "furniture", "seat", "chair", "table", "bed", "tool", "weapon", "gun", "musical instrument", "clothing",
    "garment", "shoe", "footwear", "hat", "toy", "ball", "bottle", "box", "bag", "computer",
    "appliance", "machine", "device", "kitchen", "utensil", "pot", "cup", "glass", "clock", "lamp",
    "equipment", "sport", "sailboat", "rock", "mountain", "water", "shore", "geological",
}
# Lemmas too vague to name a subject (used neither as noun nor as hypernym).
ABSTRACT = {"entity", "physical entity", "object", "whole", "artifact", "artefact", "thing", "matter",
            "organism", "being", "living thing", "unit", "part", "instrumentality", "instrumentation", "structure",
            "device", "covering", "commodity", "substance", "abstraction", "group", "creation", "product",
            "solid", "body", "system", "material", "article", "implement", "equipment", "chordate",
            "vertebrate", "craniate", "placental", "eutherian"}


def read_nouns(wordnet: Path) -> dict[str, tuple[list[str], list[str]]]:
    """data.noun -> {offset: (lemmas, hypernym offsets)}; instance hypernyms (@i) count as hypernyms."""
    synsets: dict[str, tuple[list[str], list[str]]] = {}
    for line in (wordnet / "data.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):  # the licence header
            continue
        fields = line.split(" | ")[0].split()
        offset, count = fields[0], int(fields[3], 16)
        lemmas = [fields[4 + 2 * i].replace("_", " ") for i in range(count)]
        rest = fields[4 + 2 * count :]
        pointers = int(rest[0])
        hypernyms = [rest[1 + 4 * i + 1] for i in range(pointers) if rest[1 + 4 * i] in ("@", "@i")]
        synsets[offset] = ([_plain(lemma) for lemma in lemmas], hypernyms)
    return synsets


def _plain(lemma: str) -> str:
    # data.noun marks adjective positions like "(a)"; none matter here, but drop them to be safe.
    return lemma.split("(")[0].strip()


def ancestors(synsets: dict, offset: str) -> list[str]:
    """Breadth-first over hypernyms, nearest first, each once."""
    seen, order, frontier = {offset}, [], [offset]
    while frontier:
        nxt = []
        for off in frontier:
            for parent in synsets[off][1]:
                if parent not in seen:
                    seen.add(parent)
                    order.append(parent)
                    nxt.append(parent)
        frontier = nxt
    return order


def plain_noun(synsets: dict, offset: str, above: list[str], common) -> str:
    lemmas = synsets[offset][0]
    if DOG in above:
        return "dog"
    ancestor_words = {w.lower() for off in above for w in synsets[off][0]}
    first = lemmas[0]
    if " " in first or "-" in first:
        head = first.replace("-", " ").split()[-1].lower()
        if head in ancestor_words and head not in ABSTRACT and head not in TOO_BROAD:
            return head  # Egyptian cat -> cat, bald eagle -> eagle
    for lemma in lemmas:  # the class's own single word, if people use it (espresso, zebra)
        word = lemma.lower()
        if word.isalpha() and common(word) and word not in ABSTRACT:
            return word
    for off in above:  # nearest everyday broader class: sorrel -> horse, tabby -> cat
        for lemma in synsets[off][0]:
            word = lemma.lower()
            if word.isalpha() and common(word) and word not in ABSTRACT:
                if word in TOO_BROAD and (common(first.lower(), RARE_ZIPF) or " " in first):
                    return first.lower()  # 'tricycle', 'snowmobile', 'go-kart' say more than "vehicle"
                return word
    return first.lower()


def build(wordnet: Path, synset_file: Path = SYNSETS) -> dict[str, dict]:
    from wordfreq import zipf_frequency

    def common(word: str, threshold: float = COMMON_ZIPF) -> bool:
        return zipf_frequency(word, "en") >= threshold

    from torchvision.models._meta import _IMAGENET_CATEGORIES  # the class names, in the weights' order

    synsets = read_nouns(wordnet)
    wnids = synset_file.read_text().split()
    if len(wnids) != 1000:
        raise SystemExit(f"{synset_file}: expected 1000 synset ids, found {len(wnids)}")
    table = {}
    for index, wnid in enumerate(wnids):
        offset = wnid[1:]
        above = ancestors(synsets, offset)
        noun = plain_noun(synsets, offset, above, common)
        hypernyms: list[str] = []
        for off in above:
            for lemma in synsets[off][0]:
                word = lemma.lower()
                if word in EVERYDAY and word not in ABSTRACT and word != noun and word not in hypernyms:
                    hypernyms.append(word)
        if noun != "dog" and DOG in above and "dog" not in hypernyms:
            hypernyms.insert(0, "dog")
        table[str(index)] = {"wnid": wnid, "name": _IMAGENET_CATEGORIES[index], "noun": noun,
                             "hypernyms": hypernyms[:MAX_HYPERNYMS]}
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet", default="/usr/share/wordnet", help="WordNet 3.0 dict folder")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    table = build(Path(args.wordnet))
    Path(args.out).write_text(json.dumps(table, indent=0, sort_keys=False) + "\n")
    print(f"wrote {args.out}: {len(table)} classes, {len({v['noun'] for v in table.values()})} distinct nouns")


if __name__ == "__main__":
    main()
