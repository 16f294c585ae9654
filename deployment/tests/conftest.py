"""Fixtures for the deploy-code tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

MOCK_REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    """An in-process moto account (the ENV=aws code path, no local AWS server), with its own run dir."""
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": MOCK_REGION,
        "AWS_REGION": MOCK_REGION,
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("SHOP_RUN_DIR", str(tmp_path / "run"))
    with mock_aws():
        yield


@pytest.fixture
def managed_policies(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS managed policies exist in a real account (the EKS Auto Mode roles attach some); moto loads them
    when asked, before its IAM backend is first used — it costs about half a second, so only where needed."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


@pytest.fixture
def pushed_images(aws: None) -> None:
    """Each stage's image already in ECR for the current code (as CI or an earlier deploy would leave it), so
    ENV=aws deploys find it instead of building with Docker."""
    import json

    import boto3

    from shopctl.deploy_common import ensure_repository
    from shopctl.image import content_tag
    from shopctl.stages import STAGES

    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"})
    for stage in STAGES.values():
        ensure_repository(stage)
        boto3.client("ecr").put_image(
            repositoryName=f"shop-{stage.name}", imageManifest=manifest, imageTag=content_tag(stage.name)
        )
