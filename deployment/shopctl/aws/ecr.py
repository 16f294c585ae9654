"""A stage's one image repository in ECR (`shop-<stage>`), shared by its ECS, EKS and Lambda image deployments:
one image, any compute. Which of those still pulls from it is the targets' knowledge
(`shopctl.targets.registry.release_image` asks each); this module only makes and removes it."""

from __future__ import annotations

from botocore.exceptions import ClientError

from shopctl.aws import clients
from shopctl.aws.tagging import PROJECT, Tags


def repository_name(stage: str) -> str:
    return f"shop-{stage}"


def ensure_repository(stage: str) -> tuple[str, str]:
    """The stage's repository (created if missing): its URI and ARN."""
    ecr = clients.client("ecr")
    name = repository_name(stage)
    try:
        repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    except ClientError as error:
        if error.response["Error"]["Code"] != "RepositoryNotFoundException":
            raise
        repo = ecr.create_repository(
            repositoryName=name,
            imageScanningConfiguration={"scanOnPush": True},
            tags=Tags(stage).key_value(),  # shared by the stage's deployments: tagged with the stage only
        )["repository"]
    return repo["repositoryUri"], repo["repositoryArn"]


def repository_exists(stage: str) -> bool:
    try:
        clients.client("ecr").describe_repositories(repositoryNames=[repository_name(stage)])
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] != "RepositoryNotFoundException":
            raise
        return False


def delete_repository(stage: str) -> bool:
    """Delete the repository with its images (force) — only if it carries the project's tag: a repository of
    the same name that deploy did not make is someone's images, and stays. False: not deleted."""
    ecr = clients.client("ecr")
    try:
        arn = ecr.describe_repositories(repositoryNames=[repository_name(stage)])["repositories"][0]["repositoryArn"]
        if {"Key": "project", "Value": PROJECT} not in ecr.list_tags_for_resource(resourceArn=arn)["tags"]:
            print(
                f"  ECR repository {repository_name(stage)} kept: it lacks the tag project={PROJECT}, so make "
                "deploy did not create it",
                flush=True,
            )
            return False
        ecr.delete_repository(repositoryName=repository_name(stage), force=True)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] != "RepositoryNotFoundException":
            raise
        return False
