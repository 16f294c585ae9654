"""A container image on the local Lambda, behind what the Lambda Web Adapter does on AWS.

An image function (PackageType Image) runs the image's command — the stage's uvicorn server, as ECS and
EKS run it — and the local Lambda plays the adapter: readiness check, then each Function URL event
forwarded as an HTTP request to the app. The clean stage answers the same through it as through its ZIP.
"""

from __future__ import annotations

import base64
import json
import re
import uuid

import httpx
import pytest

from shopctl import httpclient
from shopctl.aws import resources
from shopctl.lambda_local import testing, web_adapter
from shopctl.package import Platform, build
from shopctl.stages import get_stage

# --- the adapter's translation (pure functions) ---------------------------------------------------


def test_event_becomes_the_http_request_the_app_receives():
    event = {
        "rawPath": "/users",
        "rawQueryString": "limit=2&next=a%20b",
        "cookies": ["a=1", "b=2"],
        "headers": {"content-type": "application/json", "x-forwarded-for": "1.2.3.4", "content-length": "9"},
        "requestContext": {"http": {"method": "POST"}, "requestId": "r-1"},
        "body": base64.b64encode(b'{"x": 1}').decode(),
        "isBase64Encoded": True,
    }
    method, target, headers, body = web_adapter.to_request(event)
    assert (method, target, body) == ("POST", "/users?limit=2&next=a%20b", b'{"x": 1}')
    as_dict = dict(headers)
    assert as_dict["cookie"] == "a=1; b=2"
    assert "content-length" not in as_dict  # the connection's business, recomputed when sent
    assert json.loads(as_dict["x-amzn-request-context"])["requestId"] == "r-1"


def test_http_response_becomes_the_function_url_response():
    text = web_adapter.to_payload(
        201, [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-A", "1"),
              ("X-A", "2"), ("Content-Length", "7")], b'{"a":1}'
    )
    assert text == {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-a": "1,2"},
        "cookies": ["a=1", "b=2"],
        "body": '{"a":1}',
        "isBase64Encoded": False,
    }
    binary = web_adapter.to_payload(200, [("content-type", "image/png")], b"\x89PNG")
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x89PNG"


def test_the_image_command_runs_on_this_python_on_its_own_port():
    command = ("python", "-m", "uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8080")
    assert web_adapter.command_for(command, python="/venv/bin/python", port=4321) == [
        "/venv/bin/python", "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", "4321"
    ]
    assert web_adapter.healthy_statuses("200-204,301") == {200, 201, 202, 203, 204, 301}
    assert web_adapter.healthy_statuses("") == set(range(100, 500))


# --- end to end -----------------------------------------------------------------------------------

REPORT = re.compile(r"^REPORT RequestId: (\S+)\t")


@pytest.fixture(scope="module")
def clean(local_aws, tmp_path_factory):
    """The clean stage twice on the same tables: its ZIP (Mangum) and its image's command (uvicorn)."""
    logs = tmp_path_factory.mktemp("web-adapter")
    stage = get_stage("clean")
    service = stage.service("app")
    tables = resources.TableNames.for_deployment(f"lwa-{uuid.uuid4().hex[:8]}")
    resources.ensure_tables(tables)
    variables = {"RUNTIME": "LAMBDA", **{resources.env_name(k): v for k, v in tables.settings().items()}}
    suffix = uuid.uuid4().hex[:6]
    zip_name, image_name = f"ll-lwa-zip-{suffix}", f"ll-lwa-image-{suffix}"
    testing.deploy(
        zip_name, build(stage, service, Platform.local(), quiet=True).data, handler=service.handler,
        variables=variables, timeout=10, memory=256,
    )
    # The command of deployment/Dockerfile (and of the ECS task and the EKS pod) for this service.
    command = ["python", "-m", "uvicorn", service.asgi, "--host", "0.0.0.0", "--port", "8080"]
    testing.deploy_image(
        image_name, command, variables={**variables, "AWS_LWA_READINESS_CHECK_PATH": "/health"}, timeout=10,
        memory=256,
    )
    services = {
        "zip": testing.spawn(zip_name, logs / "zip.log"),
        "image": testing.spawn(image_name, logs / "image.log"),
    }
    try:
        for running in services.values():
            running.wait_ready()
        yield services
    finally:
        testing.stop_all(list(services.values()))


def _same(zip_response: httpx.Response, image_response: httpx.Response) -> None:
    assert image_response.status_code == zip_response.status_code
    assert image_response.headers["content-type"] == zip_response.headers["content-type"]
    assert image_response.json() == zip_response.json()


@pytest.mark.e2e
def test_the_image_answers_as_the_zip_does(clean):
    zip_url, image_url = clean["zip"].url, clean["image"].url
    created = httpclient.post(f"{image_url}/users", json={"name": "Ada", "email": "ada@example.com"}, timeout=30)
    assert created.status_code == 201, created.text
    user = created.json()
    order = {"user_id": user["id"], "product": "book", "quantity": 2}
    made = httpclient.post(f"{zip_url}/orders", json=order, timeout=30)
    assert made.status_code == 201, made.text
    for method, path, body in [
        ("GET", "/health", None),
        ("GET", f"/users/{user['id']}", None),
        ("GET", f"/orders?user_id={user['id']}", None),
        ("GET", f"/users/{uuid.uuid4()}", None),
        ("GET", "/users/not-a-uuid", None),
        ("POST", "/users", {"name": "", "email": "nope"}),
        ("GET", "/no/such/route", None),
    ]:
        responses = [
            httpclient.request(method, f"{url}{path}", json=body, timeout=30) for url in (zip_url, image_url)
        ]
        _same(*responses)
    gone = httpclient.request("DELETE", f"{image_url}/orders/{made.json()['id']}", timeout=30)
    assert gone.status_code == 204
    assert httpclient.get(f"{zip_url}/orders/{made.json()['id']}", timeout=30).status_code == 404


@pytest.mark.e2e
def test_cold_then_warm_with_lambda_report_lines(clean):
    fn = clean["image"]
    first = httpclient.get(f"{fn.url}/health", timeout=30)
    second = httpclient.get(f"{fn.url}/health", timeout=30)
    assert first.status_code == second.status_code == 200
    ids = [first.headers["x-amzn-requestid"], second.headers["x-amzn-requestid"]]
    messages = testing.wait_for_logs(
        fn.name, lambda m: {REPORT.match(x).group(1) for x in m if REPORT.match(x)} >= set(ids)
    )
    reports = {REPORT.match(x).group(1): x for x in messages if REPORT.match(x)}
    environments = fn.status()["environments"]
    assert len(environments) == 1 and environments[0]["initDurationMs"] is not None
    cold_reports = [line for line in reports.values() if "Init Duration" in line]
    assert len(cold_reports) == 1  # one environment, one cold start: its first request
    assert "Init Duration" not in reports[ids[1]]
    assert any(m.startswith("INIT_START ") for m in messages)
    # the server's own output is the function's log, as on AWS
    assert any("Uvicorn running on" in m or "Application startup complete" in m for m in messages)


@pytest.fixture(scope="module")
def broken(local_aws, tmp_path_factory):
    logs = tmp_path_factory.mktemp("web-adapter-broken")
    suffix = uuid.uuid4().hex[:6]
    commands = {
        "never-ready": ["python", "-c", "import time; time.sleep(120)"],
        "exits": ["python", "-c", "raise SystemExit(3)"],
    }
    services = {}
    try:
        for key, command in commands.items():
            name = f"ll-lwa-{key}-{suffix}"
            testing.deploy_image(name, command, variables={"AWS_LWA_READINESS_CHECK_PATH": "/health"})
            services[key] = testing.spawn(name, logs / f"{key}.log")
        for running in services.values():
            running.wait_ready()
        yield services
    finally:
        testing.stop_all(list(services.values()))


@pytest.mark.e2e
def test_a_server_that_never_becomes_ready_fails_the_init_with_one_line(broken):
    fn = broken["never-ready"]
    response = httpclient.get(f"{fn.url}/health", timeout=60)
    assert response.status_code == 502
    messages = testing.wait_for_logs(fn.name, lambda m: any(x.startswith("INIT_REPORT") for x in m))
    errors = [m for m in messages if m.startswith("Error: ")]
    assert len(errors) == 1
    assert errors[0].startswith("Error: the web app was not ready within 10 s: no answer to GET /health on port ")
    assert "hint:" in errors[0] and errors[0].count("\n") == 1
    assert any(re.match(r"INIT_REPORT Init Duration: \S+ ms\tPhase: init\tStatus: timeout\n", m) for m in messages)
    assert fn.status()["environments"] == []  # the failed environment is gone


@pytest.mark.e2e
def test_a_server_that_exits_fails_the_init_with_its_exit_status(broken):
    fn = broken["exits"]
    assert httpclient.get(f"{fn.url}/", timeout=30).status_code == 502
    messages = testing.wait_for_logs(fn.name, lambda m: any(x.startswith("INIT_REPORT") for x in m))
    assert "Error: Runtime exited with error: exit status 3\n" in messages
    assert any("Status: error\tError Type: Runtime.ExitError" in m for m in messages)
