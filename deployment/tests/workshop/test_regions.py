"""shopctl.workshop.regions: how a file is cut into top-level definitions, spliced, and shared out between
the exercises that own parts of it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shopctl.workshop import regions

HEAD = '''"""A module."""

import os
from typing import Any

RUNTIMES = ("LAMBDA", "ECS")


# why setting exists
def setting(key: str) -> str:
    return os.environ[key]


@decorated
def route() -> Any:
    return setting("x")
'''


def test_a_file_is_cut_into_its_top_level_definitions_with_decorators_and_comments() -> None:
    found = regions.units(HEAD)
    assert list(found) == [
        'line: """A module."""',
        "import os",
        "from typing",
        "RUNTIMES",
        "setting",
        "route",
    ]
    assert found["setting"].text.startswith("# why setting exists\ndef setting")
    assert found["route"].text.startswith("@decorated\ndef route")


def test_a_file_that_does_not_parse_is_cut_at_the_same_definitions() -> None:
    broken = HEAD.replace("def setting(key: str) -> str:", "def setting(key: str) -> str\n    if x")
    with pytest.raises(SyntaxError):
        compile(broken, "x.py", "exec")
    found = regions.units(broken)
    keys = [k for k in found if not k.startswith("line:")]
    assert keys == ["import os", "from typing", "RUNTIMES", "setting", "route"]
    assert "if x" in found["setting"].text and found["route"].text.startswith("@decorated\ndef route")


def test_splice_replaces_adds_and_removes_definitions_and_undoes_itself() -> None:
    work = HEAD.replace('"ECS")', '"ECS", "EKS")').replace(
        "\n\n@decorated", "\n\ndef helper() -> int:\n    return 1\n\n\n@decorated"
    )
    changed = {"RUNTIMES", "helper"}
    assert regions.splice(HEAD, work, changed) == work  # HEAD + the changed definitions = the working file
    assert regions.splice(work, HEAD, changed) == HEAD  # … and back: what a reset does
    # Only some of them: the others stay as the base has them.
    only_helper = regions.splice(HEAD, work, {"helper"})
    assert "def helper" in only_helper and '"EKS"' not in only_helper


def test_removing_an_added_import_keeps_the_blank_lines_between_import_groups() -> None:
    work = HEAD.replace("from typing import Any\n", "from typing import Any\n\nfrom shop import extra\nimport zz\n")
    head = HEAD.replace("from typing import Any\n", "from typing import Any\n\nimport zz\n")
    assert regions.splice(work, head, {"from shop"}) == head


def _claims(**text: str) -> dict[str, regions.Claim]:
    return {name: regions.read_claims(body)["m.py"] for name, body in text.items()}


def test_an_added_definition_belongs_to_the_exercise_whose_definition_uses_it(tmp_path: Path) -> None:
    _repo(tmp_path, HEAD)
    work = HEAD.replace("    return os.environ[key]", "    return _from_json(key)") + (
        "\n\ndef _from_json(key: str) -> str:\n    return key\n"
        "\n\n@app.post('/cancel')\ndef cancel() -> None:\n    pass\n"
    )
    (tmp_path / "m.py").write_text(work)
    parts = regions.file_parts(tmp_path, "m.py", _claims(runtime="m.py :: RUNTIMES, setting", cancel="m.py :: +"))
    assert parts.changed == {"setting", "_from_json", "cancel"}
    assert parts.owners["_from_json"] == {"runtime"}  # setting() calls it
    assert parts.owners["cancel"] == {"cancel"}  # nobody's definition uses it: the file's additions


def _repo(root: Path, text: str) -> None:
    (root / "m.py").write_text(text)
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x"]):
        subprocess.run(["git", *command], cwd=root, check=True, capture_output=True)


def test_a_shared_definition_is_the_work_of_the_exercise_that_has_work_of_its_own(tmp_path: Path) -> None:
    _repo(tmp_path, HEAD)
    claims = {
        "runtime": {"m.py": regions.Claim("m.py", frozenset({"RUNTIMES", "setting"}))},
        "cache": {"m.py": regions.Claim("m.py", frozenset({"setting"}))},
    }
    # Only the shared setting() changed: it counts for both, neither has anything else to show.
    (tmp_path / "m.py").write_text(HEAD.replace("os.environ[key]", "os.environ.get(key, '')"))
    tree = regions.Tree.read(tmp_path, claims)
    assert tree.started("runtime") and tree.started("cache") and not tree.conflicts("cache")
    # RUNTIMES changed as well: the runtime exercise is under way, the shared change is (also) its work.
    (tmp_path / "m.py").write_text(
        HEAD.replace("os.environ[key]", "os.environ.get(key, '')").replace('"ECS")', '"ECS", "EKS")')
    )
    tree = regions.Tree.read(tmp_path, claims)
    assert tree.started("runtime") and not tree.started("cache")
    assert tree.conflicts("cache") == [("m.py", "setting", "runtime")]
    assert tree.conflicts("runtime") == []  # the cache exercise has no work of its own to lose


def test_claims_are_read_per_path_whole_files_definitions_and_additions() -> None:
    claims = regions.read_claims("# a comment\na.py\nb.py :: one, two  # why\nb.py :: +\n")
    assert claims["a.py"].whole
    assert claims["b.py"] == regions.Claim("b.py", frozenset({"one", "two"}), additions=True)
