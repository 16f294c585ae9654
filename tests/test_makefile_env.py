"""The environment make gives its commands: Python may write bytecode even where the shell forbids it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_make_s_python_processes_write_bytecode_even_if_the_shell_says_not_to(tmp_path: Path) -> None:
    # The venv is installed without bytecode (pip --no-compile): with PYTHONDONTWRITEBYTECODE set, every
    # process would compile each module it imports from source, every time.
    probe = f"probe: ; @{sys.executable} -c 'import sys; print(sys.flags.dont_write_bytecode)'"
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", str(REPO / "Makefile"), "-C", str(tmp_path), "--eval", probe, "probe"],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, check=True, capture_output=True, text=True,
    )
    assert result.stdout.strip() == "0"
