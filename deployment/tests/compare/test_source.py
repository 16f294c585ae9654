"""How the analysis reads a module (shopctl.compare.source): code lines, imports and words, never comments or
docstrings, and tests left out — on a package written here."""

from __future__ import annotations

from pathlib import Path

from shopctl.compare.source import read_module, read_packages

MODULE = '''"""A docstring that names boto3 and RUNTIME."""

# a comment naming boto3
import os


def table():
    """Another docstring."""

    return os.environ["USERS_TABLE"]  # the only code that reads the environment
'''


def write_package(root: Path) -> Path:
    package = root / "shop"
    (package / "tests").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "config.py").write_text(MODULE)
    (package / "tests" / "test_config.py").write_text("import boto3\n")
    return package


def test_code_lines_leave_out_blank_lines_comments_and_docstrings(tmp_path: Path) -> None:
    module = read_module(tmp_path, write_package(tmp_path) / "config.py")
    assert module.name == "shop.config" and module.path == Path("shop/config.py")
    assert module.code_lines == frozenset({4, 7, 10})  # import os, def table():, return …
    assert module.imports_any(("boto3",)) == set()  # named in a comment and a docstring only
    words = {word.text for word in module.words}
    assert "USERS_TABLE" in words and "RUNTIME" not in words and "boto3" not in words


def test_tests_inside_a_package_are_not_read(tmp_path: Path) -> None:
    write_package(tmp_path)
    assert [m.name for m in read_packages(tmp_path, ["shop"])] == ["shop", "shop.config"]
