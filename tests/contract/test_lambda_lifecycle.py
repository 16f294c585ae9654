"""On the Lambda target the contract is served by real execution environments: the first invoke of an
environment is a cold start (REPORT line with Init Duration), the next ones reuse it warm."""

from __future__ import annotations

import time

import pytest

from shopctl.stages import STAGES
from shopctl.targets import coldstart, lambda_function, lambda_target


@pytest.mark.internals("reads the functions' REPORT lines from the local AWS (make coldstart ENV=aws reads AWS's)")
def test_first_invoke_is_cold_then_warm(api, deployment):
    if deployment.target != "lambda":
        pytest.skip("Lambda lifecycle only applies to the Lambda target")
    stage = STAGES[deployment.stage]
    since = int(time.time() * 1000) - 1000
    for _ in range(3):
        assert api.get("/health").status_code == 200
    for service in lambda_target.lambda_services(stage):
        fn = lambda_target.function_name(stage, service)
        reports = coldstart.read_reports(fn, 0, expect=1)
        assert reports, f"no REPORT lines for {fn}"
        # On a machine loaded to several times its cores, a first INIT can outlast Lambda's init limit plus the
        # timeout; Lambda then runs init again inside that invoke, whose REPORT (duration at the limit) carries no
        # Init Duration. The first invoke that completed in time must be the cold start.
        limit_ms = lambda_function.TIMEOUT_S * 1000
        everything = [r for r in reports if r.duration_ms < limit_ms]
        assert everything, f"every invoke of {fn} ran into the timeout: {reports}"
        assert everything[0].cold, "the first invoke of a new function must be a cold start"
        if deployment.snapstart:  # init ran at publish: a cold start restores, and says so instead
            assert everything[0].init_ms is None and everything[0].restore_ms > 0
        else:
            assert everything[0].init_ms > 0
        recent = [r for r in coldstart.read_reports(fn, since, expect=3) if r.timestamp >= since]
        # Some repeated request reused a warm environment. (Not necessarily the last one: a request arriving
        # while the previous one's environment is still wrapping up gets a new environment, on AWS too.)
        assert any(not r.cold for r in recent), "a repeated request must reuse a warm environment"
        assert all(r.memory_mb == lambda_target.MEMORY_MB and r.max_memory_used_mb > 0 for r in recent)
