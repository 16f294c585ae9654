"""One deploy in progress, the same steps on every target: the deployment's state record (this module is its
one writer during a deploy: `begin` loads it, `finish` saves it), its tables, the progress lines, the local
base URL; and what every destroy prints."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

from shopctl.aws import resources, state
from shopctl.aws.tagging import Tags
from shopctl.local.deployment import local_gateway
from shopctl.stages import Service, Stage
from shopctl.targets.naming import default_port, deployment_name


def recorded_tables(deployment: state.DeploymentState | None, name: str) -> resources.TableNames:
    """The tables a deployment used (recorded at deploy time; the mixed deployment shares its own)."""
    if deployment and deployment.resources.tables:
        return deployment.resources.tables
    return resources.TableNames.for_deployment(name)


@dataclass
class Rollout:
    """One deploy in progress: its state record, its tables, and the progress lines it prints."""

    stage: Stage
    label: str  # the target as people write it: Lambda, ECS, EKS
    port_base: int  # the target's local base-URL ports (naming.default_port)
    env: str
    deployment: state.DeploymentState
    tables: resources.TableNames
    quiet: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def name(self) -> str:
        return self.deployment.name

    def process(self, name: str) -> state.LocalProcess | None:
        return self.deployment.process(name)

    def record(self, proc: state.LocalProcess) -> None:
        """A local process started: recorded at once (see `shopctl.local.deployment.Ledger`)."""
        self.deployment.set_process(proc)
        state.save(self.deployment)

    def say(self, message: str) -> None:
        if not self.quiet:
            print(message, flush=True)

    def default_port(self) -> int:
        return default_port(self.port_base, self.stage.name)

    def entry_port(self, service: Service, requested: int | None) -> int | None:
        """The stage's entry service gets the deployment's stable base-URL port; internal ones any free port."""
        if service.name != self.stage.entry:
            return None
        return requested or self.default_port()

    def entry_url(self, urls: dict[str, str], port: int | None, runtime: str) -> str:
        """The deployment's one local base URL: the entry service's, or a local gateway's for microservices."""
        if self.stage.entry in urls:
            return urls[self.stage.entry]
        gateway = local_gateway(self, self.stage, urls, port or self.default_port(), runtime)
        self.say(f"✓ local gateway {gateway.url} → " + ", ".join(f"{k} {v}" for k, v in urls.items()))
        return gateway.url

    def finish(self, base_url: str, created: state.DeploymentResources, note: str = "") -> state.DeploymentState:
        self.deployment.url = base_url
        self.deployment.resources = dataclasses.replace(created, tables=self.tables)
        state.save(self.deployment)
        elapsed = time.monotonic() - self.started
        self.say(f"✓ deployed {self.stage.name} to {self.label} in {elapsed:.1f}s\n\n  URL: {base_url or note}\n")
        return self.deployment


def begin(
    stage: Stage,
    *,
    target: str,
    label: str,
    port_base: int,
    env: str,
    tables: resources.TableNames | None,
    quiet: bool,
) -> Rollout:
    """The first steps of every deploy: load (or start) the state record and make sure the tables exist."""
    name = deployment_name(stage, target)
    deployment = state.load(name) or state.DeploymentState(name, stage.name, target, env)
    rollout = Rollout(
        stage, label, port_base, env, deployment, tables or resources.TableNames.for_deployment(name), quiet
    )
    rollout.say(f"… deploying {stage.name} to {label} ({env})")
    # Tagged with the deployment when they are its own; with the stage only when shared (the mixed deployment).
    table_tags = Tags(stage.name) if tables else Tags(stage.name, target)
    created = resources.ensure_tables(rollout.tables, tags=table_tags)
    what = " (created)" if created else " (already there)"
    rollout.say(f"✓ tables {rollout.tables.users}, {rollout.tables.orders}{what}")
    return rollout


def report_removed(removed: list[str], *, keep_data: bool, quiet: bool, notes: tuple[str, ...] = ()) -> list[str]:
    """What every destroy prints: each removed resource, and what was deliberately kept."""
    if not quiet:
        for line in removed:
            print(f"✓ removed {line}")
        if keep_data:
            print(
                "  tables kept (data is not deleted by accident; on-demand tables cost nothing per hour on AWS, "
                "storage about $0.25 per GB-month); KEEP_DATA=0 removes them too"
            )
        for note in notes:
            print(f"  {note}")
    return removed
