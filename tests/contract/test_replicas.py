"""On local ECS and EKS each service runs as replicas behind one port, like an ECS service's tasks or a
Deployment's pods: kill one with SIGKILL and requests keep succeeding on the others while the platform
replaces it (the ECS service scheduler / the ReplicaSet controller on AWS; `shopctl.local.supervisor` here)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from shopctl import httpclient


def replicas(service_url: str) -> list[dict]:
    return httpclient.get(f"{service_url}/__local__/status", timeout=5).json()["replicas"]


def wait_for(service_url: str, condition, timeout: float = 30.0) -> list[dict]:
    """Poll the replicas until `condition(replicas)` holds (or time out and return the last view)."""
    deadline = time.monotonic() + timeout
    current = replicas(service_url)
    while time.monotonic() < deadline and not condition(current):
        time.sleep(0.2)
        current = replicas(service_url)
    return current


@pytest.mark.internals("kills a replica's process on this machine")
def test_a_killed_replica_is_replaced_while_requests_keep_succeeding(api, deployment):
    if deployment.target not in ("ecs", "eks"):
        pytest.skip("replicas behind a load balancer: ECS tasks and EKS pods only")
    # The users API: served by the stage's one service, or by users-service behind the microservices gateway.
    service_url = deployment.services.get("users") or deployment.services["app"]
    # A deploy returns once the service answers; like `aws ecs wait services-stable`, wait for every replica.
    before = wait_for(service_url, lambda rs: all(r["ready"] for r in rs))
    assert len(before) == 2 and all(r["ready"] for r in before)
    os.kill(before[0]["pid"], signal.SIGKILL)
    codes = [api.get("/users", params={"limit": 1}).status_code for _ in range(20)]
    assert codes == [200] * 20  # the surviving replica takes the traffic meanwhile
    now = wait_for(service_url, lambda rs: rs[0]["pid"] != before[0]["pid"] and rs[0]["ready"])
    assert now[0]["pid"] != before[0]["pid"] and now[0]["ready"] and now[0]["restarts"] == 1
    assert (now[1]["pid"], now[1]["restarts"]) == (before[1]["pid"], 0)  # the other one was left alone
