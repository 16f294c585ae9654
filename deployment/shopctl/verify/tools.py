"""Scanners that do not fit in the project's virtualenv, each in its own virtualenv under build/tools/.

checkov pins boto3/botocore (and packaging, networkx…) below what the project uses, so installing it
into .venv would downgrade the SDK the apps and the deploy code run on (`pip install --dry-run checkov`
shows it). It gets an isolated virtualenv instead, created on first use — by `make venv`, or by the
first check or test that needs it — and reused while the version pinned in pyproject.toml
([tool.shopctl.tools]) is unchanged.

    python -m shopctl.verify.tools checkov      (what `make venv` runs)
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import venv
from pathlib import Path

from shopctl.errors import ShopctlError
from shopctl.paths import REPO_ROOT

TOOLS_DIR = REPO_ROOT / "build" / "tools"


def pinned(tool: str) -> str:
    """The tool's version, pinned in pyproject.toml's [tool.shopctl.tools] (so `make venv` re-runs on a change)."""
    with (REPO_ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["tool"]["shopctl"]["tools"][tool]


CHECKOV_VERSION = pinned("checkov")


def _bin(env: Path, name: str) -> Path:
    return env / ("Scripts" if sys.platform == "win32" else "bin") / name


def checkov(*, say=lambda line: print(line, file=sys.stderr, flush=True)) -> Path:
    """The checkov executable, installed into build/tools/checkov-<version>/ if not there yet."""
    env = TOOLS_DIR / f"checkov-{CHECKOV_VERSION}"
    binary = _bin(env, "checkov")
    stamp = env / ".installed"
    if stamp.exists() and binary.exists():
        return binary
    say(
        f"… installing checkov {CHECKOV_VERSION} into {env.relative_to(REPO_ROOT)} "
        "(once, about a minute; its own virtualenv: it pins boto3 below the project's)"
    )
    venv.EnvBuilder(with_pip=True, clear=True).create(env)
    done = subprocess.run(
        [str(_bin(env, "python")), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         f"checkov=={CHECKOV_VERSION}"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if done.returncode != 0 or not binary.exists():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ShopctlError(
            f"could not install checkov {CHECKOV_VERSION}: {last}",
            "check your network / PyPI access, then run `make venv` again",
        )
    stamp.write_text(CHECKOV_VERSION + "\n")
    say(f"✓ checkov {CHECKOV_VERSION} ready")
    return binary


def main(argv: list[str] | None = None) -> int:
    names = argv if argv is not None else sys.argv[1:]
    try:
        for name in names or ["checkov"]:
            if name != "checkov":
                raise ShopctlError(f"unknown tool {name!r}", "the tools are: checkov")
            checkov()
    except ShopctlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
