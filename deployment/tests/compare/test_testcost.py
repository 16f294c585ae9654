"""A test tier run and timed (shopctl.compare.testcost), and which of its tests needed an AWS emulator
(shopctl.compare.pytest_probe): a two-test tier written here, one test using an emulator fixture."""

from __future__ import annotations

from pathlib import Path

from shopctl.compare import pytest_probe, testcost

TIER = '''import pytest


@pytest.fixture
def local_aws():  # the emulator fixture's name, as the root conftest.py spells it
    return None


def test_with_the_emulator(local_aws):
    assert local_aws is None


def test_without_one():
    assert True
'''


def test_a_tier_is_counted_timed_and_probed_for_emulators(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_tier.py").write_text(TIER)
    says: list[str] = []
    result = testcost.measure((testcost.Tier("clean", "unit", str(suite)),), tmp_path / "work", say=says.append)
    [tier] = result["tiers"]
    assert (tier["tests"], tier["passed"], tier["failed"]) == (2, 2, 0)
    assert tier["tests_with_emulator"] == 1 and tier["needs_emulator"]
    assert tier["emulators"] == [pytest_probe.EMULATOR_FIXTURES["local_aws"]]
    assert tier["wall_s"] > tier["in_tests_s"] >= 0  # the wall time includes pytest's own start
    assert tier["per_test_ms"] == round(tier["wall_s"] / 2 * 1000, 1)
    assert result["stages"]["clean"]["tests"] == 2 and "2 tests" in says[-1]


def test_junit_counts_add_up_over_suites(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite tests="3" failures="1" errors="0" skipped="1" time="0.5"/>'
        '<testsuite tests="2" failures="0" errors="1" skipped="0" time="0.25"/></testsuites>'
    )
    assert testcost.parse_junit(junit) == {"tests": 5, "failures": 1, "errors": 1, "skipped": 1, "time_s": 0.75}
