"""The Makefile, run as a learner runs it (in a scratch folder): what it cleans, the environment it gives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make(folder: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", str(REPO / "Makefile"), "-C", str(folder), *args],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return result.stdout


def test_clean_build_keeps_the_deployment_records(tmp_path: Path) -> None:
    """`make clean-build` removes what can be rebuilt, never the records of what deployments created."""
    record = tmp_path / ".run/deployments/aws-123456789012-eu-west-1/clean-ecs.json"
    rebuildable = [tmp_path / p for p in ("build/compare/report.md", ".run/logs/run.log", ".run/moto-5000.log")]
    for path in [record, *rebuildable]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")

    make(tmp_path, "clean-build")

    assert record.read_text() == "{}"  # destroy needs it: without it, it would have to rediscover by tags
    assert [p for p in rebuildable if p.exists()] == []
    assert sorted(p.name for p in (tmp_path / ".run").iterdir()) == ["deployments"]


def test_make_s_python_processes_write_bytecode_even_if_the_shell_says_not_to(tmp_path: Path) -> None:
    # The venv is installed without bytecode (pip --no-compile): with PYTHONDONTWRITEBYTECODE set, every
    # process would compile each module it imports from source, every time.
    probe = f"probe: ; @{sys.executable} -c 'import sys; print(sys.flags.dont_write_bytecode)'"
    out = make(tmp_path, "--eval", probe, "probe", env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert out.strip() == "0"


def test_make_venv_with_a_wheelhouse_installs_with_no_index(tmp_path: Path) -> None:
    """`make venv WHEELHOUSE=x` installs the lock from x alone (what a room without network does); without
    WHEELHOUSE pip asks its index as before."""
    (tmp_path / "lock").mkdir()
    for name in ("workshop.txt", "dev.txt"):
        (tmp_path / "lock" / name).write_text("fastapi==0.1\n")

    offline = make(tmp_path, "-n", ".venv/.installed-dev", "WHEELHOUSE=x")
    online = make(tmp_path, "-n", ".venv/.installed-dev")

    installs = [line for line in offline.splitlines() if "pip install" in line]
    assert len(installs) == 2  # the workshop's set, then the test tools
    assert all(f"--no-index --find-links {tmp_path}/x -r lock/" in line for line in installs)
    assert "shopctl.wheelhouse check x --set workshop" in offline and "--set dev" in offline
    assert "--no-index" not in online and "--find-links" not in online and "wheelhouse" not in online
