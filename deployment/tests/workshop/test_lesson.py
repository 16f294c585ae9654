"""shopctl.workshop.lesson: notebook 05's table counts the lesson exercise's own change, whatever else the tree
holds, and says which existing definitions it opened and what depends on them (callers.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shopctl.compare.source import read_packages
from shopctl.paths import REPO_ROOT
from shopctl.workshop import exercises, lesson, regions
from shopctl.workshop.callers import CallGraph

GIT_USER = ["-c", "user.email=t@t", "-c", "user.name=t"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding HEAD's files, whatever the working tree holds."""
    root = tmp_path_factory.mktemp("head") / "repo"
    root.mkdir()
    regions.export_head(REPO_ROOT, root)
    for command in (["init", "-q"], ["add", "-A"], [*GIT_USER, "commit", "-qm", "HEAD"]):
        subprocess.run(["git", *command], cwd=root, check=True, capture_output=True)
    return root


def _solved(pristine: Path, into: Path, *names: str) -> Path:
    subprocess.run(["git", "clone", "-q", str(pristine), str(into)], check=True, capture_output=True)
    for name in names:
        subprocess.run(["git", "apply", "-"], cwd=into, input=exercises.get(name).patch(), text=True, check=True)
    return into


def test_the_figures_are_the_lesson_s_own_change_whatever_else_the_tree_holds(pristine: Path, tmp_path: Path) -> None:
    alone = _solved(pristine, tmp_path / "alone", "fourth-runtime")
    # cancel-order also edits main.py; cached-config also rewrites config_for(), moving its ladder (with the
    # APPRUNNER branch in it) into a new function.
    crowded = _solved(pristine, tmp_path / "crowded", "cancel-order", "cached-config", "fourth-runtime")
    mine = lesson.my_change(alone)
    assert lesson.my_change(crowded) == mine
    assert all(change.lines > 0 for change in mine.values())
    # Opened: the monolith's setting(), each service's setting(), the clean composition root's config_for().
    opened = {stage: [(o.definition, o.file.rsplit("/", 1)[-1]) for o in c.opened] for stage, c in mine.items()}
    assert opened == {
        "monolith": [("setting()", "main.py")],
        "microservices": [("setting()", "config.py")] * 2,
        "clean": [("config_for()", "bootstrap.py")],
    }
    # The clean stage's new adapter is an added definition, not an opened one.
    clean = {f.file.rsplit("/", 1)[-1]: f for f in mine["clean"].files}
    assert clean["config.py"].definitions == ["class AppRunnerConfigAdapter"] and not clean["config.py"].opened
    # The other exercises' work in those files is there, and not counted.
    crowded_main = (crowded / "01-monolith/monolith/main.py").read_text()
    assert "cancel" in crowded_main.lower() and "cancel" not in (alone / "01-monolith/monolith/main.py").read_text()


def test_what_depends_on_the_opened_definitions(pristine: Path, tmp_path: Path) -> None:
    table = lesson.lesson(_solved(pristine, tmp_path / "solved", "fourth-runtime"))
    [monolith] = table.stages["monolith"].opened
    [clean] = table.stages["clean"].opened
    # The monolith's setting() is called by the business functions, and most routes reach it through them.
    assert {"main.create_user", "main.get_order"} <= set(monolith.callers)
    assert 0 < monolith.routes < monolith.all_routes and monolith.dependents > len(monolith.callers)
    # The clean stage's config_for() is called by the composition root alone; no route reaches it.
    assert clean.callers == ["bootstrap.bootstrap"] and clean.routes == 0 and clean.all_routes > 0
    for users_or_orders in table.stages["microservices"].opened:
        assert len(users_or_orders.callers) == 1 and users_or_orders.routes > 0
    # Beside make compare's prediction, which names the same definitions from HEAD's code.
    assert table.predicted["monolith"].opened == ["`setting` in monolith/main.py"]
    assert table.predicted["clean"].opened == ["`config_for` in clean_shop/bootstrap.py"]
    markdown = table.table().markdown
    for unit in ("lines", "definitions", "callers", "routes"):
        assert unit in markdown.split("\n", 1)[0], f"the header does not name {unit}"
    assert "0 of 9 routes" in markdown and "called by 1 definition (bootstrap.bootstrap)" in markdown


def test_nothing_yet_is_said_so(pristine: Path) -> None:
    mine = lesson.my_change(pristine)
    assert all(not c.files and not c.opened and c.lines == 0 for c in mine.values())
    assert lesson.Lesson("fourth-runtime", mine, {}).findings() == [
        f"{stage}: no change of yours yet." for stage in lesson.STAGE_FOLDERS
    ]


def test_a_line_inside_a_function_opens_it_a_new_function_beside_it_does_not(pristine: Path, tmp_path: Path) -> None:
    root = _solved(pristine, tmp_path / "edited")
    main = root / "01-monolith/monolith/main.py"
    text = main.read_text()
    head = "@cache\ndef setting(key: str) -> str:\n"
    docstring = text[text.index(head) + len(head) :].split("\n", 1)[0] + "\n"
    # A helper above setting() (fourth-runtime's: setting() uses it), and one line inside setting() calling it.
    text = text.replace(head, "def _shop_config() -> str:\n    return 'SHOP_CONFIG'\n\n\n" + head, 1)
    text = text.replace(head + docstring, head + docstring + "    _shop_config()\n", 1)
    main.write_text(text)
    [change] = lesson.my_change(root)["monolith"].files
    assert change.opened == ["setting()"]
    assert change.definitions == ["_shop_config()", "setting()"] and change.lines == 3


def test_the_call_graph_follows_imports_and_module_aliases(tmp_path: Path) -> None:
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "config.py").write_text("def setting(key):\n    return key\n\n\ndef table():\n    return setting('t')\n")
    (package / "store.py").write_text(
        "from shop.config import table\n\n\ndef save(item):\n    return table(), item\n\n\n"
        "def other(obj):\n    return obj.table()\n"  # a method of some object: not followed
    )
    (package / "routes.py").write_text(
        "from shop import store\n\n\n@router.post('/items')\ndef create(item):\n    return store.save(item)\n\n\n"
        "@router.get('/health')\ndef health():\n    return 'ok'\n"
    )
    graph = CallGraph.of(read_packages(tmp_path, ["shop"]))
    found = graph.dependents("shop.config", "setting")
    assert found.callers == ["config.table"]
    assert found.dependents == ["config.table", "routes.create", "store.save"]
    assert found.routes == ["routes.create"] and found.all_routes == 2
    assert graph.dependents("shop.store", "other").callers == []


def test_the_diff_command_prints_the_figures_or_names_a_bad_exercise(capsys: pytest.CaptureFixture[str]) -> None:
    assert exercises.main(["diff", "no-such-exercise"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == "error: no exercise 'no-such-exercise'" and err[1].strip().startswith("hint:")
