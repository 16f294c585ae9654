"""What the workshop notebooks (notebooks/*.ipynb) call: everything a notebook does lives in project code,
so a notebook stays a guided sequence of calls — and what it shows is what `make` and the tests run.

- `Session` (session.py): one notebook's private corner of the machine — its own run directory
  (SHOP_RUN_DIR) and, when asked, its own local AWS on a free port, so a notebook never collides with
  `make local-aws`, `make deploy` or the tests. Whatever the notebook starts is registered with the session
  and stopped by `session.close()` (the cleanup cell), or at the latest when the kernel shuts down.
- `table()` / `code()` / `responses_table()` (display.py): results as Markdown instead of walls of JSON.
- `environment_checks()` / `tests_using()` (checks.py): notebook 00's "is everything ready?" list, each
  failure with a hint; which tests of a folder need a given pytest fixture.
- `impact_chart()` / `invocations_chart()` (charts.py): the charts of notebooks 04 and 05.
- The exercises: `shopctl.workshop.exercises` (what each owns: `regions`; the checkers: `exercise_checks`).
"""

from shopctl.workshop.charts import impact_chart, invocations_chart
from shopctl.workshop.checks import VENV_MARKER, Check, TestUsage, environment_checks, require, tests_using
from shopctl.workshop.display import code, markdown_table, responses_table, table
from shopctl.workshop.session import SESSION_ROOT_ENV, Session, environment

__all__ = [
    "SESSION_ROOT_ENV",
    "VENV_MARKER",
    "Check",
    "Session",
    "TestUsage",
    "code",
    "environment",
    "environment_checks",
    "impact_chart",
    "invocations_chart",
    "markdown_table",
    "require",
    "responses_table",
    "table",
    "tests_using",
]
