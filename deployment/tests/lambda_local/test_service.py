"""The local Lambda end to end: functions in the local AWS, served by `python -m shopctl.lambda_local`.

Every scenario deploys its own function (a small ZIP uploaded to S3) and has its own service (all
started at once), then the tests look at what a learner would: HTTP responses and CloudWatch Logs.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest

from shopctl import httpclient
from shopctl.lambda_local import testing

pytestmark = pytest.mark.e2e

APP = """
import json, logging, os, sys, time

print("init: cold start of", os.environ["AWS_LAMBDA_FUNCTION_NAME"])


def handler(event, context):
    path = event["rawPath"]
    print(f"handling {path}")
    if path == "/boom":
        raise ValueError("boom")
    if path == "/exit":
        os._exit(3)
    if path == "/sleep":
        time.sleep(float(event["queryStringParameters"]["s"]))
    if path == "/inside":
        import boto3  # not in the package: the runtime provides the AWS SDK, as on Lambda

        logging.getLogger().warning("a warning from %s", path)
        return {
            "sys_path": sys.path,
            "environ": dict(os.environ),
            "account": boto3.client("sts").get_caller_identity()["Account"],
            "context": {
                "function_name": context.function_name,
                "function_version": context.function_version,
                "invoked_function_arn": context.invoked_function_arn,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "aws_request_id": context.aws_request_id,
                "log_group_name": context.log_group_name,
                "log_stream_name": context.log_stream_name,
                "remaining": context.get_remaining_time_in_millis(),
            },
        }
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"greeting": os.environ.get("GREETING"), "stream": context.log_stream_name,
                            "pid": os.getpid(), "version": "v1"}),
    }
"""

STREAM = re.compile(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}")


MISSING_DEPENDENCY = "import fastapi\n\n\ndef handler(event, context):\n    return 1\n"

# One function and one service per scenario, all deployed and started at once (in parallel).
SCENARIOS = {
    "warm": {},
    "config": {},
    "redeploy": {},
    "concurrency": {"args": ("--max-concurrency", "2")},
    "shared": {},  # for the tests that do not care whether an environment is cold or warm
    "timeout": {"timeout": 1},
    "idle": {"args": ("--idle-timeout", "0.3")},
    "missing-module": {"handler": "missing.handler"},
    "missing-handler": {"handler": "app.nope"},
    # fastapi is installed here, but not in the package: the import fails as on AWS
    "missing-dependency": {"files": {"app.py": MISSING_DEPENDENCY}},
}


@pytest.fixture(scope="module")
def fleet(local_aws, tmp_path_factory) -> dict[str, testing.RunningLambda]:
    logs = tmp_path_factory.mktemp("lambda-local")
    services = {}
    try:
        for key, spec in SCENARIOS.items():
            name = f"ll-{key}-{uuid.uuid4().hex[:6]}"
            package = testing.build_zip(spec.get("files") or {"app.py": APP})
            testing.deploy(
                name,
                package,
                handler=spec.get("handler", "app.handler"),
                variables={"GREETING": "hi"},
                timeout=spec.get("timeout", 3),
            )
            services[key] = testing.spawn(name, logs / f"{key}.log", *spec.get("args", ()))
        for service in services.values():
            service.wait_ready()
        yield services
    finally:
        testing.stop_all(list(services.values()))


def reports(messages: list[str]) -> list[str]:
    return [m for m in messages if m.startswith("REPORT ")]


def report_for(messages: list[str], request_id: str) -> str:
    return next(m for m in messages if m.startswith(f"REPORT RequestId: {request_id}\t"))


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in state


def test_cold_start_then_warm_reuse_with_lambda_logs(fleet):
    fn = fleet["warm"]
    first = httpclient.get(f"{fn.url}/hello?x=1")
    second = httpclient.get(f"{fn.url}/hello")
    assert first.status_code == second.status_code == 200
    assert first.json()["greeting"] == "hi"
    assert first.json()["stream"] == second.json()["stream"]  # the same (warm) execution environment
    assert first.json()["pid"] == second.json()["pid"]
    stream = first.json()["stream"]
    assert STREAM.fullmatch(stream)

    ids = [first.headers["x-amzn-requestid"], second.headers["x-amzn-requestid"]]
    messages = testing.wait_for_logs(fn.name, lambda m: len(reports(m)) >= 2, stream=stream)
    cold, warm = report_for(messages, ids[0]), report_for(messages, ids[1])
    assert re.search(r"\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\t", cold)
    assert re.search(r"Max Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms\t", cold)
    assert "Init Duration" not in warm
    assert any(m.startswith("INIT_START Runtime Version: python:") for m in messages)
    assert f"init: cold start of {fn.name}\n" in messages
    # START, the function's output, END, REPORT: in that order, per request
    for request_id in ids:
        start = messages.index(f"START RequestId: {request_id} Version: $LATEST\n")
        end = messages.index(f"END RequestId: {request_id}\n")
        assert (
            start
            < messages.index("handling /hello\n", start)
            < end
            < messages.index(report_for(messages, request_id))
        )
    status = fn.status()
    assert [env["invocations"] for env in status["environments"]] == [2]
    assert "START RequestId" in fn.output()  # log lines are echoed to the service's own log too


def test_configuration_or_code_change_forces_a_cold_start(fleet):
    configured, redeployed = fleet["config"], fleet["redeploy"]
    before = {fn.name: httpclient.get(f"{fn.url}/").json() for fn in (configured, redeployed)}
    boto3.client("lambda").update_function_configuration(
        FunctionName=configured.name, Environment={"Variables": {"GREETING": "changed"}}
    )
    new_code = testing.build_zip({"app.py": APP.replace('"version": "v1"', '"version": "v2"')})
    testing.deploy(redeployed.name, new_code, variables={"GREETING": "hi"})  # a re-deploy
    time.sleep(1.05)  # the configuration is re-read at most once a second

    after = httpclient.get(f"{configured.url}/")
    assert after.json()["greeting"] == "changed"
    assert after.json()["stream"] != before[configured.name]["stream"]
    messages = testing.wait_for_logs(configured.name, lambda m: len(reports(m)) >= 2)
    assert "Init Duration" in report_for(messages, after.headers["x-amzn-requestid"])

    after_deploy = httpclient.get(f"{redeployed.url}/").json()
    assert after_deploy["version"] == "v2"
    assert after_deploy["stream"] != before[redeployed.name]["stream"]
    assert not any(alive(old["pid"]) for old in before.values())  # the old environments are gone


def test_concurrent_requests_get_their_own_environments_and_excess_is_throttled(fleet):
    fn = fleet["concurrency"]
    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(lambda _: httpclient.get(f"{fn.url}/sleep?s=0.8", timeout=10), range(3)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 200, 429]
    throttled = next(r for r in responses if r.status_code == 429)
    assert throttled.json() == {"Message": "Rate Exceeded."}
    streams = {r.json()["stream"] for r in responses if r.status_code == 200}
    assert len(streams) == 2
    assert len(fn.status()["environments"]) == 2
    messages = testing.wait_for_logs(fn.name, lambda m: len(reports(m)) >= 2)
    assert all("Init Duration" in line for line in reports(messages))  # both were cold starts


def test_unhandled_exception_is_a_502_logged_like_lambda(fleet):
    fn = fleet["shared"]
    boom = httpclient.get(f"{fn.url}/boom")
    assert boom.status_code == 502
    assert boom.json() == {"Message": "Internal Server Error"}
    after = httpclient.get(f"{fn.url}/hello")
    assert after.status_code == 200  # the environment survives a function error

    request_id = boom.headers["x-amzn-requestid"]
    messages = testing.wait_for_logs(fn.name, lambda m: len(reports(m)) >= 2)
    error = next(m for m in messages if m.startswith("[ERROR] ValueError: boom"))
    assert "Traceback (most recent call last):" in error and 'raise ValueError("boom")' in error
    assert "Status:" not in report_for(messages, request_id)

    crash = httpclient.get(f"{fn.url}/exit")  # the runtime process itself dies
    assert crash.status_code == 502
    messages = testing.wait_for_logs(fn.name, lambda m: len(reports(m)) >= 3)
    report = report_for(messages, crash.headers["x-amzn-requestid"])
    assert "Status: error\tError Type: Runtime.ExitError" in report
    assert any("Runtime exited with error: exit status 3" in m for m in messages)
    fresh = httpclient.get(f"{fn.url}/hello")
    assert fresh.status_code == 200 and fresh.json()["stream"] != after.json()["stream"]


def test_timeout_kills_the_environment(fleet):
    fn = fleet["timeout"]
    warm = httpclient.get(f"{fn.url}/hello").json()
    started = time.monotonic()
    slow = httpclient.get(f"{fn.url}/sleep?s=10", timeout=10)
    assert slow.status_code == 502
    assert time.monotonic() - started < 3
    messages = testing.wait_for_logs(fn.name, lambda m: len(reports(m)) >= 2)
    request_id = slow.headers["x-amzn-requestid"]
    assert any(m.endswith(f" {request_id} Task timed out after 1.00 seconds\n") for m in messages)
    assert "Status: timeout" in report_for(messages, request_id)
    assert not alive(warm["pid"])
    after = httpclient.get(f"{fn.url}/hello")
    assert after.status_code == 200 and after.json()["stream"] != warm["stream"]


@pytest.mark.parametrize(
    ("scenario", "error_type", "message"),
    [
        ("missing-module", "Runtime.ImportModuleError", "Unable to import module 'missing'"),
        ("missing-handler", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'"),
        ("missing-dependency", "Runtime.ImportModuleError", "No module named 'fastapi'"),
    ],
)
def test_init_failures_are_502_with_the_runtime_error(fleet, scenario, error_type, message):
    fn = fleet[scenario]
    for _ in range(2):  # every request tries a fresh environment, and none hangs
        started = time.monotonic()
        response = httpclient.get(f"{fn.url}/hello", timeout=10)
        assert response.status_code == 502
        assert time.monotonic() - started < 5
    messages = testing.wait_for_logs(fn.name, lambda m: len(reports(m)) >= 2)
    assert any(m.startswith(f"[ERROR] {error_type}: ") and message in m for m in messages)
    assert any(
        m.startswith("INIT_REPORT Init Duration: ") and f"Status: error\tError Type: {error_type}" in m
        for m in messages
    )
    assert all(f"Status: error\tError Type: {error_type}" in line for line in reports(messages))
    assert fn.status()["environments"] == []


def test_the_environment_is_isolated_and_looks_like_lambda(fleet):
    fn = fleet["shared"]
    response = httpclient.get(f"{fn.url}/inside")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"  # a plain dict: Lambda infers the rest
    inside = response.json()
    environ = inside["environ"]
    task_root, runtime_dir = environ["LAMBDA_TASK_ROOT"], environ["LAMBDA_RUNTIME_DIR"]
    assert inside["sys_path"][:2] == [task_root, runtime_dir]
    assert not any("site-packages" in p or ".venv" in p for p in inside["sys_path"])
    assert {
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.name}",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "_HANDLER": "app.handler",
        "TZ": ":UTC",
        "AWS_REGION": "us-east-1",
        "GREETING": "hi",
        "PYTHONUNBUFFERED": "1",
    }.items() <= environ.items()
    assert STREAM.fullmatch(environ["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert environ["AWS_ENDPOINT_URL"] == os.environ["AWS_ENDPOINT_URL"]
    assert "SHOP_RUN_DIR" not in environ and "VIRTUAL_ENV" not in environ  # nothing else leaks in
    assert inside["account"] == "123456789012"  # boto3 reached the local AWS with the passed credentials
    context = inside["context"]
    assert context["aws_request_id"] == response.headers["x-amzn-requestid"]
    assert context["invoked_function_arn"].endswith(f":function:{fn.name}")
    assert context["log_stream_name"] == environ["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert (context["function_version"], context["memory_limit_in_mb"]) == ("$LATEST", "128")
    assert 0 < context["remaining"] <= 3000
    messages = testing.wait_for_logs(fn.name, lambda m: any("a warning from" in x for x in m))
    warning = next(m for m in messages if "a warning from" in m)
    timestamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    request_id = context["aws_request_id"]
    assert re.fullmatch(rf"\[WARNING\]\t{timestamp}\t{request_id}\ta warning from /inside\n", warning)


def test_idle_environments_are_recycled_and_sigterm_stops_everything(fleet):
    fn = fleet["idle"]
    first = httpclient.get(f"{fn.url}/hello").json()
    deadline = time.monotonic() + 3
    while fn.status()["environments"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fn.status()["environments"] == []
    assert not alive(first["pid"])
    again = httpclient.get(f"{fn.url}/hello").json()
    assert again["stream"] != first["stream"]  # cold again

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: httpclient.get(f"{fn.url}/sleep?s=0.3"), range(2)))
    pids = [env["pid"] for env in fn.status()["environments"]]
    assert pids and all(alive(pid) for pid in pids)
    assert fn.stop() == 0  # SIGTERM: a clean shutdown
    assert not any(alive(pid) for pid in pids)
    assert "stopped" in fn.output()


def test_garbage_gets_a_4xx_and_the_service_keeps_serving(fleet):
    fn = fleet["shared"]
    with socket.create_connection(("127.0.0.1", fn.port), timeout=5) as sock:
        sock.sendall(b"\x16\x03\x01 NOT HTTP AT ALL\r\n\r\n")
        reply = sock.recv(1024)
    assert reply.startswith(b"HTTP/1.1 4")
    assert httpclient.get(f"{fn.url}/__lambda_local__/nope").status_code == 404
    response = httpclient.post(f"{fn.url}/hello", content=b"\xff\xfe binary", headers={"content-type": "x/y"})
    assert response.status_code == 200
    status = fn.status()
    assert status["function"] == fn.name and len(status["environments"]) == 1
    assert json.loads(json.dumps(status))  # plain JSON
