#!/usr/bin/python3
"""RTSP test server for hadir's camera tests (GStreamer's gst-rtsp-server, H.264 over RTP;
H.265 for a camera hadir cannot decode).

    /usr/bin/python3 rtsp_server.py [--port P] [--mount /name=FILE.mp4 ...] [--loop | --vod]
                                    [--pattern /name ...] [--h265-pattern /name ...]
                                    [--user U --password P [--auth digest|basic]]

Run it with Debian's /usr/bin/python3: the GStreamer bindings (`gi`) are Debian packages
(scripts/install-test-deps) that other interpreters (pyenv, venvs) do not see.

Serves on 127.0.0.1 only:
  --mount /name=FILE.mp4  rtsp://127.0.0.1:P/name streams the H.264 track of FILE (an MP4 with
                          timestamps, e.g. from make_videos.sh) as a live camera would: its access
                          units are read into memory once at startup and pushed in real time
                          through `appsrc is-live=true ! h264parse ! rtph264pay config-interval=1`
                          (SPS/PPS before every key frame). The media is shared: the first
                          client's PLAY starts the file at its first frame; clients that join
                          later get the same stream from the next key frame on (nobody rewinds
                          it). At the file's end the stream ends (end of stream).
  --loop                  ... and instead of ending, starts the file again after its last frame,
                          forever; RTP timestamps keep increasing by one frame across the loop
                          (no seek, no discontinuity).
  --vod                   instead, the file as video on demand: `filesrc ! qtdemux ! h264parse !
                          rtph264pay config-interval=1`, a playback of its own for every client
                          (not shared: a shared file media is seekable and each new client's
                          PLAY with "Range: npt=0.000-" would rewind it for everyone).
  --pattern /name         a live, shared 640x480 25 fps test pattern (a moving ball):
                          `videotestsrc is-live=true ! x264enc tune=zerolatency key-int-max=10 !
                          video/x-h264,profile=baseline ! rtph264pay config-interval=1`.
  --h265-pattern /name    the same pattern in H.265 (as a camera whose stream is set to H.265):
                          `x265enc tune=zerolatency speed-preset=ultrafast key-int-max=25 !
                          video/x-h265,profile=main ! rtph265pay config-interval=1`, shared.
  --user U --password P   every mount asks for this user name and password (GstRTSPAuth): a
                          client without them, or with others, gets 401 Unauthorized.
  --auth digest|basic     the authentication asked for (default digest, as IP cameras do).
When the last client of a shared media leaves, the media stops; the next client starts a new
one (for a file: from its beginning again).

--port 0 (the default is 8554) binds a free port chosen by the system. Once serving it prints
`READY rtsp://127.0.0.1:PORT` on stdout (one line, flushed); each mount is then
rtsp://127.0.0.1:PORT/name. Diagnostics go to stderr. SIGTERM or SIGINT closes the clients'
connections and exits with status 0. A bad argument exits with status 2; a file that cannot be
read or demuxed, or a port that cannot be bound, with status 1; both before READY.
"""

import argparse
import os
import signal
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

ADDRESS = "127.0.0.1"
PAY = "rtph264pay name=pay0 pt=96 config-interval=1"
PAY_H265 = "rtph265pay name=pay0 pt=96 config-interval=1"
# The role a client that authenticated gets, and may use every mount with.
ROLE = "camera-user"


def log(*args):
    print("rtsp_server:", *args, file=sys.stderr, flush=True)


def launch_quote(path):
    """A path as a quoted string for gst_parse_launch."""
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mount_path(text):
    if not text.startswith("/") or len(text) < 2 or any(c in text for c in " ?#="):
        raise argparse.ArgumentTypeError(f"mount path must look like /name, got {text!r}")
    return text


def mount_arg(text):
    name, sep, path = text.partition("=")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"expected /name=FILE.mp4, got {text!r}")
    name = mount_path(name)
    if not os.path.isfile(path):
        raise argparse.ArgumentTypeError(f"{path}: no such file")
    return name, os.path.abspath(path)


class AccessUnit:
    __slots__ = ("data", "pts", "duration", "key")

    def __init__(self, data, pts, duration, key):
        self.data, self.pts, self.duration, self.key = data, pts, duration, key


def read_access_units(path):
    """All H.264 access units of an MP4 as Annex-B (SPS/PPS before every key frame), with PTS
    relative to the first frame, and the loop period (last PTS + its duration)."""
    pipeline = Gst.parse_launch(
        f"filesrc location={launch_quote(path)} ! qtdemux ! h264parse config-interval=-1 ! "
        "video/x-h264,stream-format=byte-stream,alignment=au ! "
        "appsink name=sink sync=false max-buffers=0"
    )
    sink = pipeline.get_by_name("sink")
    units = []
    pipeline.set_state(Gst.State.PLAYING)
    try:
        while True:
            sample = sink.emit("try-pull-sample", 10 * Gst.SECOND)
            if sample is None:
                break
            buf = sample.get_buffer()
            units.append(
                AccessUnit(
                    buf.extract_dup(0, buf.get_size()),
                    buf.pts,
                    buf.duration,
                    not buf.has_flags(Gst.BufferFlags.DELTA_UNIT),
                )
            )
        msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
        if msg is not None:
            err, dbg = msg.parse_error()
            raise RuntimeError(f"{path}: {err.message} ({dbg})")
    finally:
        pipeline.set_state(Gst.State.NULL)
    if not units:
        raise RuntimeError(f"{path}: no H.264 video track could be read")
    if not units[0].key:
        raise RuntimeError(f"{path}: the first frame is not a key frame")
    first = units[0].pts
    for u in units:
        u.pts -= first
    if len(units) > 1:
        default = (units[-1].pts - units[0].pts) // (len(units) - 1)
    else:
        default = Gst.SECOND // 25
    for u in units:
        if u.duration == Gst.CLOCK_TIME_NONE or u.duration == 0:
            u.duration = default
    period = units[-1].pts + units[-1].duration
    return units, period


class Feeder(threading.Thread):
    """Pushes a file's access units into one media's appsrc in real time: once, then
    end-of-stream, or (loop) forever."""

    def __init__(self, name, appsrc, units, period, loop, stopping):
        super().__init__(name=f"feed{name}", daemon=True)
        self.mount, self.appsrc, self.units, self.period = name, appsrc, units, period
        self.loop = loop
        self.stopping = stopping  # process-wide threading.Event
        self.done = threading.Event()  # this media is going away

    def run(self):
        src = self.appsrc
        # The media is prepared (PAUSED) before the client's PLAY: wait for PLAYING.
        while src.get_state(0)[1] != Gst.State.PLAYING:
            if self.stopping.is_set() or self.done.wait(0.005):
                return
        clock = src.get_clock()
        start = clock.get_time() - src.get_base_time()  # running time of the first frame
        loop = 0
        while True:
            for u in self.units:
                ts = start + loop * self.period + u.pts
                while True:  # sleep until the pipeline's running time reaches ts
                    ahead = ts - (clock.get_time() - src.get_base_time())
                    if ahead <= 0:
                        break
                    if self.stopping.is_set() or self.done.wait(min(ahead, 50 * Gst.MSECOND) / Gst.SECOND):
                        return
                buf = Gst.Buffer.new_wrapped(u.data)
                buf.pts = buf.dts = ts
                buf.duration = u.duration
                if not u.key:
                    buf.set_flags(Gst.BufferFlags.DELTA_UNIT)
                if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
                    return  # flushing / shut down: the media is going away
            if not self.loop:
                log(f"{self.mount}: end of file: end of stream")
                src.emit("end-of-stream")
                return
            loop += 1
            log(f"{self.mount}: end of file: starting again (loop {loop})")


def make_live_factory(name, path, loop, stopping):
    units, period = read_access_units(path)
    keys = sum(u.key for u in units)
    log(f"{name}: {path}: {len(units)} frames, {keys} key frames, "
        f"{period / Gst.SECOND:.2f} s per loop")
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        "( appsrc name=src is-live=true format=time do-timestamp=false "
        "caps=video/x-h264,stream-format=byte-stream,alignment=au ! "
        f"h264parse ! {PAY} )"
    )
    factory.set_shared(True)

    def on_configure(_factory, media):
        appsrc = media.get_element().get_by_name_recurse_up("src")
        feeder = Feeder(name, appsrc, units, period, loop, stopping)
        media.connect("unprepared", lambda _m: feeder.done.set())
        feeder.start()

    factory.connect("media-configure", on_configure)
    return factory


def make_vod_factory(path):
    # Not shared: a shared file media is seekable, and every new client's PLAY (ffmpeg sends
    # "Range: npt=0.000-") seeks it back to the start for all its clients.
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(f"( filesrc location={launch_quote(path)} ! qtdemux ! h264parse ! {PAY} )")
    factory.set_shared(False)
    return factory


def make_pattern_factory():
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        "( videotestsrc is-live=true pattern=ball ! "
        "video/x-raw,width=640,height=480,framerate=25/1 ! videoconvert ! "
        "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! "
        f"video/x-h264,profile=baseline ! {PAY} )"
    )
    factory.set_shared(True)
    return factory


def make_h265_pattern_factory():
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        "( videotestsrc is-live=true pattern=ball ! "
        "video/x-raw,width=640,height=480,framerate=25/1 ! videoconvert ! "
        "x265enc tune=zerolatency speed-preset=ultrafast key-int-max=25 ! "
        f"video/x-h265,profile=main ! {PAY_H265} )"
    )
    factory.set_shared(True)
    return factory


def make_auth(user, password, method):
    """GstRTSPAuth asking for `user`/`password` (digest or basic), and the permissions each
    mount then gives that user."""
    gi.require_version("GstRtsp", "1.0")
    from gi.repository import GstRtsp  # noqa: E402

    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
    if method == "basic":
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
    else:
        auth.add_digest(user, password, token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    permissions = GstRtspServer.RTSPPermissions()
    for permission in (GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS,
                       GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT):
        permissions.add_permission_for_role(ROLE, permission, True)
    return auth, permissions


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="RTSP test server (H.264, and H.265 for --h265-pattern) on 127.0.0.1",
        epilog="Prints 'READY rtsp://127.0.0.1:PORT' on stdout once serving.",
    )
    ap.add_argument("--port", type=int, default=8554, help="TCP port; 0 picks a free one (default 8554)")
    ap.add_argument("--mount", type=mount_arg, action="append", default=[], metavar="/name=FILE.mp4")
    ap.add_argument("--pattern", type=mount_path, action="append", default=[], metavar="/name")
    ap.add_argument("--h265-pattern", type=mount_path, action="append", default=[], metavar="/name",
                    help="a live H.265 test pattern (a camera hadir cannot decode)")
    ap.add_argument("--user", help="the user name every mount asks for (with --password)")
    ap.add_argument("--password", help="the password every mount asks for (with --user)")
    ap.add_argument("--auth", choices=("digest", "basic"), default="digest",
                    help="the authentication asked for with --user (default digest)")
    ap.add_argument("--loop", action="store_true", help="files loop forever (live)")
    ap.add_argument("--vod", action="store_true",
                    help="files as video on demand: a playback of its own per client (filesrc ! qtdemux)")
    args = ap.parse_args(argv)
    names = [n for n, _ in args.mount] + args.pattern + args.h265_pattern
    if not names:
        ap.error("nothing to serve: give --mount, --pattern and/or --h265-pattern")
    if len(set(names)) != len(names):
        ap.error("a mount path is given twice")
    if args.loop and args.vod:
        ap.error("--loop and --vod exclude each other")
    if not 0 <= args.port <= 65535:
        ap.error("--port must be 0..65535")
    if (args.user is None) != (args.password is None):
        ap.error("--user and --password go together")

    Gst.init(None)
    stopping = threading.Event()
    server = GstRtspServer.RTSPServer()
    server.set_address(ADDRESS)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    permissions = None
    if args.user is not None:
        auth, permissions = make_auth(args.user, args.password, args.auth)
        server.set_auth(auth)
        log(f"every mount asks for user {args.user!r} ({args.auth} authentication)")

    def add(name, factory):
        if permissions is not None:
            factory.set_permissions(permissions)
        mounts.add_factory(name, factory)

    try:
        for name, path in args.mount:
            if args.vod:
                factory = make_vod_factory(path)
            else:
                factory = make_live_factory(name, path, args.loop, stopping)
            add(name, factory)
    except RuntimeError as e:
        log(f"error: {e}")
        return 1
    for name in args.pattern:
        add(name, make_pattern_factory())
    for name in args.h265_pattern:
        add(name, make_h265_pattern_factory())

    try:
        source_id = server.attach(None)
    except GLib.Error as e:
        log(f"error: cannot serve on {ADDRESS}:{args.port}: {e.message}")
        return 1
    if not source_id:
        log(f"error: cannot serve on {ADDRESS}:{args.port}")
        return 1
    port = server.get_bound_port()

    loop = GLib.MainLoop()

    def on_signal(signum):
        log(f"signal {signum}: stopping")
        stopping.set()
        # Close every client's connection, then leave the main loop.
        server.client_filter(lambda _s, _c: GstRtspServer.RTSPFilterResult.REMOVE)
        loop.quit()
        return GLib.SOURCE_REMOVE

    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, on_signal, sig)

    for name in names:
        log(f"serving rtsp://{ADDRESS}:{port}{name}")
    print(f"READY rtsp://{ADDRESS}:{port}", flush=True)
    loop.run()
    GLib.source_remove(source_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
