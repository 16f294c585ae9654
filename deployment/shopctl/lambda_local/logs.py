"""CloudWatch Logs for the function, written like Lambda writes them.

One log group `/aws/lambda/<function>`, one log stream per execution environment
(`YYYY/MM/DD/[$LATEST]<32 hex>`), and the platform's START / END / REPORT lines around each
invocation. Writing happens on a background thread so no response waits for it; every line is also
echoed to the service's own stdout (its log file).
"""

from __future__ import annotations

import math
import queue
import sys
import threading
import time
import uuid
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

MAX_EVENT_BYTES = 256 * 1024 - 26
MAX_BATCH_BYTES = 1_048_576
MAX_BATCH_EVENTS = 10_000
EVENT_OVERHEAD = 26


def log_group_name(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def new_stream_name(version: str = "$LATEST") -> str:
    return time.strftime("%Y/%m/%d/", time.gmtime()) + f"[{version}]{uuid.uuid4().hex}"


def iso_now() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


# --- the platform's lines ------------------------------------------------------------------------


def start_line(request_id: str, version: str = "$LATEST") -> str:
    return f"START RequestId: {request_id} Version: {version}\n"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}\n"


def billed_ms(duration_ms: float, init_ms: float | None = None, billed_restore_ms: int | None = None) -> int:
    """Billed Duration: rounded up to the millisecond; a cold start's INIT phase is billed too.

    (Lambda bills the INIT phase of on-demand ZIP functions since 1 August 2025.) A SnapStart restore
    bills its Billed Restore Duration instead (loading the runtime and the after-restore hooks).
    """
    return max(1, math.ceil(duration_ms + (init_ms or 0.0) + (billed_restore_ms or 0)))


def report_line(
    request_id: str,
    *,
    duration_ms: float,
    memory_mb: int,
    max_memory_mb: int,
    init_ms: float | None = None,
    restore_ms: float | None = None,
    billed_restore_ms: int | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    """The REPORT line. A cold start says how the environment came to be: `Init Duration` (on demand:
    init ran now) or, for SnapStart, `Restore Duration` and `Billed Restore Duration` (init ran when
    the version was published; this environment was restored from its snapshot). Warm: neither."""
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {billed_ms(duration_ms, init_ms, billed_restore_ms)} ms\tMemory Size: {memory_mb} MB\t"
        f"Max Memory Used: {max_memory_mb} MB\t"
    )
    if init_ms is not None:
        line += f"Init Duration: {init_ms:.2f} ms\t"
    if restore_ms is not None:
        line += f"Restore Duration: {restore_ms:.2f} ms\tBilled Restore Duration: {billed_restore_ms or 0} ms\t"
    if status:
        line += f"Status: {status}\t"
        if error_type:
            line += f"Error Type: {error_type}\t"
    return line + "\n"


def init_start_line(runtime_version: str, region: str) -> str:
    return (
        f"INIT_START Runtime Version: {runtime_version}\t"
        f"Runtime Version ARN: arn:aws:lambda:{region}::runtime:local-{runtime_version.replace(':', '-')}\n"
    )


def restore_start_line(runtime_version: str, region: str) -> str:
    """A SnapStart environment starts by restoring the snapshot, not by INIT_START."""
    return "RESTORE_START" + init_start_line(runtime_version, region).removeprefix("INIT_START")


def restore_report_line(restore_ms: float, *, status: str | None = None, error_type: str | None = None) -> str:
    line = f"RESTORE_REPORT Restore Duration: {restore_ms:.2f} ms"
    if status:
        line += f"\tStatus: {status}"
    if error_type:
        line += f"\tError Type: {error_type}"
    return line + "\n"


def init_report_line(init_ms: float, *, phase: str = "init", status: str, error_type: str | None) -> str:
    line = f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: {phase}\tStatus: {status}"
    if error_type:
        line += f"\tError Type: {error_type}"
    return line + "\n"


def timeout_line(request_id: str, timeout_s: int) -> str:
    return f"{iso_now()} {request_id} Task timed out after {timeout_s:.2f} seconds\n"


def exit_error_lines(request_id: str, reason: str, error_type: str) -> str:
    return f"RequestId: {request_id} Error: Runtime exited with error: {reason}\n{error_type}\n"


# --- the writer ----------------------------------------------------------------------------------


@dataclass
class _Event:
    stream: str
    timestamp: int
    message: str


class LogWriter:
    """Queue log events and ship them to CloudWatch Logs (and stdout) from a background thread."""

    def __init__(self, group: str, *, echo=None) -> None:
        self.group = group
        self._echo = echo if echo is not None else _stdout_echo
        self._queue: queue.Queue[_Event | threading.Event | None] = queue.Queue()
        self._created: set[str] = set()
        self._group_ready = False
        self._last_ts: dict[str, int] = {}
        # Created here (boto3's default session is not thread-safe); short timeouts: a local AWS that
        # went away must not wedge the writer.
        self._client = boto3.client(
            "logs", config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 2})
        )
        self._thread = threading.Thread(target=self._run, name="cloudwatch-logs", daemon=True)
        self._thread.start()

    def put(self, stream: str, message: str, timestamp: int | None = None) -> None:
        ts = int(time.time() * 1000) if timestamp is None else int(timestamp)
        self._queue.put(_Event(stream, ts, message if message else "\n"))

    def flush(self, timeout: float = 3.0) -> bool:
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 3.0) -> None:
        self.flush(timeout)
        self._queue.put(None)
        self._thread.join(timeout)

    # background thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            events = [item for item in items if isinstance(item, _Event)]
            if events:
                try:
                    self._ship(events)
                except Exception as error:  # never let logging take the service down
                    print(
                        f"lambda-local: could not write CloudWatch Logs: {error}", file=sys.stderr, flush=True
                    )
            for item in items:
                if isinstance(item, threading.Event):
                    item.set()
            if any(item is None for item in items):
                return

    def _ship(self, events: list[_Event]) -> None:
        for event in events:
            self._echo(event.message)
        by_stream: dict[str, list[dict]] = {}
        for event in events:
            ts = max(event.timestamp, self._last_ts.get(event.stream, 0))
            self._last_ts[event.stream] = ts
            message = _truncate(event.message)
            by_stream.setdefault(event.stream, []).append({"timestamp": ts, "message": message})
        for stream, stream_events in by_stream.items():
            for batch in _batches(stream_events):
                self._put(stream, batch)

    def _put(self, stream: str, batch: list[dict]) -> None:
        for attempt in range(2):
            try:
                self._ensure(stream)
                self._client.put_log_events(logGroupName=self.group, logStreamName=stream, logEvents=batch)
                return
            except ClientError as error:
                if (
                    attempt == 0
                    and error.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
                ):
                    self._group_ready = False  # the group was deleted under us: create it again
                    self._created.clear()
                    continue
                raise

    def _ensure(self, stream: str) -> None:
        if not self._group_ready:
            try:
                self._client.create_log_group(logGroupName=self.group)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
                    raise
            self._group_ready = True
        if stream not in self._created:
            try:
                self._client.create_log_stream(logGroupName=self.group, logStreamName=stream)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
                    raise
            self._created.add(stream)


def _stdout_echo(message: str) -> None:
    sys.stdout.write(message if message.endswith("\n") else message + "\n")
    sys.stdout.flush()


def _truncate(message: str) -> str:
    data = message.encode("utf-8")
    if len(data) <= MAX_EVENT_BYTES:
        return message
    return data[: MAX_EVENT_BYTES - 20].decode("utf-8", "ignore") + " [truncated]\n"


def _batches(events: list[dict]):
    batch: list[dict] = []
    size = 0
    for event in events:
        event_size = len(event["message"].encode("utf-8")) + EVENT_OVERHEAD
        if batch and (len(batch) >= MAX_BATCH_EVENTS or size + event_size > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += event_size
    if batch:
        yield batch
