"""A fault-injecting HTTP proxy in front of the local AWS: how the checks make DynamoDB misbehave.

    python -m shopctl.local.faultproxy --port P --control-port C --upstream http://127.0.0.1:5000

A process under test gets `AWS_ENDPOINT_URL=http://127.0.0.1:P` instead of the local AWS's own address —
the same standard boto3 setting as always, so the app cannot tell (no monkeypatching, no test hooks in
the apps). The proxy forwards every request unchanged until told otherwise on its control port:

    POST http://127.0.0.1:C/mode  {"mode": "throttle"}   DynamoDB calls get ThrottlingException (HTTP 400)
                                  {"mode": "drop"}       DynamoDB calls: the connection is closed, no answer
                                  {"mode": "hang", "delay": 5}   DynamoDB calls: no answer for `delay` s,
                                                          then the connection is closed (never applied)
                                  {"mode": "refuse"}     the port closes: connection refused for everything
                                  {"mode": "pass"}       back to normal (recovery)
    GET  http://127.0.0.1:C/stats   {"mode": …, "forwarded": n, "throttled": n, "dropped": n, "hung": n}

Only DynamoDB requests (header `X-Amz-Target: DynamoDB_20120810.*`) are faulted by throttle/drop/hang: SSM,
Lambda, CloudWatch Logs keep working, so a deployed function or task still runs while its database fails.
`FaultProxy` starts the process and drives it (the `make verify` fault checks and the tests use it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from shopctl import httpclient
from shopctl.errors import ShopctlError
from shopctl.local.net import free_port
from shopctl.local.process import Proc, spawn
from shopctl.paths import REPO_ROOT

MODES = ("pass", "throttle", "drop", "hang", "refuse")
DYNAMODB_TARGET = "dynamodb_20120810."
THROTTLED = {
    "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
    "message": "Rate of requests exceeds the allowed throughput.",
}
# Hop-by-hop headers are the proxy's own business; Accept-Encoding is dropped so bodies pass as they are.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length", "accept-encoding", "host"}
_NOT_RETURNED = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


class _Request:
    def __init__(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.method, self.target, self.headers, self.body = method, target, headers, body

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name), "")


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """One HTTP/1.1 request with a Content-Length body (what the AWS SDKs send); None at end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    request_line, *lines = head.decode("latin-1").split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3:
        return None
    headers = [(k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in lines if ":" in line)]
    request = _Request(parts[0], parts[1], headers, b"")
    if "chunked" in request.header("transfer-encoding").lower():
        return None  # not something an AWS SDK sends to DynamoDB; closing the connection says so
    try:
        request.body = await reader.readexactly(int(request.header("content-length") or 0))
    except (ValueError, asyncio.IncompleteReadError, ConnectionError):
        return None
    return request


def _response(status: int, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} {'OK' if status < 400 else 'Error'}"]
    lines += [f"{k}: {v}" for k, v in headers if k.lower() not in _NOT_RETURNED]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Proxy:
    def __init__(self, port: int, upstream: str) -> None:
        self.port = port
        self.upstream = upstream.rstrip("/")
        self.mode = "pass"
        self.delay = 0.0
        self.counts = {"forwarded": 0, "throttled": 0, "dropped": 0, "hung": 0}
        self.server: asyncio.Server | None = None
        self.connections: set[asyncio.StreamWriter] = set()
        self.client = httpclient.async_client(timeout=60.0)

    async def listen(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(self.serve, "127.0.0.1", self.port, reuse_address=True)

    async def set_mode(self, mode: str, delay: float) -> None:
        self.mode, self.delay = mode, delay
        if mode == "refuse":
            if self.server is not None:
                self.server.close()
                self.server = None
            for writer in list(self.connections):  # pooled keep-alive connections die too
                writer.transport.abort()
        else:
            await self.listen()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.add(writer)
        try:
            while (request := await _read_request(reader)) is not None:
                reply = await self.answer(request)
                if reply is None:  # "drop": the connection goes away without a response
                    writer.transport.abort()
                    return
                writer.write(reply)
                await writer.drain()
                if request.header("connection").lower() == "close":
                    break
        except ConnectionError:
            pass
        finally:
            self.connections.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def answer(self, request: _Request) -> bytes | None:
        faulted = request.header("x-amz-target").lower().startswith(DYNAMODB_TARGET)
        if faulted and self.mode == "throttle":
            self.counts["throttled"] += 1
            headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", str(uuid.uuid4()))]
            return _response(400, headers, json.dumps(THROTTLED).encode())
        if faulted and self.mode == "drop":
            self.counts["dropped"] += 1
            return None
        if faulted and self.mode == "hang":
            # A DynamoDB that does not answer. The request is never forwarded: a real timed-out write may
            # still have been applied (a timeout is ambiguous); here the client's timeout is what is tested.
            self.counts["hung"] += 1
            await asyncio.sleep(self.delay)
            return None
        headers = [(k, v) for k, v in request.headers if k.lower() not in _NOT_FORWARDED]
        try:
            upstream = await self.client.request(
                request.method, self.upstream + request.target, headers=headers, content=request.body
            )
        except httpx.HTTPError:
            return None  # the local AWS itself is gone: pass that on as a dropped connection
        self.counts["forwarded"] += 1
        return _response(upstream.status_code, list(upstream.headers.items()), upstream.content)

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        status, document = 404, {"detail": "use POST /mode or GET /stats"}
        if request is not None and request.method == "GET" and request.target == "/stats":
            status, document = 200, {"mode": self.mode, "delay": self.delay, **self.counts}
        elif request is not None and request.method == "POST" and request.target == "/mode":
            try:
                wanted = json.loads(request.body or b"{}")
                mode, delay = wanted["mode"], float(wanted.get("delay", 0))
            except (ValueError, KeyError, TypeError):
                mode, delay = "", 0.0
            if mode in MODES:
                await self.set_mode(mode, delay)
                status, document = 200, {"mode": self.mode, "delay": self.delay}
            else:
                status, document = 422, {"detail": f"mode must be one of {', '.join(MODES)}"}
        writer.write(_response(status, [("Content-Type", "application/json")], json.dumps(document).encode()))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()


async def _main(port: int, control_port: int, upstream: str) -> None:
    proxy = _Proxy(port, upstream)
    await proxy.listen()
    control = await asyncio.start_server(proxy.control, "127.0.0.1", control_port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"faultproxy: ready on 127.0.0.1:{port} -> {upstream} (control 127.0.0.1:{control_port})", flush=True)
    await stop.wait()
    loop.set_exception_handler(lambda _loop, _context: None)  # connections cut short by the shutdown
    control.close()
    if proxy.server is not None:
        proxy.server.close()
    await proxy.client.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shopctl.local.faultproxy", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the local AWS endpoint, e.g. http://127.0.0.1:5000")
    args = parser.parse_args(argv)
    asyncio.run(_main(args.port, args.control_port, args.upstream))
    return 0


class FaultProxy:
    """The proxy as a child process, and its control port as methods."""

    def __init__(self, proc: Proc, port: int, control_port: int) -> None:
        self.proc, self.port, self.control_port = proc, port, control_port

    @property
    def endpoint(self) -> str:
        """What a process under test gets as AWS_ENDPOINT_URL."""
        return f"http://127.0.0.1:{self.port}"

    def set(self, mode: str, delay: float = 0.0) -> None:
        response = httpclient.post(f"http://127.0.0.1:{self.control_port}/mode", json={"mode": mode, "delay": delay})
        if response.status_code != 200:
            raise ShopctlError(f"faultproxy refused mode {mode!r}: {response.text}")

    def stats(self) -> dict:
        return httpclient.get(f"http://127.0.0.1:{self.control_port}/stats").json()

    def stop(self) -> None:
        self.proc.stop()


@contextlib.contextmanager
def running(upstream: str, *, log: Path | None = None, timeout: float = 10.0) -> Iterator[FaultProxy]:
    """Start a fault proxy in front of `upstream` (the local AWS endpoint) for as long as the block lasts."""
    port, control_port = free_port(), free_port()
    argv = [sys.executable, "-m", "shopctl.local.faultproxy", "--port", str(port), "--control-port", str(control_port),
            "--upstream", upstream]
    proxy = FaultProxy(spawn("faultproxy", argv, _environ(), log), port, control_port)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if not proxy.proc.alive():
                raise ShopctlError("faultproxy exited at start", f"see {log}" if log else "run it by hand to see why")
            with contextlib.suppress(httpx.HTTPError):
                proxy.stats()
                break
            if time.monotonic() > deadline:
                raise ShopctlError(f"faultproxy did not answer within {timeout:.0f}s")
            time.sleep(0.05)
        yield proxy
    finally:
        proxy.stop()


def _environ() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT / "deployment"), "PYTHONUNBUFFERED": "1"}


if __name__ == "__main__":
    sys.exit(main())
