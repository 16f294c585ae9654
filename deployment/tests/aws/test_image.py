"""The stage image on ENV=aws: a content-derived tag, reused when ECR has it, otherwise built and pushed
with Docker — checked with a stand-in `docker` executable that records what it is asked to do."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from shopctl.aws import image
from shopctl.aws.ecr import ensure_repository
from shopctl.errors import ShopctlError
from shopctl.stages import STAGES, get_stage

OCI = "application/vnd.oci.image.manifest.v1+json"
FAKE_DOCKER = """#!/usr/bin/env python3
import json, os, sys
# DOCKER_FAIL: the commands that fail, e.g. "info" (no engine), "buildx version" (no buildx), "login"
failing = [c for c in os.environ.get("DOCKER_FAIL", "").split(",") if c]
if any(" ".join(sys.argv[1:]).startswith(c) for c in failing):
    sys.exit(1)
if sys.argv[1:2] in (["info"], ["buildx"]) and sys.argv[2:3] != ["build"]:
    sys.exit(0)  # probes are not recorded: the log holds what changes something
if sys.argv[1:3] == ["image", "inspect"]:  # the platform a single-platform build made (DOCKER_PLATFORM)
    print(os.environ.get("DOCKER_PLATFORM", "linux/amd64"))
    sys.exit(0)
with open(os.environ["DOCKER_CALLS"], "a") as log:
    stdin = sys.stdin.read() if "--password-stdin" in sys.argv else ""
    log.write(json.dumps({"argv": sys.argv[1:], "stdin": stdin}) + "\\n")
"""


@pytest.fixture
def docker(fake_cli: Callable[[str, str, str], Path]) -> Path:
    """A `docker` on PATH that logs its calls to a file (and fails with DOCKER_EXIT)."""
    return fake_cli("docker", FAKE_DOCKER, "DOCKER_CALLS")


@pytest.fixture
def registry(docker: Path, aws_calls) -> None:
    """ECR learns of what the fake docker pushed (moto is no registry: the push is copied into it)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ecr.models import ecr_backends

    synced: set[str] = set()

    def sync_pushes() -> None:
        for line in docker.read_text().splitlines() if docker.exists() else []:
            argv = json.loads(line)["argv"]
            pushed = argv[argv.index("-t") + 1] if "--push" in argv else (argv[1] if argv[0] == "push" else None)
            if pushed and pushed not in synced:
                synced.add(pushed)
                repository, tag = pushed.split("/", 1)[1].split(":")
                manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI, "layers": [{"digest": f"sha256:{tag}"}]})
                ecr_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].put_image(repository, manifest, tag)

    aws_calls.before("ecr", "DescribeImages", sync_pushes)


def test_content_tag_changes_with_the_stage_code_only(tmp_path, monkeypatch):
    tags = {name: image.content_tag(name) for name in STAGES}
    assert len(set(tags.values())) == 3 and all(t.startswith("src-") for t in tags.values())
    assert image.content_tag("clean") == tags["clean"]  # stable
    stage_dir = tmp_path / "03-clean-architecture"
    (stage_dir / "clean_shop").mkdir(parents=True)
    (stage_dir / "clean_shop" / "model.py").write_text("A = 1\n")
    (stage_dir / "tests").mkdir()
    monkeypatch.setitem(image.STAGE_DIRS, "clean", stage_dir)
    monkeypatch.setattr(image, "REPO_ROOT", tmp_path)  # a repository of its own, in tmp_path
    monkeypatch.setattr(image, "DOCKERFILE", tmp_path / "Dockerfile")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    (tmp_path / "lock").mkdir()
    (tmp_path / "lock" / "workshop.txt").write_text("fastapi==1.0\n")
    before = image.content_tag("clean")
    (stage_dir / "tests" / "test_x.py").write_text("def test(): pass\n")  # not in the image
    assert image.content_tag("clean") == before
    (stage_dir / "clean_shop" / "model.py").write_text("A = 2\n")
    assert image.content_tag("clean") != before
    # The image installs the locked versions: another lock is another image.
    changed = image.content_tag("clean")
    (tmp_path / "lock" / "workshop.txt").write_text("fastapi==1.1\n")
    assert image.content_tag("clean") != changed


def test_an_image_already_in_ecr_is_used_without_docker(aws, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    uri, _ = ensure_repository("clean")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"})
    tag = image.content_tag("clean")
    boto3.client("ecr").put_image(repositoryName="shop-clean", imageManifest=manifest, imageTag=tag)
    lines: list[str] = []
    digest = boto3.client("ecr").describe_images(repositoryName="shop-clean")["imageDetails"][0]["imageDigest"]
    assert image.publish("clean", uri, lines.append) == f"{uri}@{digest}"
    assert "already in ECR" in lines[0]


def test_without_docker_and_without_the_image_it_stops_with_the_build_command(aws, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    uri, _ = ensure_repository("clean")
    with pytest.raises(ShopctlError) as caught:
        image.publish("clean", uri, print)
    assert "no Docker engine is reachable" in caught.value.args[0]
    assert "docker buildx build --platform linux/amd64,linux/arm64" in caught.value.hint
    assert "aws ecr get-login-password --region eu-west-1 | docker login" in caught.value.hint
    assert "STAGE_DIR=03-clean-architecture" in caught.value.hint


def test_a_docker_cli_without_an_engine_is_no_engine(aws, docker, monkeypatch):
    monkeypatch.setenv("DOCKER_FAIL", "info")
    uri, _ = ensure_repository("clean")
    with pytest.raises(ShopctlError, match="no Docker engine is reachable"):
        image.publish("clean", uri, print)
    assert not docker.exists()  # nothing was attempted


def test_with_docker_it_logs_in_to_ecr_and_pushes_a_multi_arch_build(aws, docker, registry):
    uri, _ = ensure_repository("microservices")
    reference = image.publish("microservices", uri, print)
    login, build = [json.loads(line) for line in docker.read_text().splitlines()]
    registry = uri.split("/")[0]
    assert login["argv"] == ["login", "--username", "AWS", "--password-stdin", registry]
    assert login["stdin"] and login["stdin"] not in " ".join(build["argv"])  # the token never goes on a command line
    assert build["argv"][:4] == ["buildx", "build", "--platform", "linux/amd64,linux/arm64"]
    assert build["argv"][6:8] == ["--build-arg", "STAGE_DIR=02-microservices"]
    tagged = f"{uri}:{image.content_tag('microservices')}"
    assert ["-t", tagged, "--push"] == build["argv"][8:11]
    digest = boto3.client("ecr").describe_images(repositoryName="shop-microservices")["imageDetails"][0]["imageDigest"]
    assert reference == f"{uri}@{digest}"  # deployed by digest, not by the (mutable) tag


def test_without_buildx_it_builds_for_the_engine_architecture_and_pushes(aws, docker, registry, monkeypatch):
    monkeypatch.setenv("DOCKER_FAIL", "buildx version")
    uri, _ = ensure_repository("clean")
    reference = image.publish("clean", uri, print)
    _login, build, push = [json.loads(line)["argv"] for line in docker.read_text().splitlines()]
    tagged = f"{uri}:{image.content_tag('clean')}"
    assert build[0] == "build" and "--platform" not in build and build[build.index("-t") + 1] == tagged
    assert push == ["push", tagged]
    assert reference.startswith(f"{uri}@sha256:")


def test_a_single_platform_build_for_another_architecture_is_not_pushed(aws, docker, registry, monkeypatch):
    """An arm64 laptop without buildx builds an arm64 image; x86_64 Fargate and Lambda cannot start it."""
    monkeypatch.setenv("DOCKER_FAIL", "buildx version")
    monkeypatch.setenv("DOCKER_PLATFORM", "linux/arm64")
    uri, _ = ensure_repository("clean")
    with pytest.raises(ShopctlError, match="for linux/arm64; the tasks and functions here run linux/amd64"):
        image.publish("clean", uri, print)
    assert [json.loads(line)["argv"][0] for line in docker.read_text().splitlines()] == ["login", "build"]


def test_ecs_and_eks_on_aws_run_the_pushed_image_by_digest(aws, docker, registry, kubectl_calls, monkeypatch):
    from shopctl.targets import ecs_target, eks_cluster, eks_target

    ecs_target.deploy(get_stage("clean"), ecs_target.Options(env="aws", quiet=True))
    (details,) = boto3.client("ecr").describe_images(repositoryName="shop-clean")["imageDetails"]
    uri = boto3.client("ecr").describe_repositories()["repositories"][0]["repositoryUri"]
    (described,) = ecs_target.describe(get_stage("clean")).values()
    assert described["containerDefinitions"][0]["image"] == f"{uri}@{details['imageDigest']}"
    builds = [line for line in docker.read_text().splitlines() if '"build"' in line]
    ec2 = boto3.client("ec2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    tags = {eks_cluster.CREATED_BY_TAG: eks_cluster.CREATED_BY}
    boto3.client("eks").create_cluster(
        name="shop", roleArn="arn:aws:iam::123456789012:role/x", resourcesVpcConfig={"subnetIds": subnets}, tags=tags
    )
    deployed = eks_target.deploy(get_stage("clean"), eks_target.Options(env="aws", quiet=True))
    manifests = Path(deployed.resources.manifests).read_text()
    assert f"image: {uri}@{details['imageDigest']}" in manifests
    assert [line for line in docker.read_text().splitlines() if '"build"' in line] == builds  # built once


def test_a_failing_build_is_one_line_with_the_command_to_rerun(aws, docker, monkeypatch):
    monkeypatch.setenv("DOCKER_FAIL", "login")
    uri, _ = ensure_repository("clean")
    with pytest.raises(ShopctlError, match="docker login failed") as caught:
        image.publish("clean", uri, print)
    assert "run it yourself" in caught.value.hint
