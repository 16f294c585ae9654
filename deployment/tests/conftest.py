"""Fixtures for the deploy-code tests."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shopctl.aws import clients
from shopctl.local import strict

MOCK_REGION = "eu-west-1"


class Calls:
    """Every API call made through boto3's default session, in order, as (service, operation, params).

    The tests share one default session (per AWS environment) and so the clients made on it
    (shopctl.aws.clients): a new session per test made every client anew, ~10 ms of CPU each, a few per test.
    The session's one recording hook hands each call to the current test's Calls; the hooks a test adds
    (`before`, `on_response`) are taken off again when it ends, with the clients that carry them."""

    current: Calls | None = None
    _shared: tuple[tuple[tuple[str, str], ...], boto3.session.Session] | None = None

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self._hooks: list[tuple[str, Callable[..., None]]] = []
        environment = clients.environment()  # a session keeps the credentials it first found
        if Calls._shared is None or Calls._shared[0] != environment:
            boto3.setup_default_session()
            boto3.DEFAULT_SESSION.events.register("provide-client-params", Calls._to_current)
            Calls._shared = (environment, boto3.DEFAULT_SESSION)
        boto3.DEFAULT_SESSION = Calls._shared[1]
        Calls.current = self

    @staticmethod
    def _to_current(params: dict[str, Any], event_name: str, **_: Any) -> None:
        if Calls.current is not None:
            _, service, operation = event_name.split(".")
            Calls.current.sent.append((service, operation, dict(params)))

    def operations(self, service: str | None = None) -> list[str]:
        return [f"{s}.{op}" for s, op, _ in self.sent if service in (None, s)]

    def params(self, service: str, operation: str) -> list[dict[str, Any]]:
        return [p for s, op, p in self.sent if (s, op) == (service, operation)]

    def on_response(self, service: str, operation: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Let `change` edit the parsed response of every later `operation` call (what moto cannot show)."""
        self._hook(f"after-call.{service}.{operation}", lambda parsed, **_: change(parsed))

    def before(self, service: str, operation: str, action: Callable[[], None]) -> None:
        """Run `action` before every later `operation` call is sent; it may raise a ClientError."""
        self._hook(f"before-call.{service}.{operation}", lambda **_: action())

    def _hook(self, event: str, handler: Callable[..., None]) -> None:
        boto3.DEFAULT_SESSION.events.register(event, handler)
        self._hooks.append((event, handler))
        clients.forget()  # a client takes the session's hooks when it is made: the next ones get this one

    def close(self) -> None:
        Calls.current = None
        if self._hooks:
            assert Calls._shared is not None
            for event, handler in self._hooks:
                Calls._shared[1].events.unregister(event, handler)
            clients.forget()  # the clients made since carry the hooks


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    """An in-process moto account (the ENV=aws code path, no local AWS server), with its own run dir."""
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": MOCK_REGION,
        "AWS_REGION": MOCK_REGION,
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("SHOP_RUN_DIR", str(tmp_path / "run"))
    # moto starts no tasks; this is how many it reports running for a new ECS service (AWS: once they
    # pass their health checks). Tests of a rollout that never becomes healthy set it to 0.
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")
    # moto's EC2 otherwise makes ~1,300 AMIs (each with a volume and a snapshot) in every region it is asked
    # about: a sixth of this suite's CPU time, for images nothing here launches.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    strict.apply()  # the refusals of a real account, as the local AWS server has them
    with mock_aws():
        yield


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine with no AWS credentials anywhere boto3 looks (environment, files, instance metadata)."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                     "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def managed_policies(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS managed policies exist in a real account (the EKS Auto Mode roles attach some); moto loads them
    when asked, before its IAM backend is first used — only where needed, and (as in the local AWS) only in
    the standard partition: moto would build them six times over, a third of a second per test."""
    from shopctl.local.moto_server import managed_policies_in_one_partition

    managed_policies_in_one_partition()
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


@pytest.fixture
def pushed_images(aws: None) -> None:
    """Each stage's image already in ECR for the current code (as CI or an earlier deploy would leave it), so
    ENV=aws deploys find it instead of building with Docker."""
    import json

    import boto3

    from shopctl.aws.ecr import ensure_repository
    from shopctl.aws.image import content_tag
    from shopctl.stages import STAGES

    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"})
    for stage in STAGES.values():
        ensure_repository(stage.name)
        boto3.client("ecr").put_image(
            repositoryName=f"shop-{stage.name}", imageManifest=manifest, imageTag=content_tag(stage.name)
        )


@pytest.fixture
def aws_calls(aws: None) -> Iterator[Calls]:
    """The AWS API calls the code under test makes (botocore event hooks on boto3's default session)."""
    calls = Calls()
    yield calls
    calls.close()


FAKE_KUBECTL = f"""#!{sys.executable}
# A stand-in kubectl: records its arguments; `config view` answers the server of the kubeconfig it was
# given (or FAKE_KUBECTL_SERVER); `delete` exits with FAKE_KUBECTL_DELETE_EXIT.
import json, os, sys, yaml
args = sys.argv[1:]
with open(os.environ["FAKE_KUBECTL_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if "config" in args:
    config = yaml.safe_load(open(args[args.index("--kubeconfig") + 1]))
    context = next(c for c in config["contexts"] if c["name"] == args[args.index("--context") + 1])
    cluster = next(c for c in config["clusters"] if c["name"] == context["context"]["cluster"])
    print(os.environ.get("FAKE_KUBECTL_SERVER") or cluster["cluster"]["server"], end="")
if "delete" in args and os.environ.get("FAKE_KUBECTL_DELETE_EXIT", "0") != "0":
    print("error: the server has asked for the client to provide credentials", file=sys.stderr)
    sys.exit(int(os.environ["FAKE_KUBECTL_DELETE_EXIT"]))
"""


@pytest.fixture
def fake_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str, str], Path]:
    """Put a fake command first on PATH: `fake_cli(name, script, log_env)` writes the Python `script` as
    `name`, points the environment variable `log_env` at the file it records its calls in (not created
    until the fake first writes to it), and returns that file."""

    def install(name: str, script: str, log_env: str) -> Path:
        bin_dir = tmp_path / f"{name}-bin"
        bin_dir.mkdir()
        fake = bin_dir / name
        fake.write_text(script)
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
        log = tmp_path / f"{name}.log"
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv(log_env, str(log))
        return log

    return install


@pytest.fixture
def kubectl_calls(fake_cli: Callable[[str, str, str], Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake kubectl first on PATH; returns the file where it records its calls, one JSON list a line.
    `kubectl get service NAME` is answered as EKS Auto Mode would, from the local AWS's state
    (`strict.load_balancer_hostname`: an address only once a subnet of the cluster's VPC is tagged for
    internet-facing load balancers)."""
    from moto.core import DEFAULT_ACCOUNT_ID

    from shopctl.targets import kubectl

    log = fake_cli("kubectl", FAKE_KUBECTL, "FAKE_KUBECTL_LOG")
    log.touch()
    fake_cli("aws", f"#!{sys.executable}\n# the AWS CLI kubectl's exec plugin runs (never, here)\n", "FAKE_AWS_LOG")
    run = kubectl.Kubectl.run

    def as_eks_answers(self: kubectl.Kubectl, *args: str, stdin: str | None = None, what: str) -> str:
        out = run(self, *args, stdin=stdin, what=what)
        if args[:2] == ("get", "service"):
            service = next(a for a in args[2:] if not a.startswith("-") and a != args[args.index("-n") + 1])
            region = os.environ["AWS_REGION"]
            return strict.load_balancer_hostname(DEFAULT_ACCOUNT_ID, region, self.cluster.name, service) or ""
        return out

    monkeypatch.setattr(kubectl.Kubectl, "run", as_eks_answers)
    return log
