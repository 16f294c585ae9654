"""The stage's container image in ECR: tagged by its content, built and pushed with Docker on ENV=aws, and
deployed by its digest (`repo@sha256:…`), so what runs is exactly what was pushed, whatever later happens
to the tag.

The tag is a digest of exactly what `deployment/Dockerfile` copies (the build context `.dockerignore`
lets through: pyproject.toml, lock/workshop.txt and the stage's folder without tests) plus the Dockerfile
itself. So a code change gives a new tag, hence a new task definition revision / Deployment spec and a
rolling update; an unchanged stage keeps its tag and a re-deploy changes nothing. (A mutable `latest` tag
would do neither.)

Locally nothing is built: the local ECS/EKS run the command from the task definition / Deployment on
this machine's Python, and the image reference is only recorded, as on AWS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable

from shopctl.aws import clients
from shopctl.errors import ShopctlError
from shopctl.paths import REPO_ROOT, STAGE_DIRS

DOCKERFILE = REPO_ROOT / "deployment" / "Dockerfile"
# x86_64 and Graviton: Fargate and EKS Auto Mode's node pools may run either.
PLATFORMS = "linux/amd64,linux/arm64"
_SKIP_PARTS = {"tests", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".ipynb_checkpoints"}
_SKIP_SUFFIXES = (".pyc", ".pyo", ".md")


def content_tag(stage: str) -> str:
    """A digest of the image's inputs, as the build context sees them (see .dockerignore)."""
    root = STAGE_DIRS[stage]
    files = [DOCKERFILE, REPO_ROOT / "pyproject.toml", REPO_ROOT / "lock" / "workshop.txt"]
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        skipped = _SKIP_PARTS & set(parts) or any(part.endswith(".egg-info") for part in parts)
        if path.is_file() and not skipped and not path.name.endswith(_SKIP_SUFFIXES):
            files.append(path)
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return "src-" + digest.hexdigest()[:12]


def _image_digest(repository: str, tag: str) -> str | None:
    """The digest ECR holds under `tag`, or None."""
    ecr = clients.client("ecr")
    try:
        details = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
    except ecr.exceptions.ImageNotFoundException:
        return None
    return details[0]["imageDigest"] if details else None


def _succeeds(argv: list[str]) -> bool:
    return subprocess.run(argv, capture_output=True, text=True).returncode == 0


def engine_reachable() -> bool:
    """A docker CLI *and* an engine answering it (the CLI alone cannot build)."""
    return shutil.which("docker") is not None and _succeeds(["docker", "info", "--format", "{{.ServerVersion}}"])


def has_buildx() -> bool:
    return _succeeds(["docker", "buildx", "version"])


def _run(argv: list[str], what: str, *, stdin: str | None = None) -> None:
    result = subprocess.run(argv, input=stdin, text=True, capture_output=True)
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise ShopctlError(f"{what} failed: {last[0]}", f"run it yourself to see everything: {' '.join(argv)}")


def build_command(stage: str, image: str, platforms: str = PLATFORMS) -> list[str]:
    return [
        "docker", "buildx", "build", "--platform", platforms, "-f", str(DOCKERFILE),
        "--build-arg", f"STAGE_DIR={STAGE_DIRS[stage].name}", "-t", image, "--push", str(REPO_ROOT),
    ]  # fmt: skip


def login_command(registry: str) -> str:
    region = registry.split(".")[3]
    return f"aws ecr get-login-password --region {region} | docker login --username AWS --password-stdin {registry}"


def single_arch_build_command(stage: str, image: str) -> list[str]:
    return [
        "docker", "build", "-f", str(DOCKERFILE),
        "--build-arg", f"STAGE_DIR={STAGE_DIRS[stage].name}", "-t", image, str(REPO_ROOT),
    ]  # fmt: skip


# What the tasks and functions run on unless told otherwise: Fargate's default runtime platform and Lambda's
# default architecture are both x86_64.
RUN_PLATFORM = "linux/amd64"


def check_platform(image: str) -> None:
    """A single-platform build is for the engine's own architecture: on an arm64 laptop, an arm64 image,
    which x86_64 Fargate tasks and Lambda functions cannot start. Stopped before it is pushed."""
    result = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", image], capture_output=True, text=True
    )
    platform = result.stdout.strip()
    if result.returncode != 0 or platform != RUN_PLATFORM:
        raise ShopctlError(
            f"built {image} for {platform or 'an unknown platform'}; the tasks and functions here run {RUN_PLATFORM}",
            f"install docker buildx (it builds {PLATFORMS}), or build where Docker runs on x86_64",
        )


def publish(stage: str, repository_uri: str, say: Callable[[str], None], *, tag: str | None = None) -> str:
    """Make sure ECR holds the stage's image for the current code; returns its reference by digest.

    An image already pushed for this exact code (e.g. by CI) is used. Otherwise, with a Docker engine:
    log in to ECR with a registry token and build and push — for x86_64 and Graviton with buildx, for the
    engine's own architecture without it. Without an engine, stop (one line, the exact commands) before
    ECS/EKS would try to pull an image that does not exist.
    """
    tag = tag or content_tag(stage)
    image = f"{repository_uri}:{tag}"
    repository = repository_uri.split("/", 1)[1]
    digest = _image_digest(repository, tag)
    if digest:
        say(f"✓ image {image} already in ECR (same code, nothing to build): {digest}")
        return f"{repository_uri}@{digest}"
    registry = repository_uri.split("/", 1)[0]
    if not engine_reachable():
        raise ShopctlError(
            f"image {image} is not in ECR and no Docker engine is reachable here to build it",
            f"where Docker runs: {login_command(registry)} && {' '.join(build_command(stage, image))} "
            "— then deploy again",
        )
    token = clients.client("ecr").get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    _run(["docker", "login", "--username", user, "--password-stdin", registry], "docker login", stdin=password)
    if has_buildx():
        say(f"… building and pushing {image} for {PLATFORMS} (the first build takes a few minutes)")
        _run(build_command(stage, image), "docker buildx build")
    else:
        say(f"… building {image} for this engine's architecture only (no buildx: no multi-arch build)")
        _run(single_arch_build_command(stage, image), "docker build")
        check_platform(image)
        _run(["docker", "push", image], "docker push")
    digest = _image_digest(repository, tag)
    if digest is None:
        raise ShopctlError(
            f"pushed {image}, but ECR does not list it",
            f"check: aws ecr describe-images --repository-name {repository}",
        )
    say(f"✓ pushed {image}: {digest}")
    return f"{repository_uri}@{digest}"


# The manifest types of a multi-platform image (buildx pushes one for PLATFORMS), and Lambda's names for the
# architectures in an image index's `platform.architecture`.
INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_MEDIA_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
LAMBDA_ARCHITECTURES = {"x86_64": "amd64", "arm64": "arm64"}


def for_architecture(reference: str, architecture: str) -> str:
    """The single-platform image Lambda can run, for a reference by digest (`repo@sha256:…`).

    ECS and EKS pull the multi-arch index `publish` pushes and pick their platform themselves; Lambda refuses
    an index ("image manifest … media type is not supported") and wants the manifest of its architecture.
    An image that is already one manifest is returned as it is; so is a reference by tag (locally nothing
    is pushed: the reference is only recorded).
    """
    if "@" not in reference:
        return reference
    repository_uri, digest = reference.split("@", 1)
    ecr = clients.client("ecr")
    found = ecr.batch_get_image(
        repositoryName=repository_uri.split("/", 1)[1],
        imageIds=[{"imageDigest": digest}],
        acceptedMediaTypes=[*INDEX_MEDIA_TYPES, *MANIFEST_MEDIA_TYPES],
    )["images"]
    if not found:
        raise ShopctlError(f"ECR does not hold {reference}", "deploy again: the image is built and pushed if missing")
    manifest = json.loads(found[0]["imageManifest"])
    if manifest.get("mediaType") not in INDEX_MEDIA_TYPES and "manifests" not in manifest:
        return reference
    wanted = LAMBDA_ARCHITECTURES[architecture]
    for entry in manifest["manifests"]:
        platform = entry.get("platform") or {}
        # buildx adds attestation manifests with platform unknown/unknown: never an image to run
        if platform.get("os") == "linux" and platform.get("architecture") == wanted:
            return f"{repository_uri}@{entry['digest']}"
    raise ShopctlError(
        f"image {reference} has no linux/{wanted} variant for a {architecture} function",
        f"build it for linux/{wanted} too (PLATFORMS in shopctl/aws/image.py), or deploy another architecture",
    )


def reference(stage: str, repository_uri: str, env: str, say: Callable[[str], None], tag: str | None = None) -> str:
    """The image ECS/EKS (and Lambda with PACKAGE=image) run: built and pushed on ENV=aws; locally only its
    reference is recorded (the local tasks and pods run the same command on this machine's Python). The tag
    is derived from the content unless one is given (e.g. a CI build number)."""
    if env == "aws":
        return publish(stage, repository_uri, say, tag=tag)
    return f"{repository_uri}:{tag or content_tag(stage)}"
