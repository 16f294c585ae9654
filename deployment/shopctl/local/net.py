"""Small network helpers for starting local processes."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import tempfile
import time
from pathlib import Path

import httpx

from shopctl import httpclient

# A port for a server we are about to start. Not from the kernel's ephemeral range (what binding port 0
# returns): any outgoing connection — a test client's request — may take such a port as its source port
# between the moment it was found free and the moment the server binds it, and the server then fails to
# start with "address already in use". Ports below that range are never handed out that way; a small
# reservation file keeps two of our processes (parallel test shards) from picking the same one.
SERVER_PORTS_FROM = 20000
RESERVATION_TTL_S = 600.0  # long enough for a server to have bound its port; then the file is stale


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 49152  # IANA's dynamic range (macOS, Windows)


def _reserve(port: int) -> bool:
    """Claim `port` for this process among ours; False if another one claimed it recently."""
    folder = Path(tempfile.gettempdir()) / f"shop-ports-{os.getuid() if hasattr(os, 'getuid') else 0}"
    folder.mkdir(exist_ok=True)
    path = folder / str(port)
    if random.random() < 0.02:  # now and then, forget every stale claim (not only this port's)
        _forget_stale(folder)
    with contextlib.suppress(FileNotFoundError):
        if time.time() - path.stat().st_mtime > RESERVATION_TTL_S:
            path.unlink(missing_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _forget_stale(folder: Path) -> None:
    now = time.time()
    for claim in folder.iterdir():
        with contextlib.suppress(FileNotFoundError):
            if now - claim.stat().st_mtime > RESERVATION_TTL_S:
                claim.unlink(missing_ok=True)


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", port))  # only a check: a server on any address blocks it
        except OSError:
            return False
    return True


def free_port() -> int:
    """A free TCP port for a local server, outside the ephemeral range (see above)."""
    high = _ephemeral_start() - 1
    for _ in range(200):
        port = random.randint(SERVER_PORTS_FROM, high)
        if _bindable(port) and _reserve(port):
            return port
    with socket.socket() as sock:  # a crowded machine: fall back to what the kernel offers
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
            if httpclient.get(url, timeout=request_timeout).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False
