"""One execution environment: a worker process of the local Python running the runtime bootstrap.

Lifecycle as on Lambda: INIT (start the runtime, import the handler — a cold start), then INVOKE
one request at a time, until it is recycled (idle too long, configuration changed) or dies
(timeout, crash, init failure). The worker talks to us over a private socket; its log lines come
over that socket too, anything written straight to its file descriptors 1/2 over a pipe.

Why one module of ~550 lines: it is one class's lifecycle (init, invoke, restore, shutdown) and the small
types its phases hand each other; the SnapStart snapshot that builds on it is `snapshot.py`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from shopctl.lambda_local import logs as loglines
from shopctl.lambda_local.function import FunctionConfig
from shopctl.lambda_local.logs import LogWriter


class Snapshot(Protocol):
    """What an environment needs of a SnapStart snapshot (`snapshot.Snapshot`, which builds on this module:
    a protocol here rather than an import keeps the two modules from importing each other)."""

    def alive(self) -> bool: ...

    def restore(self, control_fd: int, output_fd: int, stdout: Any) -> RestoredProcess: ...

    def exit_status(self, pid: int, *, timeout: float | None) -> int | None: ...

INIT_TIMEOUT_S = 10.0  # Lambda's limit for the INIT phase of an on-demand environment
RESTORE_TIMEOUT_S = 10.0  # and for a SnapStart restore (after-restore hooks included)

# From the service's own environment: where AWS is and the credentials (on AWS: the role's).
PASSED_THROUGH = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL")


@dataclass
class Outcome:
    """How one invocation ended, and what the REPORT line says about it."""

    kind: str  # "ok" | "error" (handled by the runtime) | "timeout" | "crash" | "init_error"
    duration_ms: float
    max_memory_mb: int
    payload: str | None = None
    error: dict | None = None
    error_type: str | None = None
    init_ms: float | None = None
    restore_ms: float | None = None  # SnapStart: this invocation's environment was restored just now
    billed_restore_ms: int | None = None
    status: str | None = None  # the REPORT line's "Status:" (timeout / error); None if the runtime coped

    @property
    def environment_lost(self) -> bool:
        return self.kind in ("timeout", "crash", "init_error")


def environment_variables(
    config: FunctionConfig,
    *,
    stream: str,
    task_root: Path,
    runtime_dir: Path,
    inherited: Mapping[str, str],
    snap_start: bool = False,
) -> dict[str, str]:
    """What the function sees in os.environ: its own variables plus Lambda's reserved ones."""
    env = {str(k): str(v) for k, v in config.variables.items()}
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": loglines.log_group_name(config.name),
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start" if snap_start else "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(runtime_dir),
            "_HANDLER": config.handler,
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if snap_start:  # one snapshot serves many environments (and log streams): Lambda leaves these out
        del env["AWS_LAMBDA_LOG_GROUP_NAME"], env["AWS_LAMBDA_LOG_STREAM_NAME"]
    for key, value in inherited.items():
        if key in PASSED_THROUGH or key.startswith("AWS_ENDPOINT_URL_"):
            env[key] = value
    return env


def _exit_reason(returncode: int | None) -> str:
    if returncode is None:
        return "signal: killed"
    if returncode < 0:
        try:
            return f"signal: {signal.strsignal(-returncode).lower()}"
        except (ValueError, AttributeError):
            return f"signal: {-returncode}"
    return f"exit status {returncode}"


def _peak_rss_mb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return (int(line.split()[1]) + 1023) // 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class ExecutionEnvironment:
    def __init__(
        self,
        config: FunctionConfig,
        task_root: Path,
        *,
        runtime_dir: Path,
        logs: LogWriter,
        python: str,
        runtime_version: str,
        inherited: Mapping[str, str],
        snapshot: Snapshot | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.stream = loglines.new_stream_name()
        self.config = config
        self.fingerprint = config.fingerprint
        self.task_root = task_root
        self.state = "new"  # new → init → idle ⇄ busy → dead
        self.invocations = 0
        self.created_at = time.time()
        self.last_used = time.monotonic()
        self.init_ms: float | None = None
        self.restore_ms: float | None = None
        self.billed_restore_ms: int | None = None
        self.max_memory_mb = 0
        self.snapshot = snapshot  # SnapStart: a cold start restores this snapshot instead of running init
        self._runtime_dir = runtime_dir
        self._logs = logs
        self._python = python
        self._runtime_version = runtime_version
        self._inherited = dict(inherited)
        self._inbox: queue.Queue[dict] = queue.Queue()
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._init_reported = False
        self.proc: subprocess.Popen[bytes] | RestoredProcess | None = None

    # lifecycle ----------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self.state != "dead"

    @staticmethod
    def _stopped_before_init() -> Outcome:
        """The service stopped before this environment got going."""
        error = {"errorMessage": "the local Lambda service is stopping", "errorType": "Runtime.Unknown"}
        return Outcome("init_error", 0.0, 0, error=error, error_type="Runtime.Unknown", status="error")

    def _begin_init(self) -> float:
        """The INIT phase starts: its log line; returns when (time.monotonic) for its duration."""
        self.state = "init"
        self._logs.put(self.stream, loglines.init_start_line(self._runtime_version, self.config.region))
        return time.monotonic()

    def _variables(self, **extra: Any) -> dict[str, str]:
        """The process environment Lambda gives this function's runtime (see environment_variables)."""
        return environment_variables(
            self.config,
            stream=self.stream,
            task_root=self.task_root,
            runtime_dir=self._runtime_dir,
            inherited=self._inherited,
            **extra,
        )

    def start(self) -> Outcome | None:
        """INIT: start the runtime and import the handler. Returns an Outcome only if init failed."""
        if self.state == "dead":
            return self._stopped_before_init()
        if self.snapshot is not None:
            return self._restore(self.snapshot)
        started = self._begin_init()
        ours, theirs = socket.socketpair()
        env = self._variables(snap_start=self._takes_snapshot)
        argv = [self._python, "-I", "-S", "-X", "utf8", str(self._runtime_dir / "bootstrap.py")]
        try:
            self.proc = subprocess.Popen(
                [*argv, str(theirs.fileno()), *(["--snapshot"] if self._takes_snapshot else [])],
                env=env,
                cwd=self.task_root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,  # its own process group: a kill takes its children too
            )
        finally:
            theirs.close()
        self._sock = ours
        if self.state == "dead":  # killed (the service is stopping) while it was being started
            self.kill()
        threading.Thread(target=self._read_control, name=f"env-{self.id[:8]}-ctl", daemon=True).start()
        threading.Thread(target=self._read_output, name=f"env-{self.id[:8]}-out", daemon=True).start()

        deadline = started + self._init_timeout_s()
        message = self._next(deadline)
        elapsed = (time.monotonic() - started) * 1000
        if message is not None and message["type"] == "ready":
            self.init_ms = elapsed
            self.max_memory_mb = int(message.get("maxMemoryMB") or 0)
            self.state = "idle"
            return None

        if message is None:  # INIT took longer than Lambda allows
            memory = _peak_rss_mb(self.proc.pid) or 0
            self.kill()
            error_type, status = None, "timeout"
            error = {
                "errorMessage": f"INIT phase exceeded {elapsed / 1000:.2f} seconds",
                "errorType": "timeout",
            }
        elif message["type"] == "init_error":
            memory = int(message.get("maxMemoryMB") or 0)
            error_type, status, error = message["errorType"], "error", message["error"]
            self.kill()
        else:  # the runtime exited before it was ready
            memory = 0
            error_type, status = "Runtime.ExitError", "error"
            reason = _exit_reason(message.get("returncode"))
            error = {"errorMessage": f"Runtime exited with error: {reason}", "errorType": error_type}
            self._logs.put(self.stream, f"Error: Runtime exited with error: {reason}\n{error_type}\n")
            self.kill()
        self._logs.put(self.stream, loglines.init_report_line(elapsed, status=status, error_type=error_type))
        return Outcome("init_error", elapsed, memory, error=error, error_type=error_type, status=status)

    # SnapStart ----------------------------------------------------------------------------------

    _takes_snapshot = False  # the Snapshot subclass runs init with the before-snapshot hooks, then stays

    def _init_timeout_s(self) -> float:
        return INIT_TIMEOUT_S + self.config.timeout_s

    def _restore(self, snapshot: Snapshot) -> Outcome | None:
        """A SnapStart cold start: a fork of the initialised snapshot, then the after-restore hooks.

        Restore Duration runs from the request to the snapshot until the restored runtime is ready
        (hooks included); Billed Restore Duration is the part spent in the runtime and the hooks.
        """
        self.state = "init"
        self._logs.put(self.stream, loglines.restore_start_line(self._runtime_version, self.config.region))
        started = time.monotonic()
        ours, theirs = socket.socketpair()
        output_r, output_w = os.pipe()
        output = os.fdopen(output_r, "rb")
        try:
            self.proc = snapshot.restore(theirs.fileno(), output_w, output)
        except OSError as problem:  # the snapshot is gone (killed, crashed)
            output.close()
            self.proc = None
            ours.close()
            return self._restore_failed(started, "Runtime.Unknown", f"the snapshot is gone ({problem})")
        finally:
            theirs.close()
            os.close(output_w)
        self._sock = ours
        threading.Thread(target=self._read_control, name=f"env-{self.id[:8]}-ctl", daemon=True).start()
        threading.Thread(target=self._read_output, name=f"env-{self.id[:8]}-out", daemon=True).start()
        message = self._next(started + RESTORE_TIMEOUT_S)
        elapsed = (time.monotonic() - started) * 1000
        if message is not None and message["type"] == "ready":
            self.restore_ms = elapsed
            self.billed_restore_ms = max(1, math.ceil(float(message.get("hooksMs") or 0.0)))
            self.max_memory_mb = int(message.get("maxMemoryMB") or 0)
            self._logs.put(self.stream, loglines.restore_report_line(elapsed))
            self.state = "idle"
            return None
        self.kill()
        if message is None:
            return self._restore_failed(started, None, f"RESTORE phase exceeded {elapsed / 1000:.2f} seconds")
        if message["type"] == "restore_error":
            return self._restore_failed(started, message["errorType"], message["error"]["errorMessage"])
        reason = _exit_reason(message.get("returncode"))
        return self._restore_failed(started, "Runtime.ExitError", f"Runtime exited with error: {reason}")

    def _restore_failed(self, started: float, error_type: str | None, message: str) -> Outcome:
        elapsed = (time.monotonic() - started) * 1000
        status = "timeout" if error_type is None else "error"
        self._logs.put(self.stream, loglines.restore_report_line(elapsed, status=status, error_type=error_type))
        error = {"errorMessage": message, "errorType": error_type or "SnapStartTimeoutException"}
        return Outcome(
            "init_error", elapsed, self.max_memory_mb, error=error, error_type=error_type,
            restore_ms=elapsed, status=status,
        )

    def kill(self) -> None:
        """Stop the worker and everything it started (its process group)."""
        self.state = "dead"
        proc = self.proc
        if isinstance(proc, RestoredProcess):
            proc.kill()
        elif proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()

    # invoke -------------------------------------------------------------------------------------

    def invoke(
        self,
        request_id: str,
        event: dict,
        *,
        trace_id: str | None = None,
        init_failure: Outcome | None = None,
    ) -> Outcome:
        """One invocation, START … END / REPORT included."""
        self._logs.put(self.stream, loglines.start_line(request_id))
        outcome = init_failure if init_failure is not None else self._run(request_id, event, trace_id)
        self._logs.put(self.stream, loglines.end_line(request_id))
        status = outcome.status
        self._logs.put(
            self.stream,
            loglines.report_line(
                request_id,
                duration_ms=outcome.duration_ms,
                memory_mb=self.config.memory_mb,
                max_memory_mb=outcome.max_memory_mb,
                init_ms=outcome.init_ms,
                restore_ms=outcome.restore_ms,
                billed_restore_ms=outcome.billed_restore_ms,
                status=status,
                error_type=outcome.error_type if status == "error" else None,
            ),
        )
        self.invocations += 1
        self.last_used = time.monotonic()
        return outcome

    def _run(self, request_id: str, event: dict, trace_id: str | None) -> Outcome:
        # A cold start's REPORT says how the environment came to be (once: warm invocations say neither).
        cold: dict = {}
        if not self._init_reported:
            cold = {"init_ms": self.init_ms, "restore_ms": self.restore_ms, "billed_restore_ms": self.billed_restore_ms}
        self._init_reported = True
        self.state = "busy"
        timeout_s = self.config.timeout_s
        started = time.monotonic()
        deadline_ms = int(time.time() * 1000) + timeout_s * 1000
        with contextlib.suppress(OSError):  # if the worker is gone, the exit message says how
            self._send(
                {
                    "type": "invoke",
                    "requestId": request_id,
                    "event": event,
                    "deadlineMs": deadline_ms,
                    "invokedFunctionArn": self.config.arn,
                    "traceId": trace_id,
                }
            )
        message = self._next(started + timeout_s)
        duration = (time.monotonic() - started) * 1000

        if message is None:
            memory = _peak_rss_mb(self.proc.pid) if self.proc else None
            self.kill()
            self._logs.put(self.stream, loglines.timeout_line(request_id, timeout_s))
            return Outcome(
                "timeout", duration, memory or self.max_memory_mb, **cold, status="timeout"
            )
        if message["type"] in ("result", "error"):
            self.max_memory_mb = max(self.max_memory_mb, int(message.get("maxMemoryMB") or 0))
            if self.max_memory_mb > self.config.memory_mb:
                return self._out_of_memory(request_id, duration, cold)
            if message["type"] == "result":
                return Outcome(
                    "ok", duration, self.max_memory_mb, payload=message.get("payload"), **cold
                )
            error = message.get("error") or {}
            return Outcome(
                "error",
                duration,
                self.max_memory_mb,
                error=error,
                error_type=error.get("errorType"),
                **cold,
            )
        # the worker exited mid-invocation (os._exit, sys.exit, a crash of the interpreter…)
        reason = _exit_reason(message.get("returncode"))
        self.kill()
        self._logs.put(self.stream, loglines.exit_error_lines(request_id, reason, "Runtime.ExitError"))
        error = {"errorMessage": f"Runtime exited with error: {reason}", "errorType": "Runtime.ExitError"}
        return Outcome(
            "crash",
            duration,
            self.max_memory_mb,
            error=error,
            error_type="Runtime.ExitError",
            **cold,
            status="error",
        )

    def _out_of_memory(self, request_id: str, duration: float, cold: dict) -> Outcome:
        self.kill()
        self._logs.put(
            self.stream, loglines.exit_error_lines(request_id, "signal: killed", "Runtime.OutOfMemory")
        )
        error = {
            "errorMessage": "Runtime exited with error: signal: killed",
            "errorType": "Runtime.OutOfMemory",
        }
        return Outcome(
            "crash",
            duration,
            self.max_memory_mb,
            error=error,
            error_type="Runtime.OutOfMemory",
            **cold,
            status="error",
        )

    def finish(self) -> None:
        """After an invocation: back to idle (unless it was lost)."""
        if self.state == "busy" and self.alive():
            self.state = "idle"

    # plumbing -----------------------------------------------------------------------------------

    def _send(self, message: dict) -> None:
        data = (json.dumps(message) + "\n").encode()
        with self._send_lock:
            assert self._sock is not None
            self._sock.sendall(data)

    def _next(self, deadline: float) -> dict | None:
        """The next non-log message from the worker, or None when `deadline` (monotonic) passes."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            return self._inbox.get(timeout=remaining)
        except queue.Empty:
            return None

    def _read_control(self) -> None:
        sock = self._sock
        assert sock is not None
        reader = sock.makefile("rb")
        try:
            for line in reader:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if message.get("type") == "log":
                    self._logs.put(self.stream, message.get("message", ""), message.get("ts"))
                elif not self._on_message(message):
                    self._inbox.put(message)
        except (OSError, ValueError):
            pass
        returncode = None
        if self.proc is not None:
            try:
                returncode = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                returncode = None
        self._inbox.put({"type": "exit", "returncode": returncode})

    def _on_message(self, message: dict) -> bool:
        """A message this kind of environment handles itself (True), or one for whoever waits (False)."""
        if message.get("type") == "restoring" and isinstance(self.proc, RestoredProcess):
            self.proc.pid = int(message["pid"])  # the fork's pid: from now on it can be killed
            return True
        return False

    def _read_output(self) -> None:
        """Anything written to fd 1/2 directly (C extensions, subprocesses): one log event per line."""
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        for raw in proc.stdout:
            self._logs.put(self.stream, raw.decode("utf-8", "replace"))
        proc.stdout.close()

    def describe(self) -> dict:
        return {
            "id": self.id,
            "logStream": self.stream,
            "state": self.state,
            "pid": self.pid,
            "invocations": self.invocations,
            "fingerprint": self.fingerprint,
            "initDurationMs": round(self.init_ms, 2) if self.init_ms is not None else None,
            "restoreDurationMs": round(self.restore_ms, 2) if self.restore_ms is not None else None,
            "createdAt": self.created_at,
        }


class RestoredProcess:
    """A restored environment's process: a fork of the snapshot, so the snapshot (its parent) reaps it
    and tells us how it ended. Quacks like the subprocess.Popen of an on-demand environment."""

    def __init__(self, snapshot: Snapshot, stdout) -> None:
        self.snapshot = snapshot
        self.stdout = stdout
        self.pid: int | None = None  # known once the restored runtime says so

    def poll(self) -> int | None:
        if self.pid is None:
            return None if self.snapshot.alive() else -signal.SIGKILL
        return self.snapshot.exit_status(self.pid, timeout=0)

    def wait(self, timeout: float | None = None) -> int:
        if self.pid is None:  # it ended before it said who it is (the restore request never landed)
            return -signal.SIGKILL
        code = self.snapshot.exit_status(self.pid, timeout=timeout)
        if code is None:
            raise subprocess.TimeoutExpired(f"restored environment {self.pid}", timeout or 0)
        return code

    def kill(self) -> None:
        if self.pid is not None and self.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)  # it called setsid(): its group is its own
            self.snapshot.exit_status(self.pid, timeout=5)
