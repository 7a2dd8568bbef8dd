"""Whether a photo shows people, so that a caption names people only where there are some.

Flickr8k's captions are about people in 3 of 4 photos, so its decoder starts most sentences with "a man" or "a
group of people", also for an espresso or a rocket (docs/real-photos-eval.md), and ImageNet has no class for a
person that could say otherwise. The joint image-text space of semantic search (text/retrieval.py) does know
people: the photo's vector is compared with a few sentences about people and a few about other things,

    people_score = max_p cos(photo, "a person" | "a man" | ...) - max_o cos(photo, "a dog" | "a landscape" | ...)

On the Flickr8k dev split it tells photos whose references mostly mention people from photos whose references
never do with ROC AUC 0.977. Below NO_PEOPLE_BELOW the caption may not use PERSON_WORDS, nor WORN_WORDS (no one
to wear "a yellow jacket", which the decoder gave a daisy): beam search bans them, so the decoder says what else
it sees. Shapes: image vectors [N, d] and prompt vectors [P, d], unit rows.

More "other" prompts (nature, the sky, a plant, a thing on a table, an insect) at the threshold that keeps the
same 93 % of Flickr8k's people photos took person words out of 20 -> 9 of the 40 real photos they were chosen
on, and put them into 11 instead of 9 of 17 held-out ones (an apple, a bowl of fruit): not kept
(docs/captioner-eval.md, round 14).
"""

from __future__ import annotations

import numpy as np

PERSON_PROMPTS = ("a person", "a man", "a woman", "a child", "people")
OTHER_PROMPTS = ("a dog", "an animal", "a landscape", "an object")
PROMPTS = (*PERSON_PROMPTS, *OTHER_PROMPTS)  # embed these, in this order, for `people_scores`
# Chosen on the Flickr8k dev split (docs/captioner-eval.md): 93 % of photos with people keep their person
# words, 94 % of photos without people lose them.
NO_PEOPLE_BELOW = -0.15
PERSON_WORDS = (
    "man", "men", "woman", "women", "boy", "boys", "girl", "girls", "person", "people", "persons", "child",
    "children", "kid", "kids", "baby", "babies", "toddler", "guy", "guys", "lady", "ladies", "crowd", "player",
    "players", "someone", "adult", "adults", "teenager", "teenagers", "couple", "family", "team", "audience",
    # the people Flickr8k names by what they do
    "climber", "climbers", "hiker", "hikers", "biker", "bikers", "cyclist", "cyclists", "rider", "riders",
    "skier", "skiers", "snowboarder", "snowboarders", "skateboarder", "skateboarders", "surfer", "surfers",
    "swimmer", "swimmers", "runner", "runners", "dancer", "dancers", "worker", "workers", "performer",
    "performers", "tourist", "tourists", "spectators",
)
# What only a person wears or does in Flickr8k's captions: "a daisy in a yellow jacket", "a building in a red shirt".
WORN_WORDS = (
    "wearing", "wears", "dressed", "shirt", "shirts", "jacket", "jackets", "pants", "shorts", "dress", "dresses",
    "coat", "coats", "uniform", "uniforms", "outfit", "outfits", "costume", "costumes", "sweater", "sweatshirt",
    "hoodie", "jersey", "jerseys", "jeans", "skirt", "bikini", "swimsuit", "wetsuit", "suit", "suits", "hat", "hats",
    "cap", "caps", "helmet", "helmets", "sunglasses", "glasses", "goggles", "boots", "shoes", "scarf", "gloves",
    "vest",
)
BANNED_WITHOUT_PEOPLE = PERSON_WORDS + WORN_WORDS


def people_scores(image_vectors: np.ndarray, prompt_vectors: np.ndarray) -> np.ndarray:
    """[N] people score per photo; prompt_vectors are the joint-space vectors of PROMPTS."""
    sims = np.asarray(image_vectors, np.float32) @ np.asarray(prompt_vectors, np.float32).T  # [N, P]
    people = len(PERSON_PROMPTS)
    return sims[:, :people].max(axis=1) - sims[:, people:].max(axis=1)


def banned_words(scores: np.ndarray, threshold: float = NO_PEOPLE_BELOW) -> list[tuple[str, ...]]:
    """Per photo, the words its caption may not use: the person and worn words where the score says no people."""
    return [BANNED_WITHOUT_PEOPLE if s < threshold else () for s in np.asarray(scores).tolist()]
