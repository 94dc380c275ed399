"""Write the two 1920x1080 benchmark frames as PNG files.

Usage:  python make_frames.py OUT_DIR [--photos DIR]

DIR defaults to $HADIR_CACHE_DIR/photos, else ~/.cache/hadir/photos. Writes:

  OUT_DIR/one_face.png     obama2.jpg
  OUT_DIR/three_faces.png  obama2.jpg, biden.jpg, astronaut.png (in that order, left to right)

Exact construction (the Rust benchmark builds the same frames):
  * canvas: 1920 wide x 1080 high, RGB, every pixel (96, 96, 96);
  * photo n (n = 0, 1, 2) is decoded as 8-bit RGB (cv2.IMREAD_COLOR, alpha dropped) and
    owns the cell x in [30 + 630*n, 30 + 630*n + 600), y in [40, 1040): 600 x 1000, the
    cell vertically centred in the frame ((1080 - 1000) / 2 = 40);
  * scale s = min(600 / w, 1000 / h) (aspect kept; may enlarge: astronaut.png is 512x512),
    new size nw = round(w*s), nh = round(h*s) (Python round on the float product),
    resized with cv2.resize(..., interpolation=cv2.INTER_AREA);
  * the scaled photo is centred in its cell: left = 30 + 630*n + (600 - nw) // 2,
    top = 40 + (1000 - nh) // 2 (integer floor division);
  * saved as PNG (lossless, so a reader gets exactly these pixels).
Resulting sizes: obama2 626x1200 -> 522x1000 at (69, 40); biden 970x2204 -> 440x1000 at
(740, 40); astronaut 512x512 -> 600x600 at (1290, 240).

Resampling differs between libraries (OpenCV INTER_AREA vs. the Rust image crate's
filters), so for a like-for-like speed comparison the benchmark should hand the SAME PNG
files to both pipelines rather than rely on the two builders agreeing to the pixel.
"""

import argparse
import os
import sys

import cv2
import numpy as np

WIDTH, HEIGHT = 1920, 1080
GREY = 96
CELL_W, CELL_H = 600, 1000
CELL_X0, CELL_STEP = 30, 630
CELL_Y0 = (HEIGHT - CELL_H) // 2  # 40

FRAMES = {
    "one_face.png": ["obama2.jpg"],
    "three_faces.png": ["obama2.jpg", "biden.jpg", "astronaut.png"],
}


def default_photo_dir():
    base = os.environ.get("HADIR_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "hadir")
    return os.path.join(base, "photos")


def build_frame(photo_paths):
    """Return the frame as an RGB uint8 array [1080, 1920, 3]."""
    frame = np.full((HEIGHT, WIDTH, 3), GREY, dtype=np.uint8)
    for n, path in enumerate(photo_paths):
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"cannot read {path}")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        s = min(CELL_W / w, CELL_H / h)
        nw, nh = round(w * s), round(h * s)
        scaled = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
        left = CELL_X0 + CELL_STEP * n + (CELL_W - nw) // 2
        top = CELL_Y0 + (CELL_H - nh) // 2
        frame[top:top + nh, left:left + nw] = scaled
    return frame


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--photos", default=default_photo_dir())
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    for name, photos in FRAMES.items():
        frame = build_frame([os.path.join(args.photos, p) for p in photos])
        out = os.path.join(args.out_dir, name)
        if not cv2.imwrite(out, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
            raise SystemExit(f"cannot write {out}")
        print(out, file=sys.stderr)


if __name__ == "__main__":
    main()
