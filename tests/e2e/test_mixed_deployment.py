"""The talk's mixed deployment: the clean stage on EKS and on Lambda shares one set of tables.
(Killing an ECS task / EKS pod is part of the contract suite: tests/contract/test_replicas.py.)"""

from __future__ import annotations

import pytest

from shopctl import fleet, httpclient
from shopctl.local.net import free_port
from shopctl.stages import get_stage
from shopctl.targets import eks_target, lambda_target

pytestmark = pytest.mark.e2e


def test_mixed_deployment_user_via_eks_order_via_lambda(local_aws):
    eks_port, lambda_port = free_port(), free_port()
    try:
        eks, lam, result = fleet.deploy_mixed(eks_port=eks_port, lambda_port=lambda_port, quiet=True)
        assert result.ok, result.detail
        assert eks.resources.tables == lam.resources.tables == fleet.MIXED_TABLES
        with httpclient.client(timeout=30) as client:
            user = client.post(f"{eks.url}/users", json={"name": "Grace", "email": "grace@example.com"}).json()
            order = client.post(f"{lam.url}/orders", json={"user_id": user["id"], "product": "Mug", "quantity": 1})
            assert order.status_code == 201
            for base in (eks.url, lam.url):  # each platform reads what the other wrote
                assert client.get(f"{base}/users/{user['id']}").json() == user
                listed = client.get(f"{base}/orders", params={"user_id": user["id"]}).json()["items"]
                assert [o["id"] for o in listed] == [order.json()["id"]]
    finally:
        eks_target.destroy(get_stage("clean"), eks_target.Options(quiet=True), keep_data=False)
        lambda_target.destroy(get_stage("clean"), lambda_target.Options(quiet=True), keep_data=False)
