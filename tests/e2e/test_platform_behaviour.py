"""What the local ECS and EKS promise beyond the contract, and the talk's mixed deployment:
a task or pod killed with SIGKILL is replaced while the others keep serving (as an ECS service or a
Kubernetes ReplicaSet would), and the clean stage on EKS and on Lambda shares one set of tables."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from shopctl import ecs_target, eks_target, fleet, lambda_target
from shopctl.net import free_port

pytestmark = pytest.mark.e2e


def replicas(base_url: str) -> list[dict]:
    return httpx.get(f"{base_url}/__local__/status", timeout=5).json()["replicas"]


@pytest.mark.parametrize("module", [ecs_target, eks_target], ids=["ecs", "eks"])
def test_a_killed_replica_is_replaced_and_requests_keep_succeeding(local_aws, module):
    options = module.Options(env="local", port=free_port(), quiet=True)
    deployed = module.deploy("clean", options)
    try:
        before = replicas(deployed.url)
        assert len(before) == 2 and all(r["ready"] for r in before)
        os.kill(before[0]["pid"], signal.SIGKILL)
        codes = [httpx.get(f"{deployed.url}/health", timeout=10).status_code for _ in range(20)]
        assert codes == [200] * 20  # the surviving replica takes the traffic meanwhile
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = replicas(deployed.url)
            if now[0]["pid"] != before[0]["pid"] and now[0]["ready"]:
                break
            time.sleep(0.25)
        assert now[0]["restarts"] == 1 and now[0]["ready"] and now[0]["pid"] != before[0]["pid"]
        assert now[1]["pid"] == before[1]["pid"] and now[1]["restarts"] == 0  # the other one was left alone
    finally:
        module.destroy("clean", options, keep_data=False)


def test_mixed_deployment_user_via_eks_order_via_lambda(local_aws):
    eks_port, lambda_port = free_port(), free_port()
    try:
        eks, lam, result = fleet.deploy_mixed(eks_port=eks_port, lambda_port=lambda_port, quiet=True)
        assert result.ok, result.detail
        assert eks.resources["tables"] == lam.resources["tables"] == {
            "users": fleet.MIXED_TABLES.users,
            "orders": fleet.MIXED_TABLES.orders,
        }
        with httpx.Client(timeout=30) as client:
            user = client.post(f"{eks.url}/users", json={"name": "Grace", "email": "grace@example.com"}).json()
            order = client.post(f"{lam.url}/orders", json={"user_id": user["id"], "product": "Mug", "quantity": 1})
            assert order.status_code == 201
            for base in (eks.url, lam.url):  # each platform reads what the other wrote
                assert client.get(f"{base}/users/{user['id']}").json() == user
                listed = client.get(f"{base}/orders", params={"user_id": user["id"]}).json()["items"]
                assert [o["id"] for o in listed] == [order.json()["id"]]
    finally:
        eks_target.destroy("clean", eks_target.Options(quiet=True), keep_data=False)
        lambda_target.destroy("clean", lambda_target.Options(quiet=True), keep_data=False)
