"""The load check, reduced: real concurrent clients in a separate process against a stage served
locally, then the tables are read back. Figures are reported by `make verify`, never asserted here."""

from __future__ import annotations

import pytest

from shopctl.verify import load
from shopctl.verify.result import Result


@pytest.mark.e2e
@pytest.mark.parametrize("stage", sorted(load.ATOMIC_USER_CHECK))
def test_a_stage_that_writes_order_and_user_check_as_one_unit_loses_nothing_and_orphans_nothing(
    local_aws, stage: str
) -> None:
    """The monolith (a transaction with a condition check on the user) and the clean stage (its unit of work,
    the same transaction in its DynamoDB adapter): under racing deletes no order may be written after its
    user is gone. (That the local AWS keeps the transaction's isolation under concurrency is tested in
    deployment/tests/local/test_moto_server.py.)"""
    (result,) = load.run(stage, "local", reduced=True)
    assert result.ok, result.failures
    sizes = load.REDUCED
    assert result.tried >= sizes["users"] * (2 + 2 * sizes["orders"]) + 3 * sizes["races"]
    assert result.figures["races"] == sizes["races"]
    assert result.figures["race_201"] + result.figures["race_404"] == sizes["races"]
    assert result.figures["orphans"] == 0
    assert result.figures["p99_ms"] >= result.figures["p50_ms"] > 0


def _check(writes, stored, deleted=frozenset()) -> Result:
    result = Result("load", "clean", "local")
    load.check_writes(result, writes, stored, set(deleted))
    return result


def test_check_writes_finds_lost_duplicated_and_refused_but_stored_writes() -> None:
    ok = {"kind": "user", "marker": "a@x.io", "status": 201, "id": "1"}
    assert _check([ok], {"a@x.io": [{"id": "1"}]}).ok
    assert "stored 0 times" in _check([ok], {}).failures[0]
    assert "stored 2 times" in _check([ok], {"a@x.io": [{"id": "1"}, {"id": "2"}]}).failures[0]
    assert "stored as 9" in _check([ok], {"a@x.io": [{"id": "9"}]}).failures[0]
    refused = {"kind": "order", "marker": "mug", "status": 404, "id": None}
    assert _check([refused], {}).ok
    assert "answered 404, yet stored" in _check([refused], {"mug": [{"id": "3"}]}).failures[0]
    assert "deletion answered 204" in _check([ok], {"a@x.io": [{"id": "1"}]}, deleted={"1"}).failures[0]
    assert _check([ok], {}, deleted={"1"}).ok
