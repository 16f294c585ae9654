"""Build a Lambda ZIP package: the function's third-party dependencies installed for the platform that
will run it, plus the stage's own code — nothing else (no tests, no caches, no virtualenv).

The ZIP is deterministic (sorted entries, fixed timestamps): the same inputs give the same CodeSha256,
so deploying unchanged code twice changes nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from shopctl.errors import ShopctlError
from shopctl.paths import REPO_ROOT, STAGE_DIRS
from shopctl.stages import Service, Stage

# Lambda's limits for a ZIP deployment (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024  # zipped, when uploaded in the API call; we go through S3
UNZIPPED_LIMIT = 250 * 1024 * 1024  # unzipped, code + layers: a hard limit
SKIP_DIRS = {"__pycache__", "tests", ".pytest_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo"}
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Platform:
    """Which interpreter will import the package.

    Locally the function runs on this machine's Python, so its wheels must be this interpreter's; on AWS
    it runs on the function's runtime (e.g. python3.12 on x86_64), so pip fetches manylinux wheels for
    that — which is what makes a package built on a Mac run on Lambda.
    """

    python_version: str  # "3.11"
    pip_platforms: tuple[str, ...]  # () = this machine's own
    architecture: str = "x86_64"  # Lambda's Architectures value

    @property
    def runtime(self) -> str:
        return f"python{self.python_version}"

    @classmethod
    def local(cls) -> Platform:
        return cls(f"{sys.version_info.major}.{sys.version_info.minor}", ())

    @classmethod
    def aws(cls, python_version: str = "3.12", architecture: str = "x86_64") -> Platform:
        machine = {"x86_64": "x86_64", "arm64": "aarch64"}[architecture]
        return cls(python_version, (f"manylinux2014_{machine}", f"manylinux_2_28_{machine}"), architecture)


@dataclass(frozen=True)
class Package:
    path: Path
    data: bytes
    zipped_bytes: int
    unzipped_bytes: int
    files: int

    def describe(self) -> str:
        return (
            f"{self.path.relative_to(REPO_ROOT)}: {self.zipped_bytes / 1e6:.1f} MB zipped, "
            f"{self.unzipped_bytes / 1e6:.1f} MB unzipped, {self.files} files"
        )


def pinned(requirements: tuple[str, ...]) -> list[str]:
    """Pin to the versions installed here, so the package runs what the tests ran."""
    pins = []
    for name in requirements:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(name)
    return sorted(pins)


def build_root() -> Path:
    return REPO_ROOT / "build" / "lambda"


def package_path(stage: str, service: str) -> Path:
    return build_root() / f"{stage}-{service}.zip"


def install_dependencies(requirements: list[str], platform: Platform, *, quiet: bool = False) -> Path:
    """pip-install `requirements` for `platform` into a cached folder (reused while inputs are unchanged)."""
    key = hashlib.sha256(json.dumps([requirements, platform.python_version, platform.pip_platforms]).encode())
    target = build_root() / "deps" / key.hexdigest()[:16]
    if (target / ".complete").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    # One staging folder per process: `make test` runs shards side by side, and each may build first.
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    argv = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--only-binary=:all:",
        "--target",
        str(staging),
    ]
    if platform.pip_platforms:
        argv += ["--implementation", "cp", "--python-version", platform.python_version]
        for tag in platform.pip_platforms:
            argv += ["--platform", tag]
    argv += requirements
    if not quiet:
        where = ", ".join(platform.pip_platforms) or "this machine"
        print(
            f"… installing {len(requirements)} dependencies for Python {platform.python_version} ({where})",
            flush=True,
        )
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [
            ln for ln in result.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING: Location")
        ]
        raise ShopctlError(
            "could not install the Lambda package's dependencies: " + (lines[-1] if lines else "pip failed"),
            "the first build needs PyPI (later builds reuse build/lambda/deps); check the network",
        )
    shutil.rmtree(staging / "bin", ignore_errors=True)
    (staging / ".complete").write_text("\n".join(requirements) + "\n")
    try:
        staging.rename(target)
    except OSError:  # another process finished the same install first: use theirs
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / ".complete").exists():
            raise
    return target


def _walk(root: Path):
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in SKIP_DIRS for part in rel.parts) or path.suffix in SKIP_SUFFIXES:
            continue
        if path.is_file() and path.name != ".complete":
            yield path, rel


def build(stage: Stage, service: Service, platform: Platform, *, quiet: bool = False) -> Package:
    """Build `service`'s package for `platform` into build/lambda/<stage>-<service>.zip.

    The ZIP is rebuilt only when its inputs change (a digest of every file's path and content is kept
    beside it): unchanged code gives the very same bytes, so re-zipping would only cost time.
    """
    deps = install_dependencies(pinned(service.requirements), platform, quiet=quiet)
    entries: dict[str, Path] = {rel.as_posix(): path for path, rel in _walk(deps)}
    stage_dir = STAGE_DIRS[stage.name]
    for package in service.packages:
        source = stage_dir / package
        if not (source / "__init__.py").exists():
            raise ShopctlError(f"stage package {package!r} not found in {stage_dir}", "is the stage there?")
        for path, rel in _walk(source):
            entries[(Path(package) / rel).as_posix()] = path

    digest = hashlib.sha256()
    for name in sorted(entries):
        digest.update(name.encode() + b"\0" + entries[name].read_bytes() + b"\0")
    out = package_path(stage.name, service.name)
    inputs = out.with_suffix(".inputs")
    if out.exists() and inputs.exists() and inputs.read_text() == digest.hexdigest():
        data = out.read_bytes()
        unzipped = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    else:
        buffer = io.BytesIO()
        unzipped = 0
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(entries):
                content = entries[name].read_bytes()
                info = zipfile.ZipInfo(name, FIXED_TIME)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, content)
                unzipped += len(content)
        data = buffer.getvalue()
        out.parent.mkdir(parents=True, exist_ok=True)
        # Replace atomically: a process deploying the same package meanwhile reads the old or the new file,
        # never half of one.
        for path, content in ((out, data), (inputs, digest.hexdigest().encode())):
            partial = path.with_name(f"{path.name}.{os.getpid()}")
            partial.write_bytes(content)
            os.replace(partial, path)
    if unzipped > UNZIPPED_LIMIT:
        raise ShopctlError(
            f"package {stage.name}/{service.name} is {unzipped / 1e6:.0f} MB unzipped; Lambda allows 250 MB",
            "drop dependencies the function does not import, or deploy a container image instead",
        )
    package = Package(out, data, len(data), unzipped, len(entries))
    if not quiet:
        print(f"✓ package {package.describe()}", flush=True)
        if len(data) > DIRECT_UPLOAD_LIMIT:
            print("  note: over the 50 MB direct-upload limit; fine here, the package is uploaded through S3")
    return package
