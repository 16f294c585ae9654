"""What a deployment created, written next to the run directory, so `make status` can show it and
`make destroy` can remove exactly it (and stop exactly the processes it started, by pid)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shopctl.paths import run_dir


@dataclass
class LocalProcess:
    name: str
    pid: int
    port: int
    url: str
    log: str

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        return True


@dataclass
class DeploymentState:
    name: str  # e.g. "clean-lambda"
    stage: str
    target: str
    env: str  # "local" or "aws"
    url: str = ""
    resources: dict[str, Any] = field(default_factory=dict)
    processes: list[LocalProcess] = field(default_factory=list)

    def process(self, name: str) -> LocalProcess | None:
        return next((p for p in self.processes if p.name == name), None)

    def set_process(self, proc: LocalProcess) -> None:
        self.processes = [p for p in self.processes if p.name != proc.name] + [proc]


def deployments_dir() -> Path:
    path = run_dir() / "deployments"
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_for(name: str) -> Path:
    return deployments_dir() / f"{name}.json"


def load(name: str) -> DeploymentState | None:
    path = path_for(name)
    if not path.exists():
        return None
    raw = json.loads(path.read_text())
    raw["processes"] = [LocalProcess(**p) for p in raw.get("processes", [])]
    return DeploymentState(**raw)


def save(state: DeploymentState) -> Path:
    path = path_for(state.name)
    path.write_text(json.dumps(asdict(state), indent=2) + "\n")
    return path


def remove(name: str) -> None:
    path_for(name).unlink(missing_ok=True)


def all_states() -> list[DeploymentState]:
    states = []
    for path in sorted(deployments_dir().glob("*.json")):
        state = load(path.stem)
        if state is not None:
            states.append(state)
    return states
