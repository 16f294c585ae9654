"""A deploy that fails half-way leaves a state `make destroy` cleans completely: each AWS call that makes or
changes something is failed in turn, on every target (ENV=aws code path, in-process moto with the local
AWS's refusals on), and destroy must leave no resource of the deployment behind (shopctl.aws.census), nor
an instance profile."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from shopctl.aws import census, clients
from shopctl.aws.image import content_tag
from shopctl.errors import ShopctlError
from shopctl.stages import get_stage
from shopctl.targets import ecs_target, eks_target, lambda_target, registry

MAKES = ("Create", "Put", "Register", "Authorize", "Attach", "Tag", "Add", "Update", "Associate", "Publish")
STAGE = get_stage("clean")
TARGETS = {
    "lambda": (lambda_target, lambda_target.Options(env="aws", python="3.12", quiet=True)),
    "ecs": (ecs_target, ecs_target.Options(env="aws", quiet=True)),
    "eks": (eks_target, eks_target.Options(env="aws", quiet=True, create_cluster=True, delete_cluster=True)),
}


def push_clean_image() -> None:
    """The stage's image in ECR, as CI leaves it (destroy removes the repository with the deployment)."""
    from shopctl.aws.ecr import ensure_repository

    ensure_repository("clean")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"})
    boto3.client("ecr").put_image(repositoryName="shop-clean", imageManifest=manifest, imageTag=content_tag("clean"))


def leftovers(baseline: set[str]) -> list[str]:
    found = {str(r) for r in census.census()} - baseline
    profiles = boto3.client("iam").list_instance_profiles()["InstanceProfiles"]
    return sorted(found | {f"iam: instance profile {p['InstanceProfileName']}" for p in profiles})


class Failing:
    """One `before-call` hook on boto3's default session, registered before the clients are made, that fails
    the one operation it is told to: the clients are made once for the whole test (a boto3 client copies its
    session's hooks when it is made, so a hook registered per step would need new clients every step)."""

    def __init__(self) -> None:
        self.at: tuple[str, str] | None = None

    def __call__(self, event_name: str, **_: Any) -> None:
        if self.at and event_name == f"before-call.{self.at[0]}.{self.at[1]}":
            error = {"Error": {"Code": "InternalFailure", "Message": f"failed here: {self.at[1]}"}}
            raise ClientError(error, self.at[1])


@pytest.mark.parametrize("target_name", TARGETS)
def test_a_deploy_failing_at_any_step_is_cleaned_up_completely_by_destroy(
    target_name, managed_policies, kubectl_calls, aws_calls, monkeypatch
):
    monkeypatch.setattr(eks_target, "LOAD_BALANCER_POLL_SECONDS", 0.0)
    target, options = TARGETS[target_name]
    destroy_options = dataclasses.replace(options, quiet=True)
    failing = Failing()
    boto3.DEFAULT_SESSION.events.register("before-call", failing)
    clients.forget()
    try:
        baseline = {str(r) for r in census.census()}
        push_clean_image()
        start = len(aws_calls.sent)
        target.deploy(STAGE, options)
        steps = list(dict.fromkeys((s, op) for s, op, _ in aws_calls.sent[start:] if op.startswith(MAKES)))
        assert len(steps) > 5, steps
        registry.destroy(target, STAGE, destroy_options, keep_data=False)
        assert leftovers(baseline) == []
        not_failing = []
        for service, operation in steps:
            push_clean_image()
            failing.at = (service, operation)
            start = len(aws_calls.sent)
            try:
                target.deploy(STAGE, options)
                # (a step a re-deploy no longer takes — the account's ECS role, made once — cannot fail it)
                if (service, operation) in {(s, op) for s, op, _ in aws_calls.sent[start:]}:
                    not_failing.append(operation)
            except (ClientError, ShopctlError):
                pass
            finally:
                failing.at = None
            registry.destroy(target, STAGE, destroy_options, keep_data=False)
            assert leftovers(baseline) == [], f"left after a deploy that failed at {service}.{operation}"
        assert not_failing == [], "a failed call went unnoticed"
    finally:
        boto3.DEFAULT_SESSION.events.unregister("before-call", failing)
        clients.forget()
