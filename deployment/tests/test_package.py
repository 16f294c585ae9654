"""Lambda package builds (shopctl.package) that several processes ask for at once are built once."""

from __future__ import annotations

import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shopctl import package


@pytest.fixture
def build_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The package builder's build root, in a scratch folder."""
    root = tmp_path / "build"
    monkeypatch.setattr(package, "build_root", lambda: root)
    return root


def test_the_same_dependencies_asked_for_at_once_are_installed_once(build_root: Path, monkeypatch) -> None:
    installs: list[list[str]] = []
    running = threading.Lock()

    def pip(argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        assert running.acquire(blocking=False), "two pip installs of the same folder at once"
        try:
            installs.append(argv)
            staging = Path(argv[argv.index("--target") + 1])
            (staging / "fastapi").mkdir(parents=True)
            time.sleep(0.3)  # a real install takes seconds: the other builders arrive meanwhile
            return subprocess.CompletedProcess(argv, 0, "", "")
        finally:
            running.release()

    monkeypatch.setattr(package.subprocess, "run", pip)
    # Separate open files, as in separate processes: flock() holds between them.
    with ThreadPoolExecutor(max_workers=3) as pool:
        targets = list(pool.map(
            lambda _: package.install_dependencies(["fastapi==0.1"], package.Platform.local(), quiet=True), range(3)
        ))  # fmt: skip
    assert len(installs) == 1
    assert len(set(targets)) == 1 and (targets[0] / "fastapi").is_dir() and (targets[0] / ".complete").exists()


def test_a_failed_install_leaves_nothing_behind_and_the_next_build_installs_again(build_root: Path, monkeypatch):
    outcomes = iter([1, 0])

    def pip(argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        Path(argv[argv.index("--target") + 1], "half-installed").mkdir(parents=True)
        return subprocess.CompletedProcess(argv, next(outcomes), "", "ERROR: No matching distribution")

    monkeypatch.setattr(package.subprocess, "run", pip)
    with pytest.raises(package.ShopctlError, match="No matching distribution"):
        package.install_dependencies(["fastapi==0.1"], package.Platform.local(), quiet=True)
    assert [p.name for p in (build_root / "deps").iterdir() if not p.name.endswith(".lock")] == []
    target = package.install_dependencies(["fastapi==0.1"], package.Platform.local(), quiet=True)
    assert (target / ".complete").exists() and (target / "half-installed").is_dir()


def test_a_rebuild_reads_the_stage_code_again_but_not_the_finished_dependencies(
    build_root: Path, tmp_path: Path, monkeypatch
) -> None:
    import zipfile

    deps = build_root / "deps" / "abc"
    (deps / "fastapi").mkdir(parents=True)
    (deps / "fastapi" / "__init__.py").write_text("VERSION = 1\n")
    (deps / ".complete").write_text("fastapi\n")
    monkeypatch.setattr(package, "install_dependencies", lambda *_, **__: deps)
    code = tmp_path / "shop"
    code.mkdir()
    (code / "__init__.py").write_text("GREETING = 'hello'\n")

    def build() -> dict[str, bytes]:
        platform = package.Platform.local()
        built = package.build_zip(tmp_path / "shop.zip", [], {"shop": code}, platform, label="t", quiet=True)
        with zipfile.ZipFile(built.path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}

    assert build() == {"fastapi/__init__.py": b"VERSION = 1\n", "shop/__init__.py": b"GREETING = 'hello'\n"}
    assert (deps / ".digest").exists()  # kept: the next deploys do not read the dependencies again
    (code / "__init__.py").write_text("GREETING = 'hi'\n")  # a learner's edit
    assert build()["shop/__init__.py"] == b"GREETING = 'hi'\n"
    assert ".digest" not in "".join(build())  # bookkeeping files never go into the package
