"""`make test`'s runner (tests/run_suites.py): the shards that serve nothing yield the CPU to those that do."""

from __future__ import annotations

import os
import subprocess
import sys

from tests import run_suites


def test_the_shards_that_serve_nothing_run_at_a_lower_priority_than_those_that_do() -> None:
    served = set(run_suites.SHARDS) - run_suites.BATCH
    assert not run_suites.BATCH - set(run_suites.SHARDS)  # every name is a shard
    assert {"main", "deployed", "workshop"} <= served
    niceness = subprocess.run(
        [sys.executable, "-c", "import os; print(os.nice(0))"],
        preexec_fn=run_suites.lower_priority,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert int(niceness) == min(os.nice(0) + 10, 19)  # and what the shard starts inherits it
