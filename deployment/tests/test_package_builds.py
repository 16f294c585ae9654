"""Lambda package builds (shopctl.targets.package) that several processes ask for at once are built once."""

from __future__ import annotations

import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shopctl.targets import package


def test_the_same_dependencies_asked_for_at_once_are_installed_once(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(package, "build_root", lambda: tmp_path)
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


def test_a_failed_install_leaves_nothing_behind_and_the_next_build_installs_again(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(package, "build_root", lambda: tmp_path)
    outcomes = iter([1, 0])

    def pip(argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        Path(argv[argv.index("--target") + 1], "half-installed").mkdir(parents=True)
        return subprocess.CompletedProcess(argv, next(outcomes), "", "ERROR: No matching distribution")

    monkeypatch.setattr(package.subprocess, "run", pip)
    with pytest.raises(package.ShopctlError, match="No matching distribution"):
        package.install_dependencies(["fastapi==0.1"], package.Platform.local(), quiet=True)
    assert [p.name for p in (tmp_path / "deps").iterdir() if not p.name.endswith(".lock")] == []
    target = package.install_dependencies(["fastapi==0.1"], package.Platform.local(), quiet=True)
    assert (target / ".complete").exists() and (target / "half-installed").is_dir()
