"""The function's execution environments: reuse a warm one, start a cold one, or throttle.

Like Lambda: each concurrent request needs an environment of its own; an idle (warm) one of the
current configuration is reused, otherwise a new one is started (a cold start) as long as the
concurrency limit allows, and beyond it the request is throttled. Idle environments are recycled
after a while, and all of them when the function's configuration or code changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from shopctl.lambda_local.environment import ExecutionEnvironment


class Throttled(Exception):
    pass


class Pool:
    def __init__(self, *, max_concurrency: int, idle_timeout: float) -> None:
        self.max_concurrency = max_concurrency
        self.idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._idle: list[ExecutionEnvironment] = []  # most recently used last
        self._busy: set[ExecutionEnvironment] = set()
        self._closed = False
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap_loop, name="idle-reaper", daemon=True)
        self._reaper.start()

    def acquire(self, fingerprint: str, create: Callable[[], ExecutionEnvironment]) -> ExecutionEnvironment:
        """A warm environment of this configuration, or a new (not yet started) one. Raises Throttled."""
        doomed: list[ExecutionEnvironment] = []
        try:
            with self._lock:
                if self._closed:
                    raise Throttled("shutting down")
                while self._idle:
                    env = self._idle.pop()
                    if env.fingerprint == fingerprint and env.alive():
                        self._busy.add(env)
                        return env
                    doomed.append(env)
                if len(self._busy) >= self.max_concurrency:
                    raise Throttled(f"{len(self._busy)} concurrent executions")
                env = create()
                self._busy.add(env)
                return env
        finally:
            for env in doomed:
                env.kill()

    def release(self, env: ExecutionEnvironment, current_fingerprint: str | None) -> None:
        keep = env.alive() and env.state in ("idle", "busy") and env.fingerprint == current_fingerprint
        with self._lock:
            self._busy.discard(env)
            if keep and not self._closed:
                env.finish()
                env.last_used = time.monotonic()
                self._idle.append(env)
                return
        env.kill()

    def retire(self, fingerprint: str) -> int:
        """The configuration changed: idle environments of another one go (busy ones when released)."""
        with self._lock:
            stale = [env for env in self._idle if env.fingerprint != fingerprint]
            self._idle = [env for env in self._idle if env.fingerprint == fingerprint]
        for env in stale:
            env.kill()
        return len(stale)

    def environments(self) -> list[ExecutionEnvironment]:
        with self._lock:
            return [*self._busy, *self._idle]

    def close(self) -> None:
        """Kill every environment now (busy ones too: their requests fail fast)."""
        with self._lock:
            self._closed = True
            everything = [*self._busy, *self._idle]
            self._idle.clear()
        self._stop.set()
        for env in everything:
            env.kill()

    def _reap_loop(self) -> None:
        interval = min(1.0, max(0.05, self.idle_timeout / 4))
        while not self._stop.wait(interval):
            now = time.monotonic()
            with self._lock:
                expired = [
                    env for env in self._idle if now - env.last_used >= self.idle_timeout or not env.alive()
                ]
                self._idle = [env for env in self._idle if env not in expired]
            for env in expired:
                env.kill()
