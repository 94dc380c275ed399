"""Sanity check of pipeline.py on the benchmark frames (not part of the timed benchmark).

    python check_reference.py [--photos DIR] [--cache-dir DIR]

For both configurations: builds the frames of make_frames.py in memory, runs detect -> align
-> embed, checks 1 face in one_face and 3 faces in three_faces (one per cell), and compares
each face's embedding with that of obama.jpg (the largest face of the bare photo): obama2 must
match (cosine > 0.6 for `default`), biden and astronaut must not. Prints a summary to stdout;
exits 1 on a failed check.
"""

import argparse
import os
import sys

import pipeline  # sets the one-thread environment first
import make_frames

import cv2  # noqa: E402
import numpy as np  # noqa: E402

CELL_NAMES = ["obama2", "biden", "astronaut"]


def cell_of(box):
    cx = (box[0] + box[2]) / 2
    return int((cx - make_frames.CELL_X0) // make_frames.CELL_STEP)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", default=make_frames.default_photo_dir())
    ap.add_argument("--cache-dir", default=pipeline.default_cache_dir())
    args = ap.parse_args()
    photos = args.photos
    frames = {name: make_frames.build_frame([os.path.join(photos, p) for p in ps])
              for name, ps in make_frames.FRAMES.items()}
    obama = pipeline.load_rgb(os.path.join(photos, "obama.jpg"))
    ok = True
    for config in ("default", "insightface"):
        clock = pipeline.InferenceClock()
        pl = pipeline.build_pipeline(config, args.cache_dir, clock)
        ref = pipeline.process(pl, obama)
        if not ref:
            print(f"[{config}] FAIL: no face in obama.jpg")
            ok = False
            continue
        ref_emb = max(ref, key=lambda f: (f[0][2] - f[0][0]) * (f[0][3] - f[0][1]))[3]
        for name, img in frames.items():
            faces = pipeline.process(pl, img)
            want = len(make_frames.FRAMES[name])
            cells = sorted(cell_of(f[0]) for f in faces)
            status = "ok" if cells == list(range(want)) else "FAIL"
            ok &= status == "ok"
            print(f"[{config}] {name}: {len(faces)} face(s), want {want} (one per cell): {status}")
            for box, score, lm, emb in sorted(faces, key=lambda f: f[0][0]):
                who = CELL_NAMES[cell_of(box)] if 0 <= cell_of(box) < 3 else "?"
                cos = float(np.dot(emb, ref_emb))
                verdict = ""
                if who == "obama2":
                    if config == "default" and cos <= 0.6:
                        verdict, ok = " FAIL (want > 0.6)", False
                    elif cos <= 0.45:
                        verdict, ok = " FAIL (same person below 0.45)", False
                elif cos >= 0.45:
                    verdict, ok = " FAIL (stranger above 0.45)", False
                print(f"    {who:9s} box=[{box[0]:.1f},{box[1]:.1f},{box[2]:.1f},{box[3]:.1f}] "
                      f"score={score:.4f} cos(obama.jpg)={cos:+.4f}{verdict}")
    print("ALL OK" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
