"""Helpers to exercise the local Lambda end to end (used by the tests; handy in a notebook too).

Everything goes through the local AWS exactly as deploy does: the package is uploaded with
`shopctl.aws.artifacts.upload`, the function created with boto3, and the service started as the
`python -m shopctl.lambda_local` process deploy starts.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from botocore.exceptions import ClientError

from shopctl import httpclient
from shopctl.aws import artifacts, clients
from shopctl.lambda_local import STATUS_PATH
from shopctl.lambda_local.logs import log_group_name
from shopctl.local.net import free_port

DEPLOYMENT_DIR = Path(__file__).resolve().parents[2]  # what makes `import shopctl` work

LAMBDA_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def ensure_role(name: str = "lambda-local-test") -> str:
    iam = clients.client("iam")
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except ClientError:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY))[
            "Role"
        ]["Arn"]


def build_zip(files: dict[str, str | bytes], *, distributions: list[str] = ()) -> bytes:
    """A deployment package: `files` (archive path → content) plus installed distributions and
    everything they require, copied from this virtualenv the way `pip install -t` would lay them out."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for dist in requirement_closure(distributions):
            for file in dist.files or []:
                name = str(file)
                if name.startswith("..") or "__pycache__" in name or name.endswith(".pyc"):
                    continue
                archive.write(dist.locate_file(file), name)
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def requirement_closure(names) -> list[metadata.Distribution]:
    from packaging.requirements import Requirement

    seen: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        dist = metadata.distribution(todo.pop())
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen[key] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(seen.values())


def deploy(
    name: str,
    package: bytes,
    *,
    handler: str = "app.handler",
    runtime: str = "python3.11",
    variables: dict[str, str] | None = None,
    timeout: int = 3,
    memory: int = 128,
) -> dict:
    """Upload `package` and create (or update) the function `name` to run it."""
    bucket, key = artifacts.upload(name, package)
    client = clients.client("lambda")
    settings = {
        "Handler": handler,
        "Runtime": runtime,
        "Timeout": timeout,
        "MemorySize": memory,
        "Environment": {"Variables": variables or {}},
    }
    try:
        client.get_function_configuration(FunctionName=name)
    except ClientError:
        return client.create_function(
            FunctionName=name, Role=ensure_role(), Code={"S3Bucket": bucket, "S3Key": key}, **settings
        )
    client.update_function_code(FunctionName=name, S3Bucket=bucket, S3Key=key)
    return client.update_function_configuration(FunctionName=name, **settings)


def deploy_image(
    name: str,
    command: list[str],
    *,
    image_uri: str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:local",
    variables: dict[str, str] | None = None,
    timeout: int = 3,
    memory: int = 128,
) -> dict:
    """Create (or update) the image function `name`: the image's command `command` (Lambda Web Adapter)."""
    client = clients.client("lambda")
    settings = {
        "Timeout": timeout,
        "MemorySize": memory,
        "Environment": {"Variables": variables or {}},
        "ImageConfig": {"Command": command},
    }
    try:
        client.get_function_configuration(FunctionName=name)
    except ClientError:
        return client.create_function(
            FunctionName=name, Role=ensure_role(), PackageType="Image", Code={"ImageUri": image_uri}, **settings
        )
    client.update_function_code(FunctionName=name, ImageUri=image_uri)
    return client.update_function_configuration(FunctionName=name, **settings)


@dataclass
class RunningLambda:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    terminated: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def status(self) -> dict:
        return httpclient.get(self.url + STATUS_PATH, timeout=5).json()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready: " in self.output():  # the service's own line (not SnapStart's "snapshot ready (…)")
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"lambda_local exited ({self.proc.returncode}):\n{self.output()}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"lambda_local not ready within {timeout}s:\n{self.output()}")

    def terminate(self) -> None:
        """SIGTERM, as deploy stops it (shopctl.local.localaws.terminate signals the process group)."""
        if self.proc.poll() is None and not self.terminated:
            self.terminated = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> int | None:
        """Terminate and wait; SIGKILL if it does not stop in time. Returns the exit status."""
        self.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        return self.proc.returncode


def spawn(name: str, log: Path, *args: str, port: int | None = None) -> RunningLambda:
    """Start `python -m shopctl.lambda_local` for `name` (its output goes to `log`); see wait_ready()."""
    port = port or free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(DEPLOYMENT_DIR), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "shopctl.lambda_local", "--function-name", name, "--port", str(port), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return RunningLambda(name, port, proc, log)


def start(name: str, log: Path, *args: str, port: int | None = None, timeout: float = 20.0) -> RunningLambda:
    """Start the local Lambda for `name` and wait for its "ready" line."""
    running = spawn(name, log, *args, port=port)
    running.wait_ready(timeout)
    return running


def stop_all(services: list[RunningLambda]) -> None:
    """SIGTERM them all at once, then wait for each."""
    for service in services:
        service.terminate()
    for service in services:
        service.stop()


def log_messages(name: str, stream: str | None = None) -> list[str]:
    """Every message of the function's log group (or of one stream), oldest first."""
    client = clients.client("logs")
    kwargs: dict = {"logGroupName": log_group_name(name)}
    if stream:
        kwargs["logStreamNames"] = [stream]
    messages: list[tuple[int, str]] = []
    try:
        for page in client.get_paginator("filter_log_events").paginate(**kwargs):
            messages += [(event["timestamp"], event["message"]) for event in page["events"]]
    except ClientError:
        return []
    return [message for _, message in messages]


def wait_for_logs(name: str, predicate, *, stream: str | None = None, timeout: float = 5.0) -> list[str]:
    """Poll the function's logs until `predicate(messages)` holds; returns the messages either way."""
    deadline = time.monotonic() + timeout
    while True:
        messages = log_messages(name, stream)
        if predicate(messages) or time.monotonic() > deadline:
            return messages
        time.sleep(0.1)


class MemoryLogs:
    """A LogWriter's `put`, kept in memory as (stream, message) pairs: what an execution environment logged."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def put(self, stream: str, message: str, timestamp: int | None = None) -> None:
        self.lines.append((stream, message))

    def messages(self) -> list[str]:
        return [message for _, message in self.lines]

    def starting(self, prefix: str) -> list[str]:
        return [m for m in self.messages() if m.startswith(prefix)]

    def of(self, stream: str) -> list[str]:
        return [message for s, message in self.lines if s == stream]
