"""Small synthetic face data sets for tests: coloured 'faces' whose look follows their attributes."""
from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw

ATTRS = ["Smiling", "Eyeglasses", "Male", "Blond_Hair"]


def face(attrs: dict[str, int], size: int = 64, rng: random.Random | None = None) -> Image.Image:
    rng = rng or random.Random(0)
    bg = tuple(rng.randrange(40, 200) for _ in range(3))
    im = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(im)
    s = size / 64
    skin = (230, 190, 160) if attrs.get("Male", -1) < 0 else (200, 160, 130)
    d.ellipse([16 * s, 12 * s, 48 * s, 54 * s], fill=skin)
    hair = (240, 220, 120) if attrs.get("Blond_Hair", -1) > 0 else (50, 35, 25)
    d.pieslice([14 * s, 6 * s, 50 * s, 40 * s], 180, 360, fill=hair)
    d.ellipse([23 * s, 26 * s, 28 * s, 31 * s], fill=(20, 20, 20))
    d.ellipse([36 * s, 26 * s, 41 * s, 31 * s], fill=(20, 20, 20))
    if attrs.get("Eyeglasses", -1) > 0:
        d.rectangle([21 * s, 24 * s, 30 * s, 33 * s], outline=(0, 0, 0), width=max(1, int(s)))
        d.rectangle([34 * s, 24 * s, 43 * s, 33 * s], outline=(0, 0, 0), width=max(1, int(s)))
    if attrs.get("Smiling", -1) > 0:
        d.arc([24 * s, 36 * s, 40 * s, 48 * s], 20, 160, fill=(150, 30, 30), width=max(1, int(2 * s)))
    else:
        d.line([26 * s, 44 * s, 38 * s, 44 * s], fill=(150, 30, 30), width=max(1, int(2 * s)))
    return im


def make_celeba(root: Path, n: int = 240, size: tuple[int, int] = (64, 64), seed: int = 0, corrupt: int = 0) -> Path:
    """A CelebA-layout folder (img/, list_attr_celeba.txt, list_eval_partition.txt)."""
    rng = random.Random(seed)
    img = root / "img"
    img.mkdir(parents=True, exist_ok=True)
    attr_lines, part_lines = [], []
    for i in range(n):
        name = f"{i + 1:06d}.jpg"
        attrs = {a: rng.choice([-1, 1]) for a in ATTRS}
        square = face(attrs, min(size), rng)
        canvas = Image.new("RGB", size, (128, 128, 128))
        canvas.paste(square, ((size[0] - square.width) // 2, (size[1] - square.height) // 2))
        canvas.save(img / name, quality=95)
        attr_lines.append(name + " " + " ".join(f"{attrs[a]:2d}" for a in ATTRS))
        part_lines.append(f"{name} {0 if i < n * 0.8 else 1 if i < n * 0.9 else 2}")
    for j in range(corrupt):
        name = f"{n + j + 1:06d}.jpg"
        (img / name).write_bytes(b"not a jpeg at all")
        attr_lines.append(name + " " + " ".join("-1" for _ in ATTRS))
        part_lines.append(f"{name} 0")
    (root / "list_attr_celeba.txt").write_text(f"{len(attr_lines)}\n{' '.join(ATTRS)}\n" + "\n".join(attr_lines) + "\n")
    (root / "list_eval_partition.txt").write_text("\n".join(part_lines) + "\n")
    return root


def make_folder(root: Path, n: int = 60, seed: int = 1) -> Path:
    """Any folder of faces: nested, mixed formats and sizes."""
    rng = random.Random(seed)
    for i in range(n):
        sub = root / f"person{i % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        im = face({a: rng.choice([-1, 1]) for a in ATTRS}, rng.choice([64, 80, 100]), rng)
        im.save(sub / f"f{i}.{'png' if i % 2 else 'jpg'}")
    return root
