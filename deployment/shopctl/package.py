"""Build a Lambda ZIP package: the function's third-party dependencies installed for the platform that
will run it, plus the stage's own code — nothing else (no tests, no caches, no virtualenv).

The ZIP is deterministic (sorted entries, fixed timestamps): the same inputs give the same CodeSha256,
so deploying unchanged code twice changes nothing.

`optimize=True` (`make deploy TARGET=lambda OPTIMIZE=1`) builds the variant tuned for cold starts:

- bytecode compiled ahead of time for the runtime's Python. Lambda's task root is read-only, so a plain
  package recompiles every module from source on *every* cold start. The .pyc files use unchecked-hash
  invalidation: extracting a ZIP does not keep file times, so timestamp-checked .pyc would be ignored.
  Compiled only when this interpreter is the runtime's version (bytecode is per Python version);
  otherwise skipped with a note.
- botocore/boto3 data only for the services the code calls (and the ones credential providers need):
  one JSON model per AWS service is most of the package, and the function calls two of 440.
- no examples-1.json (API documentation examples) in what is kept.

Trade-offs: a bigger ZIP per byte of source (bytecode next to it), a package tied to one Python minor
version, and a boto3 that cannot call services outside BOTO_SERVICES (adding one means adding it there).
"""

from __future__ import annotations

import compileall
import contextlib
import fcntl
import hashlib
import io
import json
import os
import py_compile
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
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
KEPT_DIGESTS = (".digest", ".digest-bytecode")  # _digest()'s, kept in a finished tree: never packaged
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
OPTIMIZER_VERSION = "1"  # bump when what optimize() does changes: it is part of every optimised cache key
# AWS services whose botocore/boto3 data an optimised package keeps: what the stages call (DynamoDB; SSM for
# RUNTIME=ECS) and what boto3's credential providers may call (STS for assume-role and web identity — IRSA —,
# SSO/SSO-OIDC for SSO profiles, Sign-In for `aws login` sessions).
BOTO_SERVICES = ("dynamodb", "ssm", "sts", "sso", "sso-oidc", "signin")


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


# The workshop's lock (`make lock`): a package installs the very versions .venv has, dependencies of
# dependencies included, whichever machine builds it.
LOCK_FILE = REPO_ROOT / "lock" / "workshop.txt"


def locked_versions(lock: Path = LOCK_FILE) -> dict[str, str]:
    """name -> version for each distribution the lock pins once for every platform (no environment marker)."""
    versions: dict[str, str] = {}
    if not lock.exists():
        return versions
    for line in lock.read_text().splitlines():
        if line[:1].isalnum() and "==" in line and ";" not in line:
            name, version = line.split("==", 1)
            versions[_normalise(name)] = version.split()[0]
    return versions


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def pinned(requirements: tuple[str, ...]) -> list[str]:
    """Pin to the locked versions (else the ones installed here), so the package runs what the tests ran."""
    locked = locked_versions()
    pins = []
    for name in requirements:
        version = locked.get(_normalise(name))
        if version is None:
            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                pins.append(name)
                continue
        pins.append(f"{name}=={version}")
    return sorted(pins)


def build_root() -> Path:
    return REPO_ROOT / "build" / "lambda"


def package_path(stage: str, service: str, *, optimize: bool = False, platform: Platform | None = None) -> Path:
    """build/lambda/<stage>-<service>[-optimized][-<runtime>-<arch>].zip — one file per platform (the local one
    keeps the short name when plain): wheels and bytecode differ, and a build for one platform must never
    replace the file another process is about to read for the other (make test builds both at once)."""
    platform = platform or Platform.local()
    if not optimize:
        if platform == Platform.local():
            return build_root() / f"{stage}-{service}.zip"
        return build_root() / f"{stage}-{service}-{platform.runtime}-{platform.architecture}.zip"
    return build_root() / f"{stage}-{service}-optimized-{platform.runtime}-{platform.architecture}.zip"


@contextlib.contextmanager
def _one_builder(target: Path) -> Iterator[None]:
    """Build `target` in one process at a time. `make test`'s shards (or two terminals) often need the same
    package first, at the same moment: the others wait for it and find it built, instead of each running
    pip, compiling and zipping the same files side by side (on a fresh clone, the same install ran thrice)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.with_name(f"{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed, also if the process dies
        yield


def install_dependencies(requirements: list[str], platform: Platform, *, quiet: bool = False) -> Path:
    """pip-install `requirements` for `platform` into a cached folder (reused while inputs are unchanged).

    The lock constrains their dependencies too (pip reads only the lines it needs from a constraints file).
    """
    lock = LOCK_FILE.read_text() if LOCK_FILE.exists() else ""
    key = hashlib.sha256(json.dumps([requirements, platform.python_version, platform.pip_platforms, lock]).encode())
    target = build_root() / "deps" / key.hexdigest()[:16]
    if (target / ".complete").exists():
        return target
    with _one_builder(target):
        if not (target / ".complete").exists():
            _pip_install(requirements, platform, target, constrained=bool(lock), quiet=quiet)
    return target


def _pip_install(requirements: list[str], platform: Platform, target: Path, *, constrained: bool, quiet: bool) -> None:
    if target.exists():
        shutil.rmtree(target)
    # Into a staging folder, renamed when complete: an install killed half way leaves nothing that looks done.
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
    if constrained:
        argv += ["--constraint", str(LOCK_FILE)]
    if not quiet:
        where = ", ".join(platform.pip_platforms) or "this machine"
        print(
            f"… installing {len(requirements)} dependencies for Python {platform.python_version} ({where})",
            flush=True,
        )
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        lines = [
            ln for ln in result.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING: Location")
        ]
        raise ShopctlError(
            "could not install the Lambda package's dependencies: " + (lines[-1] if lines else "pip failed"),
            "the first build needs PyPI (later builds reuse build/lambda/deps); check the network",
        )
    shutil.rmtree(staging / "bin", ignore_errors=True)
    (staging / ".complete").write_text("\n".join(requirements) + "\n")
    staging.rename(target)


def _walk(root: Path, *, bytecode: bool = False):
    """The files of `root` that go into a package; `bytecode` keeps __pycache__/*.pyc (optimised trees)."""
    skip_dirs = SKIP_DIRS - {"__pycache__"} if bytecode else SKIP_DIRS
    skip_suffixes = set() if bytecode else SKIP_SUFFIXES
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in skip_dirs for part in rel.parts) or path.suffix in skip_suffixes:
            continue
        if path.is_file() and path.name not in (".complete", ".optimized.json", *KEPT_DIGESTS):
            yield path, rel


def _digest(root: Path, *, bytecode: bool = False, finished: bool = False) -> str:
    """sha256 of the files `_walk` yields (paths and contents). A `finished` tree never changes again (a
    dependency install, an optimised copy: both named by their inputs): its digest is computed once and
    kept in it — a deploy otherwise re-read ~70 MB of dependencies to learn that nothing had changed."""
    kept = root / KEPT_DIGESTS[bytecode]
    if finished and kept.exists():
        return kept.read_text()
    digest = hashlib.sha256()
    for path, rel in _walk(root, bytecode=bytecode):
        digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    if finished:
        partial = kept.with_name(f"{kept.name}.{os.getpid()}")
        partial.write_text(digest.hexdigest())
        os.replace(partial, kept)
    return digest.hexdigest()


def can_compile_for(platform: Platform) -> bool:
    """Bytecode is per Python minor version: compile only with the runtime's own version."""
    return platform.python_version == f"{sys.version_info.major}.{sys.version_info.minor}"


def _strip_boto_data(root: Path) -> int:
    """Remove botocore/boto3 data of services the function never calls. Returns the bytes removed."""
    removed = 0
    for data in (root / "botocore" / "data", root / "boto3" / "data"):
        if not data.is_dir():
            continue
        for entry in data.iterdir():
            # Top-level files (endpoints.json, partitions.json, sdk-default-configuration.json, _retry.json)
            # are read by every client: always kept.
            if entry.is_dir() and entry.name not in BOTO_SERVICES:
                removed += sum(f.stat().st_size for f in entry.rglob("*") if f.is_file())
                shutil.rmtree(entry)
        for example in data.rglob("examples-1.json"):
            removed += example.stat().st_size
            example.unlink()
    return removed


def optimized_tree(
    source: Path, platform: Platform, *, what: str, quiet: bool = False, finished: bool = False
) -> tuple[Path, dict]:
    """A copy of `source` (dependencies or stage code) optimised for cold starts; cached by its inputs.

    Returns the folder and what was done: {"compiled": n, "stripped_bytes": n, "note": str | None}.
    """
    inputs = [OPTIMIZER_VERSION, platform.python_version, sys.implementation.cache_tag]
    inputs.append(_digest(source, finished=finished))  # `finished`: a dependency install, not stage code
    target = build_root() / "optimized" / hashlib.sha256("\0".join(inputs).encode()).hexdigest()[:16]
    summary_file = target / ".optimized.json"
    if not summary_file.exists():
        with _one_builder(target):
            if not summary_file.exists():
                _optimize(source, target, platform, what=what, quiet=quiet)
    return target, json.loads(summary_file.read_text())


def _optimize(source: Path, target: Path, platform: Platform, *, what: str, quiet: bool) -> None:
    if not quiet:
        print(f"… optimising {what} for cold starts (bytecode, unused AWS SDK data)", flush=True)
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for path, rel in _walk(source):
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, staging / rel)
    stripped = _strip_boto_data(staging)
    compiled, note = 0, None
    if can_compile_for(platform):
        # unchecked-hash: valid whatever the files' times are after unzipping; the package is immutable.
        ok = compileall.compile_dir(
            staging,
            quiet=2,
            workers=1,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        if not ok:
            raise ShopctlError(f"could not compile {source} to bytecode", "a .py file there has a syntax error")
        compiled = sum(1 for _ in staging.rglob("*.pyc"))
    else:
        note = (
            f"bytecode not precompiled: this machine runs Python {sys.version_info.major}.{sys.version_info.minor}, "
            f"the function runs Python {platform.python_version} (bytecode is per version)"
        )
    summary = {"compiled": compiled, "stripped_bytes": stripped, "note": note}
    (staging / ".optimized.json").write_text(json.dumps(summary))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def build(
    stage: Stage, service: Service, platform: Platform, *, quiet: bool = False, optimize: bool = False
) -> Package:
    """Build `service`'s package for `platform` into build/lambda/<stage>-<service>[-optimized].zip."""
    stage_dir = STAGE_DIRS[stage.name]
    sources = {}
    for package in service.packages:
        source = stage_dir / package
        if not (source / "__init__.py").exists():
            raise ShopctlError(f"stage package {package!r} not found in {stage_dir}", "is the stage there?")
        sources[package] = source
    return build_zip(
        package_path(stage.name, service.name, optimize=optimize, platform=platform),
        pinned(service.requirements),
        sources,
        platform,
        label=f"{stage.name}/{service.name}",
        quiet=quiet,
        optimize=optimize,
    )


def build_zip(
    out: Path,
    requirements: list[str],
    sources: dict[str, Path],
    platform: Platform,
    *,
    label: str,
    quiet: bool = False,
    optimize: bool = False,
) -> Package:
    """A package of `requirements` (installed for `platform`) plus the code folders `sources` (archive name ->
    folder), written to `out`.

    The ZIP is rebuilt only when its inputs change (a digest of every file's path and content is kept
    beside it): unchanged code gives the very same bytes, so re-zipping would only cost time.
    """
    deps = install_dependencies(requirements, platform, quiet=quiet)
    notes: set[str] = set()
    compiled = 0
    if optimize:
        deps, summary = optimized_tree(deps, platform, what="the dependencies", quiet=quiet, finished=True)
        compiled += summary["compiled"]
        if summary["note"]:
            notes.add(summary["note"])
    trees = {"": deps}  # archive folder -> tree
    for package, source in sources.items():
        if optimize:
            source, summary = optimized_tree(source, platform, what=package, quiet=quiet)
            compiled += summary["compiled"]
        trees[package] = source
    digest = hashlib.sha256()
    for folder, tree in trees.items():
        # The dependencies and optimised copies never change once built; stage code is read each time.
        finished = tree == deps or optimize
        digest.update(f"{folder}\0{_digest(tree, bytecode=optimize, finished=finished)}\0".encode())
    inputs = out.with_suffix(".inputs")
    with _one_builder(out):
        data, unzipped, count = _zip(out, inputs, trees, digest.hexdigest(), bytecode=optimize)
    if unzipped > UNZIPPED_LIMIT:
        raise ShopctlError(
            f"package {label} is {unzipped / 1e6:.0f} MB unzipped; Lambda allows 250 MB",
            "drop dependencies the function does not import, or deploy a container image instead",
        )
    package = Package(out, data, len(data), unzipped, count)
    if not quiet:
        done = [f"{compiled} modules precompiled"] if compiled else []
        kind = f" (optimised: {', '.join([*done, 'unused AWS SDK data stripped'])})" if optimize else ""
        print(f"✓ package {package.describe()}{kind}", flush=True)
        for note in sorted(notes):
            print(f"  note: {note}", flush=True)
        if len(data) > DIRECT_UPLOAD_LIMIT:
            print("  note: over the 50 MB direct-upload limit; fine here, the package is uploaded through S3")
    return package


def _zip(out: Path, inputs: Path, trees: dict[str, Path], digest: str, *, bytecode: bool) -> tuple[bytes, int, int]:
    """The ZIP of `trees` (archive folder -> tree) at `out`, rebuilt only if `inputs` holds another digest.
    Returns its bytes, its size unzipped and its number of files."""
    if out.exists() and inputs.exists() and inputs.read_text() == digest:
        data = out.read_bytes()
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
        return data, sum(info.file_size for info in infos), len(infos)
    entries = {
        (Path(folder) / rel).as_posix(): path
        for folder, tree in trees.items()
        for path, rel in _walk(tree, bytecode=bytecode)
    }
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
    for path, content in ((out, data), (inputs, digest.encode())):
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_bytes(content)
        os.replace(partial, path)
    return data, unzipped, len(entries)
