"""The local stand-in for a container orchestrator: N replicas of one container command behind one port.

ECS (a service's tasks) and EKS (a Deployment's pods) both come down to this on one machine: start
`replicas` copies of the container's command, send traffic only to replicas whose health check passes,
spread requests round-robin (the load balancer's job), and replace a replica that exits (the service
scheduler's / ReplicaSet's job). What to run is never decided here: the caller derives it from the
registered task definition or from the Deployment manifest.

A new deploy rewrites the spec file; the supervisor notices and rolls the replicas over one at a time
(start the new one, wait for its health check, then stop the old one) — a new task definition revision
rolling out on ECS, a changed pod template rolling out on Kubernetes — so traffic never stops.

Run as `python -m shopctl.local.supervisor --spec spec.json --port N`; `GET /__local__/status` reports the replicas.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
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

from shopctl import httpclient
from shopctl.local.localaws import terminate
from shopctl.local.net import free_port

CONTROL_PATH = "/__local__/status"
# A replaced replica leaves the rotation at once but is stopped only after this long, so requests it is
# still answering finish (an ALB target group's deregistration delay, a pod's termination grace).
DRAIN_SECONDS = 2.0
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


def spec_digest(path: Path) -> str:
    """The revision of a spec file: what `/__local__/status` reports once every replica runs it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def load_spec(path: Path) -> Spec:
    return Spec(**json.loads(path.read_text()))


def write_files(files: dict[str, str]) -> None:
    """Write what the spec mounts (a ConfigMap's keys, rendered to files) before a replica starts."""
    for path, content in files.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content)


def start_replica(argv: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """One replica of a container command, in a session of its own (a task / pod is not our process group)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            replica_argv(argv, port),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class Supervisor:
    def __init__(self, spec: Spec, log_dir: Path, spec_path: Path | None = None) -> None:
        self.spec = spec
        self.log_dir = log_dir
        self.spec_path = spec_path
        self.revision = spec_digest(spec_path) if spec_path else ""
        self.rolling = False
        self.failed_revision = ""
        self.replicas: list[Replica] = []
        self._draining: list[Replica] = []  # replaced, finishing their requests; stopped with the rest
        self._lock = threading.Lock()
        self._rr = itertools.count()
        self._stopping = threading.Event()

    def _spawn(self, index: int, restarts: int = 0, spec: Spec | None = None) -> Replica:
        spec = spec or self.spec
        port = free_port()
        popen = start_replica(spec.argv, spec.env, port, self.log_dir / f"{spec.name}-{index}.log")
        print(
            f"{self.spec.platform}-local: {self.spec.name}[{index}] started (pid {popen.pid}, port {port})",
            flush=True,
        )
        return Replica(index, port, popen, time.monotonic(), restarts=restarts)

    def start(self) -> None:
        write_files(self.spec.files)
        with self._lock:
            self.replicas = [self._spawn(i) for i in range(self.spec.replicas)]
        threading.Thread(target=self._watch, daemon=True).start()

    def _healthy(self, client: httpx.Client, replica: Replica, spec: Spec) -> bool:
        try:
            return client.get(replica.url + spec.health_path).status_code == 200
        except httpx.HTTPError:
            return False

    def _spec_changed(self) -> tuple[Spec, str] | None:
        if self.spec_path is None:
            return None
        try:
            revision = spec_digest(self.spec_path)
            if revision in (self.revision, self.failed_revision):
                return None
            return load_spec(self.spec_path), revision
        except (OSError, ValueError, TypeError):  # being rewritten right now: look again on the next round
            return None

    def _roll(self, client: httpx.Client, spec: Spec, revision: str, timeout: float = 60.0) -> None:
        """Replace the replicas one at a time by ones running `spec`; an old one stops only once its
        replacement is healthy. A replacement that never gets healthy stops the rollout (old ones keep
        serving, as the ECS deployment circuit breaker / a stuck Kubernetes rollout leaves them)."""
        self.rolling = True
        print(f"{spec.platform}-local: {spec.name} rolling out revision {revision}", flush=True)
        write_files(spec.files)
        try:
            for index in range(spec.replicas):
                fresh = self._spawn(index, spec=spec)
                deadline = time.monotonic() + timeout
                while not self._healthy(client, fresh, spec):
                    if fresh.popen.poll() is not None or time.monotonic() > deadline or self._stopping.is_set():
                        terminate(fresh.popen.pid)
                        print(f"{spec.platform}-local: {spec.name} revision {revision} failed", flush=True)
                        self.failed_revision = revision  # not retried in a loop; a new deploy brings a new one
                        return
                    time.sleep(0.1)
                fresh.ready = True
                with self._lock:
                    old = self.replicas[index] if index < len(self.replicas) else None
                    if old:
                        self.replicas[index] = fresh
                    else:
                        self.replicas.append(fresh)
                if old:
                    self._drain(old)
            with self._lock:
                surplus, self.replicas = self.replicas[spec.replicas :], self.replicas[: spec.replicas]
            for old in surplus:
                self._drain(old)
            self.spec, self.revision = spec, revision
            print(f"{spec.platform}-local: {spec.name} revision {revision} rolled out", flush=True)
        finally:
            self.rolling = False

    def _drain(self, replica: Replica) -> None:
        self._draining.append(replica)
        timer = threading.Timer(DRAIN_SECONDS, terminate, args=(replica.popen.pid,))
        timer.daemon = True
        timer.start()

    def _watch(self) -> None:
        """Health-check every replica; replace the ones that exited; roll out a changed spec."""
        with httpclient.client(timeout=1.0) as client:
            while not self._stopping.is_set():
                changed = self._spec_changed()
                if changed:
                    self._roll(client, *changed)
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
                    healthy = self._healthy(client, replica, self.spec)
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
            "revision": self.revision,
            "rolling": self.rolling,
            "failed_revision": self.failed_revision,
            "replicas": replicas,
        }

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for replica in [*self.replicas, *self._draining]:
                if replica.popen.poll() is None:
                    terminate(replica.popen.pid)


def proxy_app(supervisor: Supervisor):
    """An ASGI app that forwards every request to a ready replica (the load balancer)."""
    client = httpclient.async_client(timeout=30.0)

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
    parser = argparse.ArgumentParser(prog="shopctl.local.supervisor")
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    supervisor = Supervisor(spec, args.spec.parent, args.spec)
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
