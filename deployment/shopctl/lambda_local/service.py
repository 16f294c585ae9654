"""The local Lambda service: one function, reached the way a Function URL reaches it.

Every HTTP path belongs to the function (a Function URL forwards them all), except the service's own
`/__lambda_local__/status`. Each request becomes a payload-2.0 event for an execution environment
(warm if one is idle, cold otherwise), and what the function returns becomes the HTTP response.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

from shopctl.lambda_local import CONTROL_PREFIX, STATUS_PATH, events
from shopctl.lambda_local.environment import ExecutionEnvironment, Outcome
from shopctl.lambda_local.events import HttpRequest, HttpResponse
from shopctl.lambda_local.function import Function, FunctionConfig, FunctionNotFound
from shopctl.lambda_local.logs import LogWriter, log_group_name
from shopctl.lambda_local.pool import Pool, Throttled
from shopctl.lambda_local.snapshot import Snapshot
from shopctl.lambda_local.url_access import PublicUrlAccess
from shopctl.lambda_local.web_adapter import WebAdapterEnvironment

BOOTSTRAP_SOURCE = Path(__file__).with_name("runtime_bootstrap.py")
# What a Lambda Python runtime provides next to the standard library: the AWS SDK (and its dependencies),
# and the SnapStart runtime hooks library.
RUNTIME_SDK = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six", "snapshot_restore_py")


# AWS_IAM auth: Lambda lets through only SigV4-signed requests. Locally the signature's shape is checked —
# the algorithm, a credential scoped to service `lambda`, host and x-amz-date among the signed headers, a hex
# signature — not its value: the local AWS holds no real secret to check it against.
SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=[^/\s,]+/\d{8}/[a-z0-9-]+/lambda/aws4_request,\s*"
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*Signature=[0-9a-f]{64}"
)


def signed(headers: list[tuple[str, str]]) -> bool:
    """Does the request carry a SigV4 signature of the shape Lambda checks?"""
    values = {name.lower(): value for name, value in headers}
    match = SIGV4.fullmatch(values.get("authorization", "").strip())
    if match is None or not values.get("x-amz-date"):
        return False
    return {"host", "x-amz-date"} <= set(match["signed"].split(";"))


def say(message: str) -> None:
    print(f"lambda-local: {message}", flush=True)


def install_runtime(runtime_dir: Path) -> Path:
    """The runtime directory: the bootstrap plus links to this machine's AWS SDK (as /var/runtime)."""
    runtime_dir.mkdir(parents=True, exist_ok=True)
    staged = runtime_dir / f".bootstrap-{os.getpid()}.py"
    shutil.copyfile(BOOTSTRAP_SOURCE, staged)
    os.replace(staged, runtime_dir / "bootstrap.py")
    for name in RUNTIME_SDK:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        source = Path(spec.origin).parent if spec.submodule_search_locations else Path(spec.origin)
        link = runtime_dir / source.name
        if link.is_symlink() and Path(os.readlink(link)) == source:
            continue
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.is_dir():
            shutil.rmtree(link)
        with contextlib.suppress(FileExistsError):  # another service of this function was first
            link.symlink_to(source, target_is_directory=source.is_dir())
    return runtime_dir


def python_version(python: str) -> str:
    if python == sys.executable:
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    out = subprocess.run(
        [python, "-I", "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return out.stdout.strip()


def trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"


class LambdaService:
    def __init__(
        self,
        function_name: str,
        *,
        work_dir: Path,
        max_concurrency: int = 10,
        idle_timeout: float = 300.0,
        python: str | None = None,
        snap_start: bool = False,
    ) -> None:
        self.name = function_name
        # SnapStart: each configuration is initialised once (its "published version"), cold starts restore it.
        self.snap_start = snap_start
        self.snapshot: Snapshot | None = None
        self.snapshot_failure: Outcome | None = None
        self._snapshot_lock = threading.Lock()
        self._republish_lock = threading.Lock()
        # On AWS no request ever waits for a snapshot: a version is published (init, snapshot) before the
        # alias sends traffic to it. Here the snapshot is taken when the service sees the new configuration —
        # when its status is asked for (what `make coldstart` waits on), or else by the first request, which
        # then waits for init. Counted, so a test can tell which happened.
        self.requests_waited_for_snapshot = 0
        self._in_request = threading.local()
        self.work_dir = work_dir
        self.python = python or sys.executable
        self.python_version = python_version(self.python)
        self.runtime_dir = install_runtime(work_dir / "runtime")
        self.logs = LogWriter(log_group_name(function_name))
        self.pool = Pool(max_concurrency=max_concurrency, idle_timeout=idle_timeout)
        self.function = Function(function_name, work_dir, on_change=self._changed, say=say)
        self.public_url = PublicUrlAccess(function_name, say=say)
        self.executor = ThreadPoolExecutor(max_workers=max_concurrency + 16, thread_name_prefix="invoke")
        self.inherited = dict(os.environ)
        self.closing = False

    # configuration ------------------------------------------------------------------------------

    def _changed(self, config: FunctionConfig) -> None:
        retired = self.pool.retire(config.fingerprint)
        if retired:
            say(f"retired {retired} idle execution environment(s) of the previous configuration")
        local = f"python{self.python_version}"
        if config.runtime and config.runtime != local:
            say(f"note: {self.name} is configured for {config.runtime}; it runs here on the local {local}")
        if self._snapshots(config):
            self._publish(config)
        elif self.snap_start:
            say("note: SnapStart does not apply to image functions: their cold starts run init")

    def _snapshots(self, config: FunctionConfig) -> bool:
        """SnapStart applies to this configuration (not to image functions: Lambda snapshots managed runtimes)."""
        return self.snap_start and not config.is_image

    def _environment_kwargs(self) -> dict:
        return {
            "runtime_dir": self.runtime_dir,
            "logs": self.logs,
            "python": self.python,
            "runtime_version": f"python:{self.python_version}.local",
            "inherited": self.inherited,
        }

    def _publish(self, config: FunctionConfig) -> None:
        """SnapStart: what publishing a version does — init once, before-snapshot hooks, keep the snapshot."""
        task_root = self.function.task_root
        assert task_root is not None
        snapshot = Snapshot(config, task_root, **self._environment_kwargs())
        say(f"publishing {self.name} with SnapStart: init and the before-snapshot hooks run once, now")
        if getattr(self._in_request, "active", False):
            self.requests_waited_for_snapshot += 1
        failure = snapshot.publish()
        with self._snapshot_lock:
            previous, self.snapshot, self.snapshot_failure = self.snapshot, snapshot, failure
        if previous is not None:
            previous.kill()
        if failure is None:
            say(f"snapshot ready ({snapshot.init_ms:.0f} ms of init): cold starts restore it")
        else:
            error = (failure.error or {}).get("errorMessage", "")
            say(f"error: the snapshot's init failed ({failure.error_type}: {error}); cold starts fail until a fix")

    def _snapshot_for(self, config: FunctionConfig) -> Snapshot | Outcome:
        """The snapshot to restore for `config` (published again if its process died), or its init failure."""
        with self._republish_lock:
            snapshot = self.snapshot
            if snapshot is None or snapshot.fingerprint != config.fingerprint or (
                self.snapshot_failure is None and not snapshot.alive()
            ):
                self._publish(config)
            with self._snapshot_lock:
                snapshot, failure = self.snapshot, self.snapshot_failure
        assert snapshot is not None
        return failure if failure is not None else snapshot

    def load(self) -> FunctionConfig:
        """Read the configuration and fetch the code once, before serving (fails loudly)."""
        config, task_root, _ = self.function.current()
        for old in self.work_dir.iterdir():  # code of earlier deployments: nothing runs it any more
            if old != task_root and old.is_dir() and re.fullmatch(r"[0-9a-f]{64}", old.name):
                shutil.rmtree(old, ignore_errors=True)
        return config

    # requests -----------------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpResponse:
        """One Function URL request (runs on a worker thread, blocking)."""
        try:
            return self._handle(request)
        except Exception:
            say("internal error:\n" + traceback.format_exc().rstrip())
            return events.json_response(500, {"Message": "lambda-local internal error (see its log)"})

    def _handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        if self.closing:
            return events.json_response(503, {"Message": "Service Unavailable"}, request_id)
        self._in_request.active = True
        try:
            config, task_root, url = self.function.current()
            restorable = self._snapshot_for(config) if self._snapshots(config) else None
        except FunctionNotFound:
            return events.json_response(404, {"Message": f"Function not found: {self.name}"}, request_id)
        finally:
            self._in_request.active = False

        if self._refused(request):
            return events.json_response(403, {"Message": "Forbidden"}, request_id)  # AWS's answer, word for word
        if isinstance(restorable, Outcome):  # the snapshot's init failed: every cold start fails with it
            return events.error_response(request_id)
        snapshot = restorable

        def create() -> ExecutionEnvironment:
            if config.is_image:  # the image's web server behind the Lambda Web Adapter
                return WebAdapterEnvironment(config, task_root, **self._environment_kwargs())
            return ExecutionEnvironment(config, task_root, snapshot=snapshot, **self._environment_kwargs())

        try:
            env = self.pool.acquire(config.fingerprint, create)
        except Throttled:
            return events.throttled_response(request_id)
        outcome: Outcome | None = None
        try:
            init_failure = env.start() if env.state == "new" else None
            trace = trace_id()
            event = events.to_event(request, request_id=request_id, url=url, trace_id=trace)
            outcome = env.invoke(request_id, event, trace_id=trace, init_failure=init_failure)
        finally:
            if outcome is None:
                env.kill()
            current = self.function.config
            self.pool.release(env, current.fingerprint if current else None)

        if outcome.kind != "ok":
            return events.error_response(request_id)
        try:
            response = events.to_http(outcome.payload if outcome.payload is not None else "null")
        except events.InvalidResponse as problem:
            say(f"request {request_id}: the function's response cannot be an HTTP response ({problem}) → 502")
            return events.error_response(request_id)
        response.headers.append(("x-amzn-requestid", request_id))
        return response

    def _refused(self, request: HttpRequest) -> bool:
        """Whether Lambda refuses the request before the function runs, by the URL's AuthType (read with the
        function's configuration): AWS_IAM takes SigV4-signed requests only; a public URL (NONE) needs both
        of its permissions in the function's resource policy (url_access). No URL: the service stands in."""
        auth = self.function.auth_type
        if auth == "AWS_IAM":
            return not signed(request.headers)
        return auth == "NONE" and self.public_url.forbidden()

    def status(self) -> dict:
        """What the service runs. It looks at the function's configuration first (at most once a second), so a
        changed one is seen — and with SnapStart its snapshot taken — without a request having to wait."""
        try:
            config, _, _ = self.function.current()
            if self._snapshots(config):
                self._snapshot_for(config)
        except Exception as error:  # the status still answers, with what it last knew
            say(f"status: could not refresh {self.name} ({error})")
        config = self.function.config
        return {
            "function": self.name,
            "codeSha256": config.code_sha256 if config else None,
            "fingerprint": config.fingerprint if config else None,
            "maxConcurrency": self.pool.max_concurrency,
            "idleTimeout": self.pool.idle_timeout,
            "environments": [env.describe() for env in self.pool.environments()],
            "snapStart": self.snap_start,
            "snapshot": self.snapshot.describe() if self.snapshot is not None else None,
            "requestsWaitedForSnapshot": self.requests_waited_for_snapshot,
        }

    def close(self) -> None:
        self.closing = True
        self.pool.close()
        if self.snapshot is not None:
            self.snapshot.kill()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.logs.close(timeout=3.0)

    # ASGI ---------------------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        too_large = False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            if not too_large:
                body += message.get("body", b"")
                too_large = len(body) > events.MAX_REQUEST_BYTES
                if too_large:
                    body.clear()
            if not message.get("more_body"):
                break

        raw_path = scope.get("raw_path") or quote(scope.get("path", "/")).encode()
        path = raw_path.decode("latin-1")
        if path.startswith(CONTROL_PREFIX):
            # On a worker thread: the status may take a snapshot (init), which must not stall other requests.
            loop = asyncio.get_running_loop()
            try:
                response = await loop.run_in_executor(self.executor, self._control, scope["method"], path)
            except RuntimeError:  # the executor is shut down: we are stopping
                response = events.json_response(503, {"Message": "Service Unavailable"})
        elif too_large:
            response = events.json_response(413, {"Message": "Request Entity Too Large"})
        else:
            client = scope.get("client") or ("127.0.0.1", 0)
            request = HttpRequest(
                method=scope["method"],
                raw_path=path,
                raw_query=scope.get("query_string", b"").decode("latin-1"),
                headers=[(_text(k), _text(v)) for k, v in scope.get("headers", [])],
                body=bytes(body),
                source_ip=client[0],
                protocol=f"HTTP/{scope.get('http_version', '1.1')}",
            )
            loop = asyncio.get_running_loop()
            try:
                response = await loop.run_in_executor(self.executor, self.handle, request)
            except RuntimeError:  # the executor is shut down: we are stopping
                response = events.json_response(503, {"Message": "Service Unavailable"})
        await _send(send, response, head=scope["method"] == "HEAD")

    def _control(self, method: str, path: str) -> HttpResponse:
        if method == "GET" and path.rstrip("/") == STATUS_PATH:
            return events.json_response(200, self.status())
        return events.json_response(404, {"Message": f"unknown control endpoint {path}"})


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _header_bytes(value: str) -> bytes:
    value = value.replace("\r", " ").replace("\n", " ")
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


async def _send(send, response: HttpResponse, *, head: bool = False) -> None:
    headers = []
    for name, value in response.headers:
        if not name or any(c in name for c in " \t\r\n:"):
            continue
        headers.append((name.lower().encode("latin-1", "replace"), _header_bytes(value)))
    body = response.body
    if response.status < 200 or response.status in (204, 304):  # HTTP allows no body on these
        body = b""
    else:
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
