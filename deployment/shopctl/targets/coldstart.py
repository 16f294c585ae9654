"""`make coldstart`: force N cold starts the way one does on AWS (change the function's configuration),
invoke once after each plus a few warm invokes, then read the numbers from the REPORT lines in
CloudWatch Logs. The same code reads the local Lambda's logs and a real account's.

A SnapStart function (one served through the alias `lambda_target.SNAPSTART_ALIAS`) is forced the way
SnapStart works: change the configuration, publish a version, wait until it is active (the snapshot is
taken), move the alias — and only then the timed request, which restores that snapshot."""

from __future__ import annotations

import re
import statistics
import time
import uuid
from dataclasses import dataclass

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from shopctl import httpclient
from shopctl.aws import clients
from shopctl.errors import ShopctlError
from shopctl.lambda_local import STATUS_PATH
from shopctl.targets import lambda_function

REPORT = re.compile(
    r"REPORT RequestId: (?P<id>\S+)\s+Duration: (?P<duration>[\d.]+) ms\s+Billed Duration: (?P<billed>\d+) ms"
    r"\s+Memory Size: (?P<memory>\d+) MB\s+Max Memory Used: (?P<used>\d+) MB"
    r"(?:\s+Init Duration: (?P<init>[\d.]+) ms)?"
    r"(?:\s+Restore Duration: (?P<restore>[\d.]+) ms)?"  # SnapStart: restored, not initialised
)


@dataclass(frozen=True)
class Report:
    request_id: str
    duration_ms: float
    billed_ms: int
    memory_mb: int
    max_memory_used_mb: int
    init_ms: float | None
    timestamp: int
    restore_ms: float | None = None

    @property
    def cold(self) -> bool:
        return self.init_ms is not None or self.restore_ms is not None


def parse_report(message: str, timestamp: int = 0) -> Report | None:
    match = REPORT.search(message)
    if not match:
        return None
    return Report(
        match["id"],
        float(match["duration"]),
        int(match["billed"]),
        int(match["memory"]),
        int(match["used"]),
        float(match["init"]) if match["init"] else None,
        timestamp,
        float(match["restore"]) if match["restore"] else None,
    )


def read_reports(
    function_name: str,
    since_ms: int,
    *,
    expect: int = 0,
    timeout: float = 15.0,
    request_ids: list[str] | None = None,
) -> list[Report]:
    """REPORT lines of `function_name` logged since `since_ms`, oldest first; waits for `expect` of them —
    or, given `request_ids`, for the reports of exactly those requests (`since_ms` keeps a second of slack
    for clocks, so it may reach into an earlier run's)."""
    logs = clients.client("logs")
    deadline = time.monotonic() + timeout
    while True:
        reports: list[Report] = []
        kwargs = {
            "logGroupName": f"/aws/lambda/{function_name}",
            "startTime": since_ms,
            "filterPattern": '"REPORT RequestId"',
        }
        while True:
            page = logs.filter_log_events(**kwargs)
            for event in page.get("events", []):
                report = parse_report(event["message"], event["timestamp"])
                if report:
                    reports.append(report)
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        reports.sort(key=lambda r: r.timestamp)
        if request_ids is not None:
            reports = [r for r in reports if r.request_id in request_ids]
            expect = len(request_ids)
        if len(reports) >= expect or time.monotonic() > deadline:
            return reports
        time.sleep(0.3)


def invoke_url(url: str, *, auth_type: str = "NONE", timeout: float = 30.0) -> tuple[int, float]:
    """GET `url`; signs with SigV4 when the Function URL uses AWS_IAM auth. Returns (status, ms)."""
    status, ms, _ = invoke(url, auth_type=auth_type, timeout=timeout)
    return status, ms


def invoke(url: str, *, auth_type: str = "NONE", timeout: float = 30.0) -> tuple[int, float, str]:
    """`invoke_url`, plus the invocation's request id (a Function URL answers it as x-amzn-requestid; the
    REPORT line in CloudWatch Logs carries the same id)."""
    headers: dict[str, str] = {}
    if auth_type == "AWS_IAM":
        session = clients.session()
        request = AWSRequest(method="GET", url=url)
        SigV4Auth(session.get_credentials().get_frozen_credentials(), "lambda", session.region_name).add_auth(
            request
        )
        headers = dict(request.headers)
    started = time.perf_counter()
    response = httpclient.get(url, headers=headers, timeout=timeout)
    elapsed_ms = (time.perf_counter() - started) * 1000
    return response.status_code, elapsed_ms, response.headers.get("x-amzn-requestid", "")


def force_cold_start(function_name: str) -> None:
    """Change a configuration value: Lambda then starts new execution environments."""
    client = clients.client("lambda")
    config = client.get_function_configuration(FunctionName=function_name)
    variables = dict(config.get("Environment", {}).get("Variables", {}))
    variables["COLDSTART_NONCE"] = uuid.uuid4().hex
    client.update_function_configuration(FunctionName=function_name, Environment={"Variables": variables})
    client.get_waiter("function_updated_v2").wait(FunctionName=function_name)


def served_locally(url: str) -> bool:
    """Is `url` the local Lambda's (plain HTTP on this machine)? A Function URL on AWS is always HTTPS."""
    return url.startswith(("http://127.0.0.1:", "http://localhost:"))


def force_restore(function_name: str, url: str, *, timeout: float = 180.0) -> None:
    """SnapStart: a new configuration, published as a version whose snapshot is ready, behind the alias.

    On AWS the version becomes active once its snapshot is taken, so `publish_to_alias` has waited for it.
    The local Lambda takes its snapshot when it sees the new configuration (its status endpoint makes it
    look, and answers once the snapshot is taken): waited for here, untimed, so the request measured next
    is a restore and never includes that init.
    """
    force_cold_start(function_name)
    lambda_function.publish_to_alias(function_name, lambda _: None)
    if not served_locally(url):
        return
    from shopctl.lambda_local.function import FunctionConfig

    # The configuration just published, as the local Lambda reads it: from $LATEST, which the new version
    # copies (the local Lambda serves $LATEST; see lambda_target._local_lambda).
    expected = FunctionConfig.from_api(
        clients.client("lambda").get_function_configuration(FunctionName=function_name)
    ).fingerprint
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            snapshot = httpclient.get(url + STATUS_PATH, timeout=timeout).json().get("snapshot") or {}
        except httpx.HTTPError:
            snapshot = {}
        if snapshot.get("fingerprint") == expected and snapshot.get("state") == "snapshot":
            return
        time.sleep(0.2)
    raise ShopctlError(
        f"{function_name}: the local Lambda took no snapshot of the new version within {timeout:.0f}s",
        "see its log (make status shows where)",
    )


@dataclass(frozen=True)
class Row:
    function: str
    run: int
    init_ms: float | None
    first_request_ms: float
    warm_p50_ms: float | None
    package_mb: float
    cold_duration_ms: float | None = None  # the cold invocation's own Duration (after init)
    warm_ms: tuple[float, ...] = ()  # every warm invocation's Duration (REPORT lines)
    restore_ms: float | None = None  # SnapStart: the cold start restored a snapshot (no Init Duration)


def measure(
    function_name: str,
    url: str,
    *,
    runs: int,
    warm: int,
    auth_type: str = "NONE",
    path: str = "/health",
    quiet: bool = False,
    snapstart: bool | None = None,
) -> list[Row]:
    """`runs` forced cold starts of `function_name` served at `url`, each followed by `warm` warm requests.
    `snapstart`: force restores (see `force_restore`); None = when the function has the SnapStart alias."""
    client = clients.client("lambda")
    if snapstart is None:
        snapstart = lambda_function.alias_version(function_name) is not None
    rows = []
    for run in range(1, runs + 1):
        # A cold start whose INIT ran past Lambda's limit (a busy machine) answers 5xx and is no measurement:
        # that round is taken once more, from a fresh cold start, as the next request would be on AWS.
        for attempt in (1, 2):
            if snapstart:
                force_restore(function_name, url)
            else:
                force_cold_start(function_name)
                time.sleep(1.1)  # the local Lambda re-reads the configuration at most once a second
            since = int(time.time() * 1000) - 1000
            status, first_ms, first_id = invoke(url + path, auth_type=auth_type)
            if status < 500 or attempt == 2:
                break
            if not quiet:
                print(f"  run {run}: GET {path} answered {status} after a cold start; that round again")
        if status != 200:
            raise ShopctlError(
                f"{function_name}: GET {path} answered {status} after a cold start",
                "check the function's logs (make status shows where)",
            )
        ids = [first_id, *(invoke(url + path, auth_type=auth_type)[2] for _ in range(warm))]
        # This run's reports by their request ids: `since` leaves a second of slack for clocks, so a fast
        # earlier run's can be in it too (without ids, the last 1 + warm reports logged).
        if all(ids):
            reports = read_reports(function_name, since, request_ids=ids)
        else:
            reports = read_reports(function_name, since, expect=1 + warm)[-(1 + warm) :]
        cold = [r for r in reports if r.cold]
        warm_durations = [r.duration_ms for r in reports if not r.cold]
        size = client.get_function_configuration(FunctionName=function_name)["CodeSize"] / 1e6
        row = Row(
            function_name,
            run,
            cold[-1].init_ms if cold else None,
            first_ms,
            statistics.median(warm_durations) if warm_durations else None,
            size,
            cold[-1].duration_ms if cold else None,
            tuple(warm_durations),
            cold[-1].restore_ms if cold else None,
        )
        rows.append(row)
        if not quiet:
            if row.restore_ms is not None:
                init = f"restore {row.restore_ms:.0f} ms (SnapStart: no init)"
            else:
                init = f"init {row.init_ms:.0f} ms" if row.init_ms is not None else "init — (no cold start seen!)"
            print(f"  run {run}/{runs}: {init}, first request {first_ms:.0f} ms", flush=True)
    return rows


def table(rows: list[Row]) -> str:
    columns = (
        ("run", 3), ("init ms", 9), ("restore ms", 10), ("first-request ms", 17),
        ("warm p50 ms", 12), ("package MB", 11),
    )
    header = f"{'function':<28} " + " ".join(f"{title:>{width}}" for title, width in columns)
    lines = [header, "-" * len(header)]
    for r in rows:
        init = f"{r.init_ms:.1f}" if r.init_ms is not None else "-"
        restore = f"{r.restore_ms:.1f}" if r.restore_ms is not None else "-"
        p50 = f"{r.warm_p50_ms:.1f}" if r.warm_p50_ms is not None else "-"
        first = f"{r.first_request_ms:.1f}"
        size = f"{r.package_mb:.1f}" if r.package_mb else "image"  # an image function reports CodeSize 0
        lines.append(f"{r.function:<28} {r.run:>3} {init:>9} {restore:>10} {first:>17} {p50:>12} {size:>11}")
    return "\n".join(lines)
