"""What a change touches (shopctl.compare.impact), on a module written here: adding a runtime edits the
branches that name one, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopctl.compare import impact
from shopctl.compare.source import read_module

CONFIG = '''import os

RUNTIME = os.environ["RUNTIME"]


def table_name():
    if RUNTIME == "EKS":
        return open("/config/table").read()
    return os.environ["USERS_TABLE"]


def greeting():
    return "hello"
'''


def test_a_runtime_change_edits_the_branch_that_names_it(tmp_path: Path) -> None:
    path = tmp_path / "config.py"
    path.write_text(CONFIG)
    change = impact.runtime_change([read_module(tmp_path, path)], "EKS")
    [edited] = change["files"]
    assert edited["path"] == "config.py" and edited["change"] == "edited"
    assert edited["units"] == ['RUNTIME == "EKS" in table_name() (2 lines)']
    assert edited["lines"] == 2  # the if and its body; greeting() is untouched
    assert change["edited_files"] == 1 and change["new_files"] == 0
    assert impact.runtime_change([read_module(tmp_path, path)], "ECS")["files"] == []  # no ECS branch here
    with pytest.raises(ValueError):
        impact.runtime_change([], "NOMAD")
