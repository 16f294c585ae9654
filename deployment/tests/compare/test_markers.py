"""The questions the coupling analysis asks of a module (shopctl.compare.markers), on modules written here."""

from __future__ import annotations

from pathlib import Path

from shopctl.compare.markers import RUNTIME, dynamodb_lines, reads_environment
from shopctl.compare.source import SourceModule, read_module


def module(tmp_path: Path, code: str) -> SourceModule:
    path = tmp_path / "m.py"
    path.write_text(code)
    return read_module(tmp_path, path)


def test_reading_the_environment_is_found_however_it_is_imported(tmp_path: Path) -> None:
    assert reads_environment(module(tmp_path, "import os\nos.getenv('X')\n"))
    assert reads_environment(module(tmp_path, "from os import environ as env\nenv['X']\n"))
    assert not reads_environment(module(tmp_path, "import os\nos.path.join('a')\n# os.environ\n"))


def test_dynamodb_lines_are_its_api_and_its_wire_format(tmp_path: Path) -> None:
    code = "def put(client, item):\n    client.put_item(Item={'id': {'S': item}})\n    return 'S'\n"
    assert dynamodb_lines(module(tmp_path, code)) == {2, 3}  # put_item and the 'S' type tags
    assert dynamodb_lines(module(tmp_path, "def put(items):\n    items.append(1)\n")) == set()


def test_the_runtime_is_named_in_code_not_in_comments(tmp_path: Path) -> None:
    assert module(tmp_path, "if mode == 'x':  # RUNTIME\n    pass\n").matching(RUNTIME) == []
    assert module(tmp_path, "RUNTIME = 'ECS'\n").matching(RUNTIME)
