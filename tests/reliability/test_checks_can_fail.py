"""The verdicts of the fuzz and fault checks, fed answers that must fail them: a check that cannot fail
proves nothing."""

from __future__ import annotations

import httpx

from shopctl.verify import faults, fuzz


def test_only_a_503_with_numeric_retry_after_and_json_detail_counts_as_unavailable():
    good = httpx.Response(503, headers={"retry-after": "1"}, json={"detail": "later"})
    assert faults.unavailable_problem(good) is None
    assert "HTTP 500" in faults.unavailable_problem(httpx.Response(500, json={"detail": "boom"}))
    assert "Retry-After" in faults.unavailable_problem(httpx.Response(503, json={"detail": "later"}))
    assert "detail" in faults.unavailable_problem(httpx.Response(503, headers={"retry-after": "1"}, text="x"))


def test_the_data_check_finds_unacknowledged_missing_and_altered_items():
    user = {"id": "u1", "name": "Ada", "email": "ada@example.com", "created_at": "t"}
    ledger = fuzz.Ledger(users={"u1": user})
    empty = {"users": {}, "orders": {}}
    assert list(fuzz.compare(empty, {"users": {"u1": dict(user)}, "orders": {}}, ledger)) == []
    ghost = {"users": {"u1": dict(user), "u2": {"id": "u2"}}, "orders": {}}
    assert any("no accepted request created" in p for p in fuzz.compare(empty, ghost, ledger))
    assert any("not stored" in p for p in fuzz.compare(empty, empty, ledger))
    altered = {"users": {"u1": {**user, "name": "Eve"}}, "orders": {}}
    assert any("differ from the 201" in p for p in fuzz.compare(empty, altered, ledger))


def test_a_schemathesis_failure_in_its_junit_report_is_named(tmp_path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="schemathesis">'
        '<testcase name="GET /users"/>'
        '<testcase name="POST /orders"><failure message="Undocumented status code&#10;Received: 400"/></testcase>'
        "</testsuite></testsuites>"
    )
    assert list(fuzz._junit_failures(report)) == ["POST /orders: Undocumented status code Received: 400"]
