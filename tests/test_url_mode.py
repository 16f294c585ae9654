"""The contract suite's URL mode (tests/support/url_mode.py): its settings, the SigV4 signature every request
carries for an AWS_IAM Function URL, `shopctl urls`, and `make contract` run end to end against stages served
on this machine as `make run` serves them."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from shopctl import cli
from shopctl.aws import state
from shopctl.local import localaws
from shopctl.local.net import free_port
from shopctl.local.run import start_stage
from tests.support import url_mode
from tests.support.targets import LocalStages

REPO = Path(__file__).resolve().parents[1]
FUNCTION_URL = "https://abcdefghij.lambda-url.eu-west-2.on.aws"
CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "a-session-token")
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/(?P<day>\d{8})/(?P<region>[a-z0-9-]+)/lambda/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


# --- settings ------------------------------------------------------------------------------------------


def test_a_function_url_is_lambda_and_signed_for_the_region_in_its_host() -> None:
    at = url_mode.from_environ({"SHOP_CONTRACT_URL": FUNCTION_URL + "/", "SHOP_CONTRACT_STAGE": "clean"})
    assert (at.url, at.stage, at.target, at.region) == (FUNCTION_URL, "clean", "lambda", "eu-west-2")
    assert isinstance(at.auth(CREDENTIALS), url_mode.SigV4)
    assert at.deployed().base_url == FUNCTION_URL and at.deployed().target == "lambda"


def test_other_urls_are_not_signed_unless_asked() -> None:
    alb = {"SHOP_CONTRACT_URL": "http://shop-clean-ecs-1.eu-west-2.elb.amazonaws.com", "SHOP_CONTRACT_STAGE": "clean",
           "SHOP_CONTRACT_TARGET": "ecs", "AWS_REGION": "eu-west-1"}  # fmt: skip
    assert url_mode.from_environ(alb).auth(CREDENTIALS) is None
    assert url_mode.from_environ({**alb, "SHOP_CONTRACT_SIGN": "1"}).region == "eu-west-1"
    no_auth = {"SHOP_CONTRACT_URL": FUNCTION_URL, "SHOP_CONTRACT_STAGE": "clean", "SHOP_CONTRACT_SIGN": "0"}
    assert url_mode.from_environ(no_auth).auth(CREDENTIALS) is None


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"SHOP_CONTRACT_URL": "ftp://x", "SHOP_CONTRACT_STAGE": "clean"}, "SHOP_CONTRACT_URL"),
        ({"SHOP_CONTRACT_URL": FUNCTION_URL}, "SHOP_CONTRACT_STAGE"),
        ({"SHOP_CONTRACT_URL": FUNCTION_URL, "SHOP_CONTRACT_STAGE": "monolit"}, "SHOP_CONTRACT_STAGE"),
        ({"SHOP_CONTRACT_URL": "http://127.0.0.1:8000", "SHOP_CONTRACT_STAGE": "clean"}, "SHOP_CONTRACT_TARGET"),
        ({"SHOP_CONTRACT_URL": FUNCTION_URL, "SHOP_CONTRACT_STAGE": "clean", "SHOP_CONTRACT_SIGN": "yes"},
         "SHOP_CONTRACT_SIGN"),
        ({"SHOP_CONTRACT_URL": "http://127.0.0.1:8000", "SHOP_CONTRACT_STAGE": "clean", "SHOP_CONTRACT_TARGET": "local",
          "SHOP_CONTRACT_SIGN": "1"}, "AWS_REGION"),
    ],
)  # fmt: skip
def test_a_wrong_setting_is_refused_naming_it(environ: dict[str, str], named: str) -> None:
    with pytest.raises(url_mode.Refused, match=named):
        url_mode.from_environ(environ)


def test_no_credentials_to_sign_with_is_refused_with_a_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    at = url_mode.from_environ({"SHOP_CONTRACT_URL": FUNCTION_URL, "SHOP_CONTRACT_STAGE": "clean"})
    with pytest.raises(url_mode.Refused, match=r"no AWS credentials.*\n  hint: .*SHOP_CONTRACT_SIGN=0"):
        at.auth()


# --- the signature, as the server receives the request ------------------------------------------------


def sent(auth: httpx.Auth, base_url: str, method: str, path: str, **options: object) -> httpx.Request:
    """The request as it goes on the wire (what the transport is handed, after the auth flow)."""
    seen: list[httpx.Request] = []

    def transport(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(200)

    with httpx.Client(base_url=base_url, auth=auth, transport=httpx.MockTransport(transport)) as client:
        client.request(method, path, **options)  # type: ignore[arg-type]
    (request,) = seen
    return request


def signature_of(request: httpx.Request, region: str) -> str:
    """SigV4 computed afresh from what the server received: the headers the Authorization names (the body's
    hash taken from the body received, not from its header), the URL, at the X-Amz-Date it carries — what
    AWS compares with the signature sent."""
    signed = AUTHORIZATION.fullmatch(request.headers["authorization"])
    assert signed, request.headers["authorization"]
    headers = {name: request.headers[name] for name in signed["signed"].split(";")}
    headers["x-amz-content-sha256"] = hashlib.sha256(request.content).hexdigest()
    received = AWSRequest(method=request.method, url=str(request.url), data=request.content, headers=headers)
    received.context["timestamp"] = request.headers["x-amz-date"]
    signer = SigV4Auth(CREDENTIALS.get_frozen_credentials(), "lambda", region)
    return signer.signature(signer.string_to_sign(received, signer.canonical_request(received)), received)


def chunks(body: bytes) -> Iterator[bytes]:
    yield from (body[i : i + 1000] for i in range(0, len(body), 1000))


BODY = b'{"name": "Ada", "email": "ada@example.com"}'


@pytest.mark.parametrize(
    ("method", "path", "options", "body"),
    [
        ("GET", "/users", {"params": {"limit": 2, "next": "a b+c/=~%"}}, b""),
        ("POST", "/users", {"content": BODY, "headers": {"content-type": "application/json"}}, BODY),
        ("POST", "/users", {"content": chunks(BODY * 100)}, BODY * 100),  # streamed: chunked on the wire
        ("DELETE", "/users/0d4e6b5e-7f6a-4c43-9a55-0c1f2f6a0b8e", {}, b""),
    ],
    ids=["query", "json", "chunked", "delete"],
)
def test_a_signed_request_carries_a_well_formed_authorization_for_the_credentials(method, path, options, body):
    request = sent(url_mode.SigV4(CREDENTIALS, "eu-west-2"), FUNCTION_URL, method, path, **options)
    authorization = AUTHORIZATION.fullmatch(request.headers["authorization"])
    assert authorization, request.headers["authorization"]
    assert authorization["region"] == "eu-west-2"
    assert authorization["day"] == request.headers["x-amz-date"][:8]
    assert re.fullmatch(r"\d{8}T\d{6}Z", request.headers["x-amz-date"])
    assert authorization["signed"] == "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
    assert request.headers["x-amz-security-token"] == "a-session-token"
    assert request.content == body
    assert request.headers["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()
    assert authorization["signature"] == signature_of(request, "eu-west-2")


def test_the_query_goes_on_the_wire_as_it_was_signed_and_means_the_same() -> None:
    params = {"next": "a b+c/=~%", "limit": "2"}
    request = sent(url_mode.SigV4(CREDENTIALS, "eu-west-2"), FUNCTION_URL, "GET", "/users", params=params)
    assert request.url.query == b"next=a%20b%2Bc%2F%3D~%25&limit=2"  # RFC 3986, as SigV4 canonicalises it
    assert dict(request.url.params) == params


@pytest.mark.parametrize("change", ["body", "query", "host"])
def test_a_request_changed_after_signing_no_longer_matches_its_signature(change: str) -> None:
    request = sent(url_mode.SigV4(CREDENTIALS, "eu-west-2"), FUNCTION_URL, "POST", "/users?limit=2", content=BODY)
    url, content = request.url, BODY
    if change == "body":
        content = BODY.replace(b"Ada", b"Eve")
    elif change == "query":
        url = url.copy_with(query=b"limit=3")
    else:
        url = url.copy_with(host="klmnopqrst.lambda-url.eu-west-2.on.aws")
    headers = {**request.headers, "host": url.host}
    changed = httpx.Request("POST", url, headers=headers, content=content)
    sent_signature = AUTHORIZATION.fullmatch(request.headers["authorization"])["signature"]
    assert signature_of(request, "eu-west-2") == sent_signature
    assert signature_of(changed, "eu-west-2") != sent_signature


def test_orders_go_to_the_orders_url_signed_for_that_host() -> None:
    orders_url = "https://klmnopqrst.lambda-url.eu-west-2.on.aws"
    auth = url_mode.OrdersAt(orders_url, url_mode.SigV4(CREDENTIALS, "eu-west-2"))
    order = sent(auth, FUNCTION_URL, "POST", "/orders", json={"user_id": "u", "product": "Mug", "quantity": 1})
    listed = sent(auth, FUNCTION_URL, "GET", "/orders", params={"user_id": "u"})
    user = sent(auth, FUNCTION_URL, "GET", "/users/u")
    assert [str(r.url) for r in (order, listed, user)] == [
        f"{orders_url}/orders", f"{orders_url}/orders?user_id=u", f"{FUNCTION_URL}/users/u",
    ]  # fmt: skip
    for request in (order, listed, user):
        assert request.headers["host"] == request.url.host
        assert AUTHORIZATION.fullmatch(request.headers["authorization"])["signature"] == signature_of(
            request, "eu-west-2"
        )


# --- shopctl urls, and make contract end to end -----------------------------------------------------------


def record(stage: str, target: str, url: str, services: dict[str, str]) -> None:
    state.save(state.DeploymentState(
        name=f"{stage}-{target}", stage=stage, target=target, env="local", url=url,
        resources=state.DeploymentResources(service_urls=services),
    ))  # fmt: skip


def test_shopctl_urls_prints_one_line_per_deployment_and_the_orders_url_where_there_is_no_gateway(
    local_aws: localaws.LocalAws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHOP_RUN_DIR", str(tmp_path))  # records of its own, none of the session's
    args = ["urls", "--env", "local", "--aws-port", str(local_aws.port)]
    assert cli.main(args) == 1
    assert capsys.readouterr().err == (
        "error: no deployment recorded for ENV=local\n  hint: make deploy ENV=local STAGE=… TARGET=…\n"
    )
    users, orders = "https://users.lambda-url.eu-west-1.on.aws", "https://orders.lambda-url.eu-west-1.on.aws"
    record("microservices", "lambda", users, {"users": users, "orders": orders})  # AWS: no gateway
    record("microservices", "ecs", "http://127.0.0.1:8101", {"gateway": "http://127.0.0.1:8101",
                                                            "users": "http://127.0.0.1:8102"})  # fmt: skip
    record("clean", "lambda", "http://127.0.0.1:8201", {"app": "http://127.0.0.1:8201"})
    assert cli.main(args) == 0
    assert capsys.readouterr().out.splitlines() == [
        "clean lambda http://127.0.0.1:8201",
        "microservices ecs http://127.0.0.1:8101",
        f"microservices lambda {users} {orders}",
    ]
    assert cli.main([*args, "--target", "ecs"]) == 0
    assert capsys.readouterr().out == "microservices ecs http://127.0.0.1:8101\n"


# The suite's own verdicts are proven against these same stages by the contract suite itself: here what is new
# is the URL mode's plumbing, so a sample that signs every kind of request — GET with and without a query (and
# an opaque token in it), POST with a JSON body, a raw malformed body, DELETE — and reaches both services; and
# one test that needs the deployment's internals, which the mode skips saying why.
SIGNED_SAMPLE = (
    "health_names or talks_flow or paginates or get_and_delete_order or malformed_bodies or wrong_content_type"
    " or first_invoke"
)


@pytest.mark.e2e
def test_make_contract_runs_the_suite_against_each_recorded_url_signed_and_passes(
    local_aws: localaws.LocalAws, local_stages: LocalStages, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make contract` with no URL, as the weekly run calls it: each recorded deployment's URL, every request
    signed (SIGN=1). Served here as `make run` serves them: the clean stage at one URL, and the
    microservices' two services at their own URLs, no gateway — the shape of the microservices on AWS Lambda."""
    clean = local_stages["clean"].base_url
    micro = start_stage("microservices", runtime="LAMBDA", port=free_port(), aws=local_aws, name="url-mode",
                        logs=tmp_path / "logs", quiet=True)  # fmt: skip
    try:
        # start_stage keeps the processes, not their URLs: each one's port is in its uvicorn command line.
        ports = {proc.name: proc.popen.args[proc.popen.args.index("--port") + 1] for proc in micro.procs}
        users, orders = (f"http://127.0.0.1:{ports[name]}" for name in ("users", "orders"))
        monkeypatch.setenv("SHOP_RUN_DIR", str(tmp_path))
        record("clean", "lambda", clean, {"app": clean})
        record("microservices", "lambda", users, {"users": users, "orders": orders})
        environ = {**os.environ, "SIGN": "1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"}
        environ.pop("SHOP_CONTRACT_TARGETS", None)
        done = subprocess.run(
            ["make", "--no-print-directory", "-C", str(REPO), "contract", f"LOCAL_AWS_PORT={local_aws.port}",
             f"PYTEST_ARGS=-k '{SIGNED_SAMPLE}'"],
            env=environ, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
    finally:
        micro.stop()
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-2000:]
    assert f"… the contract suite against clean on lambda: {clean}\n" in out
    assert f"… the contract suite against microservices on lambda: {users} (/orders… at {orders})\n" in out
    verdicts = re.findall(r"^✓ (.*): (\d+) passed, \d+ skipped", out, re.MULTILINE)
    assert [where for where, _ in verdicts] == [f"clean on lambda: {clean}", f"microservices on lambda: {users} "
                                                f"(/orders… at {orders})"], out[-3000:]  # fmt: skip
    assert all(int(passed) >= 8 for _, passed in verdicts)
    skipped = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert skipped and all("URL mode (SHOP_CONTRACT_URL): " in line for line in skipped)
