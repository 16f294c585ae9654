"""A deployment's record: typed in code, the same JSON on disk as records written before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopctl.aws import state
from shopctl.aws.resources import TableNames


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHOP_RUN_DIR", str(tmp_path))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5999")  # the local scope: no AWS call
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return tmp_path


def test_a_record_round_trips_with_its_typed_resources(run_dir: Path) -> None:
    created = state.DeploymentResources(
        tables=TableNames.for_deployment("clean-lambda"),
        functions=["shop-clean"],
        service_urls={"app": "http://127.0.0.1:9103"},
        artifact_bucket="shop-lambda-artifacts-123456789012-us-east-1",
    )
    state.save(state.DeploymentState("clean-lambda", "clean", "lambda", "local", resources=created))

    loaded = state.load("clean-lambda")

    assert loaded is not None and loaded.scope == "local-us-east-1"
    assert loaded.resources == created
    assert loaded.resources.tables == TableNames("shop-clean-lambda-users", "shop-clean-lambda-orders")


def test_a_record_written_as_plain_json_reads_as_before(run_dir: Path) -> None:
    path = run_dir / "deployments/local-us-east-1/clean-eks.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({
        "name": "clean-eks", "stage": "clean", "target": "eks", "env": "local", "url": "http://127.0.0.1:9303",
        "resources": {
            "tables": {"users": "shop-clean-eks-users", "orders": "shop-clean-eks-orders"},
            "cluster": "shop", "roles": ["shop-clean-app-irsa"], "manifests": "/tmp/clean.yaml",
            "service_urls": {}, "recorded_by_a_later_version": True,
        },
        "processes": [],
    }))

    loaded = state.load("clean-eks")

    assert loaded is not None
    assert (loaded.resources.cluster, loaded.resources.roles) == ("shop", ["shop-clean-app-irsa"])
    assert loaded.resources.tables == TableNames("shop-clean-eks-users", "shop-clean-eks-orders")
    assert loaded.resources.functions == []  # what another target records stays empty
