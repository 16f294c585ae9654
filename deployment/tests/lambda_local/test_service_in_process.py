"""shopctl.lambda_local.service, in this process: the local Lambda service for one function of an in-process
moto account, driven through its request handler and its ASGI interface — a request becomes an invocation
of a warm or cold environment, a function error a 502, the concurrency limit a 429, a changed configuration
new environments, a deleted function a 404; its own status endpoint; stale code cleared at load.
(The same service as a process, end to end, is in test_service.py.)"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from shopctl.lambda_local import STATUS_PATH, function, testing
from shopctl.lambda_local.events import HttpRequest
from shopctl.lambda_local.service import LambdaService, install_runtime, python_version, trace_id

APP = """
import json, os, time


def handler(event, context):
    path = event["rawPath"]
    if path == "/boom":
        raise ValueError("boom")
    if path == "/sleep":
        time.sleep(0.6)
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"pid": os.getpid(), "path": path, "greeting": os.environ.get("GREETING")})}
"""


@pytest.fixture
def service(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaService]:
    monkeypatch.setattr(function, "REFRESH_SECONDS", 0.0)  # see every change at once, not within a second
    testing.deploy("inproc", testing.build_zip({"app.py": APP}), variables={"GREETING": "hello"})
    made = LambdaService("inproc", work_dir=tmp_path / "work", max_concurrency=1, idle_timeout=60)
    yield made
    made.close()


def get(service: LambdaService, path: str) -> tuple[int, dict, dict]:
    response = service.handle(HttpRequest("GET", path, "", [("host", "localhost")]))
    return response.status, dict(response.headers), json.loads(response.body or b"null")


def test_load_reads_the_function_and_clears_code_of_earlier_deployments(service: LambdaService) -> None:
    work = service.work_dir
    stale, unrelated = work / ("ab" * 32), work / "notes"
    stale.mkdir(parents=True)
    unrelated.mkdir()
    config = service.load()
    assert (config.name, config.handler, config.variables) == ("inproc", "app.handler", {"GREETING": "hello"})
    assert (work / config.code_hex / "app.py").exists()
    assert not stale.exists() and unrelated.exists()


def test_a_request_runs_the_function_cold_then_warm(service: LambdaService) -> None:
    service.load()
    status, headers, body = get(service, "/hello")
    assert status == 200
    assert (body["path"], body["greeting"]) == ("/hello", "hello")
    assert headers["x-amzn-requestid"]
    _, _, again = get(service, "/again")
    assert again["pid"] == body["pid"]  # the same warm environment
    (env,) = service.status()["environments"]
    assert (env["pid"], env["invocations"], env["state"]) == (body["pid"], 2, "idle")


def test_a_function_error_is_a_502_and_the_environment_stays_warm(service: LambdaService) -> None:
    service.load()
    _, _, first = get(service, "/hello")
    status, _, body = get(service, "/boom")
    assert (status, body) == (502, {"Message": "Internal Server Error"})
    assert get(service, "/hello")[2]["pid"] == first["pid"]


def test_beyond_the_concurrency_limit_a_request_is_throttled(service: LambdaService) -> None:
    service.load()
    get(service, "/warm-up")  # so the slow request below does not wait for a cold start
    slow = threading.Thread(target=get, args=(service, "/sleep"))
    slow.start()
    deadline = time.monotonic() + 5
    while not any(env["state"] == "busy" for env in service.status()["environments"]):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    status, _, body = get(service, "/hello")
    slow.join()
    assert (status, body) == (429, {"Message": "Rate Exceeded."})
    assert get(service, "/hello")[0] == 200  # the limit frees up with the slow request


def test_a_changed_configuration_gets_new_environments(service: LambdaService) -> None:
    service.load()
    _, _, before = get(service, "/hello")
    boto3.client("lambda").update_function_configuration(
        FunctionName="inproc", Environment={"Variables": {"GREETING": "bonjour"}}
    )
    assert service.status()["environments"] == []  # seen: the idle one of the old configuration retired
    _, _, after = get(service, "/hello")
    assert after["greeting"] == "bonjour"
    assert after["pid"] != before["pid"]
    assert len(service.status()["environments"]) == 1  # the previous configuration's is gone


def test_a_deleted_function_is_a_404(service: LambdaService) -> None:
    service.load()
    boto3.client("lambda").delete_function(FunctionName="inproc")
    status, _, body = get(service, "/hello")
    assert (status, body) == (404, {"Message": "Function not found: inproc"})


def test_a_closing_service_answers_503(service: LambdaService) -> None:
    service.load()
    service.closing = True
    assert get(service, "/hello")[0] == 503


def test_the_status_says_what_the_service_runs(service: LambdaService) -> None:
    config = service.load()
    status = service.status()
    assert status["function"] == "inproc"
    assert (status["codeSha256"], status["fingerprint"]) == (config.code_sha256, config.fingerprint)
    assert (status["maxConcurrency"], status["idleTimeout"], status["snapStart"]) == (1, 60, False)
    assert status["environments"] == [] and status["snapshot"] is None


def asgi(service: LambdaService, method: str, path: str, body: bytes = b"") -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=service)
        async with httpx.AsyncClient(transport=transport, base_url="http://lambda.local") as client:
            return await client.request(method, path, content=body)

    return asyncio.run(send())


def test_over_http_the_status_endpoint_is_the_services_and_the_rest_the_functions(service: LambdaService) -> None:
    service.load()
    status = asgi(service, "GET", STATUS_PATH)
    assert status.status_code == 200 and status.json()["function"] == "inproc"
    assert asgi(service, "GET", "/__lambda_local__/nothing").status_code == 404
    answered = asgi(service, "GET", "/users/42?x=1")
    assert answered.status_code == 200 and answered.json()["path"] == "/users/42"
    head = asgi(service, "HEAD", "/users/42")
    assert head.status_code == 200 and head.content == b""


def test_over_http_a_body_beyond_lambdas_payload_limit_is_a_413(service: LambdaService) -> None:
    service.load()
    too_large = asgi(service, "POST", "/users", body=b"x" * (6 * 1024 * 1024 + 1))
    assert too_large.status_code == 413
    assert service.status()["environments"] == []  # no invocation for it


def test_the_runtime_directory_holds_the_bootstrap_and_links_to_this_aws_sdk(tmp_path: Path) -> None:
    runtime = install_runtime(tmp_path / "runtime")
    assert (runtime / "bootstrap.py").read_text().startswith('"""The runtime inside one local Lambda')
    assert (runtime / "boto3").is_symlink()
    assert Path(os.readlink(runtime / "boto3")) == Path(boto3.__file__).parent
    assert install_runtime(tmp_path / "runtime") == runtime  # again: the links are kept


def test_the_python_version_and_a_trace_id() -> None:
    expected = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert python_version(sys.executable) == expected
    assert python_version(f"{Path(sys.executable).parent}/./{Path(sys.executable).name}") == expected  # asked
    root, epoch, rest = trace_id().split("-")
    assert root == "Root=1" and abs(int(epoch, 16) - time.time()) < 5 and len(rest) == 24
