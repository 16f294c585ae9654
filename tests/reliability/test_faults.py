"""The fault checks of `make verify` (`shopctl.verify.faults`), reduced, on the stages as `make run` serves
them: DynamoDB throttled and dropping connections (through `shopctl.local.faultproxy`), the microservices'
users-service down or not answering, and every process started with broken configuration."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from shopctl.stages import STAGES
from shopctl.verify import faults

pytestmark = pytest.mark.e2e  # starts stage processes, a fault proxy and deliberately broken processes


def test_dynamodb_throttled_or_unreachable_is_a_503_with_retry_after_nothing_partial_and_recovery(
    local_aws, tmp_path
):
    # The three stages side by side: most of the time is spent starting processes and waiting on retries.
    modes = {"monolith": ("throttle",), "microservices": ("drop",), "clean": ("throttle", "drop")}
    with ThreadPoolExecutor(len(STAGES)) as pool:
        running = {
            stage: pool.submit(faults.dynamodb_faults, stage, "local", modes[stage], tmp_path / stage, reads=False)
            for stage in STAGES
        }
        results = {stage: future.result() for stage, future in running.items()}
    for stage, result in results.items():
        assert result.ok, f"{stage}: " + "\n".join(result.failures)
        assert result.tried == len(modes[stage]) * (2 + 2)  # per mode: two writes, the table check, recovery
        assert result.figures["faulted_dynamodb_calls"] > 0


def test_orders_service_with_a_silent_users_service_is_a_503_and_stores_nothing(local_aws, tmp_path):
    result = faults.users_service_down(tmp_path, requests=1, scenarios=("not answering",))
    assert result.ok, "\n".join(result.failures)
    assert result.tried == 2  # the request, the table check


def test_every_process_exits_at_start_with_one_line_when_its_configuration_is_broken(local_aws, tmp_path):
    results = faults.startup_many(list(STAGES), reduced=True, logs=tmp_path)
    assert [r.stage for r in results] == list(STAGES)
    for result in results:
        assert result.ok, f"{result.stage}: " + "\n".join(result.failures)
        assert result.tried == len(STAGES[result.stage].app_services())
