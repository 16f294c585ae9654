"""A wheelhouse: every locked package as a wheel in one folder, so a room with no network installs from it.

A facilitator builds it once (`make wheelhouse`, with only the system Python: there may be no venv yet) and
hands the folder out on a share or a USB stick; attendees type `make venv WHEELHOUSE=<folder>`, which
installs with `pip --no-index --find-links <folder>` after `check` said the folder fits this checkout.

One flat folder serves every platform: pip picks the wheel whose tags match. `wheelhouse.json` beside the
wheels records, per lock file, its digest and the platforms and Python versions it was built for.

    python -m shopctl.wheelhouse build [--out build/wheelhouse] [--platforms all|linux-x86_64,…]
                                       [--pythons 3.11,3.12,3.13] [--dev]
    python -m shopctl.wheelhouse check <folder> --set workshop|dev|checkov
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shopctl.errors import ArgumentParser, ShopctlError, unexpected
from shopctl.paths import REPO_ROOT

# The system Python may lack `packaging`; pip, which this module drives anyway, always vendors it.
try:
    from packaging import tags
    from packaging.markers import Marker
    from packaging.utils import canonicalize_name, parse_wheel_filename
except ImportError:  # pragma: no cover - depends on the interpreter
    from pip._vendor.packaging import tags  # type: ignore[no-redef]
    from pip._vendor.packaging.markers import Marker  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name, parse_wheel_filename  # type: ignore[no-redef]

LOCK_DIR = REPO_ROOT / "lock"
DEFAULT_OUT = REPO_ROOT / "build" / "wheelhouse"
MANIFEST = "wheelhouse.json"
SETS = ("workshop", "dev", "checkov")  # lock/<set>.txt; --dev adds the last two (make test, make verify)
PYTHONS = ("3.11", "3.12", "3.13")

# The oldest system each platform's wheels must run on: glibc 2.28 (Debian 10, Ubuntu 20.04, RHEL 8) and
# macOS 11. pip expands a macOS tag to the older versions itself, but not a manylinux_2_X one: list them.
GLIBC_FLOOR = (2, 28)
MACOS_FLOOR = (11, 0)


def _manylinux(arch: str) -> list[str]:
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_FLOOR[1], 16, -1)]
    return [*platforms, f"manylinux2014_{arch}"]  # the legacy name of manylinux_2_17


@dataclass(frozen=True)
class Platform:
    key: str  # what PLATFORMS= takes and the manifest records
    label: str  # in progress lines
    pip_platforms: tuple[str, ...]  # pip download --platform …
    markers: tuple[tuple[str, str], ...]  # the environment markers that differ per platform

    def tag_platforms(self) -> list[str]:
        """Every platform tag pip accepts for it (what `--platform` expands to)."""
        if self.key.startswith("macos"):
            return list(tags.mac_platforms(MACOS_FLOOR, self.key.split("-")[1]))
        return list(self.pip_platforms)


def _platform(system: str, arch: str) -> Platform:
    if system == "linux":
        markers = (("sys_platform", "linux"), ("platform_system", "Linux"), ("platform_machine", arch))
        return Platform(f"linux-{arch}", f"linux {arch}", tuple(_manylinux(arch)), markers)
    markers = (("sys_platform", "darwin"), ("platform_system", "Darwin"), ("platform_machine", arch))
    pip_platform = f"macosx_{MACOS_FLOOR[0]}_{MACOS_FLOOR[1]}_{arch}"
    return Platform(f"macos-{arch}", f"macOS {arch}", (pip_platform,), markers)


PLATFORMS = {
    p.key: p
    for p in (_platform("linux", "x86_64"), _platform("linux", "aarch64"),
              _platform("macos", "x86_64"), _platform("macos", "arm64"))
}  # fmt: skip


def this_platform() -> str:
    """This machine's key in PLATFORMS (or what it would be: e.g. windows-amd64, which has none)."""
    system = {"darwin": "macos"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    return f"{system}-{'aarch64' if system == 'linux' and machine == 'arm64' else machine}"


def this_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class Target:
    platform: str
    python: str
    native: bool = False  # this machine: pip may build a wheel from an sdist, markers are evaluated as is

    @property
    def label(self) -> str:
        name = PLATFORMS[self.platform].label if self.platform in PLATFORMS else self.platform
        return f"{name}, Python {self.python}"

    def supported_tags(self) -> list[tags.Tag]:
        """The wheel tags pip would accept there, best first."""
        if self.native:
            return list(tags.sys_tags())
        version = tuple(int(part) for part in self.python.split("."))
        platforms = PLATFORMS[self.platform].tag_platforms()
        interpreter = f"cp{version[0]}{version[1]}"
        return [*tags.cpython_tags(version, platforms=platforms),
                *tags.compatible_tags(version, interpreter, platforms)]  # fmt: skip


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: str = ""

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def read_lock(path: Path) -> list[Pin]:
    """The pins of a lock file as `make lock` (uv pip compile --universal) writes it."""
    pins = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement, _, marker = (part.strip() for part in line.partition(";"))
        name, _, version = requirement.partition("==")
        pins.append(Pin(canonicalize_name(name.split("[")[0]), version.strip(), marker))
    return pins


def applies(pin: Pin, target: Target) -> bool:
    """Does the pin's environment marker hold there? For a foreign target, for any patch release of its
    Python (the lock splits on e.g. python_full_version < '3.11.5': an attendee may have either side)."""
    if not pin.marker:
        return True
    marker = Marker(pin.marker)
    if target.native:
        return marker.evaluate()
    env = {"os_name": "posix", "implementation_name": "cpython", "platform_python_implementation": "CPython",
           **dict(PLATFORMS[target.platform].markers), "python_version": target.python}  # fmt: skip
    return any(marker.evaluate({**env, "python_full_version": f"{target.python}.{patch}"}) for patch in (0, 99))


def pins_for(target: Target, sets: list[str]) -> list[Pin]:
    seen: dict[str, Pin] = {}
    for name in sets:
        for pin in read_lock(LOCK_DIR / f"{name}.txt"):
            if applies(pin, target):
                seen.setdefault(str(pin), pin)
    return list(seen.values())


def lock_digest(name: str) -> str:
    return hashlib.sha256((LOCK_DIR / f"{name}.txt").read_bytes()).hexdigest()


def select(folder: Path, pins: list[Pin], target: Target) -> tuple[dict[str, Path], list[Pin]]:
    """The wheel pip would install there for each pin ({pin: path}), and the pins with none in the folder."""
    rank = {tag: i for i, tag in enumerate(target.supported_tags())}
    wheels: dict[tuple[str, str], list[tuple[int, Path]]] = {}
    for path in folder.glob("*.whl"):
        name, version, _, wheel_tags = parse_wheel_filename(path.name)
        best = min((rank[tag] for tag in wheel_tags if tag in rank), default=None)
        if best is not None:
            wheels.setdefault((name, str(version)), []).append((best, path))
    chosen, missing = {}, []
    for pin in pins:
        candidates = wheels.get((pin.name, pin.version))
        if candidates:
            chosen[str(pin)] = min(candidates)[1]
        else:
            missing.append(pin)
    return chosen, missing


# --- the manifest ------------------------------------------------------------------------------------


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.exists():
        return {"sets": {}}
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        hint = f"build it again: make wheelhouse WHEELHOUSE={folder}"
        raise ShopctlError(f"{path} is not valid JSON ({error})", hint) from None


def record(manifest: dict, sets: list[str], target: Target) -> dict:
    """The manifest with `target` added to each set (a set whose lock changed starts afresh)."""
    for name in sets:
        entry = manifest["sets"].get(name)
        if entry is None or entry["lock_sha256"] != lock_digest(name):
            entry = manifest["sets"][name] = {"lock_sha256": lock_digest(name), "targets": []}
        key = {"platform": target.platform, "python": target.python}
        if key not in entry["targets"]:
            entry["targets"].append(key)
    return manifest


def check(folder: Path, set_name: str, platform_key: str | None = None, python: str | None = None) -> None:
    """Raise (one line and a hint) unless the folder holds `set_name` built from this checkout's lock for
    this machine's platform and Python."""
    platform_key, python = platform_key or this_platform(), python or this_python()
    rebuild = "ask for a wheelhouse built from this checkout (make wheelhouse), or install without WHEELHOUSE="
    without = "or install without WHEELHOUSE= (from PyPI)"
    if not folder.is_dir():
        raise ShopctlError(f"no wheelhouse at {folder}", "WHEELHOUSE= names the folder the facilitator handed out")
    entry = read_manifest(folder)["sets"].get(set_name)
    if entry is None:
        extra = " (built without DEV=1)" if set_name != "workshop" else ""
        raise ShopctlError(f"the wheelhouse {folder} has no lock/{set_name}.txt packages{extra}", rebuild)
    if entry["lock_sha256"] != lock_digest(set_name):
        raise ShopctlError(f"the wheelhouse {folder} was built from another lock/{set_name}.txt", rebuild)
    if {"platform": platform_key, "python": python} not in entry["targets"]:
        built = ", ".join(f"{t['platform']} {t['python']}" for t in entry["targets"]) or "nothing"
        raise ShopctlError(
            f"the wheelhouse {folder} lacks this machine's platform, {platform_key} Python {python} (it has: {built})",
            f"make wheelhouse PLATFORMS={platform_key} PYTHONS={python} WHEELHOUSE={folder} adds it; {without}",
        )


# --- building ------------------------------------------------------------------------------------------


def pip_command(target: Target, out: Path, requirements: Path) -> list[str]:
    pip = [sys.executable, "-m", "pip"]
    quiet = ["--disable-pip-version-check", "--progress-bar", "off", "--no-deps", "-r", str(requirements)]
    if target.native:  # builds a wheel for any locked package that has only a source distribution
        return [*pip, "wheel", "--wheel-dir", str(out), *quiet]
    where = [arg for p in PLATFORMS[target.platform].pip_platforms for arg in ("--platform", p)]
    # The latest patch release: pip checks Requires-Python against it (soupsieve 4 wants 3.11.5 or newer).
    return [*pip, "download", "--dest", str(out), "--only-binary=:all:", "--implementation", "cp",
            "--python-version", f"{target.python}.99", *where, *quiet]  # fmt: skip


NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
NO_INDEX = re.compile(r"Could not fetch URL|NewConnectionError|Max retries exceeded|name resolution|timed out")


def batches(pins: list[Pin]) -> list[list[Pin]]:
    """Pins split so that no batch names a package twice: one pip run cannot take two versions of one
    package (the lock has some for either side of a Python patch release, e.g. soupsieve for 3.11)."""
    split: list[list[Pin]] = []
    for pin in pins:
        batch = next((b for b in split if all(other.name != pin.name for other in b)), None)
        if batch is None:
            split.append(batch := [])
        batch.append(pin)
    return split


def download(target: Target, pins: list[Pin], out: Path) -> list[Pin]:
    """Fetch the pins' wheels for the target into `out`; returns the pins that have no wheel there.
    pip stops at the first such pin: it is set aside and pip runs again (files already there are kept)."""
    missing: list[Pin] = []
    with tempfile.TemporaryDirectory() as scratch:
        requirements = Path(scratch) / "requirements.txt"
        for todo in batches(pins):
            while todo:
                requirements.write_text("".join(f"{pin}\n" for pin in todo))
                done = subprocess.run(pip_command(target, out, requirements), capture_output=True, text=True)
                if done.returncode == 0:
                    break
                # Offline, pip also ends with "no matching distribution": that is no answer about the wheel.
                found = None if NO_INDEX.search(done.stderr) else NO_MATCH.search(done.stderr)
                name, _, version = found.group(1).partition("==") if found else ("", "", "")
                lost = [pin for pin in todo if pin.name == canonicalize_name(name) and version in ("", pin.version)]
                if not lost:
                    raise pip_failed(target, done, out)
                missing += lost
                todo = [pin for pin in todo if pin not in lost]
    return missing


def pip_failed(target: Target, done: subprocess.CompletedProcess[str], out: Path) -> ShopctlError:
    """pip's first error line; its whole output goes to a log beside the wheels."""
    log = out / f"pip-{target.platform}-{target.python}.log"
    log.write_text(f"$ {' '.join(map(str, done.args))}\n{done.stdout}{done.stderr}")
    lines = done.stderr.strip().splitlines() or ["no output"]
    first = next((line for line in lines if line.startswith("ERROR:")), lines[-1])
    where = "check your network / PyPI access" if NO_INDEX.search(done.stderr) else f"pip's whole output: {log}"
    return ShopctlError(f"pip failed for {target.label}: {first}", f"{where}; then run the same command again")


def targets_for(platforms: list[str] | None, pythons: list[str] | None) -> list[Target]:
    """No platform named: this machine (with its Python unless others are named)."""
    if not platforms:
        here, python = this_platform(), this_python()
        if here not in PLATFORMS and set(pythons or [python]) != {python}:
            raise ShopctlError(f"no other Python versions for {here}", f"PLATFORMS= takes: {', '.join(PLATFORMS)}")
        return [Target(here, v, native=v == python) for v in (pythons or [python])]
    unknown = [p for p in platforms if p not in PLATFORMS]
    if unknown:
        hint = f"PLATFORMS= takes all or some of: {', '.join(PLATFORMS)}"
        raise ShopctlError(f"unknown platform {unknown[0]!r}", hint)
    return [Target(p, v) for p, v in itertools.product(platforms, pythons or PYTHONS)]


def _mb(paths: set[Path]) -> float:
    return sum(path.stat().st_size for path in paths) / 1e6


def build(out: Path, targets: list[Target], sets: list[str], say=print) -> dict[str, float]:
    """Fill `out` for every target; returns the size in MB per platform (what an attendee of it needs)."""
    if os.environ.get("PIP_NO_INDEX", "").lower() in ("1", "true", "yes", "on"):
        # pip would then say "no matching distribution" for every package, as if none had a wheel.
        raise ShopctlError("PIP_NO_INDEX is set: a wheelhouse is filled from the package index", "unset PIP_NO_INDEX")
    out.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(out)
    stale = [n for n in sets if n in manifest["sets"] and manifest["sets"][n]["lock_sha256"] != lock_digest(n)]
    if stale:  # wheels of other pins would only make the folder bigger
        say(f"… lock/{stale[0]}.txt changed since {out} was built: starting it afresh")
        for path in [*out.glob("*.whl"), out / MANIFEST]:
            path.unlink(missing_ok=True)
        manifest = {"sets": {}}
    per_platform: dict[str, set[Path]] = {}
    problems = []
    for number, target in enumerate(targets, 1):
        pins = pins_for(target, sets)
        chosen, absent = select(out, pins, target)
        if absent:
            say(f"… downloading for {target.label} ({number}/{len(targets)}): {len(absent)} of {len(pins)} wheels")
            download(target, absent, out)
            chosen, absent = select(out, pins, target)  # what pip had no wheel for is still absent
        else:
            say(f"… {target.label} ({number}/{len(targets)}): all {len(pins)} wheels already there")
        if absent:
            problems.append(f"{target.label}: {', '.join(map(str, absent))}")
        else:
            manifest = record(manifest, sets, target)
        per_platform.setdefault(target.platform, set()).update(chosen.values())
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    sizes = {key: _mb(paths) for key, paths in per_platform.items()}
    for key, size in sizes.items():
        say(f"  {key:<14} {size:7.0f} MB")
    if problems:
        raise ShopctlError(
            f"no wheel for {'; '.join(problems)}",
            "that platform can't install offline from this lock: drop it from PLATFORMS=, or bump the package",
        )
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m shopctl.wheelhouse", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("build", help="download every locked package as a wheel")
    make.add_argument("--out", type=Path, default=DEFAULT_OUT)
    make.add_argument("--platforms", help=f"all, or some of {','.join(PLATFORMS)} (default: this machine)")
    make.add_argument("--pythons", help=f"Python versions (default: this one; {','.join(PYTHONS)} with --platforms)")
    make.add_argument("--dev", action="store_true", help="also lock/dev.txt and lock/checkov.txt (make test/verify)")
    test = sub.add_parser("check", help="does the folder fit this checkout and this machine?")
    test.add_argument("folder", type=Path)
    test.add_argument("--set", choices=SETS, default="workshop")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            check(args.folder, args.set)
            return 0
        listed = args.platforms.split(",") if args.platforms else None
        platforms = list(PLATFORMS) if listed == ["all"] else listed
        targets = targets_for(platforms, args.pythons.split(",") if args.pythons else None)
        sets = list(SETS) if args.dev else ["workshop"]
        build(args.out, targets, sets)
        total = _mb(set(args.out.glob("*.whl")))
        print(f"✓ {args.out}: {total:.0f} MB of wheels for {len(targets)} platform/Python pair(s); "
              f"attendees type: make venv WHEELHOUSE=<this folder>")  # fmt: skip
    except ShopctlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # a bug: still one line and a hint
        return unexpected(error, "python -m shopctl.wheelhouse")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
