"""Where the detector's box sits on the training faces (the numbers behind faceedit.core.faces'
CROP_PER_BOX and CROP_OFFSET), for each candidate detector, with its time per image.

Each 128×128 training face is padded by 64 px (edge pixels) and upscaled 2× so that the whole face
is well inside the picture and above the detectors' smallest window; box centre and width are then
given in the 128-px frame.

    python benchmarks/face_geometry.py [--data /work/shared/data/celeba-subset] [--n 400]
"""
from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import cv2
import numpy as np

PAD = 64


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/work/shared/data/celeba-subset")
    ap.add_argument("--n", type=int, default=400)
    args = ap.parse_args()
    files = sorted((Path(args.data) / "img").glob("*.jpg"))
    random.Random(0).shuffle(files)
    files = files[:args.n]
    haar = cv2.data.haarcascades
    detectors = {}
    for name in ("haarcascade_frontalface_alt2.xml", "haarcascade_frontalface_default.xml"):
        cascade = cv2.CascadeClassifier(haar + name)
        detectors[f"opencv {name}"] = lambda g, c=cascade: [tuple(b) for b in c.detectMultiScale(g, 1.1, 3, minSize=(48, 48))]
    try:
        from skimage import data as skdata
        from skimage.feature import Cascade
        lbp = Cascade(skdata.lbp_frontal_face_cascade_filename())
        detectors["scikit-image lbp"] = lambda g: [
            (d["c"], d["r"], d["width"], d["height"]) for d in lbp.detect_multi_scale(
                img=g.astype(np.float32) / 255, scale_factor=1.1, step_ratio=1, min_size=(48, 48), max_size=(400, 400))]
    except ImportError:
        print("scikit-image not installed: its LBP cascade is left out")
    for name, detect in detectors.items():
        boxes, spent, missed = [], 0.0, 0
        for f in files:
            grey = cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2GRAY)
            grey = cv2.copyMakeBorder(grey, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE)
            grey = cv2.resize(grey, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
            t = time.perf_counter()
            found = detect(grey)
            spent += time.perf_counter() - t
            if not found:
                missed += 1
                continue
            x, y, w, h = max(found, key=lambda b: b[2])
            boxes.append(((x + w / 2) / 2 - PAD, (y + h / 2) / 2 - PAD, w / 2))
        b = np.array(boxes)
        print(f"{name}: found {len(b)}/{len(files)}; box centre x {b[:, 0].mean():.2f} ± {b[:, 0].std():.2f}, "
              f"y {b[:, 1].mean():.2f} ± {b[:, 1].std():.2f}, width {b[:, 2].mean():.2f} ± {b[:, 2].std():.2f} "
              f"(128-px frame); {1000 * spent / len(files):.0f} ms per 512-px image")


if __name__ == "__main__":
    main()
