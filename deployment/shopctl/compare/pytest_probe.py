"""A pytest plugin for `make compare`'s test-cost section: which tests needed an AWS emulator.

Loaded with `-p shopctl.compare.pytest_probe` and SHOP_COMPARE_PROBE=<file>. For every test that runs it
records whether the test's fixture closure contains an AWS emulator — `local_aws` (moto in server mode,
the root conftest.py) or `aws` (moto in-process, mock_aws, the deploy-code tests) — and writes the
tally as JSON at the end of the session. Read from pytest's own fixture resolution, not from file names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

EMULATOR_FIXTURES = {"local_aws": "moto server", "aws": "moto in-process (mock_aws)"}
_seen: dict[str, list[str]] = {}


def pytest_runtest_setup(item: pytest.Item) -> None:
    names = set(getattr(item, "fixturenames", ()))
    _seen[item.nodeid] = sorted(EMULATOR_FIXTURES[name] for name in names & set(EMULATOR_FIXTURES))


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("SHOP_COMPARE_PROBE")
    if not target:
        return
    emulators = sorted({e for found in _seen.values() for e in found})
    Path(target).write_text(
        json.dumps(
            {
                "tests_run": len(_seen),
                "tests_with_emulator": sum(1 for found in _seen.values() if found),
                "emulators": emulators,
            }
        )
    )
