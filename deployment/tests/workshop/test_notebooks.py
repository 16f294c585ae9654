"""shopctl.workshop.notebooks: the runner's notebook handling (stripping, solutions, picking)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from shopctl.errors import ShopctlError
from shopctl.workshop import notebooks


def _notebook(tmp_path: Path, *cells) -> Path:
    path = tmp_path / "99-test.ipynb"
    nbformat.write(new_notebook(cells=list(cells)), path)
    return path


def test_strip_removes_outputs_and_execution_counts(tmp_path: Path) -> None:
    cell = new_code_cell("print(1)", execution_count=3, outputs=[new_output("stream", name="stdout", text="1\n")])
    path = _notebook(tmp_path, new_markdown_cell("# t"), cell)
    assert notebooks.stored_outputs(path) == ["cell 1: outputs", "cell 1: execution_count 3"]
    assert notebooks.strip(path) is True
    assert notebooks.stored_outputs(path) == []
    assert notebooks.strip(path) is False  # already clean: the file is left alone


def test_with_solutions_puts_each_reference_solution_into_its_exercise_cell(tmp_path: Path) -> None:
    exercise = new_code_cell("raise NotImplementedError", metadata={"tags": ["exercise"]})
    reference = "<details>\n\n```python\nanswer = 42\n```\n</details>"
    solution = new_markdown_cell(reference, metadata={"tags": ["solution"]})
    nb = notebooks.read(_notebook(tmp_path, exercise, new_code_cell("assert answer == 42"), solution))
    assert notebooks.with_solutions(nb).cells[0].source == "answer = 42\n"


def test_an_exercise_without_its_solution_is_a_clear_error(tmp_path: Path) -> None:
    nb = notebooks.read(_notebook(tmp_path, new_code_cell("pass", metadata={"tags": ["exercise"]})))
    with pytest.raises(ShopctlError, match="1 exercise cell"):
        notebooks.with_solutions(nb)


def test_picking_an_unknown_notebook_fails_with_one_line_and_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert notebooks.main(["run", "--no-html", "no-such-notebook"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no notebook matches no-such-notebook\n  hint: ")


def test_notebooks_are_picked_by_number_or_name() -> None:
    assert [p.stem for p in notebooks.notebook_paths(["00", "05-compare"])] == ["00-welcome", "05-compare"]
