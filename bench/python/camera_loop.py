"""The Python camera loop the Rust camera benchmark compares with: decode every frame of a
video with OpenCV (one thread) and run the reference pipeline (pipeline.py) on each sampled
full frame (one per second of video).

    python camera_loop.py --config default [--min-face 40] VIDEO

Like for like with the Rust benchmark's "decode everything + full frames" row: every frame is
decoded (`grab`), only the sampled ones are converted to colour (`retrieve`, in the decoding
time, as the Rust side converts only its sampled frames); the conversion of a sampled frame to
RGB for the pipeline is in the recognition time; MTCNN looks for faces of `--min-face` pixels
and up, and smaller ones are not embedded (hadir's `min_face_px`). Times are the CPU time of
the whole process (`time.process_time`): OpenCV's FFmpeg decodes on threads of its own, whose
work this thread's clock would miss; on the Rust side one thread does everything, so its
thread's CPU time is the process's.

Prints one JSON object: CPU milliseconds per camera-second spent decoding, and spent in
detect+align+embed on the sampled frames, and the faces found.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pipeline as ref  # noqa: E402  (sets the one-thread environment before numpy loads)

import cv2  # noqa: E402
import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="default", choices=["default", "insightface"])
    ap.add_argument("--min-face", type=int, default=40)
    ap.add_argument("video")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    clock = ref.InferenceClock()
    pipe = ref.build_pipeline(args.config, ref.default_cache_dir(), clock, args.min_face)
    capture = cv2.VideoCapture(args.video)
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    step = int(round(fps))
    decode = recognise = 0.0
    frames = faces = 0
    while True:
        t0 = time.process_time()
        ok = capture.grab()
        sampled = ok and frames % step == 0
        if sampled:
            ok, bgr = capture.retrieve()
        decode += time.process_time() - t0
        if not ok:
            break
        if sampled:
            t0 = time.process_time()
            rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            faces += len(ref.process(pipe, rgb, args.min_face))
            recognise += time.process_time() - t0
        frames += 1
    seconds = frames / fps
    print(json.dumps({
        "frames": frames,
        "seconds": seconds,
        "decode_ms_per_camera_second": decode * 1000 / seconds,
        "recognition_ms_per_camera_second": recognise * 1000 / seconds,
        "faces": faces,
    }))


if __name__ == "__main__":
    main()
