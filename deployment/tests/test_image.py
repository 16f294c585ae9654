"""The stage image on ENV=aws: a content-derived tag, reused when ECR has it, otherwise built and pushed
with Docker — checked with a stand-in `docker` executable that records what it is asked to do."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import boto3
import pytest

from shopctl import image
from shopctl.deploy_common import ensure_repository
from shopctl.errors import ShopctlError
from shopctl.stages import STAGES

FAKE_DOCKER = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["DOCKER_CALLS"], "a") as log:
    stdin = sys.stdin.read() if "--password-stdin" in sys.argv else ""
    log.write(json.dumps({"argv": sys.argv[1:], "stdin": stdin}) + "\\n")
sys.exit(int(os.environ.get("DOCKER_EXIT", "0")))
"""


@pytest.fixture
def docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `docker` on PATH that logs its calls to a file (and fails with DOCKER_EXIT)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker"
    script.write_text(FAKE_DOCKER)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOCKER_CALLS", str(calls))
    return calls


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
    uri, _ = ensure_repository(STAGES["clean"])
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"})
    tag = image.content_tag("clean")
    boto3.client("ecr").put_image(repositoryName="shop-clean", imageManifest=manifest, imageTag=tag)
    lines: list[str] = []
    assert image.publish("clean", uri, lines.append) == f"{uri}:{image.content_tag('clean')}"
    assert "already in ECR" in lines[0]


def test_without_docker_and_without_the_image_it_stops_with_the_build_command(aws, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    uri, _ = ensure_repository(STAGES["clean"])
    with pytest.raises(ShopctlError) as caught:
        image.publish("clean", uri, print)
    assert "no Docker engine" in caught.value.args[0]
    assert "docker buildx build --platform linux/amd64,linux/arm64" in caught.value.hint
    assert "STAGE_DIR=03-clean-architecture" in caught.value.hint


def test_with_docker_it_logs_in_to_ecr_and_pushes_a_multi_arch_build(aws, docker):
    uri, _ = ensure_repository(STAGES["microservices"])
    reference = image.publish("microservices", uri, print)
    login, build = [json.loads(line) for line in docker.read_text().splitlines()]
    registry = uri.split("/")[0]
    assert login["argv"] == ["login", "--username", "AWS", "--password-stdin", registry]
    assert login["stdin"] and login["stdin"] not in " ".join(build["argv"])  # the token never goes on a command line
    assert build["argv"][:4] == ["buildx", "build", "--platform", "linux/amd64,linux/arm64"]
    assert build["argv"][6:8] == ["--build-arg", "STAGE_DIR=02-microservices"]
    assert ["-t", reference, "--push"] == build["argv"][8:11]
    assert reference == f"{uri}:{image.content_tag('microservices')}"


def test_a_failing_build_is_one_line_with_the_command_to_rerun(aws, docker, monkeypatch):
    monkeypatch.setenv("DOCKER_EXIT", "1")
    uri, _ = ensure_repository(STAGES["clean"])
    with pytest.raises(ShopctlError, match="docker login failed") as caught:
        image.publish("clean", uri, print)
    assert "run it yourself" in caught.value.hint
