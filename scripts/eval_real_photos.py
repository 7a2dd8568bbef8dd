"""Captions of real full-size photos: how often they name the subject (docs/real-photos.json).

    python scripts/collect_real_photos.py                       # once: the photos, from packages
    PYTHONPATH=backend python scripts/eval_real_photos.py [--weights PT] [--no-constraints] [--subject-first]
        [--skip-added LABEL ...] [--skip-demo] [--out FILE.md]

Each photo goes through the product's Describer (one encoder pass, labels, constrained beam search, grounding).
A caption "names the subject" when one of its words is among the photo's subject nouns in the manifest.
Printed and written: per photo the caption, whether it names the subject, the grounded sentence, the
confidence and which one the card shows; then the share of captions naming the subject, the share of shown
texts naming it, the count of <unk>, and how many captions put people (PEOPLE) into a photo whose subject is
no person, and a dog (DOGS) into one whose subject is no dog; the same per group of photos (the manifest's
"added": the round that added them, after every choice of earlier rounds was made).

Held out: the group added last is measured once, when a round's choices are made. While choosing, skip it
(--skip-added "round 14") and the demo profile's photos (--skip-demo: never fit to what a newcomer sees first).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "docs" / "real-photos.json"


# Words that put people in a caption: counted on photos whose subject is no person (Flickr8k's decoder
# tends to start every sentence with "a man" or "a group of people"; "people" counts the group, not "group": "a
# group of trees").
PEOPLE = {"man", "men", "woman", "women", "person", "people", "boy", "boys", "girl", "girls", "child",
          "children", "kid", "kids", "lady", "guy", "player", "crowd"}

DOGS = {"dog", "dogs", "puppy", "puppies"}  # and a dog: counted on photos whose subject is no dog


def words(text: str | None) -> set[str]:
    return set(re.findall(r"[a-z]+", (text or "").lower()))


def group_of(photo: dict) -> str:
    return photo.get("added", "first 29")


def chosen_photos(photos: list[dict], skip_added: list[str], skip_demo: bool) -> list[dict]:
    from photosearch.services.demo import DEMO_FILES

    return [p for p in photos if group_of(p) not in skip_added and not (skip_demo and p["name"] in DEMO_FILES)]


def group_summary(rows: list[dict]) -> str:
    """"19/29 captions, 19/29 shown, people in 13/27 captions": how many of a group's captions and shown texts
    name the subject, and how many of its captions put people into a photo without any."""
    no_people = sum(not r["has_people"] for r in rows)
    return (f"{sum(r['names_subject'] for r in rows)}/{len(rows)} captions, "
            f"{sum(r['shown_names_subject'] for r in rows)}/{len(rows)} shown, "
            f"people in {sum(r['people_added'] for r in rows)}/{no_people} captions")


def evaluate(args: argparse.Namespace) -> dict:
    from photosearch.services.describe import Describer
    from photosearch.vision.captioner.captioner import Captioner
    from photosearch.vision.encoder import EfficientNetLite0Encoder

    captioner = Captioner.load(args.weights) if args.weights else Captioner.load()
    if args.subject_first:
        captioner.subject_first = True
    from photosearch.text.embedder import TextEmbedder
    from photosearch.text.retrieval import RetrievalHead

    # As the app describes: the joint space's people check needs the retrieval head and MiniLM (people.py).
    retrieval = RetrievalHead.load() if RetrievalHead.available() and not args.no_people_check else None
    describer = Describer(encoder=EfficientNetLite0Encoder(), captioner=captioner, retrieval=retrieval,
                          text_embedder=TextEmbedder() if retrieval else None)
    if args.no_constraints:
        describer.max_constraints = 0
    photos = chosen_photos(json.loads(MANIFEST.read_text())["photos"], args.skip_added, args.skip_demo)
    folder = Path(args.photos).expanduser()
    rows, unk = [], 0
    started = time.time()
    for photo in photos:
        with Image.open(folder / photo["name"]) as img:
            image = img.convert("RGB")
        desc = describer.describe([image])[0]
        subject = set(photo["subject"])
        unk += (desc.caption or "").split().count("<unk>")
        no_people = not subject & PEOPLE
        rows.append({
            "name": photo["name"], "group": group_of(photo), "caption": desc.caption,
            "names_subject": bool(words(desc.caption) & subject),
            "grounded": desc.grounded_caption, "confidence": desc.caption_confidence, "shown": desc.shown,
            "shown_names_subject": bool(words(desc.display_caption) & subject),
            "people_added": no_people and bool(words(desc.caption) & PEOPLE), "has_people": not no_people,
            "dog_added": not subject & DOGS and bool(words(desc.caption) & DOGS),
            "shown_people_added": no_people and bool(words(desc.display_caption) & PEOPLE),
            "labels": ", ".join(f"{lab['label']} {lab['score']:.2f}" for lab in desc.labels[:3]),
        })
        r = rows[-1]
        print(f"{r['name']:22s} {'OK ' if r['names_subject'] else 'no '} {r['caption']!r}  [{r['shown']} "
              f"{r['confidence']}: {r['grounded']!r}]", flush=True)
    n = len(rows)
    summary = {
        "photos": n,
        "caption_names_subject": sum(r["names_subject"] for r in rows) / n,
        "shown_names_subject": sum(r["shown_names_subject"] for r in rows) / n,
        "unk": unk,
        "people_added": sum(r["people_added"] for r in rows),
        "no_people": sum(not set(p["subject"]) & PEOPLE for p in photos),
        "dog_added": sum(r["dog_added"] for r in rows),
        "shown_people_added": sum(r["shown_people_added"] for r in rows),
        "no_dog": sum(not set(p["subject"]) & DOGS for p in photos),
        "groups": {group: group_summary([r for r in rows if r["group"] == group])
                   for group in dict.fromkeys(r["group"] for r in rows)},
        "captioner": captioner.name,
        "constraints": not args.no_constraints,
        "subject_first": bool(args.subject_first),
        "people_check": not args.no_people_check,
        "seconds": round(time.time() - started, 1),
    }
    print(json.dumps(summary))
    if args.out:
        write(Path(args.out), rows, summary)
    return summary


def write(path: Path, rows: list[dict], summary: dict) -> None:
    command = "PYTHONPATH=backend python scripts/eval_real_photos.py " + " ".join(sys.argv[1:])
    lines = [
        "# Captions of real photos",
        "",
        f"{summary['photos']} real full-size photos from packages (docs/real-photos.json, collected by "
        "scripts/collect_real_photos.py); captioner `" + summary["captioner"] + "`, constraints "
        + ("on" if summary["constraints"] else "off")
        + (", subject-first candidates on" if summary["subject_first"] else "") + ".",
        "",
        f"- captions naming the subject: **{summary['caption_names_subject']:.0%}**",
        f"- shown text (caption or grounded sentence) naming the subject: **{summary['shown_names_subject']:.0%}**",
        f"- `<unk>` in captions: **{summary['unk']}**",
        f"- captions that put people into a photo whose subject is no person: {summary['people_added']} of "
        f"{summary['no_people']}",
        f"- captions that put a dog into a photo whose subject is no dog: {summary['dog_added']} of "
        f"{summary['no_dog']}",
        f"- shown texts that put people into a photo whose subject is no person: {summary['shown_people_added']} of "
        f"{summary['no_people']}",
        *[f"- {group}: {counts}" for group, counts in summary["groups"].items()],
        "",
        "| photo | caption | names subject | confidence | shown | grounded sentence | top labels |",
        "|---|---|---|---|---|---|---|",
        *[f"| {r['name']} | {r['caption']} | {'yes' if r['names_subject'] else 'no'} | {r['confidence']} | "
          f"{r['shown']} | {r['grounded']} | {r['labels']} |" for r in rows],
        "",
        f"Command: `{command.strip()}`  ",
        f"Machine: 2-core x86_64 CPU, shared; date: {datetime.now(UTC):%Y-%m-%d}.",
        "",
    ]
    path.write_text("\n".join(lines))
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default="~/.cache/photosearch/real-photos")
    parser.add_argument("--weights", default=None, help="captioner weights (default: the committed ones)")
    parser.add_argument("--no-constraints", action="store_true", help="plain beam search, for comparison")
    parser.add_argument("--no-people-check", action="store_true", help="let every caption use person words")
    parser.add_argument("--subject-first", action="store_true",
                        help="also search captions starting 'a/an <noun>' (Captioner.subject_first)")
    parser.add_argument("--skip-added", action="append", default=[], metavar="LABEL",
                        help='leave out the photos a round added ("round 14"): the held-out group while choosing')
    parser.add_argument("--skip-demo", action="store_true", help="leave out the demo profile's photos")
    parser.add_argument("--out", default=None)
    evaluate(parser.parse_args())


if __name__ == "__main__":
    main()
