"""What a deployment created, written next to the run directory, so `make status` can show it and
`make destroy` can remove exactly it (and stop exactly the processes it started, by pid).

Records are kept per *scope* — environment, account and region (`.run/deployments/local-us-east-1/`,
`.run/deployments/aws-123456789012-eu-west-1/`) — so a deployment in one account or region is never
mistaken for one in another. The scope is that of wherever boto3 points when the record is read.
Destructive decisions do not rest on these files alone: destroy also asks AWS (see
the targets' uses_image and shopctl.aws.census).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from shopctl.aws import clients
from shopctl.aws.resources import TableNames
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
class DeploymentResources:
    """What a deployment created, as its record keeps it. Each target fills the fields it uses; the others
    stay empty. Destroy, `make status`, `make verify` and the tests read these instead of asking AWS."""

    tables: TableNames | None = None  # the tables it uses (its own, or shared: the mixed deployment)
    service_urls: dict[str, str] = field(default_factory=dict)  # service -> its URL (local: this machine)
    roles: list[str] = field(default_factory=list)  # Lambda: execution roles; EKS: IRSA roles
    # Lambda
    functions: list[str] = field(default_factory=list)
    log_groups: list[str] = field(default_factory=list)
    artifact_bucket: str = ""
    image_repository: str = ""  # PACKAGE=image: the ECR repository (shared with ECS/EKS) its image comes from
    # ECS
    load_balancer: str = ""  # its URL
    services: list[str] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)  # SSM parameter names
    repository: str = ""  # ECR repository URI
    log_group: str = ""
    # EKS
    cluster: str = ""
    manifests: str = ""  # the rendered manifests' path

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> DeploymentResources:
        # A field a later version records is ignored here rather than making every record unreadable.
        known = {f.name for f in fields(cls)}
        tables = raw.get("tables")
        values = {k: v for k, v in raw.items() if k in known}
        return cls(**{**values, "tables": TableNames(**tables) if tables else None})


@dataclass
class DeploymentState:
    name: str  # e.g. "clean-lambda"
    stage: str
    target: str
    env: str  # "local" or "aws"
    url: str = ""
    resources: DeploymentResources = field(default_factory=DeploymentResources)
    scope: str = ""  # "<env>-[<account>-]<region>", set when saved
    processes: list[LocalProcess] = field(default_factory=list)

    def process(self, name: str) -> LocalProcess | None:
        return next((p for p in self.processes if p.name == name), None)

    def set_process(self, proc: LocalProcess) -> None:
        self.processes = [p for p in self.processes if p.name != proc.name] + [proc]


_ACCOUNTS: dict[tuple[str, str], str] = {}
SCOPE_PREFIXES = ("local-", "aws-")


def scope() -> str:
    """The environment, account and region boto3 points at now: `local-<region>` for the local AWS (no
    call made), `aws-<account>-<region>` otherwise (one STS call per credentials, remembered)."""

    session = clients.session()
    region = session.region_name or "us-east-1"
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if endpoint.startswith(("http://127.0.0.1", "http://localhost")):
        return f"local-{region}"
    credentials = session.get_credentials()
    key = (endpoint, credentials.access_key if credentials else "")
    if key not in _ACCOUNTS:
        _ACCOUNTS[key] = clients.client("sts").get_caller_identity()["Account"]
    return f"aws-{_ACCOUNTS[key]}-{region}"


def root() -> Path:
    return run_dir() / "deployments"


def _known_scope() -> str | None:
    """The current scope, or None when there is no AWS to ask which account it is (no credentials)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return scope()
    except (BotoCoreError, ClientError):
        return None


def deployments_dir() -> Path:
    """The current scope's records (the records' root when the scope cannot be known)."""
    known = _known_scope()
    path = root() / known if known else root()
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_for(name: str) -> Path:
    return deployments_dir() / f"{name}.json"


def load(name: str) -> DeploymentState | None:
    path = path_for(name)
    return _read(path) if path.exists() else None


def save(state: DeploymentState) -> Path:
    path = path_for(state.name)
    state.scope = path.parent.name
    path.write_text(json.dumps(asdict(state), indent=2) + "\n")
    return path


def remove(name: str) -> None:
    path_for(name).unlink(missing_ok=True)


def _read(path: Path) -> DeploymentState:
    raw = json.loads(path.read_text())
    raw["processes"] = [LocalProcess(**p) for p in raw.get("processes", [])]
    raw["resources"] = DeploymentResources.from_json(raw.get("resources", {}))
    return DeploymentState(**raw)


def all_states() -> list[DeploymentState]:
    """The deployments recorded in the current scope. With no AWS to ask which account that is (no
    credentials), every recorded deployment: callers stopping local processes must still find them."""
    if _known_scope() is None:
        return every_scope()
    return [_read(path) for path in sorted(deployments_dir().glob("*.json"))]


def every_scope() -> list[DeploymentState]:
    """The deployments recorded in any scope (`make status`: no AWS call needed)."""
    # the deployments' own folders (logs, specs, manifests) sit beside the scopes: only scope folders count
    scopes = (
        [p for p in root().glob("*") if p.is_dir() and p.name.startswith(SCOPE_PREFIXES)] if root().exists() else []
    )
    return [_read(path) for scope_dir in sorted(scopes) for path in sorted(scope_dir.glob("*.json"))]
