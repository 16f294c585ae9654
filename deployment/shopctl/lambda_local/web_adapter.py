"""A container image on the local Lambda, the way the Lambda Web Adapter runs it on AWS.

With the adapter (an extension in the image), Lambda runs the image's own command — here the stage's
uvicorn server, the very command ECS and EKS run — and the adapter:

- at init, polls the app's readiness check (`GET AWS_LWA_READINESS_CHECK_PATH`, default `/`, on
  AWS_LWA_PORT, default 8080, every 10 ms) until an answer with a healthy status (100-499 by default):
  the INIT phase lasts until then, so Init Duration is the server's time to readiness;
- turns each invocation (a Function URL event, payload 2.0) into an HTTP request to the app, and the
  app's response into the Function URL response.

Here the service plays the adapter; the command runs with the function's environment variables plus
Lambda's, on this machine's Python (the workshop's virtualenv stands in for the image's Python, with
the stages on its path). Every environment gets a port of its own, as each would have its own network
on AWS: the port is passed as AWS_LWA_PORT, PORT and UVICORN_PORT, and replaces the value of a
`--port` argument in the command.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import socket
import subprocess
import threading
import time

from shopctl.lambda_local import events
from shopctl.lambda_local import logs as loglines
from shopctl.lambda_local.environment import (
    INIT_TIMEOUT_S,
    ExecutionEnvironment,
    Outcome,
    _exit_reason,
    _peak_rss_mb,
)
from shopctl.local.net import free_port

READINESS_INTERVAL_S = 0.01  # the adapter's poll interval

# Request headers the adapter does not pass on (they describe the connection, not the request).
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def healthy_statuses(spec: str) -> set[int]:
    """AWS_LWA_READINESS_CHECK_HEALTHY_STATUS: "200-399" or "200,201,204,301-399" (default 100-499)."""
    codes: set[int] = set()
    for part in spec.split(","):
        low, _, high = part.strip().partition("-")
        if low.isdigit():
            codes.update(range(int(low), int(high if high.isdigit() else low) + 1))
    return codes or set(range(100, 500))


def command_for(argv: tuple[str, ...], *, python: str, port: int) -> list[str]:
    """The image's command as it runs here: `python` is this machine's, `--port`/`--host` local ones."""
    out = list(argv)
    if out and out[0] in ("python", "python3"):
        out[0] = python
    for flag, value in (("--port", str(port)), ("--host", "127.0.0.1")):
        if flag in out[:-1]:
            out[out.index(flag) + 1] = value
    return out


def to_request(event: dict) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """The Function URL event as the HTTP request the adapter sends the app: method, target, headers, body."""
    context = event.get("requestContext") or {}
    method = (context.get("http") or {}).get("method", "GET")
    target = event.get("rawPath") or "/"
    if event.get("rawQueryString"):
        target += "?" + event["rawQueryString"]
    headers = [(k, v) for k, v in (event.get("headers") or {}).items() if k.lower() not in _NOT_FORWARDED]
    if event.get("cookies"):
        headers.append(("cookie", "; ".join(event["cookies"])))
    headers.append(("x-amzn-request-context", json.dumps(context, separators=(",", ":"))))
    body = event.get("body") or ""
    data = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    return method, target, headers, data


def to_payload(status: int, headers: list[tuple[str, str]], body: bytes) -> dict:
    """The app's HTTP response as the Function URL response the adapter returns (payload 2.0)."""
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "set-cookie":
            cookies.append(value)
        elif key not in _NOT_FORWARDED:
            joined[key] = f"{joined[key]},{value}" if key in joined else value
    text = events.is_text(joined.get("content-type")) and "content-encoding" not in joined
    payload: dict = {"statusCode": status, "headers": joined}
    if cookies:
        payload["cookies"] = cookies
    if text:
        try:
            payload.update(body=body.decode("utf-8"), isBase64Encoded=False)
            return payload
        except UnicodeDecodeError:
            pass
    payload.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
    return payload


class WebAdapterEnvironment(ExecutionEnvironment):
    """One execution environment of an image function: the image's web server, behind the adapter."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        settings = self.config.variables
        self.port = free_port()
        self.readiness_path = settings.get("AWS_LWA_READINESS_CHECK_PATH") or "/"
        self.readiness_protocol = (settings.get("AWS_LWA_READINESS_CHECK_PROTOCOL") or "http").lower()
        self.healthy = healthy_statuses(settings.get("AWS_LWA_READINESS_CHECK_HEALTHY_STATUS") or "")
        self._http: http.client.HTTPConnection | None = None

    # init ---------------------------------------------------------------------------------------

    def start(self) -> Outcome | None:
        if self.state == "dead":
            return self._stopped_before_init()
        started = self._begin_init()
        if not self.config.image_command:
            return self._init_failed(started, "Runtime.InvalidEntrypoint", "the image has no command to run")
        env = self._variables()
        env.update({"AWS_LWA_PORT": str(self.port), "PORT": str(self.port), "UVICORN_PORT": str(self.port)})
        argv = command_for(self.config.image_command, python=self._python, port=self.port)
        try:
            self.proc = subprocess.Popen(
                argv,
                env=env,
                cwd=self.task_root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a kill takes its children too
            )
        except OSError as error:
            return self._init_failed(started, "Runtime.InvalidEntrypoint", f"cannot run {argv[0]}: {error}")
        threading.Thread(target=self._read_output, name=f"env-{self.id[:8]}-out", daemon=True).start()
        if self.state == "dead":  # killed (the service is stopping) while it was being started
            self.kill()

        deadline = started + INIT_TIMEOUT_S
        while time.monotonic() < deadline and self.proc.poll() is None and self.state != "dead":
            if self._ready():
                self.init_ms = (time.monotonic() - started) * 1000
                self.max_memory_mb = _peak_rss_mb(self.proc.pid) or 0
                self.state = "idle"
                return None
            time.sleep(READINESS_INTERVAL_S)
        if self.proc.poll() is not None or self.state == "dead":
            reason = _exit_reason(self.proc.poll())
            return self._init_failed(started, "Runtime.ExitError", f"Runtime exited with error: {reason}")
        return self._init_failed(
            started,
            None,
            f"the web app was not ready within {INIT_TIMEOUT_S:.0f} s: no answer to "
            f"{self._readiness_what()} (hint: does the image's command start a server on AWS_LWA_PORT?)",
        )

    def _readiness_what(self) -> str:
        if self.readiness_protocol == "tcp":
            return f"a TCP connection to port {self.port}"
        return f"GET {self.readiness_path} on port {self.port} with a status in AWS_LWA_READINESS_CHECK_HEALTHY_STATUS"

    def _ready(self) -> bool:
        try:
            if self.readiness_protocol == "tcp":
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            probe = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            try:
                probe.request("GET", self.readiness_path)
                return probe.getresponse().status in self.healthy
            finally:
                probe.close()
        except (OSError, http.client.HTTPException):
            return False

    def _init_failed(self, started: float, error_type: str | None, message: str) -> Outcome:
        elapsed = (time.monotonic() - started) * 1000
        memory = (_peak_rss_mb(self.proc.pid) if self.proc else None) or 0
        self.kill()
        status = "timeout" if error_type is None else "error"
        self._logs.put(self.stream, f"Error: {message}\n")  # one line: the reason, and a hint where there is one
        self._logs.put(self.stream, loglines.init_report_line(elapsed, status=status, error_type=error_type))
        error = {"errorMessage": message, "errorType": error_type or "timeout"}
        return Outcome("init_error", elapsed, memory, error=error, error_type=error_type, status=status)

    # invoke -------------------------------------------------------------------------------------

    def _run(self, request_id: str, event: dict, trace_id: str | None) -> Outcome:
        cold: dict = {} if self._init_reported else {"init_ms": self.init_ms}
        self._init_reported = True
        self.state = "busy"
        timeout_s = self.config.timeout_s
        started = time.monotonic()
        method, target, headers, body = to_request(event)
        headers.append(("x-amzn-lambda-context", json.dumps({"request_id": request_id})))
        try:
            status, response_headers, data = self._forward(method, target, headers, body, timeout_s)
        except TimeoutError:
            duration = (time.monotonic() - started) * 1000
            memory = _peak_rss_mb(self.proc.pid) if self.proc else None
            self.kill()
            self._logs.put(self.stream, loglines.timeout_line(request_id, timeout_s))
            return Outcome("timeout", duration, memory or self.max_memory_mb, **cold, status="timeout")
        except (OSError, http.client.HTTPException) as problem:
            duration = (time.monotonic() - started) * 1000
            returncode = self.proc.poll() if self.proc else None
            if returncode is None:  # the server is up but broke this request: an invocation error
                error = {"errorMessage": f"the web app did not answer: {problem}", "errorType": "Runtime.Unknown"}
                self._logs.put(self.stream, f"Error: {error['errorMessage']}\n")
                return Outcome(
                    "error", duration, self.max_memory_mb, error=error, error_type="Runtime.Unknown", **cold
                )
            reason = _exit_reason(returncode)
            self.kill()
            self._logs.put(self.stream, loglines.exit_error_lines(request_id, reason, "Runtime.ExitError"))
            error = {"errorMessage": f"Runtime exited with error: {reason}", "errorType": "Runtime.ExitError"}
            return Outcome(
                "crash", duration, self.max_memory_mb, error=error, error_type="Runtime.ExitError",
                **cold, status="error",
            )
        duration = (time.monotonic() - started) * 1000
        self.max_memory_mb = max(self.max_memory_mb, (_peak_rss_mb(self.proc.pid) if self.proc else 0) or 0)
        payload = json.dumps(to_payload(status, response_headers, data))
        return Outcome("ok", duration, self.max_memory_mb, payload=payload, **cold)

    def _forward(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, timeout_s: float
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request over the environment's keep-alive connection (a new one if the app closed it)."""
        for attempt in range(2):
            if self._http is None:
                self._http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)
            connection = self._http
            try:
                connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    connection.putheader(name, value)
                if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
                    connection.putheader("content-length", str(len(body)))
                connection.endheaders(body or None)
                response = connection.getresponse()
                data = response.read()
                if response.will_close:
                    self._drop_connection()
                return response.status, response.getheaders(), data
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
                self._drop_connection()  # a kept-alive connection the server closed meanwhile: once more
                if attempt == 1:
                    raise
            except TimeoutError:
                self._drop_connection()
                raise TimeoutError from None
        raise AssertionError("unreachable")

    def _drop_connection(self) -> None:
        if self._http is not None:
            with contextlib.suppress(OSError):
                self._http.close()
            self._http = None

    def kill(self) -> None:
        self._drop_connection()
        super().kill()

    def describe(self) -> dict:
        return {**super().describe(), "port": self.port}
