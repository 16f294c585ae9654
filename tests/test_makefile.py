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


WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def workflow_make_lines() -> list[tuple[str, str]]:
    """(workflow, line) for every line of a `run:` step that runs make, as written (pipes included)."""
    import yaml

    lines = []
    for path in WORKFLOWS:
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job["steps"]:
                lines += [(path.name, line.strip()) for line in step.get("run", "").splitlines()
                          if line.strip().startswith("make ")]  # fmt: skip
    return lines


def test_every_make_line_of_the_workflows_is_a_command_make_knows(tmp_path: Path) -> None:
    """Each `make …` a workflow runs, with `make -n` (the recipes printed, not run): an unknown target or a
    broken variable fails here instead of on GitHub, on a weekly run that costs money."""
    lines = workflow_make_lines()
    assert {name for name, _ in lines} == {p.name for p in WORKFLOWS}
    env = {**os.environ, "OUT": str(tmp_path), "EKS_CLUSTER_NAME": "shop-ci"}
    dry = f"make -n --no-print-directory -f {REPO / 'Makefile'} -C {REPO}"
    for name, line in lines:
        command = line.split("|")[0].strip().replace("make ", dry + " ", 1)
        done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{name}: {line}\n{done.stderr}"
        assert "shopctl" in done.stdout or "run_suites" in done.stdout, f"{name}: {line} runs nothing:\n{done.stdout}"


def test_a_make_line_naming_no_target_fails_the_dry_run() -> None:
    done = subprocess.run(["make", "-n", "-f", str(REPO / "Makefile"), "-C", str(REPO), "deploy-everything"],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode != 0 and "No rule to make target" in done.stderr


def test_the_workflows_pass_githubs_schema_and_zizmor() -> None:
    """What `make lint` runs on them: GitHub's workflow schema (check-jsonschema's own copy, offline) and
    zizmor's security audits (offline)."""
    bin_dir, folder = Path(sys.executable).parent, REPO / ".github" / "workflows"
    for argv in (
        [str(bin_dir / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        [str(bin_dir / "zizmor"), "--offline", "--no-progress", "--min-severity", "low", str(folder)],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{Path(argv[0]).name}: {done.stdout}{done.stderr}"
