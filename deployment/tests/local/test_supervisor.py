"""The local ECS/EKS supervisor stops its replicas whenever it is told to stop — also while it is still
starting them, which is when a Ctrl-C'd deploy stops it (the replicas run in sessions of their own, so
nothing else would)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from shopctl.local.net import free_port
from shopctl.local.supervisor import Spec, write_spec


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_sigterm_right_after_the_replicas_start_stops_them(tmp_path: Path) -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]  # ignores the --host/--port it gets
    spec = Spec(name="sleepers", argv=sleeper, env=dict(os.environ), replicas=2)
    path = write_spec(spec, tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "shopctl.local.supervisor", "--spec", str(path), "--port", str(free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    pids = []
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.search(r"started \(pid (\d+)", line)
        if match:
            pids.append(int(match.group(1)))
            if len(pids) == 2:
                proc.send_signal(signal.SIGTERM)  # as early as possible: before it serves
                break
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    leaked = [pid for pid in pids if _alive(pid)]
    for pid in leaked:
        os.kill(pid, signal.SIGKILL)
    assert len(pids) == 2 and not leaked, f"replicas left running: {leaked}"
