#!/usr/bin/env python3
"""MJPEG-over-HTTP test camera for hadir's camera tests (Python 3 standard library only).

    python3 mjpeg_server.py (--dir FOLDER | --video FILE) [--fps 5] [--port 0]
                            [--quality 5] [--width W]

Frames come from
  --dir FOLDER   the folder's *.jpg / *.jpeg files in name order (read once, served as they are),
  --video FILE   any video ffmpeg reads, decoded and re-encoded as JPEG by
                 `ffmpeg -stream_loop -1 -i FILE -vf fps=FPS[,scale=W:-2] -f mpjpeg -q:v Q -`
                 (ffmpeg must be on PATH; it runs for as long as the server does),
and are published at --fps frames per second in real time, looping forever (after the last
file / at the video's end it starts again at the first frame). One frame timeline is shared by
every client, as with a real camera: a client that connects later gets the frame of that
moment, and a slow client skips frames rather than falling behind.

HTTP on 127.0.0.1 only (HTTP/1.0, one thread per client, any number of clients):
  GET /stream.mjpg   multipart/x-mixed-replace; boundary=frame — an endless series of parts
                     "--frame\\r\\nContent-Type: image/jpeg\\r\\nContent-Length: N\\r\\n\\r\\n"
                     + JPEG + "\\r\\n", one per published frame, starting with the current one
  GET /snapshot.jpg  the current frame (image/jpeg, with Content-Length)
  anything else      404
--port 0 (the default) picks a free port. Once the first frame is ready and the server listens it
prints `READY http://127.0.0.1:PORT` on stdout (one line, flushed). SIGTERM or SIGINT ends
every stream and exits with status 0. A bad argument exits with status 2; no frames, a failing
ffmpeg, or a port that cannot be bound with status 1, before READY.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADDRESS = "127.0.0.1"
BOUNDARY = "frame"


def log(*args):
    print("mjpeg_server:", *args, file=sys.stderr, flush=True)


class Frames:
    """The published frame timeline: the latest JPEG, its sequence number, and a condition
    that wakes the clients when a new one is published or the server stops."""

    def __init__(self):
        self.cond = threading.Condition()
        self.jpeg = None
        self.seq = 0
        self.stopping = False

    def publish(self, jpeg):
        with self.cond:
            self.jpeg = jpeg
            self.seq += 1
            self.cond.notify_all()

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify_all()

    def next_after(self, seq, timeout):
        """The first frame newer than seq: (seq, jpeg), or None when stopping / timed out."""
        with self.cond:
            self.cond.wait_for(lambda: self.stopping or self.seq > seq, timeout)
            if self.stopping or self.seq <= seq:
                return None
            return self.seq, self.jpeg


def folder_source(folder):
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith((".jpg", ".jpeg")))
    if not names:
        raise RuntimeError(f"{folder}: no .jpg/.jpeg files")
    jpegs = []
    for n in names:
        with open(os.path.join(folder, n), "rb") as f:
            data = f.read()
        if not data.startswith(b"\xff\xd8"):
            raise RuntimeError(f"{os.path.join(folder, n)}: not a JPEG")
        jpegs.append(data)
    log(f"{folder}: {len(jpegs)} JPEGs")

    def frames(_stopping):
        while True:
            yield from jpegs

    return frames


def video_source(path, fps, quality, width):
    vf = f"fps={fps}" + (f",scale={width}:-2" if width else "")
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-stream_loop", "-1",
           "-i", path, "-an", "-vf", vf, "-f", "mpjpeg", "-q:v", str(quality), "-"]

    def frames(stopping):
        while not stopping.is_set():
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            frames.procs.append(proc)
            count = 0
            try:
                while True:
                    jpeg = read_mpjpeg_part(proc.stdout)
                    if jpeg is None:
                        break
                    count += 1
                    yield jpeg
            finally:
                proc.kill()
                proc.wait()
                frames.procs.remove(proc)
            if stopping.is_set():
                return
            if count == 0:
                raise RuntimeError(f"ffmpeg gave no frame for {path} (exit status {proc.returncode})")
            log(f"ffmpeg ended after {count} frames (status {proc.returncode}); starting it again")

    frames.procs = []
    return frames


def read_mpjpeg_part(stream):
    """One JPEG from ffmpeg's mpjpeg output ("--ffmpeg", headers with Content-length, blank
    line, data); None at the end of the stream."""
    length = None
    line = stream.readline()
    while line in (b"\r\n", b"\n"):
        line = stream.readline()
    if not line:
        return None
    if not line.startswith(b"--"):
        raise RuntimeError(f"unexpected mpjpeg line from ffmpeg: {line[:60]!r}")
    while True:
        line = stream.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:
        raise RuntimeError("mpjpeg part from ffmpeg without Content-length")
    data = stream.read(length)
    return data if len(data) == length else None


def producer(source, fps, frames, stopping, failed):
    """Publishes the source's frames at fps in real time until stopping is set."""
    period = 1.0 / fps
    due = time.monotonic()
    try:
        for jpeg in source(stopping):
            now = time.monotonic()
            if due > now:
                if stopping.wait(due - now):
                    return
            elif now - due > 1.0:  # fell far behind (a stalled ffmpeg): don't burst
                due = now
            if stopping.is_set():
                return
            frames.publish(jpeg)
            due += period
    except Exception as e:  # noqa: BLE001 - reported, and the server stops
        failed.append(str(e))
        log(f"error: {e}")
        stopping.set()
        frames.stop()


def make_handler(frames):
    class Handler(BaseHTTPRequestHandler):
        server_version = "hadir-test-mjpeg/1"
        timeout = 30  # socket timeout: a stuck client cannot hold its thread forever

        def log_message(self, fmt, *args):  # quiet: one line per request on stderr
            pass

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/stream.mjpg":
                self.stream()
            elif path == "/snapshot.jpg":
                self.snapshot()
            else:
                self.send_error(404, "try /stream.mjpg or /snapshot.jpg")

        def snapshot(self):
            got = frames.next_after(0, 10)
            if got is None:
                self.send_error(503, "no frame yet")
                return
            _, jpeg = got
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(jpeg)))
            self.send_header("Cache-Control", "no-cache, no-store")
            self.end_headers()
            self.wfile.write(jpeg)

        def stream(self):
            log(f"client {self.client_address[0]}:{self.client_address[1]} streams")
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-cache, no-store")
            self.send_header("Pragma", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            seq = max(frames.seq - 1, 0)  # start with the current frame
            sent = 0
            try:
                while True:
                    got = frames.next_after(seq, 10)
                    if got is None:
                        if frames.stopping:
                            break
                        continue
                    seq, jpeg = got
                    self.wfile.write(
                        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                        f"Content-Length: {len(jpeg)}\r\n\r\n".encode("ascii") + jpeg + b"\r\n"
                    )
                    self.wfile.flush()
                    sent += 1
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass
            log(f"client {self.client_address[0]}:{self.client_address[1]} done after {sent} frames")
            self.close_connection = True

    return Handler


def main(argv=None):
    ap = argparse.ArgumentParser(description="MJPEG-over-HTTP test camera on 127.0.0.1",
                                 epilog="Prints 'READY http://127.0.0.1:PORT' on stdout once serving.")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--dir", help="folder of JPEGs, served in name order")
    src.add_argument("--video", help="video file, decoded by ffmpeg")
    ap.add_argument("--fps", type=float, default=5.0, help="frames per second (default 5)")
    ap.add_argument("--port", type=int, default=0, help="TCP port; 0 (default) picks a free one")
    ap.add_argument("--quality", type=int, default=5, help="--video: ffmpeg -q:v, 2 (best)..31 (default 5)")
    ap.add_argument("--width", type=int, help="--video: scale to this width (keeps the aspect)")
    args = ap.parse_args(argv)
    if not 0 < args.fps <= 120:
        ap.error("--fps must be in (0, 120]")
    if not 0 <= args.port <= 65535:
        ap.error("--port must be 0..65535")

    try:
        if args.dir:
            source = folder_source(args.dir)
        else:
            if not os.path.isfile(args.video):
                ap.error(f"{args.video}: no such file")
            source = video_source(args.video, args.fps, args.quality, args.width)
    except (OSError, RuntimeError) as e:
        log(f"error: {e}")
        return 1

    frames = Frames()
    stopping = threading.Event()
    failed = []

    def on_signal(signum, _frame):
        log(f"signal {signum}: stopping")
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    prod = threading.Thread(target=producer, args=(source, args.fps, frames, stopping, failed),
                            name="producer", daemon=True)
    prod.start()
    deadline = time.monotonic() + 30
    while frames.next_after(0, 0.1) is None and not stopping.is_set() and time.monotonic() < deadline:
        pass
    if frames.next_after(0, 0) is None:
        if stopping.is_set() and not failed:  # signalled before the first frame
            frames.stop()
            return 0
        if not failed:
            log("error: no frame within 30 s")
        stopping.set()
        frames.stop()
        return 1

    try:
        server = ThreadingHTTPServer((ADDRESS, args.port), make_handler(frames))
    except OSError as e:
        log(f"error: cannot listen on {ADDRESS}:{args.port}: {e}")
        stopping.set()
        frames.stop()
        return 1
    server.daemon_threads = True
    http = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                            name="http", daemon=True)
    http.start()
    print(f"READY http://{ADDRESS}:{server.server_address[1]}", flush=True)

    while not stopping.wait(0.5):
        pass
    frames.stop()  # ends every /stream.mjpg
    server.shutdown()
    server.server_close()
    for proc in list(getattr(source, "procs", [])):
        proc.kill()
    prod.join(2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
