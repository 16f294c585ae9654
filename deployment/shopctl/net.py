"""Small network helpers for starting local processes."""

from __future__ import annotations

import socket
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_healthy(url: str, timeout: float, is_alive=lambda: True, *, request_timeout: float = 1.0) -> bool:
    """Poll `url` until it answers 200, the process dies (`is_alive` false) or `timeout` passes.

    `request_timeout` bounds each poll; behind a Lambda give it room for a cold start, or every poll that
    gives up sends another request, which Lambda answers with another environment (another cold start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive():
            return False
        try:
            if httpx.get(url, timeout=request_timeout).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False
