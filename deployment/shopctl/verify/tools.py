"""Tools that do not fit in the project's virtualenv, each in its own virtualenv under build/tools/.

- checkov (the policy scanner of `make verify`, and of `make test`) pins boto3/botocore (and packaging,
  networkx…) below what the project uses, so installing it into .venv would downgrade the SDK the apps and
  the deploy code run on (`pip install --dry-run checkov` shows it). Its own dependencies are locked too,
  in lock/checkov.txt.
- uv produces the lock files (`make lock`); nothing else uses it.

Each is created on first use — by the first check, test or make target that needs it — and reused while
its version (pinned in pyproject.toml's [tool.shopctl.tools]) and its lock file are unchanged.

    python -m shopctl.verify.tools checkov      (what `make test` runs before the suites)
    python -m shopctl.verify.tools uv           (what `make lock` runs; prints uv's path)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
import venv
from collections.abc import Callable
from pathlib import Path

from shopctl.errors import ShopctlError
from shopctl.paths import REPO_ROOT
from shopctl.wheelhouse import check as check_wheelhouse

TOOLS_DIR = REPO_ROOT / "build" / "tools"
LOCK_DIR = REPO_ROOT / "lock"
# What each tool is for, in its progress line.
WHY = {
    "checkov": "its own virtualenv: it pins boto3 below the project's",
    "uv": "it writes the lock files",
}


def pinned(tool: str) -> str:
    """The tool's version, pinned in pyproject.toml's [tool.shopctl.tools]."""
    with (REPO_ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["tool"]["shopctl"]["tools"][tool]


CHECKOV_VERSION = pinned("checkov")


def _bin(env: Path, name: str) -> Path:
    return env / ("Scripts" if sys.platform == "win32" else "bin") / name


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def install(tool: str, *, say: Callable[[str], None] = _stderr) -> Path:
    """The tool's executable, installed into build/tools/<tool>-<version>/ if not there yet."""
    if tool not in WHY:
        raise ShopctlError(f"unknown tool {tool!r}", f"the tools are: {', '.join(WHY)}")
    version = pinned(tool)
    env = TOOLS_DIR / f"{tool}-{version}"
    binary = _bin(env, tool)
    lock = LOCK_DIR / f"{tool}.txt"
    # The stamp names the lock's content: a regenerated lock reinstalls the tool.
    wanted = f"{version} {hashlib.sha256(lock.read_bytes()).hexdigest() if lock.exists() else '-'}\n"
    stamp = env / ".installed"
    if binary.exists() and stamp.exists() and stamp.read_text() == wanted:
        return binary
    # WHEELHOUSE (make passes it on): install from that folder with no index at all. uv has no lock file and
    # no place in a wheelhouse: only `make lock` uses it, which needs the index anyway.
    wheelhouse = os.environ.get("WHEELHOUSE", "") if lock.exists() else ""
    if wheelhouse:
        check_wheelhouse(Path(wheelhouse), tool)
    source = ["--no-index", "--find-links", str(Path(wheelhouse).resolve())] if wheelhouse else []
    say(f"… installing {tool} {version} into {env.relative_to(REPO_ROOT)} (once, about a minute; {WHY[tool]})")
    venv.EnvBuilder(with_pip=True, clear=True).create(env)
    constraints = ["-c", str(lock)] if lock.exists() else []
    done = subprocess.run(
        [str(_bin(env, "python")), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *source,
         f"{tool}=={version}", *constraints],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if done.returncode != 0 or not binary.exists():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ShopctlError(
            f"could not install {tool} {version}: {last}",
            f"is lock/{tool}.txt in {wheelhouse}? (make wheelhouse DEV=1 puts it there)"
            if wheelhouse
            else "check your network / PyPI access, then run the same command again",
        )
    stamp.write_text(wanted)
    say(f"✓ {tool} {version} ready")
    return binary


def checkov(*, say: Callable[[str], None] = _stderr) -> Path:
    """The checkov executable (installed on first use)."""
    return install("checkov", say=say)


def main(argv: list[str] | None = None) -> int:
    names = argv if argv is not None else sys.argv[1:]
    try:
        for name in names or ["checkov"]:
            binary = install(name)
            if name == "uv":
                print(binary)
    except ShopctlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
