"""Lambda SnapStart, locally: the snapshot of an initialised execution environment, and its restores.

On AWS, publishing a version of a SnapStart function runs its INIT phase once (the handler's module
imported, then the before-snapshot hooks), takes a Firecracker snapshot of the whole microVM, and a
cold start resumes that snapshot instead of running init again, then runs the after-restore hooks.

Here the snapshot is a process: the runtime (`runtime_bootstrap.py --snapshot`) runs init and the
before-snapshot hooks, then waits. A restore is a fork of it: the child starts with the very memory
the snapshot holds (modules imported, objects built, the `random` generator's state, connections
opened at init…), which is what makes SnapStart fast, and what the after-restore hooks must fix.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

from shopctl.lambda_local import logs as loglines
from shopctl.lambda_local.environment import ExecutionEnvironment, Outcome, RestoredProcess

# Lambda gives a SnapStart function's INIT phase (at publish) 130 s, or the function's timeout if longer.
SNAPSHOT_INIT_TIMEOUT_S = 130.0


class Snapshot(ExecutionEnvironment):
    """The initialised environment of one configuration, kept to restore execution environments from."""

    _takes_snapshot = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._exits: dict[int, int] = {}  # pid of a restored environment → its exit status
        self._exited = threading.Condition()
        self.restores = 0

    def _init_timeout_s(self) -> float:
        return max(SNAPSHOT_INIT_TIMEOUT_S, float(self.config.timeout_s))

    def publish(self) -> Outcome | None:
        """INIT once, before-snapshot hooks included. Returns an Outcome only if it failed."""
        failure = self.start()
        if failure is None:
            assert self.init_ms is not None
            # With SnapStart, the init phase's duration is reported here, once, and never in a REPORT line.
            self._logs.put(self.stream, loglines.init_report_line(self.init_ms, status="success", error_type=None))
            self.state = "snapshot"
        return failure

    def restore(self, control_fd: int, output_fd: int, stdout) -> RestoredProcess:
        """Ask the snapshot for a restored environment that talks over `control_fd`, writes to `output_fd`."""
        if not self.alive() or self._sock is None:
            raise OSError("no snapshot process")
        request = (json.dumps({"type": "restore"}) + "\n").encode()
        with self._send_lock:
            socket.send_fds(self._sock, [request], [control_fd, output_fd])
        self.restores += 1
        return RestoredProcess(self, stdout)

    def exit_status(self, pid: int, *, timeout: float | None) -> int | None:
        """How restored environment `pid` ended (None: still running after `timeout` seconds)."""
        with self._exited:
            self._exited.wait_for(lambda: pid in self._exits or not self.alive(), timeout=timeout)
            if pid in self._exits:
                return self._exits[pid]
        if self.alive() or Path(f"/proc/{pid}").exists():
            return None
        return -9  # the snapshot went first, so nobody reaped it: it was killed with it

    def _on_message(self, message: dict) -> bool:
        if message.get("type") == "reaped":
            with self._exited:
                self._exits[int(message["pid"])] = int(message["returncode"])
                self._exited.notify_all()
            return True
        return super()._on_message(message)

    def kill(self) -> None:
        super().kill()
        with self._exited:
            self._exited.notify_all()

    def describe(self) -> dict:
        return {**super().describe(), "restores": self.restores}
