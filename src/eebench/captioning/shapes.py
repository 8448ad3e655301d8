"""`shapes-captions`: rendered scenes of coloured shapes with templated captions, generated offline.

A scene holds 1–`max_groups` groups; a group is 1–3 identical shapes (shape × colour × size) in one region of
the image (left, right, top, bottom, centre). Each image gets `references` captions drawn from different
templates, so the references vary in wording as COCO's five do. Difficulty = number of groups − 1: one group
gives a short caption ("a large red circle on the left"), three groups a long one with counts and conjunctions,
so captions vary in length and in how much of the scene a short prefix of the decoder can already say."""

from __future__ import annotations

import numpy as np

SHAPES = ("circle", "square", "triangle")
COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (50, 80, 220), "yellow": (230, 200, 40)}
SIZES = {"small": 0.09, "large": 0.16}  # radius as a share of the image side
REGIONS = {  # region name -> (centre x, centre y) as shares of the image side
    "left": (0.22, 0.5), "right": (0.78, 0.5), "top": (0.5, 0.2), "bottom": (0.5, 0.8), "centre": (0.5, 0.5),
}
NUMBERS = {1: "a", 2: "two", 3: "three"}
SYNONYMS = {"large": ("large", "big"), "small": ("small", "little")}
WHERE = {  # region -> phrasings used by the templates
    "left": ("on the left", "at the left"), "right": ("on the right", "at the right"),
    "top": ("at the top", "near the top"), "bottom": ("at the bottom", "near the bottom"),
    "centre": ("in the middle", "in the centre"),
}


def group_phrase(group: dict, variant: int, with_size: bool, with_place: bool) -> str:
    count = group["count"]
    noun = group["shape"] + ("s" if count > 1 else "")
    words = [NUMBERS[count]]
    if with_size:
        words.append(SYNONYMS[group["size"]][variant % 2])
    words += [group["colour"], noun]
    if with_place:
        words.append(WHERE[group["region"]][variant % 2])
    return " ".join(words)


def captions_for(groups: list[dict], n_references: int) -> list[str]:
    """`n_references` distinct templated captions of one scene (templates differ in synonyms, order, detail)."""
    templates = [
        lambda v: " and ".join(group_phrase(g, v, True, True) for g in groups),
        lambda v: "we see " + " and ".join(group_phrase(g, v, True, True) for g in groups),
        lambda v: " and ".join(group_phrase(g, v, False, True) for g in reversed(groups)),
        lambda v: "an image with " + " and ".join(group_phrase(g, v, True, False) for g in groups),
        lambda v: " , ".join(group_phrase(g, v, True, True) for g in reversed(groups)),
    ]
    captions: list[str] = []
    for index in range(len(templates) * 2):
        text = templates[index % len(templates)](index // len(templates))
        if text not in captions:
            captions.append(text)
        if len(captions) == n_references:
            break
    return captions


def random_scene(rng: np.random.Generator, max_groups: int) -> list[dict]:
    n_groups = int(rng.integers(1, max_groups + 1))
    regions = rng.choice(list(REGIONS), size=n_groups, replace=False)
    return [
        {
            "shape": SHAPES[rng.integers(len(SHAPES))],
            "colour": list(COLOURS)[rng.integers(len(COLOURS))],
            "size": list(SIZES)[rng.integers(len(SIZES))],
            "count": int(rng.integers(1, 4)),
            "region": str(region),
        }
        for region in regions
    ]


def render(groups: list[dict], image_size: int, rng: np.random.Generator):
    from PIL import Image, ImageDraw  # here: the catalogue reads REGIONS without importing Pillow

    image = Image.new("RGB", (image_size, image_size), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    for group in groups:
        cx, cy = REGIONS[group["region"]]
        radius = SIZES[group["size"]] * image_size * (0.8 if group["count"] > 1 else 1.0)
        # Several shapes of a group sit side by side (vertical regions) or stacked (left/right).
        offsets = np.linspace(-(group["count"] - 1) / 2, (group["count"] - 1) / 2, group["count"]) * radius * 1.3
        for offset in offsets:
            jitter = rng.normal(0, 0.01 * image_size, size=2)
            if group["region"] in ("left", "right"):
                x, y = cx * image_size + jitter[0], cy * image_size + offset + jitter[1]
            else:
                x, y = cx * image_size + offset + jitter[0], cy * image_size + jitter[1]
            box = (x - radius / 2, y - radius / 2, x + radius / 2, y + radius / 2)
            colour = COLOURS[group["colour"]]
            if group["shape"] == "circle":
                draw.ellipse(box, fill=colour)
            elif group["shape"] == "square":
                draw.rectangle(box, fill=colour)
            else:
                draw.polygon([(x, box[1]), (box[0], box[3]), (box[2], box[3])], fill=colour)
    return image


def generate(n_images: int, seed: int, image_size: int, max_groups: int, n_references: int):
    """Yields (image, captions, difficulty) for `n_images` scenes, deterministically from `seed`."""
    rng = np.random.default_rng(seed)
    for _ in range(n_images):
        groups = random_scene(rng, max_groups)
        yield render(groups, image_size, rng), captions_for(groups, n_references), len(groups) - 1
