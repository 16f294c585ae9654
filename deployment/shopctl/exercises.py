"""The notebooks' exercise checkers: the learner's code, put through the same cases as the real code's tests.

`check_eks_config_adapter(cls)` (notebook 03) takes the learner's EKS config adapter — a class
implementing the clean stage's `ConfigPort` that reads a JSON file mounted from a ConfigMap — and runs
it through the cases of 03-clean-architecture/tests/integration/test_eks_config.py, the tests of the
real `EKSConfigAdapter`: a file written the way the deploy code writes the ConfigMap, a missing file,
missing keys, a wrong type, broken JSON, bytes that are not text. Then it plugs the class into the
composition root's `repositories_for()` the way bootstrap.py would. Every case is reported; any
failure raises `ExerciseFailed` naming the failed cases.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopctl.resources import write_config_file


class ExerciseFailed(AssertionError):
    """The learner's solution does not pass every case yet (the message lists which)."""


@dataclass(frozen=True)
class CaseResult:
    case: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Report:
    exercise: str
    results: list[CaseResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def markdown(self) -> str:
        from shopctl.workshop import markdown_table

        rows = [("✅" if r.passed else "❌", r.case, r.detail) for r in self.results]
        verdict = "all cases pass 🎉" if self.passed else f"{sum(not r.passed for r in self.results)} case(s) fail"
        return f"**{self.exercise}: {verdict}**\n\n" + markdown_table(["", "case", "detail"], rows)

    def _repr_markdown_(self) -> str:
        return self.markdown()


# The malformed files of test_eks_config.py, and what the ConfigurationError must say about each.
MALFORMED: list[tuple[str, str | bytes, str]] = [
    ("the orders key is missing", '{"users": {"table": "u-t"}}', "'orders/table' not found"),
    ("orders is not an object", '{"orders": "flat"}', "'orders/table' not found"),
    ("the table name is not a string", '{"orders": {"table": 42}}', "non-empty string"),
    ("the file is not JSON", "not json", "not valid JSON"),
    ("the file is not even text", b"\xff\xfe", "not valid JSON"),
]


def _expect_configuration_error(action: Callable[[], Any], message: str) -> tuple[bool, str]:
    from clean_shop.application.errors import ConfigurationError

    try:
        value = action()
    except ConfigurationError as error:
        if re.search(message, str(error)):
            return True, f"ConfigurationError: {error}"
        return False, f"ConfigurationError, but its message {str(error)!r} does not mention {message!r}"
    except Exception as error:  # the learner's code may raise anything: report it, do not crash the check
        return False, f"raised {type(error).__name__}: {error} — expected ConfigurationError mentioning {message!r}"
    return False, f"returned {value!r} — expected ConfigurationError mentioning {message!r}"


def _run(case: str, body: Callable[[], tuple[bool, str]]) -> CaseResult:
    try:
        passed, detail = body()
    except Exception as error:
        passed, detail = False, f"raised {type(error).__name__}: {error}"
    return CaseResult(case, passed, detail)


def eks_config_cases(adapter: type) -> list[CaseResult]:
    from clean_shop.application.ports import ConfigPort
    from clean_shop.bootstrap import repositories_for

    results: list[CaseResult] = []
    if not (isinstance(adapter, type) and issubclass(adapter, ConfigPort)):
        return [CaseResult("implements ConfigPort", False, f"{adapter!r} is not a subclass of ConfigPort")]
    results.append(CaseResult("implements ConfigPort", True, f"class {adapter.__name__}(ConfigPort)"))

    with tempfile.TemporaryDirectory(prefix="shop-exercise-") as scratch:
        tmp = Path(scratch)

        def reads_nested_keys() -> tuple[bool, str]:
            path = write_config_file(tmp / "mounted" / "config.json", {"users/table": "u-t", "orders/table": "o-t"})
            config = adapter(path)
            got = (config.get_table_name("users"), config.get("orders/table"))
            return got == ("u-t", "o-t"), f"get_table_name('users'), get('orders/table') -> {got!r}"

        results.append(_run("reads nested keys from the mounted file", reads_nested_keys))
        absent = tmp / "absent.json"
        results.append(
            _run(
                "a missing file is a ConfigurationError naming it",
                lambda: _expect_configuration_error(lambda: adapter(absent).get("users/table"), "not found"),
            )
        )
        for number, (case, content, message) in enumerate(MALFORMED):
            path = tmp / f"malformed-{number}.json"
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
            results.append(
                _run(
                    f"{case}: ConfigurationError",
                    lambda path=path, message=message: _expect_configuration_error(
                        lambda: adapter(path).get_table_name("orders"), message
                    ),
                )
            )

        def plugs_into_the_composition_root() -> tuple[bool, str]:
            path = write_config_file(tmp / "wired" / "config.json", {"users/table": "u-t", "orders/table": "o-t"})
            users, orders = repositories_for("sqlite", adapter(path), str(tmp / "shop.db"))
            return True, f"repositories_for('sqlite', …) built {type(users).__name__}, {type(orders).__name__}"

        results.append(_run("plugs into bootstrap.repositories_for()", plugs_into_the_composition_root))
    return results


def check_eks_config_adapter(adapter: type) -> Report:
    """Run the cases; raise ExerciseFailed if any fails (the notebook shows the report either way)."""
    report = Report("EKS config adapter", eks_config_cases(adapter))
    if not report.passed:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            get_ipython = None
        if get_ipython is not None and get_ipython() is not None:  # in a notebook: the table, then the error
            display(report)
        failed = [r.case for r in report.results if not r.passed]
        raise ExerciseFailed(f"{len(failed)} of {len(report.results)} cases fail: " + "; ".join(failed))
    return report
