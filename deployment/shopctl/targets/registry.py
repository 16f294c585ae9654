"""The one registry of deployment targets (in the order the menus show them), and what concerns several
targets at once: the stage's image repository, which ECS, EKS and Lambda image deployments share."""

from __future__ import annotations

from typing import Any

from shopctl.aws import ecr
from shopctl.errors import ShopctlError
from shopctl.stages import Stage
from shopctl.targets import ecs_target, eks_target, lambda_target
from shopctl.targets.base import Target

TARGETS: dict[str, Target] = {module.TARGET: module for module in (lambda_target, ecs_target, eks_target)}


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise ShopctlError(f"unknown target {name!r}", f"TARGET is one of: {', '.join(TARGETS)}") from None


def destroy(target: Target, stage: Stage, options: Any, *, keep_data: bool = True) -> list[str]:
    """Destroy one deployment, then release the stage's image repository if no other target still runs
    its image (each target knows whether its own deployment does)."""
    using = target.uses_image(stage)
    removed = target.destroy(stage, options, keep_data=keep_data)
    # Quiet about a repository this deployment did not use (a Lambda ZIP destroy while ECS runs the image).
    if release_image(stage, deleting=target, quiet=options.quiet or not using):
        removed.append(f"ECR repository {ecr.repository_name(stage.name)}")
        if not options.quiet:
            print(f"✓ removed ECR repository {ecr.repository_name(stage.name)}")
    return removed


def release_image(stage: Stage, *, deleting: Target, quiet: bool = False) -> bool:
    """Delete the stage's image repository (with its images) unless a deployment on another target than
    `deleting` still pulls from it. True: deleted."""
    if not ecr.repository_exists(stage.name):
        return False
    users = [t.deployment_name(stage) for t in TARGETS.values() if t is not deleting and t.uses_image(stage)]
    if users:
        if not quiet:
            print(
                f"  ECR repository {ecr.repository_name(stage.name)} kept: {', '.join(users)} still run(s) its "
                "image (storage about $0.10 per GB-month on AWS, nothing per hour)",
                flush=True,
            )
        return False
    return ecr.delete_repository(stage.name)
