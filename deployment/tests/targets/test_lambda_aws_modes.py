"""The Lambda modes on the ENV=aws code path (SNAPSTART=1, PACKAGE=image), against an in-process moto with
the API calls recorded: moto runs most of them, but keeps no SnapStart setting and only one Function URL per
function whatever the qualifier, so what was *sent* is asserted where moto cannot show the result.
The last test runs `make coldstart`'s code against the local Lambda with SnapStart."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid

import boto3
import pytest

from shopctl.aws import image
from shopctl.aws.ecr import ensure_repository
from shopctl.errors import ShopctlError
from shopctl.paths import REPO_ROOT
from shopctl.stages import STAGES, get_stage
from shopctl.targets import coldstart, lambda_function, lambda_target
from shopctl.targets.naming import container_command

SNAPSTART = lambda_target.Options(env="aws", python="3.12", snapstart=True, quiet=True)
IMAGE = lambda_target.Options(env="aws", python="3.12", package="image", quiet=True)
PLAIN = lambda_target.Options(env="aws", python="3.12", quiet=True)


def sent_to(calls, operation: str, fn: str = "shop-clean") -> list[dict]:
    return [p for p in calls.params("lambda", operation) if p.get("FunctionName") == fn]


# --- SnapStart -----------------------------------------------------------------------------------------


def test_snapstart_deploy_publishes_a_version_and_serves_it_through_the_alias(aws_calls):
    deployment = lambda_target.deploy(get_stage("clean"), SNAPSTART)
    (created,) = sent_to(aws_calls, "CreateFunction")
    assert created["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    (published,) = sent_to(aws_calls, "PublishVersion")
    client = boto3.client("lambda")
    alias = client.get_alias(FunctionName="shop-clean", Name=lambda_target.SNAPSTART_ALIAS)
    assert alias["FunctionVersion"] == "1"
    # published_version_active: the version is polled (on AWS it is Pending until the snapshot is taken)
    # before the alias is made to point at it
    ops = aws_calls.operations("lambda")
    polled = [p for p in sent_to(aws_calls, "GetFunctionConfiguration") if p.get("Qualifier") == "1"]
    assert polled and ops.index("lambda.PublishVersion") < ops.index("lambda.CreateAlias")
    (url,) = sent_to(aws_calls, "CreateFunctionUrlConfig")
    assert url["Qualifier"] == lambda_target.SNAPSTART_ALIAS
    assert deployment.url == client.get_function_url_config(FunctionName="shop-clean", Qualifier="live")[
        "FunctionUrl"
    ].rstrip("/")
    assert published == {"FunctionName": "shop-clean", "Description": "Shapeshifting workshop (SnapStart)"}


def test_a_public_snapstart_url_gets_both_permissions_on_the_alias(aws_calls):
    options = lambda_target.Options(env="aws", python="3.12", snapstart=True, auth="NONE")
    lambda_target.deploy(get_stage("clean"), options)
    permissions = sent_to(aws_calls, "AddPermission")
    assert sorted(p["Action"] for p in permissions) == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    assert {p["Qualifier"] for p in permissions} == {lambda_target.SNAPSTART_ALIAS}


def test_microservices_get_a_snapstart_alias_per_function(aws_calls):
    lambda_target.deploy(get_stage("microservices"), SNAPSTART)
    for fn in ("shop-microservices-users", "shop-microservices-orders"):
        assert boto3.client("lambda").get_alias(FunctionName=fn, Name="live")["FunctionVersion"] == "1"
        assert [p["Qualifier"] for p in sent_to(aws_calls, "CreateFunctionUrlConfig", fn)] == ["live"]


def test_a_changed_function_gets_a_new_version_and_the_alias_moves_to_it(aws_calls):
    lambda_target.deploy(get_stage("clean"), SNAPSTART)
    boto3.client("lambda").update_function_configuration(FunctionName="shop-clean", Description="changed")
    lambda_target.deploy(get_stage("clean"), SNAPSTART)
    client = boto3.client("lambda")
    assert client.get_alias(FunctionName="shop-clean", Name="live")["FunctionVersion"] == "2"
    versions = [v["Version"] for v in client.list_versions_by_function(FunctionName="shop-clean")["Versions"]]
    assert versions == ["$LATEST", "1", "2"]
    assert sent_to(aws_calls, "UpdateAlias") == [{"FunctionName": "shop-clean", "Name": "live", "FunctionVersion": "2"}]
    assert [p.get("Qualifier") for p in sent_to(aws_calls, "CreateFunctionUrlConfig")] == ["live"]


def test_deploying_without_snapstart_turns_it_off_and_serves_the_function_unqualified(aws_calls):
    lambda_target.deploy(get_stage("clean"), SNAPSTART)

    # What AWS reports for a SnapStart function (moto always reports ApplyOn None).
    def as_aws_reports(parsed: dict) -> None:
        parsed["SnapStart"] = {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}

    aws_calls.on_response("lambda", "GetFunctionConfiguration", as_aws_reports)
    deployment = lambda_target.deploy(get_stage("clean"), PLAIN)
    (update,) = sent_to(aws_calls, "UpdateFunctionConfiguration")
    assert update["SnapStart"] == {"ApplyOn": "None"}
    assert {"FunctionName": "shop-clean", "Qualifier": "live"} in sent_to(aws_calls, "DeleteFunctionUrlConfig")
    assert sent_to(aws_calls, "DeleteAlias") == [{"FunctionName": "shop-clean", "Name": "live"}]
    assert [p.get("Qualifier") for p in sent_to(aws_calls, "CreateFunctionUrlConfig")] == ["live", None]
    assert boto3.client("lambda").list_aliases(FunctionName="shop-clean")["Aliases"] == []
    assert deployment.url == boto3.client("lambda").get_function_url_config(FunctionName="shop-clean")[
        "FunctionUrl"
    ].rstrip("/")


def test_switching_to_snapstart_removes_the_url_of_latest(aws_calls):
    lambda_target.deploy(get_stage("clean"), PLAIN)
    lambda_target.deploy(get_stage("clean"), SNAPSTART)
    assert {"FunctionName": "shop-clean"} in sent_to(aws_calls, "DeleteFunctionUrlConfig")
    assert [p.get("Qualifier") for p in sent_to(aws_calls, "CreateFunctionUrlConfig")] == [None, "live"]


def test_destroy_removes_the_alias_its_url_and_the_versions(aws_calls):
    lambda_target.deploy(get_stage("clean"), SNAPSTART)
    removed = lambda_target.destroy(get_stage("clean"), SNAPSTART)
    assert {"FunctionName": "shop-clean", "Qualifier": "live"} in sent_to(aws_calls, "DeleteFunctionUrlConfig")
    assert sent_to(aws_calls, "DeleteAlias") == [{"FunctionName": "shop-clean", "Name": "live"}]
    assert "alias shop-clean:live" in removed and "function shop-clean" in removed
    assert boto3.client("lambda").list_functions()["Functions"] == []  # the versions went with the function


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (lambda_target.Options(env="local", snapstart=True, package="image"), "does not apply to container images"),
        (lambda_target.Options(env="aws", snapstart=True, package="image"), "does not apply to container images"),
        (lambda_target.Options(env="aws", snapstart=True, python="3.11"), "needs Python 3.12 or later"),
    ],
)
def test_snapstart_where_lambda_has_none_stops_before_anything_is_created(aws_calls, options, reason):
    with pytest.raises(ShopctlError, match=reason) as stopped:
        lambda_target.deploy(get_stage("clean"), options)
    assert stopped.value.hint  # one line with a hint, no traceback
    assert aws_calls.sent == []
    with pytest.raises(ShopctlError, match=reason):
        lambda_target.plan(STAGES["clean"], options)  # what ENV=aws shows before asking


def test_snapstart_with_python_312_or_later_is_accepted():
    lambda_target.check(lambda_target.Options(env="aws", snapstart=True, python="3.13"))
    lambda_target.check(lambda_target.Options(env="local", snapstart=True, python="3.11"))  # this machine's


# --- PACKAGE=image ---------------------------------------------------------------------------------------


def test_image_function_runs_the_stages_ecr_image_with_the_ecs_command(aws_calls, pushed_images):
    deployment = lambda_target.deploy(get_stage("clean"), IMAGE)
    repository = boto3.client("ecr").describe_repositories(repositoryNames=["shop-clean"])["repositories"][0]
    (created,) = sent_to(aws_calls, "CreateFunction")
    assert created["PackageType"] == "Image"
    assert created["Code"]["ImageUri"].startswith(repository["repositoryUri"] + "@sha256:")
    assert created["ImageConfig"] == {"Command": container_command(STAGES["clean"].service("app"))}
    assert created["Environment"]["Variables"]["AWS_LWA_READINESS_CHECK_PATH"] == "/health"
    assert "Handler" not in created and "Runtime" not in created and "SnapStart" not in created
    assert deployment.resources.image_repository == "shop-clean"
    assert [p.get("Qualifier") for p in sent_to(aws_calls, "CreateFunctionUrlConfig")] == [None]


def test_microservices_get_one_image_function_per_service_from_one_image(aws_calls, pushed_images):
    lambda_target.deploy(get_stage("microservices"), IMAGE)
    stage = STAGES["microservices"]
    uris = set()
    for service in lambda_target.lambda_services(stage):
        (created,) = sent_to(aws_calls, "CreateFunction", lambda_target.function_name(stage, service))
        assert created["ImageConfig"] == {"Command": container_command(service)}
        uris.add(created["Code"]["ImageUri"])
    assert len(uris) == 1 and len(lambda_target.lambda_services(stage)) == 2


def test_an_unchanged_image_function_is_left_alone(aws_calls, pushed_images):
    lambda_target.deploy(get_stage("clean"), IMAGE)
    lambda_target.deploy(get_stage("clean"), IMAGE)
    assert sent_to(aws_calls, "UpdateFunctionCode") == []
    assert sent_to(aws_calls, "UpdateFunctionConfiguration") == []


def test_image_and_zip_share_the_package_type_guard(aws, pushed_images):
    lambda_target.deploy(get_stage("clean"), IMAGE)
    with pytest.raises(ShopctlError, match="is an image function"):
        lambda_target.deploy(get_stage("clean"), PLAIN)


def _index(*platforms: tuple[str, str]) -> tuple[str, dict[str, str]]:
    """A multi-platform image index as buildx pushes it (attestation entry included); its digests by arch."""
    entries, digests = [], {}
    for os_name, arch in platforms:
        digest = "sha256:" + hashlib.sha256(f"{os_name}/{arch}".encode()).hexdigest()
        digests[arch] = digest
        entries.append({
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": 1000,
            "platform": {"os": os_name, "architecture": arch},
        })  # fmt: skip
    index = {"schemaVersion": 2, "mediaType": image.INDEX_MEDIA_TYPES[0], "manifests": entries}
    return json.dumps(index), digests


def test_lambda_gets_the_image_of_its_architecture_from_the_multi_arch_index(aws_calls):
    # What `docker buildx build --platform linux/amd64,linux/arm64 --push` leaves in ECR under the content tag.
    repository_uri, _ = ensure_repository("clean")
    manifest, digests = _index(("linux", "amd64"), ("linux", "arm64"), ("unknown", "unknown"))
    pushed = boto3.client("ecr").put_image(
        repositoryName="shop-clean", imageManifest=manifest, imageTag=image.content_tag("clean")
    )
    lambda_target.deploy(get_stage("clean"), IMAGE)  # x86_64
    (created,) = sent_to(aws_calls, "CreateFunction")
    assert created["Code"]["ImageUri"] == f"{repository_uri}@{digests['amd64']}"
    index = f"{repository_uri}@{pushed['image']['imageId']['imageDigest']}"
    assert image.for_architecture(index, "arm64") == f"{repository_uri}@{digests['arm64']}"


def test_an_index_without_the_functions_architecture_stops_with_a_hint(aws):
    repository_uri, _ = ensure_repository("clean")
    manifest, _ = _index(("linux", "amd64"))
    digest = boto3.client("ecr").put_image(repositoryName="shop-clean", imageManifest=manifest, imageTag="x")[
        "image"
    ]["imageId"]["imageDigest"]
    with pytest.raises(ShopctlError, match="no linux/arm64 variant"):
        image.for_architecture(f"{repository_uri}@{digest}", "arm64")
    assert image.for_architecture(f"{repository_uri}:local-tag", "arm64") == f"{repository_uri}:local-tag"


def test_plan_names_each_mode():
    stage = STAGES["clean"]
    snap = "\n".join(lambda_target.plan(stage, SNAPSTART))
    assert "SnapStart on published versions" in snap and "published version" in snap
    assert "Function URL for alias shop-clean:live" in snap
    img = "\n".join(lambda_target.plan(stage, IMAGE))
    assert "image shop-clean from ECR" in img and "Lambda Web Adapter" in img and "ECR repository shop-clean" in img
    assert "alias" not in "\n".join(lambda_target.plan(stage, PLAIN))


def test_the_one_image_carries_the_pinned_lambda_web_adapter_extension():
    lines = [line.strip() for line in (REPO_ROOT / "deployment" / "Dockerfile").read_text().splitlines()]
    (source,) = [line for line in lines if line.startswith("FROM public.ecr.aws/awsguru/aws-lambda-adapter:")]
    version = source.split(":", 1)[1].split()[0]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"pin the adapter to a release, not {version}"
    assert source.endswith("AS lambda-web-adapter")
    # Lambda starts the executables in /opt/extensions; the app itself stays the image's non-root command
    copy = "COPY --from=lambda-web-adapter /lambda-adapter /opt/extensions/lambda-adapter"
    assert lines.index(copy) < lines.index("USER 10001:10001")


# --- make coldstart with SnapStart, on the local Lambda -------------------------------------------------

TINY = """
import os
def handler(event, context):
    return {"statusCode": 200, "body": os.environ.get("COLDSTART_NONCE", "")}
"""


@pytest.mark.e2e
def test_a_forced_snapstart_cold_start_restores_a_snapshot_taken_before_the_timed_request(local_aws, tmp_path):
    from shopctl.lambda_local import testing

    name = f"ll-coldstart-snap-{uuid.uuid4().hex[:6]}"
    testing.deploy(name, testing.build_zip({"app.py": TINY}), timeout=10)
    lambda_function.publish_to_alias(name, lambda _: None)  # deploy's SNAPSTART=1 steps
    running = testing.start(name, tmp_path / "lambda.log", "--snapstart", timeout=60)
    published: list[str] = []
    record = lambda params, **_: published.append(params["FunctionName"])  # noqa: E731
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("provide-client-params.lambda.PublishVersion", record)
    try:
        rows = coldstart.measure(name, running.url, runs=2, warm=1, quiet=True)  # finds the alias itself
        status = running.status()
    finally:
        boto3.DEFAULT_SESSION.events.unregister("provide-client-params.lambda.PublishVersion", record)
        running.stop()
    for row in rows:
        assert row.restore_ms is not None and row.init_ms is None, row
        assert len(row.warm_ms) == 1
    # Each run published a version and moved the alias to it...
    assert published == [name, name]
    assert boto3.client("lambda").get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "3"
    # ...and the snapshot of each new configuration was taken while coldstart waited, untimed: no timed
    # request had to wait for init (the local Lambda counts those that did).
    assert status["requestsWaitedForSnapshot"] == 0
    assert status["snapshot"]["fingerprint"] == status["fingerprint"]
    boto3.client("lambda").delete_function(FunctionName=name)


def test_make_deploy_refuses_snapstart_on_an_old_python_before_asking_for_credentials(monkeypatch, capsys):
    from shopctl import cli

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")  # no credentials anywhere
    argv = ["deploy", "--stage", "clean", "--target", "lambda", "--env", "aws", "--snapstart", "--python", "3.11"]
    assert cli.main(argv) != 0
    err = capsys.readouterr().err
    assert "SnapStart needs Python 3.12 or later" in err and "credentials" not in err


def test_a_run_reads_the_reports_of_its_own_requests_not_an_earlier_run_s(aws):
    """`make coldstart` reads REPORT lines from a second before its request (clock slack): an earlier run's
    can be there, and this run's may not be shipped yet — it waits for its own, by request id."""
    logs = boto3.client("logs")
    group, now = "/aws/lambda/shop-clean", int(time.time() * 1000)
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")

    def report(request_id: str, ts: int, cold: str = "") -> dict:
        line = f"REPORT RequestId: {request_id}\tDuration: 2.00 ms\tBilled Duration: 3 ms\tMemory Size: 512 MB\t"
        return {"timestamp": ts, "message": line + f"Max Memory Used: 80 MB{cold}"}

    earlier = [report("old-cold", now - 900, "\tRestore Duration: 9.00 ms"), report("old-warm", now - 800)]
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=earlier)
    ours = [report("new-cold", now - 10, "\tRestore Duration: 7.00 ms"), report("new-warm", now)]
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=ours)
    found = coldstart.read_reports("shop-clean", now - 1000, request_ids=["new-cold", "new-warm"], timeout=1)
    assert [r.request_id for r in found] == ["new-cold", "new-warm"] and found[0].restore_ms == 7.0
    waited = coldstart.read_reports("shop-clean", now - 1000, request_ids=["new-cold", "not-yet"], timeout=0.5)
    assert [r.request_id for r in waited] == ["new-cold"]  # gave up after the timeout, an earlier run's not taken
