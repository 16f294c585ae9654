"""The local stand-in for a container orchestrator: N replicas of one container command behind one port.

ECS (a service's tasks) and EKS (a Deployment's pods) both come down to this on one machine: start
`replicas` copies of the container's command, send traffic only to replicas whose health check passes,
spread requests round-robin (the load balancer's job), and replace a replica that exits (the service
scheduler's / ReplicaSet's job). What to run is never decided here: the caller derives it from the
registered task definition or from the Deployment manifest.

Run as `python -m shopctl.supervisor --spec spec.json --port N`; `GET /__local__/status` reports the replicas.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import uvicorn

from shopctl.localaws import terminate
from shopctl.net import free_port

CONTROL_PATH = "/__local__/status"
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
    "te",
    "trailer",
    "host",
    "content-length",
}


@dataclass
class Spec:
    """What to run, derived from a task definition or a Deployment."""

    name: str
    argv: list[str]  # the container command; "--port"'s value is replaced per replica
    env: dict[str, str]
    replicas: int
    health_path: str = "/health"  # the health check (ECS) / readiness probe (EKS) path
    files: dict[str, str] = field(default_factory=dict)  # path -> content to write before start (ConfigMaps)
    platform: str = "ecs"


@dataclass
class Replica:
    index: int
    port: int
    popen: subprocess.Popen[bytes]
    started: float
    ready: bool = False
    restarts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def replica_argv(argv: list[str], port: int) -> list[str]:
    """The container command for one replica: this machine's Python, loopback, its own port."""
    out = [
        sys.executable if i == 0 and Path(arg).name.startswith("python") else arg
        for i, arg in enumerate(argv)
    ]
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        if flag in out:
            out[out.index(flag) + 1] = value
        else:
            out += [flag, value]
    return out


class Supervisor:
    def __init__(self, spec: Spec, log_dir: Path) -> None:
        self.spec = spec
        self.log_dir = log_dir
        self.replicas: list[Replica] = []
        self._lock = threading.Lock()
        self._rr = itertools.count()
        self._stopping = threading.Event()

    def _spawn(self, index: int, restarts: int = 0) -> Replica:
        port = free_port()
        log = (self.log_dir / f"{self.spec.name}-{index}.log").open("ab")
        popen = subprocess.Popen(
            replica_argv(self.spec.argv, port),
            env=self.spec.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        print(
            f"{self.spec.platform}-local: {self.spec.name}[{index}] started (pid {popen.pid}, port {port})",
            flush=True,
        )
        return Replica(index, port, popen, time.monotonic(), restarts=restarts)

    def start(self) -> None:
        for path, content in self.spec.files.items():
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(content)
        with self._lock:
            self.replicas = [self._spawn(i) for i in range(self.spec.replicas)]
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        """Health-check every replica; replace the ones that exited."""
        with httpx.Client(timeout=1.0) as client:
            while not self._stopping.is_set():
                with self._lock:
                    replicas = list(self.replicas)
                for replica in replicas:
                    if replica.popen.poll() is not None:
                        print(
                            f"{self.spec.platform}-local: {self.spec.name}[{replica.index}] exited "
                            f"(code {replica.popen.returncode}); replacing it",
                            flush=True,
                        )
                        fresh = self._spawn(replica.index, replica.restarts + 1)
                        with self._lock:
                            self.replicas[replica.index] = fresh
                        continue
                    try:
                        healthy = client.get(replica.url + self.spec.health_path).status_code == 200
                    except httpx.HTTPError:
                        healthy = False
                    if healthy != replica.ready:
                        replica.ready = healthy
                        state = "ready" if healthy else "not ready"
                        print(
                            f"{self.spec.platform}-local: {self.spec.name}[{replica.index}] {state}",
                            flush=True,
                        )
                self._stopping.wait(0.25)

    def ready(self) -> list[Replica]:
        with self._lock:
            return [r for r in self.replicas if r.ready and r.popen.poll() is None]

    def pick(self) -> list[Replica]:
        """Ready replicas, rotated round-robin (the first is the one to use, the rest are fallbacks)."""
        ready = self.ready()
        if not ready:
            return []
        start = next(self._rr) % len(ready)
        return ready[start:] + ready[:start]

    def status(self) -> dict:
        with self._lock:
            replicas = [
                {
                    "index": r.index,
                    "pid": r.popen.pid,
                    "port": r.port,
                    "ready": r.ready,
                    "alive": r.popen.poll() is None,
                    "restarts": r.restarts,
                }
                for r in self.replicas
            ]
        return {
            "name": self.spec.name,
            "platform": self.spec.platform,
            "desired": self.spec.replicas,
            "replicas": replicas,
        }

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for replica in self.replicas:
                terminate(replica.popen.pid)


def proxy_app(supervisor: Supervisor):
    """An ASGI app that forwards every request to a ready replica (the load balancer)."""
    client = httpx.AsyncClient(timeout=30.0)

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == CONTROL_PATH:
            await _reply(send, 200, json.dumps(supervisor.status()).encode())
            return
        headers = [
            (k.decode(), v.decode("latin-1")) for k, v in scope["headers"] if k.decode() not in HOP_BY_HOP
        ]
        target = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        for replica in supervisor.pick()[:2]:  # one retry on another replica if a connection fails
            url = replica.url + target
            try:
                response = await client.request(scope["method"], url, headers=headers, content=body)
            except httpx.TransportError:
                continue
            out = [
                (k.encode(), v.encode("latin-1")) for k, v in response.headers.items() if k not in HOP_BY_HOP
            ]
            await send({"type": "http.response.start", "status": response.status_code, "headers": out})
            await send({"type": "http.response.body", "body": response.content})
            return
        await _reply(
            send,
            503,
            json.dumps(
                {"detail": f"no healthy {supervisor.spec.platform} replica of {supervisor.spec.name}"}
            ).encode(),
        )

    return app


async def _reply(send, status: int, body: bytes) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopctl.supervisor")
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    raw = json.loads(args.spec.read_text())
    spec = Spec(**raw)
    supervisor = Supervisor(spec, args.spec.parent)
    config = uvicorn.Config(
        proxy_app(supervisor), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)

    def _stop(*_: object) -> None:
        server.should_exit = True

    # Before the first replica starts: the replicas run in sessions of their own (a task or pod is not
    # the supervisor's process group), so a SIGTERM that killed us between their start and these
    # handlers would leave them running with nothing to stop them — as a Ctrl-C'd deploy did.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        supervisor.start()
        if not server.should_exit:
            print(
                f"{spec.platform}-local: {spec.name} listening on http://127.0.0.1:{args.port} "
                f"({spec.replicas} replicas)",
                flush=True,
            )
            asyncio.run(server.serve())
    finally:
        supervisor.stop()
        print(f"{spec.platform}-local: {spec.name} stopped", flush=True)
    return 0


def write_spec(spec: Spec, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{spec.name}.spec.json"
    path.write_text(json.dumps(asdict(spec), indent=2))
    return path


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
